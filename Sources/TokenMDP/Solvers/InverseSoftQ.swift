import Foundation

/// Inverse soft-Q learning from demonstrations alone (no rewards; SPEC §1.3
/// I5, §2.3): the IQ-Learn objective with γ = 1 and no χ² term,
///
///     J(Q̂) = Σ_{demos} [ Σ_t ( Q̂(s_t, a_t) − V̂(s_{t+1}) ) − V̂(s_0) ]      (V̂ = 0 after the episode ends)
///     V̂(s) = β log Σ_a exp(Q̂(s, a)/β)
///
/// maximised over a table `Q̂(s, ·)` on the demonstrated states with the same
/// L2 term as the tabular SFT learner: writing `Q̂ = β(ℓ₀ + Δ)`, we maximise
///
///     J(Q̂)/β − (μ/2) ‖Δ‖²
///
/// by gradient ascent. The gradient is accumulated literally term by term,
/// demonstration by demonstration (`∂Q̂(s_t,a_t)/∂Δ = β e_{a_t}`,
/// `∂V̂(s)/∂Δ = β π(·|s)`); the step for state s is `1 / (N(s)/2 + μ)`, the
/// inverse of a bound on that block's curvature (the largest eigenvalue of
/// `diag π − ππᵀ` is at most ½), so every step increases the objective.
/// Iteration stops at a gradient norm ≤ `tolerance · max(1, N(s))` on every
/// state or after `maxIterations`.
///
/// By I5, `J(Q̂)/β` is the SFT log-likelihood of `ℓ = Q̂/β`, so the maximiser
/// is the tabular SFT solution (λ = 0, same μ): the policies coincide.
/// Beyond the data the prior decides (`Q̂ = β ℓ₀`). The recovered reward is
/// `r̃(s, a) = Q̂(s, a) − V̂(s ∘ a)` (`inverseBellmanReward`).
///
/// The demonstrations are recovered from the trie
/// (`DemonstrationTrie.completeResponses`) with their multiplicities.
public struct InverseSoftQ: LogitModel {
    public struct Report: Sendable, Equatable {
        public var iterations: Int
        /// max over states of ‖∇‖ / max(1, N(s)) at the end.
        public var relativeGradientNorm: Double
        public var converged: Bool
    }

    public let vocabSize: Int
    public let beta: Double
    public let prior: any LogitModel
    public let trie: DemonstrationTrie
    /// `Q̂(s, ·)` on demonstrated nodes, flat `[node·V + a]` (reward units).
    public let q: [Double]
    public let report: Report

