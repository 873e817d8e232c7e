/// The batched products: one decode step of many sequences, each weight block read once and
/// met by every sequence, every output bit-identical to `matvec` of its row alone.
extension QuantizedMatrix {
    /// `matvec` for `n` activation rows of different sequences at once (a decode step of a
    /// batch): each weight block is read once and met by every row, so the weights pass through
    /// memory once per step instead of once per sequence. Every output is bit-identical to
    /// `matvec` of its row alone (the same integer sums, the same float steps in the same
    /// order), so a sequence's tokens do not depend on what else is in the batch.
    ///
    /// On x86-64 Q4_0 and Q4_1 go through `NibbleKernel` and Q8_0 through `SignedByteKernel`
    /// (8-bit products, `vpmaddubsw`), elsewhere all three through `PairKernel` (16-bit
    /// products, `vpmaddwd`, plain Swift SIMD); other types run `matvec` row by row. `threads` > 1 splits the output rows over that many threads (the
    /// results do not change).
    public func matvecBatch(_ x: UnsafePointer<Float>, rows n: Int, _ y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        if type == .f16 || type == .bf16 { return matvecHalfTiles(x, rows: n, y, threads: threads) }
        guard n > 1, type == .q4_0 || type == .q4_1 || type == .q8_0 else {
            for i in 0..<n { matvec(x + i * cols, y + i * rows, threads: threads) }
            return
        }
        #if arch(x86_64)
        if type == .q8_0 { return matvecBatch(using: SignedByteKernel.self, x, rows: n, y, threads: threads) }
        return matvecBatch(using: NibbleKernel.self, x, rows: n, y, threads: threads)
        #else
        matvecBatch(using: PairKernel.self, x, rows: n, y, threads: threads)
        #endif
    }

