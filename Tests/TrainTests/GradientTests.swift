import Foundation
import Model
import Testing
import TestSupport
@testable import Train

/// Tiny models built in code, and the checks of the hand-written backward pass.
@Suite struct GradientTests {
    static func tinyConfig(vocabulary: Int = 11) -> LlamaConfig {
        LlamaConfig(architecture: .llama, layers: 2, width: 16, ffnWidth: 24, heads: 4, kvHeads: 2,
                    vocabulary: vocabulary, contextLength: 32)
    }

    /// A tiny model with weights large enough (std 0.4) that every path is far from linear.
    static func tinyModel(tied: Bool, seed: UInt64 = 1) throws -> TrainableLlama {
        let m = try TrainableLlama(config: tinyConfig(), tiedOutput: tied, seed: seed)
        var rng = SeededRandom(seed: seed + 100)
        for t in m.layout.tensors {
            for i in t.range { m.parameters[i] = t.kind == .norm ? 1 + 0.3 * TrainableLlama.gaussian(&rng) : 0.4 * TrainableLlama.gaussian(&rng) }
        }
        return m
    }

    /// Two rows of 7 tokens: the first packs two examples (segments 0 and 1, positions
    /// restarting), the second one example and padding; some targets masked.
    static let batch = TrainBatch(
        rows: 2, length: 7,
        tokens: [1, 5, 3, 7, 2, 9, 4, 1, 6, 6, 8, 0, 0, 0],
        targets: [-1, 3, 7, -1, 9, 4, 10, -1, 6, 8, 2, -1, -1, -1],
        positions: [0, 1, 2, 0, 1, 2, 3, 0, 1, 2, 3, 0, 0, 0],
        segments: [0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1])

    /// Every parameter tensor's gradient equals central finite differences of the loss: the
    /// entry with the largest gradient and three random entries per tensor.
    @Test(arguments: [true, false])
    func gradientMatchesFiniteDifferences(tied: Bool) throws {
        let m = try Self.tinyModel(tied: tied)
        let (_, count) = m.pass(Self.batch)
        #expect(count == 8)
        let analytic = Array(m.gradients)
        func loss() -> Double { m.loss(Self.batch).loss / Double(count) }
        var rng = SeededRandom(seed: 7)
        var checked = 0
        for t in m.layout.tensors {
            let biggest = t.range.max { abs(analytic[$0]) < abs(analytic[$1]) }!
            #expect(abs(analytic[biggest]) > 1e-4, "\(t.name) has no gradient")
            let picks = [biggest] + (0..<3).map { _ in t.offset + Int(rng.next() % UInt64(t.count)) }
            for i in picks {
                let saved = m.parameters[i], h: Float = 2e-3
                m.parameters[i] = saved + h
                let up = loss()
                m.parameters[i] = saved - h
                let down = loss()
                m.parameters[i] = saved
                let numeric = Float((up - down) / (2 * Double(h)))
                #expect(abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * abs(analytic[i]),
                        "\(t.name)[\(i - t.offset)]: backward \(analytic[i]), finite differences \(numeric)")
                checked += 1
            }
        }
        #expect(checked == 4 * m.layout.tensors.count)
    }

    /// The trainer's forward pass is the engine's: the loss from the engine's logits (run
    /// example by example) equals the trainer's.
    @Test func forwardMatchesTheEngine() throws {
        let m = try Self.tinyModel(tied: false)
        let engine = try m.engineModel()
        let b = Self.batch
        var engineLoss = 0.0
        for r in 0..<b.rows {
            for seg in Set(b.segments[(r * b.length)..<((r + 1) * b.length)]) {
                let idx = (r * b.length..<((r + 1) * b.length)).filter { b.segments[$0] == seg }
                var cache = engine.makeCache(capacity: 16)
                let logits = try engine.forward(idx.map { b.tokens[$0] }, cache: &cache, allLogits: true)
                let V = engine.config.vocabulary
                for (j, i) in idx.enumerated() where b.targets[i] >= 0 {
                    let z = logits[(j * V)..<((j + 1) * V)].map(Double.init)
                    let mx = z.max()!
                    engineLoss += log(z.map { exp($0 - mx) }.reduce(0, +)) + mx - z[Int(b.targets[i])]
                }
            }
        }
        let ours = m.loss(b).loss
        #expect(abs(ours - engineLoss) < 1e-4 * abs(engineLoss), "trainer \(ours), engine \(engineLoss)")
    }

    /// Padding in a segment of its own, without loss: changing its tokens changes neither the
    /// loss nor any gradient (nothing flows out of it; its embedding rows get exact zeros).
    @Test func isolatedPaddingChangesNothing() throws {
        let m = try Self.tinyModel(tied: true)
        var b = Self.batch
        let first = m.pass(b)
        let g1 = Array(m.gradients)
        m.zeroGradients()
        b.tokens[11] = 3; b.tokens[12] = 9; b.tokens[13] = 10
        let second = m.pass(b)
        #expect(first.loss == second.loss && first.tokens == second.tokens)
        #expect(g1 == Array(m.gradients))
    }

    /// Packing isolation: a packed row gives the same loss and gradients as its examples in
    /// separate rows.
    @Test func packedEqualsSeparate() throws {
        let packed = TrainBatch(rows: 1, length: 7, tokens: [1, 5, 3, 7, 2, 9, 4], targets: [5, 3, -1, 2, 9, 4, -1],
                                positions: [0, 1, 2, 0, 1, 2, 3], segments: [0, 0, 0, 1, 1, 1, 1])
        let separate = TrainBatch(rows: 2, length: 4, tokens: [1, 5, 3, 0, 7, 2, 9, 4], targets: [5, 3, -1, -1, 2, 9, 4, -1],
                                  positions: [0, 1, 2, 0, 0, 1, 2, 3], segments: [0, 0, 0, 1, 0, 0, 0, 0])
        let m = try Self.tinyModel(tied: false)
        let a = m.pass(packed)
        let ga = Array(m.gradients)
        m.zeroGradients()
        let b = m.pass(separate)
        let gb = Array(m.gradients)
        #expect(a.tokens == b.tokens)
        #expect(abs(a.loss - b.loss) < 1e-5 * a.loss)
        let worst = zip(ga, gb).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "largest gradient difference \(worst)")
    }
}
