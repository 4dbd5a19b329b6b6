import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// `tokenmdp bench …` runs on tiny sizes and prints its `key: value` lines
/// (what Benchmarks/run_benchmarks.sh parses). Never a timed assertion.
final class BenchCLITests: XCTestCase {
    private func run(_ args: [String]) throws -> CLIResult { try runTokenMDP(args) }

    func testBenchSubcommandsPrintTheirKeys() throws {
        let cases: [([String], [String])] = [
            (["bench", "solve", "--latent", "40", "--vocab", "16", "--horizon", "3", "--threads", "2", "--repeat", "2"],
             ["ns_per_edge_median:", "ns_per_edge_min:", "ns_per_edge_max:", "root_value:"]),
            (["bench", "beam", "--width", "4", "--vocab", "8", "--horizon", "5", "--latent", "20", "--prompts", "3", "--repeat", "1"],
             ["ms_per_prompt_median:", "cpu_ms_per_prompt_median:", "checksum_logp:"]),
            (["bench", "train", "--pairs", "400", "--dim", "32", "--vocab", "8", "--steps", "1", "--peak-size", "64"],
             ["seconds_per_step_median:", "gflops_step:", "dgemm_peak_gflops_1_thread:"]),
        ]
        for (args, keys) in cases {
            let r = try run(args)
            XCTAssertEqual(r.code, 0, "\(args): \(r.stderr)")
            for k in keys { XCTAssert(r.stdout.contains(k), "\(args) printed no \(k):\n\(r.stdout)") }
        }
    }

    /// The checksum is a pure function of the inputs: the same on every run
    /// and for any number of threads.
    func testBeamChecksumDoesNotDependOnThreads() throws {
        func checksum(_ threads: Int) throws -> Substring? {
            let r = try run(["bench", "beam", "--width", "8", "--vocab", "16", "--horizon", "6", "--latent", "30",
                             "--prompts", "5", "--repeat", "1", "--threads", "\(threads)"])
            return r.stdout.split(separator: "\n").first { $0.hasPrefix("checksum_logp:") }
        }
        let one = try checksum(1)
        XCTAssertNotNil(one)
        XCTAssertEqual(one, try checksum(2))
    }

    func testBenchRejectsBadSizesWithUsageExitCode() throws {
        XCTAssertEqual(try run(["bench", "solve", "--latent", "0"]).code, 2)
        XCTAssertEqual(try run(["bench", "beam", "--beta", "0"]).code, 2)
    }
}
