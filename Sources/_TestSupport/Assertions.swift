import Foundation
import XCTest
import TokenMDP

/// Tolerance for exact dynamic programming in Double on the small MDPs of
/// the tests (≤ a few thousand states, H ≤ 8): errors are a few ulps of the
/// values involved, so 1e-9 absolute + relative leaves ~6 orders of margin.
public let dpTolerance = 1e-9

/// Asserts `|a − b| ≤ abs + rel·max(|a|, |b|)`; equal infinities pass, NaN fails.
public func assertClose(_ a: Double, _ b: Double, abs absTol: Double = dpTolerance, rel: Double = dpTolerance,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    if a.isNaN || b.isNaN { XCTFail("NaN: \(a) vs \(b) \(message())", file: file, line: line); return }
    if a.isInfinite || b.isInfinite {
        XCTAssertEqual(a, b, "infinite mismatch \(message())", file: file, line: line); return
    }
    let tol = absTol + rel * max(Swift.abs(a), Swift.abs(b))
    XCTAssert(Swift.abs(a - b) <= tol, "\(a) vs \(b) differ by \(Swift.abs(a - b)) > \(tol) \(message())", file: file, line: line)
}

/// Element-wise `assertClose`.
public func assertClose(_ a: [Double], _ b: [Double], abs absTol: Double = dpTolerance, rel: Double = dpTolerance,
                        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "length \(message())", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() { assertClose(x, y, abs: absTol, rel: rel, "[\(i)] \(message())", file: file, line: line) }
}

/// Runs `body` for every seed, naming the seed in any failure (as
/// swift-collections' `withEvery` does).
public func withEvery(_ name: String = "seed", in seeds: Range<UInt64>, _ body: (UInt64) throws -> Void,
                      file: StaticString = #filePath, line: UInt = #line) {
    for s in seeds {
        do { try body(s) } catch { XCTFail("\(name) = \(s): \(error)", file: file, line: line) }
    }
}

/// Every complete response of prompt `p`: all token sequences that end with
/// EOS before the horizon or have exactly H tokens. Only for tiny trees.
public func allResponses(_ mdp: TokenMDP) -> [[TokenID]] {
    var out: [[TokenID]] = []
    func rec(_ prefix: [TokenID]) {
        for a in 0..<mdp.vocabSize {
            let y = prefix + [a]
            if mdp.isTerminal(token: a, at: prefix.count) { out.append(y) } else { rec(y) }
        }
    }
    rec([])
    return out
}

/// A random MDP for property tests: `S` latent states, `V` tokens, horizon
/// `H`, optional EOS (= V−1), Gaussian rewards, a fraction of forbidden
/// tokens (never a whole row), `P` prompts.
public func randomMDP(seed: UInt64, S: Int = 5, V: Int = 3, H: Int = 4, eos: Bool = true,
                      forbidden: Double = 0.15, prompts P: Int = 2) -> TokenMDP {
    var rng = SplitMix64(seed: seed, stream: "test/randomMDP")
    var delta = [Int32](repeating: 0, count: S * V)
    var rewards = [Double](repeating: 0, count: S * V)
    for q in 0..<S {
        let keep = rng.nextInt(below: V)
        for a in 0..<V {
            delta[q * V + a] = Int32(rng.nextInt(below: S))
            rewards[q * V + a] = (a != keep && rng.nextUnit() < forbidden) ? -.infinity : rng.nextGaussian()
        }
    }
    let terminal = (0..<S).map { _ in rng.nextGaussian() }
    let prompts = (0..<P).map { i in Prompt(latent: rng.nextInt(below: S), tokens: [i], weight: 1, split: i == P - 1 && P > 1 ? .test : .train) }
    return try! TokenMDP(vocabSize: V, horizon: H, eos: eos ? V - 1 : nil, numLatent: S, transitions: delta,
                         rewards: rewards, terminalRewards: terminal, prompts: prompts)
}
