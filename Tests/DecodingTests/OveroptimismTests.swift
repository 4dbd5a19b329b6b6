import XCTest
import TokenMDP
import _TestSupport

/// The over-optimism metrics of SPEC §1.5 on every decoder's rows.
final class OveroptimismTests: XCTestCase {
    static let decoders: [DecoderSpec] = [.greedy, .beam(width: 2), .beam(width: 4), .beam(width: 3, lengthNormalize: true),
                                          .sample(n: 3), .bestOfN(n: 4), .oracle]

    /// Rows for every decoder on every prompt.
    private func rows<M: LogitModel>(_ mdp: TokenMDP, _ model: M, trie: DemonstrationTrie?, soft: SoftSolution,
                                     hard: SoftSolution, seed: UInt64) throws -> [(MetricRow, DecodedResponse)] {
        var out: [(MetricRow, DecodedResponse)] = []
        for p in mdp.prompts.indices {
            var grng = SplitMix64(seed: StableHash.combine(seed, UInt64(p)), stream: "expert-gap")
            let gap = Overoptimism.expertGap(prompt: p, mdp: mdp, model: model, trie: trie, soft: soft, samples: 4, rng: &grng)
            for spec in Self.decoders {
                var rng = SplitMix64(seed: StableHash.combine(seed, UInt64(p)), stream: "decode")
                for y in try ResponseDecoder.decode(spec, prompt: p, mdp: mdp, model: model, trie: trie, hard: hard, rng: &rng) {
                    var row: MetricRow
                    do {
                        row = try Overoptimism.measure(y, prompt: p, mdp: mdp, model: model, trie: trie, soft: soft, hard: hard, expertGap: gap)
                    } catch {
                        // The one documented failure a decoder's output can meet: the
                        // model forbids the oracle's response and an expert sample,
                        // so optimism_margin = −∞ − (−∞) is undefined.
                        XCTAssertEqual(spec, .oracle, "\(error)")
                        XCTAssertEqual(gap, -.infinity)
                        XCTAssertEqual(y.logProbability, -.infinity)
                        XCTAssertTrue("\(error)".hasPrefix("optimism_margin"), "\(error)")
                        continue
                    }
                    row.setDecoder(spec)
                    out.append((row, y))
                }
            }
        }
        return out
    }

