import Foundation

/// The tabular SFT-as-Q learner (SPEC §1.4, §2.6): a learned `Δ(s, ·)` for
/// every demonstrated prefix (trie node with `N(s) > 0`), the prior elsewhere.
///
///     ℓ(s, ·) = ℓ₀(s, ·) + Δ(s, ·)     if trie.isDemonstrated(s.node)
///     ℓ(s, ·) = ℓ₀(s, ·)               otherwise
///
/// Training minimises, for each demonstrated state separately,
///
///     J_s(Δ) = −Σ_a n(s,a) ℓ(s,a) + (1 − λ) N(s) log Σ_a exp ℓ(s,a) + (μ/2) ‖Δ‖²
///
/// (`λ = 0`: SFT; `λ > 0`: SOC; `μ`: prior precision in demonstrations).
///
/// **Exact training** (`Training.exact`). For `0 ≤ λ < 1`, `μ > 0`, `J_s` is
/// strictly convex. Writing `Δ = k·𝟙 + z` with `Σ z = 0` separates it: the
/// all-ones level has the closed form `k = λN/(μm)` (`m` = number of tokens
/// the prior allows, `m = V` unless it forbids some) and the centred part `z`
/// is found by Newton's method with backtracking (Armijo) line search. The
/// Hessian `H = (1−λ)N (diag π − ππᵀ) + μI` is diagonal plus rank one and
/// maps `𝟙⊥` to itself (`H𝟙 = μ𝟙`), so the Newton step
/// `d = −H⁻¹g` is given by Sherman–Morrison in O(V):
///
///     D = diag((1−λ)Nπ + μ),   H⁻¹g = D⁻¹g + (1−λ)N · D⁻¹π · (πᵀD⁻¹g) / (1 − (1−λ)N πᵀD⁻¹π)
///     with the denominator evaluated as Σ_a π_a μ / D_a  (> 0, no cancellation).
///
/// Iteration stops when the centred gradient norm is ≤ `1e-12 · max(1, N(s))`
/// (the level is exact, so the centred gradient *is* the gradient of `J_s`
/// up to the rounding of `k·𝟙 + z`). Looser only where floating point makes
/// that unreachable: a stored logit of magnitude |ℓ| is known to ~ε|ℓ|, so
/// the gradient cannot be resolved below `8ε · N · (1 + max_a |Δ_a|)`; this
/// floor exceeds the target only when the optimum itself is huge — tiny μ
/// with λ > 0, e.g. μ = 1e-4, λ = 0.2, N = 1000 gives a level of 2.5·10⁵ —
/// and there Newton stops at the floor. If neither bound (nor a fallback
/// of `1e-9 · max(1, N)` when the line search stalls) is met, training
/// throws. `report` records the worst relative gradient. States are solved independently, optionally on
/// several threads; each state's arithmetic is the same whatever the thread
/// count, so results are bit-identical for any `threads`.
///
/// *Ties are exact*: every step is elementwise in the token with shared
/// scalar reductions, so tokens with equal counts and equal prior logits get
/// bit-identical logits, as do states with equal count and prior rows.
///
/// **Plain MLE** (`μ = 0`, `λ = 0`): the minimiser is not unique (any level
/// works); we return the normalised log-frequencies
/// `ℓ(s, a) = log(n(s,a)/N(s))` (so `V̂(s) = 0`), `−∞` for unseen tokens —
/// the prior is ignored on demonstrated states. `μ = 0` with `λ > 0` has no
/// minimiser (the level grows without bound) and is refused for exact
/// training; gradient training runs its fixed number of steps.
///
/// **Gradient training** (`Training.gradient`): full-batch Adam or GD on
/// `L/M = Σ_s J_s / M` (weight decay `μ/M`), `Δ = 0` at the start.
///
/// **Label smoothing** (`labelSmoothing = ε`, a comparator, the opposite of
/// SOC): targets `(1 − ε)·onehot + ε·uniform`, i.e. counts
/// `(1 − ε) n + ε N/m` (see `effectiveCounts`).
///
/// The model answers queries through `trie` node ids, so decoders must build
/// their `PrefixState`s with the same trie.
public struct TabularLearner: LogitModel {
    public enum Training: Sendable, Equatable {
        case exact
        case gradient(GradientOptions)
    }

