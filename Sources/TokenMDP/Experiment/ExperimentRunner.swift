import Foundation

/// `--shard i/n`: run only the jobs with `index % n == i`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int
    public static let all = Shard(0, 1)

    public init(index: Int, count: Int) throws {
        guard count >= 1, index >= 0, index < count else {
            throw ConfigError(key: "--shard", "expected i/n with n ≥ 1 and 0 ≤ i < n, got \(index)/\(count)")
        }
        self.index = index; self.count = count
    }

    private init(_ i: Int, _ n: Int) { index = i; count = n }

    /// Parses `i/n`.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ConfigError(key: "--shard", "expected i/n (e.g. 0/4), got '\(text)'")
        }
        try self.init(index: i, count: n)
    }

    public func contains(_ job: Int) -> Bool { job % count == index }
    public var description: String { "\(index)/\(count)" }
}

/// How to run.
public struct RunOptions {
    public var outputDirectory: URL
    public var shard: Shard = .all
    /// Jobs evaluated concurrently (each job runs on one thread).
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    /// Replace a run folder holding a different configuration.
    public var overwrite = false
    /// Called after every finished job with (finished, to do), serialised.
    public var progress: ((Int, Int) -> Void)? = nil
    /// Refuse to start when the plan's estimated peak memory exceeds this
    /// many bytes (`--max-memory`); nil = no check.
    public var maxMemoryBytes: Double? = nil

    public init(outputDirectory: URL, shard: Shard = .all, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                overwrite: Bool = false, progress: ((Int, Int) -> Void)? = nil) {
        self.outputDirectory = outputDirectory; self.shard = shard; self.threads = threads
        self.overwrite = overwrite; self.progress = progress
    }
}

/// What a run did.
public struct RunReport: Sendable {
    public var directory: URL
    public var jobCount: Int
    /// Jobs of this shard computed now / found done (resumed).
    public var computed: [Int]
    public var reused: [Int]
    /// Jobs of the whole experiment still missing in `directory` (other shards).
    public var missing: [Int]
    /// Whether every job was done and the final CSVs were written.
    public var complete: Bool { missing.isEmpty }
    /// The summary (empty unless complete).
    public var summary: [Summary.Line]
}

/// The output of one job: CSV records whose fields are already escaped
/// (`MetricRow.csvFields` convention), without the swept-key columns (the
/// runner inserts those after `cell`).
public struct JobResult: Sendable, Equatable {
    public var rows: [[String]]
    public var steps: [[String]]
    public init(rows: [[String]] = [], steps: [[String]] = []) { self.rows = rows; self.steps = steps }
}

/// Runs an `ExperimentPlan` into a run folder (SPEC §3 `run`).
///
/// * jobs = cells × seeds, `index = cell · |seeds| + seedIndex`; a job builds
///   its MDP, solves it, samples data, fits every learner and decodes every
///   prompt (`evaluate(job:)`, the one place with science in it);
/// * jobs run concurrently (`threads`), each writing its rows to its own part
///   file the moment it ends, so results are placed by job index and the
///   output bytes do not depend on the thread count or the order of
///   completion; an interrupted run resumes with the jobs that have no part;
/// * `--shard i/n` runs the jobs with `index % n == i`; when every job of the
///   experiment is present in the folder (all shards run into one folder, or
///   after `merge`), `rows.csv`, `steps.csv` and `summary.csv` are written by
///   concatenating the parts in job order — the same bytes in every case.
///
/// The folder's `config.resolved.yaml` is its identity: a folder holding a
/// different one is refused unless `overwrite`.
public final class ExperimentRunner: @unchecked Sendable {
    public let plan: ExperimentPlan

    public init(plan: ExperimentPlan) { self.plan = plan }

    /// The `config.resolved.yaml` text of this plan.
    public var resolvedYAML: String { plan.base.resolvedYAML() }

    /// `rows.csv` header: `JobRows.rowsHeader` with the swept keys after `cell`.
    public var rowsHeader: [String] { insertSweepColumns(JobRows.rowsHeader.map(CSV.escape), sweepKeys.map(CSV.escape)) }
    /// `steps.csv` header, or nil when `steps_csv` is off.
    public var stepsHeader: [String]? {
        plan.base.stepsCSV ? insertSweepColumns(JobRows.stepsHeader.map(CSV.escape), sweepKeys.map(CSV.escape)) : nil
    }
    var sweepKeys: [String] { plan.sweepKeys }

    /// Inserts `extra` after the second field (`experiment, cell`).
    func insertSweepColumns(_ fields: [String], _ extra: [String]) -> [String] {
        guard !extra.isEmpty else { return fields }
        return Array(fields.prefix(2)) + extra + Array(fields.dropFirst(2))
    }