    /// - Parameters:
    ///   - beta: β > 0, reward units per nat.
    ///   - weightDecay: μ > 0 (the ascent needs strict concavity to converge).
    /// - Throws: on β ≤ 0 or μ ≤ 0.
    /// - Complexity: O(iterations · (demonstration tokens + #nodes) · V).
    public init(mdp: TokenMDP, trie: DemonstrationTrie, prior: any LogitModel, beta: Double, weightDecay mu: Double,
                maxIterations: Int = 100_000, tolerance: Double = 1e-11) throws {
        guard beta.isFinite && beta > 0 else {
            throw TokenMDPError.invalid(field: "beta", message: "inverse soft-Q needs a finite β > 0, got \(beta)")
        }
        guard mu.isFinite && mu > 0 else {
            throw TokenMDPError.invalid(field: "weight_decay", message: "inverse soft-Q by gradient ascent needs μ > 0, got \(mu)")
        }
        let V = mdp.vocabSize
        let states = trie.prefixStates(mdp: mdp)
        let responses = trie.completeResponses(mdp: mdp)
        // Trie nodes along each response: s_0 … s_{T−1}.
        let paths: [[Int]] = responses.map { r in
            var node = Int32(r.demonstration.prompt)
            var path = [Int(node)]
            for a in r.demonstration.tokens.dropLast() { node = trie.child(node, a); path.append(Int(node)) }
            return path
        }
        let nodes = trie.demonstratedNodes
        var l0 = [Double](repeating: 0, count: trie.nodeCount * V)
        for node in nodes {
            l0.withUnsafeMutableBufferPointer { prior.logits(states[node], into: UnsafeMutableBufferPointer(rebasing: $0[node * V ..< (node + 1) * V])) }
        }
        var delta = [Double](repeating: 0, count: trie.nodeCount * V)
        var grad = [Double](repeating: 0, count: trie.nodeCount * V)
        var pi = [Double](repeating: 0, count: trie.nodeCount * V)
        var iterations = 0, worst = Double.infinity

        func computePolicies() {
            for node in nodes {
                var mx = -Double.infinity
                for a in 0..<V { let l = l0[node * V + a] + delta[node * V + a]; if l > mx { mx = l } }
                var s = 0.0
                for a in 0..<V {
                    let l = l0[node * V + a] + delta[node * V + a]
                    let e = l == -.infinity ? 0 : Foundation.exp(l - mx)
                    pi[node * V + a] = e; s += e
                }
                for a in 0..<V { pi[node * V + a] /= s }
            }
        }
        while true {
            computePolicies()
            // ∇(J/β) term by term: +e_{a_t} at s_t, −π(·|s_{t+1}) for the next
            // state inside the episode, −π(·|s_0) for the start.
            for i in grad.indices { grad[i] = 0 }
            for (r, path) in zip(responses, paths) {
                let w = r.count
                for (t, a) in r.demonstration.tokens.enumerated() {
                    grad[path[t] * V + a] += w
                    if t + 1 < path.count {
                        let nx = path[t + 1]
                        for b in 0..<V { grad[nx * V + b] -= w * pi[nx * V + b] }
                    }
                }
                let s0 = path[0]
                for b in 0..<V { grad[s0 * V + b] -= w * pi[s0 * V + b] }
            }
            worst = 0
            for node in nodes {
                var nrm = 0.0
                for a in 0..<V where l0[node * V + a] != -.infinity {
                    grad[node * V + a] -= mu * delta[node * V + a]
                    nrm += grad[node * V + a] * grad[node * V + a]
                }
                worst = Swift.max(worst, nrm.squareRoot() / Swift.max(1, trie.totals[node]))
            }
            if worst <= tolerance || iterations >= maxIterations { break }
            iterations += 1
            for node in nodes {
                let step = 1 / (trie.totals[node] / 2 + mu)
                for a in 0..<V where l0[node * V + a] != -.infinity { delta[node * V + a] += step * grad[node * V + a] }
            }
        }
        var q = [Double](repeating: 0, count: trie.nodeCount * V)
        for node in nodes {
            for a in 0..<V { q[node * V + a] = beta * (l0[node * V + a] + delta[node * V + a]) }
        }
        self.vocabSize = V
        self.beta = beta
        self.prior = prior
        self.trie = trie
        self.q = q
        self.report = Report(iterations: iterations, relativeGradientNorm: worst, converged: worst <= tolerance)
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

    /// The recovered reward `r̃(s, a) = Q̂(s, a) − V̂(s ∘ a)` (reward units;
    /// `V̂ = 0` after the episode ends), with this model's β and trie.
    public func reward(_ s: PrefixState, _ a: TokenID, mdp: TokenMDP) -> Double {
        inverseBellmanReward(s, a, beta: beta, mdp: mdp, trie: trie)
    }

    /// The IQ-Learn objective, literally (SPEC §1.3 I5):
    ///
    ///     J = Σ_{demos} [ Σ_t ( Q̂(s_t, a_t) − V̂(s_{t+1}) ) − V̂(s_0) ],   V̂ = 0 after the end
    ///
    /// for the soft-Q reading `Q̂ = β ℓ` of any logit model (reward units).
    /// `trie` is the one the model answers through (nil if it ignores nodes).
    public static func objective(model: any LogitModel, beta: Double, mdp: TokenMDP,
                                 demonstrations: [Demonstration], trie: DemonstrationTrie?) -> Double {
        var total = 0.0
        for d in demonstrations {
            var s = PrefixState.root(prompt: d.prompt, mdp: mdp)
            total -= model.softValue(s, beta: beta)
            for (t, a) in d.tokens.enumerated() {
                let qa = beta * model.logits(s)[a]
                if mdp.isTerminal(token: a, at: t) { total += qa; break }
                s = s.child(a, mdp: mdp, trie: trie)
                total += qa - model.softValue(s, beta: beta)
            }
        }
        return total
    }
}
