import Foundation

/// A least-squares line through `(log N, log y)` points from several
/// independent groups (seeds), with one intercept per group:
///
///     log y_{g,i} = c_g + slope · log N_i + ε        (fixed effects by group)
///
///     slope    = Σ x̃ỹ / Σ x̃²,   x̃ = x − x̄_g, ỹ = y − ȳ_g     (within-group centring)
///     slope_se = √( RSS / (n − G − 1) / Σ x̃² )                 (classical OLS standard error)
///     intercept = mean_g (ȳ_g − slope · x̄_g)                    (the average group's line)
///
/// With one group this is ordinary least squares. Centring per group
/// removes the seed-to-seed level differences (each seed has its own MDP)
/// from the residuals, so `slope_se` measures only the scatter about the
/// power law. Natural logarithms.
public struct LogLogFit: Sendable, Equatable {
    /// The fit's name in `kl_fit.csv` (`all`, `n_ge_100`).
    public var name: String
    /// Smallest and largest N used.
    public var nMin: Int
    public var nMax: Int
    /// Number of points used.
    public var points: Int
    /// NaN when all N are equal.
    public var slope: Double
    /// NaN when there are no residual degrees of freedom (n ≤ G + 1).
    public var slopeSE: Double
    public var intercept: Double

    /// Fits the points with `n ≥ minN` and a finite, positive `y`.
    /// - Parameter points: `(group, N, y)`; N ≥ 1.
    /// - Returns: nil when fewer than two points remain.
    public static func fit(name: String, points: [(group: UInt64, n: Int, y: Double)], minN: Int = 1) -> LogLogFit? {
        let used = points.filter { $0.n >= minN && $0.y > 0 && $0.y.isFinite }
        guard used.count >= 2 else { return nil }
        var groups: [UInt64: (sx: Double, sy: Double, k: Double)] = [:]
        var order: [UInt64] = []
        for p in used {
            if groups[p.group] == nil { order.append(p.group) }
            let x = Foundation.log(Double(p.n)), y = Foundation.log(p.y)
            groups[p.group, default: (0, 0, 0)].sx += x
            groups[p.group, default: (0, 0, 0)].sy += y
            groups[p.group, default: (0, 0, 0)].k += 1
        }
        var sxx = 0.0, sxy = 0.0
        for p in used {
            let g = groups[p.group]!
            let xt = Foundation.log(Double(p.n)) - g.sx / g.k, yt = Foundation.log(p.y) - g.sy / g.k
            sxx += xt * xt; sxy += xt * yt
        }
        let slope = sxx > 0 ? sxy / sxx : .nan
        var rss = 0.0
        for p in used {
            let g = groups[p.group]!
            let xt = Foundation.log(Double(p.n)) - g.sx / g.k, yt = Foundation.log(p.y) - g.sy / g.k
            rss += (yt - slope * xt) * (yt - slope * xt)
        }
        let df = used.count - order.count - 1
        let se = df > 0 && sxx > 0 ? (rss / Double(df) / sxx).squareRoot() : .nan
        let intercept = order.reduce(0.0) { acc, k in let g = groups[k]!; return acc + (g.sy - slope * g.sx) / g.k } / Double(order.count)
        return LogLogFit(name: name, nMin: used.map(\.n).min()!, nMax: used.map(\.n).max()!, points: used.count,
                         slope: slope, slopeSE: se, intercept: intercept)
    }
}

/// One point of `kl_vs_n.csv`: seed, demonstrations per train prompt, the
/// number of demonstrated states, and the mean KL(π* ‖ π̂) over them (nats).
public struct KLPoint: Sendable, Equatable {
    public var seed: UInt64
    public var nDemos: Int
    public var states: Int
    public var kl: Double
}

