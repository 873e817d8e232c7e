import Corpus
import Foundation
import Model

/// Sampling steps run for hours on a full source (StrongREJECT's 313 prompts × 4 modes × K = 5
/// is ~6,300 responses), longer than anyone wants to lose to a kill or a reboot. So they make
/// their records a chunk of questions at a time and keep each finished chunk.
extension RecipeBuild {
    /// Where a step keeps its finished chunks; `fingerprint` in it names the step run they
    /// belong to, and `step()` keeps the folder only when that fingerprint matches.
    func chunksDir(_ step: String) -> String { "\(work)/\(step)/chunks" }

    /// The records of `count` questions, made by `body` for one range of questions at a time
    /// (about `options.chunkRequests` requests each, `perQuestion` requests per question).
    /// Each finished chunk is written whole under `chunksDir(step)` (through a temporary
    /// name), so a rerun of the same step reads the chunks done before and generates only the
    /// rest. Every request has its own seeded sampler and batched decoding gives what
    /// one-by-one decoding gives, so the records are the same however the run was chunked or
    /// interrupted. `progress` sees this run's requests: the chunks left, as one batch.
    func chunkedRecords(_ step: String, _ fp: String, count: Int, perQuestion: Int, progress: @escaping (BatchProgress) -> Void,
                        _ body: (Range<Int>, (BatchProgress) -> Void) throws -> [Example]) throws -> [Example] {
        let dir = chunksDir(step)
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try fp.write(toFile: dir + "/fingerprint", atomically: true, encoding: .utf8)
        let per = max(1, perQuestion)
        let size = max(1, (options.chunkRequests + per - 1) / per)
        let ranges = stride(from: 0, to: count, by: size).map { $0..<min(count, $0 + size) }
        func path(_ r: Range<Int>) -> String { String(format: "%@/q%06d-%06d.jsonl", dir, r.lowerBound, r.upperBound) }
        let done = ranges.filter { fm.fileExists(atPath: path($0)) }
        let doneQuestions = done.reduce(0) { $0 + $1.count }
        if !done.isEmpty {
            events(.note(step: step, text: "\(step): \(done.count) of \(ranges.count) chunks (\(doneQuestions) of \(count) questions) were done earlier; resuming"))
        }
        var earlier = BatchProgress(total: (count - doneQuestions) * per)
        var records: [Example] = []
        for r in ranges {
            let p = path(r)
            if fm.fileExists(atPath: p) {
                records += try Self.readRecords(p)
                continue
            }
            var last = BatchProgress(total: 0)
            let made = try body(r) { b in
                last = b
                progress(b.continuing(earlier))
            }
            earlier = last.continuing(earlier)
            earlier.running = 0
            let w = try JSONLWriter(path: p + ".tmp")
            for e in made { try w.write(e) }
            try w.finish()
            guard rename(p + ".tmp", p) == 0 else { throw RecipeError("cannot write \(p)", hint: "check permissions and free space") }
            records += made
        }
        return records
    }
}

extension BatchProgress {
    /// This chunk's progress after `earlier` (the chunks finished before it in this run),
    /// out of `earlier.total`.
    func continuing(_ earlier: BatchProgress) -> BatchProgress {
        var p = earlier
        p.finished += finished
        p.running = running
        p.promptTokens += promptTokens
        p.generatedTokens += generatedTokens
        p.decodeSeconds += decodeSeconds
        p.seconds += seconds
        return p
    }
}
