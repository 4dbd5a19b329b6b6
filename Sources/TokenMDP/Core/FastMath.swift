// FastMath — ranked goals: (1) reproducibility: every function here is a
// fixed sequence of IEEE-754 basic operations (+, −, ×, ÷, √, comparisons
// and integer bit operations) with no fused multiply-add and no libm call,
// so it returns the same bits on every IEEE-754 machine, for every vector
// width the compiler picks and every thread count; (2) accuracy: a stated
// ulp bound against the platform libm, proved by a dense test sweep
// (`FastMathTests`); (3) speed: branch-free 8-lane SIMD, about one
// nanosecond per `exp` on the development machine.
//
// Why no FMA: Swift never contracts `a * b + c` into a fused operation, so
// written as separate multiply and add the polynomial below rounds the
// same way on x86-64 with or without FMA hardware and on arm64. An explicit
// `addingProduct` would be faster where FMA exists, but would fall back to
// a (correctly rounded, very slow) libm `fma` call on baseline x86-64.

/// Vectorised, libm-free elementary functions for the hot loops (soft
/// value iteration, log-softmax, the prior's Gaussian transform).
///
/// All functions are pure and deterministic: the scalar and the SIMD
/// version of a function perform the same operations in the same order, so
/// lane `i` of `exp(v)` is bit-identical to `exp(v[i])`.
public enum FastMath {
    /// One vector of eight doubles, the unit of work of the kernels.
    public typealias Vector = SIMD8<Double>

    // Range reduction constants (Cody & Waite): ln 2 split so that k·ln2Hi is
    // exact for |k| < 2¹¹ (ln2Hi has 32 significant bits).
    @usableFromInline static let log2e: Double = 0x1.71547652b82fep+0       // 1/ln 2
    @usableFromInline static let ln2Hi: Double = 0x1.62e42fee00000p-1       // 6.93147180369123816490e-01
    @usableFromInline static let ln2Lo: Double = 0x1.a39ef35793c76p-33      // 1.90821492927058770002e-10
    /// 1.5·2⁵²: adding it rounds a double of magnitude < 2⁵¹ to the nearest
    /// integer (ties to even) and leaves that integer in the low mantissa bits.
    @usableFromInline static let shifter: Double = 0x1.8p52
    /// Clamp bounds: exp(−746) rounds to +0, exp(710) overflows to +∞, and
    /// every k = round(x/ln 2) in between keeps both half-scales normal.
    @usableFromInline static let lowClamp: Double = -746
    @usableFromInline static let highClamp: Double = 710
    /// Inputs in [normalLow, normalHigh] have k ∈ [−1021, 1023] and a normal
    /// result, so the fast path scales by 2^k in one multiplication.
    @usableFromInline static let normalLow: Double = -708
    @usableFromInline static let normalHigh: Double = 709

    // Taylor coefficients 1/n! of exp, n = 2…13, rounded to nearest. On
    // |r| ≤ ln2/2 the truncation error of the degree-13 polynomial is
    // (ln2/2)¹⁴/14! ≈ 4·10⁻¹⁸, far below half an ulp (1.1·10⁻¹⁶).
    @usableFromInline static let c2: Double = 1.0 / 2.0
    @usableFromInline static let c3: Double = 1.0 / 6.0
    @usableFromInline static let c4: Double = 1.0 / 24.0
    @usableFromInline static let c5: Double = 1.0 / 120.0
    @usableFromInline static let c6: Double = 1.0 / 720.0
    @usableFromInline static let c7: Double = 1.0 / 5040.0
    @usableFromInline static let c8: Double = 1.0 / 40320.0
    @usableFromInline static let c9: Double = 1.0 / 362_880.0
    @usableFromInline static let c10: Double = 1.0 / 3_628_800.0
    @usableFromInline static let c11: Double = 1.0 / 39_916_800.0
    @usableFromInline static let c12: Double = 1.0 / 479_001_600.0
    @usableFromInline static let c13: Double = 1.0 / 6_227_020_800.0

