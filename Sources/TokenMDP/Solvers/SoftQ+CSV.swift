import Foundation

/// CSV export of an exact solution (SPEC §3 `solve`).
public enum SolutionCSV {
    /// `values.csv`: `t,latent,value` for `t ∈ 0...H`, every latent state.
    public static func writeValues(_ s: SoftSolution, to url: URL) throws {
        let S = s.mdp.numLatent
        var out = "t,latent,value\n"
        out.reserveCapacity((s.mdp.horizon + 1) * S * 16)
        for t in 0...s.mdp.horizon { for q in 0..<S { out += "\(t),\(q),\(formatNumber(s.v(t, q)))\n" } }
        try AtomicFile.write(out, to: url)
    }

    /// `q.csv`: `t,latent,token,q,log_pi` for `t ∈ 0..<H`, every latent and token.
    /// `log_pi` is `-inf` for forbidden tokens (and, at β = 0, non-maximisers).
    public static func writeQ(_ s: SoftSolution, to url: URL) throws {
        let S = s.mdp.numLatent, V = s.mdp.vocabSize
        var out = "t,latent,token,q,log_pi\n"
        for t in 0..<s.mdp.horizon {
            for q in 0..<S {
                for a in 0..<V {
                    out += "\(t),\(q),\(a),\(formatNumber(s.q(t, q, a))),\(formatNumber(s.logPolicy(t, q, a)))\n"
                }
            }
        }
        try AtomicFile.write(out, to: url)
    }
}
