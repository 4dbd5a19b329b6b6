import Foundation

/// One expert demonstration: a prompt index and a complete response.
public struct Demonstration: Sendable, Equatable {
    public var prompt: Int
    public var tokens: [TokenID]
    public init(prompt: Int, tokens: [TokenID]) { self.prompt = prompt; self.tokens = tokens }
}

/// The teacher-forced states of a demonstration set, as a trie over
/// prefixes (SPEC §1.4): node `s` holds the visit counts `n(s, a)` of every
/// demonstrated pair `(s, a)` — one per emitted token, EOS included; a state
/// visited by several demonstrations counts once per visit — and
/// `N(s) = Σ_a n(s, a)`.
///
/// Nodes `0..<P` are the prompt roots (present for every prompt, demonstrated
/// only when `N > 0`); other nodes are created on first visit. A node is a
/// *demonstrated state* exactly when `total(node) > 0`.
public struct DemonstrationTrie: Sendable {
    public let vocabSize: Int
    public let numPrompts: Int
    /// `counts[node·V + a] = n(s, a)`.
    public private(set) var counts: [Double]
    /// `totals[node] = N(s)`.
    public private(set) var totals: [Double]
    /// Latent state, time step and prompt of each node (for solvers/metrics).
    public private(set) var latents: [Int32]
    public private(set) var steps: [Int32]
    public private(set) var promptOf: [Int32]
    /// Parent node and the token that led here (−1 for roots).
    public private(set) var parents: [Int32]
    public private(set) var tokenIn: [Int32]
    private var children: [Int64: Int32]

    public var nodeCount: Int { totals.count }
    /// `M`, the number of teacher-forced pairs.
    public var pairCount: Double { totals.reduce(0, +) }

    /// Builds the trie. Demonstrations must already be validated against `mdp`
    /// (see `DemonstrationSet.validate`).
    public init(mdp: TokenMDP, demonstrations: [Demonstration]) {
        let V = mdp.vocabSize, P = mdp.prompts.count
        vocabSize = V; numPrompts = P
        counts = [Double](repeating: 0, count: P * V)
        totals = [Double](repeating: 0, count: P)
        latents = mdp.prompts.map { Int32($0.latent) }
        steps = [Int32](repeating: 0, count: P)
        promptOf = (0..<P).map(Int32.init)
        parents = [Int32](repeating: -1, count: P)
        tokenIn = [Int32](repeating: -1, count: P)
        children = [:]
        for d in demonstrations {
            var node = d.prompt
            for (t, a) in d.tokens.enumerated() {
                counts[node * V + a] += 1
                totals[node] += 1
                if t == d.tokens.count - 1 { break }
                node = Int(childOrCreate(node, a, mdp: mdp))
            }
        }
    }

    private mutating func childOrCreate(_ node: Int, _ a: TokenID, mdp: TokenMDP) -> Int32 {
        let key = Int64(node) * Int64(vocabSize) + Int64(a)
        if let c = children[key] { return c }
        let c = Int32(totals.count)
        children[key] = c
        counts.append(contentsOf: repeatElement(0, count: vocabSize))
        totals.append(0)
        latents.append(Int32(mdp.next(Int(latents[node]), a)))
        steps.append(steps[node] + 1)
        promptOf.append(promptOf[node])
        parents.append(Int32(node))
        tokenIn.append(Int32(a))
        return c
    }

    /// The child of `node` by token `a`, or −1 if that prefix was never reached
    /// by the data (or `node` is −1).
    @inlinable public func child(_ node: Int32, _ a: TokenID) -> Int32 {
        guard node >= 0 else { return -1 }
        return _child(node, a)
    }
    @usableFromInline func _child(_ node: Int32, _ a: TokenID) -> Int32 {
        children[Int64(node) * Int64(vocabSize) + Int64(a)] ?? -1
    }

    /// `N(s)` of a node (0 for −1).
    @inlinable public func total(_ node: Int32) -> Double { node >= 0 ? totals[Int(node)] : 0 }
    /// Whether `node` is a demonstrated state (`N(s) > 0`).
    @inlinable public func isDemonstrated(_ node: Int32) -> Bool { node >= 0 && totals[Int(node)] > 0 }
    /// Nodes with `N(s) > 0`, in creation order (deterministic).
    public var demonstratedNodes: [Int] { totals.indices.filter { totals[$0] > 0 } }
}

/// What a learner and a decoder know about a prefix `s = (x, a₀ … a_{t−1})`.
///
/// `prompt`, `t` and the emitted tokens are visible; `latent` is the hidden
/// automaton state, used only by solvers, metrics and the oracle-derived
/// prior. `hash` is a stable, seed-free 64-bit hash of (prompt, tokens)
/// (see `StableHash`); `node` is the demonstration-trie node (−1 off the
/// data); `recent` packs the last four tokens as `token + 1` in 16-bit lanes,
/// newest in the lowest lane (0 = no token).
public struct PrefixState: Sendable, Hashable {
    public var prompt: Int
    public var t: Int
    public var latent: LatentID
    public var hash: UInt64
    public var node: Int32
    public var recent: UInt64

    public init(prompt: Int, t: Int, latent: LatentID, hash: UInt64, node: Int32, recent: UInt64) {
        self.prompt = prompt; self.t = t; self.latent = latent
        self.hash = hash; self.node = node; self.recent = recent
    }

    /// The empty-response state of prompt `p`.
    public static func root(prompt p: Int, mdp: TokenMDP) -> PrefixState {
        PrefixState(prompt: p, t: 0, latent: mdp.prompts[p].latent,
                    hash: StableHash.combine(0x7072_6f6d_7074, UInt64(p)), node: Int32(p), recent: 0)
    }

    /// The state after emitting `a` (callers stop at EOS or the horizon).
    @inlinable
    public func child(_ a: TokenID, mdp: TokenMDP, trie: DemonstrationTrie?) -> PrefixState {
        PrefixState(prompt: prompt, t: t + 1, latent: mdp.next(latent, a),
                    hash: StableHash.combine(hash, UInt64(a)),
                    node: trie?.child(node, a) ?? -1,
                    recent: (recent << 16) | UInt64(a + 1))
    }

    /// The previous emitted token, or nil at t = 0.
    @inlinable public var lastToken: TokenID? { recent & 0xFFFF == 0 ? nil : Int(recent & 0xFFFF) - 1 }
}

extension DemonstrationTrie {
    /// Builds the trie with a non-negative weight per demonstration: each
    /// demonstration adds `weight` (instead of 1) to the counts along its
    /// path. Weight-0 demonstrations are skipped (they reach no state).
    /// With weights `π*(y|x)` over every complete response, the counts are
    /// the exact expected visit counts, `n(s, a) = P*(s) π*(a|s)`, so the
    /// plain MLE is exactly `π*` on every reachable state.
    public init(mdp: TokenMDP, demonstrations: [Demonstration], weights: [Double]) {
        precondition(weights.count == demonstrations.count, "one weight per demonstration")
        precondition(weights.allSatisfy { $0.isFinite && $0 >= 0 }, "weights must be finite and ≥ 0")
        self.init(mdp: mdp, demonstrations: [])
        let V = vocabSize
        for (d, w) in zip(demonstrations, weights) where w > 0 {
            var node = d.prompt
            for (t, a) in d.tokens.enumerated() {
                counts[node * V + a] += w
                totals[node] += w
                if t == d.tokens.count - 1 { break }
                node = Int(childOrCreate(node, a, mdp: mdp))
            }
        }
    }
}
