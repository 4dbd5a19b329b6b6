import Foundation

/// An experiment: one YAML file (SPEC §3.1), decoded strictly (every unknown
/// key is an error naming the key and its line), validated by `validate()`,
/// expanded into sweep cells × seeds by `ExperimentPlan`.
///
/// ## Schema and defaults (the one place they are documented)
///
/// Every default below is filled in and written out to `config.resolved.yaml`.
///
///     name: STRING                      # required; letters, digits, '.', '_', '-'
///     seeds: [0]                        # list of integers ≥ 0, distinct, at most 10 000; one job per cell × seed
///     mdp:                              # the environment (SPEC §2.1, §2.2)
///       kind: reasoning-chain           # reasoning-chain | arithmetic-chain | random-automaton | tree
///       # generator keys of that kind (defaults = the generator's parameter struct):
///       #  reasoning-chain:  prompts 8, test_prompts 0, vocab 8, chain_length 4, horizon 6,
///       #                    correct_per_step 1, trap_fraction 0.25, step_cost 0.0, eos true
///       #  arithmetic-chain: prompts 16, test_prompts 4, base 5, chain_length 3
///       #  random-automaton: prompts 4, test_prompts 0, latent 20, vocab 6, horizon 5, eos false,
///       #                    successors null (= any), reward_std 1.0, reward_sparsity 0.0, terminal_std 1.0
///       #  tree:             prompts 1, test_prompts 0, vocab 3, horizon 4, leaf_std 1.0,
///       #                    max_memory_bytes 8589934592
///       # or instead of kind + generator keys:
///       file: null                      # a tokenmdp/v1 JSON file (relative to the config's folder)
///       beta: REQUIRED                  # β > 0, reward units per nat
///       seed: null                      # fixed MDP seed for every run seed (null: derived per seed)
///     expert:                           # demonstrations (SPEC §2.4)
///       demos_per_prompt: 8             # samples from π* per train prompt (0 allowed)
///       beta: null                      # β of the demonstrator; null = mdp.beta
///       filter: none                    # none | correct (keep only correct responses; resample up to 1000×)
///       epsilon: 0.0                    # per-step probability of a uniform token instead
///       expert_gap_samples: 64          # fresh π* samples per prompt for expert_gap (≥ 1)
///       # or instead of the four sampling keys:
///       demos_file: null                # JSONL {"prompt": i, "tokens": [...]} per line
///     prior:                            # the "pretrained model" (SPEC §2.5)
///       kind: noisy-oracle              # uniform | noisy-oracle
///       sigma: 1.0                      # σ ≥ 0: noise (smaller = stronger base model)
///       scale: 1.0                      # τ > 0: over-confidence (τ > 1)
///     learners:                         # default: sft (λ = 0) and soc (λ = 0.2), tabular, exact
///       - name: STRING                  # required, unique, not an integer
///         param: tabular                # tabular | linear | offline-soft-q | inverse-soft-q
///         lambda: 0.0                   # SOC value-loss weight λ ∈ [0, 1)
///         weight_decay: 0.001           # μ ≥ 0, prior precision in demonstrations (> 0 for exact with λ > 0)
///         training: exact               # exact | gradient
///         steps: 1000                   # gradient steps
///         learning_rate: 0.05           # gradient step size > 0
///         optimizer: adam               # adam | gd
///         schedule: constant            # constant | cosine
///         features: [bias, position-x-prev, prompt-token-x-prev]   # linear only (see FeatureKind)
///         ood: pessimistic              # offline-soft-q only: pessimistic | optimistic | prior
///         label_smoothing: 0.0          # ∈ [0, 1), comparator (the opposite of SOC)
///       # (the keys and their meaning are those of `LearnerSpec`)
///     decoders:                         # default: [{kind: beam, widths: [1, 2, 4, 8]}]
///       - {kind: beam, widths: [1, 2, 4, 8], length_normalize: false}
///       - {kind: greedy}
///       - {kind: sample, n: 16}         # n ancestral samples (one row each)
///       - {kind: best-of-n, n: 16}      # best of n samples by model likelihood
///       - {kind: oracle}                # hard-max reference (β = 0)
///     sweep: {}                         # dotted key → list of values (see `ConfigPath`)
///     output: null                      # null: results/<name> under the working directory;
///                                       # a relative path resolves against the config's folder
///     steps_csv: false                  # also write steps.csv (one row per decoded step)
///
/// ## Seeds
///
/// Each run seed `s` derives independent streams `SplitMix64(seed: s, stream:)`:
/// `"mdp"` (the MDP seed, unless `mdp.seed` fixes it), `"data"` (demonstrations),
/// `"prior"` (the prior's noise seed), `"decode"` (sampling decoders, further
/// keyed by learner name, prompt and decoder) and `"expert-gap"` (the fresh π*
/// samples, keyed by prompt — the same for every learner). The sweep cell does
/// not enter the seeds: every cell sees the same MDP and data for a seed unless
/// the swept key changes them (common random numbers for paired comparisons).
public struct ExperimentConfig: Sendable, Equatable {
    public var name: String = ""
    public var seeds: [UInt64] = [0]
    public var mdp = MDPConfig()
    public var expert = ExpertConfig()
    public var prior = PriorConfig()
    /// The learners' own config type (`Learners/LearnerSpec.swift`).
    public var learners: [LearnerSpec] = [LearnerSpec(name: "sft", lambda: 0), LearnerSpec(name: "soc", lambda: 0.2)]
    public var decoders: [DecoderConfig] = [.beam(widths: [1, 2, 4, 8], lengthNormalize: false)]
    public var sweep: [SweepAxis] = []
    /// As written (`nil`: the default `results/<name>`); see `outputDirectory`.
    public var output: String? = nil
    public var stepsCSV = false
    /// The folder relative paths resolve against (the config file's folder);
    /// not part of the YAML.
    public var baseDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)

    public init() {}

    /// Resolves a path from the config against `baseDirectory`.
    public func resolvePath(_ p: String) -> URL {
        if p.hasPrefix("/") { return URL(fileURLWithPath: p).standardizedFileURL }
        if p.hasPrefix("~") { return URL(fileURLWithPath: (p as NSString).expandingTildeInPath).standardizedFileURL }
        return baseDirectory.appendingPathComponent(p).standardizedFileURL
    }

    /// Where `run` writes without `--out`: `output` resolved against the
    /// config's folder, or `results/<name>` under the working directory.
    public var outputDirectory: URL {
        if let o = output { return resolvePath(o) }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent("results").appendingPathComponent(name).standardizedFileURL
    }
}

