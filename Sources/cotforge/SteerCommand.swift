import ArgumentParser
import Corpus
import Foundation
import Model
import Recipes
import Train

struct SteerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Make steering directions (control vectors) from a model's own activations.",
        discussion: """
        The steps of steered self-sampling (S3-CoT) one at a time; a recipe (cotforge build datasets/s3cot-arith.yaml) runs them all.

        Examples:
          cotforge steer extract --model smollm2 --questions questions.jsonl -o vl.gguf
          cotforge steer calibrate --vector vl.gguf --questions questions.jsonl --alphas -3:1:-1 --layers 13 -o calibration.json
          cotforge steer sample --vector vl.gguf --alphas 0,-1,-2 --layers 13 --questions questions.jsonl -o traces.jsonl
        """,
        subcommands: [SteerExtractCommand.self, SteerCalibrateCommand.self, SteerSampleCommand.self])
}

struct SteerExtractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Extract the variable-length direction: long-CoT minus short-CoT instruction, per layer.",
        discussion: """
        For each question, the residual stream after every chosen block at the last prompt token is taken twice: with the question followed by the long-CoT (System 2) instruction and by the short-CoT (System 1) instruction, both in the model's chat template. mean-diff averages the differences; pca takes their first principal component (uncentered), signed so that the long side projects higher and scaled to the mean difference along it. Writes a llama.cpp control vector (direction.N added to the output of block N; llama.cpp never steers block 0) and a JSON of per-layer statistics beside it: the direction's norm, the separation (distance between the class means over the states' spread) and the agreement (mean cosine of each question's difference with the direction), which show where the signal is. Steer with `cotforge generate --steer V.gguf --alpha -0.5 --layers 8-14`; negative α shortens.

        Examples:
          cotforge questions generate --count 100 -o q.jsonl
          cotforge steer extract --model smollm2 --questions q.jsonl --n 100 -o vl.gguf
          cotforge steer extract --model smollm2 --questions q.jsonl --layers 8-20 --method pca -o vl-pca.gguf
        """)

    @Option(help: "A .gguf path or a known model name.")
    var model: String = "smollm2"

    @Option(help: "Question records (JSONL with `question`).")
    var questions: String

    @Option(help: "Use the first N questions.")
    var n: Int = 100

    @Option(help: ArgumentHelp("Blocks to extract: all, N or A-B (block 0 is never steered by llama.cpp and is left out).", valueName: "range"))
    var layers: String = "all"

    @Option(help: "mean-diff or pca.")
    var method: String = "mean-diff"

    @Option(help: "The long-CoT instruction appended to each question.")
    var long: String = Instruction.system2

    @Option(help: "The short-CoT instruction appended to each question.")
    var short: String = Instruction.system1

    @Option(name: [.customShort("o"), .long], help: "The control vector to write (.gguf); statistics go beside it as .json.")
    var output: String

    @Option(help: "Threads for the model's products and attention (the results do not depend on them).")
    var threads: Int = 1

    func validate() throws {
        guard n >= 1 else { throw ValidationError("--n must be at least 1") }
        guard DirectionMethod(rawValue: method) != nil else { throw ValidationError("--method must be mean-diff or pca") }
        guard layers == "all" || GenerateCommand.parseRange(layers) != nil else { throw ValidationError("--layers \(layers): use all, N or A-B") }
        guard output.hasSuffix(".gguf") else { throw ValidationError("--output must end in .gguf (a llama.cpp control vector)") }
    }

    func run() throws {
        let path = try ModelStore.resolve(model)
        let gen = try Generator(try GGUFFile(path: path), threads: threads)
        let range = layers == "all" ? nil : GenerateCommand.parseRange(layers)!
        let qs = try readQuestions(questions, limit: n)
        Terminal.err("steer extract: \(qs.count) questions × 2 prompts through \(path), \(method)")
        let line = ProgressLine()
        let started = Date()
        let identity = ModelIdentity(name: (path as NSString).lastPathComponent, sha256: try ModelStore.sha256(ofFile: path))
        let r: SteerSteps.Extracted
        do {
            r = try SteerSteps.extract(generator: gen, model: identity, questions: qs, blocks: range, method: DirectionMethod(rawValue: method)!,
                                       long: long, short: short) { p in
                line.update("steer extract: \(p.done)/\(p.total) questions, ETA \(GenerateCommand.formatDuration(p.eta ?? .nan))")
            }
        } catch let e as RecipeError { throw ValidationError("--layers \(layers): \(e.message)") }
        line.finish()
        try r.vector.write(to: output)
        var doc = r.doc
        doc["questions"] = .string(questions)
        let statsPath = (output as NSString).deletingPathExtension + ".json"
        try (JSONSerializer.string(.object(doc)) + "\n").write(toFile: statsPath, atomically: true, encoding: .utf8)
        Terminal.out(SteerSteps.table(r.layers))
        Terminal.err("steer extract: wrote \(output) and \(statsPath) in \(GenerateCommand.formatDuration(Date().timeIntervalSince(started)))")
    }
}

