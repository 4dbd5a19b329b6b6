import Foundation

// The identities of SPEC §1.2–1.4 as measured numbers (experiment 5,
// `tokenmdp identities`). Each check evaluates both sides of an identity with
// the library's own solvers and learners on small random instances and
// records the largest absolute difference; `IdentityReport` runs them all for
// a list of seeds, adds the SFT consistency rate (KL(π* ‖ π̂) vs N, I6) and
// writes the CSVs.
//
// Ranked goals: (1) every number is computed by the public solver / learner
// APIs — nothing is re-derived here, so a regression there shows up here;
// (2) deterministic bytes: single-threaded, every random draw from
// `SplitMix64` streams named below; (3) fast enough for a report (< 1 min).

/// The worst disagreement between the two sides of an identity over a set of
/// cases, and where it happened.
///
/// A case compares `a` and `b`: equal values (including equal infinities,
/// e.g. `log π*(y|x) = −∞` and `G(x,y) − V* = −∞` on a forbidden response)
/// differ by 0; otherwise the difference is `|a − b|` (`+∞` when exactly one
/// side is infinite). A NaN on either side makes the whole discrepancy NaN,
/// which fails every tolerance (it is never silently dropped).
public struct Discrepancy: Sendable, Equatable {
    public private(set) var cases = 0
    /// max |a − b| over the cases (0 when there are none; NaN is sticky).
    public private(set) var maxAbsDiff = 0.0
    /// A description of the worst case (nil when every case agreed exactly).
    public private(set) var worst: String? = nil

    public init() {}

    /// Records one case.
    public mutating func record(_ a: Double, _ b: Double, _ at: @autoclosure () -> String) {
        cases += 1
        let d: Double = (a == b) ? 0 : ((a.isNaN || b.isNaN) ? .nan : Swift.abs(a - b))
        if maxAbsDiff.isNaN { return }
        if d.isNaN || d > maxAbsDiff { maxAbsDiff = d; worst = at() + " (\(a) vs \(b))" }
    }

    /// Merges another set of cases into this one.
    public mutating func merge(_ o: Discrepancy) {
        cases += o.cases
        if maxAbsDiff.isNaN { return }
        if o.maxAbsDiff.isNaN || o.maxAbsDiff > maxAbsDiff { maxAbsDiff = o.maxAbsDiff; worst = o.worst }
    }
}

/// One row of `identities.csv`.
public struct IdentityCheck: Sendable, Equatable {
    /// Short name: `I1`, `I2`, …, `I6-shaping`, `I6-rate`, `I7-sharpening`, …
    public var identity: String
    /// The claim in words and symbols (one line).
    public var claim: String
    /// Number of scalar comparisons (or fitted points, for `I6-rate`).
    public var cases: Int
    /// The largest absolute difference found, in the units of the claim.
    public var maxAbsDiff: Double
    /// The tolerance the claim is held to (see `IdentityReport` for each).
    public var tolerance: Double
    /// Where the worst case happened (not written to the CSV).
    public var worst: String?

    /// `maxAbsDiff ≤ tolerance` (false for NaN).
    public var pass: Bool { maxAbsDiff <= tolerance }

    public init(identity: String, claim: String, _ d: Discrepancy, tolerance: Double) {
        self.identity = identity; self.claim = claim; self.cases = d.cases
        self.maxAbsDiff = d.maxAbsDiff; self.tolerance = tolerance; self.worst = d.worst
    }
}

/// The identity measurements, one function per identity. Each returns the
/// discrepancy between the two sides on the instance it is given; the
/// tolerances are the caller's (see `IdentityReport`).
public enum Identities {
    /// (I1) Enumeration, SPEC §1.2: for every prompt,
    ///
    ///     V*_0(q₀(x)) = β log Σ_y exp(G(x,y)/β)      and      Σ_y π*(y|x) = 1
    ///
    /// over all complete responses (`TokenMDP.allResponses`; returns −∞ on
    /// forbidden responses contribute 0). Reward units and probability.
    /// - Throws: on β ≤ 0 or a rollout error. Small trees only.
    public static func enumeration(_ mdp: TokenMDP, beta: Double) throws -> Discrepancy {
        try requirePositive(beta)
        let sol = try SoftValueIteration.solve(mdp, beta: beta)
        let ys = mdp.allResponses()
        var d = Discrepancy()
        for p in mdp.prompts.indices {
            let returns = try ys.map { try mdp.rollout(prompt: p, tokens: $0).return_ }
            d.record(sol.rootValue(prompt: p), LogSumExp.soft(returns, temperature: beta), "V* vs enumeration, prompt \(p), β \(beta)")
            let total = ys.reduce(0.0) { $0 + Foundation.exp(sol.logProbability(prompt: p, tokens: $1)) }
            d.record(total, 1, "Σ_y π*(y|x), prompt \(p), β \(beta)")
        }
        return d
    }

