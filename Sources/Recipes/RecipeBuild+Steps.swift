import Corpus
import Foundation
import Hashing
import Model
import Shards
import Train

/// α values and blocks to steer, from the recipe or from calibration.
struct SteeringChoice: Sendable {
    var alphas: [Float]
    var layers: ClosedRange<Int>?
    var json: JSONValue {
        .object(JSONObject([("alphas", .array(alphas.map { .number("\($0)") })),
                            ("layers", layers.map { .array([.int($0.lowerBound), .int($0.upperBound)]) } ?? .null)]))
    }
}

extension RecipeBuild {
    var questionsPath: String { work + "/questions/questions.jsonl" }
    var heldoutPath: String { work + "/questions/heldout.jsonl" }
    var vectorPath: String { recipe.vectorPath ?? out + "/steer/vector.gguf" }

    /// An input file as a fingerprint sees it: its size and SHA-256, not its path or time of
    /// change, so a fresh clone, a copy elsewhere or a touched file reuses what the same bytes
    /// made (and a run's finished chunks carried to another machine resume), while any change to
    /// the bytes reruns.
    func fileIdentity(_ path: String) -> JSONValue {
        let size = (try? fm.attributesOfItem(atPath: path))?[.size] as? Int ?? -1
        return .string("\(size) \(((try? SHA256.hex(ofFile: path)) ?? nil) ?? "missing")")
    }

    // MARK: questions

    func questionsStep() throws -> String {
        var settings = JSONObject([("questions", recipe.document.objectValue?["questions"] ?? .null)])
        if case .importFiles(let imp) = recipe.questions {
            // Imported files are part of the input: what they hold.
            settings["files"] = .array(imp.paths.map(fileIdentity))
        }
        return try step("questions", settings: .object(settings), input: "") { fp in
            let started = Date()
            let dir = work + "/questions"
            var info = JSONObject()
            var summary: String
            switch recipe.questions! {
            case .generate(let g):
                let gen = WordProblemGenerator(seed: g.seed, steps: g.steps, difficulty: g.difficulty)
                let w = try JSONLWriter(path: questionsPath)
                for e in gen.records(count: g.count, start: g.start) { try w.write(e) }
                try w.finish()
                info["questions"] = .int(g.count)
                summary = "\(g.count) word problems generated (seed \(g.seed), steps \(g.steps.lowerBound)-\(g.steps.upperBound), difficulty \(g.difficulty))"
            case .importFiles(let imp):
                for p in imp.paths where !fm.fileExists(atPath: p) {
                    throw RecipeError("cannot read \(p)", file: recipe.path, key: "questions.import.path", hint: "give the path of a \(imp.format) JSONL file, relative to the recipe")
                }
                let all = dir + "/imported.jsonl"
                let w = try JSONLWriter(path: all), rej = try JSONLWriter(path: dir + "/rejects.jsonl")
                let c = try QuestionImporter.importFiles(imp.paths, format: imp.format, source: imp.source, license: imp.license, output: w, rejects: rej)
                try w.finish(); try rej.finish()
                let kept = try Self.readRecords(all, limit: imp.limit)
                guard !kept.isEmpty else {
                    throw RecipeError("no question could be imported from \(imp.paths.joined(separator: ", ")) (\(c.rejected) lines rejected, see \(dir)/rejects.jsonl)",
                                      file: recipe.path, key: "questions.import")
                }
                let out = try JSONLWriter(path: questionsPath)
                for e in kept { try out.write(e) }
                try out.finish()
                info["questions"] = .int(kept.count); info["import_rejected"] = .int(c.rejected); info["imported"] = .int(c.written)
                summary = "\(kept.count) questions imported (\(c.written) read, \(c.rejected) lines rejected into work/questions/rejects.jsonl)"
            }
            if let h = recipe.heldout {
                let gen = WordProblemGenerator(seed: h.seed, steps: h.steps, difficulty: h.difficulty)
                let w = try JSONLWriter(path: heldoutPath)
                for var e in gen.records(count: h.count, start: h.start) {
                    e.id = "heldout-" + (e.id ?? "")
                    try w.write(e)
                }
                try w.finish()
                info["heldout"] = .int(h.count)
                summary += "; \(h.count) held-out questions"
            }
            try finish("questions", fp, seconds: Date().timeIntervalSince(started), info: info, summary: summary)
        }
    }

