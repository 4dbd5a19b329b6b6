import Foundation

/// The linear SFT-as-Q learner (SPEC §2.6): prior logits plus a linear
/// function of fixed features of the visible prefix,
///
///     ℓ(s, ·) = ℓ₀(s, ·) + W φ(s),      W ∈ ℝ^{V×d}
///
/// on every prefix, demonstrated or not — parameters are shared, so the
/// value loss on demonstrated states moves the logits of unseen ones.
///
/// Storage: `weights` is `Wᵀ`, a `d × V` row-major `Matrix`
/// (`weights[j, a] = W[a][j]`), so the contribution of feature column j is
/// the contiguous row j, and a chunk of logits is one GEMM `Φ · Wᵀ`.
///
/// Training minimises the loss of SPEC §1.4 with θ = W (see
/// `LinearObjective`):
///
/// * `gradient`: full-batch Adam/GD on `L/M` (weight decay `μ/M`), W = 0 at
///   the start, gradients by chunked GEMM;
/// * `exact`: Newton's method on the dense `(dV) × (dV)` Hessian solved by
///   Cholesky (LAPACK `dposv`) with backtracking, to a gradient norm
///   ≤ `1e-12 · max(1, M)` (accepting ≤ `1e-8 · max(1, M)` when rounding
///   stalls the iteration). Only for small problems (`d·V ≤ 4096`) and
///   `μ > 0` (with `μ = 0` the loss is invariant along directions such as a
///   common shift of all V logits of a feature, so the Hessian is singular).
public struct LinearLearner: LogitModel {
    public enum Training: Sendable, Equatable {
        case exact
        case gradient(GradientOptions)
    }

    public struct Options: Sendable, Equatable {
        /// λ ∈ [0, 1): SOC value-loss weight.
        public var lambda: Double
        /// μ ≥ 0: L2 precision on W (in demonstrations); exact training needs μ > 0.
        public var weightDecay: Double
        /// ε ∈ [0, 1): label smoothing (see `effectiveCounts`).
        public var labelSmoothing: Double
        public var training: Training

        public init(lambda: Double = 0, weightDecay: Double = 1e-3, labelSmoothing: Double = 0,
                    training: Training = .gradient(GradientOptions())) {
            self.lambda = lambda; self.weightDecay = weightDecay
            self.labelSmoothing = labelSmoothing; self.training = training
        }

        public func validate() throws {
            guard lambda.isFinite && lambda >= 0 && lambda < 1 else {
                throw TokenMDPError.invalid(field: "lambda", message: "must be in [0, 1) (λ ≥ 1 makes the loss unbounded below), got \(lambda)")
            }
            guard weightDecay.isFinite && weightDecay >= 0 else {
                throw TokenMDPError.invalid(field: "weight_decay", message: "must be a finite number ≥ 0, got \(weightDecay)")
            }
            guard labelSmoothing.isFinite && labelSmoothing >= 0 && labelSmoothing < 1 else {
                throw TokenMDPError.invalid(field: "label_smoothing", message: "must be in [0, 1), got \(labelSmoothing)")
            }
            switch training {
            case .exact:
                guard weightDecay > 0 else {
                    throw TokenMDPError.invalid(field: "weight_decay", message: "exact training of the linear learner needs weight_decay μ > 0 (with μ = 0 the Hessian is singular and, for λ > 0, the loss has no minimiser); use training: gradient")
                }
            case let .gradient(g): try g.validate()
            }
        }
    }

    public struct Report: Sendable, Equatable {
        /// Newton iterations or gradient steps.
        public var iterations: Int
        /// `L(W)` at the end (the sum loss of SPEC §1.4, L2 term included).
        public var loss: Double
        /// ‖∇L(W)‖ / max(1, M) at the end.
        public var relativeGradientNorm: Double
    }

    /// Largest `d·V` for exact (dense-Hessian Newton) training.
    public static let maxExactParameters = 4096

    public let vocabSize: Int
    public let prior: any LogitModel
    public let features: FeatureMap
    /// `Wᵀ` (d × V, row-major).
    public let weights: Matrix
    public let report: Report?

    /// A linear model with given weights (no training).
    public init(prior: any LogitModel, features: FeatureMap, weights: Matrix) {
        precondition(weights.rows == features.dimension && weights.cols == prior.vocabSize, "weights must be d × V")
        self.vocabSize = prior.vocabSize
        self.prior = prior
        self.features = features
        self.weights = weights
        self.report = nil
    }

