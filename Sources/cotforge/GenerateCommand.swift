import ArgumentParser
import Corpus
import Foundation
import Hashing
import Model
import Recipes

struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text with a GGUF model (greedy or sampled).",
        discussion: """
        With --prompt, prints only the generated text to standard output (progress and timing go to standard error). With --prompts FILE.jsonl, reads records with a `prompt` (or `question`) field and writes each back with `answer`, `tokens` and `gen` filled in.

        Examples:
          cotforge generate --model smollm2 --chat --prompt "What is 12 + 7?"
          cotforge generate --model smollm2 --chat --prompts questions.jsonl -o answers.jsonl --max-tokens 128
          cotforge generate --model path/to/model.gguf --prompt "Once upon a time" --temperature 0.8 --seed 3
          cotforge generate --model smollm2 --chat --prompt "Name a prime." --temperature 0.6 --top-p 0.95 --min-p 0.05
          cotforge generate --model smollm2 --chat --prompt "What is 12 + 7?" --steer long.gguf --alpha -0.5 --layers 8-14
          cotforge generate --model smollm2 --chat --prompts q.jsonl -o out.jsonl --temperature 0.7 --samples 4
        """)

    @Option(help: "A .gguf path or a known model name (see `cotforge model list`).")
    var model: String = "smollm2"

    @Option(help: "The prompt text.")
    var prompt: String?

    @Option(help: "A JSON Lines file of records with `prompt` or `question`.")
    var prompts: String?

    @Flag(help: "Wrap each prompt as a user message in the model's chat template.")
    var chat = false

    @Option(help: "Most tokens to generate per prompt.")
    var maxTokens: Int = 256

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Keep the K most likely tokens before drawing (0: off).")
    var topK: Int = 0

    @Option(help: "Keep the most likely tokens up to this total probability (1: off).")
    var topP: Double = 1

    @Option(help: "Keep tokens at least this fraction as likely as the most likely one (0: off).")
    var minP: Double = 0

    @Option(help: "Repetition penalty on tokens seen in the last --repeat-last-n tokens (1: off).")
    var repeatPenalty: Float = 1

    @Option(help: "How many recent tokens the repetition penalty looks at (-1: all).")
    var repeatLastN: Int = 64

    @Option(help: "Seed of the sampler.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("A control vector (llama.cpp's GGUF format) to add to the residual stream.", valueName: "vector.gguf"))
    var steer: String?

    // Unconditional: the value may start with "-" (--alpha -1).
    @Option(parsing: .unconditional, help: "Scale of the control vector (negative reverses it).")
    var alpha: Float = 1

    @Option(help: ArgumentHelp("Blocks to steer, as N or A-B (default: every block the vector has).", valueName: "range"))
    var layers: String?

    @Option(help: "Samples per prompt (with --prompts): seeds seed, seed+1, …; ids get /sK.")
    var samples: Int = 1

    @Option(help: "Sequences decoded together with --prompts (continuous batching; 1 = one at a time).")
    var batch: Int = 8

    @Option(help: "Threads for the model's products and attention (the results do not depend on them).")
    var threads: Int = 1

    @Option(help: "llama.cpp (quantized arithmetic, matches llama.cpp) or f32 (exact math of the stored weights).")
    var precision: String = "llama.cpp"

    @Flag(help: "Keep generating past end-of-generation tokens (for benchmarks: always --max-tokens tokens).")
    var ignoreEos = false

    @Option(name: .customLong("stop"), help: "Stop when this text appears (repeatable).")
    var stops: [String] = []

    @Flag(help: "With --prompt: also print the generated token ids (a JSON array after \"tokens: \") to standard error.")
    var printTokens = false

    @Option(name: [.customShort("o"), .long], help: "Output file for --prompts (default: standard output).")
    var output: String = "-"

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give exactly one of --prompt and --prompts") }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
        guard temperature >= 0 else { throw ValidationError("--temperature must be 0 or more") }
        guard topK >= 0 else { throw ValidationError("--top-k must be 0 or more") }
        guard topP > 0 && topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard minP >= 0 && minP < 1 else { throw ValidationError("--min-p must be in [0, 1)") }
        guard repeatPenalty > 0 else { throw ValidationError("--repeat-penalty must be positive") }
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        if samples > 1 && temperature == 0 { throw ValidationError("--samples > 1 needs --temperature > 0 (greedy gives the same text every time)") }
        if samples > 1 && prompts == nil { throw ValidationError("--samples works with --prompts") }
        if steer == nil && (layers != nil) { throw ValidationError("--layers needs --steer") }
        if let layers, GenerateCommand.parseRange(layers) == nil { throw ValidationError("--layers \(layers): use N or A-B, e.g. 8-14") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard LlamaModel.Precision(rawValue: precision) != nil else { throw ValidationError("--precision must be llama.cpp or f32") }
    }

    func run() throws {
        let path = try ModelStore.resolve(model)
        let started = Date()
        let file = try GGUFFile(path: path)
        let gen = try Generator(file, threads: threads, precision: LlamaModel.Precision(rawValue: precision) ?? .llamaCpp)
        Terminal.err("loaded \(path) (\(gen.model.config.architecture.rawValue), \(gen.model.config.layers) layers) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
        var steering: Steering? = nil
        var steerJSON: JSONValue? = nil
        if let steer {
            let cv = try ControlVector(path: steer)
            try cv.check(against: gen.model.config, path: steer)
            let range = layers.flatMap(GenerateCommand.parseRange)
            let s = cv.steering(alpha: alpha, layers: range)
            if s.isEmpty { Terminal.err("warning: --layers \(layers ?? "") leaves out every direction of \(steer); nothing is steered") }
            steering = s
            steerJSON = .object(JSONObject([
                ("vector", .string((steer as NSString).lastPathComponent)), ("vector_sha256", .string(try ModelStore.sha256(ofFile: steer))),
                ("layers", .array(s.vectors.keys.sorted().map { .int($0) })), ("alpha", .number("\(alpha)")),
            ]))
            Terminal.err("steering blocks \(s.vectors.keys.sorted().map(String.init).joined(separator: ",")) with α = \(alpha)")
        }
        let sampler = SamplerSettings(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                      repeatPenalty: repeatPenalty, repeatLastN: repeatLastN, seed: seed)
        if let p = prompt {
            let ids = try gen.promptTokens(p, chat: chat)
            var printed = 0
            let r = try gen.generate(prompt: ids, maxTokens: maxTokens, sampler: sampler, stopTexts: stops, steering: steering, ignoreEnd: ignoreEos) { _, text in
                // Stream what is certain: hold back a possible partial UTF-8 character.
                let safe = text.hasSuffix("\u{FFFD}") ? String(text.dropLast()) : text
                if safe.count > printed {
                    FileHandle.standardOutput.write(Data(String(safe.dropFirst(printed)).utf8))
                    printed = safe.count
                }
                return true
            }
            if r.text.count > printed { FileHandle.standardOutput.write(Data(String(r.text.dropFirst(printed)).utf8)) }
            FileHandle.standardOutput.write(Data("\n".utf8))
            if printTokens { Terminal.err("tokens: [\(r.tokens.map(String.init).joined(separator: ","))]") }
            report(r)
            return
        }
        let sha = try ModelStore.sha256(ofFile: path)
        let writer = try JSONLWriter(path: output)
        // Prompt files need not be full records: accept any object, derive missing ids.
        var readOptions = RecordReader.Options()
        readOptions.schema = try JSONSchema(text: "{}")
        readOptions.deriveIDs = true
        // Every output in input order: a record without a prompt is written back unchanged; one
        // with a prompt becomes --samples requests.
        enum Item { case passThrough(Example), sample(Example, k: Int, settings: SamplerSettings, promptTokens: Int) }
        var items: [Item] = []
        var requests: [GenerationRequest] = []
        var requestItem: [Int] = []
        try RecordReader(path: prompts!, options: readOptions).forEach({ rec in
                let e = try rec.example()
                guard let text = e.prompt ?? e.question else {
                    Terminal.err("\(rec.file):\(rec.line): no prompt or question field; written back unchanged")
                    items.append(.passThrough(e))
                    return
                }
                let ids = try gen.promptTokens(text, chat: chat)
                for k in 0..<samples {
                    var settings = sampler
                    settings.seed = sampler.seed &+ UInt64(k)
                    requestItem.append(items.count)
                    items.append(.sample(e, k: k, settings: settings, promptTokens: ids.count))
                    requests.append(GenerationRequest(prompt: ids, maxTokens: maxTokens, sampler: settings, stopTexts: stops,
                                                      steering: steering, ignoreEnd: ignoreEos))
                }
            }, onReject: { r in
                Terminal.err("\(r.file ?? "?"):\(r.line ?? 0): \(r.reason): \(r.detail ?? "") — line skipped")
            })
        var results: [Int: Generation] = [:]
        var written = 0
        func flush() throws {
            while written < items.count {
                switch items[written] {
                case .passThrough(let e): try writer.write(e)
                case .sample(let e, let k, let settings, let promptTokens):
                    guard let r = results.removeValue(forKey: written) else { return }
                    var out = e
                    if samples > 1 { out.id = "\(e.id ?? "record")/s\(k)" }
                    out.answer = r.text
                    out["tokens"] = .object(JSONObject([("prompt", .int(promptTokens)), ("answer", .int(r.tokens.count))]))
                    var g = JSONObject([
                        ("model", .string((path as NSString).lastPathComponent)), ("model_sha256", .string(sha)),
                        ("sampler", GenerateCommand.samplerJSON(settings)),
                        ("decoding", .string(chat ? "chat" : "plain")), ("stop_reason", .string(r.stopReason.rawValue)),
                    ])
                    if let steerJSON { g["steer"] = steerJSON }
                    out["gen"] = .object(g)
                    try writer.write(out)
                }
                written += 1
            }
        }
        let line = ProgressLine()
        var last = BatchProgress(total: requests.count)
        try gen.generate(requests, batchSize: batch, progress: { p in
            last = p
            line.update(String(format: "generate: %d/%d done, %d running, %d tokens, %.1f tokens/s, ETA %@", p.finished, p.total, p.running,
                               p.generatedTokens, p.tokensPerSecond, GenerateCommand.formatDuration(p.eta(maxTokens: maxTokens) ?? .nan)))
        }) { i, r in
            results[requestItem[i]] = r
            try flush()
        }
        try flush()
        line.finish()
        try writer.finish()
        Terminal.err(String(format: "generate: %d sequences written to %@; %d prompt tokens, %d generated tokens in %.2f s (%.1f tokens/s overall, %.1f tokens/s in decode steps, batch %d)",
                            requests.count, output, last.promptTokens, last.generatedTokens, last.seconds,
                            Double(last.generatedTokens) / max(last.seconds, 1e-9), Double(last.generatedTokens) / max(last.decodeSeconds, 1e-9), batch))
    }

    static func formatDuration(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        return s < 60 ? String(format: "%.0fs", s) : s < 3600 ? String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
            : String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60)
    }

    /// "8-14" → 8...14, "9" → 9...9.
    static func parseRange(_ s: String) -> ClosedRange<Int>? { Recipe.parseRange(s) }

    /// `gen.sampler` of a record: every setting that shaped the draw.
    static func samplerJSON(_ s: SamplerSettings) -> JSONValue {
        var o = JSONObject([("temperature", .number("\(s.temperature)")), ("seed", .number(String(s.seed)))])
        if !s.isGreedy {
            o["top_k"] = .int(s.topK); o["top_p"] = .double(s.topP); o["min_p"] = .double(s.minP)
        }
        if s.repeatPenalty != 1 { o["repeat_penalty"] = .number("\(s.repeatPenalty)"); o["repeat_last_n"] = .int(s.repeatLastN) }
        return .object(o)
    }

    func report(_ r: Generation) {
        Terminal.err(String(format: "prompt %d tokens in %.2f s (%.1f tokens/s); generated %d tokens in %.2f s (%.1f tokens/s); stop: %@",
                            r.promptTokens.count, r.promptSeconds, Double(r.promptTokens.count) / max(r.promptSeconds, 1e-9),
                            r.tokens.count, r.decodeSeconds, Double(r.tokens.count) / max(r.decodeSeconds, 1e-9), r.stopReason.rawValue))
    }
}
