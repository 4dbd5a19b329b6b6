import Foundation

extension TokenMDP {
    /// Hard limits that keep every index inside `Int32` and every flat array
    /// addressable: `V ≤ 65 535` tokens (so four tokens pack in a UInt64),
    /// `H ≤ 4 096`, and `S·V ≤ 2³¹ − 1` edges.
    public static let maxVocab = 65_535
    public static let maxHorizon = 4_096
    public static let maxEdges = Int(Int32.max)
    /// Bound on `H · max|r| + max|R_T|`, so that no return, value or
    /// log-sum-exp over a horizon can overflow to ±∞ (Double max ≈ 1.8e308).
    public static let maxReturnMagnitude = 1e300
    /// Largest number of prompts a generator builds (16 Mi), checked before
    /// any per-prompt array is allocated.
    public static let maxPrompts = 1 << 24

    /// The temperatures every solver accepts: β = 0 (hard max) or
    /// `minPositiveBeta ≤ β ≤ maxBeta` (reward units per nat).
    ///
    /// * Below 1e-300 the soft maximum's `1/β` overflows for subnormal β
    ///   (β = 5e-324 gives 1/β = ∞ and `0 · ∞ = NaN` on the maximiser).
    /// * Above 1e300, `β · H · log V` (≤ 4.6e4 · β) added to returns of up to
    ///   `maxReturnMagnitude` still stays below `Double.greatestFiniteMagnitude`.
    public static let minPositiveBeta = 1e-300
    public static let maxBeta = 1e300

    /// Why `beta` is not an accepted temperature (nil when it is).
    public static func betaProblem(_ beta: Double, allowZero: Bool = true) -> String? {
        if beta == 0 && allowZero { return nil }
        if beta.isFinite && beta >= minPositiveBeta && beta <= maxBeta { return nil }
        let range = "[\(formatNumber(minPositiveBeta)), \(formatNumber(maxBeta))]"
        return (allowZero ? "must be 0 (hard max) or a number in \(range)" : "must be a number > 0 in \(range)")
            + ", got \(formatNumber(beta))"
    }

    /// Checks every invariant listed on `TokenMDP`; throws
    /// `TokenMDPError.invalid` naming the first bad field and its position.
    public func validate() throws {
        func bad(_ f: String, _ m: String) -> TokenMDPError { .invalid(field: f, message: m) }
        guard vocabSize >= 1 else { throw bad("vocab_size", "must be ≥ 1, got \(vocabSize)") }
        guard vocabSize <= Self.maxVocab else { throw bad("vocab_size", "must be ≤ \(Self.maxVocab), got \(vocabSize)") }
        guard horizon >= 1 else { throw bad("horizon", "must be ≥ 1, got \(horizon)") }
        guard horizon <= Self.maxHorizon else { throw bad("horizon", "must be ≤ \(Self.maxHorizon), got \(horizon)") }
        guard numLatent >= 1 else { throw bad("num_latent", "must be ≥ 1, got \(numLatent)") }
        let (edges, overflow) = numLatent.multipliedReportingOverflow(by: vocabSize)
        guard !overflow, edges <= Self.maxEdges else {
            throw bad("num_latent", "num_latent × vocab_size = \(numLatent) × \(vocabSize) exceeds \(Self.maxEdges) edges")
        }
        if let e = eos, !(0..<vocabSize).contains(e) {
            throw bad("eos", "token \(e) is out of range 0..<\(vocabSize)")
        }
        guard transitions.count == edges else {
            throw bad("transitions", "expected \(numLatent) rows of \(vocabSize), got \(transitions.count) entries")
        }
        guard rewards.count == edges else {
            throw bad("rewards", "expected \(numLatent) rows of \(vocabSize), got \(rewards.count) entries")
        }
        guard terminalRewards.count == numLatent else {
            throw bad("terminal_rewards", "expected \(numLatent) entries, got \(terminalRewards.count)")
        }
        for q in 0..<numLatent {
            var anyAllowed = false
            for a in 0..<vocabSize {
                let d = Int(transitions[q * vocabSize + a])
                guard d >= 0 && d < numLatent else {
                    throw bad("transitions[\(q)][\(a)]", "latent state \(d) is out of range 0..<\(numLatent)")
                }
                let r = rewards[q * vocabSize + a]
                guard !r.isNaN, r != .infinity else {
                    throw bad("rewards[\(q)][\(a)]", "must be a finite number or null (−∞), got \(r)")
                }
                if r > -.infinity { anyAllowed = true }
            }
            guard anyAllowed else {
                throw bad("rewards[\(q)]", "every token of latent state \(q) is forbidden (all null); at least one must be allowed")
            }
            guard terminalRewards[q].isFinite else {
                throw bad("terminal_rewards[\(q)]", "must be a finite number, got \(terminalRewards[q])")
            }
        }
        var maxReward = 0.0, maxTerminal = 0.0
        for r in rewards where r.isFinite { maxReward = max(maxReward, abs(r)) }
        for r in terminalRewards { maxTerminal = max(maxTerminal, abs(r)) }
        guard Double(horizon) * maxReward + maxTerminal <= Self.maxReturnMagnitude else {
            throw bad("rewards", "magnitudes too large: horizon × max|reward| + max|terminal_reward| = \(Double(horizon) * maxReward + maxTerminal) exceeds \(Self.maxReturnMagnitude), so returns could overflow")
        }
        guard !prompts.isEmpty else { throw bad("prompts", "at least one prompt is required") }
        for (i, p) in prompts.enumerated() {
            guard p.latent >= 0 && p.latent < numLatent else {
                throw bad("prompts[\(i)].latent", "latent state \(p.latent) is out of range 0..<\(numLatent)")
            }
            for (j, tok) in p.tokens.enumerated() where tok < 0 || tok >= vocabSize {
                throw bad("prompts[\(i)].tokens[\(j)]", "token \(tok) is out of range 0..<\(vocabSize)")
            }
            guard p.weight.isFinite && p.weight >= 0 else {
                throw bad("prompts[\(i)].weight", "must be a finite number ≥ 0, got \(p.weight)")
            }
        }
        if let s = successLatents, s.count != numLatent {
            throw bad("success_latents", "expected \(numLatent) entries, got \(s.count)")
        }
    }
}