/// The SFT–Q identities as measured numbers (SPEC §4 experiment 5,
/// `tokenmdp identities`).
///
/// For every seed, `instancesPerSeed` random instances per identity
/// (`TokenMDP.randomInstance`, logit tables `HashLogitModel`, count vectors,
/// demonstrations from π*), each measured by the `Identities` function named
/// in the row; the rows merge all seeds. Tolerances (absolute, in the units
/// of each claim):
///
/// | row | instances (per seed) | tolerance |
/// |---|---|---|
/// | I1 enumeration | S 4, V 3, H 4, EOS on even instances, 15% forbidden; β ∈ {0.3, 1, 2.5} | `exactTolerance` |
/// | I2 telescoping | S 5, V 3, H 4, same | `exactTolerance` |
/// | I3 β → 0 | S 4, V 3, H 4, β = `smallBeta` | `smallBeta · log max |Y|` (entropy bound) |
/// | I4 inverse Bellman | S 4, V 3, H 3, EOS on/off, logits ~ N(0, 2²), β 0.7 | `exactTolerance` |
/// | I5 IQ-Learn | S 5, V 3, H 4, 15 demos/prompt; random logits and trained SOC | `exactTolerance` |
/// | I6-shaping | S 5, V 3, H 3, exact expected counts, β 0.8 | `exactTolerance` |
/// | I6-rate | the `n_ge_100` KL fit | `|slope + 1| ≤ rateTolerance` |
/// | I7-sharpening | V ∈ 3…6, counts 20…34, λ ∈ {0.1, 0.2, 0.3}, μ = 1e-6 | `sharpeningTolerance` |
/// | I7-gradient | same counts, λ ∈ {0, 0.3}, μ 0.5, Adam 4000 steps | `gradientTolerance` |
/// | linear-one-hot | S 6, V 3, H 3, 8 demos/prompt, noisy-oracle prior, λ ∈ {0, 0.2}, μ 0.5 | `linearTolerance` |
///
/// KL vs N (I6): per seed one instance (S 6, V 4, H 3, EOS, 2 train
/// prompts, β = 1), for each N in `sizes`, N demonstrations per train prompt
/// from π* (stream `identities/kl/data/N`), tabular SFT (λ 0, μ = `klWeightDecay`, uniform
/// prior) and `Identities.sftKL`. Fits: `all` sizes and `n_ge_100`.
///
/// Deterministic: single-threaded; seeds enter only through `SplitMix64`
/// streams `identities/<row>` (instance seeds) and `identities/kl/…`.
public struct IdentityReport: Sendable {
    public static let defaultSeeds: [UInt64] = [0, 1, 2, 3]
    public static let defaultSizes = [10, 30, 100, 300, 1000, 3000, 10_000]

    /// Exact identities evaluated in Double on trees of ≤ a few hundred
    /// responses with values O(1)–O(100): rounding is ~1e-13, so 1e-9 leaves
    /// four orders of margin and still catches any real discrepancy.
    public static let exactTolerance = 1e-9
    /// β of the I3 row (reward units per nat).
    public static let smallBeta = 1e-6
    /// I7 with μ = 1e-6 and N ≈ 100: the prior pull moves π by ≲ μ|Δ|/N ≈ 1e-8.
    public static let sharpeningTolerance = 1e-7
    public static let sharpeningWeightDecay = 1e-6
    /// Adam for a fixed 4000 steps (lr 0.1, cosine) on one strictly convex state:
    /// an optimisation error (nats); measured ~1e-12, so 1e-6 is a loose bound.
    public static let gradientTolerance = 1e-6
    public static let gradientOptions = GradientOptions(steps: 4000, learningRate: 0.1, schedule: .cosine)
    /// Two exact Newton solutions of the same strictly convex problem (nats).
    public static let linearTolerance = 1e-8
    /// |slope − (−1)| of the `n_ge_100` KL fit.
    public static let rateTolerance = 0.2
    /// The N from which the asymptotic fit starts.
    public static let asymptoticMinN = 100
    /// μ of the SFT learner in the KL-vs-N runs (demonstrations; the weight
    /// decay of configs/default.yaml). Any fixed μ > 0 gives slope −1
    /// asymptotically; the prior pull flattens the curve at small counts.
    public static let klWeightDecay = 0.1

    public var seeds: [UInt64]
    public var sizes: [Int]
    public var instancesPerSeed: Int
    public var checks: [IdentityCheck] = []
    public var kl: [KLPoint] = []
    public var fits: [LogLogFit] = []

