import Foundation

/// Which rule found the answer in a response.
public enum AnswerRule: String, Sendable, CaseIterable {
    /// The last `\boxed{…}` (or `\fbox{…}`), nested braces respected.
    case boxed
    /// GSM8K's `#### 42`.
    case gsm8k
    /// "The (final) answer is …", "Answer: …".
    case answerIs = "answer_is"
    /// The last number in the text.
    case lastNumber = "last_number"
}

/// Finds the final answer in a model response.
public enum AnswerExtractor {
    /// The answer and the rule that found it; rules are tried in the order of `AnswerRule`.
    public static func extract(_ text: String) -> (answer: String, rule: AnswerRule)? {
        if let b = lastBoxed(text) { return (b, .boxed) }
        if let g = gsm8k(text) { return (g, .gsm8k) }
        if let a = answerIs(text) { return (a, .answerIs) }
        if let n = lastNumber(text) { return (n, .lastNumber) }
        return nil
    }

    /// Content of the last `\boxed{…}` / `\fbox{…}` whose braces balance.
    static func lastBoxed(_ text: String) -> String? {
        let s = Array(text.unicodeScalars)
        var best: String? = nil
        var i = 0
        while i < s.count {
            var matched = 0
            for macro in ["\\boxed", "\\fbox"] {
                let m = Array(macro.unicodeScalars)
                if i + m.count <= s.count, Array(s[i..<(i + m.count)]) == m { matched = m.count; break }
            }
            if matched == 0 { i += 1; continue }
            var j = i + matched
            while j < s.count, s[j] == " " { j += 1 }
            guard j < s.count, s[j] == "{" else { i += matched; continue }
            var depth = 0, k = j
            var end: Int? = nil
            while k < s.count {
                if s[k] == "{" { depth += 1 } else if s[k] == "}" { depth -= 1; if depth == 0 { end = k; break } }
                k += 1
            }
            if let e = end {
                var out = String.UnicodeScalarView()
                out.append(contentsOf: s[(j + 1)..<e])
                best = String(out).trimmingCharacters(in: .whitespacesAndNewlines)
                i = e + 1
            } else {
                i += matched
            }
        }
        return best
    }

    static func gsm8k(_ text: String) -> String? {
        guard let r = text.range(of: "####", options: .backwards) else { return nil }
        let rest = text[r.upperBound...]
        let line = rest.prefix { $0 != "\n" }.trimmingCharacters(in: .whitespaces)
        return line.isEmpty ? nil : line
    }

