import Foundation
import Testing
@testable import Model
import TestSupport

/// A tiny random Llama-family model built in code.
func tinyModel(arch: LlamaConfig.Architecture = .llama, heads: Int = 4, kvHeads: Int = 2, tied: Bool = true, seed: UInt64 = 1) throws -> LlamaModel {
    let c = LlamaConfig(architecture: arch, layers: 2, width: 16, ffnWidth: 24, heads: heads, kvHeads: kvHeads,
                        ropeBase: 10000, rmsEpsilon: 1e-5, vocabulary: 40, contextLength: 64)
    var rng = SeededRandom(seed: seed)
    func r(_ n: Int, _ s: Float = 0.3) -> [Float] { (0..<n).map { _ in Float.random(in: -s...s, using: &rng) } }
    let C = c.width, Q = c.heads * c.headDim, KV = c.kvWidth, F = c.ffnWidth
    let blocks = (0..<c.layers).map { _ in
        LlamaBlockWeights(attnNorm: r(C, 1).map { 1 + $0 * 0.1 }, wq: .f32(r(Q * C)), wk: .f32(r(KV * C)), wv: .f32(r(KV * C)), wo: .f32(r(C * Q)),
                          bq: arch == .qwen2 ? r(Q) : nil, bk: arch == .qwen2 ? r(KV) : nil, bv: arch == .qwen2 ? r(KV) : nil,
                          ffnNorm: r(C, 1).map { 1 + $0 * 0.1 }, wGate: .f32(r(F * C)), wUp: .f32(r(F * C)), wDown: .f32(r(C * F)))
    }
    let emb = r(c.vocabulary * C, 1)
    return try LlamaModel(config: c, tokenEmbedding: .f32(emb), blocks: blocks, outputNorm: r(C, 1).map { 1 + $0 * 0.1 },
                          output: tied ? nil : .f32(r(c.vocabulary * C, 1)))
}

func close(_ a: [Float], _ b: [Float], _ tol: Float = 1e-4) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * max(1, abs($1)) }
}

@Suite struct ForwardTests {
    /// Feeding tokens one at a time through the KV cache gives the logits a single pass over
    /// the whole sequence gives, at every position.
    @Test(arguments: [LlamaConfig.Architecture.llama, .qwen2])
    func incrementalEqualsFullRecompute(_ arch: LlamaConfig.Architecture) throws {
        let m = try tinyModel(arch: arch)
        let tokens: [Int32] = [3, 17, 5, 39, 0, 22, 8]
        var full = m.makeCache()
        let all = try m.forward(tokens, cache: &full, allLogits: true)
        var inc = m.makeCache()
        for (i, t) in tokens.enumerated() {
            let l = try m.forward([t], cache: &inc)
            #expect(close(l, Array(all[(i * 40)..<((i + 1) * 40)])), "position \(i)")
        }
        // A prompt in two chunks equals one pass too.
        var two = m.makeCache()
        _ = try m.forward(Array(tokens[0..<3]), cache: &two)
        let rest = try m.forward(Array(tokens[3...]), cache: &two, allLogits: true)
        #expect(close(rest, Array(all[(3 * 40)...])))
    }

    @Test func ropeMatchesTheDirectFormula() {
        let d = 8, pos = 37, base: Float = 10000
        var rng = SeededRandom(seed: 2)
        let x = (0..<(2 * d)).map { _ in Float.random(in: -1...1, using: &rng) }
        for style in [LlamaConfig.RopeStyle.adjacentPairs, .halves] {
            var y = x
            LlamaModel.rope(&y, offset: 0, heads: 2, headDim: d, position: pos, base: base, style: style)
            for h in 0..<2 {
                for i in 0..<(d / 2) {
                    let theta = Double(pos) * pow(Double(base), -2 * Double(i) / Double(d))
                    let (a, b) = style == .adjacentPairs ? (h * d + 2 * i, h * d + 2 * i + 1) : (h * d + i, h * d + i + d / 2)
                    let ya = Double(x[a]) * cos(theta) - Double(x[b]) * sin(theta)
                    let yb = Double(x[a]) * sin(theta) + Double(x[b]) * cos(theta)
                    #expect(abs(Double(y[a]) - ya) < 1e-4 && abs(Double(y[b]) - yb) < 1e-4, "\(style) head \(h) pair \(i)")
                }
            }
        }
    }

    /// GQA: a model with 2 KV heads shared by 4 query heads equals the model whose K/V weights
    /// repeat each KV head for its group (4 KV heads).
    @Test func groupedHeadsEqualRepeatedHeads() throws {
        let g = try tinyModel(heads: 4, kvHeads: 2)
        var c = g.config
        c.kvHeads = 4
        let d = c.headDim, C = c.width
        func repeatHeads(_ w: [Float]) -> [Float] {
            // rows are outputs: KV head k occupies rows k·d ..< (k+1)·d
            (0..<4).flatMap { h in Array(w[((h / 2) * d * C)..<((h / 2 + 1) * d * C)]) }
        }
        let blocks = g.blocks.map { b in
            var n = b; n.wk = .f32(repeatHeads(b.wk.floats)); n.wv = .f32(repeatHeads(b.wv.floats)); return n
        }
        let full = try LlamaModel(config: c, tokenEmbedding: g.tokenEmbedding, blocks: blocks, outputNorm: g.outputNorm, output: nil)
        var c1 = g.makeCache(), c2 = full.makeCache()
        let tokens: [Int32] = [1, 2, 3, 4, 5]
        #expect(close(try g.forward(tokens, cache: &c1, allLogits: true), try full.forward(tokens, cache: &c2, allLogits: true)))
    }

