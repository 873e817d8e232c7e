#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A record or file that does not match its schema: `code` is a dotted reject reason
/// (`schema.type`, `schema.required`, ...) and `path` the field, e.g. `gen.sampler.top_p`.
public struct SchemaViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var path: String
    public var message: String
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// The subset of JSON Schema 2020-12 that cotforge's schemas use: `type`, `enum`, `const`,
/// `required`, `properties`, `additionalProperties`, `items`, `minimum`, `maximum`,
/// `minLength`, `pattern`, and `$ref` into `$defs`. Unknown keywords (titles, descriptions)
/// are ignored; an unsupported validation keyword is an error when the schema is compiled,
/// so the validator never silently accepts more than Python's `jsonschema` would.
public final class JSONSchema: @unchecked Sendable {
    final class Node: @unchecked Sendable {
        var types: Set<JSONKind>? = nil
        var enumValues: [JSONValue]? = nil
        var constValue: JSONValue? = nil
        var required: [String] = []
        var properties: [String: Node] = [:]
        var additional: Node? = nil
        var additionalForbidden = false
        var items: Node? = nil
        var minimum: Double? = nil
        var maximum: Double? = nil
        var minLength: Int? = nil
        var pattern: (source: String, regex: Regex<AnyRegexOutput>)? = nil
        var ref: String? = nil
        /// `properties` and `required` as UTF-8, for comparing keys in place (fast path).
        var propertyList: [(utf8: [UInt8], node: Node)] = []
        var requiredUTF8: [[UInt8]] = []

        /// True when any string passes (so a caller need not decode the string to check it).
        var acceptsAnyString: Bool {
            ref == nil && enumValues == nil && constValue == nil && minLength == nil && pattern == nil
                && (types == nil || types!.contains(.string))
        }
    }

    private let root: Node
    private var defs: [String: Node] = [:]
    /// The root with references followed, computed once (hot path of `validateMember`).
    private var resolvedRoot: Node? = nil

    /// Compiles a schema from its JSON text; throws `SchemaViolation` (code `schema.invalid`)
    /// for schemas that use keywords this validator does not implement.
    public init(text: String) throws {
        let value = try JSONScanner.parse(text)
        guard case .object(let obj) = value else {
            throw SchemaViolation(code: "schema.invalid", path: "", message: "a schema must be an object")
        }
        root = Node()
        if case .object(let d)? = obj["$defs"] {
            for (name, _) in d { defs[name] = Node() }
            for (name, v) in d { try JSONSchema.compile(v, into: defs[name]!, path: "$defs/\(name)") }
        }
        try JSONSchema.compile(value, into: root, path: "")
        resolvedRoot = resolve(root)
    }

    private static let ignored: Set<String> = ["$schema", "$id", "$defs", "title", "description", "$comment", "default", "examples"]

    private static func compile(_ value: JSONValue, into node: Node, path: String) throws {
        guard case .object(let obj) = value else {
            throw SchemaViolation(code: "schema.invalid", path: path, message: "a schema must be an object")
        }
        for (key, v) in obj {
            switch key {
            case "type":
                var set = Set<JSONKind>()
                let names = v.arrayValue?.compactMap(\.stringValue) ?? [v.stringValue].compactMap { $0 }
                for n in names {
                    guard let k = JSONKind(rawValue: n) else {
                        throw SchemaViolation(code: "schema.invalid", path: path, message: "unknown type \(n)")
                    }
                    set.insert(k)
                }
                node.types = set
            case "enum": node.enumValues = v.arrayValue
            case "const": node.constValue = v
            case "required":
                node.required = v.arrayValue?.compactMap(\.stringValue) ?? []
                node.requiredUTF8 = node.required.map { Array($0.utf8) }
            case "properties":
                for (name, sub) in v.objectValue ?? JSONObject() {
                    let n = Node()
                    try compile(sub, into: n, path: path + "/properties/" + name)
                    node.properties[name] = n
                    node.propertyList.append((Array(name.utf8), n))
                }
            case "additionalProperties":
                if case .bool(let b) = v { node.additionalForbidden = !b } else {
                    let n = Node()
                    try compile(v, into: n, path: path + "/additionalProperties")
                    node.additional = n
                }
            case "items":
                let n = Node()
                try compile(v, into: n, path: path + "/items")
                node.items = n
            case "minimum": node.minimum = v.doubleValue
            case "maximum": node.maximum = v.doubleValue
            case "minLength": node.minLength = v.intValue
            case "pattern":
                guard let s = v.stringValue, let r = try? Regex(s) else {
                    throw SchemaViolation(code: "schema.invalid", path: path, message: "invalid pattern")
                }
                node.pattern = (s, r)
            case "$ref":
                guard let s = v.stringValue, s.hasPrefix("#/$defs/") else {
                    throw SchemaViolation(code: "schema.invalid", path: path, message: "only #/$defs/ references are supported")
                }
                node.ref = String(s.dropFirst("#/$defs/".count))
            default:
                if !ignored.contains(key) {
                    throw SchemaViolation(code: "schema.invalid", path: path, message: "keyword \(key) is not supported by cotforge's validator")
                }
            }
        }
    }

