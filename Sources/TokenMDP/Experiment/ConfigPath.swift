import Foundation
import Yams

/// A dotted configuration key such as `learners.soc.lambda` (SPEC §3.1), the
/// one path language shared by `--set`, `sweep:` and error messages.
///
/// Resolution rules, applied component by component from the document root:
///
/// * on a **mapping**, a component is a key (created as an empty mapping on
///   the way down when a value is being *set* and the key is missing);
/// * on a **sequence**, a component is either a 0-based integer index, or it
///   selects the unique element whose `name` equals it (learners), or — when
///   no element has that name — the unique element whose `kind` equals it
///   (`decoders.beam.widths`);
/// * a component on a scalar is an error.
///
/// Keys containing dots cannot be addressed (no config key has one). Error
/// keys may also use the bracket form `learners[1].lambda`, which `parse`
/// accepts as well.
public struct ConfigPath: Hashable, Sendable, CustomStringConvertible {
    public var components: [String]

    public init(components: [String]) { self.components = components }

    /// The most components a dotted key may have.
    public static let maxComponents = 16

    /// Parses `a.b.c`, `a[1].b` or `a.1.b`. Empty components are an error.
    public init(parsing text: String) throws {
        var comps: [String] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            var p = Substring(part)
            // Split off any `[i]` suffixes: `learners[1]` → `learners`, `1`.
            var brackets: [String] = []
            while p.hasSuffix("]"), let open = p.lastIndex(of: "[") {
                brackets.insert(String(p[p.index(after: open)..<p.index(before: p.endIndex)]), at: 0)
                p = p[..<open]
            }
            guard !p.isEmpty || !brackets.isEmpty, brackets.allSatisfy({ !$0.isEmpty }) else {
                throw ConfigError(key: text, "not a valid dotted key (empty component)")
            }
            if !p.isEmpty { comps.append(String(p)) }
            comps.append(contentsOf: brackets)
        }
        guard !comps.isEmpty else { throw ConfigError(key: text, "not a valid dotted key") }
        // Every real key has ≤ 5 components; a bound keeps the recursive
        // tree walks shallow whatever `--set` is given.
        guard comps.count <= Self.maxComponents else {
            throw ConfigError(key: String(text.prefix(60)), "not a valid dotted key (more than \(Self.maxComponents) components)")
        }
        self.components = comps
    }

    public var description: String { components.joined(separator: ".") }
}

/// Helpers on the YAML node tree (internal plumbing of the config loader).
enum ConfigNode {
    /// The string of a mapping key (nil for non-scalar keys).
    static func keyString(_ k: Node) -> String? { k.scalar?.string }

    /// Pairs of a mapping in file order.
    static func pairs(_ m: Node.Mapping) -> [(key: Node, value: Node)] { m.map { ($0.key, $0.value) } }

    /// The value at `key` in a mapping node (by string comparison, so tags
    /// never matter), or nil.
    static func child(_ node: Node, key: String) -> Node? {
        guard case let .mapping(m) = node else { return nil }
        return m.first { keyString($0.key) == key }?.value
    }

    /// The line (1-based) of a mapping *key* in the tree, when known.
    static func keyLine(_ node: Node, key: String) -> Int? {
        guard case let .mapping(m) = node else { return nil }
        return m.first { keyString($0.key) == key }?.key.mark?.line
    }

    /// Index of the element of a sequence that a path component selects.
    static func select(_ seq: Node.Sequence, _ comp: String, pathSoFar: String) throws -> Int {
        if let i = Int(comp) {
            guard i >= 0 && i < seq.count else {
                throw ConfigError(key: pathSoFar, "index \(i) is out of range (the list has \(seq.count) element(s))")
            }
            return i
        }
        for field in ["name", "kind"] {
            let hits = seq.indices.filter { child(seq[$0], key: field)?.scalar?.string == comp }
            if hits.count == 1 { return hits[0] }
            if hits.count > 1 { throw ConfigError(key: pathSoFar, "\(hits.count) elements have \(field) '\(comp)'; use an index") }
        }
        let names = seq.compactMap { child($0, key: "name")?.scalar?.string ?? child($0, key: "kind")?.scalar?.string }
        throw ConfigError(key: pathSoFar, "no element named '\(comp)'" + (names.isEmpty ? "" : " (have: \(names.joined(separator: ", ")))"))
    }

