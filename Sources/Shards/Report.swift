import Corpus
import Foundation

/// A built dataset as the report sees it: its folder and its manifest, plus any side file a
/// later stage wrote next to it (calibration, safety metrics, a training log).
public struct ReportDataset {
    public let dir: String
    public let manifest: JSONObject

    public init(dir: String) throws {
        let path = dir + "/manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(path: path, message: "missing", hint: "run cotforge shard first, or pass the folder that holds manifest.json")
        }
        guard case .object(let m) = try JSONScanner.parse(data) else {
            throw FileError(path: path, message: "is not a JSON object", hint: "rebuild the dataset with cotforge shard")
        }
        self.init(dir: dir, manifest: m)
    }

    public init(dir: String, manifest: JSONObject) {
        self.dir = dir
        self.manifest = manifest
    }

    public var name: String { manifest["name"]?.stringValue ?? (dir as NSString).lastPathComponent }

    /// A file in the dataset folder, by its path relative to it; nil when absent.
    public func file(_ relative: String) -> Data? { FileManager.default.contents(atPath: "\(dir)/\(relative)") }
}

/// One section of the report. A section decides from the dataset whether it has anything to
/// show; the stages that produce calibration, safety or training data add their section to
/// `Report.standardSections` and nothing else changes.
public protocol ReportSection: Sendable {
    /// The fragment id (`report.html#id`) and the navigation label.
    var id: String { get }
    var title: String { get }
    /// The section's inner HTML, or nil when the dataset has no data for it (it is left out).
    func html(_ dataset: ReportDataset) -> String?
}

/// `out/NAME/report.html`: one self-contained page (inline SVG and CSS, no script, no
/// network — its Content-Security-Policy forbids loading anything) that shows what a build did.
public enum Report {
    public static let standardSections: [any ReportSection] = [OverviewSection(), RecipeStepsSection(), FunnelSection(), SteeringSection(), SafetySection(), LengthSection(), TrainingSection(), EvaluationSection(), FilesSection()]

