import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// Decoding, validation, overrides and sweep expansion of experiment configs
/// (SPEC §3.1).
final class ConfigTests: XCTestCase {
    let here = URL(fileURLWithPath: "/tmp/configs")

    func parse(_ yaml: String, overrides: [String] = []) throws -> ExperimentConfig {
        try ExperimentConfig.parse(yaml: yaml, baseDirectory: here, overrides: overrides)
    }

    func plan(_ yaml: String, overrides: [String] = []) throws -> ExperimentPlan {
        try ExperimentPlan.parse(yaml: yaml, baseDirectory: here, overrides: overrides)
    }

    // MARK: Defaults

    func testMinimalConfigGetsEveryDocumentedDefault() throws {
        let c = try parse("name: m\nmdp: {beta: 0.5}\n")
        XCTAssertEqual(c.seeds, [0])
        XCTAssertEqual(c.mdp.source, .generator(.reasoningChain(ReasoningChainParams())))
        XCTAssertNil(c.mdp.seed)
        XCTAssertEqual(c.expert.demosPerPrompt, 8)
        XCTAssertEqual(c.expertBeta, 0.5, "expert.beta defaults to mdp.beta")
        XCTAssertEqual(c.expert.filter, .none)
        XCTAssertEqual(c.expert.epsilon, 0)
        XCTAssertEqual(c.expert.expertGapSamples, 64)
        XCTAssertEqual(c.prior.kind, .noisyOracle)
        XCTAssertEqual(c.prior.sigma, 1)
        XCTAssertEqual(c.prior.scale, 1)
        XCTAssertEqual(c.learners.map(\.name), ["sft", "soc"])
        XCTAssertEqual(c.learners.map(\.lambda), [0, 0.2])
        XCTAssertEqual(c.learners, [LearnerSpec(name: "sft"), LearnerSpec(name: "soc", lambda: 0.2)])
        XCTAssertEqual(c.decoders, [.beam(widths: [1, 2, 4, 8], lengthNormalize: false)])
        XCTAssertEqual(c.sweep, [])
        XCTAssertFalse(c.stepsCSV)
        XCTAssertEqual(c.outputDirectory.lastPathComponent, "m")
        XCTAssertEqual(c.outputDirectory.deletingLastPathComponent().lastPathComponent, "results")
    }