    // MARK: steer

    func extractStep(_ input: String) throws -> String {
        let x = recipe.extract!
        let settings = JSONValue.object(JSONObject([("extract", recipe.document.objectValue?["steer"]?.objectValue?["extract"] ?? .null),
                                                    ("model", .string(recipe.model))]))
        return try step("extract", settings: settings, input: input) { fp in
            let started = Date()
            let (id, gen) = try generator()
            let qs = try Self.readRecords(questionsPath, limit: x.questions)
            let r = try SteerSteps.extract(generator: gen, model: id, questions: qs, blocks: x.layers, method: x.method) { p in
                events(.progress(step: "extract", p))
            }
            try r.vector.write(to: vectorPath)
            let statsPath = out + "/steer/vector.json"
            try (JSONSerializer.string(.object(r.doc)) + "\n").write(toFile: statsPath, atomically: true, encoding: .utf8)
            events(.note(step: "extract", text: SteerSteps.table(r.layers)))
            let best = r.layers.max { $0.separation < $1.separation }
            try finish("extract", fp, seconds: Date().timeIntervalSince(started),
                       info: JSONObject([("questions", .int(qs.count)), ("vector", .string("steer/vector.gguf")),
                                         ("vector_sha256", .string(try ModelStore.sha256(ofFile: vectorPath)))]),
                       summary: "\(x.method.rawValue) direction over \(qs.count) questions, blocks \(r.layers.first?.layer ?? 0)-\(r.layers.last?.layer ?? 0)"
                           + (best.map { String(format: "; best separation %.2f at block %d", $0.separation, $0.layer) } ?? ""))
        }
    }

    /// The α and layers the recipe fixes (used when it does not calibrate).
    func fixedSteering() throws -> SteeringChoice? {
        guard recipe.steers else { return nil }
        guard let a = recipe.alphas else { return nil }
        return SteeringChoice(alphas: a.contains(0) ? a : [0] + a, layers: recipe.layers)
    }

    func vectorFingerprint(_ input: String) throws -> String {
        // A given vector file is an input by its content.
        if recipe.vectorPath != nil {
            guard fm.fileExists(atPath: vectorPath) else {
                throw RecipeError("cannot read \(vectorPath)", file: recipe.path, key: "steer.vector", hint: "give a control vector .gguf (from `cotforge steer extract`)")
            }
            return input + (try ModelStore.sha256(ofFile: vectorPath))
        }
        return input
    }

