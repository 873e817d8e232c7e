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

/// --unpaired keeps System-2 bases without a compressed sibling and compressed variants without
/// a base; the curriculum takes a variant's own Len-R when its base is not in the input.
@Suite struct UnpairedTests {
    static func variant(_ q: String, alpha: Double, tokens: Int, lenR: Double?) -> String {
        var e = Example()
        e.id = "\(q)/a\(alpha)"; e.question = q; e.reasoning = String(repeating: "x ", count: tokens); e.answer = "\\boxed{1}"
        e["tokens"] = .object(JSONObject([("reasoning", .int(tokens))]))
        e["gen"] = .object(JSONObject([("steer", .object(JSONObject([("alpha", .number("\(alpha)"))])))]))
        if let lenR { e.lenRatio = lenR }
        return e.jsonString
    }

    @Test func unpairedKeepsLoneBasesAndVariants() throws {
        let dir = try TempDir()
        let input = try dir.write("v.jsonl", lines: [
            Self.variant("q1", alpha: 0, tokens: 10, lenR: 1), Self.variant("q1", alpha: -1, tokens: 5, lenR: 0.5),  // a pair
            Self.variant("q2", alpha: 0, tokens: 8, lenR: 1),                                                   // base alone
            Self.variant("q3", alpha: -2, tokens: 3, lenR: 0.3), Self.variant("q3", alpha: -1, tokens: 6, lenR: 0.6), // variants alone
        ])
        for unpaired in [false, true] {
            let out = try JSONLWriter(path: dir.path + "/p.jsonl"), rej = try JSONLWriter(path: dir.path + "/r.jsonl")
            let c = try PairsJob(pick: .shortest, unpaired: unpaired).run(inputs: [input], output: out, rejects: rej)
            try out.finish(); try rej.finish()
            let kept = try String(contentsOfFile: dir.path + "/p.jsonl", encoding: .utf8).split(separator: "\n").map { try Example(json: String($0)) }
            if unpaired {
                #expect(kept.map { "\($0.id!) \($0.mode!)" } == ["q1/a0.0 slow", "q1/a-1.0 fast", "q2/a0.0 slow", "q3/a-2.0 fast"])
                #expect(c.last!.dropped == ["pairs.not_chosen": 1])
            } else {
                #expect(kept.map { $0.id! } == ["q1/a0.0", "q1/a-1.0"])
                #expect(c.last!.dropped == ["pairs.no_short": 1, "pairs.no_base": 2])
            }
        }
        // The curriculum: q3's variants have no base in the input, so their own Len-R decides.
        let out = try JSONLWriter(path: dir.path + "/c.jsonl"), rej = try JSONLWriter(path: dir.path + "/cr.jsonl")
        let c = try CurriculumJob(edges: [0.9, 0.5]).run(inputs: [input], output: out, rejects: rej, workDir: dir.path)
        try out.finish(); try rej.finish()
        #expect(c.last!.kept == 5)
        let staged = try String(contentsOfFile: dir.path + "/c.jsonl", encoding: .utf8).split(separator: "\n").map { try Example(json: String($0)) }
        #expect(staged.first { $0.id == "q3/a-2.0" }?.stage == 2 && staged.first { $0.id == "q3/a-1.0" }?.stage == 1)
    }
}
