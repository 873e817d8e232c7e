import Foundation
import Hashing

/// S3-CoT's dual-cognitive training pairs from verified self-sampled variants grouped by
/// question: the α = 0 trace under the System-2 instruction (`mode: slow`) and a compressed
/// variant (α ≠ 0) under the System-1 instruction (`mode: fast`), with `prompt` rewritten to
/// question + instruction. Which compressed variant: the shortest (`tokens.reasoning`, else
/// characters), a seeded choice, or all of them. Drops: `pairs.no_base` (no α = 0 trace),
/// `pairs.no_short` (a base whose question has no compressed variant: no pair),
/// `pairs.not_chosen` (variants left out by the choice), `pairs.extra_base` (a second α = 0
/// trace of the same question).
public final class PairsJob {
    public enum Pick: String, Sendable, CaseIterable { case shortest, seeded, all }
    public var key = "question"
    public var pick: Pick
    public var seed: UInt64
    public var readOptions = RecordReader.Options()
    /// Keep a base without a compressed sibling (as `slow`) and compressed variants without a
    /// base (as `fast`): System-1 and System-2 examples that are not pairs. For weak models,
    /// where a question rarely has both a verified α = 0 trace and a verified compressed one.
    public var unpaired = false

    public init(pick: Pick = .shortest, seed: UInt64 = 1, unpaired: Bool = false) { self.pick = pick; self.seed = seed; self.unpaired = unpaired }

    public func run(inputs: [String], output: JSONLWriter, rejects: JSONLWriter) throws -> [StageCounts] {
        // Pass 1: per question, the first base id and the compressed variants (id, length).
        var base: [String: String] = [:]
        var variants: [String: [(String, Double)]] = [:]
        for path in inputs {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                let r = try line.example()
                guard let q = r[key]?.stringValue else { return }
                if CurriculumJob.isBase(r) { if base[q] == nil { base[q] = line.id } }
                else { variants[q, default: []].append((line.id, CurriculumJob.length(r))) }
            }, onReject: { _ in })
        }
        var chosen = Set<String>()
        for (q, vs) in variants {
            switch pick {
            case .all: chosen.formUnion(vs.map(\.0))
            case .shortest: chosen.insert(vs.min { ($0.1, $0.0) < ($1.1, $1.0) }!.0)
            case .seeded:
                let ranked = vs.map { ($0.0, SplitMix64.mix(seed ^ StringKey128(q + "\u{0}" + $0.0).a)) }
                chosen.insert(ranked.min { $0.1 < $1.1 }!.0)
            }
        }
        return try DecisionPass.run(inputs: inputs, stage: "pairs", readOptions: readOptions, rejects: rejects) { r, line in
            guard let q = r[key]?.stringValue else { return .drop("pairs.no_key", "no \(key) to group the variants by") }
            let question = r.question ?? q
            if CurriculumJob.isBase(r) {
                guard base[q] == line.id else { return .drop("pairs.extra_base", "another α = 0 trace of this question is used") }
                guard variants[q] != nil || unpaired else { return .drop("pairs.no_short", "no compressed variant of this question survived") }
                r.prompt = "\(question) \(Instruction.system2)"
                r.mode = "slow"
            } else {
                guard base[q] != nil || unpaired else { return .drop("pairs.no_base", "no α = 0 trace of this question survived") }
                guard chosen.contains(line.id) else { return .drop("pairs.not_chosen", "another variant was picked (\(pick.rawValue))") }
                r.prompt = "\(question) \(Instruction.system1)"
                r.mode = "fast"
            }
            return .write(output)
        }
    }
}
