import Hashing
import Foundation

/// Checks the thought/answer structure. A record's thought is its `reasoning` field, or a
/// `<think>…</think>` pair inside `answer` (R1-style raw output). Reasons:
/// `format.no_think`, `format.empty_think`, `format.empty_answer`, `format.multiple_think`,
/// `format.unbalanced_think` (a stray or nested tag).
public struct FormatStage: Stage {
    public let name = "format"
    /// Require a thought (in `reasoning` or as a think pair in `answer`).
    public var requireThink = true
    /// Require a non-empty answer after the thought.
    public var requireAnswer = true

    public init(requireThink: Bool = true, requireAnswer: Bool = true) {
        self.requireThink = requireThink
        self.requireAnswer = requireAnswer
    }

    static func count(_ s: String, _ needle: String) -> Int { s.components(separatedBy: needle).count - 1 }

    public mutating func process(_ r: inout Example) throws -> Verdict {
        let reasoning = r.reasoning ?? ""
        var answer = r.answer ?? ""
        var thought = reasoning
        let opens = FormatStage.count(answer, "<think>"), closes = FormatStage.count(answer, "</think>")
        if FormatStage.count(reasoning, "<think>") + FormatStage.count(reasoning, "</think>") > 0 && !reasoning.isEmpty {
            // A reasoning field holds the thought itself; tags inside it are malformed output.
            return .drop("format.unbalanced_think", detail: "think tags inside the reasoning field")
        }
        if opens > 1 || closes > 1 { return .drop("format.multiple_think", detail: "\(opens) <think> and \(closes) </think> in the answer") }
        if opens != closes { return .drop("format.unbalanced_think", detail: "\(opens) <think> and \(closes) </think> in the answer") }
        if opens == 1 {
            guard let o = answer.range(of: "<think>"), let c = answer.range(of: "</think>"), o.upperBound <= c.lowerBound else {
                return .drop("format.unbalanced_think", detail: "</think> before <think>")
            }
            guard reasoning.isEmpty else { return .drop("format.multiple_think", detail: "a thought in both reasoning and answer") }
            thought = String(answer[o.upperBound..<c.lowerBound])
            answer = String(answer[c.upperBound...])
        }
        if requireThink {
            if opens == 0 && reasoning.isEmpty && r.reasoning == nil { return .drop("format.no_think", detail: "no reasoning field and no <think> pair") }
            if thought.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .drop("format.empty_think", detail: "the thought is empty") }
        }
        if requireAnswer && answer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return .drop("format.empty_answer", detail: "nothing after the thought")
        }
        return .keep
    }
}

/// Bounds on the size of text fields: characters (Unicode scalars), words (whitespace-separated)
/// or tokens (through a `TokenCounter`). A missing field counts as empty. Reason:
/// `length.<field>.<unit>_below` or `_above`, e.g. `length.reasoning.tokens_above`.
public struct LengthStage: Stage {
    public enum Unit: String, Sendable { case chars, words, tokens }
    public struct Bound: Sendable, Equatable {
        public var field: String
        public var unit: Unit
        public var min: Int?
        public var max: Int?
        public init(field: String, unit: Unit, min: Int? = nil, max: Int? = nil) {
            self.field = field; self.unit = unit; self.min = min; self.max = max
        }
    }

    public let name = "length"
    public var bounds: [Bound]
    public var tokenizer: (any TokenCounter)?

    /// Throws when a bound counts tokens and no tokenizer is given.
    public init(bounds: [Bound], tokenizer: (any TokenCounter)? = nil) throws {
        if bounds.contains(where: { $0.unit == .tokens }) && tokenizer == nil {
            throw SplitError(message: "token bounds need a tokenizer (pass --model)")
        }
        self.bounds = bounds
        self.tokenizer = tokenizer
    }

    /// Parses "field:unit=N" (e.g. "reasoning:tokens=2048"); unit defaults to chars.
    public static func parse(_ spec: String, isMin: Bool) throws -> Bound {
        let parts = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let n = Int(parts[1]), n >= 0 else {
            throw SplitError(message: "\(spec): expected field[:chars|words|tokens]=N, e.g. reasoning:tokens=2048")
        }
        let lhs = parts[0].split(separator: ":").map(String.init)
        guard let field = lhs.first, !field.isEmpty, lhs.count <= 2, let unit = Unit(rawValue: lhs.count == 2 ? lhs[1] : "chars") else {
            throw SplitError(message: "\(spec): expected field[:chars|words|tokens]=N")
        }
        return Bound(field: field, unit: unit, min: isMin ? n : nil, max: isMin ? nil : n)
    }

    public mutating func process(_ r: inout Example) throws -> Verdict {
        for b in bounds {
            let text = r[b.field]?.stringValue ?? ""
            let n: Int
            switch b.unit {
            case .chars: n = text.unicodeScalars.count
            case .words: n = text.split(whereSeparator: { $0.isWhitespace }).count
            case .tokens: n = tokenizer?.countTokens(text) ?? 0
            }
            if let lo = b.min, n < lo { return .drop("length.\(b.field).\(b.unit.rawValue)_below", detail: "\(n) \(b.unit.rawValue), minimum \(lo)") }
            if let hi = b.max, n > hi { return .drop("length.\(b.field).\(b.unit.rawValue)_above", detail: "\(n) \(b.unit.rawValue), maximum \(hi)") }
        }
        return .keep
    }
}

/// Drops records whose key (one or more fields joined) was already seen, after normalization
/// (lowercase, punctuation removed, whitespace folded). Keeps the first occurrence; memory
/// holds 16 bytes per distinct key. Reason: `dedup.exact`.
public struct ExactDedupStage: Stage {
    public let name = "dedup"
    public var fields: [String]
    private var seen = Set<StringKey128>()


    public init(fields: [String]) { self.fields = fields }

    /// Lowercase, punctuation and symbols dropped, runs of whitespace as one space.
    public static func normalize(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var space = false
        for u in s.lowercased().unicodeScalars {
            if u.properties.isWhitespace { space = !out.isEmpty; continue }
            switch u.properties.generalCategory {
            case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                 .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                continue
            default:
                if space { out.append(" "); space = false }
                out.append(u)
            }
        }
        return String(out)
    }

    public mutating func process(_ r: inout Example) throws -> Verdict {
        let key = fields.map { ExactDedupStage.normalize(r[$0]?.stringValue ?? (r[$0].map { JSONSerializer.string($0) } ?? "")) }
            .joined(separator: "\u{1F}")
        guard seen.insert(StringKey128(key)).inserted else {
            return .drop("dedup.exact", detail: "same \(fields.joined(separator: "+")) as an earlier record")
        }
        return .keep
    }
}
