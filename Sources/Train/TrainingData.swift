import Corpus
import Foundation
import Hashing
import Model

/// One record ready for training: its id, curriculum stage and tokens.
public struct TrainingRecord: Sendable, Equatable {
    public var id: String
    public var stage: Int
    public var example: TrainExample
}

/// A split of a built dataset (`manifest.json` + `data/*.jsonl.zst`) rendered through a
/// model's chat template: the user turn is the record's `prompt` (or `question`), the
/// assistant turn `<think>\n{reasoning}\n</think>\n\n{answer}` (the answer alone when the
/// record has no reasoning), and only the assistant turn and its end marker are trained.
public struct TrainingData: Sendable {
    public var records: [TrainingRecord]
    /// Records not used, with why (longer than the context), so the counts add up.
    public var skipped: [(id: String, reason: String)]
    public var tokens: Int { records.reduce(0) { $0 + $1.example.tokens.count } }

    public init(records: [TrainingRecord], skipped: [(id: String, reason: String)] = []) {
        self.records = records; self.skipped = skipped
    }

    /// The assistant text of a record.
    public static func assistantText(reasoning: String?, answer: String) -> String {
        guard let r = reasoning, !r.isEmpty else { return answer }
        return "<think>\n\(r)\n</think>\n\n\(answer)"
    }

    /// A record's tokens: the chat prompt (not trained), then the assistant text and the
    /// template's end-of-turn marker (trained). The two parts are tokenized apart, exactly as
    /// generation sees them (prompt tokens, then generated ones).
    public static func render(prompt: String, assistant: String, tokenizer: BPETokenizer, template: ChatTemplate) -> TrainExample {
        let head = tokenizer.encode(template.render([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true),
                                    parseSpecial: true)
        let tail = tokenizer.encode(assistant + (template.stopTexts.first ?? ""), parseSpecial: true)
        return TrainExample(tokens: head + tail, trained: head.map { _ in false } + tail.map { _ in true })
    }

    /// The paths of a split's shards, from the manifest; throws naming what is missing.
    public static func shardPaths(dataset dir: String, split: String) throws -> [String] {
        let manifestPath = "\(dir)/manifest.json"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw TrainError("\(manifestPath): not found", hint: "pass a folder built by `cotforge shard` or `cotforge build`")
        }
        guard let m = try JSONSerialization.jsonObject(with: data) as? [String: Any], let splits = m["splits"] as? [String: Any] else {
            throw TrainError("\(manifestPath): not a cotforge manifest (no \"splits\")")
        }
        guard let s = splits[split] as? [String: Any], let shards = s["shards"] as? [[String: Any]] else {
            throw TrainError("\(manifestPath): no split \"\(split)\"", hint: "splits here: \(splits.keys.sorted().joined(separator: ", "))")
        }
        return try shards.map { entry in
            guard let p = entry["path"] as? String else { throw TrainError("\(manifestPath): a shard of \(split) has no path") }
            return "\(dir)/\(p)"
        }
    }

    /// Reads and renders a split. Records without an answer or without a prompt/question are
    /// errors (file and line named); records longer than `context` tokens are skipped and
    /// listed in `skipped`.
    public static func load(dataset dir: String, split: String, tokenizer: BPETokenizer, template: ChatTemplate,
                            context: Int) throws -> TrainingData {
        var out = TrainingData(records: [])
        for path in try shardPaths(dataset: dir, split: split) {
            guard FileManager.default.fileExists(atPath: path) else {
                throw TrainError("\(path): listed in the manifest but missing", hint: "rebuild the dataset or run `cotforge verify \(dir)`")
            }
            var firstReject: Reject? = nil
            try RecordReader(path: path).forEach({ line in
                let e = try line.example()
                guard let prompt = e.prompt ?? e.question, let answer = e.answer else {
                    throw TrainError("\(path):\(line.line): record \(line.id) has no \(e.answer == nil ? "answer" : "prompt or question") to train on")
                }
                let example = render(prompt: prompt, assistant: assistantText(reasoning: e.reasoning, answer: answer),
                                     tokenizer: tokenizer, template: template)
                if example.tokens.count > context {
                    out.skipped.append((line.id, "\(example.tokens.count) tokens, longer than the context of \(context)"))
                } else {
                    out.records.append(TrainingRecord(id: line.id, stage: e.stage ?? 0, example: example))
                }
            }, onReject: { r in if firstReject == nil { firstReject = r } })
            if let r = firstReject {
                throw TrainError("\(path):\(r.line.map(String.init) ?? "?"): \(r.reason): \(r.detail ?? "")", hint: "run `cotforge verify \(dir)`")
            }
        }
        return out
    }

    /// The order of one epoch: a seeded shuffle that depends only on (seed, epoch), then a
    /// stable sort by curriculum stage when `curriculum` (stage 0 first).
    public func order(epoch: Int, seed: UInt64, curriculum: Bool) -> [Int] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ (UInt64(epoch) &* 0x9E37_79B9)))
        var idx = Array(records.indices)
        idx.shuffle(using: &rng)
        if curriculum {
            let rank = Dictionary(uniqueKeysWithValues: idx.enumerated().map { ($1, $0) })
            idx.sort { (records[$0].stage, rank[$0]!) < (records[$1].stage, rank[$1]!) }
        }
        return idx
    }

    /// Consecutive groups of `order` holding about `batchTokens` tokens each (at least one
    /// example), packed into rows of `context` tokens.
    public func batches(order: [Int], batchTokens: Int, context: Int, padding: Int32) throws -> [TrainBatch] {
        var out: [TrainBatch] = [], group: [TrainExample] = [], used = 0
        for i in order {
            let e = records[i].example
            if !group.isEmpty && used + e.tokens.count > batchTokens {
                out.append(try TrainBatch.packed(group, length: context, padding: padding))
                group = []; used = 0
            }
            group.append(e); used += e.tokens.count
        }
        if !group.isEmpty { out.append(try TrainBatch.packed(group, length: context, padding: padding)) }
        return out
    }
}
