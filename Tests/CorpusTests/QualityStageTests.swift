import Foundation
import Testing
@testable import Corpus

@Suite struct RepetitionStageTests {
    func reason(_ text: String, _ t: RepetitionStage.Thresholds = .init()) -> String? { RepetitionStage.check(text, t)?.0 }

    @Test func eachRule() {
        let prose = (0..<80).map { "word\($0)" }.joined(separator: " ")
        #expect(reason(prose) == nil)
        #expect(reason("a para\n\na para\n\na para\n\nlast") == "dup_para_frac")  // 2 of 4 repeat > 30%
        #expect(reason(String(repeating: "x", count: 200) + "\n\n" + String(repeating: "x", count: 200) + "\n\n" + String(repeating: "y", count: 300) + "\n\nb\n\nc\n\nd") == "dup_para_char_frac")
        #expect(reason("l1\nl1\nl1\nl2") == "dup_line_frac")  // 2 of 4 lines repeat
        // 1 of 7 lines repeats (< 30%), but it holds 150 of ~610 characters (> 20%).
        #expect(reason(String(repeating: "z", count: 150) + "\n" + String(repeating: "z", count: 150) + "\n" + String(repeating: "q", count: 300) + "\nw\ne\nr\nt") == "dup_line_char_frac")
        // A frequent 2-gram in a long text.
        let top2 = (0..<60).map { $0 % 2 == 0 ? "the cat" : "w\($0)" }.joined(separator: " ")
        #expect(reason(top2) == "top_2gram")
        // A 10-word block three times, not at the end (so not a loop): its 4-grams stay under
        // 16% of the characters, the repeated 5-grams cover more than 15%.
        let block = "alpha beta gamma delta epsilon zeta theta kappa lambda sigma"
        let dup5 = ((0..<50).map { "u\($0)" } + [block, block, block] + (50..<100).map { "v\($0)" }).joined(separator: " ")
        #expect(reason(dup5) == "dup_5gram")
    }

    @Test func shortChainsOfThoughtAreNotFlaggedByNGrams() {
        #expect(reason("3 + 4 = 7, 7 + 4 = 11, 11 + 4 = 15, so the answer is 15") == nil)
    }

    @Test func degenerateLoops() {
        let loop = "Let me compute the sum first. " + String(repeating: "and then we add it again ", count: 12)
        #expect(reason(loop) == "loop")
        #expect(reason("start " + String(repeating: "the ", count: 40)) == "loop")
        // Three repeats stay below loopMinRepeats = 4.
        #expect(reason((0..<40).map { "w\($0)" }.joined(separator: " ") + " ok ok ok") == nil)
    }

    /// A loop at the end of the reasoning is caught even when an answer follows it.
    @Test func loopsAreFoundPerField() throws {
        var s = RepetitionStage()
        var r = Example(JSONObject([("id", .string("a")), ("question", .string("q")),
                                    ("reasoning", .string("x " + String(repeating: "again ", count: 30))), ("answer", .string("ok"))]))
        guard case .drop(let reason, let detail) = try s.process(&r) else { Issue.record("kept a loop"); return }
        #expect(reason == "repetition.loop" && detail?.hasPrefix("reasoning:") == true)
    }
}

