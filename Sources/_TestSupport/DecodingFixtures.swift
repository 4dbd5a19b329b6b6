import Foundation
import TokenMDP

// LogitModel fixtures for the decoding and metrics tests. All are pure
// functions of the prefix (through `PrefixState.hash`, `t`, `latent`), so
// the same prefix always gets the same logits.

/// Random logits `ℓ(s, a) = scale · ξ(s, a)`, `ξ` standard Gaussian from
/// `StableHash` of (prefix hash, seed, a). With `forbidden > 0` each token is
/// `-∞` with that probability, except one kept token per state (so every
/// state can emit something).
public struct RandomLogitModel: LogitModel {
    public let vocabSize: Int
    public let seed: UInt64
    public let scale: Double
    public let forbidden: Double

    public init(vocabSize: Int, seed: UInt64, scale: Double = 1, forbidden: Double = 0) {
        self.vocabSize = vocabSize; self.seed = seed; self.scale = scale; self.forbidden = forbidden
    }

    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        let h = StableHash.combine(s.hash, seed)
        let keep = Int(StableHash.mix(h ^ 0x6b65_6570) % UInt64(vocabSize))
        for a in 0..<vocabSize {
            let ha = StableHash.combine(h, UInt64(a))
            let u = Double(StableHash.mix(ha ^ 0x666f_7262) >> 11) * 0x1.0p-53
            out[a] = (a != keep && u < forbidden) ? -.infinity : scale * StableHash.gaussian(ha)
        }
    }
}

/// Logits drawn from a few integer levels, `ℓ(s, a) ∈ {0, 1, …, levels−1}`,
/// so that many tokens — and many whole sequences — tie exactly.
public struct TiedLogitModel: LogitModel {
    public let vocabSize: Int
    public let seed: UInt64
    public let levels: Int

    public init(vocabSize: Int, seed: UInt64, levels: Int = 2) {
        self.vocabSize = vocabSize; self.seed = seed; self.levels = levels
    }

    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        let h = StableHash.combine(s.hash, seed)
        for a in 0..<vocabSize { out[a] = Double(StableHash.combine(h, UInt64(a)) % UInt64(levels)) }
    }
}

/// A hand-written model: explicit logit rows for chosen token prefixes of
/// one MDP (any prompt), `defaultRow` everywhere else.
public struct PrefixTableModel: LogitModel {
    public let vocabSize: Int
    private let rows: [UInt64: [Double]]
    private let defaultRow: [Double]

    /// - Parameter rows: `(prompt, prefix tokens) → ℓ(s, ·)`.
    public init(mdp: TokenMDP, rows: [(prompt: Int, prefix: [TokenID], logits: [Double])], defaultRow: [Double]) {
        vocabSize = mdp.vocabSize
        self.defaultRow = defaultRow
        var map: [UInt64: [Double]] = [:]
        for r in rows {
            precondition(r.logits.count == mdp.vocabSize)
            map[prefixState(mdp, prompt: r.prompt, r.prefix).hash] = r.logits
        }
        self.rows = map
    }

    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        let r = rows[s.hash] ?? defaultRow
        for a in 0..<vocabSize { out[a] = r[a] }
    }
}

/// The soft-optimal Q read as logits: `ℓ(s, a) = Q*_t(q, a) / β`, so
/// `π_ℓ = π*` and `β ℓ = Q*` exactly up to one rounding.
public struct SoftQLogitModel: LogitModel {
    public let solution: SoftSolution
    public var vocabSize: Int { solution.mdp.vocabSize }
    public init(_ solution: SoftSolution) {
        precondition(solution.beta > 0)
        self.solution = solution
    }
    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        for a in 0..<vocabSize { out[a] = solution.q(s.t, s.latent, a) / solution.beta }
    }
}

/// The prefix state after `tokens` (no trie).
public func prefixState(_ mdp: TokenMDP, prompt p: Int, _ tokens: [TokenID], trie: DemonstrationTrie? = nil) -> PrefixState {
    var s = PrefixState.root(prompt: p, mdp: mdp)
    for a in tokens { s = s.child(a, mdp: mdp, trie: trie) }
    return s
}

/// Brute-force reference: the argmax of `key(y)` over `responses`, exact
/// ties to the lexicographically smaller sequence (responses with a `-∞`
/// key are skipped; nil if all are).
public func bruteForceArgmax(_ responses: [[TokenID]], key: ([TokenID]) -> Double) -> (tokens: [TokenID], key: Double)? {
    var best: (tokens: [TokenID], key: Double)? = nil
    for y in responses {
        let k = key(y)
        if k == -.infinity { continue }
        if let b = best, !(k > b.key || (k == b.key && y.lexicographicallyPrecedes(b.tokens))) { continue }
        best = (y, k)
    }
    return best
}

/// Hand-written greedy decoding: at each step the token of highest
/// `log π_ℓ` (ties → lowest id), until EOS or the horizon.
public func referenceGreedy<M: LogitModel>(_ mdp: TokenMDP, prompt p: Int, model: M, trie: DemonstrationTrie?) -> [TokenID] {
    var s = PrefixState.root(prompt: p, mdp: mdp)
    var y: [TokenID] = []
    for t in 0..<mdp.horizon {
        let lp = model.logPolicy(s)
        var best = 0
        for a in 1..<mdp.vocabSize where lp[a] > lp[best] { best = a }
        y.append(best)
        if mdp.isTerminal(token: best, at: t) { break }
        s = s.child(best, mdp: mdp, trie: trie)
    }
    return y
}

/// A demonstration trie from `n` responses per train prompt sampled from π*.
public func sampledTrie(_ mdp: TokenMDP, soft: SoftSolution, perPrompt n: Int, seed: UInt64) -> DemonstrationTrie {
    var rng = SplitMix64(seed: seed, stream: "test/demos")
    var demos: [Demonstration] = []
    for p in mdp.promptIndices(.train) {
        for _ in 0..<n { demos.append(Demonstration(prompt: p, tokens: soft.sampleResponse(prompt: p, rng: &rng))) }
    }
    return DemonstrationTrie(mdp: mdp, demonstrations: demos)
}
