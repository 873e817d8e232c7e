import Corpus
import Hashing
import Foundation

/// One thing wrong with a built dataset: the file (relative to the dataset folder) and what.
public struct VerifyProblem: Sendable, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

/// What `verify` found. `problems` is in the order found; the first names the first broken file.
public struct VerifyReport: Sendable {
    public var problems: [VerifyProblem] = []
    public var records: [String: Int] = [:]
    public var rejects = 0
    public var shardsChecked = 0
    public var bytesChecked = 0
    public var ok: Bool { problems.isEmpty }
}

/// Checks a dataset folder against its manifest: every shard's size and SHA-256, that each is
/// one zstd frame whose header carries its content size, every record against the example
/// schema (rejects against the reject schema), record counts, ids unique across the dataset,
/// each record in the split its group key assigns, no unlisted files, and the accounting
/// (in = kept + dropped per stage and overall, drops by reason equal to the rejects on disk).
/// Memory: one shard at a time plus 16 bytes per record id.
public enum Verifier {
    /// Stops collecting after this many problems (a broken dataset can have millions).
    public static let maxProblems = 50

    public static func verify(_ dir: String, progress: (String) -> Void = { _ in }) -> VerifyReport {
        var report = VerifyReport()
        func problem(_ file: String, _ message: String) {
            if report.problems.count < maxProblems { report.problems.append(VerifyProblem(file: file, message: message)) }
        }
        let fm = FileManager.default
        guard let data = fm.contents(atPath: dir + "/manifest.json") else {
            let what = fm.fileExists(atPath: dir) ? "is missing (the build did not finish, or this is not a cotforge dataset)" : "not found: \(dir) does not exist"
            problem("manifest.json", what)
            return report
        }
        let manifestValue: JSONValue
        do { manifestValue = try JSONScanner.parse(data) } catch {
            problem("manifest.json", "is not valid JSON: \(error)")
            return report
        }
        if let v = JSONSchema.manifest.validate(manifestValue) {
            problem("manifest.json", "does not match schemas/manifest.schema.json: \(v)")
            return report
        }
        guard let m = manifestValue.objectValue, let splits = m["splits"]?.objectValue,
              let rejects = m["rejects"]?.objectValue, let counts = m["counts"]?.objectValue
        else { return report }

        // The split assignment the manifest declares, to check each record's placement.
        let options = m["options"]?.objectValue
        let groupKey = options?["split_key"]?.stringValue
        var assigner: SplitAssigner? = nil
        if let seedText = options?["seed"], case .number(let s) = seedText, let seed = UInt64(s),
           let fr = options?["splits"]?.objectValue {
            assigner = try? SplitAssigner(fractions: fr.map { ($0, $1.doubleValue ?? 0) }, seed: seed)
        }

        let checker = RecordChecker()
        var listed = Set<String>()
        var seenIDs = Set<StringKey128>()
        var rejectReasons: [String: Int] = [:]
        var keptTotal = 0

        func checkFileset(_ name: String, _ set: JSONObject, isRejects: Bool) {
            let shards = set["shards"]?.arrayValue ?? []
            var sumRecords = 0, sumBytes = 0
            for (i, s) in shards.enumerated() {
                guard let so = s.objectValue, let path = so["path"]?.stringValue else { continue }
                listed.insert(path)
                let expectedName = ShardJob.shardFileName(split: name, index: i, count: shards.count)
                if (path as NSString).lastPathComponent != expectedName {
                    problem(path, "shard \(i) of \(shards.count) of \(name) should be named \(expectedName)")
                }
                let n = checkShard(dir: dir, path: path, shard: so, split: name, isRejects: isRejects)
                sumRecords += so["records"]?.intValue ?? 0
                sumBytes += so["bytes"]?.intValue ?? 0
                _ = n
            }
            if set["records"]?.intValue != sumRecords {
                problem("manifest.json", "\(name): records \(set["records"]?.intValue ?? -1) ≠ the sum over its shards \(sumRecords)")
            }
            if set["bytes"]?.intValue != sumBytes {
                problem("manifest.json", "\(name): bytes \(set["bytes"]?.intValue ?? -1) ≠ the sum over its shards \(sumBytes)")
            }
            if isRejects { report.rejects = sumRecords } else { report.records[name] = sumRecords; keptTotal += sumRecords }
        }

        /// Checks one shard file; returns the records read.
        func checkShard(dir: String, path: String, shard: JSONObject, split: String, isRejects: Bool) -> Int {
            progress(path)
            guard let file = fm.contents(atPath: "\(dir)/\(path)") else {
                problem(path, "is listed in the manifest but missing")
                return 0
            }
            report.shardsChecked += 1
            report.bytesChecked += file.count
            if file.count != shard["bytes"]?.intValue {
                problem(path, "is \(file.count) bytes, the manifest says \(shard["bytes"]?.intValue ?? -1) (truncated or replaced)")
                return 0
            }
            let sha = file.withUnsafeBytes { SHA256.hex(of: $0) }
            if sha != shard["sha256"]?.stringValue {
                problem(path, "SHA-256 \(sha) does not match the manifest (the file was modified or corrupted)")
                return 0
            }
            let content: [UInt8]
            do {
                let info = try file.withUnsafeBytes { try Zstd.frameInfo($0) }
                guard info.compressedSize == file.count else {
                    problem(path, "holds more than one zstd frame (readers such as MosaicML streaming need exactly one)")
                    return 0
                }
                guard let cs = info.contentSize else {
                    problem(path, "zstd frame header lacks the content size (some readers need it)")
                    return 0
                }
                content = try file.withUnsafeBytes { try zstdDecompress($0) }
                if UInt64(content.count) != cs { problem(path, "decompresses to \(content.count) bytes, the frame header says \(cs)"); return 0 }
                if content.count != shard["uncompressed_bytes"]?.intValue {
                    problem(path, "decompresses to \(content.count) bytes, the manifest says \(shard["uncompressed_bytes"]?.intValue ?? -1)")
                }
            } catch {
                problem(path, "is not a valid zstd file: \(error)")
                return 0
            }
            var lines = 0
            var firstBad: String? = nil
            content.withUnsafeBytes { buf in
                var start = 0
                while start < buf.count {
                    let nl = memchr(buf.baseAddress! + start, 0x0A, buf.count - start)
                    let end = nl.map { UnsafeRawPointer($0) - buf.baseAddress! } ?? buf.count
                    lines += 1
                    let line = UnsafeRawBufferPointer(rebasing: buf[start..<end])
                    if firstBad == nil {
                        firstBad = checkRecord(line, split: split, isRejects: isRejects).map { "line \(lines): \($0)" }
                    }
                    start = end + 1
                }
                if buf.count > 0 && buf[buf.count - 1] != 0x0A && firstBad == nil { firstBad = "the last line has no newline" }
            }
            if let b = firstBad { problem(path, b) }
            if lines != shard["records"]?.intValue {
                problem(path, "holds \(lines) records, the manifest says \(shard["records"]?.intValue ?? -1)")
            }
            return lines
        }

        func checkRecord(_ line: UnsafeRawBufferPointer, split: String, isRejects: Bool) -> String? {
            if isRejects {
                do {
                    let v = try JSONScanner.parse(line)
                    if let e = JSONSchema.reject.validate(v) { return "reject record does not match schemas/reject.schema.json: \(e)" }
                    if let r = v.objectValue?["reason"]?.stringValue { rejectReasons[r, default: 0] += 1 }
                } catch { return "invalid JSON: \(error)" }
                return nil
            }
            switch checker.check(line) {
            case .invalid(let reason, let detail, _, _):
                return "record fails the schema (\(reason)): \(detail)"
            case .record(let members, let range, let id):
                guard let id else { return "record has no id" }
                if !seenIDs.insert(StringKey128(id)).inserted { return "id \(id) appears twice in the dataset" }
                if let a = assigner, let key = groupKey {
                    let object = UnsafeRawBufferPointer(rebasing: line[range])
                    guard let mm = members.first(where: { $0.key == key }) else { return "record lacks the split key \(key)" }
                    let group = mm.kind == .string
                        ? ((try? JSONScanner.decodeString(object, at: mm.range.lowerBound)) ?? "")
                        : String(decoding: UnsafeRawBufferPointer(rebasing: object[mm.range]), as: UTF8.self)
                    let want = a.split(forKey: group)
                    if want != split { return "record \(id) belongs in split \(want) by its \(key), not \(split) (a group leaks across splits)" }
                }
                return nil
            }
        }

        for (name, v) in splits {
            guard let set = v.objectValue else { continue }
            checkFileset(name, set, isRejects: false)
        }
        checkFileset("rejects", rejects, isRejects: true)

        // No unlisted shard files.
        for folder in ["data", "rejects"] {
            for f in ((try? fm.contentsOfDirectory(atPath: "\(dir)/\(folder)")) ?? []).sorted() where !listed.contains("\(folder)/\(f)") {
                problem("\(folder)/\(f)", "is not listed in manifest.json (left over from another build, or added by hand)")
            }
        }

        // Accounting.
        let input = counts["in"]?.intValue ?? -1, kept = counts["kept"]?.intValue ?? -1, dropped = counts["dropped"]?.intValue ?? -1
        let byReason = (counts["dropped_by_reason"]?.objectValue ?? JSONObject()).map { ($0, $1.intValue ?? 0) }
        if input != kept + dropped { problem("manifest.json", "counts: in \(input) ≠ kept \(kept) + dropped \(dropped)") }
        if dropped != byReason.reduce(0, { $0 + $1.1 }) { problem("manifest.json", "counts: dropped \(dropped) ≠ the sum of dropped_by_reason") }
        if kept != keptTotal { problem("manifest.json", "counts: kept \(kept) ≠ records in the splits \(keptTotal)") }
        if dropped != report.rejects { problem("manifest.json", "counts: dropped \(dropped) ≠ records in rejects/ \(report.rejects)") }
        for (reason, n) in byReason where rejectReasons[reason, default: 0] != n {
            problem("manifest.json", "dropped_by_reason \(reason) = \(n) but rejects/ holds \(rejectReasons[reason, default: 0]) such records")
        }
        for (reason, n) in rejectReasons where !byReason.contains(where: { $0.0 == reason }) {
            problem("rejects", "\(n) records with reason \(reason) that the manifest does not count")
        }
        let stages = (m["stages"]?.arrayValue ?? []).compactMap(\.objectValue)
        var previousKept: Int? = nil
        for st in stages {
            let name = st["name"]?.stringValue ?? "?"
            let sIn = st["in"]?.intValue ?? -1, sKept = st["kept"]?.intValue ?? -1
            let sDropped = (st["dropped"]?.objectValue ?? JSONObject()).reduce(0) { $0 + ($1.1.intValue ?? 0) }
            if sIn != sKept + sDropped { problem("manifest.json", "stage \(name): in \(sIn) ≠ kept \(sKept) + dropped \(sDropped)") }
            if let p = previousKept, p != sIn { problem("manifest.json", "stage \(name): in \(sIn) ≠ the previous stage's kept \(p)") }
            previousKept = sKept
        }
        if let first = stages.first, first["in"]?.intValue != input { problem("manifest.json", "the first stage's in ≠ counts.in") }
        if let last = stages.last, last["kept"]?.intValue != kept { problem("manifest.json", "the last stage's kept ≠ counts.kept") }

        if let card = fm.contents(atPath: dir + "/README.md") {
            let text = String(decoding: card, as: UTF8.self)
            if !text.hasPrefix("---\n") || !text.contains("\nconfigs:") {
                problem("README.md", "lacks the YAML front matter with configs that datasets.load_dataset needs")
            }
        } else {
            problem("README.md", "is missing (the dataset card)")
        }
        return report
    }
}
