/// A dropped input and why (`schemas/reject.schema.json`). Nothing is dropped silently: every
/// record a stage does not keep becomes one of these, holding the record itself or its line.
public struct Reject: Sendable {
    public enum Payload: Sendable {
        /// The record's JSON object text, as it was read.
        case record([UInt8])
        /// A line that was valid UTF-8 but not a usable JSON object.
        case raw(String)
        /// A line that was not valid UTF-8.
        case rawBase64(String)
    }

    public var stage: String
    /// Dotted reason (`json.syntax`, `schema.type`, `id.duplicate`, ...).
    public var reason: String
    public var detail: String?
    public var file: String?
    public var line: Int?
    public var offset: Int64?
    public var id: String?
    public var payload: Payload
    /// The original line's length in bytes, for raw payloads.
    public var rawBytes: Int?
    /// True when only the start of an over-limit line is kept.
    public var truncated = false

    public init(stage: String, reason: String, detail: String? = nil, file: String? = nil, line: Int? = nil,
                offset: Int64? = nil, id: String? = nil, payload: Payload, rawBytes: Int? = nil, truncated: Bool = false) {
        self.stage = stage; self.reason = reason; self.detail = detail; self.file = file; self.line = line
        self.offset = offset; self.id = id; self.payload = payload; self.rawBytes = rawBytes; self.truncated = truncated
    }

    /// Builds the payload for a line that could not be used: text when it is valid UTF-8, else base64.
    public static func payload(forLine bytes: UnsafeRawBufferPointer) -> Payload {
        if let s = String(validating: bytes, as: UTF8.self) { return .raw(s) }
        return .rawBase64(base64(bytes))
    }

    /// The reject as one JSON Lines line (without newline).
    public var jsonBytes: [UInt8] {
        var o = JSONObject()
        o["stage"] = .string(stage)
        o["reason"] = .string(reason)
        if let d = detail { o["detail"] = .string(d) }
        if let f = file { o["file"] = .string(f) }
        if let l = line { o["line"] = .int(l) }
        if let off = offset { o["offset"] = .number(String(off)) }
        if let i = id { o["id"] = .string(i) }
        switch payload {
        case .record:
            break
        case .raw(let s):
            o["raw"] = .string(s)
        case .rawBase64(let s):
            o["raw_base64"] = .string(s)
        }
        if let n = rawBytes { o["raw_bytes"] = .int(n) }
        if truncated { o["raw_truncated"] = .bool(true) }
        var out = JSONSerializer.bytes(.object(o))
        if case .record(let bytes) = payload {
            // Splice the record's original text in, so it is kept byte for byte.
            out.removeLast()
            out.append(contentsOf: #","record":"#.utf8)
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "}"))
        }
        return out
    }
}

private let base64Alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

/// Standard base64 (RFC 4648) with padding.
public func base64(_ bytes: UnsafeRawBufferPointer) -> String {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var i = 0
    while i + 3 <= bytes.count {
        let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
        for s in [18, 12, 6, 0] { out.append(base64Alphabet[Int((v >> UInt32(s)) & 63)]) }
        i += 3
    }
    let rest = bytes.count - i
    if rest > 0 {
        var v = UInt32(bytes[i]) << 16
        if rest == 2 { v |= UInt32(bytes[i + 1]) << 8 }
        out.append(base64Alphabet[Int((v >> 18) & 63)])
        out.append(base64Alphabet[Int((v >> 12) & 63)])
        out.append(rest == 2 ? base64Alphabet[Int((v >> 6) & 63)] : UInt8(ascii: "="))
        out.append(UInt8(ascii: "="))
    }
    return String(decoding: out, as: UTF8.self)
}
