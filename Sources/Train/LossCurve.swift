import Foundation

/// The loss curve of a run as a self-contained SVG: training loss per step (faint), its
/// moving average, and validation losses as dots.
public enum LossCurve {
    public static func svg(steps: [TrainStep], title: String) -> String {
        let w = 720.0, h = 360.0, left = 56.0, right = 16.0, top = 32.0, bottom = 40.0
        guard let last = steps.last else { return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"40\"><text x=\"8\" y=\"24\">no steps</text></svg>" }
        let losses = steps.map(\.loss) + steps.compactMap(\.validationLoss)
        let lo = max(0, (losses.min() ?? 0) * 0.95), hi = (losses.max() ?? 1) * 1.05
        let span = max(hi - lo, 1e-6), n = Double(max(last.step, 2))
        func x(_ step: Int) -> Double { left + (w - left - right) * Double(step - 1) / (n - 1) }
        func y(_ v: Double) -> Double { top + (h - top - bottom) * (1 - (v - lo) / span) }
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
        var ema: [Double] = []
        let k = 2 / (1 + min(50, max(2, Double(steps.count) / 10)))
        for s in steps { ema.append(ema.last.map { $0 + k * (s.loss - $0) } ?? s.loss) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(fmt(left))\" y=\"20\" font-size=\"14\">\(escape(title))</text>\n"
        for i in 0...4 {
            let v = lo + span * Double(i) / 4
            out += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(w - right))\" y1=\"\(fmt(y(v)))\" y2=\"\(fmt(y(v)))\" stroke=\"#e5e5e5\"/>"
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y(v) + 4))\" text-anchor=\"end\">\(String(format: "%.2f", v))</text>\n"
        }
        out += "<text x=\"\(fmt((left + w - right) / 2))\" y=\"\(fmt(h - 8))\" text-anchor=\"middle\">step (of \(last.steps))</text>\n"
        out += "<text x=\"\(fmt(left))\" y=\"\(fmt(h - 22))\">1</text><text x=\"\(fmt(w - right))\" y=\"\(fmt(h - 22))\" text-anchor=\"end\">\(last.step)</text>\n"
        let raw = steps.map { "\(fmt(x($0.step))),\(fmt(y($0.loss)))" }.joined(separator: " ")
        out += "<polyline fill=\"none\" stroke=\"#9ecae1\" stroke-width=\"1\" points=\"\(raw)\"><title>training loss per step</title></polyline>\n"
        let smooth = zip(steps, ema).map { "\(fmt(x($0.step))),\(fmt(y($1)))" }.joined(separator: " ")
        out += "<polyline fill=\"none\" stroke=\"#08519c\" stroke-width=\"2\" points=\"\(smooth)\"><title>training loss, moving average</title></polyline>\n"
        for s in steps {
            guard let v = s.validationLoss else { continue }
            out += "<circle cx=\"\(fmt(x(s.step)))\" cy=\"\(fmt(y(v)))\" r=\"4\" fill=\"#e6550d\"><title>validation loss \(String(format: "%.4f", v)) at step \(s.step)</title></circle>\n"
        }
        out += "<text x=\"\(fmt(w - right))\" y=\"20\" text-anchor=\"end\"><tspan fill=\"#08519c\">■ training (moving average)</tspan> <tspan fill=\"#e6550d\">● validation</tspan></text>\n"
        return out + "</svg>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
