import Foundation

/// Beam search of width `k` over a `LogitModel` (SPEC §1.5).
///
///     score(y) = log π_ℓ(y|x) = Σ_t [ℓ(s_t, a_t) − log Σ_b exp ℓ(s_t, b)]
///
/// The rule, exactly:
/// 1. Start with one live beam, the empty response (score 0).
/// 2. Each step extends every live beam by every token whose `log π_ℓ` is
///    finite (a `-∞` token is never extended). All candidates of one step
///    have the same length, so they are ordered by score (higher first),
///    exact ties by the lexicographically smaller token sequence.
/// 3. The first `k` candidates are kept. A kept candidate that is finished
///    (it ends with EOS, or has H tokens) uses its slot in this step and then
///    moves to the *finished pool*: it stays eligible for the answer but no
///    longer competes for slots. The other kept candidates are the new live
///    beams (so fewer than `k` beams live on when some finished, or when
///    fewer than `k` candidates had finite scores).
/// 4. Stop when nothing is live; return the best of the whole finished pool
///    by the same order (score, then lexicographically smaller sequence).
///
/// With `lengthNormalize` the pool is ranked by `score / |y|` instead. Slots
/// are unaffected: the candidates competing within one step all have the
/// same length, so dividing by it never changes their order; normalisation
/// only changes which finished response is returned.
///
/// Width 1 is greedy decoding (argmax token each step, ties → lowest id);
/// a width at least the number of prefixes makes the search exhaustive, so
/// it returns `argmax_y log π_ℓ(y|x)` exactly.
///
/// Example:
///
///     let y = try BeamSearch(width: 4).decode(prompt: 0, mdp: mdp, model: sft, trie: trie).best
///
/// Implementation. Per step, the top `k` of the (≤ k·V) candidates are kept
/// in a bounded binary heap whose root is the *worst* kept candidate, so a
/// candidate costs one comparison unless it enters (O(log k)). A candidate's
/// tie-break key is `rank(parent)·V + a`, where `rank` is the lexicographic
/// rank of the parent among the live beams — for equal-length sequences
/// that is exactly lexicographic order. Live beams are visited best-first,
/// and since `log π_ℓ ≤ 0` no extension of a beam scores above the beam
/// itself: once the heap is full and a beam's score is strictly below the
/// worst kept candidate, that beam and every later one are skipped without
/// evaluating the model (the result is unchanged; only work is saved).
/// Responses are stored as back-pointers (`parent`, `token`) in flat
/// arrays and rebuilt once at the end; ties in the pool rebuild the two
/// sequences to compare them.
///
/// Scores are accumulated as `score + log π_ℓ(a|s)` in time order from 0.0,
/// so they equal `ResponseDecoder.modelLogProbability` bit-for-bit.
///
/// - Complexity: per step O(k·V) comparisons + O(k log k) for the kept
///   candidates, plus ≤ k model evaluations (each O(V) for the tabular and
///   prior models) and ≤ k trie look-ups; memory O(k·H + V).
public struct BeamSearch: Sendable {
    /// `k ≥ 1`.
    public var width: Int
    public var lengthNormalize: Bool

    public init(width: Int, lengthNormalize: Bool = false) {
        precondition(width >= 1, "beam width must be ≥ 1, got \(width)")
        self.width = width
        self.lengthNormalize = lengthNormalize
    }

    /// What a search produced.
    public struct Result: Sendable {
        /// The best finished response (see the type's rule). Its
        /// `logProbability` is the raw (unnormalised) score.
        public var best: DecodedResponse
        /// How many candidates entered the finished pool.
        public var finishedCount: Int
        /// Every response of the finished pool, in the order they finished
        /// (within a step, best first); only with `recordPool: true`.
        public var pool: [DecodedResponse]?
    }

