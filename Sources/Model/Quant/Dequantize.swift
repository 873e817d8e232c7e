/// Reference dequantization of ggml block formats: plain loops that follow the layouts of
/// ggml-common.h and the order of ggml-quants.c, kept as the oracle that fast kernels are
/// tested against. Tests compare them with golden values made by llama.cpp's own `gguf`
/// Python package (scripts/reference/make_quant_golden.py).
public enum Dequantize {
    /// Dequantizes `count` elements (a multiple of the type's block size) from `src` into `dst`.
    /// Throws for types without a dequantizer.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) throws {
        let blocks = count / type.blockSize
        let bs = type.typeSize
        switch type {
        case .f32:
            for i in 0..<count { dst[i] = src.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
        case .f16:
            for i in 0..<count { dst[i] = half(src, 2 * i) }
        case .bf16:
            for i in 0..<count { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .q8_0:
            for b in 0..<blocks { q8_0(src + b * bs, dst + 32 * b) }
        case .q4_0:
            for b in 0..<blocks { q4_0(src + b * bs, dst + 32 * b) }
        case .q4_1:
            for b in 0..<blocks { q4_1(src + b * bs, dst + 32 * b) }
        case .q5_0:
            for b in 0..<blocks { q5_0(src + b * bs, dst + 32 * b) }
        case .q5_1:
            for b in 0..<blocks { q5_1(src + b * bs, dst + 32 * b) }
        case .q4_K:
            for b in 0..<blocks { q4_K(src + b * bs, dst + 256 * b) }
        case .q6_K:
            for b in 0..<blocks { q6_K(src + b * bs, dst + 256 * b) }
        default:
            throw GGUFError(path: "", message: "tensor type \(type.name) is not supported",
                            hint: "supported: " + GGMLType.supported.map(\.name).joined(separator: ", "))
        }
    }

    /// Dequantizes a whole tensor into a new array.
    public static func tensor(_ file: GGUFFile, _ t: GGUFTensorInfo) throws -> [Float] {
        guard let type = t.type, type.isSupported else {
            throw GGUFError(path: file.path, offset: t.offset, message: "tensor \(t.name) has type \(t.typeName), which is not supported",
                            hint: "supported: " + GGMLType.supported.map(\.name).joined(separator: ", "))
        }
        let n = t.elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            try row(type, file.data(t).baseAddress!, count: n, into: buf.baseAddress!)
            initialized = n
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// block_q8_0 { half d; int8 qs[32]; }: y = d·q
    static func q8_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { y[j] = d * Float(b.load(fromByteOffset: 2 + j, as: Int8.self)) }
    }

    /// block_q4_0 { half d; uint8 qs[16]; }: low nibbles are elements 0…15, high 16…31; y = d·(q − 8)
    static func q4_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 2 + j, as: UInt8.self)
            y[j] = d * Float(Int(q & 0x0F) - 8)
            y[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    /// block_q4_1 { half d; half m; uint8 qs[16]; }: y = d·q + m
    static func q4_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 4 + j, as: UInt8.self)
            y[j] = d * Float(q & 0x0F) + m
            y[j + 16] = d * Float(q >> 4) + m
        }
    }

    /// block_q5_0 { half d; uint8 qh[4]; uint8 qs[16]; }: bit j of qh is the 5th bit of element
    /// j, bit j+16 that of element j+16; y = d·(q − 16)
    static func q5_0(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        let qh = b.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 6 + j, as: UInt8.self)
            let h0 = Int((qh >> UInt32(j)) & 1) << 4
            let h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float((Int(q & 0x0F) | h0) - 16)
            y[j + 16] = d * Float((Int(q >> 4) | h1) - 16)
        }
    }

    /// block_q5_1 { half d; half m; uint8 qh[4]; uint8 qs[16]; }: y = d·q + m
    static func q5_1(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        let qh = b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        for j in 0..<16 {
            let q = b.load(fromByteOffset: 8 + j, as: UInt8.self)
            let h0 = Int((qh >> UInt32(j)) & 1) << 4
            let h1 = Int((qh >> UInt32(j + 16)) & 1) << 4
            y[j] = d * Float(Int(q & 0x0F) | h0) + m
            y[j + 16] = d * Float(Int(q >> 4) | h1) + m
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0…7) packed in 12 bytes (get_scale_min_k4).
    @inline(__always) static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (Float, Float) {
        func at(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (Float(at(j) & 63), Float(at(j + 4) & 63)) }
        let sc = (at(j + 4) & 0x0F) | ((at(j - 4) >> 6) << 4)
        let m = (at(j + 4) >> 4) | ((at(j) >> 6) << 4)
        return (Float(sc), Float(m))
    }

    /// block_q4_K { half d; half dmin; uint8 scales[12]; uint8 qs[128]; } — 8 sub-blocks of 32:
    /// y = d·sc·q − dmin·m; each 32 bytes of qs hold two sub-blocks (low nibbles, then high).
    static func q4_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        let scales = b + 4
        var q = b + 16
        var out = y
        var s = 0
        for _ in 0..<4 {
            let (sc1, m1) = scaleMinK4(s, scales), (sc2, m2) = scaleMinK4(s + 1, scales)
            let d1 = d * sc1, dm1 = dmin * m1, d2 = d * sc2, dm2 = dmin * m2
            for l in 0..<32 { out[l] = d1 * Float(q.load(fromByteOffset: l, as: UInt8.self) & 0x0F) - dm1 }
            for l in 0..<32 { out[32 + l] = d2 * Float(q.load(fromByteOffset: l, as: UInt8.self) >> 4) - dm2 }
            q += 32; out += 64; s += 2
        }
    }

    /// block_q6_K { uint8 ql[128]; uint8 qh[64]; int8 scales[16]; half d; } — 16 sub-blocks of
    /// 16: 4 low bits in ql, 2 high bits in qh; y = d·scale·(q − 32)
    static func q6_K(_ b: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = half(b, 208)
        var ql = b, qh = b + 128, sc = b + 192
        var out = y
        for _ in 0..<2 {
            for l in 0..<32 {
                let s = l / 16
                let lo0 = ql.load(fromByteOffset: l, as: UInt8.self), lo32 = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                let h = qh.load(fromByteOffset: l, as: UInt8.self)
                let q1 = Int((lo0 & 0x0F) | (((h >> 0) & 3) << 4)) - 32
                let q2 = Int((lo32 & 0x0F) | (((h >> 2) & 3) << 4)) - 32
                let q3 = Int((lo0 >> 4) | (((h >> 4) & 3) << 4)) - 32
                let q4 = Int((lo32 >> 4) | (((h >> 6) & 3) << 4)) - 32
                out[l] = d * Float(sc.load(fromByteOffset: s, as: Int8.self)) * Float(q1)
                out[l + 32] = d * Float(sc.load(fromByteOffset: s + 2, as: Int8.self)) * Float(q2)
                out[l + 64] = d * Float(sc.load(fromByteOffset: s + 4, as: Int8.self)) * Float(q3)
                out[l + 96] = d * Float(sc.load(fromByteOffset: s + 6, as: Int8.self)) * Float(q4)
            }
            out += 128; ql += 64; qh += 32; sc += 8
        }
    }
}
