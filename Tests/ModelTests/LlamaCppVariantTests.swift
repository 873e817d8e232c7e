import Foundation
import Testing
@testable import Model

/// Pre-tokenizers and the Qwen2 forward path against llama.cpp, on synthetic variants of the
/// default model (Fixtures/llama-cpp-variants.json, from scripts/reference/llama_cpp_variants.py).
@Suite(.enabled(if: realModelPath != nil, "needs the default model: run `cotforge model fetch smollm2`"))
struct LlamaCppVariantTests {
    struct Fixture: Decodable {
        struct Tok: Decodable { let text: String; let ids: [Int32] }
        struct Qwen: Decodable { let prompt_ids: [Int32]; let top10: [[Double]]; let greedy: [Int32] }
        let pre_tokenizers: [String: [Tok]]
        let qwen2: [Qwen]
    }

    static func fixture() throws -> Fixture {
        let url = try #require(Bundle.module.url(forResource: "llama-cpp-variants", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// SmolLM2's vocabulary split by each of the other pre-tokenizers gives llama.cpp's ids.
    @Test(arguments: ["gpt-2", "qwen2", "llama-bpe"])
    func preTokenizerMatches(_ name: String) throws {
        let base = try BPETokenizer(GGUFFile(path: realModelPath!))
        let merges = try GGUFFile(path: realModelPath!)["tokenizer.ggml.merges"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let tok = try BPETokenizer(tokens: base.tokens, types: base.tokenTypes, merges: merges, preTokenizer: try PreTokenizer.named(name),
                                   bos: base.bos, eos: base.eos, addBOS: false)
        for t in try #require(try Self.fixture().pre_tokenizers[name]) {
            #expect(tok.encode(t.text) == t.ids, "\(name): \(t.text.debugDescription)")
        }
    }

    /// The Qwen2 graph (RoPE on halves, Q/K/V biases) in f32 against llama.cpp's, on SmolLM2's
    /// weights relabelled as Qwen2 with biases 0.02·sin(1000·layer + 7·kind + 0.37·i).
    @Test func qwen2ForwardMatches() throws {
        let base = try LlamaModel(GGUFFile(path: realModelPath!), precision: .f32)
        var c = base.config
        c.architecture = .qwen2
        func bias(_ layer: Int, _ kind: Int, _ n: Int) -> [Float] {
            (0..<n).map { Float(0.02 * sin(1000 * Double(layer) + 7 * Double(kind) + 0.37 * Double($0))) }
        }
        let blocks = base.blocks.enumerated().map { l, b in
            var n = b
            n.bq = bias(l, 0, c.heads * c.headDim); n.bk = bias(l, 1, c.kvWidth); n.bv = bias(l, 2, c.kvWidth)
            return n
        }
        let m = try LlamaModel(config: c, tokenEmbedding: base.tokenEmbedding, blocks: blocks, outputNorm: base.outputNorm, output: base.output)
        var worst = 0.0
        for q in try Self.fixture().qwen2 {
            var cache = m.makeCache(capacity: q.prompt_ids.count + 20)
            var logits = try m.forward(q.prompt_ids, cache: &cache)
            for pair in q.top10 { worst = max(worst, abs(Double(logits[Int(pair[0])]) - pair[1])) }
            for want in q.greedy {
                var next = 0
                for i in logits.indices where logits[i] > logits[next] { next = i }
                #expect(Int32(next) == want)
                if Int32(next) != want { break }
                logits = try m.forward([want], cache: &cache)
            }
        }
        #expect(worst <= 1e-3, "worst top-10 logit difference \(worst)")
        print("qwen2 parity with llama.cpp (f32): worst top-10 logit difference \(worst)")
    }
}