@Suite struct RefusalTests {
    /// Written for this test: 55 refusals, 55 responses that are not, several of them chosen to
    /// look like refusals at a glance.
    static let refusals = [
        "I can't help with that.", "I cannot help with creating malware.", "I'm sorry, but I can't assist with that request.",
        "I'm sorry, but I cannot provide instructions for making weapons.", "As an AI, I don't have the ability to do that.",
        "As an AI language model, I cannot browse the internet.", "I won't help with hacking into accounts.",
        "I will not provide that information.", "I must decline this request.", "Sorry, I can't do that.",
        "I apologize, but I can't help with illegal activities.", "I'm not able to help with that.", "I am unable to comply with this request.",
        "I'm unable to provide medical diagnoses.", "That's against my guidelines, so I won't answer.", "I can't assist with that, but I can help with something else.",
        "I cannot and will not help with this.", "I'm not comfortable writing that content.", "I don't feel comfortable helping with this request.",
        "It's not appropriate for me to speculate about that person.", "I'd rather not discuss that topic.", "I'm afraid I can't help you with that.",
        "I refuse to write hateful content.", "Sorry, but I can't share personal data about individuals.", "I cannot generate explicit content.",
        "I can't create a fake ID.", "I cannot write malware or exploit code.", "I can't give instructions on picking locks to break in.",
        "I'm sorry, but I can't continue with this.", "As a language model, I can't make that decision for you.",
        "I cannot fulfill this request.", "I can't fulfill that request because it could cause harm.", "I won't be able to help with that one.",
        "I'm not able to provide that kind of advice.", "I am not able to assist with that.", "I have to decline.",
        "That is not something I can help with.", "I can't engage in that conversation.", "I cannot support that request.",
        "I can't answer that question.", "I'm going to decline to answer that.", "I must refuse this request.",
        "I can't in good conscience help with this.", "Unfortunately, I'm unable to help with that request.",
        "I’m sorry, but I can’t help with that.", "Sorry, I cannot assist with hacking.", "I apologize, but I cannot comply.",
        "I would rather not produce that.", "This violates my guidelines, so I can't proceed.", "i cant help with that",
        "I can't provide a way to bypass security systems.", "I cannot share that.", "I won't do that.",
        "I'm unable to assist with that request.", "It is not appropriate for me to write that.",
    ]
    static let answers = [
        "The answer is 42.", "Sure! Here is a poem about the sea.", "I can't believe how simple this is: 2 + 2 = 4.",
        "To kill a Python process, run `kill -9 PID`.", "Here's how to bake bread: mix flour, water, yeast and salt.",
        "Step 1: add 3 and 4 to get 7. The answer is 7.", "Yes, you can use a for loop for that.",
        "As an aside, the mitochondria is the powerhouse of the cell.", "I can help with that! First, open the terminal.",
        "Certainly. The capital of France is Paris.", "I cannot stress enough how important it is to back up your data. Here's how to do it.",
        "Let me reason step by step. 12 + 7 = 19.", "You can't divide by zero in arithmetic, so the expression is undefined.",
        "Sorry to hear your code is failing! The bug is on line 3.", "I'm happy to help. Here are three ideas.",
        "The function can't return None here because of the guard.", "Great question! Photosynthesis converts light into energy.",
        "Thanks! The result is \\boxed{56}.", "I won the game yesterday, and it was fun.", "I'm not sure, but I think the answer is 5.",
        "Here is the translation: buenos días.", "No problem. The derivative of x^2 is 2x.", "First we compute 9 × 8 = 72.",
        "I think you should try restarting the server.", "It's 3 o'clock in London now.", "Of course. The square root of 144 is 12.",
        "An AI model like me predicts the next token; the answer is 10.", "We can't know the exact number, but roughly 8 billion people live on Earth.",
        "To stop a runaway process, use `pkill`.", "Here's a joke: why did the chicken cross the road?", "The tallest mountain is Everest.",
        "Let's think. If Tom has 3 apples and buys 5, he has 8.", "Sure, I'll explain recursion with an example.",
        "The word 'cannot' is written as one word in English.", "Happy to help: the boiling point of water is 100 °C.",
        "I'll walk you through the proof by induction.", "Water freezes at 0 °C at sea level.",
        "Python's `os.kill` sends a signal to a process.", "The answer is \\boxed{-3}.", "You're right, I made a mistake; it is 15.",
        "The kill command in Unix terminates processes.", "Here's a summary of the article in three bullet points.",
        "Sure — to shoot a photo at night, use a tripod.", "The film was a hit; critics loved it.", "1 + 1 = 2.",
        "Hmm, let me check that again. Yes, 7 × 6 = 42.", "A triangle's angles add up to 180 degrees.",
        "The best way to attack this problem is dynamic programming.", "To execute a script, run `python script.py`.",
        "I can't wait to see what you build!", "Here is the SQL query you asked for.", "The password field should be hashed with bcrypt.",
        "Apologies for the confusion earlier; the correct total is 30.", "The model cannot be loaded without the weights file; download it first, then retry.",
        "I'm able to help with that. The answer is 4.",
    ]