    /// The node at `path`, or nil if a mapping key along the way is missing.
    /// Throws when a component cannot apply (index on a scalar, unknown name).
    static func get(_ root: Node, _ path: ConfigPath) throws -> Node? {
        var node = root
        var soFar: [String] = []
        for comp in path.components {
            soFar.append(comp)
            switch node {
            case let .mapping(m):
                guard let v = m.first(where: { keyString($0.key) == comp })?.value else { return nil }
                node = v
            case let .sequence(s):
                node = s[try select(s, comp, pathSoFar: soFar.joined(separator: "."))]
            default:
                throw ConfigError(key: soFar.joined(separator: "."), "'\(soFar.dropLast().joined(separator: "."))' is not a mapping or list")
            }
        }
        return node
    }

    /// Best-effort line of `path` (the key's line when the last step is a
    /// mapping key, else the node's line; falls back to the deepest known
    /// ancestor).
    static func line(_ root: Node, _ path: ConfigPath) -> Int? {
        var node = root
        var best: Int? = nil  // a key absent from the file (set by --set) has no line
        for comp in path.components {
            switch node {
            case let .mapping(m):
                guard let pair = m.first(where: { keyString($0.key) == comp }) else { return best }
                best = pair.key.mark?.line ?? best
                node = pair.value
            case let .sequence(s):
                guard let i = try? select(s, comp, pathSoFar: "") else { return best }
                node = s[i]
                best = node.mark?.line ?? best
            default:
                return best
            }
        }
        return best
    }

    /// `path` with every list selection turned into its index (`learners.soc`
    /// → `learners.1`), or nil when it does not resolve; two paths that
    /// address the same node have the same canonical form.
    static func canonical(_ root: Node, _ path: ConfigPath) -> [String]? {
        var node = root
        var out: [String] = []
        for comp in path.components {
            switch node {
            case let .mapping(m):
                guard let v = m.first(where: { keyString($0.key) == comp })?.value else { return nil }
                node = v
                out.append(comp)
            case let .sequence(s):
                guard let i = try? select(s, comp, pathSoFar: "") else { return nil }
                node = s[i]
                out.append(String(i))
            default:
                return nil
            }
        }
        return out
    }

    /// A copy of a tree without source marks (for synthetic nodes).
    static func strippingMarks(_ node: Node) -> Node {
        switch node {
        case var .scalar(s): s.mark = nil; return .scalar(s)
        case let .mapping(m):
            return .mapping(Node.Mapping(pairs(m).map { (strippingMarks($0.key), strippingMarks($0.value)) }, m.tag, m.style, nil))
        case let .sequence(s):
            return .sequence(Node.Sequence(s.map(strippingMarks), s.tag, s.style, nil))
        case .alias: return node
        }
    }

    /// Returns `root` with the node at `path` replaced by (or set to) `value`.
    /// Missing mapping keys are created (as mappings on the way down).
    static func setting(_ root: Node, _ path: ConfigPath, to value: Node) throws -> Node {
        try set(root, path.components[...], value, soFar: [])
    }

    private static func set(_ node: Node, _ comps: ArraySlice<String>, _ value: Node, soFar: [String]) throws -> Node {
        guard let comp = comps.first else { return value }
        let here = soFar + [comp]
        let rest = comps.dropFirst()
        switch node {
        case let .mapping(m):
            var pairs = pairs(m)
            if let i = pairs.firstIndex(where: { keyString($0.key) == comp }) {
                pairs[i].value = try set(pairs[i].value, rest, value, soFar: here)
            } else {
                let fresh = try set(.mapping(Node.Mapping([])), rest, value, soFar: here)
                pairs.append((Node(comp), fresh))
            }
            return .mapping(Node.Mapping(pairs.map { ($0.key, $0.value) }, m.tag, m.style, m.mark))
        case var .sequence(s):
            let i = try select(s, comp, pathSoFar: here.joined(separator: "."))
            s[i] = try set(s[i], rest, value, soFar: here)
            return .sequence(s)
        case .scalar where isNull(node):
            // An explicit null block (`prior:` with nothing under it) is an empty mapping.
            return try set(.mapping(Node.Mapping([])), comps, value, soFar: soFar)
        default:
            throw ConfigError(key: here.joined(separator: "."),
                              "cannot set '\(comp)' inside '\(soFar.joined(separator: "."))', which is not a mapping or list")
        }
    }