    @Test func tiedOutputEqualsAnExplicitCopy() throws {
        let m = try tinyModel(tied: true)
        let sep = try LlamaModel(config: m.config, tokenEmbedding: m.tokenEmbedding, blocks: m.blocks, outputNorm: m.outputNorm, output: .f32(m.tokenEmbedding.floats))
        var a = m.makeCache(), b = sep.makeCache()
        #expect(try m.forward([4, 9], cache: &a) == (try sep.forward([4, 9], cache: &b)))
    }

    @Test func contextOverflowAndBadTokensThrow() throws {
        let m = try tinyModel()
        var c = m.makeCache(capacity: 3)
        #expect(throws: GGUFError.self) { try m.forward([1, 2, 3, 4], cache: &c) }
        #expect(throws: GGUFError.self) { try m.forward([40], cache: &c) }
    }

    @Test func blasMatchesReference() throws {
        try BLAS.load()
        var rng = SeededRandom(seed: 4)
        for (t, m, k) in [(1, 1, 1), (1, 7, 5), (3, 16, 9), (5, 33, 64), (17, 3, 100)] {
            let x = (0..<(t * k)).map { _ in Float.random(in: -1...1, using: &rng) }
            let w = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }
            var y1 = [Float](repeating: 0, count: t * m), y2 = y1
            BLAS.matmulTransposed(x, rows: t, w, outputs: m, inner: k, &y1)
            BLAS.matmulTransposedReference(x, rows: t, w, outputs: m, inner: k, &y2)
            #expect(close(y1, y2, 1e-5), "\(t)×\(m)×\(k)")
            if t == 1 {
                var y3 = [Float](repeating: 0, count: m)
                BLAS.matvec(w, rows: m, cols: k, x, &y3)
                #expect(close(y3, y2, 1e-5))
            }
        }
    }

    @Test func greedyIsDeterministicAndSamplingIsSeeded() throws {
        let m = try tinyModel()
        let g = Generator(model: m, tokenizer: try tinyTokenizerFor40(), chatTemplate: nil)
        let a = try g.generate(prompt: [1, 2], maxTokens: 8)
        let b = try g.generate(prompt: [1, 2], maxTokens: 8)
        #expect(a.tokens == b.tokens)
        let s1 = try g.generate(prompt: [1, 2], maxTokens: 8, sampler: SamplerSettings(temperature: 1.5, seed: 9))
        let s2 = try g.generate(prompt: [1, 2], maxTokens: 8, sampler: SamplerSettings(temperature: 1.5, seed: 9))
        #expect(s1.tokens == s2.tokens)
    }
}

/// The tiny tokenizer trimmed to 40 tokens (the tiny model's vocabulary): bytes 0…39 only.
func tinyTokenizerFor40() throws -> BPETokenizer {
    let tokens = (0..<40).map { String(ByteLevel.character(for: UInt8($0 + 60))) }
    var all = (0..<256).map { String(ByteLevel.character(for: UInt8($0))) }
    all = Array(all.prefix(0)) + tokens + all.filter { !tokens.contains($0) }
    return try BPETokenizer(tokens: all, types: [Int32](repeating: 1, count: all.count), merges: [], preTokenizer: .gpt2,
                            bos: nil, eos: 39, addBOS: false)
}

@Suite struct AttentionKernelTests {
    /// The SIMD attention equals the plain-loop reference up to float summation order, for
    /// grouped heads, a prefix already in the cache, and with the f16 rounding of llama.cpp.
    @Test(arguments: [false, true])
    func simdEqualsReference(_ f16: Bool) {
        let c = LlamaConfig(architecture: .llama, layers: 1, width: 96, ffnWidth: 8, heads: 3, kvHeads: 1,
                            ropeBase: 10000, rmsEpsilon: 1e-5, vocabulary: 4, contextLength: 64)
        var rng = SeededRandom(seed: 11)
        let start = 9, T = 5, n = start + T
        let q = (0..<(T * c.heads * c.headDim)).map { _ in Float.random(in: -1...1, using: &rng) }
        let keys = (0..<(n * c.kvWidth)).map { _ in Float.random(in: -1...1, using: &rng) }
        let values = (0..<(n * c.kvWidth)).map { _ in Float.random(in: -1...1, using: &rng) }
        var fast = [Float](repeating: 0, count: q.count), reference = fast
        LlamaModel.attention(q, keys: keys, values: values, tokens: T, start: start, config: c, f16Weights: f16, into: &fast)
        LlamaModel.attentionReference(q, keys: keys, values: values, tokens: T, start: start, config: c, f16Weights: f16, into: &reference)
        #expect(close(fast, reference, 1e-5))
        #expect(fast != [Float](repeating: 0, count: q.count))
    }
}
