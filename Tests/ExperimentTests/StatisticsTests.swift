import Foundation
import XCTest
import TokenMDP
import _TestSupport

/// Student-t quantiles, summary statistics and CSV text.
final class StatisticsTests: XCTestCase {
    /// Reference quantiles t_{0.975, ν} (standard tables, R's `qt`).
    func testStudentTQuantileMatchesTables() {
        let table: [(Double, Double)] = [
            (1, 12.706204736174698), (2, 4.302652729749464), (3, 3.182446305284263), (5, 2.570581835636314),
            (10, 2.228138851986274), (30, 2.042272456301238), (100, 1.983971518523552), (1e6, 1.9599663568141068)  // Cornish–Fisher: z + (z³+z)/(4ν) + (5z⁵+16z³+3z)/(96ν²),
        ]
        for (df, t) in table {
            assertClose(StudentT.quantile(0.975, df: df), t, abs: 1e-9, rel: 1e-10, "ν = \(df)")
        }
        XCTAssertEqual(StudentT.quantile(0.975, df: 1), 12.706, accuracy: 5e-4)
        XCTAssertEqual(StudentT.quantile(0.975, df: 10), 2.228, accuracy: 5e-4)
        XCTAssertEqual(StudentT.quantile(0.975, df: 1e9), 1.960, accuracy: 5e-4)
        assertClose(StudentT.quantile(0.975, df: .infinity), 1.959963984540054, abs: 1e-12)
    }

    func testStudentTQuantileIsSymmetricAndInvertsTheCDF() {
        for df in [1.0, 2, 3, 4.5, 7, 29, 250] {
            for p in [0.001, 0.025, 0.1, 0.3, 0.5, 0.8, 0.975, 0.9995] {
                let t = StudentT.quantile(p, df: df)
                assertClose(StudentT.cdf(t, df: df), p, abs: 1e-12, rel: 1e-10, "ν = \(df), p = \(p)")
                assertClose(StudentT.quantile(1 - p, df: df), -t, abs: 1e-9, rel: 1e-9, "symmetry ν = \(df), p = \(p)")
            }
        }
    }

    func testNormalQuantile() {
        assertClose(Normal.quantile(0.975), 1.959963984540054, abs: 1e-12)
        assertClose(Normal.quantile(0.5), 0, abs: 1e-15)
        assertClose(Normal.quantile(1e-10), -6.361340902404056, abs: 1e-9)
    }

    /// x = [1, 2, 3, 4]: mean 2.5, s² = 5/3, se = √(5/3)/2, t_{0.975,3} = 3.182446305284263.
    func testSummaryStatisticsOnAHandCase() {
        let s = SummaryStatistics([1, 2, 3, 4])
        XCTAssertEqual(s.n, 4)
        assertClose(s.mean!, 2.5)
        let se = (5.0 / 3).squareRoot() / 2
        assertClose(s.standardError!, se)
        assertClose(s.ciLow!, 2.5 - 3.182446305284263 * se, abs: 1e-9)
        assertClose(s.ciHigh!, 2.5 + 3.182446305284263 * se, abs: 1e-9)
    }

    func testSummaryStatisticsEdgeCases() {
        let one = SummaryStatistics([7])
        XCTAssertEqual(one.mean, 7)
        XCTAssertNil(one.standardError)
        XCTAssertNil(one.ciLow)
        let none = SummaryStatistics([])
        XCTAssertEqual(none.n, 0)
        XCTAssertNil(none.mean)
        let constant = SummaryStatistics([2, 2, 2])
        XCTAssertEqual(constant.standardError, 0)
        XCTAssertEqual(constant.ciLow, 2)
    }

    func testSummaryGroupsRowsPoolsSeedsAndCountsMissingValues() throws {
        let rows = """
        experiment,cell,k,split,learner,lambda,decoder,width,return,overopt,length_normalize
        e,0,0.1,train,sft,0,beam,1,1,0.5,0
        e,0,0.1,train,sft,0,beam,1,3,,0
        e,0,0.1,test,sft,0,beam,1,2,nan,0
        e,0,0.1,train,soc,0.1,beam,1,0,inf,0
        e,0,0.1,train,sft,0,beam,1,2,1.5,0

        """
        let csv = try Summary.csv(rowsCSV: rows, sweepKeys: ["k"])
        let lines = csv.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "experiment,cell,k,split,learner,lambda,decoder,width,length_normalize,metric,n,missing,mean,se,ci95_low,ci95_high")
        // train/sft first (3 rows: returns 1, 3, 2; overopt 0.5, missing, 1.5), then train/soc, then test.
        XCTAssert(lines[1].hasPrefix("e,0,0.1,train,sft,0,beam,1,0,return,3,0,2,"), lines[1])
        XCTAssert(lines[2].hasPrefix("e,0,0.1,train,sft,0,beam,1,0,overopt,2,1,1,0.5,"), lines[2])
        XCTAssertEqual(lines[3], "e,0,0.1,train,soc,0.1,beam,1,0,return,1,0,0,,,")
        XCTAssertEqual(lines[4], "e,0,0.1,train,soc,0.1,beam,1,0,overopt,0,1,,,,")
        XCTAssert(lines[5].hasPrefix("e,0,0.1,test,sft,0,beam,1,0,return,1,0,2,"), lines[5])
        XCTAssertEqual(lines.count, 7)
    }

    func testCSVQuotesOnlyWhenNeededAndParsesBack() {
        let fields = ["plain", "a,b", "say \"hi\"", "two\nlines", ""]
        let line = CSV.line(fields)
        XCTAssertEqual(line, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\n")
        XCTAssertEqual(CSV.parse(line), [fields])
    }
}
