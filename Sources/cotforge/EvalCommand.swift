import ArgumentParser
import Corpus
import Foundation
import Model
import Shards
import Train

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on a split of a built dataset or a questions file: loss, accuracy, reasoning length, Safe@1.",
        discussion: """
        Greedy generation through the engine (batched) on each record's prompt — or on its question with --instruction (fast = the System-1 instruction, slow = System-2, or any text) — then: answer accuracy against `gold` (the shared answer checker: \\boxed{}, GSM8K ####, "the answer is", last number), mean reasoning tokens (before </think> when the model thinks in tags, else the whole response), and for safety records Safe@1 with the built-in refusal detector (harmful prompts refused, benign ones answered) and the over-refusal rate. The loss is the teacher-forced loss on the records' own responses (nats per assistant token). Prints a table; writes JSON (figures) and JSONL (one line per record).

        Examples:
          cotforge eval --model smollm2 --data out/demo --split validation
          cotforge eval --model out/demo/train/model.gguf --data out/demo --instruction fast --max-tokens 128
          cotforge eval --model smollm2 --data out/demo --compare out/demo/train/model.gguf --instruction fast
          cotforge eval --questions out/demo/heldout.jsonl --compare out/demo/train/model.gguf --instruction fast --no-loss
        """)

    @Option(help: "The model: a known name or a .gguf (e.g. OUT/train/model.gguf).")
    var model: String = "smollm2"

    @Option(help: "A second model evaluated the same way and shown side by side (e.g. the fine-tuned one).")
    var compare: String?

    @Option(help: "A built dataset folder.")
    var data: String?

    @Option(help: "A JSON Lines file of questions instead of a dataset split (e.g. OUT/heldout.jsonl from a recipe build: held-out questions with gold, held-out safety prompts). Safety prompts are asked as they are; no loss.")
    var questions: String?

    @Option(help: "The split to evaluate.")
    var split: String = "validation"

    @Option(help: "Ask each question with this instruction instead of the record's prompt: fast, slow, none, or a text.")
    var instruction: String?

    @Option(help: "Most tokens to generate per record.")
    var maxTokens: Int = 256

    @Option(help: "Sequences generated together.")
    var batch: Int = 8

    @Option(help: "Evaluate only the first N records.")
    var limit: Int?

    @Flag(help: "Skip the teacher-forced loss (it loads the model a second time, in f32).")
    var noLoss = false

    @Option(help: "Context length for the loss (longer records are left out of it).")
    var context: Int = 1024

    @Option(name: [.customShort("o"), .customLong("out")], help: "JSON file for the figures (default: DATA/eval/SPLIT-MODEL.json; records beside it as .jsonl).")
    var out: String?

    @Option(help: "Threads for generation and the loss pass.")
    var threads: Int = 1

    /// What is evaluated, in the table, the log and the JSON: the split, or the questions file's name.
    var subject: String { questions.map { ($0 as NSString).lastPathComponent } ?? split }

    func validate() throws {
        guard (data == nil) != (questions == nil) else { throw ValidationError("give --data (a built dataset) or --questions (a JSON Lines file), one of them") }
        guard maxTokens >= 1, batch >= 1, threads >= 1 else { throw ValidationError("--max-tokens, --batch and --threads must be at least 1") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var results: [(String, EvalSummary)] = []
        for spec in [model] + (compare.map { [$0] } ?? []) {
            results.append((spec, try evaluate(spec)))
        }
        Terminal.out(EvalCommand.table(results, split: subject, instruction: instruction))
    }

    func evaluate(_ spec: String) throws -> EvalSummary {
        let path = try ModelStore.resolve(spec)
        let file = try GGUFFile(path: path)
        let generator = try Generator(file, threads: threads)
        let text = instruction.flatMap(Instruction.named)
        let items: [(Example, String)]
        if let questions {
            guard FileManager.default.fileExists(atPath: questions) else { throw ValidationError("cannot read \(questions): no such file (a recipe build writes OUT/heldout.jsonl when it holds questions out)") }
            items = try Evaluation.items(file: questions, instruction: text, limit: limit)
            guard !items.isEmpty else { throw ValidationError("\(questions) holds no records") }
        } else {
            items = try Evaluation.items(dataset: data!, split: split, instruction: text, limit: limit)
            guard !items.isEmpty else { throw ValidationError("\(data!): split \(split) has no records") }
        }
        Terminal.err("eval: \(spec) on \(items.count) \(subject) records, greedy, up to \(maxTokens) tokens, batch \(batch)")
        let line = ProgressLine()
        let records = try Evaluation.run(items, generator: generator, maxTokens: maxTokens, batch: batch) { p in
            line.update(String(format: "eval: %d/%d done, %.1f tokens/s", p.finished, p.total, Double(p.generatedTokens) / max(p.seconds, 1e-9)))
        }
        line.finish()
        var loss: Double? = nil
        if !noLoss, let data = self.data {
            try BLAS.load(threads: threads)  // the loss pass is the trainer's, on OpenBLAS's threads (the engine set one)
            let trainable = try TrainableLlama(LlamaModel(file, precision: .f32))
            let template = try ChatTemplate.detect(file["tokenizer.chat_template"]?.stringValue)
            var data = try TrainingData.load(dataset: data, split: split, tokenizer: generator.tokenizer, template: template, context: context)
            if let limit { data.records = Array(data.records.prefix(limit)) }
            var sum = 0.0, tokens = 0
            for b in try data.batches(order: Array(data.records.indices), batchTokens: 4 * context, context: context, padding: generator.tokenizer.eos ?? 0) {
                let r = trainable.loss(b)
                sum += r.loss; tokens += r.tokens
            }
            loss = tokens > 0 ? sum / Double(tokens) : nil
        }
        let summary = Evaluation.summarize(records, loss: loss)
        let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        // Beside the dataset: DATA/eval/SPLIT-MODEL.json, or DIR/eval/FILE-MODEL.json for --questions DIR/FILE.jsonl.
        let dataset = data ?? ((questions! as NSString).deletingLastPathComponent as NSString).standardizingPath
        let prefix = (subject as NSString).deletingPathExtension
        let jsonPath = out.map { compare == nil ? $0 : ($0 as NSString).deletingPathExtension + "-\(stem).json" } ?? "\(dataset.isEmpty ? "." : dataset)/eval/\(prefix)-\(stem).json"
        try FileManager.default.createDirectory(atPath: (jsonPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try EvalCommand.json(summary, model: spec, path: path, split: subject, instruction: instruction).write(toFile: jsonPath, atomically: true, encoding: .utf8)
        let recordsPath = (jsonPath as NSString).deletingPathExtension + ".jsonl"
        try records.map { EvalCommand.recordLine($0) + "\n" }.joined().write(toFile: recordsPath, atomically: true, encoding: .utf8)
        Terminal.err("eval: wrote \(jsonPath) and \(recordsPath)")
        if out == nil, let report = try refreshReport(dataset) { Terminal.err("eval: \(report) now shows it") }
        return summary
    }

    static func table(_ rows: [(String, EvalSummary)], split: String, instruction: String?) -> String {
        func pct(_ v: Double?) -> String { v.map { String(format: "%.1f%%", 100 * $0) } ?? "–" }
        var lines = ["split \(split)\(instruction.map { ", instruction \($0)" } ?? ", the records' prompts")", ""]
        let header = ["model", "records", "loss", "accuracy", "reasoning tokens", "response tokens", "hit max", "Safe@1", "over-refusal"]
        var cells = [header]
        for (name, s) in rows {
            cells.append([(name as NSString).lastPathComponent, "\(s.records)", s.loss.map { String(format: "%.4f", $0) } ?? "–",
                          s.accuracy.map { _ in "\(pct(s.accuracy)) (\(s.correct)/\(s.withGold))" } ?? "–",
                          String(format: "%.1f", s.meanReasoningTokens), String(format: "%.1f", s.meanResponseTokens), "\(s.truncated)",
                          s.safeAt1.map { _ in "\(pct(s.safeAt1)) (\(s.harmfulRefused + s.benign - s.benignRefused)/\(s.safetyRecords))" } ?? "–",
                          pct(s.overRefusal)])
        }
        let widths = header.indices.map { c in cells.map { $0[c].count }.max()! }
        for (i, row) in cells.enumerated() {
            lines.append(row.enumerated().map { c, v in c == 0 ? v.padding(toLength: widths[c], withPad: " ", startingAt: 0) : String(repeating: " ", count: widths[c] - v.count) + v }.joined(separator: "  "))
            if i == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ s: EvalSummary, model: String, path: String, split: String, instruction: String?) -> String {
        func num(_ v: Double?) -> JSONValue { v.map { .double($0) } ?? .null }
        let o = JSONObject([
            ("model", .string(model)), ("model_file", .string((path as NSString).lastPathComponent)), ("split", .string(split)),
            ("instruction", instruction.map { .string($0) } ?? .null), ("records", .int(s.records)),
            ("loss", num(s.loss)), ("with_gold", .int(s.withGold)), ("correct", .int(s.correct)), ("accuracy", num(s.accuracy)),
            ("mean_reasoning_tokens", .double(s.meanReasoningTokens)), ("mean_response_tokens", .double(s.meanResponseTokens)),
            ("hit_max_tokens", .int(s.truncated)), ("safety_records", .int(s.safetyRecords)), ("harmful", .int(s.harmful)),
            ("harmful_refused", .int(s.harmfulRefused)), ("benign", .int(s.benign)), ("benign_refused", .int(s.benignRefused)),
            ("safe_at_1", num(s.safeAt1)), ("over_refusal", num(s.overRefusal)),
        ])
        return JSONSerializer.string(.object(o)) + "\n"
    }

    static func recordLine(_ r: EvalRecord) -> String {
        var o = JSONObject([("id", .string(r.id)), ("prompt", .string(r.prompt)), ("response", .string(r.response)),
                            ("reasoning_tokens", .int(r.reasoningTokens)), ("response_tokens", .int(r.responseTokens)),
                            ("stop_reason", .string(r.stopReason))])
        if let g = r.gold { o["gold"] = .string(g); o["pred"] = r.pred.map { .string($0) } ?? .null; o["correct"] = .bool(r.correct ?? false) }
        if let refused = r.refused { o["refused"] = .bool(refused); o["safe"] = .bool(r.safe ?? false) }
        return JSONSerializer.string(.object(o))
    }
}
