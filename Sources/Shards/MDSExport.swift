import Corpus
import Foundation
import Hashing

/// JSON text exactly as Python's `json.dumps` writes it by default (separators ", " and ": ",
/// non-ASCII as \uXXXX, floats in their shortest repr), for MDS `json` columns and index files.
enum PythonJSON {
    static func dumps(_ v: JSONValue, sortKeys: Bool = false) -> String {
        var s = ""
        write(v, sortKeys: sortKeys, into: &s)
        return s
    }

    static func write(_ v: JSONValue, sortKeys: Bool, into s: inout String) {
        switch v {
        case .null: s += "null"
        case .bool(let b): s += b ? "true" : "false"
        case .number(let n):
            if JSONKind.ofNumberLexeme(n) == .integer { s += n == "-0" ? "0" : n } else { s += Double(n).map { $0.description } ?? n }
        case .string(let t): string(t, into: &s)
        case .array(let a):
            s += "["
            for (i, x) in a.enumerated() { if i > 0 { s += ", " }; write(x, sortKeys: sortKeys, into: &s) }
            s += "]"
        case .object(let o):
            s += "{"
            let pairs = sortKeys ? o.sorted { $0.0 < $1.0 } : Array(o)
            for (i, (k, x)) in pairs.enumerated() {
                if i > 0 { s += ", " }
                string(k, into: &s); s += ": "
                write(x, sortKeys: sortKeys, into: &s)
            }
            s += "}"
        }
    }

    /// The JSON value at `at` in `b` (a record line; ends at `end`) as `json.dumps` would write
    /// it after `json.loads`, appended to `out` straight from the bytes: no value tree is built,
    /// and strings of printable ASCII (most of them) are copied as they are.
    static func transcode(_ b: UnsafeRawBufferPointer, at: Int, end: Int, into out: inout [UInt8]) throws {
        var c = JSONCursor(b, at: at, end: end)
        try transcode(&c, b, into: &out)
    }

    private static func transcode(_ c: inout JSONCursor, _ b: UnsafeRawBufferPointer, into out: inout [UInt8]) throws {
        switch c.kind() {
        case .string:
            let start = c.pos
            let (body, escaped) = c.string()
            if !escaped && plainASCII(UnsafeRawBufferPointer(rebasing: b[body])) {
                out.append(contentsOf: b[start..<(body.upperBound + 1)])
            } else {
                var t = ""
                string(try JSONScanner.decodeString(b, at: start), into: &t)
                out.append(contentsOf: t.utf8)
            }
        case .object:
            out.append(UInt8(ascii: "{"))
            var first = true
            var failure: Error? = nil
            c.forEachMember { key, v in
                guard failure == nil else { return v.skipValue() }
                if !first { out.append(0x2C); out.append(0x20) }
                first = false
                let keyBody = UnsafeRawBufferPointer(rebasing: b[key])
                if plainASCII(keyBody) {
                    out.append(0x22); out.append(contentsOf: keyBody); out.append(0x22)
                } else {
                    do {
                        var t = ""
                        string(try JSONScanner.decodeString(b, at: key.lowerBound - 1), into: &t)
                        out.append(contentsOf: t.utf8)
                    } catch { failure = error }
                }
                out.append(0x3A); out.append(0x20)
                do { try transcode(&v, b, into: &out) } catch { failure = error; v.skipValue() }
            }
            if let failure { throw failure }
            out.append(UInt8(ascii: "}"))
        case .array:
            out.append(UInt8(ascii: "["))
            var first = true
            var failure: Error? = nil
            c.forEachElement { v in
                guard failure == nil else { return v.skipValue() }
                if !first { out.append(0x2C); out.append(0x20) }
                first = false
                do { try transcode(&v, b, into: &out) } catch { failure = error; v.skipValue() }
            }
            if let failure { throw failure }
            out.append(UInt8(ascii: "]"))
        case .integer:
            let r = c.scalar()
            // json.loads("-0") is the int 0.
            if r.count == 2 && b[r.lowerBound] == UInt8(ascii: "-") && b[r.lowerBound + 1] == UInt8(ascii: "0") {
                out.append(UInt8(ascii: "0"))
            } else {
                out.append(contentsOf: b[r])
            }
        case .number:
            var t = ""
            write(.number(String(decoding: b[c.scalar()], as: UTF8.self)), sortKeys: false, into: &t)
            out.append(contentsOf: t.utf8)
        default:  // true, false, null
            out.append(contentsOf: b[c.scalar()])
        }
    }

