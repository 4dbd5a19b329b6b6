import Foundation

/// Mean, standard error and 95% Student-t interval of a sample.
///
///     mean = Σx / n,   s² = Σ(x − mean)² / (n − 1),   se = s / √n
///     95% interval = mean ± t_{0.975, n−1} · se
///
/// For n = 1 the standard error and the interval are undefined (nil; empty
/// in the CSV); for n = 0 the mean is too. The mean is accumulated with a
/// second, compensating pass (mean of the residuals) so it is exact to a few
/// ulps even for values with a large common offset.
///
/// Overflow: for finite inputs no statistic is ever NaN or ±∞. A sum that
/// overflows is redone as Σ x/n, squares that overflow are rescaled by
/// max|x − mean|, and a standard error or interval end that still lies
/// outside the Double range is left undefined (nil, an empty CSV field).
public struct SummaryStatistics: Sendable, Equatable {
    public var n: Int
    public var mean: Double?
    public var standardError: Double?
    public var ciLow: Double?
    public var ciHigh: Double?

    public init(_ xs: [Double]) {
        self.init(xs, t975: xs.count > 1 ? StudentT.quantile(0.975, df: Double(xs.count - 1)) : nil)
    }

    /// With the quantile `t_{0.975, n−1}` given (computed once per n by `Summary`).
    init(_ xs: [Double], t975: Double?) {
        n = xs.count
        guard n > 0 else { return }
        let dn = Double(n)
        var m = xs.reduce(0, +) / dn
        if !m.isFinite { m = xs.reduce(0) { $0 + $1 / dn } }       // the sum overflowed: add x/n instead
        let correction = xs.reduce(0) { $0 + ($1 - m) } / dn
        if correction.isFinite { m += correction }
        mean = m
        guard n > 1 else { return }
        let ss = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        var se = (ss / Double(n - 1)).squareRoot() / dn.squareRoot()
        if !se.isFinite {
            // (x − m)² overflowed: factor out s = max|x − m| (finite for finite x
            // of magnitude below half the Double range, which returns are).
            let s = xs.reduce(0) { max($0, abs($1 - m)) }
            se = s * (xs.reduce(0) { $0 + (($1 - m) / s) * (($1 - m) / s) } / Double(n - 1)).squareRoot() / dn.squareRoot()
        }
        // A statistic outside the Double range is undefined (empty), never ±∞ or NaN.
        guard se.isFinite else { return }
        standardError = se
        let t = t975 ?? StudentT.quantile(0.975, df: Double(n - 1))
        let lo = m - t * se, hi = m + t * se
        if lo.isFinite && hi.isFinite { ciLow = lo; ciHigh = hi }
    }
}

/// `summary.csv`: per (cell, split, learner, lambda, decoder, width,
/// length_normalize) and metric, the statistics of that metric over every row of the group (all
/// seeds and all prompts of the split, each row one observation).
///
/// Columns: `experiment, cell, <swept keys>, split, learner, lambda, decoder,
/// width, length_normalize, metric, n, missing, mean, se, ci95_low, ci95_high`. `missing`
/// counts the group's rows where the metric was empty or not finite (such
/// values are left out of the statistics, never averaged in silently).
/// Groups are ordered by cell, split (train before test), then learner and
/// decoder setting in the order they first appear in `rows.csv`.
public enum Summary {
    /// The metrics summarised, in output order (columns of `rows.csv`).
    public static let metrics = ["return", "correct", "regret", "overopt", "overopt_raw", "overopt_adv",
                                 "expert_gap", "optimism_margin", "supervised_frac", "logp_model", "length",
                                 "expert_correct", "first_ood_gap"]
    static let groupColumns = ["split", "learner", "lambda", "decoder", "width", "length_normalize"]

    public static func header(sweepKeys: [String]) -> [String] {
        ["experiment", "cell"] + sweepKeys + groupColumns + ["metric", "n", "missing", "mean", "se", "ci95_low", "ci95_high"]
    }