    /// The batched product through kernel `K` (Q4_0, Q4_1 or Q8_0 weights, what `K` takes).
    ///
    /// Layout: the activations are quantized as `matvec` quantizes them; block b of sequence i
    /// goes to `K`'s layout in units of 4 bytes, unit u at ((b·units + u)·np + i)·4 with np = n
    /// rounded up to 8 (zero sequences pad it), so 8 sequences' unit u is one 32-byte vector.
    /// A kernel meets the weights of four rows at a time (as GGUF blocks, or unpacked by its
    /// `prepare`) so that a broadcast weight unit meets 8 sequences at once; four rows share
    /// every activation load.
    func matvecBatch<K: BatchKernel>(using kernel: K.Type, _ x: UnsafePointer<Float>, rows n: Int,
                                     _ y: UnsafeMutablePointer<Float>, threads: Int = 1) {
        precondition(K.accepts(type), "\(K.self) does not take \(type.name) weights")
        let nb = cols / 32, bs = type.typeSize, np = (n + 7) / 8 * 8, B = K.blockBytes
        let withSums = type == .q4_1
        // A kernel that multiplies Q4_0's nibbles unsigned takes 8·Σa per block off its sums.
        let offsets = K.unsignedNibbles && type == .q4_0
        // 64-byte aligned: the kernel's 32-byte loads never straddle a cache line.
        let a = UnsafeMutableRawPointer.allocate(byteCount: nb * B * np, alignment: 64)
        let ad = UnsafeMutablePointer<Float>.allocate(capacity: nb * np), asum = UnsafeMutablePointer<Float>.allocate(capacity: nb * np)
        let off = UnsafeMutablePointer<Int32>.allocate(capacity: nb * np)
        let q = UnsafeMutablePointer<Int8>.allocate(capacity: cols), qd = UnsafeMutablePointer<Float>.allocate(capacity: 2 * nb)
        let qsum = UnsafeMutablePointer<Int32>.allocate(capacity: nb)
        defer { a.deallocate(); ad.deallocate(); asum.deallocate(); off.deallocate(); q.deallocate(); qd.deallocate(); qsum.deallocate() }
        a.initializeMemory(as: UInt8.self, repeating: 0, count: nb * B * np)
        ad.initialize(repeating: 0, count: nb * np); asum.initialize(repeating: 0, count: nb * np)
        off.initialize(repeating: 0, count: nb * np)
        for i in 0..<n {
            QuantizedMatrix.quantizeActivations(x + i * cols, count: cols, withSums: withSums, q: q, d: qd, s: qd + nb, sums: qsum)
            for b in 0..<nb {
                K.place(q + b &* 32, block: b, sequence: i, np: np, into: a)
                ad[b * np + i] = qd[b]
                if withSums { asum[b * np + i] = qd[nb + b] }
                if offsets { off[b * np + i] = 8 &* qsum[b] }
            }
        }
        let type = self.type, rows = self.rows
        // Groups of four output rows, split in contiguous ranges over the threads (`split`):
        // each output is computed the same way whatever the split.
        let parts = rows * n >= 1 << 12 ? max(1, min(threads, (rows + 3) / 4)) : 1
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            func work(_ part: Int) {
                // The kernel's scratch for four rows (unpacked weights, if it unpacks), the rows'
                // scales d and mins m per block.
                let w = UnsafeMutableRawPointer.allocate(byteCount: K.scratchBytes(blocks: nb), alignment: 64)
                let wd = UnsafeMutablePointer<Float>.allocate(capacity: 4 * nb), wm = UnsafeMutablePointer<Float>.allocate(capacity: 4 * nb)
                let s = UnsafeMutablePointer<Float>.allocate(capacity: 4 * 16)
                let c = UnsafeMutablePointer<SIMD8<Int32>>.allocate(capacity: 8 * nb)
                defer { w.deallocate(); wd.deallocate(); wm.deallocate(); s.deallocate(); c.deallocate() }
                let (lo, hi) = QuantizedMatrix.split(rows: rows, part: part, of: parts)
                for r0 in stride(from: lo, to: hi, by: 4) {
                    let k = min(4, rows - r0)
                    // A last group of fewer than four rows repeats its last row (outputs dropped).
                    func row(_ q: Int) -> UnsafeRawPointer { base + (r0 + min(q, k - 1)) * nb * bs }
                    for q in 0..<4 {
                        let row = row(q)
                        for b in 0..<nb {
                            let blk = row + b * bs
                            wd[q * nb + b] = Dequantize.half(blk, 0)
                            wm[q * nb + b] = type == .q4_1 ? Dequantize.half(blk, 2) : 0
                        }
                    }
                    let rows4 = K.prepare(KernelRows(row(0), row(1), row(2), row(3), blockStride: bs), nb: nb, type: type, scratch: w)
                    var i0 = 0
                    while i0 < np {
                        // Sixteen sequences share each weight broadcast while there are sixteen left.
                        let wide = np - i0 >= 16
                        let o: UnsafePointer<Int32>? = offsets ? UnsafePointer(off + i0) : nil
                        if wide {
                            K.blockSums(rows4, type: type, a + i0 &* 4, offsets: o, nb: nb, np: np, two: true, into: c)
                        } else {
                            K.blockSums(rows4, type: type, a + i0 &* 4, offsets: o, nb: nb, np: np, two: false, into: c)
                        }
                        QuantizedMatrix.blockTerms(c, ad + i0, asum + i0, wd, wm, nb: nb, np: np, type: type, two: wide, into: s)
                        let width = wide ? 16 : 8
                        for l in 0..<min(width, n &- i0) {
                            let out = y + ((i0 &+ l) &* rows &+ r0)
                            if k == 4 {
                                UnsafeMutableRawPointer(out).storeBytes(of: SIMD4(s[l], s[16 &+ l], s[32 &+ l], s[48 &+ l]), as: SIMD4<Float>.self)
                            } else {
                                for q in 0..<k { out[q] = s[q &* 16 &+ l] }
                            }
                        }
                        i0 += width
                    }
                }
            }
            // The parts write disjoint output rows and only read the shared buffers.
            WorkerPool.shared.run(parts: parts, work)
        }
    }

    /// s[q·16 + 8v + l] = Σ over blocks of the float term of row q against sequence 8v + l, for 4
    /// rows and 16 sequences (`two`) or 8, from the blocks' exact integer sums
    /// c[b·8 + v·4 + q]: per row and eight sequences the blocks' float terms added in block
    /// order with the type's formula chosen once — the arithmetic `matvec` does, so the same bits.
    @inline(__always) static func blockTerms(_ c: UnsafePointer<SIMD8<Int32>>, _ ad: UnsafePointer<Float>, _ asum: UnsafePointer<Float>,
                                             _ wd: UnsafePointer<Float>, _ wm: UnsafePointer<Float>,
                                             nb: Int, np: Int, type: GGMLType, two: Bool, into s: UnsafeMutablePointer<Float>) {
        for v in 0..<(two ? 2 : 1) {
            let da = UnsafeRawPointer(ad + 8 &* v), sa = UnsafeRawPointer(asum + 8 &* v)
            let sums = c + v &* 4
            var acc = Rows4<SIMD8<Float>>()
            // Each row's sum goes through the blocks in order, the four rows side by side
            // sharing the activation scales' loads; `term` is the block's float term as
            // `matvec` forms it for the type (d, m: the row's; da, sa: the sequences').
            @inline(__always) func sweep(_ term: (_ d: SIMD8<Float>, _ m: SIMD8<Float>, _ da: SIMD8<Float>, _ sa: SIMD8<Float>,
                                                  _ sum: SIMD8<Float>) -> SIMD8<Float>) {
                for b in 0..<nb {
                    let dab = da.loadUnaligned(fromByteOffset: 4 &* b &* np, as: SIMD8<Float>.self)
                    let sab = sa.loadUnaligned(fromByteOffset: 4 &* b &* np, as: SIMD8<Float>.self)
                    @inline(__always) func row(_ q: Int) -> SIMD8<Float> {
                        term(SIMD8(repeating: wd[q &* nb &+ b]), SIMD8(repeating: wm[q &* nb &+ b]), dab, sab, float(sums[b &* 8 &+ q]))
                    }
                    acc.r0 += row(0); acc.r1 += row(1); acc.r2 += row(2); acc.r3 += row(3)
                }
            }
            switch type {
            case .q4_1: sweep { d, m, da, sa, sum in (d * da) * sum + m * sa }
            case .q4_0: sweep { d, _, da, _, sum in sum * d * da }
            default: sweep { d, _, da, _, sum in sum * (d * da) }
            }
            let out = UnsafeMutableRawPointer(s) + 32 &* v
            out.storeBytes(of: acc.r0, as: SIMD8<Float>.self); out.storeBytes(of: acc.r1, toByteOffset: 64, as: SIMD8<Float>.self)
            out.storeBytes(of: acc.r2, toByteOffset: 128, as: SIMD8<Float>.self); out.storeBytes(of: acc.r3, toByteOffset: 192, as: SIMD8<Float>.self)
        }
    }

    /// Int32 lanes to Float, lane by lane (the generic SIMD conversion initializers are not inlined).
    @inline(__always) static func float(_ s: SIMD8<Int32>) -> SIMD8<Float> {
        var r = SIMD8<Float>()
        for i in 0..<8 { r[i] = Float(s[i]) }
        return r
    }
}

