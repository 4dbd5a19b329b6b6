import Foundation
import Yams

/// A parsed config file as a YAML node tree, before decoding.
///
/// Keeping the tree (rather than decoding at once) lets `--set` overrides
/// and sweep assignments be applied on the tree with the `ConfigPath` rule,
/// and lets every error point at a line. The steps, in order:
///
/// 1. `load` / `init(yaml:)`: parse; the root must be a mapping; duplicate
///    keys anywhere are rejected.
/// 2. `applying(overrides:)`: each `key=value` (value parsed as YAML) is set
///    at its dotted path (`sweep.KEY=[…]` sets a whole sweep axis).
/// 3. `decode()`: strict Codable decoding of everything but `sweep`, relative
///    paths resolved against the config's folder, `validate()`.
/// 4. `cells()` (in `Sweep.swift`): the sweep grid, each cell decoded and
///    validated on its own tree.
public struct ConfigDocument {
    public private(set) var root: Node
    /// The file name used in messages (nil for in-memory YAML).
    public let file: String?
    public let baseDirectory: URL

    /// Parses YAML text. `baseDirectory` is the folder relative paths resolve against.
    public init(yaml: String, file: String? = nil, baseDirectory: URL) throws {
        self.file = file
        self.baseDirectory = baseDirectory
        try YAMLLimits.check(yaml, file: file)
        let parsed: Node?
        do { parsed = try Yams.compose(yaml: yaml) } catch let e as YamlError {
            switch e {
            case let .duplicatedKeysInMapping(duplicates, context):
                throw ConfigError(key: duplicates.sorted().first ?? "", "duplicate key in the mapping that starts at line \(context.mark.line)",
                                  file: file, line: context.mark.line)
            case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
                throw ConfigError(key: "", "not valid YAML: \(ConfigNode.oneLine(problem))", file: file, line: mark.line)
            default:
                throw ConfigError(key: "", "not valid YAML: \(ConfigNode.yamlProblem(e))", file: file)
            }
        } catch {
            throw ConfigError(key: "", "not valid YAML: \(ConfigNode.yamlProblem(error))", file: file)
        }
        guard let root = parsed, case .mapping = root else {
            throw ConfigError(key: "", "the config must be a YAML mapping (name:, seeds:, mdp:, …)", file: file, line: parsed?.mark?.line)
        }
        do { try ConfigNode.checkDuplicateKeys(root) } catch var e as ConfigError {
            e.file = file
            throw e
        }
        self.root = root
    }

