import XCTest
import Foundation
import TokenMDP
import _TestSupport

/// Builds an MDP from literal rows (tests only).
func handMDP(V: Int, H: Int, eos: Int?, transitions: [[Int]], rewards: [[Double]], terminal: [Double],
             prompts: [Int] = [0]) -> TokenMDP {
    try! TokenMDP(vocabSize: V, horizon: H, eos: eos, numLatent: transitions.count,
                  transitions: transitions.flatMap { $0.map(Int32.init) }, rewards: rewards.flatMap { $0 },
                  terminalRewards: terminal, prompts: prompts.map { Prompt(latent: $0) })
}

final class HandDerivedSolverTests: XCTestCase {
    /// One step, two tokens, rewards Q = [0, log 3], no terminal reward, β = 1:
    /// V = log(e⁰ + e^{log 3}) = log 4; π = (1/4, 3/4).
    func testOneStepTwoTokensGivesLogFour() throws {
        let m = handMDP(V: 2, H: 1, eos: nil, transitions: [[0, 0]], rewards: [[0, log(3)]], terminal: [0])
        let s = try SoftValueIteration.solve(m, beta: 1)
        assertClose(s.rootValue(prompt: 0), log(4))
        assertClose(exp(s.logPolicy(0, 0, 0)), 0.25)
        assertClose(exp(s.logPolicy(0, 0, 1)), 0.75)
    }

    /// Two steps, two tokens, all rewards 0, terminal 0, β = 1: four equally
    /// good responses, V = log 4 (entropy of a uniform choice of 2 tokens twice).
    /// With β = 0.5 it is 0.5·log 4.
    func testTwoStepsZeroRewardCountsResponses() throws {
        let m = handMDP(V: 2, H: 2, eos: nil, transitions: [[0, 0]], rewards: [[0, 0]], terminal: [0])
        assertClose(try SoftValueIteration.solve(m, beta: 1).rootValue(prompt: 0), log(4))
        assertClose(try SoftValueIteration.solve(m, beta: 0.5).rootValue(prompt: 0), 0.5 * log(4))
    }

    /// EOS (token 1) at t = 0 ends with R_T(δ(0,1)) = R_T(1) = 1; token 0 stays
    /// in q = 0 and at t = 1 (last step, H = 2) both tokens end the episode:
    /// Q_1(0, ·) = [R_T(0), R_T(1)] = [0, 1] → V_1(0) = log(1 + e).
    /// Q_0(0, ·) = [0 + V_1(0), 0 + 1] → V_0 = log(1 + e + e).
    func testEOSReadsTheTerminalRewardAndStops() throws {
        let m = handMDP(V: 2, H: 2, eos: 1, transitions: [[0, 1], [1, 1]], rewards: [[0, 0], [0, 0]], terminal: [0, 1])
        let s = try SoftValueIteration.solve(m, beta: 1)
        assertClose(s.v(1, 0), log(1 + M_E))
        assertClose(s.rootValue(prompt: 0), log(1 + 2 * M_E))
        assertClose(s.q(0, 0, 1), 1)
    }

    /// A forbidden token (−∞ reward) has probability exactly 0 and leaves the
    /// value of the others: Q = [−∞, 2] → V = 2 at any β.
    func testForbiddenTokenHasZeroProbability() throws {
        let m = handMDP(V: 2, H: 1, eos: nil, transitions: [[0, 0]], rewards: [[-.infinity, 2]], terminal: [0])
        for beta in [0, 0.01, 1, 100.0] {
            let s = try SoftValueIteration.solve(m, beta: beta)
            assertClose(s.rootValue(prompt: 0), 2)
            XCTAssertEqual(s.logPolicy(0, 0, 0), -.infinity)
            XCTAssertEqual(s.logPolicy(0, 0, 1), 0)
        }
    }

    /// β = 0: the hard max; ties share the probability uniformly (the β → 0 limit).
    func testZeroTemperatureIsHardMaxWithUniformTies() throws {
        let m = handMDP(V: 3, H: 1, eos: nil, transitions: [[0, 0, 0]], rewards: [[1, 3, 3]], terminal: [0])
        let s = try SoftValueIteration.solve(m, beta: 0)
        XCTAssertEqual(s.rootValue(prompt: 0), 3)
        XCTAssertEqual(s.logPolicy(0, 0, 0), -.infinity)
        assertClose(s.logPolicy(0, 0, 1), -log(2))
    }

    /// Huge rewards do not overflow: Q = [1000, 1000] at β = 1 → 1000 + log 2.
    func testHugeRewardsStayFinite() throws {
        let m = handMDP(V: 2, H: 1, eos: nil, transitions: [[0, 0]], rewards: [[1000, 1000]], terminal: [0])
        assertClose(try SoftValueIteration.solve(m, beta: 1).rootValue(prompt: 0), 1000 + log(2))
        let tiny = try SoftValueIteration.solve(m, beta: 1e-300)
        XCTAssert(tiny.rootValue(prompt: 0).isFinite)
    }

    func testInvalidTemperatureIsAnError() {
        let m = handMDP(V: 1, H: 1, eos: nil, transitions: [[0]], rewards: [[0]], terminal: [0])
        for b in [-1, .nan, .infinity] { XCTAssertThrowsError(try SoftValueIteration.solve(m, beta: b)) }
    }

    func testHorizonOneAndSingleTokenVocabulary() throws {
        let m = handMDP(V: 1, H: 1, eos: 0, transitions: [[0]], rewards: [[0.5]], terminal: [2])
        let s = try SoftValueIteration.solve(m, beta: 0.7)
        assertClose(s.rootValue(prompt: 0), 2.5)
        XCTAssertEqual(s.logPolicy(0, 0, 0), 0)
    }
}

