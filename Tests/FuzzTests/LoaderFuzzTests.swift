import Foundation
import Testing
import PropertyBased
import TokenMDP
import _TestSupport

/// Number of mutated inputs per property: 300 in CI, more on demand with
/// `TOKENMDP_FUZZ_COUNT=100000 swift test --filter FuzzTests`.
let fuzzCount = Int(ProcessInfo.processInfo.environment["TOKENMDP_FUZZ_COUNT"] ?? "") ?? 300

/// Byte-level mutations of a valid file. Each case is reproducible from its
/// `salt` (printed by PropertyBased on failure, and in the expectation text).
enum Mutation: Int, CaseIterable {
    case truncate, flipByte, deleteSpan, duplicateSpan, hugeNumber, swapType, deepNesting, negate, insertJunk

    func apply(to text: String, salt: UInt64) -> String {
        var rng = SplitMix64(seed: salt, stream: "fuzz")
        var b = Array(text.utf8)
        guard !b.isEmpty else { return text }
        let i = rng.nextInt(below: b.count)
        switch self {
        case .truncate: b = Array(b[..<i])
        case .flipByte: b[i] ^= UInt8(1 << rng.nextInt(below: 8))
        case .deleteSpan: b.removeSubrange(i..<min(b.count, i + 1 + rng.nextInt(below: 12)))
        case .duplicateSpan: b.insert(contentsOf: b[i..<min(b.count, i + 1 + rng.nextInt(below: 20))], at: i)
        case .hugeNumber:
            let huge = ["1e308", "-1e308", "1e999", "99999999999999999999999", "-9223372036854775809", "4294967296", "2147483648", "NaN", "-0"]
            return replaceNumber(b, at: i, with: huge[rng.nextInt(below: huge.count)])
        case .swapType:
            let alts = ["\"x\"", "true", "null", "[]", "{}", "[[1]]", "{\"a\": 1}"]
            return replaceNumber(b, at: i, with: alts[rng.nextInt(below: alts.count)])
        case .deepNesting:
            let d = 1 + rng.nextInt(below: 5000)
            b.insert(contentsOf: Array((String(repeating: "[", count: d) + String(repeating: "]", count: d)).utf8), at: i)
        case .negate: return replaceNumber(b, at: i, with: "-" + String(1 + rng.nextInt(below: 1000)))
        case .insertJunk: b.insert(contentsOf: Array([",", ":", "\"", "}", "]", "\u{0}", "é", "\\u12"][rng.nextInt(below: 8)].utf8), at: i)
        }
        return String(decoding: b, as: UTF8.self)
    }
}

@Suite struct MDPLoaderFuzzTests {
    static let seeds: [String] = {
        var out = [randomMDP(seed: 1, S: 4, V: 3, H: 3).encodeJSON()]
        out.append(try! MDPGenerator.reasoningChain(ReasoningChainParams()).generate(seed: 1).encodeJSON())
        out.append(try! MDPGenerator.arithmeticChain(ArithmeticChainParams()).generate(seed: 1).encodeJSON())
        return out.map { String(decoding: $0, as: UTF8.self) }
    }()

    /// Any mutation of a valid file either loads as a valid MDP (which then
    /// solves to finite values) or fails with a one-line `TokenMDPError` —
    /// never a trap, never a NaN.
    @Test func mutatedMDPFilesGiveACleanErrorOrAValidMDP() async {
        await propertyCheck(count: fuzzCount, input: Gen.int(in: 0...(Mutation.allCases.count - 1)), Gen.uint64(), Gen.int(in: 0...2)) { kind, salt, which in
            let m = Mutation(rawValue: kind)!
            let text = m.apply(to: Self.seeds[which], salt: salt)
            do {
                let mdp = try TokenMDP.decode(json: Data(text.utf8))
                try mdp.validate()
                let s = try SoftValueIteration.solve(mdp, beta: 0.5)
                #expect(s.values.allSatisfy { $0.isFinite }, "\(m) salt \(salt): non-finite value")
            } catch let e as TokenMDPError {
                #expect(!describe(e).contains("\n"), "\(m) salt \(salt): multi-line error")
                #expect(!describe(e).isEmpty)
            } catch {
                Issue.record("\(m) salt \(salt): unexpected error type \(type(of: error)): \(error)")
            }
        }
    }

    /// Random bytes (not derived from a valid file) are rejected cleanly.
    @Test func randomBytesAreRejectedCleanly() async {
        await propertyCheck(count: fuzzCount, input: Gen.uint8().array(of: 0...200)) { bytes in
            #expect(throws: TokenMDPError.self) { try TokenMDP.decode(json: Data(bytes)) }
        }
    }
}

@Suite struct DemonstrationLoaderFuzzTests {
    static let mdp = try! MDPGenerator.reasoningChain(ReasoningChainParams()).generate(seed: 3)
    static let valid: String = {
        var rng = SplitMix64(seed: 1, stream: "data")
        let set = try! DemonstrationSampler(demosPerPrompt: 3, filter: .none, epsilon: 0, maxAttemptsPerDemo: 1000)
            .sample(mdp: mdp, betaExpert: 0.5, threads: 1, rng: &rng)
        return set.jsonl()
    }()

    /// Any mutation of a valid JSONL file either loads as demonstrations that
    /// validate against the MDP and build a trie, or fails with a one-line
    /// `TokenMDPError` — never a trap.
    @Test func mutatedDemonstrationFilesGiveACleanErrorOrValidDemonstrations() async {
        await propertyCheck(count: fuzzCount, input: Gen.int(in: 0...(Mutation.allCases.count - 1)), Gen.uint64()) { kind, salt in
            let m = Mutation(rawValue: kind)!
            let text = m.apply(to: Self.valid, salt: salt)
            do {
                let set = try DemonstrationSet.parseJSONL(text, mdp: Self.mdp, source: "demos.jsonl")
                try set.validate(against: Self.mdp)
                _ = set.trie(mdp: Self.mdp)
            } catch let e as TokenMDPError {
                #expect(!describe(e).contains("\n"), "\(m) salt \(salt): multi-line error")
            } catch {
                Issue.record("\(m) salt \(salt): unexpected error type \(type(of: error)): \(error)")
            }
        }
    }
}
