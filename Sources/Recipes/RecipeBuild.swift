import Corpus
import Foundation
import Hashing
import Model
import Shards
import Train

/// `cotforge build RECIPE`: runs a recipe's steps in order — questions → steer extract →
/// calibrate → sample → verify → curate (filters, dedup, decontamination) → pairs →
/// curriculum → mix → shard (split, card, report) → exports — into `out/NAME`.
///
/// Each step writes its files under `out/NAME/work/STEP/` and, when complete, a marker
/// `work/STEP.done.json` holding its fingerprint (its settings and its inputs' fingerprints)
/// and its counts. A rerun skips every step whose marker matches, so a killed build resumes
/// from the last completed step and gives the same output as an uninterrupted one; a step
/// whose settings changed is rerun with everything after it.
///
/// Every generated trace ends in `data/` or `rejects/`: the record stages' counts and
/// rejects go to the final shard build, which lists them in the manifest.
public final class RecipeBuild {
    public struct Options: Sendable {
        /// Default: `out/NAME`.
        public var outDir: String?
        /// Discard the work and the complete dataset of an earlier build first.
        public var overwrite = false
        /// The command line, recorded in the manifest.
        public var command: [String] = []
        /// About how many generation requests a sampling step makes between two saved chunks
        /// (a resumed build loses at most one chunk's work). The records do not depend on it.
        public var chunkRequests = 512
        public init() {}
    }

    /// What happened, for the CLI to render.
    public enum Event: Sendable {
        case started(step: String, index: Int, count: Int)
        case progress(step: String, StepProgress)
        /// `summary` is a one-line account of the step's result.
        case finished(step: String, seconds: Double, reused: Bool, summary: String)
        /// A table or note worth showing in full (calibration table, per-α table).
        case note(step: String, text: String)
    }

    /// Loads a model by name or path: its identity for records and an engine.
    public typealias ModelLoader = @Sendable (_ name: String, _ threads: Int) throws -> (ModelIdentity, Generator)

    public struct Result: Sendable {
        public var outDir: String
        public var manifest: JSONValue
        public var seconds: Double
        public var reusedSteps: [String]
        /// The records the shard step read (the last record stage's output) and the fingerprint
        /// of everything before it: what a combining recipe mixes.
        public var pool: String = ""
        public var fingerprint: String = ""
    }

    public let recipe: Recipe
    public let options: Options
    let loadModel: ModelLoader

    public init(recipe: Recipe, options: Options = Options(), loadModel: @escaping ModelLoader = RecipeBuild.loadGGUF) {
        self.recipe = recipe; self.options = options; self.loadModel = loadModel
    }

    /// Resolves a model name (ModelStore) and loads the GGUF.
    public static let loadGGUF: ModelLoader = { name, threads in
        let path = try ModelStore.resolve(name)
        let gen = try Generator(try GGUFFile(path: path), threads: threads)
        return (ModelIdentity(name: (path as NSString).lastPathComponent, sha256: try ModelStore.sha256(ofFile: path)), gen)
    }

    var out: String { options.outDir ?? "out/\(recipe.name)" }
    var work: String { out + "/work" }
    /// Where a combining recipe builds its part `name`: a dataset of its own.
    func partDir(_ name: String) -> String { out + "/parts/" + name }
    let fm = FileManager.default

    // State of one run.
    var model: (ModelIdentity, Generator)?
    var upstream: [StageCounts] = []
    var upstreamRejects: [String] = []
    var stepsJSON: [JSONValue] = []
    var reused: [String] = []
    var events: (Event) -> Void = { _ in }

    /// Names of the steps this recipe runs, in order.
    public var stepNames: [String] {
        let curates = !recipe.filters.isEmpty || recipe.dedupExact != nil || recipe.decontaminate != nil
        if let c = recipe.combine { return c.parts.map { "part:\($0.recipe.name)" } + ["combine"] + (curates ? ["curate"] : []) + ["shard"] }
        if recipe.safety != nil { return ["prompts", "safety-sample", "judge", "select"] + (curates ? ["curate"] : []) + (recipe.mix != nil ? ["mix"] : []) + ["shard"] }
        var s = ["questions"]
        if recipe.extract != nil { s.append("extract") }
        if recipe.calibrate != nil { s.append("calibrate") }
        s.append("sample")
        if recipe.verify != .none { s.append("verify") }
        if !recipe.filters.isEmpty || recipe.dedupExact != nil || recipe.decontaminate != nil { s.append("curate") }
        if recipe.pairs != nil { s.append("pairs") }
        if recipe.curriculum != nil { s.append("curriculum") }
        if recipe.mix != nil { s.append("mix") }
        return s + ["shard"]
    }

