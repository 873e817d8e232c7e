import Foundation

/// Safety prompt files → records (`task: safety`, `question`, `label`, `category`, `source`):
/// the input of SafeChain-style sampling. Every data row ends as a record or as a reject with
/// its file, line and reason.
public enum SafetyFormat: Sendable, Equatable {
    /// StrongREJECT's CSV (`category`, `source`, `forbidden_prompt`): every prompt is
    /// `vanilla_harmful`.
    case strongreject
    /// WildJailbreak's files (TSV, CSV or JSONL): `vanilla`, `adversarial`, `data_type` in
    /// `vanilla_harmful|adversarial_harmful|vanilla_benign|adversarial_benign`; the prompt is
    /// `adversarial` for the adversarial types, else `vanilla`.
    case wildjailbreak
    /// Any CSV/TSV/JSONL: the prompt column, and the label from a column or one given label.
    case generic(prompt: String, label: String?, category: String?, defaultLabel: String?)

    public static let labels = ["vanilla_harmful", "adversarial_harmful", "vanilla_benign", "adversarial_benign"]
}

public enum SafetyImporter {
    /// One row (column name → value) as a record, or why it cannot be one.
    public static func record(_ row: [String: String], format: SafetyFormat, source: String, index: Int, license: String?) -> Result<Example, QuestionError> {
        var prompt: String?, label: String?, category: String?, origin: String?
        switch format {
        case .strongreject:
            prompt = row["forbidden_prompt"]
            label = "vanilla_harmful"
            category = row["category"]
            origin = row["source"]
        case .wildjailbreak:
            guard let t = row["data_type"], SafetyFormat.labels.contains(t) else {
                return .failure(.init("safety.bad_label", "data_type \"\(row["data_type"] ?? "")\" is not one of \(SafetyFormat.labels.joined(separator: ", "))"))
            }
            label = t
            prompt = t.hasPrefix("adversarial") ? row["adversarial"] : row["vanilla"]
        case .generic(let p, let l, let c, let d):
            prompt = row[p]
            label = l.flatMap { row[$0] } ?? d
            category = c.flatMap { row[$0] }
        }
        guard let text = prompt?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            return .failure(.init("safety.no_prompt", "the prompt is missing or empty"))
        }
        guard let label, !label.isEmpty else { return .failure(.init("safety.no_label", "no label (give a label column or a default label)")) }
        var e = Example()
        e.id = "\(source)-\(index)"
        e.task = "safety"
        var src = JSONObject([("name", .string(source)), ("index", .int(index))])
        if let license { src["license"] = .string(license) }
        if let origin, !origin.isEmpty { src["origin"] = .string(origin) }
        e["source"] = .object(src)
        e.question = text
        e.label = label
        if let category, !category.isEmpty { e["category"] = .string(category) }
        return .success(e)
    }

    /// Imports `path` (.csv, .tsv, or JSON Lines) to `output`, rejects to `rejects`. Throws
    /// `FileError` for unreadable files and `QuestionError` (`csv.syntax`) for broken CSV.
    public static func importFile(_ path: String, format: SafetyFormat, source: String? = nil, license: String? = nil,
                                  output: JSONLWriter, rejects: JSONLWriter) throws -> QuestionImporter.FileCounts {
        let name = source ?? RecordReader.idStem(for: path)
        var counts = QuestionImporter.FileCounts()
        func reject(_ reason: String, _ detail: String, line: Int, offset: Int64?, bytes: [UInt8]) throws {
            try Reject(stage: "safety", reason: reason, detail: detail, file: path, line: line, offset: offset, payload: .record(bytes))
                .jsonBytes.withUnsafeBytes { try rejects.writeLine($0) }
            counts.rejected += 1
        }
        func take(_ row: [String: String], index: Int, line: Int, offset: Int64?, bytes: [UInt8]) throws {
            switch record(row, format: format, source: name, index: index, license: license) {
            case .success(let e): try output.write(e); counts.written += 1
            case .failure(let err): try reject(err.reason, err.detail, line: line, offset: offset, bytes: bytes)
            }
        }
        if path.hasSuffix(".csv") || path.hasSuffix(".tsv") {
            guard let data = FileManager.default.contents(atPath: path) else { throw FileError.errno(path, "cannot read") }
            guard let text = String(data: data, encoding: .utf8) else { throw QuestionError("csv.utf8", "\(path) is not UTF-8 text") }
            let table: CSVTable
            do { table = try CSVTable(text: text, separator: path.hasSuffix(".tsv") ? "\t" : ",") } catch let e as CSVTable.ParseError {
                throw QuestionError("csv.syntax", "\(path):\(e.line): \(e.message)")
            }
            for (i, row) in table.rows.enumerated() {
                guard row.fields.count == table.header.count else {
                    try reject("csv.columns", "\(row.fields.count) fields, the header has \(table.header.count)", line: row.line, offset: nil,
                               bytes: Array(row.fields.joined(separator: ",").utf8))
                    continue
                }
                try take(Dictionary(zip(table.header, row.fields), uniquingKeysWith: { a, _ in a }), index: i, line: row.line, offset: nil,
                         bytes: Array(row.fields.joined(separator: ",").utf8))
            }
            return counts
        }
        var options = RecordReader.Options()
        options.schema = try JSONSchema(text: "{}")
        var index = 0
        try RecordReader(path: path, options: options).forEach({ line in
            defer { index += 1 }
            var row: [String: String] = [:]
            for (k, v) in try line.example().fields { if let s = v.stringValue { row[k] = s } }
            try take(row, index: index, line: line.line, offset: line.offset, bytes: Array(line.bytes))
        }, onReject: { r in
            try r.jsonBytes.withUnsafeBytes { try rejects.writeLine($0) }
            counts.rejected += 1
        })
        return counts
    }
}
