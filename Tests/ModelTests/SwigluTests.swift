import Foundation
import Testing
@testable import Model
import TestSupport

/// The forward pass's SwiGLU gives exactly the one-element formula g / (1 + e^(−g)) · u.
@Suite struct SwigluTests {
    @Test(arguments: [1, 7, 8, 13, 64, 1541])
    func equalsTheOneElementFormula(_ n: Int) {
        var rng = SeededRandom(seed: 31 + UInt64(n))
        // Wide values, both tails of the exponential among them.
        let g = (0..<n).map { i in i % 97 == 5 ? Float(-120) : i % 89 == 3 ? Float(95) : Float.random(in: -12...12, using: &rng) }
        let u = (0..<n).map { _ in Float.random(in: -3...3, using: &rng) }
        var out = g
        LlamaModel.swiglu(&out, u, count: n)
        let expected = (0..<n).map { i in g[i] / (1 + exp(-g[i])) * u[i] }
        #expect(out.map(\.bitPattern) == expected.map(\.bitPattern))
    }
}
