import Foundation
import XCTest
import TokenMDP

/// A fresh empty folder under the system temporary directory, removed by
/// the caller (`defer { try? FileManager.default.removeItem(at: dir) }`).
public func makeTemporaryDirectory(_ label: String = "tokenmdp-test") -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("\(label)-\(UUID().uuidString)")  // a name, never a result
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// The package root (three levels above this file: Sources/_TestSupport/…).
public let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

/// A tiny, fast experiment: 3 prompts (1 test), vocab 4, horizon 3, two
/// seeds, SFT and SOC tabular learners, beam widths 1 and 2 and the oracle.
/// `extra` is appended verbatim (e.g. a `sweep:` block).
public func tinyExperimentYAML(name: String = "tiny", seeds: String = "[0, 1]", extra: String = "") -> String {
    """
    name: \(name)
    seeds: \(seeds)
    mdp: {kind: reasoning-chain, prompts: 3, test_prompts: 1, vocab: 4, chain_length: 2, horizon: 3, beta: 0.25}
    expert: {demos_per_prompt: 2, expert_gap_samples: 8}
    prior: {kind: noisy-oracle, sigma: 1.0, scale: 1.5}
    learners:
      - {name: sft, lambda: 0.0, weight_decay: 0.01}
      - {name: soc, lambda: 0.2, weight_decay: 0.01}
    decoders:
      - {kind: beam, widths: [1, 2]}
      - {kind: oracle}
    \(extra)
    """
}

/// Reads a file as UTF-8 text ("" when missing).
public func readText(_ url: URL) -> String {
    (try? String(contentsOf: url, encoding: .utf8)) ?? ""
}

/// Asserts that `body` throws a `ConfigError` whose key is `key` (and, when
/// given, whose line is `line`); returns the error.
@discardableResult
public func assertConfigError(key: String, line: Int? = nil, messageContains: String? = nil,
                              file: StaticString = #filePath, lineNumber: UInt = #line,
                              _ body: () throws -> Void) -> ConfigError? {
    do {
        try body()
        XCTFail("expected a ConfigError for key \(key)", file: file, line: lineNumber)
    } catch let e as ConfigError {
        XCTAssertEqual(e.key, key, "\(e)", file: file, line: lineNumber)
        if let line { XCTAssertEqual(e.line, line, "\(e)", file: file, line: lineNumber) }
        if let m = messageContains { XCTAssert(e.message.contains(m), "'\(e.message)' lacks '\(m)'", file: file, line: lineNumber) }
        return e
    } catch {
        XCTFail("expected a ConfigError for key \(key), got \(type(of: error)): \(error)", file: file, line: lineNumber)
    }
    return nil
}