    /// Runs every check and the KL-vs-N study.
    /// - Parameters:
    ///   - seeds: at least one.
    ///   - sizes: demonstrations per train prompt, each in 1…1_000_000.
    ///   - instancesPerSeed: random instances per identity and seed (≥ 1).
    /// - Throws: `TokenMDPError.invalid` on bad arguments; any solver or
    ///   learner error (which would itself be a finding).
    /// - Complexity: dominated by the KL study, O(seeds · Σ sizes · H) sampling.
    public init(seeds: [UInt64] = defaultSeeds, sizes: [Int] = defaultSizes, instancesPerSeed: Int = 4) throws {
        guard !seeds.isEmpty else { throw TokenMDPError.invalid(field: "seeds", message: "needs at least one seed") }
        guard Set(seeds).count == seeds.count else { throw TokenMDPError.invalid(field: "seeds", message: "seeds must be distinct") }
        guard !sizes.isEmpty else { throw TokenMDPError.invalid(field: "sizes", message: "needs at least one size") }
        for n in sizes where n < 1 || n > 1_000_000 {
            throw TokenMDPError.invalid(field: "sizes", message: "every size must be in 1...1000000, got \(n)")
        }
        guard Set(sizes).count == sizes.count else { throw TokenMDPError.invalid(field: "sizes", message: "sizes must be distinct") }
        guard instancesPerSeed >= 1 else { throw TokenMDPError.invalid(field: "instances", message: "must be ≥ 1") }
        self.seeds = seeds
        self.sizes = sizes
        self.instancesPerSeed = instancesPerSeed
        try runChecks()
        try runKL()
    }

    /// Instance seeds of one row for one seed.
    private func instanceSeeds(_ row: String, _ seed: UInt64) -> [UInt64] {
        var rng = SplitMix64(seed: seed, stream: "identities/" + row)
        return (0..<instancesPerSeed).map { _ in rng.next() }
    }

