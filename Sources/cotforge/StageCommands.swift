import ArgumentParser
import Corpus
import Foundation
import Model
import Recipes

/// Options every stage command shares: where records come from and go to.
struct StageIO: ParsableArguments {
    @Argument(help: "Input .jsonl / .jsonl.zst files (default: standard input).")
    var inputs: [String] = []

    @Option(name: .shortAndLong, help: "Output file (.jsonl or .jsonl.zst; default: standard output).")
    var output: String = "-"

    @Option(help: "Where dropped records go, with stage and reason (default: OUTPUT.rejects.jsonl[.zst], or STAGE.rejects.jsonl when writing to standard output).")
    var rejects: String?

    @Option(help: "Process only records i, i+n, i+2n, … of the input (with --num-shards n), to split work across jobs.")
    var shardIndex: Int = 0

    @Option(help: "Number of slices the input is split into.")
    var numShards: Int = 1

    @Flag(name: .shortAndLong, help: "No counts on standard error.")
    var quiet = false

    func validate() throws {
        guard numShards >= 1, shardIndex >= 0, shardIndex < numShards else {
            throw ValidationError("--shard-index must be in 0..<--num-shards")
        }
    }

    func rejectsPath(stage: String) -> String {
        if let r = rejects { return r }
        if output == "-" { return "\(stage).rejects.jsonl" }
        for ext in [".jsonl.zst", ".jsonl"] where output.hasSuffix(ext) {
            return String(output.dropLast(ext.count)) + ".rejects" + ext
        }
        return output + ".rejects.jsonl"
    }

    /// Runs `stages` and prints the counts per stage and reason.
    func run(_ stages: [any Stage], command: String) throws {
        let runner = StageRunner(stages: stages)
        runner.sliceIndex = shardIndex
        runner.sliceCount = numShards
        let rejectsPath = rejectsPath(stage: command)
        let out = try JSONLWriter(path: output)
        let rej = try JSONLWriter(path: rejectsPath)
        let line = ProgressLine()
        let result = try runner.run(inputs: inputs.isEmpty ? ["-"] : inputs, output: out, rejects: rej) { p in
            if !quiet { line.update("\(command): \(p.records) records, \(p.kept) kept, \(p.dropped) dropped") }
        }
        try out.finish()
        try rej.finish()
        line.finish()
        guard !quiet else { return }
        let read = result.counts[0]
        Terminal.err("\(command): \(read.input) records in, \(result.kept) kept, \(result.dropped) dropped (rejects: \(rejectsPath))")
        for c in result.counts where c.droppedTotal > 0 {
            for (reason, n) in c.dropped.sorted(by: { $0.value > $1.value }) {
                Terminal.err("  \(c.name): \(n) × \(reason)")
            }
        }
    }
}

struct AnswerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "answer",
        abstract: "Extract each response's final answer into `pred` and keep records whose answer matches `gold`.",
        discussion: """
        The answer is taken from `answer` (or `reasoning` when `answer` is empty): the last \\boxed{…}, else a GSM8K "#### N" line, else "the answer is …", else the last number; the rule that fired is recorded in `verdicts`. Answers are compared after normalization (thousands separators, trailing .0, fractions vs decimals, \\dfrac, \\text{} units, percent, $, unicode minus, LaTeX spacing). Drops: answer.mismatch, answer.missing, answer.no_gold.

        Example:
          cotforge answer generations.jsonl.zst -o verified.jsonl.zst
        """)

    @OptionGroup var io: StageIO

    @Flag(help: "Keep records without `gold` (only fill `pred`).")
    var allowMissingGold = false

    func run() throws { try io.run([AnswerCheckStage(allowMissingGold: allowMissingGold)], command: "answer") }
}

struct FormatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "format",
        abstract: "Keep records with a well-formed thought and answer (<think>…</think> or a reasoning field).",
        discussion: """
        Drops: format.no_think, format.empty_think, format.empty_answer, format.multiple_think, format.unbalanced_think.

        Example:
          cotforge format raw.jsonl | cotforge answer -o clean.jsonl
        """)

    @OptionGroup var io: StageIO

    @Flag(help: "Do not require a thought.")
    var optionalThink = false

    @Flag(help: "Do not require an answer after the thought.")
    var optionalAnswer = false

    func run() throws { try io.run([FormatStage(requireThink: !optionalThink, requireAnswer: !optionalAnswer)], command: "format") }
}

