import Foundation
import Testing
@testable import Model
import Hashing

/// Sampler steps on distributions worked out by hand. The base case: probabilities 0.5, 0.2,
/// 0.2, 0.1 for tokens 0…3 (logits their natural logs).
@Suite struct SamplerTests {
    static let p: [Double] = [0.5, 0.2, 0.2, 0.1]
    static var logits: [Float] { p.map { Float(log($0)) } }

    func run(_ step: any SamplerStep, _ logits: [Float] = SamplerTests.logits, history: [Int32] = []) -> Candidates {
        var c = Candidates(logits: logits)
        step.apply(&c, history: history[...])
        return c
    }

    @Test func topK() {
        #expect(run(TopK(1)).ids == [0])
        #expect(run(TopK(2)).ids == [0, 1])  // tokens 1 and 2 tie: the lower id stays
        #expect(run(TopK(3)).ids == [0, 1, 2])
        #expect(run(TopK(0)).ids == [0, 1, 2, 3] && run(TopK(9)).ids == [0, 1, 2, 3])
    }

    @Test func topP() {
        #expect(run(TopP(0.5)).ids == [0])          // 0.5 reaches 0.5
        #expect(run(TopP(0.6)).ids == [0, 1])       // 0.7
        #expect(run(TopP(0.85)).ids == [0, 1, 2])   // 0.9
        #expect(run(TopP(0.95)).ids == [0, 1, 2, 3])
        #expect(run(TopP(1)).ids == [0, 1, 2, 3])
    }

    /// On vocabulary-sized distributions (peaked, flat, with ties) top-p keeps exactly the set a
    /// full sort would: the most likely tokens, in order, until their mass reaches p.
    @Test(arguments: [0.5, 0.9, 0.95, 0.999])
    func topPMatchesAFullSort(_ p: Double) {
        var rng = SplitMix64(seed: UInt64(p * 1000))
        for shape in 0..<3 {
            let logits: [Float] = (0..<5000).map { i in
                let u = Float(rng.next() >> 40) / Float(1 << 24)
                switch shape {
                case 0: return i % 97 == 0 ? 8 + u : u * 4        // a few likely tokens
                case 1: return u * 0.01                          // almost flat
                default: return Float(Int(u * 6))                // many exact ties
                }
            }
            let m = Double(logits.max()!)
            let order = logits.indices.sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
            let total = logits.reduce(0.0) { $0 + exp(Double($1) - m) }
            var expected: [Int32] = [], mass = 0.0
            for i in order {
                expected.append(Int32(i)); mass += exp(Double(logits[i]) - m) / total
                if mass >= p { break }
            }
            let c = run(TopP(p), logits)
            #expect(c.ids == expected, "p \(p) shape \(shape): kept \(c.count), expected \(expected.count)")
            #expect(c.sorted)
        }
    }

    @Test func minP() {
        #expect(run(MinP(0.3)).ids == [0, 1, 2])    // p ≥ 0.15
        #expect(run(MinP(0.41)).ids == [0])         // p ≥ 0.205
        #expect(run(MinP(0.2)).ids == [0, 1, 2, 3]) // p ≥ 0.1
    }

    @Test func temperature() {
        // T = 2: p_i ∝ √p_i → 0.70711, 0.44721, 0.44721, 0.31623 (sum 1.91776).
        let probs = run(Temperature(2)).probabilities()
        for (got, want) in zip(probs, [0.368716, 0.233194, 0.233194, 0.164896]) { #expect(abs(got - want) < 1e-5) }
        // T = 0.5: p_i ∝ p_i² → 0.25, 0.04, 0.04, 0.01 (sum 0.34).
        for (got, want) in zip(run(Temperature(0.5)).probabilities(), [0.25 / 0.34, 0.04 / 0.34, 0.04 / 0.34, 0.01 / 0.34]) { #expect(abs(got - want) < 1e-5) }
    }

    @Test func repetitionPenalty() {
        let c = run(RepetitionPenalty(penalty: 2, lastN: 2), [2, -1, 3, 0.5], history: [0, 1, 3, 1])
        // Only the last two tokens of the history (3, 1) count, each once.
        #expect(c.logits == [2, -2, 3, 0.25])
        #expect(run(RepetitionPenalty(penalty: 2, lastN: -1), [2, -1, 3, 0.5], history: [0, 1]).logits == [1, -2, 3, 0.5])
    }

    /// The chain in llama.cpp's order, then a draw: over 40,000 draws the frequencies are those
    /// computed by hand (top-k 3 → {0, 1, 2} → renormalised 5/9, 2/9, 2/9).
    @Test func drawsFollowTheDistribution() {
        var s = Sampler(SamplerSettings(temperature: 1, topK: 3, seed: 42))
        var counts = [0, 0, 0, 0]
        for _ in 0..<40_000 { counts[Int(s.next(SamplerTests.logits, history: []))] += 1 }
        #expect(counts[3] == 0)
        for (n, want) in zip(counts, [5.0 / 9, 2.0 / 9, 2.0 / 9]) { #expect(abs(Double(n) / 40_000 - want) < 0.01, "\(counts)") }
    }

    /// Greedy takes the argmax (lowest id on ties), after the repetition penalty when set.
    @Test func greedy() {
        var s = Sampler(SamplerSettings())
        #expect(s.next([1, 3, 3, 2], history: []) == 1)
        var p = Sampler(SamplerSettings(repeatPenalty: 4))
        #expect(p.next([1, 3, 2.5, 2], history: [1]) == 2)
    }

    /// A seed gives the same tokens every time; another seed gives others.
    @Test func seeded() {
        func draws(_ seed: UInt64) -> [Int32] {
            var s = Sampler(SamplerSettings(temperature: 1.3, topP: 0.95, minP: 0.01, seed: seed))
            return (0..<64).map { _ in s.next(SamplerTests.logits, history: []) }
        }
        #expect(draws(7) == draws(7))
        #expect(draws(7) != draws(8))
    }
}
