import Foundation

// Extreme-value theory for the over-optimism of beam search under the
// noisy-oracle prior (SPEC §2.5, §4 experiment 4, `tokenmdp evt`).
//
// Ranked goals: (1) exactness: the expected maximum of n Gaussians by
// quadrature to ~1e-12, the normaliser shift by a 2-D quadrature, both
// deterministic; (2) stability: every product of many CDFs is summed in logs;
// (3) speed: milliseconds per (σ, τ, V).

/// Expected maxima of Gaussian samples and related integrals.
public enum ExtremeValue {
    /// Euler–Mascheroni constant γ.
    public static let eulerGamma = 0.577_215_664_901_532_9

    /// `log Φ(z)`, the log of the standard normal CDF.
    ///
    /// Stability: for `z < −1`, `log(½ erfc(−z/√2))` (the tail is computed
    /// directly, no `1 − small`); otherwise `log1p(−½ erfc(z/√2))`, which
    /// keeps full relative precision as Φ → 1. `−∞` only below z ≈ −38.
    @inlinable
    public static func logNormalCDF(_ z: Double) -> Double {
        if z < -1 { return Foundation.log(0.5 * Foundation.erfc(-z / 2.0.squareRoot())) }
        return Foundation.log1p(-0.5 * Foundation.erfc(z / 2.0.squareRoot()))
    }

    /// Half-width of the integration range in standard deviations: the
    /// integrands below carry φ(z) ≤ e^{−72}/√(2π) beyond it.
    public static let integrationRange = 12.0
    /// Trapezoid step of `expectedMaxOfStandardNormals` (in standard deviations).
    public static let maxQuadratureStep = 1.0 / 512

    /// The expected maximum of `n` independent standard normal variables,
    ///
    ///     m(n) = E[max(Z₁ … Z_n)] = ∫ n · z · φ(z) · Φ(z)^{n−1} dz
    ///
    /// - Parameter n: n ≥ 1 (dimensionless count).
    /// - Returns: m(n) in standard deviations: m(1) = 0, m(2) = 1/√π,
    ///   m(3) = 3/(2√π), m(4) ≈ 1.02938, m(5) ≈ 1.16296; increasing in n,
    ///   ≈ √(2 ln n) for large n (`expectedMaxAsymptotic`).
    ///
    /// Computation: the trapezoid rule with step 1/512 on [−12, 12], the
    /// integrand evaluated as `z · exp(log n + log φ(z) + (n−1) log Φ(z))`
    /// (`logNormalCDF`), so `Φ^{n−1}` never underflows to garbage or loses
    /// precision for large n. The integrand is smooth and negligible at both
    /// ends, where the trapezoid rule converges geometrically: the tests find
    /// it within 1e-12 of 30-digit values from n = 2 to n = 10⁹, and the peak
    /// (near √(2 ln n) ≤ 9.3, ≳ 0.1 wide) stays inside the range for every
    /// n ≤ 2⁶². m(1) is returned as exactly 0.
    ///
    /// - Complexity: O(24 · 512) evaluations of `erfc`, independent of n.
    public static func expectedMaxOfStandardNormals(_ n: Int) -> Double {
        precondition(n >= 1, "expectedMaxOfStandardNormals needs n ≥ 1, got \(n)")
        if n == 1 { return 0 }
        let h = maxQuadratureStep
        let steps = Int((2 * integrationRange / h).rounded())
        let logN = Foundation.log(Double(n)), nm1 = Double(n - 1)
        let logRoot2Pi = 0.5 * Foundation.log(2 * Double.pi)
        var sum = 0.0
        for i in 0...steps {
            let z = -integrationRange + Double(i) * h
            let logF = logN - 0.5 * z * z - logRoot2Pi + nm1 * logNormalCDF(z)
            let w = (i == 0 || i == steps) ? 0.5 : 1.0
            sum += w * z * Foundation.exp(logF)
        }
        return sum * h
    }

    /// The classical large-n expansion of `m(n)` (Cramér; Gumbel limit):
    ///
    ///     a_n = √(2 ln n),   b_n = a_n − (ln ln n + ln 4π) / (2 a_n),   m(n) ≈ b_n + γ / a_n
    ///
    /// Relative error O(1/ln n): a few per cent at n = 10⁴, below 1% only
    /// for astronomically large n. For checks and intuition, not for results.
    /// - Precondition: n ≥ 3 (ln ln n must be defined and the expansion sensible).
    public static func expectedMaxAsymptotic(_ n: Double) -> Double {
        precondition(n >= 3, "expectedMaxAsymptotic needs n ≥ 3")
        let a = (2 * Foundation.log(n)).squareRoot()
        let b = a - (Foundation.log(Foundation.log(n)) + Foundation.log(4 * Double.pi)) / (2 * a)
        return b + eulerGamma / a
    }

