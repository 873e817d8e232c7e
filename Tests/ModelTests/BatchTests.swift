import Foundation
import Testing
@testable import Model
import TestSupport

/// Batched generation gives every sequence exactly what it gets alone.
@Suite struct BatchTests {
    /// `matvecBatch` over rows of different sequences equals `matvec` of each row alone, bit for bit.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q8_0, .q5_1])
    func matvecBatchEqualsMatvec(_ type: GGMLType) throws {
        var rng = SeededRandom(seed: 90 + UInt64(type.rawValue))
        let rows = 37, cols = 192, n = 29   // a chunk of 16, one of 8, and 5 one by one
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols,
                                             data: QuantizedMatrixTests.randomBlocks(type, rows: rows, cols: cols, &rng)))
        let x = (0..<(n * cols)).map { _ in Float.random(in: -2...2, using: &rng) }
        var batched = [Float](repeating: 0, count: n * rows)
        x.withUnsafeBufferPointer { xb in batched.withUnsafeMutableBufferPointer { m.matvecBatch(xb.baseAddress!, rows: n, $0.baseAddress!) } }
        for i in 0..<n {
            var alone = [Float](repeating: 0, count: rows)
            x.withUnsafeBufferPointer { xb in alone.withUnsafeMutableBufferPointer { m.matvec(xb.baseAddress! + i * cols, $0.baseAddress!) } }
            #expect(Array(batched[(i * rows)..<((i + 1) * rows)]) == alone, "\(type.name) row \(i)")
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
        return out
    }

    /// Six requests through batches of 1, 2, 4 and 6 (queued ones join as others finish):
    /// each gets the tokens `generate(prompt:)` gives it alone.
    @Test func batchedEqualsOneByOne() throws {
        let m = try tinyModel()
        let g = Generator(model: m, tokenizer: try tinyTokenizerFor40(), chatTemplate: nil)
        let steer = try ControlVector(modelHint: "llama", directions: [1: (0..<16).map { Float($0) / 8 - 1 }]).steering(alpha: 0.9)
        let reqs = Self.requests(steer: steer)
        let alone = try reqs.map { r in
            try g.generate(prompt: r.prompt, maxTokens: r.maxTokens, sampler: r.sampler, steering: r.steering, ignoreEnd: true).tokens
        }
        #expect(alone[2].count == 3 && alone[0].count == 12)
        for b in [1, 2, 4, 6] {
            var got = [[Int32]?](repeating: nil, count: reqs.count)
            var order: [Int] = []
            try g.generate(reqs, batchSize: b) { i, r in got[i] = r.tokens; order.append(i) }
            #expect(got.map { $0 ?? [] } == alone, "batch \(b)")
            if b == 4 { #expect(order.first == 2 && order.count == 6, "the short request leaves first and the queued ones join") }
        }
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
