import Foundation

/// Where the cache keeps a key: in tiles of 16 positions, each tile holding a KV head's `d`
/// dimensions for its 16 positions dimension by dimension ([kvHead][tile][dim][16]). A score
/// kernel then reads the same dimension of 16 positions as one vector and computes 16 scores
/// at once (see `LlamaModel.attention`).
struct KeyLayout {
    let headDim: Int
    let tiles: Int
    /// Element (kvHead g, position p, dimension i).
    @inline(__always) func index(_ g: Int, _ p: Int, _ i: Int) -> Int {
        ((g &* tiles &+ p >> 4) &* headDim &+ i) &* 16 &+ (p & 15)
    }
    /// The first element of the tile holding position p (a multiple of 16) of KV head g.
    @inline(__always) func tile(_ g: Int, _ p: Int) -> Int { (g &* tiles &+ p >> 4) &* headDim &* 16 }
}

/// What a cache holds its keys and values in: f32, or f16 as llama.cpp's default cache does
/// (the values are rounded to f16 either way then, so storing them in f16 changes nothing but
/// the memory they take and the bandwidth attention needs).
protocol CacheScalar: BinaryFloatingPoint, Sendable {
    /// 16 consecutive values at `p + byteOffset`, widened to f32.
    static func load16(_ p: UnsafeRawPointer, _ byteOffset: Int) -> SIMD16<Float>
}

extension Float: CacheScalar {
    @inline(__always) static func load16(_ p: UnsafeRawPointer, _ byteOffset: Int) -> SIMD16<Float> {
        p.loadUnaligned(fromByteOffset: byteOffset, as: SIMD16<Float>.self)
    }
}

extension Float16: CacheScalar {
    @inline(__always) static func load16(_ p: UnsafeRawPointer, _ byteOffset: Int) -> SIMD16<Float> {
        // Lane by lane: LLVM makes it `vcvtph2ps` from memory, in place; the generic SIMD
        // conversion stayed an out-of-line call in the kernel, spilling its sums around it.
        let h = p.loadUnaligned(fromByteOffset: byteOffset, as: SIMD16<Float16>.self)
        var r = SIMD16<Float>()
        for i in 0..<16 { r[i] = Float(h[i]) }
        return r
    }
}

