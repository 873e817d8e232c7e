import Foundation

/// How a steering direction is made from paired residuals.
public enum DirectionMethod: String, Sendable, CaseIterable {
    /// The mean over pairs of h(long) − h(short).
    case meanDiff = "mean-diff"
    /// The first principal component of the differences taken uncentered (as repeng's
    /// `pca_diff` with its random swaps of pair order), signed so that the long side projects
    /// higher and scaled to the mean difference's length along it.
    case pca
}

/// How well one layer separates the two instructions.
public struct LayerSeparation: Sendable, Equatable {
    public var layer: Int
    /// Length of the direction written for this layer.
    public var norm: Float
    /// ‖mean(long) − mean(short)‖ over the spread of the states around their class means
    /// (√ of the mean per-class total variance): how far apart the classes sit.
    public var separation: Float
    /// Mean cosine between each pair's difference and the direction: 1 when every question
    /// moves the same way.
    public var agreement: Float
    /// Pairs whose difference projects positively on the direction (long above short).
    public var consistent: Int
    public var pairs: Int
}

public enum DirectionExtraction {
    /// The variable-length direction per layer from `pairs` of prompts (the same question with
    /// the long-CoT and the short-CoT instruction): the residual stream after each block at the
    /// last prompt token. `progress` gets the pairs done.
    public static func extract(model: LlamaModel, pairs: [(long: [Int32], short: [Int32])], layers: [Int], method: DirectionMethod,
                               progress: (Int) -> Void = { _ in }) throws -> (directions: [Int: [Float]], stats: [LayerSeparation]) {
        precondition(!pairs.isEmpty, "at least one pair")
        let set = Set(layers)
        var long: [Int: [[Float]]] = [:], short: [Int: [[Float]]] = [:]
        for (i, p) in pairs.enumerated() {
            let a = try model.residuals(p.long, layers: set), b = try model.residuals(p.short, layers: set)
            for l in layers {
                long[l, default: []].append(a[l]![0])
                short[l, default: []].append(b[l]![0])
            }
            progress(i + 1)
        }
        var directions: [Int: [Float]] = [:], stats: [LayerSeparation] = []
        for l in layers.sorted() {
            let (d, s) = direction(long: long[l]!, short: short[l]!, method: method)
            var st = s
            st.layer = l
            directions[l] = d
            stats.append(st)
        }
        return (directions, stats)
    }

    /// The direction and its statistics from the two classes' states (rows paired by index).
    public static func direction(long: [[Float]], short: [[Float]], method: DirectionMethod) -> ([Float], LayerSeparation) {
        let n = long.count, C = long[0].count
        let diffs = (0..<n).map { i in zip(long[i], short[i]).map { Double($0) - Double($1) } }
        var mean = [Double](repeating: 0, count: C)
        for d in diffs { for j in 0..<C { mean[j] += d[j] / Double(n) } }
        var dir = mean
        if method == .pca {
            // Top eigenvector of Σ dᵢdᵢᵀ by power iteration, started from the mean difference.
            var v = norm(mean) > 0 ? mean : [Double](repeating: 1, count: C)
            for _ in 0..<200 {
                var next = [Double](repeating: 0, count: C)
                for d in diffs {
                    let p = dot(d, v)
                    for j in 0..<C { next[j] += p * d[j] }
                }
                let len = norm(next)
                guard len > 0 else { break }
                let moved = zip(next, v).map { $0 / len - $1 }.map { $0 * $0 }.reduce(0, +)
                v = next.map { $0 / len }
                if moved < 1e-20 { break }
            }
            v = v.map { $0 / max(norm(v), 1e-30) }
            // Sign: long projects higher; length: the mean difference along it.
            let along = dot(mean, v)
            dir = v.map { $0 * along }
        }
        // Statistics.
        func classMean(_ xs: [[Float]]) -> [Double] {
            var m = [Double](repeating: 0, count: C)
            for x in xs { for j in 0..<C { m[j] += Double(x[j]) / Double(xs.count) } }
            return m
        }
        func totalVariance(_ xs: [[Float]], _ m: [Double]) -> Double {
            var total = 0.0
            for x in xs {
                for j in 0..<C {
                    let e = Double(x[j]) - m[j]
                    total += e * e
                }
            }
            return total / Double(max(1, xs.count))
        }
        let ml = classMean(long), ms = classMean(short)
        let gap = norm(zip(ml, ms).map { $0 - $1 })
        let spread = ((totalVariance(long, ml) + totalVariance(short, ms)) / 2).squareRoot()
        let unit = dir.map { $0 / max(norm(dir), 1e-30) }
        let cosines = diffs.map { d in dot(d, unit) / max(norm(d), 1e-30) }
        let stats = LayerSeparation(layer: 0, norm: Float(norm(dir)), separation: Float(spread > 0 ? gap / spread : .infinity),
                                    agreement: Float(cosines.reduce(0, +) / Double(n)), consistent: cosines.filter { $0 > 0 }.count, pairs: n)
        return (dir.map { Float($0) }, stats)
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    static func norm(_ a: [Double]) -> Double { dot(a, a).squareRoot() }
}
