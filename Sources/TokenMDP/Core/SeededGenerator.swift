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
/// on every machine and thread count. The system random number generator and
/// Swift's per-process-seeded `Hasher` are never used for anything reproducible.
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
/// folds one more word into a running hash (all arithmetic mod 2⁶⁴).
///
/// The noisy-oracle prior's noise (SPEC §2.5), exactly:
///
///     h(root of prompt p) = combine(0x70726F6D7074, p)        ("prompt" in ASCII; `PrefixState.root`)
///     h(s ∘ a)            = combine(h(s), a)                   (`PrefixState.child`)
///     ξ(s, a)             = gaussian(combine(combine(h(s), seed), a))   (`Prior.noise`)
///
/// with `gaussian` the libm-free ziggurat below, so a prefix's noise is a pure
/// function of (seed, prompt, tokens, a): the same on every machine, thread
/// count and libm.
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

    /// Maps a 64-bit hash to a standard Gaussian draw, libm-free, by the
    /// 256-layer ziggurat of Marsaglia & Tsang ("The ziggurat method for
    /// generating random variables", J. Stat. Softw. 5(8), 2000) driven by
    /// the bits of `h`. This transform is part of the reproducibility
    /// contract of the noisy-oracle prior: the tables `X`, `F` and the
    /// tail start `r` are the literals of `ZigguratTables` (generated once by
    /// `scripts/ziggurat_tables.py` at 60 digits), and every operation below
    /// is an IEEE-754 basic operation or `FastMath.exp`/`FastMath.log` (pure
    /// Swift), so the draw is bit-identical on every machine, thread count and
    /// libm version.
    ///
    /// Exactly, with `U(h) = (h ≫ 11) · 2⁻⁵³ ∈ [0, 1)` and
    /// `next(h) = mix(h + 0x9E3779B97F4A7C15)` (one SplitMix64 step):
    ///
    ///     1. i = h & 0xFF (layer), sign = bit 8 of h, u = U(h), x = u · X[i]
    ///     2. if x < X[i+1]: return sign ? −x : x                       (≈ 98.5 % of draws)
    ///     3. if i = 0 (tail beyond r): repeat h ← next(h), a = −log(1 − U(h)) · r⁻¹,
    ///        h ← next(h), b = −log(1 − U(h)) until 2b > a²; return ±(r + a)
    ///     4. else (wedge): h ← next(h); if F[i] + U(h)·(F[i+1] − F[i]) < exp(−x²/2):
    ///        return ±x
    ///     5. h ← next(h); go to 1
    ///
    /// (`log` and `exp` are `FastMath.log`/`FastMath.exp`; `r⁻¹` is the literal
    /// `ZigguratTables.inverseR`.) Bits 9 and 10 of `h` are unused; layer, sign and mantissa never share
    /// bits. The output is exactly symmetric (±x come from one sign bit) and
    /// the slow paths are deterministic re-hashes, so the result is a pure
    /// function of `h`.
    ///
    /// (Before the performance work this was Box–Muller with libm `log` and
    /// `cos`; the draws differ, the distribution does not.)
    ///
    /// - Complexity: O(1); one multiply and one comparison on the fast path.
    @inlinable
    public static func gaussian(_ h: UInt64) -> Double {
        ZigguratTables.x.withUnsafeBufferPointer { x in
            ZigguratTables.f.withUnsafeBufferPointer { f in
                gaussian(h, x: x.baseAddress!, f: f.baseAddress!)
            }
        }
    }

    /// `out[a] = gaussian(combine(h, a))` for `a ∈ 0..<n` — the noise row of
    /// one prefix — bit-identical to `n` calls of `gaussian(combine(h, UInt64(a)))`.
    ///
    /// Eight tokens at a time: the hashes (`mix` on `SIMD8<UInt64>`), the
    /// layer look-ups and the fast-path test of step 2 are vector operations;
    /// the lanes that fail it (≈ 1.5 % each) go through the scalar slow path.
    /// Every lane performs exactly the scalar operations, so the bits match.
    ///
    /// - Complexity: O(n).
    @inlinable
    public static func gaussians(combining h: UInt64, count n: Int, into out: UnsafeMutablePointer<Double>) {
        // combine(h, a) = mix(h ⊕ (a + K)) with K = 0x9E37…7C15 + (h ≪ 6) + (h ≫ 2) (mod 2⁶⁴).
        let k = 0x9E37_79B9_7F4A_7C15 &+ (h << 6) &+ (h >> 2)
        ZigguratTables.x.withUnsafeBufferPointer { x in
            ZigguratTables.f.withUnsafeBufferPointer { f in
            ZigguratTables.edgePairs.withUnsafeBufferPointer { pairs in
                let xp = x.baseAddress!, fp = f.baseAddress!
                let pp = UnsafeRawPointer(pairs.baseAddress!)
                var a = 0
                let lanes = SIMD8<UInt64>(0, 1, 2, 3, 4, 5, 6, 7)
                while a &+ 8 <= n {
                    let keys = (SIMD8<UInt64>(repeating: UInt64(truncatingIfNeeded: a)) &+ lanes) &+ k
                    var z = keys ^ h
                    z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
                    z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
                    z = z ^ (z &>> 31)
                    let layer = SIMD8<Int64>(truncatingIfNeeded: z & 0xFF)
                    var xi = SIMD8<Double>(), xn = SIMD8<Double>()
                    for j in 0..<8 {
                        let e = pp.loadUnaligned(fromByteOffset: Int(layer[j]) &* 16, as: SIMD2<Double>.self)
                        xi[j] = e[0]; xn[j] = e[1]
                    }
                    let v = SIMD8<Double>(SIMD8<Int64>(truncatingIfNeeded: z &>> 11)) * 0x1.0p-53 * xi
                    // −v for the lanes whose bit 8 is set: negation is a sign-bit flip.
                    let signed = unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt64>.self) ^ ((z & 0x100) &<< 55), to: SIMD8<Double>.self)
                    UnsafeMutableRawPointer(out + a).storeBytes(of: signed, as: SIMD8<Double>.self)
                    // Step 2's test v < X[i+1] for all lanes at once: v and X[i+1] are
                    // finite and ≥ 0, so v − X[i+1] is negative exactly when v < X[i+1]
                    // (a difference of distinct doubles is never ±0); AND the sign bits.
                    // (Written out because `all(_:)` on this mask is not inlined here.)
                    let d = unsafeBitCast(v - xn, to: SIMD8<UInt64>.self)
                    let d4 = d.lowHalf & d.highHalf, d2 = d4.lowHalf & d4.highHalf
                    if (d2[0] & d2[1]) >> 63 == 0 {
                        for j in 0..<8 where !(v[j] < xn[j]) { out[a &+ j] = gaussianSlowPath(z[j], x: xp, f: fp) }
                    }
                    a &+= 8
                }
                while a < n {
                    out[a] = gaussian(mix(h ^ (UInt64(truncatingIfNeeded: a) &+ k)), x: xp, f: fp)
                    a &+= 1
                }
            }
            }
        }
    }

    /// Steps 1–2 of `gaussian(_:)` on raw table pointers (`x`, `f`: the 257
    /// entries of `ZigguratTables.x` and `.f`).
    @inlinable @inline(__always)
    static func gaussian(_ h: UInt64, x: UnsafePointer<Double>, f: UnsafePointer<Double>) -> Double {
        let i = Int(truncatingIfNeeded: h & 0xFF)
        let v = Double(h >> 11) * 0x1.0p-53 * x[i]
        if v < x[i &+ 1] { return h & 0x100 != 0 ? -v : v }
        return gaussianSlowPath(h, x: x, f: f)
    }

    /// Steps 3–5 of `gaussian(_:)` (≈ 1.5 % of draws), starting again at
    /// step 1 after a rejection.
    @usableFromInline @inline(never)
    static func gaussianSlowPath(_ h0: UInt64, x X: UnsafePointer<Double>, f F: UnsafePointer<Double>) -> Double {
        let r = ZigguratTables.r, invR = ZigguratTables.inverseR
        @inline(__always) func unit(_ h: UInt64) -> Double { Double(h >> 11) * 0x1.0p-53 }
        @inline(__always) func next(_ h: UInt64) -> UInt64 { mix(h &+ 0x9E37_79B9_7F4A_7C15) }
        var h = h0
        var first = true
        while true {
            let i = Int(truncatingIfNeeded: h & 0xFF)
            let negative = h & 0x100 != 0
            let x = unit(h) * X[i]
            if !first && x < X[i + 1] { return negative ? -x : x }
            first = false
            if i == 0 {
                while true {
                    h = next(h)
                    let a = -FastMath.log(1 - unit(h)) * invR
                    h = next(h)
                    let b = -FastMath.log(1 - unit(h))
                    if b + b > a * a { return negative ? -(r + a) : r + a }
                }
            }
            h = next(h)
            if F[i] + unit(h) * (F[i + 1] - F[i]) < FastMath.exp(-0.5 * x * x) { return negative ? -x : x }
            h = next(h)
        }
    }
}