struct LengthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "length",
        abstract: "Keep records whose text fields are within bounds (characters, words or tokens).",
        discussion: """
        Bounds are field[:chars|words|tokens]=N; tokens need --model. Drops: length.FIELD.UNIT_below / _above.

        Example:
          cotforge length in.jsonl --min reasoning:words=5 --max reasoning:tokens=2048 --model smollm2 -o out.jsonl
        """)

    @OptionGroup var io: StageIO

    @Option(help: ArgumentHelp("A lower bound (repeatable).", valueName: "field[:unit]=N"))
    var min: [String] = []

    @Option(help: ArgumentHelp("An upper bound (repeatable).", valueName: "field[:unit]=N"))
    var max: [String] = []

    @Option(help: "Model whose tokenizer counts tokens (a .gguf path or a known name).")
    var model: String?

    func run() throws {
        let bounds = try min.map { try LengthStage.parse($0, isMin: true) } + max.map { try LengthStage.parse($0, isMin: false) }
        guard !bounds.isEmpty else { throw ValidationError("give at least one --min or --max bound") }
        var counter: (any TokenCounter)? = nil
        if let m = model { counter = try BPETokenizer(GGUFFile(path: try ModelStore.resolve(m))) }
        try io.run([try LengthStage(bounds: bounds, tokenizer: counter)], command: "length")
    }
}

