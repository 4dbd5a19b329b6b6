import XCTest
import TokenMDP
import _TestSupport

/// Ancestral sampling, best-of-n, the oracle and `DecoderSpec`.
final class SamplingTests: XCTestCase {
    /// The sampler draws exactly one `nextUnit()` per token and emits the
    /// first token (id order) whose cumulative π_ℓ exceeds it — replayed
    /// here by hand from a copy of the generator.
    func testSamplerUsesOneUniformPerTokenAndTheInverseCDFInTokenOrder() {
        withEvery("seed", in: 0..<50) { seed in
            let mdp = randomMDP(seed: seed, S: 4, V: 4, H: 5, eos: true)
            let model = RandomLogitModel(vocabSize: 4, seed: seed, scale: 1.5, forbidden: 0.3)
            var rng = SplitMix64(seed: seed, stream: "test/decode")
            var replay = rng
            for _ in 0..<5 {
                let y = try AncestralSampler.sample(prompt: 0, mdp: mdp, model: model, trie: nil, rng: &rng)
                var s = PrefixState.root(prompt: 0, mdp: mdp)
                var expect: [TokenID] = []
                for t in 0..<mdp.horizon {
                    let lp = model.logPolicy(s)
                    let u = replay.nextUnit()
                    var c = 0.0, a = -1, last = -1
                    for b in 0..<4 where lp[b] > -.infinity {
                        last = b
                        c += exp(lp[b])
                        if u < c { a = b; break }
                    }
                    if a < 0 { a = last }
                    expect.append(a)
                    if mdp.isTerminal(token: a, at: t) { break }
                    s = s.child(a, mdp: mdp, trie: nil)
                }
                XCTAssertEqual(y.tokens, expect, "seed \(seed)")
                XCTAssertEqual(y.logProbability, ResponseDecoder.modelLogProbability(prompt: 0, tokens: y.tokens, mdp: mdp, model: model, trie: nil))
                XCTAssertTrue(y.logProbability.isFinite)
            }
            XCTAssertEqual(rng.state, replay.state, "seed \(seed): generator consumed differently")
        }
    }

    /// Frequencies of 20 000 samples on a 9-response tree match π_ℓ(y|x):
    /// the binomial standard deviation is ≤ √(1/4 / 20000) ≈ 0.0035, so a
    /// 0.02 bound is more than 5σ (the seed is fixed, so this is not flaky).
    func testSampleFrequenciesMatchModelProbabilities() throws {
        let mdp = randomMDP(seed: 11, S: 3, V: 3, H: 2, eos: false, forbidden: 0, prompts: 1)
        let model = RandomLogitModel(vocabSize: 3, seed: 11)
        var rng = SplitMix64(seed: 11, stream: "test/freq")
        let n = 20_000
        var counts: [[TokenID]: Int] = [:]
        for y in try ResponseDecoder.decode(.sample(n: n), prompt: 0, mdp: mdp, model: model, trie: nil, rng: &rng) {
            counts[y.tokens, default: 0] += 1
        }
        var total = 0.0
        for y in allResponses(mdp) {
            let p = exp(ResponseDecoder.modelLogProbability(prompt: 0, tokens: y, mdp: mdp, model: model, trie: nil))
            total += p
            XCTAssertEqual(Double(counts[y] ?? 0) / Double(n), p, accuracy: 0.02, "\(y)")
        }
        assertClose(total, 1)
    }

    func testSampleDecoderReturnsNIndexedResponses() throws {
        let mdp = randomMDP(seed: 12, V: 3, H: 4)
        let model = RandomLogitModel(vocabSize: 3, seed: 12)
        var rng = SplitMix64(seed: 12)
        let ys = try ResponseDecoder.decode(.sample(n: 7), prompt: 1, mdp: mdp, model: model, trie: nil, rng: &rng)
        XCTAssertEqual(ys.map(\.sampleIndex), Array(0..<7))
        XCTAssertTrue(ys.allSatisfy { (try? mdp.rollout(prompt: 1, tokens: $0.tokens).complete) == true })
    }

    /// Best-of-n draws the same samples as `.sample(n)` from the same
    /// generator state and returns the most likely (ties lexicographic).
    func testBestOfNReturnsTheMostLikelyOfTheSameSamples() {
        withEvery("seed", in: 0..<50) { seed in
            let mdp = randomMDP(seed: seed, S: 4, V: 3, H: 3, eos: true)
            for model in [RandomLogitModel(vocabSize: 3, seed: seed, scale: 2)] as [any LogitModel] {
                var r1 = SplitMix64(seed: seed, stream: "test/bon"), r2 = r1
                let samples = try ResponseDecoder.decode(.sample(n: 6), prompt: 0, mdp: mdp, model: model, trie: nil, rng: &r1)
                let best = try ResponseDecoder.decode(.bestOfN(n: 6), prompt: 0, mdp: mdp, model: model, trie: nil, rng: &r2)
                XCTAssertEqual(r1.state, r2.state)
                let ref = bruteForceArgmax(samples.map(\.tokens)) { y in samples.first { $0.tokens == y }!.logProbability }!
                XCTAssertEqual(best.count, 1)
                XCTAssertEqual(best[0].tokens, ref.tokens, "seed \(seed)")
                XCTAssertNil(best[0].sampleIndex)
            }
            // Tied model: duplicates and exact ties resolve to the smaller sequence.
            let tied = TiedLogitModel(vocabSize: 3, seed: seed, levels: 1)
            var r3 = SplitMix64(seed: seed, stream: "test/bon"), r4 = r3
            let s = try ResponseDecoder.decode(.sample(n: 8), prompt: 0, mdp: mdp, model: tied, trie: nil, rng: &r3)
            let b = try ResponseDecoder.decode(.bestOfN(n: 8), prompt: 0, mdp: mdp, model: tied, trie: nil, rng: &r4)
            let ref = bruteForceArgmax(s.map(\.tokens)) { y in s.first { $0.tokens == y }!.logProbability }!
            XCTAssertEqual(b[0].tokens, ref.tokens, "seed \(seed)")
        }
    }