    /// (I2) Telescoping, SPEC §1.2: for every prompt and complete response,
    ///
    ///     β · log π*(y|x) = G(x, y) − V*(x)
    ///
    /// (reward units; both sides are −∞ on a forbidden response).
    /// - Throws: on β ≤ 0 or a rollout error. Small trees only.
    public static func telescoping(_ mdp: TokenMDP, beta: Double) throws -> Discrepancy {
        try requirePositive(beta)
        let sol = try SoftValueIteration.solve(mdp, beta: beta)
        var d = Discrepancy()
        for p in mdp.prompts.indices {
            for y in mdp.allResponses() {
                let g = try mdp.rollout(prompt: p, tokens: y).return_
                d.record(beta * sol.logProbability(prompt: p, tokens: y), g - sol.rootValue(prompt: p),
                         "prompt \(p) response \(y) β \(beta)")
            }
        }
        return d
    }

    /// (I3) The β → 0 limit, SPEC §1.2, measured at one small β: for every prompt,
    ///
    ///     V*_0 at β = 0  = max_y G(x, y)                        (exact)
    ///     0 ≤ V*_β − max_y G(x, y) ≤ β · log |Y_finite(x)|      (the entropy bound)
    ///
    /// with `Y_finite(x)` the responses of finite return. Returns the
    /// discrepancy of both values against `max_y G` and the largest bound.
    /// A negative `V*_β − max G` beyond rounding would be a violation; it
    /// shows up as a positive difference like any other.
    /// - Throws: on β ≤ 0 or a rollout error. Small trees only.
    public static func zeroTemperatureLimit(_ mdp: TokenMDP, beta: Double) throws -> (discrepancy: Discrepancy, bound: Double) {
        try requirePositive(beta)
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        let soft = try SoftValueIteration.solve(mdp, beta: beta)
        let ys = mdp.allResponses()
        var d = Discrepancy(), bound = 0.0
        for p in mdp.prompts.indices {
            let returns = try ys.map { try mdp.rollout(prompt: p, tokens: $0).return_ }
            let best = returns.max()!
            let finite = returns.filter { $0 > -.infinity }.count
            bound = Swift.max(bound, beta * Foundation.log(Double(finite)))
            d.record(hard.rootValue(prompt: p), best, "V* at β = 0 vs max_y G, prompt \(p)")
            d.record(soft.rootValue(prompt: p), best, "V* at β = \(beta) vs max_y G, prompt \(p)")
        }
        return (d, bound)
    }

    /// (I4) Every logit function is the soft-optimal Q of its inverse
    /// Bellman reward, SPEC §1.3: on the prefix tree of prompt `p` with reward
    ///
    ///     r̃(s, a) = β ℓ(s, a) − V̂(s ∘ a),   V̂(s) = β log Σ_a exp ℓ(s, a),   V̂ = 0 after the end,
    ///
    /// soft value iteration (`TokenMDP.prefixTree` + `SoftValueIteration`)
    /// returns `V = V̂`, `Q = β ℓ` and `log π = log π_ℓ` on every decision
    /// state (reward units; nats for log π).
    /// - Throws: on β ≤ 0. Small trees only; `model` must give every state a
    ///   finite logit.
    public static func inverseBellmanRoundTrip(_ mdp: TokenMDP, prompt p: Int, model: any LogitModel,
                                               beta: Double) throws -> Discrepancy {
        try requirePositive(beta)
        let (tree, states) = try mdp.prefixTree(prompt: p) { s, a in
            model.inverseBellmanReward(s, a, beta: beta, mdp: mdp, trie: nil)
        }
        let sol = try SoftValueIteration.solve(tree, beta: beta)
        var d = Discrepancy()
        for (i, s) in states.enumerated() {
            let t = s.tokens.count
            let l = model.logits(s.state), logPi = model.logPolicy(s.state)
            d.record(sol.v(t, i), model.softValue(s.state, beta: beta), "V̂ at prefix \(s.tokens)")
            for a in 0..<mdp.vocabSize {
                d.record(sol.q(t, i, a), beta * l[a], "Q̂ at prefix \(s.tokens) token \(a)")
                d.record(sol.logPolicy(t, i, a), logPi[a], "log π at prefix \(s.tokens) token \(a)")
            }
        }
        return d
    }

