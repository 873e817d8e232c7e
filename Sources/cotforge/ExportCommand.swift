import ArgumentParser
import Foundation
import Shards

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Convert a built dataset into another format the ecosystem reads.",
        discussion: """
        --format mds: MosaicML streaming MDS (version 2) under DIR/mds/SPLIT/: index.json and shard.NNNNN.mds.zstd files, columns from the records (str and int for fields every record has with that kind, json for the rest); read with streaming.StreamingDataset(local=...). Shards are byte-identical, before compression, to what MosaicML's own MDSWriter writes for the same records.

        --format wds: WebDataset tar shards under DIR/wds/SPLIT/data-NNNNNN.tar, each sample a KEY.json (the record) and a KEY.txt (the assistant turn: <think>…</think> then the answer), listed with SHA-256 in manifest.json under exports.wds. Read them with webdataset.WebDataset(...) or datasets.load_dataset("webdataset", ...).

        Example:
          cotforge export out/demo --format wds
          cotforge export out/demo --format mds
        """)

    @Argument(help: "The dataset folder (built by cotforge shard).")
    var dataset: String

    @Option(help: "Output format: mds or wds.")
    var format: String

    @Option(help: ArgumentHelp("Largest shard (K/M/G or KiB/MiB/GiB; default 256MiB for wds, 64MiB for mds).", valueName: "size"))
    var shardSize: String?

    func run() throws {
        guard format == "wds" || format == "mds" else { throw ValidationError("--format must be mds or wds") }
        let size = shardSize ?? (format == "wds" ? "256MiB" : "64MiB")
        guard let limit = parseByteSize(size), limit > 0 else { throw ValidationError("--shard-size \(size) is not a size") }
        let line = ProgressLine()
        let out = format == "wds"
            ? try WebDatasetExport.run(dataset: dataset, sizeLimit: limit) { line.update("export: \($0)") }
            : try MDSExport.run(dataset: dataset, sizeLimit: limit) { line.update("export: \($0)") }
        line.finish()
        for (split, shards) in out.sorted(by: { $0.key < $1.key }) {
            Terminal.err("export: \(split): \(shards.reduce(0) { $0 + $1.records }) samples in \(shards.count) shard(s) under \(dataset)/\(format)/\(split)/")
        }
    }
}