    /// Reads a config file; relative paths in it resolve against its folder.
    public static func load(contentsOf url: URL) throws -> ConfigDocument {
        let data: Data
        do { data = try InputFile.read(url, maxBytes: YAMLLimits.maxBytes) } catch {
            throw ConfigError(key: "", "cannot read the config file \(url.path): \(error)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "", "the config file is not valid UTF-8 text", file: url.lastPathComponent)
        }
        return try ConfigDocument(yaml: text, file: url.lastPathComponent,
                                  baseDirectory: url.deletingLastPathComponent().standardizedFileURL)
    }

    /// Applies `key=value` overrides in order (SPEC §3 `--set`).
    public func applying(overrides: [String]) throws -> ConfigDocument {
        var d = self
        for o in overrides { try d.apply(override: o) }
        return d
    }

    /// Applies one `key=value` override.
    public mutating func apply(override text: String) throws {
        guard let eq = text.firstIndex(of: "=") else {
            throw ConfigError(key: text, "--set expects key=value (e.g. --set learners.soc.lambda=0.3)")
        }
        let key = String(text[..<eq]).trimmingCharacters(in: .whitespaces)
        let value = try ConfigNode.parseValue(String(text[text.index(after: eq)...]), key: key)
        do {
            if key.hasPrefix("sweep.") {
                let axis = String(key.dropFirst("sweep.".count))
                _ = try ConfigPath(parsing: axis)
                root = try ConfigNode.setting(root, ConfigPath(components: ["sweep"]),
                                              to: ConfigNode.setting(ConfigNode.child(root, key: "sweep") ?? .mapping(Node.Mapping([])),
                                                                     ConfigPath(components: [axis]), to: value))
            } else {
                root = try setting(root, try ConfigPath(parsing: key), to: value)
            }
        } catch var e as ConfigError {
            e.message = "--set \(key): " + e.message
            throw e
        }
    }

    /// Sets a value on a tree, first materialising a defaulted `learners` /
    /// `decoders` list so that `learners.soc.lambda` works without a
    /// `learners:` block.
    func setting(_ tree: Node, _ path: ConfigPath, to value: Node) throws -> Node {
        var t = tree
        if let first = path.components.first, path.components.count > 1, ConfigNode.child(t, key: first) == nil,
           let text = Self.defaultLists[first], let def = try Yams.compose(yaml: text) {
            // Synthetic nodes carry no marks (their lines would point into `text`).
            t = try ConfigNode.setting(t, ConfigPath(components: [first]), to: ConfigNode.strippingMarks(def))
        }
        return try ConfigNode.setting(t, path, to: value)
    }

    /// The default lists, as YAML (must agree with `ExperimentConfig()`).
    static let defaultLists = [
        "learners": "[{name: sft, lambda: 0.0}, {name: soc, lambda: 0.2}]",
        "decoders": "[{kind: beam, widths: [1, 2, 4, 8]}]",
    ]

    // MARK: Decoding

    /// The tree without its `sweep:` block.
    var rootWithoutSweep: Node { ConfigNode.removing(root, key: "sweep").0 }

    /// The sweep axes in mapping order, each a path and its value nodes.
    func sweepAxes() throws -> [(path: ConfigPath, key: String, values: [Node], keyLine: Int?)] {
        guard let sweep = ConfigNode.child(root, key: "sweep"), !ConfigNode.isNull(sweep) else { return [] }
        guard case let .mapping(m) = sweep else {
            throw ConfigError(key: "sweep", "must be a mapping from dotted keys to lists of values", file: file, line: sweep.mark?.line)
        }
        return try ConfigNode.pairs(m).map { k, v in
            let key = ConfigNode.keyString(k) ?? ""
            let path: ConfigPath
            do { path = try ConfigPath(parsing: key) } catch var e as ConfigError {
                e.key = "sweep.\(key)"; e.file = file; e.line = k.mark?.line
                throw e
            }
            let forbidden = ["name", "seeds", "sweep", "output", "tool_version", "steps_csv"]
            if forbidden.contains(path.components[0]) {
                throw ConfigError(key: "sweep.\(key)", "'\(path.components[0])' cannot be swept", file: file, line: k.mark?.line)
            }
            guard case let .sequence(s) = v, !s.isEmpty else {
                throw ConfigError(key: "sweep.\(key)", "must be a non-empty list of values", file: file, line: v.mark?.line ?? k.mark?.line)
            }
            return (path, key, Array(s), k.mark?.line)
        }
    }

    /// Decodes and validates the base configuration (the sweep is recorded
    /// in `sweep` but not applied).
    public func decode() throws -> ExperimentConfig {
        let axes = try sweepAxes()
        var c = try decodeConfig(tree: rootWithoutSweep)
        c.sweep = axes.map { SweepAxis(key: $0.key, values: $0.values.map(ConfigNode.flowText)) }
        try mapErrors(tree: root) { try c.validate() }
        return c
    }

    /// Decodes a tree into a config with paths resolved (not validated).
    func decodeConfig(tree: Node) throws -> ExperimentConfig {
        var c: ExperimentConfig = try mapErrors(tree: tree) { try YAMLDecoder().decode(ExperimentConfig.self, from: tree) }
        c.baseDirectory = baseDirectory
        if case let .file(p) = c.mdp.source { c.mdp.source = .file(c.resolvePath(p).path) }
        if let p = c.expert.demosFile { c.expert.demosFile = c.resolvePath(p).path }
        return c
    }

    /// Decodes only the `mdp:` block (all `generate` needs). Unknown root
    /// keys are still errors; other blocks are not decoded.
    public func decodeMDP() throws -> MDPConfig {
        if case let .mapping(m) = root {
            for (k, _) in ConfigNode.pairs(m) where !ExperimentConfig.rootKeys.contains(ConfigNode.keyString(k) ?? "") {
                throw ConfigError(key: ConfigNode.keyString(k) ?? "?", "unknown key in the config (known keys: \(ExperimentConfig.rootKeys.joined(separator: ", ")))",
                                  file: file, line: k.mark?.line)
            }
        }
        let node = ConfigNode.child(root, key: "mdp") ?? .mapping(Node.Mapping([]))
        var m: MDPConfig = try mapErrors(tree: root) {
            do { return try YAMLDecoder().decode(MDPConfig.self, from: node) } catch let DecodingError.typeMismatch(t, ctx) {
                throw DecodingError.typeMismatch(t, .init(codingPath: [AnyCodingKey("mdp")] + ctx.codingPath, debugDescription: ctx.debugDescription))
            } catch let DecodingError.dataCorrupted(ctx) {
                throw DecodingError.dataCorrupted(.init(codingPath: [AnyCodingKey("mdp")] + ctx.codingPath, debugDescription: ctx.debugDescription))
            } catch let DecodingError.keyNotFound(k, ctx) {
                throw DecodingError.keyNotFound(k, .init(codingPath: [AnyCodingKey("mdp")] + ctx.codingPath, debugDescription: ctx.debugDescription))
            }
        }
        if case let .file(p) = m.source {
            var c = ExperimentConfig(); c.baseDirectory = baseDirectory
            m.source = .file(c.resolvePath(p).path)
        }
        return m
    }

    /// The size of the `mdp:` block's generated MDP (nil for an `mdp.file`),
    /// from its parameters alone; parameter errors name the key and line.
    public func generatorShape() throws -> MDPShape? {
        guard case let .generator(g) = try decodeMDP().source else { return nil }
        return try mapErrors(tree: root) { try g.shape() }
    }

    /// The MDP `generate` writes: the `mdp:` block built for run seed
    /// `seed` (default: the first of `seeds`, or 0), exactly as `run` builds
    /// it for that seed. Returns the MDP and the run seed used.
    public func generateMDP(runSeed seed: UInt64? = nil) throws -> (mdp: TokenMDP, runSeed: UInt64) {
        let m = try decodeMDP()
        var s = seed ?? 0
        if seed == nil, let first = ConfigNode.child(root, key: "seeds")?.sequence?.first {
            guard let i = first.int, i >= 0 else {
                throw ConfigError(key: "seeds[0]", "must be a non-negative integer", file: file, line: first.mark?.line)
            }
            s = UInt64(i)
        }
        let mdp = try mapErrors(tree: root) { try m.build(runSeed: s) }
        return (mdp, s)
    }

    /// Runs `body`, turning `DecodingError`, `TokenMDPError` (generator
    /// parameters) and line-less `ConfigError`s into `ConfigError`s with the
    /// key, the file and the line found in `tree`.
    func mapErrors<T>(tree: Node, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as DecodingError {
            throw configError(e, tree: tree)
        } catch var e as ConfigError {
            if e.line == nil, let p = try? ConfigPath(parsing: e.key) { e.line = ConfigNode.line(tree, p) }
            if e.file == nil { e.file = file }
            throw e
        } catch let TokenMDPError.invalid(field, message) where field.hasPrefix("mdp") {
            let line = (try? ConfigPath(parsing: field)).flatMap { ConfigNode.line(tree, $0) }
            throw ConfigError(key: field, message, file: file, line: line)
        } catch let TokenMDPError.tooLarge(message) where message.hasPrefix("mdp: ") {
            throw ConfigError(key: "mdp", String(message.dropFirst("mdp: ".count)), file: file,
                              line: ConfigNode.line(tree, ConfigPath(components: ["mdp"])))
        }
    }

    func configError(_ e: DecodingError, tree: Node) -> ConfigError {
        func comps(_ c: [CodingKey]) -> [String] { c.map { $0.intValue.map(String.init) ?? $0.stringValue } }
        func keyText(_ c: [String], _ keys: [CodingKey]) -> String {
            zip(c, keys).reduce("") { acc, p in p.1.intValue != nil ? acc + "[\(p.0)]" : (acc.isEmpty ? p.0 : acc + "." + p.0) }
        }
        let (keys, message): ([CodingKey], String)
        switch e {
        case let .typeMismatch(t, ctx):
            let found = (try? ConfigNode.get(tree, ConfigPath(components: comps(ctx.codingPath)))).flatMap { $0 }
            let got = found.map { n -> String in
                let s = ConfigNode.flowText(n)
                return s.count > 40 ? String(s.prefix(37)) + "…" : s
            }
            keys = ctx.codingPath
            message = "expected \(Self.typeDescription(t))" + (got.map { ", got \($0)" } ?? "")
        case let .valueNotFound(t, ctx):
            keys = ctx.codingPath
            message = "missing value (expected \(Self.typeDescription(t)))"
        case let .keyNotFound(k, ctx):
            keys = ctx.codingPath + [k]
            message = "missing required key"
        case let .dataCorrupted(ctx):
            keys = ctx.codingPath
            message = ctx.debugDescription
        @unknown default:
            return ConfigError(key: "", describe(e), file: file)
        }
        let c = comps(keys)
        return ConfigError(key: keyText(c, keys), message, file: file, line: ConfigNode.line(tree, ConfigPath(components: c)))
    }

    static func typeDescription(_ t: Any.Type) -> String {
        let s = String(describing: t)
        switch s {
        case "Int", "Int64", "UInt64", "UInt": return "an integer"
        case "Double", "Float": return "a number"
        case "String": return "a string"
        case "Bool": return "true or false"
        case "Mapping": return "a mapping (key: value lines)"
        case "Sequence": return "a list"
        case "Scalar": return "a single value"
        default:
            if s.hasPrefix("Array") { return "a list" }
            if s.hasPrefix("Dictionary") { return "a mapping" }
            return s
        }
    }
}

// MARK: - Loading shortcuts

extension ExperimentConfig {
    /// Loads, overrides, decodes and validates a config file (the base
    /// config; see `ExperimentPlan` for the sweep cells).
    public static func load(contentsOf url: URL, overrides: [String] = []) throws -> ExperimentConfig {
        try ConfigDocument.load(contentsOf: url).applying(overrides: overrides).decode()
    }