    /// Builds the features and fits W.
    /// - Parameters:
    ///   - threads: workers for the per-row softmax loops (GEMMs use
    ///     OpenBLAS's own threads); results do not depend on it.
    /// - Throws: invalid options or features, an exact problem that is too
    ///   large, or a Newton failure.
    public init(mdp: TokenMDP, trie: DemonstrationTrie, prior: any LogitModel, features kinds: [FeatureKind],
                options: Options, threads: Int = 1) throws {
        try options.validate()
        let fmap = try FeatureMap(kinds: kinds, mdp: mdp, trie: trie)
        let objective = LinearObjective(mdp: mdp, trie: trie, prior: prior, features: fmap, lambda: options.lambda,
                                        weightDecay: options.weightDecay, labelSmoothing: options.labelSmoothing,
                                        threads: threads)
        let W: Matrix, report: Report
        switch options.training {
        case .exact: (W, report) = try objective.minimiseNewton()
        case let .gradient(g): (W, report) = objective.minimiseGradient(g)
        }
        self.vocabSize = mdp.vocabSize
        self.prior = prior
        self.features = fmap
        self.weights = W
        self.report = report
    }

    public func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        prior.logits(s, into: out)
        let V = vocabSize
        withUnsafeTemporaryAllocation(of: Int.self, capacity: features.maxActive) { cols in
            let k = features.active(s, into: cols.baseAddress!)
            weights.data.withUnsafeBufferPointer { w in
                for i in 0..<k {
                    let row = w.baseAddress! + cols[i] * V
                    for a in 0..<V { out[a] += row[a] }   // −∞ + finite stays −∞
                }
            }
        }
    }
}

/// The training problem of `LinearLearner`, over the unique demonstrated
/// trie nodes (rows) with their count vectors:
///
///     L(W) = Σ_rows [ −Σ_a n_r(a) ℓ_r(a) + (1 − λ) N_r log Σ_a exp ℓ_r(a) ] + (μ/2) ‖W‖²
///     ℓ_r = ℓ₀(s_r, ·) + W φ(s_r)
///     ∇_{Wᵀ} L = Φᵀ G + μ Wᵀ,     G_r(a) = −n_r(a) + (1 − λ) N_r π_r(a)
///
/// `Φ` (rows × d, dense 0/1) is materialised `chunkRows` rows at a time, so
/// memory stays O(chunkRows · d + rows · V) whatever the data size; the two
/// products per chunk (`Φ_c Wᵀ` and `Φ_cᵀ G_c`) are OpenBLAS GEMMs.
public struct LinearObjective: Sendable {
    public let features: FeatureMap
    public let vocabSize: Int
    /// Number of rows (demonstrated states).
    public let rowCount: Int
    /// `M`, teacher-forced pairs (Σ of the effective N).
    public let pairCount: Double
    public let lambda: Double
    public let weightDecay: Double
    /// Rows per GEMM chunk (default: about 16 MiB of Φ).
    public var chunkRows: Int
    public var threads: Int
    /// CSR layout of the active columns: row r uses `cols[rowStart[r] ..< rowStart[r+1]]`.
    let rowStart: [Int]
    let cols: [Int32]
    /// Effective counts and prior logits, `R × V` each.
    let counts: [Double]
    let priors: [Double]
    /// `(1 − λ) N_r`.
    let scale: [Double]

    public init(mdp: TokenMDP, trie: DemonstrationTrie, prior: any LogitModel, features: FeatureMap,
                lambda: Double, weightDecay: Double, labelSmoothing: Double = 0, threads: Int = 1) {
        let V = mdp.vocabSize
        let nodes = trie.demonstratedNodes
        let states = trie.prefixStates(mdp: mdp)
        let R = nodes.count
        var priors = [Double](repeating: 0, count: R * V)
        var counts = [Double](repeating: 0, count: R * V)
        var scale = [Double](repeating: 0, count: R)
        var rowStart = [0], cols: [Int32] = []
        rowStart.reserveCapacity(R + 1)
        let buf = UnsafeMutablePointer<Int>.allocate(capacity: features.maxActive)
        defer { buf.deallocate() }
        var M = 0.0
        priors.withUnsafeMutableBufferPointer { p in
        counts.withUnsafeMutableBufferPointer { c in
        trie.counts.withUnsafeBufferPointer { tc in
            parallelRanges(count: R, threads: threads) { lo, hi in
                for r in lo..<hi {
                    prior.logits(states[nodes[r]], into: UnsafeMutableBufferPointer(rebasing: p[r * V ..< (r + 1) * V]))
                }
            }
            for (r, node) in nodes.enumerated() {
                let N = effectiveCounts(counts: tc.baseAddress! + node * V, prior: p.baseAddress! + r * V, vocabSize: V,
                                        labelSmoothing: labelSmoothing, into: c.baseAddress! + r * V)
                scale[r] = (1 - lambda) * N
                M += N
                let k = features.active(states[node], into: buf)
                for i in 0..<k { cols.append(Int32(buf[i])) }
                rowStart.append(cols.count)
            }
        }}}
        self.features = features
        self.vocabSize = V
        self.rowCount = R
        self.pairCount = M
        self.lambda = lambda
        self.weightDecay = weightDecay
        self.chunkRows = max(1, min(max(R, 1), (16 << 20) / (8 * max(features.dimension, 1))))
        self.threads = threads
        self.rowStart = rowStart
        self.cols = cols
        self.counts = counts
        self.priors = priors
        self.scale = scale
    }