struct SteerSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Steered self-sampling: each question answered at several α along a direction, with Len-R per trace.",
        discussion: """
        Every question is asked with the System-2 instruction (or --instruction) in the chat template and answered --samples times at each α (α = 0 unsteered; the vector's directions × α added to the output of the chosen blocks), batched through the engine. Each trace becomes a record: reasoning and answer split (around </think>, else the answer is the sentence holding \\boxed{} or the last one), `pred` extracted with the shared checker, token counts, `len_ratio` = reasoning tokens / the mean of that question's α=0 traces, and `gen.steer` {vector, vector_sha256, layers, alpha}. Verify against gold with `cotforge answer`. (`cotforge sample` is the seeded-sample curation stage; this is `steer sample`.)

        Examples:
          cotforge steer sample --model smollm2 --vector vl.gguf --layers 15-18 --alphas 0,-0.5,-1 --questions q.jsonl --n 50 -o traces.jsonl
          cotforge steer sample --vector vl.gguf --alphas 0,-0.3 --samples 4 --temperature 0.7 --questions q.jsonl -o traces.jsonl.zst
        """)

    @Option(help: "A .gguf path or a known model name.")
    var model: String = "smollm2"

    @Option(help: "The control vector (from `steer extract`).")
    var vector: String

    // Unconditional: the value may start with "-" (--alphas -1,-2).
    @Option(parsing: .unconditional, help: ArgumentHelp("Steering strengths, comma-separated; include 0 for Len-R.", valueName: "0,-0.5,-1"))
    var alphas: String = "0,-0.5,-1"

    @Option(help: ArgumentHelp("Blocks to steer (default: every block the vector has).", valueName: "range"))
    var layers: String?

    @Option(help: "Question records (JSONL with `question`, optionally `gold`).")
    var questions: String

    @Option(help: "Use the first N questions.")
    var n: Int?

    @Option(help: "Traces per question and α.")
    var samples: Int = 1

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 0

    @Option(help: "Nucleus sampling threshold.")
    var topP: Double = 0.95

    @Option(help: "Seed of the first sample (sample k uses seed + k).")
    var seed: UInt64 = 0

    @Option(help: "Most tokens per trace.")
    var maxTokens: Int = 256

    @Option(help: "Sequences generated together.")
    var batch: Int = 8

    @Option(help: "Instruction appended to each question: slow (System 2), fast (System 1), none, or a text.")
    var instruction: String = "slow"

    @Option(name: [.customShort("o"), .long], help: "Output records (.jsonl or .jsonl.zst).")
    var output: String

    @Option(help: "Threads for the model's products and attention (the results do not depend on them).")
    var threads: Int = 1

    func validate() throws {
        guard Calibration.parseAlphas(alphas) != nil else { throw ValidationError("--alphas \(alphas): comma-separated numbers, e.g. 0,-0.5,-1") }
        guard samples >= 1, maxTokens >= 1, batch >= 1 else { throw ValidationError("--samples, --max-tokens and --batch must be at least 1") }
        if samples > 1 && temperature == 0 { throw ValidationError("--samples > 1 needs --temperature > 0 (greedy gives the same trace every time)") }
        if let layers, GenerateCommand.parseRange(layers) == nil { throw ValidationError("--layers \(layers): use N or A-B") }
    }

    func run() throws {
        let (path, gen, cv) = try steeredGenerator(model: model, vector: vector, threads: threads)
        let range = layers.flatMap(GenerateCommand.parseRange)
        let dirs = cv.directions.filter { range?.contains($0.key) ?? true }
        guard !dirs.isEmpty else { throw ValidationError("--layers \(layers ?? "") leaves out every direction of \(vector)") }
        let qs = try readQuestions(questions, limit: n)
        let alphaList = Calibration.parseAlphas(alphas)!
        var sampler = SamplerSettings(temperature: temperature, topP: temperature > 0 ? topP : 1, seed: seed)
        if temperature == 0 { sampler.topP = 1 }
        let genBase = JSONObject([("model", .string((path as NSString).lastPathComponent)), ("model_sha256", .string(try ModelStore.sha256(ofFile: path))),
                                  ("decoding", .string("chat"))])
        let steerBase = JSONObject([("vector", .string((vector as NSString).lastPathComponent)), ("vector_sha256", .string(try ModelStore.sha256(ofFile: vector))),
                                    ("layers", .array(dirs.keys.sorted().map { .int($0) }))])
        let job = SelfSampling(alphas: alphaList, directions: dirs, samples: samples, sampler: sampler, maxTokens: maxTokens,
                               instruction: Instruction.named(instruction) ?? "", batch: batch, genBase: genBase, steerBase: steerBase)
        Terminal.err("steer sample: \(qs.count) questions × \(alphaList.count) α × \(samples) samples = \(qs.count * alphaList.count * samples) traces, blocks \(dirs.keys.sorted().map(String.init).joined(separator: ","))")
        let line = ProgressLine()
        let records = try job.run(qs, generator: gen) { p in
            let rate = Double(p.generatedTokens) / max(p.seconds, 1e-9)
            let per = p.finished > 0 ? Double(p.generatedTokens) / Double(p.finished) : Double(maxTokens)
            line.update(String(format: "steer sample: %d/%d traces, %.1f tokens/s, ETA %@", p.finished, p.total, rate,
                               GenerateCommand.formatDuration(rate > 0 ? Double(p.total - p.finished) * per / rate : 0)))
        }
        line.finish()
        let out = try JSONLWriter(path: output)
        for r in records { try out.write(r) }
        try out.finish()
        Terminal.out(AlphaTable(records).text)
        Terminal.err("steer sample: \(records.count) records written to \(output)")
    }
}

