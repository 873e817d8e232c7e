import Corpus
import Foundation

/// The dataset card `out/NAME/README.md`: YAML front matter that Hugging Face `datasets`
/// reads (`configs` with `data_files` per split, `dataset_info` with features and split
/// sizes), so `load_dataset("out/NAME")` works with no arguments, and a body for people.
public struct DatasetCard {
    public var name: String
    public var license: String
    /// (split, records, uncompressed bytes), in manifest order.
    public var splits: [(String, Int, Int)]
    public var sketch: FeatureSketch
    public var manifest: JSONValue

    /// Re-renders the body of a dataset folder's card from its manifest (after an export added
    /// formats), keeping the front matter as it is.
    public static func refresh(dataset dir: String) throws {
        let path = dir + "/README.md"
        guard let data = FileManager.default.contents(atPath: dir + "/manifest.json"), let old = FileManager.default.contents(atPath: path),
              case .object(let m) = try JSONScanner.parse(data) else { return }
        let text = String(decoding: old, as: UTF8.self)
        guard text.hasPrefix("---\n"), let end = text.range(of: "\n---\n", range: text.index(text.startIndex, offsetBy: 3)..<text.endIndex) else { return }
        try writeText(String(text[..<end.upperBound]) + "\n" + body(name: m["name"]?.stringValue ?? "dataset", manifest: .object(m)), to: path)
    }

    public init(name: String, license: String, splits: [(String, Int, Int)], sketch: FeatureSketch, manifest: JSONValue) {
        self.name = name; self.license = license; self.splits = splits; self.sketch = sketch; self.manifest = manifest
    }

    /// True for a card cotforge wrote (its front matter carries the `cotforge` tag).
    public static func isOwnCard(_ bytes: Data) -> Bool {
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        return text.hasPrefix("---\n") && text.contains("\n- cotforge\n")
    }

    /// `datasets`' size buckets.
    static func sizeCategory(_ n: Int) -> String {
        let buckets: [(Int, String)] = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M")]
        for (limit, name) in buckets where n < limit { return name }
        return "100M<n<1B"
    }

