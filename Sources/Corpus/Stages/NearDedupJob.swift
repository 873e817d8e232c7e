import Foundation

/// `dedup --near`: two passes over the inputs. Pass 1 computes each record's MinHash band keys
/// and clusters; pass 2 writes each cluster's survivor and rejects the rest
/// (`dedup.minhash`, with where its survivor is). Standard input is spooled to a temporary file
/// so that it can be read twice. Lines that are not records are rejects, as in every stage.
public final class NearDedupJob {
    public let dedup: MinHashDeduplicator
    public var readOptions = RecordReader.Options()

    public init(options: MinHashDeduplicator.Options) { dedup = MinHashDeduplicator(options: options) }

    public struct Progress: Sendable {
        public var pass: Int
        public var records: Int
    }

    public func run(inputs: [String], output: JSONLWriter, rejects: JSONLWriter,
                    progress: (Progress) throws -> Void = { _ in }) throws -> [StageCounts] {
        var paths = inputs
        var spooled: String? = nil
        if let i = paths.firstIndex(of: "-") {
            let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("cotforge-stdin-\(getpid()).jsonl").path
            let sink = try FileSink(path: tmp, durable: false)
            let src = try openInput("-")
            var buf = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = try buf.withUnsafeMutableBytes { try src.read(into: $0) }
                if n == 0 { break }
                try buf.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
            try sink.finish()
            paths[i] = tmp
            spooled = tmp
        }
        defer { if let s = spooled { try? FileManager.default.removeItem(atPath: s) } }

        // Pass 1: band keys → clusters. Where each record came from, for the reject detail.
        var index = MinHashDeduplicator.Index(bands: dedup.options.bands)
        var origin: [(file: Int32, line: Int32)] = []
        var n = 0
        for (fi, path) in paths.enumerated() {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                let text = line.string(dedup.options.field) ?? ""
                let metric = dedup.metric(position: n, text: text) { line.value(dedup.options.scoreField)?.doubleValue }
                index.add(dedup.bandKeys(dedup.signature(dedup.shingles(text))), metric: metric)
                origin.append((Int32(fi), Int32(clamping: line.line)))
                n += 1
                if n % 10_000 == 0 { try progress(Progress(pass: 1, records: n)) }
            }, onReject: { _ in })
        }
        let survivors = index.survivors()

        // Pass 2: keep survivors.
        var read = StageCounts(name: "read")
        var stage = StageCounts(name: "dedup")
        var i = 0
        for path in paths {
            let shown = path == spooled ? "-" : path
            try RecordReader(path: path, options: readOptions).forEach({ line in
                read.keep()
                defer { i += 1 }
                var bytes: [UInt8] = []
                line.appendWriteBytes(to: &bytes)
                if survivors[i] == Int32(i) {
                    stage.keep()
                    try output.write(bytes)
                } else {
                    stage.drop("dedup.minhash")
                    let s = origin[Int(survivors[i])]
                    try rejects.write(Reject(stage: "dedup", reason: "dedup.minhash", detail: "near-duplicate of \(inputs[Int(s.file)]):\(s.line)",
                                             file: shown, line: line.line, offset: line.offset, id: line.id, payload: .record(bytes)).jsonBytes)
                }
                if i % 10_000 == 0 { try progress(Progress(pass: 2, records: i)) }
            }, onReject: { r in
                read.drop(r.reason)
                var r = r
                r.file = shown
                try rejects.write(r.jsonBytes)
            })
        }
        return [read, stage]
    }
}
