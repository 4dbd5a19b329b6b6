import XCTest
import TokenMDP
import _TestSupport

/// The SFT–Q equivalence of SPEC §1.3, proved by example:
/// I4 (every logit function is the soft-optimal Q of its inverse Bellman
/// reward), I5 (SFT log-likelihood = IQ-Learn objective / β), I6 (consistency:
/// KL(π* ‖ π̂) ~ 1/N, and r̃ = r up to potential-based shaping).
final class SFTQEquivalenceTests: XCTestCase {
    // MARK: I4

    func testSoftValueIterationOnInverseBellmanRewardReturnsTheLogitsAsQAndTheirPolicy() throws {
        // V = 3, H = 3, with and without EOS; random logit tables; β = 0.7.
        let beta = 0.7
        for eos in [true, false] {
            withEvery("seed", in: 0..<5) { seed in
                let mdp = randomMDP(seed: seed, S: 4, V: 3, H: 3, eos: eos, forbidden: 0, prompts: 1)
                let model = HashLogitModel(vocabSize: 3, seed: seed, scale: 2)
                let (tree, states) = try mdp.prefixTree(prompt: 0) { s, a in
                    model.inverseBellmanReward(s, a, beta: beta, mdp: mdp, trie: nil)
                }
                let sol = try SoftValueIteration.solve(tree, beta: beta)
                for (i, s) in states.enumerated() {
                    let l = model.logits(s.state), logPi = model.logPolicy(s.state)
                    let t = s.tokens.count
                    assertClose(sol.v(t, i), model.softValue(s.state, beta: beta), "V̂, seed \(seed) eos \(eos) prefix \(s.tokens)")
                    for a in 0..<3 {
                        assertClose(sol.q(t, i, a), beta * l[a], "Q̂, seed \(seed) eos \(eos) prefix \(s.tokens) token \(a)")
                        assertClose(sol.logPolicy(t, i, a), logPi[a], "log π, seed \(seed) eos \(eos) prefix \(s.tokens) token \(a)")
                    }
                }
            }
        }
    }

    // MARK: I5

