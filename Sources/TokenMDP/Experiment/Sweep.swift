import Foundation
import Yams

/// One point of the sweep grid: the assignments (dotted key → value as YAML
/// flow text, in axis order) and the configuration they produce.
public struct SweepCell: Sendable, Equatable {
    public var index: Int
    public var assignments: [(key: String, value: String)]
    public var config: ExperimentConfig

    public static func == (a: SweepCell, b: SweepCell) -> Bool {
        a.index == b.index && a.config == b.config && a.assignments.map(\.key) == b.assignments.map(\.key)
            && a.assignments.map(\.value) == b.assignments.map(\.value)
    }

    /// `key=value, …` (or `base` when nothing is swept).
    public var label: String {
        assignments.isEmpty ? "base" : assignments.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }
}

/// A job: one sweep cell × one seed. `index = cell · seeds.count + seedIndex`,
/// the order of `rows.csv`.
public struct Job: Sendable, Equatable {
    public var index: Int
    public var cell: Int
    public var seed: UInt64
    public init(index: Int, cell: Int, seed: UInt64) { self.index = index; self.cell = cell; self.seed = seed }
}

/// The expanded experiment: the base config, the sweep cells and the jobs.
///
/// Cells are the cartesian product of the sweep axes in the key order of the
/// `sweep:` mapping, the first key varying slowest (like nested loops written
/// in that order); cell 0 takes every axis's first value. Each cell applies
/// its assignments to the config tree with the `ConfigPath` rule and is
/// decoded and validated on its own, so a bad value is reported with its
/// sweep key, cell and line.
public struct ExperimentPlan: Sendable {
    public var base: ExperimentConfig
    public var cells: [SweepCell]
    /// The size of each cell's MDP (from the generator's parameters, or the
    /// file), checked while planning: a bad generator parameter is reported
    /// here with its key and line, before anything large is allocated.
    public var shapes: [MDPShape]
    /// The swept keys (the extra CSV columns), in axis order.
    public var sweepKeys: [String] { base.sweep.map(\.key) }
    public var seeds: [UInt64] { base.seeds }
    public var jobCount: Int { cells.count * seeds.count }
    /// An upper bound on the grid, against typos (`[0, 1, …]` × 10 axes).
    public static let maxCells = 1_000_000
    /// An upper bound on cells × seeds (each job writes a part file).
    public static let maxJobs = 1_000_000

    public func job(_ index: Int) -> Job {
        Job(index: index, cell: index / seeds.count, seed: seeds[index % seeds.count])
    }

    public var jobs: [Job] { (0..<jobCount).map(job) }

    /// Expands a document (overrides already applied).
    public init(document doc: ConfigDocument) throws {
        base = try doc.decode()
        let axes = try doc.sweepAxes()
        var total = 1
        for a in axes {
            let (t, o) = total.multipliedReportingOverflow(by: a.values.count)
            guard !o, t <= Self.maxCells else {
                throw ConfigError(key: "sweep", "the grid has more than \(Self.maxCells) cells", file: doc.file)
            }
            total = t
        }
        let (jobs, o) = total.multipliedReportingOverflow(by: base.seeds.count)
        guard !o, jobs <= Self.maxJobs else {
            throw ConfigError(key: axes.isEmpty ? "seeds" : "sweep", "\(total) cell(s) × \(base.seeds.count) seed(s) is more than \(Self.maxJobs) jobs",
                              file: doc.file, line: ConfigNode.keyLine(doc.root, key: axes.isEmpty ? "seeds" : "sweep"))
        }
        let baseTree = doc.rootWithoutSweep
        var shapes: [MDPShape] = []
        var fileShapes: [String: MDPShape] = [:]
        var cells: [SweepCell] = []
        cells.reserveCapacity(total)
        for ci in 0..<total {
            // Mixed-radix digits, last axis fastest.
            var rem = ci
            var picks = [Int](repeating: 0, count: axes.count)
            for a in stride(from: axes.count - 1, through: 0, by: -1) {
                picks[a] = rem % axes[a].values.count
                rem /= axes[a].values.count
            }
            var tree = baseTree
            var assignments: [(key: String, value: String)] = []
            for (a, axis) in axes.enumerated() {
                let v = axis.values[picks[a]]
                assignments.append((axis.key, ConfigNode.flowText(v)))
                do { tree = try doc.setting(tree, axis.path, to: v) } catch var e as ConfigError {
                    e.message = "cannot apply this sweep key: \(e.key): " + e.message
                    e.key = "sweep.\(axis.key)"
                    e.file = doc.file
                    e.line = axis.keyLine
                    throw e
                }
            }
            var c: ExperimentConfig
            do {
                c = try doc.decodeConfig(tree: tree)
                c.sweep = base.sweep
                let cc = c
                try doc.mapErrors(tree: tree) { try cc.validate() }
                let shape = try doc.mapErrors(tree: tree) { try Self.shape(of: cc.mdp, cache: &fileShapes) }
                try doc.mapErrors(tree: tree) { try Self.checkIndexRanges(cc, shape) }
                shapes.append(shape)
            } catch var e as ConfigError where !axes.isEmpty {
                e.message += " (in sweep cell \(ci): \(assignments.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))"
                // An error on a swept value points at the value in the sweep block.
                if let p = try? ConfigPath(parsing: e.key), let at = ConfigNode.canonical(tree, p) {
                    for (a, axis) in axes.enumerated() where ConfigNode.canonical(tree, axis.path) == at {
                        e.line = axis.values[picks[a]].mark?.line ?? e.line
                    }
                }
                throw e
            }
            cells.append(SweepCell(index: ci, assignments: assignments, config: c))
        }
        self.cells = cells
        self.shapes = shapes
    }

