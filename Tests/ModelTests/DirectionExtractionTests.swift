import Foundation
import Testing
@testable import Model
import TestSupport

@Suite struct DirectionExtractionTests {
    /// A model whose blocks add little (small output projections): the residual at the last
    /// token is that token's embedding plus a small, question-dependent part. The long prompts
    /// end with token 38, the short ones with 39, so the planted direction at every layer is
    /// E[38] − E[39]; both methods must recover it, with long projecting higher.
    static func plantedModel() throws -> LlamaModel {
        let c = LlamaConfig(architecture: .llama, layers: 3, width: 16, ffnWidth: 24, heads: 4, kvHeads: 2, vocabulary: 40, contextLength: 64)
        var rng = SeededRandom(seed: 21)
        func r(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in Float.random(in: -s...s, using: &rng) } }
        let C = c.width, Q = c.heads * c.headDim, KV = c.kvWidth, F = c.ffnWidth
        let blocks = (0..<c.layers).map { _ in
            LlamaBlockWeights(attnNorm: [Float](repeating: 1, count: C), wq: .f32(r(Q * C, 0.3)), wk: .f32(r(KV * C, 0.3)),
                              wv: .f32(r(KV * C, 0.3)), wo: .f32(r(C * Q, 0.05)), ffnNorm: [Float](repeating: 1, count: C),
                              wGate: .f32(r(F * C, 0.3)), wUp: .f32(r(F * C, 0.3)), wDown: .f32(r(C * F, 0.05)))
        }
        return try LlamaModel(config: c, tokenEmbedding: .f32(r(c.vocabulary * C, 1)), blocks: blocks,
                              outputNorm: [Float](repeating: 1, count: C), output: nil)
    }

    static func pairs(_ n: Int) -> [(long: [Int32], short: [Int32])] {
        var rng = SeededRandom(seed: 5)
        return (0..<n).map { _ in
            let q = (0..<(3 + Int(rng.next() % 5))).map { _ in Int32(rng.next() % 30) }
            return (q + [31, 38], q + [31, 39])
        }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let d = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        return d / (a.map { $0 * $0 }.reduce(0, +).squareRoot() * b.map { $0 * $0 }.reduce(0, +).squareRoot())
    }

    @Test(arguments: DirectionMethod.allCases)
    func recoversAPlantedDirection(_ method: DirectionMethod) throws {
        let m = try Self.plantedModel()
        let emb = m.tokenEmbedding.floats, C = m.config.width
        let planted = (0..<C).map { emb[38 * C + $0] - emb[39 * C + $0] }
        let (dirs, stats) = try DirectionExtraction.extract(model: m, pairs: Self.pairs(24), layers: [0, 1, 2], method: method)
        for l in 0..<3 {
            let cos = Self.cosine(dirs[l]!, planted)
            #expect(cos > 0.97, "layer \(l): cosine \(cos) with the planted direction")
            let s = stats[l]
            #expect(s.layer == l && s.pairs == 24 && s.consistent == 24 && s.agreement > 0.9, "\(s)")
            #expect(s.separation > 1, "the classes sit apart: \(s.separation)")
        }
        // The recovered length is the mean difference's: close to the planted one's.
        let ratio = (dirs[0]!.map { $0 * $0 }.reduce(0, +) / planted.map { $0 * $0 }.reduce(0, +)).squareRoot()
        #expect(abs(ratio - 1) < 0.15, "length ratio \(ratio)")
    }

    /// Swapping the roles of long and short flips the direction (the sign is fixed by the data,
    /// not by chance), for both methods.
    @Test(arguments: DirectionMethod.allCases)
    func signFollowsLong(_ method: DirectionMethod) throws {
        let m = try Self.plantedModel()
        let p = Self.pairs(12)
        let (a, _) = try DirectionExtraction.extract(model: m, pairs: p, layers: [1], method: method)
        let (b, _) = try DirectionExtraction.extract(model: m, pairs: p.map { ($0.short, $0.long) }, layers: [1], method: method)
        #expect(Self.cosine(a[1]!, b[1]!) < -0.99)
    }

    /// With no signal (both prompts the same) every statistic says so.
    @Test func noSignal() {
        let x: [[Float]] = [[1, 2], [3, 1], [0, 5]]
        let (d, s) = DirectionExtraction.direction(long: x, short: x, method: .meanDiff)
        #expect(d == [0, 0] && s.norm == 0 && s.separation == 0 && s.consistent == 0)
    }
}
