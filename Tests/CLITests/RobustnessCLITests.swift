import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// Every bad input the command line can receive (issue "Robustness"), one
/// test per case: the exit status (2 for usage, configuration and input
/// files; 1 for runtime failures), a single-line message on stderr that
/// names the file, field or option and what was expected, nothing on
/// stdout, and never a trap (a trap exits with a signal, ≥ 128 or < 0).
final class RobustnessCLITests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = makeTemporaryDirectory("robust") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    var smoke: String { packageRoot.appendingPathComponent("configs/smoke.yaml").path }

    func tokenmdp(_ args: [String]) throws -> CLIResult { try runTokenMDP(args, cwd: tmp) }

    /// Runs `args` and asserts exit `code`, an `error:` line on stderr that
    /// contains every string of `mentions`, and (for `error:` messages) one line.
    @discardableResult
    func expectFailure(_ args: [String], code: Int32 = 2, mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try tokenmdp(args)
        XCTAssertEqual(r.code, code, "exit status; stderr: \(r.stderr)", file: file, line: line)
        for m in mentions { XCTAssert(r.stderr.contains(m), "stderr lacks '\(m)':\n\(r.stderr)", file: file, line: line) }
        if r.stderr.hasPrefix("error: ") {
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line:\n\(r.stderr)", file: file, line: line)
        }
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
        return r.stderr
    }

    func write(_ text: String, _ name: String) throws -> String {
        let url = tmp.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    var out: String { tmp.appendingPathComponent("out").path }

    // MARK: Config values (exit 2, key and line)

    func testVocabZero() throws {
        try expectFailure(["run", smoke, "--out", out, "--set", "mdp.vocab=0"], mentions: ["mdp.vocab", "must be in 2...65535", "got 0"])
    }
    func testNegativeBeamWidth() throws {
        try expectFailure(["run", smoke, "--out", out, "--set", "decoders.0.widths=[2, -1]"], mentions: ["smoke.yaml:23", "decoders[0].widths[1]", "got -1"])
    }
    func testHugeBeamWidth() throws {
        try expectFailure(["validate", smoke, "--set", "decoders.0.widths=[4294967296]"], mentions: ["decoders[0].widths[0]", "1...1048576"])
    }
    func testBeamNodesBeyond32BitIndices() throws {
        try expectFailure(["validate", smoke, "--set", "decoders.0.widths=[1048576]", "--set", "mdp.horizon=3000"],
                          mentions: ["decoders[0].widths[0]", "32-bit"])
    }
    func testTrieNodesBeyond32BitIndices() throws {
        try expectFailure(["validate", smoke, "--set", "expert.demos_per_prompt=10000000", "--set", "mdp.prompts=100"],
                          mentions: ["expert.demos_per_prompt", "32-bit"])
    }
    func testSampleCountZero() throws {
        try expectFailure(["validate", smoke, "--set", "decoders=[{kind: sample, n: 0}]"], mentions: ["decoders[0].n", "got 0"])
    }
    func testNegativeBeta() throws {
        try expectFailure(["run", smoke, "--out", out, "--set", "mdp.beta=-0.5"], mentions: ["smoke.yaml:12", "mdp.beta", "got -0.5"])
    }
    func testSubnormalBetaWouldGiveNaN() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.beta=5e-324"], mentions: ["mdp.beta", "[1e-300, 1e+300]"])
    }
    func testNaNBeta() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.beta=.nan"], mentions: ["mdp.beta", "got nan"])
    }
    func testTinyExpertBeta() throws {
        try expectFailure(["validate", smoke, "--set", "expert.beta=1e-320"], mentions: ["expert.beta", "> 0"])
    }
    func testLambdaOneWithExactTraining() throws {
        try expectFailure(["run", smoke, "--out", out, "--set", "learners.soc.lambda=1"], mentions: ["smoke.yaml:21", "learners[1].lambda", "[0, 1)"])
    }
    func testExactSOCWithoutWeightDecay() throws {
        try expectFailure(["validate", smoke, "--set", "learners.soc.weight_decay=0"], mentions: ["learners[1].weight_decay", "μ > 0"])
    }
    func testHorizonThatOverflowsAnInteger() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.horizon=99999999999999999999"], mentions: ["mdp.horizon", "expected an integer"])
    }
    func testHorizonAboveTheLimit() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.horizon=5000"], mentions: ["mdp.horizon", "4096"])
    }
    func testPromptCountThatWouldExhaustMemory() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.prompts=9223372036854775807"], mentions: ["mdp.prompts", "1...16777216"])
    }
    func testLatentStatesBeyondTheEdgeLimit() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.prompts=20000", "--set", "mdp.vocab=65535"], mentions: ["mdp.prompts", "too many latent states"])
    }
    func testStepCostThatCouldOverflowReturns() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.step_cost=1e306"], mentions: ["mdp.step_cost", "overflow"])
    }
    func testRewardStdThatCouldOverflowReturns() throws {
        let cfg = try write("name: r\nmdp: {kind: random-automaton, reward_std: 1e305, beta: 0.5}\n", "r.yaml")
        try expectFailure(["validate", cfg], mentions: ["r.yaml:2", "mdp.reward_std"])
    }
    func testTreeTooLargeForMemory() throws {
        let cfg = try write("name: t\nmdp: {kind: tree, vocab: 50, horizon: 12, beta: 0.5}\n", "t.yaml")
        try expectFailure(["validate", cfg], mentions: ["tree", "GiB", "reduce vocab or horizon"])
    }
    func testNegativeSeed() throws {
        try expectFailure(["validate", smoke, "--set", "seeds=[0, -1]"], mentions: ["seeds[1]", "non-negative"])
    }
    func testDuplicateSeed() throws {
        try expectFailure(["validate", smoke, "--set", "seeds=[4, 4]"], mentions: ["seeds[1]", "twice"])
    }
    func testHugeSeedList() throws {
        let seeds = "[" + (0...10_000).map(String.init).joined(separator: ",") + "]"
        try expectFailure(["validate", smoke, "--set", "seeds=\(seeds)"], mentions: ["seeds", "at most 10000 seeds"])
    }
    func testHugeListInAFile() throws {
        let cfg = try write("name: x\nmdp: {beta: 0.5}\nseeds: [" + (0...100_000).map(String.init).joined(separator: ",") + "]\n", "seeds.yaml")
        try expectFailure(["validate", cfg], mentions: ["seeds.yaml:3", "seeds", "more than 100000 values"])
    }
    func testTooManyJobs() throws {
        let seeds = "[" + (0..<2000).map(String.init).joined(separator: ",") + "]"
        let sigmas = "[" + (1...600).map { "\(Double($0) / 100)" }.joined(separator: ",") + "]"
        try expectFailure(["validate", smoke, "--set", "seeds=\(seeds)", "--set", "sweep.prior.sigma=\(sigmas)"],
                          mentions: ["sweep", "more than 1000000 jobs"])
    }
    func testNegativeDemosPerPrompt() throws {
        try expectFailure(["validate", smoke, "--set", "expert.demos_per_prompt=-3"], mentions: ["expert.demos_per_prompt", "got -3"])
    }
    func testEpsilonAboveOne() throws {
        try expectFailure(["validate", smoke, "--set", "expert.epsilon=1.5"], mentions: ["expert.epsilon", "[0, 1]"])
    }
    func testNegativeSigma() throws {
        try expectFailure(["validate", smoke, "--set", "prior.sigma=-1"], mentions: ["prior.sigma", "≥ 0"])
    }
    func testUnknownEnumValue() throws {
        try expectFailure(["validate", smoke, "--set", "learners.sft.training=sgd"], mentions: ["learners[0].training", "exact, gradient"])
    }
    func testEmptySweepAxis() throws {
        try expectFailure(["validate", smoke, "--set", "sweep.prior.sigma=[]"], mentions: ["sweep.prior.sigma", "non-empty list"])
    }
    func testEmptyOutputPath() throws {
        try expectFailure(["validate", smoke, "--set", "output=\"\""], mentions: ["output", "non-empty path"])
    }
    func testOutputPathWithANewline() throws {
        try expectFailure(["validate", smoke, "--set", "output=\"a\\nb\""], mentions: ["output", "control characters"])
    }
    func testBadValueInASweepCell() throws {
        try expectFailure(["validate", smoke, "--set", "sweep.mdp.beta=[0.5, -1]"], mentions: ["mdp.beta", "sweep cell 1"])
    }

    // MARK: YAML structure (exit 2, file and line)

    func testBrokenYAMLNamesTheLine() throws {
        let cfg = try write("name: x\nmdp: {beta: 0.5\nseeds: [0]\n", "broken.yaml")
        try expectFailure(["validate", cfg], mentions: ["broken.yaml:", "not valid YAML"])
    }
    func testDuplicateKey() throws {
        let cfg = try write("name: x\nmdp: {beta: 0.5}\nname: y\n", "dup.yaml")
        try expectFailure(["validate", cfg], mentions: ["dup.yaml:", "name", "duplicate key"])
    }
    func testDeepNesting() throws {
        let cfg = try write("name: x\nmdp: {beta: 0.5}\nsweep: {prior.sigma: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "}\n", "deep.yaml")
        try expectFailure(["validate", cfg], mentions: ["deep.yaml:3", "nest"])
    }
    func testAliasBomb() throws {
        var lines = ["name: x", "mdp: {beta: 0.5}", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...9 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        let cfg = try write(lines.joined(separator: "\n") + "\n", "bomb.yaml")
        try expectFailure(["validate", cfg], mentions: ["bomb.yaml:", "aliases"])
    }
    func testConfigThatIsNotAMapping() throws {
        let cfg = try write("- just\n- a list\n", "list.yaml")
        try expectFailure(["validate", cfg], mentions: ["list.yaml", "must be a YAML mapping"])
    }
    func testConfigThatIsNotUTF8() throws {
        let url = tmp.appendingPathComponent("latin1.yaml")
        try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xE9, 0xFF, 0x0A]).write(to: url)
        try expectFailure(["validate", url.path], mentions: ["latin1.yaml", "UTF-8"])
    }
    func testConfigThatIsADevice() throws {
        try expectFailure(["validate", "/dev/zero"], mentions: ["/dev/zero", "not a regular file"])
    }
    func testMissingConfigFile() throws {
        try expectFailure(["run", tmp.appendingPathComponent("nope.yaml").path], mentions: ["config file not found", "nope.yaml"])
    }

    // MARK: --set (exit 2, the key)

    func testSetWithoutEquals() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.beta"], mentions: ["--set expects key=value", "mdp.beta"])
    }
    func testSetEmptyKeyComponent() throws {
        try expectFailure(["validate", smoke, "--set", "mdp..beta=1"], mentions: ["mdp..beta", "empty component"])
    }
    func testSetIndexOutOfRange() throws {
        try expectFailure(["validate", smoke, "--set", "learners.7.lambda=0.1"], mentions: ["learners.7", "out of range"])
    }
    func testSetUnknownName() throws {
        try expectFailure(["validate", smoke, "--set", "learners.bob.lambda=0.1"], mentions: ["learners.bob", "no element named 'bob'", "sft, soc"])
    }
    func testSetUnparsableValue() throws {
        try expectFailure(["validate", smoke, "--set", "decoders.0.widths=[1, 2"], mentions: ["decoders.0.widths", "cannot parse the value"])
    }
    func testSetIntoAScalar() throws {
        try expectFailure(["validate", smoke, "--set", "mdp.beta.x=1"], mentions: ["mdp.beta.x", "not a mapping or list"])
    }
    func testSetTooManyComponents() throws {
        try expectFailure(["validate", smoke, "--set", String(repeating: "a.", count: 40) + "b=1"], mentions: ["more than 16 components"])
    }
    func testSetUnsweepableKey() throws {
        try expectFailure(["validate", smoke, "--set", "sweep.seeds=[[0], [1]]"], mentions: ["sweep.seeds", "cannot be swept"])
    }

    // MARK: Command-line options (exit 2)

    func testThreadsZero() throws {
        try expectFailure(["run", smoke, "--threads", "0"], mentions: ["--threads", "1...1024"])
    }
    func testThreadsHuge() throws {
        try expectFailure(["validate", smoke, "--threads", "100000"], mentions: ["--threads", "got 100000"])
    }
    func testShardOutOfRange() throws {
        try expectFailure(["run", smoke, "--shard", "2/2"], mentions: ["--shard", "0 ≤ i < n"])
    }
    func testShardNotAFraction() throws {
        try expectFailure(["run", smoke, "--shard", "half"], mentions: ["--shard", "i/n"])
    }
    func testMaxMemoryUnparsable() throws {
        try expectFailure(["run", smoke, "--max-memory", "lots"], mentions: ["--max-memory", "8G"])
    }
    func testSolveNegativeBeta() throws {
        try expectFailure(["solve", "--mdp", "x.json", "--beta=-1"], mentions: ["--beta", "got -1"])
    }
    func testSolveSubnormalBeta() throws {
        try expectFailure(["solve", "--mdp", "x.json", "--beta", "1e-320"], mentions: ["--beta", "[1e-300, 1e+300]"])
    }
    func testGenerateNegativeSeed() throws {
        try expectFailure(["generate", smoke, "--out", "m.json", "--seed", "-1"], mentions: ["--seed"])
    }

    // MARK: Resource guard (exit 2, estimate and limit in one line)

    func testRunRefusesAPlanAboveMaxMemory() throws {
        let msg = try expectFailure(["run", smoke, "--out", out, "--max-memory", "1M"], mentions: ["--max-memory", "estimated", "limit is 1 MiB"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written when the run is refused")
        XCTAssert(msg.contains("MiB of memory"), msg)
    }
    func testRunRefusesAHugeBeamByDefault() throws {
        // Width 500 000 beams for H = 4000 steps over V = 60 000, 16 jobs at
        // once: about 1 TiB, above 80% of any test machine's memory.
        try expectFailure(["run", smoke, "--out", out, "--threads", "16", "--set", "seeds=[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]",
                           "--set", "decoders=[{kind: beam, widths: [500000]}]", "--set", "mdp.vocab=60000", "--set", "mdp.horizon=4000"],
                          mentions: ["--max-memory", "TiB of memory", "decoding"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testGenerateRefusesAnMDPAboveMaxMemory() throws {
        try expectFailure(["generate", smoke, "--out", tmp.appendingPathComponent("big.json").path, "--set", "mdp.prompts=5000000",
                           "--set", "mdp.vocab=100", "--max-memory", "2G"],
                          mentions: ["--max-memory", "generating this MDP needs an estimated", "GiB", "limit is 2.0 GiB"])
    }
    func testSolveRefusesAnOutputAboveMaxMemory() throws {
        let mdp = tmp.appendingPathComponent("m.json").path
        XCTAssertEqual(try tokenmdp(["generate", smoke, "--out", mdp]).code, 0)
        try expectFailure(["solve", "--mdp", mdp, "--beta", "0.5", "--out", out, "--max-memory", "1M"],
                          mentions: ["--max-memory", "m.json", "limit is 1 MiB"])
    }
    func testGenerateIntoAFolder() throws {
        try expectFailure(["generate", smoke, "--out", tmp.path], mentions: ["--out", "is a folder"])
    }

    // MARK: Input files (exit 2, file and field)

    func testMDPFileWithAnAllForbiddenRow() throws {
        let mdp = try write("""
        {"format": "tokenmdp/v1", "vocab_size": 2, "horizon": 2, "eos": null, "num_latent": 1,
         "transitions": [[0, 0]], "rewards": [[null, null]], "terminal_rewards": [0], "prompts": [{"latent": 0}]}
        """, "allneg.json")
        try expectFailure(["solve", "--mdp", mdp, "--beta", "0.5"], mentions: ["allneg.json: rewards[0]", "forbidden"])
    }
    func testMDPFileWithBrokenJSON() throws {
        let mdp = try write("{\"format\": \"tokenmdp/v1\",\n \"vocab_size\": 2,,\n}", "broken.json")
        try expectFailure(["solve", "--mdp", mdp, "--beta", "0.5"], mentions: ["broken.json", "line 2, column"])
    }
    func testMDPFileWithHugeRewards() throws {
        let mdp = try write("""
        {"format": "tokenmdp/v1", "vocab_size": 2, "horizon": 3, "eos": null, "num_latent": 1,
         "transitions": [[0, 0]], "rewards": [[1e300, 0]], "terminal_rewards": [0], "prompts": [{"latent": 0}]}
        """, "huge.json")
        try expectFailure(["solve", "--mdp", mdp, "--beta", "0.5"], mentions: ["huge.json: rewards", "overflow"])
    }
    func testMDPFileReferencedByAConfig() throws {
        _ = try write("{\"format\": \"tokenmdp/v1\"}", "partial.json")
        let cfg = try write("name: f\nmdp: {file: partial.json, beta: 0.5}\n", "f.yaml")
        try expectFailure(["validate", cfg], mentions: ["f.yaml:2", "mdp.file", "partial.json: vocab_size", "missing"])
    }
    func testDemonstrationsFileWithABadToken() throws {
        let mdpURL = tmp.appendingPathComponent("m.json")
        XCTAssertEqual(try tokenmdp(["generate", smoke, "--out", mdpURL.path]).code, 0)
        _ = try write("{\"prompt\": 0, \"tokens\": [0, 1, 2]}\n{\"prompt\": 0, \"tokens\": [0, 99, 2]}\n", "demos.jsonl")
        let cfg = try write("name: d\nmdp: {file: m.json, beta: 0.25}\nexpert: {demos_file: demos.jsonl}\n", "d.yaml")
        try expectFailure(["run", cfg, "--out", out], mentions: ["demos.jsonl:2: tokens[1]", "out of range"])
    }

    // MARK: Numerical edge cases that must succeed without NaN

    func testSolveAtBetaZeroAndTinyBetaWritesTheSameHardMaxValuesAndNoNaN() throws {
        let mdp = tmp.appendingPathComponent("m.json").path
        XCTAssertEqual(try tokenmdp(["generate", smoke, "--out", mdp]).code, 0)
        var values: [String] = []
        for (beta, dir) in [("0", "hard"), ("1e-300", "tiny"), ("1e300", "huge")] {
            let r = try tokenmdp(["solve", "--mdp", mdp, "--beta", beta, "--out", tmp.appendingPathComponent(dir).path])
            XCTAssertEqual(r.code, 0, r.stderr)
            XCTAssertFalse(r.stdout.contains("nan") || r.stdout.contains("inf"), r.stdout)
            let q = readText(tmp.appendingPathComponent("\(dir)/q.csv"))
            XCTAssertFalse(q.contains("nan"), "β = \(beta)")
            // −∞ only as log_pi (non-maximisers at β = 0, or underflow at tiny β), never as a value.
            for line in q.split(separator: "\n").dropFirst() { XCTAssertNotEqual(line.split(separator: ",")[3], "-inf") }
            values.append(readText(tmp.appendingPathComponent("\(dir)/values.csv")))
        }
        // β = 1e-300 gives the hard-max values (up to β·log(#ties) ≈ 1e-300).
        let hard = CSV.parse(values[0]).dropFirst().map { Double($0[2])! }, tiny = CSV.parse(values[1]).dropFirst().map { Double($0[2])! }
        XCTAssertEqual(hard.count, tiny.count)
        for (h, t) in zip(hard, tiny) { XCTAssertEqual(h, t, accuracy: 1e-290) }
        XCTAssertNotEqual(values[0], values[2])
    }

    // MARK: Numerical guards at run time (exit 2, the keys to change)

    func testTinyBetaWithTheNoisyOraclePrior() throws {
        try expectFailure(["run", smoke, "--out", out, "--set", "mdp.beta=1e-300"], mentions: ["prior", "mdp.beta", "1e+100"])
    }
    func testHugeSigmaPrior() throws {
        try expectFailure(["run", smoke, "--out", out, "--set", "prior.sigma=1e300"], mentions: ["prior", "prior.sigma"])
    }
    func testDivergingGradientTraining() throws {
        try expectFailure(["run", smoke, "--out", out, "--set", "learners.soc.training=gradient", "--set", "learners.soc.learning_rate=1e300"],
                          mentions: ["learners.soc", "unusable logits", "learning_rate"])
    }

    // MARK: Output folders

    func testRunFilesWithoutAConfigAreNotOverwritten() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try "precious\n".write(toFile: out + "/summary.csv", atomically: true, encoding: .utf8)
        try expectFailure(["run", smoke, "--out", out], mentions: ["out", "summary.csv", "--overwrite"])
        XCTAssertEqual(readText(URL(fileURLWithPath: out + "/summary.csv")), "precious\n")
    }
    func testUnreadableStoredConfigIsNotOverwritten() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data([0xFF, 0xFE, 0x00]).write(to: URL(fileURLWithPath: out + "/config.resolved.yaml"))
        try expectFailure(["run", smoke, "--out", out], mentions: ["different configuration", "unreadable", "--overwrite"])
    }
    func testDifferentConfigNamesTheFirstDifferingLine() throws {
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", out, "--set", "seeds=[0]"]).code, 0)
        try expectFailure(["run", smoke, "--out", out, "--set", "seeds=[5]"], mentions: ["different configuration", "seeds: [0]", "seeds: [5]", "--overwrite"])
    }
    func testOutputUnderAFileIsAUsageError() throws {
        let file = try write("not a folder\n", "file.txt")
        try expectFailure(["run", smoke, "--out", file + "/sub"], mentions: ["--out", "file.txt is a file, not a folder"])
        try expectFailure(["run", smoke, "--out", file], mentions: ["--out", "exists and is not a folder"])
    }
    func testMergeWithMissingJobsIsARuntimeFailure() throws {
        let s0 = tmp.appendingPathComponent("s0").path
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", s0, "--shard", "0/2"]).code, 0)
        try expectFailure(["merge", s0, "--out", out], code: 1, mentions: ["cannot merge", "2 job(s) are in none of the folders"])
    }
    func testMergeOfDifferentConfigurations() throws {
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", tmp.appendingPathComponent("a").path, "--set", "seeds=[0]"]).code, 0)
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", tmp.appendingPathComponent("b").path, "--set", "seeds=[1]"]).code, 0)
        try expectFailure(["merge", tmp.appendingPathComponent("a").path, tmp.appendingPathComponent("b").path, "--out", out],
                          mentions: ["different configurations"])
    }
}
