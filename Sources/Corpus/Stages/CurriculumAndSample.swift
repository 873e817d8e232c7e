import Hashing
import Foundation

/// The S3-CoT compression curriculum. For variants grouped by question, Len-R is a variant's
/// reasoning length over the length of that question's α = 0 trace (the record whose
/// `gen.steer.alpha` is 0, or that has no steering), in tokens (`tokens.reasoning`) when the
/// record has them, else characters. Stage k holds Len-R ∈ [edge_k, 1] with edge_k = 0.9 − 0.1k
/// by default; a record gets the first stage whose interval holds it (the α = 0 trace: stage 0),
/// and records below the last edge get stage `edges.count`. Writes `len_ratio` and `stage`, and
/// outputs records in stage order. Drops: `curriculum.no_base` (no α = 0 trace for the
/// question), `curriculum.longer` (a variant longer than its α = 0 trace), `curriculum.empty_base`.
public final class CurriculumJob {
    public var edges: [Double]
    public var key = "question"
    public var readOptions = RecordReader.Options()

    public init(edges: [Double] = [0.9, 0.8, 0.7, 0.6, 0.5]) { self.edges = edges }

    /// Reasoning length in tokens when known, else characters.
    static func length(_ r: Example) -> Double {
        if let t = r["tokens"]?.objectValue?["reasoning"]?.doubleValue { return t }
        return Double(r.reasoning?.unicodeScalars.count ?? 0)
    }

    public static func isBase(_ r: Example) -> Bool {
        guard let steer = r["gen"]?.objectValue?["steer"] else { return true }
        if case .null = steer { return true }
        return steer.objectValue?["alpha"]?.doubleValue.map { $0 == 0 } ?? true
    }

    /// The stage of a Len-R (nil when longer than the base).
    public func stage(lenR: Double) -> Int? {
        if lenR > 1 + 1e-9 { return nil }
        for (k, e) in edges.enumerated() where lenR >= e - 1e-12 { return k }
        return edges.count
    }

    public func run(inputs: [String], output: JSONLWriter, rejects: JSONLWriter, workDir: String) throws -> [StageCounts] {
        // Pass 1: the α = 0 length of every question.
        var base: [String: Double] = [:]
        for path in inputs {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                let r = try line.example()
                guard CurriculumJob.isBase(r), let q = r[key]?.stringValue, base[q] == nil else { return }
                base[q] = CurriculumJob.length(r)
            }, onReject: { _ in })
        }
        // Pass 2: Len-R and stage; one temporary file per stage, joined in order at the end.
        let files = (0...edges.count).map { "\(workDir)/stage-\($0).jsonl" }
        let writers = try files.map { try JSONLWriter(path: $0) }
        let counts = try DecisionPass.run(inputs: inputs, stage: "curriculum", readOptions: readOptions, rejects: rejects) { r, _ in
            // Len-R against the question's α = 0 trace in the input, else the one measured when
            // the variant was sampled (against the α = 0 trace that verification may have dropped).
            let lenR: Double
            if let q = r[key]?.stringValue, let b = base[q] {
                guard b > 0 else { return .drop("curriculum.empty_base", "the α = 0 trace has an empty reasoning") }
                lenR = CurriculumJob.length(r) / b
            } else if let l = r.lenRatio {
                lenR = l
            } else {
                return .drop("curriculum.no_base", "no α = 0 trace for this \(key) and no len_ratio")
            }
            guard let k = self.stage(lenR: lenR) else { return .drop("curriculum.longer", String(format: "Len-R %.3f > 1", lenR)) }
            r.lenRatio = (lenR * 10_000).rounded() / 10_000
            r.stage = k
            return .write(writers[k])
        }
        for w in writers { try w.finish() }
        for f in files {
            try LineReader(try openInput(f)).forEachLine { try output.writeLine($0.bytes) }
            try? FileManager.default.removeItem(atPath: f)
        }
        return counts
    }
}

/// A seeded sample without replacement: exactly `count` records (the ones whose seeded hash of
/// the id is smallest) or each record with probability `fraction`, in input order. The rest
/// are rejects (`sample.not_selected`), so that counts still add up.
public final class SampleJob {
    public var count: Int?
    public var fraction: Double?
    public var seed: UInt64 = 1
    public var readOptions = RecordReader.Options()

    public init(count: Int? = nil, fraction: Double? = nil, seed: UInt64 = 1) {
        self.count = count; self.fraction = fraction; self.seed = seed
    }

    func rank(_ id: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SplitMix64.mix(h ^ seed &* 0x9E37_79B9_7F4A_7C15)
    }

    public func run(inputs: [String], output: JSONLWriter, rejects: JSONLWriter) throws -> [StageCounts] {
        var cutoff = UInt64.max
        if let n = count {
            // Pass 1: the n-th smallest rank.
            var ranks: [UInt64] = []
            for path in inputs { try RecordReader(path: path, options: readOptions).forEach({ ranks.append(rank($0.id)) }, onReject: { _ in }) }
            if n == 0 { cutoff = 0 } else if n < ranks.count { ranks.sort(); cutoff = ranks[n - 1] }
        } else if let f = fraction {
            cutoff = f >= 1 ? .max : UInt64(Double(UInt64.max) * max(0, f))
        }
        var read = StageCounts(name: "read"), stage = StageCounts(name: "sample")
        var taken = 0
        for path in inputs {
            try RecordReader(path: path, options: readOptions).forEach({ line in
                read.keep()
                var bytes: [UInt8] = []
                line.appendWriteBytes(to: &bytes)
                let r = rank(line.id)
                // Ties at the cutoff (equal ranks, astronomically rare) are broken by input order.
                if r <= cutoff && taken < (count ?? Int.max) {
                    taken += 1
                    stage.keep()
                    try output.write(bytes)
                } else {
                    stage.drop("sample.not_selected")
                    try rejects.write(Reject(stage: "sample", reason: "sample.not_selected", file: path, line: line.line,
                                             offset: line.offset, id: line.id, payload: .record(bytes)).jsonBytes)
                }
            }, onReject: { rej in
                read.drop(rej.reason)
                try rejects.write(rej.jsonBytes)
            })
        }
        return [read, stage]
    }
}