    /// The natural exponential of eight doubles at once.
    ///
    ///     exp(x) = 2^k · exp(r),   k = round(x / ln 2),   r = x − k·ln 2 ∈ [−ln2/2, ln2/2]
    ///     exp(r) ≈ 1 + (r + r²·(1/2! + r/3! + … + r¹¹/13!))       (Horner, no FMA)
    ///     2^k    = 2^⌊k/2⌉ · 2^(k − ⌊k/2⌉)                          (two normal scales)
    ///
    /// - Parameter x: any doubles (dimensionless).
    /// - Returns: `exp(x)` lane by lane.
    ///
    /// Accuracy: within **1 ulp** of `Foundation.exp` for every result in
    /// the normal range, and within one unit of the smallest subnormal
    /// (2⁻¹⁰⁷⁴) below it (`FastMathTests` sweeps [−746, 710] densely).
    ///
    /// Edge cases:
    /// - `-∞` and every x ≤ −745.2 (after rounding) → `+0`; subnormal results
    ///   in between are rounded once (the first half-scale is exact).
    /// - x ≥ 709.79 (overflow) and `+∞` → `+∞`.
    /// - NaN → NaN (the clamps keep NaN, and NaN propagates through r).
    /// - x = ±0 → exactly 1.
    ///
    /// Cost: 13 multiply-adds, 5 other floating-point operations and 2
    /// integer operations per vector when every lane is in [−708, 709]
    /// (one well-predicted branch), a few more otherwise; no table.
    @inlinable @inline(__always)
    public static func exp(_ x: Vector) -> Vector {
        // Fast path, when every lane is in [−708, 709]: then k ∈ [−1021, 1023],
        // 2^k is a normal double and p·2^k is normal, so one multiplication by
        // 2^k gives the exact product, exactly as the two half-scales of the
        // general path do: the bits are the same either way.
        if all((x .>= normalLow) .& (x .<= normalHigh)) {
            let t = x * log2e + shifter
            let kd = t - shifter
            let r = (x - kd * ln2Hi) - kd * ln2Lo
            let p = polynomial(r)
            let s = unsafeBitCast((unsafeBitCast(t, to: SIMD8<UInt64>.self) &+ 1023) &<< 52, to: Vector.self)
            return p * s
        }
        return expGeneral(x)
    }

    /// `exp` on any lanes (clamps, two half-scales); see `exp(_:)`.
    @inlinable @inline(__always)
    static func expGeneral(_ x: Vector) -> Vector {
        var x = x
        x.replace(with: lowClamp, where: x .< lowClamp)        // NaN compares false: stays NaN
        x.replace(with: highClamp, where: x .> highClamp)
        let t = x * log2e + shifter
        let kd = t - shifter                                    // k as a double (exact integer)
        let r = (x - kd * ln2Hi) - kd * ln2Lo                   // first product and difference exact
        let p = polynomial(r)
        // Split k = k1 + k2 with k1 = round(k/2): both 2^k1 and 2^k2 are
        // normal for k ∈ [−1076, 1024], so subnormal and overflowing results
        // come out of the last multiplication with a single rounding.
        let t1 = kd * 0.5 + shifter
        let t2 = (kd - (t1 - shifter)) + shifter
        // The low 12 bits of bits(t) are k (two's complement); + 1023 and a
        // shift by 52 make the biased exponent of 2^k.
        let s1 = unsafeBitCast((unsafeBitCast(t1, to: SIMD8<UInt64>.self) &+ 1023) &<< 52, to: Vector.self)
        let s2 = unsafeBitCast((unsafeBitCast(t2, to: SIMD8<UInt64>.self) &+ 1023) &<< 52, to: Vector.self)
        return (p * s1) * s2
    }