    public struct Options: Sendable, Equatable {
        /// λ ∈ [0, 1): SOC value-loss weight (0 = SFT).
        public var lambda: Double
        /// μ ≥ 0: L2 precision on Δ, in demonstrations.
        public var weightDecay: Double
        /// ε ∈ [0, 1): label smoothing of the targets.
        public var labelSmoothing: Double
        public var training: Training

        public init(lambda: Double = 0, weightDecay: Double = 1e-3, labelSmoothing: Double = 0, training: Training = .exact) {
            self.lambda = lambda; self.weightDecay = weightDecay
            self.labelSmoothing = labelSmoothing; self.training = training
        }

        /// - Throws: `TokenMDPError.invalid` for λ ∉ [0, 1), μ < 0, ε ∉ [0, 1),
        ///   or exact training with μ = 0 and λ > 0 (no minimiser).
        public func validate() throws {
            guard lambda.isFinite && lambda >= 0 && lambda < 1 else {
                throw TokenMDPError.invalid(field: "lambda", message: "must be in [0, 1) (λ ≥ 1 makes the loss unbounded below), got \(lambda)")
            }
            guard weightDecay.isFinite && weightDecay >= 0 else {
                throw TokenMDPError.invalid(field: "weight_decay", message: "must be a finite number ≥ 0, got \(weightDecay)")
            }
            guard labelSmoothing.isFinite && labelSmoothing >= 0 && labelSmoothing < 1 else {
                throw TokenMDPError.invalid(field: "label_smoothing", message: "must be in [0, 1), got \(labelSmoothing)")
            }
            switch training {
            case .exact:
                if weightDecay == 0 && lambda > 0 {
                    throw TokenMDPError.invalid(field: "weight_decay", message: "exact training with λ = \(lambda) > 0 needs weight_decay μ > 0: with μ = 0 the SOC loss has no minimiser (every demonstrated state's logits grow without bound); set μ > 0 or use training: gradient with a fixed number of steps")
                }
            case let .gradient(g):
                try g.validate()
            }
        }
    }

    /// What training achieved.
    public struct Report: Sendable, Equatable {
        /// Exact: the most Newton iterations any state needed; gradient: steps.
        public var iterations: Int
        /// Exact: max over states of ‖∇J_s‖ / max(1, N(s)) at the solution.
        /// Gradient: the same quantity after the last step (not driven to 0).
        public var relativeGradientNorm: Double
    }

    public let vocabSize: Int
    public let prior: any LogitModel
    public let trie: DemonstrationTrie
    public let options: Options
    /// `ℓ(s, ·)` of demonstrated nodes, flat `[node·V + a]` (rows of nodes
    /// with `N = 0` are unused and hold the prior).
    public let table: [Double]
    public let report: Report

