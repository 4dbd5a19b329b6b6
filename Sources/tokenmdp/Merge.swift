import ArgumentParser
import Foundation
import TokenMDP

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the run folders of a sharded run into one (the same bytes as an unsharded run).",
        discussion: """
        Every folder must hold the same config.resolved.yaml. Each job's part is taken
        from the folder that has it; rows.csv, summary.csv (and steps.csv) are then
        written into --out exactly as `tokenmdp run` writes them. --out may be one of
        the inputs.

        Example:
          tokenmdp run configs/default.yaml --out s0 --shard 0/2
          tokenmdp run configs/default.yaml --out s1 --shard 1/2
          tokenmdp merge s0 s1 --out all
        """)

    @Argument(help: "The shard folders.") var dirs: [String]
    @Option(help: "The merged run folder.") var out: String
    @Flag(help: "Replace an --out folder that holds a different configuration.") var overwrite = false

    func validate() throws {
        guard !dirs.isEmpty else { throw ValidationError("give at least one run folder to merge") }
        for d in dirs {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: d, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("not a folder: \(d)")
            }
        }
        try checkOutputFolder(out, option: "--out")
    }

    func run() throws {
        try runReportingErrors {
            let report = try ExperimentRunner.merge(dirs.map { URL(fileURLWithPath: $0) }, into: URL(fileURLWithPath: out),
                                                    overwrite: overwrite)
            let steps = FileManager.default.fileExists(atPath: report.directory.appendingPathComponent("steps.csv").path)
            let keys = (try? ExperimentPlan.load(contentsOf: report.directory.appendingPathComponent("config.resolved.yaml")).sweepKeys) ?? []
            print(runSummary(report, shard: .all, steps: steps, sweepKeys: keys))
        }
    }
}
