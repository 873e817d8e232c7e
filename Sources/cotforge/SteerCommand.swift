import ArgumentParser
import Corpus
import Foundation
import Model
import Train

struct SteerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "steer",
        abstract: "Make steering directions (control vectors) from a model's own activations.",
        subcommands: [SteerExtractCommand.self])
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

    @Option(help: "OpenBLAS threads.")
    var threads: Int = 1

    func validate() throws {
        guard n >= 1 else { throw ValidationError("--n must be at least 1") }
        guard DirectionMethod(rawValue: method) != nil else { throw ValidationError("--method must be mean-diff or pca") }
        guard layers == "all" || GenerateCommand.parseRange(layers) != nil else { throw ValidationError("--layers \(layers): use all, N or A-B") }
        guard output.hasSuffix(".gguf") else { throw ValidationError("--output must end in .gguf (a llama.cpp control vector)") }
    }

    func run() throws {
        let path = try ModelStore.resolve(model)
        let file = try GGUFFile(path: path)
        let gen = try Generator(file, threads: threads)
        let c = gen.model.config
        let range = layers == "all" ? 1...(c.layers - 1) : GenerateCommand.parseRange(layers)!
        guard range.upperBound < c.layers else { throw ValidationError("--layers \(layers): the model has blocks 0…\(c.layers - 1)") }
        let blocks = range.filter { $0 >= 1 }
        guard !blocks.isEmpty else { throw ValidationError("--layers \(layers) leaves only block 0, which llama.cpp never steers") }

        var texts: [String] = []
        var options = RecordReader.Options()
        options.schema = try JSONSchema(text: "{}")
        try RecordReader(path: questions, options: options).forEach({ line in
            guard texts.count < n else { return }
            guard let q = try line.example().question else {
                throw ValidationError("\(questions):\(line.line): record \(line.id) has no question")
            }
            texts.append(q)
        }, onReject: { r in throw ValidationError("\(questions):\(r.line.map(String.init) ?? "?"): \(r.reason): \(r.detail ?? "")") })
        guard !texts.isEmpty else { throw ValidationError("\(questions): no questions") }
        let pairs = try texts.map { q in (long: try gen.promptTokens("\(q) \(long)", chat: gen.chatTemplate != nil),
                                          short: try gen.promptTokens("\(q) \(short)", chat: gen.chatTemplate != nil)) }
        Terminal.err("steer extract: \(pairs.count) questions × 2 prompts through \(path); blocks \(blocks.first!)–\(blocks.last!), \(method)")
        let line = ProgressLine()
        let started = Date()
        let (dirs, stats) = try DirectionExtraction.extract(model: gen.model, pairs: pairs, layers: blocks, method: DirectionMethod(rawValue: method)!) { done in
            let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
            line.update(String(format: "steer extract: %d/%d questions, ETA %@", done, pairs.count, GenerateCommand.formatDuration(Double(pairs.count - done) / rate)))
        }
        line.finish()
        try ControlVector(modelHint: c.architecture.rawValue, directions: dirs).write(to: output)
        let statsPath = (output as NSString).deletingPathExtension + ".json"
        let layerRows: [JSONValue] = stats.map { s in
            .object(JSONObject([("layer", .int(s.layer)), ("norm", .number("\(s.norm)")), ("separation", .number("\(s.separation)")),
                                ("agreement", .number("\(s.agreement)")), ("consistent", .int(s.consistent)), ("pairs", .int(s.pairs))]))
        }
        let doc = JSONObject([
            ("model", .string((path as NSString).lastPathComponent)), ("model_sha256", .string(try ModelStore.sha256(ofFile: path))),
            ("method", .string(method)), ("questions", .string(questions)), ("n", .int(pairs.count)),
            ("long_instruction", .string(long)), ("short_instruction", .string(short)), ("position", .string("last prompt token")),
            ("layers", .array(layerRows)),
        ])
        try (JSONSerializer.string(.object(doc)) + "\n").write(toFile: statsPath, atomically: true, encoding: .utf8)
        var table = ["block   norm   separation  agreement  long>short"]
        for s in stats {
            table.append(String(format: "%5d  %7.2f  %9.2f  %9.3f  %4d/%d", s.layer, s.norm, s.separation, s.agreement, s.consistent, s.pairs))
        }
        Terminal.out(table.joined(separator: "\n"))
        Terminal.err("steer extract: wrote \(output) and \(statsPath) in \(GenerateCommand.formatDuration(Date().timeIntervalSince(started)))")
    }
}
