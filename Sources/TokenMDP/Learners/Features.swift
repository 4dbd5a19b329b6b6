import Foundation

/// One block of fixed features `φ(s)` of the *visible* prefix (SPEC §2.6).
///
/// Every block is one-hot: it switches on exactly one of its columns (or
/// none), with value 1, so `φ(s)` is a 0/1 vector with at most one active
/// column per block. Features read only what a language model sees: the
/// position `t`, the prompt's visible tokens, the emitted tokens (through
/// `PrefixState.recent`), and — for `prefixOneHot` only — the identity of
/// the prefix itself. The prompt index and the latent state are never
/// features.
///
/// | kind | columns | active column |
/// |---|---|---|
/// | `bias` | 1 | always 0 |
/// | `position` | H | `t` |
/// | `promptTokenCrossPrevious` | (V+1)² | `(x_t + 1)·(V+1) + (a_{t−1} + 1)` |
/// | `positionCrossPrevious` | H·(V+1) | `t·(V+1) + (a_{t−1} + 1)` |
/// | `hashedNGram(n, B)` | B | `hash(n, a_{t−n} … a_{t−1}) mod B` |
/// | `prefixOneHot` | #demonstrated trie nodes | the node's rank (none off the data) |
///
/// `x_t` is the prompt's visible token aligned with position t
/// (`prompt.tokens[t]`) and `a_{t−1}` the previous emitted token; either is
/// −1 ("none") when absent (t ≥ prompt length, resp. t = 0). The cross
/// `x_t × a_{t−1}` represents `arithmetic-chain`'s rule exactly (the correct
/// token at step t is `(a_{t−1} + x_t) mod K`, `x_0` alone at t = 0).
/// N-gram hashes use `StableHash` on the last n tokens packed as in
/// `PrefixState.recent` (missing tokens are "none"), so they are stable
/// across runs and machines; n ≤ 4.
public enum FeatureKind: Sendable, Hashable, Codable, CustomStringConvertible {
    case bias
    case position
    case promptTokenCrossPrevious
    case positionCrossPrevious
    case hashedNGram(n: Int, buckets: Int)
    case prefixOneHot

    /// The configuration spelling: `bias`, `position`, `prompt-token-x-prev`,
    /// `position-x-prev`, `ngram:N:B` (e.g. `ngram:2:1024`), `prefix-one-hot`.
    public var description: String {
        switch self {
        case .bias: return "bias"
        case .position: return "position"
        case .promptTokenCrossPrevious: return "prompt-token-x-prev"
        case .positionCrossPrevious: return "position-x-prev"
        case let .hashedNGram(n, b): return "ngram:\(n):\(b)"
        case .prefixOneHot: return "prefix-one-hot"
        }
    }

    /// Parses the configuration spelling (see `description`).
    /// - Throws: `TokenMDPError.invalid` naming the accepted spellings.
    public init(parsing text: String) throws {
        switch text {
        case "bias": self = .bias
        case "position": self = .position
        case "prompt-token-x-prev": self = .promptTokenCrossPrevious
        case "position-x-prev": self = .positionCrossPrevious
        case "prefix-one-hot": self = .prefixOneHot
        default:
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 3, parts[0] == "ngram", let n = Int(parts[1]), let b = Int(parts[2]) {
                self = .hashedNGram(n: n, buckets: b)
                try validate()
                return
            }
            throw TokenMDPError.invalid(field: "features", message: "unknown feature '\(text)'; expected bias, position, prompt-token-x-prev, position-x-prev, ngram:N:BUCKETS (1 ≤ N ≤ 4) or prefix-one-hot")
        }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    func validate() throws {
        if case let .hashedNGram(n, b) = self {
            guard (1...4).contains(n) else {
                throw TokenMDPError.invalid(field: "features", message: "ngram order must be in 1...4 (the prefix keeps the last four tokens), got \(n)")
            }
            guard b >= 1 else { throw TokenMDPError.invalid(field: "features", message: "ngram buckets must be ≥ 1, got \(b)") }
        }
    }
}

/// A concrete feature map `φ: prefix → {0,1}^d`: the blocks of `kinds`
/// side by side (block i occupies columns `offsets[i] ..< offsets[i+1]`).
public struct FeatureMap: Sendable {
    /// Largest accepted dimension d (a dense chunk row is d doubles).
    public static let maxDimension = 1 << 24

