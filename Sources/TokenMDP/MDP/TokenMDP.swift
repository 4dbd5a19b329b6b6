import Foundation

public typealias TokenID = Int
public typealias LatentID = Int

/// Which side of the train/test split a prompt is on.
public enum Split: String, Sendable, Codable, CaseIterable {
    case train, test
}

/// A prompt: the initial state of an episode.
public struct Prompt: Sendable, Equatable {
    /// Start latent state `q₀(x)` of the automaton.
    public var latent: LatentID
    /// Visible prompt tokens (what a learner sees besides the emitted tokens).
    public var tokens: [TokenID]
    /// Weight of this prompt in aggregate metrics (default 1).
    public var weight: Double
    public var split: Split

    public init(latent: LatentID, tokens: [TokenID] = [], weight: Double = 1, split: Split = .train) {
        self.latent = latent
        self.tokens = tokens
        self.weight = weight
        self.split = split
    }
}

/// The token-level MDP as a latent automaton (SPEC §1.1).
///
/// A state is a prompt plus the tokens emitted so far; the automaton reads
/// the tokens: `q_{t+1} = δ(q_t, a_t)`, per-token reward `r(q_t, a_t)`, and a
/// terminal reward `R_T(q_T)` on the latent state reached when the episode
/// ends — after the `eos` token, or after `horizon` tokens. Discount γ = 1.
///
///     G(x, y) = Σ_t r(q_t, a_t) + R_T(q_T)
///
/// Storage is flat and row-major: `transitions[q·V + a]`, `rewards[q·V + a]`.
/// A reward of `-.infinity` forbids the token (JSON `null`). The invariants
/// (checked by `validate()`; every constructor path calls it):
/// every transition in `0..<S`, every row of rewards has a finite entry,
/// terminal rewards finite, `horizon ≥ 1`, `vocabSize ≥ 1`, prompts in range.
public struct TokenMDP: Sendable {
    public var vocabSize: Int
    public var horizon: Int
    public var eos: TokenID?
    public var numLatent: Int
    /// δ(q, a), flat `[q·V + a]`, values in `0..<numLatent`.
    public var transitions: [Int32]
    /// r(q, a), flat `[q·V + a]`, reward units; `-.infinity` forbids a token.
    public var rewards: [Double]
    /// R_T(q), reward units, finite.
    public var terminalRewards: [Double]
    public var prompts: [Prompt]
    /// Optional: latent states that count as "solved" (e.g. the chain's done
    /// state). When nil, a response is `correct` when it is optimal.
    public var successLatents: [Bool]?

    public init(vocabSize: Int, horizon: Int, eos: TokenID?, numLatent: Int,
                transitions: [Int32], rewards: [Double], terminalRewards: [Double],
                prompts: [Prompt], successLatents: [Bool]? = nil) throws {
        self.vocabSize = vocabSize
        self.horizon = horizon
        self.eos = eos
        self.numLatent = numLatent
        self.transitions = transitions
        self.rewards = rewards
        self.terminalRewards = terminalRewards
        self.prompts = prompts
        self.successLatents = successLatents
        try validate()
    }

    @inlinable public func next(_ q: LatentID, _ a: TokenID) -> LatentID { Int(transitions[q &* vocabSize &+ a]) }
    @inlinable public func reward(_ q: LatentID, _ a: TokenID) -> Double { rewards[q &* vocabSize &+ a] }

    /// Whether emitting `token` at time `t` (0-based) ends the episode.
    @inlinable public func isTerminal(token: TokenID, at t: Int) -> Bool {
        token == eos || t == horizon - 1
    }

    /// Indices of the prompts on one side of the split.
    public func promptIndices(_ split: Split) -> [Int] {
        prompts.indices.filter { prompts[$0].split == split }
    }

    /// Result of rolling a response through the automaton.
    public struct Rollout: Sendable, Equatable {
        /// Latent state before each token, `q_0 … q_{T-1}`, then the final `q_T`.
        public var latents: [LatentID]
        /// `G(x, y)`, reward units (may be `-.infinity` if a forbidden token was used).
        public var return_: Double
        /// Whether the response is complete (ended by EOS or at the horizon).
        public var complete: Bool
        public var finalLatent: LatentID { latents[latents.count - 1] }
    }

    /// Rolls `tokens` through the automaton from prompt `prompt`.
    /// Throws if a token is out of range, EOS appears before the end, or the
    /// response is longer than the horizon.
    public func rollout(prompt: Int, tokens: [TokenID]) throws -> Rollout {
        guard prompts.indices.contains(prompt) else {
            throw TokenMDPError.invalid(field: "prompt", message: "prompt index \(prompt) is out of range 0..<\(prompts.count)")
        }
        guard tokens.count <= horizon else {
            throw TokenMDPError.invalid(field: "tokens", message: "response has \(tokens.count) tokens, more than the horizon \(horizon)")
        }
        var q = prompts[prompt].latent
        var latents = [q]
        latents.reserveCapacity(tokens.count + 1)
        var g = 0.0
        var complete = false
        for (t, a) in tokens.enumerated() {
            guard a >= 0 && a < vocabSize else {
                throw TokenMDPError.invalid(field: "tokens[\(t)]", message: "token \(a) is out of range 0..<\(vocabSize)")
            }
            if complete {
                throw TokenMDPError.invalid(field: "tokens[\(t)]", message: "token after the end of the episode (EOS at position \(t - 1))")
            }
            g += reward(q, a)
            q = next(q, a)
            latents.append(q)
            if isTerminal(token: a, at: t) { complete = true }
        }
        if complete { g += terminalRewards[q] }
        return Rollout(latents: latents, return_: g, complete: complete)
    }

    /// Whether a complete response that ends in latent `q` counts as solved,
    /// given its return and the prompt's optimal return.
    public func isCorrect(finalLatent q: LatentID, return g: Double, optimalReturn: Double) -> Bool {
        if let s = successLatents { return s[q] }
        return g >= optimalReturn - 1e-9
    }
}

/// Errors from building, loading or validating an MDP. The message names
/// the field and the position.
public enum TokenMDPError: Error, CustomStringConvertible, Equatable {
    case invalid(field: String, message: String)
    case tooLarge(message: String)

    public var description: String {
        switch self {
        case let .invalid(field, message): return escapingControlCharacters("\(field): \(message)")
        case let .tooLarge(message): return escapingControlCharacters(message)
        }
    }
}