    public static func render(_ dataset: ReportDataset, sections: [any ReportSection] = standardSections) -> String {
        let shown = sections.compactMap { s in s.html(dataset).map { (s, $0) } }
        let m = dataset.manifest
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="cotforge \(Cotforge.version)">
        <title>\(esc(dataset.name)) — cotforge report</title>
        <style>\(css)</style>
        </head>
        <body>
        <header>
        <h1>\(esc(dataset.name))</h1>
        <p class="sub">Built by cotforge \(esc(m["tool"]?.objectValue?["version"]?.stringValue ?? "?"))\(m["created"]?.stringValue.map { " on " + esc($0) } ?? "")\(buildSeconds(m).map { " in " + seconds($0) } ?? "").</p>
        <nav>\(shown.map { "<a href=\"#\($0.0.id)\">\(esc($0.0.title))</a>" }.joined(separator: " · "))</nav>
        </header>

        """
        for (section, body) in shown {
            h += "<section id=\"\(section.id)\">\n<h2>\(esc(section.title))</h2>\n\(body)\n</section>\n"
        }
        h += "<footer>From <code>manifest.json</code>; regenerate with <code>cotforge report \(esc(dataset.dir))</code>.</footer>\n</body>\n</html>\n"
        return h
    }

    /// Renders the report of a dataset folder into `report.html` there; returns its path.
    @discardableResult
    public static func write(dataset dir: String, sections: [any ReportSection] = standardSections) throws -> String {
        try write(try ReportDataset(dir: dir), sections: sections)
    }

    @discardableResult
    public static func write(_ dataset: ReportDataset, sections: [any ReportSection] = standardSections) throws -> String {
        let path = dataset.dir + "/report.html"
        try writeText(render(dataset, sections: sections), to: path)
        return path
    }

    /// True for a report cotforge wrote (it names cotforge as its generator).
    public static func isOwnReport(_ bytes: Data) -> Bool {
        String(decoding: bytes.prefix(1024), as: UTF8.self).contains("<meta name=\"generator\" content=\"cotforge")
    }

    static let css = """
    :root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#fff;--panel:#f6f7f9;--keep:#2a7ab8;--drop:#d1495b}
    *{box-sizing:border-box}body{margin:0 auto;max-width:980px;padding:24px 28px 48px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
    h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:36px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}h3{font-size:15px;margin:18px 0 6px}
    .sub{color:var(--muted);margin:0 0 8px}nav{font-size:14px}nav a{color:var(--keep);text-decoration:none}
    .tiles{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}.tile{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px}
    .tile b{display:block;font-size:22px;font-variant-numeric:tabular-nums}.tile span{color:var(--muted);font-size:13px}
    table{border-collapse:collapse;margin:8px 0 4px;font-size:14px}th,td{padding:3px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
    td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}code{font:13px ui-monospace,"DejaVu Sans Mono",monospace;background:var(--panel);padding:1px 4px;border-radius:3px}
    pre{background:var(--panel);padding:8px 10px;border-radius:6px;overflow-x:auto;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere}
    svg{display:block;max-width:100%;height:auto;margin:6px 0}svg text{font:12px system-ui,"DejaVu Sans",sans-serif;fill:var(--fg)}svg .muted{fill:var(--muted)}svg.sw{display:inline;margin:0 6px 0 0}
    .note{color:var(--muted);font-size:13px}footer{margin-top:40px;color:var(--muted);font-size:13px}
    """

    /// Colours told apart with the common colour-vision deficiencies (Okabe and Ito).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func count(_ n: Int) -> String {
        let s = String(n.magnitude)
        var out = ""
        for (i, c) in s.enumerated() {
            if i > 0 && (s.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func bytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n), u = 0
        while v >= 1000 && u < units.count - 1 { v /= 1000; u += 1 }
        return u == 0 ? "\(n) B" : String(format: v < 10 ? "%.2f %@" : "%.1f %@", v, units[u])
    }

    /// A recipe build's time is its steps' (the shard step alone is the manifest's `seconds`).
    static func buildSeconds(_ m: JSONObject) -> Double? {
        guard let steps = m["recipe"]?.objectValue?["steps"]?.arrayValue, !steps.isEmpty else { return m["seconds"]?.doubleValue }
        return steps.compactMap { $0.objectValue?["seconds"]?.doubleValue }.reduce(m["seconds"]?.doubleValue ?? 0, +)
    }

    static func seconds(_ s: Double) -> String {
        s < 60 ? String(format: "%.1f s", s) : String(format: "%d min %02d s", Int(s) / 60, Int(s) % 60)
    }

    static func percent(_ part: Int, of whole: Int) -> String {
        whole == 0 ? "—" : String(format: "%.1f%%", 100 * Double(part) / Double(whole))
    }
}

// MARK: - Sections

/// Counts at a glance and the command that built the dataset.
public struct OverviewSection: ReportSection {
    public init() {}
    public var id: String { "overview" }
    public var title: String { "Overview" }

    public func html(_ d: ReportDataset) -> String? {
        let m = d.manifest
        let counts = m["counts"]?.objectValue ?? JSONObject()
        let input = counts["in"]?.intValue ?? 0, kept = counts["kept"]?.intValue ?? 0, dropped = counts["dropped"]?.intValue ?? 0
        let splits = m["splits"]?.objectValue ?? JSONObject()
        var tiles: [(String, String)] = [(Report.count(input), "records in"), (Report.count(kept), "kept"),
                                         (Report.count(dropped), "dropped (\(Report.percent(dropped, of: input)))")]
        for (name, v) in splits { tiles.append((Report.count(v.objectValue?["records"]?.intValue ?? 0), name)) }
        let compressed = splits.reduce(0) { $0 + ($1.1.objectValue?["bytes"]?.intValue ?? 0) }
        tiles.append((Report.bytes(compressed), "data on disk"))
        var h = "<div class=\"tiles\">" + tiles.map { "<div class=\"tile\"><b>\(Report.esc($0.0))</b><span>\(Report.esc($0.1))</span></div>" }.joined() + "</div>\n"
        if let cmd = m["command"]?.arrayValue?.compactMap(\.stringValue), !cmd.isEmpty {
            h += "<pre>\(Report.esc(cmd.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")))</pre>\n"
        }
        if let recipe = m["recipe"]?.objectValue, let path = recipe["path"]?.stringValue {
            h += "<p>Recipe <code>\(Report.esc(path))</code>\(recipe["sha256"]?.stringValue.map { " (sha256 <code>\(Report.esc(String($0.prefix(16))))…</code>)" } ?? "").</p>\n"
        }
        let sources = DatasetCard.sources(m)
        if !sources.shown.isEmpty {
            h += "<h3>Sources</h3>\n<table><tr><th>source</th><th>license</th></tr>"
            for (n, l) in sources.shown { h += "<tr><td>\(Report.esc(n))</td><td>\(Report.esc(l))</td></tr>" }
            if sources.more > 0 { h += "<tr><td colspan=\"2\">… \(sources.more) more</td></tr>" }
            h += "</table>\n"
        }
        return h
    }
}

/// Records through the stages: how many entered each, how many it kept, and why it dropped
/// the others.
public struct FunnelSection: ReportSection {
    public init() {}
    public var id: String { "funnel" }
    public var title: String { "Records through the stages" }

    public func html(_ d: ReportDataset) -> String? {
        let stages = (d.manifest["stages"]?.arrayValue ?? []).compactMap(\.objectValue)
        guard !stages.isEmpty else { return nil }
        let rows = stages.map { st -> Funnel.Row in
            let drops = (st["dropped"]?.objectValue ?? JSONObject()).map { ($0, $1.intValue ?? 0) }.sorted { $0.1 > $1.1 }
            return Funnel.Row(name: st["name"]?.stringValue ?? "?", input: st["in"]?.intValue ?? 0, kept: st["kept"]?.intValue ?? 0, drops: drops)
        }
        var h = Funnel.svg(rows)
        let reasons = (d.manifest["counts"]?.objectValue?["dropped_by_reason"]?.objectValue ?? JSONObject()).map { ($0, $1.intValue ?? 0) }
        if reasons.isEmpty {
            h += "<p class=\"note\">No record was dropped.</p>\n"
        } else {
            let total = reasons.reduce(0) { $0 + $1.1 }
            h += "<table><tr><th>stage</th><th>drop reason</th><th class=\"n\">records</th><th class=\"n\">share of drops</th></tr>"
            for r in rows {
                for (reason, n) in r.drops {
                    h += "<tr><td>\(Report.esc(r.name))</td><td><code>\(Report.esc(reason))</code></td><td class=\"n\">\(Report.count(n))</td><td class=\"n\">\(Report.percent(n, of: total))</td></tr>"
                }
            }
            h += "</table>\n<p class=\"note\">Every dropped record is in <code>rejects/</code> with its reason, file and line.</p>\n"
        }
        return h
    }
}

/// Histograms of reasoning tokens per split, one series per variant (mode and α).
public struct LengthSection: ReportSection {
    public init() {}
    public var id: String { "lengths" }
    public var title: String { "Reasoning length" }

    public func html(_ d: ReportDataset) -> String? {
        guard let lengths = d.manifest["lengths"]?.objectValue, !lengths.isEmpty else { return nil }
        var h = "<p class=\"note\">Tokens of reasoning (<code>tokens.reasoning</code>) per split; one series per variant (mode and steering α), as a share of that variant's records; dashed lines mark medians.</p>\n"
        let splits = lengths.map { split, variants in
            (split, LengthSection.ordered((variants.objectValue ?? JSONObject()).map { ($0, $1.objectValue ?? JSONObject()) }))
        }
        // One x range for every split, so the charts line up.
        let xMax = splits.flatMap { $0.1 }.compactMap { _, st -> Int? in
            guard let hist = st["histogram"]?.objectValue, let w = hist["bin_width"]?.intValue else { return nil }
            return w * (hist["counts"]?.arrayValue?.count ?? 0)
        }.max() ?? 0
        for (split, vs) in splits {
            h += "<h3>\(Report.esc(split))</h3>\n"
            let series = vs.compactMap { (variant, st) -> Histogram.Series? in
                guard let hist = st["histogram"]?.objectValue, let w = hist["bin_width"]?.intValue, w > 0,
                      let counts = hist["counts"]?.arrayValue?.compactMap(\.intValue) else { return nil }
                return Histogram.Series(label: LengthSection.label(variant), binWidth: w, counts: counts, median: st["median"]?.doubleValue)
            }
            if !series.isEmpty { h += Histogram.svg(series, xMax: Double(xMax), title: "reasoning tokens, \(split)") }
            h += "<table><tr><th>variant</th>" + ["records", "mean", "p10", "median", "p90", "max"].map { "<th class=\"n\">\($0)</th>" }.joined() + "</tr>"
            for (i, (variant, st)) in vs.enumerated() {
                let label = LengthSection.label(variant)
                let swatch = "<svg class=\"sw\" width=\"10\" height=\"10\" aria-hidden=\"true\"><rect width=\"10\" height=\"10\" fill=\"\(Report.palette[i % Report.palette.count])\"/></svg>"
                h += "<tr><td>\(series.isEmpty ? "" : swatch)\(Report.esc(label))</td>" + ["records", "mean", "p10", "median", "p90", "max"].map {
                    "<td class=\"n\">\(st[$0].map { JSONSerializer.string($0) } ?? "—")</td>"
                }.joined() + "</tr>"
            }
            h += "</table>\n"
        }
        return h
    }

    static func label(_ variant: String) -> String { variant.isEmpty ? "(no mode)" : variant }

    /// Variants by steering α from 0 down (unsteered first), then by name.
    static func ordered(_ variants: [(String, JSONObject)]) -> [(String, JSONObject)] {
        func alpha(_ v: String) -> Double {
            guard let r = v.range(of: "α=") else { return .infinity }
            return Double(v[r.upperBound...]) ?? .infinity
        }
        return variants.sorted { a, b in
            let x = alpha(a.0), y = alpha(b.0)
            return x != y ? x > y : a.0 < b.0
        }
    }
}

/// Every file set the dataset has: the JSONL.zst splits, the rejects and each export.
public struct FilesSection: ReportSection {
    public init() {}
    public var id: String { "files" }
    public var title: String { "Files" }

    public func html(_ d: ReportDataset) -> String? {
        var rows: [(String, String, JSONObject)] = []
        for (s, v) in d.manifest["splits"]?.objectValue ?? JSONObject() { rows.append(("jsonl.zst", s, v.objectValue ?? JSONObject())) }
        if let r = d.manifest["rejects"]?.objectValue { rows.append(("jsonl.zst", "rejects", r)) }
        for (format, v) in d.manifest["exports"]?.objectValue ?? JSONObject() {
            for (s, fs) in v.objectValue?["splits"]?.objectValue ?? JSONObject() { rows.append((format, s, fs.objectValue ?? JSONObject())) }
        }
        guard !rows.isEmpty else { return nil }
        var h = "<table><tr><th>format</th><th>split</th><th class=\"n\">records</th><th class=\"n\">files</th><th class=\"n\">bytes</th><th>first file</th></tr>"
        for (format, split, fs) in rows {
            let shards = fs["shards"]?.arrayValue ?? []
            let first = shards.first?.objectValue?["path"]?.stringValue ?? "—"
            h += "<tr><td>\(Report.esc(format))</td><td>\(Report.esc(split))</td><td class=\"n\">\(Report.count(fs["records"]?.intValue ?? 0))</td>"
            h += "<td class=\"n\">\(shards.count)</td><td class=\"n\">\(Report.bytes(fs["bytes"]?.intValue ?? 0))</td><td><code>\(Report.esc(first))</code></td></tr>"
        }
        h += "</table>\n<p class=\"note\"><code>cotforge verify \(Report.esc(d.dir))</code> checks every file against its SHA-256 in the manifest.</p>\n"
        return h
    }
}

// MARK: - Charts (inline SVG)

/// Horizontal bars, one per stage: the records a stage kept and those it dropped, on one scale.
enum Funnel {
    struct Row {
        var name: String
        var input: Int
        var kept: Int
        var drops: [(String, Int)]
    }

    static func svg(_ rows: [Row]) -> String {
        let width = 760.0, labelW = 120.0, numberW = 150.0, rowH = 28.0, barH = 18.0, top = 8.0
        let plotW = width - labelW - numberW
        let scale = plotW / Double(max(1, rows.map(\.input).max() ?? 1))
        let height = top * 2 + rowH * Double(rows.count) + 18
        var s = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" role=\"img\" aria-label=\"records kept and dropped per stage\">\n"
        for (i, r) in rows.enumerated() {
            let y = top + Double(i) * rowH
            let keptW = Double(r.kept) * scale, dropW = Double(max(0, r.input - r.kept)) * scale
            let reasons = r.drops.map { "\($0.0): \(Report.count($0.1))" }.joined(separator: "\n")
            s += "<text x=\"\(labelW - 8)\" y=\"\(fmt(y + barH - 4))\" text-anchor=\"end\">\(Report.esc(r.name))</text>"
            s += "<rect x=\"\(labelW)\" y=\"\(fmt(y))\" width=\"\(fmt(keptW))\" height=\"\(barH)\" fill=\"#2a7ab8\"><title>\(Report.esc(r.name)): kept \(Report.count(r.kept)) of \(Report.count(r.input))</title></rect>"
            if dropW > 0 {
                s += "<rect x=\"\(fmt(labelW + keptW))\" y=\"\(fmt(y))\" width=\"\(fmt(max(1.5, dropW)))\" height=\"\(barH)\" fill=\"#d1495b\"><title>\(Report.esc(r.name)): dropped \(Report.count(r.input - r.kept))\n\(Report.esc(reasons))</title></rect>"
            }
            let label = r.input == r.kept ? "\(Report.count(r.kept))" : "\(Report.count(r.kept)) kept, \(Report.count(r.input - r.kept)) dropped"
            s += "<text x=\"\(fmt(labelW + keptW + max(dropW, dropW > 0 ? 1.5 : 0) + 6))\" y=\"\(fmt(y + barH - 4))\" class=\"muted\">\(label)</text>\n"
        }
        let ly = top + rowH * Double(rows.count) + 6
        s += "<rect x=\"\(labelW)\" y=\"\(fmt(ly))\" width=\"10\" height=\"10\" fill=\"#2a7ab8\"/><text x=\"\(labelW + 14)\" y=\"\(fmt(ly + 9))\">kept</text>"
        s += "<rect x=\"\(labelW + 60)\" y=\"\(fmt(ly))\" width=\"10\" height=\"10\" fill=\"#d1495b\"/><text x=\"\(labelW + 74)\" y=\"\(fmt(ly + 9))\">dropped</text>\n"
        return s + "</svg>\n"
    }
}

/// Histograms on one pair of axes: each series is a step outline (filled lightly) of the share
/// of its records per bin, so variants of different sizes compare.
enum Histogram {
    struct Series {
        var label: String
        var binWidth: Int
        var counts: [Int]
        var median: Double?
    }

    /// `xMax`: the end of the x axis in tokens (0: from the series).
    static func svg(_ series: [Series], xMax wanted: Double = 0, title: String) -> String {
        let width = 760.0, height = 280.0, left = 56.0, right = 150.0, top = 12.0, bottom = 40.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xMax = max(wanted, Double(max(1, series.map { $0.binWidth * $0.counts.count }.max() ?? 1)))
        let shares = series.map { s -> [Double] in
            let n = Double(max(1, s.counts.reduce(0, +)))
            return s.counts.map { Double($0) / n }
        }
        let yMax = niceCeiling(max(0.01, shares.flatMap { $0 }.max() ?? 0.01))
        func x(_ v: Double) -> Double { left + v / xMax * plotW }
        func y(_ v: Double) -> Double { top + plotH - v / yMax * plotH }
        var s = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" role=\"img\" aria-label=\"\(Report.esc(title))\">\n"
        // Axes and grid.
        for t in ticks(yMax) {
            s += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(fmt(y(t)))\" y2=\"\(fmt(y(t)))\" stroke=\"#e6e8ee\"/>"
            s += "<text x=\"\(left - 6)\" y=\"\(fmt(y(t) + 4))\" text-anchor=\"end\" class=\"muted\">\(Int((t * 100).rounded()))%</text>\n"
        }
        for t in ticks(xMax) {
            s += "<line x1=\"\(fmt(x(t)))\" x2=\"\(fmt(x(t)))\" y1=\"\(top + plotH)\" y2=\"\(top + plotH + 4)\" stroke=\"#5b6475\"/>"
            s += "<text x=\"\(fmt(x(t)))\" y=\"\(top + plotH + 17)\" text-anchor=\"middle\" class=\"muted\">\(Int(t))</text>\n"
        }
        s += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(top + plotH)\" y2=\"\(top + plotH)\" stroke=\"#5b6475\"/>"
        s += "<text x=\"\(fmt(left + plotW / 2))\" y=\"\(height - 4)\" text-anchor=\"middle\">reasoning tokens</text>\n"
        // Series.
        for (i, (ser, share)) in zip(series, shares).enumerated() {
            let color = Report.palette[i % Report.palette.count]
            var d = "M\(fmt(x(0))),\(fmt(y(0)))"
            for (b, v) in share.enumerated() {
                let x0 = x(Double(b * ser.binWidth)), x1 = x(Double((b + 1) * ser.binWidth))
                d += " L\(fmt(x0)),\(fmt(y(v))) L\(fmt(x1)),\(fmt(y(v)))"
            }
            d += " L\(fmt(x(Double(share.count * ser.binWidth)))),\(fmt(y(0))) Z"
            s += "<path d=\"\(d)\" fill=\"\(color)\" fill-opacity=\"0.18\" stroke=\"\(color)\" stroke-width=\"1.6\"><title>\(Report.esc(ser.label)): \(Report.count(ser.counts.reduce(0, +))) records</title></path>\n"
            // Invisible per-bin targets carry the exact counts as tooltips.
            for (b, c) in ser.counts.enumerated() where c > 0 {
                let x0 = x(Double(b * ser.binWidth)), x1 = x(Double((b + 1) * ser.binWidth))
                s += "<rect x=\"\(fmt(x0))\" y=\"\(fmt(y(share[b])))\" width=\"\(fmt(x1 - x0))\" height=\"\(fmt(y(0) - y(share[b])))\" fill=\"transparent\"><title>\(Report.esc(ser.label)), \(b * ser.binWidth)–\((b + 1) * ser.binWidth - 1) tokens: \(Report.count(c))</title></rect>"
            }
            if let m = ser.median {
                s += "<line x1=\"\(fmt(x(m)))\" x2=\"\(fmt(x(m)))\" y1=\"\(top)\" y2=\"\(top + plotH)\" stroke=\"\(color)\" stroke-width=\"1.4\" stroke-dasharray=\"5 3\"><title>\(Report.esc(ser.label)): median \(Int(m)) tokens</title></line>"
            }
            s += "\n"
            let ly = top + 8 + Double(i) * 18
            s += "<rect x=\"\(fmt(left + plotW + 16))\" y=\"\(fmt(ly))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            s += "<text x=\"\(fmt(left + plotW + 34))\" y=\"\(fmt(ly + 10))\">\(Report.esc(ser.label))</text>\n"
        }
        return s + "</svg>\n"
    }

    /// 1, 2 or 5 × 10^k at or above `v`.
    static func niceCeiling(_ v: Double) -> Double {
        let p = pow(10, (log10(v)).rounded(.down))
        for m in [1.0, 2.0, 5.0, 10.0] where m * p >= v * (1 - 1e-9) { return m * p }
        return 10 * p
    }

    /// About five round tick values from 0 to `maximum`.
    static func ticks(_ maximum: Double) -> [Double] {
        let step = niceCeiling(maximum / 5)
        return stride(from: 0.0, through: maximum * (1 + 1e-9), by: step).map { $0 }
    }
}

private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
