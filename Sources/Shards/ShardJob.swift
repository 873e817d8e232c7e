import Corpus
import Foundation
import Hashing

/// A shard build cannot start or finish; says why and what to do.
public struct ShardJobError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String?
    public var description: String { hint.map { "\(message) — \($0)" } ?? message }
}

/// `cotforge shard`: reads JSON Lines inputs, validates every record, assigns splits by group
/// key, and writes `data/`, `rejects/`, `README.md` (dataset card) and `manifest.json` (last,
/// so a folder without it is never taken as complete). Every input line that is a record ends
/// in exactly one of data/ or rejects/. An interrupted run is finished by running it again
/// with the same inputs and options: shards whose content was already written are reused.
public final class ShardJob {
    public struct Options: Sendable {
        public var inputs: [String] = []
        public var outDir: String = "out/dataset"
        /// Dataset name; default: the output folder's name.
        public var name: String?
        /// Held-out splits and their fractions; `train` takes the rest.
        public var splits: [(name: String, fraction: Double)] = [("validation", 0.05)]
        public var seed: UInt64 = 1
        /// Records with the same value of this field share a split.
        public var groupKey = "question"
        /// Uncompressed bytes per shard.
        public var shardSize = 64 << 20
        public var level: Int32 = 3
        public var maxLineBytes = 64 << 20
        /// Replace a complete dataset already in `outDir`.
        public var overwrite = false
        /// The command line, recorded in the manifest.
        public var command: [String] = []
        /// License written in the card (SPDX id or `other`).
        public var license = "other"
        /// Stages that ran before this build on the records it reads (a recipe's sampling,
        /// verification, pairs…), listed first in the manifest: the first one's `in` becomes
        /// the build's `in`, and its last `kept` must equal the records read.
        public var upstream: [StageCounts] = []
        /// Reject files (JSON Lines of rejects) those stages wrote; copied into rejects/ so
        /// that every record the build ever saw is in data/ or rejects/.
        public var upstreamRejects: [String] = []
        /// The manifest's `recipe` object (path, sha256, steps), or nil for a plain shard build.
        public var recipe: JSONValue? = nil
        public init() {}
    }

    public struct Progress: Sendable {
        public var file: String
        public var fileIndex: Int
        public var fileCount: Int
        /// Bytes of the current input read (decompressed for .zst).
        public var bytesRead: Int64
        /// Total bytes of all inputs read so far.
        public var totalBytesRead: Int64
        public var records: Int
        public var rejected: Int
        public var shards: Int
    }

    public struct Result: Sendable {
        public var outDir: String
        public var manifest: JSONValue
        public var kept: Int
        public var dropped: Int
        public var droppedByReason: [String: Int]
        public var reusedShards: Int
        public var seconds: Double
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    private var fm: FileManager { .default }

