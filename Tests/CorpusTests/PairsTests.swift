import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct PairsTests {
    func variant(_ id: String, _ q: String, alpha: Double?, tokens: Int) -> String {
        var o = JSONObject([("id", .string(id)), ("question", .string(q)), ("prompt", .string("\(q) old instruction")),
                            ("reasoning", .string(String(repeating: "x", count: tokens)))])
        o["tokens"] = .object(JSONObject([("reasoning", .int(tokens))]))
        if let a = alpha { o["gen"] = .object(JSONObject([("steer", .object(JSONObject([("alpha", .double(a))])))])) }
        return JSONSerializer.string(.object(o))
    }

    func run(_ pick: PairsJob.Pick, _ lines: [String]) throws -> (kept: [Example], counts: [StageCounts]) {
        let dir = try TempDir()
        let input = try dir.write("v.jsonl", lines: lines)
        let out = try JSONLWriter(path: dir.path + "/out.jsonl"), rej = try JSONLWriter(path: dir.path + "/rej.jsonl")
        let counts = try PairsJob(pick: pick, seed: 3).run(inputs: [input], output: out, rejects: rej)
        try out.finish(); try rej.finish()
        var kept: [Example] = []
        try LineReader(try openInput(dir.path + "/out.jsonl")).forEachLine { kept.append(try Example(bytes: $0.bytes)) }
        return (kept, counts)
    }

    var lines: [String] {
        [variant("q1/a0", "q1", alpha: 0, tokens: 100), variant("q1/a-0.3", "q1", alpha: -0.3, tokens: 60),
         variant("q1/a-0.5", "q1", alpha: -0.5, tokens: 40), variant("q1/a0b", "q1", alpha: 0, tokens: 90),
         variant("q2/a0", "q2", alpha: 0, tokens: 50),                    // no compressed variant
         variant("q3/a-0.5", "q3", alpha: -0.5, tokens: 20)]             // no base
    }

    /// Shortest: the α=0 trace becomes the System-2 (slow) record, the shortest variant the
    /// System-1 (fast) one, prompts rewritten; every other record dropped with its reason.
    @Test func shortestPairs() throws {
        let (kept, counts) = try run(.shortest, lines)
        #expect(kept.map(\.id!) == ["q1/a0", "q1/a-0.5"])
        #expect(kept.map(\.mode!) == ["slow", "fast"])
        #expect(kept[0].prompt == "q1 \(Instruction.system2)" && kept[1].prompt == "q1 \(Instruction.system1)")
        #expect(counts[1].dropped == ["pairs.not_chosen": 1, "pairs.extra_base": 1, "pairs.no_short": 1, "pairs.no_base": 1])
        #expect(counts[1].input == counts[1].kept + counts[1].droppedTotal)
    }

    /// All: every compressed variant of a question with a base; seeded: one, the same on
    /// every run.
    @Test func allAndSeeded() throws {
        #expect(try run(.all, lines).kept.map(\.id!) == ["q1/a0", "q1/a-0.3", "q1/a-0.5"])
        let a = try run(.seeded, lines).kept.map(\.id!), b = try run(.seeded, lines).kept.map(\.id!)
        #expect(a == b && a.count == 2 && a[0] == "q1/a0")
    }
}
