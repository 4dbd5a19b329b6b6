import XCTest
import TokenMDP
import _TestSupport

/// I7 (SPEC §1.4): SOC sharpens supervised states, `π − u = (p̂ − u)/(1 − λ)`
/// inside the simplex; λ = 0 is SFT; exact and gradient training agree; the
/// linear learner with one-hot-per-prefix features is the tabular learner.
final class SOCTests: XCTestCase {
    /// One state, counts close to uniform so the sharpened policy stays inside the simplex:
    /// p̂ = (0.30, 0.27, 0.23, 0.20); with λ = 0.3, π = u + (p̂ − u)/0.7 ∈ (0.18, 0.33).
    private let counts = [30, 27, 23, 20]

    private func fit(lambda: Double, mu: Double, training: TabularLearner.Training = .exact) throws -> [Double] {
        let m = singleStateMDP(vocab: 4)
        let trie = DemonstrationTrie(mdp: m, demonstrations: oneTokenDemos(counts: counts))
        let learner = try TabularLearner(mdp: m, trie: trie, prior: Prior.uniform(vocabSize: 4),
                                         options: .init(lambda: lambda, weightDecay: mu, training: training))
        return learner.logits(node: 0)
    }

    func testSOCSharpensTheSupervisedStateByOneOverOneMinusLambda() throws {
        // μ = 1e-6 (no prior pull to speak of): stationarity gives (1 − λ)π = p̂ − λu on the centred space.
        let pHat = counts.map { Double($0) / 100 }
        for lambda in [0.1, 0.2, 0.3] {
            let pi = softmax(try fit(lambda: lambda, mu: 1e-6))
            let expected = pHat.map { 0.25 + ($0 - 0.25) / (1 - lambda) }
            assertClose(pi, expected, abs: 1e-7, rel: 0, "λ \(lambda)")
            // Sharper than the data: the majority token gains, the minority one loses.
            XCTAssertGreaterThan(pi[0], pHat[0]); XCTAssertLessThan(pi[3], pHat[3])
        }
    }

    func testLambdaZeroReproducesSFT() throws {
        let pHat = counts.map { Double($0) / 100 }
        assertClose(softmax(try fit(lambda: 0, mu: 1e-6)), pHat, abs: 1e-7, rel: 0)
        assertClose(softmax(try fit(lambda: 0, mu: 0)), pHat, abs: 1e-15, rel: 0, "μ = 0: the plain MLE")
    }

    func testSOCLevelShiftIsLambdaNOverMuV() throws {
        // The all-ones component of Δ: λN/(μV) = 0.2·100/(0.5·4) = 10.
        let l = try fit(lambda: 0.2, mu: 0.5)
        assertClose(l.reduce(0, +) / 4, 10, abs: 1e-12, rel: 1e-12)
    }

    func testSOCExactAndGradientTrainingAgree() throws {
        for lambda in [0.0, 0.3] {
            let exact = try fit(lambda: lambda, mu: 0.5)
            let adam = try fit(lambda: lambda, mu: 0.5,
                               training: .gradient(GradientOptions(steps: 4000, learningRate: 0.1, schedule: .cosine)))
            assertClose(adam, exact, abs: 2e-3, rel: 0, "λ \(lambda)")
        }
    }

    func testLinearLearnerWithOneHotPerPrefixFeaturesEqualsTabularLearner() throws {
        for lambda in [0.0, 0.2] {
            withEvery("seed", in: 0..<3) { seed in
                let mdp = randomMDP(seed: seed, S: 6, V: 3, H: 3, eos: true, forbidden: 0.1, prompts: 3)
                let sol = try SoftValueIteration.solve(mdp, beta: 0.8)
                let prior = try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: seed)
                var rng = SplitMix64(seed: seed, stream: "data")
                let trie = try DemonstrationSampler(demosPerPrompt: 8).sample(expert: sol, oracle: nil, rng: &rng).trie(mdp: mdp)
                let tabular = try TabularLearner(mdp: mdp, trie: trie, prior: prior, options: .init(lambda: lambda, weightDecay: 0.5))
                let linear = try LinearLearner(mdp: mdp, trie: trie, prior: prior, features: [.prefixOneHot],
                                               options: .init(lambda: lambda, weightDecay: 0.5, training: .exact))
                for p in 0..<mdp.prompts.count {
                    for (tokens, s) in allPrefixStates(mdp, prompt: p, trie: trie) {
                        assertClose(linear.logits(s), tabular.logits(s), abs: 1e-8, rel: 1e-10,
                                    "seed \(seed) λ \(lambda) prompt \(p) prefix \(tokens) demonstrated \(trie.isDemonstrated(s.node))")
                    }
                }
            }
        }
    }
}