struct DedupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dedup",
        abstract: "Drop exact (--exact) or near (--near, MinHash LSH) duplicates.",
        discussion: """
        --exact: the key is one or more fields (--key question --key answer); text is lowercased, punctuation dropped and whitespace folded; the first occurrence is kept. Drops: dedup.exact.

        --near: MinHash LSH over word n-grams of one field (--key, default reasoning): --num-perm hashes split into bands × rows chosen for --threshold (or set --bands/--rows); candidates are clustered and one survivor per cluster is kept (--keep first|shortest|longest|highest-score). Two passes over the input. Drops: dedup.minhash (the detail says where the survivor is).

        For corpora that do not fit one process, run it as four restartable passes sharing --work DIR (same options in each): --pass signatures and --pass remove per input slice (--shard-index i --num-shards n), --pass buckets per band slice (--shard-index j --num-shards m), then --pass clusters --band-shards m once in between. A finished unit is skipped when run again.

        Examples:
          cotforge dedup --exact --key question < in.jsonl > out.jsonl
          cotforge dedup --near --threshold 0.8 --key reasoning < in.jsonl > out.jsonl
        """)

    @OptionGroup var io: StageIO

    @Flag(help: "Exact duplicates of a normalized key.")
    var exact = false

    @Flag(help: "Near duplicates by MinHash LSH.")
    var near = false

    @Option(help: "Field of the key (exact: repeatable, default question; near: one field, default reasoning).")
    var key: [String] = []

    @Option(help: "Near: Jaccard similarity to catch (sets bands × rows for --num-perm).")
    var threshold: Double = 0.8

    @Option(help: "Near: number of min-hashes.")
    var numPerm: Int = 128

    @Option(help: "Near: bands (with --rows, overrides --threshold).")
    var bands: Int?

    @Option(help: "Near: rows per band.")
    var rows: Int?

    @Option(help: "Near: words per shingle.")
    var ngram: Int = 5

    @Option(help: "Near: which record of a cluster survives: first, shortest, longest, highest-score.")
    var keep: String = "first"

    @Option(help: "Near: numeric field for --keep highest-score.")
    var scoreField: String = "score"

    @Option(help: "Near, in passes for large corpora: signatures, buckets, clusters or remove (see the discussion).")
    var pass: String?

    @Option(help: "Near, in passes: the folder the passes share.")
    var work: String?

    @Option(help: "Near, in passes: how many band slices the buckets pass was split into.")
    var bandShards: Int = 1

    func validate() throws {
        guard exact != near else { throw ValidationError("choose one of --exact and --near") }
        guard MinHashDeduplicator.Survivor(rawValue: keep) != nil else { throw ValidationError("--keep must be first, shortest, longest or highest-score") }
        guard (bands == nil) == (rows == nil) else { throw ValidationError("give --bands and --rows together") }
        guard threshold > 0 && threshold < 1, numPerm >= 1, ngram >= 1 else { throw ValidationError("--threshold in (0, 1), --num-perm and --ngram at least 1") }
        if near && key.count > 1 { throw ValidationError("--near takes one --key field") }
        if near && io.numShards > 1 && pass == nil { throw ValidationError("--near dedups the whole input at once; for slices use --pass with --work") }
        if let p = pass {
            guard ["signatures", "buckets", "clusters", "remove"].contains(p) else { throw ValidationError("--pass must be signatures, buckets, clusters or remove") }
            guard near, work != nil else { throw ValidationError("--pass goes with --near and --work DIR") }
        }
    }

    func run() throws {
        if exact {
            try io.run([ExactDedupStage(fields: key.isEmpty ? ["question"] : key)], command: "dedup")
            return
        }
        var o = MinHashDeduplicator.Options()
        o.field = key.first ?? "reasoning"
        o.ngram = ngram
        (o.bands, o.rows) = bands.map { ($0, rows!) } ?? MinHashDeduplicator.optimalBands(threshold: threshold, permutations: numPerm)
        o.survivor = MinHashDeduplicator.Survivor(rawValue: keep)!
        o.scoreField = scoreField
        if let p = pass, let w = work {
            try FileManager.default.createDirectory(atPath: w, withIntermediateDirectories: true)
            let passes = MinHashPasses(options: o, work: w)
            let inputs = io.inputs
            if (p == "signatures" || p == "remove") && (inputs.isEmpty || inputs.contains("-")) {
                throw ValidationError("--pass \(p) reads input files (every slice the same list, in the same order)")
            }
            switch p {
            case "signatures":
                let ran = try passes.signatures(inputs: inputs, index: io.shardIndex, count: io.numShards)
                Terminal.err("dedup --pass signatures \(io.shardIndex)/\(io.numShards): " + (ran ? "written to \(w)" : "already done, skipped"))
            case "buckets":
                let ran = try passes.buckets(index: io.shardIndex, count: io.numShards)
                Terminal.err("dedup --pass buckets \(io.shardIndex)/\(io.numShards): " + (ran ? "written to \(w)" : "already done, skipped"))
            case "clusters":
                let ran = try passes.clusters(bandSlices: bandShards)
                Terminal.err("dedup --pass clusters: " + (ran ? "written to \(w)" : "already done, skipped"))
            default:
                let rejectsPath = io.rejectsPath(stage: "dedup")
                let out = try JSONLWriter(path: io.output), rej = try JSONLWriter(path: rejectsPath)
                let c = try passes.remove(inputs: inputs, index: io.shardIndex, count: io.numShards, output: out, rejects: rej)
                try out.finish(); try rej.finish()
                if !io.quiet {
                    Terminal.err("dedup --pass remove \(io.shardIndex)/\(io.numShards): \(c[0].input) records in, \(c[1].kept) kept (rejects: \(rejectsPath))")
                    for x in c { for (r, n) in x.dropped.sorted(by: { $0.value > $1.value }) { Terminal.err("  \(x.name): \(n) × \(r)") } }
                }
            }
            return
        }
        let job = NearDedupJob(options: o)
        let rejectsPath = io.rejectsPath(stage: "dedup")
        let out = try JSONLWriter(path: io.output), rej = try JSONLWriter(path: rejectsPath)
        let line = ProgressLine()
        let counts = try job.run(inputs: io.inputs.isEmpty ? ["-"] : io.inputs, output: out, rejects: rej) { p in
            if !io.quiet { line.update("dedup --near: pass \(p.pass)/2, \(p.records) records") }
        }
        try out.finish(); try rej.finish()
        line.finish()
        guard !io.quiet else { return }
        Terminal.err("dedup --near (\(o.bands) bands × \(o.rows) rows, \(o.ngram)-word shingles, threshold ≈ \(String(format: "%.2f", o.threshold))): \(counts[0].input) records in, \(counts[1].kept) kept, \(counts[1].droppedTotal + counts[0].droppedTotal) dropped (rejects: \(rejectsPath))")
        for c in counts { for (r, n) in c.dropped.sorted(by: { $0.value > $1.value }) { Terminal.err("  \(c.name): \(n) × \(r)") } }
    }
}

