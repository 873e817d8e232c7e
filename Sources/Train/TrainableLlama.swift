import Foundation
import Hashing
import Model

/// A Llama model in f32 whose parameters and gradients each live in one flat buffer laid out
/// by `ParameterLayout`, with a forward pass that keeps what the hand-written backward pass
/// needs. The architecture is the engine's (`LlamaConfig`, GGUF tensor names, the engine's
/// RoPE and RMSNorm), so a trained model converts to a `LlamaModel` without a mapping.
public final class TrainableLlama: @unchecked Sendable {
    public let layout: ParameterLayout
    public var config: LlamaConfig { layout.config }
    /// Parameters and their gradients, `layout.count` floats each.
    public let parameters: UnsafeMutableBufferPointer<Float>
    public let gradients: UnsafeMutableBufferPointer<Float>
    /// Adapters; while attached, only they train (the base weights get no gradients).
    public var lora: LoRA?
    public var trainsBase: Bool { lora == nil }

    init(layout: ParameterLayout) throws {
        guard layout.config.architecture == .llama else {
            throw TrainError("training supports the llama architecture; this model is \(layout.config.architecture.rawValue)")
        }
        self.layout = layout
        parameters = .allocate(capacity: layout.count)
        parameters.initialize(repeating: 0)
        gradients = .allocate(capacity: layout.count)
        gradients.initialize(repeating: 0)
        try BLAS.load()
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    /// A model for training from scratch: matrices drawn from N(0, 0.02²) with the residual
    /// projections (attention output, FFN down) scaled by 1/√(2·layers) as in GPT-2, norms at 1.
    public convenience init(config: LlamaConfig, tiedOutput: Bool = true, seed: UInt64) throws {
        try self.init(layout: ParameterLayout(config: config, tiedOutput: tiedOutput))
        var rng = SplitMix64(seed: seed)
        for t in layout.tensors {
            let p = parameters.baseAddress! + t.offset
            if t.kind == .norm {
                for i in 0..<t.count { p[i] = 1 }
                continue
            }
            let std: Float = (t.kind == .o || t.kind == .down) ? 0.02 / Float(2 * config.layers).squareRoot() : 0.02
            for i in 0..<t.count { p[i] = std * Self.gaussian(&rng) }
        }
    }

    /// The weights of an engine model (a GGUF loaded with any precision), dequantized to f32.
    public convenience init(_ model: LlamaModel) throws {
        try self.init(layout: ParameterLayout(config: model.config, tiedOutput: model.output == nil))
        func set(_ name: String, _ values: [Float]) {
            let t = layout[name]!
            precondition(values.count == t.count, "\(name): \(values.count) values for \(t.count) parameters")
            values.withUnsafeBufferPointer { (parameters.baseAddress! + t.offset).update(from: $0.baseAddress!, count: t.count) }
        }
        set("token_embd.weight", model.tokenEmbedding.floats)
        for (l, b) in model.blocks.enumerated() {
            guard b.bq == nil && b.bk == nil && b.bv == nil else { throw TrainError("attention biases (Qwen2) are not trained yet") }
            let p = "blk.\(l)."
            set(p + "attn_norm.weight", b.attnNorm)
            set(p + "attn_q.weight", b.wq.floats); set(p + "attn_k.weight", b.wk.floats)
            set(p + "attn_v.weight", b.wv.floats); set(p + "attn_output.weight", b.wo.floats)
            set(p + "ffn_norm.weight", b.ffnNorm)
            set(p + "ffn_gate.weight", b.wGate.floats); set(p + "ffn_up.weight", b.wUp.floats)
            set(p + "ffn_down.weight", b.wDown.floats)
        }
        set("output_norm.weight", model.outputNorm)
        if let out = model.output { set("output.weight", out.floats) }
    }

    /// The current weights as an engine model (f32 matrices): for generation-based evaluation
    /// and export through the engine's own forward pass.
    public func engineModel() throws -> LlamaModel {
        func values(_ name: String) -> [Float] { Array(parameters[layout[name]!.range]) }
        func matrix(_ name: String) -> WeightMatrix { .f32(values(name)) }
        let blocks = (0..<config.layers).map { l -> LlamaBlockWeights in
            let p = "blk.\(l)."
            return LlamaBlockWeights(attnNorm: values(p + "attn_norm.weight"), wq: matrix(p + "attn_q.weight"), wk: matrix(p + "attn_k.weight"),
                                     wv: matrix(p + "attn_v.weight"), wo: matrix(p + "attn_output.weight"),
                                     ffnNorm: values(p + "ffn_norm.weight"), wGate: matrix(p + "ffn_gate.weight"),
                                     wUp: matrix(p + "ffn_up.weight"), wDown: matrix(p + "ffn_down.weight"))
        }
        return try LlamaModel(config: config, tokenEmbedding: matrix("token_embd.weight"), blocks: blocks,
                              outputNorm: values("output_norm.weight"), output: layout.tiedOutput ? nil : matrix("output.weight"))
    }

    public func zeroGradients() {
        gradients.update(repeating: 0)
        lora?.zeroGradients()
    }

    /// Box–Muller from a splitmix64 stream: the same numbers on every machine.
    static func gaussian(_ rng: inout SplitMix64) -> Float {
        let u1 = Double(rng.next() >> 11 | 1) / Double(1 << 53), u2 = Double(rng.next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// An error of the trainer, with what to do about it when there is something to do.
public struct TrainError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let hint: String?
    public init(_ message: String, hint: String? = nil) { self.message = message; self.hint = hint }
    public var description: String { hint.map { "\(message) (\($0))" } ?? message }
}
