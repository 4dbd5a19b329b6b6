import Foundation

/// Numerically stable log-sum-exp helpers. Every log Σ exp in TokenMDP goes
/// through these (or through a kernel that documents the same form).
public enum LogSumExp {
    /// Temperature-scaled log-sum-exp (the soft maximum).
    ///
    ///     τ · log Σ_i exp(x_i / τ)
    ///
    /// - Parameters:
    ///   - x: values in reward units; `-.infinity` marks a disallowed entry.
    ///   - temperature: τ ≥ 0. τ = 0 returns `max x` (the hard limit).
    /// - Returns: the soft maximum in the units of `x`; `-.infinity` when
    ///   every entry is `-.infinity` or `x` is empty.
    ///
    /// Stability: computed as `m + τ · log Σ exp((x_i − m)/τ)` with
    /// `m = max x`, so no term exceeds exp(0) = 1 and nothing overflows.
    /// A `+.infinity` entry returns `+.infinity`.
    ///
    /// The exponentials are `FastMath.exp` (≤ 1 ulp from libm) summed in the
    /// fixed lane order of `FastMath.sumExp`, and the one logarithm is
    /// `Foundation.log`; the result is within a few ulps of the textbook
    /// left-to-right libm evaluation and bit-identical for any thread count.
    /// (`(x_i − m)/τ` is evaluated as `(x_i − m) · (1/τ)`.)
    ///
    /// - Complexity: O(n)
    @inlinable
    public static func soft(_ x: UnsafeBufferPointer<Double>, temperature: Double) -> Double {
        guard let base = x.baseAddress, x.count > 0 else { return -.infinity }
        let m = FastMath.max(base, count: x.count)
        if temperature == 0 || !m.isFinite { return m }
        let s = FastMath.sumExp(base, count: x.count, shift: m, scale: 1.0 / temperature)
        return m + temperature * Foundation.log(s)
    }

    /// `log Σ_i exp(x_i)`, the τ = 1 case of `soft`.
    @inlinable
    public static func lse(_ x: UnsafeBufferPointer<Double>) -> Double {
        soft(x, temperature: 1)
    }

    /// Array convenience for `soft(_:temperature:)`.
    public static func soft(_ x: [Double], temperature: Double) -> Double {
        x.withUnsafeBufferPointer { soft($0, temperature: temperature) }
    }

    /// Array convenience for `lse(_:)`.
    public static func lse(_ x: [Double]) -> Double {
        x.withUnsafeBufferPointer { soft($0, temperature: 1) }
    }

    /// Log-softmax in place: `x_i ← x_i − log Σ_j exp(x_j)`; returns the
    /// log-partition `log Σ_j exp(x_j)`. Entries that are `-.infinity` stay
    /// `-.infinity` (probability 0). If every entry is `-.infinity` the row is
    /// left unchanged and `-.infinity` is returned (the caller must treat the
    /// state as having no allowed token).
    @inlinable
    @discardableResult
    public static func logSoftmaxInPlace(_ x: UnsafeMutableBufferPointer<Double>) -> Double {
        let z = lse(UnsafeBufferPointer(x))
        guard z.isFinite else { return z }
        for i in x.indices { x[i] -= z }
        return z
    }
}
