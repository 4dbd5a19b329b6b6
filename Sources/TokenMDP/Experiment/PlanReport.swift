import Foundation

/// A rough cost model of a plan, for `tokenmdp validate`.
///
/// Per job (cell × seed), with `E = H·S·V` automaton edges, `P` prompts
/// (`P_train` of them train), `D` demonstrations per train prompt, `L`
/// learners, and per decoder setting a number of model evaluations:
///
///     solves        3 · E · 2 ns                (β, β = 0, β_expert)
///     data          P_train · D · H · V · 10 ns
///     training      tabular exact: nodes · V · 400 ns; gradient: steps · nodes · V · 10 ns;
///                   linear: steps · M · V · d · 2 ns        (nodes ≤ P_train · D · H, M = pairs)
///     decoding      P · L · Σ_settings (k·H·V · 30 ns)      (k = beam width, or n samples)
///     expert gap    P · L · samples · H · V · 60 ns
///
/// The constants are per-operation costs measured loosely on the 2-core
/// development machine in a release build; a debug build is roughly 10×
/// slower. Memory per concurrently running job: the automaton (12 bytes per
/// edge), three value tables (8·(H+1)·S bytes each) and the trie per learner
/// (8·V bytes per node). It is an estimate for planning, not a promise.
public struct PlanEstimate: Sendable {
    public var secondsPerJob: [Double]
    public var bytesPerJob: [Double]
    public var rowsPerJob: [Int]

    public func seconds(threads: Int) -> Double {
        secondsPerJob.reduce(0, +) / Double(max(1, min(threads, secondsPerJob.count)))
    }

    public func peakBytes(threads: Int) -> Double {
        bytesPerJob.sorted(by: >).prefix(max(1, threads)).reduce(0, +)
    }
}

extension ExperimentPlan {
    /// Estimates every job's time and memory (builds each cell's MDP for the
    /// first seed; throws generator errors as `ConfigError` naming `mdp.KEY`).
    public func estimate() throws -> PlanEstimate {
        let mdps = try checkMDPs()
        var secs: [Double] = [], bytes: [Double] = [], rows: [Int] = []
        for (cell, mdp) in zip(cells, mdps) {
            let c = cell.config
            let H = Double(mdp.horizon), S = Double(mdp.numLatent), V = Double(mdp.vocabSize)
            let P = Double(mdp.prompts.count), Ptrain = Double(mdp.promptIndices(.train).count)
            let D = Double(c.expert.demosFile == nil ? c.expert.demosPerPrompt : 8)
            let E = H * S * V
            var t = 3 * E * 2e-9 + Ptrain * D * H * V * 10e-9
            let nodes = min(Ptrain * D * H, S * H + Ptrain * D * H)
            for l in c.learners {
                switch (l.param, l.training) {
                case (.linear, _): t += Double(l.steps) * Ptrain * D * H * V * 64 * 2e-9
                case (_, .gradient): t += Double(l.steps) * nodes * V * 10e-9
                default: t += nodes * V * 400e-9
                }
            }
            var evals = 0.0
            var rowCount = 0
            for s in c.decoderSettings {
                evals += Double(s.kind == .oracle ? 1 : s.width) * H * V
                rowCount += s.kind == .sample ? s.width : 1
            }
            let L = Double(c.learners.count)
            t += P * L * (evals * 30e-9 + Double(c.expert.expertGapSamples) * H * V * 60e-9)
            secs += Array(repeating: t, count: seeds.count)
            let b = 12 * S * V + 3 * 8 * (H + 1) * S + L * nodes * V * 8 + 1e6
            bytes += Array(repeating: b, count: seeds.count)
            rows += Array(repeating: Int(P) * c.learners.count * rowCount, count: seeds.count)
        }
        return PlanEstimate(secondsPerJob: secs, bytesPerJob: bytes, rowsPerJob: rows)
    }

