import Foundation

/// Samples expert demonstrations from the soft-optimal policy `π*` at the
/// expert's temperature `β_expert` (SPEC §2.4).
///
/// Procedure (fully determined by the generator passed in):
///
/// * train prompts only, in index order; `demosPerPrompt` responses each
///   (0 allowed: no demonstrations at all);
/// * each response is `SoftSolution.sampleResponse(prompt:epsilon:rng:)` on
///   the expert solution — one `SplitMix64` stream, passed explicitly, is
///   consumed in that order, so the same seed always gives the same data;
/// * `epsilon`: with probability ε per step the token is uniform over all
///   `V` tokens instead (noise; it may pick a token the MDP forbids);
/// * `filter: .correct` keeps drawing until `demosPerPrompt` *correct*
///   responses are found, discarding the others. "Correct" is
///   `TokenMDP.isCorrect(finalLatent:return:optimalReturn:)` with the optimal
///   return `G_max(x)` of a β = 0 solve (the chain's success states when the
///   generator defines them, else "optimal up to 1e-9"). At most
///   `maxAttemptsPerDemo · demosPerPrompt` draws are made per prompt; if
///   that is not enough the sampler throws (the expert almost never
///   succeeds on that prompt: lower β_expert or use `filter: none`).
///
/// Usage:
///
///     var rng = SplitMix64(seed: seed, stream: "data")
///     let demos = try DemonstrationSampler(demosPerPrompt: 8, filter: .correct)
///         .sample(mdp: mdp, betaExpert: 0.5, rng: &rng)
public struct DemonstrationSampler: Sendable, Equatable {
    /// Which sampled responses are kept.
    public enum Filter: String, Sendable, Codable, CaseIterable {
        /// Keep every sample.
        case none
        /// Keep only correct responses (as SFT data for maths usually is).
        case correct
    }

    /// Responses per train prompt (≥ 0).
    public var demosPerPrompt: Int
    public var filter: Filter
    /// Per-step probability ε ∈ [0, 1] of a uniform token instead of π*'s.
    public var epsilon: Double
    /// Draw cap per wanted demonstration under `filter: .correct` (≥ 1).
    public var maxAttemptsPerDemo: Int

    public init(demosPerPrompt: Int, filter: Filter = .none, epsilon: Double = 0, maxAttemptsPerDemo: Int = 1000) {
        self.demosPerPrompt = demosPerPrompt
        self.filter = filter
        self.epsilon = epsilon
        self.maxAttemptsPerDemo = maxAttemptsPerDemo
    }

    /// Checks the parameters; throws `TokenMDPError.invalid` naming the field.
    public func validate() throws {
        guard demosPerPrompt >= 0 else {
            throw TokenMDPError.invalid(field: "expert.demos_per_prompt", message: "must be ≥ 0, got \(demosPerPrompt)")
        }
        guard epsilon.isFinite && epsilon >= 0 && epsilon <= 1 else {
            throw TokenMDPError.invalid(field: "expert.epsilon", message: "must be in [0, 1], got \(epsilon)")
        }
        guard maxAttemptsPerDemo >= 1 else {
            throw TokenMDPError.invalid(field: "expert.max_attempts_per_demo", message: "must be ≥ 1, got \(maxAttemptsPerDemo)")
        }
    }

    /// Solves the MDP at `betaExpert` (and at β = 0 when filtering) and samples.
    /// - Throws: on a bad parameter, `betaExpert ≤ 0`, or when the correct
    ///   filter cannot find enough correct responses.
    /// - Complexity: the solves, O(H·S·V) each, plus O(H·V) per draw.
    public func sample(mdp: TokenMDP, betaExpert: Double, threads: Int = 1, rng: inout SplitMix64) throws -> DemonstrationSet {
        guard betaExpert.isFinite && betaExpert > 0 else {
            throw TokenMDPError.invalid(field: "expert.beta", message: "sampling from π* needs a finite β_expert > 0, got \(betaExpert)")
        }
        let expert = try SoftValueIteration.solve(mdp, beta: betaExpert, threads: threads)
        let oracle = filter == .correct ? try SoftValueIteration.solve(mdp, beta: 0, threads: threads) : nil
        return try sample(expert: expert, oracle: oracle, rng: &rng)
    }

    /// Samples from a precomputed expert solution.
    /// - Parameters:
    ///   - expert: the soft solution at β_expert > 0 (its MDP is used).
    ///   - oracle: the β = 0 solution of the same MDP; required for
    ///     `filter: .correct` (it provides `G_max(x)`).
    public func sample(expert: SoftSolution, oracle: SoftSolution?, rng: inout SplitMix64) throws -> DemonstrationSet {
        try validate()
        guard expert.beta > 0 else {
            throw TokenMDPError.invalid(field: "expert.beta", message: "sampling from π* needs β_expert > 0, got \(expert.beta)")
        }
        let mdp = expert.mdp
        if filter == .correct, oracle?.beta != 0 {
            throw TokenMDPError.invalid(field: "expert.filter", message: "filter 'correct' needs the β = 0 (oracle) solution for the optimal return")
        }
        var demos: [Demonstration] = []
        demos.reserveCapacity(demosPerPrompt * mdp.prompts.count)
        for p in mdp.promptIndices(.train) {
            switch filter {
            case .none:
                for _ in 0..<demosPerPrompt {
                    demos.append(Demonstration(prompt: p, tokens: expert.sampleResponse(prompt: p, epsilon: epsilon, rng: &rng)))
                }
            case .correct:
                let opt = oracle!.rootValue(prompt: p)
                let cap = maxAttemptsPerDemo * demosPerPrompt
                var found = 0, attempts = 0
                while found < demosPerPrompt {
                    guard attempts < cap else {
                        throw TokenMDPError.invalid(field: "expert.filter", message: "filter 'correct' found only \(found) of \(demosPerPrompt) correct responses for prompt \(p) in \(cap) draws (\(maxAttemptsPerDemo) per demonstration): the expert at β = \(expert.beta) almost never succeeds on it; lower expert.beta (a colder expert), add fewer traps, or use filter: none")
                    }
                    attempts += 1
                    let y = expert.sampleResponse(prompt: p, epsilon: epsilon, rng: &rng)
                    let r = try mdp.rollout(prompt: p, tokens: y)
                    if mdp.isCorrect(finalLatent: r.finalLatent, return: r.return_, optimalReturn: opt) {
                        demos.append(Demonstration(prompt: p, tokens: y))
                        found += 1
                    }
                }
            }
        }
        return DemonstrationSet(demos)
    }
}
