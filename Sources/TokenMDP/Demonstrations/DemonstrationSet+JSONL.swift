import Foundation

/// JSON Lines import/export of demonstrations (SPEC §2.4).
///
///     {"prompt": 0, "tokens": [3, 1, 4]}
///     {"prompt": 2, "tokens": [0, 7]}
///
/// One object per line with exactly the keys `prompt` (an integer prompt
/// index) and `tokens` (an array of integer token ids); unknown keys are
/// errors (they are usually typos, e.g. `token`). Blank lines are skipped.
/// Lines are numbered from 1. Every demonstration must satisfy the rules of
/// `DemonstrationSet` (train prompts only — a demonstration for a test
/// prompt is an error; non-empty; length ≤ H; tokens in range; EOS only
/// last; complete).
extension DemonstrationSet {
    /// Parses JSONL text and validates every line against `mdp`.
    /// - Parameter source: a name for messages (e.g. the file path), or nil.
    /// - Throws: `TokenMDPError.invalid` with field `SOURCE:LINE: FIELD`
    ///   (e.g. `demos.jsonl:3: tokens[2]`) naming the first problem.
    /// - Complexity: O(total characters).
    public static func parseJSONL(_ text: String, mdp: TokenMDP, source: String? = nil) throws -> DemonstrationSet {
        var demos: [Demonstration] = []
        var lineNumber = 0
        func where_(_ field: String) -> String {
            (source.map { "\($0):\(lineNumber)" } ?? "line \(lineNumber)") + (field.isEmpty ? "" : ": \(field)")
        }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            let value: JSONValue
            do { value = try JSONParser.parse(String(line)) } catch let e as JSONParseError {
                throw TokenMDPError.invalid(field: where_(""), message: "invalid JSON at column \(e.column): \(e.message)")
            }
            guard case let .object(pairs) = value else {
                throw TokenMDPError.invalid(field: where_(""), message: "expected an object {\"prompt\": i, \"tokens\": [..]}, got \(value.typeName)")
            }
            for (k, _) in pairs where k != "prompt" && k != "tokens" {
                throw TokenMDPError.invalid(field: where_(k), message: "unknown key (allowed: prompt, tokens)")
            }
            guard let p = value["prompt"] else { throw TokenMDPError.invalid(field: where_("prompt"), message: "missing required key") }
            guard let t = value["tokens"] else { throw TokenMDPError.invalid(field: where_("tokens"), message: "missing required key") }
            guard let prompt = integer(p) else {
                throw TokenMDPError.invalid(field: where_("prompt"), message: "expected an integer, got \(describe(p))")
            }
            guard case let .array(items) = t else {
                throw TokenMDPError.invalid(field: where_("tokens"), message: "expected an array of integers, got \(t.typeName)")
            }
            var tokens: [TokenID] = []
            tokens.reserveCapacity(items.count)
            for (j, item) in items.enumerated() {
                guard let a = integer(item) else {
                    throw TokenMDPError.invalid(field: where_("tokens[\(j)]"), message: "expected an integer token id, got \(describe(item))")
                }
                tokens.append(a)
            }
            let d = Demonstration(prompt: prompt, tokens: tokens)
            if let (field, message) = problem(with: d, mdp: mdp) {
                throw TokenMDPError.invalid(field: where_(field), message: message)
            }
            demos.append(d)
        }
        return DemonstrationSet(demos)
    }

    /// Reads and validates a JSONL file (see `parseJSONL`).
    public static func load(contentsOf url: URL, mdp: TokenMDP) throws -> DemonstrationSet {
        let data: Data
        do { data = try InputFile.read(url) } catch {
            throw TokenMDPError.invalid(field: url.path, message: "cannot read the demonstrations file: \(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenMDPError.invalid(field: url.path, message: "the demonstrations file is not valid UTF-8")
        }
        return try parseJSONL(text, mdp: mdp, source: url.lastPathComponent)
    }

    /// The set as JSONL, one `{"prompt": i, "tokens": [..]}` per line, each
    /// line ending in `\n`, in the set's order. `parseJSONL` reads it back
    /// to an equal set.
    public func jsonl() -> String {
        var out = ""
        for d in demonstrations {
            out += "{\"prompt\": \(d.prompt), \"tokens\": ["
            out += d.tokens.map(String.init).joined(separator: ", ")
            out += "]}\n"
        }
        return out
    }

    /// Writes `jsonl()` atomically (see `AtomicFile`).
    public func write(to url: URL) throws { try AtomicFile.write(jsonl(), to: url) }

    /// An exact integer from a JSON number literal (no fraction, no exponent
    /// that leaves a fraction, within ±2⁵³), else nil.
    private static func integer(_ v: JSONValue) -> Int? {
        guard case let .number(d, _) = v, d == d.rounded(), Swift.abs(d) <= 9_007_199_254_740_992 else { return nil }
        return Int(d)
    }

    private static func describe(_ v: JSONValue) -> String {
        if case let .number(_, literal) = v { return literal }
        return v.typeName
    }
}
