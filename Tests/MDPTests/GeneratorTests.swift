import XCTest
import Foundation
import TokenMDP
import _TestSupport

final class GeneratorTests: XCTestCase {
    let all: [MDPGenerator] = [
        .reasoningChain(ReasoningChainParams()), .arithmeticChain(ArithmeticChainParams()),
        .randomAutomaton(RandomAutomatonParams()), .tree(TreeParams()),
    ]

    func testEveryGeneratorIsDeterministicAndSeedSensitive() throws {
        for g in all {
            let a = try g.generate(seed: 1).encodeJSON(), b = try g.generate(seed: 1).encodeJSON()
            XCTAssertEqual(a, b, g.kindName)
            if case .tree = g {} else { XCTAssertNotEqual(a, try g.generate(seed: 2).encodeJSON(), g.kindName) }
            XCTAssertEqual(try TokenMDP.decode(json: a).encodeJSON(), a, "round trip \(g.kindName)")
        }
    }

    /// Following the correct token at every step completes the chain and is
    /// solved; one trap token at step 0 can never be recovered from.
    func testReasoningChainCorrectPathSucceedsAndTrapsAbsorb() throws {
        var p = ReasoningChainParams(); p.prompts = 3; p.chainLength = 3; p.horizon = 5; p.vocab = 6
        let m = try MDPGenerator.reasoningChain(p).generate(seed: 9)
        let V = m.vocabSize, L = p.chainLength
        for pr in 0..<3 {
            var q = m.prompts[pr].latent, path: [Int] = []
            for _ in 0..<L {
                let a = (0..<V - 1).first { m.next(q, $0) != q && m.next(q, $0) != m.numLatent - 1 }!
                path.append(a); q = m.next(q, a)
            }
            path.append(m.eos!)
            let r = try m.rollout(prompt: pr, tokens: path)
            XCTAssertEqual(r.return_, 1); XCTAssert(m.successLatents![r.finalLatent])
            // A trap: some token at step 0 leads to the shared error state.
            let q0 = m.prompts[pr].latent
            let trap = (0..<V - 1).first { m.next(q0, $0) == m.numLatent - 1 }!
            let err = m.next(q0, trap)
            XCTAssert((0..<V).allSatisfy { m.next(err, $0) == err })
        }
    }

    /// The correct token at step p is (d₁ + … + d_p) mod K.
    func testArithmeticChainFollowsTheRunningSumRule() throws {
        let m = try MDPGenerator.arithmeticChain(ArithmeticChainParams()).generate(seed: 3)
        for (i, pr) in m.prompts.enumerated() {
            var s = 0, tokens: [Int] = []
            for d in pr.tokens { s = (s + d) % m.vocabSize; tokens.append(s) }
            XCTAssertEqual(try m.rollout(prompt: i, tokens: tokens).return_, 1)
            var wrong = tokens; wrong[0] = (wrong[0] + 1) % m.vocabSize
            XCTAssertEqual(try m.rollout(prompt: i, tokens: wrong).return_, 0)
        }
        XCTAssertEqual(m.promptIndices(.test).count, 4)
    }

    func testRandomAutomatonRespectsSuccessorLimit() throws {
        var p = RandomAutomatonParams(); p.latent = 30; p.vocab = 8; p.successors = 2
        let m = try MDPGenerator.randomAutomaton(p).generate(seed: 5)
        for q in 0..<m.numLatent { XCTAssertLessThanOrEqual(Set((0..<m.vocabSize).map { m.next(q, $0) }).count, 2) }
    }

    /// Tree: every response reaches its own leaf, so returns are the leaf rewards.
    func testTreeLeavesAreDistinctPerResponse() throws {
        var p = TreeParams(); p.vocab = 2; p.horizon = 3
        let m = try MDPGenerator.tree(p).generate(seed: 1)
        XCTAssertEqual(m.numLatent, 15)
        let leaves = Set(try allResponses(m).map { try m.rollout(prompt: 0, tokens: $0).finalLatent })
        XCTAssertEqual(leaves.count, 8)
    }

    func testTreeRefusesSizesThatDoNotFitWithAnEstimate() {
        var p = TreeParams(); p.vocab = 256; p.horizon = 8
        XCTAssertThrowsError(try MDPGenerator.tree(p).generate(seed: 0)) { e in
            XCTAssert(describe(e).contains("GiB"), describe(e))
        }
    }

    func testGeneratorParametersAreValidated() {
        var r = ReasoningChainParams(); r.horizon = 2; r.chainLength = 4
        XCTAssertThrowsError(try MDPGenerator.reasoningChain(r).generate(seed: 0)) { XCTAssert(describe($0).contains("horizon")) }
        var a = ArithmeticChainParams(); a.testPrompts = 99
        XCTAssertThrowsError(try MDPGenerator.arithmeticChain(a).generate(seed: 0)) { XCTAssert(describe($0).contains("test_prompts")) }
        var ra = RandomAutomatonParams(); ra.vocab = 0
        XCTAssertThrowsError(try MDPGenerator.randomAutomaton(ra).generate(seed: 0)) { XCTAssert(describe($0).contains("vocab")) }
        var t = TreeParams(); t.horizon = 0
        XCTAssertThrowsError(try MDPGenerator.tree(t).generate(seed: 0)) { XCTAssert(describe($0).contains("horizon")) }
    }
}