    /// Limits that keep the 32-bit indices of the beam search's back-pointers
    /// (≤ width · H nodes) and of the demonstration trie (≤ P + P_tr · D · H
    /// nodes) in range, whatever memory the machine has.
    static func checkIndexRanges(_ c: ExperimentConfig, _ shape: MDPShape) throws {
        let limit = Double(Int32.max)
        for (i, d) in c.decoders.enumerated() {
            guard case let .beam(widths, _) = d else { continue }
            for (j, w) in widths.enumerated() where Double(w) * Double(shape.horizon) > limit {
                throw ConfigError(key: "decoders[\(i)].widths[\(j)]", "width \(w) × horizon \(shape.horizon) exceeds \(Int32.max) beam nodes (32-bit indices); use a smaller width")
            }
        }
        if c.expert.demosFile == nil {
            let nodes = Double(shape.prompts) + Double(shape.trainPrompts) * Double(c.expert.demosPerPrompt) * Double(shape.horizon)
            guard nodes <= limit else {
                throw ConfigError(key: "expert.demos_per_prompt", "\(shape.trainPrompts) train prompts × \(c.expert.demosPerPrompt) demonstrations × horizon \(shape.horizon) could exceed \(Int32.max) trie nodes (32-bit indices); use fewer demonstrations")
            }
        }
    }

    /// The shape of an `mdp:` block: the generator's (checks its parameters,
    /// allocates nothing) or the file's (loaded once per path).
    static func shape(of m: MDPConfig, cache: inout [String: MDPShape]) throws -> MDPShape {
        switch m.source {
        case let .generator(g): return try g.shape()
        case let .file(path):
            if let s = cache[path] { return s }
            let s: MDPShape
            do { s = try TokenMDP.load(contentsOf: URL(fileURLWithPath: path)).shape } catch let e as TokenMDPError {
                throw ConfigError(key: "mdp.file", e.description)
            }
            cache[path] = s
            return s
        }
    }

    /// Loads a config file, applies `--set` overrides and expands the sweep.
    public static func load(contentsOf url: URL, overrides: [String] = []) throws -> ExperimentPlan {
        try ExperimentPlan(document: ConfigDocument.load(contentsOf: url).applying(overrides: overrides))
    }

    /// Same from YAML text (tests).
    public static func parse(yaml: String, baseDirectory: URL, overrides: [String] = []) throws -> ExperimentPlan {
        try ExperimentPlan(document: ConfigDocument(yaml: yaml, baseDirectory: baseDirectory).applying(overrides: overrides))
    }

    /// Builds every cell's MDP for the first seed, so generator parameter
    /// errors surface at planning time (naming `mdp.KEY`). Returns the MDPs.
    public func checkMDPs() throws -> [TokenMDP] {
        try cells.map { cell in
            do { return try cell.config.mdp.build(runSeed: seeds[0]) } catch let TokenMDPError.invalid(field, message) where field.hasPrefix("mdp") {
                throw ConfigError(key: field, message + (cells.count > 1 ? " (in sweep cell \(cell.index): \(cell.label))" : ""))
            }
        }
    }
}
