import Foundation
import XCTest
import _TestSupport

/// What one run of the `tokenmdp` executable produced.
struct CLIResult { var code: Int32; var stdout: String; var stderr: String }

/// The `tokenmdp` executable next to the test bundle's build products
/// (`swift test` builds it), else in `.build/debug`.
let tokenmdpBinary: URL? = {
    var dirs = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
    dirs += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
    dirs.append(packageRoot.appendingPathComponent(".build/debug"))
    return dirs.map { $0.appendingPathComponent("tokenmdp") }.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}()

/// Runs `tokenmdp args` in `cwd` (the shared runner of every CLI test) and
/// asserts that it ended by exiting, not by a signal (a trap would).
func runTokenMDP(_ args: [String], cwd: URL? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
    guard let bin = tokenmdpBinary else {
        XCTFail("tokenmdp binary not found (build it with `swift build`)", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }
    let p = Process()
    p.executableURL = bin
    p.arguments = args
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    // Read before waiting so a full pipe cannot block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let stderr = String(decoding: e, as: UTF8.self)
    XCTAssertEqual(p.terminationReason, .exit, "terminated by a signal (a trap?): \(stderr)", file: file, line: line)
    return CLIResult(code: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: stderr)
}