    /// Fits the learner.
    /// - Parameters:
    ///   - mdp: the MDP the trie was built on (for the prefix states at which
    ///     the prior is queried).
    ///   - threads: worker threads over states (results do not depend on it).
    /// - Throws: on invalid options, or if Newton fails to converge.
    /// - Complexity: exact: O(#nodes · V · Newton iterations); gradient:
    ///   O(#nodes · V · steps).
    public init(mdp: TokenMDP, trie: DemonstrationTrie, prior: any LogitModel, options: Options, threads: Int = 1) throws {
        try options.validate()
        precondition(prior.vocabSize == trie.vocabSize && mdp.vocabSize == trie.vocabSize, "vocabulary sizes differ")
        let V = trie.vocabSize
        let nodes = trie.demonstratedNodes
        let states = trie.prefixStates(mdp: mdp)
        var table = [Double](repeating: 0, count: trie.nodeCount * V)
        // Prior rows of every node (also the fallback content of unused rows).
        table.withUnsafeMutableBufferPointer { t in
            parallelRanges(count: trie.nodeCount, threads: threads) { lo, hi in
                for node in lo..<hi {
                    prior.logits(states[node], into: UnsafeMutableBufferPointer(rebasing: t[node * V ..< (node + 1) * V]))
                }
            }
        }
        let M = max(trie.pairCount, 1)
        var iterations = [Int](repeating: 0, count: nodes.count)
        var gradients = [Double](repeating: 0, count: nodes.count)
        var failed = [Bool](repeating: false, count: nodes.count)
        trie.counts.withUnsafeBufferPointer { counts in
        table.withUnsafeMutableBufferPointer { t in
        iterations.withUnsafeMutableBufferPointer { its in
        gradients.withUnsafeMutableBufferPointer { grs in
        failed.withUnsafeMutableBufferPointer { bad in
            parallelRanges(count: nodes.count, threads: threads) { lo, hi in
                var work = TabularWork(vocabSize: V)
                defer { work.deallocate() }
                for i in lo..<hi {
                    let node = nodes[i]
                    let row = t.baseAddress! + node * V
                    let N = effectiveCounts(counts: counts.baseAddress! + node * V, prior: row, vocabSize: V,
                                            labelSmoothing: options.labelSmoothing, into: work.n)
                    work.l0.update(from: row, count: V)
                    let result: (Int, Double)
                    switch options.training {
                    case .exact:
                        let (it, gnorm, target) = Self.solveExact(l0: work.l0, n: work.n, total: N, V: V, lambda: options.lambda,
                                                                  mu: options.weightDecay, out: row, work: &work)
                        result = (it, gnorm)
                        bad[i] = gnorm > Swift.max(1e-9 * max(1, N), target)
                    case let .gradient(g):
                        result = Self.trainGradient(l0: work.l0, n: work.n, total: N, V: V, lambda: options.lambda,
                                                    mu: options.weightDecay, M: M, options: g, out: row, work: &work)
                    }
                    its[i] = result.0
                    grs[i] = result.1 / max(1, N)
                }
            }
        }}}}}
        if let i = failed.firstIndex(of: true) {
            throw TokenMDPError.invalid(field: "training", message: "Newton did not converge on trie node \(nodes[i]) (N = \(trie.totals[nodes[i]])): relative gradient norm \(gradients[i]) after \(iterations[i]) iterations")
        }
        self.vocabSize = V
        self.prior = prior
        self.trie = trie
        self.options = options
        self.table = table
        self.report = Report(iterations: iterations.max() ?? 0, relativeGradientNorm: gradients.max() ?? 0)
    }

    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        if trie.isDemonstrated(s.node) {
            let off = Int(s.node) * vocabSize
            for a in 0..<vocabSize { out[a] = table[off + a] }
        } else {
            prior.logits(s, into: out)
        }
    }

    /// The learned logits `ℓ(s, ·)` of a demonstrated trie node.
    public func logits(node: Int) -> [Double] {
        Array(table[node * vocabSize ..< (node + 1) * vocabSize])
    }
}

// MARK: - Per-state solvers

/// Scratch buffers of one worker (V entries each).
struct TabularWork {
    let V: Int
    /// Inputs: prior row and effective counts.
    let l0, n: UnsafeMutablePointer<Double>
    /// Newton: compact prior/counts, iterate, π, trial π, gradient, direction, trial point.
    let cl0, cn, z, pi, piTrial, g, d, trial: UnsafeMutablePointer<Double>
    /// Adam moments.
    let m, v: UnsafeMutablePointer<Double>
    let allowed: UnsafeMutablePointer<Int>
    init(vocabSize V: Int) {
        self.V = V
        func buf() -> UnsafeMutablePointer<Double> { .allocate(capacity: max(V, 1)) }
        l0 = buf(); n = buf(); cl0 = buf(); cn = buf(); z = buf(); pi = buf(); piTrial = buf()
        g = buf(); d = buf(); trial = buf(); m = buf(); v = buf()
        allowed = .allocate(capacity: max(V, 1))
    }
    func deallocate() {
        for p in [l0, n, cl0, cn, z, pi, piTrial, g, d, trial, m, v] { p.deallocate() }
        allowed.deallocate()
    }
}

