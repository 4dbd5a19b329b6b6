import ArgumentParser
import Foundation
import TokenMDP

/// `tokenmdp bench …`: timings of the hot kernels (SPEC §5) on synthetic
/// problems of a chosen size. Benchmarks, never tests: nothing here asserts
/// a time. Every subcommand prints one `key: value` line per number so
/// `Benchmarks/run_benchmarks.sh` can parse it.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the hot kernels: soft value iteration, beam search, linear-learner training.",
        discussion: """
        Build in release first (swift build -c release). Times are wall-clock
        medians over repeats; the machine's other load shows up as noise, so
        repeat and compare medians. Benchmarks/run_benchmarks.sh runs all three
        and the NumPy/SciPy reference and prints a ratio table.

        Examples:
          tokenmdp bench solve --latent 10000 --vocab 256 --horizon 64 --threads 2
          tokenmdp bench beam --width 64 --vocab 256 --horizon 64 --prompts 20
          tokenmdp bench train --pairs 100000 --dim 1024 --vocab 64
        """,
        subcommands: [BenchSolve.self, BenchBeam.self, BenchTrain.self])
}

/// Wall-clock seconds of `body`.
private func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

/// Median, minimum and maximum of a non-empty sample.
private func summary(_ xs: [Double]) -> (median: Double, min: Double, max: Double) {
    let s = xs.sorted()
    let n = s.count
    let median = n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2])
    return (median, s.first!, s.last!)
}

/// CPU seconds consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID):
/// unlike wall-clock time it does not grow while another process holds the
/// core, so on a shared machine it is the steadier single-thread number.
private func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

private func machineLine() -> String {
    "cores: \(ProcessInfo.processInfo.activeProcessorCount)"
}