    /// `L(W)` (sum loss with the L2 term), `weights` = Wᵀ (d × V).
    public func value(_ weights: Matrix) -> Double {
        evaluate(weights, gradient: nil)
    }

    /// `L(W)` and `∇_{Wᵀ} L` (written into `gradient`, d × V).
    public func valueAndGradient(_ weights: Matrix, gradient: inout Matrix) -> Double {
        precondition(gradient.rows == features.dimension && gradient.cols == vocabSize)
        return gradient.data.withUnsafeMutableBufferPointer { evaluate(weights, gradient: $0.baseAddress!) }
    }

    /// The chunked GEMM evaluation (see the type's doc comment).
    func evaluate(_ weights: Matrix, gradient grad: UnsafeMutablePointer<Double>?) -> Double {
        let d = features.dimension, V = vocabSize, R = rowCount
        precondition(weights.rows == d && weights.cols == V, "weights must be d × V")
        let chunk = max(1, min(chunkRows, max(R, 1)))
        let phi = UnsafeMutablePointer<Double>.allocate(capacity: chunk * d)
        phi.initialize(repeating: 0, count: chunk * d)
        let block = UnsafeMutablePointer<Double>.allocate(capacity: chunk * V)
        let rowLoss = UnsafeMutablePointer<Double>.allocate(capacity: chunk)
        defer { phi.deallocate(); block.deallocate(); rowLoss.deallocate() }
        if let g = grad { g.initialize(repeating: 0, count: d * V) }
        var total = 0.0
        weights.data.withUnsafeBufferPointer { w in
        counts.withUnsafeBufferPointer { cnt in
        priors.withUnsafeBufferPointer { pri in
            var lo = 0
            while lo < R {
                let hi = min(R, lo + chunk), rc = hi - lo
                for r in lo..<hi { for i in rowStart[r]..<rowStart[r + 1] { phi[(r - lo) * d + Int(cols[i])] = 1 } }
                // block (rc × V) = Φ_c (rc × d) · Wᵀ (d × V)
                Linalg.gemm(m: rc, n: V, k: d, a: phi, lda: d, b: w.baseAddress!, ldb: V, beta: 0, c: block, ldc: V)
                parallelRanges(count: rc, threads: threads) { a0, a1 in
                    for i in a0..<a1 {
                        let r = lo + i
                        let l = block + i * V, p0 = pri.baseAddress! + r * V
                        for a in 0..<V { l[a] = p0[a] == -.infinity ? -.infinity : p0[a] + l[a] }
                        // The row's gradient overwrites its logits in `block`.
                        rowLoss[i] = socRowLoss(logits: l, counts: cnt.baseAddress! + r * V, c: scale[r], vocabSize: V,
                                                grad: grad == nil ? nil : l)
                    }
                }
                for i in 0..<rc { total += rowLoss[i] }
                if let g = grad {
                    // ∇ (d × V) += Φ_cᵀ (d × rc) · G_c (rc × V)
                    Linalg.gemm(transA: true, m: d, n: V, k: rc, a: phi, lda: d, b: block, ldb: V, beta: 1, c: g, ldc: V)
                }
                for r in lo..<hi { for i in rowStart[r]..<rowStart[r + 1] { phi[(r - lo) * d + Int(cols[i])] = 0 } }
                lo = hi
            }
            var sq = 0.0
            for j in 0..<(d * V) { sq += w[j] * w[j] }
            total += 0.5 * weightDecay * sq
            if let g = grad, weightDecay != 0 {
                for j in 0..<(d * V) { g[j] += weightDecay * w[j] }
            }
        }}}
        return total
    }

