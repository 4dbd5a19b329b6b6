import ArgumentParser
import Foundation
import TokenMDP

struct EVTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evt",
        abstract: "Extreme-value prediction of beam search's over-optimism vs width under the noisy-oracle prior.",
        discussion: """
        Reads an experiment config (its sweep: is expanded as `run` does; every
        cell needs prior.kind noisy-oracle and a beam decoder with widths:) and
        writes, atomically, one row per sweep cell × beam width:

        cell: the sweep cell index (as in rows.csv)
        sigma, scale, beta: σ and τ of the prior, β of the MDP
        vocab: V, tokens per state (the cell's MDP for the first seed)
        width: the beam width k
        n_candidates: k·V, the extensions a width-k beam ranks at an
          off-data step
        expected_max_z: m(k·V) = E[max of k·V standard normals] (quadrature)
        predicted_gap: β·τ·σ·m(k·V) − normaliser_shift (reward units), the
          Gaussian extreme-value prediction of the selected token's step gap
        normaliser_shift: β·E[log (1/V) Σ_b exp(τσξ_b)] (reward units)
        critical_width: the smallest k in 1,2,4,… at which doubling the
          width adds less than half the predicted_gap_softmax growth of the
          first doubling (1 → 2)
        predicted_gap_softmax: the same selection with the softmax coupling
          kept (Monte Carlo, fixed seed); ≤ gap_ceiling, saturates in k
        gap_ceiling: β·log V, the largest one-step gap a flat state allows

        The predictions are per off-data decision, in a state where the noise
        alone ranks the tokens, with level beams; the derivation and what it
        ignores are on `BeamGapModel` (Sources/TokenMDP/Metrics/ExtremeValue.swift).
        Compare them with step_gap_t at t_from_ood = 0 (steps.csv) rather than
        with the whole-response overopt.

        Examples:
          tokenmdp evt configs/prior-noise.yaml --out evt.csv
          tokenmdp evt configs/default.yaml --set sweep.prior.sigma=[0.5,1,2] \\
            --set decoders.0.widths=[1,2,4,8,16,32,64] --out evt.csv
        """)

    @OptionGroup var config: ConfigOptions
    @Option(help: "The CSV file to write.") var out: String
    @Flag(help: "Replace --out if it exists.") var overwrite = false

    func run() throws {
        try runReportingErrors {
            let plan = try ExperimentPlan.load(contentsOf: config.url, overrides: config.overrides)
            var csv = CSVBuffer(header: BeamGapModel.csvHeader)
            var table = ""
            for cell in plan.cells {
                let c = cell.config
                let at = plan.cells.count > 1 ? " (in sweep cell \(cell.index): \(cell.label))" : ""
                guard c.prior.kind == .noisyOracle else {
                    throw ConfigError(key: "prior.kind", "evt predicts the noisy-oracle prior's over-optimism; got \(c.prior.kind.rawValue)\(at)")
                }
                var widths: [Int] = []
                for case let .beam(ws, _) in c.decoders { for w in ws where !widths.contains(w) { widths.append(w) } }
                guard !widths.isEmpty else { throw ConfigError(key: "decoders", "evt needs a beam decoder with widths:\(at)") }
                let vocab = try c.mdp.build(runSeed: plan.seeds[0]).vocabSize
                let model = try BeamGapModel(beta: c.mdp.beta!, scale: c.prior.scale, sigma: c.prior.sigma, vocab: vocab)
                for row in model.csvRows(cell: cell.index, widths: widths) { csv.write(row) }
                table += model.table(cell: cell.index, widths: widths)
            }
            let url = URL(fileURLWithPath: out)
            if !overwrite, FileManager.default.fileExists(atPath: url.path) { throw OutputError.exists(url.path) }
            try AtomicFile.write(csv.text, to: url)
            print("wrote \(out): \(csv.count) row(s)\n")
            print(table, terminator: "")
        }
    }
}
