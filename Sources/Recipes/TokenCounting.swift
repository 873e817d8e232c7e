import Corpus
import Model

/// A model's tokenizer counts tokens for the corpus stages (which know nothing of models).
extension BPETokenizer: TokenCounter {
    public func countTokens(_ text: String) -> Int { encode(text, addSpecial: false, parseSpecial: false).count }
}
