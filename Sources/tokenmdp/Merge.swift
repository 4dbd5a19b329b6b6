import ArgumentParser
import TokenMDP

// Placeholder: replaced by the issue that owns this subcommand.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not yet available)")
    func run() throws { throw ValidationError("'Merge' is not available yet") }
}
