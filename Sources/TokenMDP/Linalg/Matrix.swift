import COpenBLAS
import Foundation

// Linalg — the ONLY file of TokenMDP that imports COpenBLAS (OpenBLAS CBLAS
// and LAPACKE). Everything else uses the wrappers below.
//
// Conventions, stated once:
//
// * Every matrix is dense, Double, **row-major**: element (i, j) of an
//   `r × c` matrix lives at `data[i·ld + j]`, where the *leading dimension*
//   `ld ≥ c` is the distance between consecutive rows (for a packed matrix,
//   `ld = c`). We call CBLAS/LAPACKE with `CblasRowMajor` /
//   `LAPACK_ROW_MAJOR`, so no transposed copies are made.
// * `op(A)` is `A` or `Aᵀ`. For `C (m×n) ← α·op(A)·op(B) + β·C` with inner
//   dimension `k`: `op(A)` is `m × k`, `op(B)` is `k × n`; the stored `A` is
//   `m × k` (lda ≥ k) when not transposed and `k × m` (lda ≥ m) when
//   transposed; likewise `B` is `k × n` (ldb ≥ n) or `n × k` (ldb ≥ k);
//   `C` is `m × n` (ldc ≥ n).
// * Reproducibility: OpenBLAS results depend on its thread count (measured
//   with OpenBLAS 0.3.21: a 300×257 · 257×129 dgemm differs in ~60% of the
//   entries, by ≤ 1e-13 relative, between 1 and 2 threads — its blocking
//   changes with the thread count). So `Linalg` pins OpenBLAS to **one
//   thread** before its first call, whatever `OPENBLAS_NUM_THREADS` says;
//   parallelism comes from running independent cells on separate threads,
//   which keeps every result independent of `--threads`. `blasThreads` can
//   raise it (faster big products, different last bits). Kernels also differ
//   between CPU families, so bit-identity of BLAS-backed results (the linear
//   learner) across *machines* is not promised.

/// `lapack_int` is a C macro (Swift cannot import it); Debian's LAPACKE uses
/// the LP64 interface, `int32_t`.
private typealias LapackInt = Int32

/// A dense row-major matrix of Doubles (`data[i·cols + j]`, packed: ld = cols).
public struct Matrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    /// Row-major storage, `rows · cols` entries.
    public var data: [Double]

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative dimension \(rows)×\(cols)")
        self.rows = rows; self.cols = cols
        self.data = [Double](repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, data: [Double]) {
        precondition(data.count == rows * cols, "Matrix: \(rows)×\(cols) needs \(rows * cols) entries, got \(data.count)")
        self.rows = rows; self.cols = cols; self.data = data
    }

    @inlinable public subscript(i: Int, j: Int) -> Double {
        get { data[i &* cols &+ j] }
        set { data[i &* cols &+ j] = newValue }
    }

    /// The transpose (a copy).
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for i in 0..<rows { for j in 0..<cols { t.data[j * rows + i] = data[i * cols + j] } }
        return t
    }

    /// The `n × n` identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.data[i * n + i] = 1 }
        return m
    }
}

/// A LAPACK failure: the routine, its `info` code and what it means.
public struct LinalgError: Error, CustomStringConvertible, Equatable {
    public var routine: String
    public var info: Int
    public var message: String
    public var description: String { "\(routine) failed (info = \(info)): \(message)" }
}

/// Row-major wrappers over OpenBLAS (CBLAS) and LAPACKE. See the file header
/// for the layout and leading-dimension conventions.
public enum Linalg {
    /// Pins OpenBLAS to one thread, once, before the first BLAS/LAPACK call
    /// (thread-safe lazy initialisation).
    private static let pinned: Void = { openblas_set_num_threads(1) }()

    /// Pins OpenBLAS to one thread and stops its worker pool. The Debian
    /// pthreads build starts the pool when the library is loaded, and its
    /// idle workers busy-wait for ~0.1 s of CPU — time taken from the
    /// experiment runner's own threads on a 2-core machine. OpenBLAS restarts
    /// the pool lazily if `blasThreads` is later raised above 1. Call once at
    /// process start (the CLI does); results are unaffected.
    public static func releaseIdleWorkers() {
        _ = pinned
        _ = blas_thread_shutdown_()
    }

