import Foundation

/// A learning-rate multiplier for the parameters of one module kind, optionally only in a
/// range of layers: how differentiated (module-wise) learning rates such as ML-LR's are
/// written. Written `kind=multiplier` or `kind@first-last=multiplier` (`down@0-5=0.5`).
public struct ModuleRate: Sendable, Equatable, CustomStringConvertible {
    public var kind: ModuleKind
    public var layers: ClosedRange<Int>?
    public var multiplier: Float

    public init(_ kind: ModuleKind, layers: ClosedRange<Int>? = nil, multiplier: Float) {
        self.kind = kind; self.layers = layers; self.multiplier = multiplier
    }

    /// Parses `q=1,k=0.5,down@0-5=0.2`; throws naming the entry that is wrong.
    public static func parse(_ text: String) throws -> [ModuleRate] {
        try text.split(separator: ",").map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            let kinds = ModuleKind.allCases.map(\.rawValue).joined(separator: ", ")
            guard parts.count == 2, let m = Float(parts[1]), m >= 0, m.isFinite else {
                throw TrainError("module learning rate \"\(entry)\" is not kind=multiplier", hint: "e.g. q=1,k=0.5,down@0-5=0.2; kinds: \(kinds)")
            }
            let lhs = parts[0].split(separator: "@", maxSplits: 1).map(String.init)
            guard let kind = ModuleKind(rawValue: lhs[0]) else {
                throw TrainError("module learning rate \"\(entry)\": unknown module \"\(lhs[0])\"", hint: "kinds: \(kinds)")
            }
            var layers: ClosedRange<Int>? = nil
            if lhs.count == 2 {
                let ends = lhs[1].split(separator: "-").map { Int($0) }
                guard (ends.count == 1 || ends.count == 2), let a = ends.first!, let b = ends.last!, a >= 0, a <= b else {
                    throw TrainError("module learning rate \"\(entry)\": layers \"\(lhs[1])\" are not N or A-B with A ≤ B")
                }
                layers = a...b
            }
            return ModuleRate(kind, layers: layers, multiplier: m)
        }
    }

    public var description: String {
        "\(kind.rawValue)\(layers.map { "@\($0.lowerBound)-\($0.upperBound)" } ?? "")=\(multiplier)"
    }
}

/// Linear warmup to the peak rate, then a cosine decay to `minRatio` × peak at `totalSteps`.
public struct LearningRateSchedule: Sendable, Equatable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minRatio: Float

    public init(peak: Float, warmupSteps: Int = 0, totalSteps: Int, minRatio: Float = 0.1) {
        self.peak = peak; self.warmupSteps = warmupSteps; self.totalSteps = totalSteps; self.minRatio = minRatio
    }

    /// The rate at step `step` (0-based).
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(step - warmupSteps) / Float(span))
        let cosine = 0.5 * (1 + cos(Float.pi * progress))
        return peak * (minRatio + (1 - minRatio) * cosine)
    }
}

/// AdamW (Loshchilov & Hutter): Adam moments with bias correction and weight decay applied
/// to the weights directly (decoupled), none on norms. Each tensor's rate is the schedule's
/// times the product of the module rates that match it. Gradients are clipped to a global
/// norm first. Moments live in two flat buffers with the parameters' layout.
public final class AdamW: @unchecked Sendable {
    public var schedule: LearningRateSchedule
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float
    public var clipNorm: Float?
    public var moduleRates: [ModuleRate]
    public private(set) var step = 0
    public let m: UnsafeMutableBufferPointer<Float>
    public let v: UnsafeMutableBufferPointer<Float>
    let layout: ParameterLayout

    public init(layout: ParameterLayout, schedule: LearningRateSchedule, weightDecay: Float = 0.01, clipNorm: Float? = 1,
                moduleRates: [ModuleRate] = []) {
        self.layout = layout; self.schedule = schedule; self.weightDecay = weightDecay; self.clipNorm = clipNorm
        self.moduleRates = moduleRates
        m = .allocate(capacity: layout.count); m.initialize(repeating: 0)
        v = .allocate(capacity: layout.count); v.initialize(repeating: 0)
    }

    deinit { m.deallocate(); v.deallocate() }

    /// The multiplier of a tensor: the product of every matching module rate (1 when none).
    public func multiplier(for t: ParameterTensor) -> Float {
        moduleRates.reduce(1) { acc, r in
            guard r.kind == t.kind else { return acc }
            if let range = r.layers { guard let l = t.layer, range.contains(l) else { return acc } }
            return acc * r.multiplier
        }
    }

    /// One update of what `model` trains (its adapters when it has them, else its weights)
    /// from the gradients. Returns the gradient norm before clipping and the rate used; when
    /// the norm is not finite nothing is updated (the caller decides what to do).
    @discardableResult
    public func update(_ model: TrainableLlama) -> (gradientNorm: Float, rate: Float) {
        if let lora = model.lora {
            precondition(lora.layout == layout, "the optimizer was made for another layout than the model's adapters")
            return update(parameters: lora.parameters, gradients: lora.gradients)
        }
        precondition(model.layout == layout, "the optimizer was made for another layout")
        return update(parameters: model.parameters, gradients: model.gradients)
    }

    func update(parameters: UnsafeMutableBufferPointer<Float>, gradients: UnsafeMutableBufferPointer<Float>) -> (gradientNorm: Float, rate: Float) {
        let g = gradients.baseAddress!, p = parameters.baseAddress!
        var ss = 0.0
        for i in 0..<layout.count { ss += Double(g[i]) * Double(g[i]) }
        let norm = Float(ss.squareRoot())
        // A gradient with inf or NaN in it would poison every weight it touches: no update.
        guard norm.isFinite else { return (norm, schedule.rate(at: step)) }
        let clip: Float = clipNorm.map { norm > $0 ? $0 / norm : 1 } ?? 1
        let rate = schedule.rate(at: step)
        step += 1
        let c1 = 1 - pow(beta1, Float(step)), c2 = 1 - pow(beta2, Float(step))
        let mm = m.baseAddress!, vv = v.baseAddress!
        for t in layout.tensors {
            let lr = rate * multiplier(for: t)
            let decay = t.kind == .norm ? 0 : weightDecay
            for i in t.range {
                let gi = g[i] * clip
                mm[i] = beta1 * mm[i] + (1 - beta1) * gi
                vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi
                let mhat = mm[i] / c1, vhat = vv[i] / c2
                p[i] -= lr * (mhat / (vhat.squareRoot() + epsilon) + decay * p[i])
            }
        }
        return (norm, rate)
    }

    /// Restores the step counter with the moments (a resumed run).
    public func restore(step: Int) { self.step = step }
}
