import XCTest
import Foundation
import TokenMDP
import _TestSupport

/// `tokenmdp identities` (SPEC §4 experiment 5): the SFT–Q identities as
/// measured numbers. The report's own functions are checked here; the
/// identities themselves are proved by example in SolverTests (I1–I3) and
/// LearnerTests (I4–I7).
final class IdentityReportTests: XCTestCase {
    /// Built once: the default report takes well under a second in release.
    static let report: IdentityReport = try! IdentityReport()

    func testEveryRowOfTheDefaultReportPasses() {
        let r = Self.report
        XCTAssertEqual(r.checks.map(\.identity),
                       ["I1", "I2", "I3", "I4", "I5", "I6-shaping", "I6-rate", "I7-sharpening", "I7-gradient", "linear-one-hot"])
        for c in r.checks {
            XCTAssert(c.pass, "\(c.identity): \(c.maxAbsDiff) > \(c.tolerance) at \(c.worst ?? "?")")
            XCTAssertGreaterThan(c.cases, 0, c.identity)
            XCTAssertFalse(c.maxAbsDiff.isNaN, c.identity)
        }
        // The exact identities hold to rounding, far inside their tolerance.
        for c in r.checks where c.tolerance == IdentityReport.exactTolerance {
            XCTAssertLessThan(c.maxAbsDiff, 1e-11, c.identity)
        }
    }

    func testKLOfSFTFallsAsOneOverN() throws {
        let r = Self.report
        XCTAssertEqual(r.kl.count, IdentityReport.defaultSeeds.count * IdentityReport.defaultSizes.count)
        let asymptotic = try XCTUnwrap(r.fits.first { $0.name == "n_ge_100" })
        XCTAssertGreaterThanOrEqual(asymptotic.slope, -1.2, "slope \(asymptotic.slope) ± \(asymptotic.slopeSE)")
        XCTAssertLessThanOrEqual(asymptotic.slope, -0.8, "slope \(asymptotic.slope) ± \(asymptotic.slopeSE)")
        XCTAssertEqual(asymptotic.nMin, 100)
        XCTAssertEqual(asymptotic.nMax, 10_000)
        XCTAssert(asymptotic.slopeSE > 0 && asymptotic.slopeSE < 0.1, "se \(asymptotic.slopeSE)")
        let all = try XCTUnwrap(r.fits.first { $0.name == "all" })
        XCTAssertEqual(all.points, r.kl.count)
        // Every point reaches some states, and the KL at the largest N is tiny.
        for seed in IdentityReport.defaultSeeds {
            let pts = r.kl.filter { $0.seed == seed }
            XCTAssert(pts.allSatisfy { $0.states > 0 && $0.kl > 0 }, "seed \(seed)")
            XCTAssertLessThan(pts.last!.kl, 1e-3, "seed \(seed)")
        }
    }

    func testReportBytesAreDeterministicAndTheFilesMatchTheText() throws {
        let a = try IdentityReport(seeds: [5, 2], sizes: [10, 100, 1000], instancesPerSeed: 2)
        let b = try IdentityReport(seeds: [5, 2], sizes: [10, 100, 1000], instancesPerSeed: 2)
        XCTAssertEqual(a.identitiesCSV, b.identitiesCSV)
        XCTAssertEqual(a.klCSV, b.klCSV)
        XCTAssertEqual(a.fitCSV, b.fitCSV)
        let dir = makeTemporaryDirectory("identities")
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.write(to: dir, overwrite: false)
        XCTAssertEqual(readText(dir.appendingPathComponent("identities.csv")), a.identitiesCSV)
        XCTAssertEqual(readText(dir.appendingPathComponent("kl_vs_n.csv")), a.klCSV)
        XCTAssertEqual(readText(dir.appendingPathComponent("kl_fit.csv")), a.fitCSV)
        XCTAssertThrowsError(try b.write(to: dir, overwrite: false)) { XCTAssert("\($0)".contains("already exists")) }
        XCTAssertNoThrow(try b.write(to: dir, overwrite: true))
        // The schemas.
        XCTAssert(a.identitiesCSV.hasPrefix("identity,claim,cases,max_abs_diff,tolerance,pass\n"))
        XCTAssert(a.klCSV.hasPrefix("seed,n_demos,states,kl\n5,10,"))
        XCTAssert(a.fitCSV.hasPrefix("fit,n_min,n_max,slope,slope_se,intercept\nall,10,1000,"))
        XCTAssertEqual(CSV.parse(a.identitiesCSV).count, 1 + a.checks.count)
        XCTAssert(CSV.parse(a.identitiesCSV).dropFirst().allSatisfy { $0.count == 6 && $0[5] == "1" })
    }

