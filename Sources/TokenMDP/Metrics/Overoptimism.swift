import Foundation

// Metrics — ranked goals: (1) exactness: every number is the SPEC §1.5
// formula evaluated on the true automaton and the exact soft solution;
// (2) consistency: `logp_model` is bit-identical to the decoders' scores
// and `logp_expert` to `SoftSolution.logProbability` (same operations, same
// order); (3) no silent NaN: a value that would be NaN is an error.

/// One decoded step of a response (a row of `steps.csv`).
///
/// With `s_t` the prefix before the step, `q_t` its latent state and
/// `a⋆_t = argmax_a Q*_t(q_t, a)` at β (ties: larger ℓ, then lower token id):
///
///     logp_model_t  = log π_ℓ(a_t|s_t)                          nats
///     logp_expert_t = log π*_t(a_t|q_t)                         nats
///     step_gap_t    = β (logp_model_t − logp_expert_t)          reward units
///     q_gap_t       = β(ℓ(s_t,a_t) − ℓ(s_t,a⋆_t)) − (Q*_t(q_t,a_t) − Q*_t(q_t,a⋆_t))   reward units
///
/// `Σ_t step_gap_t = overopt` and `Σ_t q_gap_t = overopt_adv`.
public struct StepRecord: Sendable, Equatable {
    /// 0-based position of the emitted token.
    public var t: Int
    public var token: TokenID
    public var logpModel: Double
    public var logpExpert: Double
    public var stepGap: Double
    /// Whether `s_t` is a demonstrated state (`N(s_t) > 0` in the trie).
    public var supervised: Bool
    public var qGap: Double
    /// The soft-optimal reference token `a⋆_t`.
    public var optimalToken: TokenID

    public init(t: Int, token: TokenID, logpModel: Double, logpExpert: Double, stepGap: Double,
                supervised: Bool, qGap: Double, optimalToken: TokenID) {
        self.t = t; self.token = token; self.logpModel = logpModel; self.logpExpert = logpExpert
        self.stepGap = stepGap; self.supervised = supervised; self.qGap = qGap; self.optimalToken = optimalToken
    }
}