    func testLogLikelihoodOfEveryResponseTelescopesToInverseBellmanRewardsMinusRootValue() throws {
        let beta = 1.3
        withEvery("seed", in: 0..<5) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 4, H: 5, eos: true, forbidden: 0, prompts: 2)
            let model = HashLogitModel(vocabSize: 4, seed: seed)
            var rng = SplitMix64(seed: seed, stream: "test/responses")
            for _ in 0..<20 {
                let p = rng.nextInt(below: 2)
                var tokens: [TokenID] = []
                repeat { tokens.append(rng.nextInt(below: 4)) } while !mdp.isTerminal(token: tokens.last!, at: tokens.count - 1)
                var s = PrefixState.root(prompt: p, mdp: mdp)
                let v0 = model.softValue(s, beta: beta)
                var rSum = 0.0
                for a in tokens {
                    rSum += model.inverseBellmanReward(s, a, beta: beta, mdp: mdp, trie: nil)
                    s = s.child(a, mdp: mdp, trie: nil)
                }
                assertClose(model.logLikelihood(prompt: p, tokens: tokens, mdp: mdp, trie: nil), (rSum - v0) / beta,
                            "seed \(seed) prompt \(p) response \(tokens)")
            }
        }
    }

    func testSFTLogLikelihoodEqualsIQLearnObjectiveOverBeta() throws {
        // Random logits and sampled data sets, and also a trained learner (logits tied to the trie).
        let beta = 0.6
        withEvery("seed", in: 0..<5) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: true, forbidden: 0.1, prompts: 3)
            let sol = try SoftValueIteration.solve(mdp, beta: beta)
            var rng = SplitMix64(seed: seed, stream: "data")
            let demos = try DemonstrationSampler(demosPerPrompt: 15).sample(expert: sol, oracle: nil, rng: &rng)
            let trie = demos.trie(mdp: mdp)
            let tabular = try TabularLearner(mdp: mdp, trie: trie, prior: try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: seed),
                                             options: .init(lambda: 0.2, weightDecay: 0.3))
            let models: [(any LogitModel, DemonstrationTrie?)] = [(HashLogitModel(vocabSize: 3, seed: seed), nil), (tabular, trie)]
            for (model, t) in models {
                let logLik = demos.demonstrations.reduce(0.0) { $0 + model.logLikelihood(prompt: $1.prompt, tokens: $1.tokens, mdp: mdp, trie: t) }
                let iq = InverseSoftQ.objective(model: model, beta: beta, mdp: mdp, demonstrations: demos.demonstrations, trie: t)
                assertClose(logLik, iq / beta, "seed \(seed) model \(type(of: model))")
            }
        }
    }

    // MARK: I6

    func testSFTConvergesToExpertAtRateOneOverN() throws {
        // KL(π* ‖ π̂) at the roots of the train prompts, averaged over 2 prompts × 12 seeds,
        // for N = 10 … 10⁴ demonstrations per prompt; log–log least-squares slope ≈ −1.
        // Tabular SFT (λ = 0) with a weak uniform prior (μ = 0.5) keeps π̂ > 0 at small N.
        let mdp = randomMDP(seed: 17, S: 6, V: 4, H: 3, eos: true, forbidden: 0, prompts: 3)
        let sol = try SoftValueIteration.solve(mdp, beta: 1)
        let sizes = [10, 30, 100, 300, 1000, 3000, 10_000]
        var points: [(group: UInt64, n: Int, y: Double)] = []
        for n in sizes {
            var kl = 0.0, count = 0.0
            for seed in 0..<12 as Range<UInt64> {
                var rng = SplitMix64(seed: seed, stream: "test/I6/\(n)")
                let demos = try DemonstrationSampler(demosPerPrompt: n).sample(expert: sol, oracle: nil, rng: &rng)
                let trie = demos.trie(mdp: mdp)
                let sft = try TabularLearner(mdp: mdp, trie: trie, prior: Prior.uniform(vocabSize: 4), options: .init(lambda: 0, weightDecay: 0.5))
                for p in mdp.promptIndices(.train) {
                    let q = mdp.prompts[p].latent
                    let logStar = (0..<4).map { sol.logPolicy(0, q, $0) }
                    kl += klDivergence(logP: logStar, logQ: sft.logPolicy(PrefixState.root(prompt: p, mdp: mdp)))
                    count += 1
                }
            }
            points.append((group: 0, n: n, y: kl / count))
        }
        let slope = try XCTUnwrap(LogLogFit.fit(name: "all", points: points)).slope
        print("I6: log–log slope of KL(π* ‖ π̂_SFT) vs N = \(slope) (KL at N = 10: \(points.first!.y), at N = 10⁴: \(points.last!.y))")
        XCTAssertGreaterThanOrEqual(slope, -1.3, "slope \(slope) (fixed seeds 0..<12, mdp seed 17)")
        XCTAssertLessThanOrEqual(slope, -0.7, "slope \(slope) (fixed seeds 0..<12, mdp seed 17)")
    }

    func testRecoveredRewardEqualsTrueRewardUpToPotentialShapingWithExactExpertCounts() throws {
        // Counts n(s,a) = P*(s) π*(a|s) (every complete response weighted by π*(y|x)) cover the
        // whole tree; the MLE is π*, and along every path Φ(s∘a) − Φ(s) = r̃(s,a) − r(s,a)
        // defines one consistent potential: Φ(s) = V*(s) − V*(x) and Φ = −V*(x) at every end.
        let beta = 0.8
        // The walk itself is `Identities.potentialShaping` (shared with `tokenmdp identities`);
        // it also checks that every reachable prefix is demonstrated (else the MLE is the prior there).
        withEvery("seed", in: 0..<4) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 3, eos: true, forbidden: 0, prompts: 3)
            let d = try Identities.potentialShaping(mdp, beta: beta)
            XCTAssertGreaterThan(d.cases, 20, "seed \(seed)")
            XCTAssertLessThanOrEqual(d.maxAbsDiff, 1e-9, "seed \(seed): \(d.worst ?? "")")
        }
    }
}