struct RepetitionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repetition",
        abstract: "Drop repetitive text (Gopher's rules) and degenerate loops.",
        discussion: """
        Gopher's rules with their published thresholds: repeated paragraphs and lines (by count and characters), the share of the most frequent 2/3/4-gram, the share of characters in repeated 5…10-grams (n-gram rules from 50 words on); and loops: text that ends with one span repeated 4+ times over 20%+ of its words. Drops: repetition.dup_line_frac, repetition.top_2gram, repetition.dup_5gram, repetition.loop, …

        Example:
          cotforge repetition samples.jsonl -o clean.jsonl --field reasoning
        """)

    @OptionGroup var io: StageIO

    @Option(help: "Field to check (repeatable; default: reasoning and answer, joined).")
    var field: [String] = []

    func run() throws { try io.run([RepetitionStage(fields: field.isEmpty ? ["reasoning", "answer"] : field)], command: "repetition") }
}

struct RefusalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "refusal",
        abstract: "Drop (or label) refusals such as \"I can't help with that\".",
        discussion: """
        Looks for refusal phrases in the first 240 characters of `answer` (or `reasoning`). Drops: refusal.phrase. With --label, keeps every record and adds a verdict {by: refusal, keep, reason}.

        Example:
          cotforge refusal math.jsonl -o math-no-refusals.jsonl
        """)

    @OptionGroup var io: StageIO

    @Flag(help: "Keep every record and only record the verdict.")
    var label = false

    func run() throws { try io.run([RefusalStage(labelOnly: label)], command: "refusal") }
}

struct PIICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pii",
        abstract: "Replace (or drop) e-mail addresses, IP addresses, phone numbers and secrets.",
        discussion: """
        Replaced by <EMAIL>, <IP>, <PHONE>, <SECRET> in the text fields (question, prompt, reasoning, answer, gold, pred); with --drop, records holding any are dropped (pii.email, pii.ip, pii.phone, pii.secret). Secrets: AWS and GitHub tokens, sk-… keys, Slack tokens, Google API keys, private-key blocks.

        Example:
          cotforge pii scraped.jsonl -o scrubbed.jsonl
        """)

    @OptionGroup var io: StageIO

    @Flag(help: "Drop records instead of replacing.")
    var drop = false

    func run() throws {
        let stage = PIIStage(drop: drop)
        let box = StageBox(stage)
        try io.run([box], command: "pii")
        if !drop && !io.quiet {
            let counts = box.stage.replaced.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.rawValue)" }
            Terminal.err("pii: replaced " + (counts.isEmpty ? "nothing" : counts.joined(separator: ", ")))
        }
    }
}

/// Lets the CLI read a stage's own state (the PII replacement counts) after the runner used it.
final class StageBox<S: Stage>: Stage {
    var stage: S
    init(_ s: S) { stage = s }
    var name: String { stage.name }
    func process(_ record: inout Example) throws -> Verdict { try stage.process(&record) }
}

