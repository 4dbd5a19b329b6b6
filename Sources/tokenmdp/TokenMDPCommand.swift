import ArgumentParser
import Foundation
import TokenMDP

@main
struct TokenMDPCommand: ParsableCommand {
    /// Exit codes: 0 success; 2 bad usage, configuration or input file;
    /// 1 runtime failure. (swift-argument-parser's own usage code 64 is mapped to 2.)
    static func main() {
        Linalg.releaseIdleWorkers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure || code.rawValue == 64 {
                let message = fullMessage(for: error)
                if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "tokenmdp",
        abstract: "Exact token-level MDP simulator: SFT as soft-Q learning, beam-search over-optimism and SOC.",
        discussion: """
        Examples:
          tokenmdp run configs/default.yaml --out results/default
          tokenmdp generate configs/default.yaml --out mdp.json
          tokenmdp solve --mdp mdp.json --beta 0.5 --out solved/
          tokenmdp validate configs/default.yaml
        """,
        version: TokenMDPVersion.string,
        subcommands: [Run.self, Solve.self, Generate.self, Merge.self, Validate.self, Bench.self,
                      IdentitiesCommand.self, EVTCommand.self]
    )
}

/// Turns library errors into one-line messages with the right exit code:
/// bad input (usage, config, file contents) exits 2, runtime failures exit 1.
func runReportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ValidationError {
        throw e
    } catch let e as CleanExit {
        throw e
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("error: \(describe(error))\n".utf8))
        throw ExitCode(isInputError(error) ? 2 : 1)
    }
}
