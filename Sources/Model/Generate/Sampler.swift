import Foundation
import Hashing

/// The tokens still in play while a sampler chain runs, with their logits. Steps remove tokens
/// or change logits; the final step picks one.
public struct Candidates: Sendable {
    public var ids: [Int32]
    public var logits: [Float]
    /// True once the candidates are in descending logit order (ties: lower id first).
    public private(set) var sorted = false

    public init(logits: [Float]) {
        self.logits = logits
        ids = (0..<Int32(logits.count)).map { $0 }
    }

    public var count: Int { ids.count }

    /// Sorts by descending logit, lower id first on ties (a stable order for every run).
    public mutating func sort() {
        guard !sorted else { return }
        let order = ids.indices.sorted { a, b in logits[a] != logits[b] ? logits[a] > logits[b] : ids[a] < ids[b] }
        ids = order.map { ids[$0] }
        logits = order.map { logits[$0] }
        sorted = true
    }

    /// Keeps the candidates at `indices` (in their order; not sorted unless they were).
    mutating func restrict(to indices: [Int]) {
        ids = indices.map { ids[$0] }
        logits = indices.map { logits[$0] }
    }

    /// Keeps the first `n` (after `sort`).
    public mutating func keepFirst(_ n: Int) {
        let n = max(1, min(n, ids.count))
        ids.removeSubrange(n...)
        logits.removeSubrange(n...)
    }

    /// Softmax of the logits, in candidate order (computed in Double).
    public func probabilities() -> [Double] {
        guard let m = logits.max() else { return [] }
        let e = logits.map { exp(Double($0 - m)) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }
}

/// One step of a sampler chain.
public protocol SamplerStep: Sendable {
    /// `history`: the tokens of the sequence so far (prompt and generated), latest last.
    func apply(_ c: inout Candidates, history: ArraySlice<Int32>)
}

/// llama.cpp's repetition penalty: each distinct token among the last `lastN` of the history
/// has its logit divided by `penalty` when positive and multiplied by it when negative.
public struct RepetitionPenalty: SamplerStep {
    public var penalty: Float
    public var lastN: Int
    public init(penalty: Float, lastN: Int = 64) { self.penalty = penalty; self.lastN = lastN }

    public func apply(_ c: inout Candidates, history: ArraySlice<Int32>) {
        guard penalty != 1, lastN != 0 else { return }
        let recent = Set(lastN < 0 ? history : history.suffix(lastN))
        for i in c.ids.indices where recent.contains(c.ids[i]) {
            c.logits[i] = c.logits[i] > 0 ? c.logits[i] / penalty : c.logits[i] * penalty
        }
    }
}

/// Keeps the `k` most likely tokens (0: all).
public struct TopK: SamplerStep {
    public var k: Int
    public init(_ k: Int) { self.k = k }
    public func apply(_ c: inout Candidates, history: ArraySlice<Int32>) {
        guard k > 0, k < c.count else { return }
        c.sort()
        c.keepFirst(k)
    }
}

/// Keeps the smallest set of most likely tokens whose probabilities reach `p` (1: all).
public struct TopP: SamplerStep {
    public var p: Double
    public init(_ p: Double) { self.p = p }
    public func apply(_ c: inout Candidates, history: ArraySlice<Int32>) {
        guard p < 1, let m = c.logits.max() else { return }
        // Sorting a whole vocabulary (49k) for every token is most of a sampled decode step's
        // sampling cost, and the kept set is small: sort only the tokens whose weight is at
        // least τ (a prefix of the full order), with τ lowered until they hold mass p.
        let e = c.logits.map { exp(Double($0 - m)) }
        let total = e.reduce(0, +)
        var tau = 1e-4
        while tau > 1e-12 {
            var mass = 0.0
            for w in e where w >= tau { mass += w }
            if mass >= p * total {
                let keep = c.ids.indices.filter { e[$0] >= tau }
                c.restrict(to: keep)
                break
            }
            tau *= 1e-2
        }
        c.sort()
        var cumulative = 0.0
        for i in c.ids.indices {
            cumulative += exp(Double(c.logits[i] - m)) / total
            if cumulative >= p { return c.keepFirst(i + 1) }
        }
    }
}

/// Keeps the tokens whose probability is at least `p` times that of the most likely (0: all).
public struct MinP: SamplerStep {
    public var p: Double
    public init(_ p: Double) { self.p = p }
    public func apply(_ c: inout Candidates, history: ArraySlice<Int32>) {
        guard p > 0, let m = c.logits.max() else { return }
        // p_i ≥ p·p_max  ⇔  logit_i ≥ logit_max + ln p
        let threshold = m + Float(log(p))
        c.sort()
        c.keepFirst(c.logits.firstIndex { $0 < threshold } ?? c.count)
    }
}

/// Divides the logits by `t` (> 0).
public struct Temperature: SamplerStep {
    public var t: Float
    public init(_ t: Float) { self.t = t }
    public func apply(_ c: inout Candidates, history: ArraySlice<Int32>) {
        guard t > 0, t != 1 else { return }
        for i in c.logits.indices { c.logits[i] /= t }
    }
}

/// How the next token is chosen: temperature 0 is greedy (argmax after the repetition
/// penalty; the lowest id on ties); otherwise the chain runs in llama.cpp's order —
/// repetition penalty, top-k, top-p, min-p, temperature — and a token is drawn from what is
/// left with the sequence's own seeded generator, so a seed gives the same tokens whatever
/// else runs in the same batch.
public struct SamplerSettings: Sendable, Equatable {
    public var temperature: Float = 0
    public var topK: Int = 0
    public var topP: Double = 1
    public var minP: Double = 0
    public var repeatPenalty: Float = 1
    public var repeatLastN: Int = 64
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Double = 1, minP: Double = 0,
                repeatPenalty: Float = 1, repeatLastN: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repeatPenalty = repeatPenalty; self.repeatLastN = repeatLastN; self.seed = seed
    }

