import ArgumentParser
import TokenMDP

// Placeholder: replaced by the issue that owns this subcommand.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet available)")
    func run() throws { throw ValidationError("'Run' is not available yet") }
}
