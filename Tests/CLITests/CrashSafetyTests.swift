import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// Crash safety in CI: runs `scripts/crash_safety.sh` with the debug
/// `tokenmdp` binary on a shrunken `scripts/crash_safety.yaml` — a sweep is
/// killed with SIGKILL at several points and resumed each time; the final
/// CSVs must be byte-identical to an uninterrupted run and no temporary file
/// may remain. A few seconds.
final class CrashSafetyTests: XCTestCase {
    func testKilledAndResumedRunsWriteTheSameBytesAndNoTemporaryFiles() throws {
        guard let bin = tokenmdpBinary else { XCTFail("tokenmdp binary not found (build it with `swift build`)"); return }
        let script = packageRoot.appendingPathComponent("scripts/crash_safety.sh")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script.path]
        var env = ProcessInfo.processInfo.environment
        env["TOKENMDP_BIN"] = bin.path
        env["CRASH_SET"] = "seeds=[0,1,2,3] mdp.prompts=8 mdp.test_prompts=2 sweep.prior.sigma=[0.5,2]"
        env["CRASH_FRACTIONS"] = "0.03 0.1 0.2 0.15 0.2 0.15"
        env.removeValue(forKey: "CRASH_KEEP")
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        for line in ["rows.csv identical", "summary.csv identical", "steps.csv identical",
                     "config.resolved.yaml identical", "no temporary files left", "crash_safety: OK"] {
            XCTAssert(text.contains(line), "missing '\(line)' in:\n\(text)")
        }
    }
}
