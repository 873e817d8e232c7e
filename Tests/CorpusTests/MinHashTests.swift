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
