import Testing
@testable import Corpus

@Suite struct AnswerCheckTests {
    enum Want: Equatable { case keep, mismatch, missing }

    /// (response, gold, expected verdict, expected rule when one fires)
    static let cases: [(String, String, Want, AnswerRule?)] = [
        // \boxed, nested braces, last one wins
        ("So the answer is \\boxed{42}.", "42", .keep, .boxed),
        ("\\boxed{41} wait, no: \\boxed{42}", "42", .keep, .boxed),
        ("\\boxed{\\frac{1}{2}}", "1/2", .keep, .boxed),
        ("\\boxed{\\dfrac{3}{4}}", "0.75", .keep, .boxed),
        ("\\boxed{\\tfrac{3}{4}}", "\\frac{3}{4}", .keep, .boxed),
        ("\\boxed{ 7 }", "7", .keep, .boxed),
        ("\\boxed{1,234}", "1234", .keep, .boxed),
        ("\\boxed{1{,}234}", "1234", .mismatch, .boxed),
        ("\\boxed{5\\text{ cm}}", "5", .keep, .boxed),
        ("\\boxed{\\$18}", "18", .keep, .boxed),
        ("\\boxed{18.0}", "18", .keep, .boxed),
        ("\\boxed{-3}", "-3", .keep, .boxed),
        ("\\boxed{−3}", "-3", .keep, .boxed),
        ("\\boxed{50\\%}", "50", .keep, .boxed),
        ("\\boxed{x = 12}", "12", .keep, .boxed),
        ("\\boxed{90^\\circ}", "90", .keep, .boxed),
        ("\\boxed{\\left(2, 3\\right)}", "(2,3)", .keep, .boxed),
        ("\\boxed{2\\sqrt{3}}", "2\\sqrt{3}", .keep, .boxed),
        ("\\boxed{\\text{Monday}}", "monday", .keep, .boxed),
        ("\\boxed{-\\frac{1}{3}}", "-1/3", .keep, .boxed),
        ("\\boxed{\\frac12}", "0.5", .keep, .boxed),
        ("\\boxed{0.333}", "1/3", .mismatch, .boxed),
        ("\\boxed{43}", "42", .mismatch, .boxed),
        ("\\fbox{8}", "8", .keep, .boxed),
        ("\\boxed {9}", "9", .keep, .boxed),
        ("unbalanced \\boxed{12 and then 13", "13", .keep, .lastNumber),
        ("\\boxed{\\boxed{5}}", "5", .mismatch, .boxed),
        ("The total is \\boxed{1,000,000} dollars", "1000000", .keep, .boxed),
        ("\\boxed{3.50}", "3.5", .keep, .boxed),
        ("\\boxed{.5}", "0.5", .keep, .boxed),
        ("\\boxed{5.}", "5", .keep, .boxed),
        ("\\boxed{10}\n\nCheck: 2 + 8 = 10", "10", .keep, .boxed),
        // GSM8K ####
        ("Natalia sold 48/2 = 24 clips in May.\n#### 72", "72", .keep, .gsm8k),
        ("#### 1,080", "1080", .keep, .gsm8k),
        ("#### $5", "5", .keep, .gsm8k),
        ("steps...\n####  -7 ", "-7", .keep, .gsm8k),
        ("#### 70\n", "72", .mismatch, .gsm8k),
        // "the answer is"
        ("The answer is 12.", "12", .keep, .answerIs),
        ("So the final answer is 3.5.", "3.5", .keep, .answerIs),
        ("Therefore, the answer is $12.50.", "12.5", .keep, .answerIs),
        ("Answer: 17", "17", .keep, .answerIs),
        ("Final Answer: 2/3", "\\frac{2}{3}", .keep, .answerIs),
        ("The answer is: 5 apples", "5", .keep, .answerIs),
        ("THE ANSWER IS 9", "9", .keep, .answerIs),
        ("The answer is 4. But also 5 might work.", "4", .keep, .answerIs),
        ("The answer is **8**.", "8", .keep, .answerIs),
        ("I think the answer is 11, not 12.", "11", .mismatch, .answerIs),
        ("The answer is seven.", "7", .mismatch, .answerIs),
        ("the answer is 100%", "100", .keep, .answerIs),
        ("the answer is 1e3", "1000", .mismatch, .answerIs),
        // last number fallback
        ("17 + 25 = 42", "42", .keep, .lastNumber),
        ("She has 3 apples, then 5 more, so 8", "8", .keep, .lastNumber),
        ("It costs $1,250 in total", "1250", .keep, .lastNumber),
        ("Temperature drops to -4 degrees", "-4", .keep, .lastNumber),
        ("half is 1/2", "0.5", .keep, .lastNumber),
        ("7 times 8 is 54", "56", .mismatch, .lastNumber),
        ("0.75 of the cake", "3/4", .keep, .lastNumber),
        ("Sum is 2,345.", "2345", .keep, .lastNumber),
        // nothing to extract
        ("I cannot solve this.", "5", .missing, nil),
        ("", "5", .missing, nil),
        ("The answer is", "5", .missing, nil),
        ("no digits here at all", "0", .missing, nil),
    ]

    @Test func tableOfCases() throws {
        #expect(Self.cases.count >= 60)
        var stage = AnswerCheckStage()
        for (response, gold, want, rule) in Self.cases {
            var r = Example()
            r.id = "x"; r.question = "q"; r.answer = response; r.gold = gold
            let v = try stage.process(&r)
            switch want {
            case .keep: #expect(v == .keep, "\(response.debugDescription) gold \(gold): \(v), pred \(r.pred ?? "nil")")
            case .mismatch: #expect(v == .drop("answer.mismatch", detail: v.detail), "\(response.debugDescription) gold \(gold): \(v)")
            case .missing: #expect(v == .drop("answer.missing", detail: v.detail), "\(response.debugDescription): \(v)")
            }
            if let rule {
                #expect(AnswerExtractor.extract(response)?.rule == rule, "\(response.debugDescription): rule \(String(describing: AnswerExtractor.extract(response)?.rule))")
            }
        }
    }

    @Test func noGoldAndVerdicts() throws {
        var strict = AnswerCheckStage()
        var r = Example(); r.id = "a"; r.question = "q"; r.answer = "\\boxed{3}"
        #expect(try strict.process(&r) == .drop("answer.no_gold", detail: "the record has no gold answer to compare with"))
        var lax = AnswerCheckStage(allowMissingGold: true)
        #expect(try lax.process(&r) == .keep)
        #expect(r.pred == "3")
        #expect(r["verdicts"]?.arrayValue?.last?.objectValue?["reason"] == .string("boxed"))
        // Reasoning is used when the answer field is empty.
        var s = AnswerCheckStage()
        var q = Example(); q.id = "b"; q.question = "q"; q.reasoning = "so 6 × 7 = \\boxed{42}"; q.answer = ""; q.gold = "42"
        #expect(try s.process(&q) == .keep)
    }
}

extension Verdict {
    var detail: String? { if case .drop(_, let d) = self { return d } else { return nil } }
}
