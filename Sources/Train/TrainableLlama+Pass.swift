import Foundation
import Hashing
import Model

/// A zeroed Float buffer that frees itself: the activations of one pass.
final class Activation {
    let p: UnsafeMutablePointer<Float>
    let count: Int
    init(_ count: Int) {
        self.count = count
        p = .allocate(capacity: max(1, count))
        p.initialize(repeating: 0, count: max(1, count))
    }
    deinit { p.deallocate() }
}

/// What an adapter keeps from the forward pass: x·Aᵀ and, under dropout, the dropped-out
/// input and the keep-scale (0 or 1/(1−p)) of each input element.
struct LoRASaved {
    let xa: Activation
    let input: Activation?
    let keep: Activation?
}

/// What one block's forward pass keeps for the backward pass.
struct BlockActivations {
    let x: Activation        // input of the block (residual stream) [N×C]
    let r1: Activation       // 1/rms of x per row [N]
    let xn1: Activation      // attention norm output [N×C]
    let q: Activation        // queries after RoPE [N×Q]
    let k: Activation        // keys after RoPE [N×KV]
    let v: Activation        // values [N×KV]
    let p: Activation        // attention weights per row and head [B×H×T×T]
    let att: Activation      // attention output before the projection [N×Q]
    let x2: Activation       // residual stream after attention [N×C]
    let r2: Activation
    let xn2: Activation      // FFN norm output [N×C]
    let g: Activation        // gate projection [N×F]
    let u: Activation        // up projection [N×F]
    let h: Activation        // silu(g)·u [N×F]
}