    func calibrateStep(_ input: String) throws -> (String, SteeringChoice?) {
        let c = recipe.calibrate!
        let settings = JSONValue.object(JSONObject([("calibrate", recipe.document.objectValue?["steer"]?.objectValue?["calibrate"] ?? .null),
                                                    ("model", .string(recipe.model))]))
        let calPath = out + "/steer/calibration.json"
        let fp = try step("calibrate", settings: settings, input: try vectorFingerprint(input)) { fp in
            let started = Date()
            let (id, gen) = try generator()
            let cv = try ControlVector(path: vectorPath)
            try cv.check(against: gen.model.config, path: vectorPath)
            let qs = try Self.readRecords(questionsPath, limit: c.questions)
            let r = try SteerSteps.calibrate(generator: gen, model: id, vector: cv, vectorName: (vectorPath as NSString).lastPathComponent,
                                             vectorSHA256: try ModelStore.sha256(ofFile: vectorPath), questions: qs, settings: c.settings) { p in
                events(.progress(step: "calibrate", p))
            }
            try (JSONSerializer.string(.object(r.doc)) + "\n").write(toFile: calPath, atomically: true, encoding: .utf8)
            events(.note(step: "calibrate", text: SteerSteps.table(r)))
            var info = JSONObject([("questions", .int(qs.count)), ("points", .int(r.points.count)), ("file", .string("steer/calibration.json"))])
            info["proposal"] = r.doc["proposal"] ?? .null
            let summary = r.proposal.map { p in
                "proposed layers \(p.layers.lowerBound)-\(p.layers.upperBound), α " + p.alphas.map { "\($0)" }.joined(separator: ",")
                    + " (mean Len-R " + p.lenR.map { String(format: "%.2f", $0) }.joined(separator: ", ") + ")"
            } ?? "no layer set kept accuracy and collapse within bounds"
            try finish("calibrate", fp, seconds: Date().timeIntervalSince(started), info: info, summary: summary)
        }
        // The proposal, read back from the calibration file (the same on a resumed build). When
        // it holds no steered α, steer.alphas/steer.layers (if given) are the fallback.
        var problem = "calibration accepted no α"
        if let data = fm.contents(atPath: calPath), case .object(let doc)? = try? JSONScanner.parse(data),
           let p = doc["proposal"]?.objectValue, let ls = p["layers"]?.arrayValue?.compactMap(\.intValue), ls.count == 2 {
            let alphas = (p["alphas"]?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) }
            if alphas.contains(where: { $0 != 0 }) { return (fp, SteeringChoice(alphas: alphas, layers: ls[0]...ls[1])) }
            problem = "calibration proposed only α = 0: no steered point came nearer a target Len-R within the accuracy and collapse limits"
        }
        if let fixed = try fixedSteering() {
            events(.note(step: "calibrate", text: "calibrate: \(problem); using steer.alphas " + fixed.alphas.map { "\($0)" }.joined(separator: ",")
                         + (fixed.layers.map { " at layers \($0.lowerBound)-\($0.upperBound)" } ?? "") + " as the recipe's fallback"))
            return (fp, fixed)
        }
        throw RecipeError(problem, file: recipe.path, key: "steer.calibrate",
                          hint: "widen alphas or layers, raise tolerance/max_collapse, or give steer.alphas and steer.layers as a fallback (see \(calPath))")
    }

    // MARK: sample

    func sampleStep(_ input: String, vectorFP: String, steering: SteeringChoice?) throws -> String {
        let s = recipe.sample
        let settings = JSONValue.object(JSONObject([("sample", recipe.document.objectValue?["sample"] ?? .null),
                                                    ("steering", steering?.json ?? .null), ("model", .string(recipe.model))]))
        let fpInput = steering == nil ? input : input + (try vectorFingerprint(vectorFP))
        return try step("sample", settings: settings, input: fpInput) { fp in
            let started = Date()
            let (id, gen) = try generator()
            let qs = try Self.readRecords(questionsPath)
            var dirs: [Int: [Float]] = [:]
            var steerBase = JSONObject()
            if let steering {
                let cv = try ControlVector(path: vectorPath)
                try cv.check(against: gen.model.config, path: vectorPath)
                dirs = cv.directions.filter { steering.layers?.contains($0.key) ?? true }
                guard !dirs.isEmpty else { throw RecipeError("the layers to steer hold none of the vector's directions", file: recipe.path, key: "steer.layers") }
                steerBase = JSONObject([("vector", .string((vectorPath as NSString).lastPathComponent)),
                                        ("vector_sha256", .string(try ModelStore.sha256(ofFile: vectorPath))),
                                        ("layers", .array(dirs.keys.sorted().map { .int($0) }))])
            }
            var sampler = SamplerSettings(temperature: s.temperature, topP: s.temperature > 0 ? s.topP : 1, seed: s.seed)
            if s.temperature == 0 { sampler.topP = 1 }
            let job = SelfSampling(alphas: steering?.alphas ?? [0], directions: dirs, samples: s.samples, sampler: sampler, maxTokens: s.maxTokens,
                                   instruction: s.instruction, batch: s.batch,
                                   genBase: JSONObject([("model", .string(id.name)), ("model_sha256", .string(id.sha256)), ("decoding", .string("chat"))]),
                                   steerBase: steerBase)
            var records = try chunkedRecords("sample", fp, job: job, questions: qs, generator: gen, perQuestion: job.alphas.count * s.samples) { p in
                self.events(.progress(step: "sample", SteerSteps.tracesProgress(p, maxTokens: s.maxTokens)))
            }
            if steering == nil {
                // Unsteered sampling: no gen.steer, no Len-R against itself.
                for i in records.indices {
                    if var g = records[i]["gen"]?.objectValue { g["steer"] = nil; records[i]["gen"] = .object(g) }
                    records[i]["len_ratio"] = nil
                }
            }
            let w = try JSONLWriter(path: work + "/sample/traces.jsonl")
            for r in records { try w.write(r) }
            try w.finish()
            let table = AlphaTable(records)
            events(.note(step: "sample", text: table.text))
            var c = StageCounts(name: "sample")
            for _ in records { c.keep() }
            c.seconds = Date().timeIntervalSince(started)
            try finish("sample", fp, seconds: c.seconds, counts: [c],
                       info: JSONObject([("traces", .int(records.count)), ("questions", .int(qs.count)), ("steering", steering?.json ?? .null),
                                         ("per_alpha", table.json)]),
                       summary: "\(records.count) traces (\(qs.count) questions × \(steering?.alphas.count ?? 1) α × \(s.samples))")
        }
    }

    // MARK: record stages

    /// A stage over the record pool: `body` reads `input` and writes `output` and `rejects`;
    /// returns the new fingerprint and pool.
    func recordStep(_ name: String, _ input: String, _ pool: String, settings: JSONValue, extraInfo: () -> JSONObject = { JSONObject() },
                    _ body: (_ input: String, _ output: JSONLWriter, _ rejects: JSONLWriter, _ dir: String) throws -> [StageCounts]) throws -> (String, String) {
        let outPath = "\(work)/\(name)/out.jsonl"
        let fp = try step(name, settings: settings, input: input) { fp in
            let started = Date()
            let w = try JSONLWriter(path: outPath), rej = try JSONLWriter(path: "\(work)/\(name)/rejects.jsonl")
            var counts = try body(pool, w, rej, "\(work)/\(name)")
            try w.finish(); try rej.finish()
            // Our own files have no bad lines; a read stage is listed only if it dropped something.
            counts.removeAll { $0.name == "read" && $0.droppedTotal == 0 }
            let seconds = Date().timeIntervalSince(started)
            if counts.count == 1 { counts[0].seconds = seconds }
            let kept = counts.last?.kept ?? 0, input = counts.first?.input ?? 0
            var reasons = counts.flatMap { $0.dropped.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" } }
            if reasons.count > 4 { reasons = Array(reasons.prefix(4)) + ["…"] }
            var info = JSONObject([("in", .int(input)), ("kept", .int(kept))])
            if name == "verify" || name == "pairs" { info["per_alpha_kept"] = AlphaTable.counts(outPath) }
            for (k, v) in extraInfo() { info[k] = v }
            try finish(name, fp, seconds: seconds, counts: counts, rejects: "\(name)/rejects.jsonl", info: info,
                       summary: "\(input) in, \(kept) kept" + (reasons.isEmpty ? "" : " (dropped: " + reasons.joined(separator: ", ") + ")"))
        }
        return (fp, outPath)
    }

    func verifyStep(_ input: String, _ pool: String) throws -> (String, String) {
        let mode = recipe.verify
        let consensus = ConsensusJob()
        // The consensus figures go into the step's marker with its counts (a resumed build keeps them).
        let agreement: () -> JSONObject = {
            guard mode == .consensus else { return JSONObject() }
            let c = consensus
            return JSONObject([("consensus", .object(JSONObject([
                ("questions_kept", .int(c.questionsKept)), ("questions_dropped", .int(c.questionsDropped)),
                ("checked_against_gold", .int(c.checkedAgainstGold)), ("agreeing_with_gold", .int(c.agreeingWithGold))])))])
        }
        return try recordStep("verify", input, pool, settings: .string(mode.rawValue), extraInfo: agreement) { input, output, rejects, _ in
            switch mode {
            case .gold:
                return try StageRunner(stages: [AnswerCheckStage()]).run(inputs: [input], output: output, rejects: rejects).counts
            case .consensus:
                let counts = try consensus.run(inputs: [input], output: output, rejects: rejects)
                if consensus.checkedAgainstGold > 0 {
                    events(.note(step: "verify", text: String(format: "consensus: %d questions kept, %d dropped; consensus = true gold for %d of %d kept questions (%.1f%%)",
                                                             consensus.questionsKept, consensus.questionsDropped, consensus.agreeingWithGold,
                                                             consensus.checkedAgainstGold, 100 * Double(consensus.agreeingWithGold) / Double(consensus.checkedAgainstGold))))
                }
                return counts
            case .none:
                return []
            }
        }
    }

    func curateStep(_ input: String, _ pool: String) throws -> (String, String) {
        var settings = JSONObject()
        for k in ["filters", "dedup", "decontaminate"] { settings[k] = recipe.document.objectValue?[k] ?? .null }
        let stages = try curationStages()
        return try recordStep("curate", input, pool, settings: .object(settings)) { input, output, rejects, _ in
            try StageRunner(stages: stages).run(inputs: [input], output: output, rejects: rejects).counts
        }
    }

    /// The recipe's filters, exact dedup and decontamination, in that order.
    func curationStages() throws -> [any Stage] {
        var stages: [any Stage] = []
        for f in recipe.filters {
            switch f {
            case .named(let n): stages.append(CurationStages.named(n)!)
            case .length(let mins, let maxs):
                let bounds = try mins.map { try LengthStage.parse($0, isMin: true) } + maxs.map { try LengthStage.parse($0, isMin: false) }
                let needsTokens = (mins + maxs).contains { $0.contains(":tokens=") }
                let counter: (any TokenCounter)? = needsTokens ? try generator().1.tokenizer : nil
                stages.append(try LengthStage(bounds: bounds, tokenizer: counter))
            }
        }
        if let fields = recipe.dedupExact { stages.append(ExactDedupStage(fields: fields)) }
        if let d = recipe.decontaminate {
            var index = EvalIndex(n: d.n)
            for p in (d.heldout ? [heldoutPath] : []) + d.paths { _ = try index.load(path: p, field: d.field) }
            stages.append(DecontaminationStage(index: index, fields: d.fields))
        }
        return stages
    }

    /// Long (α = 0 or `mode: slow`) and short records of one pool, mixed one response per
    /// question with `longWeight` of the questions answered long.
    static func mix(_ input: String, longWeight: Double, seed: UInt64, dir: String, output: JSONLWriter, rejects: JSONLWriter) throws -> [StageCounts] {
        let longPath = dir + "/long.jsonl", shortPath = dir + "/short.jsonl"
        let long = try JSONLWriter(path: longPath), short = try JSONLWriter(path: shortPath)
        for r in try readRecords(input) {
            let isLong = r.mode.map { $0 == "slow" } ?? CurriculumJob.isBase(r)
            try (isLong ? long : short).write(r)
        }
        try long.finish(); try short.finish()
        let counts = try MixJob(longWeight: longWeight, seed: seed).run(long: [longPath], short: [shortPath], output: output, rejects: rejects).counts
        try? FileManager.default.removeItem(atPath: longPath)
        try? FileManager.default.removeItem(atPath: shortPath)
        return counts
    }

    // MARK: shard

    /// The split, the dataset card, the report and the exports. Complete when its marker
    /// matches and manifest.json is there; otherwise the shard build runs again (reusing the
    /// shards an interrupted one finished).
    func shardStep(_ pool: String, _ input: String) throws -> JSONValue {
        var settings = JSONObject()
        for k in ["split", "export", "license", "name"] { settings[k] = recipe.document.objectValue?[k] ?? .null }
        let fp = fingerprint("shard", .object(settings), input)
        if let done = completed("shard", fp), let data = fm.contents(atPath: out + "/manifest.json"), let m = try? JSONScanner.parse(data) {
            try adopt(done, reused: true)
            return m
        }
        try? fm.removeItem(atPath: work + "/shard.done.json")
        let started = Date()
        var o = ShardJob.Options()
        o.inputs = [pool]
        o.outDir = out
        o.name = recipe.name
        o.splits = recipe.splits
        o.seed = recipe.splitSeed
        o.groupKey = recipe.splitKey
        o.license = recipe.license
        o.command = options.command
        o.overwrite = true
        o.upstream = upstream
        o.upstreamRejects = upstreamRejects
        let heldout = try writeHeldout()
        var info = JSONObject([("path", .string(recipe.path)), ("sha256", .string(recipe.sha256)), ("name", .string(recipe.name)),
                               ("steps", .array(stepsJSON)), ("per_alpha_in_dataset", AlphaTable.counts(pool))])
        if heldout > 0 { info["heldout"] = .object(JSONObject([("path", .string("heldout.jsonl")), ("records", .int(heldout))])) }
        o.recipe = .object(info)
        let result = try ShardJob(options: o).run { p in
            events(.progress(step: "shard", StepProgress(unit: "records", done: p.records + p.rejected, total: 0)))
        }
        for format in recipe.exports where format != "jsonl" {
            events(.progress(step: "shard", StepProgress(unit: "records", done: result.kept, total: result.kept, detail: "export \(format)")))
            if format == "mds" { _ = try MDSExport.run(dataset: out) } else { _ = try WebDatasetExport.run(dataset: out) }
        }
        guard let data = fm.contents(atPath: out + "/manifest.json"), let manifest = try? JSONScanner.parse(data) else {
            throw RecipeError("the shard build left no readable \(out)/manifest.json", hint: "run the build again")
        }
        try finish("shard", fp, seconds: Date().timeIntervalSince(started),
                   summary: "\(result.kept) records in data/, \(result.dropped) in rejects/ (formats: \(recipe.exports.joined(separator: ", ")))"
                            + (heldout > 0 ? "; \(heldout) held-out questions and prompts in heldout.jsonl" : ""))
        return manifest
    }
}

