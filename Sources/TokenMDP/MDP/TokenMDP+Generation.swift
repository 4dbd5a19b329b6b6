import Foundation

/// Parameters of the `reasoning-chain` generator (the default; SPEC §2.1).
///
/// Each prompt has `chainLength` hidden steps. At a pending step, of the
/// non-EOS tokens `correctPerStep` are *correct* (advance one step),
/// `⌊trapFraction · W⌋` are *traps* (absorbing error state) and the rest are
/// *neutral* (stay, wasting a token); `W = vocab − 1` with EOS, else `vocab`.
/// After the last step the chain is *done*: further non-EOS tokens stay done.
/// EOS ends the episode where it is. Terminal reward 1 in a done state, 0
/// elsewhere; every token costs `stepCost`. With β = 0.5 and reward 1 the
/// soft-optimal expert fails often (entropy dominates): runs report the
/// expert's and the oracle's accuracy so the scale is visible.
///
/// Latent layout: prompt p, step i → `p·(L+1) + i` (i = L is done); the shared
/// error state is `P·(L+1)`.
public struct ReasoningChainParams: Sendable, Equatable {
    public var prompts = 8
    public var testPrompts = 0
    public var vocab = 8
    public var chainLength = 4
    public var horizon = 6
    public var correctPerStep = 1
    public var trapFraction = 0.25
    public var stepCost = 0.0
    public var eos = true
    public init() {}
}

/// Parameters of `arithmetic-chain` (the generalisation task; SPEC §2.1).
/// A prompt shows `chainLength` digits `d₁ … d_L` in `0..<base` as visible
/// tokens; the correct token at step p (1-based) is `(d₁ + … + d_p) mod base`;
/// a wrong token goes to the absorbing error state; reward 1 when all L steps
/// are right. Vocabulary = `base`, horizon = L, no EOS. Latent: prompt p,
/// step i → `p·L + i`; done = `P·L`, error = `P·L + 1`.
public struct ArithmeticChainParams: Sendable, Equatable {
    public var prompts = 16
    public var testPrompts = 4
    public var base = 5
    public var chainLength = 3
    public init() {}
}

/// Parameters of `random-automaton` (SPEC §2.1): `latent` states, each token
/// moves to a uniformly drawn successor (among `successors` distinct ones per
/// state when set), rewards `N(0, rewardStd²)` kept with probability
/// `1 − rewardSparsity` (else 0), terminal rewards `N(0, terminalStd²)`.
/// With `eos`, token `vocab − 1` is EOS.
public struct RandomAutomatonParams: Sendable, Equatable {
    public var prompts = 4
    public var testPrompts = 0
    public var latent = 20
    public var vocab = 6
    public var horizon = 5
    public var eos = false
    public var successors: Int? = nil
    public var rewardStd = 1.0
    public var rewardSparsity = 0.0
    public var terminalStd = 1.0
    public init() {}
}

/// Parameters of `tree` (SPEC §2.1): each prompt's full prefix tree is the
/// automaton (`Σ_{t=0}^{H} V^t` states per prompt), per-token rewards 0 and
/// i.i.d. `N(0, leafStd²)` terminal rewards on the leaves. Sizes whose arrays
/// would exceed `maxMemoryBytes` are refused with the estimate.
public struct TreeParams: Sendable, Equatable {
    public var prompts = 1
    public var testPrompts = 0
    public var vocab = 3
    public var horizon = 4
    public var leafStd = 1.0
    public var maxMemoryBytes = 8 << 30
    public init() {}
}

/// The size of an MDP: what the resource estimates need.
public struct MDPShape: Sendable, Equatable {
    public var numLatent: Int
    public var vocabSize: Int
    public var horizon: Int
    public var prompts: Int
    public var trainPrompts: Int
    /// The most visible tokens of any prompt.
    public var promptTokens: Int

    public init(numLatent: Int, vocabSize: Int, horizon: Int, prompts: Int, trainPrompts: Int, promptTokens: Int) {
        self.numLatent = numLatent; self.vocabSize = vocabSize; self.horizon = horizon
        self.prompts = prompts; self.trainPrompts = trainPrompts; self.promptTokens = promptTokens
    }
}