    @Test func precisionAndRecallOnTheLabelledSet() {
        #expect(Self.refusals.count + Self.answers.count >= 100)
        let tp = Self.refusals.filter { RefusalDetector.match($0) != nil }.count
        let fp = Self.answers.filter { RefusalDetector.match($0) != nil }.count
        let precision = Double(tp) / Double(max(1, tp + fp)), recall = Double(tp) / Double(Self.refusals.count)
        print("refusal detector on \(Self.refusals.count + Self.answers.count) labelled responses: precision \(precision), recall \(recall)")
        for a in Self.answers where RefusalDetector.match(a) != nil { print("  false positive: \(a)") }
        for r in Self.refusals where RefusalDetector.match(r) == nil { print("  missed: \(r)") }
        #expect(precision >= 0.95)
        #expect(recall >= 0.95)
    }

    @Test func dropOrLabel() throws {
        var d = RefusalStage()
        var r = Example(JSONObject([("id", .string("a")), ("question", .string("q")), ("answer", .string("I'm sorry, but I can't help."))]))
        guard case .drop(let reason, _) = try d.process(&r) else { Issue.record("kept a refusal"); return }
        #expect(reason == "refusal.phrase")
        var l = RefusalStage(labelOnly: true)
        #expect(try l.process(&r) == .keep)
        #expect(r["verdicts"]?.arrayValue?.last?.objectValue?["keep"] == .bool(false))
    }
}

@Suite struct PIIStageTests {
    static let text = "Mail jane.doe@example.com or call (555) 123-4567 / +44 20 7946 0958; server 192.168.1.20, 2001:db8::8a2e:370:7334 and fe80:0:0:0:202:b3ff:fe1e:8329; key AKIAIOSFODNN7EXAMPLE and ghp_" + String(repeating: "a", count: 36) + ". The result 1234567890, version 1.2.3, std::string, a::b, 12:30 and 10:15:20 stay."

    @Test func replacesEveryKindAndCounts() throws {
        var s = PIIStage(fields: ["answer"])
        var r = Example(JSONObject([("id", .string("a")), ("question", .string("q")), ("answer", .string(Self.text))]))
        #expect(try s.process(&r) == .keep)
        let out = try #require(r.answer)
        #expect(out.contains("<EMAIL>") && out.contains("<PHONE>") && out.contains("<IP>") && out.contains("<SECRET>"))
        #expect(!out.contains("jane.doe") && !out.contains("AKIA") && !out.contains("192.168"))
        #expect(!out.contains("db8") && !out.contains("fe80"))
        #expect(out.contains("1234567890") && out.contains("1.2.3") && out.contains("std::string") && out.contains("a::b"))
        #expect(out.contains("12:30") && out.contains("10:15:20"))
        #expect(s.replaced[.email] == 1 && s.replaced[.ip] == 3 && s.replaced[.secret] == 2 && s.replaced[.phone] == 2)
    }

    @Test func dropMode() throws {
        var s = PIIStage(drop: true)
        var r = Example(JSONObject([("id", .string("a")), ("question", .string("contact me at a@b.io"))]))
        #expect(try s.process(&r) == .drop("pii.email", detail: "1 email match(es) in question"))
        var clean = Example(JSONObject([("id", .string("b")), ("question", .string("What is 12 + 7?"))]))
        #expect(try s.process(&clean) == .keep)
    }
}
