import Foundation

/// A learner as configured (SPEC §3.1 `learners:` entries) and the one
/// factory that trains it: `spec.fit(mdp:trie:prior:solution:)`.
///
/// YAML/JSON keys (snake_case; every key but `name` is optional, unknown keys
/// are errors):
///
/// | key | meaning | default |
/// |---|---|---|
/// | `name` | label in the CSVs | — |
/// | `param` | `tabular`, `linear`, `offline-soft-q`, `inverse-soft-q` | `tabular` |
/// | `lambda` | SOC weight λ ∈ [0, 1) | 0 |
/// | `weight_decay` | μ ≥ 0, prior precision in demonstrations | 0.001 |
/// | `training` | `exact` or `gradient` | `exact` |
/// | `steps`, `learning_rate` | gradient training | 1000, 0.05 |
/// | `optimizer`, `schedule` | `adam`/`gd`, `constant`/`cosine` | `adam`, `constant` |
/// | `features` | linear feature blocks (see `FeatureKind`) | `[bias, position-x-prev, prompt-token-x-prev]` |
/// | `ood` | offline soft-Q OOD value: `pessimistic`/`optimistic`/`prior` | `pessimistic` |
/// | `label_smoothing` | ε ∈ [0, 1) (comparator; tabular and linear) | 0 |
///
/// Which keys each `param` uses: `tabular` and `linear`: lambda,
/// weight_decay, training (+ steps, learning_rate, optimizer, schedule),
/// label_smoothing; `linear` also features (exact training only for small
/// `d·V`). `offline-soft-q`: ood (uses the solution's β and the true
/// automaton). `inverse-soft-q`: weight_decay (> 0), `steps` as its
/// iteration cap when training is `gradient` (always gradient ascent).
public struct LearnerSpec: Sendable, Equatable, Codable {
    public enum Param: String, Sendable, Codable, CaseIterable {
        case tabular, linear
        case offlineSoftQ = "offline-soft-q"
        case inverseSoftQ = "inverse-soft-q"
    }

    public enum Training: String, Sendable, Codable, CaseIterable {
        case exact, gradient
    }

    public var name: String
    public var param: Param = .tabular
    public var lambda: Double = 0
    public var weightDecay: Double = 1e-3
    public var training: Training = .exact
    public var steps: Int = 1000
    public var learningRate: Double = 0.05
    public var optimizer: GradientOptions.Optimizer = .adam
    public var schedule: GradientOptions.Schedule = .constant
    public var features: [FeatureKind] = [.bias, .positionCrossPrevious, .promptTokenCrossPrevious]
    public var ood: OfflineSoftQ.OODMode = .pessimistic
    public var labelSmoothing: Double = 0

    public init(name: String, param: Param = .tabular, lambda: Double = 0, weightDecay: Double = 1e-3,
                training: Training = .exact, steps: Int = 1000, learningRate: Double = 0.05,
                optimizer: GradientOptions.Optimizer = .adam, schedule: GradientOptions.Schedule = .constant,
                features: [FeatureKind] = [.bias, .positionCrossPrevious, .promptTokenCrossPrevious],
                ood: OfflineSoftQ.OODMode = .pessimistic, labelSmoothing: Double = 0) {
        self.name = name; self.param = param; self.lambda = lambda; self.weightDecay = weightDecay
        self.training = training; self.steps = steps; self.learningRate = learningRate
        self.optimizer = optimizer; self.schedule = schedule; self.features = features
        self.ood = ood; self.labelSmoothing = labelSmoothing
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, param, lambda, training, steps, features, ood, optimizer, schedule
        case weightDecay = "weight_decay"
        case learningRate = "learning_rate"
        case labelSmoothing = "label_smoothing"
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let any = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for k in any.allKeys where !known.contains(k.stringValue) {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [k],
                                                    debugDescription: "unknown key; allowed: \(CodingKeys.allCases.map(\.rawValue).sorted().joined(separator: ", "))"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = LearnerSpec(name: "")
        name = try c.decode(String.self, forKey: .name)
        param = try c.decodeIfPresent(Param.self, forKey: .param) ?? d.param
        lambda = try c.decodeIfPresent(Double.self, forKey: .lambda) ?? d.lambda
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? d.weightDecay
        training = try c.decodeIfPresent(Training.self, forKey: .training) ?? d.training
        steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? d.steps
        learningRate = try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate
        optimizer = try c.decodeIfPresent(GradientOptions.Optimizer.self, forKey: .optimizer) ?? d.optimizer
        schedule = try c.decodeIfPresent(GradientOptions.Schedule.self, forKey: .schedule) ?? d.schedule
        features = try c.decodeIfPresent([FeatureKind].self, forKey: .features) ?? d.features
        ood = try c.decodeIfPresent(OfflineSoftQ.OODMode.self, forKey: .ood) ?? d.ood
        labelSmoothing = try c.decodeIfPresent(Double.self, forKey: .labelSmoothing) ?? d.labelSmoothing
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name); try c.encode(param, forKey: .param)
        try c.encode(lambda, forKey: .lambda); try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(training, forKey: .training); try c.encode(steps, forKey: .steps)
        try c.encode(learningRate, forKey: .learningRate); try c.encode(optimizer, forKey: .optimizer)
        try c.encode(schedule, forKey: .schedule); try c.encode(features, forKey: .features)
        try c.encode(ood, forKey: .ood); try c.encode(labelSmoothing, forKey: .labelSmoothing)
    }