/// A sweep axis: a dotted key and its values as YAML flow text (e.g. `0.2`,
/// `[1, 2]`), in the order of the `sweep:` mapping.
public struct SweepAxis: Sendable, Equatable {
    public var key: String
    public var values: [String]
    public init(key: String, values: [String]) { self.key = key; self.values = values }
}

/// The `mdp:` block.
public struct MDPConfig: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        case generator(MDPGenerator)
        /// A `tokenmdp/v1` file, already resolved to an absolute path.
        case file(String)
    }
    public var source: Source = .generator(.reasoningChain(ReasoningChainParams()))
    /// β > 0 (required for `run`), reward units per nat.
    public var beta: Double? = nil
    /// A fixed MDP seed; nil derives one from each run seed (stream "mdp").
    public var seed: UInt64? = nil
    public init() {}

    /// The MDP for a run seed: the generator with `seed ?? SplitMix64(seed: runSeed, stream: "mdp").next()`,
    /// or the file.
    public func build(runSeed: UInt64) throws -> TokenMDP {
        switch source {
        case let .generator(g):
            var s = SplitMix64(seed: runSeed, stream: "mdp")
            return try g.generate(seed: seed ?? s.next())
        case let .file(path):
            return try TokenMDP.load(contentsOf: URL(fileURLWithPath: path))
        }
    }
}

/// The `expert:` block.
public struct ExpertConfig: Sendable, Equatable {
    public enum Filter: String, Sendable, CaseIterable { case none, correct }
    public var demosPerPrompt = 8
    /// nil: `mdp.beta`.
    public var beta: Double? = nil
    public var filter: Filter = .none
    public var epsilon = 0.0
    public var expertGapSamples = 64
    /// A JSONL file (absolute after loading); replaces sampling.
    public var demosFile: String? = nil
    public init() {}
}

