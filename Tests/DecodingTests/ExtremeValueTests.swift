import XCTest
import Foundation
import TokenMDP
import _TestSupport

/// `ExtremeValue` and `BeamGapModel` (SPEC §4 experiment 4, `tokenmdp evt`).
final class ExtremeValueTests: XCTestCase {
    // MARK: E[max of n standard normals]

    /// m(1) = 0; m(2) = 1/√π (E|Z₁ − Z₂|/2 with Z₁ − Z₂ ~ N(0, 2)); m(3) = 3/(2√π);
    /// m(4), m(5) from the classical closed forms with arcsin(1/3); larger n
    /// from a 30-digit mpmath quadrature.
    func testExpectedMaxMatchesKnownValues() {
        XCTAssertEqual(ExtremeValue.expectedMaxOfStandardNormals(1), 0)
        let rootPi = Double.pi.squareRoot()
        let known: [(Int, Double)] = [
            (2, 1 / rootPi), (3, 1.5 / rootPi),
            (4, 3 / (2 * rootPi) * (1 + 2 / Double.pi * asin(1.0 / 3))),   // 1.029375373003964
            (5, 5 / (4 * rootPi) * (1 + 6 / Double.pi * asin(1.0 / 3))),   // 1.162964473640520
            (1000, 3.2414357691334409), (1_000_000, 4.8628974861964627), (1_000_000_000, 6.0876845844459587),
        ]
        for (n, m) in known { assertClose(ExtremeValue.expectedMaxOfStandardNormals(n), m, abs: 1e-12, rel: 0, "n \(n)") }
    }

    func testExpectedMaxIncreasesWithN() {
        var prev = ExtremeValue.expectedMaxOfStandardNormals(1)
        for n in Array(2...300) + (9...40).map({ 1 << $0 }) {
            let m = ExtremeValue.expectedMaxOfStandardNormals(n)
            XCTAssertGreaterThan(m, prev, "n \(n)")
            prev = m
        }
    }

    /// The Gumbel expansion b_n + γ/a_n approaches m(n) from above, slowly (O(1/ln n)).
    func testLargeNApproachesTheAsymptoticExpansion() {
        var prevGap = Double.infinity
        for n in [1e3, 1e6, 1e9, 1e12, 1e15] {
            let m = ExtremeValue.expectedMaxOfStandardNormals(Int(n))
            let gap = ExtremeValue.expectedMaxAsymptotic(n) - m
            XCTAssertGreaterThan(gap, 0, "n \(n)")
            XCTAssertLessThan(gap, prevGap, "n \(n)")
            XCTAssertLessThan(gap, 0.4 / log(n), "n \(n)")
            XCTAssertLessThan(m, (2 * log(n)).squareRoot(), "n \(n): m(n) < √(2 ln n)")
            prevGap = gap
        }
    }

    /// Monte Carlo with the project's generator: the mean of 100 000 maxima of
    /// n = 10 draws lies within 4 standard errors of the quadrature.
    func testExpectedMaxAgreesWithMonteCarlo() {
        var rng = SplitMix64(seed: 7, stream: "test/evt/mc")
        let reps = 100_000, n = 10
        var sum = 0.0, sumSq = 0.0
        for _ in 0..<reps {
            var m = -Double.infinity
            for _ in 0..<n { m = max(m, rng.nextGaussian()) }
            sum += m; sumSq += m * m
        }
        let mean = sum / Double(reps), se = ((sumSq / Double(reps) - mean * mean) / Double(reps)).squareRoot()
        XCTAssertLessThan(abs(mean - ExtremeValue.expectedMaxOfStandardNormals(n)), 4 * se, "MC \(mean) ± \(se)")
    }

    func testLogNormalCDFIsStableInBothTails() {
        assertClose(ExtremeValue.logNormalCDF(0), log(0.5))
        assertClose(ExtremeValue.logNormalCDF(-10), -53.23128515051247, abs: 1e-10, rel: 1e-12)   // log Φ(−10)
        assertClose(ExtremeValue.logNormalCDF(10), -7.619853024160527e-24, abs: 0, rel: 1e-9)      // −Φ(−10)
    }

    // MARK: The normaliser shift E[log mean exp(cξ)]