    /// One summarised group × metric.
    public struct Line: Sendable {
        public var key: [String]          // experiment, cell, sweep values, split, learner, lambda, decoder, width
        public var metric: String
        public var stats: SummaryStatistics
        public var missing: Int
        public var fields: [String] {
            func f(_ x: Double?) -> String { x.map(formatNumber) ?? "" }
            return key + [metric, String(stats.n), String(missing), f(stats.mean), f(stats.standardError), f(stats.ciLow), f(stats.ciHigh)]
        }
    }

    /// The summary's raw material from some of `rows.csv`'s records: every
    /// group's metric values in row order. Parts of consecutive pieces of
    /// `rows.csv` merge (`lines(parts:)`) into exactly the lines of the whole
    /// file, so each job's part is computed by the job itself, in parallel,
    /// and only the cheap merge runs after the last job.
    public struct Part: Sendable {
        /// The metrics present in the header, in `metrics` order.
        var metricNames: [String] = []
        /// Group keys in order of first appearance in these records.
        var keys: [[String]] = []
        /// `values[g][m]`: the finite values of metric m in group g, in row order.
        var values: [[[Double]]] = []
        /// `missing[g][m]`: rows of group g where metric m was empty or not finite.
        var missing: [[Int]] = []

        public init() {}

        /// Parses CSV text (header included), as `lines(rowsCSV:)` reads it.
        public init(rowsCSV: String, sweepKeys: [String]) throws {
            let records = CSV.parse(rowsCSV)
            guard let header = records.first else { return }
            var col: [String: Int] = [:]
            for (i, h) in header.enumerated() where col[h] == nil { col[h] = i }
            let keyCols = ["experiment", "cell"] + sweepKeys + groupColumns
            let keyIdx = try keyCols.map { k -> Int in
                guard let i = col[k] else { throw ExperimentError.incomplete("rows.csv has no column '\(k)'") }
                return i
            }
            let metricIdx = metrics.compactMap { m in col[m].map { (m, $0) } }
            metricNames = metricIdx.map(\.0)
            var index: [[String]: Int] = [:]
            for r in records.dropFirst() where r.count == header.count {
                let key = keyIdx.map { r[$0] }
                let g: Int
                if let i = index[key] { g = i } else {
                    g = keys.count
                    index[key] = g
                    keys.append(key)
                    values.append(Array(repeating: [], count: metricIdx.count))
                    missing.append(Array(repeating: 0, count: metricIdx.count))
                }
                for (m, (_, i)) in metricIdx.enumerated() {
                    if let x = Double(r[i]), x.isFinite { values[g][m].append(x) } else { missing[g][m] += 1 }
                }
            }
        }
    }

    /// Summarises `rows.csv` text (header included). Metrics absent from the
    /// header are skipped.
    public static func lines(rowsCSV: String, sweepKeys: [String]) throws -> [Line] {
        try lines(parts: [Part(rowsCSV: rowsCSV, sweepKeys: sweepKeys)], sweepKeys: sweepKeys)
    }

