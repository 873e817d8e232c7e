import ArgumentParser
import Corpus
import Foundation

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print or write the JSON Schemas of the files cotforge reads and writes.",
        discussion: """
        Examples:
          cotforge schema example            # print the record schema
          cotforge schema --write schemas    # write every schema file into a folder
        """)

    @Argument(help: "example, reject or manifest.")
    var name: String?

    @Option(help: "Write every schema into this folder.")
    var write: String?

    func run() throws {
        if let dir = write {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for (file, text) in Schemas.all {
                try (text + "\n").write(toFile: "\(dir)/\(file)", atomically: true, encoding: .utf8)
                Terminal.err("wrote \(dir)/\(file)")
            }
            return
        }
        let wanted = name ?? "example"
        guard let s = Schemas.all.first(where: { $0.file == "\(wanted).schema.json" }) else {
            throw ValidationError("unknown schema \(wanted); known: " + Schemas.all.map { $0.file.replacingOccurrences(of: ".schema.json", with: "") }.joined(separator: ", "))
        }
        Terminal.out(s.text)
    }
}
