import Corpus
import Foundation

/// A recipe build's steps (from `manifest.recipe.steps`): what each did and how long it took.
public struct RecipeStepsSection: ReportSection {
    public init() {}
    public var id: String { "recipe" }
    public var title: String { "Recipe steps" }

    public func html(_ d: ReportDataset) -> String? {
        guard let steps = d.manifest["recipe"]?.objectValue?["steps"]?.arrayValue?.compactMap(\.objectValue), !steps.isEmpty else { return nil }
        var h = "<table><tr><th>step</th><th class=\"n\">time</th><th>run</th><th>details</th></tr>"
        for s in steps {
            let details = s.filter { !["name", "seconds", "reused", "per_alpha", "proposal"].contains($0.0) }
                .map { k, v in "\(k): \(v.stringValue ?? JSONSerializer.string(v))" }.joined(separator: "; ")
            h += "<tr><td>\(Report.esc(s["name"]?.stringValue ?? "?"))</td><td class=\"n\" style=\"white-space:nowrap\">\(Report.seconds(s["seconds"]?.doubleValue ?? 0))</td>"
            h += "<td style=\"white-space:nowrap\">\(s["reused"]?.boolValue == true ? "done earlier" : "this run")</td><td class=\"muted\">\(Report.esc(details))</td></tr>"
        }
        h += "</table>\n<p class=\"note\">Each step's files are in <code>work/</code>; a rerun of <code>cotforge build</code> skips the steps whose settings and inputs are unchanged.</p>\n"
        return h
    }
}

/// Steering: the α calibration (`steer/calibration.json`, Len-R against α per layer set) and
/// the per-α table of the self-sampled traces (`manifest.recipe.steps[sample].per_alpha`).
public struct SteeringSection: ReportSection {
    public init() {}
    public var id: String { "steering" }
    public var title: String { "Steering and α calibration" }

    public func html(_ d: ReportDataset) -> String? {
        var h = ""
        if let data = d.file("steer/calibration.json"), case .object(let cal)? = try? JSONScanner.parse(data) {
            let points = (cal["points"]?.arrayValue ?? []).compactMap(\.objectValue)
            h += "<h3>Calibration</h3>\n<figure>" + CalibrationPlot.svg(points) + "</figure>\n"
            h += "<table><tr><th>layers</th><th class=\"n\">α</th><th class=\"n\">Len-R mean ± sd</th><th class=\"n\">accuracy</th><th class=\"n\">collapse</th><th class=\"n\">hit max</th></tr>"
            for p in points {
                let layers = (p["layers"]?.arrayValue ?? []).compactMap(\.intValue).map(String.init).joined(separator: "–")
                h += "<tr><td>\(Report.esc(layers))</td><td class=\"n\">\(Report.esc(p["alpha"].map { JSONSerializer.string($0) } ?? "?"))</td>"
                h += "<td class=\"n\">\(p["len_r_mean"]?.doubleValue.map { String(format: "%.3f", $0) } ?? "—") ± \(p["len_r_std"]?.doubleValue.map { String(format: "%.3f", $0) } ?? "—")</td>"
                h += "<td class=\"n\">\(Self.pct(p["accuracy"]))</td><td class=\"n\">\(Self.pct(p["collapse"]))</td><td class=\"n\">\(Self.pct(p["hit_max"]))</td></tr>"
            }
            h += "</table>\n"
            if let prop = cal["proposal"]?.objectValue {
                let layers = (prop["layers"]?.arrayValue ?? []).compactMap(\.intValue).map(String.init).joined(separator: "–")
                let alphas = (prop["alphas"]?.arrayValue ?? []).map { JSONSerializer.string($0) }.joined(separator: ", ")
                h += "<p>Proposed: layers <b>\(Report.esc(layers))</b>, α <b>\(Report.esc(alphas))</b>.</p>\n"
            } else {
                h += "<p>Proposed: nothing — no layer set kept accuracy and collapse within the limits.</p>\n"
            }
        }
        let steps = d.manifest["recipe"]?.objectValue?["steps"]?.arrayValue?.compactMap(\.objectValue) ?? []
        if let rows = steps.first(where: { $0["name"]?.stringValue == "sample" })?["per_alpha"]?.arrayValue?.compactMap(\.objectValue), !rows.isEmpty {
            let inData = d.manifest["recipe"]?.objectValue?["per_alpha_in_dataset"]?.objectValue ?? JSONObject()
            let verified = steps.first(where: { $0["name"]?.stringValue == "verify" })?["per_alpha_kept"]?.objectValue
            h += "<h3>Self-sampled traces per α</h3>\n<table><tr><th class=\"n\">α</th><th class=\"n\">traces</th><th class=\"n\">median Len-R</th><th class=\"n\">accuracy</th>"
            h += "<th class=\"n\">reasoning tokens</th><th class=\"n\">hit max</th>\(verified == nil ? "" : "<th class=\"n\">verified</th>")<th class=\"n\">in the dataset</th></tr>"
            for r in rows {
                let a = r["alpha"]?.stringValue ?? "?"
                h += "<tr><td class=\"n\">\(Report.esc(a))</td><td class=\"n\">\(r["traces"]?.intValue ?? 0)</td>"
                h += "<td class=\"n\">\(r["median_len_r"]?.doubleValue.map { String(format: "%.3f", $0) } ?? "—")</td><td class=\"n\">\(Self.pct(r["accuracy"]))</td>"
                h += "<td class=\"n\">\(r["mean_reasoning_tokens"]?.doubleValue.map { String(format: "%.1f", $0) } ?? "—")</td><td class=\"n\">\(r["hit_max"]?.intValue ?? 0)</td>"
                if let verified { h += "<td class=\"n\">\(verified[a]?.intValue ?? 0)</td>" }
                h += "<td class=\"n\">\(inData[a]?.intValue ?? 0)</td></tr>"
            }
            h += "</table>\n<p class=\"note\">Len-R: reasoning tokens over the mean of the same question's α = 0 traces. \"In the dataset\" counts the records that reached the split, whatever their final role (pairs rewrite the prompt).</p>\n"
        }
        return h.isEmpty ? nil : h
    }

    static func pct(_ v: JSONValue?) -> String { v?.doubleValue.map { String(format: "%.0f%%", 100 * $0) } ?? "—" }
}

