import Foundation

// Decoding — ranked goals: (1) exactness: each decoder does precisely what
// SPEC §1.5/§2.7 says, with every tie broken by a stated rule so the output
// is a pure function of (model, MDP, prompt, rng); (2) stability: every
// log π_ℓ is the max-shifted log-softmax of `LogSumExp.logSoftmaxInPlace`,
// `-∞` logits are never chosen, NaN is a precondition failure; (3) speed:
// flat buffers allocated once per call, no allocation per candidate.
//
// Consistency contract: a decoder's `logProbability` is the sum, in time
// order starting from 0.0, of the very `Double`s that
// `ResponseDecoder.modelLogProbability` adds up for the same tokens, so the metrics
// recompute it bit-for-bit.

/// A decoder setting (SPEC §2.7), one per `decoder`/`width` pair of `rows.csv`.
///
/// | case                  | `name`      | `width` (CSV)          | responses |
/// |-----------------------|-------------|------------------------|-----------|
/// | `.beam(k, norm)`      | `beam`      | k                      | 1         |
/// | `.greedy`             | `greedy`    | 1                      | 1         |
/// | `.sample(n)`          | `sample`    | n                      | n         |
/// | `.bestOfN(n)`         | `best-of-n` | n                      | 1         |
/// | `.oracle`             | `oracle`    | empty (`nil`)          | 1         |
///
/// `.greedy` is beam search of width 1 (same code, same result as
/// `.beam(width: 1, lengthNormalize: false)`) but keeps its own name so the
/// CSV says what was run. Length normalisation is not part of `name`; the
/// row carries it in its own `length_normalize` column.
public enum DecoderSpec: Sendable, Hashable, CustomStringConvertible {
    /// Beam search of width `k ≥ 1` (SPEC §1.5); `lengthNormalize` ranks the
    /// finished pool by `log π_ℓ(y|x) / |y|` instead of `log π_ℓ(y|x)`.
    case beam(width: Int, lengthNormalize: Bool = false)
    /// Beam search of width 1.
    case greedy
    /// `n ≥ 1` ancestral samples from `π_ℓ`; one row each.
    case sample(n: Int)
    /// `n ≥ 1` ancestral samples from `π_ℓ`; the one with the highest
    /// `log π_ℓ(y|x)` (ties: lexicographically smaller) is returned.
    case bestOfN(n: Int)
    /// The hard-max response (argmax of `Q*` at β = 0, ties → lowest token id);
    /// ignores the model except to report its log-likelihood.
    case oracle

    /// The `decoder` column value.
    public var name: String {
        switch self {
        case .beam: return "beam"
        case .greedy: return "greedy"
        case .sample: return "sample"
        case .bestOfN: return "best-of-n"
        case .oracle: return "oracle"
        }
    }

    /// The `width` column value: k for beam, 1 for greedy, n for sample and
    /// best-of-n, `nil` (an empty CSV field) for the oracle.
    public var width: Int? {
        switch self {
        case let .beam(k, _): return k
        case .greedy: return 1
        case let .sample(n), let .bestOfN(n): return n
        case .oracle: return nil
        }
    }

    /// Whether the finished pool is ranked by length-normalised log-likelihood.
    public var lengthNormalize: Bool {
        if case let .beam(_, norm) = self { return norm }
        return false
    }

    /// Whether the decoder consumes random numbers (sample, best-of-n).
    public var isStochastic: Bool {
        switch self {
        case .sample, .bestOfN: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case let .beam(k, norm): return "beam(\(k)\(norm ? ", length-normalized" : ""))"
        case .greedy: return "greedy"
        case let .sample(n): return "sample(\(n))"
        case let .bestOfN(n): return "best-of-n(\(n))"
        case .oracle: return "oracle"
        }
    }

    /// Builds a spec from its CSV/config spelling (`beam`, `greedy`,
    /// `sample`, `best-of-n`, `oracle`) and a width.
    ///
    /// - Throws: on an unknown name, a missing or non-positive width where
    ///   one is needed, or `lengthNormalize` on anything but `beam`.
    public static func parse(name: String, width: Int?, lengthNormalize: Bool = false) throws -> DecoderSpec {
        func need() throws -> Int {
            guard let w = width else { throw TokenMDPError.invalid(field: "decoder.width", message: "\(name) needs a width") }
            guard w >= 1 else { throw TokenMDPError.invalid(field: "decoder.width", message: "must be ≥ 1, got \(w)") }
            return w
        }
        if lengthNormalize && name != "beam" {
            throw TokenMDPError.invalid(field: "decoder.length_normalize", message: "only beam search has length normalisation, not \(name)")
        }
        switch name {
        case "beam": return .beam(width: try need(), lengthNormalize: lengthNormalize)
        case "greedy":
            if let w = width, w != 1 { throw TokenMDPError.invalid(field: "decoder.width", message: "greedy has width 1, got \(w)") }
            return .greedy
        case "sample": return .sample(n: try need())
        case "best-of-n": return .bestOfN(n: try need())
        case "oracle": return .oracle
        default:
            throw TokenMDPError.invalid(field: "decoder.kind", message: "unknown decoder '\(name)' (expected beam, greedy, sample, best-of-n or oracle)")
        }
    }
}

