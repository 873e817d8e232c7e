import Foundation
import Hashing
import Model

/// How a run trains.
public struct TrainSettings: Sendable, Equatable {
    public var epochs = 1
    /// Tokens per optimizer step (examples are grouped to about this many, at least one).
    public var batchTokens = 4096
    /// Row length that examples are packed into.
    public var context = 512
    public var seed: UInt64 = 0
    /// Train curriculum stage 0, then 1, …, each stage's epochs in turn.
    public var curriculum = false
    public var learningRate: Float = 2e-4
    public var warmupSteps = 10
    public var minRateRatio: Float = 0.1
    public var weightDecay: Float = 0.0
    public var clipNorm: Float? = 1
    public var moduleRates: [ModuleRate] = []
    public var lora: LoRASettings?
    /// Stop after this many steps (the schedule is laid over them); nil: every epoch.
    public var maxSteps: Int?
    /// Gradient accumulation: a step's rows go through forward and backward this many at a
    /// time (bounding activation memory), their gradients summed before the update; nil: all.
    public var microBatchRows: Int?
    public init() {}
}

public struct LoRASettings: Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    public var targets: Set<ModuleKind>
    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: Set<ModuleKind> = LoRA.defaultTargets) {
        self.rank = rank; self.alpha = alpha; self.dropout = dropout; self.targets = targets
    }

    /// Parses `r=8,alpha=16,dropout=0.05,targets=q+k+v+o`; throws naming the bad entry.
    public static func parse(_ text: String) throws -> LoRASettings {
        var s = LoRASettings()
        for entry in text.split(separator: ",") {
            let kv = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2 else { throw TrainError("--lora \"\(entry)\" is not key=value", hint: "e.g. r=8,alpha=16,dropout=0.05,targets=q+k+v+o") }
            switch kv[0] {
            case "r", "rank":
                guard let v = Int(kv[1]), v > 0 else { throw TrainError("--lora rank \"\(kv[1])\" is not a positive integer") }
                s.rank = v
            case "alpha":
                guard let v = Float(kv[1]), v > 0 else { throw TrainError("--lora alpha \"\(kv[1])\" is not a positive number") }
                s.alpha = v
            case "dropout":
                guard let v = Float(kv[1]), (0..<1).contains(v) else { throw TrainError("--lora dropout \"\(kv[1])\" is not in [0, 1)") }
                s.dropout = v
            case "targets":
                s.targets = Set(try kv[1].split(separator: "+").map { name in
                    guard let k = ModuleKind(rawValue: String(name)) else { throw TrainError("--lora target \"\(name)\" is not a module kind", hint: "q, k, v, o, gate, up, down") }
                    return k
                })
            default: throw TrainError("--lora key \"\(kv[0])\" is unknown", hint: "r, alpha, dropout, targets")
            }
        }
        return s
    }
}

/// One optimizer step, as the progress callback and the JSONL log see it.
public struct TrainStep: Sendable, Equatable {
    public var step: Int           // 1-based
    public var steps: Int
    public var stage: Int?
    public var epoch: Int
    public var loss: Double        // mean nats per trained token
    public var tokens: Int         // trained tokens in the step
    public var rowTokens: Int      // tokens processed (rows × length, padding included)
    public var seconds: Double     // wall time of the step
    public var rate: Float
    public var gradientNorm: Float
    public var validationLoss: Double?

    public init(step: Int, steps: Int, stage: Int?, epoch: Int, loss: Double, tokens: Int, rowTokens: Int, seconds: Double,
                rate: Float, gradientNorm: Float, validationLoss: Double?) {
        self.step = step; self.steps = steps; self.stage = stage; self.epoch = epoch; self.loss = loss; self.tokens = tokens
        self.rowTokens = rowTokens; self.seconds = seconds; self.rate = rate; self.gradientNorm = gradientNorm; self.validationLoss = validationLoss
    }
}

/// Runs training over a rendered dataset: a fixed plan of steps (which examples each step
/// takes) derived from the seed, so a run is repeatable and a resumed run continues exactly.
public final class Trainer {
    public let model: TrainableLlama
    public let data: TrainingData
    public let validation: TrainingData?
    public let settings: TrainSettings
    public let optimizer: AdamW
    public let padding: Int32
    /// Per step: the stage, epoch and the example indices it trains on.
    public let plan: [(stage: Int?, epoch: Int, examples: [Int])]
    public private(set) var completed = 0
    public var validateEvery = 0

