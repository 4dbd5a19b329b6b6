import XCTest
import TokenMDP
import _TestSupport

/// The BLAS/LAPACK wrappers against naive Swift loops on small random
/// matrices (row-major, every transpose combination, non-trivial α, β).
final class LinalgTests: XCTestCase {
    func random(_ r: Int, _ c: Int, _ rng: inout SplitMix64) -> Matrix {
        Matrix(rows: r, cols: c, data: (0..<(r * c)).map { _ in rng.nextGaussian() })
    }

    private func naiveProduct(_ A: Matrix, _ B: Matrix, transA: Bool, transB: Bool) -> Matrix {
        let a = transA ? A.transposed : A, b = transB ? B.transposed : B
        var C = Matrix(rows: a.rows, cols: b.cols)
        for i in 0..<a.rows { for j in 0..<b.cols {
            var s = 0.0
            for k in 0..<a.cols { s += a[i, k] * b[k, j] }
            C[i, j] = s
        } }
        return C
    }

    func testGemmMatchesNaiveLoopsForEveryTransposeAlphaAndBeta() {
        withEvery("seed", in: 0..<8) { seed in
            var rng = SplitMix64(seed: seed, stream: "test/gemm")
            let m = 1 + rng.nextInt(below: 7), n = 1 + rng.nextInt(below: 7), k = 1 + rng.nextInt(below: 7)
            for transA in [false, true] { for transB in [false, true] {
                let A = transA ? random(k, m, &rng) : random(m, k, &rng)
                let B = transB ? random(n, k, &rng) : random(k, n, &rng)
                let C0 = random(m, n, &rng)
                var C = C0
                Linalg.gemm(A, B, transA: transA, transB: transB, alpha: 0.7, beta: -1.3, into: &C)
                let P = naiveProduct(A, B, transA: transA, transB: transB)
                let expected = (0..<(m * n)).map { 0.7 * P.data[$0] - 1.3 * C0.data[$0] }
                assertClose(C.data, expected, abs: 1e-12, rel: 1e-12, "seed \(seed) tA \(transA) tB \(transB)")
            } }
        }
    }

    func testGemmOnRawPointersHonoursLeadingDimensions() {
        // A is the left 2×3 block of a 2×5 buffer (lda = 5); C the left 2×2 of 2×4 (ldc = 4).
        let a: [Double] = [1, 2, 3, 99, 99,
                           4, 5, 6, 99, 99]
        let b: [Double] = [1, 0,
                           0, 1,
                           1, 1]
        var c = [Double](repeating: -7, count: 8)
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            Linalg.gemm(m: 2, n: 2, k: 3, a: ap.baseAddress!, lda: 5, b: bp.baseAddress!, ldb: 2, beta: 0, c: cp.baseAddress!, ldc: 4)
        } } }
        XCTAssertEqual(c, [4, 5, -7, -7, 10, 11, -7, -7])
    }

    func testGeneralSolveMatchesNaiveResidual() throws {
        withEvery("seed", in: 0..<6) { seed in
            var rng = SplitMix64(seed: seed, stream: "test/gesv")
            let n = 1 + rng.nextInt(below: 8), r = 1 + rng.nextInt(below: 3)
            var A = random(n, n, &rng)
            for i in 0..<n { A[i, i] += 4 }  // well conditioned
            let B = random(n, r, &rng)
            let X = try Linalg.solve(A, B)
            let AX = naiveProduct(A, X, transA: false, transB: false)
            assertClose(AX.data, B.data, abs: 1e-11, rel: 1e-11, "seed \(seed)")
        }
    }

    func testSPDSolveMatchesNaiveResidualAndRejectsIndefiniteOrSingular() throws {
        withEvery("seed", in: 0..<6) { seed in
            var rng = SplitMix64(seed: seed, stream: "test/posv")
            let n = 1 + rng.nextInt(below: 8)
            let G = random(n, n, &rng)
            var A = naiveProduct(G, G, transA: true, transB: false)
            for i in 0..<n { A[i, i] += 0.5 }
            let B = random(n, 2, &rng)
            let X = try Linalg.solveSPD(A, B)
            assertClose(naiveProduct(A, X, transA: false, transB: false).data, B.data, abs: 1e-10, rel: 1e-10, "seed \(seed)")
        }
        let indefinite = Matrix(rows: 2, cols: 2, data: [1, 2, 2, 1])
        XCTAssertThrowsError(try Linalg.solveSPD(indefinite, Matrix(rows: 2, cols: 1, data: [1, 1])))
        XCTAssertThrowsError(try Linalg.solve(Matrix(rows: 2, cols: 2, data: [1, 2, 2, 4]), Matrix(rows: 2, cols: 1, data: [1, 1])))
    }
}

extension LinalgTests {
    func testGemmIsBitReproducibleAtItsDefaultSingleOpenBLASThread() {
        // OpenBLAS's last bits depend on its thread count, so Linalg pins it to 1
        // (the benchmark and this test restore it): repeated products are bit-identical,
        // and a 2-thread product differs only by rounding.
        XCTAssertEqual(Linalg.blasThreads, 1)
        var rng = SplitMix64(seed: 5, stream: "test/gemm-threads")
        let A = random(300, 257, &rng), B = random(257, 129, &rng)
        let one = Linalg.product(A, B)
        XCTAssertEqual(one.data.map(\.bitPattern), Linalg.product(A, B).data.map(\.bitPattern))
        let saved = Linalg.blasThreads
        defer { Linalg.blasThreads = saved }
        Linalg.blasThreads = 2
        assertClose(Linalg.product(A, B).data, one.data, abs: 1e-12, rel: 1e-12)
    }
}