    /// Removes a top-level key from a mapping node (returns the removed value).
    static func removing(_ root: Node, key: String) -> (Node, Node?) {
        guard case let .mapping(m) = root else { return (root, nil) }
        var ps = pairs(m)
        guard let i = ps.firstIndex(where: { keyString($0.key) == key }) else { return (root, nil) }
        let v = ps.remove(at: i).value
        return (.mapping(Node.Mapping(ps.map { ($0.key, $0.value) }, m.tag, m.style, m.mark)), v)
    }

    /// Rejects duplicate mapping keys anywhere in the tree (libyaml keeps
    /// both, and a silent "last one wins" hides typos).
    static func checkDuplicateKeys(_ node: Node, path: [String] = []) throws {
        switch node {
        case let .mapping(m):
            var seen = Set<String>()
            for (k, v) in pairs(m) {
                let ks = keyString(k) ?? "?"
                let here = path + [ks]
                if !seen.insert(ks).inserted {
                    throw ConfigError(key: here.joined(separator: "."), "duplicate key", line: k.mark?.line)
                }
                try checkDuplicateKeys(v, path: here)
            }
        case let .sequence(s):
            for (i, v) in s.enumerated() { try checkDuplicateKeys(v, path: path + ["\(i)"]) }
        default: break
        }
    }

    /// Whether a node is a YAML null (`~`, `null`, or nothing).
    static func isNull(_ node: Node) -> Bool {
        guard case let .scalar(s) = node else { return false }
        if s.style == .singleQuoted || s.style == .doubleQuoted { return false }
        return s.string.isEmpty || ["~", "null", "Null", "NULL"].contains(s.string)
    }

    /// A compact one-line YAML flow rendering of a node, used for sweep
    /// values in CSV columns and in `config.resolved.yaml`. Re-parsing the
    /// text gives back an equal value for the scalars, lists and mappings a
    /// config contains.
    static func flowText(_ node: Node) -> String {
        switch node {
        case let .scalar(s):
            let t = s.string
            let quoted = s.style == .singleQuoted || s.style == .doubleQuoted
            let needsQuotes = t.isEmpty || (quoted && looksLikeNonString(t)) || t.hasPrefix(" ") || t.hasSuffix(" ")
                || t.contains(where: { ",:{}[]#&*!|>'\"%@`\n\\".contains($0) })
            if !needsQuotes { return t }
            return "\"" + t.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n") + "\""
        case let .sequence(s):
            return "[" + s.map(flowText).joined(separator: ", ") + "]"
        case let .mapping(m):
            return "{" + pairs(m).map { flowText($0.key) + ": " + flowText($0.value) }.joined(separator: ", ") + "}"
        case .alias:
            return "*alias"
        }
    }

    private static func looksLikeNonString(_ t: String) -> Bool {
        Double(t) != nil || ["true", "false", "yes", "no", "on", "off", "null", "~"].contains(t.lowercased())
    }

    /// Parses a `--set` value (a YAML scalar or flow collection).
    static func parseValue(_ text: String, key: String) throws -> Node {
        if text.trimmingCharacters(in: .whitespaces).isEmpty { return Node("", Tag(.null)) }
        try YAMLLimits.check(text, key: key)
        do {
            guard let n = try Yams.compose(yaml: text) else { return Node("", Tag(.null)) }
            return strippingMarks(n)  // its lines would point into the --set text
        } catch {
            let shown = text.count > 60 ? String(text.prefix(57)) + "…" : text
            throw ConfigError(key: key, "cannot parse the value '\(oneLine(shown))' as YAML (\(yamlProblem(error)))")
        }
    }

    /// A YAML error as one line: the problem and its column (for `--set`
    /// values, which are one line) — never Yams's multi-line snippet.
    static func yamlProblem(_ error: Error) -> String {
        switch error {
        case let YamlError.scanner(_, problem, mark, _), let YamlError.parser(_, problem, mark, _),
             let YamlError.composer(_, problem, mark, _):
            return "\(problem) at column \(mark.column)"
        case let YamlError.reader(problem, _, _, _): return problem
        case let YamlError.duplicatedKeysInMapping(duplicates, _): return "duplicate key \(duplicates.sorted().first ?? "")"
        default: return oneLine(String(describing: error))
        }
    }

    static func oneLine(_ s: String) -> String { escapingControlCharacters(s) }
}