    /// Runs the search for prompt `p`.
    ///
    /// - Parameters:
    ///   - trie: the demonstration trie the model was trained with (it sets
    ///     `PrefixState.node`); nil when there is none.
    ///   - recordPool: also return every finished response (tests, analysis).
    /// - Throws: `TokenMDPError` when no complete response has a finite score
    ///   (the model forbids every token somewhere on every path).
    public func decode<M: LogitModel>(prompt p: Int, mdp: TokenMDP, model: M, trie: DemonstrationTrie?,
                                      recordPool: Bool = false) throws -> Result {
        precondition(model.vocabSize == mdp.vocabSize, "model vocabulary \(model.vocabSize) ≠ MDP vocabulary \(mdp.vocabSize)")
        let V = mdp.vocabSize, H = mdp.horizon, k = width
        // Live beams after step t have t+1 < H tokens, so at most V^(H−1) of
        // them; cap the buffers by that (saturating) so huge widths used for
        // exhaustive search do not allocate more than the tree can fill.
        var treeCap = 1
        for _ in 0..<(H - 1) {
            let (m, o) = treeCap.multipliedReportingOverflow(by: V)
            if o || m >= k { treeCap = k; break }
            treeCap = m
        }
        let liveCap = max(1, min(k, treeCap))
        let (vc, o) = liveCap.multipliedReportingOverflow(by: V)
        let heapCap = o ? k : min(k, vc)

        // Live beams, best first. `lRank` = lexicographic rank among them.
        let lScore = UnsafeMutablePointer<Double>.allocate(capacity: liveCap)
        let lState = UnsafeMutablePointer<PrefixState>.allocate(capacity: liveCap)
        let lNode = UnsafeMutablePointer<Int32>.allocate(capacity: liveCap)
        let lRank = UnsafeMutablePointer<Int>.allocate(capacity: liveCap)
        let nScore = UnsafeMutablePointer<Double>.allocate(capacity: liveCap)
        let nState = UnsafeMutablePointer<PrefixState>.allocate(capacity: liveCap)
        let nNode = UnsafeMutablePointer<Int32>.allocate(capacity: liveCap)
        let nRank = UnsafeMutablePointer<Int>.allocate(capacity: liveCap)
        let nLex = UnsafeMutablePointer<Int>.allocate(capacity: liveCap)
        let rankToBeam = UnsafeMutablePointer<Int>.allocate(capacity: liveCap)
        let order = UnsafeMutableBufferPointer<Int>.allocate(capacity: liveCap)
        // Heap of kept candidates: score and lexicographic key rank(parent)·V + a.
        let hScore = UnsafeMutablePointer<Double>.allocate(capacity: heapCap)
        let hLex = UnsafeMutablePointer<Int>.allocate(capacity: heapCap)
        let row = UnsafeMutableBufferPointer<Double>.allocate(capacity: V)
        defer {
            lScore.deallocate(); lState.deallocate(); lNode.deallocate(); lRank.deallocate()
            nScore.deallocate(); nState.deallocate(); nNode.deallocate(); nRank.deallocate(); nLex.deallocate()
            rankToBeam.deallocate(); order.deallocate(); hScore.deallocate(); hLex.deallocate(); row.deallocate()
        }
        // Back-pointers: node i is (bpParent[i], bpToken[i]); −1 = the root.
        var bpParent: [Int32] = [], bpToken: [Int32] = []
        bpParent.reserveCapacity(min(k, 1 << 16) * min(H, 64)); bpToken.reserveCapacity(bpParent.capacity)
        // The finished pool.
        var poolScore: [Double] = [], poolNode: [Int32] = [], poolLength: [Int32] = []

        var live = 1
        lScore[0] = 0
        (lState + 0).initialize(to: PrefixState.root(prompt: p, mdp: mdp))
        lNode[0] = -1
        lRank[0] = 0
        rankToBeam[0] = 0

        // Heap order: `worse(i, j)` — i ranks after j. The root is the worst.
        @inline(__always) func worse(_ s1: Double, _ x1: Int, _ s2: Double, _ x2: Int) -> Bool {
            s1 < s2 || (s1 == s2 && x1 > x2)
        }
        @inline(__always) func siftDown(_ start: Int, _ count: Int) {
            var i = start
            let s = hScore[i], x = hLex[i]
            while true {
                let l = 2 &* i &+ 1
                if l >= count { break }
                var c = l
                let r = l &+ 1
                if r < count && worse(hScore[r], hLex[r], hScore[l], hLex[l]) { c = r }
                if worse(hScore[c], hLex[c], s, x) {
                    hScore[i] = hScore[c]; hLex[i] = hLex[c]; i = c
                } else { break }
            }
            hScore[i] = s; hLex[i] = x
        }
        @inline(__always) func siftUp(_ start: Int) {
            var i = start
            let s = hScore[i], x = hLex[i]
            while i > 0 {
                let parent = (i &- 1) >> 1
                if worse(s, x, hScore[parent], hLex[parent]) {
                    hScore[i] = hScore[parent]; hLex[i] = hLex[parent]; i = parent
                } else { break }
            }
            hScore[i] = s; hLex[i] = x
        }

        var count = 0
        /// Offers candidate (score c, lexicographic key x) to the top-k heap.
        @inline(__always) func consider(_ c: Double, _ x: Int) {
            if c == -.infinity { return }                            // log π = −∞: never a candidate
            if count < heapCap {
                hScore[count] = c; hLex[count] = x
                siftUp(count)
                count &+= 1
            } else if worse(hScore[0], hLex[0], c, x) {
                hScore[0] = c; hLex[0] = x
                siftDown(0, count)
            }
        }

        var t = 0
        while live > 0 {
            precondition(t < H, "beam search passed the horizon")
            // 1. Select the top-k candidates.
            count = 0
            for b in 0..<live {
                let base = lScore[b]
                if count == heapCap && base < hScore[0] { break }   // no extension can enter (log π ≤ 0)
                // The log-partition of `ResponseDecoder.logPolicyRow`, without
                // writing the row back: log π_ℓ(a|s) = ℓ_a − z is formed below
                // with the same two operations (ℓ_a − z, then base + it).
                model.logits(lState[b], into: row)
                let z = LogSumExp.lse(UnsafeBufferPointer(row))
                precondition(!z.isNaN && z != .infinity, "model logits at prompt \(p), t = \(t) contain NaN or +∞")
                if z == -.infinity { continue }                      // the model emits nothing here
                let lexBase = lRank[b] &* V
                let lg = row.baseAddress!
                var a = 0
                // Vector pre-filter: once the heap is full its worst score only
                // rises, so a candidate scoring strictly below the current worst
                // can never enter; only lanes at or above it take the exact path.
                if count == heapCap {
                    let zv = FastMath.Vector(repeating: z), bv = FastMath.Vector(repeating: base)
                    while a &+ 8 <= V {
                        let c = bv + (UnsafeRawPointer(lg + a).loadUnaligned(as: FastMath.Vector.self) - zv)
                        if any(c .>= FastMath.Vector(repeating: hScore[0])) {
                            for j in 0..<8 { consider(c[j], lexBase &+ a &+ j) }
                        }
                        a &+= 8
                    }
                }
                while a < V {
                    let lp = lg[a] - z
                    if lp != -.infinity { consider(base + lp, lexBase &+ a) }
                    a &+= 1
                }
            }
            // 2. Heap-sort in place: worst goes last, so [0, count) ends best first.
            var n = count
            while n > 1 {
                n &-= 1
                let s = hScore[n], x = hLex[n]
                hScore[n] = hScore[0]; hLex[n] = hLex[0]
                hScore[0] = s; hLex[0] = x
                siftDown(0, n)
            }
            // 3. Kept candidates → finished pool or new live beams (best first).
            var newLive = 0
            for i in 0..<count {
                let x = hLex[i]
                let parent = rankToBeam[x / V], a = x % V
                let node = Int32(bpParent.count)
                bpParent.append(lNode[parent]); bpToken.append(Int32(a))
                if mdp.isTerminal(token: a, at: t) {
                    poolScore.append(hScore[i]); poolNode.append(node); poolLength.append(Int32(t + 1))
                } else {
                    nScore[newLive] = hScore[i]
                    (nState + newLive).initialize(to: lState[parent].child(a, mdp: mdp, trie: trie))
                    nNode[newLive] = node
                    nLex[newLive] = x
                    newLive &+= 1
                }
            }
            // 4. Lexicographic ranks of the new live beams (their keys are
            //    lexicographic order among sequences of equal length).
            for i in 0..<newLive { order[i] = i }
            var slice = UnsafeMutableBufferPointer(rebasing: order[0..<newLive])
            slice.sort { nLex[$0] < nLex[$1] }
            for r in 0..<newLive { nRank[order[r]] = r; rankToBeam[r] = order[r] }
            // Swap generations (PrefixState is a trivial type: plain copies).
            for i in 0..<newLive {
                lScore[i] = nScore[i]; (lState + i).initialize(to: nState[i]); lNode[i] = nNode[i]; lRank[i] = nRank[i]
            }
            live = newLive
            t += 1
        }

        guard !poolScore.isEmpty else { throw ResponseDecoder.noResponse(p, t) }

        func tokens(_ node: Int32) -> [TokenID] {
            var out: [TokenID] = []
            var i = node
            while i >= 0 { out.append(Int(bpToken[Int(i)])); i = bpParent[Int(i)] }
            out.reverse()
            return out
        }
        func key(_ i: Int) -> Double { lengthNormalize ? poolScore[i] / Double(poolLength[i]) : poolScore[i] }
        var best = 0
        var bestKey = key(0)
        for i in 1..<poolScore.count {
            let ki = key(i)
            if ki > bestKey || (ki == bestKey && tokens(poolNode[i]).lexicographicallyPrecedes(tokens(poolNode[best]))) {
                best = i; bestKey = ki
            }
        }
        let pool = recordPool ? poolScore.indices.map { DecodedResponse(tokens: tokens(poolNode[$0]), logProbability: poolScore[$0]) } : nil
        return Result(best: DecodedResponse(tokens: tokens(poolNode[best]), logProbability: poolScore[best]),
                      finishedCount: poolScore.count, pool: pool)
    }
}