/// How a batched kernel lays out a block of 32 values (activations and weights alike, in units
/// of 4 bytes) and forms the blocks' exact integer sums for 4 rows against 8 or 16 sequences.
/// `QuantizedMatrix.matvecBatch(using:)` owns everything else: quantizing, the threads, the
/// float terms and the outputs.
protocol BatchKernel {
    /// Bytes of one block of 32 activations in the layout (a multiple of 32).
    static var blockBytes: Int { get }
    /// Whether Q4_0's nibbles are multiplied as 0…15, so 8·Σa must come off each block's sum.
    static var unsignedNibbles: Bool { get }
    /// The weight types the kernel takes.
    static func accepts(_ type: GGMLType) -> Bool
    /// Writes the 32 quantized activations `q` of block b of sequence i into the layout `a`.
    static func place(_ q: UnsafePointer<Int8>, block b: Int, sequence i: Int, np: Int, into a: UnsafeMutableRawPointer)
    /// Bytes of scratch `prepare` needs for four rows of nb blocks.
    static func scratchBytes(blocks nb: Int) -> Int
    /// The four rows as `blockSums` reads them, given as GGUF rows: the same, or unpacked into
    /// `scratch`.
    static func prepare(_ rows: KernelRows, nb: Int, type: GGMLType, scratch: UnsafeMutableRawPointer) -> KernelRows
    /// c[b·8 + v·4 + q] = the integer sum of block b of row q against the 8 sequences of vector
    /// v, for every block: sequences at `a` (8 of them, or 16 when `two`), less
    /// `offsets`[b·np + l] for sequence l when given.
    static func blockSums(_ w: KernelRows, type: GGMLType, _ a: UnsafeRawPointer, offsets: UnsafePointer<Int32>?, nb: Int, np: Int,
                          two: Bool, into c: UnsafeMutablePointer<SIMD8<Int32>>)
}