    /// Printable ASCII without quote or backslash: written by json.dumps as it is.
    @inline(__always) static func plainASCII(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for x in bytes where x < 0x20 || x >= 0x7F || x == 0x22 || x == 0x5C { return false }
        return true
    }

    static func string(_ t: String, into s: inout String) {
        s += "\""
        // Printable ASCII without quote or backslash is written as it is (most keys and values).
        if t.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            s += t
            s += "\""
            return
        }
        for u in t.unicodeScalars {
            switch u {
            case "\"": s += "\\\""
            case "\\": s += "\\\\"
            case "\n": s += "\\n"
            case "\r": s += "\\r"
            case "\t": s += "\\t"
            case "\u{08}": s += "\\b"
            case "\u{0C}": s += "\\f"
            default:
                if u.value < 0x20 || u.value > 0x7E && u.value != 0x7F {
                    func hex(_ x: UInt32) -> String { let h = String(x, radix: 16); return String(repeating: "0", count: 4 - h.count) + h }
                    if u.value > 0xFFFF {
                        let v = u.value - 0x10000
                        s += "\\u" + hex(0xD800 + (v >> 10)) + "\\u" + hex(0xDC00 + (v & 0x3FF))
                    } else {
                        s += "\\u" + hex(u.value)
                    }
                } else {
                    s.unicodeScalars.append(u)
                }
            }
        }
        s += "\""
    }
}

/// MosaicML streaming's MDS format (version 2), written the way its `MDSWriter` writes it:
/// `index.json` listing the shards, each shard `[n: u32][n+1 offsets: u32][its config JSON]`
/// then the samples, a sample being the u32 sizes of its variable-size columns followed by the
/// columns in name order (`str` UTF-8, `int` 8-byte little-endian, `json` as Python's
/// json.dumps). A shard closes when the next sample would pass `size_limit`; with compression
/// each shard is also written as one zstd frame (`shard.NNNNN.mds.zstd`, content size in the
/// header). Checked against golden shards made by the real MDSWriter.
public struct MDSWriter {
    public enum Encoding: String, Sendable { case str, int, json }

    public let columns: [(name: String, encoding: Encoding)]
    public let sizeLimit: Int
    /// zstd level, or nil for no compression.
    public let zstdLevel: Int32?
    let folder: String
    /// The samples of the shard being built, back to back, and where each ends in `body`.
    private var body: [UInt8] = []
    private var ends: [Int] = []
    private var shardSize: Int
    private let config: [UInt8]
    private(set) var index: [JSONValue] = []
    private(set) var written: [ShardInfo] = []

    public init(folder: String, columns: [(name: String, encoding: Encoding)], sizeLimit: Int = 1 << 26, zstdLevel: Int32? = 3) {
        self.folder = folder
        self.columns = columns.sorted { $0.name < $1.name }
        self.sizeLimit = sizeLimit
        self.zstdLevel = zstdLevel
        config = Array(PythonJSON.dumps(MDSWriter.configValue(self.columns, sizeLimit: sizeLimit, zstdLevel: zstdLevel), sortKeys: true).utf8)
        shardSize = 8 + config.count
    }

    static func configValue(_ columns: [(name: String, encoding: Encoding)], sizeLimit: Int, zstdLevel: Int32?) -> JSONValue {
        .object(JSONObject([
            ("column_encodings", .array(columns.map { .string($0.encoding.rawValue) })),
            ("column_names", .array(columns.map { .string($0.name) })),
            ("column_sizes", .array(columns.map { $0.encoding == .int ? .int(8) : .null })),
            ("compression", zstdLevel.map { .string("zstd:\($0)") } ?? .null),
            ("format", .string("mds")), ("hashes", .array([])), ("size_limit", .int(sizeLimit)), ("version", .int(2)),
        ]))
    }

