@testable import Conformance
import Foundation
import GuestPayloads

/// External programs the report tests hand the reports to (prove, xmllint, python3 with
/// PyYAML and jsonschema). scripts/setup.sh installs them; a test whose tool is missing is
/// skipped with the reason Swift Testing prints.
enum ExternalTool {
    static func path(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    static var prove: Bool { path("prove") != nil && path("perl") != nil }
    static var xmllint: Bool { path("xmllint") != nil }
    static func python(has module: String) -> Bool {
        guard path("python3") != nil else { return false }
        return (try? run("python3", ["-c", "import \(module)"]).status) == 0
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `tool` (a name on PATH or a path) with `stdin` as its input.
    static func run(_ tool: String, _ arguments: [String], stdin: String = "") throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool.hasPrefix("/") ? tool : (path(tool) ?? tool))
        p.arguments = arguments
        let i = Pipe(), o = Pipe(), e = Pipe()
        p.standardInput = i
        p.standardOutput = o
        p.standardError = e
        try p.run()
        // Feed stdin from another thread and read both outputs: no pipe can fill and stall.
        let input = Data(stdin.utf8)
        let writer = Thread { i.fileHandleForWriting.write(input); try? i.fileHandleForWriting.close() }
        writer.start()
        let errBox = DataBox()
        let reader = Thread { errBox.data = e.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    final class DataBox: @unchecked Sendable { var data = Data() }

    /// The repository's root, for docs/report.schema.json and docs/junit.xsd.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// `kvm-unit`, built next to the test binary (ConformanceTests depends on it).
    static var kvmUnit: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("kvm-unit")
    }

    static func temporaryDirectory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-unit-reports-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}

/// A run with every kind of verdict, judged by the real Judge from synthetic outcomes (no
/// backend): PASS, FAIL with two messages full of characters that need escaping, PASS with
/// some checks skipped, every check skipped, a payload skipped before it ran, XFAIL, XPASS,
/// and comparisons that agree, diverge, diverge as recorded, and could not be made.
enum SyntheticRun {
    static let backends = [
        ReportedBackend(name: "kvm", implementation: "impl_k", kernel: "6.1.0-test", apiVersion: 12, device: "/dev/kvm"),
        ReportedBackend(name: "ref", implementation: "ref", kernel: "ref-1", apiVersion: 12, device: "(software)"),
    ]

    static let table = try! KnownDivergences.parse("impl_k io_latch_sizes 12 impl_k returns the wrong latch byte")

    /// Above 2^53: a JSON number would lose the low bits.
    static let bigValue: UInt64 = 0xFEDC_BA98_7654_3211

    static let trickyMessages = [
        "quote \" backslash \\ hash # colon: dash - 'apos' <xml> & amp",
        "second line\nafter a newline, a tab\there, a control \u{1} and µ→",
    ]

    static func judged(_ name: String, group: String, backend: String, implementation: String, _ o: Outcome) -> PayloadResult {
        var r = Judge.judge(o, payload: samplePayload, backend: backend, implementation: implementation, divergences: table)
        r.payload = name
        r.group = group
        return r
    }

    static func report(_ name: String, _ group: String, kvm: Outcome?, ref: Outcome, skipReason: String = "",
                       comparison: Comparison) -> PayloadReport {
        let k = kvm.map { judged(name, group: group, backend: "kvm", implementation: "impl_k", $0) }
            ?? { var s = Judge.skipped(samplePayload, backend: "kvm", implementation: "impl_k", reason: skipReason)
                 s.payload = name; s.group = group; return s }()
        let r = judged(name, group: group, backend: "ref", implementation: "ref", ref)
        return PayloadReport(payload: name, group: group, results: [k, r], comparison: comparison)
    }

    static let agree = Comparison(verdict: .agree, differingAspects: [], details: [], reason: nil)

    static func reports() -> [PayloadReport] {
        var big = outcome(checks: [check(10, .pass, expected: bigValue, actual: bigValue)])
        big.registers.append(RegisterValue(name: "rax", value: bigValue))
        var failing = [check(10, .fail, expected: 1, actual: 2), check(14, .fail, expected: bigValue, actual: 0)]
        failing[0].message = trickyMessages[0]
        failing[1].message = trickyMessages[1]
        return [
            report("pass_all", "exits", kvm: big, ref: big, comparison: agree),
            report("fails_twice", "exits", kvm: outcome(end: .status(1), checks: failing), ref: outcome(checks: [check(10, .pass)]),
                   comparison: Comparison(verdict: .diverge, differingAspects: ["checks", "registers"],
                                          details: ["check line 10: kvm FAIL, ref PASS", "rax: 0x2 vs 0x1 # differs"], reason: nil)),
            report("partly_skipped", "mmu", kvm: outcome(checks: [check(10, .pass), check(11, .skip), check(16, .skip)]),
                   ref: outcome(checks: [check(10, .pass), check(11, .skip), check(16, .skip)]), comparison: agree),
            report("all_skipped", "mmu", kvm: outcome(checks: [check(11, .skip)]), ref: outcome(checks: [check(11, .skip)]),
                   comparison: agree),
            report("not_run", "irq", kvm: nil, ref: outcome(checks: [check(10, .pass)]), skipReason: "needs KVM_CAP_IRQCHIP",
                   comparison: Comparison(verdict: .skip, differingAspects: [], details: ["not run on both backends"], reason: nil)),
            report("xfail", "emulator", kvm: outcome(end: .status(1), checks: [check(12, .fail, expected: 1, actual: 3)]),
                   ref: outcome(checks: [check(12, .pass)]),
                   comparison: Comparison(verdict: .expectedDivergence, differingAspects: ["checks"], details: ["check line 12 differs"],
                                          reason: "impl_k fails as recorded: impl_k returns the wrong latch byte")),
            report("xpass", "emulator", kvm: outcome(checks: [check(12, .pass)]), ref: outcome(checks: [check(12, .pass)]),
                   comparison: agree),
        ]
    }

    /// Only what does not fail a run (without --strict): XFAIL, skips, XPASS, expected divergences.
    static func passingReports() -> [PayloadReport] {
        reports().filter { !["fails_twice"].contains($0.payload) }
    }
}
