/// A weight matrix [out × in], row-major as GGUF stores it: f32 (multiplied through BLAS) or
/// kept in its block format (multiplied as llama.cpp does, see `QuantizedMatrix`).
public enum WeightMatrix: Sendable {
    case f32([Float])
    case quantized(QuantizedMatrix)

    /// The f32 values (dequantized when the matrix is quantized).
    public var floats: [Float] {
        switch self {
        case .f32(let a): return a
        case .quantized(let m):
            var out = [Float](repeating: 0, count: m.rows * m.cols)
            m.data.withUnsafeBytes { raw in out.withUnsafeMutableBufferPointer { try? Dequantize.row(m.type, raw.baseAddress!, count: m.rows * m.cols, into: $0.baseAddress!) } }
            return out
        }
    }

    /// Row `r` (`cols` values) written to `y`.
    func row(_ r: Int, cols: Int, into y: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32(let a): a.withUnsafeBufferPointer { y.update(from: $0.baseAddress! + r * cols, count: cols) }
        case .quantized(let m):
            let rowBytes = cols / m.type.blockSize * m.type.typeSize
            m.data.withUnsafeBytes { try? Dequantize.row(m.type, $0.baseAddress! + r * rowBytes, count: cols, into: y) }
        }
    }
}

/// Weights of one transformer block.
public struct LlamaBlockWeights: Sendable {
    public var attnNorm: [Float]          // [C]
    public var wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix, wo: WeightMatrix
    public var bq: [Float]?, bk: [Float]?, bv: [Float]?   // Qwen2
    public var ffnNorm: [Float]           // [C]
    public var wGate: WeightMatrix, wUp: WeightMatrix, wDown: WeightMatrix

    public init(attnNorm: [Float], wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix, wo: WeightMatrix,
                bq: [Float]? = nil, bk: [Float]? = nil, bv: [Float]? = nil, ffnNorm: [Float],
                wGate: WeightMatrix, wUp: WeightMatrix, wDown: WeightMatrix) {
        self.attnNorm = attnNorm; self.wq = wq; self.wk = wk; self.wv = wv; self.wo = wo
        self.bq = bq; self.bk = bk; self.bv = bv; self.ffnNorm = ffnNorm
        self.wGate = wGate; self.wUp = wUp; self.wDown = wDown
    }
}

/// A Llama- or Qwen2-architecture model. Weights of the formats `QuantizedMatrix` supports stay
/// quantized and are multiplied with llama.cpp's arithmetic; others are dequantized to f32.
/// Tensor names follow llama.cpp's GGUF names (`blk.N.attn_q.weight`, …).
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let tokenEmbedding: WeightMatrix   // [V × C]
    public let blocks: [LlamaBlockWeights]
    public let outputNorm: [Float]
    /// [V × C]; nil when tied to the token embedding.
    public let output: WeightMatrix?
    /// Keep keys, values, queries and attention weights in f16, as llama.cpp does with its
    /// default f16 KV cache (on for GGUF models, off for models built in code).
    public var f16Attention = false
    /// The attention of a pass is split over `threads` from this much work on (products of
    /// tokens, visible positions and head widths): below it, handing out the parts costs more
    /// than they save.
    var attentionThreadsFrom = 1 << 18
    /// Threads for the products and the attention (`WorkerPool`); OpenBLAS runs on the thread
    /// that calls it, one tile at a time.
    public var threads = 1

    public init(config: LlamaConfig, tokenEmbedding: WeightMatrix, blocks: [LlamaBlockWeights], outputNorm: [Float], output: WeightMatrix?) throws {
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.blocks = blocks
        self.outputNorm = outputNorm
        self.output = output
        try BLAS.load()
    }

    /// How a GGUF's weights are computed with.
    public enum Precision: String, Sendable, CaseIterable {
        /// llama.cpp's CPU arithmetic: quantized weights stay quantized and meet 8-bit
        /// quantized activations; K/V, Q and attention weights in f16 (its default cache).
        case llamaCpp = "llama.cpp"
        /// Every weight dequantized to f32, attention in f32: the exact math of the model as stored.
        case f32
    }

    /// Loads a GGUF's weights; throws naming a missing tensor, a shape mismatch or an
    /// unsupported type.
    public convenience init(_ f: GGUFFile, precision: Precision = .llamaCpp) throws {
        let c = try LlamaConfig(f)
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = f.tensor(name) else { throw GGUFError(path: f.path, message: "tensor \(name) is missing") }
            guard t.dims == shape else {
                throw GGUFError(path: f.path, message: "tensor \(name) has shape \(t.dims), expected \(shape) for this config")
            }
            defer { f.release(t) }
            return try Dequantize.tensor(f, t)
        }
        func optional(_ name: String, _ shape: [Int]) throws -> [Float]? {
            f.tensor(name) == nil ? nil : try tensor(name, shape)
        }
        /// A matrix tensor: kept quantized when an exact kernel exists, else dequantized.
        func matrix(_ name: String, _ shape: [Int]) throws -> WeightMatrix {
            guard let t = f.tensor(name) else { throw GGUFError(path: f.path, message: "tensor \(name) is missing") }
            guard t.dims == shape else {
                throw GGUFError(path: f.path, message: "tensor \(name) has shape \(t.dims), expected \(shape) for this config")
            }
            defer { f.release(t) }
            if precision == .llamaCpp, let type = t.type,
               let q = QuantizedMatrix(type: type, rows: shape[1], cols: shape[0], data: Array(f.data(t))) {
                return .quantized(q)
            }
            return .f32(try Dequantize.tensor(f, t))
        }
        let C = c.width, KV = c.kvWidth, F = c.ffnWidth, Q = c.heads * c.headDim
        var blocks: [LlamaBlockWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            blocks.append(LlamaBlockWeights(
                attnNorm: try tensor(p + "attn_norm.weight", [C]),
                wq: try matrix(p + "attn_q.weight", [C, Q]), wk: try matrix(p + "attn_k.weight", [C, KV]),
                wv: try matrix(p + "attn_v.weight", [C, KV]), wo: try matrix(p + "attn_output.weight", [Q, C]),
                bq: try optional(p + "attn_q.bias", [Q]), bk: try optional(p + "attn_k.bias", [KV]), bv: try optional(p + "attn_v.bias", [KV]),
                ffnNorm: try tensor(p + "ffn_norm.weight", [C]),
                wGate: try matrix(p + "ffn_gate.weight", [C, F]), wUp: try matrix(p + "ffn_up.weight", [C, F]),
                wDown: try matrix(p + "ffn_down.weight", [F, C])))
        }
        try self.init(config: c, tokenEmbedding: try matrix("token_embd.weight", [C, c.vocabulary]), blocks: blocks,
                      outputNorm: try tensor("output_norm.weight", [C]),
                      output: f.tensor("output.weight") == nil ? nil : try matrix("output.weight", [C, c.vocabulary]))
        f16Attention = precision == .llamaCpp
    }

    /// A fresh cache for `capacity` positions.
    public func makeCache(capacity: Int? = nil) -> KVCache {
        KVCache(layers: config.layers, capacity: capacity ?? min(config.contextLength, 2048), kvWidth: config.kvWidth, headDim: config.headDim,
                half: f16Attention)
    }
}

