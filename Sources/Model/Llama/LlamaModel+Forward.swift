import Foundation

extension LlamaModel {
    /// Runs `tokens` at the positions after those in `cache` (all at once: a prompt, or one
    /// token while decoding), appends their keys and values to the cache, and returns the logits
    /// of the last token ([V]), or of every token ([T×V]) when `allLogits`.
    /// Throws when the cache is full.
    ///
    /// `steering` adds its vector for block N to the output of block N at every position;
    /// `capture` then sees that output (the residual stream after block N, llama.cpp's
    /// `l_out-N`, [T × width]) for every block.
    public func forward(_ tokens: [Int32], cache: inout KVCache, allLogits: Bool = false, steering: Steering? = nil,
                        capture: ((_ block: Int, _ residual: UnsafeBufferPointer<Float>) -> Void)? = nil) throws -> [Float] {
        var caches = [cache]
        cache = KVCache(layers: 0, capacity: 0, kvWidth: 0)  // moved into `caches` while it runs: no copy
        defer { cache = caches[0] }
        return try forward(batch: [tokens], caches: &caches, steering: [steering], allLogits: allLogits, capture: capture)[0]
    }

    /// One pass for several sequences: `batch[i]` runs after the positions in `caches[i]`
    /// (an empty entry is skipped) with `steering[i]`; returns each sequence's logits as
    /// `forward(_:cache:)` does. With more than one sequence every row goes through the
    /// one-row kernels (`QuantizedMatrix.matvecBatch`, which reads each weight once for all
    /// rows), so each sequence gets bit for bit what it would get alone.
    public func forward(batch: [[Int32]], caches: inout [KVCache], steering: [Steering?] = [], allLogits: Bool = false,
                        capture: ((_ block: Int, _ residual: UnsafeBufferPointer<Float>) -> Void)? = nil) throws -> [[Float]] {
        let c = config
        let C = c.width, Q = c.heads * c.headDim, KV = c.kvWidth, F = c.ffnWidth, V = c.vocabulary
        precondition(caches.count == batch.count, "one cache per sequence")
        // Segment i: rows starts[i] ..< starts[i] + batch[i].count of the activations.
        var starts: [Int] = [], T = 0
        for (i, tokens) in batch.enumerated() {
            starts.append(T)
            T += tokens.count
            let p0 = caches[i].count
            guard p0 + tokens.count <= caches[i].capacity else {
                throw GGUFError(path: "", message: "context full: \(p0 + tokens.count) positions needed, the cache holds \(caches[i].capacity)",
                                hint: "use fewer prompt tokens or --max-tokens")
            }
            for t in tokens where t < 0 || Int(t) >= V {
                throw GGUFError(path: "", message: "token id \(t) is outside the vocabulary (\(V))")
            }
        }
        guard T > 0 else { return batch.map { _ in [] } }
        let exactRows = batch.count > 1
        let live = batch.indices.filter { !batch[$0].isEmpty }
        // x: (T, C) — the residual stream
        var x = [Float](repeating: 0, count: T * C)
        x.withUnsafeMutableBufferPointer { xb in
            for (i, t) in batch.joined().enumerated() { tokenEmbedding.row(Int(t), cols: C, into: xb.baseAddress! + i * C) }
        }
        var xn = [Float](repeating: 0, count: T * C)
        var q = [Float](repeating: 0, count: T * Q), k = [Float](repeating: 0, count: T * KV), v = [Float](repeating: 0, count: T * KV)
        var att = [Float](repeating: 0, count: T * Q)
        var proj = [Float](repeating: 0, count: T * C)
        var gate = [Float](repeating: 0, count: T * F), up = [Float](repeating: 0, count: T * F)
        func linear(_ x: [Float], _ w: WeightMatrix, outputs: Int, inner: Int, bias: [Float]?, into y: inout [Float]) {
            LlamaModel.linear(x, rows: T, w, outputs: outputs, inner: inner, bias: bias, exactRows: exactRows, threads: threads, into: &y)
        }

        for (l, b) in blocks.enumerated() {
            LlamaModel.rmsNorm(x, b.attnNorm, rows: T, width: C, eps: c.rmsEpsilon, into: &xn)
            linear(xn, b.wq, outputs: Q, inner: C, bias: b.bq, into: &q)
            linear(xn, b.wk, outputs: KV, inner: C, bias: b.bk, into: &k)
            linear(xn, b.wv, outputs: KV, inner: C, bias: b.bv, into: &v)
            for i in live {
                let p0 = caches[i].count, n = batch[i].count, r0 = starts[i]
                for t in 0..<n {
                    LlamaModel.rope(&q, offset: (r0 + t) * Q, heads: c.heads, headDim: c.headDim, position: p0 + t, base: c.ropeBase, style: c.ropeStyle)
                    LlamaModel.rope(&k, offset: (r0 + t) * KV, heads: c.kvHeads, headDim: c.headDim, position: p0 + t, base: c.ropeBase, style: c.ropeStyle)
                }
            }
            if f16Attention {
                // llama.cpp's default cache holds K and V in f16, and Q meets K as f16.
                for i in k.indices { k[i] = Float(Float16(k[i])) }
                for i in v.indices { v[i] = Float(Float16(v[i])) }
                for i in q.indices { q[i] = Float(Float16(q[i])) }
            }
            for i in live {
                let p0 = caches[i].count, n = batch[i].count, r0 = starts[i]
                caches[i].keys[l].replaceSubrange((p0 * KV)..<((p0 + n) * KV), with: k[(r0 * KV)..<((r0 + n) * KV)])
                caches[i].values[l].replaceSubrange((p0 * KV)..<((p0 + n) * KV), with: v[(r0 * KV)..<((r0 + n) * KV)])
                var part = [Float](repeating: 0, count: n * Q)
                LlamaModel.attention(Array(q[(r0 * Q)..<((r0 + n) * Q)]), keys: caches[i].keys[l], values: caches[i].values[l], tokens: n,
                                     start: p0, config: c, f16Weights: f16Attention, into: &part)
                att.replaceSubrange((r0 * Q)..<((r0 + n) * Q), with: part)
            }
            linear(att, b.wo, outputs: C, inner: Q, bias: nil, into: &proj)
            for i in 0..<(T * C) { x[i] += proj[i] }

            LlamaModel.rmsNorm(x, b.ffnNorm, rows: T, width: C, eps: c.rmsEpsilon, into: &xn)
            linear(xn, b.wGate, outputs: F, inner: C, bias: nil, into: &gate)
            linear(xn, b.wUp, outputs: F, inner: C, bias: nil, into: &up)
            // SwiGLU: silu(g)·u
            for i in 0..<(T * F) { let g = gate[i]; gate[i] = g / (1 + exp(-g)) * up[i] }
            linear(gate, b.wDown, outputs: C, inner: F, bias: nil, into: &proj)
            for i in 0..<(T * C) { x[i] += proj[i] }
            for i in live {
                guard let vec = steering.indices.contains(i) ? steering[i]?.vectors[l] : nil else { continue }
                precondition(vec.count == C, "steering vector for block \(l) has \(vec.count) values, the model \(C)")
                for t in starts[i]..<(starts[i] + batch[i].count) { for j in 0..<C { x[t * C + j] += vec[j] } }
            }
            if let capture { x.withUnsafeBufferPointer { capture(l, $0) } }
        }
        for i in live { caches[i].count += batch[i].count }

        LlamaModel.rmsNorm(x, outputNorm, rows: T, width: C, eps: c.rmsEpsilon, into: &xn)
        // The rows whose logits are wanted: every row, or each sequence's last.
        let rows = allLogits ? Array(0..<T) : live.map { starts[$0] + batch[$0].count - 1 }
        var last = [Float](repeating: 0, count: rows.count * C)
        for (j, r) in rows.enumerated() { last.replaceSubrange((j * C)..<((j + 1) * C), with: xn[(r * C)..<((r + 1) * C)]) }
        var logits = [Float](repeating: 0, count: rows.count * V)
        LlamaModel.linear(last, rows: rows.count, output ?? tokenEmbedding, outputs: V, inner: C, bias: nil, exactRows: exactRows,
                          threads: threads, into: &logits)
        var out = batch.map { _ in [Float]() }
        if allLogits {
            for i in live { out[i] = Array(logits[(starts[i] * V)..<((starts[i] + batch[i].count) * V)]) }
        } else {
            for (j, i) in live.enumerated() { out[i] = Array(logits[(j * V)..<((j + 1) * V)]) }
        }
        return out
    }

