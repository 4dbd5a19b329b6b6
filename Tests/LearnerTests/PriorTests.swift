import XCTest
import TokenMDP
import _TestSupport

/// The prior's noise is a pure function of (seed, prompt, prefix, token)
/// (SPEC §2.5) and looks standard Gaussian.
final class PriorTests: XCTestCase {
    func testSamePrefixGetsBitIdenticalLogitsWhateverPathTrieOrInstance() throws {
        let m = randomMDP(seed: 4, S: 6, V: 4, H: 4, eos: true, forbidden: 0.1, prompts: 2)
        let sol = try SoftValueIteration.solve(m, beta: 0.7)
        let p1 = try Prior.noisyOracle(solution: sol, sigma: 1.3, scale: 1.1, seed: 99)
        let p2 = try Prior.noisyOracle(solution: try SoftValueIteration.solve(m, beta: 0.7), sigma: 1.3, scale: 1.1, seed: 99)
        let trie = DemonstrationTrie(mdp: m, demonstrations: [Demonstration(prompt: 0, tokens: [1, 0, 3])])
        for prompt in 0..<2 {
            for (tokens, s) in allPrefixStates(m, prompt: prompt) {
                // Reached again: through the trie (different node ids), and step by step from a fresh root.
                var viaTrie = PrefixState.root(prompt: prompt, mdp: m)
                for a in tokens { viaTrie = viaTrie.child(a, mdp: m, trie: trie) }
                let a = p1.logits(s), b = p1.logits(viaTrie), c = p2.logits(s)
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "prompt \(prompt) prefix \(tokens)")
                XCTAssertEqual(a.map(\.bitPattern), c.map(\.bitPattern), "prompt \(prompt) prefix \(tokens), second instance")
            }
        }
        // Different seed or prompt ⇒ different noise.
        let p3 = try Prior.noisyOracle(solution: sol, sigma: 1.3, scale: 1.1, seed: 100)
        let r0 = PrefixState.root(prompt: 0, mdp: m)
        XCTAssertNotEqual(p1.logits(r0), p3.logits(r0))
        XCTAssertNotEqual(p1.noise(r0, 0), p1.noise(PrefixState.root(prompt: 1, mdp: m), 0))
    }

    func testNoiseOverManyPrefixesHasGaussianMomentsAndTails() throws {
        // 200 000 hashes: mean ≈ 0 (σ/√n ≈ 0.0022), var ≈ 1, P(|ξ| > 1.96) ≈ 0.05, 4th moment ≈ 3.
        let m = singleStateMDP(vocab: 4)
        let prior = try Prior.noisyOracle(solution: try SoftValueIteration.solve(m, beta: 1), sigma: 1, scale: 1, seed: 5)
        var s = PrefixState.root(prompt: 0, mdp: m)
        var n = 0.0, sum = 0.0, sq = 0.0, quad = 0.0, tail = 0.0
        for i in 0..<50_000 {
            s.hash = StableHash.combine(0xABCDEF, UInt64(i))
            for a in 0..<4 {
                let x = prior.noise(s, a)
                n += 1; sum += x; sq += x * x; quad += x * x * x * x
                if abs(x) > 1.96 { tail += 1 }
            }
        }
        let mean = sum / n, variance = sq / n - mean * mean
        XCTAssertLessThan(abs(mean), 0.015)
        XCTAssertLessThan(abs(variance - 1), 0.03)
        XCTAssertLessThan(abs(quad / n - 3), 0.1)
        XCTAssertLessThan(abs(tail / n - 0.05), 0.005)
    }
}

/// The vectorised prior row (`Prior.logits`, `StableHash.gaussians`) is the
/// documented scalar formula, bit for bit, for every vocabulary size (full
/// and partial vectors), with EOS, forbidden tokens and the last step.
final class PriorKernelTests: XCTestCase {
    func testLogitsRowIsTheScalarFormulaToTheBit() throws {
        withEvery("seed", in: 0..<8) { seed in
            let V = [2, 3, 8, 9, 15, 16, 17, 40][Int(seed)]
            let m = randomMDP(seed: seed, S: 7, V: V, H: 3, eos: V > 1 && seed % 2 == 1, forbidden: V > 1 ? 0.25 : 0, prompts: 2)
            let sol = try SoftValueIteration.solve(m, beta: 0.6)
            let (sigma, scale) = (1.3, 1.7)
            let prior = try Prior.noisyOracle(solution: sol, sigma: sigma, scale: scale, seed: 42 + seed)
            for prompt in 0..<2 {
                for (tokens, s) in allPrefixStates(m, prompt: prompt) {
                    let got = prior.logits(s)
                    for a in 0..<V {
                        let q = sol.q(s.t, s.latent, a)
                        let want = q == -.infinity ? -.infinity : scale * (q * (1.0 / sol.beta) + sigma * prior.noise(s, a))
                        XCTAssertEqual(got[a].bitPattern, want.bitPattern, "prefix \(tokens), token \(a)")
                    }
                    var row = [Double](repeating: 0, count: V)
                    row.withUnsafeMutableBufferPointer {
                        StableHash.gaussians(combining: StableHash.combine(s.hash, 42 + seed), count: V, into: $0.baseAddress!)
                    }
                    XCTAssertEqual(row.map(\.bitPattern), (0..<V).map { prior.noise(s, $0).bitPattern })
                }
            }
        }
    }

    /// Long noise rows (many vectors, so the vector slow-path hand-off is
    /// exercised) equal the one-at-a-time transform.
    func testNoiseRowsEqualSingleDraws() {
        var out = [Double](repeating: 0, count: 1000)
        for h in [0, 1, 0xDEAD_BEEF, UInt64.max] as [UInt64] {
            out.withUnsafeMutableBufferPointer { StableHash.gaussians(combining: h, count: 1000, into: $0.baseAddress!) }
            XCTAssertEqual(out.map(\.bitPattern), (0..<1000).map { StableHash.gaussian(StableHash.combine(h, UInt64($0))).bitPattern })
        }
    }
}
