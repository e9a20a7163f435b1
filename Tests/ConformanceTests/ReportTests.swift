@testable import Conformance
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GuestPayloads
import Testing

/// A synthetic outcome, so the judging and reporting rules are tested without a backend.
func outcome(end: RunEnd = .status(0), checks: [CheckRecord], trace: [TraceEvent] = [], rflags: UInt64 = 0x2) -> Outcome {
    Outcome(end: end, checks: checks, trace: trace, console: "", registers: [RegisterValue(name: "rflags", value: rflags)],
            ramDigest: "0", windowDigests: [], stats: [:], hostErrors: [], wallNanoseconds: 1000)
}

func check(_ line: UInt32, _ kind: CheckRecord.Kind, expected: UInt64 = 1, actual: UInt64 = 1) -> CheckRecord {
    CheckRecord(line: line, kind: kind, expected: expected, actual: actual, aux: 0, message: "check at \(line)")
}

let samplePayload = Catalogue.named("io_latch_sizes")!

@Suite("Verdicts and the known-divergence table")
struct JudgeTests {
    let table = try! KnownDivergences.parse("""
    # comment
    impl_a io_latch_sizes 12 impl_a returns the wrong latch byte
    impl_b exits.io_latch_sizes * impl_b cannot run it at all
    impl_c * stats impl_c does not count io_exits
    """)

    @Test func passWhenEveryCheckPasses() {
        let r = Judge.judge(outcome(checks: [check(10, .pass)]), payload: samplePayload, backend: "kvm", implementation: "impl_a", divergences: table)
        #expect(r.verdict == .pass)
    }

    @Test func recordedCheckFailureIsXFAIL() {
        let o = outcome(end: .status(1), checks: [check(10, .pass), check(12, .fail, expected: 1, actual: 2)])
        let r = Judge.judge(o, payload: samplePayload, backend: "kvm", implementation: "impl_a", divergences: table)
        #expect(r.verdict == .xfail)
        #expect(r.lines.contains { $0.verdict == .xfail && $0.text.contains("impl_a returns the wrong latch byte") })
    }

    @Test func unrecordedFailureIsFAILEvenOnAnImplementationWithEntries() {
        let o = outcome(end: .status(1), checks: [check(12, .fail), check(14, .fail)])
        let r = Judge.judge(o, payload: samplePayload, backend: "kvm", implementation: "impl_a", divergences: table)
        #expect(r.verdict == .fail)
    }

    @Test func recordedDivergenceThatPassesIsXPASS() {
        let r = Judge.judge(outcome(checks: [check(12, .pass)]), payload: samplePayload, backend: "kvm", implementation: "impl_a", divergences: table)
        #expect(r.verdict == .xpass)
    }

    @Test func wholePayloadEntryCoversAnInternalError() {
        let o = outcome(end: .internalError(suberror: 1), checks: [])
        #expect(Judge.judge(o, payload: samplePayload, backend: "kvm", implementation: "impl_b", divergences: table).verdict == .xfail)
        #expect(Judge.judge(o, payload: samplePayload, backend: "kvm", implementation: "impl_x", divergences: table).verdict == .fail)
    }

    @Test func timeoutIsAFailure() {
        let o = outcome(end: .timeout, checks: [check(10, .pass)])
        #expect(Judge.judge(o, payload: samplePayload, backend: "kvm", implementation: "impl_x", divergences: table).verdict == .fail)
    }

    @Test func aspectEntriesMatchEveryPayload() {
        #expect(table.aspectEntry(implementation: "impl_c", payload: "anything", aspect: "stats") != nil)
        #expect(table.aspectEntry(implementation: "impl_c", payload: "anything", aspect: "trace") == nil)
    }

    @Test func malformedTableLineIsAnError() {
        #expect(throws: KnownDivergences.ParseError.self) { try KnownDivergences.parse("kvm_pvm x notaline reason") }
        #expect(throws: KnownDivergences.ParseError.self) { try KnownDivergences.parse("kvm_pvm onlythree *") }
    }

    @Test("the built-in table parses and names only catalogue payloads")
    func builtInTable() throws {
        let t = try KnownDivergences.parse(Catalogue.knownDivergencesText)
        #expect(!t.entries.isEmpty)
        for e in t.entries where e.payload != "*" { #expect(Catalogue.named(e.payload) != nil, "\(e.payload)") }
    }
}

@Suite("Outcome comparison")
struct ComparisonTests {
    let io = TraceEvent(exit: .io(.init(direction: .out, size: 4, port: 0xE8, count: 1, data: [0, 0x80, 0, 0])))

