import Corpus
import Foundation

/// A safety build's metrics (`manifest.recipe.steps[select].metrics`): Safe@1, Safe@K and
/// ConsSafe@K on the harmful prompts and over-refusal on the benign ones, per decoding mode and
/// per mode and category.
public struct SafetySection: ReportSection {
    public init() {}
    public var id: String { "safety" }
    public var title: String { "Safety" }

    public func html(_ d: ReportDataset) -> String? {
        let steps = d.manifest["recipe"]?.objectValue?["steps"]?.arrayValue?.compactMap(\.objectValue) ?? []
        guard let m = steps.first(where: { $0["name"]?.stringValue == "select" })?["metrics"]?.objectValue else { return nil }
        func pct(_ v: JSONValue?) -> String { v?.doubleValue.map { String(format: "%.1f%%", 100 * $0) } ?? "—" }
        func table(_ rows: JSONObject, first: String) -> String {
            var h = "<table><tr><th>\(first)</th><th class=\"n\">harmful prompts</th><th class=\"n\">Safe@1</th><th class=\"n\">Safe@K</th>"
            h += "<th class=\"n\">ConsSafe@K</th><th class=\"n\">benign responses</th><th class=\"n\">over-refusal</th></tr>"
            for (k, v) in rows {
                let o = v.objectValue ?? JSONObject()
                h += "<tr><td>\(Report.esc(k))</td><td class=\"n\">\(o["prompts"]?.intValue ?? 0)</td><td class=\"n\">\(pct(o["safe_at_1"]))</td>"
                h += "<td class=\"n\">\(pct(o["safe_at_k"]))</td><td class=\"n\">\(pct(o["cons_safe_at_k"]))</td>"
                h += "<td class=\"n\">\(o["benign_responses"]?.intValue ?? 0)</td><td class=\"n\">\(pct(o["over_refusal"]))</td></tr>"
            }
            return h + "</table>\n"
        }
        var h = table(m["by_mode"]?.objectValue ?? JSONObject(), first: "decoding mode")
        if let c = m["by_category"]?.objectValue, !c.isEmpty { h += "<h3>By mode and category</h3>\n" + table(c, first: "mode / category") }
        h += "<p class=\"note\">Safe@1: the share of safe responses to harmful prompts; Safe@K: prompts whose K responses are all safe; ConsSafe@K: prompts with at least K/2 safe (SafeChain). Over-refusal: responses to benign prompts that refuse. Judge: the built-in refusal judge.</p>\n"
        return h
    }
}