struct DecontaminateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decontaminate",
        abstract: "Drop records that share a word n-gram with evaluation items.",
        discussion: """
        Evaluation files are JSON Lines; --eval FILE reads its `question` field, --eval FILE:problem another field (repeatable). Text is lowercased and split on whitespace; a record is dropped (decontam.ngram) when one of --field shares an n-gram (default 8; 13 is the other common choice) with any item. Standard error lists the evaluation items that were hit and how often; --report writes that as JSON.

        Example:
          cotforge decontaminate train.jsonl --eval gsm8k-test.jsonl --eval math-test.jsonl:problem -o clean.jsonl
        """)

    @OptionGroup var io: StageIO

    @Option(help: ArgumentHelp("An evaluation file, optionally with its field (repeatable).", valueName: "file[:field]"))
    var eval: [String] = []

    @Option(help: "Words per n-gram.")
    var ngram: Int = 8

    @Option(help: "Record field to check (repeatable; default question and prompt).")
    var field: [String] = []

    @Option(help: "Write the hits per evaluation item to this JSON file.")
    var report: String?

    func run() throws {
        guard !eval.isEmpty else { throw ValidationError("give at least one --eval FILE[:field]") }
        guard ngram >= 1 else { throw ValidationError("--ngram must be at least 1") }
        var index = EvalIndex(n: ngram)
        for spec in eval {
            var path = spec, fieldName = "question"
            if let c = spec.lastIndex(of: ":"), !FileManager.default.fileExists(atPath: spec) {
                path = String(spec[..<c]); fieldName = String(spec[spec.index(after: c)...])
            }
            let (added, skipped) = try index.load(path: path, field: fieldName)
            if !io.quiet { Terminal.err("decontaminate: \(added) evaluation items from \(path) (\(fieldName))" + (skipped > 0 ? ", \(skipped) lines without it skipped" : "")) }
        }
        let box = StageBox(DecontaminationStage(index: index, fields: field.isEmpty ? ["question", "prompt"] : field))
        try io.run([box], command: "decontaminate")
        let hits = box.stage.hits.sorted { $0.value > $1.value }
        if !io.quiet {
            Terminal.err("decontaminate: \(hits.count) of \(index.items.count) evaluation items matched training records")
            for (i, n) in hits.prefix(10) {
                let it = index.items[i]
                Terminal.err("  \(it.id ?? "\(it.file):\(it.line)"): \(n) record(s)")
            }
        }
        if let path = report {
            let items: [JSONValue] = hits.map { i, n in
                let it = index.items[i]
                return .object(JSONObject([("file", .string(it.file)), ("line", .int(it.line)), ("id", it.id.map { .string($0) } ?? .null), ("records", .int(n))]))
            }
            let doc = JSONValue.object(JSONObject([("ngram", .int(ngram)), ("eval_items", .int(index.items.count)), ("hit_items", .array(items))]))
            try JSONSerializer.pretty(doc).write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

extension StageIO {
    /// Runs a two-pass job with this command's inputs, output and rejects, and prints counts.
    func runJob(command: String, inputs given: [String]? = nil,
                _ job: (_ inputs: [String], _ out: JSONLWriter, _ rej: JSONLWriter) throws -> [StageCounts]) throws {
        let inputs = given ?? self.inputs
        guard !inputs.isEmpty, !inputs.contains("-") else {
            throw ValidationError("\(command) reads its input twice: give files, not standard input")
        }
        guard numShards == 1 else { throw ValidationError("\(command) works on the whole input; run it without --num-shards") }
        let rejectsPath = rejectsPath(stage: command)
        let out = try JSONLWriter(path: output), rej = try JSONLWriter(path: rejectsPath)
        let counts = try job(inputs, out, rej)
        try out.finish(); try rej.finish()
        guard !quiet else { return }
        let kept = counts.last?.kept ?? 0
        Terminal.err("\(command): \(counts[0].input) records in, \(kept) kept, \(counts[0].input - kept) dropped (rejects: \(rejectsPath))")
        for c in counts { for (r, n) in c.dropped.sorted(by: { $0.value > $1.value }) { Terminal.err("  \(c.name): \(n) × \(r)") } }
    }
}

struct CurriculumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curriculum",
        abstract: "Assign compression-curriculum stages by Len-R against each question's α = 0 trace.",
        discussion: """
        Len-R = reasoning length (tokens.reasoning, else characters) over that of the question's α = 0 trace (gen.steer.alpha = 0, or no steering). Stage k holds Len-R in [edge_k, 1] (default edges 0.9,0.8,0.7,0.6,0.5, i.e. 0.9 − 0.1k); writes len_ratio and stage and outputs records in stage order. Drops: curriculum.no_base, curriculum.longer, curriculum.empty_base.

        Example:
          cotforge curriculum variants.jsonl -o staged.jsonl.zst --edges 0.9,0.8,0.7
        """)

    @OptionGroup var io: StageIO

    @Option(help: "Lower Len-R edge of each stage, decreasing.")
    var edges: String = "0.9,0.8,0.7,0.6,0.5"

    @Option(help: "Field that groups the variants of one question.")
    var key: String = "question"

    func run() throws {
        let e = edges.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !e.isEmpty, e.count == edges.split(separator: ",").count, zip(e, e.dropFirst()).allSatisfy({ $0 > $1 }) else {
            throw ValidationError("--edges must be decreasing numbers, e.g. 0.9,0.8,0.7")
        }
        let job = CurriculumJob(edges: e)
        job.key = key
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("cotforge-curriculum-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        try io.runJob(command: "curriculum") { try job.run(inputs: $0, output: $1, rejects: $2, workDir: work) }
    }
}

struct ConsensusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consensus",
        abstract: "Self-evolution verification: keep a question's variants only if all their answers agree; the consensus becomes gold.",
        discussion: """
        Groups records by --key (default question) and compares their `pred` (fill it with `cotforge answer --allow-missing-gold`). All equal after normalization: every variant is kept with gold = the consensus and a verdict saying it is a pseudo-label; a gold already present is kept as gold_reference and the agreement with it is printed. Drops: consensus.disagree, consensus.no_pred, consensus.no_key. Two passes: files, not standard input.

        Example:
          cotforge consensus traces.jsonl -o agreed.jsonl
        """)

    @OptionGroup var io: StageIO

    @Option(help: "Field that groups the variants of one question.")
    var key: String = "question"

    func run() throws {
        let job = ConsensusJob()
        job.key = key
        try io.runJob(command: "consensus") { try job.run(inputs: $0, output: $1, rejects: $2) }
        Terminal.err("consensus: \(job.questionsKept) questions agreed, \(job.questionsDropped) did not"
                     + (job.checkedAgainstGold > 0 ? "; the consensus equals the existing gold for \(job.agreeingWithGold) of \(job.checkedAgainstGold)" : ""))
    }
}

