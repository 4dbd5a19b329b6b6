import Foundation

// Numerical guards of a job (issue "Robustness"): the logits a job decodes
// and measures are kept in a range where no metric can overflow into ±∞ or
// NaN, and a configuration that would leave it is refused with the keys to
// change, before any decoding.

extension JobContext {
    /// `|ℓ| ≤ maxLogit` nats.
    static let maxLogit = 1e100
    /// `β · H · (2·max|ℓ| + log V + 1) ≤ maxScaledLogProbability` reward
    /// units: a bound on `β · |log π_ℓ(y|x)|` over every response (a
    /// log-softmax entry is at least `−(2·max|ℓ| + log V)`), so every
    /// log-likelihood, `est_return`, `overopt` and `v_hat` stays far inside
    /// the Double range (≈ 1.8e308).
    static let maxScaledLogProbability = 1e305

    /// Why logits of magnitude up to `m` are unusable for this MDP and β
    /// (nil when they are fine).
    static func logitRangeProblem(_ m: Double, beta: Double, mdp: TokenMDP) -> String? {
        guard m.isFinite, m <= maxLogit else {
            return "logits would reach \(formatNumber(m)) nats, beyond the supported \(formatNumber(maxLogit))"
        }
        let scaled = beta * Double(mdp.horizon) * (2 * m + Foundation.log(Double(mdp.vocabSize)) + 1)
        guard scaled <= maxScaledLogProbability else {
            return "β·H·(2·max|ℓ| + log V + 1) = \(formatNumber(scaled)) reward units would overflow the metrics"
        }
        return nil
    }

    /// Refuses a noisy-oracle prior whose logits `τ·(Q*/β + σ·ξ)` would be
    /// unusable (a tiny β, huge rewards, σ or τ), before anything is trained
    /// on them: `|ℓ₀| ≤ τ·(max|Q*|/β + 8.6·σ)` (|ξ| < 8.6, see
    /// `StableHash.gaussian`) with `max|Q*| ≤ max|r| + max|V*|`.
    static func checkPriorRange(config c: ExperimentConfig, mdp: TokenMDP, soft: SoftSolution) throws {
        var maxV = 0.0, maxR = 0.0
        for v in soft.values { maxV = max(maxV, abs(v)) }
        for r in mdp.rewards where r.isFinite { maxR = max(maxR, abs(r)) }
        let bound = c.prior.scale * ((maxR + maxV) / soft.beta + 8.6 * c.prior.sigma)
        if let problem = logitRangeProblem(bound, beta: soft.beta, mdp: mdp) {
            throw ConfigError(key: "prior", "the noisy-oracle prior τ·(Q*/β + σ·ξ) is unusable: \(problem) (max|Q*| = \(formatNumber(maxR + maxV)), mdp.beta = \(formatNumber(soft.beta)), prior.sigma = \(formatNumber(c.prior.sigma)), prior.scale = \(formatNumber(c.prior.scale))); change mdp.beta, lower prior.scale or prior.sigma, or use prior.kind: uniform")
        }
    }

    /// Refuses a trained model whose logits are unusable — NaN, +∞, every
    /// token −∞, or out of `logitRangeProblem`'s range — on any demonstrated
    /// state (where training moved them), and a linear model with
    /// non-finite or huge weights (they reach every state). That is what a
    /// diverging gradient run (a learning rate far too large) produces;
    /// decoding it would only turn the problem into NaN metrics.
    static func checkTrained(_ model: any LogitModel, spec l: LearnerSpec, _ ctx: JobContext) throws {
        func fail(_ what: String) -> TokenMDPError {
            .invalid(field: "learners.\(l.name)", message: "training produced unusable logits (\(what)); "
                + (l.training == .gradient ? "lower learning_rate (\(formatNumber(l.learningRate))) or steps, or raise weight_decay"
                                           : "raise weight_decay, or change mdp.beta"))
        }
        if let lin = model as? LinearLearner {
            let blocks = Double(max(1, lin.features.kinds.count))
            for w in lin.weights.data where !(w.isFinite && abs(w) * blocks <= maxLogit) {
                throw fail("a weight is \(formatNumber(w))")
            }
        }
        let V = ctx.mdp.vocabSize
        let states = ctx.trie.prefixStates(mdp: ctx.mdp)
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: V)
        defer { row.deallocate() }
        var largest = 0.0
        for node in ctx.trie.demonstratedNodes {
            model.logits(states[node], into: row)
            var anyAllowed = false
            for a in 0..<V {
                let x = row[a]
                if x == -.infinity { continue }
                guard !x.isNaN, x != .infinity else {
                    throw fail("logit \(formatNumber(x)) at prompt \(states[node].prompt), step \(states[node].t), token \(a)")
                }
                largest = max(largest, abs(x))
                anyAllowed = true
            }
            guard anyAllowed else { throw fail("every token has logit −∞ at prompt \(states[node].prompt), step \(states[node].t)") }
        }
        if let problem = logitRangeProblem(largest, beta: ctx.soft.beta, mdp: ctx.mdp) { throw fail(problem) }
    }
}
