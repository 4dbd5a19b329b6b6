import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// The runner's contract (SPEC §3): same config + seeds ⇒ the same bytes,
/// whatever the thread count and sharding; resume without recomputation;
/// refusal to mix configurations.
final class RunnerTests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = makeTemporaryDirectory("runner") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    let sweep = "sweep: {learners.soc.lambda: [0.1, 0.3]}\nsteps_csv: true"

    func makePlan(_ extra: String? = nil, seeds: String = "[0, 1]") throws -> ExperimentPlan {
        try ExperimentPlan.parse(yaml: tinyExperimentYAML(seeds: seeds, extra: extra ?? sweep), baseDirectory: tmp)
    }

    @discardableResult
    func run(_ plan: ExperimentPlan, into name: String, threads: Int = 1, shard: Shard = .all,
             overwrite: Bool = false) throws -> RunReport {
        try ExperimentRunner(plan: plan).run(RunOptions(outputDirectory: tmp.appendingPathComponent(name), shard: shard,
                                                        threads: threads, overwrite: overwrite))
    }

    func outputs(_ name: String) -> [String: String] {
        let d = tmp.appendingPathComponent(name)
        return Dictionary(uniqueKeysWithValues: ["rows.csv", "steps.csv", "summary.csv", "config.resolved.yaml"].map {
            ($0, readText(d.appendingPathComponent($0)))
        })
    }

    func testRowsHaveTheSpecColumnsTheSweptKeyAndDeterministicOrder() throws {
        let plan = try makePlan()
        let report = try run(plan, into: "a")
        XCTAssertTrue(report.complete)
        XCTAssertEqual(report.computed, [0, 1, 2, 3])
        let rows = CSV.parse(outputs("a")["rows.csv"]!)
        let header = rows[0]
        for col in ["experiment", "cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width", "tokens",
                    "length", "return", "correct", "opt_return", "regret", "v_soft", "logp_model", "logp_expert",
                    "est_return", "overopt", "overopt_raw", "overopt_adv", "expert_gap", "optimism_margin",
                    "supervised_frac", "first_ood_step", "learners.soc.lambda"] {
            XCTAssert(header.contains(col), "rows.csv lacks \(col)")
        }
        XCTAssertEqual(Array(header.prefix(4)), ["experiment", "cell", "learners.soc.lambda", "seed"])
        // 2 cells × 2 seeds × 3 prompts × 2 learners × 3 decoder settings.
        XCTAssertEqual(rows.count - 1, 2 * 2 * 3 * 2 * 3)
        let col = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })
        let keys = rows.dropFirst().map { r in
            [Int(r[col["cell"]!])!, Int(r[col["seed"]!])!, Int(r[col["prompt"]!])!,
             r[col["learner"]!] == "sft" ? 0 : 1, ["beam": 0, "oracle": 2][r[col["decoder"]!]]! + (r[col["width"]!] == "2" ? 1 : 0)]
        }
        XCTAssertEqual(keys, keys.sorted { $0.lexicographicallyPrecedes($1) }, "rows ordered by cell, seed, prompt, learner, decoder, width")
        // The swept value is both its own column and the soc learner's lambda.
        for r in rows.dropFirst() where r[col["learner"]!] == "soc" {
            XCTAssertEqual(Double(r[col["lambda"]!]), Double(r[col["learners.soc.lambda"]!]))
        }
        // steps.csv: one record per decoded token.
        let steps = CSV.parse(outputs("a")["steps.csv"]!)
        XCTAssertEqual(steps.count - 1, rows.dropFirst().map { Int($0[col["length"]!])! }.reduce(0, +))
    }

    func testThreadCountDoesNotChangeTheBytes() throws {
        let plan = try makePlan()
        try run(plan, into: "t1", threads: 1)
        try run(plan, into: "t2", threads: 2)
        try run(plan, into: "t3", threads: 3)
        XCTAssertEqual(outputs("t1"), outputs("t2"))
        XCTAssertEqual(outputs("t1"), outputs("t3"))
    }

    func testShardsMergedGiveTheUnshardedBytes() throws {
        let plan = try makePlan()
        try run(plan, into: "full")
        let r0 = try run(plan, into: "s0", shard: try Shard(parsing: "0/3"))
        XCTAssertFalse(r0.complete)
        XCTAssertEqual(r0.computed, [0, 3])
        XCTAssertEqual(r0.missing, [1, 2])
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("s0/rows.csv").path),
                       "an incomplete shard writes no rows.csv")
        try run(plan, into: "s1", shard: try Shard(parsing: "1/3"))
        try run(plan, into: "s2", shard: try Shard(parsing: "2/3"))
        let merged = try ExperimentRunner.merge(["s0", "s1", "s2"].map { tmp.appendingPathComponent($0) },
                                                into: tmp.appendingPathComponent("merged"))
        XCTAssertTrue(merged.complete)
        XCTAssertEqual(outputs("merged"), outputs("full"))
        XCTAssertEqual(merged.summary.count, try Summary.lines(rowsCSV: outputs("full")["rows.csv"]!, sweepKeys: plan.sweepKeys).count)
    }

    func testShardsRunIntoOneFolderCompleteTheRun() throws {
        let plan = try makePlan()
        try run(plan, into: "full")
        XCTAssertFalse(try run(plan, into: "one", shard: try Shard(parsing: "1/2")).complete)
        let last = try run(plan, into: "one", shard: try Shard(parsing: "0/2"))
        XCTAssertTrue(last.complete)
        XCTAssertEqual(outputs("one"), outputs("full"))
    }

    func testMergeRefusesMissingJobsAndDifferentConfigs() throws {
        let plan = try makePlan()
        try run(plan, into: "s0", shard: try Shard(parsing: "0/2"))
        XCTAssertThrowsError(try ExperimentRunner.merge([tmp.appendingPathComponent("s0")], into: tmp.appendingPathComponent("m"))) {
            XCTAssert("\($0)".contains("job(s) are in none of the folders"), "\($0)")
        }
        let other = try makePlan(seeds: "[5, 6]")
        try run(other, into: "o1", shard: try Shard(parsing: "1/2"))
        XCTAssertThrowsError(try ExperimentRunner.merge(["s0", "o1"].map { tmp.appendingPathComponent($0) },
                                                        into: tmp.appendingPathComponent("m2"))) {
            XCTAssert($0 is ConfigError && "\($0)".contains("different configurations"), "\($0)")
        }
    }

    func testResumeRecomputesOnlyTheMissingPart() throws {
        let plan = try makePlan()
        try run(plan, into: "r")
        let before = outputs("r")
        let dir = RunDirectory(url: tmp.appendingPathComponent("r"), jobCount: plan.jobCount)
        let fm = FileManager.default
        // Mark every part with an old modification date, then delete job 2's rows part.
        let old = Date(timeIntervalSince1970: 1_000_000)
        for j in 0..<plan.jobCount {
            try fm.setAttributes([.modificationDate: old], ofItemAtPath: dir.rowsPart(j).path)
        }
        try fm.removeItem(at: dir.rowsPart(2))
        let report = try run(plan, into: "r", threads: 2)
        XCTAssertEqual(report.computed, [2], "only the deleted job is recomputed")
        XCTAssertEqual(report.reused, [0, 1, 3])
        for j in [0, 1, 3] {
            let m = try fm.attributesOfItem(atPath: dir.rowsPart(j).path)[.modificationDate] as? Date
            XCTAssertEqual(m, old, "part \(j) was not rewritten")
        }
        XCTAssertEqual(outputs("r"), before)
        // A half-written part (wrong header) counts as not done.
        try "garbage\n".write(to: dir.rowsPart(1), atomically: true, encoding: .utf8)
        XCTAssertEqual(try run(plan, into: "r").computed, [1])
        XCTAssertEqual(outputs("r"), before)
    }

    func testADifferentConfigIsRefusedUnlessOverwrite() throws {
        try run(try makePlan(), into: "x")
        let other = try makePlan(seeds: "[7]")
        XCTAssertThrowsError(try run(other, into: "x")) {
            XCTAssert(isInputError($0) && "\($0)".contains("different configuration"), "\($0)")
        }
        let r = try run(other, into: "x", overwrite: true)
        XCTAssertTrue(r.complete)
        XCTAssertEqual(r.computed, [0, 1])
        XCTAssert(outputs("x")["config.resolved.yaml"]!.contains("seeds: [7]"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("x/.parts/job-00002.csv").path),
                       "stale parts of the old run are removed")
    }

    func testSeedsDriveTheDataButNotTheCell() throws {
        // Cells of a λ sweep share the MDP and the data of a seed: the sft rows are identical across cells.
        let plan = try makePlan("sweep: {learners.soc.lambda: [0.1, 0.3]}", seeds: "[4]")
        let runner = ExperimentRunner(plan: plan)
        let a = try runner.evaluate(job: plan.job(0)), b = try runner.evaluate(job: plan.job(1))
        let sftA = a.rows.filter { $0[5] == "sft" }.map { Array($0.dropFirst(2)) }
        let sftB = b.rows.filter { $0[5] == "sft" }.map { Array($0.dropFirst(2)) }
        XCTAssertFalse(sftA.isEmpty)
        XCTAssertEqual(sftA, sftB)
        XCTAssertEqual(try runner.evaluate(job: plan.job(0)), a, "a job is a pure function of its cell and seed")
    }

    func testMDPFileAndDemosFileResolveAgainstTheConfigFolderEndToEnd() throws {
        let sub = tmp.appendingPathComponent("cfg/sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let doc = try ConfigDocument(yaml: tinyExperimentYAML(), baseDirectory: tmp)
        let mdp = try doc.generateMDP(runSeed: 3).mdp
        try AtomicFile.write(mdp.encodeJSON(), to: tmp.appendingPathComponent("cfg/mdp.json"))
        let train = mdp.promptIndices(.train)[0]
        let eos = mdp.eos!
        try "{\"prompt\": \(train), \"tokens\": [0, \(eos)]}\n".write(to: sub.appendingPathComponent("demos.jsonl"), atomically: true, encoding: .utf8)
        let yaml = """
        name: files
        mdp: {file: ../mdp.json, beta: 0.25}
        expert: {demos_file: demos.jsonl, expert_gap_samples: 4}
        learners: [{name: sft, weight_decay: 0.1}]
        decoders: [{kind: greedy}, {kind: sample, n: 2}]
        """
        try yaml.write(to: sub.appendingPathComponent("files.yaml"), atomically: true, encoding: .utf8)
        let plan = try ExperimentPlan.load(contentsOf: sub.appendingPathComponent("files.yaml"))
        let r = try ExperimentRunner(plan: plan).run(RunOptions(outputDirectory: tmp.appendingPathComponent("out"), threads: 1))
        XCTAssertTrue(r.complete)
        let rows = CSV.parse(outputs("out")["rows.csv"]!)
        XCTAssertEqual(rows.count - 1, mdp.prompts.count * 3, "greedy + 2 samples per prompt")
        let col = Dictionary(uniqueKeysWithValues: rows[0].enumerated().map { ($1, $0) })
        // The demonstrated prefix [0, EOS] makes the root of that prompt supervised.
        let demoRow = rows.dropFirst().first { $0[col["prompt"]!] == String(train) && $0[col["decoder"]!] == "greedy" }!
        XCTAssertNotEqual(demoRow[col["first_ood_step"]!], "0")
        XCTAssertEqual(rows.dropFirst().filter { $0[col["decoder"]!] == "sample" }.map { $0[col["sample"]!] },
                       Array(repeating: ["0", "1"], count: mdp.prompts.count).flatMap { $0 })
    }

    func testValidateDescribesThePlan() throws {
        let text = try makePlan().describe(threads: 2)
        for s in ["cells: 2", "jobs: 4", "sft: tabular", "beam(1)", "oracle", "2 train + 1 test prompts", "estimate:"] {
            XCTAssert(text.contains(s), "plan lacks '\(s)':\n\(text)")
        }
    }
}
