import Foundation
import Testing
@testable import Corpus
import TestSupport

@Suite struct ConsensusTests {
    func variant(_ id: String, _ q: String, pred: String?, gold: String? = nil) -> String {
        var o = JSONObject([("id", .string(id)), ("question", .string(q))])
        if let pred { o["pred"] = .string(pred) }
        if let gold { o["gold"] = .string(gold) }
        return JSONSerializer.string(.object(o))
    }

    /// Agreeing questions are kept whole with the consensus as gold and a pseudo-label verdict;
    /// a disagreement or a missing answer drops every variant of that question with its reason;
    /// an existing gold is kept aside and the agreement with it counted; counts add up.
    @Test func keepsOnlyAgreeingQuestions() throws {
        let dir = try TempDir()
        let input = try dir.write("v.jsonl", lines: [
            variant("q1/a0", "q1", pred: "1,000", gold: "1000"), variant("q1/a-1", "q1", pred: "1000.0", gold: "1000"),
            variant("q2/a0", "q2", pred: "5"), variant("q2/a-1", "q2", pred: "6"),
            variant("q3/a0", "q3", pred: "7", gold: "8"), variant("q3/a-1", "q3", pred: "7", gold: "8"),
            variant("q4/a0", "q4", pred: nil), variant("q4/a-1", "q4", pred: "2"),
            #"{"id":"bad""#,
        ])
        let out = try JSONLWriter(path: dir.path + "/out.jsonl"), rej = try JSONLWriter(path: dir.path + "/rej.jsonl")
        let job = ConsensusJob()
        let counts = try job.run(inputs: [input], output: out, rejects: rej)
        try out.finish(); try rej.finish()
        var kept: [Example] = []
        try LineReader(try openInput(dir.path + "/out.jsonl")).forEachLine { kept.append(try Example(bytes: $0.bytes)) }
        #expect(kept.map(\.id!) == ["q1/a0", "q1/a-1", "q3/a0", "q3/a-1"])
        #expect(kept.map(\.gold!) == ["1,000", "1,000", "7", "7"])
        #expect(kept[0]["gold_reference"] == .string("1000"))
        #expect(kept[0]["verdicts"]?.arrayValue?.last?.objectValue?["reason"] == .string("pseudo-label: 2 variants agree"))
        #expect(counts[1].dropped == ["consensus.disagree": 2, "consensus.no_pred": 2])
        #expect(counts[0].input == 9 && counts[0].dropped == ["json.syntax": 1])
        #expect(counts[1].input == counts[1].kept + counts[1].droppedTotal)
        #expect(job.questionsKept == 2 && job.questionsDropped == 2)
        #expect(job.checkedAgainstGold == 2 && job.agreeingWithGold == 1)
        var rejected = 0
        try LineReader(try openInput(dir.path + "/rej.jsonl")).forEachLine { _ in rejected += 1 }
        #expect(rejected == 5)
    }
}