extension TabularLearner {
    /// Newton iterations cap per state (typically < 30 are used).
    static let maxNewtonIterations = 500

    /// Solves `min J_s` exactly (see the type's doc comment) and writes
    /// `ℓ = ℓ₀ + Δ` into `out`. Returns (iterations, final gradient norm).
    static func solveExact(l0: UnsafeMutablePointer<Double>, n: UnsafeMutablePointer<Double>, total N: Double,
                           V: Int, lambda: Double, mu: Double, out: UnsafeMutablePointer<Double>,
                           work: inout TabularWork) -> (Int, Double, Double) {
        // Compact the allowed tokens (ℓ₀ > −∞) to the front.
        let allowed = work.allowed
        var m = 0
        for a in 0..<V {
            if l0[a] == -.infinity { out[a] = -.infinity } else { allowed[m] = a; m += 1 }
        }
        if N == 0 || m == 0 {
            for i in 0..<m { out[allowed[i]] = l0[allowed[i]] }
            return (0, 0, 0)
        }
        if mu == 0 {
            // Plain MLE (λ = 0 is guaranteed by validation): normalised log-frequencies.
            for i in 0..<m {
                let a = allowed[i]
                out[a] = n[a] > 0 ? Foundation.log(n[a] / N) : -.infinity
            }
            return (0, 0, 0)
        }
        let L0 = work.cl0, cn = work.cn, z = work.z, pi = work.pi, g = work.g, d = work.d, trial = work.trial
        for i in 0..<m { L0[i] = l0[allowed[i]]; cn[i] = n[allowed[i]]; z[i] = 0 }
        let c = (1 - lambda) * N
        let level = lambda * N / (mu * Double(m))
        let tol = 1e-12 * max(1, N)
        let mD = Double(m)

        // f(z) = −Σ n z + c·lse(ℓ₀ + z) + μ/2 ‖z‖² (constants dropped), filling π.
        func objective(_ x: UnsafeMutablePointer<Double>, pi p: UnsafeMutablePointer<Double>) -> Double {
            var mx = -Double.infinity
            for i in 0..<m { let v = L0[i] + x[i]; if v > mx { mx = v } }
            var s = 0.0
            for i in 0..<m { let e = Foundation.exp(L0[i] + x[i] - mx); p[i] = e; s += e }
            let inv = 1.0 / s
            var lin = 0.0, sq = 0.0
            for i in 0..<m { p[i] *= inv; lin += cn[i] * x[i]; sq += x[i] * x[i] }
            return -lin + c * (mx + Foundation.log(s)) + 0.5 * mu * sq
        }
        // Centred gradient g = P(−n + cπ + μz) (P projects out 𝟙); returns ‖g‖.
        func gradient() -> Double {
            var sum = 0.0
            for i in 0..<m { g[i] = -cn[i] + c * pi[i] + mu * z[i]; sum += g[i] }
            let mean = sum / mD
            var nrm = 0.0
            for i in 0..<m { g[i] -= mean; nrm += g[i] * g[i] }
            return nrm.squareRoot()
        }

        // Floating-point floor: a logit of magnitude |ℓ| is only known to
        // ~ε|ℓ|, so the gradient −n + cπ + μΔ at the stored logits cannot be
        // resolved below ~ε·N·max|Δ|. It matters only when the optimum itself
        // is huge (tiny μ with λ > 0: the level λN/(μm) and the push of
        // unseen tokens toward −λN/(μm)); there the iteration stops at the floor.
        func floor() -> Double {
            var big = 0.0
            for i in 0..<m { big = Swift.max(big, abs(z[i] + level)) }
            return 8 * Double.ulpOfOne * N * (1 + big)
        }
        var value = objective(z, pi: pi)
        var gnorm = gradient()
        var iter = 0
        while gnorm > Swift.max(tol, floor()) && iter < maxNewtonIterations {
            iter += 1
            // Sherman–Morrison Newton direction d = −H⁻¹ g (then re-centred
            // against rounding; mathematically it already lies in 𝟙⊥).
            var s1 = 0.0, den = 0.0
            for i in 0..<m {
                let D = c * pi[i] + mu
                s1 += pi[i] * (g[i] / D)
                den += pi[i] * mu / D
            }
            let coef = s1 / den
            var dsum = 0.0
            for i in 0..<m {
                let D = c * pi[i] + mu
                d[i] = -(g[i] + c * pi[i] * coef) / D
                dsum += d[i]
            }
            let dmean = dsum / mD
            var slope = 0.0
            for i in 0..<m { d[i] -= dmean; slope += g[i] * d[i] }
            guard slope < 0 else { break }
            // Backtracking (Armijo). Once the predicted decrease is below the
            // rounding of f, comparing f values is noise: the full Newton step
            // (quadratically convergent there) is taken without a test.
            let noiseLevel = -slope <= 1e-13 * max(1, abs(value))
            var step = 1.0, accepted = false
            for _ in 0..<60 {
                for i in 0..<m { trial[i] = z[i] + step * d[i] }
                let newValue = objective(trial, pi: work.piTrial)
                if noiseLevel || newValue <= value + 1e-4 * step * slope { accepted = true; break }
                step *= 0.5
            }
            guard accepted else { break }
            for i in 0..<m { z[i] = trial[i] }
            value = objective(z, pi: pi)
            let previous = gnorm
            gnorm = gradient()
            if noiseLevel && gnorm >= previous { break }  // at the floating-point floor
        }
        // Δ = level·𝟙 + z; ℓ = ℓ₀ + Δ (elementwise, so ties stay ties).
        for i in 0..<m { out[allowed[i]] = l0[allowed[i]] + (z[i] + level) }
        return (iter, gnorm, Swift.max(tol, floor()))
    }