/// Identities I1–I3 (SPEC §1.2) by exhaustive enumeration on small random MDPs
/// with EOS, forbidden tokens and several temperatures.
final class SoftOptimalityIdentityTests: XCTestCase {
    let betas = [0.3, 1.0, 2.5]

    /// (I1) V*_0(q₀) = β log Σ_y exp(G(x,y)/β) over all complete responses, and Σ_y π*(y|x) = 1.
    func testRootValueEqualsLogSumExpOverAllResponses() {
        withEvery(in: 0..<40) { seed in
            let m = randomMDP(seed: seed, S: 4, V: 3, H: 4, eos: seed % 2 == 0)
            let ys = allResponses(m)
            for beta in betas {
                let s = try SoftValueIteration.solve(m, beta: beta)
                for p in m.prompts.indices {
                    let returns = try ys.map { try m.rollout(prompt: p, tokens: $0).return_ }
                    assertClose(s.rootValue(prompt: p), LogSumExp.soft(returns, temperature: beta), "seed \(seed) β \(beta)")
                    let total = ys.map { exp(s.logProbability(prompt: p, tokens: $0)) }.reduce(0, +)
                    assertClose(total, 1, "Σπ* seed \(seed)")
                }
            }
        }
    }

    /// (I2) β log π*(y|x) = G(x,y) − V*(x) for every complete response.
    func testLogPolicyTelescopesToReturnMinusValue() {
        withEvery(in: 0..<40) { seed in
            let m = randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: seed % 3 != 0)
            for beta in betas {
                let s = try SoftValueIteration.solve(m, beta: beta)
                for p in m.prompts.indices {
                    for y in allResponses(m) {
                        let g = try m.rollout(prompt: p, tokens: y).return_
                        let lhs = beta * s.logProbability(prompt: p, tokens: y)
                        if g == -.infinity { XCTAssertEqual(lhs, -.infinity); continue }
                        assertClose(lhs, g - s.rootValue(prompt: p), "seed \(seed) y \(y)")
                    }
                }
            }
        }
    }

    /// (I3) β → 0: V_β converges to the hard-max value, with the entropy bound
    /// 0 ≤ V_β − V_0 ≤ β·log(#responses), and β = 0 equals max_y G(x,y).
    func testSoftValuesConvergeToHardMaxAsTemperatureVanishes() {
        withEvery(in: 0..<40) { seed in
            let m = randomMDP(seed: seed, S: 4, V: 3, H: 4)
            let ys = allResponses(m)
            let hard = try SoftValueIteration.solve(m, beta: 0)
            for p in m.prompts.indices {
                let best = try ys.map { try m.rollout(prompt: p, tokens: $0).return_ }.max()!
                assertClose(hard.rootValue(prompt: p), best)
                var previousGap = Double.infinity
                for beta in [1.0, 0.1, 1e-3, 1e-6, 1e-9] {
                    let gap = try SoftValueIteration.solve(m, beta: beta).rootValue(prompt: p) - best
                    XCTAssertGreaterThanOrEqual(gap, -1e-12)
                    XCTAssertLessThanOrEqual(gap, beta * log(Double(ys.count)) + 1e-12)
                    XCTAssertLessThanOrEqual(gap, previousGap + 1e-12)
                    previousGap = gap
                }
                XCTAssertLessThan(previousGap, 1e-8)
            }
        }
    }

    /// The soft Bellman residual is zero and every policy row sums to one.
    func testBellmanResidualIsZeroAndPolicyRowsSumToOne() throws {
        let m = randomMDP(seed: 77, S: 30, V: 6, H: 7)
        let s = try SoftValueIteration.solve(m, beta: 0.4)
        for t in 0..<m.horizon {
            for q in 0..<m.numLatent {
                let row = (0..<m.vocabSize).map { s.q(t, q, $0) }
                assertClose(s.v(t, q), LogSumExp.soft(row, temperature: 0.4))
                assertClose((0..<m.vocabSize).map { exp(s.logPolicy(t, q, $0)) }.reduce(0, +), 1)
            }
        }
    }

    /// Results do not depend on the number of threads, to the bit.
    func testThreadCountDoesNotChangeASingleBit() throws {
        let m = randomMDP(seed: 8, S: 500, V: 16, H: 6)
        for beta in [0, 0.5] {
            let a = try SoftValueIteration.solve(m, beta: beta, threads: 1).values
            let b = try SoftValueIteration.solve(m, beta: beta, threads: 2).values
            let c = try SoftValueIteration.solve(m, beta: beta, threads: 7).values
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
            XCTAssertEqual(a.map(\.bitPattern), c.map(\.bitPattern))
        }
    }

    /// Sampling from π* is reproducible and matches π* in frequency (loose).
    func testSamplingFromTheOptimalPolicyMatchesItsProbabilities() throws {
        let m = randomMDP(seed: 2, S: 3, V: 2, H: 2, eos: false, forbidden: 0)
        let s = try SoftValueIteration.solve(m, beta: 1)
        var rng = SplitMix64(seed: 1)
        var counts: [[Int]: Int] = [:]
        let n = 20_000
        for _ in 0..<n { counts[s.sampleResponse(prompt: 0, rng: &rng), default: 0] += 1 }
        for y in allResponses(m) {
            let p = exp(s.logProbability(prompt: 0, tokens: y))
            let f = Double(counts[y, default: 0]) / Double(n)
            XCTAssertLessThan(abs(f - p), 5 * (p * (1 - p) / Double(n)).squareRoot() + 1e-3, "y \(y)")
        }
    }
}
