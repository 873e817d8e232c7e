/// Byte-level BPE (GPT-2 style) built from GGUF metadata: `tokenizer.ggml.tokens`, `.merges`,
/// `.token_type`, `.pre`, `.bos_token_id`, `.eos_token_id`, `.add_bos_token`.
///
/// encode: special tokens (control and user-defined types) are cut out of the text first,
/// longest first; each remaining fragment is pre-tokenized, its bytes mapped to GPT-2's
/// byte-level characters, and merged pair by pair in merge-rank order (the lowest rank first,
/// the leftmost among equals), as llama.cpp's llm_tokenizer_bpe does.
public final class BPETokenizer: @unchecked Sendable {
    public let tokens: [String]
    public let tokenTypes: [Int32]
    public let preTokenizer: PreTokenizer
    public let bos: Int32?
    public let eos: Int32?
    /// Whether llama.cpp adds BOS when asked to add special tokens.
    public let addBOS: Bool
    private let ids: [String: Int32]
    /// (left id << 32 | right id) → (rank, merged id)
    private let merges: [UInt64: (rank: Int32, merged: Int32)]
    /// Special tokens, longest text first.
    private let specials: [(text: String, id: Int32)]
    /// Byte value → id of its byte-level character token.
    private let byteTokens: [Int32]

    public static let typeNormal: Int32 = 1, typeControl: Int32 = 3, typeUserDefined: Int32 = 4, typeByte: Int32 = 6

    /// Builds the tokenizer of a GGUF; throws when the file has no BPE tokenizer.
    public convenience init(_ f: GGUFFile) throws {
        guard let model = f["tokenizer.ggml.model"]?.stringValue else {
            throw GGUFError(path: f.path, message: "no tokenizer in the metadata (tokenizer.ggml.model)")
        }
        guard model == "gpt2" else {
            throw GGUFError(path: f.path, message: "tokenizer model \(model) is not supported", hint: "supported: gpt2 (byte-level BPE)")
        }
        guard let toks = f["tokenizer.ggml.tokens"]?.arrayValue?.compactMap(\.stringValue), !toks.isEmpty else {
            throw GGUFError(path: f.path, message: "tokenizer.ggml.tokens is missing or not a string array")
        }
        let types = f["tokenizer.ggml.token_type"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) } ?? []
        let merges = f["tokenizer.ggml.merges"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let pre: PreTokenizer
        do { pre = try PreTokenizer.named(f["tokenizer.ggml.pre"]?.stringValue) } catch var e as GGUFError { e.path = f.path; throw e }
        try self.init(tokens: toks, types: types.count == toks.count ? types : [Int32](repeating: 1, count: toks.count),
                      merges: merges, preTokenizer: pre,
                      bos: f["tokenizer.ggml.bos_token_id"]?.intValue.map(Int32.init),
                      eos: f["tokenizer.ggml.eos_token_id"]?.intValue.map(Int32.init),
                      addBOS: f["tokenizer.ggml.add_bos_token"]?.boolValue ?? false)
    }

    public init(tokens: [String], types: [Int32], merges mergeLines: [String], preTokenizer: PreTokenizer,
                bos: Int32?, eos: Int32?, addBOS: Bool) throws {
        self.tokens = tokens
        tokenTypes = types
        self.preTokenizer = preTokenizer
        self.bos = bos
        self.eos = eos
        self.addBOS = addBOS
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
        self.ids = ids
        var m: [UInt64: (Int32, Int32)] = [:]
        m.reserveCapacity(mergeLines.count)
        for (rank, line) in mergeLines.enumerated() {
            // "left right": split at the first space (byte-level tokens contain no raw spaces).
            guard let sp = line.firstIndex(of: " ") else { continue }
            let l = String(line[..<sp]), r = String(line[line.index(after: sp)...])
            guard let li = ids[l], let ri = ids[r], let mi = ids[l + r] else { continue }
            let key = UInt64(UInt32(li)) << 32 | UInt64(UInt32(ri))
            if m[key] == nil { m[key] = (Int32(rank), mi) }
        }
        merges = m
        specials = tokens.indices
            .filter { types[$0] == BPETokenizer.typeControl || types[$0] == BPETokenizer.typeUserDefined }
            .map { (tokens[$0], Int32($0)) }
            .filter { !$0.0.isEmpty }
            .sorted { $0.0.utf8.count != $1.0.utf8.count ? $0.0.utf8.count > $1.0.utf8.count : $0.1 < $1.1 }
        // Some vocabularies (SmolLM2) lack tokens for a few control bytes; such bytes are
        // dropped from the output, as llama.cpp does.
        var bt = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { bt[b] = ids[String(ByteLevel.character(for: UInt8(b)))] ?? -1 }
        guard bt.filter({ $0 >= 0 }).count >= 128 else {
            throw GGUFError(path: "", message: "the vocabulary lacks most byte-level tokens", hint: "this is not a byte-level BPE vocabulary")
        }
        byteTokens = bt
    }