    func testMetricIdentitiesHoldOnEveryRow() {
        withEvery("seed", in: 0..<30) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: true, forbidden: 0.15)
            let beta = 0.3 + Double(seed % 5) * 0.3
            let soft = try SoftValueIteration.solve(mdp, beta: beta)
            let hard = try SoftValueIteration.solve(mdp, beta: 0)
            let trie = sampledTrie(mdp, soft: soft, perPrompt: 3, seed: seed)
            let prior = try Prior.noisyOracle(solution: soft, sigma: 1, scale: 1.5, seed: seed)
            let models: [any LogitModel] = [RandomLogitModel(vocabSize: 3, seed: seed, scale: 1.5, forbidden: 0.1),
                                            prior, TiedLogitModel(vocabSize: 3, seed: seed), NodeAwareModel(vocabSize: 3, trie: trie)]
            for model in models {
                for (row, y) in try rows(mdp, model, trie: trie, soft: soft, hard: hard, seed: seed) {
                    let ctx = "seed \(seed) \(row.decoder) \(row.tokens)"
                    let p = row.prompt
                    let roll = try mdp.rollout(prompt: p, tokens: row.tokens)
                    // Definitions, exactly.
                    XCTAssertEqual(row.return_, roll.return_, ctx)
                    XCTAssertEqual(row.length, y.tokens.count)
                    XCTAssertEqual(row.logpModel, y.logProbability, ctx)
                    XCTAssertEqual(row.logpExpert, soft.logProbability(prompt: p, tokens: row.tokens), ctx)
                    XCTAssertEqual(row.vSoft, soft.rootValue(prompt: p))
                    XCTAssertEqual(row.optReturn, hard.rootValue(prompt: p))
                    XCTAssertEqual(row.regret, row.optReturn - row.return_)
                    XCTAssertGreaterThanOrEqual(row.regret, -1e-9, ctx)
                    XCTAssertEqual(row.estReturn, row.vSoft + beta * row.logpModel)
                    XCTAssertEqual(row.overopt, row.estReturn - row.return_)
                    let vHat = beta * LogSumExp.lse(model.logits(PrefixState.root(prompt: p, mdp: mdp)))
                    XCTAssertEqual(row.vHat, vHat)
                    XCTAssertEqual(row.overoptRaw, row.vHat + beta * row.logpModel - row.return_)
                    XCTAssertEqual(row.optimismMargin, row.overopt - row.expertGap)
                    XCTAssertEqual(row.correct, mdp.isCorrect(finalLatent: roll.finalLatent, return: roll.return_, optimalReturn: row.optReturn))
                    // Identities: overopt = Σ_t step_gap_t (by (I2)); overopt_adv = Σ_t q_gap_t.
                    assertClose(row.steps.reduce(0) { $0 + $1.stepGap }, row.overopt, abs: 1e-9, rel: 1e-9, ctx)
                    XCTAssertEqual(row.steps.reduce(0) { $0 + $1.qGap }, row.overoptAdv, ctx)
                    // Per step.
                    var s = PrefixState.root(prompt: p, mdp: mdp)
                    var firstOOD: Int? = nil, supervised = 0
                    for (t, st) in row.steps.enumerated() {
                        XCTAssertEqual(st.t, t)
                        XCTAssertEqual(st.token, row.tokens[t])
                        XCTAssertEqual(st.logpModel, model.logPolicy(s)[st.token])
                        XCTAssertEqual(st.logpExpert, soft.logPolicy(t, s.latent, st.token))
                        XCTAssertEqual(st.stepGap, beta * (st.logpModel - st.logpExpert))
                        XCTAssertEqual(st.supervised, trie.isDemonstrated(s.node))
                        if st.supervised { supervised += 1 } else if firstOOD == nil { firstOOD = t }
                        if st.token == st.optimalToken { XCTAssertEqual(st.qGap, 0) }
                        let qs = (0..<3).map { soft.q(t, s.latent, $0) }
                        XCTAssertEqual(qs[st.optimalToken], qs.max()!, ctx)
                        s = s.child(st.token, mdp: mdp, trie: trie)
                    }
                    XCTAssertEqual(row.firstOODStep, firstOOD, ctx)
                    XCTAssertEqual(row.firstOODGap, firstOOD.map { row.steps[$0].stepGap }, ctx)
                    XCTAssertEqual(row.supervisedFrac, Double(supervised) / Double(row.length))
                    XCTAssertNil(row.firstNaNField)
                    XCTAssertEqual(row.csvFields.count, MetricRow.csvHeader.count)
                    XCTAssertFalse(row.csvFields.contains("nan"), ctx)
                    XCTAssertTrue(row.stepsCSVFields.allSatisfy { $0.count == MetricRow.stepsCSVHeader.count })
                }
            }
        }
    }

    /// With `ℓ = Q*/β` the model is the expert: `β(ℓ_a − ℓ_⋆) = Q*_a − Q*_⋆`,
    /// so every step's inflated advantage vanishes (and `overopt = 0`),
    /// for the oracle and for every other decoder alike.
    func testOveroptAdvIsZeroForTheOracleWithLogitsEqualToSoftQOverBeta() {
        withEvery("seed", in: 0..<40) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 4, H: 4, eos: true, forbidden: 0.15)
            let soft = try SoftValueIteration.solve(mdp, beta: 0.5 + Double(seed % 3))
            let hard = try SoftValueIteration.solve(mdp, beta: 0)
            let model = SoftQLogitModel(soft)
            for (row, _) in try rows(mdp, model, trie: nil, soft: soft, hard: hard, seed: seed) {
                assertClose(row.overoptAdv, 0, abs: 1e-9, rel: 0, "seed \(seed) \(row.decoder)")
                assertClose(row.overopt, 0, abs: 1e-9, rel: 0, "seed \(seed) \(row.decoder)")
                assertClose(row.expertGap, 0, abs: 1e-9, rel: 0)
                if row.decoder == "oracle" { assertClose(row.regret, 0) }
            }
        }
    }

    func testDecodeAndMeasureEqualsDecodingThenMeasuringEachResponse() {
        withEvery("seed", in: 0..<10) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: true, forbidden: 0)
            let soft = try SoftValueIteration.solve(mdp, beta: 0.7)
            let hard = try SoftValueIteration.solve(mdp, beta: 0)
            let trie = sampledTrie(mdp, soft: soft, perPrompt: 3, seed: seed)
            let model = NodeAwareModel(vocabSize: 3, trie: trie)
            for spec in Self.decoders {
                var r1 = SplitMix64(seed: seed, stream: "decode"), r2 = r1
                let rows = try Overoptimism.decodeAndMeasure(spec, prompt: 0, mdp: mdp, model: model, trie: trie, soft: soft,
                                                             hard: hard, expertGap: -0.5, rng: &r1)
                let ys = try ResponseDecoder.decode(spec, prompt: 0, mdp: mdp, model: model, trie: trie, hard: hard, rng: &r2)
                XCTAssertEqual(rows.count, ys.count)
                for (row, y) in zip(rows, ys) {
                    var ref = try Overoptimism.measure(y, prompt: 0, mdp: mdp, model: model, trie: trie, soft: soft, hard: hard, expertGap: -0.5)
                    ref.setDecoder(spec)
                    XCTAssertEqual(row, ref)
                    XCTAssertEqual(row.decoder, spec.name)
                    XCTAssertEqual(row.width, spec.width)
                }
                XCTAssertEqual(r1.state, r2.state)
            }
        }
    }

    // MARK: - Exact expectations over the response tree

    /// `KL(π_a ‖ π_b)` of the response distributions by the chain rule,
    /// `Σ_s P_a(s) Σ_a π_a(a|s) (log π_a − log π_b)`, walking the prefix tree
    /// (independent of the per-response metrics).
    private func chainKL(_ mdp: TokenMDP, prompt p: Int, logA: (PrefixState) -> [Double], logB: (PrefixState) -> [Double]) -> Double {
        func rec(_ s: PrefixState, _ w: Double) -> Double {
            let la = logA(s), lb = logB(s)
            var kl = 0.0
            for a in 0..<mdp.vocabSize where la[a] > -.infinity {
                let pa = exp(la[a])
                kl += w * pa * (la[a] - lb[a])
                if !mdp.isTerminal(token: a, at: s.t) { kl += rec(s.child(a, mdp: mdp, trie: nil), w * pa) }
            }
            return kl
        }
        return rec(PrefixState.root(prompt: p, mdp: mdp), 1)
    }

    private func expertLogPolicy(_ soft: SoftSolution) -> (PrefixState) -> [Double] {
        { s in (0..<soft.mdp.vocabSize).map { soft.logPolicy(s.t, s.latent, $0) } }
    }

    /// `Σ_y π_ℓ(y|x) · overopt(y) = β · KL(π_ℓ ‖ π*) ≥ 0`: the mean gap of
    /// samples from the model, computed exactly over every response.
    func testMeanOveroptUnderTheModelIsBetaKLModelToExpertAndNonNegative() {
        withEvery("seed", in: 0..<30) { seed in
            let mdp = randomMDP(seed: seed, S: 4, V: 3, H: 4, eos: true, forbidden: 0)
            let beta = 0.4 + 0.2 * Double(seed % 4)
            let soft = try SoftValueIteration.solve(mdp, beta: beta)
            let hard = try SoftValueIteration.solve(mdp, beta: 0)
            let model = RandomLogitModel(vocabSize: 3, seed: seed, scale: 1.2)
            for p in mdp.prompts.indices {
                var mean = 0.0, mass = 0.0
                for y in allResponses(mdp) {
                    let row = try Overoptimism.measure(prompt: p, tokens: y, mdp: mdp, model: model, trie: nil, soft: soft, hard: hard, expertGap: 0)
                    let w = exp(row.logpModel)
                    mean += w * row.overopt; mass += w
                }
                let kl = chainKL(mdp, prompt: p, logA: { model.logPolicy($0) }, logB: expertLogPolicy(soft))
                assertClose(mass, 1)
                assertClose(mean, beta * kl, "seed \(seed)")
                XCTAssertGreaterThanOrEqual(mean, -1e-12)
            }
        }
    }

    /// `Σ_y π*(y|x) · overopt(y) = −β · KL(π* ‖ π_ℓ) ≤ 0`: on expert
    /// responses the model is under-confident (exact enumeration).
    func testMeanOveroptOnExpertResponsesIsMinusBetaKLExpertToModelAndNonPositive() {
        withEvery("seed", in: 0..<30) { seed in
            let mdp = randomMDP(seed: seed, S: 4, V: 3, H: 4, eos: true, forbidden: 0)
            let beta = 0.4 + 0.2 * Double(seed % 4)
            let soft = try SoftValueIteration.solve(mdp, beta: beta)
            let hard = try SoftValueIteration.solve(mdp, beta: 0)
            let model = RandomLogitModel(vocabSize: 3, seed: seed, scale: 1.2)
            for p in mdp.prompts.indices {
                var mean = 0.0
                for y in allResponses(mdp) {
                    let row = try Overoptimism.measure(prompt: p, tokens: y, mdp: mdp, model: model, trie: nil, soft: soft, hard: hard, expertGap: 0)
                    mean += exp(row.logpExpert) * row.overopt
                }
                let kl = chainKL(mdp, prompt: p, logA: expertLogPolicy(soft), logB: { model.logPolicy($0) })
                assertClose(mean, -beta * kl, "seed \(seed)")
                XCTAssertLessThanOrEqual(mean, 1e-12)
            }
        }
    }

    /// `expert_gap` is the plain mean of β[log π_ℓ − log π*] over the next
    /// n responses `SoftSolution.sampleResponse` draws from the generator.
    func testExpertGapIsTheMeanGapOverFreshExpertSamplesFromTheGivenGenerator() throws {
        let mdp = randomMDP(seed: 21, S: 5, V: 4, H: 5, eos: true)
        let soft = try SoftValueIteration.solve(mdp, beta: 0.8)
        let model = RandomLogitModel(vocabSize: 4, seed: 21)
        var rng = SplitMix64(seed: 21, stream: "expert-gap"), replay = rng
        let gap = Overoptimism.expertGap(prompt: 0, mdp: mdp, model: model, trie: nil, soft: soft, samples: 10, rng: &rng)
        var total = 0.0
        for _ in 0..<10 {
            let y = soft.sampleResponse(prompt: 0, rng: &replay)
            total += 0.8 * (ResponseDecoder.modelLogProbability(prompt: 0, tokens: y, mdp: mdp, model: model, trie: nil)
                            - soft.logProbability(prompt: 0, tokens: y))
        }
        XCTAssertEqual(gap, total / 10)
        XCTAssertEqual(rng.state, replay.state)
    }

    /// Winner's curse, stated exactly: over a fixed set of 40 seeds (random
    /// MDP, noisy-oracle prior with σ = 1, β = 1), the mean `overopt` of
    /// beam search (width 4) and of exact maximisation is at least the mean
    /// over samples from the model, `β·KL(π_ℓ ‖ π*)` (computed exactly).
    /// Selecting the maximum of noisy estimates inflates them (Jensen).
    func testBeamOveroptOnAverageExceedsTheSamplingMeanOnANoisyModel() {
        var beamSum = 0.0, exactSum = 0.0, sampleSum = 0.0
        var n = 0.0
        withEvery("seed", in: 0..<40) { seed in
            let mdp = randomMDP(seed: seed, S: 6, V: 3, H: 4, eos: false, forbidden: 0, prompts: 1)
            let soft = try SoftValueIteration.solve(mdp, beta: 1)
            let hard = try SoftValueIteration.solve(mdp, beta: 0)
            let model = try Prior.noisyOracle(solution: soft, sigma: 1, scale: 1, seed: seed)
            let measure = { (y: [TokenID]) in
                try Overoptimism.measure(prompt: 0, tokens: y, mdp: mdp, model: model, trie: nil, soft: soft, hard: hard, expertGap: 0).overopt
            }
            beamSum += try measure(BeamSearch(width: 4).decode(prompt: 0, mdp: mdp, model: model, trie: nil).best.tokens)
            exactSum += try measure(BeamSearch(width: 81).decode(prompt: 0, mdp: mdp, model: model, trie: nil).best.tokens)
            sampleSum += chainKL(mdp, prompt: 0, logA: { model.logPolicy($0) }, logB: expertLogPolicy(soft))
            n += 1
        }
        let beam = beamSum / n, exact = exactSum / n, sample = sampleSum / n
        XCTAssertGreaterThan(sample, 0)
        XCTAssertGreaterThan(beam, sample, "beam \(beam) vs sampling mean \(sample)")
        XCTAssertGreaterThan(exact, sample, "exact argmax \(exact) vs sampling mean \(sample)")
    }

    // MARK: - Edge cases

    /// A token the MDP forbids makes `return = −∞`; the gaps are `+∞`, the
    /// CSV says `inf`/`-inf`, and nothing is NaN.
    func testForbiddenTokenGivesInfiniteGapsNeverNaN() throws {
        var mdp = randomMDP(seed: 8, S: 3, V: 3, H: 2, eos: false, forbidden: 0, prompts: 1)
        let q0 = mdp.prompts[0].latent
        mdp.rewards[q0 * 3 + 1] = -.infinity
        let soft = try SoftValueIteration.solve(mdp, beta: 0.5)
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        let row = try Overoptimism.measure(prompt: 0, tokens: [1, 0], mdp: mdp, model: Prior.uniform(vocabSize: 3),
                                           trie: nil, soft: soft, hard: hard, expertGap: -0.25)
        XCTAssertEqual(row.return_, -.infinity)
        XCTAssertEqual(row.logpExpert, -.infinity)
        XCTAssertEqual(row.regret, .infinity)
        XCTAssertEqual(row.overopt, .infinity)
        XCTAssertEqual(row.overoptRaw, .infinity)
        XCTAssertEqual(row.overoptAdv, .infinity)
        XCTAssertEqual(row.optimismMargin, .infinity)
        XCTAssertEqual(row.steps[0].stepGap, .infinity)
        XCTAssertTrue(row.steps[1].stepGap.isFinite)
        XCTAssertNil(row.firstNaNField)
        let f = Dictionary(uniqueKeysWithValues: zip(MetricRow.csvHeader, row.csvFields))
        XCTAssertEqual(f["return"], "-inf")
        XCTAssertEqual(f["overopt"], "inf")
        XCTAssertEqual(f["correct"], "0")
    }

    /// When the model and the MDP both forbid a token of the response the
    /// gap is ∞ − ∞: an error naming the column, never a silent NaN.
    func testUndefinedGapIsAnErrorNotNaN() throws {
        var mdp = randomMDP(seed: 9, S: 3, V: 3, H: 2, eos: false, forbidden: 0, prompts: 1)
        mdp.rewards[mdp.prompts[0].latent * 3 + 2] = -.infinity
        let soft = try SoftValueIteration.solve(mdp, beta: 0.5)
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        let model = PrefixTableModel(mdp: mdp, rows: [], defaultRow: [0, 0, -.infinity])
        XCTAssertThrowsError(try Overoptimism.measure(prompt: 0, tokens: [2, 0], mdp: mdp, model: model, trie: nil,
                                                      soft: soft, hard: hard, expertGap: 0)) { e in
            XCTAssertTrue("\(e)".contains("NaN"), "\(e)")
        }
    }

    func testMeasureRejectsIncompleteResponsesAndWrongTemperatures() throws {
        let mdp = randomMDP(seed: 10, V: 3, H: 3, eos: true, forbidden: 0)
        let soft = try SoftValueIteration.solve(mdp, beta: 0.5)
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        let m = Prior.uniform(vocabSize: 3)
        XCTAssertThrowsError(try Overoptimism.measure(prompt: 0, tokens: [0], mdp: mdp, model: m, trie: nil, soft: soft, hard: hard, expertGap: 0))
        XCTAssertThrowsError(try Overoptimism.measure(prompt: 0, tokens: [2], mdp: mdp, model: m, trie: nil, soft: hard, hard: hard, expertGap: 0))
        XCTAssertThrowsError(try Overoptimism.measure(prompt: 0, tokens: [2], mdp: mdp, model: m, trie: nil, soft: soft, hard: soft, expertGap: 0))
        XCTAssertNoThrow(try Overoptimism.measure(prompt: 0, tokens: [2], mdp: mdp, model: m, trie: nil, soft: soft, hard: hard, expertGap: 0))
    }

    /// Hand trie: demonstrations [0, 1, EOS] and [1, EOS] for prompt 0
    /// (V = 3, EOS = 2, H = 4). Demonstrated states: (), (0), (0,1).
    func testSupervisedFractionAndFirstOODStepFollowTheDemonstrations() throws {
        let mdp = randomMDP(seed: 12, S: 4, V: 3, H: 4, eos: true, forbidden: 0, prompts: 1)
        let soft = try SoftValueIteration.solve(mdp, beta: 1)
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        let trie = DemonstrationTrie(mdp: mdp, demonstrations: [Demonstration(prompt: 0, tokens: [0, 1, 2]),
                                                                Demonstration(prompt: 0, tokens: [1, 2])])
        let m = RandomLogitModel(vocabSize: 3, seed: 12)
        func measure(_ y: [TokenID]) throws -> MetricRow {
            try Overoptimism.measure(prompt: 0, tokens: y, mdp: mdp, model: m, trie: trie, soft: soft, hard: hard, expertGap: 0)
        }
        let onData = try measure([0, 1, 2])
        XCTAssertEqual(onData.supervisedFrac, 1)
        XCTAssertNil(onData.firstOODStep)
        XCTAssertNil(onData.firstOODGap)
        let leaves = try measure([0, 0, 1, 2])            // (), (0) supervised; (0,0), (0,0,1) not
        XCTAssertEqual(leaves.steps.map(\.supervised), [true, true, false, false])
        XCTAssertEqual(leaves.supervisedFrac, 0.5)
        XCTAssertEqual(leaves.firstOODStep, 2)
        XCTAssertEqual(leaves.firstOODGap, leaves.steps[2].stepGap)
        XCTAssertEqual(leaves.stepsCSVFields.map { $0.last! }, ["-2", "-1", "0", "1"])
        let short = try measure([1, 2])                   // [1, EOS] emitted EOS at (1): demonstrated
        XCTAssertEqual(short.steps.map(\.supervised), [true, true])
        let eosOnly = try measure([2])                    // () is demonstrated
        XCTAssertEqual(eosOnly.supervisedFrac, 1)
        let noTrie = try Overoptimism.measure(prompt: 0, tokens: [0, 1, 2], mdp: mdp, model: m, trie: nil, soft: soft, hard: hard, expertGap: 0)
        XCTAssertEqual(noTrie.supervisedFrac, 0)
        XCTAssertEqual(noTrie.firstOODStep, 0)
    }

    /// `expert_correct` (SPEC §2.1: "every run reports the expert's own
    /// accuracy"): a nearly greedy expert (β = 0.01) always completes the
    /// chain; at β = 0.5 entropy dominates and it fails most of the time —
    /// the temperature warning of SPEC §2.1, measured. The estimate is a
    /// fraction of the n samples, and it scores exactly the samples that
    /// `expertGap` draws from an rng in the same state.
    func testExpertAccuracyShowsTheTemperatureScale() throws {
        var params = ReasoningChainParams()
        params.prompts = 4
        let mdp = try MDPGenerator.reasoningChain(params).generate(seed: 5)
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        for (beta, low, high) in [(0.01, 1.0, 1.0), (0.5, 0.0, 0.5)] {
            let soft = try SoftValueIteration.solve(mdp, beta: beta)
            for p in mdp.prompts.indices {
                var rng = SplitMix64(seed: UInt64(p), stream: "expert-gap")
                let acc = try Overoptimism.expertAccuracy(prompt: p, mdp: mdp, soft: soft, hard: hard, samples: 200, rng: &rng)
                XCTAssert(acc >= low && acc <= high, "β = \(beta), prompt \(p): expert accuracy \(acc) outside [\(low), \(high)]")
                XCTAssertEqual(acc * 200, (acc * 200).rounded(), accuracy: 1e-9, "a fraction of the 200 samples")
                // Same rng state ⇒ same samples as expertGap draws.
                var r1 = SplitMix64(seed: UInt64(p), stream: "expert-gap"), r2 = r1
                var manual = 0
                for _ in 0..<5 {
                    let y = soft.sampleResponse(prompt: p, rng: &r1)
                    let roll = try mdp.rollout(prompt: p, tokens: y)
                    if mdp.isCorrect(finalLatent: roll.finalLatent, return: roll.return_, optimalReturn: hard.rootValue(prompt: p)) { manual += 1 }
                }
                XCTAssertEqual(try Overoptimism.expertAccuracy(prompt: p, mdp: mdp, soft: soft, hard: hard, samples: 5, rng: &r2),
                               Double(manual) / 5)
            }
        }
    }
}
