import Foundation
import Testing
@testable import Corpus
import TestSupport

func record(_ fields: [(String, JSONValue)]) -> Example {
    Example(JSONObject([("id", .string("r")), ("question", .string("q"))] + fields))
}

@Suite struct FormatStageTests {
    static let cases: [([(String, JSONValue)], Verdict)] = [
        ([("reasoning", .string("think")), ("answer", .string("42"))], .keep),
        ([("answer", .string("<think>step</think>\n\n42"))], .keep),
        ([("answer", .string("42"))], .drop("format.no_think")),
        ([("reasoning", .string("  ")), ("answer", .string("42"))], .drop("format.empty_think")),
        ([("answer", .string("<think>\n</think>42"))], .drop("format.empty_think")),
        ([("reasoning", .string("ok")), ("answer", .string(" \n"))], .drop("format.empty_answer")),
        ([("answer", .string("<think>a</think>"))], .drop("format.empty_answer")),
        ([("answer", .string("<think>a</think><think>b</think>c"))], .drop("format.multiple_think")),
        ([("answer", .string("<think>a c"))], .drop("format.unbalanced_think")),
        ([("answer", .string("a</think>b<think>"))], .drop("format.unbalanced_think")),
        ([("reasoning", .string("x <think> y")), ("answer", .string("1"))], .drop("format.unbalanced_think")),
        ([("reasoning", .string("r")), ("answer", .string("<think>t</think>a"))], .drop("format.multiple_think")),
    ]

    @Test func reasons() throws {
        for (fields, want) in Self.cases {
            var s = FormatStage()
            var r = record(fields)
            let v = try s.process(&r)
            switch (v, want) {
            case (.keep, .keep): break
            case (.drop(let a, _), .drop(let b, _)): #expect(a == b, "\(fields)")
            default: Issue.record("\(fields): got \(v), want \(want)")
            }
        }
        var lax = FormatStage(requireThink: false, requireAnswer: true)
        var r = record([("answer", .string("42"))])
        #expect(try lax.process(&r) == .keep)
    }
}

struct WordCounter: TokenCounter {
    func countTokens(_ text: String) -> Int { text.split(separator: " ").count * 2 }
}

@Suite struct LengthStageTests {
    @Test func boundsAndReasons() throws {
        var s = try LengthStage(bounds: [try LengthStage.parse("reasoning:words=2", isMin: true),
                                         try LengthStage.parse("answer=5", isMin: false),
                                         try LengthStage.parse("reasoning:tokens=8", isMin: false)], tokenizer: WordCounter())
        func v(_ reasoning: String, _ answer: String) throws -> Verdict {
            var r = record([("reasoning", .string(reasoning)), ("answer", .string(answer))])
            return try s.process(&r)
        }
        #expect(try v("one two", "12345") == .keep)
        #expect(try v("one", "1") == .drop("length.reasoning.words_below", detail: "1 words, minimum 2"))
        #expect(try v("one two", "123456") == .drop("length.answer.chars_above", detail: "6 chars, maximum 5"))
        #expect(try v("a b c d e", "1") == .drop("length.reasoning.tokens_above", detail: "10 tokens, maximum 8"))
        #expect(throws: SplitError.self) { try LengthStage.parse("reasoning:bytes=3", isMin: true) }
        #expect(throws: SplitError.self) { try LengthStage(bounds: [LengthStage.Bound(field: "a", unit: .tokens, max: 1)]) }
    }
}

@Suite struct ExactDedupTests {
    @Test func normalizedKeysAndFirstKept() throws {
        var s = ExactDedupStage(fields: ["question"])
        var verdicts: [Verdict] = []
        for q in ["What is 2+2?", "what is 2 + 2", "  WHAT   is 2+2 ?!", "What is 3+3?"] {
            var r = Example(JSONObject([("id", .string(q)), ("question", .string(q))]))
            verdicts.append(try s.process(&r))
        }
        // "2+2" and "2 + 2" differ after normalization (spaces between digits are kept folded).
        #expect(verdicts.map { $0 == .keep } == [true, true, false, true])
        #expect(ExactDedupStage.normalize("  Hello,   World!! ") == "hello world")
        var two = ExactDedupStage(fields: ["question", "answer"])
        var a = record([("answer", .string("1"))]), b = record([("answer", .string("2"))]), c = record([("answer", .string("1"))])
        #expect(try two.process(&a) == .keep)
        #expect(try two.process(&b) == .keep)
        #expect(try two.process(&c) != .keep)
    }
}