    /// The expected log of the mean of `V` i.i.d. log-normal variables,
    ///
    ///     E[ log (1/V) Σ_{b=1}^{V} exp(c ξ_b) ],   ξ_b ~ N(0, 1) i.i.d.
    ///
    /// (nats) — the expected log-partition shift of a softmax over `V` logits
    /// with Gaussian noise of standard deviation `c` relative to the
    /// noise-free uniform row. It is 0 for c = 0 or V = 1, ≥ 0 always
    /// (Jensen), ≈ c²/2 for small c or V → ∞, and ≈ c·m(V) − ln V for large c.
    ///
    /// Computation (exact up to quadrature error, ~1e-10): Frullani's
    /// integral `log S = ∫₀^∞ (e^{−t} − e^{−tS}) / t dt` turns the
    /// expectation into products of one-dimensional integrals, because
    /// `E[e^{−tS}] = L(t)^V` with `L(t) = E[exp(−t e^{cξ})]`. With `t = e^u`,
    ///
    ///     E[log S] = ∫ ( exp(−e^u) − L(e^u)^V ) du,     1 − L(e^u) = ∫ φ(z) (1 − exp(−e^{u + cz})) dz
    ///
    /// Both integrals by the trapezoid rule (z on [−12, 12], step
    /// min(1/64, 1/(8c)), resolving the 1/c-wide transition of the inner
    /// integrand; u on [−(12c + 40), 12c + 5], step max(1, c)/64). Both
    /// integrands are smooth and negligible at the ends, where the trapezoid
    /// rule converges geometrically. Stability: `1 − L` is integrated directly
    /// with `expm1` (no `1 − L` cancellation), `L^V` is
    /// `exp(V log1p(−(1 − L)))`, and the integrand is the difference of two
    /// `expm1`s. The tails left out are below e^{−40}.
    ///
    /// - Parameters:
    ///   - vocab: V ≥ 1 tokens.
    ///   - noise: c ≥ 0, the logit noise standard deviation in nats (finite, ≤ 50).
    /// - Complexity: O(#u · #z): about 7·10⁶ `exp` for c ≤ 1 and at c = 20.
    public static func expectedLogMeanExp(vocab V: Int, noise c: Double) -> Double {
        precondition(V >= 1, "expectedLogMeanExp needs V ≥ 1")
        precondition(c.isFinite && c >= 0 && c <= 50, "expectedLogMeanExp needs a noise c in [0, 50], got \(c)")
        if V == 1 || c == 0 { return 0 }
        let R = integrationRange
        let hz = Swift.min(1.0 / 64, 1 / (8 * c))
        let nz = Int((2 * R / hz).rounded(.up))
        var zs = [Double](repeating: 0, count: nz + 1), ws = [Double](repeating: 0, count: nz + 1)
        let logRoot2Pi = 0.5 * Foundation.log(2 * Double.pi)
        for i in 0...nz {
            let z = -R + Double(i) * (2 * R / Double(nz))
            zs[i] = c * z
            ws[i] = Foundation.exp(-0.5 * z * z - logRoot2Pi) * (2 * R / Double(nz)) * ((i == 0 || i == nz) ? 0.5 : 1)
        }
        let uLo = -(R * c + 40), uHi = R * c + 5
        let hu = Swift.max(1, c) / 64
        let nu = Int(((uHi - uLo) / hu).rounded(.up))
        let du = (uHi - uLo) / Double(nu)
        var total = 0.0
        for j in 0...nu {
            let u = uLo + Double(j) * du
            var oneMinusL = 0.0
            for i in 0...nz { oneMinusL -= ws[i] * Foundation.expm1(-Foundation.exp(u + zs[i])) }
            oneMinusL = Swift.min(Swift.max(oneMinusL, 0), 1)
            let g = -Foundation.expm1(Double(V) * Foundation.log1p(-oneMinusL)) + Foundation.expm1(-Foundation.exp(u))
            total += ((j == 0 || j == nu) ? 0.5 : 1) * g
        }
        return total * du - Foundation.log(Double(V))
    }

