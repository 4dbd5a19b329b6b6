import Foundation

/// The implicit soft-Q reading of a logit model (SPEC §1.3), in reward units
/// at temperature β:
///
///     Q̂(s, a) = β ℓ(s, a),      V̂(s) = β log Σ_a exp ℓ(s, a)
///     r̃(s, a) = Q̂(s, a) − V̂(s ∘ a)          (V̂ = 0 after the episode ends)
///
/// `r̃` is the inverse soft Bellman reward: soft value iteration with reward
/// `r̃` returns exactly `Q̂` and `π_ℓ` (I4).
extension LogitModel {
    /// `V̂(s) = β log Σ_a exp ℓ(s, a)` (reward units; stable log-sum-exp).
    public func softValue(_ s: PrefixState, beta: Double) -> Double {
        beta * LogSumExp.lse(logits(s))
    }

    /// `r̃(s, a) = β ℓ(s, a) − V̂(s ∘ a)`, with `V̂(s ∘ a) = 0` when `a` ends the
    /// episode (EOS or the horizon). `trie` is the one the model answers
    /// through (nil for models that ignore trie nodes).
    public func inverseBellmanReward(_ s: PrefixState, _ a: TokenID, beta: Double, mdp: TokenMDP,
                                     trie: DemonstrationTrie?) -> Double {
        let q = beta * logits(s)[a]
        if mdp.isTerminal(token: a, at: s.t) { return q }
        return q - softValue(s.child(a, mdp: mdp, trie: trie), beta: beta)
    }

    /// `Σ_t log π_ℓ(a_t | s_t)` (nats) of a response of prompt `p`, walking
    /// the prefix states through `trie`.
    public func logLikelihood(prompt p: Int, tokens: [TokenID], mdp: TokenMDP, trie: DemonstrationTrie?) -> Double {
        var s = PrefixState.root(prompt: p, mdp: mdp)
        var total = 0.0
        for (t, a) in tokens.enumerated() {
            total += logPolicy(s)[a]
            if t + 1 < tokens.count { s = s.child(a, mdp: mdp, trie: trie) }
        }
        return total
    }
}
