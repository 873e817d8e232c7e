import Foundation
import Testing
@testable import Corpus

@Suite struct QuestionTests {
    /// Each worked solution recomputes the gold answer: the numbers in "a op b = c" chain from
    /// the start count to the gold, so a wrong gold or a broken step would show.
    @Test(arguments: [1, 2, 3])
    func solutionsRecomputeTheGold(difficulty: Int) throws {
        let gen = WordProblemGenerator(seed: 3, steps: 1...4, difficulty: difficulty)
        var stepCounts = Set<Int>()
        for i in 0..<300 {
            let p = gen.problem(i)
            stepCounts.insert(p.steps)
            #expect(p.gold >= 0)
            #expect(p.solution.count == p.steps + 2, "a start sentence, one per step, the answer")
            // Replay: every step line ends with "= N." — the running count.
            var count = Int(p.solution[0].split(separator: " ").first { Int($0) != nil }!)!
            for line in p.solution.dropFirst().dropLast() {
                let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                // The step's equation is its last "a op b = c".
                let (a, b, result) = (numbers[numbers.count - 3], numbers[numbers.count - 2], numbers[numbers.count - 1])
                #expect(a == count, "\(line) does not start from \(count)")
                if line.contains(" + ") { #expect(a + b == result, "\(line)") }
                else if line.contains(" - ") { #expect(a - b == result && result >= 0, "\(line)") }
                else if line.contains(" ÷ ") { #expect(a / b == result && a % b == 0, "\(line)") }
                else { Issue.record("no operation in \(line)") }
                count = result
            }
            #expect(count == p.gold, "\(p.question) → \(p.solution)")
            #expect(p.question.hasSuffix("?"))
        }
        #expect(stepCounts == [1, 2, 3, 4])
    }

    /// Problem i depends only on (seed, i, settings); another seed gives other problems; the
    /// records carry id, task, question, gold and source.
    @Test func seededAndIndependentOfCount() {
        let a = WordProblemGenerator(seed: 1).records(count: 50)
        let b = WordProblemGenerator(seed: 1).records(count: 20, start: 30)
        #expect(Array(a[30...]).map(\.question) == b.map(\.question))
        let c = WordProblemGenerator(seed: 2).records(count: 50)
        #expect(zip(a, c).filter { $0.question == $1.question }.count < 3)
        #expect(Set(a.map(\.question)).count >= 48, "varied templates, names and numbers")
        #expect(a[0].id == "arith-1-0" && a[0].task == "math" && a[0].gold != nil)
        #expect(a[0]["source"]?.objectValue?["name"]?.stringValue == "cotforge-arith")
        let one = WordProblemGenerator(seed: 1, steps: 1...1, difficulty: 1)
        #expect((0..<50).allSatisfy { one.problem($0).steps == 1 && one.problem($0).gold <= 40 })
    }

    static func object(_ json: String) throws -> JSONObject { try Example(json: json).fields }

    @Test func importsGSM8K() throws {
        let ok = QuestionImporter.record(try Self.object(#"{"question":"Tom has 2 apples.","answer":"He has 2.\n#### 1,234"}"#),
                                         format: .gsm8k, source: "gsm8k", index: 7, license: "MIT")
        let e = try ok.get()
        #expect(e.question == "Tom has 2 apples." && e.gold == "1234" && e.id == "gsm8k-7")
        #expect(e["source"]?.objectValue?["license"]?.stringValue == "MIT")
        let bad = QuestionImporter.record(try Self.object(#"{"question":"q","answer":"no marker"}"#), format: .gsm8k, source: "g", index: 0, license: nil)
        #expect(bad.failureReason == "gsm8k.no_final")
    }

    @Test func importsMATH() throws {
        let e = try QuestionImporter.record(try Self.object(#"{"problem":"Find x.","solution":"So $x = \\boxed{\\frac{1}{2}}$."}"#),
                                            format: .math, source: "math", index: 0, license: nil).get()
        #expect(e.question == "Find x." && e.gold == "\\frac{1}{2}")
        let bad = QuestionImporter.record(try Self.object(#"{"problem":"p","solution":"x = 3"}"#), format: .math, source: "m", index: 0, license: nil)
        #expect(bad.failureReason == "math.no_boxed")
    }

    @Test func importsGenericAndReasoningGym() throws {
        let g = try QuestionImporter.record(try Self.object(#"{"prompt":"2+2?","target":4}"#), format: .generic(question: "prompt", answer: "target"),
                                            source: "t", index: 1, license: nil).get()
        #expect(g.question == "2+2?" && g.gold == "4")
        let noGold = try QuestionImporter.record(try Self.object(#"{"prompt":"2+2?"}"#), format: .generic(question: "prompt", answer: nil),
                                                 source: "t", index: 1, license: nil).get()
        #expect(noGold.gold == nil)
        let missing = QuestionImporter.record(try Self.object(#"{"other":"x"}"#), format: .generic(question: "prompt", answer: nil), source: "t", index: 1, license: nil)
        #expect(missing.failureReason == "question.missing")
        let rg = try QuestionImporter.record(try Self.object(#"{"question":"What is 3 * 4?","answer":"12","metadata":{"source_dataset":"basic_arithmetic","source_index":5}}"#),
                                             format: .reasoningGym, source: "file", index: 9, license: nil).get()
        #expect(rg.id == "basic_arithmetic-5" && rg.gold == "12")
    }
}

extension Result where Failure == QuestionError {
    var failureReason: String? { if case .failure(let e) = self { return e.reason } else { return nil } }
}
