import Foundation

/// The cost model of a plan: time and memory per job, for `tokenmdp
/// validate` (printed) and `tokenmdp run` (refused above `--max-memory`).
/// Computed from the MDP *shapes* (`MDPShape`, from the generator's
/// parameters, never by building a large MDP) and the config alone.
///
/// ## Memory (bytes, per job; a job is one cell × seed on one thread)
///
/// With S latent states, V tokens, H the horizon, P prompts (P_tr train),
/// D demonstrations per train prompt, L learners, and
/// `N = min(P + P_tr·D·(H−1), P·Σ_{t<H} V^t)` trie nodes (a demonstration
/// creates at most H−1 nodes; a prompt has at most Σ_{t<H} V^t prefixes):
///
///     mdp          12·S·V + 9·S + P·(64 + 8·prompt tokens)   (+ 100·S·V + file bytes to parse an mdp.file)
///     solutions    n·8·(H+1)·S          n = 2 (β and β = 0), 3 when expert.beta ≠ mdp.beta
///     demos        P_tr·D·(8·H + 64)
///     trie         N·(8·V + 124)        counts row, totals, links, children map, prefix state
///     learners     Σ per learner:  tabular 8·N·V · 2;  offline-soft-q 8·N·V · 2;  inverse-soft-q 8·N·V · 5;
///                  linear (d features) 8·(2·N_dem·V + 4·d·V) + chunk buffers, + 8·(d·V)² for exact training
///     decoding     max over settings: beam k: 190·min(k, V^(H−1)) + 16·k + 24·k·H + 8·V;  n samples: 16·n·H
///     rows         R·(2600 + 4·H) (+ R·820·H with steps_csv),  R = P · L · Σ_settings (n for sample, else 1)
///
/// The run holds the jobs that run at once (the `threads` largest) plus
/// the shared part: the summary's values of every row (100 bytes per row of
/// the whole run), the plan (16 KiB per cell) and the process itself
/// (32 MiB). The constants were calibrated against the peak resident size
/// on the development machine; the estimate is meant to be an upper bound
/// within a factor of about two, not a promise.
///
/// ## Time (seconds, per job, release build; a debug build is ≈ 10× slower)
///
///     solves        n · H·S·V · 2 ns
///     data          P_tr · D · H · V · 10 ns
///     training      tabular exact: N·V · 400 ns; gradient: steps · N·V · 10 ns;
///                   linear: steps · P_tr·D·H · V · 64 · 2 ns
///     decoding      P · L · Σ_settings (k·H·V · 30 ns)      (k = beam width, or n samples)
///     expert gap    P · L · samples · H · V · 60 ns
///
/// The constants are per-operation costs measured loosely on the 2-core
/// development machine.
public struct PlanEstimate: Sendable {
    public var secondsPerJob: [Double]
    public var bytesPerJob: [Double]
    /// Rows each job writes (a Double: it may be astronomically large).
    public var rowsPerJob: [Double]
    /// Memory outside the jobs: process, plan, summary values of every row.
    public var sharedBytes: Double
    /// The largest job's memory by component, largest first.
    public var largestJobParts: [(name: String, bytes: Double)]

    public func seconds(threads: Int) -> Double {
        secondsPerJob.reduce(0, +) / Double(max(1, min(threads, secondsPerJob.count)))
    }

    /// Jobs running at once: the `threads` largest.
    public func peakBytes(threads: Int) -> Double {
        sharedBytes + bytesPerJob.sorted(by: >).prefix(max(1, threads)).reduce(0, +)
    }

    /// Throws a `ConfigError` (key `--max-memory`, exit 2) when the peak
    /// estimate at `threads` exceeds `limit` bytes; the one-line message
    /// gives the estimate, the limit and the largest part.
    public func check(limit: Double, threads: Int) throws {
        let peak = peakBytes(threads: threads)
        guard peak > limit else { return }
        let jobs = min(max(1, threads), bytesPerJob.count)
        let top = largestJobParts.prefix(2).map { "\($0.name) \(ExperimentPlan.bytes($0.bytes))" }.joined(separator: ", ")
        throw ConfigError(key: "--max-memory", "the run needs an estimated \(ExperimentPlan.bytes(peak)) of memory (\(jobs) job(s) at once, the largest \(ExperimentPlan.bytes(bytesPerJob.max() ?? 0)): \(top)) but the limit is \(ExperimentPlan.bytes(limit)); lower --threads, shrink the config, or raise --max-memory")
    }
}

