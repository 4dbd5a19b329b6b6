import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// `tokenmdp identities` and `tokenmdp evt` as a user runs them.
final class AnalysisCommandsCLITests: XCTestCase {
    var tmp: URL!
    override func setUp() { tmp = makeTemporaryDirectory("cli-analysis") }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    func tokenmdp(_ args: [String]) throws -> CLIResult { try runTokenMDP(args, cwd: tmp) }

    func testIdentitiesWritesThreePassingCSVsWithTheSameBytesTwice() throws {
        let args = ["identities", "--seeds", "0,1", "--sizes", "10,100,1000"]
        let a = try tokenmdp(args + ["--out", "a"]), b = try tokenmdp(args + ["--out", "b"])
        XCTAssertEqual(a.code, 0, a.stderr); XCTAssertEqual(b.code, 0, b.stderr)
        XCTAssert(a.stdout.contains("I6-shaping") && a.stdout.contains("slope"), a.stdout)
        for f in ["identities.csv", "kl_vs_n.csv", "kl_fit.csv"] {
            let x = readText(tmp.appendingPathComponent("a/\(f)"))
            XCTAssertFalse(x.isEmpty, f)
            XCTAssertEqual(x, readText(tmp.appendingPathComponent("b/\(f)")), f)
        }
        let rows = CSV.parse(readText(tmp.appendingPathComponent("a/identities.csv")))
        XCTAssertEqual(rows[0], ["identity", "claim", "cases", "max_abs_diff", "tolerance", "pass"])
        XCTAssert(rows.dropFirst().allSatisfy { $0.last == "1" })
        let again = try tokenmdp(args + ["--out", "a"])
        XCTAssertEqual(again.code, 2, "existing files are refused without --overwrite")
        XCTAssert(again.stderr.contains("--overwrite"), again.stderr)
    }

    func testIdentitiesBadSeedsAreAUsageError() throws {
        let r = try tokenmdp(["identities", "--seeds", "0,x", "--out", "o"])
        XCTAssertEqual(r.code, 2)
        XCTAssert(r.stderr.contains("--seeds"), r.stderr)
    }

    func writeConfig(_ prior: String, decoders: String = "[{kind: beam, widths: [1, 2, 4]}]") -> String {
        let yaml = """
        name: evt-test
        mdp: {kind: reasoning-chain, prompts: 3, vocab: 8, chain_length: 2, horizon: 3, beta: 0.25}
        prior: \(prior)
        decoders: \(decoders)
        sweep: {prior.sigma: [0.5, 1.0, 2.0]}
        """
        let url = tmp.appendingPathComponent("evt.yaml")
        try! yaml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func testEVTWritesOneRowPerCellAndWidth() throws {
        let cfg = writeConfig("{kind: noisy-oracle, sigma: 1.0, scale: 2.0}")
        let r = try tokenmdp(["evt", cfg, "--out", "evt.csv"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssert(r.stdout.contains("critical width"), r.stdout)
        let rows = CSV.parse(readText(tmp.appendingPathComponent("evt.csv")))
        XCTAssertEqual(rows[0], BeamGapModel.csvHeader)
        XCTAssertEqual(rows.count, 1 + 3 * 3)
        // Cell 1 (σ = 1), width 1: n = V = 8 candidates, m(8) = 1.4236…
        let row = rows[4]
        XCTAssertEqual(Array(row[0..<7]), ["1", "1", "2", "0.25", "8", "1", "8"])
        XCTAssertEqual(Double(row[7])!, 1.4236003060452764, accuracy: 1e-12)
        // Same bytes with --set instead of the sweep key, for that cell alone.
        let one = try tokenmdp(["evt", cfg, "--set", "sweep.prior.sigma=[1.0]", "--out", "one.csv"])
        XCTAssertEqual(one.code, 0, one.stderr)
        let oneRows = CSV.parse(readText(tmp.appendingPathComponent("one.csv")))
        XCTAssertEqual(Array(oneRows[1].dropFirst()), Array(rows[4].dropFirst()))
    }

    func testEVTRefusesAUniformPriorAndAConfigWithoutBeamWidths() throws {
        let uniform = try tokenmdp(["evt", writeConfig("{kind: uniform}"), "--out", "x.csv"])
        XCTAssertEqual(uniform.code, 2)
        XCTAssert(uniform.stderr.contains("prior.kind"), uniform.stderr)
        XCTAssertEqual(uniform.stderr.split(separator: "\n").count, 1, "one line: \(uniform.stderr)")
        let greedy = try tokenmdp(["evt", writeConfig("{kind: noisy-oracle}", decoders: "[{kind: greedy}]"), "--out", "x.csv"])
        XCTAssertEqual(greedy.code, 2)
        XCTAssert(greedy.stderr.contains("beam"), greedy.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("x.csv").path))
    }
}
