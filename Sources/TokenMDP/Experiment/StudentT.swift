import Foundation

/// Student's t distribution: CDF and quantile, for the 95% intervals of
/// `summary.csv`.
///
///     P(T ≤ t) = 1 − ½ I_x(ν/2, ½),   x = ν / (ν + t²),   t ≥ 0   (symmetric for t < 0)
///
/// with `I_x(a, b)` the regularised incomplete beta function.
///
/// Reference values: `t_{0.975, 1} = 12.7062047…`, `t_{0.975, 10} = 2.2281389…`,
/// `t_{0.975, ∞} = z_{0.975} = 1.9599640…`.
public enum StudentT {
    /// `P(T ≤ t)` for `ν > 0` degrees of freedom (`ν = ∞`: standard normal).
    ///
    /// Accuracy: the incomplete beta's continued fraction converges to
    /// ~1e-15 relative; `|t|` huge or tiny are handled by the limits.
    public static func cdf(_ t: Double, df nu: Double) -> Double {
        precondition(nu > 0, "degrees of freedom must be > 0")
        if t.isNaN { return .nan }
        if nu.isInfinite { return Normal.cdf(t) }
        if t == 0 { return 0.5 }
        if t.isInfinite { return t > 0 ? 1 : 0 }
        let x = nu / (nu + t * t)
        let tail = 0.5 * regularizedIncompleteBeta(x, a: nu / 2, b: 0.5)
        return t > 0 ? 1 - tail : tail
    }

    /// The density `Γ((ν+1)/2) / (√(νπ) Γ(ν/2)) · (1 + t²/ν)^(−(ν+1)/2)`.
    public static func pdf(_ t: Double, df nu: Double) -> Double {
        if nu.isInfinite { return Normal.pdf(t) }
        let logC = lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * Foundation.log(nu * Double.pi)
        return Foundation.exp(logC - (nu + 1) / 2 * Foundation.log1p(t * t / nu))
    }

    /// The quantile `t_{p, ν}`: the `t` with `P(T ≤ t) = p`, for `p ∈ (0, 1)`.
    ///
    /// Closed forms for ν = 1 (Cauchy: `tan(π(p − ½))`) and ν = 2
    /// (`(2p − 1) / √(2p(1 − p))`); otherwise Newton's method on the CDF from
    /// the normal quantile, kept inside a shrinking bracket (bisection when a
    /// Newton step leaves it), to a relative step of 1e-14.
    public static func quantile(_ p: Double, df nu: Double) -> Double {
        precondition(p > 0 && p < 1, "p must be in (0, 1)")
        precondition(nu > 0, "degrees of freedom must be > 0")
        if nu.isInfinite { return Normal.quantile(p) }
        if p == 0.5 { return 0 }
        if nu == 1 { return Foundation.tan(Double.pi * (p - 0.5)) }
        if nu == 2 { return (2 * p - 1) / (2 * p * (1 - p)).squareRoot() }
        // Work on the upper half: t_{p} = −t_{1−p}.
        let upper = max(p, 1 - p)
        let sign: Double = p > 0.5 ? 1 : -1
        // Bracket [lo, hi] with cdf(lo) ≤ upper ≤ cdf(hi).
        var lo = 0.0, hi = max(1.0, 2 * Normal.quantile(upper))
        while cdf(hi, df: nu) < upper { lo = hi; hi *= 2; if hi > 1e300 { return sign * .infinity } }
        var t = min(max(Normal.quantile(upper), lo), hi)
        for _ in 0..<200 {
            let f = cdf(t, df: nu) - upper
            if f == 0 { break }
            if f < 0 { lo = t } else { hi = t }
            let d = pdf(t, df: nu)
            var next = t - f / d
            if !(next > lo && next < hi) || !next.isFinite { next = 0.5 * (lo + hi) }
            if abs(next - t) <= 1e-14 * max(1, abs(t)) { t = next; break }
            t = next
        }
        return sign * t
    }

    /// `I_x(a, b)` by the continued fraction (modified Lentz), using the
    /// symmetry `I_x(a, b) = 1 − I_{1−x}(b, a)` where it converges faster.
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * Foundation.log(x) + b * Foundation.log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return Foundation.exp(logFront) * betaContinuedFraction(x, a: a, b: b) / a
        }
        // The prefactor x^a (1−x)^b / B(a, b) is symmetric under (x, a, b) → (1−x, b, a).
        return 1 - Foundation.exp(logFront) * betaContinuedFraction(1 - x, a: b, b: a) / b
    }

    private static func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m)
            let m2 = 2 * m
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-16 { break }
        }
        return h
    }
}

/// The standard normal distribution (the ν → ∞ limit of `StudentT`).
public enum Normal {
    public static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
    public static func pdf(_ z: Double) -> Double { Foundation.exp(-0.5 * z * z) / (2 * Double.pi).squareRoot() }

    /// `Φ⁻¹(p)`: Acklam's rational approximation (relative error < 1.2e-9)
    /// refined by one Halley step on `erfc`, which brings it to ~1e-15.
    public static func quantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "p must be in (0, 1)")
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let pLow = 0.02425
        var x: Double
        if p < pLow {
            let q = (-2 * Foundation.log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - pLow {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * Foundation.log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let e = cdf(x) - p
        let u = e * (2 * Double.pi).squareRoot() * Foundation.exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }
}