extension TokenMDP {
    /// This MDP's size.
    public var shape: MDPShape {
        MDPShape(numLatent: numLatent, vocabSize: vocabSize, horizon: horizon, prompts: prompts.count,
                 trainPrompts: promptIndices(.train).count, promptTokens: prompts.map(\.tokens.count).max() ?? 0)
    }
}

/// A generator choice with its parameters.
public enum MDPGenerator: Sendable, Equatable {
    case reasoningChain(ReasoningChainParams)
    case arithmeticChain(ArithmeticChainParams)
    case randomAutomaton(RandomAutomatonParams)
    case tree(TreeParams)

    public var kindName: String {
        switch self {
        case .reasoningChain: return "reasoning-chain"
        case .arithmeticChain: return "arithmetic-chain"
        case .randomAutomaton: return "random-automaton"
        case .tree: return "tree"
        }
    }

    /// Checks the parameters and returns the size of the MDP `generate`
    /// would build, without allocating it (the errors are `generate`'s).
    public func shape() throws -> MDPShape {
        switch self {
        case let .reasoningChain(p): return try Self.check(p)
        case let .arithmeticChain(p): return try Self.check(p)
        case let .randomAutomaton(p): return try Self.check(p)
        case let .tree(p): return try Self.check(p)
        }
    }

    /// Builds the MDP deterministically from `seed` (stream `"mdp/<kind>"`).
    public func generate(seed: UInt64) throws -> TokenMDP {
        var rng = SplitMix64(seed: seed, stream: "mdp/" + kindName)
        switch self {
        case let .reasoningChain(p): return try Self.reasoningChain(p, &rng)
        case let .arithmeticChain(p): return try Self.arithmeticChain(p, &rng)
        case let .randomAutomaton(p): return try Self.randomAutomaton(p, &rng)
        case let .tree(p): return try Self.tree(p, &rng)
        }
    }

    private static func bad(_ f: String, _ m: String) -> TokenMDPError { .invalid(field: "mdp." + f, message: m) }

    /// Checks `prompts` and `test_prompts`; returns the number of train prompts.
    private static func checkPrompts(_ n: Int, test: Int) throws -> Int {
        guard n >= 1, n <= TokenMDP.maxPrompts else { throw bad("prompts", "must be in 1...\(TokenMDP.maxPrompts), got \(n)") }
        guard test >= 0 && test <= n else { throw bad("test_prompts", "must be in 0...\(n) (prompts), got \(test)") }
        return n - test
    }

    /// The split of each prompt: the last `test` prompts are test prompts.
    private static func splitPrompts(_ n: Int, test: Int) -> [Split] {
        (0..<n).map { $0 < n - test ? .train : .test }
    }

    /// The parameter checks of `reasoning-chain` and the size it builds.
    static func check(_ p: ReasoningChainParams) throws -> MDPShape {
        let train = try checkPrompts(p.prompts, test: p.testPrompts)
        let V = p.vocab, L = p.chainLength, P = p.prompts
        guard V >= (p.eos ? 2 : 1), V <= TokenMDP.maxVocab else { throw bad("vocab", "must be in \(p.eos ? 2 : 1)...\(TokenMDP.maxVocab) (EOS takes one token), got \(V)") }
        let W = p.eos ? V - 1 : V
        guard L >= 1 else { throw bad("chain_length", "must be ≥ 1, got \(L)") }
        guard p.horizon >= L, p.horizon <= TokenMDP.maxHorizon else { throw bad("horizon", "must be in \(L)...\(TokenMDP.maxHorizon) (≥ chain_length), got \(p.horizon)") }
        guard p.trapFraction >= 0 && p.trapFraction <= 1 else { throw bad("trap_fraction", "must be in [0, 1], got \(p.trapFraction)") }
        let traps = Int((p.trapFraction * Double(W)).rounded(.down))
        guard p.correctPerStep >= 1, p.correctPerStep <= W - traps else {
            throw bad("correct_per_step", "must be ≥ 1 and leave room for the \(traps) traps among \(W) tokens, got \(p.correctPerStep)")
        }
        guard p.stepCost.isFinite && p.stepCost >= 0 else { throw bad("step_cost", "must be a finite number ≥ 0, got \(p.stepCost)") }
        guard Double(p.horizon) * p.stepCost + 1 <= TokenMDP.maxReturnMagnitude else {
            throw bad("step_cost", "horizon × step_cost must stay below \(formatNumber(TokenMDP.maxReturnMagnitude)) so returns cannot overflow, got \(formatNumber(p.stepCost))")
        }
        let (S, o) = P.multipliedReportingOverflow(by: L + 1)
        guard !o, S + 1 <= TokenMDP.maxEdges / V else { throw bad("prompts", "too many latent states for vocab \(V)") }
        return MDPShape(numLatent: S + 1, vocabSize: V, horizon: p.horizon, prompts: P, trainPrompts: train, promptTokens: 0)
    }

