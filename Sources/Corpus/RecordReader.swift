/// A record read from JSON Lines, validated against `schemas/example.schema.json`.
/// `bytes` is the object's original text (surrounding whitespace removed) and is valid only
/// during the callback; `members` locate its top-level fields within `bytes`.
public struct RecordLine {
    public var bytes: UnsafeRawBufferPointer
    public var members: [JSONMember]
    public var file: String
    public var line: Int
    public var offset: Int64
    /// The record's id (derived from file and line when the input had none).
    public var id: String
    /// True when `id` was derived: `bytes` then lacks it and `writeBytes` adds it.
    public var idDerived: Bool

    public func member(_ key: String) -> JSONMember? { members.first { $0.key == key } }

    /// Decodes a top-level string field; nil when absent or not a string.
    public func string(_ key: String) -> String? {
        guard let m = member(key), m.kind == .string else { return nil }
        return try? JSONScanner.decodeString(bytes, at: m.range.lowerBound)
    }

    /// Parses a top-level field's value.
    public func value(_ key: String) -> JSONValue? {
        guard let m = member(key) else { return nil }
        return try? JSONScanner.parseValue(bytes, range: m.range)
    }

    /// The whole record as an `Example` (builds every value; use on slow paths).
    public func example() throws -> Example {
        var e = try Example(bytes: bytes)
        if idDerived { e.fields.insert("id", .string(id), at: 0) }
        return e
    }

    /// Appends the record as it should be written: the original text, with a derived id
    /// spliced in as the first field.
    public func appendWriteBytes(to out: inout [UInt8]) {
        guard idDerived else { out.append(contentsOf: bytes); return }
        out.append(contentsOf: #"{"id":"#.utf8)
        JSONSerializer.writeString(id, into: &out)
        if members.isEmpty {
            out.append(UInt8(ascii: "}"))
        } else {
            out.append(UInt8(ascii: ","))
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[1...]))
        }
    }
}

/// Reads JSON Lines records (`.jsonl`, `.jsonl.zst`, standard input) one at a time in bounded
/// memory. A line that cannot be a record is handed to `onReject` with its file, line number,
/// byte offset and reason (the line itself kept as text or base64); it never stops the read.
/// Blank lines are not records: they are counted in `blankLines` and skipped.
public final class RecordReader {
    public struct Options: Sendable {
        /// Lines longer than this are rejected (`line.too_long`) without being buffered whole.
        public var maxLineBytes = 64 << 20
        /// Records are checked against this schema (default: the example schema).
        public var schema: JSONSchema = .example
        /// When true, a record without `id` gets `<file stem>-<line>`; when false it is rejected.
        public var deriveIDs = true
        public init() {}
    }

    public let path: String
    public let options: Options
    public private(set) var blankLines = 0
    /// Bytes of the (decompressed) stream read so far.
    public private(set) var bytesRead: Int64 = 0

    public init(path: String, options: Options = Options()) {
        self.path = path
        self.options = options
    }

    /// The stem used for derived ids: the file name without folders and JSON/zstd extensions.
    public static func idStem(for path: String) -> String {
        if path == "-" { return "stdin" }
        var name = path.split(separator: "/").last.map(String.init) ?? path
        for ext in [".zst", ".jsonl", ".ndjson", ".json"] where name.hasSuffix(ext) {
            name.removeLast(ext.count)
        }
        return name.isEmpty ? "input" : name
    }

    /// Reads the whole input. Throws only for I/O failures (unreadable or corrupt file).
    public func forEach(_ onRecord: (RecordLine) throws -> Void, onReject: (Reject) throws -> Void) throws {
        let source = try openInput(path)
        let lines = LineReader(source, maxLineBytes: options.maxLineBytes)
        let stem = RecordReader.idStem(for: path)
        let checker = RecordChecker(schema: options.schema, deriveIDs: options.deriveIDs)
        try lines.forEachLine { line in
            bytesRead = line.offset + Int64(line.bytes.count) + 1
            if let full = line.overLimitLength {
                try onReject(Reject(stage: "read", reason: "line.too_long",
                                    detail: "line is \(full) bytes, over the limit of \(options.maxLineBytes); the first \(line.bytes.count) bytes are kept, the whole line is at this offset of the input",
                                    file: path, line: line.number, offset: line.offset,
                                    payload: Reject.payload(forLine: line.bytes), rawBytes: full, truncated: true))
                return
            }
            if RecordReader.isBlank(line.bytes) { blankLines += 1; return }
            switch checker.check(line.bytes) {
            case .invalid(let reason, let detail, let id, let object):
                let payload: Reject.Payload = object.map { .record(Array(UnsafeRawBufferPointer(rebasing: line.bytes[$0]))) }
                    ?? Reject.payload(forLine: line.bytes)
                try onReject(Reject(stage: "read", reason: reason, detail: detail, file: path, line: line.number,
                                    offset: line.offset, id: id, payload: payload, rawBytes: line.bytes.count))
            case .record(let members, let range, let id):
                let object = UnsafeRawBufferPointer(rebasing: line.bytes[range])
                try onRecord(RecordLine(bytes: object, members: members, file: path, line: line.number, offset: line.offset,
                                        id: id ?? "\(stem)-\(line.number)", idDerived: id == nil))
            }
        }
    }

    /// The outcome of checking one line.
    public enum LineCheck {
        /// A valid record: members relative to `range` (the object without surrounding
        /// whitespace); `id` is nil when the record has none and one may be derived.
        case record(members: [JSONMember], range: Range<Int>, id: String?)
        /// Not usable: dotted reason, detail, the record's id when known, and the object's
        /// range when the line was a JSON object (so the reject keeps it as a record).
        case invalid(reason: String, detail: String, id: String?, object: Range<Int>?)
    }

    /// Checks one line (see `RecordChecker.check`). Loops should keep one `RecordChecker`.
    public static func check(_ bytes: UnsafeRawBufferPointer, schema: JSONSchema = .example,
                             required: [String]? = nil, deriveIDs: Bool = false) -> LineCheck {
        RecordChecker(schema: schema, required: required, deriveIDs: deriveIDs).check(bytes)
    }

    static func isBlank(_ b: UnsafeRawBufferPointer) -> Bool {
        for c in b where !(c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A) { return false }
        return true
    }
}
