import Foundation

/// A logit function with i.i.d.-looking Gaussian logits on every prefix,
/// stored nowhere — the "random logit table" of the identity checks:
///
///     ℓ(s, a) = scale · gaussian(combine(combine(h(s), seed), a))
///
/// with `h(s)` the prefix's stable hash (`PrefixState.hash`) and `gaussian`,
/// `combine` from `StableHash`. Any prefix, reached by any path, on any
/// machine, gets the same numbers. Never `-∞`.
///
/// - Parameters: `scale` ≥ 0 is the standard deviation of the logits (nats).
public struct HashLogitModel: LogitModel {
    public let vocabSize: Int
    public let seed: UInt64
    public let scale: Double
    public init(vocabSize: Int, seed: UInt64, scale: Double = 1) {
        self.vocabSize = vocabSize; self.seed = seed; self.scale = scale
    }
    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        let h = StableHash.combine(s.hash, seed)
        for a in 0..<vocabSize { out[a] = scale * StableHash.gaussian(StableHash.combine(h, UInt64(a))) }
    }
}

/// Kullback–Leibler divergence between two distributions given as
/// log-probability rows (nats):
///
///     KL(p ‖ q) = Σ_a p_a (log p_a − log q_a)
///
/// Terms with `p_a = 0` (`logP = −∞`) contribute 0; `q_a = 0 < p_a` gives
/// `+∞`. Rows must be normalised (this is not checked). Result ≥ 0 up to
/// rounding.
/// - Complexity: O(V)
public func klDivergence(logP: [Double], logQ: [Double]) -> Double {
    precondition(logP.count == logQ.count, "klDivergence: rows of different lengths")
    var s = 0.0
    for (lp, lq) in zip(logP, logQ) where lp > -.infinity { s += Foundation.exp(lp) * (lp - lq) }
    return s
}