extension RecipeBuild {
    /// The held-out files this recipe made: its held-out questions, its held-out safety
    /// prompts, or (combining) each part's `heldout.jsonl`.
    var heldoutSources: [String] {
        if let c = recipe.combine { return c.parts.map { partDir($0.recipe.name) + "/heldout.jsonl" }.filter { fm.fileExists(atPath: $0) } }
        var files: [String] = []
        if recipe.heldout != nil { files.append(heldoutPath) }
        if recipe.safety?.sources.contains(where: { $0.heldout > 0 }) == true { files.append(safetyHeldoutPath) }
        return files
    }

    /// Writes `OUT/heldout.jsonl`: every held-out question and prompt, for `cotforge eval
    /// --questions` (none of them entered the corpus). Returns the number of records.
    func writeHeldout() throws -> Int {
        let path = out + "/heldout.jsonl"
        try? fm.removeItem(atPath: path)
        let sources = heldoutSources
        guard !sources.isEmpty else { return 0 }
        let w = try JSONLWriter(path: path)
        var n = 0
        for s in sources { for e in try Self.readRecords(s) { try w.write(e); n += 1 } }
        try w.finish()
        return n
    }
}

/// Per steering α: traces, median Len-R, accuracy against gold, mean reasoning tokens and
/// traces cut at the token limit — the table `steer sample` and `build` print and the manifest keeps.
public struct AlphaTable {
    struct Row { var alpha: String; var traces = 0; var medianLenR = Double.nan; var correct = 0; var withGold = 0; var meanTokens = 0.0; var cut = 0 }
    var rows: [Row] = []

