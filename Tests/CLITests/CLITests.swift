import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// Runs the built `tokenmdp` binary (SPEC §3) as a user would: exit codes,
/// files, headers, error messages and help text.
final class CLITests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = makeTemporaryDirectory("cli") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    func tokenmdp(_ args: [String], cwd: URL? = nil) throws -> CLIResult { try runTokenMDP(args, cwd: cwd ?? tmp) }

    var smoke: String { packageRoot.appendingPathComponent("configs/smoke.yaml").path }

    func testRunSmokeConfigWritesTheCSVsWithAKnownRow() throws {
        let out = tmp.appendingPathComponent("smoke").path
        let r = try tokenmdp(["run", smoke, "--out", out, "--threads", "2"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssert(r.stdout.contains("wrote"), r.stdout)
        XCTAssert(r.stdout.contains("overopt"), "summary table on stdout:\n\(r.stdout)")
        XCTAssertEqual(r.stderr, "", "no progress bar when stderr is not a terminal")
        let rows = readText(URL(fileURLWithPath: out).appendingPathComponent("rows.csv"))
        let lines = rows.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "experiment,cell,learners.soc.lambda,seed,prompt,split,learner,lambda,decoder,width,tokens,length,return,correct,opt_return,regret,v_soft,logp_model,logp_expert,est_return,overopt,overopt_raw,overopt_adv,expert_gap,optimism_margin,supervised_frac,first_ood_step,v_hat,sample,length_normalize,expert_correct,first_ood_gap")
        // 2 cells × 2 seeds × 3 prompts × 2 learners × 4 decoder settings.
        XCTAssertEqual(lines.count - 1, 96)
        // The oracle's response on prompt 0, seed 0, cell 0 (MDP, solver and
        // oracle only; independent of the learner): the chain solved in three tokens.
        XCTAssert(lines.contains { $0.hasPrefix("smoke,0,0.1,0,0,train,sft,0,oracle,,0 2 2,3,1,1,1,0,1.5375361670910526,") },
                  "known oracle row missing")
        let summary = readText(URL(fileURLWithPath: out).appendingPathComponent("summary.csv"))
        XCTAssert(summary.hasPrefix("experiment,cell,learners.soc.lambda,split,learner,lambda,decoder,width,length_normalize,metric,n,missing,mean,se,ci95_low,ci95_high\n"))
        XCTAssert(readText(URL(fileURLWithPath: out).appendingPathComponent("config.resolved.yaml")).contains("tool_version:"))

        // Same command again: resumes, recomputes nothing, same bytes.
        let again = try tokenmdp(["run", smoke, "--out", out, "--threads", "1"])
        XCTAssertEqual(again.code, 0, again.stderr)
        XCTAssert(again.stdout.contains("0 computed, 4 reused"), again.stdout)
        XCTAssertEqual(readText(URL(fileURLWithPath: out).appendingPathComponent("rows.csv")), rows)
    }

    func testShardedRunsMergeToTheSameBytes() throws {
        let base = tmp.path
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", "\(base)/full"]).code, 0)
        let s0 = try tokenmdp(["run", smoke, "--out", "\(base)/s0", "--shard", "0/2"])
        XCTAssertEqual(s0.code, 0, s0.stderr)
        XCTAssert(s0.stdout.contains("merge"), s0.stdout)
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", "\(base)/s1", "--shard", "1/2"]).code, 0)
        let m = try tokenmdp(["merge", "\(base)/s0", "\(base)/s1", "--out", "\(base)/merged"])
        XCTAssertEqual(m.code, 0, m.stderr)
        for f in ["rows.csv", "summary.csv", "config.resolved.yaml"] {
            XCTAssertEqual(readText(tmp.appendingPathComponent("merged/\(f)")), readText(tmp.appendingPathComponent("full/\(f)")), f)
        }
    }

    func testBadConfigExitsTwoWithOneLineErrorNamingTheKey() throws {
        let cfg = tmp.appendingPathComponent("bad.yaml")
        try "name: bad\nmdp: {beta: 0.5}\nlearners:\n  - {name: soc, lamda: 0.2}\n".write(to: cfg, atomically: true, encoding: .utf8)
        for cmd in ["run", "validate"] {
            let r = try tokenmdp([cmd, cfg.path, "--out", tmp.appendingPathComponent("o").path].prefix(cmd == "run" ? 4 : 2).map { $0 })
            XCTAssertEqual(r.code, 2, "\(cmd): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssert(r.stderr.contains("learners[0].lamda") && r.stderr.contains("unknown key") && r.stderr.contains("bad.yaml:4"), r.stderr)
            XCTAssertEqual(r.stdout, "")
        }
        let wrongType = try tokenmdp(["validate", smoke, "--set", "mdp.beta=hot"])
        XCTAssertEqual(wrongType.code, 2)
        XCTAssert(wrongType.stderr.contains("mdp.beta: expected a number, got hot"), wrongType.stderr)
    }

    func testUsageErrorsExitTwo() throws {
        XCTAssertEqual(try tokenmdp(["run", tmp.appendingPathComponent("missing.yaml").path]).code, 2)
        XCTAssertEqual(try tokenmdp(["run", smoke, "--shard", "3/2"]).code, 2)
        XCTAssertEqual(try tokenmdp(["run", smoke, "--threads", "0"]).code, 2)
        XCTAssertEqual(try tokenmdp(["merge", "--out", tmp.path]).code, 2)
    }

    func testDifferentConfigInTheSameFolderIsRefused() throws {
        let out = tmp.appendingPathComponent("o").path
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", out, "--set", "seeds=[0]"]).code, 0)
        let r = try tokenmdp(["run", smoke, "--out", out, "--set", "seeds=[1]"])
        XCTAssertEqual(r.code, 2)
        XCTAssert(r.stderr.contains("--overwrite"), r.stderr)
        XCTAssertEqual(try tokenmdp(["run", smoke, "--out", out, "--set", "seeds=[1]", "--overwrite"]).code, 0)
    }

    func testValidatePrintsThePlan() throws {
        let r = try tokenmdp(["validate", smoke, "--set", "sweep.prior.sigma=[0.5, 2]"])
        XCTAssertEqual(r.code, 0, r.stderr)
        for s in ["experiment: smoke", "cells: 4", "jobs: 8", "learners:", "decoders: beam(1), beam(2), greedy, oracle",
                  "2 train + 1 test prompts", "estimate:", "memory"] {
            XCTAssert(r.stdout.contains(s), "validate output lacks '\(s)':\n\(r.stdout)")
        }
    }

    func testGenerateWritesTheRunsMDP() throws {
        let f = tmp.appendingPathComponent("mdp.json")
        let r = try tokenmdp(["generate", smoke, "--out", f.path, "--seed", "1"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let mdp = try TokenMDP.load(contentsOf: f)
        let plan = try ExperimentPlan.load(contentsOf: URL(fileURLWithPath: smoke))
        XCTAssertEqual(mdp.encodeJSON(), try plan.cells[0].config.mdp.build(runSeed: 1).encodeJSON())
        XCTAssertEqual(try tokenmdp(["generate", smoke, "--out", f.path]).code, 2, "refuses to overwrite")
        // generate needs only the mdp: block.
        let cfg = tmp.appendingPathComponent("m.yaml")
        try "mdp: {kind: tree, vocab: 2, horizon: 2}\n".write(to: cfg, atomically: true, encoding: .utf8)
        XCTAssertEqual(try tokenmdp(["generate", cfg.path, "--out", tmp.appendingPathComponent("t.json").path]).code, 0)
    }

    func testHelpShowsExamples() throws {
        for cmd in ["run", "merge", "validate", "generate"] {
            let r = try tokenmdp([cmd, "--help"])
            XCTAssertEqual(r.code, 0)
            XCTAssert(r.stdout.contains("Example"), "\(cmd) --help has no examples:\n\(r.stdout)")
        }
        XCTAssert(try tokenmdp(["run", "--help"]).stdout.contains("--set <key=value>"))
    }
}
