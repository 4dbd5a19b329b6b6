import XCTest
import TokenMDP
import _TestSupport

/// Expert demonstrations (SPEC §2.4): sampling, filtering, JSONL round trip
/// and every validation rule of the file format.
final class DemonstrationTests: XCTestCase {
    /// A 3-prompt MDP whose last prompt is a test prompt.
    private func mdp(seed: UInt64 = 3) -> TokenMDP { randomMDP(seed: seed, S: 5, V: 3, H: 4, eos: true, forbidden: 0, prompts: 3) }

    func testSamplerIsDeterministicTrainOnlyInPromptOrderAndComplete() throws {
        let m = mdp()
        var r1 = SplitMix64(seed: 11, stream: "data"), r2 = SplitMix64(seed: 11, stream: "data")
        let a = try DemonstrationSampler(demosPerPrompt: 5).sample(mdp: m, betaExpert: 0.8, rng: &r1)
        let b = try DemonstrationSampler(demosPerPrompt: 5).sample(mdp: m, betaExpert: 0.8, rng: &r2)
        XCTAssertEqual(a, b, "same seed 11 must give the same demonstrations")
        XCTAssertEqual(a.demonstrations.map(\.prompt), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], "train prompts 0, 1 in order; test prompt 2 never")
        XCTAssertNoThrow(try a.validate(against: m))
        var r3 = SplitMix64(seed: 12, stream: "data")
        XCTAssertNotEqual(a, try DemonstrationSampler(demosPerPrompt: 5).sample(mdp: m, betaExpert: 0.8, rng: &r3))
    }

    func testSamplerWithZeroDemosPerPromptReturnsNothing() throws {
        var rng = SplitMix64(seed: 1)
        XCTAssertEqual(try DemonstrationSampler(demosPerPrompt: 0).sample(mdp: mdp(), betaExpert: 1, rng: &rng).demonstrations, [])
    }

    func testSamplerFrequenciesFollowExpertPolicyAtRoot() throws {
        // 4000 draws at the root of prompt 0: empirical frequencies within 4σ of π*.
        let m = mdp(seed: 5)
        var rng = SplitMix64(seed: 7, stream: "data")
        let sol = try SoftValueIteration.solve(m, beta: 1)
        let set = try DemonstrationSampler(demosPerPrompt: 4000).sample(expert: sol, oracle: nil, rng: &rng)
        let first = set.demonstrations.filter { $0.prompt == 0 }.map { $0.tokens[0] }
        for a in 0..<m.vocabSize {
            let p = Foundation.exp(sol.logPolicy(0, m.prompts[0].latent, a))
            let f = Double(first.filter { $0 == a }.count) / Double(first.count)
            XCTAssertLessThan(abs(f - p), 4 * (p * (1 - p) / Double(first.count)).squareRoot() + 1e-9, "token \(a), seed 7")
        }
    }

    func testCorrectFilterKeepsOnlyCorrectResponses() throws {
        var p = ReasoningChainParams()
        p.prompts = 3; p.vocab = 5; p.chainLength = 2; p.horizon = 4
        let m = try MDPGenerator.reasoningChain(p).generate(seed: 2)
        var rng = SplitMix64(seed: 4, stream: "data")
        let set = try DemonstrationSampler(demosPerPrompt: 6, filter: .correct).sample(mdp: m, betaExpert: 0.3, rng: &rng)
        XCTAssertEqual(set.demonstrations.count, 18)
        let oracle = try SoftValueIteration.solve(m, beta: 0)
        for d in set.demonstrations {
            let r = try m.rollout(prompt: d.prompt, tokens: d.tokens)
            XCTAssertTrue(m.isCorrect(finalLatent: r.finalLatent, return: r.return_, optimalReturn: oracle.rootValue(prompt: d.prompt)), "\(d)")
        }
    }

    func testCorrectFilterThrowsWhenTheExpertAlmostNeverSucceeds() throws {
        // Chain of 6 steps, 1 correct of 15 tokens, mostly traps, β = 50: success ≈ (1/16)^6.
        var p = ReasoningChainParams()
        p.prompts = 1; p.vocab = 16; p.chainLength = 6; p.horizon = 6; p.trapFraction = 0.9
        let m = try MDPGenerator.reasoningChain(p).generate(seed: 1)
        var rng = SplitMix64(seed: 1, stream: "data")
        XCTAssertThrowsError(try DemonstrationSampler(demosPerPrompt: 2, filter: .correct, maxAttemptsPerDemo: 50)
            .sample(mdp: m, betaExpert: 50, rng: &rng)) { e in
            XCTAssertTrue("\(e)".contains("almost never succeeds"), "\(e)")
        }
    }

    func testUniformNoiseChangesTheDataAndFullNoiseIsUniformAtRoot() throws {
        let m = mdp(seed: 8)
        let sol = try SoftValueIteration.solve(m, beta: 0.2)
        var rng = SplitMix64(seed: 2, stream: "data")
        let set = try DemonstrationSampler(demosPerPrompt: 3000, epsilon: 1).sample(expert: sol, oracle: nil, rng: &rng)
        let first = set.demonstrations.filter { $0.prompt == 0 }.map { $0.tokens[0] }
        for a in 0..<3 {
            let f = Double(first.filter { $0 == a }.count) / Double(first.count)
            XCTAssertLessThan(abs(f - 1.0 / 3), 0.04, "token \(a): ε = 1 must be uniform (seed 2)")
        }
        XCTAssertThrowsError(try DemonstrationSampler(demosPerPrompt: 1, epsilon: 1.5).sample(expert: sol, oracle: nil, rng: &rng))
    }

    func testJSONLRoundTripIsExact() throws {
        let m = mdp()
        var rng = SplitMix64(seed: 9)
        let set = try DemonstrationSampler(demosPerPrompt: 7).sample(mdp: m, betaExpert: 1, rng: &rng)
        let text = set.jsonl()
        XCTAssertTrue(text.hasPrefix("{\"prompt\": 0, \"tokens\": ["))
        XCTAssertEqual(try DemonstrationSet.parseJSONL(text, mdp: m), set)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tokenmdp-demos-\(getpid()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try set.write(to: url)
        XCTAssertEqual(try DemonstrationSet.load(contentsOf: url, mdp: m), set)
    }

    func testJSONLErrorsNameTheLineAndTheField() {
        // V = 3, H = 4, EOS = 2; prompts 0, 1 train, 2 test.
        let m = mdp()
        let cases: [(String, String)] = [
            ("{\"prompt\": 0, \"tokens\": [0, 1, 0, 1]}\n{\"prompt\": 5, \"tokens\": [2]}", "line 2: prompt"),
            ("{\"prompt\": 2, \"tokens\": [2]}", "line 1: prompt"),                  // test prompt
            ("{\"prompt\": 0, \"tokens\": []}", "line 1: tokens"),                   // empty
            ("{\"prompt\": 0, \"tokens\": [0, 1, 0, 1, 2]}", "line 1: tokens"),      // longer than H
            ("\n{\"prompt\": 0, \"tokens\": [0, 7, 2]}", "line 2: tokens[1]"),       // out of range (blank line skipped)
            ("{\"prompt\": 0, \"tokens\": [0, -1, 2]}", "line 1: tokens[1]"),
            ("{\"prompt\": 0, \"tokens\": [2, 1]}", "line 1: tokens[0]"),           // EOS not last
            ("{\"prompt\": 0, \"tokens\": [0, 1]}", "line 1: tokens"),               // incomplete
            ("{\"prompt\": 0.5, \"tokens\": [2]}", "line 1: prompt"),                // not an integer
            ("{\"prompt\": 0, \"tokens\": [1.5]}", "line 1: tokens[0]"),
            ("{\"prompt\": 0}", "line 1: tokens"),                                   // missing
            ("{\"prompt\": 0, \"tokens\": [2], \"token\": 1}", "line 1: token"),      // unknown key
            ("[0, 2]", "line 1"),                                                    // not an object
            ("{\"prompt\": 0, \"tokens\": [2]", "line 1"),                           // bad JSON
        ]
        for (text, field) in cases {
            XCTAssertThrowsError(try DemonstrationSet.parseJSONL(text, mdp: m), text) { e in
                guard case let TokenMDPError.invalid(f, message) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(f, field, "\(text): \(message)")
            }
        }
        XCTAssertThrowsError(try DemonstrationSet.parseJSONL("{\"prompt\": 9, \"tokens\": [2]}", mdp: m, source: "d.jsonl")) { e in
            XCTAssertTrue("\(e)".hasPrefix("d.jsonl:1: prompt"), "\(e)")
        }
    }

    func testCompleteResponsesRecoverTheDemonstrationMultiset() throws {
        let m = mdp()
        var rng = SplitMix64(seed: 21)
        let set = try DemonstrationSampler(demosPerPrompt: 30).sample(mdp: m, betaExpert: 1, rng: &rng)
        let trie = set.trie(mdp: m)
        var expected: [String: Double] = [:]
        for d in set.demonstrations { expected["\(d.prompt):\(d.tokens)", default: 0] += 1 }
        var got: [String: Double] = [:]
        for (d, c) in trie.completeResponses(mdp: m) { got["\(d.prompt):\(d.tokens)", default: 0] += c }
        XCTAssertEqual(got, expected)
    }

    func testPrefixStatesOfTrieNodesMatchStatesReachedByDecoding() throws {
        let m = mdp()
        var rng = SplitMix64(seed: 22)
        let set = try DemonstrationSampler(demosPerPrompt: 10).sample(mdp: m, betaExpert: 1, rng: &rng)
        let trie = set.trie(mdp: m)
        let states = trie.prefixStates(mdp: m)
        for node in 0..<trie.nodeCount {
            var s = PrefixState.root(prompt: Int(trie.promptOf[node]), mdp: m)
            for a in trie.tokens(to: node) { s = s.child(a, mdp: m, trie: trie) }
            XCTAssertEqual(states[node], s, "node \(node)")
            XCTAssertEqual(Int(s.node), node)
        }
    }
}