    static func alpha(_ r: Example) -> String {
        guard let a = r["gen"]?.objectValue?["steer"]?.objectValue?["alpha"]?.doubleValue else { return "none" }
        return a == a.rounded() ? String(Int(a)) : "\(a)"
    }

    public init(_ records: [Example]) {
        var order: [String] = []
        var groups: [String: [Example]] = [:]
        for r in records {
            let a = Self.alpha(r)
            if groups[a] == nil { order.append(a) }
            groups[a, default: []].append(r)
        }
        for a in order {
            let rs = groups[a]!
            var row = Row(alpha: a)
            row.traces = rs.count
            let ratios = rs.compactMap(\.lenRatio).sorted()
            if !ratios.isEmpty { row.medianLenR = ratios.count % 2 == 1 ? ratios[ratios.count / 2] : (ratios[ratios.count / 2 - 1] + ratios[ratios.count / 2]) / 2 }
            let withGold = rs.filter { $0.gold != nil }
            row.withGold = withGold.count
            row.correct = withGold.filter { r in r.pred.map { AnswerNormalizer.equivalent($0, r.gold!) } ?? false }.count
            let tokens = rs.compactMap { $0["tokens"]?.objectValue?["reasoning"]?.intValue }
            row.meanTokens = Double(tokens.reduce(0, +)) / Double(max(1, tokens.count))
            row.cut = rs.filter { $0["gen"]?.objectValue?["stop_reason"]?.stringValue == "length" }.count
            rows.append(row)
        }
    }