    static func reasoningChain(_ p: ReasoningChainParams, _ rng: inout SplitMix64) throws -> TokenMDP {
        let shape = try check(p)
        let splits = splitPrompts(p.prompts, test: p.testPrompts)
        let V = p.vocab, L = p.chainLength, P = p.prompts
        let W = p.eos ? V - 1 : V
        let traps = Int((p.trapFraction * Double(W)).rounded(.down))
        let S = shape.numLatent - 1
        let numLatent = S + 1, errorState = S
        var delta = [Int32](repeating: 0, count: numLatent * V)
        let rewards = [Double](repeating: p.stepCost == 0 ? 0 : -p.stepCost, count: numLatent * V)
        var terminal = [Double](repeating: 0, count: numLatent)
        var success = [Bool](repeating: false, count: numLatent)
        for pr in 0..<P {
            for i in 0...L {
                let q = pr * (L + 1) + i
                if i == L {
                    for a in 0..<V { delta[q * V + a] = Int32(q) }
                    terminal[q] = 1
                    success[q] = true
                    continue
                }
                var order = Array(0..<W)
                rng.shuffle(&order)
                for (rank, a) in order.enumerated() {
                    let d: Int
                    if rank < p.correctPerStep { d = q + 1 }
                    else if rank < p.correctPerStep + traps { d = errorState }
                    else { d = q }
                    delta[q * V + a] = Int32(d)
                }
                if p.eos { delta[q * V + V - 1] = Int32(q) }
            }
        }
        for a in 0..<V { delta[errorState * V + a] = Int32(errorState) }
        let prompts = (0..<P).map { Prompt(latent: $0 * (L + 1), tokens: [], weight: 1, split: splits[$0]) }
        return try TokenMDP(vocabSize: V, horizon: p.horizon, eos: p.eos ? V - 1 : nil, numLatent: numLatent,
                            transitions: delta, rewards: rewards, terminalRewards: terminal, prompts: prompts,
                            successLatents: success)
    }

    /// The parameter checks of `arithmetic-chain` and the size it builds.
    static func check(_ p: ArithmeticChainParams) throws -> MDPShape {
        let train = try checkPrompts(p.prompts, test: p.testPrompts)
        let K = p.base, L = p.chainLength, P = p.prompts
        guard K >= 2, K <= TokenMDP.maxVocab else { throw bad("base", "must be in 2...\(TokenMDP.maxVocab), got \(K)") }
        guard L >= 1, L <= TokenMDP.maxHorizon else { throw bad("chain_length", "must be in 1...\(TokenMDP.maxHorizon), got \(L)") }
        let (S0, o) = P.multipliedReportingOverflow(by: L)
        guard !o, S0 + 2 <= TokenMDP.maxEdges / K else { throw bad("prompts", "too many latent states for base \(K)") }
        return MDPShape(numLatent: S0 + 2, vocabSize: K, horizon: L, prompts: P, trainPrompts: train, promptTokens: L)
    }

    static func arithmeticChain(_ p: ArithmeticChainParams, _ rng: inout SplitMix64) throws -> TokenMDP {
        _ = try check(p)
        let splits = splitPrompts(p.prompts, test: p.testPrompts)
        let K = p.base, L = p.chainLength, P = p.prompts
        let S0 = P * L
        let done = S0, err = S0 + 1, numLatent = S0 + 2
        var delta = [Int32](repeating: Int32(err), count: numLatent * K)
        var terminal = [Double](repeating: 0, count: numLatent)
        var success = [Bool](repeating: false, count: numLatent)
        terminal[done] = 1; success[done] = true
        for a in 0..<K { delta[done * K + a] = Int32(done) }
        var prompts: [Prompt] = []
        for pr in 0..<P {
            let digits = (0..<L).map { _ in rng.nextInt(below: K) }
            var sum = 0
            for i in 0..<L {
                sum = (sum + digits[i]) % K
                let q = pr * L + i
                delta[q * K + sum] = Int32(i == L - 1 ? done : q + 1)
            }
            prompts.append(Prompt(latent: pr * L, tokens: digits, weight: 1, split: splits[pr]))
        }
        return try TokenMDP(vocabSize: K, horizon: L, eos: nil, numLatent: numLatent, transitions: delta,
                            rewards: [Double](repeating: 0, count: numLatent * K), terminalRewards: terminal,
                            prompts: prompts, successLatents: success)
    }

