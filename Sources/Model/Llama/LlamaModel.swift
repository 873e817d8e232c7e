/// Weights of one transformer block, f32, row-major [out × in] as GGUF stores them.
public struct LlamaBlockWeights: Sendable {
    public var attnNorm: [Float]          // [C]
    public var wq: [Float], wk: [Float], wv: [Float], wo: [Float]
    public var bq: [Float]?, bk: [Float]?, bv: [Float]?   // Qwen2
    public var ffnNorm: [Float]           // [C]
    public var wGate: [Float], wUp: [Float], wDown: [Float]
}

/// A Llama- or Qwen2-architecture model with f32 weights (dequantized at load).
/// Tensor names follow llama.cpp's GGUF names (`blk.N.attn_q.weight`, …).
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let tokenEmbedding: [Float]    // [V × C]
    public let blocks: [LlamaBlockWeights]
    public let outputNorm: [Float]
    /// [V × C]; nil when tied to the token embedding.
    public let output: [Float]?

    public init(config: LlamaConfig, tokenEmbedding: [Float], blocks: [LlamaBlockWeights], outputNorm: [Float], output: [Float]?) throws {
        self.config = config
        self.tokenEmbedding = tokenEmbedding
        self.blocks = blocks
        self.outputNorm = outputNorm
        self.output = output
        try BLAS.load()
    }

    /// Loads a GGUF's weights; throws naming a missing tensor, a shape mismatch or an
    /// unsupported type.
    public convenience init(_ f: GGUFFile) throws {
        let c = try LlamaConfig(f)
        func tensor(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let t = f.tensor(name) else { throw GGUFError(path: f.path, message: "tensor \(name) is missing") }
            guard t.dims == shape else {
                throw GGUFError(path: f.path, message: "tensor \(name) has shape \(t.dims), expected \(shape) for this config")
            }
            return try Dequantize.tensor(f, t)
        }
        func optional(_ name: String, _ shape: [Int]) throws -> [Float]? {
            f.tensor(name) == nil ? nil : try tensor(name, shape)
        }
        let C = c.width, KV = c.kvWidth, F = c.ffnWidth, Q = c.heads * c.headDim
        var blocks: [LlamaBlockWeights] = []
        for i in 0..<c.layers {
            let p = "blk.\(i)."
            blocks.append(LlamaBlockWeights(
                attnNorm: try tensor(p + "attn_norm.weight", [C]),
                wq: try tensor(p + "attn_q.weight", [C, Q]), wk: try tensor(p + "attn_k.weight", [C, KV]),
                wv: try tensor(p + "attn_v.weight", [C, KV]), wo: try tensor(p + "attn_output.weight", [Q, C]),
                bq: try optional(p + "attn_q.bias", [Q]), bk: try optional(p + "attn_k.bias", [KV]), bv: try optional(p + "attn_v.bias", [KV]),
                ffnNorm: try tensor(p + "ffn_norm.weight", [C]),
                wGate: try tensor(p + "ffn_gate.weight", [C, F]), wUp: try tensor(p + "ffn_up.weight", [C, F]),
                wDown: try tensor(p + "ffn_down.weight", [F, C])))
        }
        try self.init(config: c, tokenEmbedding: try tensor("token_embd.weight", [C, c.vocabulary]), blocks: blocks,
                      outputNorm: try tensor("output_norm.weight", [C]), output: try optional("output.weight", [C, c.vocabulary]))
    }

    /// A fresh cache for `capacity` positions.
    public func makeCache(capacity: Int? = nil) -> KVCache {
        KVCache(layers: config.layers, capacity: capacity ?? min(config.contextLength, 2048), kvWidth: config.kvWidth)
    }
}

/// Keys and values of the positions seen so far, per layer: [capacity × kvWidth] each.
public struct KVCache: Sendable {
    public let capacity: Int
    public let kvWidth: Int
    public internal(set) var count = 0
    var keys: [[Float]]
    var values: [[Float]]

    init(layers: Int, capacity: Int, kvWidth: Int) {
        self.capacity = capacity
        self.kvWidth = kvWidth
        keys = Array(repeating: [Float](repeating: 0, count: capacity * kvWidth), count: layers)
        values = keys
    }

    /// Forgets positions from `position` on (to branch or retry from a prefix).
    public mutating func truncate(to position: Int) { count = min(count, max(0, position)) }
}
