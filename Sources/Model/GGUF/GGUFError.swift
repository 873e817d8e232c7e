/// A GGUF file cannot be used: names the file, the byte offset where reading failed when
/// known, what is wrong, and what to do.
public struct GGUFError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var offset: Int?
    public var message: String
    public var hint: String?

    public init(path: String, offset: Int? = nil, message: String, hint: String? = nil) {
        self.path = path; self.offset = offset; self.message = message; self.hint = hint
    }

    public var description: String {
        var s = path
        if let o = offset { s += " (byte \(o))" }
        s += ": " + message
        if let h = hint { s += " — " + h }
        return s
    }
}

/// Reads little-endian values from a byte range, throwing (never trapping) when bytes run out.
struct BinaryCursor {
    let base: UnsafeRawPointer
    let count: Int
    var pos: Int
    let path: String

    init(_ buffer: UnsafeRawBufferPointer, path: String, at pos: Int = 0) {
        base = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        count = buffer.count
        self.pos = pos
        self.path = path
    }

    func error(_ message: String, at: Int? = nil, hint: String? = nil) -> GGUFError {
        GGUFError(path: path, offset: at ?? pos, message: message, hint: hint)
    }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= count - pos else {
            throw error("file ends inside \(what) (needs \(n) bytes, \(count - pos) left)", hint: "the file is truncated or not GGUF")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: T.self))
        pos += MemoryLayout<T>.size
        return v
    }

    mutating func float32(_ what: String) throws -> Float { Float(bitPattern: try read(UInt32.self, what)) }
    mutating func float64(_ what: String) throws -> Double { Double(bitPattern: try read(UInt64.self, what)) }

    /// A count stored as u64, checked against a sanity limit.
    mutating func count(_ what: String, limit: UInt64) throws -> Int {
        let at = pos
        let n = try read(UInt64.self, what)
        guard n <= limit else { throw error("\(what) is \(n), more than the \(limit) this reader accepts", at: at, hint: "the file is corrupt") }
        return Int(n)
    }

    /// A GGUF string: u64 length + UTF-8 bytes (not NUL-terminated).
    mutating func string(_ what: String) throws -> String {
        let at = pos
        let n = try count("length of \(what)", limit: UInt64(Int32.max))
        try need(n, what)
        let bytes = UnsafeRawBufferPointer(start: base + pos, count: n)
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw error("\(what) is not valid UTF-8", at: at)
        }
        pos += n
        return s
    }
}
