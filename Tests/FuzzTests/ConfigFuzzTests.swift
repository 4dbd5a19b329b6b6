import Foundation
import Testing
import PropertyBased
import TokenMDP
import _TestSupport

/// Mutations of a valid YAML config. Each case is reproducible from its
/// `salt` (printed on failure).
enum YAMLMutation: Int, CaseIterable {
    case truncate, flipByte, deleteSpan, duplicateLine, swapType, hugeNumber, deepNesting, unknownKey,
         duplicateKey, aliasBomb, reindent, tagged, junk

    static let scalars = ["[]", "{}", "~", "null", "\"x\"", "'y'", "true", "no", "-1", "0", "-0", "1e999", "-1e999",
                          ".nan", ".inf", "-.inf", "0x7fffffffffffffff", "0o777", "1_000", "+5", "1.5", "2e-400",
                          "[1, [2, [3]]]", "{a: {b: {c: 1}}}", "[0, 1, 0]", "&a 3", "*a", "|\n  text", ">-\n  folded",
                          "\"\\u0000\"", "\"\\xff\"", "[-1]", "[1e308, 1e308]", "[0.0, 1e-320]", "[ngram:4:0]",
                          "[bias, bias]", "beam", "[{name: x}]", "[{kind: sample, n: 0}]"]
    static let huge = ["1e308", "-1e308", "1e999", "99999999999999999999999", "-9223372036854775809", "9223372036854775807",
                       "-9223372036854775808", "4294967296", "2147483648", "65536", "16777217", "1048577", "NaN", "4.9e-324"]
    static let keys = ["bogus", "mdp", "seeds", "name", "kind", "beta", "widths", "lambda", "sweep", "<<", "? complex",
                       "\"quoted key\"", "[1, 2]", "learners.soc.lambda", "tool_version", "steps_csv"]

    func apply(to text: String, salt: UInt64) -> String {
        var rng = SplitMix64(seed: salt, stream: "yaml-fuzz")
        var b = Array(text.utf8)
        guard !b.isEmpty else { return text }
        let i = rng.nextInt(below: b.count)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let li = rng.nextInt(below: lines.count)
        func pick<T>(_ xs: [T]) -> T { xs[rng.nextInt(below: xs.count)] }
        switch self {
        case .truncate: b = Array(b[..<i])
        case .flipByte: b[i] ^= UInt8(1 << rng.nextInt(below: 8))
        case .deleteSpan: b.removeSubrange(i..<min(b.count, i + 1 + rng.nextInt(below: 16)))
        case .duplicateLine:
            lines.insert(lines[li], at: li)
            return lines.joined(separator: "\n")
        case .swapType: return replaceValue(lines, li, with: pick(Self.scalars))
        case .hugeNumber: return replaceNumber(b, at: i, with: pick(Self.huge))
        case .deepNesting:
            let d = 1 + rng.nextInt(below: 3000)
            let open = rng.nextInt(below: 2) == 0 ? "[" : "{a: "
            let close = open == "[" ? "]" : "}"
            return replaceValue(lines, li, with: String(repeating: open, count: d) + "1" + String(repeating: close, count: d))
        case .unknownKey:
            let indent = String(repeating: " ", count: 2 * rng.nextInt(below: 3))
            lines.insert("\(indent)\(pick(Self.keys)): \(pick(Self.scalars))", at: li)
            return lines.joined(separator: "\n")
        case .duplicateKey:
            // Repeat a key of the same mapping with another value.
            let line = lines[li]
            guard let colon = line.firstIndex(of: ":") else { return text }
            lines.insert(String(line[...colon]) + " " + pick(Self.scalars), at: li + 1)
            return lines.joined(separator: "\n")
        case .aliasBomb:
            let width = 2 + rng.nextInt(below: 9), depth = 1 + rng.nextInt(below: 12)
            var bomb = ["bomb0: &b0 [x, x]"]
            for k in 1...depth { bomb.append("bomb\(k): &b\(k) [" + Array(repeating: "*b\(k - 1)", count: width).joined(separator: ", ") + "]") }
            if rng.nextInt(below: 2) == 0 {
                return text + "\n" + bomb.joined(separator: "\n") + "\n"
            }
            return bomb.joined(separator: "\n") + "\n" + replaceValue(lines, li, with: "*b\(depth)")
        case .reindent:
            let n = rng.nextInt(below: 5)
            lines[li] = rng.nextInt(below: 2) == 0 ? String(repeating: " ", count: n) + lines[li]
                                                   : String(lines[li].drop { $0 == " " })
            return lines.joined(separator: "\n")
        case .tagged:
            return replaceValue(lines, li, with: pick(["!!str 0.5", "!!float 1", "!!int 2", "!!binary aGk=", "!custom 3",
                                                       "!!map {}", "!!seq []", "!!null ~", "!!bool yes", "!!timestamp 2001-12-14"]))
        case .junk:
            b.insert(contentsOf: Array(pick(["\t", "\u{0}", "\u{FEFF}", "é", "%YAML 1.1\n", "---\n", "...\n", "&", "*", "!",
                                             "\r", "? ", "- ", "#", "\"", "'", "{", "}", "[", "]", ",", ":"]).utf8), at: i)
            if rng.nextInt(below: 4) == 0 { b.insert(0xFF, at: min(i, b.count)) }  // invalid UTF-8
        }
        return String(decoding: b, as: UTF8.self)
    }