    public var vocabularySize: Int { tokens.count }

    public func id(of token: String) -> Int32? { ids[token] }

    public func isSpecial(_ id: Int32) -> Bool {
        let t = tokenTypes[Int(id)]
        return t == BPETokenizer.typeControl || t == BPETokenizer.typeUserDefined
    }

    /// Token ids for `text`. `parseSpecial`: special-token texts in `text` become their tokens
    /// (otherwise they are tokenized as plain text). `addSpecial`: prepend BOS when the model
    /// asks for it (`tokenizer.ggml.add_bos_token`).
    public func encode(_ text: String, addSpecial: Bool = false, parseSpecial: Bool = true) -> [Int32] {
        var out: [Int32] = []
        if addSpecial, addBOS, let b = bos { out.append(b) }
        for fragment in partition(text, parseSpecial: parseSpecial) {
            switch fragment {
            case .special(let id): out.append(id)
            case .text(let t):
                for piece in preTokenizer.split(t) { encodePiece(piece, into: &out) }
            }
        }
        return out
    }

    enum Fragment { case text(String), special(Int32) }

    /// Cuts the text at special-token texts, longest first.
    func partition(_ text: String, parseSpecial: Bool) -> [Fragment] {
        var fragments: [Fragment] = [.text(text)]
        guard parseSpecial else { return fragments }
        for (st, id) in specials {
            var next: [Fragment] = []
            for f in fragments {
                guard case .text(let t) = f, t.contains(st) else { next.append(f); continue }
                var rest = Substring(t)
                while let r = rest.range(of: st) {
                    if r.lowerBound > rest.startIndex { next.append(.text(String(rest[..<r.lowerBound]))) }
                    next.append(.special(id))
                    rest = rest[r.upperBound...]
                }
                if !rest.isEmpty { next.append(.text(String(rest))) }
            }
            fragments = next
        }
        return fragments
    }

    /// BPE over one pre-tokenized piece.
    func encodePiece(_ piece: Substring.UnicodeScalarView, into out: inout [Int32]) {
        var symbols: [Int32] = []
        for b in String(piece).utf8 { symbols.append(byteTokens[Int(b)]) }
        while symbols.count > 1 {
            var best = -1
            var bestRank = Int32.max
            var bestMerged: Int32 = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let m = merges[key], m.rank < bestRank { best = i; bestRank = m.rank; bestMerged = m.merged }
            }
            if best < 0 { break }
            symbols[best] = bestMerged
            symbols.remove(at: best + 1)
        }
        for s in symbols where s >= 0 { out.append(s) }
    }

    /// The bytes a token stands for (special tokens: their text).
    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < tokens.count else { return [] }
        let t = tokens[Int(id)]
        if isSpecial(id) { return Array(t.utf8) }
        var out: [UInt8] = []
        for ch in t.unicodeScalars {
            if let b = ByteLevel.byte(for: ch) { out.append(b) } else { out.append(contentsOf: String(ch).utf8) }
        }
        return out
    }

    /// Text of a token sequence; invalid UTF-8 at the seams is repaired (U+FFFD).
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes.append(contentsOf: self.bytes(of: id)) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// GPT-2's reversible map between bytes and printable characters (bytes_to_unicode):
/// printable Latin-1 bytes map to themselves, the other 68 to U+0100 onwards in byte order.
public enum ByteLevel {
    static let table: [Unicode.Scalar] = {
        var printable = Set<Int>()
        for r in [33...126, 161...172, 174...255] { for b in r { printable.insert(b) } }
        var next = 256
        return (0..<256).map { b in
            if printable.contains(b) { return Unicode.Scalar(UInt32(b))! }
            defer { next += 1 }
            return Unicode.Scalar(UInt32(next))!
        }
    }()

    static let inverse: [UInt32: UInt8] = {
        var d: [UInt32: UInt8] = [:]
        for (b, s) in table.enumerated() { d[s.value] = UInt8(b) }
        return d
    }()

    public static func character(for byte: UInt8) -> Character { Character(table[Int(byte)]) }
    public static func byte(for scalar: Unicode.Scalar) -> UInt8? { inverse[scalar.value] }
}
