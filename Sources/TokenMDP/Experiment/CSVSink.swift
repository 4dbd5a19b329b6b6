import Foundation

/// CSV text (RFC 4180): fields separated by commas, a field quoted with `"`
/// when it holds a comma, a quote, a CR or a LF (quotes doubled inside),
/// lines ended by `\n`. Numbers are written by `formatNumber` (shortest
/// round-trip decimal), booleans as 0/1, missing values as empty fields.
public enum CSV {
    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One line, `\n`-terminated.
    public static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\n"
    }

    /// Parses CSV text into records (quotes honoured; a trailing newline ends
    /// the last record; `\r\n` accepted).
    public static func parse(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var inQuotes = false
        var atFieldStart = true
        var it = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return it.next()
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = n }
                    } else { inQuotes = false }
                } else { field.unicodeScalars.append(c) }
                continue
            }
            switch c {
            case "\"" where atFieldStart: inQuotes = true; atFieldStart = false
            case ",": record.append(field); field = ""; atFieldStart = true
            case "\r": continue
            case "\n":
                record.append(field); records.append(record)
                record = []; field = ""; atFieldStart = true
            default: field.unicodeScalars.append(c); atFieldStart = false
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }
}

/// A sink for one table: the one-method "write a row" interface (after
/// bsuite's logger), with the header fixed at creation.
public protocol RowSink {
    var header: [String] { get }
    mutating func write(_ fields: [String])
}

/// Collects CSV text in memory (one per job part file).
public struct CSVBuffer: RowSink {
    public let header: [String]
    public private(set) var text: String
    public private(set) var count = 0

    public init(header: [String]) {
        self.header = header
        self.text = CSV.line(header)
    }

    public mutating func write(_ fields: [String]) {
        precondition(fields.count == header.count, "row has \(fields.count) fields, the header \(header.count)")
        text += CSV.line(fields)
        count += 1
    }

    /// The text without the header line.
    public var body: Substring { text.drop { $0 != "\n" }.dropFirst() }
}

/// The layout of a run folder:
///
///     DIR/config.resolved.yaml      the configuration with every default (written first)
///     DIR/.parts/job-00012.csv      rows of job 12 (header + rows), written atomically when the job ends
///     DIR/.parts/job-00012.steps.csv   its steps (when steps_csv), written before the rows part
///     DIR/rows.csv, DIR/steps.csv, DIR/summary.csv   written when every job is done
///
/// A job is done when its rows part exists with the expected header (and
/// its steps part, when steps are written); an interrupted run resumes by
/// computing only the jobs that are not done.
public struct RunDirectory: Sendable {
    public let url: URL
    public let jobCount: Int

    public init(url: URL, jobCount: Int) {
        self.url = url.standardizedFileURL
        self.jobCount = jobCount
    }

    public var parts: URL { url.appendingPathComponent(".parts") }
    public var resolvedConfig: URL { url.appendingPathComponent("config.resolved.yaml") }
    public var rows: URL { url.appendingPathComponent("rows.csv") }
    public var steps: URL { url.appendingPathComponent("steps.csv") }
    public var summary: URL { url.appendingPathComponent("summary.csv") }
    /// Files `--overwrite` may delete (nothing else in DIR is touched).
    public var ownedFiles: [URL] { [resolvedConfig, rows, steps, summary] }

    var digits: Int { max(5, String(max(jobCount - 1, 0)).count) }

    func jobName(_ job: Int) -> String {
        let s = String(job)
        return "job-" + String(repeating: "0", count: max(0, digits - s.count)) + s
    }

    public func rowsPart(_ job: Int) -> URL { parts.appendingPathComponent(jobName(job) + ".csv") }
    public func stepsPart(_ job: Int) -> URL { parts.appendingPathComponent(jobName(job) + ".steps.csv") }

    /// Whether job `i` is done: its part file(s) exist and start with the
    /// expected header line(s).
    public func isDone(_ job: Int, rowsHeader: [String], stepsHeader: [String]?) -> Bool {
        guard Self.startsWith(rowsPart(job), CSV.line(rowsHeader)) else { return false }
        if let sh = stepsHeader { return Self.startsWith(stepsPart(job), CSV.line(sh)) }
        return true
    }

    static func startsWith(_ url: URL, _ prefix: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: url.path) else { return false }
        defer { try? h.close() }
        let want = Data(prefix.utf8)
        let got = (try? h.read(upToCount: want.count)) ?? Data()
        return got == want
    }

    /// Writes a job's parts: steps first, then rows (the rows part marks the
    /// job done), each atomically.
    public func writeJob(_ job: Int, rows: String, steps: String?) throws {
        if let steps { try AtomicFile.write(steps, to: stepsPart(job)) }
        try AtomicFile.write(rows, to: rowsPart(job))
    }

    /// Writes `header` and then the body of every job's part, in job order,
    /// into `dest` (atomically, streaming: one part in memory at a time).
    func concatenate(_ part: (Int) -> URL, header: [String], into dest: URL) throws {
        let headerLine = Data(CSV.line(header).utf8)
        try AtomicFile.write(to: dest) { out in
            try out.write(headerLine)
            for j in 0..<jobCount {
                let url = part(j)
                let data: Data
                do { data = try Data(contentsOf: url) } catch {
                    throw ExperimentError.incomplete("cannot read \(url.path) (\(error.localizedDescription))")
                }
                guard data.starts(with: headerLine) else {
                    throw ExperimentError.incomplete("\(url.path) does not start with the expected header")
                }
                try out.write(data.dropFirst(headerLine.count))
            }
        }
    }

    /// Removes the temporary files (`.NAME.tmp-PID`, see `AtomicFile`) in
    /// the folder and in `.parts/` whose writing process is no longer
    /// running: what a killed run leaves behind. Files of a live process
    /// (another run writing here now) are left alone.
    public func removeStaleTemporaryFiles() throws {
        let fm = FileManager.default
        for folder in [url, parts] {
            guard let names = try? fm.contentsOfDirectory(atPath: folder.path) else { continue }
            for name in names {
                guard let pid = AtomicFile.writerPID(ofTemporaryFile: name), !AtomicFile.isRunning(pid) else { continue }
                let f = folder.appendingPathComponent(name)
                do { try fm.removeItem(at: f) } catch {
                    throw OutputError.cannotWrite(f.path, "cannot remove a stale temporary file (\(error.localizedDescription))")
                }
            }
        }
    }

    /// Removes the files a run owns (for `--overwrite`).
    public func removeOwnedFiles() throws {
        let fm = FileManager.default
        for f in ownedFiles + [parts] where fm.fileExists(atPath: f.path) {
            do { try fm.removeItem(at: f) } catch {
                throw OutputError.cannotWrite(f.path, error.localizedDescription)
            }
        }
    }
}

/// Runtime failures of the experiment runner (exit code 1).
public enum ExperimentError: Error, CustomStringConvertible {
    /// Jobs missing or unreadable when joining parts.
    case incomplete(String)
    /// A job failed; names the job.
    case job(index: Int, cell: Int, seed: UInt64, message: String)

    public var description: String {
        switch self {
        case let .incomplete(m): return m
        case let .job(i, c, s, m): return "job \(i) (cell \(c), seed \(s)): \(m)"
        }
    }
}
