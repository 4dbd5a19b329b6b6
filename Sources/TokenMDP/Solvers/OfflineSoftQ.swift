import Foundation

/// Exact soft-Q on the *empirical* MDP of the demonstrations (SPEC §2.3).
///
/// The data reveal the rewards only along the demonstrations: at a
/// demonstrated state `s` (trie node, `N(s) > 0`, latent `q`, step `t`) a
/// taken action (`n(s, a) > 0`) has its observed reward and successor, and
/// an action never taken there has no data. Computed bottom-up over the trie
/// (children before parents):
///
///     Q̂(s, a) = r(q, a) + V̂(s ∘ a)                   taken, not final
///     Q̂(s, a) = r(q, a) + R_T(δ(q, a))                taken, ends the episode
///     Q̂(s, a) = OOD(s, a)                             never taken at s
///     V̂(s)    = β log Σ_a exp(Q̂(s, a) / β)
///
/// with the out-of-distribution value `OOD` chosen by `OODMode`:
///
/// * `pessimistic`: the lowest return-to-go achievable by starting with `a`
///   at `s` in the true automaton, `r(q,a) + min` over every allowed
///   continuation (hard-min DP on `(t, q)`, forbidden tokens excluded since
///   they cannot be emitted): `W⁻_t(q, a)`;
/// * `optimistic`: the highest, `W⁺_t(q, a) = Q*_t(q, a)` at β = 0;
/// * `prior`: the prior's estimate `β ℓ₀(s, a)`.
///
/// A forbidden token (`r = −∞`) has `Q̂ = −∞` under `pessimistic` and
/// `optimistic`. As a `LogitModel`: `ℓ(s, ·) = Q̂(s, ·)/β` on demonstrated
/// states, the prior `ℓ₀` elsewhere ("beyond D the prior decides").
/// Units: Q̂, V̂ in reward units; β in reward units per nat.
///
/// When the demonstrations cover every action of every reachable prefix,
/// `Q̂ = Q*` (the data *are* the MDP) whatever the OOD mode.
public struct OfflineSoftQ: LogitModel {
    public enum OODMode: String, Sendable, Codable, CaseIterable {
        case pessimistic, optimistic, prior
    }

    public let vocabSize: Int
    /// β > 0.
    public let beta: Double
    public let ood: OODMode
    public let prior: any LogitModel
    public let trie: DemonstrationTrie
    /// `Q̂(s, ·)` of demonstrated nodes, flat `[node·V + a]` (others: 0, unused).
    public let q: [Double]
    /// `V̂(s)` of demonstrated nodes (others: 0, unused).
    public let values: [Double]

    /// - Parameters:
    ///   - mdp: the true automaton (rewards along the data, and the OOD
    ///     extremes for `pessimistic`/`optimistic`).
    ///   - beta: β > 0 (usually the MDP's β).
    /// - Throws: if β ≤ 0 or not finite.
    /// - Complexity: O(H·S·V) for the extreme DPs plus O(#nodes · V).
    public init(mdp: TokenMDP, beta: Double, trie: DemonstrationTrie, prior: any LogitModel, ood: OODMode) throws {
        guard beta.isFinite && beta > 0 else {
            throw TokenMDPError.invalid(field: "beta", message: "offline soft-Q needs a finite β > 0, got \(beta)")
        }
        let V = mdp.vocabSize
        let ext: [Double]?
        switch ood {
        case .pessimistic: ext = Self.extremeReturnToGo(mdp, maximise: false)
        case .optimistic: ext = Self.extremeReturnToGo(mdp, maximise: true)
        case .prior: ext = nil
        }
        let S = mdp.numLatent
        let states = ood == .prior ? trie.prefixStates(mdp: mdp) : []
        var q = [Double](repeating: 0, count: trie.nodeCount * V)
        var values = [Double](repeating: 0, count: trie.nodeCount)
        var priorRow = [Double](repeating: 0, count: V)
        for node in stride(from: trie.nodeCount - 1, through: 0, by: -1) where trie.totals[node] > 0 {
            let t = Int(trie.steps[node]), lat = Int(trie.latents[node])
            if ood == .prior {
                priorRow.withUnsafeMutableBufferPointer { prior.logits(states[node], into: $0) }
            }
            for a in 0..<V {
                let value: Double
                if trie.counts[node * V + a] > 0 {
                    let r = mdp.reward(lat, a)
                    if mdp.isTerminal(token: a, at: t) {
                        value = r + mdp.terminalRewards[mdp.next(lat, a)]
                    } else {
                        let c = Int(trie.child(Int32(node), a))
                        precondition(c >= 0 && trie.totals[c] > 0, "a taken non-final action must lead to a demonstrated node (complete demonstrations)")
                        value = r + values[c]
                    }
                } else {
                    switch ood {
                    case .prior: value = beta * priorRow[a]
                    case .pessimistic, .optimistic:
                        let r = mdp.reward(lat, a)
                        if r == -.infinity { value = -.infinity; break }
                        let d = mdp.next(lat, a)
                        value = r + (mdp.isTerminal(token: a, at: t) ? mdp.terminalRewards[d] : ext![(t + 1) * S + d])
                    }
                }
                q[node * V + a] = value
            }
            values[node] = q.withUnsafeBufferPointer {
                LogSumExp.soft(UnsafeBufferPointer(rebasing: $0[node * V ..< (node + 1) * V]), temperature: beta)
            }
        }
        self.vocabSize = V
        self.beta = beta
        self.ood = ood
        self.prior = prior
        self.trie = trie
        self.q = q
        self.values = values
    }

    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        if trie.isDemonstrated(s.node) {
            let off = Int(s.node) * vocabSize
            let inv = 1.0 / beta
            for a in 0..<vocabSize { out[a] = q[off + a] * inv }
        } else {
            prior.logits(s, into: out)
        }
    }

    /// Hard extreme return-to-go of the true automaton, `W_t(q)` for
    /// `t ∈ 0...H`, flat `[t·S + q]`:
    ///
    ///     W_H(q) = R_T(q)
    ///     W_t(q) = ext_{a allowed} [ r(q, a) + (a ends at t ? R_T(δ(q,a)) : W_{t+1}(δ(q,a))) ]
    ///
    /// `ext` = max or min; "allowed" = `r(q, a) > −∞` (validation guarantees
    /// one per row, so W is finite).
    /// - Complexity: O(H·S·V)
    public static func extremeReturnToGo(_ mdp: TokenMDP, maximise: Bool) -> [Double] {
        let S = mdp.numLatent, V = mdp.vocabSize, H = mdp.horizon
        var w = [Double](repeating: 0, count: (H + 1) * S)
        for q in 0..<S { w[H * S + q] = mdp.terminalRewards[q] }
        for t in stride(from: H - 1, through: 0, by: -1) {
            for q in 0..<S {
                var best = maximise ? -Double.infinity : Double.infinity
                for a in 0..<V {
                    let r = mdp.reward(q, a)
                    if r == -.infinity { continue }
                    let d = mdp.next(q, a)
                    let x = r + (mdp.isTerminal(token: a, at: t) ? mdp.terminalRewards[d] : w[(t + 1) * S + d])
                    best = maximise ? Swift.max(best, x) : Swift.min(best, x)
                }
                w[t * S + q] = best
            }
        }
        return w
    }
}
