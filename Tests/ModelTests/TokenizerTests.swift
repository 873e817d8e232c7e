import Foundation
import Testing
@testable import Model
import TestSupport

@Suite struct PreTokenizerTests {
    func split(_ p: PreTokenizer, _ s: String) -> [String] { p.split(s).map { String($0) } }

    @Test func gpt2() {
        #expect(split(.gpt2, "Hello world") == ["Hello", " world"])
        #expect(split(.gpt2, "I'll say it's") == ["I", "'ll", " say", " it", "'s"])
        #expect(split(.gpt2, "  hi") == [" ", " hi"])
        #expect(split(.gpt2, "x\n\ny") == ["x", "\n", "\n", "y"])
        #expect(split(.gpt2, "a  ") == ["a", "  "])
        #expect(split(.gpt2, "12 + 7?") == ["12", " +", " 7", "?"])
        #expect(split(.gpt2, "ça va 😀!") == ["ça", " va", " 😀!"])
    }

    @Test func smollmSplitsDigitsFirst() {
        #expect(split(.smollm, "abc123") == ["abc", "1", "2", "3"])
        #expect(split(.smollm, "What is 12 + 7?") == ["What", " is", " ", "1", "2", " +", " ", "7", "?"])
    }

    @Test func llama3AndQwen2() {
        #expect(split(.llama3, "abc12345") == ["abc", "123", "45"])
        #expect(split(.qwen2, "abc12345") == ["abc", "1", "2", "3", "4", "5"])
        #expect(split(.llama3, "Hello\n\nWorld") == ["Hello", "\n\n", "World"])
        #expect(split(.llama3, "a  b") == ["a", " ", " b"])
        #expect(split(.llama3, "I'LL go") == ["I", "'LL", " go"])
        #expect(split(.llama3, "x = (1);\n") == ["x", " =", " (", "1", ");\n"])
    }

    @Test func piecesConcatenateBack() {
        var rng = SeededRandom(seed: 5)
        let parts = ["a", "Z", " ", "  ", "\n", "\r\n", "\t", "1", "23", "'s", "'LL", "é", "中", "😀", "!", "?!", "—", "\u{00A0}", "x2"]
        for p in PreTokenizer.allCases {
            for _ in 0..<200 {
                let s = (0..<Int.random(in: 0...12, using: &rng)).map { _ in parts.randomElement(using: &rng)! }.joined()
                #expect(split(p, s).joined() == s, "\(p) \(s.debugDescription)")
            }
        }
    }

    @Test func namesAsLlamaCppWritesThem() throws {
        #expect(try PreTokenizer.named("gpt-2") == .gpt2 && PreTokenizer.named("gpt2") == .gpt2)
        #expect(try PreTokenizer.named("llama-bpe") == .llama3 && PreTokenizer.named("smollm") == .smollm)
        #expect { try PreTokenizer.named("falcon") } throws: { "\($0)".contains("falcon") && "\($0)".contains("smollm") }
        #expect { try PreTokenizer.named(nil) } throws: { "\($0)".contains("missing") }
        #expect { try PreTokenizer.named("default") } throws: { "\($0)".contains("default") }
    }
}

/// A byte-level vocabulary with every byte plus a few merges and specials.
func tinyTokenizer(pre: PreTokenizer = .gpt2) throws -> BPETokenizer {
    var tokens = (0..<256).map { String(ByteLevel.character(for: UInt8($0))) }
    let G = String(ByteLevel.character(for: 0x20))  // "Ġ"
    let merges = ["a b", "ab c", "\(G) a", "\(G)a b", "c d"]
    tokens += ["ab", "abc", "\(G)a", "\(G)ab", "cd", "<|im_start|>", "<|im_end|>"]
    var types = [Int32](repeating: 1, count: tokens.count)
    types[types.count - 2] = 3; types[types.count - 1] = 3
    return try BPETokenizer(tokens: tokens, types: types, merges: merges, preTokenizer: pre, bos: 261, eos: 262, addBOS: false)
}

@Suite struct BPETests {
    @Test func mergesInRankOrder() throws {
        let t = try tinyTokenizer()
        let id = { t.id(of: $0)! }
        #expect(t.encode("abc") == [id("abc")])
        #expect(t.encode("abcd") == [id("abc"), id("d")])  // "ab c" (rank 1) beats "c d" (rank 4)
        #expect(t.encode("ab cd") == [id("ab"), id("\(ByteLevel.character(for: 0x20))"), id("cd")])
        // "a b" (rank 0) merges before "Ġ a" (rank 2) could, so "Ġab" is never formed here.
        #expect(t.encode(" ab") == [id("\(ByteLevel.character(for: 0x20))"), id("ab")])
        #expect(t.encode(" a") == [id("\(ByteLevel.character(for: 0x20))a")])
    }

    @Test func specialTokensAreCutOutWhenParsed() throws {
        let t = try tinyTokenizer()
        let s = t.encode("<|im_start|>abc<|im_end|>")
        #expect(s.first == t.id(of: "<|im_start|>") && s.last == t.id(of: "<|im_end|>") && s.count == 3)
        #expect(!t.encode("<|im_start|>", parseSpecial: false).contains(t.id(of: "<|im_start|>")!))
    }

    @Test func decodeInvertsEncodeOnAnyText() throws {
        let t = try tinyTokenizer()
        var rng = SeededRandom(seed: 11)
        let parts = ["abc", " ab", "cd", "é", "中文", "😀", "\n", "\t", " ", "123", "<|im_end|>", "\u{1}", "zz"]
        for _ in 0..<300 {
            let s = (0..<Int.random(in: 0...10, using: &rng)).map { _ in parts.randomElement(using: &rng)! }.joined()
            #expect(t.decode(t.encode(s)) == s, "\(s.debugDescription)")
        }
    }
}

@Suite struct ChatTemplateTests {
    static let smol = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

    @Test func chatMLWithDefaultSystem() throws {
        let t = try ChatTemplate.detect(Self.smol)
        #expect(t == .chatML(defaultSystem: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"))
        #expect(t.render([ChatMessage(role: "user", content: "hi")]) ==
                "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
        #expect(t.render([ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "u")], addGenerationPrompt: false) ==
                "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nu<|im_end|>\n")
        // The same template with the newline escaped inside the Jinja string.
        #expect(try ChatTemplate.detect(Self.smol.replacingOccurrences(of: "\n", with: "\\n")) == t)
    }

    @Test func llama3AndUnknown() throws {
        let t = try ChatTemplate.detect("{{ '<|begin_of_text|>' }}{% for m in messages %}<|start_header_id|>…")
        #expect(t.render([ChatMessage(role: "user", content: "hi")]) ==
                "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        #expect(throws: GGUFError.self) { try ChatTemplate.detect("{{ messages }}") }
    }
}
