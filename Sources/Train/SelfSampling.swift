import Corpus
import Foundation
import Model

/// Steered self-sampling (S3-CoT): the model answers each question at several steering
/// strengths α along the variable-length direction; each trace becomes a record with its
/// answer extracted and its length ratio (Len-R: reasoning tokens over the mean of the same
/// question's α=0 traces, the measure of `cotforge curriculum`).
public struct SelfSampling: SamplingJob {
    public var alphas: [Float]
    /// Block → direction (unscaled); α multiplies it.
    public var directions: [Int: [Float]]
    public var samples: Int
    public var sampler: SamplerSettings
    public var maxTokens: Int
    /// Appended to each question (default: the System-2 instruction: sampling asks for full
    /// reasoning and the steering shortens it).
    public var instruction: String
    public var batch: Int
    /// `gen` of every record, without `steer` and `sampler` (filled per trace).
    public var genBase: JSONObject
    /// `gen.steer` without `alpha` (vector name, hash, layers).
    public var steerBase: JSONObject

    public init(alphas: [Float], directions: [Int: [Float]], samples: Int = 1, sampler: SamplerSettings = SamplerSettings(),
                maxTokens: Int = 256, instruction: String = Instruction.system2, batch: Int = 8,
                genBase: JSONObject = JSONObject(), steerBase: JSONObject = JSONObject()) {
        self.alphas = alphas; self.directions = directions; self.samples = samples; self.sampler = sampler
        self.maxTokens = maxTokens; self.instruction = instruction; self.batch = batch; self.genBase = genBase; self.steerBase = steerBase
    }

    /// Splits a response into reasoning and answer: around `</think>` when there is one, else
    /// the answer is the sentence (or line) that holds the last `\boxed{}`, or the last
    /// sentence, and the reasoning everything before it; text without any sentence break is
    /// all reasoning (it never reached an answer).
    public static func split(_ text: String) -> (reasoning: String, answer: String) {
        if let close = text.range(of: "</think>") {
            let r = text[..<close.lowerBound].replacingOccurrences(of: "<think>", with: "")
            return (r.trimmingCharacters(in: .whitespacesAndNewlines), String(text[close.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let anchor = t.range(of: "\\boxed", options: .backwards)?.lowerBound ?? t.endIndex
        // The start of the sentence or line that holds the anchor (or of the last sentence).
        var start = t.startIndex
        var i = anchor
        while i > t.startIndex {
            let p = t.index(before: i)
            if t[p] == "\n" || ((t[p] == "." || t[p] == "!" || t[p] == "?") && i < anchor && t[i] == " ") { start = i; break }
            i = p
        }
        if anchor == t.endIndex {
            // No \boxed: the last sentence is the answer; with no sentence break at all the
            // whole text is reasoning that never reached an answer.
            guard let lastStop = t.dropLast().lastIndex(where: { $0 == "." || $0 == "\n" }) else { return (t, "") }
            start = t.index(after: lastStop)
        }
        let reasoning = t[..<start].trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = t[start...].trimmingCharacters(in: .whitespacesAndNewlines)
        return reasoning.isEmpty ? ("", answer) : (reasoning, answer)
    }

    struct Item { var q: Int; var a: Int; var k: Int; var settings: SamplerSettings }

    /// Every (question, α, sample) in input order (question, then α as given, then sample).
    func items(_ questions: [Example]) -> [Item] {
        var items: [Item] = []
        for qi in questions.indices {
            for ai in alphas.indices {
                for k in 0..<samples {
                    var s = sampler
                    s.seed = sampler.seed &+ UInt64(k)
                    items.append(Item(q: qi, a: ai, k: k, settings: s))
                }
            }
        }
        return items
    }

    /// One request per (question, α, sample), in input order (question, then α as given, then
    /// sample).
    public func requests(_ questions: [Example], generator: Generator) throws -> [GenerationRequest] {
        var prompts: [[Int32]] = []
        for (qi, e) in questions.enumerated() {
            guard let q = e.question else { throw TrainError("record \(e.id ?? "#\(qi)") has no question") }
            prompts.append(try generator.promptTokens("\(q) \(instruction)", chat: generator.chatTemplate != nil))
        }
        return items(questions).map { item in
            let alpha = alphas[item.a]
            let steering = alpha == 0 ? nil : Steering(vectors: directions.mapValues { $0.map { $0 * alpha } })
            return GenerationRequest(prompt: prompts[item.q], maxTokens: maxTokens, sampler: item.settings, steering: steering)
        }
    }

    /// The records, in the requests' order, with answers extracted and Len-R.
    public func records(_ questions: [Example], _ results: [Generation], generator: Generator) throws -> [Example] {
        let items = items(questions)
        precondition(results.count == items.count, "\(results.count) generations for \(items.count) requests")
        // Len-R: reasoning tokens over the mean of the question's α=0 traces' reasoning tokens
        // (the measure `cotforge curriculum` uses, so both agree).
        var records: [Example] = []
        var reasoningTokens = [Int](repeating: 0, count: items.count)
        var parts: [(String, String)] = []
        for (i, g) in results.enumerated() {
            let p = Self.split(g.text)
            parts.append(p)
            reasoningTokens[i] = generator.tokenizer.encode(p.0, parseSpecial: false).count
        }
        var base: [Int: Double] = [:]
        if let zero = alphas.firstIndex(of: 0) {
            for q in questions.indices {
                let idx = items.indices.filter { items[$0].q == q && items[$0].a == zero }
                base[q] = Double(idx.reduce(0) { $0 + reasoningTokens[$1] }) / Double(max(1, idx.count))
            }
        }
        for (i, item) in items.enumerated() {
            let g = results[i], (reasoning, answer) = parts[i]
            let source = questions[item.q]
            var e = Example()
            let alpha = alphas[item.a]
            e.id = "\(source.id ?? "q\(item.q)")/a\(Self.alphaLabel(alpha))" + (samples > 1 ? "/s\(item.k)" : "")
            e.task = source.task ?? "math"
            if let s = source["source"] { e["source"] = s }
            e.question = source.question
            e.prompt = "\(source.question ?? "") \(instruction)"
            e.reasoning = reasoning
            e.answer = answer
            if let gold = source.gold { e.gold = gold }
            if let pred = AnswerExtractor.extract(answer.isEmpty ? reasoning : answer)?.answer { e.pred = pred }
            e["tokens"] = .object(JSONObject([("prompt", .int(g.promptTokens.count)), ("reasoning", .int(reasoningTokens[i])),
                                              ("answer", .int(generator.tokenizer.encode(answer, parseSpecial: false).count))]))
            if let b = base[item.q], b > 0 { e["len_ratio"] = .number(String(format: "%.4f", Double(reasoningTokens[i]) / b)) }
            var gen = genBase
            var steer = steerBase
            steer["alpha"] = .number("\(alpha)")
            gen["steer"] = .object(steer)
            var sj = JSONObject([("temperature", .number("\(item.settings.temperature)")), ("seed", .number(String(item.settings.seed)))])
            if !item.settings.isGreedy {
                sj["top_k"] = .int(item.settings.topK); sj["top_p"] = .number("\(item.settings.topP)"); sj["min_p"] = .number("\(item.settings.minP)")
            }
            gen["sampler"] = .object(sj)
            gen["stop_reason"] = .string(g.stopReason.rawValue)
            e["gen"] = .object(gen)
            records.append(e)
        }
        return records
    }

    /// "0", "-0.3", "-1": α as it appears in ids.
    public static func alphaLabel(_ a: Float) -> String {
        a == a.rounded() ? String(Int(a)) : "\(a)"
    }
}
