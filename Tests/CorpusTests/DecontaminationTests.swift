import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct DecontaminationTests {
    @Test func sharedNGramsAreFoundAndReported() throws {
        let dir = try TempDir()
        let eval = try dir.write("eval.jsonl", lines: [
            #"{"id":"gsm-1","question":"Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."}"#,
            #"{"id":"gsm-2","question":"Weng earns $12 an hour for babysitting."}"#,
            #"{"problem":"no question field here"}"#,
            "not json",
        ])
        var index = EvalIndex(n: 8)
        let (added, skipped) = try index.load(path: eval, field: "question")
        #expect(added == 2 && skipped == 2)
        var stage = DecontaminationStage(index: index)
        func check(_ q: String) throws -> Verdict {
            var r = Example(JSONObject([("id", .string("t")), ("question", .string(q))]))
            return try stage.process(&r)
        }
        // 8 consecutive words of gsm-1, with different case and spacing: contaminated.
        #expect(try check("Rewrite: NATALIA sold clips to 48   of her friends in april and more") == .drop("decontam.ngram", detail: "question shares a 8-gram with gsm-1"))
        // 7 consecutive words only: clean.
        #expect(try check("natalia sold clips to 48 of her cousins") == .keep)
        // A short evaluation item (7 words < 8) is one n-gram of all its words.
        #expect(try check("weng earns $12 an hour for babysitting.") == .drop("decontam.ngram", detail: "question shares a 8-gram with gsm-2"))
        #expect(try check("weng earns $12 an hour for tutoring") == .keep)
        #expect(stage.hits == [0: 1, 1: 1])
    }

    @Test func thirteenGrams() throws {
        var index = EvalIndex(n: 13)
        index.add((0..<20).map { "w\($0)" }.joined(separator: " "), file: "e", line: 1, id: "x")
        #expect(index.firstHit((0..<13).map { "w\($0)" }.joined(separator: " ")) == 0)
        #expect(index.firstHit((0..<12).map { "w\($0)" }.joined(separator: " ")) == nil)
    }
}
