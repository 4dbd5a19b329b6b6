import Foundation

/// Errors about output locations.
public enum OutputError: Error, CustomStringConvertible {
    case exists(String)
    case cannotWrite(String, String)
    public var description: String {
        switch self {
        case let .exists(p): return "\(p) already exists (pass --overwrite to replace it)"
        case let .cannotWrite(p, why): return "cannot write \(p): \(why)"
        }
    }
}

/// Writes files atomically: the bytes go to a temporary file in the same
/// folder (`.NAME.tmp-PID`), which is then renamed over the destination, so
/// a reader never sees a half-written file and an interruption leaves either
/// the old file or none. Parent folders are created. A process killed while
/// writing leaves its `.NAME.tmp-PID`; `RunDirectory.removeStaleTemporaryFiles`
/// deletes those of processes no longer running. (The guarantee is against a
/// killed process; surviving a power loss would also need fsync.)
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let fm = FileManager.default
        let dir = url.deletingLastPathComponent()
        do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw OutputError.cannotWrite(dir.path, reason(error))
        }
        let tmp = temporaryURL(for: url)
        do {
            try data.write(to: tmp)
            // rename(2) is atomic on POSIX file systems and replaces `url`.
            guard rename(tmp.path, url.path) == 0 else {
                throw OutputError.cannotWrite(url.path, String(cString: strerror(errno)))
            }
        } catch let e as OutputError {
            try? fm.removeItem(at: tmp)
            throw e
        } catch {
            try? fm.removeItem(at: tmp)
            throw OutputError.cannotWrite(url.path, reason(error))
        }
    }

    /// The most specific reason of a Foundation I/O error: the underlying
    /// POSIX error's text when there is one ("Not a directory"), rather than
    /// "The operation could not be completed".
    static func reason(_ error: Error) -> String {
        var e = error as NSError
        while let u = e.userInfo[NSUnderlyingErrorKey] as? NSError { e = u }
        if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
        return error.localizedDescription
    }

    public static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }

    /// Streams into a temporary file through `body`, then renames it over
    /// `url` (same guarantees as `write(_:to:)`; for files too large to
    /// assemble in memory).
    public static func write(to url: URL, _ body: (Sink) throws -> Void) throws {
        let fm = FileManager.default
        let dir = url.deletingLastPathComponent()
        do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw OutputError.cannotWrite(dir.path, reason(error))
        }
        let tmp = temporaryURL(for: url)
        guard fm.createFile(atPath: tmp.path, contents: nil), let h = FileHandle(forWritingAtPath: tmp.path) else {
            throw OutputError.cannotWrite(url.path, String(cString: strerror(errno)))
        }
        do {
            try body(Sink(handle: h, path: url.path))
            try h.close()
            guard rename(tmp.path, url.path) == 0 else {
                throw OutputError.cannotWrite(url.path, String(cString: strerror(errno)))
            }
        } catch {
            try? h.close()
            try? fm.removeItem(at: tmp)
            if error is OutputError || error is ExperimentError { throw error }
            throw OutputError.cannotWrite(url.path, reason(error))
        }
    }

    /// Where the bytes for `url` are written before the rename.
    static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent)\(tmpMarker)\(getpid())")
    }

    static let tmpMarker = ".tmp-"

    /// The writer's process id encoded in a temporary file name
    /// (`.NAME.tmp-PID`), or nil for any other name.
    public static func writerPID(ofTemporaryFile name: String) -> pid_t? {
        guard name.hasPrefix("."), let r = name.range(of: tmpMarker, options: .backwards),
              let pid = pid_t(name[r.upperBound...]), pid > 0 else { return nil }
        return pid
    }

    /// Whether a process with this id exists (`kill(pid, 0)`).
    public static func isRunning(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    /// An open temporary file being written.
    public struct Sink {
        let handle: FileHandle
        let path: String
        public func write(_ data: Data) throws {
            do { try handle.write(contentsOf: data) } catch {
                throw OutputError.cannotWrite(path, error.localizedDescription)
            }
        }
    }
}
