import ArgumentParser
import Corpus
import Foundation
import Shards

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read records from another tool's layout back into JSON Lines.",
        discussion: """
        Reads JSON Lines (.jsonl, .jsonl.zst), a JSON array of objects (.json), MosaicML MDS (a folder with index.json; columns str, int, json) and WebDataset (a .tar or a folder of .tar shards; each sample's KEY.json is the record). The layout is detected from the path. Several inputs are written in order to one output; feed it to cotforge shard to build a dataset.

        From MDS, null values of json columns are left out (MDS export writes absent fields as null), and fields come in column (name) order.

        Example:
          cotforge import out/demo/mds/train -o train.jsonl.zst
          cotforge import out/demo/wds/train -o - | head -1
        """)

    @Argument(help: "Input files or folders.")
    var inputs: [String]

    @Option(name: [.short, .customLong("output")], help: "Output JSON Lines (.zst compresses; - for standard output).")
    var output: String

    func run() throws {
        let out = try JSONLWriter(path: output)
        let line = ProgressLine()
        for input in inputs {
            let layout = try Importer.detect(input)
            let n = try Importer.run(input, to: out) { line.update("import: \($0)") }
            line.finish()
            Terminal.err("import: \(input) (\(layout.rawValue)): \(n) records")
        }
        try out.finish()
        Terminal.err("import: \(out.records) records to \(output)")
    }
}