    /// The oracle's return is the hard optimum `V*_0` at β = 0, equal to the
    /// best return over all responses; on the reasoning chain (exact 0/1
    /// rewards, many ties) it is the lexicographically smallest optimal
    /// response, because it takes the lowest-id maximiser at every step.
    func testOracleReturnsTheHardMaxResponseWithLowestIdTies() throws {
        withEvery("seed", in: 0..<40) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: seed % 2 == 0)
            let hard = try SoftValueIteration.solve(mdp, beta: 0)
            let all = allResponses(mdp)
            for p in mdp.prompts.indices {
                let y = try OracleDecoder.decode(prompt: p, hard: hard)
                let g = try mdp.rollout(prompt: p, tokens: y).return_
                assertClose(g, hard.rootValue(prompt: p), "seed \(seed)")
                let best = all.map { try! mdp.rollout(prompt: p, tokens: $0).return_ }.max()!
                assertClose(g, best, "seed \(seed)")
            }
        }
        var params = ReasoningChainParams()
        params.vocab = 4; params.chainLength = 2; params.horizon = 4; params.prompts = 3
        let chain = try MDPGenerator.reasoningChain(params).generate(seed: 3)
        let hard = try SoftValueIteration.solve(chain, beta: 0)
        for p in chain.prompts.indices {
            let gs = allResponses(chain).map { ($0, try! chain.rollout(prompt: p, tokens: $0).return_) }
            let top = gs.map(\.1).max()!
            let smallest = gs.filter { $0.1 == top }.map(\.0).min { $0.lexicographicallyPrecedes($1) }!
            XCTAssertEqual(try OracleDecoder.decode(prompt: p, hard: hard), smallest)
        }
    }

    func testOracleRefusesASoftSolutionOrNone() throws {
        let mdp = randomMDP(seed: 1)
        let soft = try SoftValueIteration.solve(mdp, beta: 0.5)
        XCTAssertThrowsError(try OracleDecoder.decode(prompt: 0, hard: soft))
        var rng = SplitMix64(seed: 0)
        XCTAssertThrowsError(try ResponseDecoder.decode(.oracle, prompt: 0, mdp: mdp, model: Prior.uniform(vocabSize: 3), trie: nil, rng: &rng))
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        let before = rng.state
        let y = try ResponseDecoder.decode(.oracle, prompt: 0, mdp: mdp, model: Prior.uniform(vocabSize: 3), trie: nil, hard: hard, rng: &rng)
        XCTAssertEqual(rng.state, before, "deterministic decoders must not consume randomness")
        XCTAssertEqual(y[0].logProbability, -log(3) * Double(y[0].tokens.count), accuracy: 1e-12)
    }

    func testDecoderSpecNamesWidthsAndParsingForTheCSV() throws {
        let cases: [(DecoderSpec, String, Int?)] = [
            (.beam(width: 5), "beam", 5), (.beam(width: 3, lengthNormalize: true), "beam", 3),
            (.greedy, "greedy", 1), (.sample(n: 8), "sample", 8), (.bestOfN(n: 4), "best-of-n", 4), (.oracle, "oracle", nil),
        ]
        for (spec, name, width) in cases {
            XCTAssertEqual(spec.name, name)
            XCTAssertEqual(spec.width, width)
            XCTAssertEqual(try DecoderSpec.parse(name: name, width: width, lengthNormalize: spec.lengthNormalize), spec)
        }
        XCTAssertTrue(DecoderSpec.beam(width: 2, lengthNormalize: true).lengthNormalize)
        XCTAssertFalse(DecoderSpec.beam(width: 2).lengthNormalize)
        XCTAssertThrowsError(try DecoderSpec.parse(name: "nucleus", width: 1))
        XCTAssertThrowsError(try DecoderSpec.parse(name: "beam", width: nil))
        XCTAssertThrowsError(try DecoderSpec.parse(name: "beam", width: 0))
        XCTAssertThrowsError(try DecoderSpec.parse(name: "greedy", width: 2))
        XCTAssertThrowsError(try DecoderSpec.parse(name: "sample", width: 3, lengthNormalize: true))
    }
}
