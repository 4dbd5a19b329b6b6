import Foundation

/// A language model as a logit function over prefixes (SPEC §1.3):
/// `π_ℓ(a|s) = softmax(ℓ(s, ·))_a`. Read as an implicit soft Q-function in
/// units of β: `Q̂(s, a) = β ℓ(s, a)`, `V̂(s) = β log Σ_a exp ℓ(s, a)`.
///
/// Every learner (tabular, linear, offline soft-Q, …) and the prior conform;
/// decoders and metrics consume only this interface.
public protocol LogitModel: Sendable {
    var vocabSize: Int { get }
    /// Writes `ℓ(s, ·)` (nats; `-.infinity` = never emitted) into `out`
    /// (count `vocabSize`).
    func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>)
}

extension LogitModel {
    /// `ℓ(s, ·)` as an array (convenience for tests and metrics).
    public func logits(_ s: PrefixState) -> [Double] {
        var out = [Double](repeating: 0, count: vocabSize)
        out.withUnsafeMutableBufferPointer { logits(s, into: $0) }
        return out
    }

    /// `log π_ℓ(·|s)` (nats), via the stable log-softmax.
    public func logPolicy(_ s: PrefixState) -> [Double] {
        var out = logits(s)
        out.withUnsafeMutableBufferPointer { _ = LogSumExp.logSoftmaxInPlace($0) }
        return out
    }
}