    /// The dense Hessian of L w.r.t. vec(Wᵀ) (index `j·V + a`):
    ///
    ///     H = Σ_r (1 − λ) N_r · (φ_r φ_rᵀ) ⊗ (diag π_r − π_r π_rᵀ) + μ I
    ///
    /// - Complexity: O(Σ_r nnz(φ_r)² V² + (dV)²) time, (dV)² memory.
    func hessian(_ weights: Matrix) -> Matrix {
        let d = features.dimension, V = vocabSize, n = d * V
        var H = Matrix(rows: n, cols: n)
        var l = [Double](repeating: 0, count: V)
        for r in 0..<rowCount {
            for a in 0..<V { l[a] = priors[r * V + a] }
            for i in rowStart[r]..<rowStart[r + 1] {
                let j = Int(cols[i])
                for a in 0..<V { l[a] += weights.data[j * V + a] }
            }
            let pi = l.withUnsafeMutableBufferPointer { b -> [Double] in
                _ = LogSumExp.logSoftmaxInPlace(b)
                return b.map { $0 == -.infinity ? 0 : Foundation.exp($0) }
            }
            let c = scale[r]
            for i in rowStart[r]..<rowStart[r + 1] {
                let j = Int(cols[i])
                for i2 in rowStart[r]..<rowStart[r + 1] {
                    let k = Int(cols[i2])
                    for a in 0..<V where pi[a] != 0 {
                        let rowIndex = (j * V + a) * n + k * V
                        H.data[rowIndex + a] += c * pi[a]
                        for b in 0..<V { H.data[rowIndex + b] -= c * pi[a] * pi[b] }
                    }
                }
            }
        }
        for i in 0..<n { H.data[i * n + i] += weightDecay }
        return H
    }

    /// Newton's method with backtracking (see `LinearLearner`).
    func minimiseNewton() throws -> (Matrix, LinearLearner.Report) {
        let d = features.dimension, V = vocabSize, n = d * V
        guard n <= LinearLearner.maxExactParameters else {
            throw TokenMDPError.invalid(field: "training", message: "exact training of the linear learner builds a dense Hessian of (d·V)² entries; d·V = \(d)·\(V) = \(n) exceeds \(LinearLearner.maxExactParameters); use training: gradient")
        }
        let tol = 1e-12 * max(1, pairCount), accept = 1e-8 * max(1, pairCount)
        var W = Matrix(rows: d, cols: V)
        var G = Matrix(rows: d, cols: V)
        var value = valueAndGradient(W, gradient: &G)
        var gnorm = norm(G.data)
        var iter = 0
        while gnorm > tol && iter < 200 {
            iter += 1
            let H = hessian(W)
            let step = try Linalg.solveSPD(H, Matrix(rows: n, cols: 1, data: G.data.map { -$0 }))
            var slope = 0.0
            for i in 0..<n { slope += G.data[i] * step.data[i] }
            guard slope < 0 else { break }
            let noiseLevel = -slope <= 1e-13 * max(1, abs(value))
            var t = 1.0, accepted = false
            var trial = W
            for _ in 0..<60 {
                for i in 0..<n { trial.data[i] = W.data[i] + t * step.data[i] }
                let v = self.value(trial)
                if noiseLevel || v <= value + 1e-4 * t * slope { accepted = true; break }
                t *= 0.5
            }
            guard accepted else { break }
            W = trial
            value = valueAndGradient(W, gradient: &G)
            let previous = gnorm
            gnorm = norm(G.data)
            if noiseLevel && gnorm >= previous { break }
        }
        guard gnorm <= accept else {
            throw TokenMDPError.invalid(field: "training", message: "Newton did not converge for the linear learner: gradient norm \(gnorm) after \(iter) iterations")
        }
        return (W, LinearLearner.Report(iterations: iter, loss: value, relativeGradientNorm: gnorm / max(1, pairCount)))
    }

    /// Full-batch first-order minimisation of `L/M` (weight decay μ/M).
    func minimiseGradient(_ options: GradientOptions) -> (Matrix, LinearLearner.Report) {
        let d = features.dimension, V = vocabSize, n = d * V
        var W = Matrix(rows: d, cols: V)
        var G = Matrix(rows: d, cols: V)
        var m = [Double](repeating: 0, count: n), v = [Double](repeating: 0, count: n)
        let invM = 1.0 / max(pairCount, 1)
        for k in 0..<options.steps {
            _ = valueAndGradient(W, gradient: &G)
            for i in 0..<n { G.data[i] *= invM }
            W.data.withUnsafeMutableBufferPointer { w in
            G.data.withUnsafeBufferPointer { g in
            m.withUnsafeMutableBufferPointer { mb in
            v.withUnsafeMutableBufferPointer { vb in
                options.update(w.baseAddress!, g.baseAddress!, mb.baseAddress!, vb.baseAddress!, count: n, step: k)
            }}}}
        }
        let value = valueAndGradient(W, gradient: &G)
        return (W, LinearLearner.Report(iterations: options.steps, loss: value, relativeGradientNorm: norm(G.data) / max(1, pairCount)))
    }

    private func norm(_ x: [Double]) -> Double {
        var s = 0.0
        for v in x { s += v * v }
        return s.squareRoot()
    }
}
