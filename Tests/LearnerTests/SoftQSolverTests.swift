import XCTest
import TokenMDP
import _TestSupport

/// Offline soft-Q on the empirical MDP and inverse soft-Q from demonstrations
/// (SPEC §2.3).
final class SoftQSolverTests: XCTestCase {
    // MARK: Offline soft-Q

    func testOfflineSoftQOnFullCoverageIsTheExactSoftQWhateverTheOODMode() throws {
        // Every complete response demonstrated once: the data are the whole tree.
        let beta = 0.9
        withEvery("seed", in: 0..<4) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 3, eos: true, forbidden: 0.15, prompts: 2)
            let sol = try SoftValueIteration.solve(mdp, beta: beta)
            let demos = mdp.promptIndices(.train).flatMap { p in allResponses(mdp).map { Demonstration(prompt: p, tokens: $0) } }
            let trie = DemonstrationTrie(mdp: mdp, demonstrations: demos)
            for ood in OfflineSoftQ.OODMode.allCases {
                let model = try OfflineSoftQ(mdp: mdp, beta: beta, trie: trie, prior: Prior.uniform(vocabSize: 3), ood: ood)
                for p in mdp.promptIndices(.train) {
                    for (tokens, s) in allPrefixStates(mdp, prompt: p, trie: trie) {
                        let node = Int(s.node)
                        XCTAssertTrue(trie.isDemonstrated(s.node))
                        assertClose(model.values[node], sol.v(s.t, s.latent), "V̂ seed \(seed) \(ood) prefix \(tokens)")
                        for a in 0..<3 {
                            assertClose(model.q[node * 3 + a], sol.q(s.t, s.latent, a), "Q̂ seed \(seed) \(ood) prefix \(tokens) token \(a)")
                        }
                        assertClose(model.logPolicy(s), (0..<3).map { sol.logPolicy(s.t, s.latent, $0) }, "π̂ = π*, seed \(seed)")
                    }
                }
            }
        }
    }

    func testOfflineSoftQValuesUntakenActionsByEnumeratedExtremesOrThePrior() throws {
        let beta = 0.5
        withEvery("seed", in: 0..<4) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: true, forbidden: 0.15, prompts: 2)
            let sol = try SoftValueIteration.solve(mdp, beta: beta)
            let prior = try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: seed)
            var rng = SplitMix64(seed: seed, stream: "data")
            let trie = try DemonstrationSampler(demosPerPrompt: 3).sample(expert: sol, oracle: nil, rng: &rng).trie(mdp: mdp)
            let responses = allResponses(mdp)
            let models = try OfflineSoftQ.OODMode.allCases.map {
                try OfflineSoftQ(mdp: mdp, beta: beta, trie: trie, prior: prior, ood: $0)
            }
            let states = trie.prefixStates(mdp: mdp)
            var untaken = 0
            for node in trie.demonstratedNodes {
                let path = trie.tokens(to: node), s = states[node], p = s.prompt
                for a in 0..<3 where trie.counts[node * 3 + a] == 0 {
                    untaken += 1
                    // Return-to-go from s of every complete response through s∘a that uses
                    // allowed tokens after a (forbidden tokens cannot be emitted).
                    var best = -Double.infinity, worst = Double.infinity
                    for y in responses where y.count > path.count && Array(y.prefix(path.count + 1)) == path + [a] {
                        let r = try mdp.rollout(prompt: p, tokens: y)
                        var g = 0.0, allowed = true
                        for t in path.count..<y.count {
                            let rr = mdp.reward(r.latents[t], y[t])
                            if rr == -.infinity && t > path.count { allowed = false }
                            g += rr
                        }
                        guard allowed else { continue }
                        g += mdp.terminalRewards[r.finalLatent]
                        best = max(best, g); worst = min(worst, g)
                    }
                    assertClose(models[0].q[node * 3 + a], worst, "pessimistic, seed \(seed) prefix \(path) token \(a)")
                    assertClose(models[1].q[node * 3 + a], best, "optimistic, seed \(seed) prefix \(path) token \(a)")
                    assertClose(models[2].q[node * 3 + a], beta * prior.logits(s)[a], "prior, seed \(seed) prefix \(path) token \(a)")
                }
                for model in models {
                    XCTAssertEqual(model.logits(s), (0..<3).map { model.q[node * 3 + $0] / beta })
                }
            }
            XCTAssertGreaterThan(untaken, 0)
            // Off the data every mode is the prior.
            for (tokens, s) in allPrefixStates(mdp, prompt: 0, trie: trie) where !trie.isDemonstrated(s.node) {
                for model in models { XCTAssertEqual(model.logits(s), prior.logits(s), "prefix \(tokens)") }
            }
        }
    }

    func testOfflineSoftQRefusesNonPositiveBeta() {
        let mdp = singleStateMDP(vocab: 2)
        let trie = DemonstrationTrie(mdp: mdp, demonstrations: [])
        XCTAssertThrowsError(try OfflineSoftQ(mdp: mdp, beta: 0, trie: trie, prior: Prior.uniform(vocabSize: 2), ood: .prior))
    }

    // MARK: Inverse soft-Q

    func testInverseSoftQPolicyEqualsTabularSFTPolicy() throws {
        let beta = 0.7
        for mu in [0.5, 2.0] {
            withEvery("seed", in: 0..<3) { seed in
                let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: true, forbidden: 0.1, prompts: 3)
                let sol = try SoftValueIteration.solve(mdp, beta: beta)
                let prior = try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: seed)
                var rng = SplitMix64(seed: seed, stream: "data")
                let trie = try DemonstrationSampler(demosPerPrompt: 10).sample(expert: sol, oracle: nil, rng: &rng).trie(mdp: mdp)
                let iq = try InverseSoftQ(mdp: mdp, trie: trie, prior: prior, beta: beta, weightDecay: mu)
                XCTAssertTrue(iq.report.converged, "seed \(seed) μ \(mu): \(iq.report)")
                let sft = try TabularLearner(mdp: mdp, trie: trie, prior: prior, options: .init(lambda: 0, weightDecay: mu))
                for p in 0..<mdp.prompts.count {
                    for (tokens, s) in allPrefixStates(mdp, prompt: p, trie: trie) {
                        assertClose(iq.logPolicy(s), sft.logPolicy(s), abs: 1e-8, rel: 0, "seed \(seed) μ \(mu) prompt \(p) prefix \(tokens)")
                    }
                }
                // Its recovered reward telescopes to its own likelihood (I5 for the fitted Q̂).
                for (d, _) in trie.completeResponses(mdp: mdp) {
                    var s = PrefixState.root(prompt: d.prompt, mdp: mdp)
                    var sum = -iq.softValue(s, beta: beta)
                    for a in d.tokens {
                        sum += iq.reward(s, a, mdp: mdp)
                        s = s.child(a, mdp: mdp, trie: trie)
                    }
                    assertClose(sum / beta, iq.logLikelihood(prompt: d.prompt, tokens: d.tokens, mdp: mdp, trie: trie), "seed \(seed) \(d.tokens)")
                }
            }
        }
    }
}
