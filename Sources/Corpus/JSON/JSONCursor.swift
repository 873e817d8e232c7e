#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A cursor over JSON text that `JSONScanner` has already validated: it walks values without
/// building them and without error handling (on unvalidated input its results are undefined,
/// but it never reads outside the buffer). Hot paths use it to look at nested values, such as
/// checking them against a schema or hashing their shape, without allocating.
public struct JSONCursor {
    public let buffer: UnsafeRawBufferPointer
    public private(set) var pos: Int
    private let end: Int

    public init(_ buffer: UnsafeRawBufferPointer, at pos: Int, end: Int? = nil) {
        self.buffer = buffer
        self.pos = pos
        self.end = end ?? buffer.count
    }

    @inline(__always) func byte(_ i: Int) -> UInt8 { i < end ? buffer[i] : 0 }

    @inline(__always) public mutating func skipWhitespace() {
        while pos < end {
            let b = buffer[pos]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { pos += 1 } else { return }
        }
    }

    /// The kind of the value at the cursor (numbers: `integer` when written without fraction or exponent).
    public func kind() -> JSONKind {
        switch byte(pos) {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .boolean
        case UInt8(ascii: "n"): return .null
        default:
            var i = pos
            while i < end {
                let b = buffer[i]
                if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") { return .number }
                if !(b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || (b &- 0x30) < 10) { break }
                i += 1
            }
            return .integer
        }
    }

    /// Moves past the string at the cursor; returns the range of its body (without quotes) and
    /// whether the body holds an escape.
    public mutating func string() -> (body: Range<Int>, escaped: Bool) {
        let start = pos + 1
        var i = start
        var escaped = false
        while i < end {
            let b = buffer[i]
            if b == UInt8(ascii: "\\") { escaped = true; i += 2; continue }
            if b == UInt8(ascii: "\"") { break }
            i += 1
        }
        pos = Swift.min(i + 1, end)
        return (start..<Swift.min(i, end), escaped)
    }

    /// Moves past the scalar (number, true, false, null) at the cursor; returns its range.
    public mutating func scalar() -> Range<Int> {
        let start = pos
        while pos < end {
            let b = buffer[pos]
            if b == UInt8(ascii: ",") || b == UInt8(ascii: "}") || b == UInt8(ascii: "]") || b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { break }
            pos += 1
        }
        return start..<pos
    }

    /// Moves past the value at the cursor, whatever it is.
    public mutating func skipValue() {
        switch kind() {
        case .string: _ = string()
        case .object: forEachMember { _, c in c.skipValue() }
        case .array: forEachElement { $0.skipValue() }
        default: _ = scalar()
        }
    }

    /// At an object: calls `body` with each key's body range and the cursor at its value; `body`
    /// must move the cursor past the value. Leaves the cursor after the closing brace.
    public mutating func forEachMember(_ body: (_ keyBody: Range<Int>, _ cursor: inout JSONCursor) -> Void) {
        pos += 1
        while true {
            skipWhitespace()
            if byte(pos) == UInt8(ascii: "}") || pos >= end { pos += 1; return }
            let key = string().body
            skipWhitespace()
            pos += 1  // ':'
            skipWhitespace()
            body(key, &self)
            skipWhitespace()
            if byte(pos) == UInt8(ascii: ",") { pos += 1 }
        }
    }

    /// At an array: calls `body` with the cursor at each element; `body` must move past it.
    public mutating func forEachElement(_ body: (_ cursor: inout JSONCursor) -> Void) {
        pos += 1
        while true {
            skipWhitespace()
            if byte(pos) == UInt8(ascii: "]") || pos >= end { pos += 1; return }
            body(&self)
            skipWhitespace()
            if byte(pos) == UInt8(ascii: ",") { pos += 1 }
        }
    }

    /// True when the bytes in `range` equal `utf8`.
    public func bytesEqual(_ range: Range<Int>, _ utf8: [UInt8]) -> Bool {
        guard range.count == utf8.count else { return false }
        if utf8.isEmpty { return true }
        return utf8.withUnsafeBytes { memcmp(buffer.baseAddress! + range.lowerBound, $0.baseAddress!, utf8.count) == 0 }
    }
}