    /// (I5) SFT is inverse soft-Q learning, SPEC §1.3: per response
    ///
    ///     Σ_t log π_ℓ(a_t|s_t) = (Σ_t r̃(s_t, a_t) − V̂(s_0)) / β
    ///
    /// and over the data set, the SFT log-likelihood equals the IQ-Learn
    /// objective (`InverseSoftQ.objective`, γ = 1, no χ² term) divided by β.
    /// Nats. `trie` is the one the model answers through (nil if it ignores nodes).
    public static func iqLearnEquivalence(_ mdp: TokenMDP, model: any LogitModel, beta: Double,
                                          demonstrations: [Demonstration], trie: DemonstrationTrie?) throws -> Discrepancy {
        try requirePositive(beta)
        var d = Discrepancy()
        var logLik = 0.0
        for (i, demo) in demonstrations.enumerated() {
            let ll = model.logLikelihood(prompt: demo.prompt, tokens: demo.tokens, mdp: mdp, trie: trie)
            logLik += ll
            var s = PrefixState.root(prompt: demo.prompt, mdp: mdp)
            let v0 = model.softValue(s, beta: beta)
            var rSum = 0.0
            for (t, a) in demo.tokens.enumerated() {
                rSum += model.inverseBellmanReward(s, a, beta: beta, mdp: mdp, trie: trie)
                if t + 1 < demo.tokens.count { s = s.child(a, mdp: mdp, trie: trie) }
            }
            d.record(ll, (rSum - v0) / beta, "telescoping, demonstration \(i)")
        }
        let iq = InverseSoftQ.objective(model: model, beta: beta, mdp: mdp, demonstrations: demonstrations, trie: trie)
        d.record(logLik, iq / beta, "SFT log-likelihood vs IQ-Learn objective / β over \(demonstrations.count) demonstrations")
        return d
    }

    /// (I6, shaping) The recovered reward equals the true reward up to
    /// potential-based shaping, SPEC §1.3. With the exact expected counts
    /// `n(s, a) = P*(s) π*(a|s)` (every complete response weighted by
    /// `π*(y|x)`, `DemonstrationTrie(mdp:demonstrations:weights:)`) the plain
    /// MLE (tabular SFT, λ = 0, μ = 0) is π* on every reachable state, and
    /// along every path
    ///
    ///     Φ(s ∘ a) − Φ(s) = r̃(s, a) − r(s, a)        (r includes R_T when a ends the episode)
    ///
    /// defines one consistent potential with `Φ(x) = 0`:
    /// `Φ(s) = V*(s) − V*(x)` inside the tree and `Φ = −V*(x)` at every end.
    /// Records both equalities at every prefix and end (reward units), and
    /// that every prefix reached is demonstrated (∞ if not).
    /// Forbidden tokens (π* = 0) are skipped: their r̃ is −∞ on both sides.
    /// - Throws: on β ≤ 0. Small trees only.
    public static func potentialShaping(_ mdp: TokenMDP, beta: Double) throws -> Discrepancy {
        try requirePositive(beta)
        let sol = try SoftValueIteration.solve(mdp, beta: beta)
        var demos: [Demonstration] = [], weights: [Double] = []
        let ys = mdp.allResponses()
        for p in mdp.promptIndices(.train) {
            for y in ys {
                demos.append(Demonstration(prompt: p, tokens: y))
                weights.append(Foundation.exp(sol.logProbability(prompt: p, tokens: y)))
            }
        }
        let trie = DemonstrationTrie(mdp: mdp, demonstrations: demos, weights: weights)
        let sft = try TabularLearner(mdp: mdp, trie: trie, prior: Prior.uniform(vocabSize: mdp.vocabSize),
                                     options: .init(lambda: 0, weightDecay: 0))
        var d = Discrepancy()
        for p in mdp.promptIndices(.train) {
            let root = sol.rootValue(prompt: p)
            func walk(_ s: PrefixState, _ phi: Double, _ path: [TokenID]) {
                // Exact counts reach every prefix of positive probability; one without counts
                // (where the MLE would be the prior) is recorded as an infinite difference.
                d.record(trie.isDemonstrated(s.node) ? 0 : .infinity, 0, "prompt \(p) prefix \(path) not demonstrated")
                d.record(phi, sol.v(s.t, s.latent) - root, "Φ at prompt \(p) prefix \(path)")
                for a in 0..<mdp.vocabSize where sol.logPolicy(s.t, s.latent, a) > -.infinity {
                    let rTilde = sft.inverseBellmanReward(s, a, beta: beta, mdp: mdp, trie: trie)
                    let end = mdp.isTerminal(token: a, at: s.t)
                    let r = mdp.reward(s.latent, a) + (end ? mdp.terminalRewards[mdp.next(s.latent, a)] : 0)
                    let next = phi + rTilde - r
                    if end {
                        d.record(next, -root, "Φ at the end of prompt \(p) response \(path + [a])")
                    } else {
                        walk(s.child(a, mdp: mdp, trie: trie), next, path + [a])
                    }
                }
            }
            walk(PrefixState.root(prompt: p, mdp: mdp), 0, [])
        }
        return d
    }

