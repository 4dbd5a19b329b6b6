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
public struct SummaryStatistics: Sendable, Equatable {
    public var n: Int
    public var mean: Double?
    public var standardError: Double?
    public var ciLow: Double?
    public var ciHigh: Double?

    public init(_ xs: [Double]) {
        n = xs.count
        guard n > 0 else { return }
        var m = xs.reduce(0, +) / Double(n)
        m += xs.reduce(0) { $0 + ($1 - m) } / Double(n)
        mean = m
        guard n > 1 else { return }
        let ss = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        let se = (ss / Double(n - 1)).squareRoot() / Double(n).squareRoot()
        standardError = se
        let t = StudentT.quantile(0.975, df: Double(n - 1))
        ciLow = m - t * se
        ciHigh = m + t * se
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

    /// Summarises `rows.csv` text (header included). Metrics absent from the
    /// header are skipped.
    public static func lines(rowsCSV: String, sweepKeys: [String]) throws -> [Line] {
        let records = CSV.parse(rowsCSV)
        guard let header = records.first else { return [] }
        var col: [String: Int] = [:]
        for (i, h) in header.enumerated() where col[h] == nil { col[h] = i }
        let keyCols = ["experiment", "cell"] + sweepKeys + groupColumns
        let keyIdx = try keyCols.map { k -> Int in
            guard let i = col[k] else { throw ExperimentError.incomplete("rows.csv has no column '\(k)'") }
            return i
        }
        let metricIdx = metrics.compactMap { m in col[m].map { (m, $0) } }
        var groups: [[String]: [[String]]] = [:]
        var order: [[String]] = []
        var learnerRank: [String: Int] = [:], decoderRank: [String: Int] = [:]
        for r in records.dropFirst() where r.count == header.count {
            let key = keyIdx.map { r[$0] }
            if groups[key] == nil { order.append(key); groups[key] = [] }
            groups[key]!.append(r)
            let learner = r[col["learner"]!]
            if learnerRank[learner] == nil { learnerRank[learner] = learnerRank.count }
            let dec = r[col["decoder"]!] + "\u{1}" + r[col["width"]!] + "\u{1}" + r[col["length_normalize"]!]
            if decoderRank[dec] == nil { decoderRank[dec] = decoderRank.count }
        }
        let n = keyCols.count
        func rank(_ k: [String]) -> (Int, Int, Int, Int) {
            let cell = Int(k[1]) ?? 0
            let split = k[n - 6] == "train" ? 0 : (k[n - 6] == "test" ? 1 : 2)
            return (cell, split, learnerRank[k[n - 5]] ?? 0, decoderRank[k[n - 3] + "\u{1}" + k[n - 2] + "\u{1}" + k[n - 1]] ?? 0)
        }
        let sorted = order.enumerated().sorted { a, b in
            let ra = rank(a.element), rb = rank(b.element)
            if ra != rb { return ra < rb }
            return a.offset < b.offset
        }.map(\.element)
        var out: [Line] = []
        for key in sorted {
            let rows = groups[key]!
            for (m, i) in metricIdx {
                var xs: [Double] = []
                var missing = 0
                for r in rows {
                    if let x = Double(r[i]), x.isFinite { xs.append(x) } else { missing += 1 }
                }
                out.append(Line(key: key, metric: m, stats: SummaryStatistics(xs), missing: missing))
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