    /// The bytes of one sample; throws when a str/int column is missing or of another kind.
    func encode(_ r: Example) throws -> [UInt8] {
        var sizes: [UInt8] = [], data: [UInt8] = []
        for (name, enc) in columns {
            let v = r[name]
            var bytes: [UInt8]
            switch enc {
            case .str:
                guard let s = v?.stringValue else { throw ShardJobError(message: "record \(r.id ?? "?"): MDS column \(name) needs a string", hint: nil) }
                bytes = Array(s.utf8)
            case .int:
                guard let n = v?.intValue else { throw ShardJobError(message: "record \(r.id ?? "?"): MDS column \(name) needs an integer", hint: nil) }
                bytes = withUnsafeBytes(of: Int64(n).littleEndian) { Array($0) }
                data += bytes
                continue
            case .json:
                bytes = Array(PythonJSON.dumps(v ?? .null).utf8)
            }
            withUnsafeBytes(of: UInt32(bytes.count).littleEndian) { sizes += $0 }
            data += bytes
        }
        return sizes + data
    }

    /// `encode` for a record still in its JSON bytes (`members` from `JSONScanner.scanObject`,
    /// ranges relative to `object.lowerBound`): strings are decoded only when they hold an
    /// escape, and `json` columns are transcoded from the bytes (`PythonJSON.transcode`).
    func encode(line b: UnsafeRawBufferPointer, members: [JSONMember], object: Range<Int>) throws -> [UInt8] {
        var out: [UInt8] = []
        try encode(line: b, members: members, object: object, into: &out)
        return out
    }

    /// Appends the sample to `out`: first the size slots of the variable-size columns, then the
    /// columns, each size filled in once its column is written. On error `out` is left as it was.
    func encode(line b: UnsafeRawBufferPointer, members: [JSONMember], object: Range<Int>, into out: inout [UInt8]) throws {
        let start = out.count
        var slot = start
        out.append(contentsOf: repeatElement(0, count: 4 * variableColumns))
        do {
            for (name, enc) in columns {
                let m = members.first { $0.key == name }
                let at = object.lowerBound + (m?.range.lowerBound ?? 0)
                let columnStart = out.count
                switch enc {
                case .str:
                    guard let m, m.kind == .string else { throw ShardJobError(message: "MDS column \(name) needs a string", hint: nil) }
                    let body = (at + 1)..<(object.lowerBound + m.range.upperBound - 1)
                    // Without a backslash the JSON string body is already the UTF-8 text.
                    if memchr(b.baseAddress! + body.lowerBound, 0x5C, body.count) == nil {
                        out.append(contentsOf: b[body])
                    } else {
                        out.append(contentsOf: try JSONScanner.decodeString(b, at: at).utf8)
                    }
                case .int:
                    guard let m, m.kind == .integer,
                          let n = Int64(String(decoding: b[at..<(object.lowerBound + m.range.upperBound)], as: UTF8.self)) else {
                        throw ShardJobError(message: "MDS column \(name) needs an integer", hint: nil)
                    }
                    withUnsafeBytes(of: n.littleEndian) { out.append(contentsOf: $0) }
                    continue
                case .json:
                    if let m {
                        try PythonJSON.transcode(b, at: at, end: object.lowerBound + m.range.upperBound, into: &out)
                    } else {
                        out.append(contentsOf: "null".utf8)
                    }
                }
                let size = UInt32(out.count - columnStart).littleEndian
                withUnsafeBytes(of: size) { s in for k in 0..<4 { out[slot + k] = s[k] } }
                slot += 4
            }
        } catch {
            out.removeSubrange(start...)
            throw error
        }
    }

    private var variableColumns: Int { columns.reduce(0) { $0 + ($1.encoding == .int ? 0 : 1) } }

    public mutating func write(_ r: Example) throws {
        let sample = try encode(r)
        body.append(contentsOf: sample)
        try added(from: body.count - sample.count)
    }