    func testBadArgumentsAreErrors() {
        XCTAssertThrowsError(try IdentityReport(seeds: []))
        XCTAssertThrowsError(try IdentityReport(seeds: [1, 1]))
        XCTAssertThrowsError(try IdentityReport(sizes: [0, 10]))
        XCTAssertThrowsError(try IdentityReport(sizes: [10, 10]))
    }

    /// Equal infinities agree; one infinite side or a NaN is a failure, never dropped.
    func testDiscrepancySemantics() {
        var d = Discrepancy()
        d.record(1, 1 + 1e-6, "a")
        d.record(-.infinity, -.infinity, "b")
        XCTAssertEqual(d.cases, 2)
        XCTAssertEqual(d.maxAbsDiff, 1e-6, accuracy: 1e-15)
        XCTAssert(d.worst!.hasPrefix("a"))
        var e = Discrepancy()
        e.record(0, .infinity, "c")
        XCTAssertEqual(e.maxAbsDiff, .infinity)
        var n = Discrepancy()
        n.record(.nan, 0, "d")
        n.record(0, 5, "e")
        XCTAssert(n.maxAbsDiff.isNaN)
        d.merge(n)
        XCTAssert(d.maxAbsDiff.isNaN)
        XCTAssertEqual(d.cases, 4)
        XCTAssertFalse(IdentityCheck(identity: "x", claim: "", d, tolerance: 1).pass)
    }

    /// The fit recovers a known power law, with per-group levels removed.
    func testLogLogFitRecoversAPowerLawWithGroupOffsets() throws {
        var pts: [(group: UInt64, n: Int, y: Double)] = []
        for (g, level) in [(UInt64(0), 2.0), (1, 5.0), (2, 0.5)] {
            for n in [10, 100, 1000, 10_000] { pts.append((g, n, level * pow(Double(n), -1.0))) }
        }
        let f = try XCTUnwrap(LogLogFit.fit(name: "all", points: pts))
        assertClose(f.slope, -1, abs: 1e-12, rel: 0)
        XCTAssertLessThan(f.slopeSE, 1e-12)
        assertClose(f.intercept, (log(2.0) + log(5.0) + log(0.5)) / 3, abs: 1e-12, rel: 0)
        let tail = try XCTUnwrap(LogLogFit.fit(name: "tail", points: pts, minN: 100))
        XCTAssertEqual(tail.nMin, 100); XCTAssertEqual(tail.points, 9)
        XCTAssertNil(LogLogFit.fit(name: "none", points: [(0, 10, 1)]))
        // One point per group: no degrees of freedom for an error.
        XCTAssert(try XCTUnwrap(LogLogFit.fit(name: "x", points: [(0, 10, 1), (0, 100, 0.1)])).slopeSE.isNaN)
    }

    /// The checks are not vacuous: I4 holds to rounding on random logits, and
    /// the sharpening formula at λ = 0.2 misses a λ = 0.1 fit by far more than
    /// its tolerance.
    func testIdentityChecksSeparateTrueFromFalseClaims() throws {
        let mdp = TokenMDP.randomInstance(seed: 3, latent: 4, vocab: 3, horizon: 3, forbiddenFraction: 0, prompts: 1)
        let model = HashLogitModel(vocabSize: 3, seed: 3)
        XCTAssertLessThan(try Identities.inverseBellmanRoundTrip(mdp, prompt: 0, model: model, beta: 0.7).maxAbsDiff, 1e-12)
        // Sharpening with λ = 0.2 is not the λ = 0.1 fit.
        let counts = [30, 27, 23, 20]
        let ok = try Identities.socSharpening(counts: counts, lambda: 0.2, weightDecay: 1e-6)
        XCTAssertLessThan(ok.maxAbsDiff, 1e-7)
        let row = try Identities.singleStateLogits(counts: counts, options: .init(lambda: 0.1, weightDecay: 1e-6))
        let pi = row.map { exp($0 - LogSumExp.lse(row)) }
        let wrong = zip(pi, counts).map { abs($0 - (0.25 + (Double($1) / 100 - 0.25) / 0.8)) }.max()!
        XCTAssertGreaterThan(wrong, 1e-3)
    }
}
