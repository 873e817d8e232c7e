/// What `cotforge model info` shows about a GGUF: architecture, sizes, tensor types,
/// tokenizer and chat template, read from the metadata without loading weights.
public struct ModelSummary: Sendable {
    public var path: String
    public var version: UInt32
    public var fileSize: Int
    public var architecture: String
    public var name: String?
    /// (label, value) pairs of the architecture's hyperparameters, in a fixed order.
    public var hyperparameters: [(String, String)]
    public var parameterCount: Int
    /// Tensor count per type, most common first.
    public var typeCounts: [(String, Int)]
    public var tensors: [(name: String, dims: [Int], type: String, bytes: Int)]
    public var tokenizer: [(String, String)]
    public var chatTemplate: String?
    public var unsupportedTypes: [String]

    public init(_ f: GGUFFile) {
        path = f.path
        version = f.version
        fileSize = f.fileSize
        let arch = f.architecture ?? "unknown"
        architecture = arch
        name = f["general.name"]?.stringValue
        let keys: [(String, String)] = [
            ("layers", "block_count"), ("context length", "context_length"), ("embedding width", "embedding_length"),
            ("feed-forward width", "feed_forward_length"), ("attention heads", "attention.head_count"),
            ("KV heads", "attention.head_count_kv"), ("RoPE base", "rope.freq_base"),
            ("RoPE dimensions", "rope.dimension_count"), ("RMSNorm epsilon", "attention.layer_norm_rms_epsilon"),
            ("vocabulary", "vocab_size"),
        ]
        hyperparameters = keys.compactMap { label, key in f["\(arch).\(key)"].map { (label, $0.summary) } }
        parameterCount = f.tensors.reduce(0) { $0 + $1.elementCount }
        var counts: [String: Int] = [:]
        for t in f.tensors { counts[t.typeName, default: 0] += 1 }
        typeCounts = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
        tensors = f.tensors.map { ($0.name, $0.dims, $0.typeName, $0.byteCount) }
        unsupportedTypes = Array(Set(f.tensors.filter { !($0.type?.isSupported ?? false) }.map(\.typeName))).sorted()
        var tok: [(String, String)] = []
        if let m = f["tokenizer.ggml.model"]?.stringValue { tok.append(("model", m)) }
        if let p = f["tokenizer.ggml.pre"]?.stringValue { tok.append(("pre-tokenizer", p)) }
        if let t = f["tokenizer.ggml.tokens"]?.arrayValue { tok.append(("tokens", "\(t.count)")) }
        if let m = f["tokenizer.ggml.merges"]?.arrayValue { tok.append(("merges", "\(m.count)")) }
        let tokens = f["tokenizer.ggml.tokens"]?.arrayValue
        for (label, key) in [("BOS", "bos_token_id"), ("EOS", "eos_token_id"), ("padding", "padding_token_id")] {
            if let id = f["tokenizer.ggml.\(key)"]?.intValue {
                let text = tokens.flatMap { id < $0.count ? $0[id].stringValue : nil }.map { " \($0)" } ?? ""
                tok.append((label, "\(id)\(text)"))
            }
        }
        tokenizer = tok
        chatTemplate = f["tokenizer.chat_template"]?.stringValue
    }
}
