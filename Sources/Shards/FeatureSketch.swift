import Corpus

/// The column types seen in a dataset, merged record by record, in the terms of Hugging Face
/// `datasets` features (string, int64, float64, bool, struct, list). Used to write
/// `dataset_info.features` in the card. Columns whose values disagree (a string here, a number
/// there) make the sketch `conflicting`: the card then leaves features out and `datasets`
/// infers them (and would fail on such data anyway).
public indirect enum FeatureType: Equatable, Sendable {
    /// Only nulls seen so far.
    case null
    case string, int64, float64, bool
    case structure([(String, FeatureType)])
    case list(FeatureType)
    case conflict

    public static func == (a: FeatureType, b: FeatureType) -> Bool {
        switch (a, b) {
        case (.null, .null), (.string, .string), (.int64, .int64), (.float64, .float64), (.bool, .bool), (.conflict, .conflict): return true
        case (.list(let x), .list(let y)): return x == y
        case (.structure(let x), .structure(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The type of one JSON value.
    public init(_ v: JSONValue) {
        switch v {
        case .null: self = .null
        case .bool: self = .bool
        case .string: self = .string
        case .number(let s): self = JSONKind.ofNumberLexeme(s) == .integer ? .int64 : .float64
        case .array(let a): self = .list(a.reduce(FeatureType.null) { $0.merged(FeatureType($1)) })
        case .object(let o): self = .structure(o.map { ($0, FeatureType($1)) })
        }
    }

    /// The type of a top-level member known by kind alone (scalars), nil for containers.
    public init?(scalar kind: JSONKind) {
        switch kind {
        case .null: self = .null
        case .boolean: self = .bool
        case .string: self = .string
        case .integer: self = .int64
        case .number: self = .float64
        case .array, .object: return nil
        }
    }

    /// The least type holding both (int64 and float64 make float64, as Arrow infers).
    public func merged(_ other: FeatureType) -> FeatureType {
        switch (self, other) {
        case (.null, let x), (let x, .null): return x
        case (.conflict, _), (_, .conflict): return .conflict
        case (.int64, .float64), (.float64, .int64): return .float64
        case (.list(let a), .list(let b)): return .list(a.merged(b))
        case (.structure(let a), .structure(let b)):
            var fields = a
            for (k, t) in b {
                if let i = fields.firstIndex(where: { $0.0 == k }) { fields[i].1 = fields[i].1.merged(t) } else { fields.append((k, t)) }
            }
            return .structure(fields)
        default: return self == other ? self : .conflict
        }
    }

    public var hasConflict: Bool {
        switch self {
        case .conflict: return true
        case .list(let t): return t.hasConflict
        // Arrow has no struct without fields; such a column cannot be declared.
        case .structure(let f): return f.isEmpty || f.contains { $0.1.hasConflict }
        default: return false
        }
    }
}

extension JSONKind {
    var hashTag: Int {
        switch self {
        case .null: return 1
        case .boolean: return 2
        case .integer: return 3
        case .number: return 4
        case .string: return 5
        case .array: return 6
        case .object: return 7
        }
    }
}

/// Column types over a whole dataset, in first-seen column order.
/// Records mostly repeat a few shapes, so `add(_:kind:value:)` remembers a hash of each
/// shape seen per column and builds and merges a `FeatureType` only for a new one.
public struct FeatureSketch: Sendable {
    public private(set) var columns: [(String, FeatureType)] = []
    private var index: [String: Int] = [:]
    private var seenShapes: [Set<UInt64>] = []
    private var positionCache: [Int] = []
    private var lastShape: [UInt64] = []

    public init() {}

    public mutating func add(_ key: String, _ type: FeatureType) {
        if let i = index[key] {
            columns[i].1 = columns[i].1.merged(type)
        } else {
            index[key] = columns.count
            columns.append((key, type))
            seenShapes.append([])
            lastShape.append(0)
        }
    }

    /// Adds one top-level member of a record: `range` locates its value in `object` (validated
    /// JSON). `position` is the member's index in its record: the column found there last time
    /// is tried first. Only a shape not seen before in the column is parsed and merged.
    public mutating func add(_ key: String, kind: JSONKind, object: UnsafeRawBufferPointer, range: Range<Int>, position: Int = -1) {
        let shape: UInt64
        if kind == .object || kind == .array {
            var c = JSONCursor(object, at: range.lowerBound, end: range.upperBound)
            shape = FeatureSketch.shapeHash(&c)
        } else {
            shape = UInt64(kind.hashTag)
        }
        let column: Int?
        if position >= 0, position < positionCache.count, columns[positionCache[position]].0 == key {
            column = positionCache[position]
        } else {
            column = index[key]
            if let c = column, position >= 0 {
                if position < positionCache.count { positionCache[position] = c } else if position == positionCache.count { positionCache.append(c) }
            }
        }
        if let c = column, lastShape[c] == shape || seenShapes[c].contains(shape) { lastShape[c] = shape; return }
        if let t = FeatureType(scalar: kind) {
            add(key, t)
        } else if let v = try? JSONScanner.parseValue(object, range: range) {
            add(key, FeatureType(v))
        } else { return }
        let c = index[key]!
        seenShapes[c].insert(shape)
        lastShape[c] = shape
    }

    /// A hash of what decides a value's feature type: kinds, and keys of objects.
    static func shapeHash(_ c: inout JSONCursor) -> UInt64 {
        @inline(__always) func mix(_ h: UInt64, _ x: UInt64) -> UInt64 {
            var z = (h ^ x) &* 0x9E37_79B9_7F4A_7C15
            z ^= z >> 29
            return z &* 0xBF58_476D_1CE4_E5B9
        }
        let kind = c.kind()
        switch kind {
        case .object:
            var h: UInt64 = 0x51
            c.forEachMember { key, v in
                var kh: UInt64 = 0xcbf2_9ce4_8422_2325
                for i in key { kh = (kh ^ UInt64(v.buffer[i])) &* 0x0000_0100_0000_01B3 }
                h = mix(mix(h, kh), shapeHash(&v))
            }
            return h
        case .array:
            var h: UInt64 = 0xA7
            c.forEachElement { h = mix(h, shapeHash(&$0)) }
            return h
        case .string:
            _ = c.string()
        default:
            _ = c.scalar()
        }
        return UInt64(kind.hashTag)
    }

    public var hasConflict: Bool { columns.contains { $0.1.hasConflict } }

    /// YAML lines for `dataset_info.features` at the given indent, in `datasets`' card syntax.
    public func yaml(indent: Int) -> [String] {
        var lines: [String] = []
        FeatureSketch.emit(columns, indent: indent, into: &lines)
        return lines
    }

    private static func dtype(_ t: FeatureType) -> String? {
        switch t {
        case .null: return "'null'"  // quoted: a bare null is YAML's null, not the dtype
        case .string: return "string"
        case .int64: return "int64"
        case .float64: return "float64"
        case .bool: return "bool"
        default: return nil
        }
    }

    private static func emit(_ fields: [(String, FeatureType)], indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        for (name, t) in fields {
            lines.append("\(pad)- name: \(DatasetCard.yamlString(name))")
            emitType(t, key: "dtype", indent: indent + 2, into: &lines)
        }
    }

    private static func emitType(_ t: FeatureType, key: String, indent: Int, into lines: inout [String]) {
        let pad = String(repeating: " ", count: indent)
        if let d = dtype(t) { lines.append("\(pad)\(key): \(d)"); return }
        switch t {
        case .structure(let f):
            lines.append("\(pad)\(key == "dtype" ? "struct" : key):")
            emit(f, indent: indent, into: &lines)
        case .list(let inner):
            if let d = dtype(inner) {
                lines.append("\(pad)list: \(d)")
            } else if case .structure(let f) = inner {
                lines.append("\(pad)list:")
                emit(f, indent: indent, into: &lines)
            } else {
                lines.append("\(pad)list:")
                emitType(inner, key: "list", indent: indent + 2, into: &lines)
            }
        default: break
        }
    }
}
