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
        cache = KVCache(layers: 0, capacity: 0, kvWidth: 0, headDim: 0, half: false)  // moved into `caches` while it runs: no copy
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
            for i in live { caches[i].store(layer: l, keys: k, values: v, rows: starts[i], count: batch[i].count) }
            attention(layer: l, batch: batch, live: live, starts: starts, caches: caches, q: q, into: &att)
            linear(att, b.wo, outputs: C, inner: Q, bias: nil, into: &proj)
            for i in 0..<(T * C) { x[i] += proj[i] }

            LlamaModel.rmsNorm(x, b.ffnNorm, rows: T, width: C, eps: c.rmsEpsilon, into: &xn)
            linear(xn, b.wGate, outputs: F, inner: C, bias: nil, into: &gate)
            linear(xn, b.wUp, outputs: F, inner: C, bias: nil, into: &up)
            LlamaModel.swiglu(&gate, up, count: T * F)
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

    /// Attention of every live sequence for layer `l`, into `att` (rows as in `q`). Units of
    /// work are (sequence, KV heads) pairs — a sequence's KV heads are split when there are
    /// fewer sequences than threads — spread over `threads` in contiguous runs of about equal
    /// cost; each unit writes its own rows and heads, so the result does not depend on the split.
    func attention(layer l: Int, batch: [[Int32]], live: [Int], starts: [Int], caches: [KVCache], q: [Float], into att: inout [Float]) {
        let c = config, Q = c.heads * c.headDim
        // Head widths that are not a multiple of 16 take the plain loop, a whole sequence at a time.
        let simd = c.headDim % 16 == 0
        struct Unit { var seq: Int; var kvHeads: Range<Int>; var cost: Int }
        let cost = { (i: Int) in batch[i].count * (caches[i].count + batch[i].count) * c.headDim * (c.heads / c.kvHeads) }
        let total = live.reduce(0) { $0 + cost($1) * c.kvHeads }
        let parts = simd && total >= attentionThreadsFrom ? max(1, threads) : 1
        let splits = live.count >= parts ? 1 : min(c.kvHeads, (parts + live.count - 1) / live.count)
        var units: [Unit] = []
        for i in live {
            for s in 0..<splits {
                let g = (c.kvHeads * s / splits)..<(c.kvHeads * (s + 1) / splits)
                units.append(Unit(seq: i, kvHeads: g, cost: cost(i) * g.count))
            }
        }
        // Contiguous runs of units, cut where the running cost passes each part's share.
        var bounds = [0], running = 0
        for (u, unit) in units.enumerated() {
            running += unit.cost
            if bounds.count < parts, running * parts >= total * bounds.count { bounds.append(u + 1) }
        }
        while bounds.count <= parts { bounds.append(units.count) }
        let longest = live.map { caches[$0].count + batch[$0].count }.max() ?? 0
        let scratch = c.heads / c.kvHeads * ((longest + 15) / 16 * 16)
        let f16 = f16Attention
        q.withUnsafeBufferPointer { qb in
            att.withUnsafeMutableBufferPointer { ab in
                let qp = qb.baseAddress!, ap = ab.baseAddress!
                let work = { (part: Int) in
                    var scores = [Float](repeating: 0, count: scratch)
                    scores.withUnsafeMutableBufferPointer { sb in
                        for unit in units[bounds[part]..<bounds[part + 1]] {
                            let i = unit.seq, r0 = starts[i], cache = caches[i]
                            func run<E: CacheScalar>(_ keys: [E], _ values: [E]) {
                                guard simd else {
                                    let n = batch[i].count
                                    var part = [Float](repeating: 0, count: n * Q)
                                    LlamaModel.attentionReference(Array(UnsafeBufferPointer(start: qp + r0 * Q, count: n * Q)), keys: keys, layout: cache.keyLayout,
                                                                  values: values, tokens: n, start: cache.count, config: c, f16Weights: f16, into: &part)
                                    (ap + r0 * Q).update(from: part, count: n * Q)
                                    return
                                }
                                keys.withUnsafeBufferPointer { kb in
                                    values.withUnsafeBufferPointer { vb in
                                        LlamaModel.attention(q: qp + r0 * Q, keys: kb.baseAddress!, layout: cache.keyLayout, values: vb.baseAddress!,
                                                             tokens: batch[i].count, start: cache.count, kvHeads: unit.kvHeads, config: c,
                                                             f16Weights: f16, scores: sb.baseAddress!, into: ap + r0 * Q)
                                    }
                                }
                            }
                            if cache.half { run(cache.keys16[l], cache.values16[l]) } else { run(cache.keys[l], cache.values[l]) }
                        }
                    }
                }
                // The parts write disjoint rows and heads of `att` and only read the rest.
                WorkerPool.shared.run(parts: parts, work)
            }
        }
    }

    // g, u: (n) → g = silu(g)·u = g / (1 + e^(−g)) · u
    /// The exponentials eight at a time (`VectorExp`, libm's `expf` bit for bit), then the
    /// division and product eight at a time (IEEE division and multiplication round the same in
    /// SIMD lanes as alone), so the values are exactly those of the one-element loop, which
    /// spent most of its time in libm calls and waiting on each division in turn. The
    /// exponentials go through a stack buffer of `swigluChunk` values, not an array per call.
    static func swiglu(_ g: inout [Float], _ u: [Float], count n: Int) {
        g.withUnsafeMutableBufferPointer { gb in
            u.withUnsafeBufferPointer { ub in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: swigluChunk) { eb in
                    let e = eb.baseAddress!
                    var c0 = 0
                    while c0 < n {
                        let m = min(swigluChunk, n - c0), gp = gb.baseAddress! + c0, up = ub.baseAddress! + c0
                        for i in 0..<m { e[i] = -gp[i] }
                        VectorExp.exp(e, e, count: m)
                        var i = 0
                        while i + 8 <= m {
                            let gv = UnsafeRawPointer(gp + i).loadUnaligned(as: SIMD8<Float>.self)
                            let ev = UnsafeRawPointer(e + i).loadUnaligned(as: SIMD8<Float>.self)
                            let uv = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
                            UnsafeMutableRawPointer(gp + i).storeBytes(of: gv / (1 + ev) * uv, as: SIMD8<Float>.self)
                            i += 8
                        }
                        for j in i..<m { gp[j] = gp[j] / (1 + e[j]) * up[j] }
                        c0 += m
                    }
                }
            }
        }
    }

    /// Values per chunk of `swiglu` (4 KiB on the stack, a multiple of 8).
    static let swigluChunk = 1024

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
                case .quantized(let m):
                    if rows >= LlamaModel.matmulRows {
                        m.matmul(xb.baseAddress!, rows: rows, yb.baseAddress!, threads: threads)
                    } else {
                        for r in 0..<rows { m.matvec(xb.baseAddress! + r * inner, yb.baseAddress! + r * outputs, threads: threads) }
                    }
                case .f32(let a):
                    // Tiles of outputs, as the quantized product cuts them, so that the threads
                    // share the work and no result depends on their number.
                    let x = xb.baseAddress!, y = yb.baseAddress!
                    let tile = QuantizedMatrix.productTile(outputs: outputs, inner: inner)
                    let parts = rows * outputs * inner >= QuantizedMatrix.splitFrom ? threads : 1
                    a.withUnsafeBufferPointer { wb in
                        WorkerPool.shared.runTiles(total: outputs, tile: tile, threads: parts) { start, n, _ in
                            let w = wb.baseAddress! + start * inner
                            if rows == 1 || exactRows {
                                for r in 0..<rows { BLAS.matvec(w, rows: n, cols: inner, x + r * inner, y + r * outputs + start) }
                            } else {
                                BLAS.matmulTransposed(x, rows: rows, w, outputs: n, inner: inner, y + start, ldy: outputs)
                            }
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
}