    private mutating func runChecks() throws {
        typealias I = Identities
        var d1 = Discrepancy(), d2 = Discrepancy(), d3 = Discrepancy(), d4 = Discrepancy(), d5 = Discrepancy()
        var d6 = Discrepancy(), d7 = Discrepancy(), d7g = Discrepancy(), dLin = Discrepancy()
        var bound3 = 0.0
        let betas = [0.3, 1.0, 2.5]
        for seed in seeds {
            for (i, s) in instanceSeeds("I1", seed).enumerated() {
                let m = TokenMDP.randomInstance(seed: s, latent: 4, vocab: 3, horizon: 4, eos: i % 2 == 0)
                for b in betas { d1.merge(try I.enumeration(m, beta: b)) }
            }
            for (i, s) in instanceSeeds("I2", seed).enumerated() {
                let m = TokenMDP.randomInstance(seed: s, latent: 5, vocab: 3, horizon: 4, eos: i % 2 == 0)
                for b in betas { d2.merge(try I.telescoping(m, beta: b)) }
            }
            for s in instanceSeeds("I3", seed) {
                let m = TokenMDP.randomInstance(seed: s, latent: 4, vocab: 3, horizon: 4)
                let (d, bound) = try I.zeroTemperatureLimit(m, beta: Self.smallBeta)
                d3.merge(d); bound3 = Swift.max(bound3, bound)
            }
            for (i, s) in instanceSeeds("I4", seed).enumerated() {
                let m = TokenMDP.randomInstance(seed: s, latent: 4, vocab: 3, horizon: 3, eos: i % 2 == 0,
                                                forbiddenFraction: 0, prompts: 1)
                d4.merge(try I.inverseBellmanRoundTrip(m, prompt: 0, model: HashLogitModel(vocabSize: 3, seed: s, scale: 2), beta: 0.7))
            }
            for s in instanceSeeds("I5", seed) {
                let beta = 0.6
                let m = TokenMDP.randomInstance(seed: s, latent: 5, vocab: 3, horizon: 4, forbiddenFraction: 0.1, prompts: 3)
                let sol = try SoftValueIteration.solve(m, beta: beta)
                var rng = SplitMix64(seed: s, stream: "identities/I5/data")
                let demos = try DemonstrationSampler(demosPerPrompt: 15).sample(expert: sol, oracle: nil, rng: &rng)
                let trie = demos.trie(mdp: m)
                let soc = try TabularLearner(mdp: m, trie: trie, prior: try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: s),
                                             options: .init(lambda: 0.2, weightDecay: 0.3))
                d5.merge(try I.iqLearnEquivalence(m, model: HashLogitModel(vocabSize: 3, seed: s), beta: beta,
                                                  demonstrations: demos.demonstrations, trie: nil))
                d5.merge(try I.iqLearnEquivalence(m, model: soc, beta: beta, demonstrations: demos.demonstrations, trie: trie))
            }
            for s in instanceSeeds("I6-shaping", seed) {
                let m = TokenMDP.randomInstance(seed: s, latent: 5, vocab: 3, horizon: 3, forbiddenFraction: 0, prompts: 3)
                d6.merge(try I.potentialShaping(m, beta: 0.8))
            }
            for s in instanceSeeds("I7", seed) {
                var rng = SplitMix64(seed: s)
                let V = 3 + rng.nextInt(below: 4)
                let counts = (0..<V).map { _ in 20 + rng.nextInt(below: 15) }
                for lambda in [0.1, 0.2, 0.3] {
                    d7.merge(try I.socSharpening(counts: counts, lambda: lambda, weightDecay: Self.sharpeningWeightDecay))
                }
                for lambda in [0.0, 0.3] {
                    d7g.merge(try I.exactVersusGradient(counts: counts, lambda: lambda, weightDecay: 0.5, gradient: Self.gradientOptions))
                }
            }
            for s in instanceSeeds("linear-one-hot", seed) {
                let m = TokenMDP.randomInstance(seed: s, latent: 6, vocab: 3, horizon: 3, forbiddenFraction: 0.1, prompts: 3)
                let sol = try SoftValueIteration.solve(m, beta: 0.8)
                let prior = try Prior.noisyOracle(solution: sol, sigma: 1, scale: 1, seed: s)
                var rng = SplitMix64(seed: s, stream: "identities/linear-one-hot/data")
                let trie = try DemonstrationSampler(demosPerPrompt: 8).sample(expert: sol, oracle: nil, rng: &rng).trie(mdp: m)
                for lambda in [0.0, 0.2] {
                    dLin.merge(try I.linearOneHotVersusTabular(m, trie: trie, prior: prior, lambda: lambda, weightDecay: 0.5))
                }
            }
        }
        let e = Self.exactTolerance
        checks = [
            IdentityCheck(identity: "I1", claim: "soft VI root value = β log Σ_y exp(G/β) over all responses; Σ_y π*(y|x) = 1", d1, tolerance: e),
            IdentityCheck(identity: "I2", claim: "β log π*(y|x) = G(x,y) − V*(x) for every response", d2, tolerance: e),
            IdentityCheck(identity: "I3", claim: "β → 0: V* at β = 0 and at β = \(formatNumber(Self.smallBeta)) equal max_y G within β log|Y|", d3, tolerance: bound3),
            IdentityCheck(identity: "I4", claim: "soft VI on the inverse-Bellman reward r̃ = βℓ − V̂(s∘a) returns Q̂ = βℓ, V̂ and π_ℓ", d4, tolerance: e),
            IdentityCheck(identity: "I5", claim: "Σ_t log π_ℓ = (Σ_t r̃ − V̂(s_0))/β per response; SFT log-likelihood = IQ-Learn objective / β", d5, tolerance: e),
            IdentityCheck(identity: "I6-shaping", claim: "r̃ = r + Φ(s∘a) − Φ(s) with Φ(s) = V*(s) − V*(x) under exact expert counts", d6, tolerance: e),
        ]
        // I6-rate is appended by runKL.
        checks += [
            IdentityCheck(identity: "I7-sharpening", claim: "SOC at μ → 0: π − u = (p̂ − u)/(1 − λ) (μ = \(formatNumber(Self.sharpeningWeightDecay)))", d7, tolerance: Self.sharpeningTolerance),
            IdentityCheck(identity: "I7-gradient", claim: "exact (Newton) and gradient (Adam \(Self.gradientOptions.steps) steps) SOC/SFT logits agree", d7g, tolerance: Self.gradientTolerance),
            IdentityCheck(identity: "linear-one-hot", claim: "linear learner with one-hot-per-prefix features = tabular learner (exact training)", dLin, tolerance: Self.linearTolerance),
        ]
    }

    private mutating func runKL() throws {
        var points: [KLPoint] = []
        for seed in seeds {
            var r = SplitMix64(seed: seed, stream: "identities/kl/mdp")
            let m = TokenMDP.randomInstance(seed: r.next(), latent: 6, vocab: 4, horizon: 3, forbiddenFraction: 0, prompts: 3)
            let sol = try SoftValueIteration.solve(m, beta: 1)
            for n in sizes {
                var rng = SplitMix64(seed: seed, stream: "identities/kl/data/\(n)")
                let demos = try DemonstrationSampler(demosPerPrompt: n).sample(expert: sol, oracle: nil, rng: &rng)
                let (states, kl) = try Identities.sftKL(solution: sol, demonstrations: demos, weightDecay: Self.klWeightDecay)
                points.append(KLPoint(seed: seed, nDemos: n, states: states, kl: kl))
            }
        }
        kl = points
        let pts = points.map { (group: $0.seed, n: $0.nDemos, y: $0.kl) }
        fits = [LogLogFit.fit(name: "all", points: pts), LogLogFit.fit(name: "n_ge_\(Self.asymptoticMinN)", points: pts, minN: Self.asymptoticMinN)]
            .compactMap { $0 }
        // I6-rate: the asymptotic fit when it exists, else the one over all N.
        let rate = fits.last
        var d = Discrepancy()
        if let f = rate { d.record(f.slope, -1, "log–log slope (\(f.name))") }
        var row = IdentityCheck(identity: "I6-rate", claim: "KL(π* ‖ π̂_SFT) ∝ 1/N on demonstrated states: |slope + 1| (\(rate?.name ?? "no fit"))",
                                d, tolerance: Self.rateTolerance)
        row.cases = rate?.points ?? 0
        if rate == nil { row.maxAbsDiff = .nan }
        checks.insert(row, at: 6)
    }

    // MARK: Output

    public static let identitiesHeader = ["identity", "claim", "cases", "max_abs_diff", "tolerance", "pass"]
    public static let klHeader = ["seed", "n_demos", "states", "kl"]
    public static let fitHeader = ["fit", "n_min", "n_max", "slope", "slope_se", "intercept"]

    /// `identities.csv`: one row per check; `pass` is 1 or 0.
    public var identitiesCSV: String {
        var b = CSVBuffer(header: Self.identitiesHeader)
        for c in checks {
            b.write([c.identity, c.claim, String(c.cases), formatNumber(c.maxAbsDiff), formatNumber(c.tolerance), c.pass ? "1" : "0"])
        }
        return b.text
    }

    /// `kl_vs_n.csv`: one row per seed × size (kl in nats).
    public var klCSV: String {
        var b = CSVBuffer(header: Self.klHeader)
        for p in kl { b.write([String(p.seed), String(p.nDemos), String(p.states), formatNumber(p.kl)]) }
        return b.text
    }

    /// `kl_fit.csv`: one row per fit; `slope_se` is empty when undefined.
    public var fitCSV: String {
        var b = CSVBuffer(header: Self.fitHeader)
        for f in fits {
            b.write([f.name, String(f.nMin), String(f.nMax), formatNumber(f.slope),
                     f.slopeSE.isNaN ? "" : formatNumber(f.slopeSE), formatNumber(f.intercept)])
        }
        return b.text
    }

    public static let fileNames = ["identities.csv", "kl_vs_n.csv", "kl_fit.csv"]

    /// Writes the three CSVs into `directory` (created), each atomically.
    /// - Throws: `OutputError.exists` when one of them exists and not `overwrite`.
    public func write(to directory: URL, overwrite: Bool) throws {
        let urls = Self.fileNames.map { directory.appendingPathComponent($0) }
        if !overwrite, let e = urls.first(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            throw OutputError.exists(e.path)
        }
        for (url, text) in zip(urls, [identitiesCSV, klCSV, fitCSV]) { try AtomicFile.write(text, to: url) }
    }

    /// A compact terminal table: one line per check, then the KL fits.
    public func table() -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func sci(_ x: Double) -> String { x.isNaN ? "nan" : String(format: "%.2e", x) }
        var out = pad("identity", 16) + pad("cases", 9) + pad("max_abs_diff", 14) + pad("tolerance", 11) + "pass\n"
        for c in checks {
            out += pad(c.identity, 16) + pad(String(c.cases), 9) + pad(sci(c.maxAbsDiff), 14) + pad(sci(c.tolerance), 11) + (c.pass ? "yes" : "NO") + "\n"
        }
        out += "\nKL(π* ‖ π̂_SFT) vs N demonstrations per prompt (log–log, fixed effects by seed):\n"
        for f in fits {
            out += "  " + pad(f.name, 10) + "N \(f.nMin)…\(f.nMax): slope " + String(format: "%.3f", f.slope)
                + (f.slopeSE.isNaN ? "" : " ± " + String(format: "%.3f", f.slopeSE)) + "\n"
        }
        return out
    }
}
