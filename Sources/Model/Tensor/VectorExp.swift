#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
import Foundation

/// e^x for Float, eight at a time, giving exactly what glibc's `expf` gives on x86-64 with FMA
/// (the `__expf_fma` variant glibc 2.36 picks on any CPU this package builds for): the same
/// algorithm, constants and fused operations, so the forward pass's SwiGLU and softmax keep
/// their bits while the exponentials run about four times faster than one libm call each.
///
/// The algorithm (glibc `sysdeps/ieee754/flt-32/e_expf.c`, from Arm's optimized-routines, MIT):
/// in double, k = round(x·32/ln2) by adding 1.5·2⁵², r = x·32/ln2 − k, 2^(k/32) from a
/// 32-entry table with k/32's integer part added to its exponent, a degree-3 polynomial in r,
/// one product, rounded to Float. The constants below are the values of glibc's
/// `__exp2f_data`. Lanes with |x| ≥ 88 or NaN (glibc's own special path) go to `expf` itself.
/// `Tests/ModelTests/VectorExpTests` checks the bits against `expf` over a dense sweep of all
/// floats (it was also run over every one of the 2³² inputs when this was written: no difference).
enum VectorExp {
    /// 2^(i/32) as double bits, less i << 47 (so adding k << 47 yields 2^(k/32)).
    static let table: [UInt64] = [
        0x3ff0_0000_0000_0000, 0x3fef_d9b0_d315_8574, 0x3fef_b558_6cf9_890f, 0x3fef_9301_d012_5b51,
        0x3fef_72b8_3c7d_517b, 0x3fef_5487_3168_b9aa, 0x3fef_387a_6e75_6238, 0x3fef_1e9d_f51f_dee1,
        0x3fef_06fe_0a31_b715, 0x3fee_f1a7_373a_a9cb, 0x3fee_dea6_4c12_3422, 0x3fee_ce08_6061_892d,
        0x3fee_bfda_d536_2a27, 0x3fee_b42b_569d_4f82, 0x3fee_ab07_dd48_5429, 0x3fee_a47e_b03a_5585,
        0x3fee_a09e_667f_3bcd, 0x3fee_9f75_e8ec_5f74, 0x3fee_a114_73eb_0187, 0x3fee_a589_994c_ce13,
        0x3fee_ace5_422a_a0db, 0x3fee_b737_b0cd_c5e5, 0x3fee_c491_82a3_f090, 0x3fee_d503_b23e_255d,
        0x3fee_e89f_995a_d3ad, 0x3fee_ff76_f2fb_5e47, 0x3fef_199b_dd85_529c, 0x3fef_3720_dcef_9069,
        0x3fef_5818_dcfb_a487, 0x3fef_7c97_337b_9b5f, 0x3fef_a4af_a2a4_90da, 0x3fef_d076_5b6e_4540,
    ]
    // Computed, not stored: a stored static is reached through a once-check at every use,
    // which in the eight-lane loop cost more than the arithmetic.
    @inline(__always) static var invLn2N: Double { Double(bitPattern: 0x4047_1547_652b_82fe) }  // 32/ln 2
    @inline(__always) static var shift: Double { Double(bitPattern: 0x4338_0000_0000_0000) }    // 1.5·2⁵²
    @inline(__always) static var c0: Double { Double(bitPattern: 0x3ebc_6af8_4b91_2394) }
    @inline(__always) static var c1: Double { Double(bitPattern: 0x3f2e_bfce_50fa_c4f3) }
    @inline(__always) static var c2: Double { Double(bitPattern: 0x3f96_2e42_ff0c_52d6) }

    /// Whether x takes glibc's main path: |x| < 88 (the top 12 bits of |x| at most 0x42a).
    @inline(__always) static func onMainPath(_ x: Float) -> Bool { (x.bitPattern >> 20) & 0x7ff <= 0x42a }

    /// e^x for one value, the same arithmetic as the eight-lane form.
    @inline(__always) static func exp(_ x: Float) -> Float {
        guard onMainPath(x) else { return Foundation.exp(x) }
        let xd = Double(x)
        let kd0 = shift.addingProduct(invLn2N, xd)  // fma(invLn2N, xd, shift), as glibc's FMA build fuses it
        let ki = kd0.bitPattern
        let kd = kd0 - shift
        let r = (-kd).addingProduct(invLn2N, xd)  // fma(invLn2N, xd, −kd)
        let s = Double(bitPattern: table[Int(ki & 31)] &+ (ki &<< 47))
        let z = c1.addingProduct(r, c0), r2 = r * r
        let y = (1.0).addingProduct(r, c2)
        return Float(y.addingProduct(z, r2) * s)
    }

    /// y[i] = e^(x[i]) for i < n (y may be x).
    static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        #if arch(x86_64)
        table.withUnsafeBufferPointer { tb in
            let t = UnsafeRawPointer(tb.baseAddress!).assumingMemoryBound(to: Int64.self)
            while i + 8 <= n {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(y + i).storeBytes(of: exp8(v, t), as: SIMD8<Float>.self)
                i += 8
            }
        }
        #endif
        while i < n { y[i] = exp(x[i]); i += 1 }
    }

    #if arch(x86_64)
    /// Eight lanes; `t` is `table`.
    @inline(__always) static func exp8(_ x: SIMD8<Float>, _ t: UnsafePointer<Int64>) -> SIMD8<Float> {
        let halves = unsafeBitCast(x, to: (__m128, __m128).self)
        var r = unsafeBitCast((half(halves.0, t), half(halves.1, t)), to: SIMD8<Float>.self)
        // glibc's special path (|x| ≥ 88, infinities, NaN) lane by lane; rare.
        // |x|'s bits above 0x42afffff (top 12 bits past 0x42a), compared as integers: the
        // generic SIMD comparison compiled to a loop over the lanes through memory.
        let bits = _mm256_and_si256(unsafeBitCast(x, to: __m256i.self), _mm256_set1_epi32(0x7fff_ffff))
        if _mm256_movemask_epi8(_mm256_cmpgt_epi32(bits, _mm256_set1_epi32(0x42af_ffff))) != 0 {
            for l in 0..<8 where !onMainPath(x[l]) { r[l] = Foundation.exp(x[l]) }
        }
        return r
    }

    /// Four lanes in double.
    @inline(__always) static func half(_ x: __m128, _ t: UnsafePointer<Int64>) -> __m128 {
        let xd = _mm256_cvtps_pd(x)
        let inv = _mm256_set1_pd(invLn2N), sh = _mm256_set1_pd(shift)
        let kd0 = _mm256_fmadd_pd(inv, xd, sh)
        let ki = _mm256_castpd_si256(kd0)
        let kd = _mm256_sub_pd(kd0, sh)
        let r = _mm256_fmsub_pd(inv, xd, kd)
        // The table by four plain loads (the gather intrinsics are macros Swift does not import).
        let k = unsafeBitCast(ki, to: SIMD4<UInt64>.self) & 31
        let tab: __m256i = SIMD4(t[Int(k[0])], t[Int(k[1])], t[Int(k[2])], t[Int(k[3])])
        let s = _mm256_castsi256_pd(_mm256_add_epi64(tab, _mm256_slli_epi64(ki, 47)))
        let z = _mm256_fmadd_pd(r, _mm256_set1_pd(c0), _mm256_set1_pd(c1))
        let r2 = _mm256_mul_pd(r, r)
        let y = _mm256_fmadd_pd(r, _mm256_set1_pd(c2), _mm256_set1_pd(1))
        return _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_fmadd_pd(z, r2, y), s))
    }
    #endif
}