    // x: (T,C), w: (C) → y = x / sqrt(mean(x²) + ε) · w   (sum in double, as ggml does)
    static func rmsNorm(_ x: [Float], _ w: [Float], rows: Int, width: Int, eps: Float, into y: inout [Float]) {
        for r in 0..<rows {
            let o = r * width
            var ss = 0.0
            for i in 0..<width { ss += Double(x[o + i]) * Double(x[o + i]) }
            let scale = 1 / sqrt(Float(ss / Double(width)) + eps)
            for i in 0..<width { y[o + i] = x[o + i] * scale * w[i] }
        }
    }

    /// From this many activation rows on, quantized products dequantize weight tiles and use
    /// sgemm (one pass over the weights for all rows) instead of one integer matvec per row.
    static let matmulRows = 8

    // x: (T,K), w: (M,K) row-major → y: (T,M) = x·wᵀ (+ b)
    /// `exactRows`: every row as if alone (rows of different sequences in a batch).
    static func linear(_ x: [Float], rows: Int, _ w: WeightMatrix, outputs: Int, inner: Int, bias: [Float]?, exactRows: Bool = false,
                       threads: Int = 1, into y: inout [Float]) {
        x.withUnsafeBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                switch w {
                case .quantized(let m) where exactRows:
                    m.matvecBatch(xb.baseAddress!, rows: rows, yb.baseAddress!, threads: threads)
                case .f32(let a) where exactRows:
                    a.withUnsafeBufferPointer { wb in
                        for r in 0..<rows { BLAS.matvec(wb.baseAddress!, rows: outputs, cols: inner, xb.baseAddress! + r * inner, yb.baseAddress! + r * outputs) }
                    }
                case .quantized(let m):
                    if rows >= LlamaModel.matmulRows {
                        m.matmul(xb.baseAddress!, rows: rows, yb.baseAddress!)
                    } else {
                        for r in 0..<rows { m.matvec(xb.baseAddress! + r * inner, yb.baseAddress! + r * outputs) }
                    }
                case .f32(let a):
                    a.withUnsafeBufferPointer { wb in
                        if rows == 1 {
                            BLAS.matvec(wb.baseAddress!, rows: outputs, cols: inner, xb.baseAddress!, yb.baseAddress!)
                        } else {
                            BLAS.matmulTransposed(xb.baseAddress!, rows: rows, wb.baseAddress!, outputs: outputs, inner: inner, yb.baseAddress!)
                        }
                    }
                }
            }
        }
        if let b = bias {
            for r in 0..<rows { for j in 0..<outputs { y[r * outputs + j] += b[j] } }
        }
    }

    /// Rotates each head's pairs by position·base^(−2i/d). Adjacent pairs (x[2i], x[2i+1]) for
    /// GGUF Llama (its Q/K weights are permuted for that), halves (x[i], x[i+d/2]) for Qwen2.
    /// Angles are built by repeated multiplication in Float, as ggml's rope cache is.
    /// Rotates the `heads` vectors at `offset` for `position`. A rotation's transpose is the
    /// rotation by −position, so the trainer's backward pass is this call with −position.
    public static func rope(_ x: inout [Float], offset: Int, heads: Int, headDim: Int, position: Int, base: Float, style: LlamaConfig.RopeStyle) {
        let half = headDim / 2
        let thetaScale = powf(base, -2 / Float(headDim))
        var cosv = [Float](repeating: 0, count: half), sinv = [Float](repeating: 0, count: half)
        var theta = Float(position)
        for i in 0..<half {
            cosv[i] = cos(theta); sinv[i] = sin(theta)
            theta *= thetaScale
        }
        for h in 0..<heads {
            let o = offset + h * headDim
            for i in 0..<half {
                let (a, b) = style == .adjacentPairs ? (o + 2 * i, o + 2 * i + 1) : (o + i, o + i + half)
                let x0 = x[a], x1 = x[b]
                x[a] = x0 * cosv[i] - x1 * sinv[i]
                x[b] = x0 * sinv[i] + x1 * cosv[i]
            }
        }
    }

    /// Causal attention with grouped KV heads: head h reads KV head h / (heads / kvHeads).
    /// q: (T, heads·d) for positions start…start+T−1; keys/values: (positions, kvHeads·d).
    /// With `f16Weights`, the softmax weights are rounded to f16 before they meet the (f16)
    /// values, as in llama.cpp's KQ·V product over an f16 cache. Dot products and the weighted
    /// sum of values run on 16-lane SIMD vectors (`attentionReference` is the plain loop).
    static func attention(_ q: [Float], keys: [Float], values: [Float], tokens T: Int, start: Int, config c: LlamaConfig,
                          f16Weights: Bool = false, into out: inout [Float]) {
        let d = c.headDim, Q = c.heads * d, KV = c.kvWidth
        guard d % 16 == 0 else {
            return attentionReference(q, keys: keys, values: values, tokens: T, start: start, config: c, f16Weights: f16Weights, into: &out)
        }
        let group = c.heads / c.kvHeads
        let scale = 1 / sqrtf(Float(d))
        let lanes = d / 16
        var scores = [Float](repeating: 0, count: start + T)
        q.withUnsafeBufferPointer { qb in
        keys.withUnsafeBufferPointer { kb in
        values.withUnsafeBufferPointer { vb in
        out.withUnsafeMutableBufferPointer { ob in
        scores.withUnsafeMutableBufferPointer { sb in
            let qp = UnsafeRawPointer(qb.baseAddress!), kp = UnsafeRawPointer(kb.baseAddress!), vp = UnsafeRawPointer(vb.baseAddress!)
            let op = UnsafeMutableRawPointer(ob.baseAddress!)
            var acc = [SIMD16<Float>](repeating: .zero, count: lanes)
            for t in 0..<T {
                let n = start + t + 1  // positions visible to this token
                for h in 0..<c.heads {
                    let qo = (t * Q + h * d) * 4
                    let kvo = (h / group) * d
                    var maxScore = -Float.infinity
                    if lanes == 4 {
                        // Head width 64 (the default model): q and the sums stay in registers.
                        let q0 = qp.loadUnaligned(fromByteOffset: qo, as: SIMD16<Float>.self)
                        let q1 = qp.loadUnaligned(fromByteOffset: qo + 64, as: SIMD16<Float>.self)
                        let q2 = qp.loadUnaligned(fromByteOffset: qo + 128, as: SIMD16<Float>.self)
                        let q3 = qp.loadUnaligned(fromByteOffset: qo + 192, as: SIMD16<Float>.self)
                        for p in 0..<n {
                            let k = kp + (p &* KV &+ kvo) &* 4
                            var sum = SIMD16<Float>.zero
                            sum += q0 * k.loadUnaligned(as: SIMD16<Float>.self)
                            sum += q1 * k.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                            sum += q2 * k.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                            sum += q3 * k.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                            let s = sum.sum() * scale
                            sb[p] = s
                            maxScore = max(maxScore, s)
                        }
                    } else {
                        for p in 0..<n {
                            let ko = (p * KV + kvo) * 4
                            var sum = SIMD16<Float>.zero
                            for l in 0..<lanes {
                                sum += qp.loadUnaligned(fromByteOffset: qo + 64 * l, as: SIMD16<Float>.self)
                                     * kp.loadUnaligned(fromByteOffset: ko + 64 * l, as: SIMD16<Float>.self)
                            }
                            let s = sum.sum() * scale
                            sb[p] = s
                            maxScore = max(maxScore, s)
                        }
                    }
                    var total: Float = 0
                    for p in 0..<n { let e = exp(sb[p] - maxScore); sb[p] = e; total += e }
                    let inv = 1 / total
                    if lanes == 4 {
                        var a0 = SIMD16<Float>.zero, a1 = a0, a2 = a0, a3 = a0
                        for p in 0..<n {
                            let w = f16Weights ? Float(Float16(sb[p] * inv)) : sb[p] * inv
                            let v = vp + (p &* KV &+ kvo) &* 4
                            a0 += w * v.loadUnaligned(as: SIMD16<Float>.self)
                            a1 += w * v.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
                            a2 += w * v.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
                            a3 += w * v.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
                        }
                        op.storeBytes(of: a0, toByteOffset: qo, as: SIMD16<Float>.self)
                        op.storeBytes(of: a1, toByteOffset: qo + 64, as: SIMD16<Float>.self)
                        op.storeBytes(of: a2, toByteOffset: qo + 128, as: SIMD16<Float>.self)
                        op.storeBytes(of: a3, toByteOffset: qo + 192, as: SIMD16<Float>.self)
                        continue
                    }
                    for l in 0..<lanes { acc[l] = .zero }
                    for p in 0..<n {
                        let w = f16Weights ? Float(Float16(sb[p] * inv)) : sb[p] * inv
                        let vo = (p * KV + kvo) * 4
                        for l in 0..<lanes { acc[l] += w * vp.loadUnaligned(fromByteOffset: vo + 64 * l, as: SIMD16<Float>.self) }
                    }
                    for l in 0..<lanes { op.storeBytes(of: acc[l], toByteOffset: qo + 64 * l, as: SIMD16<Float>.self) }
                }
            }
        }}}}}
    }

    /// Causal attention with grouped KV heads: head h reads KV head h / (heads / kvHeads).
    /// q: (T, heads·d) for positions start…start+T−1; keys/values: (positions, kvHeads·d).
    /// With `f16Weights`, the softmax weights are rounded to f16 before they meet the (f16)
    /// values, as in llama.cpp's KQ·V product over an f16 cache.
    static func attentionReference(_ q: [Float], keys: [Float], values: [Float], tokens T: Int, start: Int, config c: LlamaConfig,
                          f16Weights: Bool = false, into out: inout [Float]) {
        let d = c.headDim, Q = c.heads * d, KV = c.kvWidth
        let group = c.heads / c.kvHeads
        let scale = 1 / sqrtf(Float(d))
        var scores = [Float](repeating: 0, count: start + T)
        for t in 0..<T {
            let n = start + t + 1  // positions visible to this token
            for h in 0..<c.heads {
                let qo = t * Q + h * d
                let kvo = (h / group) * d
                var maxScore = -Float.infinity
                for p in 0..<n {
                    var s: Float = 0
                    let ko = p * KV + kvo
                    for i in 0..<d { s += q[qo + i] * keys[ko + i] }
                    s *= scale
                    scores[p] = s
                    maxScore = max(maxScore, s)
                }
                var sum: Float = 0
                for p in 0..<n { let e = exp(scores[p] - maxScore); scores[p] = e; sum += e }
                let inv = 1 / sum
                for i in 0..<d { out[qo + i] = 0 }
                for p in 0..<n {
                    let w = f16Weights ? Float(Float16(scores[p] * inv)) : scores[p] * inv
                    let vo = p * KV + kvo
                    for i in 0..<d { out[qo + i] += w * values[vo + i] }
                }
            }
        }
    }
}
