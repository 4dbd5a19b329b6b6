import Foundation
import TokenMDP

/// A logit function with i.i.d.-looking Gaussian logits on every prefix,
/// stored nowhere: `ℓ(s, a) = scale · gaussian(combine(combine(h(s), seed), a))`
/// with `h(s)` the prefix's stable hash — the "random logit table" of the
/// identity tests (any prefix, any path, same numbers).
public struct HashLogitModel: LogitModel {
    public let vocabSize: Int
    public let seed: UInt64
    public let scale: Double
    public init(vocabSize: Int, seed: UInt64, scale: Double = 1) {
        self.vocabSize = vocabSize; self.seed = seed; self.scale = scale
    }
    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        let h = StableHash.combine(s.hash, seed)
        for a in 0..<vocabSize { out[a] = scale * StableHash.gaussian(StableHash.combine(h, UInt64(a))) }
    }
}

/// Every decision state of prompt `p` — the prefixes at which a token is
/// still to be chosen (not ended by EOS, shorter than H) — with its tokens,
/// in depth-first token order, root first. Only for tiny trees (V^H small).
public func allPrefixStates(_ mdp: TokenMDP, prompt p: Int, trie: DemonstrationTrie? = nil) -> [(tokens: [TokenID], state: PrefixState)] {
    var out: [(tokens: [TokenID], state: PrefixState)] = []
    func rec(_ tokens: [TokenID], _ s: PrefixState) {
        out.append((tokens, s))
        for a in 0..<mdp.vocabSize where !mdp.isTerminal(token: a, at: tokens.count) {
            rec(tokens + [a], s.child(a, mdp: mdp, trie: trie))
        }
    }
    rec([], PrefixState.root(prompt: p, mdp: mdp))
    return out
}

/// The single-state MDP: one latent state, horizon 1, no EOS, V tokens with
/// rewards `rewards` (default 0): every response is one token, so the only
/// decision state is the prompt root. `prompts` train prompts.
public func singleStateMDP(vocab V: Int, rewards: [Double]? = nil, prompts P: Int = 1) -> TokenMDP {
    try! TokenMDP(vocabSize: V, horizon: 1, eos: nil, numLatent: 1,
                  transitions: [Int32](repeating: 0, count: V), rewards: rewards ?? [Double](repeating: 0, count: V),
                  terminalRewards: [0], prompts: (0..<P).map { _ in Prompt(latent: 0) })
}

/// One-token demonstrations of prompt `p` with `counts[a]` copies of token a.
public func oneTokenDemos(counts: [Int], prompt p: Int = 0) -> [Demonstration] {
    var out: [Demonstration] = []
    for (a, n) in counts.enumerated() { for _ in 0..<n { out.append(Demonstration(prompt: p, tokens: [a])) } }
    return out
}

/// `KL(p ‖ q) = Σ_a p_a (log p_a − log q_a)` from log-probability rows
/// (terms with p_a = 0 contribute 0; q_a = 0 < p_a gives +∞).
public func klDivergence(logP: [Double], logQ: [Double]) -> Double {
    var s = 0.0
    for (lp, lq) in zip(logP, logQ) where lp > -.infinity { s += Foundation.exp(lp) * (lp - lq) }
    return s
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
