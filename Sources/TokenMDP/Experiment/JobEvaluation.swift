import Foundation

/// The columns of a job's rows (before the swept keys are inserted): the
/// metrics' own `MetricRow` columns.
enum JobRows {
    static var rowsHeader: [String] { MetricRow.csvHeader }
    static var stepsHeader: [String] { MetricRow.stepsCSVHeader }
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
        // Demonstrations (stream "data"): sampled from π* at the expert's β, or read from the file.
        let set: DemonstrationSet
        if let f = c.expert.demosFile {
            set = try DemonstrationSet.load(contentsOf: URL(fileURLWithPath: f), mdp: mdp)
        } else {
            var data = SplitMix64(seed: seed, stream: "data")
            let expert = c.expertBeta == beta ? soft : try SoftValueIteration.solve(mdp, beta: c.expertBeta)
            let sampler = DemonstrationSampler(demosPerPrompt: c.expert.demosPerPrompt,
                                               filter: c.expert.filter == .correct ? .correct : .none,
                                               epsilon: c.expert.epsilon)
            set = try sampler.sample(expert: expert, oracle: hard, rng: &data)
        }
        demonstrations = set.demonstrations
        trie = set.trie(mdp: mdp)
        // Prior (stream "prior").
        var pr = SplitMix64(seed: seed, stream: "prior")
        switch c.prior.kind {
        case .uniform: prior = .uniform(vocabSize: mdp.vocabSize)
        case .noisyOracle:
            try Self.checkPriorRange(config: c, mdp: mdp, soft: soft)
            prior = try .noisyOracle(solution: soft, sigma: c.prior.sigma, scale: c.prior.scale, seed: pr.next())
        }
    }

}

extension DecoderSetting {
    /// The decoding library's spec for this setting.
    public var spec: DecoderSpec {
        switch kind {
        case .beam: return .beam(width: width, lengthNormalize: lengthNormalize)
        case .greedy: return .greedy
        case .sample: return .sample(n: width)
        case .bestOfN: return .bestOfN(n: width)
        case .oracle: return .oracle
        }
    }

    /// A stable key of the setting for seeding (independent of list order).
    var seedKey: UInt64 { StableHash.string("\(label)/\(width)") }
}

extension ExperimentRunner {
    /// The science of one job (cell × seed): build the MDP, solve it at β
    /// and at β = 0, sample (or load) the demonstrations, build their trie
    /// and the prior, fit every learner, decode every train and test prompt
    /// with every decoder setting, and measure each response
    /// (`Overoptimism.decodeAndMeasure`, one `MetricRow` per response).
    ///
    /// Rows are ordered by prompt, learner (config order), decoder setting
    /// (config order, widths as listed) and sample index. Random streams
    /// (see `ExperimentConfig`): `"decode"` seeds each (learner name, prompt,
    /// decoder setting) separately and `"expert-gap"` each prompt (the same
    /// π* samples for every learner), so the result is a pure function of
    /// (cell config, seed) and does not depend on evaluation order.
    public func evaluate(job: Job) throws -> JobResult {
        let cell = plan.cells[job.cell]
        let c = cell.config
        let ctx = try JobContext(config: c, seed: job.seed)
        let models = try c.learners.map { try fitLearner($0, ctx) }
        var decodeRoot = SplitMix64(seed: job.seed, stream: "decode")
        var gapRoot = SplitMix64(seed: job.seed, stream: "expert-gap")
        let decodeBase = decodeRoot.next(), gapBase = gapRoot.next()
        let settings = c.decoderSettings
        var result = JobResult()
        for p in ctx.mdp.prompts.indices {
            // The fresh π* samples of this prompt, drawn once and shared by
            // expert_correct and every learner's expert_gap.
            var gapRNG = SplitMix64(seed: StableHash.combine(gapBase, UInt64(p)))
            let expertSamples = ctx.soft.sampleResponses(prompt: p, count: c.expert.expertGapSamples, rng: &gapRNG)
            let expertCorrect = try Overoptimism.expertAccuracy(prompt: p, responses: expertSamples, mdp: ctx.mdp, hard: ctx.hard)
            for (l, model) in zip(c.learners, models) {
                let gap = Overoptimism.expertGap(prompt: p, responses: expertSamples, mdp: ctx.mdp, model: model,
                                                 trie: ctx.trie, soft: ctx.soft)
                let learnerKey = StableHash.combine(StableHash.combine(decodeBase, StableHash.string(l.name)), UInt64(p))
                for s in settings {
                    var rng = SplitMix64(seed: StableHash.combine(learnerKey, s.seedKey))
                    let rows = try Overoptimism.decodeAndMeasure(s.spec, prompt: p, mdp: ctx.mdp, model: model, trie: ctx.trie,
                                                                 soft: ctx.soft, hard: ctx.hard, expertGap: gap, rng: &rng)
                    for var row in rows {
                        row.experiment = plan.base.name
                        row.cell = String(job.cell)
                        row.seed = job.seed
                        row.learner = l.name
                        row.lambda = l.lambda
                        row.expertCorrect = expertCorrect
                        result.rows.append(row.csvFields)
                        if c.stepsCSV { result.steps += row.stepsCSVFields }
                    }
                }
            }
        }
        return result
    }

    /// Fits one learner on the job's data (`LearnerSpec.fit`: tabular,
    /// linear, offline or inverse soft-Q) on one thread (jobs are the unit of
    /// parallelism).
    func fitLearner(_ l: LearnerSpec, _ ctx: JobContext) throws -> any LogitModel {
        let model = try l.fit(mdp: ctx.mdp, trie: ctx.trie, prior: ctx.prior, solution: ctx.soft, threads: 1)
        try JobContext.checkTrained(model, spec: l, ctx)
        return model
    }
}
