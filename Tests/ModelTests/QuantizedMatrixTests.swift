import Foundation
import Testing
@testable import Model
import TestSupport

@Suite struct QuantizedMatrixTests {
    /// Random blocks of a type with finite f16 scales (as the golden script draws them).
    static func randomBlocks(_ type: GGMLType, rows: Int, cols: Int, _ rng: inout SeededRandom) -> [UInt8] {
        var data: [UInt8] = []
        for _ in 0..<(rows * cols / 32) {
            var b = (0..<type.typeSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let scale = Float16(Float.random(in: 0.001...0.05, using: &rng))
            withUnsafeBytes(of: scale.bitPattern.littleEndian) { b[0] = $0[0]; b[1] = $0[1] }
            if type == .q4_1 || type == .q5_1 {
                let m = Float16(Float.random(in: -0.05...0.05, using: &rng))
                withUnsafeBytes(of: m.bitPattern.littleEndian) { b[2] = $0[0]; b[3] = $0[1] }
            }
            data += b
        }
        return data
    }

    /// The block dot product equals the dequantized weights times the 8-bit-rounded activations
    /// (what ggml's vec_dot computes), up to float rounding and, for Q4_1/Q5_1, the f16 rounding
    /// of the block sums; and it stays within the activations' 8-bit error of the exact product.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
    func matchesDequantizedReference(_ type: GGMLType) throws {
        var rng = SeededRandom(seed: UInt64(type.rawValue))
        let rows = 7, cols = 96
        let data = Self.randomBlocks(type, rows: rows, cols: cols, &rng)
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols, data: data))
        let w = WeightMatrix.quantized(m).floats
        let x = (0..<cols).map { _ in Float.random(in: -2...2, using: &rng) }
        var y = [Float](repeating: 0, count: rows)
        m.matvec(x, &y)
        let a = x.withUnsafeBufferPointer { QuantizedMatrix.quantizeActivations($0.baseAddress!, count: cols, withSums: false) }
        let xq = (0..<cols).map { a.d[$0 / 32] * Float(a.q[$0]) }
        for r in 0..<rows {
            var viaQ = 0.0, exact = 0.0, scale = 0.0
            for j in 0..<cols {
                viaQ += Double(w[r * cols + j]) * Double(xq[j])
                exact += Double(w[r * cols + j]) * Double(x[j])
                scale += abs(Double(w[r * cols + j]) * Double(x[j]))
            }
            let tight = (type == .q4_1 || type == .q5_1) ? 2e-3 : 1e-5
            #expect(abs(Double(y[r]) - viaQ) <= tight * max(1, scale), "\(type.name) row \(r): \(y[r]) vs \(viaQ)")
            #expect(abs(Double(y[r]) - exact) <= 0.02 * max(1, scale), "\(type.name) row \(r): \(y[r]) vs exact \(exact)")
        }
    }

    /// The vectorized kernels give exactly the reference kernels' results (integer sums are exact
    /// in any order; the float steps are the same, in the same order), for every row.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
    func fastKernelEqualsReference(_ type: GGMLType) throws {
        var rng = SeededRandom(seed: 40 + UInt64(type.rawValue))
        let rows = 33, cols = 576
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols, data: Self.randomBlocks(type, rows: rows, cols: cols, &rng)))
        for _ in 0..<3 {
            let x = (0..<cols).map { _ in Float.random(in: -3...3, using: &rng) }
            var fast = [Float](repeating: 0, count: rows), reference = fast
            m.matvec(x, &fast)
            m.matvecReference(x, &reference)
            #expect(fast == reference, "\(type.name)")
        }
    }

    /// F16/BF16 through widened tiles and sgemv: the reference's sums (f64 over the rounded
    /// activation) up to f32 rounding, for a row count that leaves a partial last tile; and a
    /// batch gives each row exactly what it gets alone.
    @Test(arguments: [GGMLType.f16, .bf16])
    func halfKernelMatchesReference(_ type: GGMLType) throws {
        var rng = SeededRandom(seed: 60 + UInt64(type.rawValue))
        let cols = 576, rows = QuantizedMatrix.halfTile(cols: cols, rows: .max) * 2 + 5
        var data: [UInt8] = []
        for _ in 0..<(rows * cols) {
            let v = Float.random(in: -1...1, using: &rng)
            let bits = type == .f16 ? Float16(v).bitPattern : UInt16(truncatingIfNeeded: QuantizedMatrix.bf16Round(v).bitPattern >> 16)
            data += [UInt8(truncatingIfNeeded: bits), UInt8(truncatingIfNeeded: bits >> 8)]
        }
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols, data: data))
        let n = 3
        let x = (0..<(n * cols)).map { _ in Float.random(in: -3...3, using: &rng) }
        for i in 0..<n {
            var fast = [Float](repeating: 0, count: rows), reference = fast
            x.withUnsafeBufferPointer { xb in
                fast.withUnsafeMutableBufferPointer { m.matvec(xb.baseAddress! + i * cols, $0.baseAddress!) }
                reference.withUnsafeMutableBufferPointer { m.matvecReference(xb.baseAddress! + i * cols, $0.baseAddress!) }
            }
            for r in 0..<rows { #expect(abs(fast[r] - reference[r]) <= 1e-5 * Float(cols), "\(type.name) row \(r): \(fast[r]) vs \(reference[r])") }
            #expect(fast.contains { $0 != 0 })
        }
        try BatchTests.expectBatchEqualsAlone(m, x, n: n)
    }

    /// The same for the K-quants: random super-blocks with finite f16 scales.
    @Test(arguments: [GGMLType.q4_K, .q6_K])
    func fastKQuantKernelEqualsReference(_ type: GGMLType) throws {
        var rng = SeededRandom(seed: 50 + UInt64(type.rawValue))
        let rows = 9, cols = 512
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols, data: Self.randomKBlocks(type, rows: rows, cols: cols, &rng)))
        let x = (0..<cols).map { _ in Float.random(in: -3...3, using: &rng) }
        var fast = [Float](repeating: 0, count: rows), reference = fast
        m.matvec(x, &fast)
        m.matvecReference(x, &reference)
        #expect(fast == reference && fast.contains { $0 != 0 }, "\(type.name)")
    }

    /// Random K-quant super-blocks with finite f16 scales.
    static func randomKBlocks(_ type: GGMLType, rows: Int, cols: Int, _ rng: inout SeededRandom) -> [UInt8] {
        var data: [UInt8] = []
        for _ in 0..<(rows * cols / 256) {
            var b = (0..<type.typeSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
            for off in (type == .q4_K ? [0, 2] : [208]) {
                let h = Float16(Float.random(in: 0.001...0.05, using: &rng))
                withUnsafeBytes(of: h.bitPattern.littleEndian) { b[off] = $0[0]; b[off + 1] = $0[1] }
            }
            data += b
        }
        return data
    }

    /// A one-row product split over threads gives every row exactly what one thread gives, for
    /// every integer kernel, on a row count that neither the parts nor four divide.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q6_K])
    func threadedMatvecEqualsOneThread(_ type: GGMLType) throws {
        var rng = SeededRandom(seed: 70 + UInt64(type.rawValue))
        let rows = 135, cols = 512
        let data = type.blockSize == 256 ? Self.randomKBlocks(type, rows: rows, cols: cols, &rng) : Self.randomBlocks(type, rows: rows, cols: cols, &rng)
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols, data: data))
        let x = (0..<cols).map { _ in Float.random(in: -3...3, using: &rng) }
        var one = [Float](repeating: 0, count: rows)
        m.matvec(x, &one, threads: 1)
        #expect(one.contains { $0 != 0 })
        for threads in [2, 3, 5] {
            #expect(QuantizedMatrix.parts(rows: rows, cols: cols, threads: threads) == threads)
            var split = [Float](repeating: .nan, count: rows)
            m.matvec(x, &split, threads: threads)
            #expect(split.map(\.bitPattern) == one.map(\.bitPattern), "\(type.name), \(threads) threads")
        }
    }

    /// The forward pass's products give the same bits on any thread count: the quantized
    /// many-row product (dequantized tiles and sgemm), F16 tiles and f32 weights (tiles of
    /// outputs through OpenBLAS, whose one-thread sgemm each part calls), for one row, a prompt's
    /// rows and a batch's exact rows, on shapes of several tiles with a short last one.
    @Test func linearGivesTheSameBitsOnAnyThreadCount() throws {
        var rng = SeededRandom(seed: 90)
        let outputs = 700, inner = 256
        let q = try #require(QuantizedMatrix(type: .q4_1, rows: outputs, cols: inner, data: Self.randomBlocks(.q4_1, rows: outputs, cols: inner, &rng)))
        let f32 = (0..<(outputs * inner)).map { _ in Float.random(in: -1...1, using: &rng) }
        let half = try #require(QuantizedMatrix(type: .f16, rows: outputs, cols: inner, data: f32.flatMap { v in
            withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { Array($0) } }))
        for (name, w) in [("Q4_1", WeightMatrix.quantized(q)), ("F16", .quantized(half)), ("F32", .f32(f32))] {
            for (rows, exact) in [(1, false), (12, false), (5, true)] {
                let x = (0..<(rows * inner)).map { _ in Float.random(in: -2...2, using: &rng) }
                func run(_ threads: Int) -> [UInt32] {
                    var y = [Float](repeating: .nan, count: rows * outputs)
                    LlamaModel.linear(x, rows: rows, w, outputs: outputs, inner: inner, bias: nil, exactRows: exact, threads: threads, into: &y)
                    return y.map(\.bitPattern)
                }
                let one = run(1)
                #expect(!one.contains(Float.nan.bitPattern), "\(name) rows \(rows)")
                for threads in [2, 3] { #expect(run(threads) == one, "\(name) rows \(rows) exact \(exact): \(threads) threads") }
            }
        }
    }

    /// The many-row product (tiles dequantized, sgemm) equals the dequantized weights times the
    /// f32 activations, row by row, for every supported type and a tile count that does not
    /// divide the rows.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0])
    func matmulEqualsDequantizedProduct(_ type: GGMLType) throws {
        var rng = SeededRandom(seed: 70 + UInt64(type.rawValue))
        let rows = 300, cols = 256, t = 5   // tiles of 256 rows: one full, one of 44
        let m = try #require(QuantizedMatrix(type: type, rows: rows, cols: cols, data: Self.randomBlocks(type, rows: rows, cols: cols, &rng)))
        let w = WeightMatrix.quantized(m).floats
        let x = (0..<(t * cols)).map { _ in Float.random(in: -2...2, using: &rng) }
        var y = [Float](repeating: 0, count: t * rows)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { m.matmul(xb.baseAddress!, rows: t, $0.baseAddress!) } }
        for i in 0..<t {
            for r in 0..<rows {
                var want = 0.0, scale = 0.0
                for j in 0..<cols { want += Double(w[r * cols + j]) * Double(x[i * cols + j]); scale += abs(Double(w[r * cols + j] * x[i * cols + j])) }
                #expect(abs(Double(y[i * rows + r]) - want) <= 1e-5 * max(1, scale), "\(type.name) token \(i) row \(r)")
            }
        }
    }

    @Test func activationQuantizationRoundsAsGGML() {
        // amax 2.54 → d = 0.02, id = 127/2.54 = 50: 0.01·50 = 0.5 rounds to even (0), 0.03·50 = 1.5 → 2.
        var x = [Float](repeating: 0, count: 32)
        x[0] = 2.54; x[1] = 0.01; x[2] = 0.03; x[3] = -2.54
        let a = x.withUnsafeBufferPointer { QuantizedMatrix.quantizeActivations($0.baseAddress!, count: 32, withSums: true) }
        #expect(Array(a.q[0..<4]) == [127, 0, 2, -127])
        #expect(a.d[0] == Float(Float16(Float(2.54) / 127)))
        #expect(a.s[0] == Float(Float16(Float(2.54) / 127 * 2)))
    }

    /// The vectorized quantizer the fast kernels use gives the scalar one's values bit for bit:
    /// random rows, ties at .5 that round to even, an all-zero block, one huge value beside a tiny one,
    /// the largest magnitude negative.
    @Test func fastActivationQuantizationEqualsTheScalarLoop() {
        var rng = SeededRandom(seed: 7)
        var x = (0..<(32 * 12)).map { _ in Float.random(in: -3...3, using: &rng) }
        for j in 0..<32 { x[32 + j] = 0 }                                  // block 1: zeros
        x[64] = 2.54; for j in 1..<32 { x[64 + j] = Float(j % 7) * 0.01 }  // block 2: ties (0.01·50 = 0.5, 0.03·50 = 1.5, …)
        x[96] = 3e38; x[97] = -1e-30                                       // block 3: huge and tiny
        for j in 0..<32 { x[128 + j] = -Float(j) }                         // block 4: the negative largest
        for withSums in [false, true] {
            let scalar = x.withUnsafeBufferPointer { QuantizedMatrix.quantizeActivations($0.baseAddress!, count: x.count, withSums: withSums) }
            let fast = x.withUnsafeBufferPointer { QuantizedMatrix.quantizeActivationsFast($0.baseAddress!, count: x.count, withSums: withSums) }
            let (q, d, s) = (fast.q, fast.d, fast.s)
            #expect(q == scalar.q)
            #expect(d.map(\.bitPattern) == scalar.d.map(\.bitPattern))
            if withSums { #expect(s.map(\.bitPattern) == scalar.s.map(\.bitPattern)) }
        }
    }

    @Test func refusesUnsupportedShapes() {
        #expect(QuantizedMatrix(type: .q3_K, rows: 1, cols: 256, data: [UInt8](repeating: 0, count: 110)) == nil)
        #expect(QuantizedMatrix(type: .q8_0, rows: 1, cols: 32, data: [UInt8](repeating: 0, count: 33)) == nil)
    }
}

