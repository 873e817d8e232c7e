/// Why a JSON text was refused, and where. `code` is a dotted reason used as a reject reason.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `json.syntax`, `json.utf8`, `json.escape`, `json.duplicate_key`, `json.too_deep`.
    public var code: String
    /// Byte offset into the text where the problem was found.
    public var offset: Int
    public var message: String

    public var description: String { "\(message) at byte \(offset)" }
}

/// One top-level member of an object, located without building its value.
public struct JSONMember: Sendable {
    public var key: String
    public var kind: JSONKind
    /// Byte range of the value (strings include their quotes), relative to the object's first
    /// byte (the `{`).
    public var range: Range<Int>

    public init(key: String, kind: JSONKind, range: Range<Int>) {
        self.key = key; self.kind = kind; self.range = range
    }
}

/// A validating JSON scanner over UTF-8 bytes (RFC 8259, strict: no comments, no trailing
/// commas, no NaN, no lone surrogates, no invalid UTF-8, no duplicate keys).
///
/// Two ways in: `parse` builds a `JSONValue`; `scanObject` validates a whole object but only
/// locates its top-level members, so that hot paths (sharding) can check a record and copy its
/// original bytes without materializing long strings. Both run the same validation.
/// Cost: one pass over the bytes; string bodies are skipped 8 bytes at a time when they hold
/// no quote, backslash, control or non-ASCII byte.
public struct JSONScanner {
    /// Deepest nesting accepted; deeper input is refused rather than risking the stack.
    public static let maxDepth = 512

    private let base: UnsafePointer<UInt8>
    private let end: Int
    private var pos: Int
    private var depth = 0

    private init(_ buffer: UnsafeRawBufferPointer, at start: Int = 0) {
        // An empty buffer may have a nil base; point at a static byte so reads stay in bounds (end = 0).
        self.base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? JSONScanner.emptyByte
        self.end = buffer.count
        self.pos = start
    }

    private nonisolated(unsafe) static let emptyByte: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    // MARK: - Entry points

    /// Parses one complete JSON document (surrounding whitespace allowed).
    public static func parse(_ buffer: UnsafeRawBufferPointer) throws -> JSONValue {
        var s = JSONScanner(buffer)
        s.skipWhitespace()
        let v = try s.parseValue()
        s.skipWhitespace()
        if s.pos != s.end { throw s.error("json.syntax", "unexpected content after the JSON value") }
        return v
    }

