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
public func allResponses(_ mdp: TokenMDP) -> [[TokenID]] { mdp.allResponses() }

/// A random MDP for property tests: `S` latent states, `V` tokens, horizon
/// `H`, optional EOS (= V−1), Gaussian rewards, a fraction of forbidden
/// tokens (never a whole row), `P` prompts.
public func randomMDP(seed: UInt64, S: Int = 5, V: Int = 3, H: Int = 4, eos: Bool = true,
                      forbidden: Double = 0.15, prompts P: Int = 2) -> TokenMDP {
    // The stream name keeps every test's instances bit-identical to before the move.
    TokenMDP.randomInstance(seed: seed, latent: S, vocab: V, horizon: H, eos: eos, forbiddenFraction: forbidden,
                            prompts: P, stream: "test/randomMDP")
}
