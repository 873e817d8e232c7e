/// Gopher's repetition rules (Rae et al. 2021, "Scaling Language Models", appendix A; the
/// thresholds are the published ones, as datatrove uses them) plus a detector for degenerate
/// loops: generations that repeat one span until the token limit, the typical failure of
/// over-steered sampling.
///
/// Reasons: `repetition.dup_para_frac`, `.dup_para_char_frac`, `.dup_line_frac`,
/// `.dup_line_char_frac`, `.top_2gram` … `.top_4gram`, `.dup_5gram` … `.dup_10gram`, `.loop`.
public struct RepetitionStage: Stage {
    public struct Thresholds: Sendable {
        public var dupParaFrac = 0.3, dupParaCharFrac = 0.2, dupLineFrac = 0.3, dupLineCharFrac = 0.2
        /// Most frequent n-gram's share of the characters.
        public var topNGrams: [(n: Int, frac: Double)] = [(2, 0.2), (3, 0.18), (4, 0.16)]
        /// Share of characters inside repeated n-grams.
        public var dupNGrams: [(n: Int, frac: Double)] = [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)]
        /// N-gram rules only apply from this many words: short chains of thought ("3 + 4 = 7,
        /// 7 + 4 = 11") repeat n-grams legitimately.
        public var minWordsForNGrams = 50
        /// A loop: the text ends with one span (1…`loopMaxPeriod` words) repeated at least
        /// `loopMinRepeats` times, covering at least `loopMinShare` of the words.
        public var loopMaxPeriod = 40, loopMinRepeats = 4
        public var loopMinShare = 0.2
        public init() {}
    }

    public let name = "repetition"
    public var fields: [String]
    public var thresholds: Thresholds

    public init(fields: [String] = ["reasoning", "answer"], thresholds: Thresholds = Thresholds()) {
        self.fields = fields
        self.thresholds = thresholds
    }

    public mutating func process(_ r: inout Example) throws -> Verdict {
        let texts = fields.compactMap { f in r[f]?.stringValue.map { (f, $0) } }.filter { !$0.1.isEmpty }
        // A loop runs to the end of the field it was generated in (reasoning cut at the token limit).
        for (f, t) in texts {
            if let l = RepetitionStage.loop(t.split(whereSeparator: { $0.isWhitespace }), thresholds) {
                return .drop("repetition.loop", detail: "\(f): \(l)")
            }
        }
        let text = texts.map(\.1).joined(separator: "\n\n")
        if let (reason, detail) = RepetitionStage.check(text, thresholds) { return .drop("repetition.\(reason)", detail: detail) }
        return .keep
    }

    /// Duplicate elements (after the first occurrence) and their characters.
    static func duplicates(_ items: [Substring]) -> (count: Int, chars: Int) {
        var seen = Set<Substring>()
        var n = 0, chars = 0
        for x in items where !seen.insert(x).inserted { n += 1; chars += x.count }
        return (n, chars)
    }

    /// The first rule the text breaks, with a detail, or nil.
    public static func check(_ text: String, _ t: Thresholds) -> (String, String)? {
        let total = Double(text.count)
        guard total > 0 else { return nil }
        func pct(_ x: Double) -> String { String(Int((x * 100).rounded())) + "%" }
        let paragraphs = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n\n", omittingEmptySubsequences: true)
        if paragraphs.count > 1 {
            let d = duplicates(paragraphs)
            if Double(d.count) / Double(paragraphs.count) > t.dupParaFrac { return ("dup_para_frac", "\(d.count) of \(paragraphs.count) paragraphs repeat") }
            if Double(d.chars) / total > t.dupParaCharFrac { return ("dup_para_char_frac", "\(pct(Double(d.chars) / total)) of characters in repeated paragraphs") }
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        if lines.count > 1 {
            let d = duplicates(lines)
            if Double(d.count) / Double(lines.count) > t.dupLineFrac { return ("dup_line_frac", "\(d.count) of \(lines.count) lines repeat") }
            if Double(d.chars) / total > t.dupLineCharFrac { return ("dup_line_char_frac", "\(pct(Double(d.chars) / total)) of characters in repeated lines") }
        }
        let words = text.split(whereSeparator: { $0.isWhitespace })
        if let loop = loop(words, t) { return ("loop", loop) }
        guard words.count >= t.minWordsForNGrams else { return nil }
        for (n, frac) in t.topNGrams where words.count >= n {
            var counts: [String: Int] = [:]
            for i in 0...(words.count - n) { counts[words[i..<(i + n)].joined(separator: " "), default: 0] += 1 }
            if let top = counts.max(by: { $0.value < $1.value }), top.value > 1 {
                let share = Double(top.key.count * top.value) / total
                if share > frac { return ("top_\(n)gram", "\"\(top.key)\" × \(top.value) is \(pct(share)) of characters") }
            }
        }
        for (n, frac) in t.dupNGrams where words.count >= n {
            var seen = Set<String>()
            var repeated = 0
            var i = 0
            while i <= words.count - n {
                let g = words[i..<(i + n)].joined()
                if seen.contains(g) { repeated += g.count; i += n } else { seen.insert(g); i += 1 }
            }
            if Double(repeated) / total > frac { return ("dup_\(n)gram", "\(pct(Double(repeated) / total)) of characters in repeated \(n)-grams") }
        }
        return nil
    }

    /// The longest run of one span repeated at the end of the text.
    public static func loop(_ words: [Substring], _ t: Thresholds) -> String? {
        guard words.count >= t.loopMinRepeats else { return nil }
        for p in 1...min(t.loopMaxPeriod, words.count / t.loopMinRepeats) {
            var repeats = 1
            var end = words.count - p
            while end - p >= 0 && words[(end - p)..<end] == words[end..<(end + p)] { repeats += 1; end -= p }
            if repeats >= t.loopMinRepeats && Double(repeats * p) >= t.loopMinShare * Double(words.count) {
                let span = words[(words.count - p)...].joined(separator: " ")
                return "the text ends with \"\(span.prefix(60))\" repeated \(repeats) times"
            }
        }
        return nil
    }
}
