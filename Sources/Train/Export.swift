import Foundation
import Model

/// Writing a trained model where other tools read it: Hugging Face `LlamaForCausalLM`
/// (safetensors + config.json) and GGUF (F32 or F16) for the engine and llama.cpp.
extension TrainableLlama {
    /// The Hugging Face name of a GGUF tensor name.
    static func huggingFaceName(_ gguf: String) -> String {
        let fixed = ["token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
                     "output.weight": "lm_head.weight"]
        if let n = fixed[gguf] { return n }
        let parts = gguf.split(separator: ".", maxSplits: 2).map(String.init)   // blk, N, rest
        let rest = ["attn_norm.weight": "input_layernorm.weight", "attn_q.weight": "self_attn.q_proj.weight",
                    "attn_k.weight": "self_attn.k_proj.weight", "attn_v.weight": "self_attn.v_proj.weight",
                    "attn_output.weight": "self_attn.o_proj.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
                    "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight", "ffn_down.weight": "mlp.down_proj.weight"]
        return "model.layers.\(parts[1]).\(rest[parts[2]]!)"
    }

    /// GGUF stores Q and K rows permuted so RoPE rotates adjacent pairs; Hugging Face rotates
    /// the two halves of each head. Row h·d + 2i + j (GGUF) is row h·d + j·d/2 + i (HF).
    static func permuteRows(_ w: [Float], heads: Int, headDim d: Int, cols: Int, toHuggingFace: Bool) -> [Float] {
        var out = w
        for h in 0..<heads {
            for i in 0..<(d / 2) {
                for j in 0..<2 {
                    let gguf = h * d + 2 * i + j, hf = h * d + j * (d / 2) + i
                    let (src, dst) = toHuggingFace ? (gguf, hf) : (hf, gguf)
                    for c in 0..<cols { out[dst * cols + c] = w[src * cols + c] }
                }
            }
        }
        return out
    }