    /// Full-batch first-order training of one state's Δ on `J_s / M`
    /// (states are independent under full-batch, per-coordinate updates, so
    /// running all steps of one state before the next is the same computation).
    static func trainGradient(l0: UnsafeMutablePointer<Double>, n: UnsafeMutablePointer<Double>, total N: Double,
                              V: Int, lambda: Double, mu: Double, M: Double, options: GradientOptions,
                              out: UnsafeMutablePointer<Double>, work: inout TabularWork) -> (Int, Double) {
        let delta = work.z, l = work.trial, g = work.g, m = work.m, v = work.v
        for a in 0..<V { delta[a] = 0; m[a] = 0; v[a] = 0 }
        let c = (1 - lambda) * N
        let invM = 1.0 / M
        func grad() {
            for a in 0..<V { l[a] = l0[a] + delta[a] }
            _ = socRowLoss(logits: l, counts: n, c: c, vocabSize: V, grad: g)
            for a in 0..<V { g[a] = l0[a] == -.infinity ? 0 : (g[a] + mu * delta[a]) * invM }
        }
        for k in 0..<options.steps {
            grad()
            options.update(delta, g, m, v, count: V, step: k)
        }
        grad()
        var nrm = 0.0
        for a in 0..<V { nrm += (g[a] * M) * (g[a] * M) }
        for a in 0..<V { out[a] = l0[a] == -.infinity ? -.infinity : l0[a] + delta[a] }
        return (options.steps, nrm.squareRoot())
    }
}
