import XCTest
import TokenMDP
import _TestSupport

/// Beam search (SPEC §1.5): exhaustive width = enumeration, width 1 = greedy,
/// exact ties, the finished-pool rule, length normalisation, edge cases.
final class BeamSearchTests: XCTestCase {
    /// |tree| = V^H bounds the number of candidates of any step, so a width
    /// of V^H keeps every candidate and the search is exhaustive.
    private func exhaustiveWidth(_ mdp: TokenMDP) -> Int {
        Int(pow(Double(mdp.vocabSize), Double(mdp.horizon)))
    }

    private func checkExhaustiveBeamMatchesEnumeration<M: LogitModel>(_ mdp: TokenMDP, _ model: M, seed: UInt64,
                                                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let all = allResponses(mdp)
        for p in mdp.prompts.indices {
            let ref = bruteForceArgmax(all) { ResponseDecoder.modelLogProbability(prompt: p, tokens: $0, mdp: mdp, model: model, trie: nil) }!
            let got = try BeamSearch(width: exhaustiveWidth(mdp)).decode(prompt: p, mdp: mdp, model: model, trie: nil).best
            XCTAssertEqual(got.tokens, ref.tokens, "seed \(seed) prompt \(p)", file: file, line: line)
            // Same additions in the same order: bit-identical, not just close.
            XCTAssertEqual(got.logProbability, ref.key, "seed \(seed) prompt \(p)", file: file, line: line)
        }
    }

    func testBeamWithWidthAtLeastTreeSizeEqualsEnumeratedArgmaxOfModelLikelihood() {
        withEvery("seed", in: 0..<60) { seed in
            // With EOS (responses of every length), random logits with some −∞.
            let mdp = randomMDP(seed: seed, S: 4, V: 3, H: 4, eos: true)
            try checkExhaustiveBeamMatchesEnumeration(mdp, RandomLogitModel(vocabSize: 3, seed: seed, scale: 1.5, forbidden: 0.2), seed: seed)
            // Without EOS: every response has H tokens.
            let fixed = randomMDP(seed: seed, S: 4, V: 3, H: 4, eos: false)
            try checkExhaustiveBeamMatchesEnumeration(fixed, RandomLogitModel(vocabSize: 3, seed: seed), seed: seed)
            // Integer logits: many exact ties, decided lexicographically.
            try checkExhaustiveBeamMatchesEnumeration(mdp, TiedLogitModel(vocabSize: 3, seed: seed, levels: 2), seed: seed)
            let wide = randomMDP(seed: seed, S: 3, V: 4, H: 3, eos: true)
            try checkExhaustiveBeamMatchesEnumeration(wide, TiedLogitModel(vocabSize: 4, seed: seed, levels: 3), seed: seed)
        }
    }

    func testExhaustiveWidthIsCappedByTreeSizeSoHugeWidthsWork() throws {
        let mdp = randomMDP(seed: 7, V: 3, H: 4)
        let model = RandomLogitModel(vocabSize: 3, seed: 7)
        let a = try BeamSearch(width: 81).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
        let b = try BeamSearch(width: Int.max).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
        XCTAssertEqual(a.best, b.best)
        XCTAssertEqual(a.pool, b.pool)
        // Exhaustive: every response with a finite likelihood finished.
        XCTAssertEqual(a.finishedCount, allResponses(mdp).count)
    }