    /// Writes one record given as a JSON line (see `encode(line:members:object:)`), encoding it
    /// straight into the shard.
    public mutating func write(line b: UnsafeRawBufferPointer, members: [JSONMember], object: Range<Int>) throws {
        // The shard buffer is moved out while `encode` (a method of self) appends to it: passed
        // in place it would be copied, whole, for every sample.
        var buffer: [UInt8] = []
        swap(&buffer, &body)
        let start = buffer.count
        do { try encode(line: b, members: members, object: object, into: &buffer) } catch { swap(&buffer, &body); throw error }
        swap(&buffer, &body)
        try added(from: start)
    }

    /// The sample that starts at `start` in `body` was appended: when it does not fit the size
    /// limit, the shard closes without it (as MDSWriter does, even when that shard is empty) and
    /// it opens the next one.
    private mutating func added(from start: Int) throws {
        let size = body.count - start
        if sizeLimit < shardSize + size + 4 {
            let sample = Array(body[start...])
            body.removeSubrange(start...)
            try flush()
            body = sample
        }
        ends.append(body.count)
        shardSize += size + 4
    }

    /// The uncompressed bytes of the shard being built.
    func shardBytes() -> [UInt8] {
        var out: [UInt8] = []
        let head = 4 + 4 * (ends.count + 1) + config.count
        out.reserveCapacity(head + body.count)
        withUnsafeBytes(of: UInt32(ends.count).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(head).littleEndian) { out += $0 }
        for e in ends { withUnsafeBytes(of: UInt32(head + e).littleEndian) { out += $0 } }
        out += config
        out += body
        return out
    }

    public mutating func flush() throws {
        let raw = shardBytes()
        let n = index.count
        let rawName = String(format: "shard.%05d.mds", n)
        var entry = MDSWriter.configValue(columns, sizeLimit: sizeLimit, zstdLevel: zstdLevel).objectValue!
        entry["raw_data"] = .object(JSONObject([("basename", .string(rawName)), ("bytes", .int(raw.count)), ("hashes", .object(JSONObject()))]))
        entry["samples"] = .int(ends.count)
        var file = raw, fileName = rawName
        if let level = zstdLevel {
            let compressor = try ZstdCompressor(level: level)
            file = try raw.withUnsafeBytes { try compressor.compressFrame($0) { Array($0) } }
            fileName = rawName + ".zstd"
            entry["zip_data"] = .object(JSONObject([("basename", .string(fileName)), ("bytes", .int(file.count)), ("hashes", .object(JSONObject()))]))
        } else {
            entry["zip_data"] = .null
        }
        let sink = try FileSink(path: "\(folder)/\(fileName)", durable: false)
        try file.withUnsafeBytes { try sink.write($0) }
        try sink.finish()
        index.append(.object(entry))
        written.append(ShardInfo(path: "\(folder)/\(fileName)", records: ends.count, bytes: file.count,
                                 uncompressedBytes: raw.count, sha256: SHA256.hex(of: file)))
        body.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        shardSize = 8 + config.count
    }

    /// Flushes the last shard and writes `index.json`.
    public mutating func finish() throws {
        if !ends.isEmpty { try flush() }
        let doc = JSONValue.object(JSONObject([("shards", .array(index)), ("version", .int(2))]))
        try writeText(PythonJSON.dumps(doc, sortKeys: true), to: "\(folder)/index.json")
    }

    /// Columns for a set of records: `str` / `int` for fields every record has with that kind,
    /// `json` for everything else (absent values become null).
    public static func columns(for records: some Sequence<Example>) -> [(name: String, encoding: Encoding)] {
        var c = ColumnSketch()
        for r in records { c.add(r) }
        return c.columns
    }

    /// The column choice of `columns(for:)`, one record at a time, so a split is never held in
    /// memory. Cheap enough to run inside `shard` on every record: fields are found by their
    /// position in the previous record first (records of a corpus share their key order), and
    /// kinds are kept as bit sets.
    public struct ColumnSketch {
        private var slotOf: [String: Int] = [:]
        private var names: [String] = []
        private var counts: [Int] = []
        private var kinds: [UInt8] = []
        private var lastKeys: [String] = []
        private var lastSlots: [Int] = []
        private var total = 0

        public init() {}