    /// Validates a whole value; returns the first violation found, or nil.
    public func validate(_ value: JSONValue) -> SchemaViolation? {
        check(value, root, path: "")
    }

    /// Names that must be present at the top level.
    public var requiredKeys: [String] { resolve(root).required }

    /// How a top-level field is checked, looked up once per key (`rule(forKey:)`) so that hot
    /// loops can cache it by field position instead of hashing the key for every record.
    public struct MemberRule: @unchecked Sendable {
        fileprivate let node: Node?
        fileprivate let forbidden: Bool
        /// True when any string value passes without being decoded.
        public let acceptsAnyString: Bool
    }

    /// The rule for a top-level field.
    public func rule(forKey key: String) -> MemberRule {
        let r = resolvedRoot ?? resolve(root)
        if let n = r.properties[key] { return MemberRule(node: n, forbidden: false, acceptsAnyString: resolve(n).acceptsAnyString) }
        if r.additionalForbidden { return MemberRule(node: nil, forbidden: true, acceptsAnyString: false) }
        if let a = r.additional { return MemberRule(node: a, forbidden: false, acceptsAnyString: resolve(a).acceptsAnyString) }
        return MemberRule(node: nil, forbidden: false, acceptsAnyString: true)
    }

    /// Validates a top-level member in place: `range` locates its value in `object`, which
    /// `JSONScanner` has validated. The common case (valid) builds nothing; only a value that
    /// may be invalid is parsed, to be checked and described exactly as `validate` would.
    public func validateMember(key: String, rule: MemberRule, kind: JSONKind,
                               object: UnsafeRawBufferPointer, range: Range<Int>) -> SchemaViolation? {
        if rule.forbidden { return SchemaViolation(code: "schema.additional", path: key, message: "field is not allowed") }
        guard let node = rule.node else { return nil }
        if kind == .string && rule.acceptsAnyString { return nil }
        var c = JSONCursor(object, at: range.lowerBound, end: range.upperBound)
        if surelyValid(&c, node) { return nil }
        let value = (try? JSONScanner.parseValue(object, range: range)) ?? .null
        return check(value, node, path: key)
    }

    /// True when the value at the cursor certainly satisfies `node`; false when it must be
    /// checked the slow way (it may still be valid: escaped keys, enums, patterns, 1.0 as an
    /// integer are left to `check`). Always moves the cursor past the value.
    private func surelyValid(_ c: inout JSONCursor, _ node: Node) -> Bool {
        let n = resolve(node)
        let k = c.kind()
        var ok = true
        if let types = n.types {
            switch k {
            case .integer: ok = types.contains(.integer) || types.contains(.number)
            case .number: ok = types.contains(.number)
            default: ok = types.contains(k)
            }
        }
        if n.enumValues != nil || n.constValue != nil { ok = false }
        switch k {
        case .string:
            _ = c.string()
            if n.minLength != nil || n.pattern != nil { ok = false }
        case .integer, .number:
            let r = c.scalar()
            if ok, n.minimum != nil || n.maximum != nil {
                let negative = c.buffer[r.lowerBound] == UInt8(ascii: "-")
                if let m = n.minimum, !(m <= 0 && !negative) { ok = false }
                if n.maximum != nil { ok = false }
            }
        case .boolean, .null:
            _ = c.scalar()
        case .array:
            c.forEachElement { e in
                if ok, let items = n.items { ok = surelyValid(&e, items) } else { e.skipValue() }
            }
        case .object:
            var seen: UInt64 = 0
            if n.requiredUTF8.count > 64 { ok = false }
            c.forEachMember { key, v in
                guard ok else { v.skipValue(); return }
                if memchr(v.buffer.baseAddress! + key.lowerBound, 0x5C, key.count) != nil { ok = false; v.skipValue(); return }
                for (j, r) in n.requiredUTF8.enumerated() where j < 64 && v.bytesEqual(key, r) { seen |= 1 << UInt64(j) }
                if let p = n.propertyList.first(where: { v.bytesEqual(key, $0.utf8) }) {
                    ok = surelyValid(&v, p.node)
                } else if n.additionalForbidden {
                    ok = false; v.skipValue()
                } else if let a = n.additional {
                    ok = surelyValid(&v, a)
                } else {
                    v.skipValue()
                }
            }
            let count = n.requiredUTF8.count
            if count > 0 && count <= 64 && seen != (count == 64 ? UInt64.max : (1 << UInt64(count)) - 1) { ok = false }
        }
        return ok
    }

