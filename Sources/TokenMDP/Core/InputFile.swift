import Foundation

/// Reads an input file (config, MDP, demonstrations) defensively: it must be
/// a regular file (not a folder, a FIFO or a device such as `/dev/zero`,
/// which would never end) and at most `maxBytes` long. Errors are one-line
/// messages without the path; callers wrap them in their own error type
/// naming the file.
public enum InputFile {
    /// Upper bound on any input file (4 GiB): larger files are refused before
    /// they are read.
    public static let defaultMaxBytes = 4 << 30

    /// The problem with reading `url`, as a message.
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// The file's bytes.
    /// - Throws: `Failure` when the file is missing, unreadable, not a
    ///   regular file, or larger than `maxBytes`.
    public static func read(_ url: URL, maxBytes: Int = defaultMaxBytes) throws -> Data {
        var st = stat()
        guard stat(url.path, &st) == 0 else {
            throw Failure(message: errno == ENOENT ? "no such file" : "cannot read it (\(String(cString: strerror(errno))))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw Failure(message: (st.st_mode & S_IFMT) == S_IFDIR ? "is a folder, not a file" : "is not a regular file")
        }
        guard st.st_size <= maxBytes else {
            throw Failure(message: "is \(st.st_size) bytes, larger than the limit of \(maxBytes) bytes")
        }
        guard let h = FileHandle(forReadingAtPath: url.path) else {
            throw Failure(message: "cannot open it for reading (\(String(cString: strerror(errno))))")
        }
        defer { try? h.close() }
        do {
            // Read one byte past the limit so a file that grew since stat() is still refused.
            let data = try h.read(upToCount: maxBytes + 1) ?? Data()
            guard data.count <= maxBytes else { throw Failure(message: "is larger than the limit of \(maxBytes) bytes") }
            return data
        } catch let f as Failure {
            throw f
        } catch {
            throw Failure(message: "cannot read it (\(error.localizedDescription))")
        }
    }
}