    /// exp(r) ≈ 1 + (r + r²·(1/2! + r/3! + … + r¹¹/13!)) on |r| ≤ ln2/2 (Horner).
    @inlinable @inline(__always)
    static func polynomial(_ r: Vector) -> Vector {
        var q = Vector(repeating: c13)
        q = q * r + c12
        q = q * r + c11
        q = q * r + c10
        q = q * r + c9
        q = q * r + c8
        q = q * r + c7
        q = q * r + c6
        q = q * r + c5
        q = q * r + c4
        q = q * r + c3
        q = q * r + c2
        return 1.0 + (r + (r * r) * q)
    }

    /// The natural exponential of one double: the same operations as the
    /// SIMD `exp(_:)`, so the result is bit-identical to any lane of it
    /// (and has the same 1-ulp bound and edge cases).
    @inlinable @inline(__always)
    public static func exp(_ x: Double) -> Double {
        if x >= normalLow && x <= normalHigh {                 // the fast path of the SIMD version
            let t = x * log2e + shifter
            let kd = t - shifter
            let r = (x - kd * ln2Hi) - kd * ln2Lo
            return polynomial(r) * Double(bitPattern: (t.bitPattern &+ 1023) &<< 52)
        }
        var x = x
        if x < lowClamp { x = lowClamp }
        if x > highClamp { x = highClamp }
        let t = x * log2e + shifter
        let kd = t - shifter
        let r = (x - kd * ln2Hi) - kd * ln2Lo
        let p = polynomial(r)
        let t1 = kd * 0.5 + shifter
        let t2 = (kd - (t1 - shifter)) + shifter
        let s1 = Double(bitPattern: (t1.bitPattern &+ 1023) &<< 52)
        let s2 = Double(bitPattern: (t2.bitPattern &+ 1023) &<< 52)
        return (p * s1) * s2
    }

    /// The scalar twin of `polynomial(_: Vector)`.
    @inlinable @inline(__always)
    static func polynomial(_ r: Double) -> Double {
        var q = c13
        q = q * r + c12
        q = q * r + c11
        q = q * r + c10
        q = q * r + c9
        q = q * r + c8
        q = q * r + c7
        q = q * r + c6
        q = q * r + c5
        q = q * r + c4
        q = q * r + c3
        q = q * r + c2
        return 1.0 + (r + (r * r) * q)
    }

