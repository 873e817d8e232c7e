import ArgumentParser
import Corpus
import Foundation
import Model

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

    func validate() throws {
        guard exact != near else { throw ValidationError("choose one of --exact and --near") }
        guard MinHashDeduplicator.Survivor(rawValue: keep) != nil else { throw ValidationError("--keep must be first, shortest, longest or highest-score") }
        guard (bands == nil) == (rows == nil) else { throw ValidationError("give --bands and --rows together") }
        guard threshold > 0 && threshold < 1, numPerm >= 1, ngram >= 1 else { throw ValidationError("--threshold in (0, 1), --num-perm and --ngram at least 1") }
        if near && key.count > 1 { throw ValidationError("--near takes one --key field") }
        if near && io.numShards > 1 { throw ValidationError("--near dedups the whole input at once; run it without --num-shards") }
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

extension BPETokenizer: TokenCounter {
    public func countTokens(_ text: String) -> Int { encode(text, addSpecial: false, parseSpecial: false).count }
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
