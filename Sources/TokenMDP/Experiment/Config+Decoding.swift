import Foundation

// Strict Codable decoding of the config blocks. Every `init(from:)` first
// checks its mapping's keys against the known set (`strictContainer`), then
// reads each present key over the documented default. Errors are
// `DecodingError`s carrying the full coding path; `ConfigDocument` turns them
// into one-line `ConfigError`s with the key and the line.

/// A catch-all coding key: any string (or index) a mapping may hold.
struct AnyCodingKey: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; self.intValue = nil }
    init(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
    init(_ s: String) { self.init(stringValue: s) }
    init(stringLiteral s: String) { self.init(stringValue: s) }
}

typealias StrictContainer = KeyedDecodingContainer<AnyCodingKey>

extension Swift.Decoder {
    /// The reusable strict-keys check: decodes the mapping with a catch-all
    /// key, compares `allKeys` (in file order) with `known`, and throws
    /// `dataCorrupted` at the first unknown key, listing the known ones.
    func strictContainer(known: [String], what: String) throws -> StrictContainer {
        let c = try container(keyedBy: AnyCodingKey.self)
        let set = Set(known)
        for k in c.allKeys where !set.contains(k.stringValue) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [k],
                debugDescription: "unknown key in \(what) (known keys: \(known.joined(separator: ", ")))"))
        }
        return c
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// Overwrites `value` with the key's value when present and not null.
    func read<T: Decodable>(_ key: String, into value: inout T) throws {
        if let v = try decodeIfPresent(T.self, forKey: AnyCodingKey(key)) { value = v }
    }

    /// The key's value, or nil when absent or null.
    func optional<T: Decodable>(_ key: String) throws -> T? {
        try decodeIfPresent(T.self, forKey: AnyCodingKey(key))
    }

    /// A required value.
    func required<T: Decodable>(_ key: String) throws -> T {
        guard let v = try decodeIfPresent(T.self, forKey: AnyCodingKey(key)) else {
            throw DecodingError.keyNotFound(AnyCodingKey(key), .init(codingPath: codingPath, debugDescription: "missing required key"))
        }
        return v
    }

    /// A string enumeration (`none | correct`), error listing the choices.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, into value: inout E) throws where E.RawValue == String {
        guard let s = try decodeIfPresent(String.self, forKey: AnyCodingKey(key)) else { return }
        guard let e = E(rawValue: s) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [AnyCodingKey(key)],
                debugDescription: "'\(s)' is not one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        value = e
    }

    /// Non-negative integers (seeds): negative values name their index.
    func nonNegativeIntegers(_ key: String) throws -> [UInt64]? {
        guard let xs = try decodeIfPresent([Int].self, forKey: AnyCodingKey(key)) else { return nil }
        return try xs.enumerated().map { i, x in
            guard x >= 0 else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: codingPath + [AnyCodingKey(key), AnyCodingKey(intValue: i)],
                    debugDescription: "must be a non-negative integer, got \(x)"))
            }
            return UInt64(x)
        }
    }

    func fail(_ key: String, _ message: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath + [AnyCodingKey(key)], debugDescription: message))
    }
}

extension ExperimentConfig: Decodable {
    /// Root keys. `sweep` is read by `ConfigDocument` from the node tree (its
    /// values are arbitrary YAML); `tool_version` is accepted and ignored so
    /// that a `config.resolved.yaml` can be run again.
    static let rootKeys = ["name", "seeds", "mdp", "expert", "prior", "learners", "decoders", "sweep", "output", "steps_csv", "tool_version"]

    public init(from decoder: Swift.Decoder) throws {
        self.init()
        let c = try decoder.strictContainer(known: Self.rootKeys, what: "the config")
        try c.read("name", into: &name)
        if let s = try c.nonNegativeIntegers("seeds") { seeds = s }
        try c.read("mdp", into: &mdp)
        try c.read("expert", into: &expert)
        try c.read("prior", into: &prior)
        if let ls: [LearnerEntry] = try c.optional("learners") { learners = ls.map(\.spec) }
        try c.read("decoders", into: &decoders)
        output = try c.optional("output")
        try c.read("steps_csv", into: &stepsCSV)
    }
}