    /// The shifted, scaled sum of exponentials at the heart of every
    /// log-sum-exp:
    ///
    ///     Σ_{i<n} exp((x_i − m) · c)
    ///
    /// - Parameters:
    ///   - x: `n` values (reward units or nats); `-.infinity` contributes 0.
    ///   - m: the shift, normally `max_i x_i` so every term is ≤ 1 and the
    ///     sum cannot overflow; must be finite.
    ///   - c: the scale, normally `1/τ` (per reward unit), > 0.
    /// - Returns: the sum, ≥ 1 when m = max x (the maximum contributes 1).
    ///
    /// Order of summation (part of the reproducibility contract): eight
    /// lane accumulators, lane j adding terms j, j+8, j+16, … in index order
    /// (the last partial vector padded with `-∞`, i.e. 0), then the lanes
    /// folded as ((a₀+a₄)+(a₂+a₆)) + ((a₁+a₅)+(a₃+a₇)). The result
    /// therefore depends only on `x`, `m` and `c`, never on threads or CPU.
    /// It differs from a left-to-right scalar sum by a few ulps at most.
    ///
    /// - Complexity: O(n), one vector `exp` per 8 entries.
    @inlinable
    public static func sumExp(_ x: UnsafePointer<Double>, count n: Int, shift m: Double, scale c: Double) -> Double {
        let mv = Vector(repeating: m)
        var acc = Vector()
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i &+ 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i &* 8, as: Vector.self)
            acc += exp((v - mv) * c)
            i &+= 8
        }
        if i < n {
            var v = Vector(repeating: -.infinity)
            for j in 0..<(n &- i) { v[j] = x[i &+ j] }
            acc += exp((v - mv) * c)
        }
        return fold(acc)
    }

    /// The largest of `n ≥ 0` values (`-.infinity` when `n = 0`). NaN
    /// entries are ignored (a NaN never compares greater).
    ///
    /// - Complexity: O(n).
    @inlinable
    public static func max(_ x: UnsafePointer<Double>, count n: Int) -> Double {
        var mv = Vector(repeating: -.infinity)
        var i = 0
        let raw = UnsafeRawPointer(x)
        while i &+ 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i &* 8, as: Vector.self)
            mv.replace(with: v, where: v .> mv)
            i &+= 8
        }
        var m = -Double.infinity
        for j in 0..<8 where mv[j] > m { m = mv[j] }
        while i < n { if x[i] > m { m = x[i] }; i &+= 1 }
        return m
    }

    /// Folds the eight lanes in the fixed order ((a₀+a₄)+(a₂+a₆)) + ((a₁+a₅)+(a₃+a₇)).
    @inlinable @inline(__always)
    public static func fold(_ v: Vector) -> Double {
        let h = v.lowHalf + v.highHalf          // (a0+a4, a1+a5, a2+a6, a3+a7)
        let q = h.lowHalf + h.highHalf          // (a0+a4 + a2+a6, a1+a5 + a3+a7)
        return q[0] + q[1]
    }

    /// The natural logarithm of one double, libm-free (used where the bits
    /// must not depend on the platform's libm: the ziggurat's rare tail).
    ///
    ///     x = 2^e · m,  m ∈ [√½, √2),   s = (m − 1)/(m + 1)
    ///     log x = e·ln 2 + 2·(s + s³/3 + s⁵/5 + … + s²³/23)
    ///
    /// The series is truncated where s²⁵/25 < 2⁻⁵⁵·s (|s| ≤ 0.1716).
    /// Accuracy: within 2 ulp of `Foundation.log` on positive normal and
    /// subnormal inputs (`FastMathTests`).
    ///
    /// Edge cases: `log(+0) = −∞`, `log(x < 0) = NaN`, `log(NaN) = NaN`,
    /// `log(+∞) = +∞`, `log(1) = +0`.
    public static func log(_ x: Double) -> Double {
        if x.isNaN || x < 0 { return .nan }
        if x == 0 { return -.infinity }
        if x == .infinity { return .infinity }
        var bits = x.bitPattern
        var e = 0
        if x < Double.leastNormalMagnitude {          // subnormal: scale by 2^54 first (exact)
            bits = (x * 0x1p54).bitPattern
            e = -54
        }
        e += Int((bits >> 52) & 0x7FF) - 1023
        var m = Double(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000)   // [1, 2)
        if m > 0x1.6a09e667f3bcdp0 { m *= 0.5; e += 1 }                                       // → [√½, √2)
        let s = (m - 1) / (m + 1)
        let s2 = s * s
        var p = 1.0 / 23.0
        p = p * s2 + 1.0 / 21.0
        p = p * s2 + 1.0 / 19.0
        p = p * s2 + 1.0 / 17.0
        p = p * s2 + 1.0 / 15.0
        p = p * s2 + 1.0 / 13.0
        p = p * s2 + 1.0 / 11.0
        p = p * s2 + 1.0 / 9.0
        p = p * s2 + 1.0 / 7.0
        p = p * s2 + 1.0 / 5.0
        p = p * s2 + 1.0 / 3.0
        // 2·atanh(s) = 2s + 2s³·p; m − 1 is exact (Sterbenz), so write
        // 2s = (m − 1) − s·(m − 1) to keep the leading term accurate.
        let f = m - 1
        let logm = f - s * (f - 2 * s2 * p)
        let ed = Double(e)
        return ed * ln2Hi + (logm + ed * ln2Lo)
    }
}