    static let answerIsPattern = try? NSRegularExpression(
        pattern: #"(?:the\s+(?:final\s+)?answer\s+is|final\s+answer\s*[:：]|answer\s*[:：])\s*[:：]?\s*(.+)"#, options: [.caseInsensitive])

    static func answerIs(_ text: String) -> String? {
        guard let re = answerIsPattern else { return nil }
        let ns = text as NSString
        guard let m = re.matches(in: text, range: NSRange(location: 0, length: ns.length)).last else { return nil }
        var a = ns.substring(with: m.range(at: 1))
        a = String(a.prefix { $0 != "\n" })
        // End at a sentence end ". " (not a decimal point).
        if let r = a.range(of: #"\.(\s|$)"#, options: .regularExpression) { a = String(a[..<r.lowerBound]) }
        a = a.trimmingCharacters(in: CharacterSet(charactersIn: " *`.").union(.whitespaces))
        return a.isEmpty ? nil : a
    }

    static let numberPattern = try? NSRegularExpression(pattern: #"-?\$?\d[\d,]*(?:\.\d+)?(?:/\d+)?"#)

    static func lastNumber(_ text: String) -> String? {
        guard let re = numberPattern else { return nil }
        let ns = text as NSString
        guard let m = re.matches(in: text, range: NSRange(location: 0, length: ns.length)).last else { return nil }
        var s = ns.substring(with: m.range)
        while s.hasSuffix(",") { s.removeLast() }
        return s
    }
}

/// Normalizes answers so that equal values compare equal: "1,000" = "1000" = "1000.0",
/// "\dfrac{1}{2}" = "1/2" = "0.5", "$5" = "5", "50\%" = "50", "x = 3" = "3", "−2" = "-2",
/// "5 \text{ cm}" = "5", LaTeX spacing ignored.
public enum AnswerNormalizer {
    /// The canonical text of an answer (numbers are compared by value in `equivalent`).
    public static func normalize(_ raw: String) -> String {
        var s = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        s = s.replacingOccurrences(of: "\u{2212}", with: "-")  // unicode minus
        for (a, b) in [("\\dfrac", "\\frac"), ("\\tfrac", "\\frac"), ("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""),
                       ("\\;", ""), ("\\:", ""), ("\\ ", ""), ("~", ""), ("\\%", "%"), ("\\$", "$"), ("^\\circ", ""), ("^{\\circ}", ""),
                       ("°", ""), ("\\displaystyle", "")] {
            s = s.replacingOccurrences(of: a, with: b)
        }
        // \text{…}, \mathrm{…}, \textbf{…}, \mbox{…} → their content
        s = s.replacingOccurrences(of: #"\\(?:text|textbf|mathrm|mbox|operatorname)\{([^{}]*)\}"#, with: "$1", options: .regularExpression)
        s = s.trimmingCharacters(in: CharacterSet(charactersIn: "$ ").union(.whitespaces))
        // A leading assignment: "x = 5", "y=5"
        s = s.replacingOccurrences(of: #"^[A-Za-z]\s*=\s*"#, with: "", options: .regularExpression)
        // Thousands separators: 1,000,000 → 1000000 (only well-formed groups of three).
        s = s.replacingOccurrences(of: #"(?<=\d),(?=\d{3}(?:\D|$))"#, with: "", options: .regularExpression)
        // A number followed by units or a percent sign: keep the number.
        if let m = s.range(of: #"^-?\$?\d+(?:\.\d+)?(?:/\d+)?(?=\s*(?:%|[A-Za-z]+\.?)?\s*$)"#, options: .regularExpression) {
            s = String(s[m])
        }
        s = s.replacingOccurrences(of: "%", with: "")
        s = s.replacingOccurrences(of: "$", with: "")
        // A trailing full stop (not a leading decimal point: ".5" stays).
        s = s.replacingOccurrences(of: #"[.\s]+$"#, with: "", options: .regularExpression)
        s = s.replacingOccurrences(of: " ", with: "")
        return s.lowercased()
    }

    /// The value of a normalized answer when it is a number: integers, decimals, a/b,
    /// \frac{a}{b}, -\frac{a}{b}, and those with a sign.
    public static func value(_ normalized: String) -> Double? {
        var s = normalized
        var sign = 1.0
        if s.hasPrefix("-") { sign = -1; s.removeFirst() } else if s.hasPrefix("+") { s.removeFirst() }
        if let m = s.firstMatch(of: /^\\frac\{(-?[0-9.]+)\}\{(-?[0-9.]+)\}$/), let a = Double(m.1), let b = Double(m.2), b != 0 {
            return sign * a / b
        }
        if let m = s.firstMatch(of: /^\\frac([0-9])([0-9])$/), let a = Double(m.1), let b = Double(m.2), b != 0 {
            return sign * a / b
        }
        if let m = s.firstMatch(of: /^([0-9]+(?:\.[0-9]+)?)\/([0-9]+(?:\.[0-9]+)?)$/), let a = Double(m.1), let b = Double(m.2), b != 0 {
            return sign * a / b
        }
        if s.firstMatch(of: /^[0-9]*\.?[0-9]+$/) != nil || s.firstMatch(of: /^[0-9]+\.$/) != nil, let v = Double(s) {
            return sign * v
        }
        return nil
    }

    /// True when two answers mean the same: equal numbers (relative tolerance 1e-6) or equal
    /// normalized text.
    public static func equivalent(_ a: String, _ b: String) -> Bool {
        let na = normalize(a), nb = normalize(b)
        if let x = value(na), let y = value(nb) { return abs(x - y) <= 1e-6 * max(1, abs(y)) }
        return na == nb
    }
}

/// Extracts the answer of each record (from `answer`, else `reasoning`), writes it to `pred`,
/// and keeps the record when it matches `gold`: drops `answer.missing` (nothing extractable),
/// `answer.mismatch`, and `answer.no_gold` unless records without gold are allowed. The rule
/// that fired is recorded in `verdicts` (`{by: "answer", keep, reason}`).
public struct AnswerCheckStage: Stage {
    public let name = "answer"
    public var allowMissingGold = false

    public init(allowMissingGold: Bool = false) { self.allowMissingGold = allowMissingGold }

    public mutating func process(_ r: inout Example) throws -> Verdict {
        let response = [r.answer, r.reasoning].compactMap { $0 }.first { !$0.isEmpty } ?? ""
        guard let (pred, rule) = AnswerExtractor.extract(response) else {
            return .drop("answer.missing", detail: "no boxed answer, #### line, \"the answer is\" or number in the response")
        }
        r.pred = pred
        guard let gold = r.gold, !gold.isEmpty else {
            if allowMissingGold { AnswerCheckStage.addVerdict(&r, keep: true, reason: rule.rawValue); return .keep }
            return .drop("answer.no_gold", detail: "the record has no gold answer to compare with")
        }
        let ok = AnswerNormalizer.equivalent(pred, gold)
        AnswerCheckStage.addVerdict(&r, keep: ok, reason: ok ? rule.rawValue : "mismatch (\(rule.rawValue))")
        return ok ? .keep : .drop("answer.mismatch", detail: "extracted \(pred) by \(rule.rawValue), gold \(gold)")
    }

    static func addVerdict(_ r: inout Example, keep: Bool, reason: String) {
        var list = r["verdicts"]?.arrayValue ?? []
        list.append(.object(JSONObject([("by", .string("answer")), ("keep", .bool(keep)), ("reason", .string(reason))])))
        r["verdicts"] = .array(list)
    }
}
