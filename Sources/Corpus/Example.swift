/// One corpus record (`schemas/example.schema.json`). Fields this type has no accessor for are
/// kept in `fields` and written back unchanged, in their original order.
public struct Example: Sendable, Equatable {
    public var fields: JSONObject

    public init(_ fields: JSONObject = JSONObject()) { self.fields = fields }

    /// Parses one record from JSON text; throws `JSONParseError` (`json.not_object` for non-objects).
    public init(json: String) throws {
        guard case .object(let o) = try JSONScanner.parse(json) else {
            throw JSONParseError(code: "json.not_object", offset: 0, message: "a record must be a JSON object")
        }
        fields = o
    }

    /// Parses one record from UTF-8 bytes.
    public init(bytes: UnsafeRawBufferPointer) throws {
        guard case .object(let o) = try JSONScanner.parse(bytes) else {
            throw JSONParseError(code: "json.not_object", offset: 0, message: "a record must be a JSON object")
        }
        fields = o
    }

    /// The compact JSON form (one JSON Lines line, without the newline).
    public var jsonBytes: [UInt8] { JSONSerializer.bytes(.object(fields)) }
    public var jsonString: String { JSONSerializer.string(.object(fields)) }

    public subscript(key: String) -> JSONValue? {
        get { fields[key] }
        set { fields[key] = newValue }
    }

    private func string(_ key: String) -> String? { fields[key]?.stringValue }
    private mutating func setString(_ key: String, _ v: String?) { fields[key] = v.map { .string($0) } }

    public var id: String? { get { string("id") } set { setString("id", newValue) } }
    public var task: String? { get { string("task") } set { setString("task", newValue) } }
    public var question: String? { get { string("question") } set { setString("question", newValue) } }
    public var prompt: String? { get { string("prompt") } set { setString("prompt", newValue) } }
    public var reasoning: String? { get { string("reasoning") } set { setString("reasoning", newValue) } }
    public var answer: String? { get { string("answer") } set { setString("answer", newValue) } }
    public var gold: String? { get { string("gold") } set { setString("gold", newValue) } }
    public var pred: String? { get { string("pred") } set { setString("pred", newValue) } }
    public var mode: String? { get { string("mode") } set { setString("mode", newValue) } }
    public var label: String? { get { string("label") } set { setString("label", newValue) } }
    public var lenRatio: Double? {
        get { fields["len_ratio"]?.doubleValue }
        set { fields["len_ratio"] = newValue.map { .double($0) } }
    }
    public var stage: Int? {
        get { fields["stage"]?.intValue }
        set { fields["stage"] = newValue.map { .int($0) } }
    }

    /// Top-level fields that hold text for people (used by `inspect` and length statistics).
    public static let textFields = ["question", "prompt", "reasoning", "answer", "gold", "pred"]
}
