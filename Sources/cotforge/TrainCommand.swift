import ArgumentParser
import Corpus
import Foundation
import Model
import Shards
import Train

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a model on a built dataset (full or LoRA) and export it.",
        discussion: """
        Reads the train split of a folder built by `cotforge shard`/`build`, renders each record through the model's chat template (assistant turn `<think>…</think>` + answer, loss on the assistant turn only), packs examples into rows of --context tokens and trains with AdamW (warmup + cosine). Writes into --out (default DATA/train): train-log.jsonl (one line per step), loss.svg, checkpoint/ (resume with --resume), model.gguf (LoRA merged; the engine and llama.cpp run it) and hf/ (safetensors + config.json for transformers' LlamaForCausalLM).

        --init takes a known model name or a .gguf (its weights, dequantized to f32), or a .json config for a model trained from scratch: {"tokenizer": "smollm2", "layers": 4, "width": 256, "ffn": 768, "heads": 8, "kv_heads": 4, "context": 512}.

        Examples:
          cotforge train --data out/demo --init smollm2 --lora r=8,alpha=16 --max-steps 200
          cotforge train --data out/demo --init smollm2 --lr 5e-5 --epochs 2 --module-lr q=1,k=1,down@20-29=0.5
          cotforge train --data out/demo --init tiny.json --lr 1e-3 --batch-tokens 8192 --context 256
          cotforge train --data out/demo --init smollm2 --lora r=8 --curriculum --resume
        """)

    @Option(help: "A built dataset folder (manifest.json + data/).")
    var data: String

    @Option(name: .customLong("init"), help: "The model to start from: a known name, a .gguf, or a .json config for training from scratch.")
    var initFrom: String = "smollm2"

    @Option(help: "The split to train on.")
    var split: String = "train"

    @Option(help: "The split whose loss is reported during and after training ('' for none).")
    var validationSplit: String = "validation"

    @Option(name: [.customShort("o"), .customLong("out")], help: "Output folder (default: DATA/train).")
    var out: String?

    @Option(help: ArgumentHelp("Train low-rank adapters instead of every weight.", valueName: "r=8,alpha=16,dropout=0,targets=q+k+v+o+gate+up+down"))
    var lora: String?

    @Option(help: "Peak learning rate.")
    var lr: Float?

    @Option(help: "Passes over the data (per curriculum stage with --curriculum).")
    var epochs: Int = 1

    @Option(help: "Stop after this many optimizer steps (the schedule spans them).")
    var maxSteps: Int?

    @Option(help: "Tokens per optimizer step.")
    var batchTokens: Int = 2048

    @Option(help: "Gradient accumulation: run a step's rows through forward and backward this many at a time (less memory, same update).")
    var microBatchRows: Int?

    @Option(help: "Row length examples are packed into; longer examples are skipped (and counted).")
    var context: Int = 512

    @Option(help: ArgumentHelp("Learning-rate multipliers per module kind and layer range.", valueName: "q=1,k=1,down@0-5=0.5"))
    var moduleLr: String?

    @Option(help: "Linear warmup steps.")
    var warmup: Int = 10

    @Option(help: "Decoupled weight decay (not on norms).")
    var weightDecay: Float = 0

    @Option(help: "Clip the global gradient norm to this (0: off).")
    var clip: Float = 1

    @Flag(help: "Train curriculum stage 0, then 1, … (the records' `stage`).")
    var curriculum = false

    @Option(help: "Seed of the data order, initialization and dropout.")
    var seed: UInt64 = 0

    @Option(help: "Compute the validation loss every N steps (0: only at the end).")
    var validateEvery: Int = 0

    @Option(help: "Write a checkpoint every N steps (0: only at the end and after each curriculum stage).")
    var checkpointEvery: Int = 0

    @Option(help: "Stop after this step, with a checkpoint, as if interrupted (continue with --resume).")
    var stopAfter: Int?

    @Flag(help: "Continue from OUT/checkpoint.")
    var resume = false

    @Flag(help: "Skip writing model.gguf and hf/ (the checkpoint is still written).")
    var noExport = false

    @Flag(help: "Export the GGUF with F16 matrices (half the size) instead of F32.")
    var f16 = false

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 1

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batchTokens >= 1, context >= 8 else { throw ValidationError("--batch-tokens must be positive and --context at least 8") }
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
        if let microBatchRows, microBatchRows < 1 { throw ValidationError("--micro-batch-rows must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        if let lr, !(lr > 0) { throw ValidationError("--lr must be positive") }
    }

    func run() throws {
        try BLAS.load(threads: threads)
        let outDir = out ?? "\(data)/train"
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let started = Date()
        let (model, source) = try TrainCommand.initialModel(initFrom, seed: seed)
        let tokenizer = try BPETokenizer(source)
        let template = try ChatTemplate.detect(source["tokenizer.chat_template"]?.stringValue)
        Terminal.err("train: \(initFrom) — \(model.config.layers) layers, width \(model.config.width), \(model.layout.count.formatted()) parameters (\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")

        let trainData = try TrainingData.load(dataset: data, split: split, tokenizer: tokenizer, template: template, context: context)
        var validation: TrainingData? = nil
        if !validationSplit.isEmpty, (try? TrainingData.shardPaths(dataset: data, split: validationSplit)) != nil {
            validation = try TrainingData.load(dataset: data, split: validationSplit, tokenizer: tokenizer, template: template, context: context)
        }
        Terminal.err("train: \(trainData.records.count) \(split) records (\(trainData.tokens.formatted()) tokens)"
                     + (trainData.skipped.isEmpty ? "" : ", \(trainData.skipped.count) skipped: longer than --context \(context)")
                     + (validation.map { ", \($0.records.count) \(validationSplit) records" } ?? ""))

        var s = TrainSettings()
        s.epochs = epochs; s.batchTokens = batchTokens; s.context = context; s.seed = seed; s.curriculum = curriculum
        s.learningRate = lr ?? (lora != nil ? 2e-4 : 5e-5); s.warmupSteps = warmup; s.weightDecay = weightDecay
        s.clipNorm = clip > 0 ? clip : nil; s.maxSteps = maxSteps; s.microBatchRows = microBatchRows
        if let moduleLr { s.moduleRates = try ModuleRate.parse(moduleLr) }
        if let lora { s.lora = try LoRASettings.parse(lora) }
        let padding = tokenizer.eos ?? 0
        let trainer = try Trainer(model: model, data: trainData, validation: validation, settings: s, padding: padding)
        trainer.validateEvery = validateEvery
        let checkpointDir = "\(outDir)/checkpoint"
        var log: [TrainStep] = []
        let logPath = "\(outDir)/train-log.jsonl"
        if resume {
            guard FileManager.default.fileExists(atPath: "\(checkpointDir)/state.json") else {
                throw ValidationError("--resume: no checkpoint in \(checkpointDir)")
            }
            try trainer.loadCheckpoint(from: checkpointDir)
            // Keep the log's lines up to the checkpoint as they were written (byte for byte).
            let kept = TrainCommand.readLog(logPath).filter { $0.step.step <= trainer.completed }
            log = kept.map(\.step)
            try kept.map { $0.line + "\n" }.joined().write(toFile: logPath, atomically: true, encoding: .utf8)
            Terminal.err("train: resumed at step \(trainer.completed) of \(trainer.plan.count)")
        }
        let initialValidation = trainer.completed == 0 ? try trainer.validationLoss() : nil
        if let v = initialValidation { Terminal.err(String(format: "train: validation loss before training %.4f", v)) }
        Terminal.err("train: \(trainer.plan.count) steps of about \(batchTokens) tokens, \(s.lora.map { "LoRA r=\($0.rank) α=\($0.alpha) on \($0.targets.map(\.rawValue).sorted().joined(separator: "+"))" } ?? "full fine-tuning"), peak lr \(s.learningRate)")

        let line = ProgressLine()
        let runStart = Date()
        var tokensSeen = 0
        let startStep = trainer.completed
        if !resume { try "".write(toFile: logPath, atomically: true, encoding: .utf8) }
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        logHandle.seekToEndOfFile()
        try trainer.run(until: stopAfter) { step in
            log.append(step)
            tokensSeen += step.rowTokens
            logHandle.write(Data((TrainCommand.logLine(step) + "\n").utf8))
            let elapsed = Date().timeIntervalSince(runStart)
            let rate = Double(tokensSeen) / max(elapsed, 1e-9)
            let eta = elapsed / Double(step.step - startStep) * Double(step.steps - step.step)
            line.update(String(format: "train: step %d/%d%@ loss %.4f%@ | %.0f tokens/s | lr %.2e | ETA %@", step.step, step.steps,
                               step.stage.map { " (stage \($0))" } ?? "", step.loss,
                               step.validationLoss.map { String(format: " val %.4f", $0) } ?? "", rate, Double(step.rate),
                               GenerateCommand.formatDuration(eta)), force: step.step == step.steps)
            let stageEnds = step.step < trainer.plan.count && trainer.plan[step.step].stage != step.stage
            if (checkpointEvery > 0 && step.step % checkpointEvery == 0) || stageEnds {
                try trainer.saveCheckpoint(to: checkpointDir)
            }
            return true
        }
        logHandle.closeFile()
        line.finish()
        try trainer.saveCheckpoint(to: checkpointDir)
        if trainer.completed < trainer.plan.count {
            Terminal.err("train: stopped after step \(trainer.completed) of \(trainer.plan.count); checkpoint in \(checkpointDir) (continue with --resume)")
            return
        }
        let trainSeconds = Date().timeIntervalSince(runStart)

        try LossCurve.svg(steps: log, title: "cotforge train — \((data as NSString).lastPathComponent), \(initFrom)")
            .write(toFile: "\(outDir)/loss.svg", atomically: true, encoding: .utf8)
        if !noExport {
            if let adapters = model.lora {
                adapters.merge(into: model)
                model.lora = nil
            }
            try model.exportGGUF(to: "\(outDir)/model.gguf", f16: f16, metadataFrom: source, name: "cotforge fine-tune of \((initFrom as NSString).lastPathComponent)")
            try model.exportHuggingFace(to: "\(outDir)/hf", bos: tokenizer.bos.map(Int.init), eos: tokenizer.eos.map(Int.init))
        }
        let finalValidation = log.last?.validationLoss
        let summary: [String: Any] = [
            "data": data, "split": split, "init": initFrom, "steps": trainer.completed, "records": trainData.records.count,
            "skipped": trainData.skipped.count, "train_seconds": trainSeconds,
            "final_train_loss": log.last?.loss ?? NSNull(), "validation_loss_before": initialValidation ?? NSNull(),
            "validation_loss_after": finalValidation ?? NSNull(), "lora": lora ?? NSNull(), "learning_rate": Double(s.learningRate),
            "tokens_per_second": Double(tokensSeen) / max(trainSeconds, 1e-9),
        ]
        try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
            .write(to: URL(fileURLWithPath: "\(outDir)/summary.json"), options: .atomic)
        Terminal.err(String(format: "train: %d steps in %@ (%.0f tokens/s); loss %.4f → %.4f", trainer.completed,
                            GenerateCommand.formatDuration(trainSeconds), Double(tokensSeen) / max(trainSeconds, 1e-9),
                            log.first?.loss ?? .nan, log.last?.loss ?? .nan)
                     + (initialValidation != nil && finalValidation != nil ? String(format: "; validation %.4f → %.4f", initialValidation!, finalValidation!) : ""))
        if out == nil, let report = try refreshReport(data) { Terminal.err("train: \(report) now shows the run") }
        if !noExport { Terminal.out("\(outDir)/model.gguf"); Terminal.out("\(outDir)/hf") }
        Terminal.out("\(outDir)/loss.svg")
    }

    /// The starting model and the GGUF whose tokenizer and chat template it uses.
    static func initialModel(_ spec: String, seed: UInt64) throws -> (TrainableLlama, GGUFFile) {
        if spec.hasSuffix(".json") {
            guard let d = FileManager.default.contents(atPath: spec), let j = try JSONSerialization.jsonObject(with: d) as? [String: Any] else {
                throw ValidationError("\(spec): missing or not a JSON object")
            }
            func int(_ k: String) throws -> Int {
                guard let v = j[k] as? Int, v > 0 else { throw ValidationError("\(spec): \"\(k)\" must be a positive integer") }
                return v
            }
            let source = try GGUFFile(path: try ModelStore.resolve(j["tokenizer"] as? String ?? "smollm2"))
            let tokens = source["tokenizer.ggml.tokens"]?.arrayValue?.count ?? 0
            let heads = try int("heads")
            let config = LlamaConfig(architecture: .llama, layers: try int("layers"), width: try int("width"), ffnWidth: try int("ffn"),
                                     heads: heads, kvHeads: (j["kv_heads"] as? Int) ?? heads, ropeBase: Float((j["rope_theta"] as? Double) ?? 10000),
                                     vocabulary: tokens, contextLength: (j["context"] as? Int) ?? 2048)
            guard config.width % heads == 0, heads % config.kvHeads == 0, config.headDim % 2 == 0 else {
                throw ValidationError("\(spec): width must split into heads of even size, and heads into kv_heads groups")
            }
            return (try TrainableLlama(config: config, tiedOutput: (j["tied"] as? Bool) ?? true, seed: seed), source)
        }
        let f = try GGUFFile(path: try ModelStore.resolve(spec))
        return (try TrainableLlama(LlamaModel(f, precision: .f32)), f)
    }

    static func logLine(_ s: TrainStep) -> String {
        // Floats in their shortest form ("2e-05", not 1.9999999494757503e-05); null when not finite.
        func number(_ v: Float) -> JSONValue { v.isFinite ? .number("\(v)") : .null }
        var o = JSONObject([("step", .int(s.step)), ("steps", .int(s.steps)), ("epoch", .int(s.epoch)),
                            ("loss", .double(s.loss)), ("tokens", .int(s.tokens)), ("row_tokens", .int(s.rowTokens)),
                            ("seconds", .double(s.seconds)), ("lr", number(s.rate)), ("grad_norm", number(s.gradientNorm))])
        if let st = s.stage { o["stage"] = .int(st) }
        if let v = s.validationLoss { o["validation_loss"] = .double(v) }
        return JSONSerializer.string(.object(o))
    }

    /// The steps of a training log, each with its line as written.
    static func readLog(_ path: String) -> [(step: TrainStep, line: String)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line -> (step: TrainStep, line: String)? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let step = o["step"] as? Int, let steps = o["steps"] as? Int, let loss = o["loss"] as? Double else { return nil }
            return (TrainStep(step: step, steps: steps, stage: o["stage"] as? Int, epoch: o["epoch"] as? Int ?? 0, loss: loss,
                              tokens: o["tokens"] as? Int ?? 0, rowTokens: o["row_tokens"] as? Int ?? 0, seconds: o["seconds"] as? Double ?? 0,
                              rate: Float(o["lr"] as? Double ?? 0), gradientNorm: Float(o["grad_norm"] as? Double ?? 0),
                              validationLoss: o["validation_loss"] as? Double), String(line))
        }
    }
}

/// Rewrites a dataset's report.html (when cotforge wrote it) so that the training and
/// evaluation kept beside the dataset show in it; returns its path, or nil when left alone.
func refreshReport(_ dataset: String) throws -> String? {
    let path = "\(dataset)/report.html"
    if let existing = FileManager.default.contents(atPath: path), !Report.isOwnReport(existing) { return nil }
    guard FileManager.default.fileExists(atPath: "\(dataset)/manifest.json") else { return nil }
    return try Report.write(dataset: dataset)
}
