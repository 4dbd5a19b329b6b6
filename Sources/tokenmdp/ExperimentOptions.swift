import ArgumentParser
import Foundation
import TokenMDP

/// Options shared by the commands that read an experiment config
/// (`run`, `validate`, `generate`).
struct ConfigOptions: ParsableArguments {
    @Argument(help: "The experiment config (YAML). Relative paths inside it resolve against its folder.")
    var config: String

    @Option(name: .customLong("set"), parsing: .singleValue,
            help: ArgumentHelp("Override a config value: a dotted key and a YAML value; repeatable. A list element is selected by index or by its name (learners.soc.lambda=0.3, decoders.0.widths=[1,4], sweep.prior.sigma=[0.5,1]).",
                               valueName: "key=value"))
    var overrides: [String] = []

    var url: URL { URL(fileURLWithPath: config) }

    func validate() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: config, isDirectory: &isDir), !isDir.boolValue else {
            throw ValidationError("config file not found: \(config)")
        }
        for o in overrides where !o.contains("=") {
            throw ValidationError("--set expects key=value, got '\(escapingControlCharacters(o))'")
        }
    }
}

/// `--threads N`, default all cores.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Jobs run concurrently (default: all cores). The output bytes do not depend on it.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    /// Most worker threads accepted (more would only add scheduling overhead).
    static let maxThreads = 1024

    func validate() throws {
        if let problem = Self.problem(threads) { throw ValidationError(problem) }
    }

    static func problem(_ threads: Int) -> String? {
        (1...maxThreads).contains(threads) ? nil : "--threads must be in 1...\(maxThreads), got \(threads)"
    }
}

/// `--max-memory SIZE`, default 80% of the machine's memory.
struct MemoryOptions: ParsableArguments {
    @Option(name: .customLong("max-memory"),
            help: ArgumentHelp("Refuse to run when the estimated peak memory exceeds this (bytes, or with a unit: 512M, 8G; default: 80% of physical memory or of the container's limit).",
                               valueName: "size"))
    var maxMemory: String?

    /// The limit in bytes.
    func limit() throws -> Double {
        guard let m = maxMemory else { return MemorySize.defaultLimit }
        do { return try MemorySize.parse(m) } catch { throw ValidationError(describe(error)) }
    }

    func validate() throws { _ = try limit() }
}

/// Whether stderr is a terminal (the progress bar is drawn only then).
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