extension MDPConfig: Decodable {
    static let commonKeys = ["kind", "file", "beta", "seed"]

    /// Generator keys per kind (snake_case of the parameter structs' fields).
    static let generatorKeys: [String: [String]] = [
        "reasoning-chain": ["prompts", "test_prompts", "vocab", "chain_length", "horizon", "correct_per_step", "trap_fraction", "step_cost", "eos"],
        "arithmetic-chain": ["prompts", "test_prompts", "base", "chain_length"],
        "random-automaton": ["prompts", "test_prompts", "latent", "vocab", "horizon", "eos", "successors", "reward_std", "reward_sparsity", "terminal_std"],
        "tree": ["prompts", "test_prompts", "vocab", "horizon", "leaf_std", "max_memory_bytes"],
    ]
    static let kinds = ["reasoning-chain", "arithmetic-chain", "random-automaton", "tree"]

    public init(from decoder: Swift.Decoder) throws {
        self.init()
        let probe = try decoder.container(keyedBy: AnyCodingKey.self)
        let kind: String? = try probe.optional("kind")
        let file: String? = try probe.optional("file")
        if let kind, !Self.kinds.contains(kind) {
            throw probe.fail("kind", "'\(kind)' is not one of: \(Self.kinds.joined(separator: ", "))")
        }
        if kind != nil, file != nil { throw probe.fail("file", "give either mdp.kind (a generator) or mdp.file, not both") }
        let k = kind ?? "reasoning-chain"
        let known = Self.commonKeys + (file == nil ? Self.generatorKeys[k]! : [])
        let c = try decoder.strictContainer(known: known, what: file == nil ? "mdp (kind \(k))" : "mdp (with file)")
        beta = try c.optional("beta")
        if let s: Int = try c.optional("seed") {
            guard s >= 0 else { throw c.fail("seed", "must be a non-negative integer, got \(s)") }
            seed = UInt64(s)
        }
        if let file { source = .file(file); return }
        switch k {
        case "reasoning-chain":
            var p = ReasoningChainParams()
            try c.read("prompts", into: &p.prompts); try c.read("test_prompts", into: &p.testPrompts)
            try c.read("vocab", into: &p.vocab); try c.read("chain_length", into: &p.chainLength)
            try c.read("horizon", into: &p.horizon); try c.read("correct_per_step", into: &p.correctPerStep)
            try c.read("trap_fraction", into: &p.trapFraction); try c.read("step_cost", into: &p.stepCost)
            try c.read("eos", into: &p.eos)
            source = .generator(.reasoningChain(p))
        case "arithmetic-chain":
            var p = ArithmeticChainParams()
            try c.read("prompts", into: &p.prompts); try c.read("test_prompts", into: &p.testPrompts)
            try c.read("base", into: &p.base); try c.read("chain_length", into: &p.chainLength)
            source = .generator(.arithmeticChain(p))
        case "random-automaton":
            var p = RandomAutomatonParams()
            try c.read("prompts", into: &p.prompts); try c.read("test_prompts", into: &p.testPrompts)
            try c.read("latent", into: &p.latent); try c.read("vocab", into: &p.vocab)
            try c.read("horizon", into: &p.horizon); try c.read("eos", into: &p.eos)
            if let s: Int = try c.optional("successors") { p.successors = s }
            try c.read("reward_std", into: &p.rewardStd); try c.read("reward_sparsity", into: &p.rewardSparsity)
            try c.read("terminal_std", into: &p.terminalStd)
            source = .generator(.randomAutomaton(p))
        default:
            var p = TreeParams()
            try c.read("prompts", into: &p.prompts); try c.read("test_prompts", into: &p.testPrompts)
            try c.read("vocab", into: &p.vocab); try c.read("horizon", into: &p.horizon)
            try c.read("leaf_std", into: &p.leafStd); try c.read("max_memory_bytes", into: &p.maxMemoryBytes)
            source = .generator(.tree(p))
        }
    }
}

