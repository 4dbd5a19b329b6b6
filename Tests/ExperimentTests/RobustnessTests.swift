import Foundation
import XCTest
@testable import TokenMDP
import _TestSupport

/// Library-level robustness (issue "Robustness"): resource estimates and
/// `--max-memory`, YAML limits, crash-safe run folders, numerical guards.
final class RobustnessTests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = makeTemporaryDirectory("robust-lib") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    func plan(_ yaml: String, overrides: [String] = []) throws -> ExperimentPlan {
        try ExperimentPlan.parse(yaml: yaml, baseDirectory: tmp, overrides: overrides)
    }

    // MARK: --max-memory sizes

    func testMemorySizesParseWithBinaryUnits() throws {
        XCTAssertEqual(try MemorySize.parse("8G"), 8 * 0x1p30)
        XCTAssertEqual(try MemorySize.parse("512M"), 512 * 0x1p20)
        XCTAssertEqual(try MemorySize.parse("1.5g"), 1.5 * 0x1p30)
        XCTAssertEqual(try MemorySize.parse("64KiB"), 65536)
        XCTAssertEqual(try MemorySize.parse("2TB"), 2 * 0x1p40)
        XCTAssertEqual(try MemorySize.parse("1073741824"), 1073741824)
        XCTAssertEqual(try MemorySize.parse("100B"), 100)
    }

    func testBadMemorySizesNameTheOption() {
        for bad in ["", "G", "-1G", "0", "8X", "1e9", "eight", "1..5G", "99999999999T", "nan"] {
            assertConfigError(key: "--max-memory", messageContains: "e.g. 8G") { _ = try MemorySize.parse(bad) }
        }
    }

    func testDefaultLimitIsEightyPercentOfTheMachine() {
        XCTAssertGreaterThan(MemorySize.available, 0)
        XCTAssertEqual(MemorySize.defaultLimit, (0.8 * MemorySize.available).rounded(.down))
    }

    // MARK: Estimates

    func testEstimateGrowsWithEachDriverOfMemory() throws {
        let base = try plan(tinyExperimentYAML()).estimate()
        func bytes(_ overrides: [String]) throws -> Double {
            try plan(tinyExperimentYAML(), overrides: overrides).estimate().bytesPerJob.max()!
        }
        let b0 = base.bytesPerJob.max()!
        XCTAssertGreaterThan(try bytes(["decoders=[{kind: beam, widths: [4096]}]"]), b0, "beam width")
        XCTAssertGreaterThan(try bytes(["mdp.vocab=64"]), b0, "vocabulary")
        XCTAssertGreaterThan(try bytes(["mdp.prompts=30"]), b0, "prompts")
        XCTAssertGreaterThan(try bytes(["expert.demos_per_prompt=1000"]), b0, "demonstrations")
        XCTAssertGreaterThan(try bytes(["steps_csv=true"]), b0, "steps.csv")
        XCTAssertGreaterThan(try bytes(["learners.sft.param=inverse-soft-q"]), b0, "learner kind")
        // Threads: the jobs running at once add up.
        let seeds = try plan(tinyExperimentYAML(seeds: "[0, 1, 2, 3]")).estimate()
        XCTAssertEqual(seeds.peakBytes(threads: 4) - seeds.sharedBytes, 4 * seeds.bytesPerJob[0], accuracy: 1)
        XCTAssertEqual(seeds.peakBytes(threads: 1) - seeds.sharedBytes, seeds.bytesPerJob[0], accuracy: 1)
    }

    func testEstimateOfAnAstronomicalPlanIsFiniteAndRefused() throws {
        let p = try plan(tinyExperimentYAML(), overrides: ["decoders=[{kind: beam, widths: [500000]}]", "mdp.vocab=65535",
                                                           "mdp.horizon=4096", "expert.demos_per_prompt=200000"])
        let est = try p.estimate()
        XCTAssert(est.peakBytes(threads: 2).isFinite)
        XCTAssert(est.seconds(threads: 2).isFinite)
        let e = assertConfigError(key: "--max-memory", messageContains: "but the limit is 8.0 GiB") {
            try est.check(limit: 8 * 0x1p30, threads: 2)
        }
        XCTAssert(e?.message.contains("estimated") ?? false)
        XCTAssertNoThrow(try plan(tinyExperimentYAML()).estimate().check(limit: 8 * 0x1p30, threads: 2))
    }

    func testRunChecksTheLimitBeforeWritingAnything() throws {
        var options = RunOptions(outputDirectory: tmp.appendingPathComponent("out"), threads: 1)
        options.maxMemoryBytes = 1024
        assertConfigError(key: "--max-memory") { _ = try ExperimentRunner(plan: try plan(tinyExperimentYAML())).run(options) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("out").path))
    }

    func testPlanningDoesNotAllocateTheMDP() throws {
        // A tree with 2^31 − 1 edges would take tens of GiB to build; planning
        // only checks the parameters (and refuses it with the estimate).
        XCTAssertThrowsError(try plan("name: t\nmdp: {kind: tree, vocab: 2, horizon: 30, beta: 0.5, max_memory_bytes: 1000}\n")) { e in
            XCTAssert(describe(e).contains("GiB"), describe(e))
        }
        let shape = try plan(tinyExperimentYAML()).shapes[0]
        XCTAssertEqual(shape, MDPShape(numLatent: 10, vocabSize: 4, horizon: 3, prompts: 3, trainPrompts: 2, promptTokens: 0))
    }

    // MARK: YAML limits

    func testYAMLNestingDepthIsBounded() {
        let deep = "name: x\nmdp: {beta: 0.5}\nsweep: {prior.sigma: " + String(repeating: "[", count: 70) + String(repeating: "]", count: 70) + "}\n"
        assertConfigError(key: "sweep", line: 3, messageContains: "deeper than 64") { _ = try plan(deep) }
    }

    func testAliasExpansionIsBounded() {
        var lines = ["name: x", "mdp: {beta: 0.5}", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...6 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        assertConfigError(key: "a4", messageContains: "aliases") { _ = try plan(lines.joined(separator: "\n")) }
        // A few aliases are fine (and then an unknown key, as usual).
        assertConfigError(key: "a0", messageContains: "unknown key") { _ = try plan(lines.prefix(4).joined(separator: "\n")) }
    }

    func testYAMLSizeIsBounded() {
        let big = "name: x\nmdp: {beta: 0.5}\n# " + String(repeating: "x", count: YAMLLimits.maxBytes) + "\n"
        assertConfigError(key: "", messageContains: "bytes") { _ = try plan(big) }
    }

    func testOverrideValueLimitsNameTheKey() {
        assertConfigError(key: "prior.sigma", messageContains: "deeper") {
            _ = try plan(tinyExperimentYAML(), overrides: ["prior.sigma=" + String(repeating: "[", count: 80) + String(repeating: "]", count: 80)])
        }
    }

    func testInputFilesMustBeRegularAndBounded() throws {
        XCTAssertThrowsError(try InputFile.read(tmp)) { XCTAssert("\($0)".contains("folder")) }
        XCTAssertThrowsError(try InputFile.read(URL(fileURLWithPath: "/dev/zero"))) { XCTAssert("\($0)".contains("regular")) }
        let f = tmp.appendingPathComponent("ten.txt")
        try Data(repeating: 65, count: 10).write(to: f)
        XCTAssertThrowsError(try InputFile.read(f, maxBytes: 9)) { XCTAssert("\($0)".contains("limit")) }
        XCTAssertEqual(try InputFile.read(f, maxBytes: 10).count, 10)
    }

    func testErrorsAreAlwaysOneLine() {
        let e = ConfigError(key: "name", "'a\nb\u{0}' is bad\r")
        XCTAssertFalse(describe(e).contains("\n"))
        XCTAssert(describe(e).contains("a\\nb\\u{0}"), describe(e))
        XCTAssertFalse(describe(TokenMDPError.invalid(field: "x\ny", message: "z")).contains("\n"))
    }

    // MARK: Run folders (crash safety)

    func testStaleTemporaryFilesOfDeadProcessesAreRemoved() throws {
        let dir = RunDirectory(url: tmp.appendingPathComponent("run"), jobCount: 2)
        try FileManager.default.createDirectory(at: dir.parts, withIntermediateDirectories: true)
        // PID 2^22 + 1 is above Linux's pid_max default range for a live process here.
        let dead = dir.parts.appendingPathComponent(".job-00001.csv.tmp-4194305")
        let deadTop = dir.url.appendingPathComponent(".rows.csv.tmp-4194305")
        let mine = dir.parts.appendingPathComponent(".job-00000.csv.tmp-\(getpid())")
        let other = dir.url.appendingPathComponent("notes.tmp-1")
        for f in [dead, deadTop, mine, other] { try "x".write(to: f, atomically: false, encoding: .utf8) }
        XCTAssertFalse(AtomicFile.isRunning(4194305))
        try dir.removeStaleTemporaryFiles()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead.path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: deadTop.path))
        XCTAssert(FileManager.default.fileExists(atPath: mine.path), "a live writer's file is kept")
        XCTAssert(FileManager.default.fileExists(atPath: other.path), "not a temporary file name")
    }

    func testTemporaryFileNamesCarryTheWriterPID() {
        XCTAssertEqual(AtomicFile.writerPID(ofTemporaryFile: ".rows.csv.tmp-123"), 123)
        XCTAssertNil(AtomicFile.writerPID(ofTemporaryFile: "rows.csv.tmp-123"))
        XCTAssertNil(AtomicFile.writerPID(ofTemporaryFile: ".rows.csv.tmp-x"))
        XCTAssertNil(AtomicFile.writerPID(ofTemporaryFile: ".rows.csv"))
    }

    func testResumeCleansUpAKilledRunsTemporaryFiles() throws {
        let p = try plan(tinyExperimentYAML())
        let out = tmp.appendingPathComponent("out")
        _ = try ExperimentRunner(plan: p).run(RunOptions(outputDirectory: out, threads: 1))
        let stale = out.appendingPathComponent(".parts/.job-00001.csv.tmp-4194305")
        try "half a part".write(to: stale, atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(at: out.appendingPathComponent(".parts/job-00001.csv"))
        let r = try ExperimentRunner(plan: p).run(RunOptions(outputDirectory: out, threads: 1))
        XCTAssertEqual(r.computed, [1])
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale.path))
    }

    func testOverwriteDeletesOnlyTheRunsOwnFiles() throws {
        let out = tmp.appendingPathComponent("out")
        _ = try ExperimentRunner(plan: try plan(tinyExperimentYAML(seeds: "[0]"))).run(RunOptions(outputDirectory: out, threads: 1))
        try "keep me".write(to: out.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let other = try plan(tinyExperimentYAML(seeds: "[1]"))
        let e = assertConfigError(key: "", messageContains: "--overwrite") {
            _ = try ExperimentRunner(plan: other).run(RunOptions(outputDirectory: out, threads: 1))
        }
        XCTAssert(e?.message.contains("line 4") ?? false, e?.message ?? "")
        _ = try ExperimentRunner(plan: other).run(RunOptions(outputDirectory: out, threads: 1, overwrite: true))
        XCTAssertEqual(readText(out.appendingPathComponent("notes.txt")), "keep me")
        XCTAssert(readText(out.appendingPathComponent("config.resolved.yaml")).contains("seeds: [1]"))
    }

    func testRunFilesWithoutAStoredConfigAreRefused() throws {
        let out = tmp.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try "mine".write(to: out.appendingPathComponent("steps.csv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ExperimentRunner(plan: try plan(tinyExperimentYAML())).run(RunOptions(outputDirectory: out, threads: 1))) { e in
            guard case OutputError.exists = e else { return XCTFail("\(e)") }
            XCTAssert(describe(e).contains("steps.csv"))
            XCTAssert(isInputError(e))
        }
        XCTAssertEqual(readText(out.appendingPathComponent("steps.csv")), "mine")
    }

    // MARK: Sweep scaling: summary parts

    func testSummaryOfPartsEqualsSummaryOfTheWholeFile() throws {
        let p = try plan(tinyExperimentYAML(seeds: "[0, 1, 2]", extra: "sweep: {prior.sigma: [0.5, 2]}"))
        let out = tmp.appendingPathComponent("out")
        _ = try ExperimentRunner(plan: p).run(RunOptions(outputDirectory: out, threads: 2))
        let whole = try Summary.lines(rowsCSV: readText(out.appendingPathComponent("rows.csv")), sweepKeys: p.sweepKeys)
        let parts = try (0..<p.jobCount).map { j in
            try Summary.Part(rowsCSV: readText(RunDirectory(url: out, jobCount: p.jobCount).rowsPart(j)), sweepKeys: p.sweepKeys)
        }
        let merged = try Summary.lines(parts: parts, sweepKeys: p.sweepKeys)
        XCTAssertEqual(merged.map(\.fields), whole.map(\.fields))
        XCTAssertEqual(readText(out.appendingPathComponent("summary.csv")),
                       CSV.line(Summary.header(sweepKeys: p.sweepKeys)) + merged.map { CSV.line($0.fields) }.joined())
    }

    // MARK: Numerical guards

    func testRenderRefusesANaNField() throws {
        let p = try plan(tinyExperimentYAML())
        let runner = ExperimentRunner(plan: p)
        var fields = Array(repeating: "0", count: MetricRow.csvHeader.count)
        fields[MetricRow.csvHeader.firstIndex(of: "overopt")!] = "nan"
        XCTAssertThrowsError(try runner.render(JobResult(rows: [fields]), job: p.job(0), rowsHeader: runner.rowsHeader, stepsHeader: nil)) { e in
            XCTAssert(describe(e).contains("overopt"), describe(e))
            XCTAssertFalse(isInputError(e), "a NaN is an internal failure (exit 1)")
        }
    }

    func testSummaryStatisticsNeverOverflowIntoNaNOrInfinity() {
        for xs in [[1e300, -1e300, 1e300], [1.7e308, 1.7e308], [-1.7e308, 1.7e308, 0], [1e200, 1e200, -1e200, 3]] {
            let s = SummaryStatistics(xs)
            for v in [s.mean, s.standardError, s.ciLow, s.ciHigh] {
                if let v { XCTAssert(v.isFinite, "\(xs): \(s)") }
            }
            XCTAssertNotNil(s.mean, "\(xs)")
        }
        // Ordinary values keep the textbook formula (bytes unchanged).
        let s = SummaryStatistics([1, 2, 3, 4])
        XCTAssertEqual(s.mean, 2.5)
        XCTAssertEqual(s.standardError!, (5.0 / 3).squareRoot() / 2, accuracy: 1e-15)
    }

    func testSolverAcceptsTinyAndHugeTemperaturesWithoutNaN() throws {
        let mdp = randomMDP(seed: 3, S: 5, V: 3, H: 4)
        for beta in [0, 1e-300, 1e-8, 0.5, 1e300] {
            let s = try SoftValueIteration.solve(mdp, beta: beta)
            XCTAssert(s.values.allSatisfy(\.isFinite), "β = \(beta)")
            for t in 0..<mdp.horizon { for q in 0..<mdp.numLatent { for a in 0..<mdp.vocabSize {
                XCTAssertFalse(s.logPolicy(t, q, a).isNaN, "β = \(beta)")
                XCTAssertFalse(s.q(t, q, a).isNaN)
            } } }
        }
        // β = 0 is the hard max; tiny β approaches it.
        let hard = try SoftValueIteration.solve(mdp, beta: 0), tiny = try SoftValueIteration.solve(mdp, beta: 1e-300)
        for (h, t) in zip(hard.values, tiny.values) { XCTAssertEqual(h, t, accuracy: 1e-290) }  // β·log(#ties)
    }

    func testSubnormalAndOutOfRangeTemperaturesAreErrors() {
        let mdp = randomMDP(seed: 3)
        for beta in [5e-324, 1e-310, -1, .nan, .infinity, 1e301] {
            XCTAssertThrowsError(try SoftValueIteration.solve(mdp, beta: beta), "β = \(beta)") { e in
                XCTAssert(describe(e).hasPrefix("beta: "), describe(e))
            }
        }
    }

    func testHugeButAdmissibleRewardsGiveFiniteValues() throws {
        let text = """
        {"format": "tokenmdp/v1", "vocab_size": 2, "horizon": 3, "eos": null, "num_latent": 1,
         "transitions": [[0, 0]], "rewards": [[1e299, -1e299]], "terminal_rewards": [1e299], "prompts": [{"latent": 0}]}
        """
        let mdp = try TokenMDP.decode(json: Data(text.utf8))
        for beta in [0, 0.5, 1e300] {
            XCTAssert(try SoftValueIteration.solve(mdp, beta: beta).values.allSatisfy(\.isFinite), "β = \(beta)")
        }
    }

    func testNoisyOraclePriorOutOfRangeIsAConfigError() throws {
        let p = try plan(tinyExperimentYAML(), overrides: ["mdp.beta=1e-300"])
        let e = assertConfigError(key: "prior") { _ = try ExperimentRunner(plan: p).evaluate(job: p.job(0)) }
        XCTAssert(e?.message.contains("prior.scale") ?? false)
        // The uniform prior has no such limit: β = 1e-300 runs, with finite metrics.
        let u = try plan(tinyExperimentYAML(), overrides: ["mdp.beta=1e-300", "prior.kind=uniform"])
        let rows = try ExperimentRunner(plan: u).evaluate(job: u.job(0)).rows
        XCTAssertFalse(rows.isEmpty)
        XCTAssertFalse(rows.flatMap { $0 }.contains("nan"))
    }

    func testDivergedTrainingIsAnErrorNamingTheLearner() throws {
        let p = try plan(tinyExperimentYAML(), overrides: ["learners.soc.training=gradient", "learners.soc.learning_rate=1e300"])
        XCTAssertThrowsError(try ExperimentRunner(plan: p).evaluate(job: p.job(0))) { e in
            XCTAssert(describe(e).hasPrefix("learners.soc: training produced unusable logits"), describe(e))
        }
    }
}
