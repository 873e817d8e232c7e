import Foundation
import Model
import Testing
import TestSupport
@testable import Train

@Suite struct LoRATests {
    /// With B at zero the adapted model is the base model, exactly: the same loss bit for bit,
    /// and after merging, the same engine logits.
    @Test func zeroBReproducesTheBase() throws {
        let m = try GradientTests.tinyModel(tied: true)
        let base = m.loss(GradientTests.batch)
        let baseLogits = try Self.logits(m)
        m.lora = try LoRA(for: m, rank: 4, alpha: 8, seed: 3)
        #expect(m.loss(GradientTests.batch).loss == base.loss)
        m.lora!.merge(into: m)
        m.lora = nil
        #expect(try Self.logits(m) == baseLogits)
    }

    /// Adapter gradients equal finite differences (B made non-zero first); the base weights
    /// get no gradient while adapters are attached.
    @Test func adapterGradientsMatchFiniteDifferences() throws {
        let m = try GradientTests.tinyModel(tied: false)
        let lora = try LoRA(for: m, rank: 3, alpha: 6, targets: [.q, .v, .down, .up], seed: 4)
        var rng = SeededRandom(seed: 5)
        for t in lora.layout.tensors where t.name.hasSuffix(".lora_b") {
            for i in t.range { lora.parameters[i] = 0.3 * TrainableLlama.gaussian(&rng) }
        }
        m.lora = lora
        let (_, count) = m.pass(GradientTests.batch)
        #expect(m.gradients.allSatisfy { $0 == 0 })
        let analytic = Array(lora.gradients)
        for t in lora.layout.tensors {
            let biggest = t.range.max { abs(analytic[$0]) < abs(analytic[$1]) }!
            #expect(abs(analytic[biggest]) > 1e-4, "\(t.name) has no gradient")
            for i in [biggest, t.offset + Int(rng.next() % UInt64(t.count))] {
                let saved = lora.parameters[i], h: Float = 2e-3
                lora.parameters[i] = saved + h
                let up = m.loss(GradientTests.batch).loss / Double(count)
                lora.parameters[i] = saved - h
                let down = m.loss(GradientTests.batch).loss / Double(count)
                lora.parameters[i] = saved
                let numeric = Float((up - down) / (2 * Double(h)))
                #expect(abs(numeric - analytic[i]) <= 2e-3 + 2e-2 * abs(analytic[i]),
                        "\(t.name)[\(i - t.offset)]: backward \(analytic[i]), finite differences \(numeric)")
            }
        }
    }

    /// Merging folds the adapters in: the merged model without adapters computes what the
    /// adapted one did.
    @Test func mergeKeepsTheFunction() throws {
        let m = try GradientTests.tinyModel(tied: true)
        let lora = try LoRA(for: m, rank: 2, alpha: 4, seed: 6)
        var rng = SeededRandom(seed: 7)
        for i in 0..<lora.layout.count { lora.parameters[i] = 0.2 * TrainableLlama.gaussian(&rng) }
        m.lora = lora
        let adapted = m.loss(GradientTests.batch).loss
        lora.merge(into: m)
        m.lora = nil
        let merged = m.loss(GradientTests.batch).loss
        #expect(abs(adapted - merged) < 1e-5 * abs(adapted), "adapted \(adapted), merged \(merged)")
    }

    /// Dropout: repeatable for a seed, different for another, and gone without backward.
    @Test func dropoutIsSeeded() throws {
        let m = try GradientTests.tinyModel(tied: true)
        let lora = try LoRA(for: m, rank: 2, alpha: 4, dropout: 0.5, seed: 6)
        for i in 0..<lora.layout.count { lora.parameters[i] = 0.3 }
        m.lora = lora
        let a = m.pass(GradientTests.batch, dropoutSeed: 1).loss
        let b = m.pass(GradientTests.batch, dropoutSeed: 1).loss
        let c = m.pass(GradientTests.batch, dropoutSeed: 2).loss
        #expect(a == b && a != c)
        #expect(m.loss(GradientTests.batch).loss == m.loss(GradientTests.batch).loss)
    }

    @Test func rejectsBadSettings() throws {
        let m = try GradientTests.tinyModel(tied: true)
        #expect(throws: TrainError.self) { try LoRA(for: m, rank: 0, alpha: 1, seed: 1) }
        #expect(throws: TrainError.self) { try LoRA(for: m, rank: 2, alpha: 1, targets: [.norm], seed: 1) }
        #expect(throws: TrainError.self) { try LoRA(for: m, rank: 2, alpha: 1, dropout: 1, seed: 1) }
    }

    static func logits(_ m: TrainableLlama) throws -> [Float] {
        let engine = try m.engineModel()
        var cache = engine.makeCache(capacity: 8)
        return try engine.forward([1, 5, 3, 7], cache: &cache, allLogits: true)
    }
}