struct BenchSolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "solve",
        abstract: "Soft value iteration on a random automaton: nanoseconds per (t, q, a) edge.",
        discussion: """
        Generates a random-automaton MDP with S latent states, V tokens and
        horizon H (no EOS; Gaussian rewards), solves it --repeat times at
        temperature --beta and prints the median, min and max of
        ns_per_edge = seconds / (H·S·V). One untimed warm-up solve runs first.

        Example (the SPEC §5 size, 164M edges):
          tokenmdp bench solve --latent 10000 --vocab 256 --horizon 64 --threads 2
        """)

    @Option(help: "Latent states S.") var latent = 10_000
    @Option(help: "Vocabulary size V.") var vocab = 256
    @Option(help: "Horizon H.") var horizon = 64
    @Option(help: "Temperature β > 0 (reward units per nat); 0 times the hard max.") var beta = 1.0
    @Option(help: "Worker threads (the default is the number of cores).") var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .customLong("repeat"), help: "Timed solves.") var repeats = 5
    @Option(help: "Seed of the generated MDP.") var seed: UInt64 = 0

    func validate() throws {
        guard latent >= 1, vocab >= 1, horizon >= 1 else { throw ValidationError("--latent, --vocab and --horizon must be ≥ 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        guard repeats >= 1 else { throw ValidationError("--repeat must be ≥ 1, got \(repeats)") }
        guard beta.isFinite, beta >= 0 else { throw ValidationError("--beta must be a finite number ≥ 0, got \(beta)") }
    }

    func run() throws {
        try runReportingErrors {
            var p = RandomAutomatonParams()
            p.prompts = 1; p.latent = latent; p.vocab = vocab; p.horizon = horizon
            let mdp = try MDPGenerator.randomAutomaton(p).generate(seed: seed)
            let edges = Double(horizon) * Double(latent) * Double(vocab)
            var root = 0.0
            _ = try SoftValueIteration.solve(mdp, beta: beta, threads: threads)          // warm-up
            var ns: [Double] = []
            for _ in 0..<repeats {
                let s = try seconds { root = try SoftValueIteration.solve(mdp, beta: beta, threads: threads).rootValue(prompt: 0) }
                ns.append(s * 1e9 / edges)
            }
            let (med, lo, hi) = summary(ns)
            print("bench: solve")
            print(machineLine())
            print(String(format: "shape: S=%d V=%d H=%d edges=%.0f beta=%g threads=%d repeat=%d", latent, vocab, horizon, edges, beta, threads, repeats))
            print(String(format: "ns_per_edge_median: %.4f", med))
            print(String(format: "ns_per_edge_min: %.4f", lo))
            print(String(format: "ns_per_edge_max: %.4f", hi))
            print(String(format: "seconds_per_solve_median: %.4f", med * edges / 1e9))
            print(String(format: "root_value: %.17g", root))
        }
    }
}

struct BenchBeam: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "beam",
        abstract: "Beam search over the noisy-oracle prior: milliseconds per prompt.",
        discussion: """
        Generates a random-automaton MDP (S latent states, V tokens, horizon
        H, no EOS, so every beam lives to the horizon: k·V candidates per
        step, H steps), solves it at --beta, builds the noisy-oracle prior
        (ℓ₀ = τ·(Q*/β + σ ξ), SPEC §2.5) and decodes --prompts prompts with
        beam width --width, --threads prompts at a time. Prints the median,
        min and max ms per prompt over --repeat passes (after one warm-up
        pass) and a checksum of the decoded log-probabilities.

        Example (the SPEC §5 size):
          tokenmdp bench beam --width 64 --vocab 256 --horizon 64 --prompts 20
        """)

    @Option(help: "Beam width k.") var width = 64
    @Option(help: "Vocabulary size V.") var vocab = 256
    @Option(help: "Horizon H.") var horizon = 64
    @Option(help: "Latent states S of the automaton.") var latent = 1000
    @Option(help: "Prompts decoded per pass.") var prompts = 20
    @Option(help: "Temperature β > 0 of Q*.") var beta = 1.0
    @Option(help: "Prior noise σ ≥ 0.") var sigma = 1.0
    @Option(help: "Prior scale τ > 0 (τ > 1: over-confident).") var scale = 2.0
    @Option(help: "Prompts decoded concurrently (1 = single-threaded ms per prompt).") var threads = 1
    @Option(name: .customLong("repeat"), help: "Timed passes over the prompts.") var repeats = 3
    @Option(help: "Seed of the MDP and of the prior.") var seed: UInt64 = 0

    func validate() throws {
        guard width >= 1, vocab >= 1, horizon >= 1, latent >= 1, prompts >= 1 else {
            throw ValidationError("--width, --vocab, --horizon, --latent and --prompts must be ≥ 1")
        }
        guard threads >= 1, repeats >= 1 else { throw ValidationError("--threads and --repeat must be ≥ 1") }
        guard beta.isFinite, beta > 0 else { throw ValidationError("--beta must be a finite number > 0, got \(beta)") }
    }

    func run() throws {
        try runReportingErrors {
            var p = RandomAutomatonParams()
            p.prompts = prompts; p.latent = latent; p.vocab = vocab; p.horizon = horizon
            let mdp = try MDPGenerator.randomAutomaton(p).generate(seed: seed)
            let solution = try SoftValueIteration.solve(mdp, beta: beta, threads: ProcessInfo.processInfo.activeProcessorCount)
            let prior = try Prior.noisyOracle(solution: solution, sigma: sigma, scale: scale, seed: seed)
            let search = BeamSearch(width: width)
            var logps = [Double](repeating: 0, count: prompts)
            func pass() throws {
                var failure: Error?
                let lock = NSLock()
                logps.withUnsafeMutableBufferPointer { out in
                    let o = out
                    parallelRanges(count: prompts, threads: threads) { lo, hi in
                        for i in lo..<hi {
                            do {
                                o[i] = try search.decode(prompt: i, mdp: mdp, model: prior, trie: nil).best.logProbability
                            } catch { lock.lock(); failure = error; lock.unlock() }
                        }
                    }
                }
                if let failure { throw failure }
            }
            try pass()                                                                          // warm-up
            var ms: [Double] = [], cpu: [Double] = []
            for _ in 0..<repeats {
                let c0 = threadCPUSeconds()
                ms.append(try seconds(pass) * 1e3 / Double(prompts))
                cpu.append((threadCPUSeconds() - c0) * 1e3 / Double(prompts))
            }
            let (med, lo, hi) = summary(ms)
            print("bench: beam")
            print(machineLine())
            print(String(format: "shape: k=%d V=%d H=%d S=%d prompts=%d beta=%g sigma=%g scale=%g threads=%d repeat=%d",
                         width, vocab, horizon, latent, prompts, beta, sigma, scale, threads, repeats))
            print(String(format: "ms_per_prompt_median: %.3f", med))
            print(String(format: "ms_per_prompt_min: %.3f", lo))
            print(String(format: "ms_per_prompt_max: %.3f", hi))
            if threads == 1 {
                let c = summary(cpu)
                print(String(format: "cpu_ms_per_prompt_median: %.3f", c.median))
                print(String(format: "cpu_ms_per_prompt_min: %.3f", c.min))
            }
            print(String(format: "checksum_logp: %.17g", logps.reduce(0, +)))
        }
    }
}

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Linear-learner loss+gradient step: seconds per step and achieved GFLOP/s vs a plain DGEMM.",
        discussion: """
        Builds --pairs teacher-forced pairs (random length-4 responses over
        1000 prompts of a one-state MDP with V tokens), features of dimension
        --dim (bias + hashed 2-grams + hashed 3-grams), and times the SOC loss
        and gradient (two OpenBLAS GEMMs per chunk: Φ·Wᵀ and Φᵀ·G, 4·R·d·V
        flops for R unique states). Also times the same GEMM shapes alone and
        a plain square DGEMM (--peak-size) as the machine's peak, with the
        BLAS thread count of the learner (1, for reproducibility) and with all
        cores.

        Example:
          tokenmdp bench train --pairs 100000 --dim 1024 --vocab 64
        """)

    @Option(help: "Teacher-forced pairs M (multiple of 4).") var pairs = 100_000
    @Option(help: "Feature dimension d (≥ 3).") var dim = 1024
    @Option(help: "Vocabulary size V.") var vocab = 64
    @Option(help: "Timed loss+gradient steps.") var steps = 10
    @Option(help: "Size n of the n×n DGEMM used as the peak.") var peakSize = 2000
    @Option(help: "Threads for the learner's row work (BLAS stays at 1 thread).") var threads = 1

    func validate() throws {
        guard pairs >= 4, dim >= 3, vocab >= 2, steps >= 1, peakSize >= 64, threads >= 1 else {
            throw ValidationError("need --pairs ≥ 4, --dim ≥ 3, --vocab ≥ 2, --steps ≥ 1, --peak-size ≥ 64, --threads ≥ 1")
        }
    }

    func run() throws {
        try runReportingErrors {
            let V = vocab, H = 4, P = 1000
            let mdp = try TokenMDP(vocabSize: V, horizon: H, eos: nil, numLatent: 1,
                                   transitions: [Int32](repeating: 0, count: V), rewards: [Double](repeating: 0, count: V),
                                   terminalRewards: [0], prompts: (0..<P).map { _ in Prompt(latent: 0) })
            var rng = SplitMix64(seed: 1, stream: "bench")
            var demos: [Demonstration] = []
            let nDemos = pairs / H
            for i in 0..<nDemos { demos.append(Demonstration(prompt: i % P, tokens: (0..<H).map { _ in rng.nextInt(below: V) })) }
            let trie = DemonstrationTrie(mdp: mdp, demonstrations: demos)
            let b2 = (dim - 1) / 2, b3 = dim - 1 - b2
            let kinds: [FeatureKind] = [.bias, .hashedNGram(n: 2, buckets: b2), .hashedNGram(n: 3, buckets: b3)]
            let fmap = try FeatureMap(kinds: kinds, mdp: mdp, trie: trie)
            let d = fmap.dimension
            let obj = LinearObjective(mdp: mdp, trie: trie, prior: Prior.uniform(vocabSize: V), features: fmap,
                                      lambda: 0.2, weightDecay: 1e-3, threads: threads)
            var W = Matrix(rows: d, cols: V)
            for j in 0..<(d * V) { W.data[j] = 0.01 * (rng.nextUnit() - 0.5) }
            var G = Matrix(rows: d, cols: V)
            _ = obj.valueAndGradient(W, gradient: &G)                                         // warm-up
            var stepTimes: [Double] = []
            for _ in 0..<steps { stepTimes.append(seconds { _ = obj.valueAndGradient(W, gradient: &G) }) }
            let step = summary(stepTimes).median
            let R = obj.rowCount
            let flops = 4.0 * Double(R) * Double(d) * Double(V)

            // The same GEMM shapes alone (dense Φ chunks), to see how GEMM-bound a step is.
            let chunk = max(1, min(obj.chunkRows, R))
            let phi = [Double](repeating: 1, count: chunk * d)
            var block = [Double](repeating: 0, count: chunk * V)
            var grad = [Double](repeating: 0, count: d * V)
            func gemmsOnly() {
                var lo = 0
                while lo < R {
                    let rc = min(chunk, R - lo)
                    Linalg.gemm(m: rc, n: V, k: d, a: phi, lda: d, b: W.data, ldb: V, beta: 0, c: &block, ldc: V)
                    Linalg.gemm(transA: true, m: d, n: V, k: rc, a: phi, lda: d, b: block, ldb: V, beta: 1, c: &grad, ldc: V)
                    lo += rc
                }
            }
            gemmsOnly()
            var gemmTimes: [Double] = []
            for _ in 0..<steps { gemmTimes.append(seconds(gemmsOnly)) }
            let gemmTime = summary(gemmTimes).median

            func peak(threads t: Int) -> Double {
                let saved = Linalg.blasThreads
                defer { Linalg.blasThreads = saved }
                Linalg.blasThreads = t
                let n = peakSize
                let A = [Double](repeating: 1.0 / Double(n), count: n * n)
                var C = [Double](repeating: 0, count: n * n)
                Linalg.gemm(m: n, n: n, k: n, a: A, lda: n, b: A, ldb: n, beta: 0, c: &C, ldc: n)
                var ts: [Double] = []
                for _ in 0..<3 { ts.append(seconds { Linalg.gemm(m: n, n: n, k: n, a: A, lda: n, b: A, ldb: n, beta: 0, c: &C, ldc: n) }) }
                return 2.0 * Double(n) * Double(n) * Double(n) / summary(ts).min / 1e9
            }
            let peak1 = peak(threads: 1)
            let peakAll = peak(threads: ProcessInfo.processInfo.activeProcessorCount)

            print("bench: train")
            print(machineLine())
            print(String(format: "shape: pairs=%d rows=%d d=%d V=%d chunk_rows=%d blas_threads=%d row_threads=%d",
                         pairs, R, d, V, chunk, Linalg.blasThreads, threads))
            print(String(format: "seconds_per_step_median: %.5f", step))
            print(String(format: "gflops_step: %.2f", flops / step / 1e9))
            print(String(format: "gemm_seconds_per_step_median: %.5f", gemmTime))
            print(String(format: "gemm_fraction_of_step: %.3f", gemmTime / step))
            print(String(format: "dgemm_peak_gflops_1_thread: %.2f", peak1))
            print(String(format: "dgemm_peak_gflops_all_cores: %.2f", peakAll))
            print(String(format: "step_fraction_of_1_thread_peak: %.3f", flops / step / 1e9 / peak1))
        }
    }
}
