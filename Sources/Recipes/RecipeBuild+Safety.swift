import Corpus
import Foundation
import Model

/// The steps of a safety recipe: prompts → K responses per decoding mode → judge → select.
extension RecipeBuild {
    var promptsPath: String { work + "/prompts/prompts.jsonl" }
    var safetyHeldoutPath: String { work + "/prompts/heldout.jsonl" }

    /// `n` indices evenly spaced over `0..<count` (all of them when n ≥ count).
    static func spread(_ count: Int, _ n: Int) -> [Int] {
        n >= count ? Array(0..<count) : (0..<n).map { $0 * count / n }
    }

    func promptsStep() throws -> String {
        let sf = recipe.safety!
        var settings = JSONObject([("prompts", recipe.document.objectValue?["safety"]?.objectValue?["prompts"] ?? .null)])
        settings["files"] = .array(sf.sources.compactMap(\.path).map(fileIdentity))
        return try step("prompts", settings: .object(settings), input: "") { fp in
            let started = Date()
            let dir = work + "/prompts"
            let out = try JSONLWriter(path: promptsPath), rej = try JSONLWriter(path: dir + "/rejects.jsonl")
            let heldout = try JSONLWriter(path: safetyHeldoutPath)
            var rows: [JSONValue] = []
            var total = 0, rejected = 0, heldoutCount = 0
            for (i, src) in sf.sources.enumerated() {
                let path: String
                if let name = src.data {
                    path = try DataStore.fetch(name) { e in
                        if case .downloading(let pkg) = e { events(.note(step: "prompts", text: "prompts: downloading \(pkg) with pip…")) }
                    }
                } else {
                    path = src.path!
                    guard fm.fileExists(atPath: path) else {
                        throw RecipeError("cannot read \(path)", file: recipe.path, key: "safety.prompts.\(i).path", hint: "give a CSV, TSV or JSONL file, relative to the recipe")
                    }
                }
                let tmp = try JSONLWriter(path: "\(dir)/source-\(i).jsonl")
                let c = try SafetyImporter.importFile(path, format: src.format, source: src.data, license: src.data.flatMap { DataStore.data(named: $0)?.license },
                                                      output: tmp, rejects: rej)
                try tmp.finish()
                var kept = try Self.readRecords("\(dir)/source-\(i).jsonl", limit: src.spread || src.heldout > 0 ? nil : src.limit)
                // Held-out prompts first, evenly spaced (so they span the categories), then the
                // limit over what is left: the two sets never share a prompt.
                let held = Self.spread(kept.count, src.heldout)
                if !held.isEmpty {
                    let set = Set(held)
                    for j in held { try heldout.write(kept[j]) }
                    kept = kept.indices.filter { !set.contains($0) }.map { kept[$0] }
                    heldoutCount += held.count
                }
                if let n = src.limit, n < kept.count {
                    let all = kept
                    kept = src.spread ? Self.spread(all.count, n).map { all[$0] } : Array(all.prefix(n))
                }
                for e in kept { try out.write(e) }
                total += kept.count; rejected += c.rejected
                rows.append(.object(JSONObject([("source", .string(src.data ?? (path as NSString).lastPathComponent)), ("prompts", .int(kept.count)),
                                                ("heldout", .int(held.count)), ("read", .int(c.written)), ("rejected", .int(c.rejected))])))
            }
            try out.finish(); try rej.finish(); try heldout.finish()
            guard total > 0 else { throw RecipeError("no prompt could be imported (see \(dir)/rejects.jsonl)", file: recipe.path, key: "safety.prompts") }
            try finish("prompts", fp, seconds: Date().timeIntervalSince(started), info: JSONObject([("prompts", .int(total)), ("heldout", .int(heldoutCount)), ("sources", .array(rows))]),
                       summary: "\(total) prompts from \(sf.sources.count) source(s)" + (heldoutCount > 0 ? ", \(heldoutCount) held out for evaluation" : "") + (rejected > 0 ? ", \(rejected) rows rejected into work/prompts/rejects.jsonl" : ""))
        }
    }

    func safetySampleStep(_ input: String) throws -> String {
        let sf = recipe.safety!
        var settings = recipe.document.objectValue?["safety"]?.objectValue ?? JSONObject()
        settings["prompts"] = nil
        settings["model"] = .string(recipe.model)
        return try step("safety-sample", settings: .object(settings), input: input) { fp in
            let started = Date()
            let (id, gen) = try generator()
            let qs = try Self.readRecords(promptsPath)
            var job = SafetySampling()
            job.modes = sf.modes
            job.samples = sf.samples
            job.sampler = SamplerSettings(temperature: sf.temperature, topP: sf.temperature > 0 ? sf.topP : 1, seed: sf.seed)
            job.maxTokens = sf.maxTokens
            job.batch = sf.batch
            job.template = sf.template ? SafetySampling.thinkTemplate : nil
            job.genBase = JSONObject([("model", .string(id.name)), ("model_sha256", .string(id.sha256))])
            let records = try chunkedRecords("safety-sample", fp, job: job, questions: qs, generator: gen, perQuestion: sf.modes.count * sf.samples) { p in
                self.events(.progress(step: "safety-sample", SteerSteps.tracesProgress(p, maxTokens: sf.maxTokens)))
            }
            let w = try JSONLWriter(path: work + "/safety-sample/responses.jsonl")
            for r in records { try w.write(r) }
            try w.finish()
            var c = StageCounts(name: "safety-sample")
            for _ in records { c.keep() }
            c.seconds = Date().timeIntervalSince(started)
            try finish("safety-sample", fp, seconds: c.seconds, counts: [c],
                       info: JSONObject([("responses", .int(records.count)), ("prompts", .int(qs.count)),
                                         ("modes", .array(sf.modes.map { .string($0.description) })), ("samples", .int(sf.samples))]),
                       summary: "\(records.count) responses (\(qs.count) prompts × \(sf.modes.count) modes × \(sf.samples))")
        }
    }

    func selectStep(_ input: String, _ pool: String) throws -> (String, String) {
        let sf = recipe.safety!
        let job = SafetySelectionJob(minSafe: sf.minSafe, keepAll: sf.keepAll, seed: sf.seed &+ 1)
        return try recordStep("select", input, pool, settings: .string("\(sf.minSafe.map(String.init) ?? "all") \(sf.keepAll)"),
                              extraInfo: { JSONObject([("metrics", job.metricsJSON)]) }) { input, output, rejects, _ in
            let counts = try job.run(inputs: [input], output: output, rejects: rejects)
            events(.note(step: "select", text: SafetyTable.text(byMode: job.byMode, byCategory: job.byCategory)))
            return counts
        }
    }
}