    /// The parameter checks of `random-automaton` and the size it builds.
    static func check(_ p: RandomAutomatonParams) throws -> MDPShape {
        let train = try checkPrompts(p.prompts, test: p.testPrompts)
        let S = p.latent, V = p.vocab
        guard S >= 1 else { throw bad("latent", "must be ≥ 1, got \(S)") }
        guard V >= (p.eos ? 2 : 1), V <= TokenMDP.maxVocab else { throw bad("vocab", "must be in \(p.eos ? 2 : 1)...\(TokenMDP.maxVocab), got \(V)") }
        guard S <= TokenMDP.maxEdges / V else { throw bad("latent", "latent × vocab exceeds \(TokenMDP.maxEdges) edges") }
        guard p.horizon >= 1, p.horizon <= TokenMDP.maxHorizon else { throw bad("horizon", "must be in 1...\(TokenMDP.maxHorizon), got \(p.horizon)") }
        if let k = p.successors, k < 1 || k > S { throw bad("successors", "must be in 1...\(S) (latent), got \(k)") }
        guard p.rewardStd.isFinite, p.rewardStd >= 0 else { throw bad("reward_std", "must be a finite number ≥ 0") }
        guard p.terminalStd.isFinite, p.terminalStd >= 0 else { throw bad("terminal_std", "must be a finite number ≥ 0") }
        guard p.rewardSparsity >= 0 && p.rewardSparsity <= 1 else { throw bad("reward_sparsity", "must be in [0, 1]") }
        // Gaussian draws are below 8.6 in magnitude (SplitMix64's 53-bit
        // uniforms, Box–Muller), so returns stay within maxReturnMagnitude.
        guard (Double(p.horizon) * p.rewardStd + p.terminalStd) * maxGaussian <= TokenMDP.maxReturnMagnitude else {
            throw bad("reward_std", "horizon × reward_std + terminal_std must stay below \(formatNumber(TokenMDP.maxReturnMagnitude / maxGaussian)) so returns cannot overflow")
        }
        return MDPShape(numLatent: S, vocabSize: V, horizon: p.horizon, prompts: p.prompts, trainPrompts: train, promptTokens: 0)
    }

    /// A bound on |N(0, 1)| draws of `nextGaussian` (√(2·53·ln 2) ≈ 8.57).
    static let maxGaussian = 8.6

    static func randomAutomaton(_ p: RandomAutomatonParams, _ rng: inout SplitMix64) throws -> TokenMDP {
        _ = try check(p)
        let splits = splitPrompts(p.prompts, test: p.testPrompts)
        let S = p.latent, V = p.vocab
        var delta = [Int32](repeating: 0, count: S * V)
        var rewards = [Double](repeating: 0, count: S * V)
        for q in 0..<S {
            var succ: [Int]? = nil
            if let k = p.successors {
                var all = Array(0..<S)
                rng.shuffle(&all)
                succ = Array(all.prefix(k))
            }
            for a in 0..<V {
                delta[q * V + a] = Int32(succ.map { $0[rng.nextInt(below: $0.count)] } ?? rng.nextInt(below: S))
                let keep = rng.nextUnit() >= p.rewardSparsity
                let g = rng.nextGaussian()
                rewards[q * V + a] = keep ? p.rewardStd * g : 0
            }
        }
        let terminal = (0..<S).map { _ in p.terminalStd * rng.nextGaussian() }
        let prompts = (0..<p.prompts).map { Prompt(latent: rng.nextInt(below: S), tokens: [], weight: 1, split: splits[$0]) }
        return try TokenMDP(vocabSize: V, horizon: p.horizon, eos: p.eos ? V - 1 : nil, numLatent: S,
                            transitions: delta, rewards: rewards, terminalRewards: terminal, prompts: prompts)
    }

