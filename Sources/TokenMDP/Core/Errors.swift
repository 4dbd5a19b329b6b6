import Foundation

/// Version of the tool, written into every `config.resolved.yaml`.
public enum TokenMDPVersion {
    public static let string = "0.1.0"
}

/// One-line description of any error for the command line. Control
/// characters a message may quote from the input (a newline inside a YAML
/// string, a NUL byte) are escaped, so an error is always exactly one line.
public func describe(_ error: Error) -> String {
    if let d = error as? DecodingError { return escapingControlCharacters(describeDecodingError(d)) }
    return escapingControlCharacters(String(describing: error))
}

/// `text` with CR, LF and other control characters escaped (`\n`, `\u{0}`).
public func escapingControlCharacters(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return text }
    var out = ""
    for u in text.unicodeScalars {
        switch u {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.properties.generalCategory == .control { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
        }
    }
    return out
}

/// Whether an error is about bad input (exit 2) rather than a runtime failure (exit 1).
public func isInputError(_ error: Error) -> Bool {
    switch error {
    case is TokenMDPError, is JSONParseError, is ConfigError, is DecodingError: return true
    case let o as OutputError: if case .exists = o { return true } else { return false }
    default: return false
    }
}

/// An error in a configuration (YAML, `--set`, sweep), naming the key.
public struct ConfigError: Error, CustomStringConvertible {
    public var key: String
    public var message: String
    public var file: String?
    public var line: Int?
    public init(key: String, _ message: String, file: String? = nil, line: Int? = nil) {
        self.key = key; self.message = message; self.file = file; self.line = line
    }
    public var description: String {
        var loc = ""
        if let file { loc += file }
        if let line { loc += (loc.isEmpty ? "line \(line)" : ":\(line)") }
        return escapingControlCharacters((loc.isEmpty ? "" : loc + ": ") + (key.isEmpty ? "" : "\(key): ") + message)
    }
}

/// `DecodingError` as "key.path: what was wrong".
public func describeDecodingError(_ e: DecodingError) -> String {
    func path(_ c: [CodingKey]) -> String {
        c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
    switch e {
    case let .typeMismatch(t, c): return "\(path(c.codingPath)): expected \(t) (\(c.debugDescription))"
    case let .valueNotFound(t, c): return "\(path(c.codingPath)): missing value of type \(t)"
    case let .keyNotFound(k, c): return "\(path(c.codingPath + [k])): missing required key"
    case let .dataCorrupted(c):
        let under = (c.underlyingError.map { " (\($0))" } ?? "")
        return "\(path(c.codingPath)): \(c.debugDescription)\(under)"
    @unknown default: return "\(e)"
    }
}