    /// A sorted Monte Carlo sample of the largest log-probability of a
    /// softmax over `V` noisy, otherwise equal logits:
    ///
    ///     M = max_a log softmax(c ξ)_a = − log Σ_b exp(c (ξ_b − max ξ)),   ξ_b ~ N(0, 1) i.i.d.
    ///
    /// (nats, in (−ln V, 0]). Drawn with `SplitMix64(seed:, stream: "evt/softmax-max")`
    /// (`nextGaussian`, V per sample), so the same `seed` gives the same ξ for
    /// every c — curves over σ share their random numbers.
    /// - Complexity: O(samples · V + samples log samples).
    public static func softmaxMaxLogProbabilitySample(vocab V: Int, noise c: Double, samples: Int = 1 << 16,
                                                      seed: UInt64 = 0) -> [Double] {
        precondition(V >= 1 && samples >= 1 && c.isFinite && c >= 0)
        var rng = SplitMix64(seed: seed, stream: "evt/softmax-max")
        var out = [Double](repeating: 0, count: samples)
        var x = [Double](repeating: 0, count: V)
        for i in 0..<samples {
            var mx = -Double.infinity
            for b in 0..<V { x[b] = c * rng.nextGaussian(); mx = Swift.max(mx, x[b]) }
            var s = 0.0
            for b in 0..<V { s += Foundation.exp(x[b] - mx) }
            out[i] = -Foundation.log(s)
        }
        out.sort()
        return out
    }

    /// The expected maximum of `k` independent draws from the empirical
    /// distribution of a sorted sample `x_(1) ≤ … ≤ x_(N)`:
    ///
    ///     E[max of k] = Σ_i x_(i) · ((i/N)^k − ((i−1)/N)^k)
    ///
    /// exact for the empirical distribution (sampling with replacement).
    /// For k ≫ N it tends to the sample maximum.
    /// - Complexity: O(N)
    public static func expectedMaximum(sorted x: [Double], draws k: Int) -> Double {
        precondition(!x.isEmpty && k >= 1)
        // Summed relative to the largest value: the weights add up to 1 only up to
        // rounding, and a constant sample must give exactly that constant.
        let n = Double(x.count), kk = Double(k), top = x[x.count - 1]
        var prev = 0.0, total = 0.0
        for i in 1...x.count {
            let cur = Foundation.pow(Double(i) / n, kk)
            total += (x[i - 1] - top) * (cur - prev)
            prev = cur
        }
        return top + total
    }
}

