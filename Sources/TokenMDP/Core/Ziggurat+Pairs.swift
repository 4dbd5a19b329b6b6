extension ZigguratTables {
    /// `(X[i], X[i+1])` for `i ∈ 0..<256`, interleaved, so the fast path of
    /// `StableHash.gaussians` reads a layer's two edges with one 16-byte load.
    /// A copy of `x` (no arithmetic).
    @usableFromInline static let edgePairs: [Double] = (0..<256).flatMap { [x[$0], x[$0 + 1]] }
}
