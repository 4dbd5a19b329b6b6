import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// The accuracy contract of `FastMath` (Core/FastMath.swift), against the
/// platform libm (`Foundation.exp`/`Foundation.log`, correctly rounded to
/// within ~0.5 ulp on glibc and Darwin).
///
/// Stated bounds, proved here by dense sweeps:
/// - `FastMath.exp`: ≤ 1 ulp from `Foundation.exp` wherever the result is a
///   normal double; ≤ 1 unit of the smallest subnormal (2⁻¹⁰⁷⁴) below that.
/// - `FastMath.log`: ≤ 2 ulp from `Foundation.log` on positive inputs.
final class FastMathTests: XCTestCase {
    /// The exp bound, in ulps of the libm result.
    static let expUlpBound = 1.0
    /// The log bound, in ulps of the libm result.
    static let logUlpBound = 2.0

    /// |a − b| in ulps of b (b normal), or in units of 2⁻¹⁰⁷⁴ when b is
    /// subnormal or zero.
    private func ulps(_ a: Double, _ b: Double) -> Double {
        if a == b { return 0 }
        if b.isNormal { return abs(a - b) / b.ulp }
        return abs(a - b) / Double.leastNonzeroMagnitude
    }

    /// Dense sweep of the whole finite range: 3·10⁶ points on [−746, 710]
    /// with an irrational step (so the reduction's rounding boundaries are hit
    /// at many offsets), plus 10⁶ points on [−1, 1] where r = x and the
    /// polynomial alone is tested.
    func testExpIsWithinOneUlpOfLibmOnADenseSweep() {
        var worst = 0.0, worstAt = 0.0
        func check(_ x: Double) {
            let u = ulps(FastMath.exp(x), Foundation.exp(x))
            if u > worst { worst = u; worstAt = x }
        }
        let n = 3_000_000
        let step = (710.0 + 746.0) / Double(n) * 0.999_999_7
        var x = -746.0
        for _ in 0..<n { check(x); x += step }
        for i in 0..<1_000_000 { check(-1 + 2 * Double(i) / 1_000_000) }
        // Around every multiple of ln2/2 the reduction switches k.
        for k in -2150...2050 {
            let c = Double(k) * 0.5 * M_LN2
            for d in [-1e-12, -1e-15, 0, 1e-15, 1e-12] where c + d > -746 && c + d < 710 { check(c + d) }
        }
        XCTAssertLessThanOrEqual(worst, Self.expUlpBound, "worst \(worst) ulp at x = \(worstAt)")
    }

    func testExpEdgeCases() {
        XCTAssertEqual(FastMath.exp(-.infinity), 0)
        XCTAssertEqual(FastMath.exp(-.infinity).sign, .plus)
        XCTAssertEqual(FastMath.exp(-1e308), 0)
        XCTAssertEqual(FastMath.exp(-746), 0)
        XCTAssertEqual(FastMath.exp(-745.2), 0)                       // below half the least subnormal
        XCTAssertEqual(FastMath.exp(-745.1), Double.leastNonzeroMagnitude)
        XCTAssertEqual(FastMath.exp(-740), Foundation.exp(-740))      // subnormal, exact here
        XCTAssertFalse(FastMath.exp(-720).isNormal)
        XCTAssertGreaterThan(FastMath.exp(-720), 0)
        XCTAssertEqual(FastMath.exp(0), 1)
        XCTAssertEqual(FastMath.exp(-0.0), 1)
        XCTAssertEqual(FastMath.exp(1e-300), 1)
        XCTAssertEqual(FastMath.exp(-1e-300), 1)
        XCTAssertEqual(FastMath.exp(Double.leastNonzeroMagnitude), 1)
        XCTAssertEqual(FastMath.exp(709.78), Foundation.exp(709.78), accuracy: Foundation.exp(709.78).ulp)
        XCTAssertTrue(FastMath.exp(709.78).isFinite)
        XCTAssertEqual(FastMath.exp(709.8), .infinity)
        XCTAssertEqual(FastMath.exp(710), .infinity)
        XCTAssertEqual(FastMath.exp(1e308), .infinity)
        XCTAssertEqual(FastMath.exp(.infinity), .infinity)
        XCTAssertTrue(FastMath.exp(.nan).isNaN)
        XCTAssertTrue(FastMath.exp(-.nan).isNaN)
        XCTAssertEqual(FastMath.exp(1), M_E, accuracy: M_E.ulp)
        XCTAssertEqual(FastMath.exp(M_LN2), 2, accuracy: 2.0.ulp)
    }

    /// Lane i of the vector function is the scalar function of lane i, to the bit.
    func testVectorLanesAreBitIdenticalToScalar() {
        var rng = SplitMix64(seed: 17, stream: "test/fastmath")
        let specials: [Double] = [-.infinity, .infinity, .nan, 0, -0.0, -746, 710, -745.1, 709.78, -708.4, 1e-300]
        for round in 0..<20_000 {
            var v = FastMath.Vector()
            for j in 0..<8 {
                v[j] = round < 2 ? specials[(round * 8 + j) % specials.count] : (rng.nextUnit() * 1456 - 746) * (rng.nextUnit() < 0.5 ? 1 : 1e-3)
            }
            let e = FastMath.exp(v)
            for j in 0..<8 {
                let s = FastMath.exp(v[j])
                XCTAssert(e[j].bitPattern == s.bitPattern || (e[j].isNaN && s.isNaN), "x = \(v[j]): \(e[j]) vs \(s)")
            }
        }
    }