    /// Number of OpenBLAS worker threads (a process-wide OpenBLAS setting;
    /// 1 unless set here). Results depend on it in the last bits (see the
    /// file header), so keep it fixed for reproducible output.
    public static var blasThreads: Int {
        get { _ = pinned; return Int(openblas_get_num_threads()) }
        set { _ = pinned; openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// General matrix product on raw row-major storage:
    ///
    ///     C ← α · op(A) · op(B) + β · C       op(A): m×k, op(B): k×n, C: m×n
    ///
    /// - Parameters: leading dimensions as in the file header
    ///   (`lda ≥ transA ? m : k`, `ldb ≥ transB ? k : n`, `ldc ≥ n`).
    /// - Note: with β = 0, `C` is not read (NaN in C does not propagate).
    /// - Complexity: O(m·n·k) flops, done by OpenBLAS `cblas_dgemm`.
    public static func gemm(transA: Bool = false, transB: Bool = false,
                            m: Int, n: Int, k: Int, alpha: Double = 1,
                            a: UnsafePointer<Double>, lda: Int,
                            b: UnsafePointer<Double>, ldb: Int,
                            beta: Double = 0,
                            c: UnsafeMutablePointer<Double>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        precondition(lda >= max(1, transA ? m : k), "gemm: lda \(lda) too small")
        precondition(ldb >= max(1, transB ? k : n), "gemm: ldb \(ldb) too small")
        precondition(ldc >= max(1, n), "gemm: ldc \(ldc) too small")
        if m == 0 || n == 0 { return }
        _ = pinned
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    /// `C ← α · op(A) · op(B) + β · C` on `Matrix` values (packed storage).
    /// `C` must already have the shape `op(A).rows × op(B).cols`.
    public static func gemm(_ A: Matrix, _ B: Matrix, transA: Bool = false, transB: Bool = false,
                            alpha: Double = 1, beta: Double = 0, into C: inout Matrix) {
        let m = transA ? A.cols : A.rows, k = transA ? A.rows : A.cols
        let kb = transB ? B.cols : B.rows, n = transB ? B.rows : B.cols
        precondition(k == kb, "gemm: inner dimensions differ (\(k) vs \(kb))")
        precondition(C.rows == m && C.cols == n, "gemm: C is \(C.rows)×\(C.cols), expected \(m)×\(n)")
        A.data.withUnsafeBufferPointer { a in
        B.data.withUnsafeBufferPointer { b in
        C.data.withUnsafeMutableBufferPointer { c in
            gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                 a: a.baseAddress!, lda: max(1, A.cols), b: b.baseAddress!, ldb: max(1, B.cols),
                 beta: beta, c: c.baseAddress!, ldc: max(1, n))
        }}}
    }

    /// `op(A) · op(B)` as a new matrix.
    public static func product(_ A: Matrix, _ B: Matrix, transA: Bool = false, transB: Bool = false) -> Matrix {
        var C = Matrix(rows: transA ? A.cols : A.rows, cols: transB ? B.rows : B.cols)
        gemm(A, B, transA: transA, transB: transB, into: &C)
        return C
    }

    /// Solves `A X = B` for a general square `A` (n×n) by LU with partial
    /// pivoting (`LAPACKE_dgesv`, row-major). `B` is n×r; returns X (n×r).
    /// - Throws: `LinalgError` when `A` is exactly singular (info > 0) or an
    ///   argument is illegal (info < 0).
    /// - Complexity: O(n³ + n²r).
    public static func solve(_ A: Matrix, _ B: Matrix) throws -> Matrix {
        precondition(A.rows == A.cols, "solve: A must be square, got \(A.rows)×\(A.cols)")
        precondition(B.rows == A.rows, "solve: B has \(B.rows) rows, A has \(A.rows)")
        let n = A.rows, r = B.cols
        if n == 0 || r == 0 { return B }
        var a = A.data, x = B.data
        var ipiv = [LapackInt](repeating: 0, count: n)
        _ = pinned
        let info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, LapackInt(n), LapackInt(r), &a, LapackInt(n), &ipiv, &x, LapackInt(r))
        if info != 0 {
            throw LinalgError(routine: "dgesv", info: Int(info),
                              message: info > 0 ? "the matrix is singular (U[\(info - 1)][\(info - 1)] = 0)" : "argument \(-info) is illegal")
        }
        return Matrix(rows: n, cols: r, data: x)
    }

    /// Solves `A X = B` for a symmetric positive-definite `A` (n×n) by
    /// Cholesky (`LAPACKE_dposv`, row-major, upper triangle read). `B` is n×r.
    /// - Throws: `LinalgError` when `A` is not positive definite (info > 0).
    /// - Complexity: O(n³/3 + n²r).
    public static func solveSPD(_ A: Matrix, _ B: Matrix) throws -> Matrix {
        precondition(A.rows == A.cols, "solveSPD: A must be square, got \(A.rows)×\(A.cols)")
        precondition(B.rows == A.rows, "solveSPD: B has \(B.rows) rows, A has \(A.rows)")
        let n = A.rows, r = B.cols
        if n == 0 || r == 0 { return B }
        var a = A.data, x = B.data
        _ = pinned
        let info = LAPACKE_dposv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), LapackInt(n), LapackInt(r),
                                 &a, LapackInt(n), &x, LapackInt(r))
        if info != 0 {
            throw LinalgError(routine: "dposv", info: Int(info),
                              message: info > 0 ? "the matrix is not positive definite (leading minor \(info))" : "argument \(-info) is illegal")
        }
        return Matrix(rows: n, cols: r, data: x)
    }
}
