import Corpus
import Foundation

/// The training run kept beside the dataset (`train/summary.json` and `train/loss.svg`, as
/// `cotforge train` writes them by default): steps, losses before and after, and the curve.
public struct TrainingSection: ReportSection {
    public init() {}
    public var id: String { "training" }
    public var title: String { "Training" }

    public func html(_ d: ReportDataset) -> String? {
        guard let data = d.file("train/summary.json"), let s = try? Example(json: String(decoding: data, as: UTF8.self)).fields else { return nil }
        func num(_ k: String, _ f: String) -> String { s[k]?.doubleValue.map { String(format: f, $0) } ?? "—" }
        var h = "<table><tr><th>started from</th><th class=\"n\">steps</th><th class=\"n\">records</th><th>adapters</th>"
        h += "<th class=\"n\">train loss (last step)</th><th class=\"n\">validation loss before → after</th><th class=\"n\">tokens/s</th><th class=\"n\">time</th></tr>"
        h += "<tr><td><code>\(Report.esc(s["init"]?.stringValue ?? "?"))</code></td><td class=\"n\">\(s["steps"]?.intValue ?? 0)</td>"
        h += "<td class=\"n\">\(Report.count(s["records"]?.intValue ?? 0))</td><td>\(Report.esc(s["lora"]?.stringValue.map { "LoRA \($0)" } ?? "full fine-tuning"))</td>"
        h += "<td class=\"n\">\(num("final_train_loss", "%.4f"))</td><td class=\"n\">\(num("validation_loss_before", "%.4f")) → \(num("validation_loss_after", "%.4f"))</td>"
        h += "<td class=\"n\">\(num("tokens_per_second", "%.0f"))</td><td class=\"n\">\(Report.seconds(s["train_seconds"]?.doubleValue ?? 0))</td></tr></table>\n"
        if let svg = d.file("train/loss.svg"), let text = String(data: svg, encoding: .utf8), text.hasPrefix("<svg") {
            h += "<figure>\(text)</figure>\n"
        }
        h += "<p class=\"note\">Log: <code>train/train-log.jsonl</code>; model: <code>train/model.gguf</code> (llama.cpp, <code>cotforge generate</code>) and <code>train/hf/</code> (transformers).</p>\n"
        return h
    }
}

/// Every `cotforge eval` result kept beside the dataset (`eval/*.json`), side by side.
public struct EvaluationSection: ReportSection {
    public init() {}
    public var id: String { "evaluation" }
    public var title: String { "Evaluation" }

    public func html(_ d: ReportDataset) -> String? {
        let dir = d.dir + "/eval"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        let rows = names.filter { $0.hasSuffix(".json") }.sorted().compactMap { name -> (String, JSONObject)? in
            guard let data = FileManager.default.contents(atPath: "\(dir)/\(name)"),
                  let o = try? Example(json: String(decoding: data, as: UTF8.self)).fields else { return nil }
            return (name, o)
        }
        guard !rows.isEmpty else { return nil }
        func pct(_ v: JSONValue?) -> String { v?.doubleValue.map { String(format: "%.1f%%", 100 * $0) } ?? "—" }
        var h = "<table><tr><th>model</th><th>split</th><th>prompt</th><th class=\"n\">records</th><th class=\"n\">loss</th><th class=\"n\">accuracy</th>"
        h += "<th class=\"n\">reasoning tokens</th><th class=\"n\">Safe@1</th><th class=\"n\">over-refusal</th></tr>"
        for (name, o) in rows {
            h += "<tr title=\"eval/\(Report.esc(name))\"><td><code>\(Report.esc(o["model"]?.stringValue ?? "?"))</code></td>"
            h += "<td>\(Report.esc(o["split"]?.stringValue ?? "—"))</td><td>\(Report.esc(o["instruction"]?.stringValue.map { "question + \($0)" } ?? "the records' prompts"))</td>"
            h += "<td class=\"n\">\(o["records"]?.intValue ?? 0)</td><td class=\"n\">\(o["loss"]?.doubleValue.map { String(format: "%.4f", $0) } ?? "—")</td>"
            h += "<td class=\"n\">\(pct(o["accuracy"]))</td><td class=\"n\">\(o["mean_reasoning_tokens"]?.doubleValue.map { String(format: "%.1f", $0) } ?? "—")</td>"
            h += "<td class=\"n\">\(pct(o["safe_at_1"]))</td><td class=\"n\">\(pct(o["over_refusal"]))</td></tr>"
        }
        h += "</table>\n<p class=\"note\">Greedy generation through the engine; accuracy against <code>gold</code> with the shared answer checker; figures in <code>eval/*.json</code>, per-record responses in the <code>.jsonl</code> beside each.</p>\n"
        return h
    }
}
