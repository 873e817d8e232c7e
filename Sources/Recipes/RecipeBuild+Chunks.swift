import Corpus
import Foundation
import Model
import Train

/// Sampling steps run for hours on a full source (StrongREJECT's 313 prompts × 4 modes × K = 5
/// is ~6,300 responses), longer than anyone wants to lose to a kill or a reboot. So they keep
/// their records a chunk of questions at a time.
extension RecipeBuild {
    /// Where a step keeps its finished chunks; `fingerprint` in it names the step run they
    /// belong to, and `step()` keeps the folder only when that fingerprint matches.
    func chunksDir(_ step: String) -> String { "\(work)/\(step)/chunks" }

    /// The records `job` makes of `questions`, kept a chunk of questions at a time (about
    /// `options.chunkRequests` requests each). The requests of every chunk not done yet go
    /// through one continuous batch — no chunk waits for the one before to drain — and a chunk
    /// is written whole under `chunksDir(step)` (through a temporary name) as soon as its last
    /// request finishes, so a rerun of the same step reads the chunks done before and
    /// generates only the rest. Every request has its own seeded sampler and batched decoding
    /// gives what one-by-one decoding gives, so the records are the same however the run was
    /// chunked or interrupted. `progress` sees this run's requests, as one batch.
    func chunkedRecords<J: SamplingJob>(_ step: String, _ fp: String, job: J, questions qs: [Example], generator gen: Generator,
                                        perQuestion: Int, progress: (BatchProgress) -> Void) throws -> [Example] {
        let dir = chunksDir(step)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fp.write(toFile: dir + "/fingerprint", atomically: true, encoding: .utf8)
        let per = max(1, perQuestion)
        let size = max(1, (options.chunkRequests + per - 1) / per)
        let ranges = stride(from: 0, to: qs.count, by: size).map { $0..<min(qs.count, $0 + size) }
        func path(_ r: Range<Int>) -> String { String(format: "%@/q%06d-%06d.jsonl", dir, r.lowerBound, r.upperBound) }
        var chunks = [[Example]?](repeating: nil, count: ranges.count)
        var pending: [Int] = []
        for (c, r) in ranges.enumerated() {
            if fm.fileExists(atPath: path(r)) { chunks[c] = try Self.readRecords(path(r)) } else { pending.append(c) }
        }
        if pending.count < ranges.count {
            let done = ranges.count - pending.count, doneQuestions = qs.count - pending.reduce(0) { $0 + ranges[$1].count }
            events(.note(step: step, text: "\(step): \(done) of \(ranges.count) chunks (\(doneQuestions) of \(qs.count) questions) were done earlier; resuming"))
        }
        // The pending chunks' requests, one after another; `owner[i]` is request i's place in `pending`.
        var requests: [GenerationRequest] = [], owner: [Int] = [], first: [Int] = []
        for (j, c) in pending.enumerated() {
            let rs = try job.requests(Array(qs[ranges[c]]), generator: gen)
            first.append(requests.count)
            requests += rs
            owner += Array(repeating: j, count: rs.count)
        }
        first.append(requests.count)
        var results = [Generation?](repeating: nil, count: requests.count)
        var left = (0..<pending.count).map { first[$0 + 1] - first[$0] }
        func save(_ j: Int) throws {
            let c = pending[j], r = ranges[c]
            let made = try job.records(Array(qs[r]), (first[j]..<first[j + 1]).map { results[$0]! }, generator: gen)
            for i in first[j]..<first[j + 1] { results[i] = nil }
            let p = path(r)
            let w = try JSONLWriter(path: p + ".tmp")
            for e in made { try w.write(e) }
            try w.finish()
            guard rename(p + ".tmp", p) == 0 else { throw RecipeError("cannot write \(p)", hint: "check permissions and free space") }
            chunks[c] = made
        }
        // A chunk whose questions make no requests is done at once.
        for j in pending.indices where left[j] == 0 { try save(j) }
        try gen.generate(requests, batchSize: job.batch, progress: progress) { i, g in
            results[i] = g
            let j = owner[i]
            left[j] -= 1
            if left[j] == 0 { try save(j) }
        }
        return chunks.flatMap { $0! }
    }
}
