/// 128 bits of a string (FNV-1a 64 and a multiplicative hash side by side, plus the length), for
/// sets that must tell strings apart without keeping them: ids in `shard` and `verify`, keys in
/// exact dedup. Collision odds for 10⁸ strings ≈ 10⁻²³.
public struct StringKey128: Hashable, Sendable {
    public let a: UInt64, b: UInt64

    public init(_ s: String) {
        var h1: UInt64 = 0xcbf2_9ce4_8422_2325
        var h2: UInt64 = 0x6c62_272e_07bb_0142
        for c in s.utf8 {
            h1 = (h1 ^ UInt64(c)) &* 0x0000_0100_0000_01B3
            h2 = (h2 &+ UInt64(c)) &* SplitMix64.golden
            h2 ^= h2 >> 29
        }
        a = h1; b = h2 ^ UInt64(s.utf8.count)
    }
}