/// The over-optimism measurements of SPEC §1.5 (`rows.csv` value columns).
public enum Overoptimism {
    /// Measures one complete response of prompt `p`.
    ///
    ///     return      = G(x, y)                       (rolled through the automaton)
    ///     opt_return  = V*_0(x) at β = 0             regret = opt_return − return
    ///     v_soft      = V*(x) at β                   v_hat  = V̂(x) = β · log Σ_a exp ℓ(s_0, a)
    ///     logp_model  = Σ_t log π_ℓ(a_t|s_t)         logp_expert = Σ_t log π*_t(a_t|q_t)
    ///     est_return  = V*(x) + β · logp_model
    ///     overopt     = est_return − return          (= Σ_t step_gap_t, by (I2))
    ///     overopt_raw = V̂(x) + β · logp_model − return
    ///     overopt_adv = Σ_t q_gap_t
    ///     supervised_frac = (# t with s_t demonstrated) / |y|
    ///     first_ood_step  = min { t : s_t not demonstrated }, nil if none
    ///
    /// - Parameters:
    ///   - tokens: a complete response (ends with EOS or has H tokens).
    ///   - model: the learner; `trie` is the trie it was trained with (it
    ///     sets `PrefixState.node` and decides `supervised`); nil = no data.
    ///   - soft: the solution at the MDP's β > 0; `hard`: at β = 0.
    ///   - expertGap: `expertGap(...)` of this prompt and learner, stored in
    ///     the row (`optimism_margin = overopt − expert_gap`).
    /// - Returns: a `MetricRow` with `prompt`, `split` and every value column
    ///   filled; the runner fills the other identifying columns (see
    ///   `MetricRow.setDecoder`).
    /// - Throws: if the response is not complete or out of range, if β ≤ 0 /
    ///   `hard.beta ≠ 0`, or if a value would be NaN. That needs a model with
    ///   `-∞` logits on tokens the MDP allows: the model and the MDP both
    ///   forbid a token of `y`; or `overopt = expert_gap = -∞` (the oracle's
    ///   response and an expert sample both have model probability 0), which
    ///   leaves `optimism_margin` undefined. Models whose `-∞` logits are
    ///   exactly the MDP's forbidden tokens (the priors and the learners
    ///   built on them) never trigger it.
    ///
    /// Infinities: a token the MDP forbids (reward `-∞`) gives
    /// `return = logp_expert = -∞`, `regret = overopt = overopt_raw = +∞` and
    /// `q_gap_t = +∞` at that step; a token the model forbids (only the
    /// oracle can emit one) gives `logp_model = est_return = -∞` and
    /// `overopt = -∞`. These flow to the CSV as `inf`/`-inf`, never NaN.
    ///
    /// - Complexity: O(|y|·V) plus |y| model evaluations.
    public static func measure<M: LogitModel>(prompt p: Int, tokens: [TokenID], mdp: TokenMDP, model: M,
                                              trie: DemonstrationTrie?, soft: SoftSolution, hard: SoftSolution,
                                              expertGap: Double) throws -> MetricRow {
        guard soft.beta > 0 else { throw TokenMDPError.invalid(field: "beta", message: "over-optimism needs β > 0, got \(soft.beta)") }
        guard hard.beta == 0 else { throw TokenMDPError.invalid(field: "hard", message: "needs the β = 0 solution, got β = \(hard.beta)") }
        precondition(model.vocabSize == mdp.vocabSize, "model vocabulary \(model.vocabSize) ≠ MDP vocabulary \(mdp.vocabSize)")
        let roll = try mdp.rollout(prompt: p, tokens: tokens)
        guard roll.complete else {
            throw TokenMDPError.invalid(field: "tokens", message: "prompt \(p): response of \(tokens.count) tokens is not complete (no EOS, shorter than the horizon \(mdp.horizon))")
        }
        let beta = soft.beta, V = mdp.vocabSize
        let raw = UnsafeMutableBufferPointer<Double>.allocate(capacity: V)
        let lp = UnsafeMutableBufferPointer<Double>.allocate(capacity: V)
        defer { raw.deallocate(); lp.deallocate() }

        var s = PrefixState.root(prompt: p, mdp: mdp)
        var steps: [StepRecord] = []
        steps.reserveCapacity(tokens.count)
        var logpModel = 0.0, logpExpert = 0.0, adv = 0.0
        var z0 = 0.0
        var supervisedCount = 0
        var firstOOD: Int? = nil
        for (t, a) in tokens.enumerated() {
            let q = s.latent
            // ℓ(s_t, ·) and log π_ℓ(·|s_t) — the same operations as ResponseDecoder.logPolicyRow.
            model.logits(s, into: raw)
            lp.baseAddress!.update(from: raw.baseAddress!, count: V)
            let z = LogSumExp.logSoftmaxInPlace(lp)
            precondition(!z.isNaN && z != .infinity, "model logits at prompt \(p), t = \(t) contain NaN or +∞")
            if t == 0 { z0 = z }
            let mT = lp[a]
            let eT = soft.logPolicy(t, q, a)
            logpModel += mT
            logpExpert += eT
            // a⋆_t: argmax Q*, ties → larger ℓ, then lower id.
            var star = 0
            var qStar = soft.q(t, q, 0)
            for b in 1..<V {
                let qb = soft.q(t, q, b)
                if qb > qStar || (qb == qStar && raw[b] > raw[star]) { star = b; qStar = qb }
            }
            var qGap = 0.0
            if a != star {
                // Equal logits (both −∞ included) have difference 0, not NaN.
                let dl = raw[a] == raw[star] ? 0 : raw[a] - raw[star]
                qGap = beta * dl - (soft.q(t, q, a) - qStar)
            }
            adv += qGap
            let sup = trie?.isDemonstrated(s.node) ?? false
            if sup { supervisedCount += 1 } else if firstOOD == nil { firstOOD = t }
            steps.append(StepRecord(t: t, token: a, logpModel: mT, logpExpert: eT, stepGap: beta * (mT - eT),
                                    supervised: sup, qGap: qGap, optimalToken: star))
            if t + 1 < tokens.count { s = s.child(a, mdp: mdp, trie: trie) }
        }

        let g = roll.return_
        let vSoft = soft.rootValue(prompt: p)
        let optReturn = hard.rootValue(prompt: p)
        let estReturn = vSoft + beta * logpModel
        let vHat = beta * z0
        var row = MetricRow(prompt: p, split: mdp.prompts[p].split)
        row.tokens = tokens
        row.return_ = g
        row.correct = mdp.isCorrect(finalLatent: roll.finalLatent, return: g, optimalReturn: optReturn)
        row.optReturn = optReturn
        row.regret = optReturn - g
        row.vSoft = vSoft
        row.vHat = vHat
        row.logpModel = logpModel
        row.logpExpert = logpExpert
        row.estReturn = estReturn
        row.overopt = estReturn - g
        row.overoptRaw = vHat + beta * logpModel - g
        row.overoptAdv = adv
        row.expertGap = expertGap
        row.supervisedFrac = Double(supervisedCount) / Double(tokens.count)
        row.firstOODStep = firstOOD
        row.firstOODGap = firstOOD.map { steps[$0].stepGap }
        row.steps = steps
        if let bad = row.firstNaNField {
            let why = bad == "optimism_margin"
                ? "overopt and expert_gap are both \(formatNumber(row.overopt)) (the model gives probability 0 to this response and to an expert sample)"
                : "the model and the MDP both give probability 0 to a token of the response"
            throw TokenMDPError.invalid(field: bad, message: "prompt \(p), tokens [\(tokens.map(String.init).joined(separator: " "))]: the value is undefined (NaN): \(why)")
        }
        return row
    }

