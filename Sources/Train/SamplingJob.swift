import Corpus
import Model

/// A sampling job split into its two halves: the generation requests a list of questions
/// makes, and the records those requests' generations become. Because the halves are apart,
/// a caller can run the requests of many question ranges through one continuous batch and
/// still turn each range into records as soon as its last request finishes.
public protocol SamplingJob {
    /// Sequences decoding together.
    var batch: Int { get }
    /// The requests for `questions`, in the order `records` expects their generations.
    func requests(_ questions: [Example], generator: Generator) throws -> [GenerationRequest]
    /// The records of `questions` from the generations of `requests(questions)`, in order.
    func records(_ questions: [Example], _ generations: [Generation], generator: Generator) throws -> [Example]
}

extension SamplingJob {
    /// Every request of `questions` through `generator` in batches, then the records.
    public func run(_ questions: [Example], generator: Generator, progress: (BatchProgress) -> Void = { _ in }) throws -> [Example] {
        let requests = try self.requests(questions, generator: generator)
        var results = [Generation?](repeating: nil, count: requests.count)
        try generator.generate(requests, batchSize: batch, progress: progress) { i, g in results[i] = g }
        return try records(questions, results.map { $0! }, generator: generator)
    }
}