    func testNormaliserShiftEdgeCasesAndSmallNoise() {
        XCTAssertEqual(ExtremeValue.expectedLogMeanExp(vocab: 1, noise: 3), 0)
        XCTAssertEqual(ExtremeValue.expectedLogMeanExp(vocab: 8, noise: 0), 0)
        // Second order: log mean e^{cξ} ≈ c·ξ̄ + (c²/2)·(sample variance) → E ≈ (c²/2)(1 − 1/V).
        let c = 0.01
        assertClose(ExtremeValue.expectedLogMeanExp(vocab: 8, noise: c), c * c / 2 * (1 - 1.0 / 8), abs: 1e-8, rel: 0)
    }

    /// V = 2: log((e^{cξ₁} + e^{cξ₂})/2) = c(ξ₁+ξ₂)/2 + log cosh(c(ξ₁−ξ₂)/2), so the
    /// expectation is the 1-D integral E[log cosh(cη/√2)], η ~ N(0,1).
    func testNormaliserShiftForTwoTokensMatchesAOneDimensionalIntegral() {
        for c in [0.3, 1.0, 2.0, 4.0, 10.0] {
            var s = 0.0
            let h = 1.0 / 1024
            for i in -16384...16384 {
                let z = Double(i) * h, x = abs(c * z / 2.0.squareRoot())
                s += exp(-z * z / 2) / (2 * Double.pi).squareRoot() * (x + log1p(exp(-2 * x)) - log(2.0)) * h
            }
            assertClose(ExtremeValue.expectedLogMeanExp(vocab: 2, noise: c), s, abs: 1e-9, rel: 0, "c \(c)")
        }
    }

    func testNormaliserShiftAgreesWithMonteCarlo() {
        for (V, c) in [(8, 2.0), (5, 0.7), (64, 1.5)] {
            var rng = SplitMix64(seed: 11, stream: "test/evt/shift")
            let reps = 40_000
            var sum = 0.0, sumSq = 0.0
            for _ in 0..<reps {
                let x = (0..<V).map { _ in c * rng.nextGaussian() }
                let v = LogSumExp.lse(x) - log(Double(V))
                sum += v; sumSq += v * v
            }
            let mean = sum / Double(reps), se = ((sumSq / Double(reps) - mean * mean) / Double(reps)).squareRoot()
            XCTAssertLessThan(abs(mean - ExtremeValue.expectedLogMeanExp(vocab: V, noise: c)), 4 * se, "V \(V) c \(c): MC \(mean) ± \(se)")
        }
    }

    // MARK: The beam-gap prediction

    /// The width-dependent part βτσ(m(kV) − m(V)) is linear in σ, in τ and in β;
    /// the prediction depends on σ and τ only through τσ.
    func testPredictionScalesLinearlyInSigmaAndTau() throws {
        let base = try BeamGapModel(beta: 0.25, scale: 2, sigma: 1, vocab: 8)
        let twiceSigma = try BeamGapModel(beta: 0.25, scale: 2, sigma: 2, vocab: 8)
        let twiceTau = try BeamGapModel(beta: 0.25, scale: 4, sigma: 1, vocab: 8)
        let swapped = try BeamGapModel(beta: 0.25, scale: 1, sigma: 2, vocab: 8)
        let twiceBeta = try BeamGapModel(beta: 0.5, scale: 2, sigma: 1, vocab: 8)
        for k in [2, 4, 16, 64] {
            let growth = { (m: BeamGapModel) in m.predictedGap(width: k) - m.predictedGap(width: 1) }
            assertClose(growth(twiceSigma), 2 * growth(base), abs: 1e-12, rel: 1e-12, "σ, k \(k)")
            assertClose(growth(twiceTau), 2 * growth(base), abs: 1e-12, rel: 1e-12, "τ, k \(k)")
            assertClose(growth(twiceBeta), 2 * growth(base), abs: 1e-12, rel: 1e-12, "β, k \(k)")
            XCTAssertEqual(swapped.predictedGap(width: k), base.predictedGap(width: k), "k \(k)")
            // The noise term itself, βτσ·m(kV), is linear in σ.
            assertClose(twiceSigma.predictedGap(width: k) + twiceSigma.normaliserShift,
                        2 * (base.predictedGap(width: k) + base.normaliserShift), abs: 1e-12, rel: 1e-12)
        }
        XCTAssertEqual(base.candidates(width: 4), 32)
        XCTAssertEqual(base.noiseScale, 0.5)
    }