    /// `measure` for a decoder's output; also fills the `sample` column.
    public static func measure<M: LogitModel>(_ response: DecodedResponse, prompt p: Int, mdp: TokenMDP, model: M,
                                              trie: DemonstrationTrie?, soft: SoftSolution, hard: SoftSolution,
                                              expertGap: Double) throws -> MetricRow {
        var row = try measure(prompt: p, tokens: response.tokens, mdp: mdp, model: model, trie: trie,
                              soft: soft, hard: hard, expertGap: expertGap)
        row.sample = response.sampleIndex
        return row
    }

    /// The model's gap on expert responses (SPEC §1.5), computed once per
    /// prompt × learner:
    ///
    ///     expert_gap(x) = (1/n) Σ_{i<n} β [log π_ℓ(y_i|x) − log π*(y_i|x)],   y_i ~ π*(·|x)
    ///
    /// Its expectation is `−β · KL(π* ‖ π_ℓ) ≤ 0`.
    ///
    /// - Parameters:
    ///   - samples: n ≥ 1 fresh responses drawn with `soft.sampleResponse`
    ///     (no ε-noise) from `rng`, in order; give the rng its own stream
    ///     (e.g. `SplitMix64(seed: StableHash.combine(seed, UInt64(p)), stream: "expert-gap")`).
    ///   - trie: the trie the model was trained with.
    /// - Returns: reward units; `-∞` if the model gives probability 0 to a
    ///   token of a sample (π* samples are always allowed by the MDP, so it
    ///   is never NaN or `+∞`).
    /// - Complexity: O(n·H·V) plus n·H model evaluations.
    public static func expertGap<M: LogitModel>(prompt p: Int, mdp: TokenMDP, model: M, trie: DemonstrationTrie?,
                                                soft: SoftSolution, samples n: Int, rng: inout SplitMix64) -> Double {
        precondition(n >= 1, "expert_gap needs at least one sample")
        let ys = soft.sampleResponses(prompt: p, count: n, rng: &rng)
        return expertGap(prompt: p, responses: ys, mdp: mdp, model: model, trie: trie, soft: soft)
    }