    /// Runs the build. Throws `ShardJobError` for unusable options or output folders and
    /// `FileError` for unreadable inputs; bad records never throw, they go to rejects.
    /// `progress` is called every 20,000 records, after every finished shard and at the end of
    /// each input; an error it throws stops the build (cancellation), leaving finished shards
    /// for a rerun to reuse.
    /// `stages` run on every record between the id check and the split (curation stages from
    /// Corpus); their counts are listed in the manifest between `id` and `split`, and the records
    /// they drop go to rejects/ like any other.
    public func run(stages curation: [any Stage] = [], progress: (Progress) throws -> Void = { _ in }) throws -> Result {
        var curation = curation
        var curationCounts = curation.map { StageCounts(name: $0.name) }
        let started = Date()
        let o = options
        guard !o.inputs.isEmpty else { throw ShardJobError(message: "no input files", hint: "pass .jsonl or .jsonl.zst files, or - for standard input") }
        guard (1...22).contains(o.level) else { throw ShardJobError(message: "zstd level \(o.level) is out of range", hint: "use 1…22 (3 is the default)") }
        let assigner: SplitAssigner
        do { assigner = try SplitAssigner(fractions: o.splits, seed: o.seed) } catch let e as SplitError {
            throw ShardJobError(message: e.message, hint: "e.g. --split validation=0.05")
        }
        // Every input must open before anything is created or cleared.
        if o.inputs.filter({ $0 == "-" }).count > 1 {
            throw ShardJobError(message: "standard input (-) is named more than once", hint: "name it once")
        }
        for path in o.inputs where path != "-" { _ = try FileSource(path: path) }
        let out = o.outDir
        let name = o.name ?? URL(fileURLWithPath: out).lastPathComponent
        let manifestPath = out + "/manifest.json"
        if fm.fileExists(atPath: manifestPath) {
            guard o.overwrite else {
                throw ShardJobError(message: "\(out) already holds a complete dataset (manifest.json)",
                                    hint: "pass --overwrite to rebuild it, or choose another --out")
            }
            // Exports of the old build would no longer match its data: remove those it lists.
            if let data = fm.contents(atPath: manifestPath), case .object(let old)? = try? JSONScanner.parse(data) {
                for (format, _) in old["exports"]?.objectValue ?? JSONObject() where ["mds", "wds"].contains(format) {
                    try? fm.removeItem(atPath: "\(out)/\(format)")
                }
            }
            try fm.removeItem(atPath: manifestPath)
        }
        let work = out + "/.work"
        for d in [out, out + "/data", out + "/rejects", work] {
            do { try fm.createDirectory(atPath: d, withIntermediateDirectories: true) } catch {
                throw ShardJobError(message: "cannot create \(d): \(error.localizedDescription)", hint: "check permissions")
            }
        }
        // Without a manifest nothing in data/ or rejects/ is complete: clear what cotforge wrote
        // there (and temporary files a killed run left), and refuse to touch anything else.
        for d in ["data", "rejects"] {
            let names = (try? fm.contentsOfDirectory(atPath: "\(out)/\(d)")) ?? []
            if let foreign = names.first(where: { !ShardJob.isOwnFile($0) }) {
                throw ShardJobError(message: "\(out)/\(d)/\(foreign) was not written by cotforge",
                                    hint: "choose an empty or new --out folder; cotforge clears \(d)/ before writing")
            }
            for f in names { try? fm.removeItem(atPath: "\(out)/\(d)/\(f)") }
        }
        if let card = fm.contents(atPath: out + "/README.md"), !DatasetCard.isOwnCard(card) {
            throw ShardJobError(message: "\(out)/README.md was not written by cotforge and would be replaced by the dataset card",
                                hint: "choose an empty or new --out folder")
        }
        if let report = fm.contents(atPath: out + "/report.html"), !Report.isOwnReport(report) {
            throw ShardJobError(message: "\(out)/report.html was not written by cotforge and would be replaced by the build report",
                                hint: "choose an empty or new --out folder")
        }
        for f in (try? fm.contentsOfDirectory(atPath: out)) ?? [] where ["README.md", "manifest.json", "report.html"].contains(where: { f.hasPrefix($0 + ".tmp-") }) {
            try? fm.removeItem(atPath: "\(out)/\(f)")
        }
        try prepareWork(work)

        let splitNames = assigner.names
        let compressor = try ZstdCompressor(level: o.level)
        let writers = try splitNames.map { try ShardWriter(split: $0, workDir: work, shardSize: o.shardSize, compressor: compressor) }
        let rejectWriter = try ShardWriter(split: "rejects", workDir: work, shardSize: o.shardSize, compressor: compressor)

        var readStage = StageCounts(name: "read")
        var idStage = StageCounts(name: "id")
        var splitStage = StageCounts(name: "split")
        var blank = 0
        var seenIDs = Set<StringKey128>()
        var sketch = FeatureSketch()
        var sources = SourceLicenses()
        var lengths = ReasoningLengths(splits: splitNames)
        // MDS columns per split, chosen while the records pass anyway, so `export --format mds` reads once.
        var mdsColumns = splitNames.map { _ in MDSWriter.ColumnSketch() }
        var totalBytes: Int64 = 0
        var inputsJSON: [JSONValue] = []
        let readOptions: RecordReader.Options = { var r = RecordReader.Options(); r.maxLineBytes = o.maxLineBytes; return r }()

        func addReject(_ r: Reject) throws {
            try rejectWriter.add { $0.append(contentsOf: r.jsonBytes) }
        }

        // Rejects of upstream stages are copied as they are (each line is already a reject).
        var upstreamRejected = 0
        for path in o.upstreamRejects {
            var rejectOptions = RecordReader.Options()
            rejectOptions.schema = try JSONSchema(text: Schemas.reject)
            try RecordReader(path: path, options: rejectOptions).forEach({ rec in
                upstreamRejected += 1
                try rejectWriter.add { rec.appendWriteBytes(to: &$0) }
            }, onReject: { r in
                throw ShardJobError(message: "\(path):\(r.line ?? 0): not a reject record (\(r.reason))", hint: "the recipe's work folder is damaged; rebuild with --overwrite")
            })
        }
        let upstreamDropped = o.upstream.reduce(0) { $0 + $1.droppedTotal }
        guard upstreamRejected == upstreamDropped else {
            throw ShardJobError(message: "the upstream stages dropped \(upstreamDropped) records but their reject files hold \(upstreamRejected)",
                                hint: "the recipe's work folder is damaged; rebuild with --overwrite")
        }

        for (fi, path) in o.inputs.enumerated() {
            let reader = RecordReader(path: path, options: readOptions)
            var sinceReport = 0
            func report() throws {
                try progress(Progress(file: path, fileIndex: fi, fileCount: o.inputs.count, bytesRead: reader.bytesRead,
                                  totalBytesRead: totalBytes + reader.bytesRead, records: splitStage.kept,
                                  rejected: readStage.droppedTotal + idStage.droppedTotal + splitStage.droppedTotal
                                      + curationCounts.reduce(0) { $0 + $1.droppedTotal },
                                  shards: writers.reduce(0) { $0 + $1.shards.count }))
            }
            /// Counts a record as dropped by `stage` and writes it to rejects.
            func drop(_ rec: RecordLine, by stage: inout StageCounts, _ reason: String, _ detail: String) throws {
                stage.drop(reason)
                var bytes: [UInt8] = []
                rec.appendWriteBytes(to: &bytes)
                try addReject(Reject(stage: stage.name, reason: reason, detail: detail, file: path, line: rec.line,
                                     offset: rec.offset, id: rec.id, payload: .record(bytes)))
            }
            try reader.forEach({ rec in
                readStage.keep()
                guard seenIDs.insert(StringKey128(rec.id)).inserted else {
                    return try drop(rec, by: &idStage, "id.duplicate", "id \(rec.id) was already used by an earlier record")
                }
                idStage.keep()
                if !curation.isEmpty {
                    // Curation stages work on the parsed record and may annotate it.
                    var ex = try rec.example()
                    func reject(_ stage: String, _ reason: String, _ detail: String?) throws {
                        try addReject(Reject(stage: stage, reason: reason, detail: detail, file: path, line: rec.line,
                                             offset: rec.offset, id: rec.id, payload: .record(ex.jsonBytes)))
                    }
                    for i in curation.indices {
                        switch try curation[i].process(&ex) {
                        case .keep: curationCounts[i].keep()
                        case .drop(let reason, let detail):
                            curationCounts[i].drop(reason)
                            return try reject(curation[i].name, reason, detail)
                        }
                    }
                    guard let gv = ex[o.groupKey], gv != .null else {
                        splitStage.drop("split.missing_key")
                        return try reject("split", "split.missing_key", "the group key \(o.groupKey) is missing or null")
                    }
                    let split = assigner.split(forKey: gv.stringValue ?? JSONSerializer.string(gv))
                    let splitIndex = assigner.names.firstIndex(of: split) ?? 0
                    splitStage.keep()
                    for (k, v) in ex.fields { sketch.add(k, FeatureType(v)) }
                    mdsColumns[splitIndex].add(ex)
                    if let src = ex["source"]?.objectValue {
                        sources.add(name: src["name"]?.stringValue ?? "", license: src["license"]?.stringValue ?? "")
                    }
                    if let t = ex["tokens"]?.objectValue?["reasoning"]?.intValue {
                        let alpha = ex["gen"]?.objectValue?["steer"]?.objectValue?["alpha"]?.doubleValue
                        lengths.add(split: splitIndex, variant: ReasoningLengths.variant(mode: ex["mode"]?.stringValue, alpha: alpha), tokens: t)
                    }
                    let bytes = ex.jsonBytes
                    let finishedShard = try writers[splitIndex].add { $0.append(contentsOf: bytes) }
                    sinceReport += 1
                    if sinceReport >= 20_000 || finishedShard { sinceReport = 0; try report() }
                    return
                }
                guard let m = rec.member(o.groupKey), m.kind != .null else {
                    return try drop(rec, by: &splitStage, "split.missing_key", "the group key \(o.groupKey) is missing or null")
                }
                let split = ShardJob.splitIndex(of: rec, member: m, assigner: assigner)
                splitStage.keep()
                if rec.idDerived { sketch.add("id", .string) }
                mdsColumns[split].add(line: rec.bytes, members: rec.members, object: 0..<rec.bytes.count, derivedID: rec.idDerived)
                for (i, m) in rec.members.enumerated() { sketch.add(m.key, kind: m.kind, object: rec.bytes, range: m.range, position: i) }
                if let m = rec.member("source"), m.kind == .object { sources.add(object: rec.bytes, range: m.range) }
                if let m = rec.member("tokens"), m.kind == .object, let t = ReasoningLengths.reasoningTokens(object: rec.bytes, range: m.range) {
                    let alpha = rec.member("gen").flatMap { $0.kind == .object ? ReasoningLengths.steerAlpha(object: rec.bytes, range: $0.range) : nil }
                    lengths.add(split: split, variant: ReasoningLengths.variant(mode: rec.string("mode"), alpha: alpha), tokens: t)
                }
                let finishedShard = try writers[split].add { rec.appendWriteBytes(to: &$0) }
                sinceReport += 1
                if sinceReport >= 20_000 || finishedShard { sinceReport = 0; try report() }
            }, onReject: { r in
                readStage.drop(r.reason)
                try addReject(r)
            })
            blank += reader.blankLines
            try report()
            totalBytes += reader.bytesRead
            var input = JSONObject([("path", .string(path))])
            if path != "-", let size = (try? fm.attributesOfItem(atPath: path))?[.size] as? Int { input["bytes"] = .int(size) }
            inputsJSON.append(.object(input))
        }
        for w in writers { try w.finish() }
        try rejectWriter.finish()

        // Move completed shards to their final names, now that the counts are known.
        var splitsJSON = JSONObject()
        var reused = rejectWriter.reused
        var splitRecords: [(String, Int, Int)] = []
        for (s, w) in zip(splitNames, writers) {
            reused += w.reused
            let infos = try publish(w.shards, split: s, folder: "data", out: out)
            var fs = ShardJob.fileset(infos).objectValue!
            fs["mds_columns"] = .object(JSONObject(mdsColumns[splitNames.firstIndex(of: s)!].columns.map { ($0.name, .string($0.encoding.rawValue)) }))
            splitsJSON[s] = .object(fs)
            splitRecords.append((s, w.records, infos.reduce(0) { $0 + $1.uncompressedBytes }))
        }
        let rejectInfos = try publish(rejectWriter.shards, split: "rejects", folder: "rejects", out: out)

        if let last = o.upstream.last, last.kept != readStage.input {
            throw ShardJobError(message: "the last upstream stage kept \(last.kept) records but \(readStage.input) were read",
                                hint: "the recipe's work folder is damaged; rebuild with --overwrite")
        }
        let stages = o.upstream + [readStage, idStage] + curationCounts + [splitStage]
        var dropped: [String: Int] = [:]
        for st in stages { for (k, v) in st.dropped { dropped[k, default: 0] += v } }
        let droppedTotal = dropped.values.reduce(0, +)
        let seconds = Date().timeIntervalSince(started)
        readStage.seconds = seconds

        var options = JSONObject()
        options["split_key"] = .string(o.groupKey)
        options["seed"] = .number(String(o.seed))
        options["splits"] = .object(JSONObject(o.splits.map { ($0.name, .double($0.fraction)) }))
        options["shard_size"] = .int(o.shardSize)
        options["zstd_level"] = .int(Int(o.level))
        options["max_line_bytes"] = .int(o.maxLineBytes)

        var m = JSONObject()
        m["format"] = .string("cotforge-dataset")
        m["format_version"] = .int(1)
        m["name"] = .string(name)
        m["created"] = .string(ISO8601DateFormatter().string(from: Date()))
        m["tool"] = .object(JSONObject([("name", .string("cotforge")), ("version", .string(Cotforge.version))]))
        m["command"] = .array(o.command.map { .string($0) })
        m["recipe"] = o.recipe ?? .null
        m["inputs"] = .array(inputsJSON)
        m["options"] = .object(options)
        m["splits"] = .object(splitsJSON)
        m["rejects"] = ShardJob.fileset(rejectInfos)
        m["counts"] = .object(JSONObject([
            ("in", .int(stages[0].input)), ("kept", .int(splitStage.kept)), ("dropped", .int(droppedTotal)),
            ("dropped_by_reason", .object(JSONObject(dropped.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))),
            ("blank_lines", .int(blank)),
        ]))
        m["stages"] = .array(stages.map(\.json))
        m["seconds"] = .double((seconds * 1000).rounded() / 1000)
        m["sources"] = .array(sources.pairs.map { .object(JSONObject([("name", .string($0.name)), ("license", .string($0.license))])) })
        if !lengths.isEmpty { m["lengths"] = lengths.json }
        let manifest = JSONValue.object(m)

        let card = DatasetCard(name: name, license: o.license, splits: splitRecords, sketch: sketch, manifest: manifest)
        try writeText(card.render(), to: out + "/README.md")
        try Report.write(ReportDataset(dir: out, manifest: m))
        try writeText(JSONSerializer.pretty(manifest), to: manifestPath)
        try? fm.removeItem(atPath: work)
        return Result(outDir: out, manifest: manifest, kept: splitStage.kept, dropped: droppedTotal,
                      droppedByReason: dropped, reusedShards: reused, seconds: seconds)
    }

