import XCTest
import TokenMDP
import _TestSupport

/// Timing harness (not a test: skipped unless `TOKENMDP_BENCH=1`; no timed
/// assertions). Run in release:
///
///     TOKENMDP_BENCH=1 swift test -c release --filter LinearLearnerBenchmark
///
/// Linear learner on 10⁵ teacher-forced pairs, d = 1024, V = 64: 25 000
/// random length-4 responses over 1 000 prompts; features bias (1) +
/// position × previous token (4·65 = 260) + hashed 2-grams (400) + hashed
/// 3-grams (363) = 1 024 columns.
final class LinearLearnerBenchmark: XCTestCase {
    func testLinearLearnerTrainingTimeOnHundredThousandPairs() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["TOKENMDP_BENCH"] == "1", "set TOKENMDP_BENCH=1 to run")
        let V = 64, H = 4, P = 1000
        let mdp = try TokenMDP(vocabSize: V, horizon: H, eos: nil, numLatent: 1,
                               transitions: [Int32](repeating: 0, count: V), rewards: [Double](repeating: 0, count: V),
                               terminalRewards: [0], prompts: (0..<P).map { _ in Prompt(latent: 0) })
        var rng = SplitMix64(seed: 1, stream: "bench")
        var demos: [Demonstration] = []
        for p in 0..<P { for _ in 0..<25 { demos.append(Demonstration(prompt: p, tokens: (0..<H).map { _ in rng.nextInt(below: V) })) } }
        let trie = DemonstrationTrie(mdp: mdp, demonstrations: demos)
        let kinds: [FeatureKind] = [.bias, .positionCrossPrevious, .hashedNGram(n: 2, buckets: 400), .hashedNGram(n: 3, buckets: 363)]
        let fmap = try FeatureMap(kinds: kinds, mdp: mdp, trie: trie)
        XCTAssertEqual(fmap.dimension, 1024)
        let steps = Int(ProcessInfo.processInfo.environment["TOKENMDP_BENCH_STEPS"] ?? "20")!
        let threads = Int(ProcessInfo.processInfo.environment["TOKENMDP_BENCH_THREADS"] ?? "1")!
        let savedThreads = Linalg.blasThreads
        defer { Linalg.blasThreads = savedThreads }
        Linalg.blasThreads = threads

        let t0 = DispatchTime.now().uptimeNanoseconds
        let obj = LinearObjective(mdp: mdp, trie: trie, prior: Prior.uniform(vocabSize: V), features: fmap,
                                  lambda: 0.2, weightDecay: 1e-3, threads: threads)
        let t1 = DispatchTime.now().uptimeNanoseconds
        var G = Matrix(rows: 1024, cols: V)
        _ = obj.valueAndGradient(Matrix(rows: 1024, cols: V), gradient: &G)
        let t2 = DispatchTime.now().uptimeNanoseconds
        let learner = try LinearLearner(mdp: mdp, trie: trie, prior: Prior.uniform(vocabSize: V), features: kinds,
                                        options: .init(lambda: 0.2, weightDecay: 1e-3,
                                                       training: .gradient(GradientOptions(steps: steps, learningRate: 0.01))),
                                        threads: threads)
        let t3 = DispatchTime.now().uptimeNanoseconds
        let s = { (a: UInt64, b: UInt64) in Double(b - a) / 1e9 }
        print(String(format: "linear benchmark: pairs %.0f, rows (unique states) %d, d %d, V %d, chunk rows %d, threads %d",
                     trie.pairCount, obj.rowCount, fmap.dimension, V, obj.chunkRows, threads))
        print(String(format: "  setup (features, prior rows): %.3f s; one loss+gradient pass: %.3f s", s(t0, t1), s(t1, t2)))
        print(String(format: "  full training, %d Adam steps (incl. setup): %.3f s = %.3f s/step; final loss/M %.6f",
                     steps, s(t2, t3), s(t2, t3) / Double(max(steps, 1)), learner.report!.loss / trie.pairCount))
    }
}
