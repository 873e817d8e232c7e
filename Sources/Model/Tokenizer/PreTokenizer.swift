/// Splits text into the pieces that BPE merges within, as llama.cpp does for the
/// `tokenizer.ggml.pre` names it knows (llama-vocab.cpp, unicode.cpp):
/// - `gpt-2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
/// - `smollm`: `\p{N}` first (every digit alone), then the gpt2 expression on each piece
/// - `llama-bpe` (Llama 3): `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
///   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// - `qwen2`: the same with `\p{N}` (single digits)
/// The matchers are written out by hand, like llama.cpp's own, including how they treat a
/// lone whitespace before a word and characters no alternative matches (a piece each).
/// Letters are general category L*, numbers N*, whitespace the White_Space property.
public enum PreTokenizer: String, Sendable, CaseIterable {
    case gpt2 = "gpt-2"
    case smollm
    case llama3 = "llama-bpe"
    case qwen2

    /// The pre-tokenizer for a `tokenizer.ggml.pre` value (llama.cpp's names); throws for names
    /// it does not implement. A missing name means llama.cpp's `default` expressions, which
    /// differ from all of these, so it is refused rather than guessed.
    public static func named(_ name: String?) throws -> PreTokenizer {
        let n = name ?? "default"
        if let p = PreTokenizer(rawValue: n) { return p }
        switch n {
        case "gpt2": return .gpt2
        case "llama3", "llama-v3": return .llama3
        default:
            throw GGUFError(path: "", message: "pre-tokenizer \(n)\(name == nil ? " (tokenizer.ggml.pre is missing)" : "") is not supported",
                            hint: "supported: " + PreTokenizer.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    /// Splits `text`; returns the pieces in order (they concatenate back to `text`).
    public func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [Range<Int>] = []
        switch self {
        case .gpt2: PreTokenizer.gpt2(scalars, 0..<scalars.count, into: &pieces)
        case .smollm:
            for r in PreTokenizer.numbersApart(scalars) { PreTokenizer.gpt2(scalars, r, into: &pieces) }
        case .llama3: PreTokenizer.llama3(scalars, 0..<scalars.count, maxDigits: 3, into: &pieces)
        case .qwen2: PreTokenizer.llama3(scalars, 0..<scalars.count, maxDigits: 1, into: &pieces)
        }
        let view = text.unicodeScalars
        var out: [Substring.UnicodeScalarView] = []
        out.reserveCapacity(pieces.count)
        var idx = view.startIndex
        var at = 0
        for r in pieces {
            let start = view.index(idx, offsetBy: r.lowerBound - at)
            let end = view.index(start, offsetBy: r.count)
            out.append(view[start..<end])
            idx = end; at = r.upperBound
        }
        return out
    }

    struct Flags {
        var letter = false, number = false, whitespace = false, defined = false
    }

    static func flags(_ s: [Unicode.Scalar], _ i: Int, _ end: Int) -> Flags {
        guard i < end else { return Flags() }
        let p = s[i].properties
        var f = Flags()
        f.whitespace = p.isWhitespace
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f.letter = true
        case .decimalNumber, .letterNumber, .otherNumber: f.number = true
        case .unassigned: return f
        default: break
        }
        f.defined = true
        return f
    }

    /// `\p{N}`: every number alone, the text between them as pieces.
    static func numbersApart(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        for i in s.indices where flags(s, i, s.count).number {
            if start < i { out.append(start..<i) }
            out.append(i..<(i + 1))
            start = i + 1
        }
        if start < s.count { out.append(start..<s.count) }
        return out
    }

    static func gpt2(_ s: [Unicode.Scalar], _ range: Range<Int>, into out: inout [Range<Int>]) {
        let end = range.upperBound
        var pos = range.lowerBound
        func cpt(_ i: Int) -> UInt32? { i < end ? s[i].value : nil }
        func emit(_ to: Int) { out.append(pos..<to); pos = to }
        while pos < end {
            let c = s[pos].value
            // 's|'t|'re|'ve|'m|'ll|'d
            if c == 0x27, let n = cpt(pos + 1) {
                if [0x73, 0x74, 0x6D, 0x64].contains(n) { emit(pos + 2); continue }
                if let nn = cpt(pos + 2), (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) {
                    emit(pos + 3); continue
                }
            }
            let space = c == 0x20
            var f2 = flags(s, space ? pos + 1 : pos, end)
            // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+'
            if f2.letter || f2.number || (!f2.whitespace && !f2.letter && !f2.number && f2.defined) {
                var i = pos + (space ? 1 : 0)
                if f2.letter {
                    while f2.letter { i += 1; f2 = flags(s, i, end) }
                } else if f2.number {
                    while f2.number { i += 1; f2 = flags(s, i, end) }
                } else {
                    while !f2.whitespace && !f2.letter && !f2.number && f2.defined { i += 1; f2 = flags(s, i, end) }
                }
                emit(i); continue
            }
            var ws = 0
            while flags(s, pos + ws, end).whitespace { ws += 1 }
            // \s+(?!\S): a run followed by a non-space leaves its last space to the next piece
            if ws > 1 && pos + ws < end { emit(pos + ws - 1); continue }
            if ws > 0 { emit(pos + ws); continue }
            emit(pos + 1)  // nothing matches: the character alone
        }
    }

    static func llama3(_ s: [Unicode.Scalar], _ range: Range<Int>, maxDigits: Int, into out: inout [Range<Int>]) {
        let end = range.upperBound
        var pos = range.lowerBound
        func cpt(_ i: Int) -> UInt32? { i < end ? s[i].value : nil }
        func lower(_ v: UInt32) -> UInt32 { (0x41...0x5A).contains(v) ? v + 32 : v }
        func emit(_ to: Int) { out.append(pos..<to); pos = to }
        while pos < end {
            let c = s[pos].value
            let f = flags(s, pos, end)
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == 0x27, let n0 = cpt(pos + 1) {
                let n = lower(n0)
                if [0x73, 0x74, 0x6D, 0x64].contains(n) { emit(pos + 2); continue }
                if let nn0 = cpt(pos + 2) {
                    let nn = lower(nn0)
                    if (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) { emit(pos + 3); continue }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || f.number) {
                if f.letter || flags(s, pos + 1, end).letter {
                    var i = pos + 1
                    while flags(s, i, end).letter { i += 1 }
                    emit(i); continue
                }
            }
            // \p{N}{1,maxDigits}
            if f.number {
                var i = pos
                var start = pos
                while flags(s, i, end).number {
                    i += 1
                    if i - start >= maxDigits { out.append(start..<i); start = i }
                }
                if start < i { out.append(start..<i) }
                pos = i
                continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var f2 = c == 0x20 ? flags(s, pos + 1, end) : f
            if !(f2.whitespace || f2.letter || f2.number) && f2.defined {
                var i = pos + (c == 0x20 ? 1 : 0)
                while !(f2.whitespace || f2.letter || f2.number) && f2.defined { i += 1; f2 = flags(s, i, end) }
                while let x = cpt(i), x == 0x0D || x == 0x0A { i += 1 }
                emit(i); continue
            }
            var ws = 0
            var lastNewline = 0
            while flags(s, pos + ws, end).whitespace {
                if let x = cpt(pos + ws), x == 0x0D || x == 0x0A { lastNewline = pos + ws + 1 }
                ws += 1
            }
            if lastNewline > 0 { emit(lastNewline); continue }          // \s*[\r\n]+
            if ws > 1 && pos + ws < end { emit(pos + ws - 1); continue }  // \s+(?!\S)
            if ws > 0 { emit(pos + ws); continue }                       // \s+
            emit(pos + 1)
        }
    }
}
