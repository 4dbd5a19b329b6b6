import Foundation

/// Settings of full-batch first-order training (SPEC §1.4, §2.6).
///
/// Gradient learners minimise the *mean* loss `L/M` (M = teacher-forced
/// pairs), which has the same minimiser as `L`; the L2 term `(μ/2)‖θ‖²`
/// becomes the weight decay `μ/M` inside that mean. Every step uses the
/// whole data set (deterministic: no sampling, no shuffling).
public struct GradientOptions: Sendable, Equatable {
    public enum Optimizer: String, Sendable, Codable, CaseIterable {
        /// Adam (Kingma & Ba, 2015, arXiv:1412.6980) with bias correction.
        case adam
        /// Plain gradient descent `θ ← θ − η g`.
        case gd
    }

    public enum Schedule: String, Sendable, Codable, CaseIterable {
        /// η_k = η.
        case constant
        /// η_k = η · ½(1 + cos(π k / K)) for step k = 0 … K−1 (decays to 0,
        /// which lets Adam settle on the optimum instead of oscillating).
        case cosine
    }

    /// Number of full-batch steps K (≥ 0).
    public var steps: Int
    /// Base learning rate η > 0 (parameter units per step for Adam).
    public var learningRate: Double
    public var optimizer: Optimizer
    public var schedule: Schedule
    /// Adam's moment decays and denominator guard.
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double

    public init(steps: Int = 1000, learningRate: Double = 0.05, optimizer: Optimizer = .adam,
                schedule: Schedule = .constant, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.steps = steps; self.learningRate = learningRate; self.optimizer = optimizer
        self.schedule = schedule; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
    }

    public func validate() throws {
        guard steps >= 0 else { throw TokenMDPError.invalid(field: "steps", message: "must be ≥ 0, got \(steps)") }
        guard learningRate.isFinite && learningRate > 0 else {
            throw TokenMDPError.invalid(field: "learning_rate", message: "must be a finite number > 0, got \(learningRate)")
        }
        guard beta1 >= 0 && beta1 < 1, beta2 >= 0 && beta2 < 1, epsilon > 0 else {
            throw TokenMDPError.invalid(field: "optimizer", message: "Adam needs 0 ≤ β₁, β₂ < 1 and ε > 0")
        }
    }

    /// Learning rate of step `k` (0-based).
    @inlinable public func rate(step k: Int) -> Double {
        switch schedule {
        case .constant: return learningRate
        case .cosine: return learningRate * 0.5 * (1 + Foundation.cos(Double.pi * Double(k) / Double(max(steps, 1))))
        }
    }

    /// One update of parameters `p` from gradient `g` at step `k` (0-based),
    /// elementwise, with moment buffers `m`, `v` (unused by `gd`). Each
    /// element's arithmetic depends only on its own values and `k`, so any
    /// split of the arrays into slices (threads) gives bit-identical results.
    @inlinable
    public func update(_ p: UnsafeMutablePointer<Double>, _ g: UnsafePointer<Double>,
                       _ m: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Double>,
                       count: Int, step k: Int) {
        let lr = rate(step: k)
        switch optimizer {
        case .gd:
            for i in 0..<count { p[i] -= lr * g[i] }
        case .adam:
            let c1 = 1 - Foundation.pow(beta1, Double(k + 1))
            let c2 = 1 - Foundation.pow(beta2, Double(k + 1))
            for i in 0..<count {
                let gi = g[i]
                m[i] = beta1 * m[i] + (1 - beta1) * gi
                v[i] = beta2 * v[i] + (1 - beta2) * gi * gi
                let mh = m[i] / c1, vh = v[i] / c2
                p[i] -= lr * mh / (vh.squareRoot() + epsilon)
            }
        }
    }
}