    private func resolve(_ node: Node) -> Node {
        var n = node
        var hops = 0
        while let r = n.ref, let target = defs[r], hops < 64 { n = target; hops += 1 }
        return n
    }

    private static func isInteger(_ v: JSONValue) -> Bool {
        guard case .number(let s) = v else { return false }
        if JSONKind.ofNumberLexeme(s) == .integer { return true }
        // JSON Schema counts 1.0 as an integer (the value, not the spelling, decides).
        guard let d = Double(s), d.isFinite else { return false }
        return d == d.rounded()
    }

    private static func kindName(_ v: JSONValue) -> String {
        v.kind == .integer ? "integer" : v.kind.rawValue
    }

    private func check(_ value: JSONValue, _ node: Node, path: String) -> SchemaViolation? {
        let node = resolve(node)
        if let types = node.types {
            let ok = types.contains { t in
                switch t {
                case .number: if case .number = value { return true } else { return false }
                case .integer: return JSONSchema.isInteger(value)
                default: return value.kind == t
                }
            }
            if !ok {
                let want = types.map(\.rawValue).sorted().joined(separator: " or ")
                return SchemaViolation(code: "schema.type", path: path, message: "expected \(want), found \(JSONSchema.kindName(value))")
            }
        }
        if let c = node.constValue, !JSONSchema.same(c, value) {
            return SchemaViolation(code: "schema.const", path: path, message: "must be \(JSONSerializer.string(c))")
        }
        if let e = node.enumValues, !e.contains(where: { JSONSchema.same($0, value) }) {
            let list = e.map { JSONSerializer.string($0) }.joined(separator: ", ")
            return SchemaViolation(code: "schema.enum", path: path, message: "\(JSONSerializer.string(value)) is not one of \(list)")
        }
        switch value {
        case .number(let s):
            // Most numbers are non-negative against a minimum of 0: decide that without strtod.
            let negative = s.utf8.first == UInt8(ascii: "-")
            if let m = node.minimum, !(m <= 0 && !negative) {
                if let d = Double(s), d < m {
                    return SchemaViolation(code: "schema.minimum", path: path, message: "\(s) is below the minimum \(m)")
                }
            }
            if let m = node.maximum, let d = Double(s), d > m {
                return SchemaViolation(code: "schema.maximum", path: path, message: "\(s) is above the maximum \(m)")
            }
        case .string(let s):
            if let m = node.minLength, s.unicodeScalars.count < m {
                return SchemaViolation(code: "schema.min_length", path: path, message: "shorter than \(m) characters")
            }
            if let p = node.pattern, (try? p.regex.firstMatch(in: s)) == nil {
                return SchemaViolation(code: "schema.pattern", path: path, message: "does not match \(p.source)")
            }
        case .array(let a):
            if let items = node.items {
                for (i, v) in a.enumerated() {
                    if let e = check(v, items, path: path + "[\(i)]") { return e }
                }
            }
        case .object(let o):
            for r in node.required where o[r] == nil {
                return SchemaViolation(code: "schema.required", path: path.isEmpty ? r : path + "." + r, message: "required field is missing")
            }
            for (k, v) in o {
                let sub = Self.SubPath(parent: path, key: k)
                if let p = node.properties[k] {
                    if let e = check(v, p, subPath: sub) { return e }
                } else if node.additionalForbidden {
                    return SchemaViolation(code: "schema.additional", path: sub.string, message: "field is not allowed")
                } else if let a = node.additional {
                    if let e = check(v, a, subPath: sub) { return e }
                }
            }
        default: break
        }
        return nil
    }

    /// A child path, turned into a string only when a violation needs it.
    private struct SubPath {
        let parent: String, key: String
        var string: String { parent.isEmpty ? key : parent + "." + key }
    }

    private func check(_ value: JSONValue, _ node: Node, subPath: SubPath) -> SchemaViolation? {
        switch value {
        case .object, .array: return check(value, node, path: subPath.string)
        default:
            guard var v = check(value, node, path: "") else { return nil }
            v.path = subPath.string
            return v
        }
    }

    /// Equality as JSON Schema defines it (numbers by value, not spelling).
    private static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if case .number(let x) = a, case .number(let y) = b { return Double(x) == Double(y) }
        return a == b
    }

    /// The compiled schema for example records.
    public static let example = builtIn(Schemas.example)
    /// The compiled schema for reject records.
    public static let reject = builtIn(Schemas.reject)
    /// The compiled schema for manifests.
    public static let manifest = builtIn(Schemas.manifest)

    /// Built-in schemas are string literals in this module, compiled by a test: failing here is
    /// a bug in cotforge itself, never a consequence of input.
    private static func builtIn(_ text: String) -> JSONSchema {
        do { return try JSONSchema(text: text) } catch {
            preconditionFailure("built-in schema does not compile: \(error)")
        }
    }
}
