import ArgumentParser
import Foundation
import Shards

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Convert a built dataset into another format the ecosystem reads.",
        discussion: """
        --format wds: WebDataset tar shards under DIR/wds/SPLIT/data-NNNNNN.tar, each sample a KEY.json (the record) and a KEY.txt (the assistant turn: <think>…</think> then the answer), listed with SHA-256 in manifest.json under exports.wds. Read them with webdataset.WebDataset(...) or datasets.load_dataset("webdataset", ...).

        Example:
          cotforge export out/demo --format wds
        """)

    @Argument(help: "The dataset folder (built by cotforge shard).")
    var dataset: String

    @Option(help: "Output format: wds.")
    var format: String

    @Option(help: ArgumentHelp("Largest tar shard (K/M/G or KiB/MiB/GiB).", valueName: "size"))
    var shardSize: String = "256MiB"

    func run() throws {
        guard format == "wds" else { throw ValidationError("--format \(format) is not available yet; supported: wds") }
        guard let limit = parseByteSize(shardSize), limit > 0 else { throw ValidationError("--shard-size \(shardSize) is not a size") }
        let line = ProgressLine()
        let out = try WebDatasetExport.run(dataset: dataset, sizeLimit: limit) { line.update("export: \($0)") }
        line.finish()
        for (split, shards) in out.sorted(by: { $0.key < $1.key }) {
            Terminal.err("export: \(split): \(shards.reduce(0) { $0 + $1.records }) samples in \(shards.count) tar shard(s) under \(dataset)/wds/\(split)/")
        }
    }
}