    public init(model: TrainableLlama, data: TrainingData, validation: TrainingData? = nil, settings: TrainSettings, padding: Int32 = 0) throws {
        guard !data.records.isEmpty else { throw TrainError("no training records", hint: "check the split and the context length") }
        self.model = model; self.data = data; self.validation = validation; self.settings = settings; self.padding = padding
        if let l = settings.lora, model.lora == nil {
            model.lora = try LoRA(for: model, rank: l.rank, alpha: l.alpha, dropout: l.dropout, targets: l.targets, seed: settings.seed &+ 1)
        }
        var plan: [(stage: Int?, epoch: Int, examples: [Int])] = []
        let stages: [Int?] = settings.curriculum ? Array(Set(data.records.map(\.stage))).sorted() : [nil]
        for stage in stages {
            for epoch in 0..<settings.epochs {
                let order = data.order(epoch: epoch &+ 1000 * (stage ?? 0), seed: settings.seed, curriculum: false)
                    .filter { stage == nil || data.records[$0].stage == stage }
                var group: [Int] = [], used = 0
                for i in order {
                    let n = data.records[i].example.tokens.count
                    if !group.isEmpty && used + n > settings.batchTokens { plan.append((stage, epoch, group)); group = []; used = 0 }
                    group.append(i); used += n
                }
                if !group.isEmpty { plan.append((stage, epoch, group)) }
            }
        }
        if let cap = settings.maxSteps, cap < plan.count { plan = Array(plan.prefix(max(1, cap))) }
        self.plan = plan
        let schedule = LearningRateSchedule(peak: settings.learningRate, warmupSteps: min(settings.warmupSteps, plan.count / 2),
                                            totalSteps: plan.count, minRatio: settings.minRateRatio)
        optimizer = AdamW(layout: model.lora?.layout ?? model.layout, schedule: schedule, weightDecay: settings.weightDecay,
                          clipNorm: settings.clipNorm, moduleRates: settings.moduleRates)
    }

    /// Mean validation loss (nats per trained token) over the validation set, or nil.
    public func validationLoss() throws -> Double? {
        guard let v = validation, !v.records.isEmpty else { return nil }
        var loss = 0.0, tokens = 0
        for b in try v.batches(order: Array(v.records.indices), batchTokens: settings.batchTokens, context: settings.context, padding: padding) {
            let r = model.loss(b)
            loss += r.loss; tokens += r.tokens
        }
        return tokens > 0 ? loss / Double(tokens) : nil
    }

    /// Runs steps `completed`… up to `until` (default: the end), calling `onStep` after each;
    /// `onStep` returning false stops the run after that step.
    public func run(until: Int? = nil, onStep: (TrainStep) throws -> Bool = { _ in true }) throws {
        let end = min(until ?? plan.count, plan.count)
        while completed < end {
            let t0 = Date()
            let entry = plan[completed]
            let batch = try TrainBatch.packed(entry.examples.map { data.records[$0].example }, length: settings.context, padding: padding)
            model.zeroGradients()
            // Every micro-batch's loss is scaled by the whole step's token count, so the summed
            // gradient is the mean over the step whatever the split.
            let scale = 1 / Float(max(1, batch.lossTokens))
            var loss = 0.0, tokens = 0
            for (k, part) in batch.split(rows: settings.microBatchRows ?? batch.rows).enumerated() {
                let r = model.pass(part, lossScale: scale, dropoutSeed: SplitMix64.mix(settings.seed ^ UInt64(completed) ^ UInt64(k) << 40))
                loss += r.loss; tokens += r.tokens
            }
            guard loss.isFinite else {
                throw TrainError("step \(completed + 1): the loss is \(loss), not a finite number; the weights are left as they were before this step",
                                 hint: "lower --lr, keep gradient clipping on, or resume from the last checkpoint")
            }
            let (norm, rate) = optimizer.update(model)
            guard norm.isFinite else {
                throw TrainError("step \(completed + 1): the gradient norm is \(norm); the weights are left as they were before this step",
                                 hint: "lower --lr, keep gradient clipping on, or resume from the last checkpoint")
            }
            completed += 1
            var validationLoss: Double? = nil
            if validation != nil && ((validateEvery > 0 && completed % validateEvery == 0) || completed == plan.count) {
                validationLoss = try self.validationLoss()
            }
            let step = TrainStep(step: completed, steps: plan.count, stage: entry.stage, epoch: entry.epoch,
                                 loss: tokens > 0 ? loss / Double(tokens) : 0, tokens: tokens, rowTokens: batch.rows * batch.length,
                                 seconds: Date().timeIntervalSince(t0), rate: rate, gradientNorm: norm, validationLoss: validationLoss)
            if try !onStep(step) { break }
        }
    }