    func directory(_ url: URL) -> RunDirectory { RunDirectory(url: url, jobCount: plan.jobCount) }

    // MARK: Running

    /// Runs this shard's unfinished jobs, then writes the final CSVs when the
    /// folder holds every job.
    ///
    /// Each job, on its worker thread, evaluates, renders its part files,
    /// writes them and parses its own summary contribution (`Summary.Part`);
    /// after the last job only the merge of those parts and the streaming
    /// concatenation of the part files remain, so a sweep scales with the
    /// threads. The bytes written do not depend on `threads`.
    public func run(_ options: RunOptions) throws -> RunReport {
        guard options.threads >= 1 else { throw ConfigError(key: "--threads", "must be ≥ 1, got \(options.threads)") }
        let dir = directory(options.outputDirectory)
        let rowsHeader = self.rowsHeader, stepsHeader = self.stepsHeader
        let mine = (0..<plan.jobCount).filter(options.shard.contains)
        if let limit = options.maxMemoryBytes {
            try plan.estimate().check(limit: limit, threads: min(options.threads, max(1, mine.count)))
        }
        try prepare(dir, overwrite: options.overwrite)
        let reused = mine.filter { dir.isDone($0, rowsHeader: rowsHeader, stepsHeader: stepsHeader) }
        let reusedSet = Set(reused)
        let todo = mine.filter { !reusedSet.contains($0) }

        final class State: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var finished = 0
            var error: Error?
            var parts: [Int: Summary.Part] = [:]
        }
        let state = State()
        let workers = max(1, min(options.threads, todo.count))
        let progress = options.progress
        let sweepKeys = self.sweepKeys
        let work = { (_: Int) in
            while true {
                state.lock.lock()
                guard state.error == nil, state.next < todo.count else { state.lock.unlock(); return }
                let j = todo[state.next]
                state.next += 1
                state.lock.unlock()
                let part: Summary.Part
                do {
                    let job = self.plan.job(j)
                    let result = try self.evaluate(job: job)
                    let (rows, steps) = try self.render(result, job: job, rowsHeader: rowsHeader, stepsHeader: stepsHeader)
                    try dir.writeJob(j, rows: rows, steps: steps)
                    part = try Summary.Part(rowsCSV: rows, sweepKeys: sweepKeys)
                } catch {
                    state.lock.lock()
                    if state.error == nil { state.error = self.attribute(error, job: self.plan.job(j)) }
                    state.lock.unlock()
                    return
                }
                state.lock.lock()
                state.parts[j] = part
                state.finished += 1
                progress?(state.finished, todo.count)
                state.lock.unlock()
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
        if let e = state.error { throw e }

        let missing = (0..<plan.jobCount).filter { !dir.isDone($0, rowsHeader: rowsHeader, stepsHeader: stepsHeader) }
        var summary: [Summary.Line] = []
        if missing.isEmpty { summary = try finalize(dir, knownParts: state.parts, threads: options.threads) }
        return RunReport(directory: dir.url, jobCount: plan.jobCount, computed: todo, reused: reused,
                         missing: missing, summary: summary)
    }

    /// Makes `dir` ready (SPEC §3: results are never replaced silently):
    ///
    /// * no run files there: creates it and writes `config.resolved.yaml`;
    /// * a `config.resolved.yaml` byte-identical to this plan's: resume;
    /// * a different or unreadable one, or run files (`rows.csv`,
    ///   `summary.csv`, `steps.csv`, `.parts/`) without one: refused unless
    ///   `overwrite`, which deletes only the run's own files.
    ///
    /// Then removes the temporary files (`.NAME.tmp-PID`) that a killed run
    /// left behind (those of processes that are no longer running).
    func prepare(_ dir: RunDirectory, overwrite: Bool) throws {
        let fm = FileManager.default
        let resolved = resolvedYAML
        if fm.fileExists(atPath: dir.resolvedConfig.path) {
            let old = try? String(contentsOf: dir.resolvedConfig, encoding: .utf8)
            if old == resolved {
                try dir.removeStaleTemporaryFiles()
                return
            }
            guard overwrite else {
                let why = old.map { "its config.resolved.yaml differs from this run's" + Self.firstDifference($0, resolved) }
                    ?? "its config.resolved.yaml is unreadable"
                throw ConfigError(key: "", "\(dir.url.path) holds a run of a different configuration (\(why)); pass --overwrite to replace it or choose another --out")
            }
            try dir.removeOwnedFiles()
        } else if let found = ([dir.parts, dir.rows, dir.summary, dir.steps]).first(where: { fm.fileExists(atPath: $0.path) }) {
            guard overwrite else {
                throw OutputError.exists(dir.url.path + " (it holds \(found.lastPathComponent) but no config.resolved.yaml)")
            }
            try dir.removeOwnedFiles()
        }
        try dir.removeStaleTemporaryFiles()
        try AtomicFile.write(resolved, to: dir.resolvedConfig)
    }

    /// ` at line N ("old" vs "new")` for the first line where two texts differ.
    static func firstDifference(_ a: String, _ b: String) -> String {
        let la = a.split(separator: "\n", omittingEmptySubsequences: false)
        let lb = b.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(la.count, lb.count) {
            let x = i < la.count ? String(la[i]) : "", y = i < lb.count ? String(lb[i]) : ""
            if x != y {
                func short(_ s: String) -> String { s.count > 50 ? String(s.prefix(47)) + "…" : s }
                return " at line \(i + 1): '\(short(x.trimmingCharacters(in: .whitespaces)))' there, '\(short(y.trimmingCharacters(in: .whitespaces)))' now"
            }
        }
        return ""
    }

    /// A job's part texts (header + records), swept values inserted.
    /// - Throws: `ExperimentError.job` if a field is NaN (the metrics never
    ///   produce one; this keeps a bug from reaching a CSV as `nan`).
    func render(_ r: JobResult, job: Job, rowsHeader: [String], stepsHeader: [String]?) throws -> (String, String?) {
        let values = plan.cells[job.cell].assignments.map { CSV.escape($0.value) }
        func check(_ fields: [String], _ header: [String]) throws {
            if let i = fields.firstIndex(of: "nan") {
                let name = i < header.count ? header[i] : "field \(i)"
                throw ExperimentError.job(index: job.index, cell: job.cell, seed: job.seed,
                                          message: "internal error: a NaN reached column \(name); refusing to write it")
            }
        }
        var rows = rowsHeader.joined(separator: ",") + "\n"
        for f in r.rows {
            try check(f, JobRows.rowsHeader)
            rows += insertSweepColumns(f, values).joined(separator: ",") + "\n"
        }
        guard let sh = stepsHeader else { return (rows, nil) }
        var steps = sh.joined(separator: ",") + "\n"
        for f in r.steps {
            try check(f, JobRows.stepsHeader)
            steps += insertSweepColumns(f, values).joined(separator: ",") + "\n"
        }
        return (rows, steps)
    }

    /// Names the job in an error, keeping input errors input errors (exit 2).
    func attribute(_ error: Error, job: Job) -> Error {
        let at = "job \(job.index) (cell \(job.cell), seed \(job.seed))"
        switch error {
        case let TokenMDPError.invalid(field, message): return TokenMDPError.invalid(field: field, message: "\(message) [\(at)]")
        case let TokenMDPError.tooLarge(message): return TokenMDPError.tooLarge(message: "\(message) [\(at)]")
        case var e as ConfigError: e.message += " [\(at)]"; return e
        case is OutputError, is ExperimentError: return error
        default: return ExperimentError.job(index: job.index, cell: job.cell, seed: job.seed, message: describe(error))
        }
    }

    /// Writes `rows.csv`, `steps.csv` (when enabled) and `summary.csv` from
    /// the parts, in job order. `knownParts` are summary parts already
    /// computed (by the jobs of this run); the others are parsed from the
    /// part files on `threads` threads. The part files are streamed into the
    /// final files, never held in memory together. Returns the summary.
    @discardableResult
    func finalize(_ dir: RunDirectory, knownParts: [Int: Summary.Part] = [:],
                  threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [Summary.Line] {
        let rh = rowsHeader
        try dir.concatenate(dir.rowsPart, header: rh, into: dir.rows)
        if let sh = stepsHeader { try dir.concatenate(dir.stepsPart, header: sh, into: dir.steps) }
        let parts = try summaryParts(dir, known: knownParts, threads: threads)
        let lines = try Summary.lines(parts: parts, sweepKeys: sweepKeys)
        var s = CSV.line(Summary.header(sweepKeys: sweepKeys))
        for l in lines { s += CSV.line(l.fields) }
        try AtomicFile.write(s, to: dir.summary)
        return lines
    }

    /// Every job's summary part, in job order: `known` ones as given, the
    /// rest parsed from their part files concurrently.
    func summaryParts(_ dir: RunDirectory, known: [Int: Summary.Part], threads: Int) throws -> [Summary.Part] {
        let jobCount = plan.jobCount, sweepKeys = self.sweepKeys
        let todo = (0..<jobCount).filter { known[$0] == nil }
        final class Box: @unchecked Sendable {
            var parts: [Summary.Part?]
            var error: Error?
            let lock = NSLock()
            init(_ n: Int) { parts = Array(repeating: nil, count: n) }
        }
        let box = Box(jobCount)
        for (j, p) in known { box.parts[j] = p }
        box.parts.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            parallelRanges(count: todo.count, threads: max(1, threads)) { lo, hi in
                for i in lo..<hi {
                    let j = todo[i]
                    do {
                        let url = dir.rowsPart(j)
                        let text: String
                        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
                            throw ExperimentError.incomplete("cannot read \(url.path) (\(error.localizedDescription))")
                        }
                        (base + j).pointee = try Summary.Part(rowsCSV: text, sweepKeys: sweepKeys)
                    } catch {
                        box.lock.lock(); if box.error == nil { box.error = error }; box.lock.unlock()
                        return
                    }
                }
            }
        }
        if let e = box.error { throw e }
        return box.parts.map { $0 ?? Summary.Part() }
    }

