import Foundation

extension DemonstrationTrie {
    /// The `PrefixState` of every node, indexed by node (`states[node]`),
    /// exactly as a decoder reaches it: `PrefixState.root` for the prompt
    /// roots `0..<P`, then `parent.child(tokenIn, mdp:, trie: self)` — so the
    /// hash, latent, `recent` tokens and node agree bit for bit with the
    /// states a decoder builds, and a learner can query the prior there.
    ///
    /// Relies on the trie's numbering: a node is created after its parent.
    /// - Complexity: O(nodeCount).
    public func prefixStates(mdp: TokenMDP) -> [PrefixState] {
        var states: [PrefixState] = []
        states.reserveCapacity(nodeCount)
        for node in 0..<nodeCount {
            let parent = Int(parents[node])
            if parent < 0 {
                states.append(PrefixState.root(prompt: Int(promptOf[node]), mdp: mdp))
            } else {
                precondition(parent < node, "trie numbering: parent \(parent) after child \(node)")
                states.append(states[parent].child(Int(tokenIn[node]), mdp: mdp, trie: self))
            }
        }
        return states
    }

    /// The token path from the prompt root to `node` (the emitted tokens of
    /// that prefix, oldest first).
    /// - Complexity: O(depth).
    public func tokens(to node: Int) -> [TokenID] {
        var out: [TokenID] = []
        var n = node
        while parents[n] >= 0 { out.append(Int(tokenIn[n])); n = Int(parents[n]) }
        return out.reversed()
    }

    /// `n(s, ·)` of a demonstrated node as an array (count `vocabSize`).
    public func countRow(_ node: Int) -> [Double] {
        Array(counts[node * vocabSize ..< (node + 1) * vocabSize])
    }
}

extension DemonstrationTrie {
    /// The complete responses stored in the trie, with multiplicities: every
    /// demonstrated pair `(s, a)` whose token ends the episode (EOS, or the
    /// horizon) closes `n(s, a)` demonstrations with tokens `path(s) + [a]`.
    /// This recovers the demonstration multiset exactly (order aside): each
    /// demonstration is complete, so it contributes one terminal pair.
    /// Ordered by node, then token.
    public func completeResponses(mdp: TokenMDP) -> [(demonstration: Demonstration, count: Double)] {
        var out: [(demonstration: Demonstration, count: Double)] = []
        let V = vocabSize
        for node in 0..<nodeCount where totals[node] > 0 {
            let t = Int(steps[node])
            var path: [TokenID]? = nil
            for a in 0..<V where counts[node * V + a] > 0 && mdp.isTerminal(token: a, at: t) {
                if path == nil { path = tokens(to: node) }
                out.append((Demonstration(prompt: Int(promptOf[node]), tokens: path! + [a]), counts[node * V + a]))
            }
        }
        return out
    }
}
