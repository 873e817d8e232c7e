import Corpus
import Foundation
import Model
import Testing
import TestSupport
@testable import Train

@Suite struct SelfSamplingTests {
    /// Responses split into reasoning and answer: around </think>, else at the sentence that
    /// holds \boxed{}, else at the last sentence.
    @Test func splitsResponses() {
        #expect(SelfSampling.split("<think>add them</think>\n\\boxed{4}") == ("add them", "\\boxed{4}"))
        #expect(SelfSampling.split("First 2 + 2 = 4. So the answer is \\boxed{4}.") == ("First 2 + 2 = 4.", "So the answer is \\boxed{4}."))
        #expect(SelfSampling.split("Add 2 and 2.\nThe answer is \\boxed{4}") == ("Add 2 and 2.", "The answer is \\boxed{4}"))
        #expect(SelfSampling.split("We add. It makes 4.") == ("We add.", "It makes 4."))
        #expect(SelfSampling.split("\\boxed{4}") == ("", "\\boxed{4}"))
        #expect(SelfSampling.split("rambling on and on") == ("rambling on and on", ""))
    }

    /// On a tiny model: one record per (question, α, sample) in order, ids carrying α and the
    /// sample, `gen.steer.alpha` as given, Len-R 1 on average at α = 0 against itself, and a
    /// steered trace that differs from the unsteered one.
    @Test func recordsPerQuestionAlphaAndSample() throws {
        // A tiny random model over the byte-level test tokenizer (258 tokens), no chat template.
        let m = try TrainableLlama(config: GradientTests.tinyConfig(vocabulary: 258), tiedOutput: true, seed: 1)
        let gen = Generator(model: try m.engineModel(), tokenizer: try DataTests.tokenizer(), chatTemplate: nil)
        var rng = SeededRandom(seed: 3)
        let dirs = [1: (0..<16).map { _ in Float.random(in: -3...3, using: &rng) }]
        var questions: [Example] = []
        for i in 0..<3 {
            var e = Example()
            e.id = "q\(i)"; e.question = "What is \(i) + \(i)?"; e.gold = "7"
            questions.append(e)
        }
        let job = SelfSampling(alphas: [0, -2], directions: dirs, samples: 2, sampler: SamplerSettings(temperature: 0.8, seed: 5),
                               maxTokens: 6, instruction: "Think.", batch: 3, steerBase: JSONObject([("vector", .string("v.gguf"))]))
        let records = try job.run(questions, generator: gen)
        #expect(records.count == 3 * 2 * 2)
        #expect(records.prefix(4).map { $0.id! } == ["q0/a0/s0", "q0/a0/s1", "q0/a-2/s0", "q0/a-2/s1"])
        #expect(records.allSatisfy { $0.gold == "7" && $0["gen"]?.objectValue?["steer"]?.objectValue?["vector"] == .string("v.gguf") })
        #expect(records[2]["gen"]?.objectValue?["steer"]?.objectValue?["alpha"] == .number("-2.0"))
        // Len-R at α = 0 averages to 1 per question (the denominator is their mean).
        for q in 0..<3 {
            let zero = records.filter { $0.id!.hasPrefix("q\(q)/a0/") }.compactMap(\.lenRatio)
            #expect(zero.count == 2 && abs(zero.reduce(0, +) / 2 - 1) < 1e-3, "q\(q): \(zero)")
            let steered = records.filter { $0.id!.hasPrefix("q\(q)/a-2/") }
            #expect(steered.allSatisfy { $0.lenRatio != nil })
        }
        // Same seeds, so only the steering differs between α = 0 and α = -2.
        let unsteered = records.filter { $0.id!.contains("/a0/") }.map { $0.reasoning! + $0.answer! }
        let steered = records.filter { $0.id!.contains("/a-2/") }.map { $0.reasoning! + $0.answer! }
        #expect(unsteered != steered)
        // Repeatable: the same job gives the same records.
        #expect(try job.run(questions, generator: gen).map(\.jsonString) == records.map(\.jsonString))
    }
}