    public let kinds: [FeatureKind]
    /// d, the number of columns.
    public let dimension: Int
    /// Start column of each block, plus `dimension` at the end.
    public let offsets: [Int]
    public let vocabSize: Int
    public let horizon: Int
    let promptTokens: [[TokenID]]
    /// Column rank of each trie node for `prefixOneHot` (−1: not demonstrated).
    let prefixColumn: [Int32]

    /// - Throws: on an empty or duplicated kind list, a bad n-gram spec, or
    ///   a dimension above `maxDimension`.
    public init(kinds: [FeatureKind], mdp: TokenMDP, trie: DemonstrationTrie) throws {
        guard !kinds.isEmpty else { throw TokenMDPError.invalid(field: "features", message: "at least one feature block is required") }
        for (i, k) in kinds.enumerated() {
            try k.validate()
            if kinds[..<i].contains(k) { throw TokenMDPError.invalid(field: "features[\(i)]", message: "'\(k)' is listed twice") }
        }
        let V = mdp.vocabSize, H = mdp.horizon
        var offsets = [0]
        var column = [Int32](repeating: -1, count: kinds.contains(.prefixOneHot) ? trie.nodeCount : 0)
        if !column.isEmpty {
            var r: Int32 = 0
            for node in trie.demonstratedNodes { column[node] = r; r += 1 }
        }
        for k in kinds {
            let size: Double
            switch k {
            case .bias: size = 1
            case .position: size = Double(H)
            case .promptTokenCrossPrevious: size = Double(V + 1) * Double(V + 1)
            case .positionCrossPrevious: size = Double(H) * Double(V + 1)
            case let .hashedNGram(_, b): size = Double(b)
            case .prefixOneHot: size = Double(trie.demonstratedNodes.count)
            }
            let total = Double(offsets.last!) + size
            guard total <= Double(Self.maxDimension) else {
                throw TokenMDPError.invalid(field: "features", message: "feature dimension would be \(Int(total)), above the limit \(Self.maxDimension) ('\(k)' has \(Int(size)) columns)")
            }
            offsets.append(Int(total))
        }
        self.kinds = kinds
        self.offsets = offsets
        self.dimension = offsets.last!
        self.vocabSize = V
        self.horizon = H
        self.promptTokens = mdp.prompts.map(\.tokens)
        self.prefixColumn = column
    }

    /// Most active columns of any prefix (one per block).
    public var maxActive: Int { kinds.count }

    /// Writes the active columns of `φ(s)` (each with value 1), in block
    /// order, into `out` (capacity `maxActive`); returns how many.
    /// - Complexity: O(#blocks)
    public func active(_ s: PrefixState, into out: UnsafeMutablePointer<Int>) -> Int {
        var k = 0
        let V1 = vocabSize + 1
        let prev = s.recent & 0xFFFF  // previous token + 1, 0 = none
        for (i, kind) in kinds.enumerated() {
            let base = offsets[i]
            switch kind {
            case .bias:
                out[k] = base; k += 1
            case .position:
                out[k] = base + min(s.t, horizon - 1); k += 1
            case .promptTokenCrossPrevious:
                let toks = promptTokens[s.prompt]
                let x = s.t < toks.count ? toks[s.t] + 1 : 0
                out[k] = base + x * V1 + Int(prev); k += 1
            case .positionCrossPrevious:
                out[k] = base + min(s.t, horizon - 1) * V1 + Int(prev); k += 1
            case let .hashedNGram(n, b):
                let mask: UInt64 = n >= 4 ? ~0 : (UInt64(1) << UInt64(16 * n)) - 1
                let h = StableHash.combine(StableHash.combine(0x6e67_7261_6d, UInt64(n)), s.recent & mask)
                out[k] = base + Int(h % UInt64(b)); k += 1
            case .prefixOneHot:
                if s.node >= 0 && Int(s.node) < prefixColumn.count {
                    let c = prefixColumn[Int(s.node)]
                    if c >= 0 { out[k] = base + Int(c); k += 1 }
                }
            }
        }
        return k
    }

    /// `φ(s)` as a dense vector (tests and diagnostics).
    public func vector(_ s: PrefixState) -> [Double] {
        var phi = [Double](repeating: 0, count: dimension)
        let buf = UnsafeMutablePointer<Int>.allocate(capacity: maxActive)
        defer { buf.deallocate() }
        for i in 0..<active(s, into: buf) { phi[buf[i]] += 1 }
        return phi
    }
}
