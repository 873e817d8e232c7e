import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct MinHashTests {
    /// Word hashes from bytes equal hashing the words of the string normalization.
    @Test func byteNormalizationMatchesStringNormalization() {
        for text in ["Hello, World!  It's 3.5 apples — ça va? Σ ΟΔΌΣ 中文 😀 snake_case", "", "   ", "a\tb\nc", "x-y+z=2"] {
            let viaString = ExactDedupStage.normalize(text).split(separator: " ").map { w -> UInt64 in
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for b in w.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
                return h
            }
            #expect(MinHashDeduplicator.wordHashes(text) == viaString, "\(text)")
        }
    }

    @Test func bandsForThreshold() {
        let (b, r) = MinHashDeduplicator.optimalBands(threshold: 0.8, permutations: 128)
        #expect(b == 9 && r == 13, "got \(b) × \(r)")
        var o = MinHashDeduplicator.Options()
        o.bands = 14; o.rows = 8
        #expect(abs(o.threshold - 0.719) < 0.01)
    }

    /// The share of equal min-hashes estimates the Jaccard similarity of the shingle sets.
    @Test func signaturesEstimateJaccard() {
        var o = MinHashDeduplicator.Options()
        o.bands = 32; o.rows = 8  // 256 hashes: standard error ≈ 0.03
        let m = MinHashDeduplicator(options: o)
        var rng = SeededRandom(seed: 3)
        for target in [0.2, 0.5, 0.8] {
            let shared = Int(200 * target / (1 + target) * 2 / 2)
            let common = (0..<shared).map { _ in rng.next() }
            let onlyA = (0..<(200 - shared)).map { _ in rng.next() }, onlyB = (0..<(200 - shared)).map { _ in rng.next() }
            let a = common + onlyA, b = common + onlyB
            let jaccard = Double(shared) / Double(400 - shared)
            let sa = m.signature(a), sb = m.signature(b)
            let est = Double(zip(sa, sb).filter { $0 == $1 }.count) / Double(sa.count)
            #expect(abs(est - jaccard) < 0.1, "target \(jaccard), estimate \(est)")
        }
    }

    static func doc(_ seed: Int, words: Int = 80) -> String {
        var rng = SeededRandom(seed: UInt64(seed))
        return (0..<words).map { _ in "w\(Int.random(in: 0..<5000, using: &rng))" }.joined(separator: " ")
    }

    static func nearCopy(_ text: String, changes: Int, seed: Int) -> String {
        var words = text.split(separator: " ").map(String.init)
        var rng = SeededRandom(seed: UInt64(seed))
        for _ in 0..<changes { words[Int.random(in: 0..<words.count, using: &rng)] = "x\(Int.random(in: 0..<1_000_000, using: &rng))" }
        return words.joined(separator: " ")
    }

    func runJob(_ records: [Example], keep: MinHashDeduplicator.Survivor = .first, extraLines: [String] = []) throws -> (kept: [String], rejects: [String: Int], counts: [StageCounts]) {
        let dir = try TempDir()
        let input = try dir.write("in.jsonl", lines: records.map(\.jsonString) + extraLines)
        var o = MinHashDeduplicator.Options()
        (o.bands, o.rows) = (9, 13)
        o.survivor = keep
        let out = try JSONLWriter(path: dir.path + "/out.jsonl"), rej = try JSONLWriter(path: dir.path + "/rej.jsonl")
        let counts = try NearDedupJob(options: o).run(inputs: [input], output: out, rejects: rej)
        try out.finish(); try rej.finish()
        var kept: [String] = []
        try LineReader(try openInput(dir.path + "/out.jsonl")).forEachLine { kept.append(try Example(bytes: $0.bytes).id ?? "") }
        var reasons: [String: Int] = [:]
        try LineReader(try openInput(dir.path + "/rej.jsonl")).forEachLine {
            if let r = try JSONScanner.parse($0.bytes).objectValue?["reason"]?.stringValue { reasons[r, default: 0] += 1 }
        }
        return (kept, reasons, counts)
    }

    func record(_ id: String, _ text: String) -> Example {
        Example(JSONObject([("id", .string(id)), ("question", .string("q-\(id)")), ("reasoning", .string(text))]))
    }

    @Test func removesExactAndNearCopiesKeepsDistinct() throws {
        var records: [Example] = []
        for i in 0..<40 { records.append(record("d\(i)", Self.doc(i, words: 200))) }
        records.append(record("exact", Self.doc(3, words: 200)))                                   // exact copy of d3
        // One word changed in 200: 5-gram Jaccard ≈ 0.95, a candidate with probability 0.998 at 9×13.
        records.append(record("near", Self.nearCopy(Self.doc(5, words: 200), changes: 1, seed: 1)))
        records.append(record("far", Self.nearCopy(Self.doc(7, words: 200), changes: 100, seed: 2)))  // half changed
        let (kept, rejects, counts) = try runJob(records, extraLines: ["{bad json"])
        #expect(!kept.contains("exact") && !kept.contains("near"))
        #expect(kept.contains("far") && (0..<40).allSatisfy { kept.contains("d\($0)") })
        #expect(rejects == ["dedup.minhash": 2, "json.syntax": 1])
        #expect(counts[0].input == 44 && counts[0].kept + counts[0].droppedTotal == 44 && counts[1].balanced)
    }

    @Test func survivorRules() throws {
        let base = Self.doc(9)
        let records = [record("a", base + " tail one"), record("b", base), record("c", base + " a much longer tail here")]
        #expect(try runJob(records, keep: .first).kept == ["a"])
        #expect(try runJob(records, keep: .shortest).kept == ["b"])
        #expect(try runJob(records, keep: .longest).kept == ["c"])
    }
}

