import Model

/// What a parameter tensor is part of: the unit of module-wise learning rates (ML-LR) and of
/// the weight-decay rule (no decay on norms).
public enum ModuleKind: String, Sendable, CaseIterable, Codable {
    case embed, q, k, v, o, gate, up, down, norm, output
}

/// One tensor in the flat buffers: its GGUF name (the engine's names, so checkpoints and
/// exports need no mapping table), module kind, layer (nil outside the blocks), shape
/// ([rows, cols] for matrices, row-major, each row one output), and offset.
public struct ParameterTensor: Sendable, Equatable {
    public let name: String
    public let kind: ModuleKind
    public let layer: Int?
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    public var range: Range<Int> { offset..<(offset + count) }
}

/// Where every parameter of a Llama model lives in one flat Float buffer. Parameters,
/// gradients and both AdamW moments use the same layout, so the optimizer is one loop over
/// a buffer and a checkpoint is four buffers plus this table.
public struct ParameterLayout: Sendable, Equatable {
    public let config: LlamaConfig
    public let tiedOutput: Bool
    public private(set) var tensors: [ParameterTensor] = []
    public private(set) var count = 0
    private var index: [String: Int] = [:]

    public init(config c: LlamaConfig, tiedOutput: Bool) {
        self.config = c
        self.tiedOutput = tiedOutput
        let C = c.width, Q = c.heads * c.headDim, KV = c.kvWidth, F = c.ffnWidth
        add("token_embd.weight", .embed, nil, [c.vocabulary, C])
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            add(p + "attn_norm.weight", .norm, l, [C])
            add(p + "attn_q.weight", .q, l, [Q, C])
            add(p + "attn_k.weight", .k, l, [KV, C])
            add(p + "attn_v.weight", .v, l, [KV, C])
            add(p + "attn_output.weight", .o, l, [C, Q])
            add(p + "ffn_norm.weight", .norm, l, [C])
            add(p + "ffn_gate.weight", .gate, l, [F, C])
            add(p + "ffn_up.weight", .up, l, [F, C])
            add(p + "ffn_down.weight", .down, l, [C, F])
        }
        add("output_norm.weight", .norm, nil, [C])
        if !tiedOutput { add("output.weight", .output, nil, [c.vocabulary, C]) }
    }

    /// The adapters of `base`'s matrices whose kind is in `targets`: for each matrix W
    /// [out × in], `W.lora_a` [rank × in] and `W.lora_b` [out × rank], with W's kind and layer.
    public init(loraOf base: ParameterLayout, rank: Int, targets: Set<ModuleKind>) {
        config = base.config
        tiedOutput = base.tiedOutput
        for t in base.tensors where t.shape.count == 2 && targets.contains(t.kind) {
            add(t.name + ".lora_a", t.kind, t.layer, [rank, t.shape[1]])
            add(t.name + ".lora_b", t.kind, t.layer, [t.shape[0], rank])
        }
    }

    private mutating func add(_ name: String, _ kind: ModuleKind, _ layer: Int?, _ shape: [Int]) {
        index[name] = tensors.count
        let t = ParameterTensor(name: name, kind: kind, layer: layer, shape: shape, offset: count)
        tensors.append(t)
        count += t.count
    }

    public subscript(name: String) -> ParameterTensor? { index[name].map { tensors[$0] } }

    /// The offset of a tensor the layout always has (a programming error otherwise).
    func offset(_ name: String) -> Int { self[name]!.offset }
}