    /// The tabular learner on one state with counts `n(a)` (a single-state
    /// MDP, uniform prior): its logits `ℓ(s, ·)`.
    public static func singleStateLogits(counts: [Int], options: TabularLearner.Options) throws -> [Double] {
        let mdp = TokenMDP.singleState(vocab: counts.count)
        let trie = DemonstrationSet.oneToken(counts: counts).trie(mdp: mdp)
        let learner = try TabularLearner(mdp: mdp, trie: trie, prior: Prior.uniform(vocabSize: counts.count), options: options)
        return learner.logits(node: 0)
    }

    /// (I7) SOC sharpens a supervised state, SPEC §1.4: at the exact
    /// minimiser with (almost) no prior pull,
    ///
    ///     π − u = (p̂ − u) / (1 − λ)           (p̂ = n/N, u uniform; while inside the simplex)
    ///
    /// Records `π_a` against `u + (p̂_a − u)/(1 − λ)` for every token
    /// (probabilities). With `μ > 0` the exact stationarity condition is
    /// `π = u + (p̂ − u)/(1 − λ) − μ·centred(Δ)/((1 − λ)N)`, so the difference
    /// is `O(μ |Δ| / N)`: use a tiny μ (the report uses 1e-6).
    /// - Precondition: the sharpened point is inside the simplex
    ///   (`p̂_a > λ/V` for every a).
    public static func socSharpening(counts: [Int], lambda: Double, weightDecay mu: Double) throws -> Discrepancy {
        let N = Double(counts.reduce(0, +)), V = Double(counts.count)
        precondition(counts.allSatisfy { Double($0) / N > lambda / V }, "socSharpening: the sharpened policy leaves the simplex")
        var row = try singleStateLogits(counts: counts, options: .init(lambda: lambda, weightDecay: mu))
        row.withUnsafeMutableBufferPointer { _ = LogSumExp.logSoftmaxInPlace($0) }
        var d = Discrepancy()
        for (a, n) in counts.enumerated() {
            let expected = 1 / V + (Double(n) / N - 1 / V) / (1 - lambda)
            d.record(Foundation.exp(row[a]), expected, "π(\(a)) with counts \(counts), λ \(lambda)")
        }
        return d
    }

    /// (I7) Exact (Newton) and gradient training minimise the same per-state
    /// objective `J_s`, SPEC §1.4: records every logit of the two fits
    /// (nats). The gradient fit runs a fixed number of steps, so the
    /// difference is an optimisation error, not rounding.
    public static func exactVersusGradient(counts: [Int], lambda: Double, weightDecay mu: Double,
                                           gradient: GradientOptions) throws -> Discrepancy {
        let exact = try singleStateLogits(counts: counts, options: .init(lambda: lambda, weightDecay: mu))
        let grad = try singleStateLogits(counts: counts, options: .init(lambda: lambda, weightDecay: mu, training: .gradient(gradient)))
        var d = Discrepancy()
        for a in counts.indices { d.record(grad[a], exact[a], "ℓ(\(a)) with counts \(counts), λ \(lambda)") }
        return d
    }

