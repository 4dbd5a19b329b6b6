import Foundation

/// One row of `rows.csv` (SPEC §3): one decoded response of one prompt, for
/// one seed × sweep cell × learner × decoder setting, plus its per-step
/// records for `steps.csv`.
///
/// `Overoptimism.measure` fills `prompt`, `split` and every value column;
/// the runner fills the remaining identifying columns (`experiment`, `cell`,
/// `seed`, `learner`, `lambda`, and `decoder`/`width`/`length_normalize`
/// via `setDecoder`). Writing whole files is the runner's job; this type
/// renders its own fields.
///
/// Columns, in order (`csvHeader`); numbers through `formatNumber`, so the
/// text is byte-stable (`inf`/`-inf` for infinities; NaN never occurs, see
/// `Overoptimism.measure`); an optional value is an empty field when nil:
///
/// | column            | meaning (units)                                                    |
/// |-------------------|--------------------------------------------------------------------|
/// | experiment, cell  | run identifiers (free text, CSV-quoted if needed)                  |
/// | seed              | root seed of the run                                               |
/// | prompt, split     | prompt index and `train`/`test`                                    |
/// | learner, lambda   | learner name and its λ (empty when it has none)                    |
/// | decoder, width    | `DecoderSpec.name`, `.width` (empty for `oracle`)                  |
/// | tokens, length    | space-separated token ids; their count                             |
/// | return            | G(x, y) (reward units)                                             |
/// | correct           | 1/0 (`TokenMDP.isCorrect`)                                         |
/// | opt_return        | V*_0(x) at β = 0; `regret` = opt_return − return                   |
/// | v_soft            | V*(x) at β                                                         |
/// | logp_model        | log π_ℓ(y|x) (nats); `logp_expert` = log π*(y|x) (nats)            |
/// | est_return        | V*(x) + β·logp_model                                               |
/// | overopt           | est_return − return                                                |
/// | overopt_raw       | V̂(x) + β·logp_model − return                                       |
/// | overopt_adv       | Σ_t q_gap_t (inflated advantage of suboptimal steps)               |
/// | expert_gap        | mean β[log π_ℓ − log π*] over expert samples of this prompt        |
/// | optimism_margin   | overopt − expert_gap                                               |
/// | first_ood_gap     | step_gap_t at first_ood_step (empty when the response never left the data) |
/// | expert_correct    | fraction of the expert_gap samples y ~ π* that are correct (the expert's accuracy) |
/// | supervised_frac   | fraction of steps whose state is demonstrated                      |
/// | first_ood_step    | first unsupervised t (0-based), empty when none                    |
/// | v_hat             | V̂(x) = β·log Σ_a exp ℓ(s_0, a)                                     |
/// | sample            | sample index for `decoder = sample`, else empty                    |
/// | length_normalize  | 1 when beam search ranked finished responses by score/length       |
public struct MetricRow: Sendable, Equatable {
    // Identifying columns.
    public var experiment: String = ""
    public var cell: String = ""
    public var seed: UInt64 = 0
    public var prompt: Int
    public var split: Split
    public var learner: String = ""
    public var lambda: Double? = nil
    public var decoder: String = ""
    public var width: Int? = nil
    public var lengthNormalize: Bool = false
    public var sample: Int? = nil

    // Value columns.
    public var tokens: [TokenID] = []
    public var return_: Double = 0
    public var correct: Bool = false
    public var optReturn: Double = 0
    public var regret: Double = 0
    public var vSoft: Double = 0
    public var vHat: Double = 0
    public var logpModel: Double = 0
    public var logpExpert: Double = 0
    public var estReturn: Double = 0
    public var overopt: Double = 0
    public var overoptRaw: Double = 0
    public var overoptAdv: Double = 0
    public var expertGap: Double = 0
    /// The expert's own accuracy on this prompt (`Overoptimism.expertAccuracy`), a fraction in [0, 1].
    public var expertCorrect: Double = 0
    public var supervisedFrac: Double = 0
    public var firstOODStep: Int? = nil
    /// `step_gap_t` at `first_ood_step` (reward units): the gap of the first
    /// step taken from a state the data never reached — the quantity the
    /// extreme-value prediction of `tokenmdp evt` describes; nil when the
    /// response never left the demonstrations.
    public var firstOODGap: Double? = nil

    /// Per-step records (`steps.csv`).
    public var steps: [StepRecord] = []

    public init(prompt: Int, split: Split) {
        self.prompt = prompt
        self.split = split
    }