/// Keys and values of the positions seen so far, per layer: values as [capacity × kvWidth],
/// keys in tiles of 16 positions (`KeyLayout`: [kvHead][tile][dim][16], capacity rounded up
/// to 16), so that attention scores 16 positions at once. A model that rounds its cache to
/// f16 as llama.cpp does (`f16Attention`) keeps it in f16 (`keys16`, `values16`), half the
/// memory and the bandwidth; otherwise in f32 (`keys`, `values`). The other pair is empty.
public struct KVCache: Sendable {
    public let capacity: Int
    public let kvWidth: Int
    public internal(set) var count = 0
    let keyLayout: KeyLayout
    let half: Bool
    var keys: [[Float]] = [], values: [[Float]] = []
    var keys16: [[Float16]] = [], values16: [[Float16]] = []

    init(layers: Int, capacity: Int, kvWidth: Int, headDim: Int, half: Bool) {
        self.capacity = capacity
        self.kvWidth = kvWidth
        self.half = half
        let tiles = (capacity + 15) / 16
        keyLayout = KeyLayout(headDim: headDim, tiles: tiles)
        if half {
            keys16 = Array(repeating: [Float16](repeating: 0, count: tiles * 16 * kvWidth), count: layers)
            values16 = Array(repeating: [Float16](repeating: 0, count: capacity * kvWidth), count: layers)
        } else {
            keys = Array(repeating: [Float](repeating: 0, count: tiles * 16 * kvWidth), count: layers)
            values = Array(repeating: [Float](repeating: 0, count: capacity * kvWidth), count: layers)
        }
    }

    /// Writes the keys and values of `n` positions after `count` into layer `l`: rows r0… of
    /// `k` and `v` ([rows × kvWidth]), keys into their tiles.
    mutating func store(layer l: Int, keys k: [Float], values v: [Float], rows r0: Int, count n: Int) {
        if half { Self.store(&keys16[l], &values16[l], k, v, r0, n, at: count, layout: keyLayout, kvWidth: kvWidth) }
        else { Self.store(&keys[l], &values[l], k, v, r0, n, at: count, layout: keyLayout, kvWidth: kvWidth) }
    }

    private static func store<E: CacheScalar>(_ keys: inout [E], _ values: inout [E], _ k: [Float], _ v: [Float], _ r0: Int, _ n: Int,
                                              at p0: Int, layout: KeyLayout, kvWidth KV: Int) {
        let d = layout.headDim
        for t in 0..<n { for g in 0..<(KV / d) { for j in 0..<d { keys[layout.index(g, p0 + t, j)] = E(k[(r0 + t) * KV + g * d + j]) } } }
        for j in 0..<(n * KV) { values[p0 * KV + j] = E(v[r0 * KV + j]) }
    }

    /// Forgets positions from `position` on (to branch or retry from a prefix).
    public mutating func truncate(to position: Int) { count = min(count, max(0, position)) }
}
