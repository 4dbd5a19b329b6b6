import XCTest
import Foundation
import TokenMDP
import _TestSupport

/// A valid two-state file; each validation test breaks exactly one thing.
let validMDPText = """
{"format": "tokenmdp/v1", "vocab_size": 2, "horizon": 3, "eos": 1, "num_latent": 2,
 "transitions": [[0, 1], [1, 1]],
 "rewards": [[0.5, null], [1, 0]],
 "terminal_rewards": [0, 2],
 "prompts": [{"latent": 0, "tokens": [1, 0], "weight": 2, "split": "train"}, {"latent": 1, "split": "test"}]}
"""

final class MDPFileTests: XCTestCase {
    func decode(_ s: String) throws -> TokenMDP { try TokenMDP.decode(json: Data(s.utf8)) }

    /// Asserts the text is rejected with an error whose message names `field`.
    func assertRejected(_ s: String, naming field: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(s), file: file, line: line) { e in
            let msg = describe(e)
            XCTAssert(msg.contains(field), "error '\(msg)' does not name \(field)", file: file, line: line)
            XCTAssertFalse(msg.contains("\n"), "error must be one line: \(msg)", file: file, line: line)
        }
    }

    func testValidFileLoadsWithDefaultsAndNullAsMinusInfinity() throws {
        let m = try decode(validMDPText)
        XCTAssertEqual(m.vocabSize, 2); XCTAssertEqual(m.eos, 1); XCTAssertEqual(m.numLatent, 2)
        XCTAssertEqual(m.reward(0, 1), -.infinity)
        XCTAssertEqual(m.prompts[0].tokens, [1, 0]); XCTAssertEqual(m.prompts[0].weight, 2)
        XCTAssertEqual(m.prompts[1].tokens, []); XCTAssertEqual(m.prompts[1].weight, 1)
        XCTAssertEqual(m.prompts[1].split, .test)
    }

    func testEncodeThenDecodeRoundTripsExactly() throws {
        let m = try decode(validMDPText)
        let again = try TokenMDP.decode(json: m.encodeJSON())
        XCTAssertEqual(again.encodeJSON(), m.encodeJSON())
        XCTAssertEqual(again.rewards.map(\.description), m.rewards.map(\.description))
        let r = randomMDP(seed: 4)
        XCTAssertEqual(try TokenMDP.decode(json: r.encodeJSON()).rewards, r.rewards)
    }

    func testOutOfRangeTransitionIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0, 1], [1, 1]]", with: "[[0, 1], [1, 2]]"), naming: "transitions[1][1]")
    }
    func testNegativeTransitionIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0, 1], [1, 1]]", with: "[[0, -1], [1, 1]]"), naming: "transitions[0][1]")
    }
    func testWrongRowLengthIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0.5, null], [1, 0]]", with: "[[0.5, null], [1]]"), naming: "rewards[1]")
    }
    func testWrongRowCountIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0, 1], [1, 1]]", with: "[[0, 1]]"), naming: "transitions")
    }
    func testNonNumericRewardIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0.5, null]", with: "[[\"x\", null]"), naming: "rewards[0][0]")
    }
    func testFractionalTransitionIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0, 1], [1, 1]]", with: "[[0, 1.5], [1, 1]]"), naming: "transitions[0][1]")
    }
    func testMissingFieldIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"terminal_rewards\": [0, 2],", with: ""), naming: "terminal_rewards")
    }
    func testNonPositiveHorizonIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"horizon\": 3", with: "\"horizon\": 0"), naming: "horizon")
        assertRejected(validMDPText.replacingOccurrences(of: "\"horizon\": 3", with: "\"horizon\": -4"), naming: "horizon")
    }
    func testHugeHorizonIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"horizon\": 3", with: "\"horizon\": 99999999999999999999"), naming: "horizon")
    }
    func testZeroVocabIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"vocab_size\": 2", with: "\"vocab_size\": 0"), naming: "vocab_size")
    }
    func testPromptLatentOutOfRangeIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "{\"latent\": 1, \"split\"", with: "{\"latent\": 5, \"split\""), naming: "prompts[1].latent")
    }
    func testPromptTokenOutOfRangeIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"tokens\": [1, 0]", with: "\"tokens\": [1, 7]"), naming: "prompts[0].tokens[1]")
    }
    func testBadSplitIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"split\": \"test\"", with: "\"split\": \"dev\""), naming: "prompts[1].split")
    }
    func testNegativeWeightIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"weight\": 2", with: "\"weight\": -1"), naming: "prompts[0].weight")
    }
    func testTruncatedJSONIsRejectedWithLine() {
        assertRejected(String(validMDPText.prefix(120)), naming: "line")
    }
    func testEOSOutOfRangeIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"eos\": 1", with: "\"eos\": 2"), naming: "eos")
    }
    func testAllForbiddenRowIsRejectedAtLoad() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0.5, null]", with: "[[null, null]"), naming: "rewards[0]")
    }
    func testNullTerminalRewardIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[0, 2]", with: "[0, null]"), naming: "terminal_rewards[1]")
    }
    func testOverflowingNumberIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "[[0.5, null]", with: "[[1e999, null]"), naming: "rewards[0][0]")
    }
    func testUnknownKeyIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "\"horizon\": 3", with: "\"horizon\": 3, \"gamma\": 1"), naming: "gamma")
    }
    func testWrongFormatTagIsRejected() {
        assertRejected(validMDPText.replacingOccurrences(of: "tokenmdp/v1", with: "tokenmdp/v2"), naming: "format")
    }
    func testEmptyPromptListIsRejected() {
        let s = validMDPText.components(separatedBy: "\"prompts\":")[0] + "\"prompts\": []}"
        assertRejected(s, naming: "prompts")
    }
    func testRootMustBeAnObject() { assertRejected("[1, 2]", naming: "root") }

    func testMissingFileIsAReadableError() {
        XCTAssertThrowsError(try TokenMDP.load(contentsOf: URL(fileURLWithPath: "/nonexistent/mdp.json"))) { e in
            XCTAssert(describe(e).contains("/nonexistent/mdp.json"))
        }
    }
}