/// One decoded response.
public struct DecodedResponse: Sendable, Equatable {
    /// `a₀ … a_{T−1}`, ending with EOS or of length H.
    public var tokens: [TokenID]
    /// `log π_ℓ(y|x) = Σ_t log π_ℓ(a_t|s_t)`, nats, summed in time order
    /// (bit-identical to `ResponseDecoder.modelLogProbability`). `-.infinity` only
    /// for the oracle when the model forbids one of its tokens.
    public var logProbability: Double
    /// Index among the samples of `.sample(n)` (0-based); nil otherwise.
    public var sampleIndex: Int?

    public init(tokens: [TokenID], logProbability: Double, sampleIndex: Int? = nil) {
        self.tokens = tokens; self.logProbability = logProbability; self.sampleIndex = sampleIndex
    }
}

/// Entry points of the decoders (SPEC §2.7).
public enum ResponseDecoder {
    /// Decodes prompt `p` with `spec`.
    ///
    /// - Parameters:
    ///   - model: the learner (or prior) `ℓ(s, ·)`.
    ///   - trie: the demonstration trie **the model was trained with**; it sets
    ///     `PrefixState.node`, which tabular learners read. `nil` = no data
    ///     (every node −1).
    ///   - hard: the β = 0 solution of `mdp`; required by `.oracle` only.
    ///   - rng: consumed by `.sample` and `.bestOfN` only (untouched by the
    ///     others). Seed it per (run seed, prompt, learner, decoder) with
    ///     `SplitMix64(seed:stream:)` so rows do not depend on evaluation order.
    /// - Returns: `n` responses for `.sample(n)`, otherwise one.
    /// - Throws: `TokenMDPError` if the model assigns `-∞` to every token of a
    ///   reachable state (no complete response exists), or if `.oracle` is
    ///   given no β = 0 solution.
    public static func decode<M: LogitModel>(_ spec: DecoderSpec, prompt p: Int, mdp: TokenMDP, model: M,
                                             trie: DemonstrationTrie?, hard: SoftSolution? = nil,
                                             rng: inout SplitMix64) throws -> [DecodedResponse] {
        precondition(model.vocabSize == mdp.vocabSize, "model vocabulary \(model.vocabSize) ≠ MDP vocabulary \(mdp.vocabSize)")
        switch spec {
        case let .beam(k, norm):
            return [try BeamSearch(width: k, lengthNormalize: norm).decode(prompt: p, mdp: mdp, model: model, trie: trie).best]
        case .greedy:
            return [try BeamSearch(width: 1).decode(prompt: p, mdp: mdp, model: model, trie: trie).best]
        case let .sample(n):
            precondition(n >= 1, "sample needs n ≥ 1")
            var out: [DecodedResponse] = []
            out.reserveCapacity(n)
            for i in 0..<n {
                var y = try AncestralSampler.sample(prompt: p, mdp: mdp, model: model, trie: trie, rng: &rng)
                y.sampleIndex = i
                out.append(y)
            }
            return out
        case let .bestOfN(n):
            return [try AncestralSampler.bestOfN(n, prompt: p, mdp: mdp, model: model, trie: trie, rng: &rng)]
        case .oracle:
            guard let hard else {
                throw TokenMDPError.invalid(field: "decoder", message: "the oracle decoder needs the β = 0 solution")
            }
            let y = try OracleDecoder.decode(prompt: p, hard: hard)
            return [DecodedResponse(tokens: y, logProbability: modelLogProbability(prompt: p, tokens: y, mdp: mdp, model: model, trie: trie))]
        }
    }

    /// `log π_ℓ(y|x) = Σ_t log π_ℓ(a_t|s_t)` (nats), summed in time order from
    /// 0.0 with the stable log-softmax of each row — the same `Double`s the
    /// decoders add, so the result is bit-identical to theirs.
    ///
    /// `-.infinity` when the model forbids one of the tokens.
    /// - Complexity: O(|y|·V) plus |y| model evaluations.
    public static func modelLogProbability<M: LogitModel>(prompt p: Int, tokens: [TokenID], mdp: TokenMDP, model: M,
                                                         trie: DemonstrationTrie?) -> Double {
        let V = mdp.vocabSize
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: V)
        defer { row.deallocate() }
        var s = PrefixState.root(prompt: p, mdp: mdp)
        var total = 0.0
        for a in tokens {
            logPolicyRow(model, s, into: row)
            total += row[a]
            s = s.child(a, mdp: mdp, trie: trie)
        }
        return total
    }

    /// Writes `log π_ℓ(·|s)` into `row` (the stable log-softmax of the
    /// logits, `LogSumExp.logSoftmaxInPlace`) and returns the log-partition
    /// `z = log Σ_a exp ℓ(s, a)`. When every logit is `-∞` the row is all
    /// `-∞` and `z = -∞` (no token can be emitted).
    ///
    /// Precondition: no NaN and no `+∞` logit (a model bug, not a result).
    @inlinable @discardableResult
    public static func logPolicyRow<M: LogitModel>(_ model: M, _ s: PrefixState,
                                                   into row: UnsafeMutableBufferPointer<Double>) -> Double {
        model.logits(s, into: row)
        let z = LogSumExp.logSoftmaxInPlace(row)
        precondition(!z.isNaN && z != .infinity, "model logits at prompt \(s.prompt), t = \(s.t) contain NaN or +∞")
        return z
    }

    static func noResponse(_ p: Int, _ t: Int) -> TokenMDPError {
        .invalid(field: "model", message: "prompt \(p): every token has probability 0 at step \(t); no complete response exists")
    }
}