    /// `config.json` of `LlamaForCausalLM` for this model.
    public func huggingFaceConfig(bos: Int? = nil, eos: Int? = nil) -> [String: Any] {
        let c = config
        var j: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "hidden_size": c.width, "intermediate_size": c.ffnWidth, "num_hidden_layers": c.layers,
            "num_attention_heads": c.heads, "num_key_value_heads": c.kvHeads, "head_dim": c.headDim,
            "rms_norm_eps": Double(c.rmsEpsilon), "rope_theta": Double(c.ropeBase), "vocab_size": c.vocabulary,
            "max_position_embeddings": c.contextLength, "tie_word_embeddings": layout.tiedOutput,
            "attention_bias": false, "mlp_bias": false, "torch_dtype": "float32",
        ]
        if let bos { j["bos_token_id"] = bos }
        if let eos { j["eos_token_id"] = eos }
        return j
    }

    /// Writes `model.safetensors` and `config.json` into `dir` (Hugging Face layout).
    public func exportHuggingFace(to dir: String, bos: Int? = nil, eos: Int? = nil) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let c = config
        let tensors = layout.tensors.map { t -> SafeTensors.Tensor in
            var values = Array(parameters[t.range])
            if t.kind == .q || t.kind == .k {
                values = Self.permuteRows(values, heads: t.kind == .q ? c.heads : c.kvHeads, headDim: c.headDim, cols: t.shape[1], toHuggingFace: true)
            }
            return SafeTensors.Tensor(name: Self.huggingFaceName(t.name), shape: t.shape, values: values)
        }
        try SafeTensors.write(tensors, metadata: ["format": "pt"], to: "\(dir)/model.safetensors")
        let json = try JSONSerialization.data(withJSONObject: huggingFaceConfig(bos: bos, eos: eos), options: [.prettyPrinted, .sortedKeys])
        try json.write(to: URL(fileURLWithPath: "\(dir)/config.json"), options: .atomic)
    }

    /// Reads a Hugging Face export (`model.safetensors` + `config.json`) back into a model.
    public static func importHuggingFace(from dir: String) throws -> TrainableLlama {
        guard let data = FileManager.default.contents(atPath: "\(dir)/config.json"),
              let j = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TrainError("\(dir)/config.json: missing or not JSON")
        }
        func int(_ k: String) throws -> Int {
            guard let v = j[k] as? Int else { throw TrainError("\(dir)/config.json: \(k) is missing") }
            return v
        }
        let heads = try int("num_attention_heads")
        let config = LlamaConfig(architecture: .llama, layers: try int("num_hidden_layers"), width: try int("hidden_size"),
                                 ffnWidth: try int("intermediate_size"), heads: heads, kvHeads: (j["num_key_value_heads"] as? Int) ?? heads,
                                 headDim: j["head_dim"] as? Int, ropeBase: Float((j["rope_theta"] as? Double) ?? 10000),
                                 rmsEpsilon: Float((j["rms_norm_eps"] as? Double) ?? 1e-5), vocabulary: try int("vocab_size"),
                                 contextLength: (j["max_position_embeddings"] as? Int) ?? 2048)
        let m = try TrainableLlama(layout: ParameterLayout(config: config, tiedOutput: (j["tie_word_embeddings"] as? Bool) ?? false))
        let (tensors, _) = try SafeTensors.read("\(dir)/model.safetensors")
        for t in m.layout.tensors {
            let hf = huggingFaceName(t.name)
            guard let st = tensors[hf], st.values.count == t.count else {
                throw TrainError("\(dir)/model.safetensors: tensor \(hf) is missing or has the wrong size")
            }
            var values = st.values
            if t.kind == .q || t.kind == .k {
                values = permuteRows(values, heads: t.kind == .q ? config.heads : config.kvHeads, headDim: config.headDim, cols: t.shape[1], toHuggingFace: false)
            }
            values.withUnsafeBufferPointer { (m.parameters.baseAddress! + t.offset).update(from: $0.baseAddress!, count: t.count) }
        }
        return m
    }

    /// Writes a GGUF the engine and llama.cpp run: the model's hyperparameters, F32 (or F16
    /// for matrices; norms stay F32 as llama.cpp writes them) tensors, and every `tokenizer.*`
    /// and `general.*` key of `metadataFrom` (the GGUF the model came from, or the one whose
    /// tokenizer it uses).
    public func exportGGUF(to path: String, f16: Bool = false, metadataFrom source: GGUFFile?, name: String? = nil) throws {
        let c = config
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        for (k, v) in source?.metadata ?? [] where k.hasPrefix("general.") && k != "general.architecture" && k != "general.file_type"
            && k != "general.quantization_version" {
            w.set(k, v)
        }
        if let name { w.set("general.name", .string(name)) }
        w.set("general.file_type", .uint32(f16 ? 1 : 0))
        w.set("llama.block_count", .uint32(UInt32(c.layers)))
        w.set("llama.context_length", .uint32(UInt32(c.contextLength)))
        w.set("llama.embedding_length", .uint32(UInt32(c.width)))
        w.set("llama.feed_forward_length", .uint32(UInt32(c.ffnWidth)))
        w.set("llama.attention.head_count", .uint32(UInt32(c.heads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(c.kvHeads)))
        w.set("llama.attention.key_length", .uint32(UInt32(c.headDim)))
        w.set("llama.attention.value_length", .uint32(UInt32(c.headDim)))
        w.set("llama.rope.freq_base", .float32(c.ropeBase))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsEpsilon))
        w.set("llama.vocab_size", .uint32(UInt32(c.vocabulary)))
        w.set("llama.rope.dimension_count", .uint32(UInt32(c.headDim)))
        for (k, v) in source?.metadata ?? [] where k.hasPrefix("tokenizer.") { w.set(k, v) }
        for t in layout.tensors {
            let dims = Array(t.shape.reversed())
            let values = Array(parameters[t.range])
            if f16 && t.shape.count == 2 {
                let raw = values.map { Float16($0).bitPattern.littleEndian }.withUnsafeBytes { Array($0) }
                w.addTensor(t.name, dims: dims, type: .f16, raw: raw)
            } else {
                w.addTensor(t.name, dims: dims, floats: values)
            }
        }
        try w.write(to: path)
    }
}
