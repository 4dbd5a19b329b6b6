import Foundation

/// The one pseudo-random generator of TokenMDP: SplitMix64.
///
///     state ← state + 0x9E3779B97F4A7C15            (mod 2⁶⁴)
///     z ← state
///     z ← (z ⊕ (z ≫ 30)) · 0xBF58476D1CE4E5B9
///     z ← (z ⊕ (z ≫ 27)) · 0x94D049BB133111EB
///     output z ⊕ (z ≫ 31)
///
/// (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014.) Every random quantity in a result goes through this type,
/// seeded from the configuration, so that the same seed gives the same bits
/// on every machine and thread count. `SystemRandomNumberGenerator` and
/// `Hasher` are never used for anything reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { self.state = seed }

    /// Seeded from a root seed and a purpose label, so independent streams
    /// (`"mdp"`, `"data"`, `"prior"`, `"decode"`, …) never share bits.
    public init(seed: UInt64, stream: String) {
        self.state = StableHash.combine(seed, StableHash.string(stream))
    }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return StableHash.mix(state)
    }

    /// A uniform double in [0, 1) with 53 random bits: `(next() >> 11) · 2⁻⁵³`.
    @inlinable
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `0..<n` (n > 0) by Lemire's multiply-shift with
    /// rejection, so the result is exactly uniform and platform independent.
    @inlinable
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below:) needs n > 0")
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            let product = r.multipliedFullWidth(by: bound)
            if product.low >= threshold { return Int(product.high) }
        }
    }

    /// A standard Gaussian draw by Box–Muller from two `nextUnit()` values:
    /// `√(−2 log u₁) · cos(2π u₂)` with `u₁ = 1 − nextUnit() ∈ (0, 1]`.
    @inlinable
    public mutating func nextGaussian() -> Double {
        let u1 = 1.0 - nextUnit()
        let u2 = nextUnit()
        return (-2.0 * Foundation.log(u1)).squareRoot() * Foundation.cos(2.0 * Double.pi * u2)
    }

    /// Fisher–Yates shuffle driven by this generator (Swift's `shuffle(using:)`
    /// does not promise a stable algorithm across versions, so we own it).
    @inlinable
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }
}

/// Stable 64-bit hashing (never Swift's per-process-seeded `Hasher`).
///
/// `mix` is the SplitMix64 finaliser (a bijection on UInt64 with full
/// avalanche). `combine(h, x) = mix(h ⊕ (x + 0x9E3779B97F4A7C15 + (h ≪ 6) + (h ≫ 2)))`
/// folds one more word into a running hash. The prior's noise uses
/// `ξ(seed, prompt, prefix, a) = gaussian(combine(prefixHash, a))` where the
/// prefix hash starts at `combine(combine(seed, 0x70726f6d7074), prompt)`
/// and absorbs each emitted token with `combine`.
public enum StableHash {
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable
    public static func combine(_ h: UInt64, _ x: UInt64) -> UInt64 {
        mix(h ^ (x &+ 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)))
    }

    /// FNV-1a over the UTF-8 bytes, then `mix`. Stable across runs and machines.
    public static func string(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return mix(h)
    }

    /// Maps a hash to a standard Gaussian: two uniforms of 53 bits,
    /// `u₁ = 1 − (h ≫ 11)·2⁻⁵³ ∈ (0, 1]` and `u₂ = (mix(h) ≫ 11)·2⁻⁵³ ∈ [0, 1)`,
    /// then Box–Muller `√(−2 log u₁) · cos(2π u₂)`.
    @inlinable
    public static func gaussian(_ h: UInt64) -> Double {
        let u1 = 1.0 - Double(h >> 11) * 0x1.0p-53
        let u2 = Double(mix(h) >> 11) * 0x1.0p-53
        return (-2.0 * Foundation.log(u1)).squareRoot() * Foundation.cos(2.0 * Double.pi * u2)
    }
}
