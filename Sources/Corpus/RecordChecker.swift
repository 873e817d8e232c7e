/// Checks lines against a schema: JSON syntax, an object, UTF-8, no duplicate keys, every
/// field against the schema, required fields present (a missing `id` is allowed when
/// `deriveIDs`). Long string fields are checked by kind without being decoded, nested values
/// in place (`JSONSchema.validateMember(…object:range:)`): a valid record builds no values.
///
/// One checker serves a stream of records: it reuses its members buffer and caches the rule of
/// each field position (records repeat their key order), so the steady state costs a string
/// compare per field instead of a hash lookup. Not thread-safe.
public final class RecordChecker {
    public let schema: JSONSchema
    public let required: [String]
    public let deriveIDs: Bool
    private var scratch: [JSONMember] = []
    private var ruleCache: [(key: String, rule: JSONSchema.MemberRule)] = []

    public init(schema: JSONSchema = .example, required: [String]? = nil, deriveIDs: Bool = false) {
        self.schema = schema
        self.required = required ?? schema.requiredKeys
        self.deriveIDs = deriveIDs
        scratch.reserveCapacity(32)
    }

    private func rule(at i: Int, key: String) -> JSONSchema.MemberRule {
        if i < ruleCache.count, ruleCache[i].key == key { return ruleCache[i].rule }
        let r = schema.rule(forKey: key)
        if i < ruleCache.count { ruleCache[i] = (key, r) } else if i == ruleCache.count { ruleCache.append((key, r)) }
        return r
    }

    public func check(_ bytes: UnsafeRawBufferPointer) -> RecordReader.LineCheck {
        let range: Range<Int>
        do {
            range = try JSONScanner.scanObject(bytes, into: &scratch)
        } catch let e as JSONParseError {
            return .invalid(reason: e.code, detail: "\(e.message) at byte \(e.offset) of the line", id: nil, object: nil)
        } catch {
            return .invalid(reason: "json.syntax", detail: "\(error)", id: nil, object: nil)
        }
        let object = UnsafeRawBufferPointer(rebasing: bytes[range])
        var id: String? = nil
        for i in scratch.indices {
            let key = scratch[i].key, kind = scratch[i].kind, r = scratch[i].range
            if kind == .string && key == "id" { id = try? JSONScanner.decodeString(object, at: r.lowerBound) }
            if let v = schema.validateMember(key: key, rule: rule(at: i, key: key), kind: kind, object: object, range: r) {
                return .invalid(reason: v.code, detail: v.description, id: id, object: range)
            }
        }
        for key in required where !scratch.contains(where: { $0.key == key }) {
            if key == "id" && deriveIDs { continue }
            return .invalid(reason: "schema.required", detail: "\(key): required field is missing", id: id, object: range)
        }
        return .record(members: scratch, range: range, id: id)
    }
}