    /// The split of a record by its group-key member: strings by their decoded text (hashed
    /// straight from the bytes when they hold no escape), other values by their JSON text.
    static func splitIndex(of rec: RecordLine, member m: JSONMember, assigner: SplitAssigner) -> Int {
        let raw = UnsafeRawBufferPointer(rebasing: rec.bytes[m.range])
        if m.kind == .string {
            let body = UnsafeRawBufferPointer(rebasing: raw[(raw.startIndex + 1)..<(raw.endIndex - 1)])
            if body.isEmpty || memchr(body.baseAddress!, 0x5C, body.count) == nil { return assigner.splitIndex(forKeyBytes: body) }
            var decoded = rec.string(m.key) ?? ""
            return decoded.withUTF8 { assigner.splitIndex(forKeyBytes: UnsafeRawBufferPointer($0)) }
        }
        return assigner.splitIndex(forKeyBytes: raw)
    }

    static func fileset(_ infos: [ShardInfo]) -> JSONValue {
        .object(JSONObject([
            ("records", .int(infos.reduce(0) { $0 + $1.records })),
            ("bytes", .int(infos.reduce(0) { $0 + $1.bytes })),
            ("uncompressed_bytes", .int(infos.reduce(0) { $0 + $1.uncompressedBytes })),
            ("shards", .array(infos.map(\.json))),
        ]))
    }

