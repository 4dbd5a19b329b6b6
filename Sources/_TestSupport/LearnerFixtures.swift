import Foundation
import TokenMDP

// `HashLogitModel` and `klDivergence` live in the library (Learners/HashLogitModel.swift).

/// Every decision state of prompt `p` — the prefixes at which a token is
/// still to be chosen (not ended by EOS, shorter than H) — with its tokens,
/// in depth-first token order, root first. Only for tiny trees (V^H small).
public func allPrefixStates(_ mdp: TokenMDP, prompt p: Int, trie: DemonstrationTrie? = nil) -> [(tokens: [TokenID], state: PrefixState)] {
    mdp.decisionStates(prompt: p, trie: trie)
}

/// The single-state MDP: one latent state, horizon 1, no EOS, V tokens with
/// rewards `rewards` (default 0): every response is one token, so the only
/// decision state is the prompt root. `prompts` train prompts.
public func singleStateMDP(vocab V: Int, rewards: [Double]? = nil, prompts P: Int = 1) -> TokenMDP {
    TokenMDP.singleState(vocab: V, rewards: rewards, prompts: P)
}

/// One-token demonstrations of prompt `p` with `counts[a]` copies of token a.
public func oneTokenDemos(counts: [Int], prompt p: Int = 0) -> [Demonstration] {
    DemonstrationSet.oneToken(counts: counts, prompt: p).demonstrations
}

/// Softmax of a logit row (probabilities).
public func softmax(_ l: [Double]) -> [Double] {
    let z = LogSumExp.lse(l)
    return l.map { $0 == -.infinity ? 0 : Foundation.exp($0 - z) }
}

/// The row minus its mean over finite entries (relative logits).
public func centred(_ l: [Double]) -> [Double] {
    let finite = l.filter { $0.isFinite }
    let mean = finite.reduce(0, +) / Double(max(finite.count, 1))
    return l.map { $0.isFinite ? $0 - mean : $0 }
}
