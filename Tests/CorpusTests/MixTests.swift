import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct MixTests {
    @Test func oneResponsePerQuestionAndExactShare() throws {
        let dir = try TempDir()
        func rec(_ id: String, _ q: Int, _ mode: String) -> String { #"{"id":"\#(id)","question":"q\#(q)","mode":"\#(mode)"}"# }
        // q0…q99 both kinds; q100…q109 long only; q110…q119 short only; q5 has two long responses.
        let long = try dir.write("long.jsonl", lines: (0..<110).map { rec("L\($0)", $0, "slow") } + [rec("L5b", 5, "slow")])
        let short = try dir.write("short.jsonl", lines: ((0..<100).map { $0 } + (110..<120).map { $0 }).map { rec("S\($0)", $0, "fast") } + ["{bad"])
        let out = try JSONLWriter(path: dir.path + "/m.jsonl"), rej = try JSONLWriter(path: dir.path + "/r.jsonl")
        let r = try MixJob(longWeight: 0.2, seed: 1).run(long: [long], short: [short], output: out, rejects: rej)
        try out.finish(); try rej.finish()
        #expect(r.questions == 120 && r.long == 24 && r.short == 96)
        var questions: [String] = []
        try LineReader(try openInput(dir.path + "/m.jsonl")).forEachLine { questions.append(try Example(bytes: $0.bytes).question!) }
        #expect(questions.count == 120 && Set(questions).count == 120)
        #expect(r.counts[0].input == 222 && r.counts[0].dropped == ["json.syntax": 1])
        #expect(r.counts[1].balanced && r.counts[1].kept == 120)
        // 100 both-kind questions leave 100 unchosen responses, plus q5's second long one
        // (unchosen or extra, depending on which kind q5 got).
        #expect(r.counts[1].dropped["mix.not_chosen", default: 0] + r.counts[1].dropped["mix.extra_response", default: 0] == 101)
        // The same seed chooses the same questions; another seed others.
        let o2 = try JSONLWriter(path: dir.path + "/m2.jsonl"), r2 = try JSONLWriter(path: dir.path + "/r2.jsonl")
        _ = try MixJob(longWeight: 0.2, seed: 2).run(long: [long], short: [short], output: o2, rejects: r2)
        try o2.finish(); try r2.finish()
        #expect(try String(contentsOfFile: dir.path + "/m2.jsonl", encoding: .utf8) != String(contentsOfFile: dir.path + "/m.jsonl", encoding: .utf8))
    }

    @Test func weightedSourcesHitExactCounts() throws {
        let dir = try TempDir()
        let a = try dir.write("a.jsonl", lines: (0..<50).map { #"{"id":"a\#($0)","question":"qa\#($0)"}"# })
        let b = try dir.write("b.jsonl", lines: (0..<30).map { #"{"id":"b\#($0)","question":"qb\#($0)"}"# })
        #expect(WeightedMix.counts(weights: [0.5, 0.3, 0.2], total: 10) == [5, 3, 2])
        #expect(WeightedMix.counts(weights: [1, 1, 1], total: 10) == [4, 3, 3])
        let out = try JSONLWriter(path: dir.path + "/o.jsonl"), rej = try JSONLWriter(path: dir.path + "/r.jsonl")
        let counts = try WeightedMix(sources: [(a, .ratio(0.6)), (b, .ratio(0.4))], total: 50, seed: 1).run(output: out, rejects: rej)
        try out.finish(); try rej.finish()
        var ids: [String] = []
        try LineReader(try openInput(dir.path + "/o.jsonl")).forEachLine { ids.append(try Example(bytes: $0.bytes).id!) }
        #expect(ids.filter { $0.hasPrefix("a") }.count == 30 && ids.filter { $0.hasPrefix("b") }.count == 20)
        #expect(counts[0].input == 80 && counts[1].kept == 50 && counts[1].balanced)
        #expect { try WeightedMix(sources: [(b, .count(31))], total: nil, seed: 1).run(output: out, rejects: rej) } throws: {
            "\($0)".contains("b.jsonl has 30 records, 31 were asked")
        }
    }
}
