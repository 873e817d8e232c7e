import Hashing
import Foundation

/// The word n-grams of evaluation items, to find training records that contain them.
/// Text is lowercased and split on whitespace (punctuation stays part of words, as in the
/// usual n-gram decontamination); an item shorter than n words is one n-gram of all its words.
public struct EvalIndex: Sendable {
    public struct Item: Sendable { public var file: String; public var line: Int; public var id: String? }
    public let n: Int
    public private(set) var items: [Item] = []
    /// n-gram hash → the first item holding it.
    var grams: [UInt64: Int32] = [:]

    public init(n: Int = 8) { self.n = max(1, n) }

    static func wordHashes(_ text: String) -> [UInt64] {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).map { w in
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in w.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            return h
        }
    }

    /// Hashes of the n-grams of `text`.
    public func ngrams(_ text: String) -> [UInt64] {
        let w = EvalIndex.wordHashes(text)
        guard !w.isEmpty else { return [] }
        let k = min(n, w.count)
        return (0...(w.count - k)).map { i in
            var h: UInt64 = 0x2545_F491_4F6C_DD1D &* UInt64(k)
            for j in 0..<k { h = SplitMix64.mix(h ^ w[i + j]) }
            return h
        }
    }

    /// Adds one evaluation item.
    public mutating func add(_ text: String, file: String, line: Int, id: String?) {
        let idx = Int32(items.count)
        items.append(Item(file: file, line: line, id: id))
        for g in ngrams(text) where grams[g] == nil { grams[g] = idx }
    }

    /// Adds every record of a JSON Lines file, reading `field`. Lines that are not JSON objects
    /// or lack the field are counted in the result, never silently used.
    @discardableResult
    public mutating func load(path: String, field: String) throws -> (added: Int, skipped: Int) {
        var opts = RecordReader.Options()
        opts.schema = try JSONSchema(text: "{}")
        opts.deriveIDs = true
        var added = 0, skipped = 0
        try RecordReader(path: path, options: opts).forEach({ rec in
            guard let text = rec.string(field), !text.isEmpty else { skipped += 1; return }
            add(text, file: path, line: rec.line, id: rec.idDerived ? nil : rec.id)
            added += 1
        }, onReject: { _ in skipped += 1 })
        return (added, skipped)
    }

    /// The first evaluation item sharing an n-gram with `text`.
    public func firstHit(_ text: String) -> Int? {
        for g in ngrams(text) { if let i = grams[g] { return Int(i) } }
        return nil
    }
}

/// Drops records sharing a word n-gram with any evaluation item (`decontam.ngram`, the
/// detail naming the item). `hits` counts, per evaluation item, the records it removed.
public struct DecontaminationStage: Stage {
    public let name = "decontam"
    public let index: EvalIndex
    public var fields: [String]
    public private(set) var hits: [Int: Int] = [:]

    public init(index: EvalIndex, fields: [String] = ["question", "prompt"]) {
        self.index = index
        self.fields = fields
    }

    public mutating func process(_ r: inout Example) throws -> Verdict {
        for f in fields {
            guard let text = r[f]?.stringValue, !text.isEmpty, let i = index.firstHit(text) else { continue }
            hits[i, default: 0] += 1
            let item = index.items[i]
            return .drop("decontam.ngram", detail: "\(f) shares a \(index.n)-gram with \(item.id ?? "\(item.file):\(item.line)")")
        }
        return .keep
    }
}