    public var text: String {
        var lines = ["     α  traces  median Len-R  accuracy  reasoning tokens  hit max"]
        for r in rows {
            let accuracy = r.withGold == 0 ? "–" : String(format: "%.1f%%", 100 * Double(r.correct) / Double(r.withGold))
            let alpha = String(repeating: " ", count: max(0, 6 - r.alpha.count)) + r.alpha
            let acc = String(repeating: " ", count: max(0, 8 - accuracy.count)) + accuracy
            lines.append(alpha + String(format: "  %6d  %12.3f  ", r.traces, r.medianLenR) + acc + String(format: "  %16.1f  %7d", r.meanTokens, r.cut))
        }
        return lines.joined(separator: "\n")
    }

    var json: JSONValue {
        .array(rows.map { r in
            .object(JSONObject([("alpha", .string(r.alpha)), ("traces", .int(r.traces)),
                                ("median_len_r", r.medianLenR.isFinite ? .double((r.medianLenR * 10_000).rounded() / 10_000) : .null),
                                ("accuracy", r.withGold == 0 ? .null : .double((Double(r.correct) / Double(r.withGold) * 10_000).rounded() / 10_000)),
                                ("correct", .int(r.correct)), ("mean_reasoning_tokens", .double((r.meanTokens * 10).rounded() / 10)), ("hit_max", .int(r.cut))]))
        })
    }

    /// Records per α in a file: {"0": n, "-0.5": m}.
    static func counts(_ path: String) -> JSONValue {
        var order: [String] = [], n: [String: Int] = [:]
        for r in (try? RecipeBuild.readRecords(path)) ?? [] {
            let a = alpha(r)
            if n[a] == nil { order.append(a) }
            n[a, default: 0] += 1
        }
        return .object(JSONObject(order.map { ($0, .int(n[$0]!)) }))
    }
}