    /// The gradient settings of this spec.
    public var gradientOptions: GradientOptions {
        GradientOptions(steps: steps, learningRate: learningRate, optimizer: optimizer, schedule: schedule)
    }

    /// Checks the values the chosen `param` uses, without data.
    /// - Throws: `TokenMDPError.invalid` with field `learners.NAME.KEY`.
    public func validate() throws {
        do {
            switch param {
            case .tabular: try tabularOptions.validate()
            case .linear:
                try linearOptions.validate()
                for k in features { try k.validate() }
            case .offlineSoftQ: break
            case .inverseSoftQ:
                guard weightDecay.isFinite && weightDecay > 0 else {
                    throw TokenMDPError.invalid(field: "weight_decay", message: "inverse-soft-q needs μ > 0, got \(weightDecay)")
                }
                guard steps >= 1 else { throw TokenMDPError.invalid(field: "steps", message: "must be ≥ 1, got \(steps)") }
            }
        } catch let TokenMDPError.invalid(field, message) {
            throw TokenMDPError.invalid(field: "learners.\(name).\(field)", message: message)
        }
    }

    var tabularOptions: TabularLearner.Options {
        TabularLearner.Options(lambda: lambda, weightDecay: weightDecay, labelSmoothing: labelSmoothing,
                               training: training == .exact ? .exact : .gradient(gradientOptions))
    }

    var linearOptions: LinearLearner.Options {
        LinearLearner.Options(lambda: lambda, weightDecay: weightDecay, labelSmoothing: labelSmoothing,
                              training: training == .exact ? .exact : .gradient(gradientOptions))
    }

    /// Trains the learner this spec describes.
    ///
    /// - Parameters:
    ///   - mdp: the MDP (visible prompt tokens, the automaton for the prefix
    ///     states and, for offline soft-Q, the rewards along the data).
    ///   - trie: the teacher-forced trie of the demonstrations; decoders must
    ///     build their `PrefixState`s with this same trie (`isDemonstrated`).
    ///   - prior: the prior logits ℓ₀ (`Prior`, or any `LogitModel`).
    ///   - solution: the exact soft solution at the MDP's β (offline and
    ///     inverse soft-Q read β from it).
    ///   - threads: worker threads; results are identical for any count.
    /// - Returns: the trained model (`TabularLearner`, `LinearLearner`,
    ///   `OfflineSoftQ` or `InverseSoftQ`).
    /// - Throws: invalid settings (field `learners.NAME.KEY`) or a training failure.
    public func fit(mdp: TokenMDP, trie: DemonstrationTrie, prior: any LogitModel, solution: SoftSolution,
                    threads: Int = 1) throws -> any LogitModel {
        try validate()
        do {
            switch param {
            case .tabular:
                return try TabularLearner(mdp: mdp, trie: trie, prior: prior, options: tabularOptions, threads: threads)
            case .linear:
                return try LinearLearner(mdp: mdp, trie: trie, prior: prior, features: features, options: linearOptions, threads: threads)
            case .offlineSoftQ:
                return try OfflineSoftQ(mdp: mdp, beta: solution.beta, trie: trie, prior: prior, ood: ood)
            case .inverseSoftQ:
                return try InverseSoftQ(mdp: mdp, trie: trie, prior: prior, beta: solution.beta, weightDecay: weightDecay,
                                        maxIterations: training == .gradient ? steps : 100_000)
            }
        } catch let TokenMDPError.invalid(field, message) {
            throw TokenMDPError.invalid(field: "learners.\(name).\(field)", message: message)
        }
    }
}

/// `spec.fit(mdp:trie:prior:solution:threads:)` as a free function.
public func fit(_ spec: LearnerSpec, mdp: TokenMDP, trie: DemonstrationTrie, prior: any LogitModel,
                solution: SoftSolution, threads: Int = 1) throws -> any LogitModel {
    try spec.fit(mdp: mdp, trie: trie, prior: prior, solution: solution, threads: threads)
}