    /// Summarises the parts of consecutive pieces of `rows.csv`, given in
    /// file order: the same lines as `lines(rowsCSV:)` on the whole file
    /// (groups, their order, and every value in the same order).
    public static func lines(parts: [Part], sweepKeys: [String]) throws -> [Line] {
        let n = 2 + sweepKeys.count + groupColumns.count
        guard let metricNames = parts.first(where: { !$0.metricNames.isEmpty })?.metricNames else { return [] }
        var index: [[String]: Int] = [:]
        var order: [[String]] = []
        var values: [[[Double]]] = [], missing: [[Int]] = []
        // Learners and decoder settings are ranked by first appearance in the
        // rows; a row that introduces one also starts a new group of its part,
        // so ranking by first appearance of the groups is the same.
        var learnerRank: [String: Int] = [:], decoderRank: [String: Int] = [:]
        for part in parts where !part.keys.isEmpty {
            guard part.metricNames == metricNames else { throw ExperimentError.incomplete("the parts of rows.csv have different columns") }
            for (pg, key) in part.keys.enumerated() {
                let g: Int
                if let i = index[key] { g = i } else {
                    g = order.count
                    index[key] = g
                    order.append(key)
                    values.append(Array(repeating: [], count: metricNames.count))
                    missing.append(Array(repeating: 0, count: metricNames.count))
                    if learnerRank[key[n - 5]] == nil { learnerRank[key[n - 5]] = learnerRank.count }
                    let dec = key[n - 3] + "\u{1}" + key[n - 2] + "\u{1}" + key[n - 1]
                    if decoderRank[dec] == nil { decoderRank[dec] = decoderRank.count }
                }
                for m in metricNames.indices {
                    values[g][m] += part.values[pg][m]
                    missing[g][m] += part.missing[pg][m]
                }
            }
        }
        func rank(_ k: [String]) -> (Int, Int, Int, Int) {
            let cell = Int(k[1]) ?? 0
            let split = k[n - 6] == "train" ? 0 : (k[n - 6] == "test" ? 1 : 2)
            return (cell, split, learnerRank[k[n - 5]] ?? 0, decoderRank[k[n - 3] + "\u{1}" + k[n - 2] + "\u{1}" + k[n - 1]] ?? 0)
        }
        let sorted = order.indices.sorted { a, b in
            let ra = rank(order[a]), rb = rank(order[b])
            if ra != rb { return ra < rb }
            return a < b
        }
        // The t quantile depends only on n: compute each once.
        var quantiles: [Int: Double] = [:]
        var out: [Line] = []
        out.reserveCapacity(sorted.count * metricNames.count)
        for g in sorted {
            for (m, name) in metricNames.enumerated() {
                let xs = values[g][m]
                let t: Double? = xs.count > 1 ? {
                    if let q = quantiles[xs.count] { return q }
                    let q = StudentT.quantile(0.975, df: Double(xs.count - 1))
                    quantiles[xs.count] = q
                    return q
                }() : nil
                out.append(Line(key: order[g], metric: name, stats: SummaryStatistics(xs, t975: t), missing: missing[g][m]))
            }
        }
        return out
    }

    /// `summary.csv` text.
    public static func csv(rowsCSV: String, sweepKeys: [String]) throws -> String {
        var s = CSV.line(header(sweepKeys: sweepKeys))
        for l in try lines(rowsCSV: rowsCSV, sweepKeys: sweepKeys) { s += CSV.line(l.fields) }
        return s
    }

    /// A compact fixed-width table for the terminal: one line per group with
    /// the mean ± 95% half-width of the headline metrics.
    public static func table(_ lines: [Line], sweepKeys: [String], maxGroups: Int = 200) -> String {
        let shown = ["return", "correct", "overopt", "overopt_adv", "expert_gap", "expert_correct"]
        var groups: [[String]] = []
        var cells: [[String]: [String: Line]] = [:]
        for l in lines {
            if cells[l.key] == nil { groups.append(l.key); cells[l.key] = [:] }
            cells[l.key]![l.metric] = l
        }
        let header = ["cell", "split", "learner", "decoder", "width", "n"] + shown.filter { m in lines.contains { $0.metric == m } }
        var table: [[String]] = [header]
        let n = 2 + sweepKeys.count
        for key in groups.prefix(maxGroups) {
            let byMetric = cells[key]!
            var row = [key[1], key[n], key[n + 1], key[n + 3] + (key[n + 5] == "1" ? "-ln" : ""), key[n + 4]]
            row.append(String(byMetric.values.map(\.stats.n).max() ?? 0))
            for m in header.dropFirst(6) {
                guard let l = byMetric[m], let mean = l.stats.mean else { row.append("-"); continue }
                var s = String(format: "%.3f", mean)
                if let hi = l.stats.ciHigh { s += String(format: "±%.3f", hi - mean) }
                row.append(s)
            }
            table.append(row)
        }
        let widths = header.indices.map { c in table.map { $0[c].count }.max() ?? 0 }
        var out = ""
        for r in table {
            out += r.enumerated().map { c, s in c < 5 ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[c] - s.count) + s }.joined(separator: "  ") + "\n"
        }
        if groups.count > maxGroups { out += "… \(groups.count - maxGroups) more groups in summary.csv\n" }
        if !sweepKeys.isEmpty {
            out += "cells: see the swept columns (\(sweepKeys.joined(separator: ", "))) in summary.csv\n"
        }
        return out
    }
}
