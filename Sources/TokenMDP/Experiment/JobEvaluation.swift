import Foundation

/// The columns of a job's rows (before the swept keys are inserted).
enum JobRows {
    static let rowsHeader: [String] = [
        "experiment", "cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width",
        "tokens", "length", "return", "correct", "opt_return", "regret", "v_soft",
        "logp_model", "logp_expert", "est_return", "overopt", "overopt_raw",
        "overopt_adv", "expert_gap", "optimism_margin", "supervised_frac", "first_ood_step",
        "v_hat", "sample", "length_normalize",
    ]
    static let stepsHeader: [String] = [
        "experiment", "cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width", "sample",
        "t", "token", "logp_model_t", "logp_expert_t", "step_gap_t", "supervised", "q_gap_t",
        "optimal_token", "t_from_ood",
    ]
}

/// Everything a job shares between its learners: the MDP, its exact
/// solutions, the demonstrations, their trie and the prior.
struct JobContext {
    let config: ExperimentConfig
    let seed: UInt64
    let mdp: TokenMDP
    /// Exact solutions at the MDP's β and at β = 0 (the oracle).
    let soft: SoftSolution
    let hard: SoftSolution
    let demonstrations: [Demonstration]
    let trie: DemonstrationTrie
    let prior: Prior

    init(config c: ExperimentConfig, seed: UInt64) throws {
        config = c
        self.seed = seed
        mdp = try c.mdp.build(runSeed: seed)
        let beta = c.mdp.beta ?? 0
        soft = try SoftValueIteration.solve(mdp, beta: beta)
        hard = try SoftValueIteration.solve(mdp, beta: 0)
        // Demonstrations (stream "data").
        var data = SplitMix64(seed: seed, stream: "data")
        demonstrations = try Self.demonstrations(c, mdp: mdp, soft: soft, hard: hard, rng: &data)
        trie = DemonstrationTrie(mdp: mdp, demonstrations: demonstrations)
        // Prior (stream "prior").
        var pr = SplitMix64(seed: seed, stream: "prior")
        switch c.prior.kind {
        case .uniform: prior = .uniform(vocabSize: mdp.vocabSize)
        case .noisyOracle: prior = try .noisyOracle(solution: soft, sigma: c.prior.sigma, scale: c.prior.scale, seed: pr.next())
        }
    }

    // INTERIM (until the learners branch's sampler/JSONL loader is on main):
    // samples per train prompt from π* at the expert's β.
    static func demonstrations(_ c: ExperimentConfig, mdp: TokenMDP, soft: SoftSolution, hard: SoftSolution,
                               rng: inout SplitMix64) throws -> [Demonstration] {
        if c.expert.demosFile != nil {
            throw ExperimentError.incomplete("expert.demos_file is not wired yet")
        }
        let expert = c.expertBeta == soft.beta ? soft : try SoftValueIteration.solve(mdp, beta: c.expertBeta)
        var out: [Demonstration] = []
        for p in mdp.promptIndices(.train) {
            var kept = 0, attempts = 0
            while kept < c.expert.demosPerPrompt {
                attempts += 1
                if attempts > 1000 * max(1, c.expert.demosPerPrompt) {
                    throw TokenMDPError.invalid(field: "expert.filter", message: "prompt \(p): too few correct expert responses")
                }
                let y = expert.sampleResponse(prompt: p, epsilon: c.expert.epsilon, rng: &rng)
                if c.expert.filter == .correct {
                    let r = try mdp.rollout(prompt: p, tokens: y)
                    guard mdp.isCorrect(finalLatent: r.finalLatent, return: r.return_, optimalReturn: hard.rootValue(prompt: p)) else { continue }
                }
                out.append(Demonstration(prompt: p, tokens: y))
                kept += 1
            }
        }
        return out
    }
}

extension ExperimentRunner {
    /// The science of one job (cell × seed): build the MDP, solve it at β
    /// and at β = 0, sample (or load) the demonstrations, build their trie
    /// and the prior, fit every learner, decode every train and test prompt
    /// with every decoder setting, and measure each response.
    ///
    /// Rows are ordered by prompt, learner (config order), decoder setting
    /// (config order, widths as listed) and sample index. Every random
    /// stream is derived from the run seed (see `ExperimentConfig`), so the
    /// result is a pure function of (cell config, seed).
    public func evaluate(job: Job) throws -> JobResult {
        let cell = plan.cells[job.cell]
        let ctx = try JobContext(config: cell.config, seed: job.seed)
        // INTERIM: learners = the prior, decoders = the oracle's response,
        // until the learners and decoding branches are on main.
        var result = JobResult()
        let beta = ctx.soft.beta
        for p in ctx.mdp.prompts.indices {
            let y = Self.interimOracle(ctx.hard, prompt: p)
            let roll = try ctx.mdp.rollout(prompt: p, tokens: y)
            for l in cell.config.learners {
                for s in cell.config.decoderSettings {
                    let lpE = ctx.soft.logProbability(prompt: p, tokens: y)
                    var fields = [CSV.escape(plan.base.name), String(job.cell), String(job.seed), String(p),
                                  ctx.mdp.prompts[p].split.rawValue, CSV.escape(l.name), formatNumber(l.lambda),
                                  s.kind.rawValue, s.kind == .oracle ? "" : String(s.width)]
                    fields += [y.map(String.init).joined(separator: " "), String(y.count), formatNumber(roll.return_),
                               "1", formatNumber(ctx.hard.rootValue(prompt: p)), formatNumber(ctx.hard.rootValue(prompt: p) - roll.return_),
                               formatNumber(ctx.soft.rootValue(prompt: p)), "", formatNumber(lpE), "", "", "", "", "", "", "", "",
                               "", "", s.lengthNormalize ? "1" : "0"]
                    _ = beta
                    result.rows.append(fields)
                }
            }
        }
        return result
    }

    static func interimOracle(_ hard: SoftSolution, prompt p: Int) -> [TokenID] {
        let mdp = hard.mdp
        var q = mdp.prompts[p].latent
        var y: [TokenID] = []
        for t in 0..<mdp.horizon {
            var best = 0
            for a in 1..<mdp.vocabSize where hard.q(t, q, a) > hard.q(t, q, best) { best = a }
            y.append(best)
            if mdp.isTerminal(token: best, at: t) { break }
            q = mdp.next(q, best)
        }
        return y
    }
}