extension TrainableLlama {
    /// Forward and, unless `backward` is false, backward over one batch. Adds to `gradients`
    /// the gradient of (Σ token losses) × `lossScale` (default 1 / the batch's loss tokens, the
    /// mean; pass 1 / the accumulated count when accumulating over several batches). Returns
    /// the summed cross-entropy (nats) and the number of tokens it is over.
    @discardableResult
    public func pass(_ batch: TrainBatch, backward: Bool = true, lossScale: Float? = nil, dropoutSeed: UInt64 = 0) -> (loss: Double, tokens: Int) {
        let c = config
        let B = batch.rows, T = batch.length, N = B * T
        let C = c.width, H = c.heads, KVH = c.kvHeads, d = c.headDim, Q = H * d, KV = c.kvWidth, F = c.ffnWidth, V = c.vocabulary
        let P = parameters.baseAddress!, G = gradients.baseAddress!
        func w(_ name: String) -> UnsafeMutablePointer<Float> { P + layout.offset(name) }
        func dw(_ name: String) -> UnsafeMutablePointer<Float> { G + layout.offset(name) }
        let scale = 1 / Float(d).squareRoot()
        // Where each token's segment starts inside its row: attention runs over start…i.
        var segStart = [Int](repeating: 0, count: N)
        for b in 0..<B {
            for t in 0..<T {
                let i = b * T + t
                segStart[i] = (t > 0 && batch.segments[i] == batch.segments[i - 1]) ? segStart[i - 1] : t
            }
        }

        // What the adapters keep per matrix: the (dropped-out) input and its product with A.
        var saved: [String: LoRASaved] = [:]
        var dropoutRNG = SplitMix64(seed: dropoutSeed)
        func project(_ name: String, _ x: UnsafeMutablePointer<Float>, rows n: Int, inner: Int, outputs: Int,
                     into y: UnsafeMutablePointer<Float>, saved: inout [String: LoRASaved]) {
            Self.linear(x, rows: n, inner: inner, w(name), outputs: outputs, into: y)
            guard let lora, let ab = lora.adapters[name] else { return }
            let r = lora.rank, L = lora.parameters.baseAddress!
            var dropped: (input: Activation, keep: Activation)? = nil
            if lora.dropout > 0 && backward {
                let keep = Activation(n * inner), input = Activation(n * inner), kept = 1 / (1 - lora.dropout)
                for i in 0..<(n * inner) {
                    keep.p[i] = Float(dropoutRNG.next() >> 40) / Float(1 << 24) < lora.dropout ? 0 : kept
                    input.p[i] = x[i] * keep.p[i]
                }
                dropped = (input, keep)
            }
            let xa = Activation(n * r)
            BLAS.gemm(transB: true, m: n, n: r, k: inner, dropped?.input.p ?? x, lda: inner, L + ab.a, ldb: inner, xa.p, ldc: r)
            BLAS.gemm(transB: true, m: n, n: outputs, k: r, alpha: lora.scale, xa.p, lda: r, L + ab.b, ldb: r, beta: 1, y, ldc: outputs)
            saved[name] = LoRASaved(xa: xa, input: dropped?.input, keep: dropped?.keep)
        }
        func projectBackward(_ name: String, _ dy: UnsafeMutablePointer<Float>, rows n: Int, outputs: Int, x: UnsafeMutablePointer<Float>,
                             inner: Int, dx: UnsafeMutablePointer<Float>, accumulate: Bool = false, saved: [String: LoRASaved]) {
            if trainsBase {
                Self.linearBackward(dy, rows: n, outputs: outputs, x: x, inner: inner, w(name), dWeight: dw(name), dx: dx, accumulate: accumulate)
            } else {
                BLAS.gemm(m: n, n: inner, k: outputs, dy, lda: outputs, w(name), ldb: inner, beta: accumulate ? 1 : 0, dx, ldc: inner)
            }
            guard let lora, let ab = lora.adapters[name], let s = saved[name] else { return }
            let r = lora.rank, L = lora.parameters.baseAddress!, LG = lora.gradients.baseAddress!
            let input = s.input?.p ?? x
            // dB += s·dyᵀ·xa; dxa = s·dy·B; dA += dxaᵀ·input; dx += (dxa·A) ⊙ keep
            BLAS.gemm(transA: true, m: outputs, n: r, k: n, alpha: lora.scale, dy, lda: outputs, s.xa.p, ldb: r, beta: 1, LG + ab.b, ldc: r)
            let dxa = Activation(n * r)
            BLAS.gemm(m: n, n: r, k: outputs, alpha: lora.scale, dy, lda: outputs, L + ab.b, ldb: r, dxa.p, ldc: r)
            BLAS.gemm(transA: true, m: r, n: inner, k: n, dxa.p, lda: r, input, ldb: inner, beta: 1, LG + ab.a, ldc: inner)
            if let keep = s.keep {
                let t = Activation(n * inner)
                BLAS.gemm(m: n, n: inner, k: r, dxa.p, lda: r, L + ab.a, ldb: inner, t.p, ldc: inner)
                for i in 0..<(n * inner) { dx[i] += t.p[i] * keep.p[i] }
            } else {
                BLAS.gemm(m: n, n: inner, k: r, dxa.p, lda: r, L + ab.a, ldb: inner, beta: 1, dx, ldc: inner)
            }
        }
        // Gain gradients of frozen norms land here and are dropped.
        let scratch = Activation(max(C, 1))
        func dGain(_ name: String) -> UnsafeMutablePointer<Float> { trainsBase ? dw(name) : scratch.p }

        // ---- forward
        var x = Activation(N * C)
        let E = w("token_embd.weight")
        for i in 0..<N { (x.p + i * C).update(from: E + Int(batch.tokens[i]) * C, count: C) }
        var acts: [BlockActivations] = []
        acts.reserveCapacity(c.layers)
        for l in 0..<c.layers {
            let pre = "blk.\(l)."
            let a = BlockActivations(x: x, r1: Activation(N), xn1: Activation(N * C), q: Activation(N * Q), k: Activation(N * KV),
                                     v: Activation(N * KV), p: Activation(B * H * T * T), att: Activation(N * Q), x2: Activation(N * C),
                                     r2: Activation(N), xn2: Activation(N * C), g: Activation(N * F), u: Activation(N * F), h: Activation(N * F))
            Self.rmsNorm(a.x.p, w(pre + "attn_norm.weight"), rows: N, width: C, eps: c.rmsEpsilon, into: a.xn1.p, rstd: a.r1.p)
            project(pre + "attn_q.weight", a.xn1.p, rows: N, inner: C, outputs: Q, into: a.q.p, saved: &saved)
            project(pre + "attn_k.weight", a.xn1.p, rows: N, inner: C, outputs: KV, into: a.k.p, saved: &saved)
            project(pre + "attn_v.weight", a.xn1.p, rows: N, inner: C, outputs: KV, into: a.v.p, saved: &saved)
            rope(a.q.p, width: Q, heads: H, positions: batch.positions, sign: 1)
            rope(a.k.p, width: KV, heads: KVH, positions: batch.positions, sign: 1)
            for b in 0..<B {
                for hh in 0..<H {
                    let g = hh / (H / KVH)
                    let qh = a.q.p + b * T * Q + hh * d, kg = a.k.p + b * T * KV + g * d, vg = a.v.p + b * T * KV + g * d
                    let pr = a.p.p + (b * H + hh) * T * T
                    BLAS.gemm(transB: true, m: T, n: T, k: d, alpha: scale, qh, lda: Q, kg, ldb: KV, pr, ldc: T)
                    for t in 0..<T {
                        let row = pr + t * T, s0 = segStart[b * T + t]
                        var mx = -Float.infinity
                        for j in s0...t { mx = max(mx, row[j]) }
                        var sum: Float = 0
                        for j in s0...t { row[j] = exp(row[j] - mx); sum += row[j] }
                        let inv = 1 / sum
                        for j in 0..<T { row[j] = (j >= s0 && j <= t) ? row[j] * inv : 0 }
                    }
                    BLAS.gemm(m: T, n: d, k: T, pr, lda: T, vg, ldb: KV, a.att.p + b * T * Q + hh * d, ldc: Q)
                }
            }
            project(pre + "attn_output.weight", a.att.p, rows: N, inner: Q, outputs: C, into: a.x2.p, saved: &saved)
            for i in 0..<(N * C) { a.x2.p[i] += a.x.p[i] }
            Self.rmsNorm(a.x2.p, w(pre + "ffn_norm.weight"), rows: N, width: C, eps: c.rmsEpsilon, into: a.xn2.p, rstd: a.r2.p)
            project(pre + "ffn_gate.weight", a.xn2.p, rows: N, inner: C, outputs: F, into: a.g.p, saved: &saved)
            project(pre + "ffn_up.weight", a.xn2.p, rows: N, inner: C, outputs: F, into: a.u.p, saved: &saved)
            for i in 0..<(N * F) { a.h.p[i] = Self.silu(a.g.p[i]) * a.u.p[i] }
            let out = Activation(N * C)
            project(pre + "ffn_down.weight", a.h.p, rows: N, inner: F, outputs: C, into: out.p, saved: &saved)
            for i in 0..<(N * C) { out.p[i] += a.x2.p[i] }
            acts.append(a)
            x = out
        }
        // Final norm, then logits only for the rows that carry a loss.
        let rf = Activation(N), xf = Activation(N * C)
        Self.rmsNorm(x.p, w("output_norm.weight"), rows: N, width: C, eps: c.rmsEpsilon, into: xf.p, rstd: rf.p)
        let rowsWithLoss = (0..<N).filter { batch.targets[$0] >= 0 }
        let M = rowsWithLoss.count
        guard M > 0 else { return (0, 0) }
        let xs = Activation(M * C)
        for (j, i) in rowsWithLoss.enumerated() { (xs.p + j * C).update(from: xf.p + i * C, count: C) }
        let outName = layout.tiedOutput ? "token_embd.weight" : "output.weight"
        let logits = Activation(M * V)
        Self.linear(xs.p, rows: M, inner: C, w(outName), outputs: V, into: logits.p)
        let ls = lossScale ?? 1 / Float(M)
        var loss = 0.0
        for (j, i) in rowsWithLoss.enumerated() {
            let z = logits.p + j * V, target = Int(batch.targets[i])
            var mx = -Float.infinity
            for v in 0..<V { mx = max(mx, z[v]) }
            var sum: Double = 0
            for v in 0..<V { sum += Double(exp(z[v] - mx)) }
            loss += log(sum) + Double(mx) - Double(z[target])
            if backward {
                // d loss / d z = softmax − one-hot, times the loss scale; in place.
                let inv = Float(1 / sum)
                for v in 0..<V { z[v] = exp(z[v] - mx) * inv * ls }
                z[target] -= ls
            }
        }
        guard backward else { return (loss, M) }

        // ---- backward
        let dxs = Activation(M * C)
        BLAS.gemm(m: M, n: C, k: V, logits.p, lda: V, w(outName), ldb: C, dxs.p, ldc: C)
        if trainsBase { BLAS.gemm(transA: true, m: V, n: C, k: M, logits.p, lda: V, xs.p, ldb: C, beta: 1, dw(outName), ldc: C) }
        let dxf = Activation(N * C)
        for (j, i) in rowsWithLoss.enumerated() { (dxf.p + i * C).update(from: dxs.p + j * C, count: C) }
        let dx = Activation(N * C)   // gradient of the residual stream, carried down the blocks
        Self.rmsNormBackward(dxf.p, x: x.p, rstd: rf.p, w("output_norm.weight"), rows: N, width: C, dx: dx.p, dGain: dGain("output_norm.weight"))
        let dh = Activation(N * F), dg = Activation(N * F), du = Activation(N * F), dxn = Activation(N * C)
        let datt = Activation(N * Q), dq = Activation(N * Q), dk = Activation(N * KV), dv = Activation(N * KV)
        let dP = Activation(T * T)
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let a = acts[l], pre = "blk.\(l)."
            // FFN: out = x2 + down(silu(g)·u)
            projectBackward(pre + "ffn_down.weight", dx.p, rows: N, outputs: C, x: a.h.p, inner: F, dx: dh.p, saved: saved)
            for i in 0..<(N * F) {
                let gi = a.g.p[i], s = 1 / (1 + exp(-gi))
                du.p[i] = dh.p[i] * gi * s
                dg.p[i] = dh.p[i] * a.u.p[i] * s * (1 + gi * (1 - s))
            }
            projectBackward(pre + "ffn_gate.weight", dg.p, rows: N, outputs: F, x: a.xn2.p, inner: C, dx: dxn.p, saved: saved)
            projectBackward(pre + "ffn_up.weight", du.p, rows: N, outputs: F, x: a.xn2.p, inner: C, dx: dxn.p, accumulate: true, saved: saved)
            Self.rmsNormBackward(dxn.p, x: a.x2.p, rstd: a.r2.p, w(pre + "ffn_norm.weight"), rows: N, width: C,
                                 dx: dx.p, dGain: dGain(pre + "ffn_norm.weight"))
            // Attention: x2 = x + o(attention(q, k, v))
            projectBackward(pre + "attn_output.weight", dx.p, rows: N, outputs: C, x: a.att.p, inner: Q, dx: datt.p, saved: saved)
            dk.p.update(repeating: 0, count: N * KV)
            dv.p.update(repeating: 0, count: N * KV)
            for b in 0..<B {
                for hh in 0..<H {
                    let g = hh / (H / KVH)
                    let qh = a.q.p + b * T * Q + hh * d, kg = a.k.p + b * T * KV + g * d, vg = a.v.p + b * T * KV + g * d
                    let pr = a.p.p + (b * H + hh) * T * T, dO = datt.p + b * T * Q + hh * d
                    // dP = dO·Vᵀ, dV += Pᵀ·dO
                    BLAS.gemm(transB: true, m: T, n: T, k: d, dO, lda: Q, vg, ldb: KV, dP.p, ldc: T)
                    BLAS.gemm(transA: true, m: T, n: d, k: T, pr, lda: T, dO, ldb: Q, beta: 1, dv.p + b * T * KV + g * d, ldc: KV)
                    // dS = P ⊙ (dP − Σ_j P·dP), in place in dP
                    for t in 0..<T {
                        let prow = pr + t * T, drow = dP.p + t * T
                        var dot: Float = 0
                        for j in 0..<T { dot += prow[j] * drow[j] }
                        for j in 0..<T { drow[j] = prow[j] * (drow[j] - dot) }
                    }
                    // dQ = scale·dS·K, dK += scale·dSᵀ·Q
                    BLAS.gemm(m: T, n: d, k: T, alpha: scale, dP.p, lda: T, kg, ldb: KV, dq.p + b * T * Q + hh * d, ldc: Q)
                    BLAS.gemm(transA: true, m: T, n: d, k: T, alpha: scale, dP.p, lda: T, qh, ldb: Q, beta: 1, dk.p + b * T * KV + g * d, ldc: KV)
                }
            }
            rope(dq.p, width: Q, heads: H, positions: batch.positions, sign: -1)
            rope(dk.p, width: KV, heads: KVH, positions: batch.positions, sign: -1)
            projectBackward(pre + "attn_q.weight", dq.p, rows: N, outputs: Q, x: a.xn1.p, inner: C, dx: dxn.p, saved: saved)
            projectBackward(pre + "attn_k.weight", dk.p, rows: N, outputs: KV, x: a.xn1.p, inner: C, dx: dxn.p, accumulate: true, saved: saved)
            projectBackward(pre + "attn_v.weight", dv.p, rows: N, outputs: KV, x: a.xn1.p, inner: C, dx: dxn.p, accumulate: true, saved: saved)
            Self.rmsNormBackward(dxn.p, x: a.x.p, rstd: a.r1.p, w(pre + "attn_norm.weight"), rows: N, width: C,
                                 dx: dx.p, dGain: dGain(pre + "attn_norm.weight"))
        }
        guard trainsBase else { return (loss, M) }
        let dE = dw("token_embd.weight")
        for i in 0..<N {
            let row = dE + Int(batch.tokens[i]) * C, src = dx.p + i * C
            for j in 0..<C { row[j] += src[j] }
        }
        return (loss, M)
    }

    /// Summed loss and loss tokens of a batch, no gradients.
    public func loss(_ batch: TrainBatch) -> (loss: Double, tokens: Int) { pass(batch, backward: false) }

    /// RoPE on every token's heads at its position (sign −1: the transposed rotation, for the
    /// backward pass), through the engine's own rotation.
    func rope(_ x: UnsafeMutablePointer<Float>, width: Int, heads: Int, positions: [Int32], sign: Int) {
        let c = config
        var row = [Float](repeating: 0, count: width)
        for (i, p) in positions.enumerated() {
            let src = x + i * width
            for j in 0..<width { row[j] = src[j] }
            LlamaModel.rope(&row, offset: 0, heads: heads, headDim: c.headDim, position: sign * Int(p), base: c.ropeBase, style: c.ropeStyle)
            for j in 0..<width { src[j] = row[j] }
        }
    }

    static func silu(_ x: Float) -> Float { x / (1 + exp(-x)) }

    /// y[N×out] = x[N×in]·Wᵀ.
    static func linear(_ x: UnsafePointer<Float>, rows n: Int, inner: Int, _ w: UnsafePointer<Float>, outputs: Int,
                       into y: UnsafeMutablePointer<Float>) {
        BLAS.gemm(transB: true, m: n, n: outputs, k: inner, x, lda: inner, w, ldb: inner, y, ldc: outputs)
    }

    /// Given dy[N×out] of y = x·Wᵀ: dW += dyᵀ·x, and dx = dy·W (added to dx when `accumulate`).
    static func linearBackward(_ dy: UnsafePointer<Float>, rows n: Int, outputs: Int, x: UnsafePointer<Float>, inner: Int,
                               _ w: UnsafePointer<Float>, dWeight: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>,
                               accumulate: Bool = false) {
        BLAS.gemm(transA: true, m: outputs, n: inner, k: n, dy, lda: outputs, x, ldb: inner, beta: 1, dWeight, ldc: inner)
        BLAS.gemm(m: n, n: inner, k: outputs, dy, lda: outputs, w, ldb: inner, beta: accumulate ? 1 : 0, dx, ldc: inner)
    }

    /// y = x·r·gain with r = 1/√(mean(x²) + ε) per row (the sum in double, as the engine's);
    /// r is kept for the backward pass.
    static func rmsNorm(_ x: UnsafePointer<Float>, _ gain: UnsafePointer<Float>, rows: Int, width: Int, eps: Float,
                        into y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let o = r * width
            var ss = 0.0
            for i in 0..<width { ss += Double(x[o + i]) * Double(x[o + i]) }
            let s = 1 / sqrt(Float(ss / Double(width)) + eps)
            rstd[r] = s
            for i in 0..<width { y[o + i] = x[o + i] * s * gain[i] }
        }
    }

    /// Given dy of y = rmsNorm(x): dGain += Σ_rows dy·x·r, and dx += r·(dy·gain) − r³·x·⟨dy·gain, x⟩/width.
    static func rmsNormBackward(_ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, rstd: UnsafePointer<Float>, _ gain: UnsafePointer<Float>,
                                rows: Int, width: Int, dx: UnsafeMutablePointer<Float>, dGain: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let o = r * width, s = rstd[r]
            var dot: Float = 0
            for i in 0..<width {
                dGain[i] += dy[o + i] * x[o + i] * s
                dot += dy[o + i] * gain[i] * x[o + i]
            }
            let k = s * s * s * dot / Float(width)
            for i in 0..<width { dx[o + i] += s * dy[o + i] * gain[i] - k * x[o + i] }
        }
    }
}
