import ArgumentParser
import TokenMDP

// Placeholder: replaced by the issue that owns this subcommand.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet available)")
    func run() throws { throw ValidationError("'Generate' is not available yet") }
}