/// Every block dot product against ggml's own functions (Fixtures/kernel-golden.json, written by
/// scripts/reference/make_kernel_golden.py through the libggml-cpu that llama-cpp-python ships).
@Suite struct KernelGoldenTests {
    struct Golden: Decodable {
        struct Entry: Decodable { let rows: Int; let cols: Int; let raw_hex: String; let x: [Float]; let y: [Double] }
        let types: [String: Entry]
    }

    /// Equal up to float summation order: ggml's SIMD kernels accumulate in lanes, ours in one
    /// sum (measured ≤ 1e-5 relative to the row's magnitude).
    @Test(arguments: ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q6_K", "F16", "BF16"])
    func matchesGGML(_ name: String) throws {
        let url = try #require(Bundle.module.url(forResource: "kernel-golden", withExtension: "json", subdirectory: "Fixtures"))
        let g = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        let e = try #require(g.types[name])
        let type = try #require(GGMLType.allCases.first { $0.name == name })
        let m = try #require(QuantizedMatrix(type: type, rows: e.rows, cols: e.cols, data: DequantizeGoldenTests.hex(e.raw_hex)))
        var y = [Float](repeating: 0, count: e.rows)
        m.matvec(e.x, &y)
        let w = WeightMatrix.quantized(m).floats
        for r in 0..<e.rows {
            var scale = 0.0
            for j in 0..<e.cols { scale += abs(Double(w[r * e.cols + j]) * Double(e.x[j])) }
            #expect(abs(Double(y[r]) - e.y[r]) <= 1e-5 * max(1, scale), "\(name) row \(r): ours \(y[r]), ggml \(e.y[r])")
        }
    }
}