/// What a kernel that reads the GGUF blocks as they are needs no code for.
extension BatchKernel {
    static var unsignedNibbles: Bool { false }
    static func scratchBytes(blocks nb: Int) -> Int { 0 }
    @inline(__always) static func prepare(_ rows: KernelRows, nb: Int, type: GGMLType, scratch: UnsafeMutableRawPointer) -> KernelRows { rows }
}

/// One value per row of a group of four weight rows.
struct Rows4<T: SIMD> {
    var r0 = T(), r1 = T(), r2 = T(), r3 = T()
}

/// The four weight rows a kernel meets: where each row's first block starts (unpacked, or
/// the GGUF block) and the bytes from one block to the next.
struct KernelRows {
    let r0: UnsafeRawPointer, r1: UnsafeRawPointer, r2: UnsafeRawPointer, r3: UnsafeRawPointer
    let blockStride: Int
    init(_ r0: UnsafeRawPointer, _ r1: UnsafeRawPointer, _ r2: UnsafeRawPointer, _ r3: UnsafeRawPointer, blockStride: Int) {
        self.r0 = r0; self.r1 = r1; self.r2 = r2; self.r3 = r3; self.blockStride = blockStride
    }
}

/// 16-bit pairs: unit j of a block is (v[j], v[j+16]) as two Int16 (the low and high nibble of
/// byte j of a Q4 block are exactly elements j and j+16); a pair of 16-bit products summed into
/// 32 bits is one `vpmaddwd`, which LLVM forms from `pairProducts`. Plain Swift SIMD, so it runs
/// anywhere; x86-64 uses the 8-bit kernels instead.
enum PairKernel: BatchKernel {
    static var blockBytes: Int { 64 }
    static func accepts(_ type: GGMLType) -> Bool { type == .q4_0 || type == .q4_1 || type == .q8_0 }

    @inline(__always) static func place(_ q: UnsafePointer<Int8>, block b: Int, sequence i: Int, np: Int, into a: UnsafeMutableRawPointer) {
        let p = a.assumingMemoryBound(to: Int16.self)
        for j in 0..<16 {
            let o = ((b &* 16 &+ j) &* np &+ i) &* 2
            p[o] = Int16(q[j]); p[o &+ 1] = Int16(q[j &+ 16])
        }
    }

    static func scratchBytes(blocks nb: Int) -> Int { 4 * nb * 64 }

    /// The four rows unpacked to pairs into `scratch`, one after the other.
    @inline(__always) static func prepare(_ rows: KernelRows, nb: Int, type: GGMLType, scratch w: UnsafeMutableRawPointer) -> KernelRows {
        func unpackRow(_ row: UnsafeRawPointer, _ q: Int) {
            for b in 0..<nb { unpack(row + b &* rows.blockStride, type: type, into: w + (q &* nb &+ b) &* 64) }
        }
        unpackRow(rows.r0, 0); unpackRow(rows.r1, 1); unpackRow(rows.r2, 2); unpackRow(rows.r3, 3)
        return KernelRows(w, w + nb &* 64, w + 2 &* nb &* 64, w + 3 &* nb &* 64, blockStride: 64)
    }

