import Foundation
import Testing
@testable import Model
import TestSupport

/// A tiny random Llama-family model built in code.
func tinyModel(arch: LlamaConfig.Architecture = .llama, width: Int = 16, heads: Int = 4, kvHeads: Int = 2, tied: Bool = true, seed: UInt64 = 1) throws -> LlamaModel {
    let c = LlamaConfig(architecture: arch, layers: 2, width: width, ffnWidth: 24, heads: heads, kvHeads: kvHeads,
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
    /// Keys of `n` positions given position by position ([n × kvWidth]) in the cache's tiles.
    func tiled<E: CacheScalar>(_ keys: [Float], positions n: Int, config c: LlamaConfig, as: E.Type) -> ([E], KeyLayout) {
        let layout = KeyLayout(headDim: c.headDim, tiles: (n + 15) / 16)
        var out = [E](repeating: 0, count: layout.tiles * 16 * c.kvWidth)
        for p in 0..<n { for g in 0..<c.kvHeads { for i in 0..<c.headDim { out[layout.index(g, p, i)] = E(keys[p * c.kvWidth + g * c.headDim + i]) } } }
        return (out, layout)
    }

    /// The scores of the kernel the tiled one replaced: one position at a time, a 16-lane dot
    /// product then the sum of its lanes (`SIMD16.sum()`, lanes in order).
    func positionScores(_ q: [Float], _ keys: [Float], positions n: Int, headDim d: Int) -> [Float] {
        let scale = 1 / sqrtf(Float(d))
        return (0..<n).map { p in
            var sum = SIMD16<Float>.zero
            for l in 0..<(d / 16) {
                sum += SIMD16<Float>(q[(16 * l)..<(16 * l + 16)]) * SIMD16<Float>(keys[(p * d + 16 * l)..<(p * d + 16 * l + 16)])
            }
            return sum.sum() * scale
        }
    }

    /// The SIMD attention equals the plain-loop reference up to float summation order, for
    /// grouped heads (three query heads per KV head), a prefix already in the cache, and with
    /// the f16 rounding and f16 cache of llama.cpp; and its scores are bit for bit those of the
    /// position-at-a-time kernel (widths 64 and 96, a partial last tile).
    @Test(arguments: [(false, 96), (true, 96), (false, 64), (true, 64)])
    func simdEqualsReference(_ f16: Bool, _ headDim: Int) {
        if f16 { check(Float16.self, f16: true, headDim: headDim) } else { check(Float.self, f16: false, headDim: headDim) }
    }

    func check<E: CacheScalar>(_: E.Type, f16: Bool, headDim: Int) {
        let c = LlamaConfig(architecture: .llama, layers: 1, width: 6 * headDim, ffnWidth: 8, heads: 6, kvHeads: 2,
                            ropeBase: 10000, rmsEpsilon: 1e-5, vocabulary: 4, contextLength: 64)
        var rng = SeededRandom(seed: 11)
        let start = 33, T = 5, n = start + T
        let round = { (x: Float) in f16 ? Float(Float16(x)) : x }
        let q = (0..<(T * c.heads * c.headDim)).map { _ in round(Float.random(in: -1...1, using: &rng)) }
        let flat = (0..<(n * c.kvWidth)).map { _ in round(Float.random(in: -1...1, using: &rng) * Float(1 << Int.random(in: 0...4, using: &rng))) }
        let (keys, layout) = tiled(flat, positions: n, config: c, as: E.self)
        let values = (0..<(n * c.kvWidth)).map { _ in E(Float.random(in: -1...1, using: &rng)) }
        var fast = [Float](repeating: 0, count: q.count), reference = fast
        LlamaModel.attention(q, keys: keys, layout: layout, values: values, tokens: T, start: start, config: c, f16Weights: f16, into: &fast)
        LlamaModel.attentionReference(q, keys: keys, layout: layout, values: values, tokens: T, start: start, config: c, f16Weights: f16, into: &reference)
        #expect(close(fast, reference, 1e-4))
        #expect(fast != [Float](repeating: 0, count: q.count))

        // The scores the kernel leaves behind (exp(s − max) per head, before the 1/total) for
        // the last token's query heads of KV head 1, against the old kernel's scores.
        let group = c.heads / c.kvHeads, stride = (n + 15) / 16 * 16
        let last = Array(q[((T - 1) * c.heads * c.headDim)...])
        var scores = [Float](repeating: 0, count: group * stride)
        var out = [Float](repeating: 0, count: c.heads * c.headDim)
        last.withUnsafeBufferPointer { qb in keys.withUnsafeBufferPointer { kb in values.withUnsafeBufferPointer { vb in
            scores.withUnsafeMutableBufferPointer { sb in out.withUnsafeMutableBufferPointer { ob in
                LlamaModel.attention(q: qb.baseAddress!, keys: kb.baseAddress!, layout: layout, values: vb.baseAddress!, tokens: 1,
                                     start: n - 1, kvHeads: 1..<2, config: c, f16Weights: false, scores: sb.baseAddress!, into: ob.baseAddress!)
            }}
        }}}
        let kv1 = (0..<n).flatMap { p in flat[(p * c.kvWidth + c.headDim)..<(p * c.kvWidth + 2 * c.headDim)] }
        for j in 0..<group {
            let h = group + j
            let old = positionScores(Array(last[(h * c.headDim)..<((h + 1) * c.headDim)]), kv1, positions: n, headDim: c.headDim)
            let m = old.max()!, e = old.map { exp($0 - m) }, inv = 1 / e.reduce(0, +)
            #expect(Array(scores[(j * stride)..<(j * stride + n)]) == e.map { $0 * inv })
        }
        #expect(Array(out[..<(group * c.headDim)]) == [Float](repeating: 0, count: group * c.headDim), "KV head 0's query heads are not this unit's")
    }

}

@Suite struct ThreadedAttentionTests {
    /// Attention split over threads — by sequence, and by KV head when there are fewer
    /// sequences than threads — gives bit for bit the one-thread logits, on the SIMD kernel
    /// (head width 16) with llama.cpp's f16 cache.
    @Test func threadsGiveTheSameLogits() throws {
        func run(threads: Int) throws -> [[Float]] {
            let m = try tinyModel(width: 64, heads: 4, kvHeads: 2)
            m.f16Attention = true
            m.threads = threads
            m.attentionThreadsFrom = 0
            var out: [[Float]] = []
            // One sequence (split by KV head), then three side by side (split by sequence).
            var caches = (0..<3).map { _ in m.makeCache(capacity: 40) }
            out += try m.forward(batch: [(0..<21).map { Int32($0 % 40) }, [], []], caches: &caches)
            out += try m.forward(batch: [[], (0..<9).map { Int32($0 * 3 % 40) }, [5, 6]], caches: &caches)
            for step in 0..<6 { out += try m.forward(batch: [[Int32(step)], [Int32(step + 7)], [Int32(39 - step)]], caches: &caches) }
            return out
        }
        let one = try run(threads: 1)
        #expect(one.allSatisfy { !$0.isEmpty ? $0.allSatisfy(\.isFinite) : true })
        for t in [2, 3] { #expect(try run(threads: t).map { $0.map(\.bitPattern) } == one.map { $0.map(\.bitPattern) }, "\(t) threads") }
    }
}