    /// `expertGap` over given expert responses (drawn once per prompt with
    /// `SoftSolution.sampleResponses` and shared by every learner and by
    /// `expertAccuracy`): mean of β[log π_ℓ(y|x) − log π*(y|x)], reward units.
    public static func expertGap<M: LogitModel>(prompt p: Int, responses ys: [[TokenID]], mdp: TokenMDP, model: M,
                                                trie: DemonstrationTrie?, soft: SoftSolution) -> Double {
        precondition(!ys.isEmpty, "expert_gap needs at least one sample")
        precondition(soft.beta > 0, "expert_gap needs β > 0")
        var total = 0.0
        for y in ys {
            let lm = ResponseDecoder.modelLogProbability(prompt: p, tokens: y, mdp: mdp, model: model, trie: trie)
            let le = soft.logProbability(prompt: p, tokens: y)
            total += soft.beta * (lm - le)
        }
        return total / Double(ys.count)
    }

    /// The expert's own accuracy on prompt `p`: the fraction of `n` fresh
    /// responses `y ~ π*` (drawn exactly as `expertGap` draws them, so give
    /// it an rng in the same state to score the same samples) that are
    /// correct by `TokenMDP.isCorrect` against the hard-max optimum.
    ///
    /// SPEC §2.1: with reward 1 and a handful of tokens a large β makes the
    /// soft-optimal expert fail most of the time (entropy dominates); this is
    /// the `expert_correct` column that shows a reader that scale.
    /// - Returns: a fraction in [0, 1].
    /// - Complexity: O(n·H·V).
    public static func expertAccuracy(prompt p: Int, mdp: TokenMDP, soft: SoftSolution, hard: SoftSolution,
                                      samples n: Int, rng: inout SplitMix64) throws -> Double {
        precondition(n >= 1, "expert_correct needs at least one sample")
        return try expertAccuracy(prompt: p, responses: soft.sampleResponses(prompt: p, count: n, rng: &rng), mdp: mdp, hard: hard)
    }

    /// `expertAccuracy` over given expert responses: the fraction that are correct.
    public static func expertAccuracy(prompt p: Int, responses ys: [[TokenID]], mdp: TokenMDP, hard: SoftSolution) throws -> Double {
        precondition(!ys.isEmpty, "expert_correct needs at least one sample")
        let optReturn = hard.rootValue(prompt: p)
        var correct = 0
        for y in ys {
            let roll = try mdp.rollout(prompt: p, tokens: y)
            if mdp.isCorrect(finalLatent: roll.finalLatent, return: roll.return_, optimalReturn: optReturn) { correct += 1 }
        }
        return Double(correct) / Double(ys.count)
    }
}

extension Overoptimism {
    /// Decodes prompt `p` with `spec` and measures every response: the rows
    /// of one (prompt, learner, decoder setting) — one row, or `n` for
    /// `.sample(n)` — with `prompt`, `split`, `decoder`, `width`,
    /// `length_normalize`, `sample` and every value column filled. The runner
    /// adds `experiment`, `cell`, `seed`, `learner` and `lambda`.
    ///
    /// Equivalent to `ResponseDecoder.decode` followed by `measure(_:prompt:…)` and
    /// `setDecoder(spec)` on each response; `rng` is consumed only by the
    /// stochastic decoders.
    public static func decodeAndMeasure<M: LogitModel>(_ spec: DecoderSpec, prompt p: Int, mdp: TokenMDP, model: M,
                                                       trie: DemonstrationTrie?, soft: SoftSolution, hard: SoftSolution,
                                                       expertGap: Double, rng: inout SplitMix64) throws -> [MetricRow] {
        try ResponseDecoder.decode(spec, prompt: p, mdp: mdp, model: model, trie: trie, hard: hard, rng: &rng).map { y in
            var row = try measure(y, prompt: p, mdp: mdp, model: model, trie: trie, soft: soft, hard: hard, expertGap: expertGap)
            row.setDecoder(spec)
            return row
        }
    }
}
