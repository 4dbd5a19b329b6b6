import ArgumentParser
import Foundation
import TokenMDP

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment: every sweep cell × seed, into rows.csv, summary.csv and config.resolved.yaml.",
        discussion: """
        Writes DIR/config.resolved.yaml (every default filled in), one part file per
        job in DIR/.parts/, and when all jobs are done DIR/rows.csv, DIR/summary.csv
        (and DIR/steps.csv with steps_csv: true). DIR is --out, else the config's
        output:, else results/<name>. Re-running into the same folder with the same
        resolved config resumes (finished jobs are not recomputed); a folder holding
        a different config, or run files without a config.resolved.yaml, is refused
        unless --overwrite. Temporary files left by a killed run are removed. The
        bytes written do not depend on --threads or on --shard.

        Before anything is computed, the plan's peak memory is estimated (see
        `tokenmdp validate`); the run is refused (exit 2) when it exceeds --max-memory.

        Examples:
          tokenmdp run configs/default.yaml
          tokenmdp run configs/default.yaml --out /tmp/beam --threads 2
          tokenmdp run configs/default.yaml --set learners.soc.lambda=0.3
          tokenmdp run configs/default.yaml --set seeds=[0,1] --set mdp.beta=0.2
          tokenmdp run configs/default.yaml --out s0 --shard 0/2
          tokenmdp run configs/default.yaml --out s1 --shard 1/2
          tokenmdp merge s0 s1 --out results/default
        """)

    @OptionGroup var config: ConfigOptions
    @Option(help: "Output folder (default: the config's output:, else results/<name>).") var out: String?
    @Option(help: ArgumentHelp("Run only the jobs with index % n == i; join the shards with `tokenmdp merge`.", valueName: "i/n"))
    var shard: String?
    @OptionGroup var threads: ThreadOptions
    @OptionGroup var memory: MemoryOptions
    @Flag(help: "Replace a run folder that holds a different configuration (deletes its config.resolved.yaml, rows.csv, summary.csv, steps.csv and .parts/; nothing else).")
    var overwrite = false

    func validate() throws {
        if let s = shard {
            do { _ = try Shard(parsing: s) } catch { throw ValidationError(describe(error)) }
        }
        if let out { try checkOutputFolder(out, option: "--out") }
    }

    func run() throws {
        try runReportingErrors {
            let plan = try ExperimentPlan.load(contentsOf: config.url, overrides: config.overrides)
            let dir = out.map { URL(fileURLWithPath: $0) } ?? plan.base.outputDirectory
            if out == nil {
                do { try checkOutputFolder(dir.path, option: "output:") } catch let e as ValidationError {
                    throw ConfigError(key: "output", e.message)
                }
            }
            let bar = stderrIsTerminal ? ProgressBar() : nil
            var options = RunOptions(outputDirectory: dir, shard: try shard.map(Shard.init(parsing:)) ?? .all,
                                     threads: threads.threads, overwrite: overwrite)
            options.maxMemoryBytes = try memory.limit()
            if let bar { options.progress = { bar.update($0, $1) } }
            let report = try ExperimentRunner(plan: plan).run(options)
            print(runSummary(report, shard: options.shard, steps: plan.base.stepsCSV, sweepKeys: plan.sweepKeys))
        }
    }
}

/// Refuses an output folder path that cannot become a folder: it, or its
/// nearest existing ancestor, is not a folder (a usage error, exit 2).
func checkOutputFolder(_ path: String, option: String) throws {
    var url = URL(fileURLWithPath: path).standardizedFileURL
    while true {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw ValidationError(url.path == URL(fileURLWithPath: path).standardizedFileURL.path
                    ? "\(option) \(path) exists and is not a folder"
                    : "\(option) \(path): \(url.path) is a file, not a folder")
            }
            return
        }
        let parent = url.deletingLastPathComponent()
        if parent.path == url.path { return }
        url = parent
    }
}

/// The closing lines of `run` and `merge` (stdout).
func runSummary(_ r: RunReport, shard: Shard, steps: Bool, sweepKeys: [String]) -> String {
    var s = ""
    if r.complete {
        s += "wrote \(r.directory.path)/{rows.csv, summary.csv\(steps ? ", steps.csv" : ""), config.resolved.yaml}: "
        s += "\(r.jobCount) job(s), \(r.computed.count) computed, \(r.reused.count) reused\n\n"
        s += Summary.table(r.summary, sweepKeys: sweepKeys)
    } else {
        s += "shard \(shard): \(r.computed.count) job(s) computed, \(r.reused.count) reused in \(r.directory.path); "
        s += "\(r.missing.count) of \(r.jobCount) job(s) belong to other shards — run them, then `tokenmdp merge DIR… --out DIR`"
    }
    return s
}
