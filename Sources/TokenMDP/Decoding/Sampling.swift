import Foundation

/// Ancestral sampling from a model, `y ~ π_ℓ(·|x)`, and best-of-n by
/// model likelihood (SPEC §2.7).
///
/// One step draws one uniform `u = rng.nextUnit() ∈ [0, 1)` and emits the
/// first token, in id order, whose cumulative probability `Σ_{b ≤ a} π_ℓ(b|s)`
/// exceeds `u`; tokens with `log π_ℓ = −∞` are skipped, and the last token
/// with a finite `log π_ℓ` absorbs rounding (so a `-∞` token is never drawn).
/// This is the rule of `SoftSolution.sampleResponse`, so both samplers
/// consume the generator identically: exactly one `nextUnit()` per emitted
/// token. The episode stops at EOS or at the horizon.
public enum AncestralSampler {
    /// One response `y ~ π_ℓ(·|x)` for prompt `p`.
    ///
    /// - Parameter trie: the trie the model was trained with (sets `PrefixState.node`).
    /// - Returns: the tokens and `log π_ℓ(y|x)` (bit-identical to
    ///   `ResponseDecoder.modelLogProbability`); always finite.
    /// - Throws: if the model gives probability 0 to every token of a visited state.
    /// - Complexity: O(H·V) plus ≤ H model evaluations.
    public static func sample<M: LogitModel>(prompt p: Int, mdp: TokenMDP, model: M, trie: DemonstrationTrie?,
                                             rng: inout SplitMix64) throws -> DecodedResponse {
        let V = mdp.vocabSize
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: V)
        defer { row.deallocate() }
        var s = PrefixState.root(prompt: p, mdp: mdp)
        var tokens: [TokenID] = []
        tokens.reserveCapacity(mdp.horizon)
        var total = 0.0
        for t in 0..<mdp.horizon {
            let z = ResponseDecoder.logPolicyRow(model, s, into: row)
            if z == -.infinity { throw ResponseDecoder.noResponse(p, t) }
            let u = rng.nextUnit()
            var c = 0.0
            var a = -1, lastAllowed = -1
            for b in 0..<V {
                let lp = row[b]
                if lp == -.infinity { continue }
                lastAllowed = b
                c += Foundation.exp(lp)
                if u < c { a = b; break }
            }
            if a < 0 { a = lastAllowed }
            total += row[a]
            tokens.append(a)
            if mdp.isTerminal(token: a, at: t) { break }
            s = s.child(a, mdp: mdp, trie: trie)
        }
        return DecodedResponse(tokens: tokens, logProbability: total)
    }

    /// Best-of-n by model likelihood: draws `n ≥ 1` samples in order and returns
    /// the one with the highest `log π_ℓ(y|x)`; exact ties go to the
    /// lexicographically smaller token sequence (so duplicates are harmless).
    public static func bestOfN<M: LogitModel>(_ n: Int, prompt p: Int, mdp: TokenMDP, model: M,
                                              trie: DemonstrationTrie?, rng: inout SplitMix64) throws -> DecodedResponse {
        precondition(n >= 1, "best-of-n needs n ≥ 1, got \(n)")
        var best = try sample(prompt: p, mdp: mdp, model: model, trie: trie, rng: &rng)
        for _ in 1..<n {
            let y = try sample(prompt: p, mdp: mdp, model: model, trie: trie, rng: &rng)
            if y.logProbability > best.logProbability
                || (y.logProbability == best.logProbability && y.tokens.lexicographicallyPrecedes(best.tokens)) {
                best = y
            }
        }
        return best
    }
}

/// The oracle reference decoder: the hard-max response.
///
///     a_t = argmax_a Q*_t(q_t, a)   at β = 0   (ties → lowest token id)
///
/// following the latent automaton until EOS or the horizon. Its return is
/// `G_max(x) = V*_0(q₀(x))` at β = 0 (the `opt_return` column).
public enum OracleDecoder {
    /// - Parameter hard: the β = 0 `SoftSolution` (`SoftValueIteration.solve(mdp, beta: 0)`).
    /// - Throws: if `hard.beta ≠ 0`.
    /// - Complexity: O(H·V).
    public static func decode(prompt p: Int, hard: SoftSolution) throws -> [TokenID] {
        guard hard.beta == 0 else {
            throw TokenMDPError.invalid(field: "decoder", message: "the oracle needs the β = 0 (hard-max) solution, got β = \(hard.beta)")
        }
        let mdp = hard.mdp
        var q = mdp.prompts[p].latent
        var tokens: [TokenID] = []
        for t in 0..<mdp.horizon {
            var best = 0
            var bestQ = hard.q(t, q, 0)
            for a in 1..<mdp.vocabSize {
                let qa = hard.q(t, q, a)
                if qa > bestQ { best = a; bestQ = qa }
            }
            tokens.append(best)
            if mdp.isTerminal(token: best, at: t) { break }
            q = mdp.next(q, best)
        }
        return tokens
    }
}
