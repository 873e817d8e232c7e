/// What one stage did: records in, kept, and dropped by reason. Owned by the runner, never by
/// the stage itself. Invariant: `input == kept + dropped.values.sum()`.
public struct StageCounts: Sendable, Equatable {
    public var name: String
    public var input = 0
    public var kept = 0
    public var dropped: [String: Int] = [:]
    public var seconds: Double = 0

    public init(name: String) { self.name = name }

    public var droppedTotal: Int { dropped.values.reduce(0, +) }
    public var balanced: Bool { input == kept + droppedTotal }

    public mutating func keep() { input += 1; kept += 1 }
    public mutating func drop(_ reason: String) { input += 1; dropped[reason, default: 0] += 1 }

    /// The JSON form used in manifests.
    public var json: JSONValue {
        var o = JSONObject()
        o["name"] = .string(name)
        o["in"] = .int(input)
        o["kept"] = .int(kept)
        o["dropped"] = .object(JSONObject(dropped.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
        o["seconds"] = .double((seconds * 1000).rounded() / 1000)
        return .object(o)
    }
}
