// The hot kernels of TokenMDP under ordo-one/package-benchmark (wall clock,
// CPU time, throughput, malloc counts). Sizes are smaller than the SPEC §5
// targets so the whole suite runs in about a minute; the SPEC sizes are
// `tokenmdp bench …` (see Benchmarks/README.md). Every benchmark computes a
// value that goes to `blackHole`, so nothing is optimised away.
import Benchmark
import TokenMDP

/// A random automaton (no EOS) and its soft solution, built once per benchmark.
private func automaton(latent S: Int, vocab V: Int, horizon H: Int, prompts: Int = 1) -> TokenMDP {
    var p = RandomAutomatonParams()
    p.latent = S; p.vocab = V; p.horizon = H; p.prompts = prompts
    return try! MDPGenerator.randomAutomaton(p).generate(seed: 0)
}

let benchmarks: @Sendable () -> Void = {
    let timeOnly: [BenchmarkMetric] = [.wallClock, .cpuTotal, .throughput, .mallocCountTotal]

    // 1. The vector exponential, 8 lanes per call (scaled: 1M calls per iteration).
    Benchmark("FastMath.exp SIMD8 (1M vectors)",
              configuration: .init(metrics: timeOnly, scalingFactor: .mega, maxDuration: .seconds(2))) { benchmark in
        var x = FastMath.Vector(-3, -2, -1, -0.5, 0, 0.25, 0.5, 1)
        var acc = FastMath.Vector()
        for _ in benchmark.scaledIterations {
            acc += FastMath.exp(x)
            x -= 1e-9
        }
        blackHole(acc)
    }

    // 2. One log-sum-exp row of V = 256 (the log-softmax of every decoder step).
    Benchmark("LogSumExp.lse V=256 (1K rows)",
              configuration: .init(metrics: timeOnly, scalingFactor: .kilo, maxDuration: .seconds(2))) { benchmark in
        var rng = SplitMix64(seed: 1)
        let row = (0..<256).map { _ in 6 * rng.nextUnit() - 3 }
        var acc = 0.0
        row.withUnsafeBufferPointer { r in
            for _ in benchmark.scaledIterations { acc += LogSumExp.lse(r) }
        }
        blackHole(acc)
    }

    // 3. A noisy-oracle prior noise row: 256 hashed Gaussians (ziggurat).
    Benchmark("StableHash.gaussians V=256 (1K rows)",
              configuration: .init(metrics: timeOnly, scalingFactor: .kilo, maxDuration: .seconds(2))) { benchmark in
        let out = UnsafeMutablePointer<Double>.allocate(capacity: 256)
        defer { out.deallocate() }
        var h: UInt64 = 7
        var acc = 0.0
        for _ in benchmark.scaledIterations {
            StableHash.gaussians(combining: h, count: 256, into: out)
            acc += out[17]
            h &+= 1
        }
        blackHole(acc)
    }

    // 4. Soft value iteration, S = 2000, V = 256, H = 16 (8.2M edges), 1 and 2 threads.
    let solveMDP = automaton(latent: 2000, vocab: 256, horizon: 16)
    for threads in [1, 2] {
        Benchmark("softVI S=2000 V=256 H=16 threads=\(threads)",
                  configuration: .init(metrics: timeOnly, maxDuration: .seconds(3), maxIterations: 50)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try! SoftValueIteration.solve(solveMDP, beta: 1, threads: threads).values[0])
            }
        }
    }

    // 5. Beam search, k = 64, V = 256, H = 64 over the noisy-oracle prior (σ = 1, τ = 2).
    let beamMDP = automaton(latent: 1000, vocab: 256, horizon: 64, prompts: 4)
    let beamPrior = try! Prior.noisyOracle(solution: try! SoftValueIteration.solve(beamMDP, beta: 1, threads: 2),
                                           sigma: 1, scale: 2, seed: 0)
    Benchmark("beam k=64 V=256 H=64 (per prompt)",
              configuration: .init(metrics: timeOnly, maxDuration: .seconds(3), maxIterations: 200)) { benchmark in
        var p = 0
        for _ in benchmark.scaledIterations {
            blackHole(try! BeamSearch(width: 64).decode(prompt: p % 4, mdp: beamMDP, model: beamPrior, trie: nil).best.logProbability)
            p += 1
        }
    }
}
