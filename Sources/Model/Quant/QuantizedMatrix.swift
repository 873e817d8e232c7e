/// A weight matrix [rows × cols] kept in its GGUF format and multiplied the way ggml's CPU
/// backend does: the activation row is converted to the weight type's `vec_dot_type` (Q8_0 for
/// Q4_0/Q5_0/Q8_0 weights, Q8_1 for Q4_1/Q5_1, Q8_K for Q4_K/Q6_K, F16/BF16 for F16/BF16) and
/// each output is a sum over blocks of integer dot products scaled by the blocks' factors
/// (ggml-cpu quants.c, vec_dot_*). Tests check the results against ggml's own functions.
/// Cost: rows × cols multiply-adds in integers per activation row; no weight is expanded.
public struct QuantizedMatrix: Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: [UInt8]

    /// Types with an exact block dot product here.
    public static let supported: Set<GGMLType> = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q6_K, .f16, .bf16]

    public init?(type: GGMLType, rows: Int, cols: Int, data: [UInt8]) {
        guard QuantizedMatrix.supported.contains(type), cols % type.blockSize == 0, cols % 32 == 0,
              data.count == rows * (cols / type.blockSize) * type.typeSize else { return nil }
        self.type = type; self.rows = rows; self.cols = cols; self.data = data
    }

    /// The activation blocks of one row: per block the f16-rounded scale `d`, the
    /// f16-rounded `s = d·Σq` (Q8_1 only) and 32 signed 8-bit values.
    struct ActivationBlocks {
        var d: [Float]
        var s: [Float]
        var q: [Int8]
    }

    /// quantize_row_q8_0 / q8_1 as ggml's x86 (AVX2) path computes it: d = amax/127 stored as
    /// f16, values x·(127/amax) rounded half to even, s = f16(d·Σq) with the unrounded d.
    static func quantizeActivations(_ x: UnsafePointer<Float>, count: Int, withSums: Bool) -> ActivationBlocks {
        let nb = count / 32
        var out = ActivationBlocks(d: [Float](repeating: 0, count: nb), s: [Float](repeating: 0, count: withSums ? nb : 0),
                                   q: [Int8](repeating: 0, count: count))
        for b in 0..<nb {
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[b * 32 + j])) }
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            out.d[b] = Float(Float16(d))
            var sum: Int32 = 0
            for j in 0..<32 {
                let v = Int32((x[b * 32 + j] * id).rounded(.toNearestOrEven))
                out.q[b * 32 + j] = Int8(clamping: v)
                sum += v
            }
            if withSums { out.s[b] = Float(Float16(d * Float(sum))) }
        }
        return out
    }

    /// `quantizeActivations` written so that LLVM vectorizes it, into caller-owned buffers (q:
    /// count values, d and s: count/32; s only `withSums`), the same values bit for bit: the
    /// largest magnitude is the largest of the magnitudes' bit patterns (monotone for
    /// non-negative floats, and an integer maximum vectorizes where a float one does not), and
    /// t = x·id is rounded half to even by adding 1.5·2²³, whose sum keeps round(t) in its low
    /// mantissa bits (|t| ≤ 127 here). The fast kernels use it; the reference keeps the scalar loop.
    /// `sums`, when given, receives each block's integer Σq (count/32 values).
    static func quantizeActivations(_ x: UnsafePointer<Float>, count: Int, withSums: Bool,
                                    q: UnsafeMutablePointer<Int8>, d: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                                    sums: UnsafeMutablePointer<Int32>? = nil) {
        for b in 0..<(count / 32) {
            let xb = x + b &* 32, qb = q + b &* 32
            var top: UInt32 = 0
            for j in 0..<32 { top = max(top, xb[j].bitPattern & 0x7FFF_FFFF) }
            let amax = Float(bitPattern: top)
            let scale = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            var sum: Int32 = 0
            for j in 0..<32 {
                let u = xb[j] * id + 12_582_912
                let v = Int32(bitPattern: u.bitPattern) &- 0x4B40_0000
                qb[j] = Int8(truncatingIfNeeded: v)
                sum &+= v
            }
            d[b] = Float(Float16(scale))
            if withSums { s[b] = Float(Float16(scale * Float(sum))) }
            sums?[b] = sum
        }
    }

    /// The vectorized quantizer's blocks as `ActivationBlocks` (s filled only `withSums`).
    static func quantizeActivationsFast(_ x: UnsafePointer<Float>, count: Int, withSums: Bool) -> ActivationBlocks {
        var a = ActivationBlocks(d: [Float](repeating: 0, count: count / 32), s: [Float](repeating: 0, count: count / 32),
                                 q: [Int8](repeating: 0, count: count))
        a.q.withUnsafeMutableBufferPointer { q in
            a.d.withUnsafeMutableBufferPointer { d in
                a.s.withUnsafeMutableBufferPointer { s in
                    quantizeActivations(x, count: count, withSums: withSums, q: q.baseAddress!, d: d.baseAddress!, s: s.baseAddress!)
                }
            }
        }
        return a
    }

    /// The Q8_K blocks of one row (256 values each): f32 scale, values, sums of 16.
    struct KBlocks {
        var d: [Float]
        var q: [Int8]
        var bsums: [Int32]
    }

    /// quantize_row_q8_K: iscale = −127/max where max is the value of largest magnitude (with
    /// its sign), q = round-half-even(iscale·x) capped at 127, d = 1/iscale (f32).
    static func quantizeK(_ x: UnsafePointer<Float>, count: Int) -> KBlocks {
        let nb = count / 256
        var out = KBlocks(d: [Float](repeating: 0, count: nb), q: [Int8](repeating: 0, count: count), bsums: [Int32](repeating: 0, count: nb * 16))
        for b in 0..<nb {
            var amax: Float = 0, maxv: Float = 0
            for j in 0..<256 { let ax = abs(x[b * 256 + j]); if ax > amax { amax = ax; maxv = x[b * 256 + j] } }
            guard amax != 0 else { continue }
            let iscale = -127 / maxv
            for j in 0..<256 { out.q[b * 256 + j] = Int8(clamping: min(127, Int32((iscale * x[b * 256 + j]).rounded(.toNearestOrEven)))) }
            for g in 0..<16 {
                var sum: Int32 = 0
                for j in 0..<16 { sum += Int32(out.q[b * 256 + g * 16 + j]) }
                out.bsums[b * 16 + g] = sum
            }
            out.d[b] = 1 / iscale
        }
        return out
    }

    /// y[rows] = W · x for one activation row `x[cols]`: the vectorized kernels for Q4_0, Q4_1,
    /// Q5_0, Q5_1, Q8_0, Q4_K and Q6_K (bit-identical to the reference: the integer dot products are exact in any order and
    /// the float steps are the same, in the same order), widened tiles and sgemv for F16/BF16.
    /// `threads` > 1 splits the rows of the quantized kernels over that many threads (the
    /// results do not change).
    public func matvec(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        switch type {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: matvecSIMD(x, y, threads: threads)
        case .q4_K, .q6_K: matvecKFast(x, y, threads: threads)
        case .f16, .bf16: matvecHalfTiles(x, rows: 1, y, threads: threads)
        default: matvecReference(x, y)
        }
    }

    /// F16/BF16 products as ggml's vec_dot_f16/bf16 rounds them (the activation rounded to the
    /// weight type, f32 products and sums): tiles of `halfTile` output rows are widened to f32
    /// and multiplied by OpenBLAS sgemv, each activation row against each tile. A batch of `n`
    /// rows shares every widened tile (the weights pass through memory once per call), and a
    /// row's results do not depend on `n`: the same sgemv calls on the same tiles either way.
    /// Sums differ from `matvecReference` (f64) by f32 rounding only.
    func matvecHalfTiles(_ x: UnsafePointer<Float>, rows n: Int, _ y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let xr = UnsafeMutablePointer<Float>.allocate(capacity: n * cols)
        let tile = QuantizedMatrix.halfTile(cols: cols, rows: rows)
        defer { xr.deallocate() }
        if type == .f16 {
            for i in 0..<(n * cols) { xr[i] = Float(Float16(x[i])) }
        } else {
            for i in 0..<(n * cols) { xr[i] = QuantizedMatrix.bf16Round(x[i]) }
        }
        let type = self.type, rows = self.rows, cols = self.cols
        data.withUnsafeBytes { raw in
            WorkerPool.shared.runTiles(total: rows, tile: tile, threads: threads, scratch: tile * cols) { start, m, w in
                try? Dequantize.row(type, raw.baseAddress! + 2 * start * cols, count: m * cols, into: w)
                for i in 0..<n { BLAS.matvec(w, rows: m, cols: cols, xr + i * cols, y + i * rows + start) }
            }
        }
    }

    /// Output rows per widened tile: ~128 KiB of f32, which stays in L2 while a batch meets it.
    static func halfTile(cols: Int, rows: Int) -> Int { max(1, min(rows, (1 << 15) / cols)) }

    /// The block dot products as loops over raw pointers with wrapping integer arithmetic,
    /// which LLVM turns into 256-bit SIMD (sign/zero extension, multiply, horizontal add).
    func matvecSIMD(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let withSums = type == .q4_1 || type == .q5_1
        let a = QuantizedMatrix.quantizeActivationsFast(x, count: cols, withSums: withSums)
        let nb = cols / 32, bs = type.typeSize
        let type = self.type, rows = self.rows
        let parts = QuantizedMatrix.parts(rows: rows, cols: cols, threads: threads)
        data.withUnsafeBytes { raw in
            a.q.withUnsafeBufferPointer { aqb in
                a.d.withUnsafeBufferPointer { ad in
                    a.s.withUnsafeBufferPointer { asum in
                        let aq = aqb.baseAddress!
                        WorkerPool.shared.run(parts: parts) { part in
                            let (lo, hi) = QuantizedMatrix.split(rows: rows, part: part, of: parts)
                            var r = lo
                            // Four rows at a time for Q4_1: four independent float chains (each in
                            // the reference order) hide the latency of the per-block additions.
                            if type == .q4_1 {
                                while r + 4 <= hi {
                                    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                                    let r0 = raw.baseAddress! + r * nb * bs
                                    for b in 0..<nb {
                                        let a = aq + b * 32, da = ad[b], sa = asum[b]
                                        let k0 = r0 + b * bs, k1 = k0 + nb * bs, k2 = k1 + nb * bs, k3 = k2 + nb * bs
                                        let i0 = QuantizedMatrix.dotNibbles(k0.assumingMemoryBound(to: UInt8.self) + 4, a, offset: 0)
                                        let i1 = QuantizedMatrix.dotNibbles(k1.assumingMemoryBound(to: UInt8.self) + 4, a, offset: 0)
                                        let i2 = QuantizedMatrix.dotNibbles(k2.assumingMemoryBound(to: UInt8.self) + 4, a, offset: 0)
                                        let i3 = QuantizedMatrix.dotNibbles(k3.assumingMemoryBound(to: UInt8.self) + 4, a, offset: 0)
                                        s0 += (Dequantize.half(k0, 0) * da) * Float(i0) + Dequantize.half(k0, 2) * sa
                                        s1 += (Dequantize.half(k1, 0) * da) * Float(i1) + Dequantize.half(k1, 2) * sa
                                        s2 += (Dequantize.half(k2, 0) * da) * Float(i2) + Dequantize.half(k2, 2) * sa
                                        s3 += (Dequantize.half(k3, 0) * da) * Float(i3) + Dequantize.half(k3, 2) * sa
                                    }
                                    y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3
                                    r += 4
                                }
                            }
                            for r in r..<hi {
                                let row = raw.baseAddress! + r * nb * bs
                                var sumf: Float = 0
                                switch type {
                                case .q4_1:
                                    for b in 0..<nb {
                                        let blk = row + b * bs
                                        let sumi = QuantizedMatrix.dotNibbles(blk.assumingMemoryBound(to: UInt8.self) + 4, aq + b * 32, offset: 0)
                                        sumf += (Dequantize.half(blk, 0) * ad[b]) * Float(sumi) + Dequantize.half(blk, 2) * asum[b]
                                    }
                                case .q4_0:
                                    for b in 0..<nb {
                                        let blk = row + b * bs
                                        let sumi = QuantizedMatrix.dotNibbles(blk.assumingMemoryBound(to: UInt8.self) + 2, aq + b * 32, offset: 8)
                                        sumf += Float(sumi) * Dequantize.half(blk, 0) * ad[b]
                                    }
                                case .q5_0, .q5_1:
                                    let off = type == .q5_0 ? 2 : 4
                                    for b in 0..<nb {
                                        let blk = row + b * bs
                                        let sumi = QuantizedMatrix.dotQ5(blk.assumingMemoryBound(to: UInt8.self) + off + 4,
                                                                         high: blk.loadUnaligned(fromByteOffset: off, as: UInt32.self),
                                                                         aq + b * 32, offset: type == .q5_0 ? 16 : 0)
                                        if type == .q5_0 {
                                            sumf += Float(sumi) * Dequantize.half(blk, 0) * ad[b]
                                        } else {
                                            sumf += (Dequantize.half(blk, 0) * ad[b]) * Float(sumi) + Dequantize.half(blk, 2) * asum[b]
                                        }
                                    }
                                default:  // q8_0
                                    for b in 0..<nb {
                                        let blk = row + b * bs
                                        let sumi = QuantizedMatrix.dotInt8(blk.assumingMemoryBound(to: Int8.self) + 2, aq + b * 32)
                                        sumf += Float(sumi) * (Dequantize.half(blk, 0) * ad[b])
                                    }
                                }
                                y[r] = sumf
                            }
                        }
                    }
                }
            }
        }
    }

    /// Below this many multiply-adds a product runs on one thread (handing out a part costs
    /// about a microsecond, such a product a few).
    static let splitFrom = 1 << 16

    /// Parts a single-row product is split into for `threads`.
    static func parts(rows: Int, cols: Int, threads: Int) -> Int {
        threads > 1 && rows >= 16 && rows * cols >= splitFrom ? min(threads, rows / 4) : 1
    }

    /// Output rows per tile of a many-row product (`matmul`, and f32 weights in the forward
    /// pass): ~256 KiB of f32 weights; fixed by the shape, so the threads never change a tile.
    static func productTile(outputs: Int, inner: Int) -> Int { max(16, min(outputs, (1 << 16) / inner)) }

    /// Rows lo..<hi of part `part` of `parts`: contiguous, cut at multiples of four (the Q4_1
    /// kernel's row groups), so every row is computed the same way whatever the split.
    static func split(rows: Int, part: Int, of parts: Int) -> (Int, Int) {
        let groups = (rows + 3) / 4
        return (min(rows, 4 * (groups * part / parts)), min(rows, 4 * (groups * (part + 1) / parts)))
    }

    /// Σ (low nibble − offset)·a[j] + (high nibble − offset)·a[j+16] over the 16 bytes of a
    /// Q4 block.
    @inline(__always) static func dotNibbles(_ w: UnsafePointer<UInt8>, _ a: UnsafePointer<Int8>, offset: Int32) -> Int32 {
        var s: Int32 = 0
        for j in 0..<16 {
            s &+= (Int32(w[j] & 0x0F) &- offset) &* Int32(a[j]) &+ (Int32(w[j] &>> 4) &- offset) &* Int32(a[j + 16])
        }
        return s
    }

    /// The Q5 block dot product: the low nibbles of `w` with bit j (and j+16) of `high` as the
    /// fifth bit, minus `offset`.
    @inline(__always) static func dotQ5(_ w: UnsafePointer<UInt8>, high: UInt32, _ a: UnsafePointer<Int8>, offset: Int32) -> Int32 {
        var s: Int32 = 0
        for j in 0..<16 {
            let lo = (Int32(w[j] & 0x0F) | Int32(truncatingIfNeeded: (high &>> UInt32(j)) & 1) &<< 4) &- offset
            let hi = (Int32(w[j] &>> 4) | Int32(truncatingIfNeeded: (high &>> UInt32(j + 16)) & 1) &<< 4) &- offset
            s &+= lo &* Int32(a[j]) &+ hi &* Int32(a[j + 16])
        }
        return s
    }

    /// Σ w[j]·a[j] over 32 signed bytes.
    @inline(__always) static func dotInt8(_ w: UnsafePointer<Int8>, _ a: UnsafePointer<Int8>) -> Int32 {
        var s: Int32 = 0
        for j in 0..<32 { s &+= Int32(w[j]) &* Int32(a[j]) }
        return s
    }

    /// Y[t × rows] = X[t × cols] · Wᵀ for many activation rows at once (a prompt, a batch):
    /// tiles of W are dequantized to f32 once and multiplied by OpenBLAS sgemm, so every row of
    /// X shares one pass over the weights. f32 arithmetic (activations are not quantized), so
    /// results differ from `matvec` by the 8-bit rounding of the activations.
    /// `threads` > 1 hands the tiles out to that many threads, each with its own tile buffer;
    /// the tiles and their sgemm calls are the same, so the results do not change.
    public func matmul(_ x: UnsafePointer<Float>, rows t: Int, _ y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let tile = QuantizedMatrix.productTile(outputs: rows, inner: cols)
        let rowBytes = cols / type.blockSize * type.typeSize
        let type = self.type, rows = self.rows, cols = self.cols
        data.withUnsafeBytes { raw in
            WorkerPool.shared.runTiles(total: rows, tile: tile, threads: threads, scratch: tile * cols) { start, n, w in
                try? Dequantize.row(type, raw.baseAddress! + start * rowBytes, count: n * cols, into: w)
                BLAS.matmulTransposed(x, rows: t, w, outputs: n, inner: cols, y + start, ldy: rows)
            }
        }
    }

    /// The reference kernels: one block at a time in plain integer loops, as ggml's generic C.
    public func matvecReference(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        switch type {
        case .q4_K, .q6_K: return matvecK(x, y)
        case .f16, .bf16: return matvecHalf(x, y)
        default: break
        }
        let withSums = type == .q4_1 || type == .q5_1
        let a = QuantizedMatrix.quantizeActivations(x, count: cols, withSums: withSums)
        let nb = cols / 32, bs = type.typeSize
        data.withUnsafeBytes { raw in
            a.q.withUnsafeBufferPointer { aq in
                for r in 0..<rows {
                    let row = raw.baseAddress! + r * nb * bs
                    var sumf: Float = 0
                    for b in 0..<nb {
                        let blk = row + b * bs
                        let q8 = aq.baseAddress! + b * 32
                        switch type {
                        case .q8_0:
                            var sumi: Int32 = 0
                            for j in 0..<32 { sumi += Int32(blk.load(fromByteOffset: 2 + j, as: Int8.self)) * Int32(q8[j]) }
                            sumf += Float(sumi) * (Dequantize.half(blk, 0) * a.d[b])
                        case .q4_0:
                            var sumi: Int32 = 0
                            for j in 0..<16 {
                                let v = blk.load(fromByteOffset: 2 + j, as: UInt8.self)
                                sumi += (Int32(v & 0x0F) - 8) * Int32(q8[j]) + (Int32(v >> 4) - 8) * Int32(q8[j + 16])
                            }
                            sumf += Float(sumi) * Dequantize.half(blk, 0) * a.d[b]
                        case .q4_1:
                            var sumi: Int32 = 0
                            for j in 0..<16 {
                                let v = blk.load(fromByteOffset: 4 + j, as: UInt8.self)
                                sumi += Int32(v & 0x0F) * Int32(q8[j]) + Int32(v >> 4) * Int32(q8[j + 16])
                            }
                            sumf += (Dequantize.half(blk, 0) * a.d[b]) * Float(sumi) + Dequantize.half(blk, 2) * a.s[b]
                        case .q5_0, .q5_1:
                            let off = type == .q5_0 ? 2 : 4
                            let qh = blk.loadUnaligned(fromByteOffset: off, as: UInt32.self)
                            var sumi: Int32 = 0
                            for j in 0..<16 {
                                let v = blk.load(fromByteOffset: off + 4 + j, as: UInt8.self)
                                var lo = Int32(v & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                                var hi = Int32(v >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                                if type == .q5_0 { lo -= 16; hi -= 16 }
                                sumi += lo * Int32(q8[j]) + hi * Int32(q8[j + 16])
                            }
                            if type == .q5_0 {
                                sumf += Float(sumi) * Dequantize.half(blk, 0) * a.d[b]
                            } else {
                                sumf += (Dequantize.half(blk, 0) * a.d[b]) * Float(sumi) + Dequantize.half(blk, 2) * a.s[b]
                            }
                        default:
                            break
                        }
                    }
                    y[r] = sumf
                }
            }
        }
    }

    /// Q4_K / Q6_K rows against Q8_K activations (ggml_vec_dot_q4_K_q8_K / q6_K_q8_K).
    private func matvecK(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let a = QuantizedMatrix.quantizeK(x, count: cols)
        let nb = cols / 256, bs = type.typeSize
        var w = [Int8](repeating: 0, count: 256)
        data.withUnsafeBytes { raw in
            for r in 0..<rows {
                var sumf: Float = 0
                for b in 0..<nb {
                    let blk = raw.baseAddress! + (r * nb + b) * bs
                    let q8 = b * 256
                    if type == .q4_K {
                        // Nibbles: each 32 bytes hold two 32-value sub-blocks (low, then high).
                        for c in 0..<4 {
                            for l in 0..<32 {
                                let v = blk.load(fromByteOffset: 16 + c * 32 + l, as: UInt8.self)
                                w[c * 64 + l] = Int8(v & 0x0F); w[c * 64 + 32 + l] = Int8(v >> 4)
                            }
                        }
                        var sumi: Int32 = 0, summ: Int32 = 0
                        for sub in 0..<8 {
                            let (sc, m) = Dequantize.scaleMinK4(sub, blk + 4)
                            var dot: Int32 = 0
                            for l in 0..<32 { dot += Int32(w[sub * 32 + l]) * Int32(a.q[q8 + sub * 32 + l]) }
                            sumi += Int32(sc) * dot
                            summ += Int32(m) * (a.bsums[b * 16 + 2 * sub] + a.bsums[b * 16 + 2 * sub + 1])
                        }
                        sumf += Dequantize.half(blk, 0) * a.d[b] * Float(sumi) - Dequantize.half(blk, 2) * a.d[b] * Float(summ)
                    } else {
                        // ql: 4 low bits, qh: 2 high bits, in the dequantization's order.
                        for c in 0..<2 {
                            for l in 0..<32 {
                                let lo0 = blk.load(fromByteOffset: c * 64 + l, as: UInt8.self)
                                let lo32 = blk.load(fromByteOffset: c * 64 + l + 32, as: UInt8.self)
                                let h = blk.load(fromByteOffset: 128 + c * 32 + l, as: UInt8.self)
                                w[c * 128 + l] = Int8(Int((lo0 & 0x0F) | ((h & 3) << 4)) - 32)
                                w[c * 128 + l + 32] = Int8(Int((lo32 & 0x0F) | (((h >> 2) & 3) << 4)) - 32)
                                w[c * 128 + l + 64] = Int8(Int((lo0 >> 4) | (((h >> 4) & 3) << 4)) - 32)
                                w[c * 128 + l + 96] = Int8(Int((lo32 >> 4) | (((h >> 6) & 3) << 4)) - 32)
                            }
                        }
                        var sumi: Int32 = 0
                        for g in 0..<16 {
                            var dot: Int32 = 0
                            for l in 0..<16 { dot += Int32(w[g * 16 + l]) * Int32(a.q[q8 + g * 16 + l]) }
                            sumi += Int32(blk.load(fromByteOffset: 192 + g, as: Int8.self)) * dot
                        }
                        sumf += Dequantize.half(blk, 208) * a.d[b] * Float(sumi)
                    }
                }
                y[r] = sumf
            }
        }
    }

    /// `matvecK` with the unpacked weights and the activations behind raw pointers and wrapping
    /// integer arithmetic, so the sub-block dot products vectorize; the same integer sums and
    /// float steps, so the same results bit for bit.
    func matvecKFast(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        let a = QuantizedMatrix.quantizeK(x, count: cols)
        let nb = cols / 256, bs = type.typeSize
        let type = self.type, rows = self.rows
        let parts = QuantizedMatrix.parts(rows: rows, cols: cols, threads: threads)
        data.withUnsafeBytes { raw in
        a.q.withUnsafeBufferPointer { aqb in
        a.bsums.withUnsafeBufferPointer { bsums in
        WorkerPool.shared.run(parts: parts) { part in
            let w = UnsafeMutablePointer<Int8>.allocate(capacity: 256)
            defer { w.deallocate() }
            let (lo, hi) = QuantizedMatrix.split(rows: rows, part: part, of: parts)
            for r in lo..<hi {
                var sumf: Float = 0
                for b in 0..<nb {
                    let blk = raw.baseAddress! + (r * nb + b) * bs
                    let q8 = aqb.baseAddress! + b * 256
                    let qb = blk.assumingMemoryBound(to: UInt8.self)
                    if type == .q4_K {
                        for c in 0..<4 {
                            for l in 0..<32 {
                                let v = qb[16 + c * 32 + l]
                                w[c * 64 + l] = Int8(truncatingIfNeeded: v & 0x0F); w[c * 64 + 32 + l] = Int8(truncatingIfNeeded: v &>> 4)
                            }
                        }
                        var sumi: Int32 = 0, summ: Int32 = 0
                        for sub in 0..<8 {
                            let (sc, m) = Dequantize.scaleMinK4(sub, blk + 4)
                            var dot: Int32 = 0
                            for l in 0..<32 { dot &+= Int32(w[sub * 32 + l]) &* Int32(q8[sub * 32 + l]) }
                            sumi &+= Int32(sc) &* dot
                            summ &+= Int32(m) &* (bsums[b * 16 + 2 * sub] &+ bsums[b * 16 + 2 * sub + 1])
                        }
                        sumf += Dequantize.half(blk, 0) * a.d[b] * Float(sumi) - Dequantize.half(blk, 2) * a.d[b] * Float(summ)
                    } else {
                        for c in 0..<2 {
                            for l in 0..<32 {
                                let lo0 = qb[c * 64 + l], lo32 = qb[c * 64 + l + 32], h = qb[128 + c * 32 + l]
                                w[c * 128 + l] = Int8(truncatingIfNeeded: (lo0 & 0x0F) | ((h & 3) &<< 4)) &- 32
                                w[c * 128 + l + 32] = Int8(truncatingIfNeeded: (lo32 & 0x0F) | (((h &>> 2) & 3) &<< 4)) &- 32
                                w[c * 128 + l + 64] = Int8(truncatingIfNeeded: (lo0 &>> 4) | (((h &>> 4) & 3) &<< 4)) &- 32
                                w[c * 128 + l + 96] = Int8(truncatingIfNeeded: (lo32 &>> 4) | (((h &>> 6) & 3) &<< 4)) &- 32
                            }
                        }
                        var sumi: Int32 = 0
                        for g in 0..<16 {
                            var dot: Int32 = 0
                            for l in 0..<16 { dot &+= Int32(w[g * 16 + l]) &* Int32(q8[g * 16 + l]) }
                            sumi &+= Int32(blk.load(fromByteOffset: 192 + g, as: Int8.self)) &* dot
                        }
                        sumf += Dequantize.half(blk, 208) * a.d[b] * Float(sumi)
                    }
                }
                y[r] = sumf
            }
        }}}}
    }

    /// F16 / BF16 rows against the activation rounded to the same type (ggml_vec_dot_f16/bf16).
    private func matvecHalf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let xr: [Float] = (0..<cols).map { i in
            type == .f16 ? Float(Float16(x[i])) : QuantizedMatrix.bf16Round(x[i])
        }
        data.withUnsafeBytes { raw in
            for r in 0..<rows {
                var sum: Double = 0
                for i in 0..<cols {
                    let bits = raw.load(fromByteOffset: 2 * (r * cols + i), as: UInt16.self)
                    let wv = type == .f16 ? Float(Float16(bitPattern: bits)) : Float(bitPattern: UInt32(bits) << 16)
                    sum += Double(wv * xr[i])
                }
                y[r] = Float(sum)
            }
        }
    }

    /// f32 → bf16 → f32 with round-to-nearest-even (ggml_compute_fp32_to_bf16; NaN kept quiet).
    static func bf16Round(_ v: Float) -> Float {
        var u = v.bitPattern
        if (u & 0x7fff_ffff) > 0x7f80_0000 { return Float(bitPattern: (u | 0x0040_0000) & 0xffff_0000) }
        u = (u &+ (0x7fff &+ ((u >> 16) & 1))) & 0xffff_0000
        return Float(bitPattern: u)
    }
}
