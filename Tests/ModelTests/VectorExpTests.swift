import Foundation
import Testing
@testable import Model

/// `VectorExp` gives libm's `expf` bit for bit (glibc's x86-64 FMA variant, the one this
/// package's builds meet), one lane at a time and eight at a time.
@Suite struct VectorExpTests {
    /// Every 4,099th bit pattern of all 2³² floats (about a million: both signs, subnormals,
    /// the special path past |x| ≥ 88, infinities and NaNs), plus the edges of the main path.
    @Test func equalsLibmOverASweepOfAllFloats() {
        var xs: [Float] = []
        var bits: UInt64 = 0
        while bits < 1 << 32 { xs.append(Float(bitPattern: UInt32(bits))); bits += 4099 }
        xs += [0, -0, 1, -1, 88, -88, 87.99999, -87.99999, 88.72283, 88.72284, -103.97, -103.28, -104, 1e-30, -1e-30,
               .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        var ys = [Float](repeating: 0, count: xs.count)
        xs.withUnsafeBufferPointer { x in ys.withUnsafeMutableBufferPointer { VectorExp.exp(x.baseAddress!, $0.baseAddress!, count: x.count) } }
        var wrong = 0, scalarWrong = 0
        for (x, y) in zip(xs, ys) {
            let want = exp(x)
            if y.bitPattern != want.bitPattern && !(y.isNaN && want.isNaN) { wrong += 1 }
            let one = VectorExp.exp(x)
            if one.bitPattern != want.bitPattern && !(one.isNaN && want.isNaN) { scalarWrong += 1 }
        }
        #expect(wrong == 0, "\(wrong) of \(xs.count) eight-lane results differ from expf")
        #expect(scalarWrong == 0, "\(scalarWrong) of \(xs.count) one-lane results differ from expf")
    }

    /// In place and out of place, with a tail shorter than eight.
    @Test(arguments: [1, 7, 8, 9, 23])
    func inPlaceAndTails(_ n: Int) {
        let xs = (0..<n).map { Float($0) * 0.37 - 3 }
        var ys = xs
        ys.withUnsafeMutableBufferPointer { VectorExp.exp($0.baseAddress!, $0.baseAddress!, count: n) }
        #expect(ys.map(\.bitPattern) == xs.map { exp($0).bitPattern })
    }
}