extension LlamaModel {
    /// Causal attention with grouped KV heads, for the query heads that read KV heads
    /// `kvHeads` of one sequence (head h reads KV head h / (heads / kvHeads)). q: (T, heads·d)
    /// for positions start…start+T−1; keys: the cache's keys of one layer, laid out by
    /// `layout`; values: (positions, kvHeads·d). With `f16Weights`, the softmax weights are
    /// rounded to f16 before they meet the (f16) values, as in llama.cpp's KQ·V product over an
    /// f16 cache. `scores` holds at least (heads / kvHeads) × (start + T rounded up to 16)
    /// floats (scratch).
    ///
    /// Scores come 16 positions at a time: lane j of the vector sums position p0+j's products
    /// with the same operations in the same order as a 16-lane dot product of that one
    /// position (16 partial sums, dimension i in lane i mod 16) followed by the sum of its lanes
    /// in lane order (what `SIMD16.sum()` does) — so every score is bit for bit what the
    /// position-at-a-time kernel this replaced gave, without its chain of 15 dependent adds
    /// per position. The query heads of one KV head go through each tile of keys and each
    /// block of 16 values together, while it is in the first-level cache: attention reads the
    /// cache from memory once per KV head instead of once per query head. Each output sums
    /// its positions in order, as before (`BatchTests`, `AttentionKernelTests`).
    static func attention<E: CacheScalar>(q: UnsafePointer<Float>, keys: UnsafePointer<E>, layout: KeyLayout, values: UnsafePointer<E>,
                                          tokens T: Int, start: Int, kvHeads: Range<Int>, config c: LlamaConfig, f16Weights: Bool,
                                          scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let d = c.headDim, Q = c.heads * d, KV = c.kvWidth
        precondition(d % 16 == 0, "the SIMD attention needs a head width that is a multiple of 16")
        let group = c.heads / c.kvHeads
        let scale = 1 / sqrtf(Float(d))
        let lanes = d / 16
        let es = MemoryLayout<E>.stride
        let kp = UnsafeRawPointer(keys), vp = UnsafeRawPointer(values), op = UnsafeMutableRawPointer(out)
        let stride = (start + T + 15) / 16 * 16  // one head's scores
        for t in 0..<T {
            let n = start + t + 1  // positions visible to this token
            for g in kvHeads {
                let h0 = g * group
                var p0 = 0
                while p0 < n {
                    let tile = kp + layout.tile(g, p0) &* es
                    for j in 0..<group {
                        let qh = q + t * Q + (h0 + j) * d
                        @inline(__always) func lane(_ l: Int) -> SIMD16<Float> {
                            // Lane l's partial sums for 16 positions: dimensions l, l+16, l+32, …
                            var s = SIMD16<Float>.zero
                            if lanes == 4 {
                                s += SIMD16(repeating: qh[l]) * E.load16(tile, l &* 16 &* es)
                                s += SIMD16(repeating: qh[l &+ 16]) * E.load16(tile, (l &+ 16) &* 16 &* es)
                                s += SIMD16(repeating: qh[l &+ 32]) * E.load16(tile, (l &+ 32) &* 16 &* es)
                                s += SIMD16(repeating: qh[l &+ 48]) * E.load16(tile, (l &+ 48) &* 16 &* es)
                            } else {
                                for k in 0..<lanes {
                                    let i = k &* 16 &+ l
                                    s += SIMD16(repeating: qh[i]) * E.load16(tile, i &* 16 &* es)
                                }
                            }
                            return s
                        }
                        var r = lane(0)
                        for l in 1..<16 { r += lane(l) }
                        r *= scale
                        let sb = scores + j &* stride
                        UnsafeMutableRawPointer(sb + p0).storeBytes(of: r, as: SIMD16<Float>.self)
                    }
                    p0 &+= 16
                }
                for j in 0..<group {
                    let sb = scores + j &* stride
                    var maxScore = -Float.infinity
                    for p in 0..<n { maxScore = max(maxScore, sb[p]) }
                    // The exponentials eight at a time (libm's bits), then their sum in order.
                    for p in 0..<n { sb[p] -= maxScore }
                    VectorExp.exp(sb, sb, count: n)
                    var total: Float = 0
                    for p in 0..<n { total += sb[p] }
                    let inv = 1 / total
                    for p in 0..<n { sb[p] = f16Weights ? Float(Float16(sb[p] * inv)) : sb[p] * inv }
                    for l in 0..<lanes { op.storeBytes(of: SIMD16<Float>.zero, toByteOffset: (t * Q + (h0 + j) * d + 16 * l) * 4, as: SIMD16<Float>.self) }
                }
                // Values in blocks of 16 positions, every head of the group per block; each
                // head's sums carry over from block to block through `out`, in position order.
                var b0 = 0
                while b0 < n {
                    let b1 = min(n, b0 &+ 16)
                    for j in 0..<group {
                        let sb = scores + j &* stride
                        let qo = (t * Q + (h0 + j) * d) * 4
                        if lanes == 4 {
                            var a0 = op.loadUnaligned(fromByteOffset: qo, as: SIMD16<Float>.self)
                            var a1 = op.loadUnaligned(fromByteOffset: qo + 64, as: SIMD16<Float>.self)
                            var a2 = op.loadUnaligned(fromByteOffset: qo + 128, as: SIMD16<Float>.self)
                            var a3 = op.loadUnaligned(fromByteOffset: qo + 192, as: SIMD16<Float>.self)
                            for p in b0..<b1 {
                                let w = sb[p]
                                let v = vp + (p &* KV &+ g &* d) &* es
                                a0 += w * E.load16(v, 0)
                                a1 += w * E.load16(v, 16 &* es)
                                a2 += w * E.load16(v, 32 &* es)
                                a3 += w * E.load16(v, 48 &* es)
                            }
                            op.storeBytes(of: a0, toByteOffset: qo, as: SIMD16<Float>.self)
                            op.storeBytes(of: a1, toByteOffset: qo + 64, as: SIMD16<Float>.self)
                            op.storeBytes(of: a2, toByteOffset: qo + 128, as: SIMD16<Float>.self)
                            op.storeBytes(of: a3, toByteOffset: qo + 192, as: SIMD16<Float>.self)
                        } else {
                            for p in b0..<b1 {
                                let w = sb[p]
                                let v = vp + (p &* KV &+ g &* d) &* es
                                for l in 0..<lanes {
                                    let a = op.loadUnaligned(fromByteOffset: qo + 64 * l, as: SIMD16<Float>.self)
                                    op.storeBytes(of: a + w * E.load16(v, 16 &* l &* es), toByteOffset: qo + 64 * l, as: SIMD16<Float>.self)
                                }
                            }
                        }
                    }
                    b0 = b1
                }
            }
        }
    }

