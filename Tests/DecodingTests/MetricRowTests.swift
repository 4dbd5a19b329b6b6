import XCTest
import TokenMDP
import _TestSupport

/// The `rows.csv` / `steps.csv` rendering of `MetricRow`.
final class MetricRowTests: XCTestCase {
    func testCSVHeaderStartsWithTheSpecColumnsInOrder() {
        let spec = ["experiment", "cell", "seed", "prompt", "split", "learner", "lambda", "decoder", "width",
                    "tokens", "length", "return", "correct", "opt_return", "regret", "v_soft",
                    "logp_model", "logp_expert", "est_return", "overopt", "overopt_raw",
                    "overopt_adv", "expert_gap", "optimism_margin", "supervised_frac", "first_ood_step"]
        XCTAssertEqual(Array(MetricRow.csvHeader.prefix(spec.count)), spec)
        XCTAssertEqual(Set(MetricRow.csvHeader).count, MetricRow.csvHeader.count, "duplicate column")
        XCTAssertEqual(Array(MetricRow.stepsCSVHeader.prefix(9)), Array(spec.prefix(9)))
    }

    /// A hand-filled row renders field by field through `formatNumber`
    /// (integers without a decimal point, shortest round-trip otherwise),
    /// optional values as empty fields, and free text CSV-quoted.
    func testHandRowRendersByteStableFields() {
        var row = MetricRow(prompt: 3, split: .test)
        row.experiment = "beam-width"; row.cell = "cell, 2"; row.seed = 42; row.learner = "so\"c"
        row.lambda = 0.2
        row.setDecoder(.oracle)
        row.tokens = [4, 0, 7]
        row.return_ = 1; row.correct = true; row.optReturn = 1; row.regret = 0
        row.vSoft = 0.5; row.logpModel = -1.25; row.logpExpert = -2; row.estReturn = -0.125
        row.overopt = -1.125; row.overoptRaw = 0.375; row.overoptAdv = 0; row.expertGap = -0.5
        row.supervisedFrac = 2.0 / 3.0; row.firstOODStep = 2; row.vHat = 1; row.expertCorrect = 0.75
        row.steps = [StepRecord(t: 2, token: 7, logpModel: -0.5, logpExpert: -1, stepGap: 0.25, supervised: false, qGap: 0.75, optimalToken: 1)]
        XCTAssertEqual(row.csvFields.joined(separator: ","),
                       "beam-width,\"cell, 2\",42,3,test,\"so\"\"c\",0.2,oracle,,4 0 7,3,1,1,1,0,0.5,-1.25,-2,-0.125,-1.125,0.375,0,-0.5,-0.625,0.6666666666666666,2,1,,0,0.75,")
        XCTAssertEqual(row.stepsCSVFields.map { $0.joined(separator: ",") },
                       ["beam-width,\"cell, 2\",42,3,test,\"so\"\"c\",0.2,oracle,,,2,7,-0.5,-1,0.25,0,0.75,1,0"])
        row.lambda = nil
        row.setDecoder(.beam(width: 8, lengthNormalize: true))
        row.sample = nil; row.firstOODStep = nil
        let f = Dictionary(uniqueKeysWithValues: zip(MetricRow.csvHeader, row.csvFields))
        XCTAssertEqual(f["lambda"], "")
        XCTAssertEqual(f["decoder"], "beam")
        XCTAssertEqual(f["width"], "8")
        XCTAssertEqual(f["length_normalize"], "1")
        XCTAssertEqual(f["first_ood_step"], "")
        XCTAssertEqual(row.stepsCSVFields[0].last, "")
    }

    func testEscapeQuotesOnlyWhenNeeded() {
        XCTAssertEqual(MetricRow.escape("sft"), "sft")
        XCTAssertEqual(MetricRow.escape("a,b"), "\"a,b\"")
        XCTAssertEqual(MetricRow.escape("say \"hi\""), "\"say \"\"hi\"\"\"")
        XCTAssertEqual(MetricRow.escape("two\nlines"), "\"two\nlines\"")
    }
}