    // MARK: Merging shards

    /// Joins shard folders into `out` (SPEC §3 `merge`): every input must hold
    /// the same `config.resolved.yaml`; each job's parts are taken from the
    /// folder that has them (identical bytes required when several do), and
    /// the final CSVs are written exactly as an unsharded run writes them.
    public static func merge(_ inputs: [URL], into out: URL, overwrite: Bool = false) throws -> RunReport {
        guard !inputs.isEmpty else { throw ConfigError(key: "DIR", "merge needs at least one run folder") }
        var texts: [String] = []
        for d in inputs {
            let f = d.appendingPathComponent("config.resolved.yaml")
            guard let t = try? String(contentsOf: f, encoding: .utf8) else {
                throw ConfigError(key: "", "\(d.path) is not a run folder (no readable config.resolved.yaml)")
            }
            texts.append(t)
        }
        for (i, t) in texts.enumerated() where t != texts[0] {
            throw ConfigError(key: "", "\(inputs[i].path) and \(inputs[0].path) were run with different configurations (config.resolved.yaml differs)")
        }
        let doc = try ConfigDocument(yaml: texts[0], file: inputs[0].appendingPathComponent("config.resolved.yaml").path,
                                     baseDirectory: inputs[0])
        let runner = ExperimentRunner(plan: try ExperimentPlan(document: doc))
        guard runner.resolvedYAML == texts[0] else {
            throw ConfigError(key: "tool_version", "\(inputs[0].path) was written by a different version of tokenmdp (its resolved config does not round-trip); re-run it with this version")
        }
        let dest = runner.directory(out)
        try runner.prepare(dest, overwrite: overwrite)
        let rh = runner.rowsHeader, sh = runner.stepsHeader
        let sources = inputs.map(runner.directory)
        var missing: [Int] = []
        var copied: [Int] = []
        for j in 0..<runner.plan.jobCount {
            let have = sources.filter { $0.isDone(j, rowsHeader: rh, stepsHeader: sh) }
            guard let first = have.first else {
                if !dest.isDone(j, rowsHeader: rh, stepsHeader: sh) { missing.append(j) }
                continue
            }
            func read(_ u: URL) throws -> Data {
                do { return try Data(contentsOf: u) } catch { throw ExperimentError.incomplete("cannot read \(u.path)") }
            }
            let rows = try read(first.rowsPart(j))
            let steps = try sh.map { _ in try read(first.stepsPart(j)) }
            for other in have.dropFirst() where try read(other.rowsPart(j)) != rows {
                throw ExperimentError.incomplete("job \(j) differs between \(first.url.path) and \(other.url.path)")
            }
            if first.url != dest.url {
                if let steps { try AtomicFile.write(steps, to: dest.stepsPart(j)) }
                try AtomicFile.write(rows, to: dest.rowsPart(j))
                copied.append(j)
            }
        }
        guard missing.isEmpty else {
            throw ExperimentError.incomplete("cannot merge: \(missing.count) job(s) are in none of the folders (\(Self.listText(missing))); run the shards that hold them (job index % n == i)")
        }
        let summary = try runner.finalize(dest)
        return RunReport(directory: dest.url, jobCount: runner.plan.jobCount, computed: [], reused: copied,
                         missing: [], summary: summary)
    }

    static func listText(_ xs: [Int]) -> String {
        xs.count <= 10 ? xs.map(String.init).joined(separator: ", ") : xs.prefix(10).map(String.init).joined(separator: ", ") + ", …"
    }
}
