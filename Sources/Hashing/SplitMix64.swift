/// splitmix64 (Steele, Lea, Flood 2014): a seeded generator that gives the same numbers on
/// every platform, and its bit finalizer, the 64-bit mixer used for stable hashing (splits,
/// MinHash shingles and bands, sampling ranks). One copy for the whole project.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public static let golden: UInt64 = 0x9E37_79B9_7F4A_7C15

    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= SplitMix64.golden
        return SplitMix64.finalize(state)
    }

    /// The output function: a bijection of UInt64 with full avalanche.
    @inline(__always) public static func finalize(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One generator step from `x` as state: finalize(x + golden).
    @inline(__always) public static func mix(_ x: UInt64) -> UInt64 { finalize(x &+ golden) }
}