    @Test("a CF difference is named, with the first differing exit and the ones before it")
    func namesTheFlagAndTheExit() {
        let a = outcome(checks: [], trace: [io, io, io], rflags: 0x203)
        var b = outcome(checks: [], trace: [io, io], rflags: 0x202)
        b.trace.append(TraceEvent(exit: .io(.init(direction: .out, size: 4, port: 0xE8, count: 1, data: [8, 0x80, 0, 0]))))
        let (aspects, details) = OutcomeComparison.compare(a, b, names: ("kvm", "ref"), invariantsOnly: false)
        #expect(aspects == ["trace", "registers"])
        #expect(details.contains { $0.contains("first differing exit is #3") })
        #expect(details.contains { $0.contains("#2 both:") })
        #expect(details.contains { $0.contains("rflags") && $0.contains("CF") && !$0.contains("ZF") })
    }

    @Test func flagBitNames() {
        #expect(OutcomeComparison.flagBits(0x1 | 0x40 | 0x800) == ["CF", "ZF", "OF"])
        #expect(OutcomeComparison.flagBits(0x3000) == ["IOPL0", "IOPL1"])
    }

    @Test func invariantsIgnoreTheTrace() {
        let a = outcome(checks: [check(5, .pass)], trace: [io])
        let b = outcome(checks: [check(5, .pass)], trace: [io, io])
        #expect(OutcomeComparison.compare(a, b, names: ("kvm", "ref"), invariantsOnly: true).aspects.isEmpty)
        #expect(OutcomeComparison.compare(a, b, names: ("kvm", "ref"), invariantsOnly: false).aspects == ["trace"])
    }
}

/// Reports for a small synthetic run: one pass, one failure, one expected failure, one skip.
func sampleReports() -> [PayloadReport] {
    func result(_ name: String, _ group: String, _ verdict: Verdict, _ text: String) -> PayloadResult {
        PayloadResult(payload: name, group: group, backend: "kvm", implementation: "kvm_test", verdict: verdict,
                      lines: [JudgedLine(verdict: verdict, text: text)], outcome: verdict == .skip ? nil : outcome(checks: []))
    }
    return [
        PayloadReport(payload: "a", group: "exits", results: [result("a", "exits", .pass, "ok")], comparison: nil),
        PayloadReport(payload: "b", group: "exits", results: [result("b", "exits", .fail, "bad <value> & \"quote\"")], comparison: nil),
        PayloadReport(payload: "c", group: "mmu", results: [result("c", "mmu", .xfail, "known # thing")], comparison: nil),
        PayloadReport(payload: "d", group: "irq", results: [result("d", "irq", .skip, "needs KVM_CAP_IRQCHIP")],
                      comparison: Comparison(verdict: .diverge, differingAspects: ["trace"], details: ["first differing exit"], reason: nil)),
    ]
}

@Suite("Machine-readable reports")
struct MachineReportTests {
    @Test("TAP13: version line, a plan matching the test points, numbered points, directives")
    func tapIsValid() throws {
        let lines = TAPReport.render(sampleReports()).split(separator: "\n").map(String.init)
        #expect(lines.first == "TAP version 13")
        let points = lines.filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }
        let plan = try #require(lines.last { $0.hasPrefix("1..") })
        #expect(plan == "1..\(points.count)")
        for (i, p) in points.enumerated() {
            let number = p.hasPrefix("ok ") ? p.dropFirst(3) : p.dropFirst(7)
            #expect(number.hasPrefix("\(i + 1) - "), "point \(i + 1) is numbered in order: \(p)")
        }
        #expect(points.contains { $0.hasPrefix("not ok") && $0.contains("exits.b [kvm]") && !$0.contains("#") })
        #expect(points.contains { $0.contains("mmu.c [kvm] # TODO") })
        #expect(points.contains { $0.contains("irq.d [kvm] # SKIP needs KVM_CAP_IRQCHIP") })
        // A YAML diagnostic block follows a failure.
        let fail = try #require(lines.firstIndex { $0.hasPrefix("not ok 2") })
        #expect(lines[fail + 1] == "  ---")
    }

    @Test("JUnit XML parses, and its counts are the run's")
    func junitParses() throws {
        let xml = JUnitReport.render(sampleReports(), implementation: "kvm: kvm_test")
        let counter = JUnitCounter()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = counter
        #expect(parser.parse(), "well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        #expect(counter.suites == 3)
        #expect(counter.testcases == 5)          // 4 payload runs + 1 comparison
        #expect(counter.failures == 2)           // the FAIL and the DIVERGE
        #expect(counter.skipped == 1)
        #expect(counter.rootAttributes["tests"] == "5")
        #expect(counter.rootAttributes["failures"] == "2")
        #expect(counter.failureMessages.contains { $0.contains("bad <value> & \"quote\"") }, "text survives escaping")
    }
}

final class JUnitCounter: NSObject, XMLParserDelegate {
    var suites = 0, testcases = 0, failures = 0, skipped = 0
    var rootAttributes: [String: String] = [:]
    var failureMessages: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "testsuites": rootAttributes = attributes
        case "testsuite": suites += 1
        case "testcase": testcases += 1
        case "failure": failures += 1; failureMessages.append(attributes["message"] ?? "")
        case "skipped": skipped += 1
        default: break
        }
    }
}
