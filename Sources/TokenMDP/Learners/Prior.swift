import Foundation

/// The prior ("pretrained model") logits `ℓ₀(s, ·)` on every prefix (SPEC §2.5).
///
/// * `uniform`: `ℓ₀ = 0`.
/// * `noisyOracle`: `ℓ₀(s, a) = τ · (Q*_t(q, a)/β + σ ξ(s, a))` with `Q*` the
///   exact soft-optimal Q at the MDP's β (reward units, so `Q*/β` is in nats),
///   `τ = scale` (τ > 1: over-confident) and `σ = sigma` (model size: smaller
///   is a stronger base model). `ξ(s, a) = StableHash.gaussian(combine(combine(h(s), seed), a))`
///   where `h(s)` is the prefix's seed-free stable hash (`PrefixState.hash`):
///   the same prefix gets the same noise on any machine, thread count and run,
///   with nothing stored. A forbidden token keeps `ℓ₀ = −∞`.
public struct Prior: LogitModel {
    public enum Kind: Sendable, Equatable {
        case uniform
        case noisyOracle(sigma: Double, scale: Double)
    }

    public let kind: Kind
    public let vocabSize: Int
    public let seed: UInt64
    /// The exact soft solution at the MDP's β (needed by `noisyOracle`).
    public let solution: SoftSolution?

    public static func uniform(vocabSize: Int) -> Prior {
        Prior(kind: .uniform, vocabSize: vocabSize, seed: 0, solution: nil)
    }

    /// - Throws: if β = 0 (Q*/β undefined), σ < 0, τ ≤ 0 or non-finite.
    public static func noisyOracle(solution: SoftSolution, sigma: Double, scale: Double, seed: UInt64) throws -> Prior {
        guard solution.beta > 0 else { throw TokenMDPError.invalid(field: "prior", message: "noisy-oracle needs mdp.beta > 0 (it uses Q*/β)") }
        guard sigma.isFinite && sigma >= 0 else { throw TokenMDPError.invalid(field: "prior.sigma", message: "must be a finite number ≥ 0, got \(sigma)") }
        guard scale.isFinite && scale > 0 else { throw TokenMDPError.invalid(field: "prior.scale", message: "must be a finite number > 0, got \(scale)") }
        return Prior(kind: .noisyOracle(sigma: sigma, scale: scale), vocabSize: solution.mdp.vocabSize, seed: seed, solution: solution)
    }

    /// The Gaussian noise `ξ(s, a)` of the noisy-oracle prior.
    @inlinable
    public func noise(_ s: PrefixState, _ a: TokenID) -> Double {
        StableHash.gaussian(StableHash.combine(StableHash.combine(s.hash, seed), UInt64(a)))
    }

    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        switch kind {
        case .uniform:
            for a in 0..<vocabSize { out[a] = 0 }
        case let .noisyOracle(sigma, scale):
            // ℓ₀(s, a) = τ·(Q*/β + σ ξ) with Q*_t(q, a) = r(q, a) + tail(δ(q, a)), tail = R_T
            // after EOS or at t = H−1, else V*_{t+1}: the operations of `SoftSolution.q`
            // and `noise(_:_:)`, on raw row pointers (bit-identical to them).
            let sol = solution!
            let invBeta = 1.0 / sol.beta
            let mdp = sol.mdp
            let V = vocabSize, t = s.t, q = s.latent
            let base = out.baseAddress!
            StableHash.gaussians(combining: StableHash.combine(s.hash, seed), count: V, into: base)
            let eos = mdp.eos ?? -1
            let last = t == mdp.horizon - 1
            mdp.rewards.withUnsafeBufferPointer { rw in
            mdp.transitions.withUnsafeBufferPointer { dl in
            mdp.terminalRewards.withUnsafeBufferPointer { rt in
            sol.values.withUnsafeBufferPointer { vals in
                let r = rw.baseAddress! + q &* V, d = dl.baseAddress! + q &* V
                let tail = last ? rt.baseAddress! : vals.baseAddress! + (t &+ 1) &* mdp.numLatent
                // The EOS token reads R_T: its noise is set aside and its entry
                // redone after the branch-free (vectorisable) loop.
                let eosNoise = eos >= 0 ? base[eos] : 0
                var a = 0
                let ninf = FastMath.Vector(repeating: -.infinity)
                while a &+ 8 <= V {
                    let rv = UnsafeRawPointer(r + a).loadUnaligned(as: FastMath.Vector.self)
                    let dv = UnsafeRawPointer(d + a).loadUnaligned(as: SIMD8<Int32>.self)
                    var tv = FastMath.Vector()
                    for j in 0..<8 { tv[j] = tail[Int(dv[j])] }
                    let qa = rv + tv
                    let nv = UnsafeRawPointer(base + a).loadUnaligned(as: FastMath.Vector.self)
                    var l = scale * (qa * invBeta + sigma * nv)
                    l.replace(with: ninf, where: qa .== ninf)
                    UnsafeMutableRawPointer(base + a).storeBytes(of: l, as: FastMath.Vector.self)
                    a &+= 8
                }
                while a < V {
                    let qa = r[a] + tail[Int(d[a])]
                    let l = scale * (qa * invBeta + sigma * base[a])
                    base[a] = qa == -.infinity ? -.infinity : l
                    a &+= 1
                }
                if eos >= 0 {
                    let qa = r[eos] + rt[Int(d[eos])]
                    base[eos] = qa == -.infinity ? -.infinity : scale * (qa * invBeta + sigma * eosNoise)
                }
            }}}}
        }
    }
}