    /// Unpacks a GGUF weight block into 64 bytes of pairs at `w`.
    @inline(__always) static func unpack(_ blk: UnsafeRawPointer, type: GGMLType, into w: UnsafeMutableRawPointer) {
        switch type {
        case .q4_1, .q4_0:
            // Byte j holds elements j (low nibble) and j+16 (high): one pair.
            let bytes = blk.loadUnaligned(fromByteOffset: type == .q4_1 ? 4 : 2, as: SIMD16<UInt8>.self)
            var v = SIMD16<UInt32>()
            for j in 0..<16 { v[j] = UInt32(bytes[j]) }
            let pairs = unsafeBitCast((v & 0x0F) | (v & 0xF0) &<< 12, to: SIMD32<Int16>.self)
            w.storeBytes(of: type == .q4_0 ? pairs &- 8 : pairs, as: SIMD32<Int16>.self)
        default:
            let lo = blk.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
            let hi = blk.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
            var v = SIMD16<UInt32>()
            for j in 0..<16 {
                v[j] = UInt32(UInt16(bitPattern: Int16(lo[j]))) | UInt32(UInt16(bitPattern: Int16(hi[j]))) &<< 16
            }
            w.storeBytes(of: v, as: SIMD16<UInt32>.self)
        }
    }

    @inline(__always) static func blockSums(_ rows: KernelRows, type: GGMLType, _ aRaw: UnsafeRawPointer, offsets: UnsafePointer<Int32>?,
                                            nb: Int, np: Int, two: Bool, into c: UnsafeMutablePointer<SIMD8<Int32>>) {
        // The unpacked rows lie one after the other, nb·16 pairs apart.
        let wP = rows.r0.assumingMemoryBound(to: UInt32.self), a = aRaw.assumingMemoryBound(to: Int16.self)
        let rowStride = nb &* 16
        for b in 0..<nb {
            var c0 = Rows4<SIMD8<Int32>>(), c1 = Rows4<SIMD8<Int32>>()
            let w = wP + b &* 16
            for j in 0..<16 {
                let p = UnsafeRawPointer(a + (b &* 16 &+ j) &* np &* 2)
                func broadcast(_ q: Int) -> SIMD16<Int16> {
                    unsafeBitCast(SIMD8<UInt32>(repeating: w[q &* rowStride &+ j]), to: SIMD16<Int16>.self)
                }
                let w0 = broadcast(0), w1 = broadcast(1), w2 = broadcast(2), w3 = broadcast(3)
                let a0 = p.loadUnaligned(as: SIMD16<Int16>.self)
                c0.r0 &+= pairProducts(a0, w0); c0.r1 &+= pairProducts(a0, w1)
                c0.r2 &+= pairProducts(a0, w2); c0.r3 &+= pairProducts(a0, w3)
                if two {
                    let a1 = p.loadUnaligned(fromByteOffset: 32, as: SIMD16<Int16>.self)
                    c1.r0 &+= pairProducts(a1, w0); c1.r1 &+= pairProducts(a1, w1)
                    c1.r2 &+= pairProducts(a1, w2); c1.r3 &+= pairProducts(a1, w3)
                }
            }
            if let offsets {
                let o0 = UnsafeRawPointer(offsets + b &* np).loadUnaligned(as: SIMD8<Int32>.self)
                c0.r0 &-= o0; c0.r1 &-= o0; c0.r2 &-= o0; c0.r3 &-= o0
                if two {
                    let o1 = UnsafeRawPointer(offsets + (b &* np &+ 8)).loadUnaligned(as: SIMD8<Int32>.self)
                    c1.r0 &-= o1; c1.r1 &-= o1; c1.r2 &-= o1; c1.r3 &-= o1
                }
            }
            let o = c + b &* 8
            o[0] = c0.r0; o[1] = c0.r1; o[2] = c0.r2; o[3] = c0.r3
            if two { o[4] = c1.r0; o[5] = c1.r1; o[6] = c1.r2; o[7] = c1.r3 }
        }
    }

    /// a[2i]·w[2i] + a[2i+1]·w[2i+1] in 32 bits for i < 8: written as widened products and a sum
    /// of their even and odd halves, which LLVM turns into one `vpmaddwd`.
    @inline(__always) static func pairProducts(_ a: SIMD16<Int16>, _ w: SIMD16<Int16>) -> SIMD8<Int32> {
        let p = widen(a) &* widen(w)
        return p.evenHalf &+ p.oddHalf
    }

    /// Sign-extends 16 lanes to 32 bits (written out lane by lane: the generic SIMD
    /// conversion initializers are not inlined).
    @inline(__always) static func widen(_ s: SIMD16<Int16>) -> SIMD16<Int32> {
        var r = SIMD16<Int32>()
        for i in 0..<16 { r[i] = Int32(s[i]) }
        return r
    }
}
