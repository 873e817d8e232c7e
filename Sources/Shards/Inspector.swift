import Corpus
import Foundation

/// Length statistics of one text field (characters = Unicode scalars, as Python's `len`).
public struct LengthStats: Sendable {
    public var field: String
    public var count: Int
    public var mean: Double
    public var min: Int, p5: Int, p25: Int, p50: Int, p75: Int, p95: Int, max: Int

    /// Nearest-rank percentiles of `values` (which it sorts).
    public init(field: String, values: [Int]) {
        let v = values.sorted()
        self.field = field
        count = v.count
        mean = v.isEmpty ? 0 : Double(v.reduce(0, +)) / Double(v.count)
        func q(_ p: Double) -> Int {
            guard !v.isEmpty else { return 0 }
            let rank = Int((p * Double(v.count)).rounded(.up))
            return v[Swift.max(0, Swift.min(v.count - 1, rank - 1))]
        }
        min = v.first ?? 0; max = v.last ?? 0
        p5 = q(0.05); p25 = q(0.25); p50 = q(0.5); p75 = q(0.75); p95 = q(0.95)
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("field", .string(field)), ("count", .int(count)), ("mean", .double((mean * 10).rounded() / 10)),
            ("min", .int(min)), ("p5", .int(p5)), ("p25", .int(p25)), ("p50", .int(p50)),
            ("p75", .int(p75)), ("p95", .int(p95)), ("max", .int(max)),
        ]))
    }
}

/// What `inspect` reports about a dataset folder or a JSON Lines file.
public struct InspectReport: Sendable {
    public var path: String
    /// (split, records) in order; a single file is one split named after it.
    public var splits: [(String, Int)] = []
    public var rejects: Int? = nil
    public var lengths: [LengthStats] = []
    /// Counts of values of small categorical fields (task, mode, label).
    public var categories: [(field: String, counts: [(String, Int)])] = []
    /// Lines of the input that are not valid records (files only; datasets are verified).
    public var invalid = 0
    public var samples: [Example] = []

    public var json: JSONValue {
        var o = JSONObject()
        o["path"] = .string(path)
        o["splits"] = .object(JSONObject(splits.map { ($0.0, .int($0.1)) }))
        if let r = rejects { o["rejects"] = .int(r) }
        if invalid > 0 { o["invalid_lines"] = .int(invalid) }
        o["lengths_chars"] = .array(lengths.map(\.json))
        o["categories"] = .object(JSONObject(categories.map { c in (c.field, .object(JSONObject(c.counts.map { ($0.0, .int($0.1)) }))) }))
        o["samples"] = .array(samples.map { .object($0.fields) })
        return .object(o)
    }
}

/// `cotforge inspect`: counts, per-field length percentiles and sample records.
public enum Inspector {
    static let categoryFields = ["task", "mode", "label"]

    /// Inspects a dataset folder (through its manifest) or a `.jsonl`/`.jsonl.zst` file.
    public static func inspect(_ path: String, samples: Int = 3) throws -> InspectReport {
        var report = InspectReport(path: path)
        var files: [(split: String, path: String)] = []
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            guard let data = FileManager.default.contents(atPath: path + "/manifest.json"),
                  let m = (try? JSONScanner.parse(data))?.objectValue, let splits = m["splits"]?.objectValue else {
                throw FileError(path: path + "/manifest.json", message: "missing or unreadable", hint: "inspect a built dataset folder or a .jsonl file")
            }
            for (name, v) in splits {
                for s in v.objectValue?["shards"]?.arrayValue ?? [] {
                    if let p = s.objectValue?["path"]?.stringValue { files.append((name, "\(path)/\(p)")) }
                }
                if !report.splits.contains(where: { $0.0 == name }) { report.splits.append((name, 0)) }
            }
            report.rejects = m["rejects"]?.objectValue?["records"]?.intValue
        } else {
            let name = RecordReader.idStem(for: path)
            files.append((name, path))
            report.splits.append((name, 0))
        }
        var lengths: [String: [Int]] = [:]
        var fieldOrder: [String] = Example.textFields
        var cats: [String: [String: Int]] = [:]
        for (split, file) in files {
            let reader = RecordReader(path: file)
            try reader.forEach({ rec in
                if let i = report.splits.firstIndex(where: { $0.0 == split }) { report.splits[i].1 += 1 }
                for m in rec.members where m.kind == .string {
                    if Inspector.categoryFields.contains(m.key) {
                        cats[m.key, default: [:]][rec.string(m.key) ?? "", default: 0] += 1
                        continue
                    }
                    if m.key == "id" { continue }
                    if !fieldOrder.contains(m.key) { fieldOrder.append(m.key) }
                    lengths[m.key, default: []].append(rec.string(m.key)?.unicodeScalars.count ?? 0)
                }
                if report.samples.count < samples, let e = try? rec.example() { report.samples.append(e) }
            }, onReject: { _ in report.invalid += 1 })
        }
        report.lengths = fieldOrder.compactMap { f in lengths[f].map { LengthStats(field: f, values: $0) } }
        report.categories = Inspector.categoryFields.compactMap { f in
            cats[f].map { (f, $0.sorted { $0.value > $1.value }.map { ($0.key, $0.value) }) }
        }
        return report
    }
}
