#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// OpenBLAS, opened on first use. Linking it would start its thread pool in every cotforge
/// command at load time (even `shard`, which never multiplies a matrix); opening it here,
/// after setting OPENBLAS_NUM_THREADS, also makes `--threads` decide the pool size.
public enum BLAS {
    typealias Sgemm = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias Sgemv = @convention(c) (Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void

    struct Functions: @unchecked Sendable {
        let sgemm: Sgemm
        let sgemv: Sgemv
        let setThreads: SetThreads?
    }

    // CBLAS enum values (cblas.h).
    static let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112

    private static let loaded = Mutex<Functions?>(nil)

    /// Opens OpenBLAS with `threads` threads (the first call decides the pool size; later calls
    /// with a count only change the count used, and calls without one leave it as it is).
    /// Throws when the library is not installed.
    public static func load(threads requested: Int? = nil) throws {
        try loaded.withLock { f in
            if let f {
                if let requested { f.setThreads?(Int32(max(1, requested))) }
                return
            }
            let threads = requested ?? 1
            setenv("OPENBLAS_NUM_THREADS", String(max(1, threads)), 0)
            var handle: UnsafeMutableRawPointer? = nil
            for name in ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib"] {
                handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
                if handle != nil { break }
            }
            guard let h = handle else {
                throw GGUFError(path: "libopenblas", message: "OpenBLAS is not installed", hint: "apt-get install libopenblas-dev (or run scripts/install-deps.sh)")
            }
            guard let g = dlsym(h, "cblas_sgemm"), let v = dlsym(h, "cblas_sgemv") else {
                throw GGUFError(path: "libopenblas", message: "the OpenBLAS library lacks cblas_sgemm/cblas_sgemv")
            }
            let st = dlsym(h, "openblas_set_num_threads").map { unsafeBitCast($0, to: SetThreads.self) }
            st?(Int32(max(1, threads)))
            f = Functions(sgemm: unsafeBitCast(g, to: Sgemm.self), sgemv: unsafeBitCast(v, to: Sgemv.self), setThreads: st)
        }
    }

    static var functions: Functions {
        if let f = loaded.withLock({ $0 }) { return f }
        // Callers load first (the model does at init); a missing library was reported there.
        try? load()
        return loaded.withLock { $0 }!
    }

    /// y[m] = A[m×k] · x[k] (A row-major, each row one output).
    public static func matvec(_ a: UnsafePointer<Float>, rows m: Int, cols k: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        functions.sgemv(rowMajor, noTrans, Int32(m), Int32(k), 1, a, Int32(k), x, 1, 0, y, 1)
    }

    /// Y[t×m] = X[t×k] · Wᵀ where W is [m×k] row-major (each row one output): t tokens at once.
    public static func matmulTransposed(_ x: UnsafePointer<Float>, rows t: Int, _ w: UnsafePointer<Float>, outputs m: Int, inner k: Int,
                                        _ y: UnsafeMutablePointer<Float>) {
        functions.sgemm(rowMajor, noTrans, trans, Int32(t), Int32(m), Int32(k), 1, x, Int32(k), w, Int32(k), 0, y, Int32(m))
    }

    /// Y = X[t×k] · Wᵀ for W [m×k] into the columns of a wider Y whose rows are `ldy` apart
    /// (a tile of outputs written in place).
    public static func matmulTransposed(_ x: UnsafePointer<Float>, rows t: Int, _ w: UnsafePointer<Float>, outputs m: Int, inner k: Int,
                                        _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        functions.sgemm(rowMajor, noTrans, trans, Int32(t), Int32(m), Int32(k), 1, x, Int32(k), w, Int32(k), 0, y, Int32(ldy))
    }

    /// C[m×n] = α·op(A)·op(B) + β·C, all row-major, op = transpose when asked: the general
    /// product the trainer's forward and backward passes are made of.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                            _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                            beta: Float = 0, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        functions.sgemm(rowMajor, transA ? trans : noTrans, transB ? trans : noTrans, Int32(m), Int32(n), Int32(k),
                        alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The same product with plain loops: the oracle `matmulTransposed` is tested against.
    public static func matmulTransposedReference(_ x: UnsafePointer<Float>, rows t: Int, _ w: UnsafePointer<Float>, outputs m: Int, inner k: Int,
                                                 _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<t {
            for j in 0..<m {
                var s: Float = 0
                for l in 0..<k { s += x[i * k + l] * w[j * k + l] }
                y[i * m + j] = s
            }
        }
    }
}
