import Corpus
import Foundation
import Hashing
import Model
import Train

/// A recipe file, loaded and checked: the steps `cotforge build` runs and their settings.
/// Loading validates the YAML against `schemas/recipe.schema.json` and then the meaning of
/// each value (ranges, α lists, filter names, one question source); every error names the
/// file, the line and the key.
public struct Recipe: Sendable {
    public struct Generate: Sendable, Equatable {
        public var count: Int
        public var seed: UInt64 = 0
        public var steps: ClosedRange<Int> = 1...4
        public var difficulty = 1
        public var start = 0
    }

    public struct Import: Sendable, Equatable {
        public var paths: [String]
        public var format: QuestionFormat
        public var source: String?
        public var license: String?
        public var limit: Int?
    }

    public enum Questions: Sendable, Equatable {
        case generate(Generate)
        case importFiles(Import)
    }

    public struct Extract: Sendable, Equatable {
        public var questions = 100
        public var layers: ClosedRange<Int>? = nil
        public var method = DirectionMethod.meanDiff
    }

    public struct Calibrate: Sendable {
        public var questions = 20
        public var settings: SteerSteps.CalibrationSettings
    }

    public struct Sample: Sendable, Equatable {
        public var samples = 1
        public var temperature: Float = 0
        public var topP = 0.95
        public var seed: UInt64 = 0
        public var maxTokens = 256
        public var batch = 8
        public var instruction = Instruction.system2
    }

    public enum Verify: String, Sendable { case gold, consensus, none }

    public enum Filter: Sendable, Equatable {
        case named(String)
        case length(min: [String], max: [String])
    }

    public struct Decontaminate: Sendable, Equatable {
        public var heldout = false
        public var paths: [String] = []
        public var field = "question"
        public var fields = ["question", "prompt"]
        public var n = 8
    }

    /// A SafeChain-style safety set: prompt sources, decoding modes, K, the judge, selection.
    public struct Safety: Sendable {
        public struct Source: Sendable, Equatable {
            /// A known data name (fetched), or nil when `path` is given.
            public var data: String?
            public var path: String?
            public var format: SafetyFormat
            public var limit: Int?
            /// With `limit`: evenly spaced rows rather than the first ones.
            public var spread = false
            /// Prompts kept out of sampling (evenly spaced across the file, before `limit` is
            /// applied to the rest) for evaluation: they go to the dataset's `heldout.jsonl`.
            public var heldout = 0
        }
        public var sources: [Source] = []
        public var modes: [DecodingMode] = [.standard]
        public var samples = 5
        public var temperature: Float = 0.6
        public var topP = 0.95
        public var seed: UInt64 = 0
        public var maxTokens = 256
        public var batch = 8
        public var template = true
        public var minSafe: Int? = nil
        public var keepAll = false
        public var judge = JudgeSpec.builtin
    }

    /// Which safety judge a recipe uses.
    public enum JudgeSpec: Sendable, Equatable {
        /// Refusal and compliance detectors: a harmful prompt's response is unsafe when it complies.
        case builtin
        /// The refusal detector alone: a harmful prompt's response is safe only when it refuses.
        case refusal
        case http(url: String, model: String, apiKeyEnv: String?, timeout: Double, retries: Int, concurrency: Int)
        case command([String])

        /// The judge itself (an HTTP judge's key is read from its environment variable now).
        public func make() throws -> any SafetyJudge {
            switch self {
            case .builtin: return RefusalJudge(compliance: true)
            case .refusal: return RefusalJudge()
            case .http(let url, let model, let keyEnv, let timeout, let retries, let concurrency):
                guard let u = URL(string: url), u.scheme == "http" || u.scheme == "https" else { throw RecipeError("\(url) is not an http(s) URL") }
                var j = HTTPJudge(url: u, model: model)
                j.timeout = timeout; j.retries = retries; j.concurrency = concurrency
                if let keyEnv { j.apiKey = ProcessInfo.processInfo.environment[keyEnv] }
                return j
            case .command(let c): return CommandJudge(command: c)
            }
        }
    }

    /// The file it came from and the SHA-256 of its bytes.
    public var path: String
    public var sha256: String
    /// The parsed document, as JSON (recorded in step fingerprints).
    public var document: JSONValue
    public var name: String
    public var model = "smollm2"
    public var threads = 1
    public var license = "other"
    /// The question source of a self-sampling recipe (nil for a safety recipe).
    public var questions: Questions?
    public var heldout: Generate?
    /// The safety section of a SafeChain-style recipe (nil for a self-sampling recipe).
    public var safety: Safety? = nil
    /// Other recipes mixed at weights (nil unless this recipe combines).
    public var combine: Combine? = nil