    public var length: Int { tokens.count }
    /// `overopt − expert_gap`.
    public var optimismMargin: Double { overopt - expertGap }

    /// Sets `decoder`, `width` and `length_normalize` from a decoder setting.
    public mutating func setDecoder(_ spec: DecoderSpec) {
        decoder = spec.name
        width = spec.width
        lengthNormalize = spec.lengthNormalize
    }

    /// The `rows.csv` header, in column order.
    public static let csvHeader: [String] = [
        "experiment", "cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width",
        "tokens", "length", "return", "correct", "opt_return", "regret", "v_soft",
        "logp_model", "logp_expert", "est_return", "overopt", "overopt_raw",
        "overopt_adv", "expert_gap", "optimism_margin", "supervised_frac", "first_ood_step",
        "v_hat", "sample", "length_normalize", "expert_correct", "first_ood_gap",
    ]

    /// The identifying prefix shared by `rows.csv` and `steps.csv`.
    private var identityFields: [String] {
        [Self.escape(experiment), Self.escape(cell), String(seed), String(prompt), split.rawValue,
         Self.escape(learner), lambda.map(formatNumber) ?? "", Self.escape(decoder), width.map(String.init) ?? ""]
    }

    /// This row's fields, matching `csvHeader` (already CSV-escaped; join with ",").
    public var csvFields: [String] {
        identityFields + [
            tokens.map(String.init).joined(separator: " "),
            String(length),
            formatNumber(return_),
            correct ? "1" : "0",
            formatNumber(optReturn),
            formatNumber(regret),
            formatNumber(vSoft),
            formatNumber(logpModel),
            formatNumber(logpExpert),
            formatNumber(estReturn),
            formatNumber(overopt),
            formatNumber(overoptRaw),
            formatNumber(overoptAdv),
            formatNumber(expertGap),
            formatNumber(optimismMargin),
            formatNumber(supervisedFrac),
            firstOODStep.map(String.init) ?? "",
            formatNumber(vHat),
            sample.map(String.init) ?? "",
            lengthNormalize ? "1" : "0",
            formatNumber(expertCorrect),
            firstOODGap.map(formatNumber) ?? "",
        ]
    }

    /// The `steps.csv` header: the identifying columns, `sample`, then the
    /// step columns. `t_from_ood = t − first_ood_step` (empty when the
    /// response never left the data) aligns responses at the first step
    /// that left the demonstrations (SPEC §4, step-profile).
    public static let stepsCSVHeader: [String] = [
        "experiment", "cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width", "sample",
        "t", "token", "logp_model_t", "logp_expert_t", "step_gap_t", "supervised", "q_gap_t",
        "optimal_token", "t_from_ood",
    ]

    /// One `steps.csv` record per decoded step, matching `stepsCSVHeader`.
    public var stepsCSVFields: [[String]] {
        let id = identityFields + [sample.map(String.init) ?? ""]
        return steps.map { st in
            id + [
                String(st.t), String(st.token), formatNumber(st.logpModel), formatNumber(st.logpExpert),
                formatNumber(st.stepGap), st.supervised ? "1" : "0", formatNumber(st.qGap),
                String(st.optimalToken), firstOODStep.map { String(st.t - $0) } ?? "",
            ]
        }
    }

    /// RFC 4180 quoting: a field containing `,`, `"`, CR or LF is wrapped in
    /// double quotes with inner quotes doubled; anything else is unchanged.
    public static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The name of the first value column (or step column) that is NaN, if any.
    public var firstNaNField: String? {
        let named: [(String, Double)] = [
            ("return", return_), ("opt_return", optReturn), ("regret", regret), ("v_soft", vSoft),
            ("v_hat", vHat), ("logp_model", logpModel), ("logp_expert", logpExpert), ("est_return", estReturn),
            ("overopt", overopt), ("overopt_raw", overoptRaw), ("overopt_adv", overoptAdv),
            ("expert_gap", expertGap), ("optimism_margin", optimismMargin), ("supervised_frac", supervisedFrac),
        ]
        if let bad = named.first(where: { $0.1.isNaN }) { return bad.0 }
        for st in steps {
            if st.stepGap.isNaN { return "steps[\(st.t)].step_gap_t" }
            if st.qGap.isNaN { return "steps[\(st.t)].q_gap_t" }
            if st.logpModel.isNaN || st.logpExpert.isNaN { return "steps[\(st.t)].logp" }
        }
        return nil
    }
}