struct PairsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pairs",
        abstract: "Build S3-CoT dual-cognitive pairs: α=0 trace under the System-2 instruction, a compressed variant under System-1.",
        discussion: """
        Groups verified self-sampled variants by --key (default question). The α = 0 trace (gen.steer.alpha 0, or no steering) gets prompt = question + the System-2 instruction and mode slow; the compressed variant picked by --pick (shortest reasoning, a seeded choice, or all) gets question + the System-1 instruction and mode fast. Drops: pairs.no_base, pairs.no_short (neither with --unpaired), pairs.not_chosen, pairs.extra_base. Two passes: files, not standard input.

        Example:
          cotforge pairs verified.jsonl -o pairs.jsonl --pick shortest
        """)

    @OptionGroup var io: StageIO

    @Option(help: "Which compressed variant: shortest, seeded or all.")
    var pick: String = "shortest"

    @Option(help: "Seed of --pick seeded.")
    var seed: UInt64 = 1

    @Option(help: "Field that groups the variants of one question.")
    var key: String = "question"

    @Flag(help: "Also keep bases without a compressed sibling (slow) and compressed variants without a base (fast).")
    var unpaired = false

    func run() throws {
        guard let p = PairsJob.Pick(rawValue: pick) else { throw ValidationError("--pick must be shortest, seeded or all") }
        let job = PairsJob(pick: p, seed: seed, unpaired: unpaired)
        job.key = key
        try io.runJob(command: "pairs") { try job.run(inputs: $0, output: $1, rejects: $2) }
    }
}

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Keep a seeded random sample: exactly --n records, or each with probability --fraction.",
        discussion: """
        Selection is by a seeded hash of each record's id, so the same seed picks the same records on every machine; the order of the input is kept. The rest go to rejects as sample.not_selected.

        Example:
          cotforge sample big.jsonl.zst --n 1000 --seed 7 -o small.jsonl
        """)

    @OptionGroup var io: StageIO

    @Option(help: "Exact number of records to keep.")
    var n: Int?

    @Option(help: "Probability of keeping each record.")
    var fraction: Double?

    @Option(help: "Seed of the selection.")
    var seed: UInt64 = 1

    func run() throws {
        guard (n == nil) != (fraction == nil) else { throw ValidationError("give exactly one of --n and --fraction") }
        if let n, n < 0 { throw ValidationError("--n must be 0 or more") }
        if let f = fraction, !(0...1).contains(f) { throw ValidationError("--fraction must be between 0 and 1") }
        let job = SampleJob(count: n, fraction: fraction, seed: seed)
        try io.runJob(command: "sample") { try job.run(inputs: $0, output: $1, rejects: $2) }
    }
}