/// Mean Len-R against α, one line per layer set, with accuracy in each point's tooltip.
enum CalibrationPlot {
    static func svg(_ points: [JSONObject]) -> String {
        let width = 760.0, height = 260.0, left = 56.0, right = 150.0, top = 12.0, bottom = 40.0
        let plotW = width - left - right, plotH = height - top - bottom
        var sets: [String] = []
        var series: [String: [(Double, Double, String)]] = [:]
        for p in points {
            guard let a = p["alpha"]?.doubleValue, let l = p["len_r_mean"]?.doubleValue else { continue }
            let key = (p["layers"]?.arrayValue ?? []).compactMap(\.intValue).map(String.init).joined(separator: "–")
            if series[key] == nil { sets.append(key) }
            let acc = p["accuracy"]?.doubleValue.map { String(format: "accuracy %.0f%%", 100 * $0) } ?? ""
            let col = p["collapse"]?.doubleValue.map { String(format: "collapse %.0f%%", 100 * $0) } ?? ""
            series[key, default: []].append((a, l, [acc, col].filter { !$0.isEmpty }.joined(separator: ", ")))
        }
        let all = series.values.flatMap { $0 }
        let xMin = min(all.map(\.0).min() ?? -1, 0), xMax = max(all.map(\.0).max() ?? 0, 0)
        let yMax = Histogram.niceCeiling(max(1.2, all.map(\.1).max() ?? 1.2))
        func x(_ v: Double) -> Double { left + (v - xMin) / max(1e-9, xMax - xMin) * plotW }
        func y(_ v: Double) -> Double { top + plotH - v / yMax * plotH }
        var s = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" role=\"img\" aria-label=\"mean Len-R against steering strength α\">\n"
        for t in Histogram.ticks(yMax) {
            s += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(f(y(t)))\" y2=\"\(f(y(t)))\" stroke=\"#e6e8ee\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(f(y(t) + 4))\" text-anchor=\"end\" class=\"muted\">\(String(format: "%.1f", t))</text>\n"
        }
        for a in Set(all.map(\.0)).sorted() {
            s += "<text x=\"\(f(x(a)))\" y=\"\(top + plotH + 17)\" text-anchor=\"middle\" class=\"muted\">\(a == a.rounded() ? String(Int(a)) : String(a))</text>\n"
        }
        s += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(top + plotH)\" y2=\"\(top + plotH)\" stroke=\"#5b6475\"/>"
        s += "<text x=\"\(f(left + plotW / 2))\" y=\"\(height - 4)\" text-anchor=\"middle\">α (steering strength)</text>"
        s += "<text x=\"14\" y=\"\(f(top + plotH / 2))\" transform=\"rotate(-90 14 \(f(top + plotH / 2)))\" text-anchor=\"middle\">mean Len-R</text>\n"
        for (i, key) in sets.enumerated() {
            let color = Report.palette[i % Report.palette.count]
            let pts = series[key]!.sorted { $0.0 < $1.0 }
            s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(pts.map { "\(f(x($0.0))),\(f(y($0.1)))" }.joined(separator: " "))\"/>\n"
            for p in pts {
                s += "<circle cx=\"\(f(x(p.0)))\" cy=\"\(f(y(p.1)))\" r=\"3.5\" fill=\"\(color)\"><title>layers \(Report.esc(key)), α \(p.0): Len-R \(String(format: "%.3f", p.1))\(p.2.isEmpty ? "" : ", " + Report.esc(p.2))</title></circle>"
            }
            let ly = top + 8 + Double(i) * 18
            s += "\n<rect x=\"\(f(left + plotW + 16))\" y=\"\(f(ly))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            s += "<text x=\"\(f(left + plotW + 34))\" y=\"\(f(ly + 10))\">layers \(Report.esc(key))</text>\n"
        }
        return s + "</svg>\n"
    }

    private static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