    /// Width 1 is exact: the Gaussian and the softmax-coupled predictions
    /// agree (up to Monte Carlo error); wider beams stay below the ceiling
    /// β log V in the coupled model, which saturates, while the Gaussian one does not.
    func testSoftmaxPredictionAgreesAtWidthOneAndSaturatesBelowTheCeiling() throws {
        for sigma in [0.5, 1, 2] {
            let m = try BeamGapModel(beta: 0.25, scale: 2, sigma: sigma, vocab: 8)
            assertClose(m.predictedGapSoftmax(width: 1), m.predictedGap(width: 1), abs: 3e-3 * m.beta, rel: 0, "σ \(sigma)")
            var prev = -Double.infinity
            for k in [1, 2, 4, 8, 16, 32, 64, 1 << 20] {
                let g = m.predictedGapSoftmax(width: k)
                XCTAssertGreaterThan(g, prev, "σ \(sigma) k \(k)")
                XCTAssertLessThanOrEqual(g, m.gapCeiling, "σ \(sigma) k \(k)")
                XCTAssertLessThanOrEqual(g, m.predictedGap(width: k) + 3e-3 * m.beta, "σ \(sigma) k \(k)")
                prev = g
            }
        }
    }

    /// Critical width: 1 without noise; for the default-like setting it falls
    /// as σ grows (stronger noise saturates selection sooner).
    func testCriticalWidth() throws {
        XCTAssertEqual(try BeamGapModel(beta: 0.25, scale: 2, sigma: 0, vocab: 8).criticalWidth, 1)
        XCTAssertEqual(try BeamGapModel(beta: 0.25, scale: 2, sigma: 1, vocab: 1).criticalWidth, 1)
        let widths = try [0.5, 1, 2].map { try BeamGapModel(beta: 0.25, scale: 2, sigma: $0, vocab: 8).criticalWidth }
        XCTAssertEqual(widths, [32, 8, 4])
    }

    func testNoiseFreePredictionIsZero() throws {
        let m = try BeamGapModel(beta: 0.25, scale: 2, sigma: 0, vocab: 8)
        for k in [1, 8, 64] {
            XCTAssertEqual(m.predictedGap(width: k), 0)
            XCTAssertEqual(m.predictedGapSoftmax(width: k), 0, accuracy: 1e-15)
        }
    }

    func testBadParametersAreErrors() {
        XCTAssertThrowsError(try BeamGapModel(beta: 0, scale: 2, sigma: 1, vocab: 8))
        XCTAssertThrowsError(try BeamGapModel(beta: 0.25, scale: 0, sigma: 1, vocab: 8))
        XCTAssertThrowsError(try BeamGapModel(beta: 0.25, scale: 2, sigma: -1, vocab: 8))
        XCTAssertThrowsError(try BeamGapModel(beta: 0.25, scale: 2, sigma: .nan, vocab: 8))
        XCTAssertThrowsError(try BeamGapModel(beta: 0.25, scale: 10, sigma: 10, vocab: 8))
        XCTAssertThrowsError(try BeamGapModel(beta: 0.25, scale: 2, sigma: 1, vocab: 0))
    }

    /// The derivation checked against the simulator: in a flat state (every
    /// token has the same true value; here a one-step MDP with zero rewards,
    /// 800 prompts), greedy decoding of the noisy-oracle prior has a mean
    /// measured `overopt` within 4 standard errors of `predictedGap(width: 1)`.
    func testWidthOnePredictionMatchesMeasuredOveroptimismInAFlatState() throws {
        let beta = 0.25
        let mdp = TokenMDP.singleState(vocab: 8, prompts: 800)
        let soft = try SoftValueIteration.solve(mdp, beta: beta)
        let hard = try SoftValueIteration.solve(mdp, beta: 0)
        for sigma in [0.5, 1.0, 2.0] {
            let prior = try Prior.noisyOracle(solution: soft, sigma: sigma, scale: 2, seed: 4)
            var gaps: [Double] = []
            for p in mdp.prompts.indices {
                let y = try BeamSearch(width: 1).decode(prompt: p, mdp: mdp, model: prior, trie: nil).best.tokens
                gaps.append(try Overoptimism.measure(prompt: p, tokens: y, mdp: mdp, model: prior, trie: nil,
                                                     soft: soft, hard: hard, expertGap: 0).overopt)
            }
            let n = Double(gaps.count), mean = gaps.reduce(0, +) / n
            let se = (gaps.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1) / n).squareRoot()
            let predicted = try BeamGapModel(beta: beta, scale: 2, sigma: sigma, vocab: 8).predictedGap(width: 1)
            XCTAssertLessThan(abs(mean - predicted), 4 * se, "σ \(sigma): measured \(mean) ± \(se), predicted \(predicted)")
        }
    }
}