        private static func bit(_ k: JSONKind) -> UInt8 {
            switch k {
            case .null: return 1
            case .boolean: return 2
            case .string: return 4
            case .integer: return 8
            case .number: return 16
            case .array: return 32
            case .object: return 64
            }
        }

        public mutating func add(_ r: Example) {
            total += 1
            for (i, (k, v)) in r.fields.enumerated() { note(k, v.kind == .integer && v.intValue == nil ? .number : v.kind, position: i) }
        }

        /// `add` for a record still in its JSON bytes (members from `JSONScanner.scanObject`);
        /// `derivedID` notes the `id` that `shard` adds to records without one.
        public mutating func add(line b: UnsafeRawBufferPointer, members: [JSONMember], object: Range<Int>, derivedID: Bool = false) {
            total += 1
            if derivedID { note("id", .string, position: members.count) }
            for (i, m) in members.enumerated() {
                var kind = m.kind
                // Only a lexeme of 19+ characters can be beyond Int64 (MDS int cannot hold it).
                if kind == .integer, m.range.count >= 19,
                   Int64(String(decoding: b[(object.lowerBound + m.range.lowerBound)..<(object.lowerBound + m.range.upperBound)], as: UTF8.self)) == nil {
                    kind = .number
                }
                note(m.key, kind, position: i)
            }
        }

        private mutating func note(_ k: String, _ kind: JSONKind, position i: Int) {
            let slot: Int
            if i < lastKeys.count, lastKeys[i] == k {
                slot = lastSlots[i]
            } else {
                if let known = slotOf[k] { slot = known } else {
                    slot = names.count
                    slotOf[k] = slot
                    names.append(k); counts.append(0); kinds.append(0)
                }
                if i < lastKeys.count { lastKeys[i] = k; lastSlots[i] = slot } else { lastKeys.append(k); lastSlots.append(slot) }
            }
            counts[slot] += 1
            kinds[slot] |= ColumnSketch.bit(kind)
        }

        public var columns: [(name: String, encoding: Encoding)] {
            names.indices.map { i in
                guard counts[i] == total else { return (names[i], .json) }
                switch kinds[i] {
                case ColumnSketch.bit(.string): return (names[i], .str)
                case ColumnSketch.bit(.integer): return (names[i], .int)
                default: return (names[i], .json)
                }
            }
        }
    }
}

/// `cotforge export DIR --format mds`: each split as an MDS dataset under `DIR/mds/SPLIT/`
/// (columns as `shard` chose them, or from a first pass over older datasets), listed in the manifest under
/// `exports.mds`. Read it with `streaming.StreamingDataset(local="DIR/mds/SPLIT")`.
public enum MDSExport {
    public static func run(dataset dir: String, sizeLimit: Int = 1 << 26, zstdLevel: Int32? = 3,
                           progress: (String) -> Void = { _ in }) throws -> [String: [ShardInfo]] {
        try DatasetExport.run(dataset: dir, name: "mds", header: [("format", .string("mds")), ("version", .int(2))]) { split in
            // The columns `shard` chose while writing the split; datasets from before it did are read twice.
            var columns: [(name: String, encoding: MDSWriter.Encoding)] = []
            if let known = split.entry["mds_columns"]?.objectValue {
                for (name, e) in known {
                    guard let enc = e.stringValue.flatMap(MDSWriter.Encoding.init(rawValue:)) else {
                        throw FileError(path: split.manifestPath, message: "splits.\(split.name).mds_columns.\(name): unknown encoding",
                                        hint: "rebuild the dataset with cotforge shard")
                    }
                    columns.append((name, enc))
                }
            } else {
                progress("\(split.name): columns")
                var sketch = MDSWriter.ColumnSketch()
                try split.forEachRecord { sketch.add(line: $0, members: $1, object: $2) }
                columns = sketch.columns
            }
            var w = MDSWriter(folder: split.folder, columns: columns, sizeLimit: sizeLimit, zstdLevel: zstdLevel)
            progress("\(split.name): shards")
            try split.forEachRecord { try w.write(line: $0, members: $1, object: $2) }
            try w.finish()
            return w.written
        }
    }
}