    /// `attention` over arrays, every head (the plain loop when the head width is not a
    /// multiple of 16).
    static func attention<E: CacheScalar>(_ q: [Float], keys: [E], layout: KeyLayout, values: [E], tokens T: Int, start: Int,
                                          config c: LlamaConfig, f16Weights: Bool = false, into out: inout [Float]) {
        guard c.headDim % 16 == 0 else {
            return attentionReference(q, keys: keys, layout: layout, values: values, tokens: T, start: start, config: c,
                                      f16Weights: f16Weights, into: &out)
        }
        var scores = [Float](repeating: 0, count: c.heads / c.kvHeads * ((start + T + 15) / 16 * 16))
        q.withUnsafeBufferPointer { qb in
        keys.withUnsafeBufferPointer { kb in
        values.withUnsafeBufferPointer { vb in
        out.withUnsafeMutableBufferPointer { ob in
        scores.withUnsafeMutableBufferPointer { sb in
            attention(q: qb.baseAddress!, keys: kb.baseAddress!, layout: layout, values: vb.baseAddress!, tokens: T, start: start,
                      kvHeads: 0..<c.kvHeads, config: c, f16Weights: f16Weights, scores: sb.baseAddress!, into: ob.baseAddress!)
        }}}}}
    }

    /// Causal attention with grouped KV heads, as plain loops: head h reads KV head h / (heads / kvHeads).
    /// q: (T, heads·d) for positions start…start+T−1; keys laid out by `layout`; values: (positions, kvHeads·d).
    /// With `f16Weights`, the softmax weights are rounded to f16 before they meet the (f16)
    /// values, as in llama.cpp's KQ·V product over an f16 cache.
    static func attentionReference<E: CacheScalar>(_ q: [Float], keys: [E], layout: KeyLayout, values: [E], tokens T: Int, start: Int,
                                                   config c: LlamaConfig, f16Weights: Bool = false, into out: inout [Float]) {
        let d = c.headDim, Q = c.heads * d, KV = c.kvWidth
        let group = c.heads / c.kvHeads
        let scale = 1 / sqrtf(Float(d))
        var scores = [Float](repeating: 0, count: start + T)
        for t in 0..<T {
            let n = start + t + 1  // positions visible to this token
            for h in 0..<c.heads {
                let qo = t * Q + h * d
                let g = h / group, kvo = g * d
                var maxScore = -Float.infinity
                for p in 0..<n {
                    var s: Float = 0
                    for i in 0..<d { s += q[qo + i] * Float(keys[layout.index(g, p, i)]) }
                    s *= scale
                    scores[p] = s
                    maxScore = max(maxScore, s)
                }
                var sum: Float = 0
                for p in 0..<n { let e = VectorExp.exp(scores[p] - maxScore); scores[p] = e; sum += e }
                let inv = 1 / sum
                for i in 0..<d { out[qo + i] = 0 }
                for p in 0..<n {
                    let w = f16Weights ? Float(Float16(scores[p] * inv)) : scores[p] * inv
                    let vo = p * KV + kvo
                    for i in 0..<d { out[qo + i] += w * Float(values[vo + i]) }
                }
            }
        }
    }
}
