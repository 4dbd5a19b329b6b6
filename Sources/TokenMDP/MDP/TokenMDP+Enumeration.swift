import Foundation

// Small instances and exhaustive enumeration, for identity checks (the
// `tokenmdp identities` report and the tests): everything here is meant for
// trees with at most a few thousand responses.

extension TokenMDP {
    /// The largest number of responses `allResponses()` will enumerate.
    public static let maxEnumeratedResponses = 1 << 21

    /// The number of complete responses of any prompt: token sequences that
    /// end with EOS before the horizon or have exactly H tokens,
    ///
    ///     count = Σ_{t=0}^{H−1} (V − e)^t · (e if t < H−1, V if t = H−1),   e = 1 with EOS, else 0
    ///
    /// (forbidden tokens are counted: they are responses of return −∞).
    /// Returns `Int.max` when the count overflows.
    /// - Complexity: O(H)
    public var responseCount: Int {
        let e = eos == nil ? 0 : 1
        var total = 0, prefixes = 1
        for t in 0..<horizon {
            let (ends, o1) = prefixes.multipliedReportingOverflow(by: t == horizon - 1 ? vocabSize : e)
            let (sum, o2) = total.addingReportingOverflow(ends)
            if o1 || o2 { return Int.max }
            total = sum
            if t < horizon - 1 {
                let (p, o3) = prefixes.multipliedReportingOverflow(by: vocabSize - e)
                if o3 { return Int.max }
                prefixes = p
            }
        }
        return total
    }

    /// Every complete response (the same for every prompt), in depth-first
    /// token order: `[0, 0, …]` first. Forbidden tokens are included (their
    /// return is −∞ and their probability under π* is 0).
    ///
    /// - Precondition: `responseCount ≤ maxEnumeratedResponses` (tiny trees only).
    /// - Complexity: O(responseCount · H)
    public func allResponses() -> [[TokenID]] {
        precondition(responseCount <= Self.maxEnumeratedResponses,
                     "allResponses: \(responseCount) responses is too many to enumerate (limit \(Self.maxEnumeratedResponses))")
        var out: [[TokenID]] = []
        out.reserveCapacity(responseCount)
        var prefix: [TokenID] = []
        func rec() {
            for a in 0..<vocabSize {
                prefix.append(a)
                if isTerminal(token: a, at: prefix.count - 1) { out.append(prefix) } else { rec() }
                prefix.removeLast()
            }
        }
        rec()
        return out
    }

    /// A small random MDP for identity checks: `latent` states, `vocab`
    /// tokens, horizon `horizon`, EOS = `vocab − 1` when `eos`, standard
    /// Gaussian per-token and terminal rewards, each token forbidden (−∞)
    /// with probability `forbiddenFraction` except one kept token per state,
    /// and `prompts` prompts (the last one a test prompt when there are
    /// several; prompt i shows the visible token i).
    ///
    /// Deterministic: everything is drawn from `SplitMix64(seed:, stream:)`
    /// in a fixed order (per state: the kept token, then per token the
    /// successor, the forbidden draw and the reward; then the terminal
    /// rewards; then the prompts' start states).
    ///
    /// - Precondition: `latent ≥ 1`, `vocab ≥ 2` with EOS (≥ 1 without),
    ///   `horizon ≥ 1`, `prompts ≥ 1`, `forbiddenFraction ∈ [0, 1]`.
    public static func randomInstance(seed: UInt64, latent S: Int = 5, vocab V: Int = 3, horizon H: Int = 4,
                                      eos: Bool = true, forbiddenFraction: Double = 0.15, prompts P: Int = 2,
                                      stream: String = "identities/random-instance") -> TokenMDP {
        precondition(S >= 1 && V >= (eos ? 2 : 1) && H >= 1 && P >= 1 && (0...1).contains(forbiddenFraction),
                     "randomInstance: bad sizes")
        var rng = SplitMix64(seed: seed, stream: stream)
        var delta = [Int32](repeating: 0, count: S * V)
        var rewards = [Double](repeating: 0, count: S * V)
        for q in 0..<S {
            let keep = rng.nextInt(below: V)
            for a in 0..<V {
                delta[q * V + a] = Int32(rng.nextInt(below: S))
                rewards[q * V + a] = (a != keep && rng.nextUnit() < forbiddenFraction) ? -.infinity : rng.nextGaussian()
            }
        }
        let terminal = (0..<S).map { _ in rng.nextGaussian() }
        let prompts = (0..<P).map { i in
            Prompt(latent: rng.nextInt(below: S), tokens: [i], weight: 1, split: i == P - 1 && P > 1 ? .test : .train)
        }
        return try! TokenMDP(vocabSize: V, horizon: H, eos: eos ? V - 1 : nil, numLatent: S, transitions: delta,
                             rewards: rewards, terminalRewards: terminal, prompts: prompts)
    }

    /// The single-state MDP: one latent state, horizon 1, no EOS, `vocab`
    /// tokens with per-token rewards `rewards` (default 0), `prompts` train
    /// prompts. Every response is one token, so the only decision state of a
    /// prompt is its root — the setting of the per-state SOC identity (I7).
    /// - Precondition: `vocab ≥ 1`, `rewards` (when given) has `vocab` entries, one finite.
    public static func singleState(vocab V: Int, rewards: [Double]? = nil, prompts P: Int = 1) -> TokenMDP {
        try! TokenMDP(vocabSize: V, horizon: 1, eos: nil, numLatent: 1,
                      transitions: [Int32](repeating: 0, count: V), rewards: rewards ?? [Double](repeating: 0, count: V),
                      terminalRewards: [0], prompts: (0..<P).map { _ in Prompt(latent: 0) })
    }
}
