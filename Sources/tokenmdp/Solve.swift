import ArgumentParser
import Foundation
import TokenMDP

struct Solve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Solve an MDP file exactly by soft value iteration and print each prompt's root value.",
        discussion: """
        Writes DIR/values.csv (t,latent,value) and DIR/q.csv (t,latent,token,q,log_pi)
        when --out is given. --beta 0 gives the hard-max (oracle) values.

        Example:
          tokenmdp solve --mdp mdp.json --beta 0.5 --out solved/
        """)

    @Option(help: "Path to a tokenmdp/v1 JSON file.") var mdp: String
    @Option(help: "Temperature β ≥ 0 in reward units per nat (0 = hard max).") var beta: Double
    @Option(help: "Output folder for values.csv and q.csv (created; refused if the files exist unless --overwrite).") var out: String?
    @Flag(help: "Replace existing values.csv / q.csv in --out.") var overwrite = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        if let problem = TokenMDP.betaProblem(beta) { throw ValidationError("--beta \(problem)") }
        if let problem = ThreadOptions.problem(threads) { throw ValidationError(problem) }
        if let out { try checkOutputFolder(out, option: "--out") }
    }

    func run() throws {
        try runReportingErrors {
            let limit = try memory.limit()
            let size = (try? FileManager.default.attributesOfItem(atPath: mdp)[.size] as? Int) ?? 0
            try MemorySize.check(MemorySize.loadBytes(fileBytes: Double(size)), limit: limit, what: "loading \(mdp)")
            let model = try TokenMDP.load(contentsOf: URL(fileURLWithPath: mdp))
            try MemorySize.check(MemorySize.solveBytes(model.shape, writeCSV: out != nil), limit: limit,
                                 what: "solving \(mdp)" + (out != nil ? " and writing q.csv" : ""))
            let solution = try SoftValueIteration.solve(model, beta: beta, threads: threads)
            // β and the rewards are range-checked, so this cannot fail; never write a NaN if it did.
            if let i = solution.values.firstIndex(where: { !$0.isFinite }) {
                throw ExperimentError.incomplete("internal error: V*[\(i / model.numLatent)][\(i % model.numLatent)] = \(formatNumber(solution.values[i])); nothing written")
            }
            if let out {
                let dir = URL(fileURLWithPath: out)
                let files = ["values.csv", "q.csv"].map { dir.appendingPathComponent($0) }
                if !overwrite, let existing = files.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
                    throw OutputError.exists(existing.path)
                }
                try SolutionCSV.writeValues(solution, to: files[0])
                try SolutionCSV.writeQ(solution, to: files[1])
            }
            print("prompt,split,latent,root_value")
            for (i, p) in model.prompts.enumerated() {
                print("\(i),\(p.split.rawValue),\(p.latent),\(formatNumber(solution.rootValue(prompt: i)))")
            }
        }
    }
}
