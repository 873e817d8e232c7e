/// Hyperparameters of a Llama-family model, read from GGUF metadata (`{arch}.block_count`, …).
public struct LlamaConfig: Sendable, Equatable {
    public enum Architecture: String, Sendable { case llama, qwen2 }
    /// How RoPE pairs dimensions. GGUF conversion permutes Llama's Q/K weights so that pairs are
    /// adjacent (ggml "norm" mode); Qwen2 keeps Hugging Face's halves (ggml "neox" mode).
    public enum RopeStyle: Sendable { case adjacentPairs, halves }

    public var architecture: Architecture
    public var layers: Int
    public var width: Int          // embedding_length, C
    public var ffnWidth: Int       // feed_forward_length
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ropeBase: Float
    public var rmsEpsilon: Float
    public var vocabulary: Int
    public var contextLength: Int

    public var ropeStyle: RopeStyle { architecture == .qwen2 ? .halves : .adjacentPairs }
    public var kvWidth: Int { kvHeads * headDim }

    public init(architecture: Architecture, layers: Int, width: Int, ffnWidth: Int, heads: Int, kvHeads: Int,
                headDim: Int? = nil, ropeBase: Float = 10000, rmsEpsilon: Float = 1e-5, vocabulary: Int, contextLength: Int) {
        self.architecture = architecture; self.layers = layers; self.width = width; self.ffnWidth = ffnWidth
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim ?? width / heads
        self.ropeBase = ropeBase; self.rmsEpsilon = rmsEpsilon; self.vocabulary = vocabulary; self.contextLength = contextLength
    }

    /// Reads the config of a GGUF; throws naming what is missing or unsupported.
    public init(_ f: GGUFFile) throws {
        guard let archName = f.architecture else { throw GGUFError(path: f.path, message: "general.architecture is missing") }
        guard let arch = Architecture(rawValue: archName) else {
            throw GGUFError(path: f.path, message: "architecture \(archName) is not supported", hint: "supported: llama, qwen2")
        }
        func int(_ key: String) throws -> Int {
            guard let v = f["\(archName).\(key)"]?.intValue, v > 0 else {
                throw GGUFError(path: f.path, message: "\(archName).\(key) is missing or not a positive integer")
            }
            return v
        }
        let heads = try int("attention.head_count")
        let width = try int("embedding_length")
        let vocab = f["\(archName).vocab_size"]?.intValue ?? f["tokenizer.ggml.tokens"]?.arrayValue?.count ?? 0
        self.init(architecture: arch, layers: try int("block_count"), width: width, ffnWidth: try int("feed_forward_length"),
                  heads: heads, kvHeads: f["\(archName).attention.head_count_kv"]?.intValue ?? heads,
                  headDim: f["\(archName).attention.key_length"]?.intValue,
                  ropeBase: Float(f["\(archName).rope.freq_base"]?.doubleValue ?? 10000),
                  rmsEpsilon: Float(f["\(archName).attention.layer_norm_rms_epsilon"]?.doubleValue ?? 1e-5),
                  vocabulary: vocab, contextLength: f["\(archName).context_length"]?.intValue ?? 2048)
        guard heads % kvHeads == 0 else { throw GGUFError(path: f.path, message: "\(heads) heads are not a multiple of \(kvHeads) KV heads") }
        guard headDim % 2 == 0 else { throw GGUFError(path: f.path, message: "head size \(headDim) is odd; RoPE needs pairs") }
    }
}
