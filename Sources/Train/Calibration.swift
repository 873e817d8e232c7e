import Corpus
import Foundation
import Model

/// How one (layer set, α) behaves on the calibration questions.
public struct CalibrationPoint: Sendable, Equatable {
    public var layers: ClosedRange<Int>
    public var alpha: Float
    public var traces: Int
    public var meanLenR: Double
    public var stdLenR: Double
    /// Answers equal to gold, over traces with gold.
    public var accuracy: Double?
    /// Traces that end in a degenerate loop or give no answer at all.
    public var collapse: Double
    /// Traces cut at the token limit.
    public var hitMax: Double
}

/// The α sweep of S3-CoT's calibration step: for every layer set and α, Len-R (reasoning
/// tokens over the question's α=0 traces), accuracy and collapse on a calibration set; then the
/// α values whose mean Len-R come closest to the targets while accuracy stays within a
/// tolerance of α=0 and collapse below a limit. A small model needs its own α: this is how
/// a user finds them.
public enum Calibration {
    /// Statistics of one group of self-sampled records (all of one layer set and α).
    public static func point(_ records: [Example], layers: ClosedRange<Int>, alpha: Float) -> CalibrationPoint {
        let ratios = records.compactMap(\.lenRatio)
        let mean = ratios.isEmpty ? .nan : ratios.reduce(0, +) / Double(ratios.count)
        let std = ratios.count > 1 ? (ratios.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(ratios.count - 1)).squareRoot() : 0
        let withGold = records.filter { $0.gold != nil }
        let correct = withGold.filter { r in r.pred.map { AnswerNormalizer.equivalent($0, r.gold!) } ?? false }.count
        let collapsed = records.filter { r in
            let text = (r.reasoning ?? "") + " " + (r.answer ?? "")
            return r.pred == nil || RepetitionStage.loop(text.split(whereSeparator: { $0.isWhitespace }), RepetitionStage.Thresholds()) != nil
        }.count
        let cut = records.filter { $0["gen"]?.objectValue?["stop_reason"]?.stringValue == "length" }.count
        let n = Double(max(1, records.count))
        return CalibrationPoint(layers: layers, alpha: alpha, traces: records.count, meanLenR: mean, stdLenR: std,
                                accuracy: withGold.isEmpty ? nil : Double(correct) / Double(withGold.count),
                                collapse: Double(collapsed) / n, hitMax: Double(cut) / n)
    }

    /// For each target Len-R, the accepted point (accuracy ≥ α=0's − `tolerance`, collapse ≤
    /// `maxCollapse`) whose mean Len-R is closest, within one layer set: the set whose accepted
    /// points come closest overall. α=0 always answers the target 1.0.
    public static func propose(_ points: [CalibrationPoint], targets: [Double], tolerance: Double, maxCollapse: Double)
        -> (layers: ClosedRange<Int>, alphas: [Float], lenR: [Double])? {
        var best: (ClosedRange<Int>, [Float], [Double], Double)? = nil
        for set in Set(points.map { "\($0.layers)" }).sorted() {
            let ps = points.filter { "\($0.layers)" == set }
            guard let base = ps.first(where: { $0.alpha == 0 }) else { continue }
            // α=0 is the reference and always stands (its collapse is the model's own).
            let accepted = [base] + ps.filter { p in
                p.alpha != 0 && p.meanLenR.isFinite && p.collapse <= maxCollapse
                    && (p.accuracy == nil || base.accuracy == nil || p.accuracy! >= base.accuracy! - tolerance)
            }
            var alphas: [Float] = [], ratios: [Double] = [], error = 0.0
            for t in targets {
                let p = accepted.min(by: { abs($0.meanLenR - t) < abs($1.meanLenR - t) })!
                if alphas.contains(p.alpha) { error += abs(p.meanLenR - t); continue }
                alphas.append(p.alpha); ratios.append(p.meanLenR); error += abs(p.meanLenR - t)
            }
            if best == nil || error < best!.3 { best = (ps[0].layers, alphas, ratios, error) }
        }
        return best.map { ($0.0, $0.1, $0.2) }
    }

    /// "-1:0.25:0" → [-1, -0.75, -0.5, -0.25, 0]; "0,-0.5,-1" → as listed.
    public static func parseAlphas(_ text: String) -> [Float]? {
        let parts = text.split(separator: ":").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        if parts.count == 3, let a = parts[0], let step = parts[1], let b = parts[2], step > 0, a <= b {
            let n = Int(((b - a) / step).rounded())
            guard n <= 1000 else { return nil }
            return (0...n).map { i in ((a + Float(i) * step) * 10_000).rounded() / 10_000 }
        }
        let list = text.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        return list.isEmpty || list.contains(nil) ? nil : list.map { $0! }
    }
}