@Suite struct StageRunnerTests {
    /// Random records through every stage: read.in = kept + all drops, each stage's in equals
    /// the previous stage's kept, the output and rejects hold exactly those records, and slices
    /// of the input add up to the whole.
    @Test func accountingHoldsOnRandomRecords() throws {
        let dir = try TempDir()
        var rng = SeededRandom(seed: 17)
        var lines: [String] = []
        for i in 0..<600 {
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: lines.append("{broken \(i)")
            case 1: lines.append("[1, 2]")
            default:
                let q = "Q\(Int.random(in: 0..<150, using: &rng))"
                let ans = ["\\boxed{\(i % 7)}", "<think>t</think>\\boxed{1}", "", "#### 3", "nothing", "I can't help with that.",
                           "mail me: x@y.io", "again " + String(repeating: "and again ", count: 8), "so and again and then \\boxed{2}"].randomElement(using: &rng)!
                var o = JSONObject([("id", .string("r\(i)")), ("question", .string(q)), ("answer", .string(ans)), ("gold", .string("\(i % 3)"))])
                if Bool.random(using: &rng) { o["reasoning"] = .string((0..<Int.random(in: 0..<9, using: &rng)).map { "w\($0)" }.joined(separator: " ")) }
                lines.append(JSONSerializer.string(.object(o)))
            }
        }
        let input = try dir.write("in.jsonl", lines: lines)
        func run(slice: Int, of n: Int) throws -> (StageRunner.Result, Int, Int) {
            var eval = EvalIndex(n: 3)
            eval.add("so and again", file: "eval", line: 1, id: "e1")  // only in the answer made for it
            let runner = StageRunner(stages: [
                PIIStage(drop: true), RefusalStage(), DecontaminationStage(index: eval, fields: ["answer"]), RepetitionStage(),
                FormatStage(requireThink: false), try LengthStage(bounds: [LengthStage.Bound(field: "reasoning", unit: .words, max: 5)]),
                AnswerCheckStage(), ExactDedupStage(fields: ["question"]),
            ])
            runner.sliceIndex = slice
            runner.sliceCount = n
            let out = try JSONLWriter(path: "\(dir.path)/out-\(slice)-\(n).jsonl"), rej = try JSONLWriter(path: "\(dir.path)/rej-\(slice)-\(n).jsonl")
            let r = try runner.run(inputs: [input], output: out, rejects: rej)
            try out.finish(); try rej.finish()
            func count(_ p: String) throws -> Int { try String(contentsOfFile: p, encoding: .utf8).split(separator: "\n").count }
            return (r, try count("\(dir.path)/out-\(slice)-\(n).jsonl"), try count("\(dir.path)/rej-\(slice)-\(n).jsonl"))
        }
        let (whole, outLines, rejLines) = try run(slice: 0, of: 1)
        #expect(whole.counts[0].input == 600)
        #expect(whole.counts.allSatisfy { $0.balanced })
        for i in 1..<whole.counts.count { #expect(whole.counts[i].input == whole.counts[i - 1].kept, "\(whole.counts[i].name)") }
        #expect(whole.kept + whole.dropped == 600)
        #expect(outLines == whole.kept && rejLines == whole.dropped)
        #expect(whole.counts.allSatisfy { $0.droppedTotal > 0 })  // every stage dropped something
        var total = 0
        for s in 0..<3 {
            let (r, o, j) = try run(slice: s, of: 3)
            #expect(r.kept + r.dropped == r.counts[0].input && o == r.kept && j == r.dropped)
            total += r.counts[0].input
        }
        #expect(total == 600)
    }
}
