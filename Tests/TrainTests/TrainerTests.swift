import Foundation
import Model
import Testing
import TestSupport
@testable import Train

@Suite struct TrainerTests {
    /// 40 random examples over the tiny vocabulary, stages 0–2.
    static func data() -> TrainingData {
        var rng = SeededRandom(seed: 11)
        let records = (0..<40).map { i -> TrainingRecord in
            let n = 4 + Int(rng.next() % 6)
            let tokens = (0..<n).map { _ in Int32(rng.next() % 11) }
            let trained = (0..<n).map { $0 >= 2 }
            return TrainingRecord(id: "r\(i)", stage: i % 3, example: TrainExample(tokens: tokens, trained: trained))
        }
        return TrainingData(records: records)
    }

    static func settings(lora: Bool, curriculum: Bool = false) -> TrainSettings {
        var s = TrainSettings()
        s.epochs = 2; s.batchTokens = 40; s.context = 16; s.seed = 5; s.learningRate = 1e-2; s.warmupSteps = 3
        s.curriculum = curriculum
        s.lora = lora ? LoRASettings(rank: 2, alpha: 4, dropout: 0.1) : nil
        s.moduleRates = [ModuleRate(.q, multiplier: 0.5), ModuleRate(.down, layers: 1...1, multiplier: 2)]
        return s
    }

    static func losses(_ t: Trainer, until: Int? = nil) throws -> [Double] {
        var out: [Double] = []
        try t.run(until: until) { out.append($0.loss); return true }
        return out
    }

    /// Interrupted after some steps, checkpointed, and resumed in a fresh trainer: the same
    /// losses as one uninterrupted run, bit for bit (full fine-tuning and LoRA with dropout).
    @Test(arguments: [false, true])
    func resumeEqualsUninterrupted(lora: Bool) throws {
        let dir = try TempDir()
        let whole = try Trainer(model: GradientTests.tinyModel(tied: true), data: Self.data(), settings: Self.settings(lora: lora))
        let all = try Self.losses(whole)
        #expect(all.count == whole.plan.count && all.count > 6)
        #expect(all.last! < all.first!, "the loss falls: \(all.first!) → \(all.last!)")

        let first = try Trainer(model: GradientTests.tinyModel(tied: true), data: Self.data(), settings: Self.settings(lora: lora))
        let head = try Self.losses(first, until: 5)
        try first.saveCheckpoint(to: dir.path + "/ckpt")
        let second = try Trainer(model: GradientTests.tinyModel(tied: true), data: Self.data(), settings: Self.settings(lora: lora))
        try second.loadCheckpoint(from: dir.path + "/ckpt")
        let tail = try Self.losses(second)
        #expect(head + tail == all)
    }

    /// A checkpoint of another run, or of a LoRA run into a full one, is refused with a reason.
    @Test func checkpointMismatchIsAnError() throws {
        let dir = try TempDir()
        let t = try Trainer(model: GradientTests.tinyModel(tied: true), data: Self.data(), settings: Self.settings(lora: true))
        _ = try Self.losses(t, until: 2)
        try t.saveCheckpoint(to: dir.path)
        var other = Self.settings(lora: true); other.epochs = 3
        let longer = try Trainer(model: GradientTests.tinyModel(tied: true), data: Self.data(), settings: other)
        #expect { try longer.loadCheckpoint(from: dir.path) } throws: { "\($0)".contains("steps") }
        let full = try Trainer(model: GradientTests.tinyModel(tied: true), data: Self.data(), settings: Self.settings(lora: false))
        #expect { try full.loadCheckpoint(from: dir.path) } throws: { "\($0)".contains("LoRA") }
        let otherBase = try Trainer(model: GradientTests.tinyModel(tied: true, seed: 9), data: Self.data(), settings: Self.settings(lora: true))
        #expect { try otherBase.loadCheckpoint(from: dir.path) } throws: { "\($0)".contains("base weights") }
    }