final class RolloutTests: XCTestCase {
    /// Hand case on `validMDPText`: from q=0, token 0 pays 0.5 and stays; EOS (1)
    /// is forbidden in q=0. Horizon 3: y = 0 0 0 → G = 1.5 + R_T(0) = 1.5.
    func testHorizonEndsTheEpisodeAndPaysTerminalReward() throws {
        let m = try TokenMDP.decode(json: Data(validMDPText.utf8))
        let r = try m.rollout(prompt: 0, tokens: [0, 0, 0])
        XCTAssert(r.complete); XCTAssertEqual(r.return_, 1.5); XCTAssertEqual(r.latents, [0, 0, 0, 0])
    }

    /// From q=1 (prompt 1), EOS at t=0 pays r(1,1)=0 and R_T(1)=2 and ends.
    func testEOSEndsTheEpisodeEarly() throws {
        let m = try TokenMDP.decode(json: Data(validMDPText.utf8))
        let r = try m.rollout(prompt: 1, tokens: [1])
        XCTAssert(r.complete); XCTAssertEqual(r.return_, 2)
        XCTAssertThrowsError(try m.rollout(prompt: 1, tokens: [1, 0]))
    }

    func testForbiddenTokenGivesMinusInfinityReturn() throws {
        let m = try TokenMDP.decode(json: Data(validMDPText.utf8))
        XCTAssertEqual(try m.rollout(prompt: 0, tokens: [1]).return_, -.infinity)
    }

    func testBadResponsesAreErrorsNotTraps() throws {
        let m = try TokenMDP.decode(json: Data(validMDPText.utf8))
        XCTAssertThrowsError(try m.rollout(prompt: 0, tokens: [0, 0, 0, 0]))
        XCTAssertThrowsError(try m.rollout(prompt: 0, tokens: [5]))
        XCTAssertThrowsError(try m.rollout(prompt: 9, tokens: [0]))
    }
}

final class MDPMagnitudeTests: XCTestCase {
    /// Found by the fuzzer: finite rewards of 1e308 overflow to ∞ over a
    /// horizon, so their size is bounded at load time.
    func testRewardsThatCouldOverflowAReturnAreRejected() {
        let s = validMDPText.replacingOccurrences(of: "[[0.5, null]", with: "[[1e308, null]")
        XCTAssertThrowsError(try TokenMDP.decode(json: Data(s.utf8))) { XCTAssert(describe($0).contains("rewards")) }
    }
}
