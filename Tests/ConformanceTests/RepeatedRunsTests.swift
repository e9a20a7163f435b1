@testable import Conformance
import GuestPayloads
import Testing

/// `kvm-unit run --repeat`: counts per verdict, verdict changes, and the exit-status rule.
@Suite("Repeated runs")
struct RepeatedRunsTests {
    let table = KnownDivergences.builtIn

    /// One run of io_latch_sizes on "kvm" (impl_a) and "ref", judged and compared.
    func report(kvmFails: Bool) -> PayloadReport {
        let kvm = Judge.judge(kvmFails ? outcome(end: .status(1), checks: [check(10, .fail, expected: 1, actual: 2)])
                                       : outcome(checks: [check(10, .pass)]),
                              payload: samplePayload, backend: "kvm", implementation: "impl_a", divergences: table)
        let ref = Judge.judge(outcome(checks: [check(10, .pass)]), payload: samplePayload, backend: "ref",
                              implementation: "ref", divergences: table)
        let runner = SuiteRunner(divergences: table)
        return PayloadReport(payload: samplePayload.name, group: "exits", results: [kvm, ref],
                             comparison: runner.compare(kvm, ref, payload: samplePayload))
    }

    @Test func stableRunsAreOneVerdictAndDoNotFail() {
        let r = RepeatedReport((0..<5).map { _ in report(kvmFails: false) })
        #expect(!r.changed)
        #expect(r.backends.map(\.name) == ["kvm", "ref"])
        #expect(r.backends[0].tally.count(.pass) == 5)
        #expect(r.comparison?.count(.agree) == 5)
        #expect(!RepeatReport.failed([r], strict: true))
        let text = RepeatReport.lines(r, runs: 5)
        #expect(text.contains("STABLE PASS exits.io_latch_sizes [kvm]: 5 of 5"), "\(text)")
        #expect(text.contains("STABLE AGREE exits.io_latch_sizes [comparison]: 5 of 5"), "\(text)")
    }

    @Test func oneFailureInManyRunsIsAChangeAndFailsTheRun() {
        let runs = (0..<10).map { report(kvmFails: $0 == 6) }
        let r = RepeatedReport(runs)
        #expect(r.changed)
        #expect(r.unexpectedFailure)
        #expect(r.backends[0].tally.count(.fail) == 1 && r.backends[0].tally.count(.pass) == 9)
        #expect(r.backends[0].tally.firstSeen[.fail]?.run == 6)
        #expect(r.comparison?.count(.diverge) == 1)
        #expect(RepeatReport.failed([r], strict: false))
        let text = RepeatReport.lines(r, runs: 10).joined(separator: "\n")
        #expect(text.contains("CHANGED exits.io_latch_sizes [kvm]: PASS 9, FAIL 1 in 10 runs"), "\(text)")
        #expect(text.contains("FAIL first in run 7: check at 10"), "\(text)")
        #expect(text.contains("CHANGED exits.io_latch_sizes [comparison]: AGREE 9, DIVERGE 1"), "\(text)")
        let summary = RepeatReport.summary([r], runs: 10)
        #expect(summary.contains("2 changed verdicts"), "\(summary)")
        #expect(summary.contains("1 unexpected failures, 1 unexpected divergences"), "\(summary)")
    }

    /// A check that is XFAIL in some runs and PASS in others, while the payload stays XFAIL
    /// (a payload-wide entry): invisible in the payload verdicts, so reported on its own.
    @Test func aCheckThatFlipsUnderAStablePayloadVerdictIsAChange() {
        func run(_ flip: Bool) -> PayloadReport {
            var r = report(kvmFails: false)
            r.results[0].lines = [JudgedLine(verdict: .xfail, text: "first check [known divergence of impl_a (x *): why]"),
                                  JudgedLine(verdict: flip ? .pass : .xfail, text: "second check [known divergence of impl_a (x *): why]")]
            return r
        }
        let r = RepeatedReport((0..<5).map { run($0 == 3) })
        #expect(r.changed)
        #expect(r.checkChanges.count == 1)
        let text = RepeatReport.lines(r, runs: 5).joined(separator: "\n")
        #expect(text.contains("CHANGED CHECK exits.io_latch_sizes [kvm] check 2: PASS 1, XFAIL 4 (second check) in 5 runs"), "\(text)")
        #expect(RepeatReport.summary([r], runs: 5).contains("1 changed check verdicts"))
        #expect(RepeatReport.failed([r], strict: true) && !RepeatReport.failed([r], strict: false))
    }

    @Test func changeWithoutFailureFailsOnlyWhenStrict() {
        var t = VerdictTally<Verdict>()
        t.add(.xfail, why: "recorded")
        t.add(.xpass, why: "passed")
        #expect(t.changed && t.distinct == [.xpass, .xfail])
        var a = RepeatedReport((0..<2).map { _ in report(kvmFails: false) })
        a.backends[0].tally = t
        #expect(!a.unexpectedFailure)
        #expect(!RepeatReport.failed([a], strict: false))
        #expect(RepeatReport.failed([a], strict: true))
    }

    @Test func runsEveryPayloadTheAskedNumberOfTimesOnTheReference() throws {
        let ref = try #require(GroupTesting.reference.hypervisor)
        let payloads = ["io_latch_sizes", "alu_logic"].compactMap(Catalogue.named)
        let reports = SuiteRunner().runRepeated(payloads, times: 3, on: [("ref", ref)], jobs: 2)
        #expect(reports.map(\.qualifiedName) == payloads.map(\.qualifiedName))
        for r in reports {
            #expect(r.backends.count == 1 && r.backends[0].tally.verdicts == [.pass, .pass, .pass], "\(r.qualifiedName)")
            #expect(r.comparison == nil)
        }
    }
}
