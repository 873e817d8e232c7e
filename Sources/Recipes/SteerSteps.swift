import Corpus
import Foundation
import Model
import Train

/// How far a long step has come, for the CLI to render (the library never prints).
public struct StepProgress: Sendable {
    /// What is being counted: "questions", "traces".
    public var unit: String
    public var done: Int
    public var total: Int
    /// Tokens generated per second, when the step generates.
    public var tokensPerSecond: Double?
    /// Seconds until done, estimated from the rate so far.
    public var eta: Double?
    /// A short label of the part underway ("layers 12-12 (2/5)").
    public var detail: String = ""
}

/// The steps of S3-CoT that work on activations and steering strengths: extracting the
/// variable-length direction and calibrating α. Shared by `cotforge steer …` and recipes.
public enum SteerSteps {
    /// A direction extraction's output: the control vector and its per-layer statistics
    /// (`doc` is the JSON written beside the vector).
    public struct Extracted {
        public var vector: ControlVector
        public var layers: [LayerSeparation]
        public var doc: JSONObject
    }

    /// Residuals after each block in `blocks` (default: 1…last; llama.cpp never steers block 0)
    /// at the last prompt token, question + `long` vs question + `short` in the chat template,
    /// reduced by `method`. Costs two prompt passes per question. Throws `RecipeError` for
    /// blocks the model does not have.
    public static func extract(generator gen: Generator, model: ModelIdentity, questions: [Example], blocks requested: ClosedRange<Int>?,
                               method: DirectionMethod, long: String = Instruction.system2, short: String = Instruction.system1,
                               progress: (StepProgress) -> Void = { _ in }) throws -> Extracted {
        let c = gen.model.config
        let range = requested ?? 1...(c.layers - 1)
        guard range.upperBound < c.layers else {
            throw RecipeError("layers \(range.lowerBound)-\(range.upperBound): the model has blocks 0…\(c.layers - 1)")
        }
        let blocks = range.filter { $0 >= 1 }
        guard !blocks.isEmpty else { throw RecipeError("layers \(range.lowerBound)-\(range.upperBound) leave only block 0, which llama.cpp never steers") }
        let chat = gen.chatTemplate != nil
        let pairs = try questions.map { e in
            let q = e.question ?? ""
            return (long: try gen.promptTokens("\(q) \(long)", chat: chat), short: try gen.promptTokens("\(q) \(short)", chat: chat))
        }
        let started = Date()
        let (dirs, stats) = try DirectionExtraction.extract(model: gen.model, pairs: pairs, layers: blocks, method: method) { done in
            let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
            progress(StepProgress(unit: "questions", done: done, total: pairs.count, eta: Double(pairs.count - done) / rate))
        }
        let rows: [JSONValue] = stats.map { s in
            .object(JSONObject([("layer", .int(s.layer)), ("norm", .number("\(s.norm)")), ("separation", .number("\(s.separation)")),
                                ("agreement", .number("\(s.agreement)")), ("consistent", .int(s.consistent)), ("pairs", .int(s.pairs))]))
        }
        let doc = JSONObject([
            ("model", .string(model.name)), ("model_sha256", .string(model.sha256)), ("method", .string(method.rawValue)),
            ("n", .int(pairs.count)), ("long_instruction", .string(long)), ("short_instruction", .string(short)),
            ("position", .string("last prompt token")), ("layers", .array(rows)),
        ])
        return Extracted(vector: try ControlVector(modelHint: c.architecture.rawValue, directions: dirs), layers: stats, doc: doc)
    }

    /// The per-layer table of an extraction, as `steer extract` prints it.
    public static func table(_ stats: [LayerSeparation]) -> String {
        var lines = ["block   norm   separation  agreement  long>short"]
        for s in stats {
            lines.append(String(format: "%5d  %7.2f  %9.2f  %9.3f  %4d/%d", s.layer, s.norm, s.separation, s.agreement, s.consistent, s.pairs))
        }
        return lines.joined(separator: "\n")
    }

    /// What calibration measured and proposes.
    public struct Calibrated {
        public var points: [CalibrationPoint]
        public var proposal: (layers: ClosedRange<Int>, alphas: [Float], lenR: [Double])?
        /// The JSON written as `calibration.json` (schema: points + proposal).
        public var doc: JSONObject
    }

    /// Settings of a calibration sweep.
    public struct CalibrationSettings: Sendable {
        public var alphas: [Float]
        /// Layer sets to try; empty: every block the vector has, as one set.
        public var layerSets: [ClosedRange<Int>] = []
        public var targets: [Double] = [1, 0.8, 0.6, 0.4]
        public var tolerance = 0.05
        public var maxCollapse = 0.2
        public var maxTokens = 192
        public var batch = 8
        public init(alphas: [Float]) { self.alphas = alphas }
    }

