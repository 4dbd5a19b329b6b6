import Foundation

// The SFT + SOC loss of one teacher-forced state (SPEC §1.4), shared by the
// tabular, linear and inverse-soft-Q learners.
//
// For a state with (effective) counts n(·), N = Σ n, value-loss weight λ and
// logits ℓ:
//
//     −Σ_a n_a log π_ℓ(a)  +  λ N · (−log Σ_a exp ℓ_a)
//   = −Σ_a n_a ℓ_a  +  (1 − λ) N · log Σ_a exp ℓ_a                (using Σ n = N)
//
//     ∂/∂ℓ_a = −n_a + (1 − λ) N π_a
//
// Forbidden tokens (ℓ = −∞, π = 0) carry no count and are skipped, so the
// value is finite and the gradient there is 0.

/// Effective counts of one state for training.
///
/// * A count on a token the prior forbids (`ℓ₀ = −∞`) cannot be given
///   probability by any finite parameter: such counts are **dropped** from
///   the state's objective (its `N` shrinks accordingly); this only happens
///   with noisy demonstrations (ε > 0 or a file) on MDPs with forbidden tokens.
/// * Label smoothing ε_ls (targets `(1 − ε)·onehot + ε·uniform`, summed
///   over the state's visits) gives `n_a ← (1 − ε) n_a + ε N / m`, `m` the
///   number of allowed tokens (uniform over the tokens the model can emit).
///
/// Writes the counts into `out` (0 on forbidden tokens) and returns `N`.
@inlinable
func effectiveCounts(counts n: UnsafePointer<Double>, prior l0: UnsafePointer<Double>, vocabSize V: Int,
                     labelSmoothing eps: Double, into out: UnsafeMutablePointer<Double>) -> Double {
    var total = 0.0, allowed = 0
    for a in 0..<V {
        if l0[a] == -.infinity { out[a] = 0 } else { out[a] = n[a]; total += n[a]; allowed += 1 }
    }
    if eps > 0 && total > 0 {
        let share = eps * total / Double(allowed)
        for a in 0..<V where l0[a] != -.infinity { out[a] = (1 - eps) * out[a] + share }
    }
    return total
}

/// Value and gradient (w.r.t. ℓ) of `−Σ n_a ℓ_a + c · log Σ exp ℓ_a` for one
/// row; `grad` (optional) receives `−n_a + c π_a` (0 on forbidden tokens).
/// Stable: the log-sum-exp subtracts the row maximum.
/// - Complexity: O(V)
@inlinable
func socRowLoss(logits l: UnsafePointer<Double>, counts n: UnsafePointer<Double>, c: Double, vocabSize V: Int,
                grad: UnsafeMutablePointer<Double>?) -> Double {
    var mx = -Double.infinity
    for a in 0..<V where l[a] > mx { mx = l[a] }
    var s = 0.0
    for a in 0..<V where l[a] != -.infinity { s += Foundation.exp(l[a] - mx) }
    let lse = mx + Foundation.log(s)
    var value = c * lse
    for a in 0..<V where l[a] != -.infinity && n[a] != 0 { value -= n[a] * l[a] }
    if let g = grad {
        let inv = 1.0 / s
        for a in 0..<V {
            g[a] = l[a] == -.infinity ? 0 : -n[a] + c * (Foundation.exp(l[a] - mx) * inv)
        }
    }
    return value
}