    /// True for names cotforge writes in data/ and rejects/ (shards and their temporary files).
    static func isOwnFile(_ name: String) -> Bool {
        name.range(of: #"^[a-z][a-z0-9_]*-[0-9]{5}-of-[0-9]{5}\.jsonl\.zst(\.tmp-[0-9]+)?$"#, options: .regularExpression) != nil
    }

    /// File name of shard `i` of `n` of a split, as `datasets` expects it.
    public static func shardFileName(split: String, index: Int, count: Int) -> String {
        "\(split)-\(String(format: "%05d", index))-of-\(String(format: "%05d", count)).jsonl.zst"
    }

    private func publish(_ shards: [ShardInfo], split: String, folder: String, out: String) throws -> [ShardInfo] {
        var result: [ShardInfo] = []
        for (i, s) in shards.enumerated() {
            let rel = "\(folder)/\(ShardJob.shardFileName(split: split, index: i, count: shards.count))"
            if rename(s.path, "\(out)/\(rel)") != 0 {
                throw FileError.errno("\(out)/\(rel)", "cannot move the finished shard into place")
            }
            var info = s
            info.path = rel
            result.append(info)
        }
        return result
    }

    /// Keeps the work folder of an interrupted run with the same inputs and options (so its
    /// shards are reused); clears it otherwise.
    private func prepareWork(_ work: String) throws {
        let o = options
        var inputs: [JSONValue] = []
        for p in o.inputs {
            guard p != "-" else { inputs = []; break }  // standard input cannot be resumed
            let attrs = try? fm.attributesOfItem(atPath: p)
            let size = attrs?[.size] as? Int ?? -1
            let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            inputs.append(.object(JSONObject([("path", .string(p)), ("bytes", .int(size)), ("mtime", .double(mtime))])))
        }
        let fingerprint = JSONValue.object(JSONObject([
            ("inputs", .array(inputs)), ("split_key", .string(o.groupKey)), ("seed", .number(String(o.seed))),
            ("splits", .string(o.splits.map { "\($0.name)=\($0.fraction)" }.joined(separator: ","))),
            ("shard_size", .int(o.shardSize)), ("level", .int(Int(o.level))), ("max_line_bytes", .int(o.maxLineBytes)),
        ]))
        let text = JSONSerializer.pretty(fingerprint)
        let jobPath = work + "/job.json"
        let previous = fm.contents(atPath: jobPath).map { String(decoding: $0, as: UTF8.self) }
        if previous != text || inputs.isEmpty {
            for f in (try? fm.contentsOfDirectory(atPath: work)) ?? [] { try? fm.removeItem(atPath: "\(work)/\(f)") }
            try writeText(text, to: jobPath)
        }
    }
}

/// The (source name, license) pairs of the kept records, read in place from `source` objects.
/// A record repeating the previous pair costs a byte comparison.
struct SourceLicenses {
    private(set) var pairs: [(name: String, license: String)] = []
    private var seen = Set<String>()
    private var last: [UInt8] = []

