import XCTest
import TokenMDP
import _TestSupport

/// The linear SFT-as-Q learner: gradient correctness, chunking, features of
/// the visible prefix only, exact vs gradient training, and generalisation
/// of `arithmetic-chain`'s rule through the prompt-token × previous-token cross.
final class LinearLearnerTests: XCTestCase {
    private let someFeatures: [FeatureKind] = [.bias, .position, .positionCrossPrevious, .hashedNGram(n: 2, buckets: 7)]

    private func problem(seed: UInt64, demos: Int = 6) throws -> (TokenMDP, DemonstrationTrie, Prior) {
        let m = randomMDP(seed: seed, S: 6, V: 4, H: 4, eos: true, forbidden: 0.1, prompts: 3)
        let sol = try SoftValueIteration.solve(m, beta: 0.8)
        let prior = try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: seed)
        var rng = SplitMix64(seed: seed, stream: "data")
        let set = try DemonstrationSampler(demosPerPrompt: demos).sample(expert: sol, oracle: nil, rng: &rng)
        return (m, set.trie(mdp: m), prior)
    }

    func testLossGradientMatchesCentralFiniteDifferences() throws {
        withEvery("seed", in: 0..<3) { seed in
            let (m, trie, prior) = try problem(seed: seed)
            let fmap = try FeatureMap(kinds: someFeatures, mdp: m, trie: trie)
            var obj = LinearObjective(mdp: m, trie: trie, prior: prior, features: fmap, lambda: 0.3, weightDecay: 0.5, labelSmoothing: 0.1)
            obj.chunkRows = 3  // several GEMM chunks
            var rng = SplitMix64(seed: seed, stream: "test/W")
            var W = Matrix(rows: fmap.dimension, cols: 4, data: (0..<(fmap.dimension * 4)).map { _ in 0.5 * rng.nextGaussian() })
            var G = Matrix(rows: fmap.dimension, cols: 4)
            _ = obj.valueAndGradient(W, gradient: &G)
            let h = 1e-5
            for i in 0..<W.data.count {
                let w0 = W.data[i]
                W.data[i] = w0 + h; let up = obj.value(W)
                W.data[i] = w0 - h; let down = obj.value(W)
                W.data[i] = w0
                assertClose(G.data[i], (up - down) / (2 * h), abs: 1e-6, rel: 1e-6, "seed \(seed) weight \(i)")
            }
        }
    }

    func testChunkSizeDoesNotChangeTheLossOrGradient() throws {
        let (m, trie, prior) = try problem(seed: 4, demos: 10)
        let fmap = try FeatureMap(kinds: someFeatures, mdp: m, trie: trie)
        var a = LinearObjective(mdp: m, trie: trie, prior: prior, features: fmap, lambda: 0.2, weightDecay: 0.1)
        var b = a
        a.chunkRows = 1; b.chunkRows = 1000
        var rng = SplitMix64(seed: 4, stream: "test/W")
        let W = Matrix(rows: fmap.dimension, cols: 4, data: (0..<(fmap.dimension * 4)).map { _ in rng.nextGaussian() })
        var Ga = Matrix(rows: fmap.dimension, cols: 4), Gb = Ga
        // Row losses are summed in the same order, but OpenBLAS picks different
        // kernels (and so summation orders) for a 1-row and a 1000-row product,
        // so Φ·Wᵀ — and the loss — may differ in the last bits between chunkings.
        assertClose(a.valueAndGradient(W, gradient: &Ga), b.valueAndGradient(W, gradient: &Gb), abs: 0, rel: 1e-13)
        assertClose(Ga.data, Gb.data, abs: 1e-12, rel: 1e-12)
    }

    func testFeaturesSeeOnlyTheVisiblePrefixNotThePromptIndexOrLatent() throws {
        // Two reasoning-chain prompts (no visible prompt tokens, different latent
        // states): equal emitted tokens ⇒ equal φ for every non-prefix block.
        var p = ReasoningChainParams()
        p.prompts = 2; p.vocab = 5; p.horizon = 4
        let m = try MDPGenerator.reasoningChain(p).generate(seed: 1)
        let trie = DemonstrationTrie(mdp: m, demonstrations: [])
        let kinds: [FeatureKind] = [.bias, .position, .promptTokenCrossPrevious, .positionCrossPrevious,
                                    .hashedNGram(n: 1, buckets: 13), .hashedNGram(n: 3, buckets: 101)]
        let fmap = try FeatureMap(kinds: kinds, mdp: m, trie: trie)
        let s0 = allPrefixStates(m, prompt: 0), s1 = allPrefixStates(m, prompt: 1)
        XCTAssertEqual(s0.count, s1.count)
        XCTAssertNotEqual(s0[0].state.latent, s1[0].state.latent, "the prompts start in different latent states")
        for (a, b) in zip(s0, s1) {
            XCTAssertEqual(a.tokens, b.tokens)
            XCTAssertEqual(fmap.vector(a.state), fmap.vector(b.state), "prefix \(a.tokens)")
            XCTAssertEqual(fmap.vector(a.state).reduce(0, +), Double(kinds.count), "one active column per block")
        }
    }

    func testFeatureSpellingsRoundTripAndBadOnesAreRejected() throws {
        for k: FeatureKind in [.bias, .position, .promptTokenCrossPrevious, .positionCrossPrevious, .hashedNGram(n: 3, buckets: 64), .prefixOneHot] {
            XCTAssertEqual(try FeatureKind(parsing: k.description), k)
        }
        for bad in ["ngram:5:10", "ngram:2:0", "ngram:2", "positions", ""] {
            XCTAssertThrowsError(try FeatureKind(parsing: bad), bad)
        }
    }

    func testAdamTrainingApproachesTheNewtonOptimum() throws {
        let (m, trie, prior) = try problem(seed: 2, demos: 20)
        let kinds: [FeatureKind] = [.bias, .positionCrossPrevious]
        let exact = try LinearLearner(mdp: m, trie: trie, prior: prior, features: kinds,
                                      options: .init(lambda: 0.2, weightDecay: 1, training: .exact))
        let adam = try LinearLearner(mdp: m, trie: trie, prior: prior, features: kinds,
                                     options: .init(lambda: 0.2, weightDecay: 1,
                                                    training: .gradient(GradientOptions(steps: 3000, learningRate: 0.05, schedule: .cosine))))
        XCTAssertLessThanOrEqual(exact.report!.relativeGradientNorm, 1e-12)
        assertClose(adam.weights.data, exact.weights.data, abs: 5e-3, rel: 0)
        XCTAssertLessThanOrEqual(exact.report!.loss, adam.report!.loss + 1e-9, "Newton's optimum is the minimum")
    }

    func testPromptTokenCrossPreviousLearnsTheArithmeticRuleAndGeneralisesToTestPrompts() throws {
        var p = ArithmeticChainParams()
        p.prompts = 130; p.testPrompts = 10; p.base = 5; p.chainLength = 3  // 120 train prompts cover all 25 (digit, previous) cells
        let m = try MDPGenerator.arithmeticChain(p).generate(seed: 3)
        var rng = SplitMix64(seed: 3, stream: "data")
        let set = try DemonstrationSampler(demosPerPrompt: 4, filter: .correct).sample(mdp: m, betaExpert: 0.5, rng: &rng)
        let trie = set.trie(mdp: m)
        let learner = try LinearLearner(mdp: m, trie: trie, prior: Prior.uniform(vocabSize: 5), features: [.promptTokenCrossPrevious],
                                        options: .init(lambda: 0, weightDecay: 0.1, training: .exact))
        // Greedy decoding on the unseen test prompts completes every chain.
        for prompt in m.promptIndices(.test) {
            var s = PrefixState.root(prompt: prompt, mdp: m)
            var tokens: [TokenID] = []
            for _ in 0..<m.horizon {
                let l = learner.logits(s)
                let a = l.indices.max { l[$0] < l[$1] }!
                tokens.append(a)
                s = s.child(a, mdp: m, trie: trie)
            }
            let r = try m.rollout(prompt: prompt, tokens: tokens)
            XCTAssertTrue(m.successLatents![r.finalLatent], "test prompt \(prompt) digits \(m.prompts[prompt].tokens): decoded \(tokens)")
        }
    }

    func testExactTrainingRefusesLargeProblemsAndZeroWeightDecay() throws {
        let (m, trie, prior) = try problem(seed: 1)
        XCTAssertThrowsError(try LinearLearner(mdp: m, trie: trie, prior: prior, features: [.bias],
                                               options: .init(lambda: 0, weightDecay: 0, training: .exact)))
        XCTAssertThrowsError(try LinearLearner(mdp: m, trie: trie, prior: prior, features: [.hashedNGram(n: 1, buckets: 5000)],
                                               options: .init(lambda: 0, weightDecay: 1, training: .exact)))
    }
}

extension LinearLearnerTests {
    func testTrainingIsBitIdenticalForAnyWorkerThreadCount() throws {
        let (m, trie, prior) = try problem(seed: 5, demos: 10)
        let opts = LinearLearner.Options(lambda: 0.2, weightDecay: 0.1, training: .gradient(GradientOptions(steps: 30)))
        let one = try LinearLearner(mdp: m, trie: trie, prior: prior, features: someFeatures, options: opts, threads: 1)
        let three = try LinearLearner(mdp: m, trie: trie, prior: prior, features: someFeatures, options: opts, threads: 3)
        XCTAssertEqual(one.weights.data.map(\.bitPattern), three.weights.data.map(\.bitPattern))
    }
}