    /// The fast path (every lane in [−708, 709], one scale 2^k) and the
    /// general path (clamps, two half-scales) give the same bits: forcing the
    /// general path with one out-of-range lane never changes the other lanes.
    func testFastAndGeneralPathsAgreeToTheBit() {
        var x = -708.0
        while x <= 709 {
            let fast = FastMath.exp(FastMath.Vector(repeating: x))
            var mixed = FastMath.Vector(repeating: x)
            mixed[7] = -.infinity
            let general = FastMath.exp(mixed)
            XCTAssertEqual(fast[0].bitPattern, general[0].bitPattern, "x = \(x)")
            XCTAssertEqual(general[7], 0)
            x += 0.037_1
        }
    }

    func testLogIsWithinTwoUlpOfLibm() {
        var worst = 0.0, worstAt = 0.0
        func check(_ x: Double) {
            let ref = Foundation.log(x)
            let u = ref == 0 ? abs(FastMath.log(x)) / Double.leastNonzeroMagnitude : abs(FastMath.log(x) - ref) / ref.ulp
            if u > worst { worst = u; worstAt = x }
        }
        var rng = SplitMix64(seed: 3, stream: "test/log")
        for _ in 0..<1_000_000 {                                                            // every positive binade
            let x = Double(bitPattern: rng.next() >> 1)
            if x.isFinite && x > 0 { check(x) }
        }
        for i in 1...1_000_000 { check(1 + (Double(i) - 500_000) * 1e-6) }                  // around 1 (cancellation)
        for i in 1...200_000 { check(Double(i) * 0x1p-53) }                                  // (0, 2⁻³⁶]: the tail's inputs
        XCTAssertLessThanOrEqual(worst, Self.logUlpBound, "worst \(worst) ulp at x = \(worstAt)")
    }

    func testLogEdgeCases() {
        XCTAssertEqual(FastMath.log(1), 0)
        XCTAssertEqual(FastMath.log(0), -.infinity)
        XCTAssertEqual(FastMath.log(-0.0), -.infinity)
        XCTAssertEqual(FastMath.log(.infinity), .infinity)
        XCTAssertTrue(FastMath.log(-1).isNaN)
        XCTAssertTrue(FastMath.log(-.infinity).isNaN)
        XCTAssertTrue(FastMath.log(.nan).isNaN)
        XCTAssertEqual(FastMath.log(Double.leastNonzeroMagnitude), Foundation.log(Double.leastNonzeroMagnitude),
                       accuracy: 2 * Foundation.log(Double.leastNonzeroMagnitude).ulp)
        XCTAssertEqual(FastMath.log(.greatestFiniteMagnitude), Foundation.log(.greatestFiniteMagnitude),
                       accuracy: 2 * Foundation.log(.greatestFiniteMagnitude).ulp)
        XCTAssertEqual(FastMath.log(2), M_LN2, accuracy: M_LN2.ulp)
    }

    /// Σ exp((x − m)·c) matches the naive libm sum to a few ulps, for every
    /// length (including the padded partial vector) and with −∞ entries.
    func testSumExpMatchesNaiveSumForEveryLength() {
        var rng = SplitMix64(seed: 5, stream: "test/sumexp")
        for n in 0...40 {
            let x = (0..<n).map { i in i % 7 == 3 ? -Double.infinity : 4 * rng.nextUnit() - 2 }
            let m = x.max() ?? 0
            for c in [1.0, 0.25, 4.0] {
                let fast = x.withUnsafeBufferPointer { FastMath.sumExp($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: n, shift: m, scale: c) }
                let naive = x.reduce(0.0) { $0 + Foundation.exp(($1 - m) * c) }
                XCTAssertEqual(fast, naive, accuracy: 8 * Double(max(n, 1)) * naive.ulp + 1e-300, "n = \(n), c = \(c)")
            }
        }
    }

    /// The summation order is fixed: shuffling work across calls, or calling
    /// twice, gives the same bits.
    func testSumExpIsDeterministic() {
        var rng = SplitMix64(seed: 9)
        let x = (0..<1000).map { _ in rng.nextUnit() * 30 - 30 }
        let a = x.withUnsafeBufferPointer { FastMath.sumExp($0.baseAddress!, count: 1000, shift: 0, scale: 1) }
        let b = x.withUnsafeBufferPointer { FastMath.sumExp($0.baseAddress!, count: 1000, shift: 0, scale: 1) }
        XCTAssertEqual(a.bitPattern, b.bitPattern)
    }

    func testMaxIgnoresNaNAndHandlesEmptyAndInfinities() {
        let cases: [([Double], Double)] = [
            ([], -.infinity), ([-.infinity, -.infinity], -.infinity), ([1, .nan, 3], 3),
            ((0..<19).map(Double.init), 18), ([.infinity, 1], .infinity), ((0..<16).map { -Double($0) } + [5], 5),
        ]
        for (x, want) in cases {
            let got = x.withUnsafeBufferPointer { FastMath.max($0.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: x.count) }
            XCTAssertEqual(got, want, "\(x)")
        }
    }

    /// The log-sum-exp built on the fast kernel still satisfies the
    /// hand-checkable identities to the last bits that matter.
    func testLogSumExpWithFastKernelMatchesLibmFormula() {
        var rng = SplitMix64(seed: 21, stream: "test/lse")
        for n in [1, 2, 7, 8, 9, 64, 256, 1000] {
            for tau in [1.0, 0.25, 3.0] {
                let x = (0..<n).map { _ in 10 * rng.nextUnit() - 5 }
                let m = x.max()!
                let ref = m + tau * Foundation.log(x.reduce(0.0) { $0 + Foundation.exp(($1 - m) / tau) })
                assertClose(LogSumExp.soft(x, temperature: tau), ref, abs: 0, rel: 1e-14, "n \(n) τ \(tau)")
            }
        }
    }
}
