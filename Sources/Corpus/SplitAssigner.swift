import Hashing
/// Assigns records to splits by a hash of their group key (default `question`) and a seed, so
/// that every record sharing a key lands in the same split (variants of one question never
/// leak across train and validation) and the assignment is the same on every machine and run.
///
/// u = mix(seed, FNV-1a-64(key bytes)) / 2⁶⁴ ∈ [0, 1); the named splits take consecutive
/// intervals of that range in the order given, and `train` takes the rest. The split sizes are
/// therefore close to, not exactly, the fractions (binomial spread, ±√n).
public struct SplitAssigner: Sendable {
    public let fractions: [(name: String, fraction: Double)]
    public let seed: UInt64
    public let rest: String

    /// Throws when fractions are negative or sum above 1, or a name repeats.
    public init(fractions: [(name: String, fraction: Double)], seed: UInt64, rest: String = "train") throws {
        var seen: Set<String> = [rest]
        var total = 0.0
        for f in fractions {
            guard f.fraction >= 0, f.fraction <= 1 else { throw SplitError(message: "split \(f.name)=\(f.fraction): a fraction must be between 0 and 1") }
            guard seen.insert(f.name).inserted else { throw SplitError(message: "split \(f.name) is named twice (\(rest) takes what the others leave)") }
            guard f.name.range(of: #"^[a-z][a-z0-9_]*$"#, options: .regularExpression) != nil else {
                throw SplitError(message: "split name \(f.name) must be lowercase letters, digits and _ (it is part of file names)")
            }
            total += f.fraction
        }
        guard total <= 1 + 1e-12 else { throw SplitError(message: "split fractions add up to \(total), more than 1") }
        self.fractions = fractions
        self.seed = seed
        self.rest = rest
        names = [rest] + fractions.map(\.name)
    }

    /// All split names, the rest split first.
    public let names: [String]

    /// The split for a group key.
    public func split(forKey key: String) -> String {
        var k = key
        return k.withUTF8 { split(forKeyBytes: UnsafeRawBufferPointer($0)) }
    }

    /// The split for a group key given as its UTF-8 bytes.
    public func split(forKeyBytes key: UnsafeRawBufferPointer) -> String {
        names[splitIndex(forKeyBytes: key)]
    }

    /// The index into `names` of the split for a group key given as its UTF-8 bytes.
    public func splitIndex(forKeyBytes key: UnsafeRawBufferPointer) -> Int {
        let u = SplitAssigner.unitHash(key, seed: seed)
        var edge = 0.0
        for (i, f) in fractions.enumerated() {
            edge += f.fraction
            if u < edge { return i + 1 }
        }
        return 0
    }

    /// A stable hash of `key` into [0, 1): FNV-1a 64 over UTF-8, then splitmix64 with the seed.
    public static func unitHash(_ key: UnsafeRawBufferPointer, seed: UInt64) -> Double {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        let z = SplitMix64.finalize(h &+ seed &* SplitMix64.golden)
        return Double(z >> 11) * 0x1.0p-53
    }
}

public struct SplitError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

import Foundation
