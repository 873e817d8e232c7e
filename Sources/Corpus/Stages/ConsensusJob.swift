import Foundation

/// Self-evolution verification (S3-CoT without gold): the variants of one question are kept
/// only if all of their answers (`pred`) agree, and the consensus becomes their `gold`, with a
/// verdict `{by: "consensus", keep: true, reason: "pseudo-label: N variants agree"}`. A record
/// that already has a gold keeps it as `gold_reference` (the consensus never looks at it), and
/// the job counts how often the consensus matches it. Drops: `consensus.disagree` (the
/// question's variants give different answers), `consensus.no_pred` (a variant without an
/// answer: the question cannot be agreed on).
public final class ConsensusJob {
    public var key = "question"
    public var readOptions = RecordReader.Options()
    /// Questions whose consensus was checked against an existing gold, and how many matched.
    public private(set) var checkedAgainstGold = 0
    public private(set) var agreeingWithGold = 0
    public private(set) var questionsKept = 0
    public private(set) var questionsDropped = 0

    public init() {}

    public func run(inputs: [String], output: JSONLWriter, rejects: JSONLWriter) throws -> [StageCounts] {
        // Pass 1: every question's answers.
        var preds: [String: [String?]] = [:]
        for path in inputs {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                let r = try line.example()
                guard let q = r[key]?.stringValue else { return }
                preds[q, default: []].append(r.pred)
            }, onReject: { _ in })
        }
        enum Outcome { case keep(String, Int), drop(String, String) }
        var outcome: [String: Outcome] = [:]
        for (q, ps) in preds {
            if ps.contains(where: { $0 == nil }) {
                outcome[q] = .drop("consensus.no_pred", "\(ps.filter { $0 == nil }.count) of \(ps.count) variants have no answer")
            } else if let first = ps.first!, ps.allSatisfy({ AnswerNormalizer.equivalent($0!, first) }) {
                outcome[q] = .keep(first, ps.count)
            } else {
                let distinct = Set(ps.map { AnswerNormalizer.normalize($0!) }).sorted().prefix(5).joined(separator: ", ")
                outcome[q] = .drop("consensus.disagree", "\(ps.count) variants answer \(distinct)")
            }
        }
        var counted = Set<String>()
        return try DecisionPass.run(inputs: inputs, stage: "consensus", readOptions: readOptions, rejects: rejects) { r, _ in
            guard let q = r[key]?.stringValue, let o = outcome[q] else {
                return .drop("consensus.no_key", "the record has no \(key) to group its variants by")
            }
            switch o {
            case .drop(let reason, let detail):
                if counted.insert(q).inserted { questionsDropped += 1 }
                return .drop(reason, detail)
            case .keep(let answer, let n):
                if counted.insert(q).inserted {
                    questionsKept += 1
                    if let g = r.gold {
                        checkedAgainstGold += 1
                        if AnswerNormalizer.equivalent(answer, g) { agreeingWithGold += 1 }
                    }
                }
                if let g = r.gold { r["gold_reference"] = .string(g) }
                r.gold = answer
                var list = r["verdicts"]?.arrayValue ?? []
                list.append(.object(JSONObject([("by", .string("consensus")), ("keep", .bool(true)),
                                                ("reason", .string("pseudo-label: \(n) variants agree"))])))
                r["verdicts"] = .array(list)
                return .write(output)
            }
        }
    }
}