/// The extreme-value prediction of the over-optimism of beam search under
/// the noisy-oracle prior (SPEC §2.5, §4 experiment 4).
///
/// ## Derivation
///
/// Off the demonstrations the learner's logits are the prior's,
/// `ℓ₀(s, a) = τ (Q*(s, a)/β + σ ξ(s, a))`. The model's per-token error in
/// return units — the step gap of SPEC §1.5 — is then exactly
///
///     e(s, a) = β [log π_ℓ(a|s) − log π*(a|s)]
///             = β(τ − 1) log π*(a|s) + β τ σ ξ(s, a) − β log Σ_b π*(b|s)^τ e^{τσξ(s,b)}
///
/// In a *flat* state — one where π* is uniform over the V tokens, so the
/// noise alone decides the ranking (the reasoning chain's error state, or
/// any region where the true values do not separate the tokens) — the first
/// term cancels against the level of the last, and
///
///     e(s, a) = β τ σ ξ(s, a) − β log (1/V) Σ_b exp(τ σ ξ(s, b))
///             =   noise (sd βτσ)  −  normaliser shift of the state
///
/// `normaliserShift = β E[log (1/V) Σ_b exp(τσξ_b)]` (reward units,
/// `ExtremeValue.expectedLogMeanExp`): the expected log-partition shift
/// `β(log Σ exp ℓ₀ − log Σ exp Q*/β)` with the τ-level `β(τ−1)Q*/β` of a
/// flat row removed (for τ = 1 it is exactly that shift). It is common to
/// the V tokens of a state and ≥ 0.
///
/// **Which n.** A width-k beam, at an off-data step, ranks the `k·V`
/// one-token extensions of its k beams by cumulative `log π_ℓ` and keeps the
/// top k; the response it returns descends from the best of them unless
/// later steps reorder the beams. When the k beams are *level* (equal
/// prefix scores: tied demonstrated paths, or beams that entered the flat
/// region together), prefix scores cancel and the pick is the best of
/// `n = k·V` candidates by their own token's score. So `n_candidates = k·V`:
/// greedy (k = 1) compares exactly the V tokens of one state.
///
/// **Which scale.** The per-token noise in return units, `βτσ`.
///
/// **Gaussian prediction** (`predictedGap`, the extreme-value overlay):
/// treat the n candidates' errors as i.i.d. Gaussian, sd βτσ, mean
/// −normaliserShift; the selected one's expected error is
///
///     predicted_gap(k) = β τ σ · m(k V) − normaliser_shift,      m(n) = E[max of n N(0,1)]
///
/// For k = 1 this is *exact* in a flat state (within one state the
/// normaliser is common to all candidates and ranking by log π_ℓ is ranking
/// by ξ; linearity of expectation needs no independence). For k > 1 it
/// over-predicts: across states beam search compares *normalised*
/// log-probabilities, and the state holding the largest ξ also has the
/// largest normaliser. In a flat state the true one-step gap can never
/// exceed `gapCeiling = β log V` (π_ℓ ≤ 1), while m(kV) grows like √(2 ln kV).
///
/// **Coupled prediction** (`predictedGapSoftmax`): the same selection with
/// the softmax kept — each of the k level flat states offers its best token
/// with log-probability `M_j = max_a log softmax(τσξ_j)_a`, the beam takes
/// the best state, and
///
///     predicted_gap_softmax(k) = β (log V + E[max_{j ≤ k} M_j])
///
/// by Monte Carlo (`ExtremeValue.softmaxMaxLogProbabilitySample`, 2¹⁶
/// states, exact order-statistic weights). It equals `predictedGap` at k = 1
/// up to Monte Carlo error (~1e-3 β), is bounded by `gapCeiling`, and
/// saturates as k grows — the ranking variable is bounded above by 0.
///
/// **What both ignore.** (1) Signal: the `(τ−1) log π*` sharpening term and
/// the true-value differences of non-flat states (an over-confident prior,
/// τ > 1, adds a positive gap on likely tokens that is not a selection
/// effect); the predictions are the noise-driven part. (2) Steps: the
/// measured `overopt` sums the step gaps of the whole response — supervised
/// steps and every later off-data step too; these predictions are *per
/// off-data decision*, to compare with the mean `step_gap` at
/// `first_ood_step` (steps.csv), or per off-data step. Later steps gain less
/// than the first, because their beams are not level. (3) Non-level beams:
/// prefix-score differences make the effective n smaller than kV (between V
/// and kV). (4) Finished hypotheses (EOS, horizon) and forbidden tokens (V
/// counts every token).
///
/// **Critical width.** In this noise-only model search has no true-return
/// gain (every token of a flat state has the same true value), so "marginal
/// gain below marginal gap growth" would hold from k = 1 on; the informative
/// quantity is where selection saturates. `criticalWidth` is the smallest k
/// in 1, 2, 4, … at which doubling the width raises `predictedGapSoftmax` by
/// less than half of what the first doubling (1 → 2) raised it
/// (`criticalWidthFraction`): beyond it wider beams mostly stop changing the
/// pick. The coupled curve is used because the Gaussian one never
/// saturates — its increments shrink only like ln 2/√(2 ln kV) and its
/// shape does not depend on σ at all (σ only scales it), so the same rule
/// on it would give a width that depends on V alone. Noise-free (σ = 0):
/// critical width 1.
public struct BeamGapModel: Sendable {
    /// β > 0, reward units per nat.
    public let beta: Double
    /// τ > 0, the prior's over-confidence (`prior.scale`).
    public let scale: Double
    /// σ ≥ 0, the prior's noise (`prior.sigma`).
    public let sigma: Double
    /// V ≥ 1 tokens per state.
    public let vocab: Int
    /// `β E[log (1/V) Σ_b exp(τσξ_b)]`, reward units.
    public let normaliserShift: Double
    /// Sorted sample of `M = max_a log softmax(τσξ)_a` (nats).
    private let softmaxSample: [Double]

    /// The fraction of the first doubling's gap growth below which selection
    /// counts as saturated (see `criticalWidth`).
    public static let criticalWidthFraction = 0.5
    /// Monte Carlo sample size of the coupled prediction.
    public static let softmaxSamples = 1 << 16
    /// The largest width the critical-width scan considers (`ExperimentConfig.maxWidth`).
    public static let maxScanWidth = 1 << 20

    /// - Throws: `TokenMDPError.invalid` for β ≤ 0, τ ≤ 0, σ < 0, τσ > 50,
    ///   V < 1 or non-finite values.
    /// - Complexity: one `expectedLogMeanExp` and 2¹⁶·V Gaussian draws.
    public init(beta: Double, scale: Double, sigma: Double, vocab: Int) throws {
        guard beta.isFinite && beta > 0 else { throw TokenMDPError.invalid(field: "mdp.beta", message: "must be a finite number > 0, got \(beta)") }
        guard scale.isFinite && scale > 0 else { throw TokenMDPError.invalid(field: "prior.scale", message: "must be a finite number > 0, got \(scale)") }
        guard sigma.isFinite && sigma >= 0 else { throw TokenMDPError.invalid(field: "prior.sigma", message: "must be a finite number ≥ 0, got \(sigma)") }
        guard scale * sigma <= 50 else {
            throw TokenMDPError.invalid(field: "prior.sigma", message: "the logit noise τσ = \(formatNumber(scale * sigma)) nats is beyond what the prediction integrates (≤ 50)")
        }
        guard vocab >= 1 else { throw TokenMDPError.invalid(field: "vocab", message: "must be ≥ 1, got \(vocab)") }
        self.beta = beta; self.scale = scale; self.sigma = sigma; self.vocab = vocab
        let c = scale * sigma
        normaliserShift = beta * ExtremeValue.expectedLogMeanExp(vocab: vocab, noise: c)
        softmaxSample = ExtremeValue.softmaxMaxLogProbabilitySample(vocab: vocab, noise: c, samples: Self.softmaxSamples)
    }