extension ExperimentPlan {
    /// Estimates every job's time and memory from the cells' MDP shapes.
    public func estimate() throws -> PlanEstimate {
        var secs: [Double] = [], bytes: [Double] = [], rows: [Double] = []
        var largest: [(String, Double)] = []
        var totalRows = 0.0
        for (cell, shape) in zip(cells, shapes) {
            let c = cell.config
            let H = Double(shape.horizon), S = Double(shape.numLatent), V = Double(shape.vocabSize)
            let P = Double(shape.prompts), Ptrain = Double(shape.trainPrompts)
            let L = Double(c.learners.count)
            // Demonstrations: sampled, or read from a file (bounded by its size).
            var D = Double(c.expert.demosPerPrompt), demoTokens = Ptrain * D * H
            if let f = c.expert.demosFile {
                let size = Double((try? FileManager.default.attributesOfItem(atPath: f)[.size] as? Int) ?? 0)
                demoTokens = size / 2
                D = Ptrain > 0 ? demoTokens / max(1, H) / Ptrain : 0
            }
            // Trie nodes: each demonstration adds ≤ H−1; a prompt has ≤ Σ_{t<H} V^t prefixes.
            var prefixes = 0.0, level = 1.0
            for _ in 0..<min(shape.horizon, 64) { prefixes += level; level *= V }
            let N = max(P, min(P + demoTokens, P * prefixes))
            let solves = 2.0 + (c.expertBeta != c.mdp.beta ? 1 : 0)

            var parts: [(String, Double)] = []
            var mdpBytes = 12 * S * V + 9 * S + P * (64 + 8 * Double(shape.promptTokens))
            if case let .file(path) = c.mdp.source {
                let size = Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
                mdpBytes += 100 * S * V + size
            }
            parts.append(("mdp", mdpBytes))
            parts.append(("exact solutions", solves * 8 * (H + 1) * S))
            parts.append(("demonstrations", demoTokens * 8 + Ptrain * D * 64))
            parts.append(("trie", N * (8 * V + 124)))
            var learnerBytes = 0.0
            for l in c.learners {
                switch l.param {
                case .tabular, .offlineSoftQ: learnerBytes += 2 * 8 * N * V
                case .inverseSoftQ: learnerBytes += 5 * 8 * N * V
                case .linear:
                    var d = 0.0
                    for k in l.features {
                        switch k {
                        case .bias: d += 1
                        case .position: d += H
                        case .promptTokenCrossPrevious: d += (V + 1) * (V + 1)
                        case .positionCrossPrevious: d += H * (V + 1)
                        case let .hashedNGram(_, b): d += Double(b)
                        case .prefixOneHot: d += N
                        }
                    }
                    learnerBytes += 8 * (2 * N * V + 4 * d * V + 256 * (d + V))
                    if l.training == .exact { learnerBytes += 8 * (d * V) * (d * V) }
                }
            }
            parts.append(("learners", learnerBytes))
            var decode = 0.0, evals = 0.0, rowCount = 0.0
            let treeLive = pow(V, max(0, H - 1))
            for st in c.decoderSettings {
                let k = Double(st.width)
                switch st.kind {
                case .beam, .greedy:
                    decode = max(decode, 190 * min(k, treeLive) + 16 * k + 24 * k * H + 8 * V)
                case .sample, .bestOfN:
                    decode = max(decode, 16 * k * H + 8 * V)
                case .oracle: break
                }
                evals += (st.kind == .oracle ? 1 : k) * H * V
                rowCount += st.kind == .sample ? k : 1
            }
            parts.append(("decoding", decode))
            let R = P * L * rowCount
            parts.append(("rows", R * (2600 + 4 * H) + (c.stepsCSV ? R * 820 * H : 0)))
            let b = parts.reduce(0) { $0 + $1.1 }

            let E = H * S * V
            var t = solves * E * 2e-9 + Ptrain * D * H * V * 10e-9
            for l in c.learners {
                switch (l.param, l.training) {
                case (.linear, _): t += Double(l.steps) * Ptrain * D * H * V * 64 * 2e-9
                case (_, .gradient): t += Double(l.steps) * N * V * 10e-9
                default: t += N * V * 400e-9
                }
            }
            t += P * L * (evals * 30e-9 + Double(c.expert.expertGapSamples) * H * V * 60e-9)

            let n = seeds.count
            secs += Array(repeating: t, count: n)
            bytes += Array(repeating: b, count: n)
            rows += Array(repeating: R, count: n)
            totalRows += R * Double(n)
            if b > (largest.reduce(0) { $0 + $1.1 }) { largest = parts }
        }
        let shared = 32 * 1_048_576 + 16_384 * Double(cells.count) + 100 * totalRows
        return PlanEstimate(secondsPerJob: secs, bytesPerJob: bytes, rowsPerJob: rows, sharedBytes: shared,
                            largestJobParts: largest.sorted { $0.1 > $1.1 }.map { (name: $0.0, bytes: $0.1) })
    }

    /// The human-readable plan printed by `tokenmdp validate`.
    public func describe(threads: Int, configName: String? = nil, maxMemory: Double? = nil) throws -> String {
        let est = try estimate()
        let mdp0 = shapes[0]
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
        out += "mdp: \(source); β = \(formatNumber(c.mdp.beta ?? 0)); \(mdp0.trainPrompts) train + \(mdp0.prompts - mdp0.trainPrompts) test prompts, vocab \(mdp0.vocabSize), horizon \(mdp0.horizon), \(mdp0.numLatent) latent states (cell 0)\n"
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
        out += "rows: \(rows < 1e15 ? String(Int64(rows)) : String(format: "%.3g", rows)) in rows.csv\n"
        let secs = est.seconds(threads: threads)
        let peak = est.peakBytes(threads: threads)
        out += String(format: "estimate: ~%@ on %d thread(s) in a release build (debug ≈ 10× slower); peak memory ~%@\n",
                      Self.duration(secs), threads, Self.bytes(peak))
        out += "memory of the largest job: " + est.largestJobParts.filter { $0.bytes >= 1 }
            .map { "\($0.name) \(Self.bytes($0.bytes))" }.joined(separator: ", ") + "\n"
        if let limit = maxMemory {
            out += "memory limit: \(Self.bytes(limit)) (--max-memory) — " + (peak > limit ? "EXCEEDED: `tokenmdp run` would refuse this plan\n" : "within it\n")
        }
        out += "output: \(c.output ?? "results/\(c.name)")" + (c.stepsCSV ? " (with steps.csv)" : "") + "\n"
        return out
    }

    static func duration(_ s: Double) -> String {
        if !(s < 1e9) { return String(format: "%.3g years", s / 3.15576e7) }
        if s < 1 { return String(format: "%.2g s", s) }
        if s < 120 { return String(format: "%.0f s", s) }
        if s < 7200 { return String(format: "%.0f min", s / 60) }
        return String(format: "%.1f h", s / 3600)
    }

    static func bytes(_ b: Double) -> String { MemorySize.format(b) }
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
