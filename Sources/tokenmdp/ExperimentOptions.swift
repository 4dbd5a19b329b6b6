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
            throw ValidationError("--set expects key=value, got '\(o)'")
        }
    }
}

/// `--threads N`, default all cores.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Jobs run concurrently (default: all cores). The output bytes do not depend on it.")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
    }
}

/// Whether stderr is a terminal (the progress bar is drawn only then).
var stderrIsTerminal: Bool { isatty(STDERR_FILENO) != 0 }
