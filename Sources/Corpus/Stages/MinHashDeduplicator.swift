import Hashing
import Foundation

/// Near-duplicate removal with MinHash LSH (Broder 1997; banding as in Leskovec et al.,
/// "Mining of Massive Datasets", ch. 3): word n-gram shingles of the normalized text, `b × r`
/// min-hashes, documents sharing all `r` values of any band become candidates and are joined
/// by union-find; each cluster keeps one survivor by a rule. Memory: `b` 64-bit band keys and a
/// few integers per document — never the texts.
public struct MinHashDeduplicator {
    public enum Survivor: String, Sendable, CaseIterable {
        case first, shortest, longest, highestScore = "highest-score"
    }

    public struct Options: Sendable {
        public var field = "reasoning"
        public var ngram = 5
        public var bands = 14
        public var rows = 8
        public var survivor = Survivor.first
        /// Numeric field for `highest-score`.
        public var scoreField = "score"
        public var seed: UInt64 = 1
        public init() {}

        public var permutations: Int { bands * rows }

        /// The Jaccard similarity at which a pair becomes a candidate with probability 1/2:
        /// (1/b)^(1/r).
        public var threshold: Double { pow(1 / Double(bands), 1 / Double(rows)) }
    }

    /// Bands × rows for `permutations` hashes and a target Jaccard `threshold`, minimising the
    /// probability mass of false positives below it plus false negatives above it (equal
    /// weights), as datasketch does; e.g. 128 hashes at 0.8 → 9 × 13.
    public static func optimalBands(threshold: Double, permutations: Int) -> (bands: Int, rows: Int) {
        func integrate(_ f: (Double) -> Double, _ a: Double, _ b: Double) -> Double {
            let n = 200
            let h = (b - a) / Double(n)
            var s = 0.0
            for i in 0..<n { s += f(a + (Double(i) + 0.5) * h) }
            return s * h
        }
        var best = (bands: 1, rows: permutations), bestErr = Double.infinity
        for b in 1...permutations {
            for r in 1...(permutations / b) {
                let p = { (s: Double) in 1 - pow(1 - pow(s, Double(r)), Double(b)) }
                let fp = integrate(p, 0, threshold)
                let fn = integrate({ 1 - p($0) }, threshold, 1)
                if fp + fn < bestErr { bestErr = fp + fn; best = (b, r) }
            }
        }
        return best
    }

    public let options: Options
    private let a: [UInt64]
    private let c: [UInt64]

    public init(options: Options) {
        self.options = options
        var rng = SplitMix64(seed: options.seed)
        a = (0..<options.permutations).map { _ in rng.next() | 1 }
        c = (0..<options.permutations).map { _ in rng.next() }
    }

    /// 64-bit hashes of the word n-grams of the normalized text (lowercase, punctuation and
    /// symbols dropped, whitespace separating words); a text shorter than n words is one shingle.
    public func shingles(_ text: String) -> [UInt64] {
        let words = MinHashDeduplicator.wordHashes(text)
        guard !words.isEmpty else { return [] }
        let n = min(options.ngram, words.count)
        var out: [UInt64] = []
        out.reserveCapacity(words.count - n + 1)
        for i in 0...(words.count - n) {
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(n)
            for j in 0..<n { h = SplitMix64.mix(h ^ words[i + j]) }
            out.append(h)
        }
        return out
    }

