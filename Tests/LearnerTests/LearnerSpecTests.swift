import XCTest
import TokenMDP
import _TestSupport

/// The learner factory the experiment runner calls.
final class LearnerSpecTests: XCTestCase {
    private func decode(_ json: String) throws -> LearnerSpec {
        try JSONDecoder().decode(LearnerSpec.self, from: Data(json.utf8))
    }

    func testSpecDecodesSnakeCaseKeysWithDefaultsAndRejectsUnknownKeys() throws {
        let s = try decode(#"{"name": "soc", "lambda": 0.2, "weight_decay": 0.01, "features": ["bias", "ngram:2:64"], "ood": "optimistic", "label_smoothing": 0.1}"#)
        XCTAssertEqual(s.name, "soc"); XCTAssertEqual(s.param, .tabular); XCTAssertEqual(s.lambda, 0.2)
        XCTAssertEqual(s.weightDecay, 0.01); XCTAssertEqual(s.training, .exact)
        XCTAssertEqual(s.features, [.bias, .hashedNGram(n: 2, buckets: 64)]); XCTAssertEqual(s.ood, .optimistic)
        XCTAssertEqual(s.labelSmoothing, 0.1)
        XCTAssertEqual(try decode(#"{"name": "q", "param": "offline-soft-q"}"#).param, .offlineSoftQ)
        XCTAssertThrowsError(try decode(#"{"name": "x", "lamda": 0.2}"#)) { e in XCTAssertTrue("\(e)".contains("lamda"), "\(e)") }
        XCTAssertThrowsError(try decode(#"{"name": "x", "features": ["nope"]}"#))
        // Round trip.
        XCTAssertEqual(try JSONDecoder().decode(LearnerSpec.self, from: try JSONEncoder().encode(s)), s)
    }

    func testFitBuildsEveryParametrisationAndNamesTheLearnerInErrors() throws {
        let mdp = randomMDP(seed: 2, S: 5, V: 3, H: 3, eos: true, forbidden: 0, prompts: 3)
        let sol = try SoftValueIteration.solve(mdp, beta: 0.5)
        let prior = try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: 2)
        var rng = SplitMix64(seed: 2, stream: "data")
        let trie = try DemonstrationSampler(demosPerPrompt: 5).sample(expert: sol, oracle: nil, rng: &rng).trie(mdp: mdp)
        let specs: [(LearnerSpec, Any.Type)] = [
            (LearnerSpec(name: "sft"), TabularLearner.self),
            (LearnerSpec(name: "soc", lambda: 0.2, training: .gradient, steps: 10), TabularLearner.self),
            (LearnerSpec(name: "lin", param: .linear, training: .gradient, steps: 10), LinearLearner.self),
            (LearnerSpec(name: "lin-exact", param: .linear, weightDecay: 1, features: [.bias, .position]), LinearLearner.self),
            (LearnerSpec(name: "oq", param: .offlineSoftQ, ood: .prior), OfflineSoftQ.self),
            (LearnerSpec(name: "iq", param: .inverseSoftQ, weightDecay: 1), InverseSoftQ.self),
        ]
        let root = PrefixState.root(prompt: 0, mdp: mdp)
        for (spec, type) in specs {
            let model = try spec.fit(mdp: mdp, trie: trie, prior: prior, solution: sol)
            XCTAssertTrue(Swift.type(of: model) == type, spec.name)
            XCTAssertEqual(model.vocabSize, 3)
            XCTAssertTrue(model.logits(root).allSatisfy { $0.isFinite }, spec.name)
        }
        XCTAssertThrowsError(try fit(LearnerSpec(name: "bad", lambda: 1.2), mdp: mdp, trie: trie, prior: prior, solution: sol)) { e in
            XCTAssertTrue("\(e)".hasPrefix("learners.bad.lambda:"), "\(e)")
        }
        XCTAssertThrowsError(try fit(LearnerSpec(name: "soc0", lambda: 0.2, weightDecay: 0), mdp: mdp, trie: trie, prior: prior, solution: sol)) { e in
            XCTAssertTrue("\(e)".hasPrefix("learners.soc0.weight_decay:"), "\(e)")
        }
    }
}
