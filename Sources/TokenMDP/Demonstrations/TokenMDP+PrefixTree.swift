import Foundation

extension TokenMDP {
    /// Every decision state of prompt `p` — the prefixes at which a token is
    /// still to be chosen (not ended by EOS, shorter than H) — with its
    /// tokens, in depth-first token order, root first. States are built with
    /// `PrefixState.child` through `trie` (nil: node −1 off the root), exactly
    /// as a decoder builds them.
    ///
    /// - Precondition: the tree is small (`responseCount ≤ maxEnumeratedResponses`).
    /// - Complexity: O(#decision states · H)
    public func decisionStates(prompt p: Int, trie: DemonstrationTrie? = nil) -> [(tokens: [TokenID], state: PrefixState)] {
        precondition(responseCount <= Self.maxEnumeratedResponses, "decisionStates: the prefix tree is too large to enumerate")
        var out: [(tokens: [TokenID], state: PrefixState)] = []
        func rec(_ tokens: [TokenID], _ s: PrefixState) {
            out.append((tokens, s))
            for a in 0..<vocabSize where !isTerminal(token: a, at: tokens.count) {
                rec(tokens + [a], s.child(a, mdp: self, trie: trie))
            }
        }
        rec([], PrefixState.root(prompt: p, mdp: self))
        return out
    }

    /// The prefix tree of prompt `p` as a `TokenMDP` with a given per-token
    /// reward: latent `i` is the i-th decision state of `decisionStates(prompt: p)`,
    /// plus one absorbing latent after the end; `δ(i, a)` = the index of
    /// `s_i ∘ a` (the absorbing latent when `a` ends the episode),
    /// `r(i, a) = reward(s_i, a)`, terminal rewards 0, one prompt (latent 0).
    ///
    /// Soft value iteration on it is soft value iteration on the prefix tree
    /// itself (SPEC §1.3 I4), so `V_t(i)` of the result is the value of
    /// prefix `s_i` (at `t = |s_i|`).
    ///
    /// - Parameter reward: `r(s, a)` in reward units (`-.infinity` forbids a
    ///   token; every state must keep one finite token).
    /// - Throws: if the resulting MDP fails validation (e.g. a row of −∞).
    /// - Complexity: O(#decision states · V), small trees only.
    public func prefixTree(prompt p: Int, reward: (PrefixState, TokenID) -> Double) throws
        -> (mdp: TokenMDP, states: [(tokens: [TokenID], state: PrefixState)]) {
        let states = decisionStates(prompt: p)
        var index: [[TokenID]: Int] = [:]
        for (i, s) in states.enumerated() { index[s.tokens] = i }
        let n = states.count, end = n, V = vocabSize
        var delta = [Int32](repeating: Int32(end), count: (n + 1) * V)
        var rewards = [Double](repeating: 0, count: (n + 1) * V)
        for (i, s) in states.enumerated() {
            for a in 0..<V {
                rewards[i * V + a] = reward(s.state, a)
                if !isTerminal(token: a, at: s.tokens.count) { delta[i * V + a] = Int32(index[s.tokens + [a]]!) }
            }
        }
        let tree = try TokenMDP(vocabSize: V, horizon: horizon, eos: eos, numLatent: n + 1, transitions: delta,
                                rewards: rewards, terminalRewards: [Double](repeating: 0, count: n + 1),
                                prompts: [Prompt(latent: 0)])
        return (tree, states)
    }
}

extension DemonstrationSet {
    /// One-token demonstrations of prompt `p`: `counts[a]` copies of the
    /// response `[a]` (for single-state MDPs, `TokenMDP.singleState`).
    public static func oneToken(counts: [Int], prompt p: Int = 0) -> DemonstrationSet {
        var out: [Demonstration] = []
        for (a, n) in counts.enumerated() { for _ in 0..<n { out.append(Demonstration(prompt: p, tokens: [a])) } }
        return DemonstrationSet(out)
    }
}