    public var isGreedy: Bool { temperature <= 0 }

    /// The steps this setting runs before the final choice.
    public var steps: [any SamplerStep] {
        var s: [any SamplerStep] = []
        if repeatPenalty != 1 { s.append(RepetitionPenalty(penalty: repeatPenalty, lastN: repeatLastN)) }
        guard !isGreedy else { return s }
        if topK > 0 { s.append(TopK(topK)) }
        if topP < 1 { s.append(TopP(topP)) }
        if minP > 0 { s.append(MinP(minP)) }
        s.append(Temperature(temperature))
        return s
    }
}

/// A sampler for one sequence: the chain of its settings and its own random generator.
public struct Sampler: Sendable {
    public let settings: SamplerSettings
    private let steps: [any SamplerStep]
    private var rng: SplitMix64

    public init(_ settings: SamplerSettings) {
        self.settings = settings
        steps = settings.steps
        rng = SplitMix64(seed: settings.seed)
    }

    /// The next token from `logits` ([V]) given the sequence so far.
    public mutating func next(_ logits: UnsafeBufferPointer<Float>, history: ArraySlice<Int32>) -> Int32 {
        if settings.isGreedy && steps.isEmpty {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        var c = Candidates(logits: Array(logits))
        for s in steps { s.apply(&c, history: history) }
        if settings.isGreedy {
            var best = 0
            for i in c.ids.indices.dropFirst() where c.logits[i] > c.logits[best] { best = i }
            return c.ids[best]
        }
        return Sampler.draw(c, &rng)
    }

    public mutating func next(_ logits: [Float], history: ArraySlice<Int32>) -> Int32 {
        logits.withUnsafeBufferPointer { next($0, history: history) }
    }

    /// A draw from softmax(logits) over the candidates: one uniform number in [0, 1) (53 bits)
    /// walked down the cumulative probabilities in candidate order.
    static func draw(_ c: Candidates, _ rng: inout SplitMix64) -> Int32 {
        let probs = c.probabilities()
        var u = Double(rng.next() >> 11) * 0x1.0p-53
        for (i, q) in probs.enumerated() {
            u -= q
            if u < 0 { return c.ids[i] }
        }
        return c.ids[probs.indices.last ?? 0]
    }
}
