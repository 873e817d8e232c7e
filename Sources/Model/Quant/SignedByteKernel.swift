#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The batched Q8_0 kernel on 8-bit products, as ggml's AVX2 `mul_sum_i8_pairs` forms them:
/// `vpmaddubsw` takes its first operand unsigned, so each weight unit goes in as |w| and the
/// activations take w's sign (`vpsignb`: a·sign(w), 0 where w is 0); a lane then sums two
/// products of at most 128·127, 32,512 in all, which fits 16 bits, and one `vpmaddwd` by ones
/// widens each sequence's two lanes into 32 bits after every unit. It reads the GGUF blocks as
/// they are (unit u = bytes 4u…4u+3 of the 32 values), so nothing is unpacked beforehand; the
/// activations are laid out in the natural order, as for `NibbleKernel`. All integer, so the
/// sums are exactly the ones `matvec` forms.
enum SignedByteKernel: BatchKernel {
    static var blockBytes: Int { 32 }
    static func accepts(_ type: GGMLType) -> Bool { type == .q8_0 }

    @inline(__always) static func place(_ q: UnsafePointer<Int8>, block b: Int, sequence i: Int, np: Int, into a: UnsafeMutableRawPointer) {
        NibbleKernel.place(q, block: b, sequence: i, np: np, into: a)
    }

    @inline(__always) static func blockSums(_ rows: KernelRows, type: GGMLType, _ a: UnsafeRawPointer, offsets: UnsafePointer<Int32>?,
                                            nb: Int, np: Int, two: Bool, into c: UnsafeMutablePointer<SIMD8<Int32>>) {
        let ones = _mm256_set1_epi16(1), unit = np &* 4, bs = rows.blockStride
        for b in 0..<nb {
            var x0 = _mm256_setzero_si256(), x1 = x0, x2 = x0, x3 = x0
            var y0 = x0, y1 = x0, y2 = x0, y3 = x0
            let ab = a + b &* 8 &* unit, wo = b &* bs &+ 2  // the values follow the f16 scale
            for u in 0..<8 {
                let p = ab + u &* unit
                let a0 = p.load(as: __m256i.self)
                let a1 = two ? p.load(fromByteOffset: 32, as: __m256i.self) : a0
                @inline(__always) func row(_ r: UnsafeRawPointer, _ x: inout __m256i, _ y: inout __m256i) {
                    let w = _mm256_set1_epi32(r.loadUnaligned(fromByteOffset: wo &+ 4 &* u, as: Int32.self))
                    let m = _mm256_sign_epi8(w, w)  // |w| as unsigned bytes (−128 → 128)
                    x = _mm256_add_epi32(x, _mm256_madd_epi16(_mm256_maddubs_epi16(m, _mm256_sign_epi8(a0, w)), ones))
                    if two { y = _mm256_add_epi32(y, _mm256_madd_epi16(_mm256_maddubs_epi16(m, _mm256_sign_epi8(a1, w)), ones)) }
                }
                row(rows.r0, &x0, &y0); row(rows.r1, &x1, &y1); row(rows.r2, &x2, &y2); row(rows.r3, &x3, &y3)
            }
            let o = c + b &* 8
            o[0] = unsafeBitCast(x0, to: SIMD8<Int32>.self); o[1] = unsafeBitCast(x1, to: SIMD8<Int32>.self)
            o[2] = unsafeBitCast(x2, to: SIMD8<Int32>.self); o[3] = unsafeBitCast(x3, to: SIMD8<Int32>.self)
            if two {
                o[4] = unsafeBitCast(y0, to: SIMD8<Int32>.self); o[5] = unsafeBitCast(y1, to: SIMD8<Int32>.self)
                o[6] = unsafeBitCast(y2, to: SIMD8<Int32>.self); o[7] = unsafeBitCast(y3, to: SIMD8<Int32>.self)
            }
        }
    }
}
#endif