    /// Same from YAML text.
    public static func parse(yaml: String, baseDirectory: URL, overrides: [String] = []) throws -> ExperimentConfig {
        try ConfigDocument(yaml: yaml, baseDirectory: baseDirectory).applying(overrides: overrides).decode()
    }
}

// MARK: - config.resolved.yaml

/// A tiny ordered YAML tree for writing `config.resolved.yaml` byte-stably
/// (mappings in block style, lists of scalars in flow style, lists of
/// mappings as block items).
enum YAMLOut {
    case scalar(String)        // already rendered (number, bool, null, or quoted string)
    case list([YAMLOut])
    case map([(String, YAMLOut)])

    static func str(_ s: String) -> YAMLOut { .scalar(quoted(s)) }
    static func num(_ x: Double) -> YAMLOut { .scalar(x.description) }
    static func int(_ i: Int) -> YAMLOut { .scalar(String(i)) }
    static func bool(_ b: Bool) -> YAMLOut { .scalar(b ? "true" : "false") }
    static let null = YAMLOut.scalar("null")

    /// A YAML string scalar, quoted when plain style would change its meaning.
    static func quoted(_ s: String) -> String {
        let special = ["true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"]
        let plainOK = !s.isEmpty && Double(s) == nil && Int(s) == nil && !special.contains(s.lowercased())
            && !s.contains(where: { ",:{}[]#&*!|>'\"%@`\n\\".contains($0) }) && s.first != " " && s.last != " "
            && s.first != "-" && s.first != "?" && s.first != "."
        if plainOK { return s }
        return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    var isScalarList: Bool {
        if case let .list(xs) = self { return xs.allSatisfy { if case .scalar = $0 { return true } else { return false } } }
        return false
    }

    func flow() -> String {
        switch self {
        case let .scalar(s): return s
        case let .list(xs): return "[" + xs.map { $0.flow() }.joined(separator: ", ") + "]"
        case let .map(ps): return "{" + ps.map { "\(Self.quoted($0.0)): \($0.1.flow())" }.joined(separator: ", ") + "}"
        }
    }

    /// Renders a mapping's entries at `indent` spaces.
    func render(indent: Int = 0) -> String {
        guard case let .map(ps) = self else { return flow() + "\n" }
        let pad = String(repeating: " ", count: indent)
        var out = ""
        for (k, v) in ps {
            switch v {
            case .scalar: out += "\(pad)\(Self.quoted(k)): \(v.flow())\n"
            case let .map(inner) where inner.isEmpty: out += "\(pad)\(Self.quoted(k)): {}\n"
            case .map: out += "\(pad)\(Self.quoted(k)):\n" + v.render(indent: indent + 2)
            case let .list(xs):
                if v.isScalarList || xs.isEmpty { out += "\(pad)\(Self.quoted(k)): \(v.flow())\n"; continue }
                out += "\(pad)\(Self.quoted(k)):\n"
                for x in xs {
                    let body = x.render(indent: indent + 4)
                    // First line of the item goes after "- ".
                    let trimmed = body.dropFirst(indent + 4)
                    out += "\(pad)  - " + trimmed
                }
            }
        }
        return out
    }
}

extension ExperimentConfig {
    /// The full configuration with every default filled in, plus the tool
    /// version (SPEC §3): `config.resolved.yaml`. Byte-stable; loadable again
    /// as a config. Paths are absolute; `output` is recorded as written
    /// (null = the default `results/<name>`), since where a run was written
    /// does not change its results.
    public func resolvedYAML() -> String {
        var root: [(String, YAMLOut)] = [
            ("tool_version", .str(TokenMDPVersion.string)),
            ("name", .str(name)),
            ("seeds", .list(seeds.map { .scalar(String($0)) })),
        ]
        root.append(("mdp", mdp.resolvedYAML()))
        var ex: [(String, YAMLOut)] = []
        if let f = expert.demosFile {
            ex.append(("demos_file", .str(f)))
        } else {
            ex += [("demos_per_prompt", .int(expert.demosPerPrompt)), ("filter", .str(expert.filter.rawValue)),
                   ("epsilon", .num(expert.epsilon))]
        }
        ex += [("beta", .num(expertBeta)), ("expert_gap_samples", .int(expert.expertGapSamples))]
        root.append(("expert", .map(ex)))
        root.append(("prior", .map([("kind", .str(prior.kind.rawValue)), ("sigma", .num(prior.sigma)), ("scale", .num(prior.scale))])))
        root.append(("learners", .list(learners.map { l in
            .map([("name", .str(l.name)), ("param", .str(l.param.rawValue)), ("lambda", .num(l.lambda)),
                  ("weight_decay", .num(l.weightDecay)), ("training", .str(l.training.rawValue)),
                  ("steps", .int(l.steps)), ("learning_rate", .num(l.learningRate)),
                  ("optimizer", .str(l.optimizer.rawValue)), ("schedule", .str(l.schedule.rawValue)),
                  ("features", .list(l.features.map { YAMLOut.str($0.description) })), ("ood", .str(l.ood.rawValue)),
                  ("label_smoothing", .num(l.labelSmoothing))])
        })))
        root.append(("decoders", .list(decoders.map { d in
            switch d {
            case let .beam(w, ln): return .map([("kind", .str("beam")), ("widths", .list(w.map(YAMLOut.int))), ("length_normalize", .bool(ln))])
            case let .sample(n), let .bestOfN(n): return .map([("kind", .str(d.kindName)), ("n", .int(n))])
            case .greedy, .oracle: return .map([("kind", .str(d.kindName))])
            }
        })))
        root.append(("sweep", .map(sweep.map { ($0.key, .list($0.values.map(YAMLOut.scalar))) })))
        root.append(("output", output.map(YAMLOut.str) ?? .null))
        root.append(("steps_csv", .bool(stepsCSV)))
        return "# Resolved configuration written by tokenmdp: every default filled in.\n" + YAMLOut.map(root).render()
    }
}

extension MDPConfig {
    func resolvedYAML() -> YAMLOut {
        var ps: [(String, YAMLOut)] = []
        switch source {
        case let .file(p): ps.append(("file", .str(p)))
        case let .generator(g):
            ps.append(("kind", .str(g.kindName)))
            switch g {
            case let .reasoningChain(p):
                ps += [("prompts", .int(p.prompts)), ("test_prompts", .int(p.testPrompts)), ("vocab", .int(p.vocab)),
                       ("chain_length", .int(p.chainLength)), ("horizon", .int(p.horizon)),
                       ("correct_per_step", .int(p.correctPerStep)), ("trap_fraction", .num(p.trapFraction)),
                       ("step_cost", .num(p.stepCost)), ("eos", .bool(p.eos))]
            case let .arithmeticChain(p):
                ps += [("prompts", .int(p.prompts)), ("test_prompts", .int(p.testPrompts)), ("base", .int(p.base)),
                       ("chain_length", .int(p.chainLength))]
            case let .randomAutomaton(p):
                ps += [("prompts", .int(p.prompts)), ("test_prompts", .int(p.testPrompts)), ("latent", .int(p.latent)),
                       ("vocab", .int(p.vocab)), ("horizon", .int(p.horizon)), ("eos", .bool(p.eos)),
                       ("successors", p.successors.map(YAMLOut.int) ?? .null), ("reward_std", .num(p.rewardStd)),
                       ("reward_sparsity", .num(p.rewardSparsity)), ("terminal_std", .num(p.terminalStd))]
            case let .tree(p):
                ps += [("prompts", .int(p.prompts)), ("test_prompts", .int(p.testPrompts)), ("vocab", .int(p.vocab)),
                       ("horizon", .int(p.horizon)), ("leaf_std", .num(p.leafStd)), ("max_memory_bytes", .int(p.maxMemoryBytes))]
            }
        }
        ps.append(("beta", beta.map(YAMLOut.num) ?? .null))
        ps.append(("seed", seed.map { .scalar(String($0)) } ?? .null))
        return .map(ps)
    }
}
