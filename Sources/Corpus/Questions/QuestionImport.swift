import Foundation

/// Turns question files of other formats into records (`id`, `task`, `question`, `gold`,
/// `source`), the input of self-sampling. Every input line ends as a record or as a reject
/// with its file, line and reason; nothing is dropped silently.
public enum QuestionFormat: Sendable, Equatable {
    /// GSM8K: `question`, and `answer` whose last line is `#### N` (gold N, commas removed).
    case gsm8k
    /// MATH (Hendrycks et al.): `problem`, and `solution` with the answer in the last `\boxed{}`.
    case math
    /// What the `reasoning-gym` package exports: `question`, `answer`, and `metadata` with
    /// `source_dataset` and `source_index`.
    case reasoningGym
    /// Any JSON Lines with the question and the gold answer under the given keys.
    case generic(question: String, answer: String?)

    public static func named(_ name: String, question: String = "question", answer: String? = "answer") -> QuestionFormat? {
        switch name {
        case "gsm8k": return .gsm8k
        case "math": return .math
        case "reasoning-gym", "reasoning_gym": return .reasoningGym
        case "jsonl", "generic": return .generic(question: question, answer: answer)
        default: return nil
        }
    }
}

public enum QuestionImporter {
    /// The record for one parsed input object, or the reason it cannot be one.
    public static func record(_ o: JSONObject, format: QuestionFormat, source: String, index: Int, license: String?) -> Result<Example, QuestionError> {
        func string(_ k: String) -> String? { o[k]?.stringValue }
        var question: String?, gold: String?, sourceName = source, sourceIndex = index
        switch format {
        case .gsm8k:
            question = string("question")
            guard let answer = string("answer") else { return .failure(.init("gsm8k.no_answer", "no \"answer\" field")) }
            guard let marker = answer.range(of: "####", options: .backwards) else {
                return .failure(.init("gsm8k.no_final", "the answer has no \"#### N\" line"))
            }
            gold = answer[marker.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ",", with: "")
        case .math:
            question = string("problem")
            guard let solution = string("solution") else { return .failure(.init("math.no_solution", "no \"solution\" field")) }
            guard let boxed = AnswerExtractor.lastBoxed(solution) else { return .failure(.init("math.no_boxed", "the solution has no \\boxed{} answer")) }
            gold = boxed
        case .reasoningGym:
            question = string("question")
            gold = string("answer")
            if gold == nil, let v = o["answer"], case .number(let n) = v { gold = n }
            if case .object(let meta)? = o["metadata"] {
                if let s = meta["source_dataset"]?.stringValue { sourceName = s }
                if let i = meta["source_index"]?.intValue { sourceIndex = i }
            }
            if gold == nil { return .failure(.init("reasoning_gym.no_answer", "no \"answer\" field")) }
        case .generic(let q, let a):
            question = string(q)
            if let a {
                gold = string(a)
                if gold == nil, let v = o[a], case .number(let n) = v { gold = n }
                if gold == nil { return .failure(.init("generic.no_answer", "no \"\(a)\" field (a string or a number)")) }
            }
        }
        guard let q = question, !q.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .failure(.init("question.missing", "no question text"))
        }
        var e = Example()
        e.id = o["id"]?.stringValue ?? "\(sourceName)-\(sourceIndex)"
        e.task = "math"
        var src = JSONObject([("name", .string(sourceName)), ("index", .int(sourceIndex))])
        if let license { src["license"] = .string(license) }
        e["source"] = .object(src)
        e.question = q
        if let gold, !gold.isEmpty { e.gold = gold }
        return .success(e)
    }
}

/// Why an input line is not a question record.
public struct QuestionError: Error, Sendable, Equatable {
    public var reason: String
    public var detail: String
    public init(_ reason: String, _ detail: String) { self.reason = reason; self.detail = detail }
}

extension QuestionImporter {
    /// How many lines of an import became questions and how many went to rejects.
    public struct FileCounts: Sendable, Equatable {
        public var written = 0
        public var rejected = 0
    }

    /// Imports every line of `inputs` in `format`: a question record to `output`, or a reject
    /// (file, line, offset, reason; the line kept) to `rejects`, so written + rejected is every
    /// non-blank line. `source` names `source.name` (default: each file's stem); an id seen
    /// twice becomes `<source>-<index>`, and if that repeats too the line is `id.duplicate`.
    /// Throws `FileError` for unreadable files.
    public static func importFiles(_ inputs: [String], format: QuestionFormat, source: String? = nil, license: String? = nil,
                                   output: JSONLWriter, rejects: JSONLWriter) throws -> FileCounts {
        var options = RecordReader.Options()
        options.schema = try JSONSchema(text: "{}")
        var counts = FileCounts()
        var seen = Set<String>()
        func reject(_ reason: String, _ detail: String, _ path: String, _ line: RecordLine) throws {
            try Reject(stage: "questions", reason: reason, detail: detail, file: path, line: line.line, offset: line.offset,
                       payload: .record(Array(line.bytes))).jsonBytes.withUnsafeBytes { try rejects.writeLine($0) }
            counts.rejected += 1
        }
        for path in inputs {
            let name = source ?? RecordReader.idStem(for: path)
            var index = 0
            try RecordReader(path: path, options: options).forEach({ line in
                defer { index += 1 }
                switch record(try line.example().fields, format: format, source: name, index: index, license: license) {
                case .success(var e):
                    if seen.contains(e.id ?? "") { e.id = "\(name)-\(index)" }
                    guard seen.insert(e.id ?? "").inserted else { return try reject("id.duplicate", "id \(e.id ?? "") appears twice", path, line) }
                    try output.write(e)
                    counts.written += 1
                case .failure(let err):
                    try reject(err.reason, err.detail, path, line)
                }
            }, onReject: { r in
                try r.jsonBytes.withUnsafeBytes { try rejects.writeLine($0) }
                counts.rejected += 1
            })
        }
        return counts
    }
}