    /// For every layer set and α (0 added), the questions answered greedily with the System-2
    /// instruction while the vector × α is added to those blocks; then the proposal of
    /// `Calibration.propose`. Costs layer sets × α × questions traces of up to `maxTokens`.
    public static func calibrate(generator gen: Generator, model: ModelIdentity, vector cv: ControlVector, vectorName: String, vectorSHA256: String,
                                 questions qs: [Example], settings s: CalibrationSettings,
                                 progress: (StepProgress) -> Void = { _ in }) throws -> Calibrated {
        var alphaList = s.alphas
        if !alphaList.contains(0) { alphaList.insert(0, at: 0) }
        alphaList.sort(by: >)
        let keys = cv.directions.keys.sorted()
        let sets = s.layerSets.isEmpty ? [keys.first!...keys.last!] : s.layerSets
        var points: [CalibrationPoint] = []
        for (si, set) in sets.enumerated() {
            let dirs = cv.directions.filter { set.contains($0.key) }
            guard !dirs.isEmpty else { throw RecipeError("layers \(set.lowerBound)-\(set.upperBound) hold none of \(vectorName)'s directions") }
            let job = SelfSampling(alphas: alphaList, directions: dirs, samples: 1, sampler: SamplerSettings(), maxTokens: s.maxTokens,
                                   instruction: Instruction.system2, batch: s.batch)
            let records = try job.run(qs, generator: gen) { p in
                progress(tracesProgress(p, maxTokens: s.maxTokens, detail: "layers \(set.lowerBound)-\(set.upperBound) (\(si + 1)/\(sets.count))"))
            }
            for a in alphaList {
                let label = "/a\(SelfSampling.alphaLabel(a))"
                points.append(Calibration.point(records.filter { $0.id!.hasSuffix(label) }, layers: set, alpha: a))
            }
        }
        let proposal = Calibration.propose(points, targets: s.targets, tolerance: s.tolerance, maxCollapse: s.maxCollapse)
        func num(_ v: Double?) -> JSONValue { v.flatMap { $0.isFinite ? .double($0) : nil } ?? .null }
        let rows: [JSONValue] = points.map { p in
            .object(JSONObject([("layers", .array([.int(p.layers.lowerBound), .int(p.layers.upperBound)])), ("alpha", .number("\(p.alpha)")),
                                ("traces", .int(p.traces)), ("len_r_mean", num(p.meanLenR)), ("len_r_std", num(p.stdLenR)),
                                ("accuracy", num(p.accuracy)), ("collapse", .double(p.collapse)), ("hit_max", .double(p.hitMax))]))
        }
        var doc = JSONObject([("model", .string(model.name)), ("vector", .string(vectorName)), ("vector_sha256", .string(vectorSHA256)),
                              ("questions", .int(qs.count)), ("max_tokens", .int(s.maxTokens)), ("targets", .array(s.targets.map { .double($0) })),
                              ("tolerance", .double(s.tolerance)), ("max_collapse", .double(s.maxCollapse)), ("points", .array(rows))])
        doc["proposal"] = proposal.map { p in
            .object(JSONObject([("layers", .array([.int(p.layers.lowerBound), .int(p.layers.upperBound)])),
                                ("alphas", .array(p.alphas.map { .number("\($0)") })), ("len_r", .array(p.lenR.map { .double($0) }))]))
        } ?? .null
        return Calibrated(points: points, proposal: proposal, doc: doc)
    }

    /// The calibration table and proposal line, as `steer calibrate` prints them.
    public static func table(_ c: Calibrated) -> String {
        var lines = ["layers    α        Len-R mean ± sd   accuracy  collapse  hit max"]
        for p in c.points {
            lines.append(String(format: "%-8@ %6.2f   %10.3f ± %.3f   %8@  %7.0f%%  %6.0f%%", "\(p.layers.lowerBound)-\(p.layers.upperBound)" as NSString,
                                p.alpha, p.meanLenR, p.stdLenR, (p.accuracy.map { String(format: "%.0f%%", 100 * $0) } ?? "–") as NSString,
                                100 * p.collapse, 100 * p.hitMax))
        }
        if let prop = c.proposal {
            lines.append("proposed: layers \(prop.layers.lowerBound)-\(prop.layers.upperBound), α " + prop.alphas.map { "\($0)" }.joined(separator: ",")
                         + " (mean Len-R " + prop.lenR.map { String(format: "%.2f", $0) }.joined(separator: ", ") + ")")
        } else {
            lines.append("proposed: nothing — no layer set kept accuracy and collapse within bounds")
        }
        return lines.joined(separator: "\n")
    }

    /// A batch's progress as a step's: traces done of total, tokens/s, and `BatchProgress.eta`.
    public static func tracesProgress(_ p: BatchProgress, maxTokens: Int, detail: String = "") -> StepProgress {
        StepProgress(unit: "traces", done: p.finished, total: p.total, tokensPerSecond: p.tokensPerSecond,
                     eta: p.eta(maxTokens: maxTokens), detail: detail)
    }
}

/// A model as records name it: its file name and the file's SHA-256.
public struct ModelIdentity: Sendable, Equatable {
    public var name: String
    public var sha256: String
    public init(name: String, sha256: String) { self.name = name; self.sha256 = sha256 }
}
