import XCTest
import TokenMDP
import _TestSupport

/// The tabular SFT-as-Q learner (SPEC §1.4): exact optimum, closed-form
/// level, MLE, exact ties, thread independence, refusals, gradient training.
final class TabularLearnerTests: XCTestCase {
    /// Random MDP + noisy-oracle prior + demonstrations from π*.
    private func problem(seed: UInt64, demos: Int = 12, forbidden: Double = 0.1)
        throws -> (TokenMDP, DemonstrationTrie, Prior, [PrefixState]) {
        let m = randomMDP(seed: seed, S: 6, V: 4, H: 4, eos: true, forbidden: forbidden, prompts: 3)
        let sol = try SoftValueIteration.solve(m, beta: 0.8)
        let prior = try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: seed)
        var rng = SplitMix64(seed: seed, stream: "data")
        let set = try DemonstrationSampler(demosPerPrompt: demos).sample(expert: sol, oracle: nil, rng: &rng)
        let trie = set.trie(mdp: m)
        return (m, trie, prior, trie.prefixStates(mdp: m))
    }

    func testExactOptimumZeroesTheGradientOfEveryStateObjectiveAndHasTheClosedFormLevel() throws {
        for lambda in [0.0, 0.2, 0.5] { for mu in [0.01, 1.0] {
            withEvery("seed", in: 0..<4) { seed in
                let (m, trie, prior, states) = try problem(seed: seed)
                let learner = try TabularLearner(mdp: m, trie: trie, prior: prior,
                                                 options: .init(lambda: lambda, weightDecay: mu))
                XCTAssertLessThanOrEqual(learner.report.relativeGradientNorm, 1e-12, "seed \(seed) λ \(lambda) μ \(mu)")
                for node in trie.demonstratedNodes {
                    let l0 = prior.logits(states[node]), l = learner.logits(node: node)
                    let n = trie.countRow(node)
                    let allowed = (0..<4).filter { l0[$0] > -.infinity }
                    let N = allowed.reduce(0.0) { $0 + n[$1] }
                    let pi = softmax(l)
                    var g2 = 0.0, level = 0.0
                    for a in allowed {
                        let delta = l[a] - l0[a]
                        let g = -n[a] + (1 - lambda) * N * pi[a] + mu * delta
                        g2 += g * g
                        level += delta / Double(allowed.count)
                    }
                    // Rounding of ℓ₀ + Δ at the level's magnitude bounds what is measurable here.
                    let slack = 1e-9 * max(1, N) + 1e-13 * (1 + abs(level)) * N
                    XCTAssertLessThanOrEqual(g2.squareRoot(), slack, "seed \(seed) node \(node) λ \(lambda) μ \(mu)")
                    assertClose(level, lambda * N / (mu * Double(allowed.count)), abs: 1e-9, rel: 1e-9, "level, seed \(seed) node \(node)")
                    for a in 0..<4 where l0[a] == -.infinity { XCTAssertEqual(l[a], -.infinity) }
                }
            }
        } }
    }

    func testUndemonstratedPrefixesKeepThePriorLogits() throws {
        let (m, trie, prior, _) = try problem(seed: 3, demos: 2)
        let learner = try TabularLearner(mdp: m, trie: trie, prior: prior, options: .init(lambda: 0.2, weightDecay: 0.1))
        var checked = 0
        for p in 0..<m.prompts.count {
            for (tokens, s) in allPrefixStates(m, prompt: p, trie: trie) where !trie.isDemonstrated(s.node) {
                XCTAssertEqual(learner.logits(s), prior.logits(s), "prompt \(p) prefix \(tokens)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 10)
    }

    func testPlainMLEWithoutRegularisationIsTheNormalisedLogFrequency() throws {
        let m = singleStateMDP(vocab: 4)
        let trie = DemonstrationTrie(mdp: m, demonstrations: oneTokenDemos(counts: [5, 3, 0, 2]))
        let learner = try TabularLearner(mdp: m, trie: trie, prior: Prior.uniform(vocabSize: 4),
                                         options: .init(lambda: 0, weightDecay: 0))
        XCTAssertEqual(learner.logits(node: 0), [log(0.5), log(0.3), -.infinity, log(0.2)])
    }

    func testEqualCountsUnderSymmetricPriorGiveBitIdenticalLogits() throws {
        // One state with counts (3, 3, 1, 1, 0, 0) and a second prompt with the same counts:
        // tied tokens and identical states must come out bit for bit equal.
        let m = singleStateMDP(vocab: 6, prompts: 2)
        let counts = [3, 3, 1, 1, 0, 0]
        let trie = DemonstrationTrie(mdp: m, demonstrations: oneTokenDemos(counts: counts, prompt: 0) + oneTokenDemos(counts: counts, prompt: 1))
        let adam = TabularLearner.Training.gradient(GradientOptions(steps: 200))
        for (lambda, mu, training) in [(0.0, 0.1, .exact), (0.2, 0.1, .exact), (0.3, 1e-3, .exact), (0.0, 0.0, .exact), (0.2, 0.1, adam)] {
            let learner = try TabularLearner(mdp: m, trie: trie, prior: Prior.uniform(vocabSize: 6),
                                             options: .init(lambda: lambda, weightDecay: mu, training: training))
            let l = learner.logits(node: 0)
            XCTAssertEqual(l[0].bitPattern, l[1].bitPattern, "λ \(lambda) μ \(mu)")
            XCTAssertEqual(l[2].bitPattern, l[3].bitPattern, "λ \(lambda) μ \(mu)")
            XCTAssertEqual(l[4].bitPattern, l[5].bitPattern, "λ \(lambda) μ \(mu)")
            XCTAssertGreaterThan(l[0], l[2]); XCTAssertGreaterThan(l[2], l[4])
            XCTAssertEqual(l.map(\.bitPattern), learner.logits(node: 1).map(\.bitPattern), "λ \(lambda) μ \(mu)")
        }
    }

    func testResultsAreBitIdenticalForAnyThreadCount() throws {
        let (m, trie, prior, _) = try problem(seed: 6, demos: 40)
        for training in [TabularLearner.Training.exact, .gradient(GradientOptions(steps: 50))] {
            let opts = TabularLearner.Options(lambda: 0.2, weightDecay: 0.05, training: training)
            let one = try TabularLearner(mdp: m, trie: trie, prior: prior, options: opts, threads: 1)
            let two = try TabularLearner(mdp: m, trie: trie, prior: prior, options: opts, threads: 2)
            let five = try TabularLearner(mdp: m, trie: trie, prior: prior, options: opts, threads: 5)
            XCTAssertEqual(one.table.map(\.bitPattern), two.table.map(\.bitPattern), "\(training)")
            XCTAssertEqual(one.table.map(\.bitPattern), five.table.map(\.bitPattern), "\(training)")
        }
    }

    func testRefusesLambdaOutsideUnitIntervalAndSOCWithoutWeightDecay() throws {
        let (m, trie, prior, _) = try problem(seed: 1, demos: 2)
        for (lambda, mu) in [(1.0, 0.1), (-0.1, 0.1), (Double.nan, 0.1), (0.2, 0.0), (0.0, -1.0)] {
            XCTAssertThrowsError(try TabularLearner(mdp: m, trie: trie, prior: prior, options: .init(lambda: lambda, weightDecay: mu)),
                                 "λ \(lambda) μ \(mu)") { e in
                guard case let TokenMDPError.invalid(field, message) = e else { return XCTFail("\(e)") }
                XCTAssertTrue(field == "lambda" || field == "weight_decay", field)
                XCTAssertFalse(message.isEmpty)
            }
        }
        // μ = 0 with λ > 0 is allowed for gradient training (a fixed number of steps).
        XCTAssertNoThrow(try TabularLearner(mdp: m, trie: trie, prior: prior,
                                            options: .init(lambda: 0.2, weightDecay: 0, training: .gradient(GradientOptions(steps: 5)))))
    }

    func testAdamOnTheMeanLossReachesTheExactOptimum() throws {
        withEvery("seed", in: 0..<3) { seed in
            let (m, trie, prior, _) = try problem(seed: seed, demos: 20, forbidden: 0)
            let opts = { (t: TabularLearner.Training) in TabularLearner.Options(lambda: 0.2, weightDecay: 2, training: t) }
            let exact = try TabularLearner(mdp: m, trie: trie, prior: prior, options: opts(.exact))
            let adam = try TabularLearner(mdp: m, trie: trie, prior: prior,
                                          options: opts(.gradient(GradientOptions(steps: 3000, learningRate: 0.05, schedule: .cosine))))
            for node in trie.demonstratedNodes {
                assertClose(adam.logits(node: node), exact.logits(node: node), abs: 2e-3, rel: 0, "seed \(seed) node \(node)")
            }
        }
    }

    func testLabelSmoothingMixesTheEmpiricalDistributionWithUniform() throws {
        // λ = 0, tiny μ: π = (1 − ε) p̂ + ε u, the opposite of SOC's sharpening.
        let m = singleStateMDP(vocab: 4)
        let trie = DemonstrationTrie(mdp: m, demonstrations: oneTokenDemos(counts: [6, 3, 1, 0]))
        let eps = 0.2
        let learner = try TabularLearner(mdp: m, trie: trie, prior: Prior.uniform(vocabSize: 4),
                                         options: .init(lambda: 0, weightDecay: 1e-9, labelSmoothing: eps))
        let expected = [0.6, 0.3, 0.1, 0].map { (1 - eps) * $0 + eps / 4 }
        assertClose(softmax(learner.logits(node: 0)), expected, abs: 1e-7, rel: 0)
    }
}

extension TabularLearnerTests {
    func testNewtonReachesTheTightToleranceWithTinyPrecisionAndUnseenTokens() throws {
        // Unseen tokens drive Δ toward −∞ as μ → 0: the hardest case for Newton.
        let m = singleStateMDP(vocab: 8)
        let trie = DemonstrationTrie(mdp: m, demonstrations: oneTokenDemos(counts: [400, 300, 200, 99, 1, 0, 0, 0]))
        for mu in [1e-8, 1e-4, 1.0, 1e3] { for lambda in [0.0, 0.2, 0.9] {
            let learner = try TabularLearner(mdp: m, trie: trie, prior: Prior.uniform(vocabSize: 8),
                                             options: .init(lambda: lambda, weightDecay: mu))
            // Target 1e-12 relative, or the documented floating-point floor 8ε(1 + max|Δ|)
            // when the optimum's logits are huge (λ > 0 with tiny μ: level λN/(μV)).
            let l = learner.logits(node: 0)
            let floor = 8 * Double.ulpOfOne * (1 + l.filter(\.isFinite).map(abs).max()!)
            XCTAssertLessThanOrEqual(learner.report.relativeGradientNorm, max(1e-12, floor), "μ \(mu) λ \(lambda)")
            if lambda == 0 || mu >= 1 { XCTAssertLessThanOrEqual(learner.report.relativeGradientNorm, 1e-12, "μ \(mu) λ \(lambda)") }
            XCTAssertLessThan(learner.report.iterations, 100, "μ \(mu) λ \(lambda)")
        } }
    }
}