struct SteerCalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Sweep α (and layer sets) on calibration questions: Len-R, accuracy, collapse; propose the α set.",
        discussion: """
        For every --layers set and every α, the calibration questions are answered greedily with the System-2 instruction while the vector's directions × α are added to those blocks. Per point: mean and spread of Len-R (reasoning tokens over the same question's α=0 trace), accuracy against gold, collapse (a degenerate loop or no answer) and traces cut at --max-tokens. Then, within the layer set that fits best, the α whose mean Len-R is closest to each target (default 1, 0.8, 0.6, 0.4) among the points whose accuracy stays within --tolerance of α=0 and whose collapse is at most --max-collapse. Writes the table and the proposal as JSON; `steer sample --alphas` takes the proposal.

        Examples:
          cotforge steer calibrate --vector vl.gguf --questions q.jsonl --n 20 --alphas -1:0.25:0 --layers 15-18 --layers 12-20 -o calibration.json
        """)

    @Option(help: "A .gguf path or a known model name.")
    var model: String = "smollm2"

    @Option(help: "The control vector (from `steer extract`).")
    var vector: String

    @Option(help: "Calibration question records (JSONL with `question`, and `gold` for accuracy).")
    var questions: String

    @Option(help: "Use the first N questions.")
    var n: Int = 20

    // Unconditional: the value may start with "-" (--alphas -1:0.25:0).
    @Option(parsing: .unconditional, help: ArgumentHelp("α values: start:step:end or a comma list; 0 is added when missing.", valueName: "-1:0.25:0"))
    var alphas: String = "-1:0.25:0"

    @Option(help: ArgumentHelp("A layer set to try, N or A-B (repeat for several).", valueName: "range"))
    var layers: [String] = []

    @Option(help: "Target Len-R values, comma-separated.")
    var targets: String = "1,0.8,0.6,0.4"

    @Option(help: "Accepted accuracy loss against α=0 (fraction).")
    var tolerance: Double = 0.05

    @Option(help: "Accepted share of collapsed traces.")
    var maxCollapse: Double = 0.2

    @Option(help: "Most tokens per trace.")
    var maxTokens: Int = 192

    @Option(help: "Sequences generated together.")
    var batch: Int = 8

    @Option(name: [.customShort("o"), .long], help: "The calibration JSON to write.")
    var output: String

    @Option(help: "Threads for the model's products and attention (the results do not depend on them).")
    var threads: Int = 1

    func validate() throws {
        guard Calibration.parseAlphas(alphas) != nil else { throw ValidationError("--alphas \(alphas): use start:step:end (e.g. -1:0.25:0) or a comma list") }
        guard layers.allSatisfy({ GenerateCommand.parseRange($0) != nil }) else { throw ValidationError("--layers: each N or A-B") }
        guard targetValues != nil else { throw ValidationError("--targets \(targets): comma-separated numbers") }
        guard n >= 1, maxTokens >= 1, batch >= 1 else { throw ValidationError("--n, --max-tokens and --batch must be at least 1") }
    }

    var targetValues: [Double]? {
        let xs = targets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        return xs.isEmpty || xs.contains(nil) ? nil : xs.map { $0! }
    }

    func run() throws {
        let (path, gen, cv) = try steeredGenerator(model: model, vector: vector, threads: threads)
        let qs = try readQuestions(questions, limit: n)
        var settings = SteerSteps.CalibrationSettings(alphas: Calibration.parseAlphas(alphas)!)
        settings.layerSets = layers.map { GenerateCommand.parseRange($0)! }
        settings.targets = targetValues!
        settings.tolerance = tolerance
        settings.maxCollapse = maxCollapse
        settings.maxTokens = maxTokens
        settings.batch = batch
        let line = ProgressLine()
        let identity = ModelIdentity(name: (path as NSString).lastPathComponent, sha256: try ModelStore.sha256(ofFile: path))
        let r: SteerSteps.Calibrated
        do {
            r = try SteerSteps.calibrate(generator: gen, model: identity, vector: cv, vectorName: (vector as NSString).lastPathComponent,
                                         vectorSHA256: try ModelStore.sha256(ofFile: vector), questions: qs, settings: settings) { p in
                line.update(String(format: "steer calibrate: %@, %d/%d traces, %.1f tokens/s", p.detail, p.done, p.total, p.tokensPerSecond ?? 0))
            }
        } catch let e as RecipeError { throw ValidationError("--layers: \(e.message)") }
        line.finish()
        Terminal.out(SteerSteps.table(r))
        try (JSONSerializer.string(.object(r.doc)) + "\n").write(toFile: output, atomically: true, encoding: .utf8)
        Terminal.err("steer calibrate: wrote \(output)")
    }
}

/// The first `limit` question records of a JSONL file (any object with `question`; a missing
/// id becomes `<file stem>-<line>`); errors name the file and line.
func readQuestions(_ path: String, limit: Int?) throws -> [Example] {
    do { return try RecipeBuild.readRecords(path, limit: limit, requireQuestion: true) } catch let e as RecipeError { throw ValidationError(e.description) }
}

/// The engine for `model` and the control vector at `vector`, checked to fit it.
func steeredGenerator(model: String, vector: String, threads: Int) throws -> (path: String, generator: Generator, vector: ControlVector) {
    let path = try ModelStore.resolve(model)
    let gen = try Generator(try GGUFFile(path: path), threads: threads)
    let cv = try ControlVector(path: vector)
    try cv.check(against: gen.model.config, path: vector)
    return (path, gen, cv)
}