/// The `prior:` block.
public struct PriorConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case uniform, noisyOracle = "noisy-oracle" }
    public var kind: Kind = .noisyOracle
    public var sigma = 1.0
    public var scale = 1.0
    public init() {}
}

/// One entry of `decoders:`.
public enum DecoderConfig: Sendable, Equatable {
    case beam(widths: [Int], lengthNormalize: Bool)
    case greedy
    case sample(n: Int)
    case bestOfN(n: Int)
    case oracle

    public var kindName: String {
        switch self {
        case .beam: return "beam"
        case .greedy: return "greedy"
        case .sample: return "sample"
        case .bestOfN: return "best-of-n"
        case .oracle: return "oracle"
        }
    }

    public static let kinds = ["beam", "greedy", "sample", "best-of-n", "oracle"]
    public static let defaultSamples = 16

    /// The decoder settings this entry expands to (one per beam width).
    public var settings: [DecoderSetting] {
        switch self {
        case let .beam(widths, ln): return widths.map { DecoderSetting(kind: .beam, width: $0, lengthNormalize: ln) }
        case .greedy: return [DecoderSetting(kind: .greedy, width: 1)]
        case let .sample(n): return [DecoderSetting(kind: .sample, width: n)]
        case let .bestOfN(n): return [DecoderSetting(kind: .bestOfN, width: n)]
        case .oracle: return [DecoderSetting(kind: .oracle, width: 1)]
        }
    }
}

/// One decoder setting: a kind and its width (beam width, or n samples).
public struct DecoderSetting: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable { case beam, greedy, sample, bestOfN = "best-of-n", oracle }
    public var kind: Kind
    public var width: Int
    public var lengthNormalize = false
    public init(kind: Kind, width: Int, lengthNormalize: Bool = false) {
        self.kind = kind; self.width = width; self.lengthNormalize = lengthNormalize
    }
    /// The `decoder` column: `beam`, `beam-ln` (length-normalised), `greedy`, `sample`, `best-of-n`, `oracle`.
    public var label: String { kind == .beam && lengthNormalize ? "beam-ln" : kind.rawValue }
}

// MARK: - Semantic validation

extension ExperimentConfig {
    /// Upper bounds that catch typos before they become hour-long runs.
    public static let maxSeeds = 10_000
    public static let maxDemosPerPrompt = 10_000_000
    public static let maxWidth = 1 << 20

