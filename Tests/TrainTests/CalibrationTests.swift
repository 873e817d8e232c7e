import Corpus
import Foundation
import Testing
@testable import Train

@Suite struct CalibrationTests {
    @Test func parsesAlphaSweeps() {
        #expect(Calibration.parseAlphas("-1:0.25:0") == [-1, -0.75, -0.5, -0.25, 0])
        #expect(Calibration.parseAlphas("0,-0.5,-2") == [0, -0.5, -2])
        #expect(Calibration.parseAlphas("-1:0:0") == nil && Calibration.parseAlphas("a,b") == nil)
    }

    static func record(lenR: Double?, pred: String?, gold: String = "5", text: String = "We add. So \\boxed{5}.", cut: Bool = false) -> Example {
        var e = Example()
        e.id = "q"; e.question = "q"; e.gold = gold; e.reasoning = text; e.answer = ""
        if let pred { e.pred = pred }
        if let lenR { e["len_ratio"] = .number("\(lenR)") }
        e["gen"] = .object(JSONObject([("stop_reason", .string(cut ? "length" : "eog"))]))
        return e
    }

    /// A point's statistics on hand-made traces: mean and sample sd of Len-R, accuracy,
    /// collapse (no answer, or a loop), cut traces.
    @Test func pointStatistics() {
        let loop = String(repeating: "ten cookies ", count: 30)
        let rs = [Self.record(lenR: 0.5, pred: "5"), Self.record(lenR: 0.7, pred: "4"), Self.record(lenR: 0.9, pred: nil, cut: true),
                  Self.record(lenR: 0.7, pred: "5", text: "Start. " + loop, cut: true)]
        let p = Calibration.point(rs, layers: 3...4, alpha: -0.5)
        #expect(abs(p.meanLenR - 0.7) < 1e-12 && abs(p.stdLenR - (0.08 / 3).squareRoot()) < 1e-9)
        #expect(p.accuracy == 0.5 && p.collapse == 0.5 && p.hitMax == 0.5 && p.traces == 4)
    }

    /// The proposal: per target the closest accepted α, points losing accuracy or collapsing
    /// left out, and the layer set that fits the targets best chosen.
    @Test func proposesWithinBounds() {
        func pt(_ l: ClosedRange<Int>, _ a: Float, _ len: Double, _ acc: Double, _ col: Double = 0) -> CalibrationPoint {
            CalibrationPoint(layers: l, alpha: a, traces: 10, meanLenR: len, stdLenR: 0.1, accuracy: acc, collapse: col, hitMax: 0)
        }
        let points = [
            pt(3...4, 0, 1, 0.5), pt(3...4, -0.5, 0.85, 0.5), pt(3...4, -1, 0.55, 0.5), pt(3...4, -2, 0.4, 0.2),   // -2 loses accuracy
            pt(5...6, 0, 1, 0.5), pt(5...6, -0.5, 0.8, 0.5), pt(5...6, -1, 0.6, 0.48), pt(5...6, -2, 0.4, 0.5, 0.5), // -2 collapses
        ]
        let p = Calibration.propose(points, targets: [1, 0.8, 0.6], tolerance: 0.05, maxCollapse: 0.2)!
        #expect(p.layers == 5...6 && p.alphas == [0, -0.5, -1] && p.lenR == [1, 0.8, 0.6])
        #expect(Calibration.propose([pt(3...4, -1, 0.5, 0.5)], targets: [1], tolerance: 0.05, maxCollapse: 0.2) == nil, "no α=0: nothing to compare with")
        // When no steered point is acceptable, only α=0 is proposed (the reference always stands,
        // even when the unsteered model itself collapses often).
        let none = Calibration.propose([pt(3...4, 0, 1, 0.5, 0.4), pt(3...4, -1, 0.5, 0.1, 0.9)], targets: [1, 0.6], tolerance: 0.05, maxCollapse: 0.2)!
        #expect(none.alphas == [0])
    }
}
