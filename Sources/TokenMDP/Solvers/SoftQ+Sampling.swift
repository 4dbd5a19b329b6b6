import Foundation

extension SoftSolution {
    /// `count` responses drawn one after another with `sampleResponse`
    /// (no ε-noise) from `rng`: the same responses, in the same order, as
    /// `count` calls would give.
    public func sampleResponses(prompt p: Int, count: Int, rng: inout SplitMix64) -> [[TokenID]] {
        (0..<count).map { _ in sampleResponse(prompt: p, rng: &rng) }
    }

    /// Samples one complete response from `π*` (β > 0) for prompt `p`:
    /// at each step one uniform `u = rng.nextUnit()` picks the first token whose
    /// cumulative probability exceeds `u` (tokens in id order; the last allowed
    /// token absorbs rounding), and the episode stops at EOS or the horizon.
    /// With `epsilon > 0`, each step first draws `rng.nextUnit() < ε` and then
    /// takes a uniform token instead (uniform noise, SPEC §2.4).
    ///
    /// - Returns: the tokens, ending with EOS or of length H.
    /// - Complexity: O(H·V)
    public func sampleResponse(prompt p: Int, epsilon: Double = 0, rng: inout SplitMix64) -> [TokenID] {
        precondition(beta > 0, "sampling from π* needs β > 0")
        let V = mdp.vocabSize
        var q = mdp.prompts[p].latent
        var tokens: [TokenID] = []
        for t in 0..<mdp.horizon {
            var a: TokenID
            if epsilon > 0, rng.nextUnit() < epsilon {
                a = rng.nextInt(below: V)
            } else {
                let u = rng.nextUnit()
                let vq = v(t, q)
                var c = 0.0
                a = -1
                var lastAllowed = 0
                for b in 0..<V {
                    let lp = (self.q(t, q, b) - vq) / beta
                    if lp == -.infinity { continue }
                    lastAllowed = b
                    c += Foundation.exp(lp)
                    if u < c { a = b; break }
                }
                if a < 0 { a = lastAllowed }
            }
            tokens.append(a)
            if mdp.isTerminal(token: a, at: t) { break }
            q = mdp.next(q, a)
        }
        return tokens
    }

    /// `log π*(y|x) = Σ_t log π*_t(a_t|q_t)` (nats) of a complete response.
    public func logProbability(prompt p: Int, tokens: [TokenID]) -> Double {
        var q = mdp.prompts[p].latent
        var s = 0.0
        for (t, a) in tokens.enumerated() {
            s += logPolicy(t, q, a)
            q = mdp.next(q, a)
        }
        return s
    }
}
