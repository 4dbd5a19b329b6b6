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
/// the old file or none. Parent folders are created.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let fm = FileManager.default
        let dir = url.deletingLastPathComponent()
        do { try fm.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw OutputError.cannotWrite(dir.path, error.localizedDescription)
        }
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
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
            throw OutputError.cannotWrite(url.path, error.localizedDescription)
        }
    }

    public static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }
}
