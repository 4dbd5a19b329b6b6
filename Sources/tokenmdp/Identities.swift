import ArgumentParser
import Foundation
import TokenMDP

struct IdentitiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identities",
        abstract: "Measure the SFT–Q identities (SPEC §1.2–1.4, I1–I7) and the SFT consistency rate KL(π* ‖ π̂) vs N.",
        discussion: """
        Evaluates both sides of every identity with the library's solvers and
        learners on small random instances (several per seed) and writes,
        atomically:

        DIR/identities.csv: identity,claim,cases,max_abs_diff,tolerance,pass
          one row per identity; pass is 1 when max_abs_diff ≤ tolerance.
        DIR/kl_vs_n.csv: seed,n_demos,states,kl
          KL(π* ‖ π̂_SFT) in nats, averaged over the demonstrated states
          (weighted by the expert's probability of reaching them), for
          n_demos demonstrations per train prompt sampled from π*.
        DIR/kl_fit.csv: fit,n_min,n_max,slope,slope_se,intercept
          log–log least squares with one intercept per seed, over all N
          (all) and over N ≥ 100 (n_ge_100); I6 predicts slope −1.

        The same arguments give the same bytes. Exit code 0 when every
        identity passes, 1 when one fails, 2 for bad arguments.

        Examples:
          tokenmdp identities --out results/sft-q-equivalence
          tokenmdp identities --seeds 0,1,2,3 --sizes 10,100,1000 --out /tmp/id
        """)

    @Option(help: ArgumentHelp("Comma-separated seeds (distinct integers ≥ 0).", valueName: "s1,s2,…"))
    var seeds: String = IdentityReport.defaultSeeds.map(String.init).joined(separator: ",")
    @Option(help: ArgumentHelp("Comma-separated demonstrations per train prompt for the KL study (1…1000000).", valueName: "n1,n2,…"))
    var sizes: String = IdentityReport.defaultSizes.map(String.init).joined(separator: ",")
    @Option(help: "Output folder (created).") var out: String
    @Flag(help: "Replace existing CSVs in --out.") var overwrite = false

    func parsedList<T: FixedWidthInteger>(_ text: String, _ name: String) throws -> [T] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [T] = []
        for p in parts {
            guard let v = T(p) else { throw ValidationError("--\(name) expects comma-separated integers, got '\(text)'") }
            out.append(v)
        }
        return out
    }

    func validate() throws {
        let s: [UInt64] = try parsedList(seeds, "seeds")
        let n: [Int] = try parsedList(sizes, "sizes")
        guard Set(s).count == s.count else { throw ValidationError("--seeds must be distinct, got '\(seeds)'") }
        guard Set(n).count == n.count else { throw ValidationError("--sizes must be distinct, got '\(sizes)'") }
        for v in n where v < 1 || v > 1_000_000 { throw ValidationError("--sizes: every size must be in 1...1000000, got \(v)") }
    }

    func run() throws {
        try runReportingErrors {
            let report = try IdentityReport(seeds: try parsedList(seeds, "seeds"), sizes: try parsedList(sizes, "sizes"))
            try report.write(to: URL(fileURLWithPath: out), overwrite: overwrite)
            print("wrote \(out)/{\(IdentityReport.fileNames.joined(separator: ", "))}\n")
            print(report.table(), terminator: "")
            if let bad = report.checks.first(where: { !$0.pass }) {
                throw IdentityFailure(check: bad)
            }
        }
    }
}

/// An identity outside its tolerance: a runtime failure (exit 1), not bad input.
struct IdentityFailure: Error, CustomStringConvertible {
    var check: IdentityCheck
    var description: String {
        "identity \(check.identity) failed: max |difference| \(formatNumber(check.maxAbsDiff)) > tolerance \(formatNumber(check.tolerance))"
            + (check.worst.map { " at \($0)" } ?? "")
    }
}
