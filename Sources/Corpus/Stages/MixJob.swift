import Hashing
import Foundation

/// Mix Distillation's long/short mix: each question contributes one response, the long one for a
/// seeded choice of questions sized so that the long share is `longWeight` of all questions
/// exactly (rounded), the short one otherwise. Questions with only one kind of response take it
/// (forced), and the choice among the rest makes up the target as far as possible.
/// Drops: `mix.not_chosen` (the other kind was chosen for its question), `mix.extra_response`
/// (a question's second response of the chosen kind).
public final class MixJob {
    public var longWeight = 0.2
    public var seed: UInt64 = 1
    public var key = "question"
    public var readOptions = RecordReader.Options()

    public init(longWeight: Double = 0.2, seed: UInt64 = 1) { self.longWeight = longWeight; self.seed = seed }

    public struct Result: Sendable {
        public var counts: [StageCounts]
        public var questions: Int
        public var long: Int
        public var short: Int
    }

    func rank(_ q: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in q.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SplitMix64.mix(h ^ seed &* 0xD6E8_FEB8_6659_FD93)
    }

    public func run(long: [String], short: [String], output: JSONLWriter, rejects: JSONLWriter) throws -> Result {
        // Pass 1: which questions each source answers.
        var kinds: [String: UInt8] = [:]  // bit 1 = long, bit 2 = short
        for (paths, bit) in [(long, UInt8(1)), (short, UInt8(2))] {
            for p in paths {
                try RecordReader(path: p, options: readOptions).forEach({ rec in
                    if let q = rec.string(key) { kinds[q, default: 0] |= bit }
                }, onReject: { _ in })
            }
        }
        let onlyLong = kinds.filter { $0.value == 1 }.count
        let both = kinds.filter { $0.value == 3 }.map(\.key).sorted { rank($0) < rank($1) }
        let target = Int((longWeight * Double(kinds.count)).rounded())
        let fromBoth = min(max(0, target - onlyLong), both.count)
        var takeLong = Set(both.prefix(fromBoth))
        for (q, k) in kinds where k == 1 { takeLong.insert(q) }

        // Pass 2: one response per question, of the chosen kind.
        var read = StageCounts(name: "read"), stage = StageCounts(name: "mix")
        var emitted = Set<String>()
        var nLong = 0, nShort = 0
        for (paths, isLong) in [(long, true), (short, false)] {
            for p in paths {
                try RecordReader(path: p, options: readOptions).forEach({ rec in
                    read.keep()
                    var bytes: [UInt8] = []
                    rec.appendWriteBytes(to: &bytes)
                    func drop(_ reason: String, _ detail: String) throws {
                        stage.drop(reason)
                        try rejects.write(Reject(stage: "mix", reason: reason, detail: detail, file: p, line: rec.line,
                                                 offset: rec.offset, id: rec.id, payload: .record(bytes)).jsonBytes)
                    }
                    guard let q = rec.string(key) else { return try drop("mix.no_key", "the record has no \(key)") }
                    guard takeLong.contains(q) == isLong else {
                        return try drop("mix.not_chosen", "the \(isLong ? "short" : "long") response was chosen for this \(key)")
                    }
                    guard emitted.insert(q).inserted else { return try drop("mix.extra_response", "this \(key) already has its response") }
                    stage.keep()
                    if isLong { nLong += 1 } else { nShort += 1 }
                    try output.write(bytes)
                }, onReject: { r in
                    read.drop(r.reason)
                    try rejects.write(r.jsonBytes)
                })
            }
        }
        return Result(counts: [read, stage], questions: kinds.count, long: nLong, short: nShort)
    }
}

/// Mixing N sources to exact counts: each source gives `count` records, or its `ratio` of
/// `total` (rounded by largest remainder so the counts add up to `total`), chosen by a seeded
/// sample (`SampleJob`). A source with fewer records than asked is an error, not a silent
/// shortfall. Drops: `sample.not_selected`.
public struct WeightedMix {
    public enum Share: Sendable { case count(Int), ratio(Double) }
    public var sources: [(path: String, share: Share)]
    public var total: Int?
    public var seed: UInt64

    public init(sources: [(path: String, share: Share)], total: Int?, seed: UInt64) {
        self.sources = sources; self.total = total; self.seed = seed
    }

    /// Largest-remainder apportionment of `total` by `weights`.
    public static func counts(weights: [Double], total: Int) -> [Int] {
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return weights.map { _ in 0 } }
        let exact = weights.map { $0 / sum * Double(total) }
        var out = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(out[$0])) > (exact[$1] - Double(out[$1])) }
        for i in order.prefix(total - out.reduce(0, +)) { out[i] += 1 }
        return out
    }

    public func run(output: JSONLWriter, rejects: JSONLWriter) throws -> [StageCounts] {
        var wanted: [Int] = []
        let ratios = sources.compactMap { if case .ratio(let r) = $0.share { return r } else { return nil } }
        if !ratios.isEmpty {
            guard ratios.count == sources.count, let t = total else {
                throw SplitError(message: "ratios need --total, and every source a ratio (or every source a count)")
            }
            wanted = WeightedMix.counts(weights: ratios, total: t)
        } else {
            wanted = sources.map { if case .count(let n) = $0.share { return n } else { return 0 } }
        }
        var read = StageCounts(name: "read"), stage = StageCounts(name: "mix")
        for ((path, _), n) in zip(sources, wanted) {
            var available = 0
            try RecordReader(path: path).forEach({ _ in available += 1 }, onReject: { _ in })
            guard available >= n else {
                throw SplitError(message: "\(path) has \(available) records, \(n) were asked; lower --total or its share")
            }
            let c = try SampleJob(count: n, seed: seed).run(inputs: [path], output: output, rejects: rejects)
            read.input += c[0].input; read.kept += c[0].kept
            for (k, v) in c[0].dropped { read.dropped[k, default: 0] += v }
            stage.input += c[1].input; stage.kept += c[1].kept
            for (k, v) in c[1].dropped { stage.dropped[k, default: 0] += v }
        }
        return [read, stage]
    }
}
