#if arch(x86_64)
import _Builtin_intrinsics.intel

/// The batched Q4_0/Q4_1 kernel on 8-bit products, as ggml's AVX2 dot products form them:
/// `vpmaddubsw` multiplies unsigned weight bytes by signed activation bytes and adds adjacent
/// pairs into 16 bits, 32 multiply-adds an instruction where `vpmaddwd` does 16.
///
/// It reads the GGUF blocks as they are. Bytes 4k…4k+3 of a block's nibbles hold elements
/// 4k…4k+3 in their low nibbles and 4k+16…4k+19 in their high ones: one broadcast of those
/// four bytes, masked and shifted, gives both units' weights for 8 sequences at once, so
/// nothing is unpacked beforehand. The activations are laid out in the natural order (unit u
/// = elements 4u…4u+3). Each 16-bit lane sums two products, |n·a| ≤ 15·127, so a whole
/// block's 8 units add up in 16 bits without overflow (8·2·15·127 = 30,480 < 32,767) before
/// one `vpmaddwd` by ones widens a sequence's two lanes into its 32-bit block sum. The nibbles
/// go in as 0…15, so Q4_0's −8 comes off as 8·Σa per block; all integer, so the sums are
/// exactly the ones `matvec` forms.
enum NibbleKernel: BatchKernel {
    static var blockBytes: Int { 32 }
    static var unsignedNibbles: Bool { true }
    static func accepts(_ type: GGMLType) -> Bool { type == .q4_0 || type == .q4_1 }

    @inline(__always) static func place(_ q: UnsafePointer<Int8>, block b: Int, sequence i: Int, np: Int, into a: UnsafeMutableRawPointer) {
        let p = a + ((b &* 8) &* np &+ i) &* 4, unit = np &* 4, src = UnsafeRawPointer(q)
        for u in 0..<8 { p.storeBytes(of: src.loadUnaligned(fromByteOffset: 4 &* u, as: UInt32.self), toByteOffset: u &* unit, as: UInt32.self) }
    }

    @inline(__always) static func blockSums(_ rows: KernelRows, type: GGMLType, _ a: UnsafeRawPointer, offsets: UnsafePointer<Int32>?,
                                            nb: Int, np: Int, two: Bool, into c: UnsafeMutablePointer<SIMD8<Int32>>) {
        let ones = _mm256_set1_epi16(1), mask = _mm256_set1_epi8(0x0F), unit = np &* 4, bs = rows.blockStride
        let first = type == .q4_1 ? 4 : 2  // the nibbles' offset in a block
        for b in 0..<nb {
            var x0 = _mm256_setzero_si256(), x1 = x0, x2 = x0, x3 = x0
            var y0 = x0, y1 = x0, y2 = x0, y3 = x0
            let ab = a + b &* 8 &* unit, wo = b &* bs &+ first
            for k in 0..<4 {
                let lo = ab + k &* unit, hi = ab + (k &+ 4) &* unit
                let l0 = lo.load(as: __m256i.self), h0 = hi.load(as: __m256i.self)
                let l1 = two ? lo.load(fromByteOffset: 32, as: __m256i.self) : l0
                let h1 = two ? hi.load(fromByteOffset: 32, as: __m256i.self) : h0
                @inline(__always) func row(_ r: UnsafeRawPointer, _ x: inout __m256i, _ y: inout __m256i) {
                    let w = _mm256_set1_epi32(r.loadUnaligned(fromByteOffset: wo &+ 4 &* k, as: Int32.self))
                    let wl = _mm256_and_si256(w, mask), wh = _mm256_and_si256(_mm256_srli_epi16(w, 4), mask)
                    x = _mm256_add_epi16(x, _mm256_add_epi16(_mm256_maddubs_epi16(wl, l0), _mm256_maddubs_epi16(wh, h0)))
                    if two { y = _mm256_add_epi16(y, _mm256_add_epi16(_mm256_maddubs_epi16(wl, l1), _mm256_maddubs_epi16(wh, h1))) }
                }
                row(rows.r0, &x0, &y0); row(rows.r1, &x1, &y1); row(rows.r2, &x2, &y2); row(rows.r3, &x3, &y3)
            }
            let o = c + b &* 8
            var off0 = SIMD8<Int32>(), off1 = SIMD8<Int32>()
            if let offsets {
                off0 = UnsafeRawPointer(offsets + b &* np).loadUnaligned(as: SIMD8<Int32>.self)
                if two { off1 = UnsafeRawPointer(offsets + (b &* np &+ 8)).loadUnaligned(as: SIMD8<Int32>.self) }
            }
            func sums(_ x: __m256i, _ off: SIMD8<Int32>) -> SIMD8<Int32> { unsafeBitCast(_mm256_madd_epi16(x, ones), to: SIMD8<Int32>.self) &- off }
            o[0] = sums(x0, off0); o[1] = sums(x1, off0); o[2] = sums(x2, off0); o[3] = sums(x3, off0)
            if two { o[4] = sums(y0, off1); o[5] = sums(y1, off1); o[6] = sums(y2, off1); o[7] = sums(y3, off1) }
        }
    }
}
#endif