    /// βτσ, the per-token noise in return units.
    public var noiseScale: Double { beta * scale * sigma }
    /// β log V, the largest one-step gap a flat state allows (reward units).
    public var gapCeiling: Double { beta * Foundation.log(Double(vocab)) }

    /// `n = k·V`, the candidates a width-k beam ranks at an off-data step.
    public func candidates(width k: Int) -> Int { k * vocab }

    /// `βτσ · m(kV) − normaliserShift` (reward units).
    public func predictedGap(width k: Int) -> Double {
        precondition(k >= 1)
        return noiseScale * ExtremeValue.expectedMaxOfStandardNormals(candidates(width: k)) - normaliserShift
    }

    /// `β (log V + E[max of k M])` (reward units), ≤ `gapCeiling`.
    public func predictedGapSoftmax(width k: Int) -> Double {
        precondition(k >= 1)
        return beta * (Foundation.log(Double(vocab)) + ExtremeValue.expectedMaximum(sorted: softmaxSample, draws: k))
    }

    /// The smallest k ∈ {1, 2, 4, …, `maxScanWidth`} with
    /// `G(2k) − G(k) < criticalWidthFraction · (G(2) − G(1))`, G = `predictedGapSoftmax`;
    /// 1 when the first doubling adds nothing (σ = 0 or V = 1);
    /// `maxScanWidth` when the scan ends first.
    public var criticalWidth: Int {
        let first = predictedGapSoftmax(width: 2) - predictedGapSoftmax(width: 1)
        guard first > 1e-12 * Swift.max(beta, 1) else { return 1 }
        var k = 1, gk = predictedGapSoftmax(width: 1)
        while k < Self.maxScanWidth {
            let g2 = predictedGapSoftmax(width: 2 * k)
            if g2 - gk < Self.criticalWidthFraction * first { return k }
            k *= 2; gk = g2
        }
        return k
    }
}

// MARK: - Output (`tokenmdp evt`)

extension BeamGapModel {
    /// The columns of `tokenmdp evt` (documented in its help and above).
    public static let csvHeader = ["cell", "sigma", "scale", "beta", "vocab", "width", "n_candidates", "expected_max_z",
                                   "predicted_gap", "normaliser_shift", "critical_width", "predicted_gap_softmax", "gap_ceiling"]

    /// One row per width, in the order given.
    public func csvRows(cell: Int, widths: [Int]) -> [[String]] {
        let kc = criticalWidth
        return widths.map { k in
            [String(cell), formatNumber(sigma), formatNumber(scale), formatNumber(beta), String(vocab), String(k),
             String(candidates(width: k)), formatNumber(ExtremeValue.expectedMaxOfStandardNormals(candidates(width: k))),
             formatNumber(predictedGap(width: k)), formatNumber(normaliserShift), String(kc),
             formatNumber(predictedGapSoftmax(width: k)), formatNumber(gapCeiling)]
        }
    }

    /// A compact terminal table for one cell.
    public func table(cell: Int, widths: [Int]) -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        var out = "cell \(cell): σ \(formatNumber(sigma)), τ \(formatNumber(scale)), β \(formatNumber(beta)), V \(vocab); "
            + "normaliser shift \(f(normaliserShift)), ceiling β log V \(f(gapCeiling)), critical width \(criticalWidth)\n"
        out += pad("width", 7) + pad("n", 8) + pad("m(n)", 9) + pad("gap", 9) + pad("gap_softmax", 13) + "\n"
        for k in widths {
            out += pad(String(k), 7) + pad(String(candidates(width: k)), 8)
                + pad(f(ExtremeValue.expectedMaxOfStandardNormals(candidates(width: k))), 9)
                + pad(f(predictedGap(width: k)), 9) + pad(f(predictedGapSoftmax(width: k)), 13) + "\n"
        }
        return out + "\n"
    }
}
