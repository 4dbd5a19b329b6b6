import XCTest
import TokenMDP
import _TestSupport

final class SeededGeneratorTests: XCTestCase {
    /// Reference outputs of SplitMix64 from seed 0 (Vigna's splitmix64.c).
    func testSplitMix64MatchesReferenceSequenceFromSeedZero() {
        var g = SplitMix64(seed: 0)
        XCTAssertEqual(g.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(g.next(), 0x6E78_9E6A_A1B9_65F4)
        XCTAssertEqual(g.next(), 0x06C4_5D18_8009_454F)
    }

    func testNamedStreamsAreDistinctAndRepeatable() {
        var a = SplitMix64(seed: 7, stream: "data"), b = SplitMix64(seed: 7, stream: "data")
        var c = SplitMix64(seed: 7, stream: "prior")
        let xa = (0..<5).map { _ in a.next() }
        XCTAssertEqual(xa, (0..<5).map { _ in b.next() })
        XCTAssertNotEqual(xa, (0..<5).map { _ in c.next() })
    }

    func testUniformIntegersStayInRangeAndCoverIt() {
        var g = SplitMix64(seed: 3)
        var seen = Set<Int>()
        for _ in 0..<2000 { let x = g.nextInt(below: 7); XCTAssert((0..<7).contains(x)); seen.insert(x) }
        XCTAssertEqual(seen.count, 7)
        for _ in 0..<1000 { let u = g.nextUnit(); XCTAssert(u >= 0 && u < 1) }
    }

    /// Loose moment checks: with 20 000 draws the sample mean has sd 0.007.
    func testGaussianDrawsHaveUnitMoments() {
        var g = SplitMix64(seed: 11)
        let xs = (0..<20_000).map { _ in g.nextGaussian() }
        let mean = xs.reduce(0, +) / Double(xs.count)
        let varc = xs.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(xs.count)
        XCTAssertLessThan(abs(mean), 0.04)
        XCTAssertLessThan(abs(varc - 1), 0.05)
        let hs = (0..<20_000).map { StableHash.gaussian(StableHash.combine(99, UInt64($0))) }
        XCTAssertLessThan(abs(hs.reduce(0, +) / 20_000), 0.04)
    }

    func testStableHashIsAFixedFunction() {
        // Pinned values: a change here changes every noisy-oracle prior.
        XCTAssertEqual(StableHash.mix(0), 0)
        XCTAssertEqual(StableHash.mix(1), 0x5692_161D_100B_05E5)
        XCTAssertEqual(StableHash.string("data"), StableHash.string("data"))
        XCTAssertNotEqual(StableHash.string("data"), StableHash.string("prior"))
    }

    func testShuffleIsAPermutationAndRepeatable() {
        var a = SplitMix64(seed: 5), b = SplitMix64(seed: 5)
        var x = Array(0..<20), y = Array(0..<20)
        a.shuffle(&x); b.shuffle(&y)
        XCTAssertEqual(x, y)
        XCTAssertEqual(x.sorted(), Array(0..<20))
        XCTAssertNotEqual(x, Array(0..<20))
    }
}

final class LogSumExpTests: XCTestCase {
    /// log(e⁰ + e^{log 3}) = log 4.
    func testHandValue() { assertClose(LogSumExp.lse([0, log(3)]), log(4)) }

    /// τ·log Σ exp(x/τ) with τ = 2: 2·log(e⁰ + e¹) .
    func testTemperatureScaling() { assertClose(LogSumExp.soft([0, 2], temperature: 2), 2 * log(1 + M_E)) }

    func testHugeValuesDoNotOverflow() {
        assertClose(LogSumExp.lse([1000, 1000]), 1000 + log(2))
        assertClose(LogSumExp.lse([-1000, -1000]), -1000 + log(2))
    }

    func testMinusInfinityEntriesContributeZero() {
        assertClose(LogSumExp.lse([-.infinity, 0]), 0)
        XCTAssertEqual(LogSumExp.lse([-.infinity, -.infinity]), -.infinity)
        XCTAssertEqual(LogSumExp.lse([]), -.infinity)
    }

    func testZeroTemperatureIsMax() { XCTAssertEqual(LogSumExp.soft([1, 5, 3], temperature: 0), 5) }

    func testLogSoftmaxRowsSumToOne() {
        var x: [Double] = [0.3, -2, 7, -.infinity]
        x.withUnsafeMutableBufferPointer { _ = LogSumExp.logSoftmaxInPlace($0) }
        assertClose(x.map { exp($0) }.reduce(0, +), 1)
        XCTAssertEqual(x[3], -.infinity)
    }
}

final class JSONTests: XCTestCase {
    func testParsesNestedValuesInOrder() throws {
        let v = try JSONParser.parse(#"{"b": [1, -2.5e3, null, true], "a": "x\n"}"#)
        guard case let .object(pairs) = v else { return XCTFail() }
        XCTAssertEqual(pairs.map(\.0), ["b", "a"])
        XCTAssertEqual(v["a"], .string("x\n"))
    }

    func testTruncatedInputNamesLineAndColumn() {
        XCTAssertThrowsError(try JSONParser.parse("{\n  \"a\": [1, 2")) { e in
            let p = e as! JSONParseError
            XCTAssertEqual(p.line, 2)
            XCTAssert(p.message.contains("truncated"), p.message)
        }
    }

    func testRejectsDuplicateKeysTrailingTextAndDeepNesting() {
        XCTAssertThrowsError(try JSONParser.parse(#"{"a": 1, "a": 2}"#))
        XCTAssertThrowsError(try JSONParser.parse("[1] x"))
        XCTAssertThrowsError(try JSONParser.parse(String(repeating: "[", count: 10_000)))
        XCTAssertThrowsError(try JSONParser.parse("[01x]"))
    }

    func testNumberFormattingIsShortestRoundTrip() {
        XCTAssertEqual(formatNumber(1), "1")
        XCTAssertEqual(formatNumber(-0.0), "0")
        XCTAssertEqual(formatNumber(0.1), "0.1")
        XCTAssertEqual(formatNumber(-.infinity), "-inf")
        XCTAssertEqual(Double(formatNumber(1.0 / 3)), 1.0 / 3)
    }
}