    // MARK: checkpoints

    /// Writes `dir/checkpoint.safetensors` (what trains, and both AdamW moments) and
    /// `dir/state.json` (step, settings, a fingerprint of the base weights under LoRA).
    public func saveCheckpoint(to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (params, layout) = model.lora.map { ($0.parameters, $0.layout) } ?? (model.parameters, model.layout)
        var tensors: [SafeTensors.Tensor] = []
        for t in layout.tensors {
            tensors.append(.init(name: "param/\(t.name)", shape: t.shape, values: Array(params[t.range])))
            tensors.append(.init(name: "adam_m/\(t.name)", shape: t.shape, values: Array(optimizer.m[t.range])))
            tensors.append(.init(name: "adam_v/\(t.name)", shape: t.shape, values: Array(optimizer.v[t.range])))
        }
        try SafeTensors.write(tensors, metadata: ["format": "cotforge-checkpoint"], to: "\(dir)/checkpoint.safetensors")
        let state: [String: Any] = ["format": "cotforge-checkpoint", "format_version": 1, "step": completed, "steps": plan.count,
                                    "adam_step": optimizer.step, "lora": model.lora != nil, "base_fingerprint": baseFingerprint()]
        try JSONSerialization.data(withJSONObject: state, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "\(dir)/state.json"), options: .atomic)
    }

    /// Restores a checkpoint written by `saveCheckpoint` for the same model, data and settings.
    public func loadCheckpoint(from dir: String) throws {
        guard let data = FileManager.default.contents(atPath: "\(dir)/state.json"),
              let state = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let step = state["step"] as? Int, let steps = state["steps"] as? Int, let adamStep = state["adam_step"] as? Int else {
            throw TrainError("\(dir)/state.json: missing or not a cotforge checkpoint")
        }
        guard steps == plan.count else {
            throw TrainError("\(dir): the checkpoint's run has \(steps) steps, this one \(plan.count)",
                             hint: "resume with the same data and settings (epochs, batch tokens, context, seed)")
        }
        guard (state["lora"] as? Bool) == (model.lora != nil) else { throw TrainError("\(dir): the checkpoint was \((state["lora"] as? Bool) == true ? "" : "not ")a LoRA run") }
        if model.lora != nil, let fp = state["base_fingerprint"] as? String, fp != baseFingerprint() {
            throw TrainError("\(dir): the base weights differ from the checkpoint's", hint: "resume with the same --init")
        }
        let (tensors, _) = try SafeTensors.read("\(dir)/checkpoint.safetensors")
        let (params, layout) = model.lora.map { ($0.parameters, $0.layout) } ?? (model.parameters, model.layout)
        for t in layout.tensors {
            for (prefix, buffer) in [("param/", params), ("adam_m/", optimizer.m), ("adam_v/", optimizer.v)] {
                guard let st = tensors[prefix + t.name], st.values.count == t.count else {
                    throw TrainError("\(dir)/checkpoint.safetensors: \(prefix + t.name) is missing or has the wrong size")
                }
                st.values.withUnsafeBufferPointer { (buffer.baseAddress! + t.offset).update(from: $0.baseAddress!, count: t.count) }
            }
        }
        optimizer.restore(step: adamStep)
        completed = step
    }

    /// SHA-256 of the base weights' bytes (checks that a LoRA resume uses the same base).
    func baseFingerprint() -> String {
        SHA256.hex(of: UnsafeRawBufferPointer(model.parameters))
    }
}