    /// A mix of other recipes' outputs.
    public struct Combine: Sendable {
        public var parts: [(recipe: Recipe, weight: Double)]
        public var total: Int?
        public var seed: UInt64
    }
    public var extract: Extract? = nil
    /// A control vector given by path instead of extracted.
    public var vectorPath: String? = nil
    public var calibrate: Calibrate? = nil
    /// α and layers when they are not calibrated (or to override the proposal).
    public var alphas: [Float]? = nil
    public var layers: ClosedRange<Int>? = nil
    public var sample = Sample()
    public var verify = Verify.gold
    public var filters: [Filter] = []
    public var dedupExact: [String]? = nil
    public var decontaminate: Decontaminate? = nil
    public var pairs: (pick: PairsJob.Pick, seed: UInt64, unpaired: Bool)? = nil
    public var curriculum: [Double]? = nil
    public var mix: (longWeight: Double, seed: UInt64)? = nil
    public var splits: [(name: String, fraction: Double)] = [("validation", 0.05)]
    public var splitSeed: UInt64 = 1
    public var splitKey = "question"
    public var exports: [String] = ["jsonl"]

    /// True when the recipe samples steered traces (it has a steer section).
    public var steers: Bool { extract != nil || vectorPath != nil }

    /// Loads and checks the recipe at `path`.
    public static func load(path: String) throws -> Recipe {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecipeError("cannot read the recipe", file: path, hint: "check the path")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw RecipeError("the recipe is not UTF-8 text", file: path) }
        return try Recipe(text: text, path: path, sha256: SHA256.hex(of: Array(data)))
    }

    /// Parses recipe text; `path` is used in errors and to resolve relative paths.
    public init(text: String, path: String, sha256: String? = nil) throws {
        let yaml = try RecipeYAML(text: text, file: path)
        func fail(_ message: String, _ key: String, hint: String? = nil) -> RecipeError {
            RecipeError(message, file: path, line: yaml.line(of: key), key: key, hint: hint)
        }
        let schema = try JSONSchema(text: Schemas.recipe)
        if let v = schema.validate(yaml.value) {
            // The validator writes array positions as [i]; recipe errors use dotted paths.
            let key = v.path.replacingOccurrences(of: "[", with: ".").replacingOccurrences(of: "]", with: "")
            throw fail(v.message, key, hint: v.code == "schema.additional" ? "this key is not part of a recipe (see schemas/recipe.schema.json)" : nil)
        }
        guard case .object(let root) = yaml.value else { throw fail("a recipe is a mapping", "") }
        self.path = path
        self.sha256 = sha256 ?? SHA256.hex(of: Array(text.utf8))
        document = yaml.value
        let dir = (path as NSString).deletingLastPathComponent
        func resolve(_ p: String) -> String { p.hasPrefix("/") || dir.isEmpty ? p : dir + "/" + p }
        func range(_ v: JSONValue?, _ key: String) throws -> ClosedRange<Int>? {
            guard let v else { return nil }
            let s = v.stringValue ?? v.intValue.map(String.init) ?? ""
            if s == "all" { return nil }
            guard let r = Recipe.parseRange(s) else { throw fail("\(s) is not N or A-B", key) }
            return r
        }
        func alphaList(_ v: JSONValue, _ key: String) throws -> [Float] {
            if let s = v.stringValue {
                guard let xs = Calibration.parseAlphas(s) else { throw fail("\(s) is not start:step:end (e.g. -1:0.25:0)", key) }
                return xs
            }
            return (v.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) }
        }
        func generate(_ o: JSONObject, _ key: String) throws -> Generate {
            var g = Generate(count: o["count"]?.intValue ?? 1)
            if let s = o["seed"]?.intValue { g.seed = UInt64(s) }
            if let r = try range(o["steps"], key + ".steps") {
                guard r.lowerBound >= 1, r.upperBound <= 4 else { throw fail("steps must lie within 1-4", key + ".steps") }
                g.steps = r
            }
            g.difficulty = o["difficulty"]?.intValue ?? 1
            g.start = o["start"]?.intValue ?? 0
            return g
        }

        name = root["name"]!.stringValue!
        if let m = root["model"]?.stringValue {
            model = m.hasSuffix(".gguf") ? resolve(m) : m
        }
        threads = root["threads"]?.intValue ?? 1
        license = root["license"]?.stringValue ?? "other"

        if let c = root["combine"]?.objectValue {
            guard root["questions"] == nil && root["safety"] == nil else { throw fail("a combining recipe has no questions or safety section of its own", "combine") }
            var parts: [(Recipe, Double)] = []
            for (i, p) in (c["parts"]?.arrayValue ?? []).compactMap(\.objectValue).enumerated() {
                let sub = resolve(p["recipe"]!.stringValue!)
                guard sub != path else { throw fail("a recipe cannot include itself", "combine.parts.\(i).recipe") }
                let r: Recipe
                do { r = try Recipe.load(path: sub) } catch let e as RecipeError {
                    throw RecipeError("part \(i): \(e.description)", file: path, line: yaml.line(of: "combine.parts.\(i).recipe"), key: "combine.parts.\(i).recipe")
                }
                guard r.combine == nil else { throw fail("a part cannot itself combine recipes", "combine.parts.\(i).recipe") }
                parts.append((r, p["weight"]!.doubleValue!))
            }
            guard parts.count >= 2 else { throw fail("combine needs at least two parts", "combine.parts") }
            guard parts.contains(where: { $0.1 > 0 }) else { throw fail("every weight is 0", "combine.parts") }
            guard Set(parts.map { $0.0.name }).count == parts.count else { throw fail("two parts have the same name", "combine.parts") }
            combine = Combine(parts: parts, total: c["total"]?.intValue, seed: UInt64(c["seed"]?.intValue ?? 1))
            for k in ["steer", "sample", "verify", "pairs", "curriculum", "mix"] where root[k] != nil {
                throw fail("a combining recipe has no \(k) step (its parts do)", k)
            }
        } else {
        switch (root["questions"]?.objectValue, root["safety"]?.objectValue) {
        case (let q?, nil):
            switch (q["generate"]?.objectValue, q["import"]?.objectValue) {
            case (let g?, nil): questions = .generate(try generate(g, "questions.generate"))
            case (nil, let i?):
                let paths = (i["path"]!.stringValue.map { [$0] } ?? i["path"]!.arrayValue!.compactMap(\.stringValue)).map(resolve)
                let answer: String? = i["answer_field"].map { $0.stringValue } ?? "answer"
                let fmt = QuestionFormat.named(i["format"]!.stringValue!, question: i["question_field"]?.stringValue ?? "question", answer: answer)!
                questions = .importFiles(Import(paths: paths, format: fmt, source: i["source"]?.stringValue, license: i["license"]?.stringValue,
                                                limit: i["limit"]?.intValue))
            default: throw fail("give exactly one of generate or import", "questions")
            }
            heldout = try q["heldout"]?.objectValue.map { try generate($0, "questions.heldout") }
        case (nil, let sf?):
            var x = Safety()
            for (i, p) in (sf["prompts"]?.arrayValue ?? []).compactMap(\.objectValue).enumerated() {
                let key = "safety.prompts.\(i)"
                let data = p["data"]?.stringValue, path = p["path"]?.stringValue.map(resolve)
                guard (data == nil) != (path == nil) else { throw fail("give data (a known set) or path, not both", key) }
                if let data, DataStore.data(named: data) == nil {
                    throw fail("unknown data set \(data)", key + ".data", hint: "known: " + DataStore.known.map(\.name).joined(separator: ", "))
                }
                let format: SafetyFormat
                switch p["format"]?.stringValue ?? (data != nil ? "strongreject" : "generic") {
                case "strongreject": format = .strongreject
                case "wildjailbreak": format = .wildjailbreak
                default:
                    guard p["label_column"] != nil || p["label"] != nil else { throw fail("a generic source needs label_column or label", key) }
                    format = .generic(prompt: p["prompt_column"]?.stringValue ?? "prompt", label: p["label_column"]?.stringValue,
                                      category: p["category_column"]?.stringValue, defaultLabel: p["label"]?.stringValue)
                }
                x.sources.append(Safety.Source(data: data, path: path, format: format, limit: p["limit"]?.intValue, spread: p["spread"]?.boolValue ?? false,
                                                 heldout: p["heldout"]?.intValue ?? 0))
            }
            guard !x.sources.isEmpty else { throw fail("needs at least one prompt source", "safety.prompts") }
            if let ms = sf["modes"]?.arrayValue { x.modes = ms.compactMap { $0.stringValue.flatMap(DecodingMode.parse) } }
            x.samples = sf["samples"]?.intValue ?? 5
            x.temperature = Float(sf["temperature"]?.doubleValue ?? 0.6)
            x.topP = sf["top_p"]?.doubleValue ?? 0.95
            x.seed = UInt64(sf["seed"]?.intValue ?? 0)
            x.maxTokens = sf["max_tokens"]?.intValue ?? 256
            x.batch = sf["batch"]?.intValue ?? 8
            x.template = sf["template"]?.boolValue ?? true
            x.minSafe = sf["min_safe"]?.intValue
            x.keepAll = sf["keep_all"]?.boolValue ?? false
            if let j = sf["judge"] {
                if j.stringValue == "refusal" { x.judge = .refusal }
                else if j.stringValue == "builtin" { x.judge = .builtin }
                else if let h = j.objectValue?["http"]?.objectValue {
                    x.judge = .http(url: h["url"]!.stringValue!, model: h["model"]!.stringValue!, apiKeyEnv: h["api_key_env"]?.stringValue,
                                    timeout: h["timeout"]?.doubleValue ?? 30, retries: h["retries"]?.intValue ?? 3, concurrency: h["concurrency"]?.intValue ?? 4)
                    guard URL(string: h["url"]!.stringValue!)?.scheme?.hasPrefix("http") == true else { throw fail("not an http(s) URL", "safety.judge.http.url") }
                } else if let c = j.objectValue?["command"]?.arrayValue?.compactMap(\.stringValue), !c.isEmpty {
                    x.judge = .command(c.enumerated().map { $0.offset == 0 || !$0.element.contains("/") ? $0.element : resolve($0.element) })
                } else {
                    throw fail("a judge is refusal, {http: {url, model}} or {command: [program, args…]}", "safety.judge")
                }
            }
            if x.samples > 1 && x.temperature == 0 { throw fail("samples > 1 needs temperature > 0", "safety.samples") }
            if let m = x.minSafe, m > x.samples { throw fail("min_safe \(m) is more than samples \(x.samples)", "safety.min_safe") }
            safety = x
            for k in ["steer", "sample", "verify", "pairs", "curriculum"] where root[k] != nil {
                throw fail("a safety recipe has no \(k) step", k, hint: "build the math set with its own recipe")
            }
        default: throw fail("give questions (self-sampling), safety (a safety set) or combine (a mix of recipes)", "")
        }
        }


        if let st = root["steer"]?.objectValue {
            if let e = st["extract"]?.objectValue {
                var x = Extract()
                x.questions = e["questions"]?.intValue ?? 100
                x.layers = try range(e["layers"], "steer.extract.layers")
                if let m = e["method"]?.stringValue { x.method = DirectionMethod(rawValue: m)! }
                extract = x
            }
            vectorPath = st["vector"]?.stringValue.map(resolve)
            if extract != nil && vectorPath != nil { throw fail("give extract or vector, not both", "steer") }
            if extract == nil && vectorPath == nil { throw fail("needs extract (make the direction) or vector (a control vector file)", "steer") }
            if let c = st["calibrate"]?.objectValue {
                var s = SteerSteps.CalibrationSettings(alphas: try alphaList(c["alphas"]!, "steer.calibrate.alphas"))
                s.layerSets = try (c["layers"]?.arrayValue ?? []).enumerated().map { i, v in
                    guard let r = try range(v, "steer.calibrate.layers.\(i)") else { throw fail("a layer set must be N or A-B", "steer.calibrate.layers.\(i)") }
                    return r
                }
                if let t = c["targets"]?.arrayValue { s.targets = t.compactMap(\.doubleValue) }
                if let t = c["tolerance"]?.doubleValue { s.tolerance = t }
                if let t = c["max_collapse"]?.doubleValue { s.maxCollapse = t }
                if let t = c["max_tokens"]?.intValue { s.maxTokens = t }
                if let t = c["batch"]?.intValue { s.batch = t }
                calibrate = Calibrate(questions: c["questions"]?.intValue ?? 20, settings: s)
            }
            alphas = try st["alphas"].map { try alphaList($0, "steer.alphas") }
            layers = try range(st["layers"], "steer.layers")
            if calibrate == nil && alphas == nil { throw fail("needs calibrate (find α) or alphas (fixed α values)", "steer") }
        }
        if let s = root["sample"]?.objectValue {
            sample.samples = s["samples"]?.intValue ?? 1
            sample.temperature = Float(s["temperature"]?.doubleValue ?? 0)
            sample.topP = s["top_p"]?.doubleValue ?? 0.95
            sample.seed = UInt64(s["seed"]?.intValue ?? 0)
            sample.maxTokens = s["max_tokens"]?.intValue ?? 256
            sample.batch = s["batch"]?.intValue ?? 8
            if let i = s["instruction"]?.stringValue { sample.instruction = Instruction.named(i) ?? "" }
            if sample.samples > 1 && sample.temperature == 0 {
                throw fail("samples > 1 needs temperature > 0 (greedy gives the same trace every time)", "sample.samples")
            }
        }
        if let v = root["verify"]?.objectValue?["mode"]?.stringValue { verify = Verify(rawValue: v)! }
        for (i, f) in (root["filters"]?.arrayValue ?? []).enumerated() {
            let key = "filters.\(i)"
            if let n = f.stringValue {
                guard Recipe.filterNames.contains(n) else { throw fail("unknown filter \(n)", key, hint: "known: " + Recipe.filterNames.joined(separator: ", ") + ", {length: …}") }
                filters.append(.named(n))
            } else if let o = f.objectValue, o.count == 1, o.keys[0] == "length", let l = o.values[0].objectValue {
                func bounds(_ k: String) throws -> [String] {
                    try (l[k]?.objectValue ?? JSONObject()).map { field, v in
                        guard let n = v.intValue else { throw fail("\(field) must be a whole number", "\(key).length.\(k)") }
                        let text = "\(field)=\(n)"
                        do { _ = try LengthStage.parse(text, isMin: k == "min") } catch let e as SplitError {
                            throw fail(e.message + " (a unit is chars, words or tokens)", key)
                        }
                        return text
                    }
                }
                let f = Filter.length(min: try bounds("min"), max: try bounds("max"))
                guard f != .length(min: [], max: []) else { throw fail("length needs min or max bounds", key + ".length") }
                filters.append(f)
            } else {
                throw fail("a filter is a name or {length: {min: …, max: …}}", key)
            }
        }
        dedupExact = root["dedup"]?.objectValue?["exact"]?.arrayValue?.compactMap(\.stringValue)
        if let d = root["decontaminate"]?.objectValue {
            var x = Decontaminate()
            for a in d["against"]?.arrayValue?.compactMap(\.stringValue) ?? ["heldout"] {
                if a == "heldout" { x.heldout = true } else { x.paths.append(resolve(a)) }
            }
            if x.heldout && heldout == nil { throw fail("against heldout needs questions.heldout", "decontaminate.against") }
            if let f = d["field"]?.stringValue { x.field = f }
            if let f = d["fields"]?.arrayValue { x.fields = f.compactMap(\.stringValue) }
            if let n = d["n"]?.intValue { x.n = n }
            decontaminate = x
        }
        if let p = root["pairs"]?.objectValue {
            pairs = (PairsJob.Pick(rawValue: p["pick"]?.stringValue ?? "shortest")!, UInt64(p["seed"]?.intValue ?? 1), p["unpaired"]?.boolValue ?? false)
        }
        if let c = root["curriculum"]?.objectValue { curriculum = c["edges"]?.arrayValue?.compactMap(\.doubleValue) ?? [0.9, 0.8, 0.7, 0.6, 0.5] }
        if let m = root["mix"]?.objectValue { mix = (m["long_weight"]?.doubleValue ?? 0.2, UInt64(m["seed"]?.intValue ?? 1)) }
        if let s = root["split"]?.objectValue {
            splits = ["validation", "test"].compactMap { k in s[k]?.doubleValue.map { (k, $0) } }.filter { $0.1 > 0 }
            splitSeed = UInt64(s["seed"]?.intValue ?? 1)
            splitKey = s["key"]?.stringValue ?? "question"
        }
        if let e = root["export"]?.arrayValue { exports = e.compactMap(\.stringValue) }
        if pairs != nil && !steers { throw fail("pairs need steered variants: add a steer section", "pairs") }
    }

    /// Names of the filters a recipe can list.
    public static let filterNames = ["format", "repetition", "refusal", "pii", "pii-drop"]

    /// "8-14" → 8...14, "9" → 9...9.
    public static func parseRange(_ s: String) -> ClosedRange<Int>? {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 1, let a = parts[0], a >= 0 { return a...a }
        if parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, a <= b { return a...b }
        return nil
    }
}