@Suite struct MinHashPassesTests {
    @Test func fourPassesEqualOneProcess() throws {
        let dir = try TempDir()
        var lines: [String] = []
        for i in 0..<60 {
            let base = MinHashTests.doc(i % 45, words: 200)  // 15 exact copies
            let text = i % 7 == 0 ? MinHashTests.nearCopy(base, changes: 1, seed: i) : base
            lines.append(JSONSerializer.string(.object(JSONObject([("id", .string("d\(i)")), ("question", .string("q\(i)")), ("reasoning", .string(text))]))))
            if i == 30 { lines.append("{not json") }
        }
        let a = try dir.write("a.jsonl", lines: Array(lines[0..<35])), b = try dir.write("b.jsonl", lines: Array(lines[35...]))
        var o = MinHashDeduplicator.Options()
        (o.bands, o.rows) = (9, 13)
        o.survivor = .shortest

        func ids(_ path: String) throws -> [String] {
            var out: [String] = []
            try LineReader(try openInput(path)).forEachLine { out.append(try Example(bytes: $0.bytes).id!) }
            return out
        }
        let w1 = try JSONLWriter(path: dir.path + "/one.jsonl"), r1 = try JSONLWriter(path: dir.path + "/one-rej.jsonl")
        _ = try NearDedupJob(options: o).run(inputs: [a, b], output: w1, rejects: r1)
        try w1.finish(); try r1.finish()

        let work = dir.path + "/work"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let passes = MinHashPasses(options: o, work: work)
        for i in 0..<3 { #expect(try passes.signatures(inputs: [a, b], index: i, count: 3)) }
        #expect(try passes.signatures(inputs: [a, b], index: 1, count: 3) == false)  // done: skipped
        for j in 0..<2 { #expect(try passes.buckets(index: j, count: 2)) }
        #expect(try passes.clusters(bandSlices: 2))
        var kept: [String] = [], dropped = 0
        for i in 0..<3 {
            let w = try JSONLWriter(path: dir.path + "/p\(i).jsonl"), r = try JSONLWriter(path: dir.path + "/p\(i)-rej.jsonl")
            let c = try passes.remove(inputs: [a, b], index: i, count: 3, output: w, rejects: r)
            try w.finish(); try r.finish()
            #expect(c[1].balanced)
            kept += try ids(dir.path + "/p\(i).jsonl")
            dropped += c[1].droppedTotal + c[0].droppedTotal
        }
        let single = try ids(dir.path + "/one.jsonl")
        #expect(Set(kept) == Set(single) && kept.count == single.count)
        #expect(kept.count + dropped == 61)
        // Files made with other options are refused, not misread.
        var other = o
        (other.bands, other.rows) = (14, 8)
        #expect(throws: FileError.self) {
            try FileManager.default.removeItem(atPath: work + "/survivors.bin.done")
            _ = try MinHashPasses(options: other, work: work).clusters(bandSlices: 2)
        }
    }
}
