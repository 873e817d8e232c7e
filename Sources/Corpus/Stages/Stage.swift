/// What a stage decides for one record.
public enum Verdict: Sendable, Equatable {
    case keep
    /// `reason` is a dotted name (`answer.mismatch`, `format.empty_think`); `detail` says more.
    case drop(_ reason: String, detail: String? = nil)
}

/// One small job over records: a filter looks at one record at a time, a stateful stage
/// (dedup) remembers what it has seen. A stage may annotate a record it keeps (e.g. fill
/// `pred`). It never counts, writes or reports progress: the runner does.
public protocol Stage {
    /// The stage's name, recorded in rejects and counts.
    var name: String { get }
    mutating func process(_ record: inout Example) throws -> Verdict
}

/// Counts the number of tokens of a text. Stages that need token counts take one of these, so
/// that the corpus library knows nothing of models (the CLI passes a model's tokenizer).
public protocol TokenCounter: Sendable {
    func countTokens(_ text: String) -> Int
}

/// The single-pass curation stages that can be named (in `shard --stage` and recipe filters).
public enum CurationStages {
    public static let names = ["format", "answer", "refusal", "repetition", "pii", "pii-drop", "dedup"]

    /// A fresh stage by name with its default settings; nil for an unknown name. `dedup` is
    /// exact dedup on `question`.
    public static func named(_ name: String) -> (any Stage)? {
        switch name {
        case "format": return FormatStage()
        case "answer": return AnswerCheckStage()
        case "refusal": return RefusalStage()
        case "repetition": return RepetitionStage()
        case "pii": return PIIStage()
        case "pii-drop": return PIIStage(drop: true)
        case "dedup": return ExactDedupStage(fields: ["question"])
        default: return nil
        }
    }
}