    /// Parses one complete JSON document from bytes.
    public static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        let a = Array(bytes)
        return try a.withUnsafeBytes { try parse($0) }
    }

    /// Parses one complete JSON document from a string.
    public static func parse(_ text: String) throws -> JSONValue {
        var t = text
        return try t.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    /// Validates that the buffer holds exactly one JSON object and returns its top-level members
    /// (ranges relative to the object's start) and the byte range of the object itself
    /// (surrounding whitespace excluded).
    /// Throws `json.not_object` when the document is valid JSON of another kind.
    public static func scanObject(_ buffer: UnsafeRawBufferPointer) throws -> (members: [JSONMember], range: Range<Int>) {
        var members: [JSONMember] = []
        let range = try scanObject(buffer, into: &members)
        return (members, range)
    }

    /// `scanObject` filling a caller's array (emptied first), so a loop over records reuses
    /// one allocation. Returns the object's range.
    public static func scanObject(_ buffer: UnsafeRawBufferPointer, into members: inout [JSONMember]) throws -> Range<Int> {
        members.removeAll(keepingCapacity: true)
        var s = JSONScanner(buffer)
        s.skipWhitespace()
        let start = s.pos
        guard s.pos < s.end else { throw s.error("json.syntax", "empty line") }
        guard s.base[s.pos] == UInt8(ascii: "{") else {
            let kind = try s.skipValue()
            s.skipWhitespace()
            if s.pos != s.end { throw s.error("json.syntax", "unexpected content after the JSON value") }
            throw JSONParseError(code: "json.not_object", offset: start,
                                 message: "the line is a JSON \(kind.rawValue), not an object")
        }
        s.pos += 1
        s.depth = 1
        s.skipWhitespace()
        // One bit per key hash: a repeated key always hits a set bit, so the string compares
        // run only when the filter says "maybe" (rarely, for a dozen keys).
        var filter: UInt64 = 0
        if s.peek() == UInt8(ascii: "}") {
            s.pos += 1
        } else {
            while true {
                s.skipWhitespace()
                let keyAt = s.pos
                let key = try s.parseKey()
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }  // decoded: "\u0061" is "a"
                let bit: UInt64 = 1 << (h >> 58)
                if filter & bit != 0, members.contains(where: { $0.key == key }) {
                    throw JSONParseError(code: "json.duplicate_key", offset: keyAt, message: "duplicate key \"\(key)\"")
                }
                s.skipWhitespace()
                try s.expect(UInt8(ascii: ":"))
                s.skipWhitespace()
                let vStart = s.pos
                let kind = try s.skipValue()
                filter |= bit
                members.append(JSONMember(key: key, kind: kind, range: (vStart - start)..<(s.pos - start)))
                s.skipWhitespace()
                if try s.endOfContainer(close: UInt8(ascii: "}")) { break }
            }
        }
        let range = start..<s.pos
        s.skipWhitespace()
        if s.pos != s.end { throw s.error("json.syntax", "unexpected content after the JSON object") }
        return range
    }

    /// Decodes the JSON string whose opening quote is at `range.lowerBound` of `buffer`.
    public static func decodeString(_ buffer: UnsafeRawBufferPointer, at offset: Int) throws -> String {
        var s = JSONScanner(buffer, at: offset)
        return try s.parseString()
    }

    /// Parses the JSON value in `range` of `buffer` (a range returned by `scanObject`).
    public static func parseValue(_ buffer: UnsafeRawBufferPointer, range: Range<Int>) throws -> JSONValue {
        let slice = UnsafeRawBufferPointer(rebasing: buffer[range])
        do { return try parse(slice) } catch var e as JSONParseError {
            e.offset += range.lowerBound
            throw e
        }
    }

    // MARK: - Values

    private mutating func parseValue() throws -> JSONValue {
        guard pos < end else { throw error("json.syntax", "unexpected end of input, expected a value") }
        switch base[pos] {
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "{"): return .object(try parseObject())
        case UInt8(ascii: "["): return .array(try parseArray())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            let start = pos
            _ = try skipNumber()
            return .number(String(decoding: UnsafeBufferPointer(start: base + start, count: pos - start), as: UTF8.self))
        }
    }

    private mutating func parseObject() throws -> JSONObject {
        try enter()
        pos += 1
        var obj = JSONObject()
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { pos += 1; depth -= 1; return obj }
        while true {
            skipWhitespace()
            let keyAt = pos
            let key = try parseKey()
            if obj.index(of: key) != nil {
                throw JSONParseError(code: "json.duplicate_key", offset: keyAt, message: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            obj[key] = try parseValue()
            skipWhitespace()
            if try endOfContainer(close: UInt8(ascii: "}")) { break }
        }
        depth -= 1
        return obj
    }

    private mutating func parseArray() throws -> [JSONValue] {
        try enter()
        pos += 1
        var arr: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") { pos += 1; depth -= 1; return arr }
        while true {
            skipWhitespace()
            arr.append(try parseValue())
            skipWhitespace()
            if try endOfContainer(close: UInt8(ascii: "]")) { break }
        }
        depth -= 1
        return arr
    }

    /// Validates a value without building it; returns its kind.
    private mutating func skipValue() throws -> JSONKind {
        guard pos < end else { throw error("json.syntax", "unexpected end of input, expected a value") }
        switch base[pos] {
        case UInt8(ascii: "\""): try skipString(); return .string
        case UInt8(ascii: "{"):
            try enter()
            pos += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") { pos += 1; depth -= 1; return .object }
            var keys: [String] = []
            while true {
                skipWhitespace()
                let keyAt = pos
                let key = try parseKey()
                if keys.contains(key) {
                    throw JSONParseError(code: "json.duplicate_key", offset: keyAt, message: "duplicate key \"\(key)\"")
                }
                keys.append(key)
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                skipWhitespace()
                _ = try skipValue()
                skipWhitespace()
                if try endOfContainer(close: UInt8(ascii: "}")) { break }
            }
            depth -= 1
            return .object
        case UInt8(ascii: "["):
            try enter()
            pos += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "]") { pos += 1; depth -= 1; return .array }
            while true {
                skipWhitespace()
                _ = try skipValue()
                skipWhitespace()
                if try endOfContainer(close: UInt8(ascii: "]")) { break }
            }
            depth -= 1
            return .array
        case UInt8(ascii: "t"): try literal("true"); return .boolean
        case UInt8(ascii: "f"): try literal("false"); return .boolean
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return try skipNumber() ? .integer : .number
        }
    }

    // MARK: - Pieces

    @inline(__always) private func peek() -> UInt8? { pos < end ? base[pos] : nil }

    @inline(__always) private mutating func skipWhitespace() {
        while pos < end {
            let b = base[pos]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { pos += 1 } else { return }
        }
    }

    private mutating func enter() throws {
        depth += 1
        if depth > JSONScanner.maxDepth {
            throw error("json.too_deep", "nesting deeper than \(JSONScanner.maxDepth) levels")
        }
    }

    private mutating func expect(_ c: UInt8) throws {
        guard pos < end, base[pos] == c else {
            throw error("json.syntax", "expected '\(Character(Unicode.Scalar(c)))'\(foundDescription())")
        }
        pos += 1
    }

    /// After a member or element: consumes ',' (returns false) or the closing bracket (returns true).
    private mutating func endOfContainer(close: UInt8) throws -> Bool {
        guard pos < end else { throw error("json.syntax", "unexpected end of input, expected ',' or '\(Character(Unicode.Scalar(close)))'") }
        let b = base[pos]
        if b == UInt8(ascii: ",") { pos += 1; return false }
        if b == close { pos += 1; return true }
        throw error("json.syntax", "expected ',' or '\(Character(Unicode.Scalar(close)))'\(foundDescription())")
    }

    private func foundDescription() -> String {
        guard pos < end else { return " but the input ended" }
        let b = base[pos]
        if b >= 0x20 && b < 0x7F { return " but found '\(Character(Unicode.Scalar(b)))'" }
        return " but found byte 0x\(String(b, radix: 16))"
    }

    private mutating func parseKey() throws -> String {
        guard pos < end, base[pos] == UInt8(ascii: "\"") else {
            throw error("json.syntax", "expected a string key\(foundDescription())")
        }
        return try parseString()
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard end - pos >= n, memcmp(base + pos, word.utf8Start, n) == 0 else {
            throw error("json.syntax", "invalid literal (expected \(word))")
        }
        pos += n
    }

    /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? ; returns true when it is an integer.
    private mutating func skipNumber() throws -> Bool {
        let start = pos
        var integer = true
        if peek() == UInt8(ascii: "-") { pos += 1 }
        guard let first = peek(), isDigit(first) else {
            pos = start
            throw error("json.syntax", "expected a value\(foundDescription())")
        }
        if first == UInt8(ascii: "0") {
            pos += 1
            if let b = peek(), isDigit(b) { throw error("json.syntax", "numbers may not have leading zeros") }
        } else {
            while let b = peek(), isDigit(b) { pos += 1 }
        }
        if peek() == UInt8(ascii: ".") {
            integer = false
            pos += 1
            guard let b = peek(), isDigit(b) else { throw error("json.syntax", "expected a digit after '.'") }
            while let b = peek(), isDigit(b) { pos += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            integer = false
            pos += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
            guard let b = peek(), isDigit(b) else { throw error("json.syntax", "expected a digit in the exponent") }
            while let b = peek(), isDigit(b) { pos += 1 }
        }
        return integer
    }

    @inline(__always) private func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    /// True when any of the 8 bytes is '"', '\\', a control byte (< 0x20) or non-ASCII (≥ 0x80).
    @inline(__always) private static func needsAttention(_ x: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let q = x ^ (ones &* 0x22)
        let bs = x ^ (ones &* 0x5C)
        let zeroQ = (q &- ones) & ~q
        let zeroB = (bs &- ones) & ~bs
        let below20 = (x &- ones &* 0x20) & ~x
        return ((zeroQ | zeroB | below20) & highs) | (x & highs) != 0
    }

    /// Validates a string (escapes, UTF-8, no raw control bytes) and moves past its closing quote.
    private mutating func skipString() throws {
        pos += 1  // opening quote
        while true {
            // Two words a step (generic SIMD types are slower here: they compile per lane at the
            // default x86-64 target).
            while end - pos >= 16 {
                let w0 = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self)
                let w1 = UnsafeRawPointer(base + pos + 8).loadUnaligned(as: UInt64.self)
                if JSONScanner.needsAttention(w0) || JSONScanner.needsAttention(w1) { break }
                pos += 16
            }
            while end - pos >= 8 {
                let w = UnsafeRawPointer(base + pos).loadUnaligned(as: UInt64.self)
                if JSONScanner.needsAttention(w) { break }
                pos += 8
            }
            guard pos < end else { throw error("json.syntax", "unterminated string") }
            let b = base[pos]
            if b == UInt8(ascii: "\"") { pos += 1; return }
            if b == UInt8(ascii: "\\") {
                _ = try escapeScalar()
            } else if b < 0x20 {
                throw error("json.syntax", "raw control byte 0x\(String(b, radix: 16)) inside a string (must be escaped)")
            } else if b >= 0x80 {
                try skipUTF8Sequence()
            } else {
                pos += 1
            }
        }
    }

    /// Decodes a string at `pos` (which must be the opening quote).
    private mutating func parseString() throws -> String {
        let start = pos + 1
        // Fast path: no escapes, so the body is the bytes themselves (validated by skipString).
        try skipString()
        let bodyEnd = pos - 1
        if memchr(base + start, 0x5C, bodyEnd - start) == nil {
            return String(decoding: UnsafeBufferPointer(start: base + start, count: bodyEnd - start), as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bodyEnd - start)
        pos = start
        while pos < bodyEnd {
            let b = base[pos]
            if b == UInt8(ascii: "\\") {
                let scalar = try escapeScalar()
                var tmp: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
                let n = withUnsafeMutableBytes(of: &tmp) { raw -> Int in
                    var i = 0
                    for u in UTF8.encode(scalar)! { raw[i] = u; i += 1 }
                    return i
                }
                withUnsafeBytes(of: tmp) { out.append(contentsOf: $0.prefix(n)) }
            } else {
                out.append(b)
                pos += 1
            }
        }
        pos = bodyEnd + 1
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads one escape at `pos` (the backslash) and returns the scalar it stands for.
    private mutating func escapeScalar() throws -> Unicode.Scalar {
        let at = pos
        guard pos + 1 < end else { throw error("json.syntax", "unterminated escape") }
        let c = base[pos + 1]
        pos += 2
        switch c {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let hi = try hex4()
            if hi >= 0xD800 && hi < 0xDC00 {
                guard end - pos >= 6, base[pos] == UInt8(ascii: "\\"), base[pos + 1] == UInt8(ascii: "u") else {
                    throw JSONParseError(code: "json.escape", offset: at, message: "lone high surrogate \\u\(String(hi, radix: 16))")
                }
                pos += 2
                let lo = try hex4()
                guard lo >= 0xDC00 && lo < 0xE000 else {
                    throw JSONParseError(code: "json.escape", offset: at, message: "high surrogate not followed by a low surrogate")
                }
                return Unicode.Scalar(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))!
            }
            if hi >= 0xDC00 && hi < 0xE000 {
                throw JSONParseError(code: "json.escape", offset: at, message: "lone low surrogate \\u\(String(hi, radix: 16))")
            }
            return Unicode.Scalar(hi)!
        default:
            throw JSONParseError(code: "json.escape", offset: at, message: "invalid escape '\\\(Character(Unicode.Scalar(c)))'")
        }
    }

    private mutating func hex4() throws -> UInt32 {
        guard end - pos >= 4 else { throw error("json.escape", "truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = base[pos]
            let d: UInt32
            switch b {
            case 0x30...0x39: d = UInt32(b - 0x30)
            case 0x41...0x46: d = UInt32(b - 0x41 + 10)
            case 0x61...0x66: d = UInt32(b - 0x61 + 10)
            default: throw error("json.escape", "invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    /// Validates one multi-byte UTF-8 sequence at `pos` (Unicode 15, table 3-7).
    private mutating func skipUTF8Sequence() throws {
        let b0 = base[pos]
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        let n: Int
        switch b0 {
        case 0xC2...0xDF: n = 1
        case 0xE0: n = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: n = 2
        case 0xED: n = 2; hi = 0x9F
        case 0xF0: n = 3; lo = 0x90
        case 0xF1...0xF3: n = 3
        case 0xF4: n = 3; hi = 0x8F
        default: throw error("json.utf8", "invalid UTF-8 lead byte 0x\(String(b0, radix: 16, uppercase: true))")
        }
        guard end - pos > n else { throw error("json.utf8", "truncated UTF-8 sequence") }
        let b1 = base[pos + 1]
        guard b1 >= lo && b1 <= hi else { throw error("json.utf8", "invalid UTF-8 sequence") }
        var i = 2
        while i <= n {
            let b = base[pos + i]
            guard b >= 0x80 && b <= 0xBF else { throw error("json.utf8", "invalid UTF-8 continuation byte") }
            i += 1
        }
        pos += n + 1
    }

    private func error(_ code: String, _ message: String) -> JSONParseError {
        JSONParseError(code: code, offset: pos, message: message)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
