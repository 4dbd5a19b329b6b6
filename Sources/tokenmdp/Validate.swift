import ArgumentParser
import TokenMDP

// Placeholder: replaced by the issue that owns this subcommand.
struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet available)")
    func run() throws { throw ValidationError("'Validate' is not available yet") }
}
