import Hashing
import Foundation

/// Why generation ended.
public enum StopReason: String, Sendable { case endOfGeneration = "eog", stopText = "stop", length }

public struct Generation: Sendable {
    public var promptTokens: [Int32]
    /// Generated tokens, without the end-of-generation token.
    public var tokens: [Int32]
    /// Generated text, cut before a stop text when one ended it.
    public var text: String
    public var stopReason: StopReason
    public var promptSeconds: Double
    public var decodeSeconds: Double
}

/// Single-sequence generation with a KV cache. Part 1 of the engine: correct, not yet fast.
public final class Generator: @unchecked Sendable {
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public let chatTemplate: ChatTemplate?
    /// Tokens that end generation: EOS and the template's end-of-turn tokens.
    public let endTokens: Set<Int32>

    public init(model: LlamaModel, tokenizer: BPETokenizer, chatTemplate: ChatTemplate?) {
        self.model = model
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        var end = Set<Int32>()
        if let e = tokenizer.eos { end.insert(e) }
        // End-of-generation texts llama.cpp recognises among control tokens (its load log lists
        // them; for SmolLM2: <|endoftext|>, <|im_end|> and <reponame>).
        for t in (chatTemplate?.stopTexts ?? []) + ["<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|end_of_text|>", "<reponame>"] {
            if let id = tokenizer.id(of: t), tokenizer.isSpecial(id) { end.insert(id) }
        }
        endTokens = end
    }

    /// Loads model, tokenizer and chat template from a GGUF.
    public convenience init(_ f: GGUFFile, threads: Int = 1, precision: LlamaModel.Precision = .llamaCpp) throws {
        try BLAS.load(threads: threads)
        let template = f["tokenizer.chat_template"].flatMap { try? ChatTemplate.detect($0.stringValue) }
        self.init(model: try LlamaModel(f, precision: precision), tokenizer: try BPETokenizer(f), chatTemplate: template)
    }

    /// Prompt tokens for plain text or a user message in the chat template. BOS is added when
    /// the model asks for it, unless the rendered text already starts with it.
    public func promptTokens(_ text: String, chat: Bool) throws -> [Int32] {
        var input = text
        if chat {
            guard let t = chatTemplate else {
                throw GGUFError(path: "", message: "the model has no supported chat template", hint: "generate without --chat")
            }
            input = t.render([ChatMessage(role: "user", content: text)])
        }
        var ids = tokenizer.encode(input, addSpecial: false, parseSpecial: true)
        if tokenizer.addBOS, let b = tokenizer.bos, ids.first != b { ids.insert(b, at: 0) }
        return ids
    }

    /// Generates up to `maxTokens` tokens after `prompt`. `onToken` sees each token and the
    /// text so far; returning false stops early.
    public func generate(prompt: [Int32], maxTokens: Int, sampler: SamplerSettings = SamplerSettings(), stopTexts: [String] = [],
                         steering: Steering? = nil, ignoreEnd: Bool = false,
                         onToken: (Int32, String) -> Bool = { _, _ in true }) throws -> Generation {
        var cache = model.makeCache(capacity: prompt.count + maxTokens + 1)
        var chooser = Sampler(sampler)
        var history = prompt
        let t0 = Date()
        var logits = try model.forward(prompt, cache: &cache, steering: steering)
        let t1 = Date()
        var out: [Int32] = []
        var reason = StopReason.length
        var text = ""
        while out.count < maxTokens {
            let next = chooser.next(logits, history: history[...])
            if !ignoreEnd && endTokens.contains(next) { reason = .endOfGeneration; break }
            out.append(next)
            history.append(next)
            text = tokenizer.decode(out)
            if let stop = stopTexts.first(where: { text.contains($0) }) {
                text = String(text[..<text.range(of: stop)!.lowerBound])
                reason = .stopText
                break
            }
            if !onToken(next, text) { break }
            if out.count == maxTokens { break }
            logits = try model.forward([next], cache: &cache, steering: steering)
        }
        return Generation(promptTokens: prompt, tokens: out, text: text, stopReason: reason,
                          promptSeconds: t1.timeIntervalSince(t0), decodeSeconds: Date().timeIntervalSince(t1))
    }
}