    /// Checks every value range and cross-field rule. Throws a `ConfigError`
    /// naming the key (`learners[1].lambda`); the loader adds the line.
    /// Generator parameters are checked by the generator itself when the MDP
    /// is built (`ExperimentPlan` builds it once per cell while planning).
    public func validate() throws {
        func bad(_ key: String, _ m: String) -> ConfigError { ConfigError(key: key, m) }
        guard !name.isEmpty else { throw bad("name", "missing required key (the experiment's name)") }
        guard name.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }), name.first != "." else {
            throw bad("name", "'\(name)' must use only letters, digits, '.', '_' and '-' (it names files and folders)")
        }
        guard !seeds.isEmpty else { throw bad("seeds", "needs at least one seed") }
        guard seeds.count <= Self.maxSeeds else { throw bad("seeds", "at most \(Self.maxSeeds) seeds, got \(seeds.count)") }
        var seen = Set<UInt64>()
        for (i, s) in seeds.enumerated() where !seen.insert(s).inserted {
            throw bad("seeds[\(i)]", "seed \(s) appears twice")
        }
        guard let beta = mdp.beta else { throw bad("mdp.beta", "missing required key (β > 0, reward units per nat)") }
        if let problem = TokenMDP.betaProblem(beta, allowZero: false) { throw bad("mdp.beta", problem) }

        if expert.demosFile == nil {
            guard expert.demosPerPrompt >= 0 && expert.demosPerPrompt <= Self.maxDemosPerPrompt else {
                throw bad("expert.demos_per_prompt", "must be in 0...\(Self.maxDemosPerPrompt), got \(expert.demosPerPrompt)")
            }
            guard expert.epsilon.isFinite && expert.epsilon >= 0 && expert.epsilon <= 1 else {
                throw bad("expert.epsilon", "must be in [0, 1], got \(formatNumber(expert.epsilon))")
            }
        }
        if let b = expert.beta, let problem = TokenMDP.betaProblem(b, allowZero: false) { throw bad("expert.beta", problem) }
        guard expert.expertGapSamples >= 1 && expert.expertGapSamples <= 1_000_000 else {
            throw bad("expert.expert_gap_samples", "must be in 1...1000000, got \(expert.expertGapSamples)")
        }

        guard prior.sigma.isFinite && prior.sigma >= 0 else { throw bad("prior.sigma", "must be a finite number ≥ 0, got \(formatNumber(prior.sigma))") }
        guard prior.scale.isFinite && prior.scale > 0 else { throw bad("prior.scale", "must be a finite number > 0, got \(formatNumber(prior.scale))") }

        guard !learners.isEmpty else { throw bad("learners", "needs at least one learner") }
        var names = Set<String>()
        for (i, l) in learners.enumerated() {
            let k = "learners[\(i)]"
            guard !l.name.isEmpty else { throw bad("\(k).name", "must not be empty") }
            guard Int(l.name) == nil else { throw bad("\(k).name", "'\(l.name)' must not be an integer (integers select list elements by index)") }
            guard !l.name.contains("."), !l.name.contains(","), !l.name.contains("\n") else {
                throw bad("\(k).name", "'\(l.name)' must not contain '.', ',' or a newline")
            }
            guard names.insert(l.name).inserted else { throw bad("\(k).name", "learner name '\(l.name)' is used twice") }
            guard l.lambda.isFinite && l.lambda >= 0 && l.lambda < 1 else {
                throw bad("\(k).lambda", "must be in [0, 1), got \(formatNumber(l.lambda))")
            }
            guard l.steps >= 1 && l.steps <= 100_000_000 else { throw bad("\(k).steps", "must be in 1...100000000, got \(l.steps)") }
            // The learner's own checks (LearnerSpec.validate): fields `learners.NAME.KEY`.
            do { try l.validate() } catch let TokenMDPError.invalid(field, message) {
                let prefix = "learners.\(l.name)."
                throw bad(field.hasPrefix(prefix) ? k + "." + field.dropFirst(prefix.count) : k, message)
            }
        }

        func checkPath(_ key: String, _ p: String?) throws {
            guard let p else { return }
            guard !p.trimmingCharacters(in: .whitespaces).isEmpty else { throw bad(key, "must be a non-empty path") }
            guard !p.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw bad(key, "must not contain control characters (a newline, a NUL byte)")
            }
        }
        try checkPath("output", output)
        try checkPath("expert.demos_file", expert.demosFile)
        if case let .file(p) = mdp.source { try checkPath("mdp.file", p) }

        guard !decoders.isEmpty else { throw bad("decoders", "needs at least one decoder") }
        var settings = Set<DecoderSetting>()
        for (i, d) in decoders.enumerated() {
            let k = "decoders[\(i)]"
            switch d {
            case let .beam(widths, _):
                guard !widths.isEmpty else { throw bad("\(k).widths", "needs at least one width") }
                for (j, w) in widths.enumerated() where w < 1 || w > Self.maxWidth {
                    throw bad("\(k).widths[\(j)]", "must be in 1...\(Self.maxWidth), got \(w)")
                }
            case let .sample(n), let .bestOfN(n):
                guard n >= 1 && n <= Self.maxWidth else { throw bad("\(k).n", "must be in 1...\(Self.maxWidth), got \(n)") }
            case .greedy, .oracle: break
            }
            for s in d.settings where !settings.insert(s).inserted {
                throw bad(k, "decoder setting \(s.label) width \(s.width) is listed twice")
            }
        }
    }

    /// Expanded decoder settings in row order (decoder order, then width order as listed).
    public var decoderSettings: [DecoderSetting] { decoders.flatMap(\.settings) }

    /// β of the demonstrator (`expert.beta ?? mdp.beta`).
    public var expertBeta: Double { expert.beta ?? mdp.beta ?? 0 }
}