    func testBeamWidthOneEqualsHandWrittenGreedy() {
        withEvery("seed", in: 0..<100) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 4, H: 6, eos: seed % 2 == 0)
            let models: [any LogitModel] = [RandomLogitModel(vocabSize: 4, seed: seed, scale: 2, forbidden: 0.3),
                                            TiedLogitModel(vocabSize: 4, seed: seed, levels: 2)]
            for m in models {
                func check<M: LogitModel>(_ model: M) throws {
                    for p in mdp.prompts.indices {
                        let ref = referenceGreedy(mdp, prompt: p, model: model, trie: nil)
                        let beam = try BeamSearch(width: 1).decode(prompt: p, mdp: mdp, model: model, trie: nil).best
                        XCTAssertEqual(beam.tokens, ref, "seed \(seed) prompt \(p)")
                        var rng = SplitMix64(seed: seed)
                        let greedy = try ResponseDecoder.decode(.greedy, prompt: p, mdp: mdp, model: model, trie: nil, rng: &rng)
                        XCTAssertEqual(greedy, [beam])
                    }
                }
                try check(m)
            }
        }
    }

    /// Hand case, V = 3 (no EOS), H = 2. Root logits [1, 2, 2]; after [1] and
    /// after [2] the same row [0, 5, 5]. The four responses [1,1], [1,2],
    /// [2,1], [2,2] all score lp_root(2) + lp_child(5): equal logits give
    /// bit-identical log-probabilities (same numbers, same operations), so
    /// the tie is real and the lexicographically smallest, [1,1], must win
    /// at every width; width 2 keeps [1,1] and [1,2].
    func testEqualLogitsGiveBitIdenticalScoresAndLexicographicallySmallerSequenceWins() throws {
        let mdp = randomMDP(seed: 1, S: 3, V: 3, H: 2, eos: false, forbidden: 0, prompts: 1)
        let model = PrefixTableModel(mdp: mdp, rows: [(0, [], [1, 2, 2]), (0, [1], [0, 5, 5]), (0, [2], [0, 5, 5])],
                                     defaultRow: [0, 0, 0])
        let s1 = prefixState(mdp, prompt: 0, [1]), s2 = prefixState(mdp, prompt: 0, [2])
        XCTAssertEqual(model.logPolicy(s1), model.logPolicy(s2))     // bit-identical rows
        let root = model.logPolicy(prefixState(mdp, prompt: 0, []))
        XCTAssertEqual(root[1], root[2])
        let scores = [[1, 1], [1, 2], [2, 1], [2, 2]].map { ResponseDecoder.modelLogProbability(prompt: 0, tokens: $0, mdp: mdp, model: model, trie: nil) }
        XCTAssertEqual(Set(scores).count, 1, "\(scores)")
        for k in [1, 2, 3, 4, 9] {
            let r = try BeamSearch(width: k).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
            XCTAssertEqual(r.best.tokens, [1, 1], "width \(k)")
            XCTAssertEqual(r.best.logProbability, scores[0], "width \(k)")
        }
        let two = try BeamSearch(width: 2).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
        XCTAssertEqual(two.pool?.map(\.tokens), [[1, 1], [1, 2]])
        // A fully uniform model: all 9 responses tie; [0, 0] wins.
        let uniform = Prior.uniform(vocabSize: 3)
        XCTAssertEqual(try BeamSearch(width: 4).decode(prompt: 0, mdp: mdp, model: uniform, trie: nil).best.tokens, [0, 0])
    }

    /// Hand case, V = 3 with EOS = 2, H = 3, width 2. Probabilities:
    /// root (0: .75, 1: .05, EOS: .2); after [0]: (0: .5, 1: .5, EOS: 0);
    /// after [0,0] and [0,1]: uniform.
    ///
    ///     step 0: [0] −0.288 (live), [EOS] −1.609 (finished, takes slot 2), [1] dropped
    ///     step 1: [0,0] −0.981, [0,1] −0.981 — both outscore [EOS]: a rule that
    ///             made finished responses keep competing for slots would evict it
    ///     step 2: six ties at −2.079; [0,0,0], [0,0,1] finish
    ///
    /// The pool keeps [EOS], and it is the answer (−1.609 > −2.079).
    func testFinishedResponseStaysInPoolAfterLaterCandidatesOutscoreIt() throws {
        let mdp = randomMDP(seed: 2, S: 3, V: 3, H: 3, eos: true, forbidden: 0, prompts: 1)
        let model = PrefixTableModel(mdp: mdp, rows: [(0, [], [log(0.75), log(0.05), log(0.2)]),
                                                      (0, [0], [0, 0, -.infinity])],
                                     defaultRow: [0, 0, 0])
        let r = try BeamSearch(width: 2).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
        XCTAssertEqual(r.pool?.map(\.tokens), [[2], [0, 0, 0], [0, 0, 1]])
        XCTAssertEqual(r.finishedCount, 3)
        XCTAssertEqual(r.best.tokens, [2])
        assertClose(r.best.logProbability, log(0.2))
    }

    /// Hand case, V = 3 with EOS = 2, H = 3, width 2. Root (0: .75, 1: .05,
    /// EOS: .2); after [0] only token 0; after [1] only EOS; after [0,0]
    /// uniform. Step 0 keeps [0] and [EOS]; [EOS] *uses* the second slot, so
    /// [1] is not live and [1, EOS] (−3.0, which would be the second
    /// candidate of step 1) never enters the pool. One live beam remains.
    func testFinishedResponseTakesASlotInTheStepThatProducedIt() throws {
        let mdp = randomMDP(seed: 3, S: 3, V: 3, H: 3, eos: true, forbidden: 0, prompts: 1)
        let model = PrefixTableModel(mdp: mdp, rows: [(0, [], [log(0.75), log(0.05), log(0.2)]),
                                                      (0, [0], [0, -.infinity, -.infinity]),
                                                      (0, [1], [-.infinity, -.infinity, 0])],
                                     defaultRow: [0, 0, 0])
        let r = try BeamSearch(width: 2).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
        XCTAssertEqual(r.pool?.map(\.tokens), [[2], [0, 0, 0], [0, 0, 1]])
        XCTAssertEqual(r.best.tokens, [0, 0, 0])
        assertClose(r.best.logProbability, log(0.75) + log(1.0 / 3.0))
        // Width 3 does keep [1] live, and [1, EOS] finishes at step 1.
        let w3 = try BeamSearch(width: 3).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
        XCTAssertEqual(w3.pool?.map(\.tokens), [[2], [1, 2], [0, 0, 0], [0, 0, 1], [0, 0, 2]])
    }

    func testLengthNormalisationReturnsBestScorePerTokenOfThePoolAndLeavesThePoolUnchanged() {
        withEvery("seed", in: 0..<60) { seed in
            let mdp = randomMDP(seed: seed, S: 4, V: 3, H: 4, eos: true)
            let model = RandomLogitModel(vocabSize: 3, seed: seed, scale: 1.5, forbidden: 0.1)
            for k in [1, 2, 3, 81] {
                let plain = try BeamSearch(width: k).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
                let norm = try BeamSearch(width: k, lengthNormalize: true).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
                XCTAssertEqual(plain.pool, norm.pool, "seed \(seed) width \(k)")
                let ref = bruteForceArgmax(norm.pool!.map(\.tokens)) {
                    ResponseDecoder.modelLogProbability(prompt: 0, tokens: $0, mdp: mdp, model: model, trie: nil) / Double($0.count)
                }!
                XCTAssertEqual(norm.best.tokens, ref.tokens, "seed \(seed) width \(k)")
                XCTAssertEqual(norm.best.logProbability,
                               ResponseDecoder.modelLogProbability(prompt: 0, tokens: ref.tokens, mdp: mdp, model: model, trie: nil))
            }
        }
    }

    /// With a model that forbids most tokens, fewer than k candidates are
    /// finite: the beam shrinks instead of extending `-∞` tokens, and every
    /// finished response has a finite likelihood.
    func testBeamNeverExtendsMinusInfinityTokens() {
        withEvery("seed", in: 0..<40) { seed in
            let mdp = randomMDP(seed: seed, S: 4, V: 4, H: 4, eos: true)
            let model = RandomLogitModel(vocabSize: 4, seed: seed, forbidden: 0.7)
            let finite = allResponses(mdp).filter {
                ResponseDecoder.modelLogProbability(prompt: 0, tokens: $0, mdp: mdp, model: model, trie: nil).isFinite
            }
            let r = try BeamSearch(width: 1000).decode(prompt: 0, mdp: mdp, model: model, trie: nil, recordPool: true)
            XCTAssertEqual(r.finishedCount, finite.count, "seed \(seed)")
            XCTAssertEqual(Set(r.pool!.map(\.tokens)), Set(finite), "seed \(seed)")
            XCTAssertTrue(r.pool!.allSatisfy { $0.logProbability.isFinite })
        }
    }

    func testModelThatForbidsEveryTokenThrowsInsteadOfReturningGarbage() {
        let mdp = randomMDP(seed: 4, V: 3, H: 3)
        let model = PrefixTableModel(mdp: mdp, rows: [], defaultRow: [-.infinity, -.infinity, -.infinity])
        XCTAssertThrowsError(try BeamSearch(width: 3).decode(prompt: 0, mdp: mdp, model: model, trie: nil))
        var rng = SplitMix64(seed: 0)
        XCTAssertThrowsError(try ResponseDecoder.decode(.sample(n: 2), prompt: 0, mdp: mdp, model: model, trie: nil, rng: &rng))
    }

    /// Horizon 1 and a one-token vocabulary: the only response is returned.
    func testDegenerateTreesHorizonOneAndOneTokenVocabulary() throws {
        let h1 = randomMDP(seed: 5, V: 3, H: 1, eos: true)
        let m = RandomLogitModel(vocabSize: 3, seed: 5)
        let ref = bruteForceArgmax(allResponses(h1)) { ResponseDecoder.modelLogProbability(prompt: 0, tokens: $0, mdp: h1, model: m, trie: nil) }!
        XCTAssertEqual(try BeamSearch(width: 2).decode(prompt: 0, mdp: h1, model: m, trie: nil).best.tokens, ref.tokens)
        let v1 = randomMDP(seed: 6, V: 1, H: 3, eos: false, prompts: 1)
        let r = try BeamSearch(width: 5).decode(prompt: 0, mdp: v1, model: Prior.uniform(vocabSize: 1), trie: nil)
        XCTAssertEqual(r.best.tokens, [0, 0, 0])
        XCTAssertEqual(r.best.logProbability, 0)
    }

    /// The beam carries `PrefixState`, so a model that reads the trie node
    /// sees the same node during search as along the returned response.
    func testBeamScoreEqualsModelLikelihoodRecomputedWithTheTrie() {
        withEvery("seed", in: 0..<30) { seed in
            let mdp = randomMDP(seed: seed, S: 5, V: 4, H: 5, eos: true, forbidden: 0)
            let soft = try SoftValueIteration.solve(mdp, beta: 0.7)
            let trie = sampledTrie(mdp, soft: soft, perPrompt: 5, seed: seed)
            let model = NodeAwareModel(vocabSize: 4, trie: trie)
            for k in [1, 3, 8] {
                let y = try BeamSearch(width: k).decode(prompt: 0, mdp: mdp, model: model, trie: trie).best
                XCTAssertEqual(y.logProbability, ResponseDecoder.modelLogProbability(prompt: 0, tokens: y.tokens, mdp: mdp, model: model, trie: trie))
            }
        }
    }
}

/// A model that uses the trie: demonstrated counts + 1 as logits on
/// demonstrated states, zeros elsewhere.
struct NodeAwareModel: LogitModel {
    let vocabSize: Int
    let trie: DemonstrationTrie
    func logits(_ s: PrefixState, into out: UnsafeMutableBufferPointer<Double>) {
        for a in 0..<vocabSize {
            out[a] = trie.isDemonstrated(s.node) ? trie.counts[Int(s.node) * vocabSize + a] + 1 : 0
        }
    }
}