    /// Runs (or resumes) the build. Throws `RecipeError` for unusable settings or folders,
    /// and the errors of the libraries for unreadable inputs and models.
    public func run(events: @escaping (Event) -> Void = { _ in }) throws -> Result {
        self.events = events
        let started = Date()
        if options.overwrite {
            try? fm.removeItem(atPath: work)
            for f in ["manifest.json", "steer"] { try? fm.removeItem(atPath: "\(out)/\(f)") }
        } else if fm.fileExists(atPath: out + "/manifest.json") && !fm.fileExists(atPath: work + "/shard.done.json") {
            throw RecipeError("\(out) holds a dataset that no recipe build made here (manifest.json without work/)",
                              hint: "pass --overwrite to replace it, or choose another --out")
        }
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: out + "/steer", withIntermediateDirectories: true)
        upstream = []; upstreamRejects = []; stepsJSON = []; reused = []

        let names = stepNames
        var index = 0
        func begin(_ name: String) { events(.started(step: name, index: index, count: names.count)); index += 1 }

        if recipe.safety != nil {
            begin("prompts"); var fp = try promptsStep()
            begin("safety-sample"); fp = try safetySampleStep(fp)
            var pool = work + "/safety-sample/responses.jsonl"
            begin("judge")
            let judge = try recipe.safety!.judge.make()
            (fp, pool) = try recordStep("judge", fp, pool, settings: recipe.document.objectValue?["safety"]?.objectValue?["judge"] ?? .string("refusal")) { input, output, _, _ in
                try JudgeJob.run(judge, inputs: [input], output: output) { done, total in
                    self.events(.progress(step: "judge", StepProgress(unit: "responses", done: done, total: total)))
                }
            }
            begin("select"); (fp, pool) = try selectStep(fp, pool)
            if names.contains("curate") { begin("curate"); (fp, pool) = try curateStep(fp, pool) }
            begin("shard")
            let manifest = try shardStep(pool, fp)
            return Result(outDir: out, manifest: manifest, seconds: Date().timeIntervalSince(started), reusedSteps: reused, pool: pool, fingerprint: fp)
        }
        if let c = recipe.combine {
            var parts: [(pool: String, weight: Double)] = []
            var fps: [String] = []
            for (part, weight) in c.parts {
                begin("part:\(part.name)")
                var o = options
                o.outDir = partDir(part.name)
                o.overwrite = false
                let partStarted = Date()
                let sub = RecipeBuild(recipe: part, options: o, loadModel: loadModel)
                sub.model = model
                let r = try sub.run { e in
                    switch e {
                    case .progress(let step, let p): events(.progress(step: "\(part.name)/\(step)", p))
                    case .note(let step, let text): events(.note(step: "\(part.name)/\(step)", text: text))
                    case .finished(let step, let seconds, let wasReused, let summary):
                        events(.note(step: part.name, text: "  \(part.name)/\(step): \(wasReused ? "done earlier" : String(format: "%.0fs", seconds)) — \(summary)"))
                    case .started: break
                    }
                }
                model = sub.model
                parts.append((r.pool, weight)); fps.append(r.fingerprint)
                let kept = r.manifest.objectValue?["counts"]?.objectValue?["kept"]?.intValue ?? 0
                stepsJSON.append(.object(JSONObject([("name", .string("part:\(part.name)")), ("seconds", .double(Date().timeIntervalSince(partStarted))),
                                                     ("reused", .bool(r.reusedSteps.count == sub.stepNames.count)), ("recipe", .string(part.path)),
                                                     ("dataset", .string("parts/\(part.name)")), ("records", .int(kept)), ("weight", .double(weight))])))
                events(.finished(step: "part:\(part.name)", seconds: Date().timeIntervalSince(partStarted), reused: false,
                                 summary: "\(kept) records in parts/\(part.name) (weight \(weight))"))
            }
            begin("combine")
            var (fp, pool) = try combineStep(parts, fps, c)
            if names.contains("curate") { begin("curate"); (fp, pool) = try curateStep(fp, pool) }
            begin("shard")
            let manifest = try shardStep(pool, fp)
            return Result(outDir: out, manifest: manifest, seconds: Date().timeIntervalSince(started), reusedSteps: reused, pool: pool, fingerprint: fp)
        }
        begin("questions")
        var fp = try questionsStep()
        if recipe.extract != nil { begin("extract"); fp = try extractStep(fp) }
        let vectorFP = fp
        var steering = try fixedSteering()
        if recipe.calibrate != nil { begin("calibrate"); (fp, steering) = try calibrateStep(fp) }
        begin("sample"); fp = try sampleStep(fp, vectorFP: vectorFP, steering: steering)
        var pool = work + "/sample/traces.jsonl"
        if recipe.verify != .none { begin("verify"); (fp, pool) = try verifyStep(fp, pool) }
        if names.contains("curate") { begin("curate"); (fp, pool) = try curateStep(fp, pool) }
        if let p = recipe.pairs {
            begin("pairs")
            (fp, pool) = try recordStep("pairs", fp, pool, settings: .string("\(p.pick.rawValue) \(p.seed) \(p.unpaired)")) { input, output, rejects, _ in
                try PairsJob(pick: p.pick, seed: p.seed, unpaired: p.unpaired).run(inputs: [input], output: output, rejects: rejects)
            }
        }
        if let edges = recipe.curriculum {
            begin("curriculum")
            (fp, pool) = try recordStep("curriculum", fp, pool, settings: .array(edges.map { .double($0) })) { input, output, rejects, dir in
                try CurriculumJob(edges: edges).run(inputs: [input], output: output, rejects: rejects, workDir: dir)
            }
        }
        if let m = recipe.mix {
            begin("mix")
            (fp, pool) = try recordStep("mix", fp, pool, settings: .string("\(m.longWeight) \(m.seed)")) { input, output, rejects, dir in
                try Self.mix(input, longWeight: m.longWeight, seed: m.seed, dir: dir, output: output, rejects: rejects)
            }
        }
        begin("shard")
        let manifest = try shardStep(pool, fp)
        return Result(outDir: out, manifest: manifest, seconds: Date().timeIntervalSince(started), reusedSteps: reused, pool: pool, fingerprint: fp)
    }

    /// The parts' pools mixed at their weights (WeightedMix): `total` records, or as many as the
    /// weights allow without running a part short.
    func combineStep(_ parts: [(pool: String, weight: Double)], _ fps: [String], _ c: Recipe.Combine) throws -> (String, String) {
        let settings = JSONValue.object(JSONObject([("weights", .array(parts.map { .double($0.weight) })), ("total", c.total.map { .int($0) } ?? .null),
                                                    ("seed", .number(String(c.seed)))]))
        return try recordStep("combine", fps.joined(separator: "+"), "", settings: settings) { _, output, rejects, _ in
            let sizes = try parts.map { try Self.readRecords($0.pool).count }
            let sum = parts.reduce(0) { $0 + $1.weight }
            // The largest total whose apportionment fits every part.
            let weights = parts.map(\.weight)
            var total = Int.max
            for (w, n) in zip(weights, sizes) where w > 0 { total = min(total, Int(Double(n) * sum / w)) }
            if let t = c.total { total = t }
            func fits(_ t: Int) -> Bool { !zip(WeightedMix.counts(weights: weights, total: t), sizes).contains { $0 > $1 } }
            while c.total == nil, total > 0, !fits(total) { total -= 1 }
            let wanted = WeightedMix.counts(weights: weights, total: total)
            for (i, (w, n)) in zip(wanted, sizes).enumerated() where w > n {
                throw RecipeError("part \(i + 1) has \(n) records, the mix asks \(w) of it", file: recipe.path, key: "combine.total",
                                  hint: "lower total or that part's weight, or leave total out")
            }
            events(.note(step: "combine", text: "combine: " + zip(recipe.combine!.parts, zip(wanted, sizes)).map { "\($0.0.recipe.name) \($0.1.0) of \($0.1.1)" }.joined(separator: ", ")))
            let sources: [(path: String, share: WeightedMix.Share)] = parts.enumerated().map { ($0.element.pool, .count(wanted[$0.offset])) }
            return try WeightedMix(sources: sources, total: nil, seed: c.seed).run(output: output, rejects: rejects)
        }
    }

    // MARK: markers

    /// A step's fingerprint: the SHA-256 of its settings and its input fingerprint.
    func fingerprint(_ step: String, _ settings: JSONValue, _ input: String) -> String {
        let doc = JSONValue.object(JSONObject([("step", .string(step)), ("version", .string(Cotforge.version)),
                                               ("settings", settings), ("input", .string(input))]))
        return SHA256.hex(of: Array(JSONSerializer.string(doc).utf8))
    }

    /// The marker of `step` when it matches `fp`.
    func completed(_ step: String, _ fp: String) -> JSONObject? {
        guard let data = fm.contents(atPath: "\(work)/\(step).done.json"), case .object(let o)? = try? JSONScanner.parse(data),
              o["fingerprint"]?.stringValue == fp else { return nil }
        return o
    }

    /// Records a finished step: its marker (written last, through a temporary name), its
    /// counts joined to the record stages, and its entry in the manifest's `recipe.steps`.
    func finish(_ step: String, _ fp: String, seconds: Double, counts: [StageCounts] = [], rejects: String? = nil,
                info: JSONObject = JSONObject(), summary: String) throws {
        var o = JSONObject([("step", .string(step)), ("fingerprint", .string(fp)), ("seconds", .double((seconds * 1000).rounded() / 1000))])
        o["counts"] = .array(counts.map(\.json))
        if let rejects { o["rejects"] = .string(rejects) }
        o["info"] = .object(info)
        o["summary"] = .string(summary)
        let text = JSONSerializer.pretty(.object(o))
        let path = "\(work)/\(step).done.json"
        try text.write(toFile: path + ".tmp", atomically: false, encoding: .utf8)
        guard rename(path + ".tmp", path) == 0 else { throw RecipeError("cannot write \(path)", hint: "check permissions and free space") }
        try adopt(o, reused: false)
    }

    /// Takes a marker's counts, rejects and manifest entry into this run.
    func adopt(_ o: JSONObject, reused wasReused: Bool) throws {
        let step = o["step"]?.stringValue ?? "?"
        for c in o["counts"]?.arrayValue ?? [] {
            guard let c = c.objectValue, let name = c["name"]?.stringValue else { continue }
            var s = StageCounts(name: name)
            s.input = c["in"]?.intValue ?? 0
            s.kept = c["kept"]?.intValue ?? 0
            for (k, v) in c["dropped"]?.objectValue ?? JSONObject() { s.dropped[k] = v.intValue ?? 0 }
            s.seconds = c["seconds"]?.doubleValue ?? 0
            upstream.append(s)
        }
        if let r = o["rejects"]?.stringValue { upstreamRejects.append(work + "/" + r) }
        var entry = JSONObject([("name", .string(step)), ("seconds", o["seconds"] ?? .null), ("reused", .bool(wasReused))])
        for (k, v) in o["info"]?.objectValue ?? JSONObject() { entry[k] = v }
        stepsJSON.append(.object(entry))
        if wasReused { reused.append(step) }
        events(.finished(step: step, seconds: o["seconds"]?.doubleValue ?? 0, reused: wasReused, summary: o["summary"]?.stringValue ?? ""))
    }

    /// Runs `body` unless the step's marker matches; returns the fingerprint.
    func step(_ name: String, settings: JSONValue, input: String, _ body: (String) throws -> Void) throws -> String {
        let fp = fingerprint(name, settings, input)
        if let done = completed(name, fp) {
            try adopt(done, reused: true)
            return fp
        }
        let dir = "\(work)/\(name)"
        if (try? String(contentsOfFile: chunksDir(name) + "/fingerprint", encoding: .utf8)) == fp {
            // An interrupted run of this very step: keep its finished chunks, drop the rest.
            for f in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where f != "chunks" { try? fm.removeItem(atPath: "\(dir)/\(f)") }
            for f in (try? fm.contentsOfDirectory(atPath: chunksDir(name))) ?? [] where f.hasSuffix(".tmp") { try? fm.removeItem(atPath: "\(chunksDir(name))/\(f)") }
        } else {
            try? fm.removeItem(atPath: dir)
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        try body(fp)
        return fp
    }

    func generator() throws -> (ModelIdentity, Generator) {
        if let model { return model }
        let m = try loadModel(recipe.model, recipe.threads)
        model = m
        return m
    }

    /// The first `limit` records of a JSON Lines file (any JSON object; a missing id becomes
    /// `<file stem>-<line>`). With `requireQuestion`, a record without `question` or a file
    /// without records is an error. Errors name the file and line.
    public static func readRecords(_ path: String, limit: Int? = nil, requireQuestion: Bool = false) throws -> [Example] {
        var out: [Example] = []
        var options = RecordReader.Options()
        options.schema = try JSONSchema(text: "{}")
        try RecordReader(path: path, options: options).forEach({ line in
            if let limit, out.count >= limit { return }
            var e = try line.example()
            if requireQuestion && e.question == nil { throw RecipeError("record \(line.id) has no question", file: path, line: line.line) }
            if e.id == nil { e.id = line.id }
            out.append(e)
        }, onReject: { r in throw RecipeError("\(r.reason): \(r.detail ?? "")", file: path, line: r.line) })
        if requireQuestion && out.isEmpty { throw RecipeError("no questions", file: path) }
        return out
    }
}
