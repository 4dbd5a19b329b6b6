import ArgumentParser
import TokenMDP

// Placeholder: replaced by the issue that owns this subcommand.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet available)")
    func run() throws { throw ValidationError("'Bench' is not available yet") }
}
