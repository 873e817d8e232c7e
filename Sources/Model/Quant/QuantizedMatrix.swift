/// A weight matrix [rows × cols] kept in its GGUF block format and multiplied the way ggml's CPU
/// backend does: the activation row is quantized to the weight type's `vec_dot_type` (Q8_0 for
/// Q4_0/Q5_0/Q8_0 weights, Q8_1 for Q4_1/Q5_1) and each output is a sum over blocks of integer
/// dot products scaled by the blocks' f16 factors (ggml-cpu quants.c, vec_dot_*). Reproducing
/// that arithmetic, rounding included, is what makes logits agree with llama.cpp's.
/// Cost: rows × cols multiply-adds in integers per activation row; no weight is expanded.
public struct QuantizedMatrix: Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: [UInt8]

    /// Types with an exact block dot product here.
    public static let supported: Set<GGMLType> = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0]

    public init?(type: GGMLType, rows: Int, cols: Int, data: [UInt8]) {
        guard QuantizedMatrix.supported.contains(type), cols % 32 == 0, data.count == rows * (cols / 32) * type.typeSize else { return nil }
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

    /// y[rows] = W · x for one activation row `x[cols]`.
    public func matvec(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
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
}
