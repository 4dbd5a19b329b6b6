import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// The SIMD soft-VI kernel against the straightforward scalar evaluation it
/// replaced (kept here as the reference): libm `exp` and `log`, left-to-right
/// sums, one latent row at a time.
final class ReferenceSolverTests: XCTestCase {
    /// `V_t(q)` for all t, q by the textbook recursion of SPEC §1.2.
    static func referenceValues(_ mdp: TokenMDP, beta: Double) -> [Double] {
        let S = mdp.numLatent, V = mdp.vocabSize, H = mdp.horizon
        var values = [Double](repeating: 0, count: (H + 1) * S)
        for q in 0..<S { values[H * S + q] = mdp.terminalRewards[q] }
        var row = [Double](repeating: 0, count: V)
        for t in stride(from: H - 1, through: 0, by: -1) {
            for q in 0..<S {
                var m = -Double.infinity
                for a in 0..<V {
                    let d = mdp.next(q, a)
                    let tail = mdp.isTerminal(token: a, at: t) ? mdp.terminalRewards[d] : values[(t + 1) * S + d]
                    row[a] = mdp.reward(q, a) + tail
                    m = row[a] > m ? row[a] : m
                }
                if beta == 0 || !m.isFinite { values[t * S + q] = m; continue }
                var s = 0.0
                for a in 0..<V { s += Foundation.exp((row[a] - m) / beta) }
                values[t * S + q] = m + beta * Foundation.log(s)
            }
        }
        return values
    }

    /// Relative agreement with the reference: the fast exp is within 1 ulp
    /// and the sum order differs, so a value moves by a few ulps per step;
    /// over H ≤ 12 steps 1e-12 relative leaves a wide margin.
    static let relativeTolerance = 1e-12

    func testKernelMatchesScalarReferenceWithinOneInATrillion() throws {
        withEvery("seed", in: 0..<12) { seed in
            let V = [1, 2, 3, 7, 8, 9, 16, 33, 64, 255, 256, 300][Int(seed)]
            let m = randomMDP(seed: seed, S: 40, V: V, H: 1 + Int(seed % 12), eos: V > 1 && seed % 2 == 0,
                              forbidden: V > 1 ? 0.2 : 0, prompts: 1)
            for beta in [0.03, 0.25, 1, 7.5] {
                let fast = try SoftValueIteration.solve(m, beta: beta, threads: 2).values
                let ref = Self.referenceValues(m, beta: beta)
                for (i, (a, b)) in zip(fast, ref).enumerated() {
                    assertClose(a, b, abs: 1e-300, rel: Self.relativeTolerance, "β \(beta), index \(i)")
                }
            }
        }
    }

    /// β = 0 takes only maxima and additions, which the kernel does in the
    /// same way: identical bits.
    func testHardMaxIsBitIdenticalToReference() throws {
        let m = randomMDP(seed: 31, S: 60, V: 20, H: 8, eos: true, forbidden: 0.2, prompts: 1)
        let fast = try SoftValueIteration.solve(m, beta: 0, threads: 2).values
        XCTAssertEqual(fast.map(\.bitPattern), Self.referenceValues(m, beta: 0).map(\.bitPattern))
    }

    /// Large reward gaps at a small temperature push exp into underflow
    /// (x − m ≪ −745): those terms are 0 in both, values stay finite.
    func testUnderflowingTermsAreZeroNotNaN() throws {
        var rng = SplitMix64(seed: 4)
        let S = 10, V = 12
        let rewards = (0..<(S * V)).map { i in i % V == 0 ? 0 : -1000 * (1 + rng.nextUnit()) }
        let delta = (0..<(S * V)).map { _ in Int32(rng.nextInt(below: S)) }
        let m = try TokenMDP(vocabSize: V, horizon: 5, eos: nil, numLatent: S, transitions: delta, rewards: rewards,
                             terminalRewards: [Double](repeating: 0, count: S), prompts: [Prompt(latent: 0)])
        for beta in [0.5, 1.0, 2.0] {
            let fast = try SoftValueIteration.solve(m, beta: beta).values
            XCTAssert(fast.allSatisfy(\.isFinite))
            assertClose(fast, Self.referenceValues(m, beta: beta), abs: 1e-300, rel: Self.relativeTolerance)
        }
    }

    /// Threads 1, 2 and 3 give identical bits on a problem large enough that
    /// every worker gets many rows (and rows of 256 tokens: full vectors).
    func testThreadCountDoesNotChangeBitsOnAWideProblem() throws {
        var p = RandomAutomatonParams()
        p.latent = 301; p.vocab = 256; p.horizon = 4; p.prompts = 1
        let m = try MDPGenerator.randomAutomaton(p).generate(seed: 3)
        let a = try SoftValueIteration.solve(m, beta: 0.7, threads: 1).values.map(\.bitPattern)
        XCTAssertEqual(a, try SoftValueIteration.solve(m, beta: 0.7, threads: 2).values.map(\.bitPattern))
        XCTAssertEqual(a, try SoftValueIteration.solve(m, beta: 0.7, threads: 3).values.map(\.bitPattern))
    }
}