    /// Replaces the value after `key:` on line `li` (or the whole line).
    private func replaceValue(_ lines: [String], _ li: Int, with value: String) -> String {
        var lines = lines
        let line = lines[li]
        if let colon = line.firstIndex(of: ":") {
            lines[li] = String(line[...colon]) + " " + value
        } else {
            lines[li] = value
        }
        return lines.joined(separator: "\n")
    }
}

/// What loading a (possibly broken) config may do: give a valid plan, or
/// throw a one-line input error. Never trap, never another kind of error.
enum ConfigFuzz {
    /// `TOKENMDP_FUZZ_VERBOSE=1` prints each case's outcome (valid / job / error).
    static let verbose = ProcessInfo.processInfo.environment["TOKENMDP_FUZZ_VERBOSE"] != nil
    static let base = URL(fileURLWithPath: FileManager.default.temporaryDirectory.path)

    static let seeds: [String] = [
        (try? String(contentsOf: packageRoot.appendingPathComponent("configs/smoke.yaml"), encoding: .utf8)) ?? "",
        (try? String(contentsOf: packageRoot.appendingPathComponent("configs/default.yaml"), encoding: .utf8)) ?? "",
        tinyExperimentYAML(extra: "sweep: {prior.sigma: [0.5, 2], learners.soc.lambda: [0.1, 0.3]}"),
        """
        name: every-kind
        seeds: [3, 1]
        mdp: {kind: random-automaton, prompts: 3, test_prompts: 1, latent: 6, vocab: 4, horizon: 3, eos: true, successors: 2, beta: 0.5}
        expert: {demos_per_prompt: 2, filter: none, epsilon: 0.1, expert_gap_samples: 4}
        prior: {kind: uniform}
        learners:
          - {name: sft, lambda: 0.0, weight_decay: 0.01}
          - {name: grad, lambda: 0.3, weight_decay: 0.01, training: gradient, steps: 5, learning_rate: 0.1, optimizer: gd, schedule: cosine}
          - {name: lin, param: linear, training: gradient, steps: 5, features: [bias, position, ngram:2:16]}
          - {name: off, param: offline-soft-q, ood: optimistic}
          - {name: inv, param: inverse-soft-q, weight_decay: 0.1, training: gradient, steps: 5}
        decoders:
          - {kind: beam, widths: [1, 3], length_normalize: true}
          - {kind: sample, n: 2}
          - {kind: best-of-n, n: 2}
          - {kind: greedy}
          - {kind: oracle}
        steps_csv: true
        """,
        """
        name: chains
        mdp: {kind: arithmetic-chain, prompts: 4, test_prompts: 1, base: 3, chain_length: 2, beta: 0.3, seed: 7}
        expert: {demos_per_prompt: 1, filter: correct, beta: 0.2}
        learners: [{name: t, lambda: 0.1}]
        decoders: [{kind: beam, widths: [2]}]
        sweep:
          mdp.kind: [arithmetic-chain]
        """,
        """
        name: tree
        mdp: {kind: tree, prompts: 2, vocab: 2, horizon: 3, leaf_std: 1.0, max_memory_bytes: 1000000, beta: 0.5}
        expert: {demos_per_prompt: 2}
        decoders: [{kind: beam, widths: [1, 8]}]
        """,
    ]