    /// ASCII bytes: 1 = part of a word (lowercased by bit), 2 = whitespace, 0 = dropped.
    static let asciiClass: [UInt8] = (0..<128).map { b in
        switch UInt8(b) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): return 1
        case 0x09...0x0D, 0x20: return 2
        default: return 0
        }
    }

    /// FNV-1a hashes of the normalized words, read straight from UTF-8: ASCII by table, other
    /// scalars by their Unicode properties (whitespace separates, punctuation and symbols are
    /// dropped, the rest lowercased). Equivalent to splitting `ExactDedupStage.normalize(text)`
    /// on spaces, but without building strings (the hot loop of near-dedup).
    public static func wordHashes(_ text: String) -> [UInt64] {
        var words: [UInt64] = []
        words.reserveCapacity(64)
        let basis: UInt64 = 0xcbf2_9ce4_8422_2325, prime: UInt64 = 0x0000_0100_0000_01B3
        var h = basis
        var inWord = false
        var t = text
        let table = asciiClass  // one swift_once check, not one per byte
        t.withUTF8 { bytes in
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b < 0x80 {
                    switch table[Int(b)] {
                    case 1:
                        let c = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
                        h = (h ^ UInt64(c)) &* prime; inWord = true
                    case 2:
                        if inWord { words.append(h); h = basis; inWord = false }
                    default: break
                    }
                    i += 1
                    continue
                }
                // Decode one scalar (the String is valid UTF-8).
                let n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
                var v = UInt32(b) & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07)
                for k in 1..<n where i + k < bytes.count { v = v << 6 | UInt32(bytes[i + k] & 0x3F) }
                i += n
                guard let u = Unicode.Scalar(v) else { continue }
                let p = u.properties
                if p.isWhitespace { if inWord { words.append(h); h = basis; inWord = false }; continue }
                switch p.generalCategory {
                case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
                     .finalPunctuation, .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
                    continue
                default:
                    for c in p.lowercaseMapping.utf8 { h = (h ^ UInt64(c)) &* prime }
                    inWord = true
                }
            }
        }
        if inWord { words.append(h) }
        return words
    }


    /// The MinHash signature: for each permutation h_i(x) = a_i·x + c_i (mod 2⁶⁴, a_i odd, so a
    /// bijection), the minimum over the shingles. Empty texts get all-max signatures.
    public func signature(_ shingles: [UInt64]) -> [UInt64] {
        var sig = [UInt64](repeating: .max, count: options.permutations)
        sig.withUnsafeMutableBufferPointer { s in
            a.withUnsafeBufferPointer { a in
                c.withUnsafeBufferPointer { c in
                    shingles.withUnsafeBufferPointer { x in
                        // Per permutation, four independent minima over the shingles: the loop is
                        // bound by multiply throughput instead of one chain of compares.
                        let n = x.count, n4 = n & ~3
                        for i in 0..<s.count {
                            let ai = a[i], ci = c[i]
                            var m0 = UInt64.max, m1 = UInt64.max, m2 = UInt64.max, m3 = UInt64.max
                            var j = 0
                            while j < n4 {
                                m0 = Swift.min(m0, ai &* x[j] &+ ci)
                                m1 = Swift.min(m1, ai &* x[j + 1] &+ ci)
                                m2 = Swift.min(m2, ai &* x[j + 2] &+ ci)
                                m3 = Swift.min(m3, ai &* x[j + 3] &+ ci)
                                j += 4
                            }
                            while j < n { m0 = Swift.min(m0, ai &* x[j] &+ ci); j += 1 }
                            s[i] = Swift.min(Swift.min(m0, m1), Swift.min(m2, m3))
                        }
                    }
                }
            }
        }
        return sig
    }

    /// One key per band: a hash of its `rows` values (and the band number).
    public func bandKeys(_ sig: [UInt64]) -> [UInt64] {
        (0..<options.bands).map { b in
            var h = UInt64(b) &* 0xD6E8_FEB8_6659_FD93
            for r in 0..<options.rows { h = SplitMix64.mix(h ^ sig[b * options.rows + r]) }
            return h
        }
    }

    /// Clusters documents as they are added; `survivors()` says which to keep.
    public struct Index {
        let bands: Int
        var tables: [[UInt64: Int32]]
        var parent: [Int32] = []
        var metric: [Double] = []

        public init(bands: Int) {
            self.bands = bands
            tables = Array(repeating: [:], count: bands)
        }

        public mutating func find(_ x: Int32) -> Int32 {
            var x = x
            while parent[Int(x)] != x {
                parent[Int(x)] = parent[Int(parent[Int(x)])]
                x = parent[Int(x)]
            }
            return x
        }

        public mutating func union(_ a: Int32, _ b: Int32) {
            let ra = find(a), rb = find(b)
            if ra != rb { if ra < rb { parent[Int(rb)] = ra } else { parent[Int(ra)] = rb } }
        }

        /// Adds document `parent.count` with its band keys and its survivor metric.
        public mutating func add(_ keys: [UInt64], metric m: Double) {
            let id = Int32(parent.count)
            parent.append(id)
            metric.append(m)
            for (b, k) in keys.enumerated() {
                if let other = tables[b][k] { union(id, other) } else { tables[b][k] = id }
            }
        }

        /// For each document, the survivor of its cluster (itself when it survives): the member
        /// with the smallest metric (ties: the earliest).
        public mutating func survivors() -> [Int32] {
            var best: [Int32: Int32] = [:]
            for i in 0..<Int32(parent.count) {
                let r = find(i)
                if let b = best[r] { if metric[Int(i)] < metric[Int(b)] { best[r] = i } } else { best[r] = i }
            }
            return (0..<Int32(parent.count)).map { best[find($0)]! }
        }
    }

    /// The metric the survivor rule minimises, for a record at `position` whose key text is
    /// `text` (`score` is read only for `highest-score`).
    public func metric(position: Int, text: String, score: () -> Double?) -> Double {
        switch options.survivor {
        case .first: return Double(position)
        case .shortest: return Double(text.unicodeScalars.count)
        case .longest: return -Double(text.unicodeScalars.count)
        case .highestScore: return -(score() ?? -.infinity)
        }
    }
}

