import ArgumentParser
import Corpus
import Foundation

struct QuestionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "questions",
        abstract: "Make question records for self-sampling: generate word problems, or import GSM8K, MATH, reasoning-gym or any JSONL.",
        discussion: """
        Examples:
          cotforge questions generate --count 200 --steps 1-1 -o questions.jsonl
          cotforge questions import test.jsonl --format gsm8k -o questions.jsonl
        """,
        subcommands: [QuestionsGenerateCommand.self, QuestionsImportCommand.self])
}

struct QuestionsGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write seeded grade-school word problems with gold answers (nothing to download).",
        discussion: """
        A person starts with some items and 1 to 4 events change the count (finding or buying more, losing or giving away, buying packs of several, sharing equally); the question asks what is left. Every count stays a whole number; problem i depends only on the seed, i, --steps and --difficulty.

        Examples:
          cotforge questions generate --count 200 -o questions.jsonl
          cotforge questions generate --count 1000 --steps 2-4 --difficulty 2 --seed 7 -o q.jsonl.zst
        """)

    @Option(help: "How many problems.")
    var count: Int = 100

    @Option(help: "Seed; the same seed gives the same problems.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("Arithmetic steps per problem, N or A-B within 1-4.", valueName: "range"))
    var steps: String = "1-4"

    @Option(help: "1: numbers up to 20, 2: up to 100, 3: up to 1000.")
    var difficulty: Int = 1

    @Option(help: "Index of the first problem (to extend a set without repeating it).")
    var start: Int = 0

    @Option(name: [.customShort("o"), .long], help: "Output (.jsonl or .jsonl.zst; - for standard output).")
    var output: String = "-"

    func validate() throws {
        guard count >= 1, start >= 0 else { throw ValidationError("--count must be at least 1 and --start at least 0") }
        guard let r = GenerateCommand.parseRange(steps), r.lowerBound >= 1, r.upperBound <= 4 else {
            throw ValidationError("--steps \(steps): use N or A-B within 1-4")
        }
        guard (1...3).contains(difficulty) else { throw ValidationError("--difficulty must be 1, 2 or 3") }
    }

    func run() throws {
        let gen = WordProblemGenerator(seed: seed, steps: GenerateCommand.parseRange(steps)!, difficulty: difficulty)
        let out = try JSONLWriter(path: output)
        for e in gen.records(count: count, start: start) { try out.write(e) }
        try out.finish()
        Terminal.err("questions: \(count) word problems (seed \(seed), \(steps) steps, difficulty \(difficulty)) written to \(output)")
    }
}

struct QuestionsImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert GSM8K, MATH, reasoning-gym or any JSONL questions into records with gold answers.",
        discussion: """
        gsm8k: `question`, `answer` ending in "#### N". math: `problem`, `solution` with the answer in the last \\boxed{}. reasoning-gym: the JSONL its datasets export (`question`, `answer`, `metadata.source_dataset`). jsonl: --question-field and --answer-field name the keys (no answer field: questions without gold, for self-evolution). Lines that cannot become records go to --rejects with their line and reason.

        Examples:
          cotforge questions import gsm8k-test.jsonl --format gsm8k -o questions.jsonl
          cotforge questions import math-test.jsonl --format math --license MIT -o questions.jsonl
          cotforge questions import tasks.jsonl --format jsonl --question-field prompt --answer-field target -o q.jsonl
        """)

    @Argument(help: "Input files (.jsonl, .jsonl.zst; - for standard input).")
    var inputs: [String]

    @Option(help: "gsm8k, math, reasoning-gym or jsonl.")
    var format: String

    @Option(help: "With --format jsonl: the key of the question.")
    var questionField: String = "question"

    @Option(help: "With --format jsonl: the key of the gold answer ('' for none).")
    var answerField: String = "answer"

    @Option(help: "Source name in `source.name` (default: the file name).")
    var source: String?

    @Option(help: "License of the questions, recorded in `source.license`.")
    var license: String?

    @Option(name: [.customShort("o"), .long], help: "Output (.jsonl or .jsonl.zst; - for standard output).")
    var output: String = "-"

    @Option(help: "Where lines that are not questions go (default: OUTPUT.rejects.jsonl, or questions.rejects.jsonl with standard output).")
    var rejects: String?

    func validate() throws {
        guard QuestionFormat.named(format) != nil else { throw ValidationError("--format must be gsm8k, math, reasoning-gym or jsonl") }
    }

    func run() throws {
        let fmt = QuestionFormat.named(format, question: questionField, answer: answerField.isEmpty ? nil : answerField)!
        let out = try JSONLWriter(path: output)
        let rejectsPath = rejects ?? (output == "-" ? "questions.rejects.jsonl" : output.replacingOccurrences(of: ".jsonl", with: ".rejects.jsonl"))
        let rej = try JSONLWriter(path: rejectsPath)
        let counts = try QuestionImporter.importFiles(inputs, format: fmt, source: source, license: license, output: out, rejects: rej)
        let (written, rejected) = (counts.written, counts.rejected)
        try out.finish()
        try rej.finish()
        Terminal.err("questions: \(written) records written to \(output), \(rejected) lines rejected (\(rejectsPath))")
    }
}
