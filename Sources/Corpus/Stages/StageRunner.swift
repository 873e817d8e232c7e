import Foundation

/// Runs stages over JSON Lines inputs: streams records, applies the stages in order, writes kept
/// records to the output and every dropped record (with the stage and reason) to the rejects,
/// counts in / kept / dropped-by-reason per stage, times each stage and reports progress.
/// Invariant (checked by tests): read.in = kept + Σ dropped over all stages.
public final class StageRunner {
    public struct Progress: Sendable {
        public var file: String
        public var records: Int
        public var kept: Int
        public var dropped: Int
    }

    public struct Result: Sendable {
        /// `read` first (lines that were not records), then one entry per stage.
        public var counts: [StageCounts]
        public var kept: Int
        public var dropped: Int
    }

    public var stages: [any Stage]
    /// Process only records whose position (counted over all inputs) ≡ sliceIndex mod sliceCount.
    public var sliceIndex = 0
    public var sliceCount = 1
    public var readOptions = RecordReader.Options()

    public init(stages: [any Stage]) { self.stages = stages }

    /// Reads `inputs` ("-" = standard input), writes kept records to `output` and drops to
    /// `rejects`. Throws for I/O failures and stage errors; bad records are rejects, not errors.
    public func run(inputs: [String], output: JSONLWriter, rejects: JSONLWriter,
                    progress: (Progress) throws -> Void = { _ in }) throws -> Result {
        var read = StageCounts(name: "read")
        var counts = stages.map { StageCounts(name: $0.name) }
        var position = -1
        var kept = 0, dropped = 0
        for path in inputs {
            let reader = RecordReader(path: path, options: readOptions)
            var sinceReport = 0
            try reader.forEach({ line in
                position += 1
                guard position % sliceCount == sliceIndex else { return }
                read.keep()
                var record = try line.example()
                for i in stages.indices {
                    let started = DispatchTime.now().uptimeNanoseconds
                    let verdict = try stages[i].process(&record)
                    counts[i].seconds += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                    switch verdict {
                    case .keep:
                        counts[i].keep()
                    case .drop(let reason, let detail):
                        counts[i].drop(reason)
                        dropped += 1
                        try rejects.write(Reject(stage: stages[i].name, reason: reason, detail: detail, file: path, line: line.line,
                                                 offset: line.offset, id: record.id, payload: .record(record.jsonBytes)).jsonBytes)
                        return
                    }
                }
                kept += 1
                try output.write(record)
                sinceReport += 1
                if sinceReport >= 10_000 {
                    sinceReport = 0
                    try progress(Progress(file: path, records: read.input, kept: kept, dropped: dropped))
                }
            }, onReject: { r in
                position += 1
                guard position % sliceCount == sliceIndex else { return }
                read.drop(r.reason)
                dropped += 1
                try rejects.write(r.jsonBytes)
            })
            try progress(Progress(file: path, records: read.input, kept: kept, dropped: dropped))
        }
        return Result(counts: [read] + counts, kept: kept, dropped: dropped)
    }
}

extension JSONLWriter {
    /// Appends one line given as bytes (without the newline).
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeLine($0) }
    }
}