struct MixCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mix",
        abstract: "Mix long and short chains of thought (one response per question), or N sources to exact counts.",
        discussion: """
        --long/--short (Mix Distillation): small models learn better from a mix, long:short = 1:4 by default (--long-weight 0.2). Each question contributes exactly one response; the questions that take the long one are a seeded choice sized so the long share matches the weight exactly (rounded), after questions that have only one kind. Drops: mix.not_chosen, mix.extra_response, mix.no_key.

        --source FILE=RATIO … --total N, or --source FILE=#COUNT …: exact counts per source (ratios apportioned by largest remainder), each a seeded sample of its source. Drops: sample.not_selected.

        Examples:
          cotforge mix --long slow.jsonl --short fast.jsonl --long-weight 0.2 --seed 1 -o mixed.jsonl
          cotforge mix --source math.jsonl=0.8 --source safety.jsonl=0.2 --total 5000 -o blend.jsonl
        """)

    @Option(help: "Long chain-of-thought records (repeatable).")
    var long: [String] = []

    @Option(help: "Short chain-of-thought records (repeatable).")
    var short: [String] = []

    @Option(help: "Share of questions answered with the long response.")
    var longWeight: Double = 0.2

    @Option(help: "Seed of the choice.")
    var seed: UInt64 = 1

    @Option(help: "Field that identifies a question.")
    var key: String = "question"

    @Option(help: ArgumentHelp("A source and its share (repeatable).", valueName: "file=ratio|file=#count"))
    var source: [String] = []

    @Option(help: "Total records when shares are ratios.")
    var total: Int?

    @OptionGroup var io: StageIO

    func run() throws {
        if !source.isEmpty {
            let parsed: [(path: String, share: WeightedMix.Share)] = try source.map { spec in
                guard let eq = spec.lastIndex(of: "=") else { throw ValidationError("--source \(spec): expected file=ratio or file=#count") }
                let path = String(spec[..<eq]), v = String(spec[spec.index(after: eq)...])
                if v.hasPrefix("#"), let n = Int(v.dropFirst()), n >= 0 { return (path, .count(n)) }
                if let r = Double(v), r >= 0 { return (path, .ratio(r)) }
                throw ValidationError("--source \(spec): expected file=ratio or file=#count")
            }
            let mix = WeightedMix(sources: parsed, total: total, seed: seed)
            try io.runJob(command: "mix", inputs: parsed.map(\.path)) { _, out, rej in try mix.run(output: out, rejects: rej) }
            return
        }
        guard !long.isEmpty, !short.isEmpty else { throw ValidationError("give --long and --short files, or --source FILE=SHARE") }
        guard (0...1).contains(longWeight) else { throw ValidationError("--long-weight must be between 0 and 1") }
        let job = MixJob(longWeight: longWeight, seed: seed)
        job.key = key
        var summary = ""
        try io.runJob(command: "mix", inputs: long + short) { _, out, rej in
            let r = try job.run(long: long, short: short, output: out, rejects: rej)
            summary = "mix: \(r.questions) questions → \(r.long) long + \(r.short) short (long share \(String(format: "%.3f", Double(r.long) / Double(max(1, r.long + r.short)))))"
            return r.counts
        }
        if !io.quiet { Terminal.err(summary) }
    }
}