    /// A YAML scalar: plain when safe, else a double-quoted (JSON-compatible) string.
    static func yamlString(_ s: String) -> String {
        let plain = !s.isEmpty && s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "_" || c == "-" || c == "." || c == "/" || c == "*"
        } && !(s.first!.isNumber) && !["true", "false", "null", "yes", "no", "on", "off"].contains(s.lowercased())
        return plain ? s : JSONSerializer.string(.string(s))
    }

    public func render() -> String {
        let nonEmpty = splits.filter { $0.1 > 0 }
        let total = splits.reduce(0) { $0 + $1.1 }
        var y: [String] = ["---"]
        y.append("pretty_name: \(DatasetCard.yamlString(name))")
        y.append("license: \(DatasetCard.yamlString(license))")
        y.append("task_categories:\n- text-generation\n- question-answering")
        y.append("tags:\n- reasoning\n- chain-of-thought\n- cotforge")
        y.append("size_categories:\n- \(DatasetCard.sizeCategory(total))")
        y.append("configs:\n- config_name: default\n  data_files:")
        for (s, _, _) in nonEmpty {
            y.append("  - split: \(s)\n    path: \(DatasetCard.yamlString("data/\(s)-*.jsonl.zst"))")
        }
        y.append("dataset_info:")
        if !sketch.hasConflict && !sketch.columns.isEmpty {
            y.append("  features:")
            y.append(contentsOf: sketch.yaml(indent: 2))
        }
        y.append("  splits:")
        for (s, n, bytes) in nonEmpty {
            y.append("  - name: \(s)\n    num_bytes: \(bytes)\n    num_examples: \(n)")
        }
        y.append("---")
        return y.joined(separator: "\n") + "\n\n" + DatasetCard.body(name: name, manifest: manifest)
    }

    /// The manifest's sources as (name, license) with labels for missing values, the first 50,
    /// and how many more there are: what the card and the report list.
    static func sources(_ manifest: JSONObject) -> (shown: [(String, String)], more: Int) {
        let all = (manifest["sources"]?.arrayValue ?? []).compactMap(\.objectValue)
        let shown = all.prefix(50).map { s -> (String, String) in
            let n = s["name"]?.stringValue ?? "", l = s["license"]?.stringValue ?? ""
            return (n.isEmpty ? "(unnamed)" : n, l.isEmpty ? "(not given)" : l)
        }
        return (shown, all.count - shown.count)
    }

    /// The card's body, from the manifest alone: splits, drops, how it was built, sources and
    /// licenses, and how to load each exported format.
    static func body(name: String, manifest: JSONValue) -> String {
        var b: [String] = []
        b.append("# \(name)")
        b.append("")
        b.append("Built by cotforge \(Cotforge.version). `manifest.json` lists every shard with its record count, size and SHA-256, and counts every record in and out of every stage; `cotforge verify` checks all of it.")
        b.append("")
        b.append("| split | records | shards |")
        b.append("|---|---:|---:|")
        let splitsObj = manifest.objectValue?["splits"]?.objectValue ?? JSONObject()
        for (s, v) in splitsObj {
            let o = v.objectValue
            b.append("| \(s) | \(o?["records"]?.intValue ?? 0) | \(o?["shards"]?.arrayValue?.count ?? 0) |")
        }
        if let counts = manifest.objectValue?["counts"]?.objectValue {
            let input = counts["in"]?.intValue ?? 0, dropped = counts["dropped"]?.intValue ?? 0
            b.append("")
            b.append("Records in: \(input); kept: \(input - dropped); dropped: \(dropped) (in `rejects/`, each with its reason).")
            if let reasons = counts["dropped_by_reason"]?.objectValue, !reasons.isEmpty {
                b.append("")
                b.append("| drop reason | records |")
                b.append("|---|---:|")
                for (k, v) in reasons { b.append("| `\(k)` | \(v.intValue ?? 0) |") }
            }
        }
        let mo = manifest.objectValue ?? JSONObject()
        b.append("")
        b.append("## How it was built")
        b.append("")
        if let cmd = mo["command"]?.arrayValue?.compactMap(\.stringValue), !cmd.isEmpty {
            b.append("```sh")
            b.append(cmd.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " "))
            b.append("```")
            b.append("")
        }
        if let opts = mo["options"]?.objectValue {
            let fractions = (opts["splits"]?.objectValue ?? JSONObject()).map { "\($0)=\(PythonJSON.dumps($1))" }.joined(separator: ", ")
            b.append("Splits by a hash of `\(opts["split_key"]?.stringValue ?? "question")` with seed \(opts["seed"].map { PythonJSON.dumps($0) } ?? "?")" + (fractions.isEmpty ? "" : " (\(fractions), the rest train)") + "; records sharing it share a split.")
            b.append("")
        }
        if let stages = mo["stages"]?.arrayValue?.compactMap(\.objectValue), !stages.isEmpty {
            b.append("| stage | in | kept | dropped |")
            b.append("|---|---:|---:|---|")
            for st in stages {
                let drops = (st["dropped"]?.objectValue ?? JSONObject()).map { "`\($0)` \($1.intValue ?? 0)" }.joined(separator: ", ")
                b.append("| \(st["name"]?.stringValue ?? "?") | \(st["in"]?.intValue ?? 0) | \(st["kept"]?.intValue ?? 0) | \(drops.isEmpty ? "—" : drops) |")
            }
        }
        if let lengths = mo["lengths"]?.objectValue, !lengths.isEmpty {
            b.append("")
            b.append("## Reasoning length")
            b.append("")
            b.append("Tokens of reasoning (`tokens.reasoning`) per split and variant (mode and steering α).")
            b.append("")
            b.append("| split | variant | records | mean | p10 | median | p90 | max |")
            b.append("|---|---|---:|---:|---:|---:|---:|---:|")
            for (split, modes) in lengths {
                for (mode, st) in modes.objectValue ?? JSONObject() {
                    let o = st.objectValue ?? JSONObject()
                    let cells = ["records", "mean", "p10", "median", "p90", "max"].map { o[$0].map { JSONSerializer.string($0) } ?? "—" }
                    b.append("| \(split) | \(mode.isEmpty ? "(none)" : mode) | \(cells.joined(separator: " | ")) |")
                }
            }
        }
        let sources = DatasetCard.sources(mo)
        if !sources.shown.isEmpty {
            b.append("")
            b.append("## Sources and licenses")
            b.append("")
            b.append("| source | license |")
            b.append("|---|---|")
            for (n, l) in sources.shown { b.append("| \(n) | \(l) |") }
            if sources.more > 0 { b.append("| … \(sources.more) more | |") }
        }
        b.append("")
        b.append("## Load it")
        b.append("")
        b.append("```python")
        b.append("from datasets import load_dataset")
        b.append("ds = load_dataset(\"path/to/\(name)\")  # the folder holding this README")
        b.append("```")
        let exports = mo["exports"]?.objectValue ?? JSONObject()
        if exports["mds"] != nil {
            b.append("")
            b.append("MosaicML streaming (the `mds/` folder, one per split):")
            b.append("")
            b.append("```python")
            b.append("from streaming import StreamingDataset")
            b.append("train = StreamingDataset(local=\"path/to/\(name)/mds/train\", shuffle=False)")
            b.append("```")
        }
        if exports["wds"] != nil {
            b.append("")
            b.append("WebDataset (the `wds/` folder: KEY.json is the record, KEY.txt the assistant turn):")
            b.append("")
            b.append("```python")
            b.append("import webdataset as wds")
            b.append("train = wds.WebDataset(\"path/to/\(name)/wds/train/data-{000000..000000}.tar\").decode()")
            b.append("```")
        }
        b.append("")
        b.append("Each shard in `data/` is one zstd frame of JSON Lines (`zstd -dc data/train-00000-of-*.jsonl.zst | head`); the record format is `schemas/example.schema.json` in the cotforge repository.")
        return b.joined(separator: "\n") + "\n"
    }
}
