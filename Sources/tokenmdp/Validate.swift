import ArgumentParser
import Foundation
import TokenMDP

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a config and print the expanded plan (cells, jobs, learners, decoders, prompts) and its cost.",
        discussion: """
        Decodes the config strictly (unknown keys, wrong types and out-of-range values
        are errors naming the key and line), expands the sweep, checks each cell's MDP
        parameters (without building it; an mdp.file is loaded), and prints a rough time
        and memory estimate (the formula is in PlanReport.swift) and whether it fits
        --max-memory. Exit code 0 when the config is valid (even when it would not fit:
        the line says so), 2 when it is not.

        Examples:
          tokenmdp validate configs/default.yaml
          tokenmdp validate configs/default.yaml --set sweep.learners.soc.lambda=[0,0.1,0.2]
        """)

    @OptionGroup var config: ConfigOptions
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var memory: MemoryOptions

    func run() throws {
        try runReportingErrors {
            let plan = try ExperimentPlan.load(contentsOf: config.url, overrides: config.overrides)
            print(try plan.describe(threads: threads.threads, configName: config.config, maxMemory: try memory.limit()), terminator: "")
        }
    }
}
