/// A JSON value that keeps what was written: object keys in their original order and
/// numbers as their original lexeme (`1.0` stays `1.0`, `12345678901234567890` stays exact),
/// so a record read and written back keeps every key and value.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number exactly as written in the input (already checked against the JSON grammar).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The JSON kind, as JSON Schema names it (`integer` for numbers without fraction or exponent).
    public var kind: JSONKind {
        switch self {
        case .null: return .null
        case .bool: return .boolean
        case .number(let s): return JSONKind.ofNumberLexeme(s)
        case .string: return .string
        case .array: return .array
        case .object: return .object
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    /// The number as a Double, or nil when this is not a number.
    public var doubleValue: Double? { if case .number(let s) = self { return Double(s) } else { return nil } }
    /// The number as an Int when it is an integer lexeme that fits, else nil.
    public var intValue: Int? { if case .number(let s) = self { return Int(s) } else { return nil } }

    /// A number value from an Int.
    public static func int(_ v: Int) -> JSONValue { .number(String(v)) }
    /// A number value from a Double; non-finite values have no JSON form and become null.
    public static func double(_ v: Double) -> JSONValue {
        guard v.isFinite else { return .null }
        if v == v.rounded(), abs(v) < 1e15 { return .number(String(Int(v)) + ".0") }
        return .number("\(v)")
    }
}

/// JSON kinds with JSON Schema's names.
public enum JSONKind: String, Sendable, CaseIterable {
    case null, boolean, integer, number, string, array, object

    public static func ofNumberLexeme(_ s: String) -> JSONKind {
        for b in s.utf8 where b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
            return .number
        }
        return .integer
    }
}

/// A JSON object with keys in insertion order. Records have a dozen keys, so lookup is linear.
public struct JSONObject: Sendable, Equatable, Sequence {
    public private(set) var keys: [String] = []
    public private(set) var values: [JSONValue] = []

    public init() {}

    /// Builds an object from pairs; a repeated key keeps its first position and last value.
    public init(_ pairs: [(String, JSONValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public func index(of key: String) -> Int? { keys.firstIndex(of: key) }

    /// Reads or sets a key. Setting nil removes it; setting a new key appends it at the end.
    public subscript(key: String) -> JSONValue? {
        get { index(of: key).map { values[$0] } }
        set {
            if let i = index(of: key) {
                if let v = newValue { values[i] = v } else { keys.remove(at: i); values.remove(at: i) }
            } else if let v = newValue {
                keys.append(key); values.append(v)
            }
        }
    }

    /// Inserts a key at a position (used to put a derived `id` first). Replaces it if present.
    public mutating func insert(_ key: String, _ value: JSONValue, at position: Int) {
        if let i = index(of: key) { keys.remove(at: i); values.remove(at: i) }
        let p = Swift.min(Swift.max(0, position), keys.count)
        keys.insert(key, at: p); values.insert(value, at: p)
    }

    public func makeIterator() -> Zip2Sequence<[String], [JSONValue]>.Iterator {
        zip(keys, values).makeIterator()
    }
}