    /// The linear learner with one-hot-per-prefix features is the tabular
    /// learner, SPEC §2.6: both trained exactly on the same data, prior, λ
    /// and μ; records `ℓ(s, a)` of both on every decision state of every
    /// prompt (demonstrated or not; nats).
    public static func linearOneHotVersusTabular(_ mdp: TokenMDP, trie: DemonstrationTrie, prior: any LogitModel,
                                                 lambda: Double, weightDecay mu: Double) throws -> Discrepancy {
        let tabular = try TabularLearner(mdp: mdp, trie: trie, prior: prior, options: .init(lambda: lambda, weightDecay: mu))
        let linear = try LinearLearner(mdp: mdp, trie: trie, prior: prior, features: [.prefixOneHot],
                                       options: .init(lambda: lambda, weightDecay: mu, training: .exact))
        var d = Discrepancy()
        for p in mdp.prompts.indices {
            for (tokens, s) in mdp.decisionStates(prompt: p, trie: trie) {
                let a = linear.logits(s), b = tabular.logits(s)
                for t in a.indices { d.record(a[t], b[t], "prompt \(p) prefix \(tokens) token \(t), λ \(lambda)") }
            }
        }
        return d
    }

    /// (I6, consistency) How far tabular SFT trained on `demonstrations` is
    /// from π* on the states the data reaches:
    ///
    ///     kl = Σ_{s ∈ D} P*(s) KL(π*(·|s) ‖ π̂(·|s)) / Σ_{s ∈ D} P*(s)        (nats)
    ///
    /// the mean over the demonstrated states `D` (trie nodes with `N(s) > 0`)
    /// weighted by the expert's probability of reaching them,
    /// `P*(s) = Π_{t'<t} π*(a_t'|s_t')` — the per-step KL along expert
    /// trajectories that stay on the data (summed over t instead of averaged
    /// it would be the sequence-level KL(π*(y|x) ‖ π̂(y|x)), by the chain
    /// rule). π̂ is the tabular SFT learner (λ = 0, weight decay μ, uniform
    /// prior, exact training). With N demonstrations per prompt from π*,
    /// `N(s) ≈ N P*(s)` and `E[KL_s] ≈ (m_s − 1)/(2 N(s))` (m_s allowed
    /// tokens), so `kl ≈ Σ_D (m_s − 1)/(2N) / Σ_D P*(s) ∝ 1/N` once every
    /// reachable state is demonstrated. (The unweighted mean is dominated by
    /// the rarest states, whose KL fluctuates like a χ² with a handful of
    /// counts — a much noisier estimate of the same rate.)
    ///
    /// - Parameters:
    ///   - solution: the expert's exact solution (β > 0), defining π*.
    ///   - weightDecay: μ > 0 keeps π̂ > 0 on tokens a small sample never shows.
    /// - Returns: the number of demonstrated states and the weighted mean KL
    ///   (NaN when no state is demonstrated).
    public static func sftKL(solution: SoftSolution, demonstrations: DemonstrationSet,
                             weightDecay mu: Double) throws -> (states: Int, kl: Double) {
        let mdp = solution.mdp
        let trie = demonstrations.trie(mdp: mdp)
        let sft = try TabularLearner(mdp: mdp, trie: trie, prior: Prior.uniform(vocabSize: mdp.vocabSize),
                                     options: .init(lambda: 0, weightDecay: mu))
        let states = trie.prefixStates(mdp: mdp)
        let nodes = trie.demonstratedNodes
        var total = 0.0, mass = 0.0
        for node in nodes {
            let s = states[node]
            let reach = Foundation.exp(solution.logProbability(prompt: s.prompt, tokens: trie.tokens(to: node)))
            let logStar = (0..<mdp.vocabSize).map { solution.logPolicy(s.t, s.latent, $0) }
            total += reach * klDivergence(logP: logStar, logQ: sft.logPolicy(s))
            mass += reach
        }
        return (nodes.count, nodes.isEmpty || mass == 0 ? .nan : total / mass)
    }

    private static func requirePositive(_ beta: Double) throws {
        guard beta.isFinite && beta > 0 else {
            throw TokenMDPError.invalid(field: "beta", message: "identity checks need a finite β > 0, got \(beta)")
        }
    }
}