    func testLearnerEntriesAreLearnerSpecs() throws {
        let c = try parse("name: m\nmdp: {beta: 0.5}\nlearners: [{name: lin, param: linear, training: gradient, steps: 50, features: [bias, ngram:2:64]}]\n")
        XCTAssertEqual(c.learners, [LearnerSpec(name: "lin", param: .linear, training: .gradient, steps: 50,
                                                features: [.bias, .hashedNGram(n: 2, buckets: 64)])])
        assertConfigError(key: "learners[0].features", line: 3, messageContains: "unknown feature") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\nlearners: [{name: lin, param: linear, features: [colour]}]\n")
        }
        assertConfigError(key: "learners[0].param", messageContains: "not one of: tabular, linear") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\nlearners: [{name: x, param: deep}]\n")
        }
    }

    func testResolvedYAMLFillsDefaultsAndRoundTrips() throws {
        let c = try parse("name: m\nmdp: {beta: 0.5}\nsweep: {learners.soc.lambda: [0.1, 0.3]}\n")
        let text = c.resolvedYAML()
        XCTAssert(text.contains("tool_version: \(TokenMDPVersion.string)"))
        for key in ["demos_per_prompt: 8", "expert_gap_samples: 64", "trap_fraction: 0.25", "training: exact",
                    "weight_decay: 0.001", "optimizer: adam", "features: [bias, position-x-prev, prompt-token-x-prev]", "learners.soc.lambda: [0.1, 0.3]", "steps_csv: false"] {
            XCTAssert(text.contains(key), "resolved config lacks '\(key)':\n\(text)")
        }
        let again = try parse(text)
        XCTAssertEqual(again.resolvedYAML(), text, "a resolved config must load back to itself")
    }

    // MARK: Strict keys, types, ranges

    func testUnknownRootKeyIsAnErrorNamingTheKeyAndLine() {
        assertConfigError(key: "sedes", line: 2, messageContains: "unknown key") {
            _ = try parse("name: m\nsedes: [0]\nmdp: {beta: 0.5}\n")
        }
    }

    func testUnknownNestedKeyIsAnErrorNamingThePath() {
        let yaml = """
        name: m
        mdp: {beta: 0.5}
        learners:
          - {name: sft}
          - name: soc
            lamda: 0.2
        """
        assertConfigError(key: "learners[1].lamda", line: 6, messageContains: "unknown key") { _ = try parse(yaml) }
    }

    func testGeneratorKeysDependOnTheKind() {
        assertConfigError(key: "mdp.base", line: 2) { _ = try parse("name: m\nmdp: {kind: reasoning-chain, base: 5, beta: 0.5}\n") }
        XCTAssertNoThrow(try parse("name: m\nmdp: {kind: arithmetic-chain, base: 5, beta: 0.5}\n"))
        assertConfigError(key: "mdp.kind", messageContains: "not one of") { _ = try parse("name: m\nmdp: {kind: maze, beta: 0.5}\n") }
    }

    func testKindAndFileAreExclusive() {
        assertConfigError(key: "mdp.file", messageContains: "not both") {
            _ = try parse("name: m\nmdp: {kind: tree, file: x.json, beta: 0.5}\n")
        }
    }

    func testWrongTypeNamesTheKeyTheLineAndTheValue() {
        let e = assertConfigError(key: "mdp.beta", line: 4, messageContains: "expected a number") {
            _ = try parse("name: m\nmdp:\n  kind: tree\n  beta: warm\n")
        }
        XCTAssert(e?.message.contains("warm") ?? false)
        assertConfigError(key: "expert.demos_per_prompt", messageContains: "integer") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\nexpert: {demos_per_prompt: 2.5}\n")
        }
        assertConfigError(key: "learners", messageContains: "list") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\nlearners: {name: sft}\n")
        }
    }

    func testOutOfRangeValuesNameTheKeyAndLine() {
        assertConfigError(key: "learners[0].lambda", line: 3, messageContains: "[0, 1)") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\nlearners: [{name: a, lambda: 1.5}]\n")
        }
        assertConfigError(key: "mdp.beta", messageContains: "> 0") { _ = try parse("name: m\nmdp: {beta: 0}\n") }
        assertConfigError(key: "mdp.beta", messageContains: "missing") { _ = try parse("name: m\n") }
        assertConfigError(key: "seeds[1]", messageContains: "non-negative") { _ = try parse("name: m\nseeds: [0, -3]\nmdp: {beta: 1}\n") }
        assertConfigError(key: "decoders[0].widths[1]") { _ = try parse("name: m\nmdp: {beta: 1}\ndecoders: [{kind: beam, widths: [1, 0]}]\n") }
        assertConfigError(key: "name", messageContains: "missing") { _ = try parse("mdp: {beta: 1}\n") }
    }

    func testLearnerNamesMustBeUnique() {
        assertConfigError(key: "learners[1].name", messageContains: "twice") {
            _ = try parse("name: m\nmdp: {beta: 1}\nlearners: [{name: a}, {name: a}]\n")
        }
    }

    func testExactSOCWithoutWeightDecayIsRefused() {
        assertConfigError(key: "learners[0].weight_decay", messageContains: "no minimiser") {
            _ = try parse("name: m\nmdp: {beta: 1}\nlearners: [{name: soc, lambda: 0.2, weight_decay: 0}]\n")
        }
    }

    func testDuplicateKeysAreRefused() {
        assertConfigError(key: "beta", line: 3, messageContains: "duplicate") {
            _ = try parse("name: m\nmdp:\n  beta: 1\n  beta: 2\n")
        }
    }

    func testEnumValuesListTheChoices() {
        assertConfigError(key: "expert.filter", messageContains: "none, correct") {
            _ = try parse("name: m\nmdp: {beta: 1}\nexpert: {filter: best}\n")
        }
    }

    func testDemosFileExcludesSamplingKeys() {
        assertConfigError(key: "expert.demos_per_prompt", messageContains: "demos_file") {
            _ = try parse("name: m\nmdp: {beta: 1}\nexpert: {demos_file: d.jsonl, demos_per_prompt: 3}\n")
        }
    }

    func testGeneratorParameterErrorsNameTheMDPKey() throws {
        // Checked while planning (from the parameters, nothing allocated), with the line.
        assertConfigError(key: "mdp.correct_per_step", line: 3) { _ = try plan("name: m\nmdp:\n  correct_per_step: 9\n  beta: 1\n") }
    }

    // MARK: Paths

    func testRelativePathsResolveAgainstTheConfigFolder() throws {
        let c = try parse("name: m\nmdp: {file: mdps/a.json, beta: 1}\nexpert: {demos_file: ../d.jsonl}\noutput: out/here\n")
        XCTAssertEqual(c.mdp.source, .file("/tmp/configs/mdps/a.json"))
        XCTAssertEqual(c.expert.demosFile, "/tmp/d.jsonl")
        XCTAssertEqual(c.outputDirectory.path, "/tmp/configs/out/here")
        let abs = try parse("name: m\nmdp: {file: /data/a.json, beta: 1}\n")
        XCTAssertEqual(abs.mdp.source, .file("/data/a.json"))
    }

    // MARK: --set

    func testSetOverridesScalarsListsAndMissingBlocks() throws {
        let c = try parse("name: m\nmdp: {beta: 0.5}\n",
                          overrides: ["mdp.beta=0.25", "seeds=[3, 4]", "prior.sigma=2", "expert.filter=correct", "steps_csv=true"])
        XCTAssertEqual(c.mdp.beta, 0.25)
        XCTAssertEqual(c.seeds, [3, 4])
        XCTAssertEqual(c.prior.sigma, 2)
        XCTAssertEqual(c.expert.filter, .correct)
        XCTAssertTrue(c.stepsCSV)
    }

    func testSetSelectsListElementsByNameKindOrIndex() throws {
        let c = try parse("name: m\nmdp: {beta: 0.5}\ndecoders: [{kind: greedy}, {kind: beam, widths: [1]}]\n",
                          overrides: ["learners.soc.lambda=0.3", "decoders.beam.widths=[2, 4]", "decoders.0.kind=oracle"])
        XCTAssertEqual(c.learners.map(\.lambda), [0, 0.3], "learners.soc works on the default learner list")
        XCTAssertEqual(c.decoders, [.oracle, .beam(widths: [2, 4], lengthNormalize: false)])
    }

    func testSetErrors() {
        assertConfigError(key: "learners.sac", messageContains: "no element named 'sac'") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\n", overrides: ["learners.sac.lambda=0.3"])
        }
        assertConfigError(key: "mdp.betta", messageContains: "unknown key") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\n", overrides: ["mdp.betta=0.3"])
        }
        assertConfigError(key: "mdp.beta", messageContains: "expected a single value, got [1]") {
            _ = try parse("name: m\nmdp: {beta: 0.5}\n", overrides: ["mdp.beta=[1]"])
        }
    }

    func testSetCanAddASweepAxis() throws {
        let p = try plan("name: m\nmdp: {beta: 0.5}\n", overrides: ["sweep.prior.sigma=[0.5, 1, 2]"])
        XCTAssertEqual(p.cells.map(\.config.prior.sigma), [0.5, 1, 2])
    }

    // MARK: Sweeps

    func testSweepIsTheCartesianProductInKeyOrderFirstKeySlowest() throws {
        let p = try plan("""
        name: m
        seeds: [0, 1, 2]
        mdp: {beta: 0.5}
        sweep:
          prior.sigma: [0.5, 1.0]
          expert.demos_per_prompt: [1, 4, 16]
        """)
        XCTAssertEqual(p.sweepKeys, ["prior.sigma", "expert.demos_per_prompt"])
        XCTAssertEqual(p.cells.count, 6)
        XCTAssertEqual(p.cells.map(\.config.prior.sigma), [0.5, 0.5, 0.5, 1, 1, 1])
        XCTAssertEqual(p.cells.map(\.config.expert.demosPerPrompt), [1, 4, 16, 1, 4, 16])
        XCTAssertEqual(p.cells[4].label, "prior.sigma=1.0, expert.demos_per_prompt=4")
        XCTAssertEqual(p.jobCount, 18)
        XCTAssertEqual(p.job(7), Job(index: 7, cell: 2, seed: 1))
    }

    func testSweepSelectsTheLearnerByName() throws {
        let p = try plan("""
        name: m
        mdp: {beta: 0.5}
        learners:
          - {name: sft, lambda: 0.0}
          - {name: soc, lambda: 0.2}
        sweep: {learners.soc.lambda: [0.0, 0.1, 0.3]}
        """)
        XCTAssertEqual(p.cells.map { $0.config.learners.map(\.lambda) }, [[0, 0], [0, 0.1], [0, 0.3]])
        XCTAssertEqual(p.cells.map { $0.assignments.map(\.value) }, [["0.0"], ["0.1"], ["0.3"]])
    }

    func testBadSweepValueNamesTheSweepKeyCellAndLine() {
        let yaml = "name: m\nmdp: {beta: 0.5}\nsweep:\n  learners.soc.lambda: [0.1,\n    1.5]\n"
        let e = assertConfigError(key: "learners[1].lambda", line: 5) { _ = try plan(yaml) }
        XCTAssert(e?.message.contains("sweep cell 1") ?? false, "\(String(describing: e))")
        assertConfigError(key: "sweep.learners.sac.lambda", line: 3, messageContains: "no element named") {
            _ = try plan("name: m\nmdp: {beta: 0.5}\nsweep: {learners.sac.lambda: [0.1]}\n")
        }
        assertConfigError(key: "sweep.seeds", messageContains: "cannot be swept") {
            _ = try plan("name: m\nmdp: {beta: 0.5}\nsweep: {seeds: [[0], [1]]}\n")
        }
        assertConfigError(key: "sweep.prior.sigma", messageContains: "non-empty list") {
            _ = try plan("name: m\nmdp: {beta: 0.5}\nsweep: {prior.sigma: 2}\n")
        }
    }

    func testConfigPathParsesDotsIndicesAndBrackets() throws {
        XCTAssertEqual(try ConfigPath(parsing: "learners[1].lambda").components, ["learners", "1", "lambda"])
        XCTAssertEqual(try ConfigPath(parsing: "decoders.0.widths").components, ["decoders", "0", "widths"])
        XCTAssertThrowsError(try ConfigPath(parsing: "a..b"))
    }

    func testTheShippedConfigsAreValid() throws {
        for name in ["default", "smoke"] {
            let p = try ExperimentPlan.load(contentsOf: packageRoot.appendingPathComponent("configs/\(name).yaml"))
            XCTAssertNoThrow(try p.checkMDPs(), name)
        }
    }
}