extension ExpertConfig: Decodable {
    static let samplingKeys = ["demos_per_prompt", "filter", "epsilon"]
    static let keys = ["demos_per_prompt", "beta", "filter", "epsilon", "expert_gap_samples", "demos_file"]

    public init(from decoder: Swift.Decoder) throws {
        self.init()
        let c = try decoder.strictContainer(known: Self.keys, what: "expert")
        demosFile = try c.optional("demos_file")
        if demosFile != nil {
            for k in Self.samplingKeys where try !c.isAbsentOrNull(k) {
                throw c.fail(k, "cannot be combined with expert.demos_file (demonstrations come from the file)")
            }
        }
        try c.read("demos_per_prompt", into: &demosPerPrompt)
        beta = try c.optional("beta")
        try c.choice("filter", into: &filter)
        try c.read("epsilon", into: &epsilon)
        try c.read("expert_gap_samples", into: &expertGapSamples)
    }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// Whether a key is absent or explicitly null.
    func isAbsentOrNull(_ key: String) throws -> Bool {
        let k = AnyCodingKey(key)
        return contains(k) ? try decodeNil(forKey: k) : true
    }
}

extension PriorConfig: Decodable {
    public init(from decoder: Swift.Decoder) throws {
        self.init()
        let c = try decoder.strictContainer(known: ["kind", "sigma", "scale"], what: "prior")
        try c.choice("kind", into: &kind)
        try c.read("sigma", into: &sigma)
        try c.read("scale", into: &scale)
    }
}

/// Decodes a `LearnerSpec` (which checks its own keys), turning the
/// `TokenMDPError` a bad feature name throws into a `DecodingError` at the
/// learner's path, so it is reported with its key and line like any other.
struct LearnerEntry: Decodable {
    var spec: LearnerSpec
    init(from decoder: Swift.Decoder) throws {
        do { spec = try LearnerSpec(from: decoder) } catch let TokenMDPError.invalid(field, message) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [AnyCodingKey(field)], debugDescription: message))
        } catch let DecodingError.dataCorrupted(ctx) where ctx.debugDescription.hasPrefix("Cannot initialize") {
            // Swift's message for a bad enum value; name the accepted values instead.
            let key = ctx.codingPath.last?.stringValue ?? ""
            let choices: [String: [String]] = [
                "param": LearnerSpec.Param.allCases.map(\.rawValue), "training": LearnerSpec.Training.allCases.map(\.rawValue),
                "optimizer": GradientOptions.Optimizer.allCases.map(\.rawValue), "schedule": GradientOptions.Schedule.allCases.map(\.rawValue),
                "ood": OfflineSoftQ.OODMode.allCases.map(\.rawValue),
            ]
            throw DecodingError.dataCorrupted(.init(codingPath: ctx.codingPath,
                                                    debugDescription: choices[key].map { "not one of: \($0.joined(separator: ", "))" } ?? ctx.debugDescription))
        }
    }
}

extension DecoderConfig: Decodable {
    static let keysByKind: [String: [String]] = [
        "beam": ["kind", "widths", "length_normalize"], "greedy": ["kind"], "sample": ["kind", "n"],
        "best-of-n": ["kind", "n"], "oracle": ["kind"],
    ]

    public init(from decoder: Swift.Decoder) throws {
        let probe = try decoder.container(keyedBy: AnyCodingKey.self)
        let kind: String = try probe.required("kind")
        guard let known = Self.keysByKind[kind] else {
            throw probe.fail("kind", "'\(kind)' is not one of: \(Self.kinds.joined(separator: ", "))")
        }
        let c = try decoder.strictContainer(known: known, what: "a \(kind) decoder")
        switch kind {
        case "beam":
            var widths = [1, 2, 4, 8], ln = false
            try c.read("widths", into: &widths)
            try c.read("length_normalize", into: &ln)
            self = .beam(widths: widths, lengthNormalize: ln)
        case "greedy": self = .greedy
        case "sample":
            var n = Self.defaultSamples
            try c.read("n", into: &n)
            self = .sample(n: n)
        case "best-of-n":
            var n = Self.defaultSamples
            try c.read("n", into: &n)
            self = .bestOfN(n: n)
        default: self = .oracle
        }
    }
}
