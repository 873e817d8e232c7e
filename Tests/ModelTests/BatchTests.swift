import Foundation
import Testing
@testable import Model
import TestSupport

/// Batched generation gives every sequence exactly what it gets alone.
@Suite struct BatchTests {
    /// `matvecBatch` over rows of different sequences equals `matvec` of each row alone, bit for
    /// bit: 2 sequences (one padded group of 8), 29 (16 + 8 + 5 padded) and 45 (a pair of 16s
    /// sharing weight broadcasts, then 8 + 5 padded).
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q8_0, .q5_1], [2, 29, 45])
    func matvecBatchEqualsMatvec(_ type: GGMLType, _ n: Int) throws {
        var rng = SeededRandom(seed: 90 + UInt64(type.rawValue))
        let rows = 37, cols = 192
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols,
                                             data: QuantizedMatrixTests.randomBlocks(type, rows: rows, cols: cols, &rng)))
        let x = (0..<(n * cols)).map { _ in Float.random(in: -2...2, using: &rng) }
        try Self.expectBatchEqualsAlone(m, x, n: n)
        // The portable 16-bit kernel too (x86-64 runs the 8-bit ones).
        if type != .q5_1 { try Self.expectBatchEqualsAlone(m, x, n: n, kernel: PairKernel.self) }
    }

    /// The 16-bit partial sums at their bounds: every weight at its largest magnitude (nibble 0
    /// for Q4_0 = −8, 15 for Q4_1, −128 and 127 for Q8_0) against activations that all round to
    /// ±127, so any overflow of the 16-bit runs would show.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q8_0])
    func matvecBatchAtTheOverflowBounds(_ type: GGMLType) throws {
        let rows = 3, cols = 64, n = 40
        var data: [UInt8] = []
        for r in 0..<(rows * cols / 32) {
            var b = [UInt8](repeating: 0, count: type.typeSize)
            withUnsafeBytes(of: Float16(0.01).bitPattern.littleEndian) { b[0] = $0[0]; b[1] = $0[1] }
            switch type {
            case .q4_0: for j in 2..<b.count { b[j] = 0x00 }
            case .q4_1: for j in 4..<b.count { b[j] = 0xFF }
            default: for j in 2..<b.count { b[j] = r % 2 == 0 ? 0x80 : 0x7F }
            }
            data += b
        }
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols, data: data))
        let x = (0..<(n * cols)).map { i in (i / cols) % 2 == 0 ? Float(3) : Float(-3) }
        try Self.expectBatchEqualsAlone(m, x, n: n)
        try Self.expectBatchEqualsAlone(m, x, n: n, kernel: PairKernel.self)
        // And the sums are the exact ones: Σ w·127 over the row, times the scales.
        var alone = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xb in alone.withUnsafeMutableBufferPointer { m.matvec(xb.baseAddress!, $0.baseAddress!) } }
        let w = WeightMatrix.quantized(m).floats
        for r in 0..<rows {
            let exact = (0..<cols).reduce(Float(0)) { $0 + w[r * cols + $1] * 3 }
            #expect(abs(alone[r] - exact) <= 1e-3 * abs(exact), "\(type.name) row \(r): \(alone[r]) vs \(exact)")
        }
    }

    /// `matvecBatch` (through `kernel` when given) equals `matvec` row by row, on 1 and 3 threads.
    static func expectBatchEqualsAlone(_ m: QuantizedMatrix, _ x: [Float], n: Int, kernel: (any BatchKernel.Type)? = nil) throws {
        let rows = m.rows, cols = m.cols
        func batch(_ y: inout [Float], threads: Int) {
            x.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    if let kernel {
                        m.matvecBatch(using: kernel, xb.baseAddress!, rows: n, yb.baseAddress!, threads: threads)
                    } else {
                        m.matvecBatch(xb.baseAddress!, rows: n, yb.baseAddress!, threads: threads)
                    }
                }
            }
        }
        var batched = [Float](repeating: 0, count: n * rows)
        batch(&batched, threads: 1)
        // Split over threads, every output is the same.
        var threaded = [Float](repeating: .nan, count: n * rows)
        batch(&threaded, threads: 3)
        #expect(threaded.map(\.bitPattern) == batched.map(\.bitPattern), "\(m.type.name) n \(n): 3 threads differ from 1")
        for i in 0..<n {
            var alone = [Float](repeating: 0, count: rows)
            x.withUnsafeBufferPointer { xb in alone.withUnsafeMutableBufferPointer { m.matvec(xb.baseAddress! + i * cols, $0.baseAddress!) } }
            #expect(Array(batched[(i * rows)..<((i + 1) * rows)]) == alone, "\(m.type.name) n \(n) row \(i)")
        }
    }

    static func requests(steer: Steering?) -> [GenerationRequest] {
        // Prompt lengths 1…6, sampled and greedy, one steered, one with a short budget.
        var out: [GenerationRequest] = []
        for i in 0..<6 {
            let prompt: [Int32] = (0...i).map { j in Int32((j * 7 + i) % 40) }
            let temperature: Float = i % 3 == 0 ? 0 : 0.9
            let sampler = SamplerSettings(temperature: temperature, topP: 0.95, seed: UInt64(100 + i))
            out.append(GenerationRequest(prompt: prompt, maxTokens: i == 2 ? 3 : 12, sampler: sampler,
                                         steering: i == 4 ? steer : nil, ignoreEnd: true))
        }
        // The last prompt again with another seed (its pass is copied), then steered (it is not).
        var again = out[5]
        again.sampler.seed = 7
        out.append(again)
        again.steering = steer
        out.append(again)
        return out
    }

    /// Eight requests through batches of 1, 2, 4 and 6 (queued ones join as others finish):
    /// each gets the tokens `generate(prompt:)` gives it alone, also where a repeated prompt's
    /// pass is copied from the one before.
    @Test func batchedEqualsOneByOne() throws {
        let m = try tinyModel()
        let g = Generator(model: m, tokenizer: try tinyTokenizerFor40(), chatTemplate: nil)
        let steer = try ControlVector(modelHint: "llama", directions: [1: (0..<16).map { Float($0) / 8 - 1 }]).steering(alpha: 0.9)
        let reqs = Self.requests(steer: steer)
        let alone = try reqs.map { r in
            try g.generate(prompt: r.prompt, maxTokens: r.maxTokens, sampler: r.sampler, steering: r.steering, ignoreEnd: true).tokens
        }
        #expect(alone[2].count == 3 && alone[0].count == 12)
        #expect(alone[6] != alone[5] && alone[7] != alone[6], "another seed and a steering vector give other tokens")
        for b in [1, 2, 4, 6] {
            var got = [[Int32]?](repeating: nil, count: reqs.count)
            var order: [Int] = []
            var last = BatchProgress(total: 0)
            try g.generate(reqs, batchSize: b, progress: { last = $0 }) { i, r in got[i] = r.tokens; order.append(i) }
            #expect(got.map { $0 ?? [] } == alone, "batch \(b)")
            #expect(last.promptTokensReused == reqs[6].prompt.count && last.promptTokens == reqs.map(\.prompt.count).reduce(0, +) - reqs[6].prompt.count)
            if b == 4 { #expect(order.first == 2 && order.count == 8, "the short request leaves first and the queued ones join") }
            #expect(last.finishedTokens == alone.map(\.count).reduce(0, +) && last.running == 0 && last.runningTokens == 0)
        }
    }

    /// The ETA by hand: 100 sequences, 1 finished with 10 tokens, 32 running with 1,600 so far
    /// (50 each, longer than the finished one, so 50 is the length expected), at 25 tokens/s:
    /// 99 · 50 − 1,600 = 3,350 tokens to come, 134 s. Before any has finished the guess is
    /// `maxTokens`, and the running ones' tokens are never counted twice.
    @Test func etaArithmetic() {
        var p = BatchProgress(total: 100)
        p.finished = 1; p.finishedTokens = 10; p.running = 32; p.runningTokens = 1600
        p.generatedTokens = 1610; p.seconds = 64.4
        #expect(abs(p.tokensPerSecond - 25) < 1e-9)
        #expect(abs(p.eta(maxTokens: 256)! - 134) < 1e-9)
        #expect(abs(p.eta(maxTokens: 40)! - (99.0 * 40 - 1600) / 25) < 1e-9, "at most maxTokens per sequence")
        var q = BatchProgress(total: 10)
        q.running = 4; q.runningTokens = 40; q.generatedTokens = 40; q.seconds = 2
        #expect(abs(q.eta(maxTokens: 100)! - (10.0 * 100 - 40) / 20) < 1e-9, "nothing finished: maxTokens each")
        q.finished = 10; q.finishedTokens = 500; q.running = 0; q.runningTokens = 0
        #expect(q.eta(maxTokens: 100) == 0)
        #expect(BatchProgress(total: 5).eta(maxTokens: 100) == nil, "no rate yet")
    }
}

/// The same on the default model, where the rows go through the quantized kernels.
@Suite(.enabled(if: realModelPath != nil, "needs the default model: run `cotforge model fetch smollm2`"))
struct RealModelBatchTests {
    @Test func batchedEqualsOneByOne() throws {
        let g = try #require(LlamaCppParityTests.shared)
        let questions = ["What is 12 + 7?", "Name a colour.", "Write one sentence about the sea, please, in plain words.", "2 * 3 = ?"]
        let reqs = try questions.enumerated().map { i, q in
            GenerationRequest(prompt: try g.promptTokens(q, chat: true), maxTokens: 16,
                              sampler: SamplerSettings(temperature: 0.8, topK: 40, seed: UInt64(i)))
        }
        let alone = try reqs.map { try g.generate(prompt: $0.prompt, maxTokens: $0.maxTokens, sampler: $0.sampler).tokens }
        var got = [[Int32]](repeating: [], count: reqs.count)
        try g.generate(reqs, batchSize: 3) { i, r in got[i] = r.tokens }
        #expect(got == alone)
    }
}