    mutating func add(name: String, license: String) {
        if seen.insert(name + "\u{1F}" + license).inserted { pairs.append((name, license)) }
    }

    mutating func add(object: UnsafeRawBufferPointer, range: Range<Int>) {
        var c = JSONCursor(object, at: range.lowerBound, end: range.upperBound)
        var name: Range<Int>? = nil, license: Range<Int>? = nil
        c.forEachMember { key, v in
            if v.bytesEqual(key, Array("name".utf8)), v.kind() == .string { name = v.string().body }
            else if v.bytesEqual(key, Array("license".utf8)), v.kind() == .string { license = v.string().body }
            else { v.skipValue() }
        }
        var sig: [UInt8] = []
        if let n = name { sig += object[n] }
        sig.append(0x1F)
        if let l = license { sig += object[l] }
        guard sig != last else { return }
        last = sig
        func decode(_ r: Range<Int>?) -> String {
            guard let r else { return "" }
            return (try? JSONScanner.decodeString(object, at: r.lowerBound - 1)) ?? ""
        }
        add(name: decode(name), license: decode(license))
    }
}

/// Reasoning-token counts (`tokens.reasoning`) per split and per mode, kept as exact
/// length → count tallies: memory grows with the number of distinct lengths, not records,
/// and the quantiles in the manifest are exact.
/// Reasoning tokens of the kept records, tallied exactly per split and per variant — the
/// record's `mode` and its steering α (`gen.steer.alpha`): "slow", "fast", "α=-0.4",
/// "slow α=-0.4", or "" when it has neither. Written to the manifest as summary statistics plus
/// a histogram with one bin width shared by every split and variant, so plots compare directly.
struct ReasoningLengths {
    private let splits: [String]
    private var tallies: [[String: [Int: Int]]]