    /// Loads `text` (+ overrides) as a plan; when it is valid, `evaluate` is
    /// set and its first job is tiny, also evaluates that job (the job-time
    /// guards: prior range, trained logits) and checks that no NaN reaches a
    /// row. Records an issue for anything but a valid plan or a clean error.
    static func check(_ text: String, overrides: [String] = [], label: String, evaluate: Bool = false) {
        do {
            let plan = try ExperimentPlan.parse(yaml: text, baseDirectory: base, overrides: overrides)
            let est = try plan.estimate()
            #expect(est.peakBytes(threads: 2).isFinite || est.peakBytes(threads: 2) == .infinity, "\(label): estimate is NaN")
            _ = try plan.describe(threads: 2)
            if evaluate, est.secondsPerJob[0] < 2e-3, est.bytesPerJob[0] < 16e6 {
                let rows = try ExperimentRunner(plan: plan).evaluate(job: plan.job(0)).rows
                for r in rows where r.contains("nan") { Issue.record("\(label): NaN in a row: \(r)") }
                if verbose { print("FUZZ job \(rows.count) rows: \(label)") }
            } else if verbose { print("FUZZ valid: \(label)") }
        } catch let e as ConfigError {
            expectClean(describe(e), label)
            if verbose { print("FUZZ error: \(label): \(describe(e).prefix(150))") }
        } catch let e as TokenMDPError {
            expectClean(describe(e), label)
            if verbose { print("FUZZ error: \(label): \(describe(e).prefix(150))") }
        } catch {
            Issue.record("\(label): unexpected error type \(type(of: error)): \(error)")
        }
    }

    static func expectClean(_ message: String, _ label: String) {
        #expect(!message.isEmpty, "\(label): empty error message")
        #expect(!message.contains("\n"), "\(label): multi-line error: \(message)")
    }
}

@Suite struct ConfigFuzzTests {
    /// Any mutation of a valid config gives a valid plan (whose first job, if
    /// tiny, evaluates without NaN) or a clean one-line error — never a trap.
    @Test func mutatedConfigsGiveACleanErrorOrAValidPlan() async {
        await propertyCheck(count: fuzzCount, input: Gen.int(in: 0...(YAMLMutation.allCases.count - 1)), Gen.uint64(),
                            Gen.int(in: 0...(ConfigFuzz.seeds.count - 1))) { kind, salt, which in
            let m = YAMLMutation(rawValue: kind)!
            ConfigFuzz.check(m.apply(to: ConfigFuzz.seeds[which], salt: salt), label: "\(m) salt \(salt) config \(which)",
                             evaluate: salt % 4 == 0)
        }
    }

    /// Mutations applied twice (compound damage).
    @Test func doublyMutatedConfigsGiveACleanErrorOrAValidPlan() async {
        await propertyCheck(count: max(1, fuzzCount / 3), input: Gen.int(in: 0...(YAMLMutation.allCases.count - 1)),
                            Gen.int(in: 0...(YAMLMutation.allCases.count - 1)), Gen.uint64()) { k1, k2, salt in
            let (m1, m2) = (YAMLMutation(rawValue: k1)!, YAMLMutation(rawValue: k2)!)
            let text = m2.apply(to: m1.apply(to: ConfigFuzz.seeds[Int(salt % UInt64(ConfigFuzz.seeds.count))], salt: salt), salt: salt &+ 1)
            ConfigFuzz.check(text, label: "\(m1)+\(m2) salt \(salt)")
        }
    }

