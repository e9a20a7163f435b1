@testable import Conformance
import Foundation
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
        #expect(table.aspectEntry(implementation: "impl_c", payload: samplePayload, aspect: "stats") != nil)
        #expect(table.aspectEntry(implementation: "impl_c", payload: samplePayload, aspect: "trace") == nil)
    }

    @Test func malformedTableLineIsAnError() {
        #expect(throws: KnownDivergences.ParseError.self) { try KnownDivergences.parse("kvm_pvm x notaline reason") }
        #expect(throws: KnownDivergences.ParseError.self) { try KnownDivergences.parse("kvm_pvm onlythree *") }
    }

    @Test("the built-in table parses and names only catalogue payloads")
    func builtInTable() throws {
        let t = try KnownDivergences.parse(Catalogue.knownDivergencesText)
        #expect(!t.entries.isEmpty)
        for e in t.entries {
            if case .payload(let name) = e.scope { #expect(Catalogue.named(name) != nil, "\(name)") }
        }
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