    /// Number of nodes of one prompt's tree, `Σ_{t=0}^{H} V^t`, or nil on overflow.
    public static func treeNodes(vocab V: Int, horizon H: Int) -> Int? {
        var total = 0, level = 1
        for t in 0...H {
            if t > 0 {
                let (l, o) = level.multipliedReportingOverflow(by: V)
                if o { return nil }
                level = l
            }
            let (s, o) = total.addingReportingOverflow(level)
            if o { return nil }
            total = s
        }
        return total
    }

    /// The parameter checks of `tree` and the size it builds (refusing sizes
    /// above `maxMemoryBytes` with the estimate).
    static func check(_ p: TreeParams) throws -> MDPShape {
        let train = try checkPrompts(p.prompts, test: p.testPrompts)
        let V = p.vocab, H = p.horizon, P = p.prompts
        guard V >= 1, V <= TokenMDP.maxVocab else { throw bad("vocab", "must be in 1...\(TokenMDP.maxVocab), got \(V)") }
        guard H >= 1, H <= TokenMDP.maxHorizon else { throw bad("horizon", "must be in 1...\(TokenMDP.maxHorizon), got \(H)") }
        guard p.leafStd.isFinite, p.leafStd >= 0 else { throw bad("leaf_std", "must be a finite number ≥ 0") }
        guard p.leafStd * maxGaussian <= TokenMDP.maxReturnMagnitude else {
            throw bad("leaf_std", "must be at most \(formatNumber(TokenMDP.maxReturnMagnitude / maxGaussian)) so returns cannot overflow")
        }
        let perPrompt = treeNodes(vocab: V, horizon: H)
        let (total, o1) = (perPrompt ?? Int.max).multipliedReportingOverflow(by: P)
        // Bytes: transitions (4) + rewards (8) per edge, terminal (8) and one
        // value per (t, q) for the solver (8·(H+1)) per node.
        let bytesPerNode = 12.0 * Double(V) + 8.0 + 8.0 * Double(H + 1)
        let need = Double(P) * pow(Double(V), Double(H)) * Double(V) / Double(max(V - 1, 1)) * bytesPerNode
        if perPrompt == nil || o1 || total > TokenMDP.maxEdges / V || need > Double(p.maxMemoryBytes) {
            let gib = need / Double(1 << 30)
            throw TokenMDPError.tooLarge(message: String(format: "mdp: a tree with vocab %d, horizon %d and %d prompt(s) has about %.3g latent states and would need about %.3g GiB; the limit is %.3g GiB (reduce vocab or horizon)", V, H, P, Double(P) * pow(Double(V), Double(H)) * Double(V) / Double(max(V - 1, 1)), gib, Double(p.maxMemoryBytes) / Double(1 << 30)))
        }
        return MDPShape(numLatent: total, vocabSize: V, horizon: H, prompts: P, trainPrompts: train, promptTokens: 0)
    }

    static func tree(_ p: TreeParams, _ rng: inout SplitMix64) throws -> TokenMDP {
        let shape = try check(p)
        let splits = splitPrompts(p.prompts, test: p.testPrompts)
        let V = p.vocab, H = p.horizon, P = p.prompts
        let total = shape.numLatent
        let perPrompt = treeNodes(vocab: V, horizon: H)
        let n = perPrompt!
        var delta = [Int32](repeating: 0, count: total * V)
        var terminal = [Double](repeating: 0, count: total)
        // Breadth-first numbering: the node at depth t with index j among its
        // level has children at level t+1 with indices j·V + a.
        var levelStart = [0]
        var size = 1
        for _ in 0..<H { levelStart.append(levelStart.last! + size); size *= V }
        for pr in 0..<P {
            let base = pr * n
            size = 1
            for t in 0...H {
                for j in 0..<size {
                    let q = base + levelStart[t] + j
                    for a in 0..<V {
                        delta[q * V + a] = Int32(t < H ? base + levelStart[t + 1] + j * V + a : q)
                    }
                    if t == H { terminal[q] = p.leafStd * rng.nextGaussian() }
                }
                size *= V
            }
        }
        let prompts = (0..<P).map { Prompt(latent: $0 * n, tokens: [], weight: 1, split: splits[$0]) }
        return try TokenMDP(vocabSize: V, horizon: H, eos: nil, numLatent: total, transitions: delta,
                            rewards: [Double](repeating: 0, count: total * V), terminalRewards: terminal, prompts: prompts)
    }
}
