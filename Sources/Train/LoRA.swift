import Foundation
import Hashing
import Model

/// Low-rank adapters (Hu et al., 2021): a target matrix W computes W·x + (α/r)·B·A·dropout(x),
/// with A [r × in] drawn from N(0, 1/in) and B [out × r] zero, so training starts from the
/// base model exactly. Only A and B train; `merge` folds them into the base weights.
public final class LoRA: @unchecked Sendable {
    public let rank: Int
    public let alpha: Float
    public let dropout: Float
    public let targets: Set<ModuleKind>
    public let layout: ParameterLayout
    public let parameters: UnsafeMutableBufferPointer<Float>
    public let gradients: UnsafeMutableBufferPointer<Float>
    public var scale: Float { alpha / Float(rank) }
    /// Base matrix name → offsets of its A and B.
    let adapters: [String: (a: Int, b: Int)]

    public static let defaultTargets: Set<ModuleKind> = [.q, .k, .v, .o, .gate, .up, .down]

    public init(for model: TrainableLlama, rank: Int, alpha: Float, dropout: Float = 0, targets: Set<ModuleKind> = LoRA.defaultTargets,
                seed: UInt64) throws {
        guard rank > 0 else { throw TrainError("LoRA rank must be positive, not \(rank)") }
        guard (0..<1).contains(dropout) else { throw TrainError("LoRA dropout must be in [0, 1), not \(dropout)") }
        let bad = targets.filter { $0 == .norm || $0 == .embed || $0 == .output }
        guard bad.isEmpty else {
            throw TrainError("LoRA targets attention and FFN matrices; not \(bad.map(\.rawValue).sorted().joined(separator: ", "))",
                             hint: "choose from q, k, v, o, gate, up, down")
        }
        self.rank = rank; self.alpha = alpha; self.dropout = dropout; self.targets = targets
        layout = ParameterLayout(loraOf: model.layout, rank: rank, targets: targets)
        parameters = .allocate(capacity: max(1, layout.count)); parameters.initialize(repeating: 0)
        gradients = .allocate(capacity: max(1, layout.count)); gradients.initialize(repeating: 0)
        var map: [String: (a: Int, b: Int)] = [:]
        var rng = SplitMix64(seed: seed)
        for t in layout.tensors where t.name.hasSuffix(".lora_a") {
            let base = String(t.name.dropLast(".lora_a".count))
            map[base] = (t.offset, layout[base + ".lora_b"]!.offset)
            let std = 1 / Float(t.shape[1]).squareRoot()
            for i in t.range { parameters[i] = std * TrainableLlama.gaussian(&rng) }
        }
        adapters = map
    }

    deinit { parameters.deallocate(); gradients.deallocate() }

    public func zeroGradients() { gradients.update(repeating: 0) }

    /// W += (α/r)·B·A for every adapted matrix of `model` (the export of a LoRA run).
    public func merge(into model: TrainableLlama) {
        for (name, ab) in adapters {
            let t = model.layout[name]!
            let out = t.shape[0], inner = t.shape[1]
            BLAS.gemm(m: out, n: inner, k: rank, alpha: scale, parameters.baseAddress! + ab.b, lda: rank,
                      parameters.baseAddress! + ab.a, ldb: inner, beta: 1, model.parameters.baseAddress! + t.offset, ldc: inner)
        }
    }
}