    init(splits: [String]) {
        self.splits = splits
        tallies = Array(repeating: [:], count: splits.count)
    }

    var isEmpty: Bool { tallies.allSatisfy(\.isEmpty) }

    mutating func add(split: Int, variant: String, tokens: Int) {
        tallies[split][variant, default: [:]][tokens, default: 0] += 1
    }

    /// The variant label of a record from its mode and α.
    static func variant(mode: String?, alpha: Double?) -> String {
        var parts: [String] = []
        if let mode, !mode.isEmpty { parts.append(mode) }
        if let a = alpha, a.isFinite {
            parts.append("α=" + (a == a.rounded() && abs(a) < 1e9 ? String(Int(a)) : "\(a)"))
        }
        return parts.joined(separator: " ")
    }

    /// `tokens.reasoning` of a record's `tokens` object, read in place; nil when absent or not an integer.
    static func reasoningTokens(object: UnsafeRawBufferPointer, range: Range<Int>) -> Int? {
        guard let r = scalar(object: object, range: range, path: ["reasoning"][...]) else { return nil }
        var n = 0, negative = false
        for b in object[r] {
            if b == UInt8(ascii: "-") { negative = true } else if b >= 48 && b <= 57 { n = n &* 10 &+ Int(b &- 48) } else { return nil }
        }
        return negative ? -n : n
    }