    /// Curriculum: every step of stage s comes before any of stage s+1, and each stage's
    /// epochs cover exactly its records.
    @Test func curriculumRunsStagesInOrder() throws {
        let d = Self.data()
        let t = try Trainer(model: GradientTests.tinyModel(tied: true), data: d, settings: Self.settings(lora: false, curriculum: true))
        let stages = t.plan.map { $0.stage! }
        #expect(stages == stages.sorted())
        for s in 0...2 {
            let seen = t.plan.filter { $0.stage == s }.flatMap(\.examples)
            let expected = d.records.indices.filter { d.records[$0].stage == s }
            #expect(seen.sorted() == (expected + expected).sorted())
        }
    }

    /// Gradient accumulation: a step split into micro-batches of one row gives the loss and,
    /// to float rounding, the gradients of the whole step at once.
    @Test func accumulationEqualsOneBatch() throws {
        let b = GradientTests.batch
        let m = try GradientTests.tinyModel(tied: false)
        let whole = m.pass(b, lossScale: 1 / Float(b.lossTokens))
        let g1 = Array(m.gradients)
        m.zeroGradients()
        var loss = 0.0
        for part in b.split(rows: 1) { loss += m.pass(part, lossScale: 1 / Float(b.lossTokens)).loss }
        #expect(b.split(rows: 1).count == 2)
        // The logits are f32 from sgemm, whose blocking (and, under load, thread split) depends
        // on the row count, so the two sums agree to a few f32 ulps of the loss, not to Double's.
        #expect(abs(loss - whole.loss) < 1e-6 * abs(loss) + 1e-6, "loss \(loss) against \(whole.loss)")
        let worst = zip(g1, Array(m.gradients)).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "largest gradient difference \(worst)")
    }

    /// A run that diverges stops with an error naming the step, not with NaN weights.
    @Test func divergenceIsAnError() throws {
        var s = Self.settings(lora: false)
        s.learningRate = 1e30; s.clipNorm = nil; s.warmupSteps = 0
        let t = try Trainer(model: GradientTests.tinyModel(tied: true), data: Self.data(), settings: s)
        #expect { try t.run() } throws: { "\($0)".contains("step") && "\($0)".contains("lower --lr") }
        #expect(t.model.parameters.allSatisfy { $0.isFinite })
    }

    /// Module-wise rates: the product of the matching rules, layer ranges respected.
    @Test func moduleRates() throws {
        let rates = try ModuleRate.parse("q=0.5,down@1-1=2,down=3,norm@0-0=0")
        let opt = AdamW(layout: ParameterLayout(config: GradientTests.tinyConfig(), tiedOutput: true),
                        schedule: LearningRateSchedule(peak: 1, totalSteps: 1), moduleRates: rates)
        let l = opt.layout
        #expect(opt.multiplier(for: l["blk.0.attn_q.weight"]!) == 0.5)
        #expect(opt.multiplier(for: l["blk.1.ffn_down.weight"]!) == 6)
        #expect(opt.multiplier(for: l["blk.0.ffn_down.weight"]!) == 3)
        #expect(opt.multiplier(for: l["blk.0.attn_norm.weight"]!) == 0)
        #expect(opt.multiplier(for: l["output_norm.weight"]!) == 1)
        #expect(opt.multiplier(for: l["blk.1.attn_k.weight"]!) == 1)
        #expect { try ModuleRate.parse("qq=1") } throws: { "\($0)".contains("unknown module") }
        #expect { try ModuleRate.parse("q@3-1=1") } throws: { "\($0)".contains("layers") }
    }

    /// Warmup rises linearly to the peak, cosine falls to the floor at the last step.
    @Test func schedule() {
        let s = LearningRateSchedule(peak: 1, warmupSteps: 4, totalSteps: 14, minRatio: 0.1)
        #expect(s.rate(at: 0) == 0.25 && s.rate(at: 3) == 1)
        #expect(abs(s.rate(at: 9) - 0.55) < 1e-6)
        #expect(abs(s.rate(at: 14) - 0.1) < 1e-6)
    }
}
