import ArgumentParser
import Corpus
import Foundation
import Shards

struct ShardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shard",
        abstract: "Validate JSON Lines records and write a sharded, checksummed dataset.",
        discussion: """
        Reads .jsonl or .jsonl.zst files (or - for standard input), checks every record against schemas/example.schema.json, assigns splits by a hash of the group key (records with the same question share a split), and writes OUT/data/{split}-NNNNN-of-NNNNN.jsonl.zst, OUT/rejects/ (every dropped line with its reason, file and line number), OUT/README.md (a dataset card that datasets.load_dataset reads) and OUT/manifest.json.

        Interrupted? Run the same command again: finished shards are reused.

        Examples:
          cotforge shard raw/*.jsonl.zst --out out/gsm8k-cot
          cotforge shard a.jsonl b.jsonl --out out/mix \\
              --split validation=0.05 --split test=0.05 --seed 7
          zstd -dc big.jsonl.zst | cotforge shard - --out out/big --shard-size 256MiB
        """)

    @Argument(help: "Input files (.jsonl, .jsonl.zst; - for standard input).")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output dataset folder.")
    var out: String

    @Option(name: .customLong("split"), help: ArgumentHelp("A held-out split and its fraction, e.g. validation=0.05 (repeatable); train takes the rest.", valueName: "name=fraction"))
    var splitSpecs: [String] = ["validation=0.05"]

    @Option(help: "Seed of the split assignment.")
    var seed: UInt64 = 1

    @Option(help: "Field whose value keeps records together in one split.")
    var groupKey: String = "question"

    @Option(help: ArgumentHelp("Uncompressed bytes per shard (K/M/G or KiB/MiB/GiB binary, KB/MB/GB decimal).", valueName: "size"))
    var shardSize: String = "64MiB"

    @Option(help: "zstd compression level (1-22).")
    var level: Int32 = 3

    @Option(help: ArgumentHelp("Lines longer than this are rejected (line.too_long).", valueName: "size"))
    var maxLineBytes: String = "64MiB"

    @Option(help: "Dataset license written in the card (SPDX id, or other).")
    var license: String = "other"

    @Option(help: "Dataset name (default: the output folder's name).")
    var name: String?

    @Flag(help: "Replace a complete dataset already in the output folder.")
    var overwrite = false

    @Option(help: "Also export as mds (MosaicML streaming) or wds (WebDataset); jsonl (the default) writes only the JSONL.zst shards, which every format is made from.")
    var format: String = "jsonl"

    @Option(help: ArgumentHelp("A curation stage to run on every record before the split, in order (repeatable): format, answer, refusal, repetition, pii, pii-drop, dedup (exact, on question). Their counts go to the manifest.", valueName: "name"))
    var stage: [String] = []

    @Flag(name: .shortAndLong, help: "No progress output.")
    var quiet = false

    func validate() throws {
        guard parseByteSize(shardSize).map({ $0 > 0 }) == true else { throw ValidationError("--shard-size \(shardSize) is not a size (e.g. 64MiB)") }
        guard parseByteSize(maxLineBytes).map({ $0 > 0 }) == true else { throw ValidationError("--max-line-bytes \(maxLineBytes) is not a size (e.g. 64MiB)") }
        _ = try splits()
        guard ["jsonl", "mds", "wds"].contains(format) else { throw ValidationError("--format must be jsonl, mds or wds") }
        for st in stage where ShardCommand.stage(named: st) == nil {
            throw ValidationError("unknown --stage \(st); known: format, answer, refusal, repetition, pii, pii-drop, dedup")
        }
    }

    static func stage(named name: String) -> (any Stage)? { CurationStages.named(name) }

    func splits() throws -> [(name: String, fraction: Double)] {
        try splitSpecs.map { spec in
            let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let f = Double(parts[1]) else {
                throw ValidationError("--split \(spec): expected name=fraction, e.g. validation=0.05")
            }
            return (parts[0], f)
        }
    }

    func run() throws {
        var o = ShardJob.Options()
        o.inputs = inputs
        o.outDir = out
        o.name = name
        o.splits = try splits()
        o.seed = seed
        o.groupKey = groupKey
        o.shardSize = parseByteSize(shardSize)!
        o.level = level
        o.maxLineBytes = parseByteSize(maxLineBytes)!
        o.overwrite = overwrite
        o.license = license
        o.command = ["cotforge"] + CommandLine.arguments.dropFirst()
        let line = ProgressLine()
        let started = Date()
        let result = try ShardJob(options: o).run(stages: stage.compactMap(ShardCommand.stage(named:))) { p in
            guard !quiet else { return }
            let secs = max(Date().timeIntervalSince(started), 1e-3)
            line.update("shard: \(p.fileIndex + 1)/\(p.fileCount) \(p.file)  \(p.records) kept, \(p.rejected) rejected, \(p.shards) shards, \(formatBytes(p.totalBytesRead)) read (\(String(format: "%.0f", Double(p.totalBytesRead) / secs / 1e6)) MB/s)")
        }
        line.finish()
        if format == "mds" { _ = try MDSExport.run(dataset: out) } else if format == "wds" { _ = try WebDatasetExport.run(dataset: out) }
        guard !quiet else { return }
        var parts: [String] = []
        for (k, v) in result.manifest.objectValue?["splits"]?.objectValue ?? JSONObject() {
            parts.append("\(k) \(v.objectValue?["records"]?.intValue ?? 0)")
        }
        Terminal.err("shard: \(result.kept + result.dropped) records in, \(result.kept) kept (\(parts.joined(separator: ", "))), \(result.dropped) rejected, in \(String(format: "%.2f", result.seconds)) s\(result.reusedShards > 0 ? ", \(result.reusedShards) shards reused from an interrupted run" : "")")
        for (reason, n) in result.droppedByReason.sorted(by: { $0.value > $1.value }) {
            Terminal.err("  rejected \(n) × \(reason)")
        }
        Terminal.err("wrote \(result.outDir)/ (manifest.json, README.md, report.html, data/, rejects/\(format == "jsonl" ? "" : ", \(format)/"))")
    }
}