    /// `steer.alpha` of a record's `gen` object, read in place; nil when absent or not a number.
    static func steerAlpha(object: UnsafeRawBufferPointer, range: Range<Int>) -> Double? {
        guard let r = scalar(object: object, range: range, path: ["steer", "alpha"][...]) else { return nil }
        return Double(String(decoding: object[r], as: UTF8.self))
    }

    /// The bytes of the number at `path` (object keys) below the object at `range`.
    private static func scalar(object: UnsafeRawBufferPointer, range: Range<Int>, path: ArraySlice<String>) -> Range<Int>? {
        var c = JSONCursor(object, at: range.lowerBound, end: range.upperBound)
        guard let key = path.first, c.kind() == .object else { return nil }
        var found: Range<Int>? = nil
        c.forEachMember { k, v in
            guard found == nil, v.bytesEqual(k, Array(key.utf8)) else { return v.skipValue() }
            let start = v.pos
            let kind = v.kind()
            v.skipValue()
            if path.count == 1 {
                if kind == .integer || kind == .number { found = start..<v.pos }
            } else if kind == .object {
                found = scalar(object: object, range: start..<v.pos, path: path.dropFirst())
            }
        }
        return found
    }

    /// A bin width of 1, 2 or 5 × 10^k giving at most `maxBins` bins up to `maximum`.
    static func binWidth(maximum: Int, maxBins: Int = 30) -> Int {
        var w = 1
        while true {
            for m in [1, 2, 5] where (maximum / (w * m)) + 1 <= maxBins { return w * m }
            w *= 10
        }
    }

    /// {split: {variant: {records, mean, p10, median, p90, max, histogram: {bin_width, counts}}}}.
    var json: JSONValue {
        let maximum = tallies.flatMap { $0.values.flatMap { $0.keys } }.max() ?? 0
        let width = ReasoningLengths.binWidth(maximum: max(0, maximum))
        var out = JSONObject()
        for (name, byVariant) in zip(splits, tallies) where !byVariant.isEmpty {
            var variants = JSONObject()
            for (variant, tally) in byVariant.sorted(by: { $0.key < $1.key }) {
                let sorted = tally.sorted { $0.key < $1.key }
                let n = sorted.reduce(0) { $0 + $1.value }
                let sum = sorted.reduce(0.0) { $0 + Double($1.key) * Double($1.value) }
                /// Nearest rank, as `LengthStats` in `inspect`.
                func quantile(_ q: Double) -> Int {
                    let target = max(1, Int((q * Double(n)).rounded(.up)))
                    var seen = 0
                    for (v, c) in sorted { seen += c; if seen >= target { return v } }
                    return sorted.last?.key ?? 0
                }
                var counts = Array(repeating: 0, count: max(0, sorted.last?.key ?? 0) / width + 1)
                for (v, c) in sorted { counts[max(0, v) / width] += c }
                variants[variant] = .object(JSONObject([
                    ("records", .int(n)), ("mean", .double((sum / Double(n) * 10).rounded() / 10)),
                    ("p10", .int(quantile(0.1))), ("median", .int(quantile(0.5))), ("p90", .int(quantile(0.9))),
                    ("max", .int(sorted.last?.key ?? 0)),
                    ("histogram", .object(JSONObject([("bin_width", .int(width)), ("counts", .array(counts.map { .int($0) }))]))),
                ]))
            }
            out[name] = .object(variants)
        }
        return .object(out)
    }
}

/// Writes a whole text file through a temporary name.
func writeText(_ text: String, to path: String, durable: Bool = true) throws {
    let sink = try FileSink(path: path, durable: durable)
    try Array(text.utf8).withUnsafeBytes { try sink.write($0) }
    try sink.finish()
}