    static let overrideKeys = ["name", "seeds", "mdp.beta", "mdp.kind", "mdp.prompts", "mdp.vocab", "mdp.horizon", "mdp.seed",
                               "mdp.file", "mdp.chain_length", "mdp.trap_fraction", "mdp.step_cost", "expert.demos_per_prompt",
                               "expert.beta", "expert.filter", "expert.epsilon", "expert.demos_file", "prior.kind", "prior.sigma",
                               "prior.scale", "learners.soc.lambda", "learners.sft.weight_decay", "learners.0.training",
                               "learners.1.steps", "learners.soc.learning_rate", "learners.sft.features", "learners.9.lambda",
                               "learners.nobody.lambda", "decoders.0.widths", "decoders.beam.widths", "decoders.0.kind",
                               "decoders.1", "sweep.prior.sigma", "sweep.learners.soc.lambda", "sweep.seeds", "sweep.mdp.beta",
                               "output", "steps_csv", "tool_version", "mdp.beta.x", "seeds.0", "learners", "decoders", "sweep",
                               "", ".", "a..b", "learners[0].lambda", "learners[x]", "learners[]", "mdp[0]",
                               String(repeating: "a.", count: 40) + "b"]
    static let overrideValues = YAMLMutation.scalars + YAMLMutation.huge + [
        "", " ", "=", "==", "[", "]", "{", "}", "a: b", "- x", "[1,2", "{a: 1", "&x [*x]", "*undefined", "\u{0}", "é",
        "0.25", "1e-300", "5e-324", "1e300", "[0.1, 0.2]", "[[]]", "[1, 2, 3, 4, 5, 6, 7, 8]", "{kind: beam}", "tree",
        "reasoning-chain", "noisy-oracle", "uniform", "linear", "gradient", "exact", "correct",
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
        "[" + Array(repeating: "0.5", count: 2000).joined(separator: ",") + "]",
    ]

    /// `--set` strings built from real and broken keys and values: a valid
    /// plan or a clean error, never a trap.
    @Test func overrideStringsGiveACleanErrorOrAValidPlan() async {
        await propertyCheck(count: fuzzCount, input: Gen.int(in: 0...(Self.overrideKeys.count - 1)),
                            Gen.int(in: 0...(Self.overrideValues.count - 1)), Gen.uint64()) { k, v, salt in
            var rng = SplitMix64(seed: salt, stream: "set-fuzz")
            var text = Self.overrideKeys[k] + "=" + Self.overrideValues[v]
            // Sometimes damage the override text itself.
            switch rng.nextInt(below: 4) {
            case 0:
                var b = Array(text.utf8)
                if !b.isEmpty { b[rng.nextInt(below: b.count)] ^= UInt8(1 << rng.nextInt(below: 8)) }
                text = String(decoding: b, as: UTF8.self)
            case 1: text = String(text.prefix(rng.nextInt(below: text.count + 1)))
            default: break
            }
            ConfigFuzz.check(ConfigFuzz.seeds[Int(salt % 3)], overrides: [text], label: "--set '\(text.prefix(80))'",
                             evaluate: salt % 4 == 0)
        }
    }

    /// Random bytes as a config: rejected cleanly (or, rarely, a valid plan).
    @Test func randomBytesAsAConfigAreHandledCleanly() async {
        await propertyCheck(count: fuzzCount, input: Gen.uint8().array(of: 0...300)) { bytes in
            ConfigFuzz.check(String(decoding: bytes, as: UTF8.self), label: "random bytes \(bytes.prefix(20))")
        }
    }
}