    /// The human-readable plan printed by `tokenmdp validate`.
    public func describe(threads: Int, configName: String? = nil) throws -> String {
        let est = try estimate()
        let mdp0 = try cells[0].config.mdp.build(runSeed: seeds[0])
        let c = base
        var out = "experiment: \(c.name)" + (configName.map { "  (\($0))" } ?? "") + "\n"
        out += "seeds: \(seeds.map(String.init).joined(separator: ", "))\n"
        out += "cells: \(cells.count)" + (sweepKeys.isEmpty ? " (no sweep)" : " (sweep over \(sweepKeys.joined(separator: ", ")))") + "\n"
        for cell in cells.prefix(20) { out += "  cell \(cell.index): \(cell.label)\n" }
        if cells.count > 20 { out += "  … \(cells.count - 20) more\n" }
        out += "jobs: \(jobCount) (cells × seeds)\n"
        let source: String
        switch c.mdp.source {
        case let .generator(g): source = g.kindName + (c.mdp.seed.map { ", fixed seed \($0)" } ?? ", seeded per run seed")
        case let .file(p): source = "file \(p)"
        }
        out += "mdp: \(source); β = \(formatNumber(c.mdp.beta ?? 0)); \(mdp0.promptIndices(.train).count) train + \(mdp0.promptIndices(.test).count) test prompts, vocab \(mdp0.vocabSize), horizon \(mdp0.horizon), \(mdp0.numLatent) latent states (cell 0, seed \(seeds[0]))\n"
        if let f = c.expert.demosFile {
            out += "expert: demonstrations from \(f)\n"
        } else {
            out += "expert: \(c.expert.demosPerPrompt) demos per train prompt at β = \(formatNumber(c.expertBeta)), filter \(c.expert.filter.rawValue), ε = \(formatNumber(c.expert.epsilon)); expert_gap from \(c.expert.expertGapSamples) samples\n"
        }
        out += "prior: \(c.prior.kind.rawValue)" + (c.prior.kind == .noisyOracle ? " (σ = \(formatNumber(c.prior.sigma)), τ = \(formatNumber(c.prior.scale)))" : "") + "\n"
        out += "learners:\n"
        for l in c.learners {
            out += "  \(l.name): \(l.param.rawValue)"
            switch l.param {
            case .tabular, .linear:
                out += ", \(l.training.rawValue), λ = \(formatNumber(l.lambda)), μ = \(formatNumber(l.weightDecay))"
                if l.training == .gradient { out += ", \(l.steps) \(l.optimizer.rawValue) steps at rate \(formatNumber(l.learningRate))" }
                if l.labelSmoothing > 0 { out += ", label smoothing \(formatNumber(l.labelSmoothing))" }
                if l.param == .linear { out += ", features \(l.features.map(\.description).joined(separator: " "))" }
            case .offlineSoftQ: out += ", ood \(l.ood.rawValue)"
            case .inverseSoftQ: out += ", μ = \(formatNumber(l.weightDecay))"
            }
            out += "\n"
        }
        out += "decoders: " + c.decoderSettings.map { s in
            s.kind == .beam ? "\(s.label)(\(s.width))" : (s.kind == .sample || s.kind == .bestOfN ? "\(s.label)(n=\(s.width))" : s.label)
        }.joined(separator: ", ") + "\n"
        let rows = est.rowsPerJob.reduce(0, +)
        out += "rows: \(rows) in rows.csv\n"
        let secs = est.seconds(threads: threads)
        out += String(format: "estimate: ~%@ on %d thread(s) in a release build (debug ≈ 10× slower); peak memory ~%@\n",
                      Self.duration(secs), threads, Self.bytes(est.peakBytes(threads: threads)))
        out += "output: \(c.output ?? "results/\(c.name)")" + (c.stepsCSV ? " (with steps.csv)" : "") + "\n"
        return out
    }

    static func duration(_ s: Double) -> String {
        if s < 1 { return String(format: "%.2g s", s) }
        if s < 120 { return String(format: "%.0f s", s) }
        if s < 7200 { return String(format: "%.0f min", s / 60) }
        return String(format: "%.1f h", s / 3600)
    }

    static func bytes(_ b: Double) -> String {
        if b < Double(1 << 20) { return String(format: "%.0f KiB", b / 1024) }
        if b < Double(1 << 30) { return String(format: "%.0f MiB", b / Double(1 << 20)) }
        return String(format: "%.1f GiB", b / Double(1 << 30))
    }
}

/// A one-line progress bar on stderr (`\r`-redrawn), for terminals only:
/// the CLI enables it when `isatty(stderr)`.
public final class ProgressBar: @unchecked Sendable {
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let label: String

    public init(label: String = "jobs") { self.label = label }

    /// Draws `done/total` (at most 10 times a second, always at the end).
    public func update(_ done: Int, _ total: Int) {
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let width = 30
        let filled = total == 0 ? width : width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let elapsed = now.timeIntervalSince(start)
        var line = "\r[\(bar)] \(done)/\(total) \(label)  \(String(format: "%.0f", elapsed)) s"
        if done > 0 && done < total { line += String(format: ", ~%.0f s left", elapsed / Double(done) * Double(total - done)) }
        if done == total { line += "\n" }
        FileHandle.standardError.write(Data(line.utf8))
    }
}
