#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Glibc

/// JUnit XML in the common Jenkins/Ant form (docs/junit.xsd): one `<testsuite>` per group,
/// one `<testcase>` per payload run (`group.payload [backend]`) and per comparison
/// (`[kvm vs ref]`), so its counts are the payload runs and comparisons of the text SUMMARY.
///
/// As the exit status: FAIL, DIVERGE and, under `--strict`, XPASS are `<failure>` (message:
/// the first failing line; text: every one); a skipped payload run or comparison is
/// `<skipped>`; XFAIL, an expected divergence and a non-strict XPASS pass, their reason in
/// `<system-out>`, as are the SKIP records of a run that passed.
///
/// JUnit puts each suite's counts before its testcases, so the testcases (a few hundred bytes
/// each, never an outcome) are kept until `render`.
public final class JUnitReport {
    private let backends: [ReportedBackend]
    private let strict: Bool
    private struct Suite {
        var name: String
        var cases: [String] = []
        var tests = 0, failures = 0, skipped = 0
        var seconds = 0.0
    }
    private var suites: [Suite] = []

    public init(backends: [ReportedBackend], strict: Bool) {
        self.backends = backends
        self.strict = strict
    }

    public func add(_ report: PayloadReport) {
        if !suites.contains(where: { $0.name == report.group }) { suites.append(Suite(name: report.group)) }
        let s = suites.firstIndex { $0.name == report.group }!
        for r in report.results { testcase(r, suite: s) }
        if let c = report.comparison {
            testcase(c, name: "\(report.payload) [\(report.results.map(\.backend).joined(separator: " vs "))]", suite: s)
        }
        for m in report.migrations { testcase(m, name: "\(report.payload) [\(m.label ?? "migrated")]", suite: s) }
    }

    public func render() -> String {
        var out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>"]
        let tests = suites.reduce(0) { $0 + $1.tests }, failures = suites.reduce(0) { $0 + $1.failures }
        let seconds = suites.reduce(0) { $0 + $1.seconds }
        out.append("<testsuites name=\"kvm-unit\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"0\" time=\"\(Self.time(seconds))\">")
        for s in suites {
            out.append("  <testsuite name=\"\(Self.xml(s.name))\" tests=\"\(s.tests)\" failures=\"\(s.failures)\" errors=\"0\" "
                       + "skipped=\"\(s.skipped)\" time=\"\(Self.time(s.seconds))\">")
            out.append("    <properties>")
            for (key, value) in [("version", SuiteVersion.version), ("commit", SuiteVersion.commit), ("build_date", SuiteVersion.buildDate)] {
                out.append("      <property name=\"suite.\(key)\" value=\"\(Self.xml(value))\"/>")
            }
            for b in backends {
                var properties = [("implementation", b.implementation), ("kernel", b.kernel),
                                  ("api_version", String(b.apiVersion)), ("device", b.device)]
                if let cpuid = b.guestCPUIDLine { properties.append(("guest_cpuid", cpuid)) }
                for (key, value) in properties {
                    out.append("      <property name=\"backend.\(Self.xml(b.name)).\(key)\" value=\"\(Self.xml(value))\"/>")
                }
            }
            out.append("    </properties>")
            out += s.cases
            out.append("  </testsuite>")
        }
        out.append("</testsuites>")
        return out.joined(separator: "\n") + "\n"
    }

    /// A whole run at once, for tests and small callers.
    public static func render(_ reports: [PayloadReport], backends: [ReportedBackend], strict: Bool = false) -> String {
        let j = JUnitReport(backends: backends, strict: strict)
        for r in reports { j.add(r) }
        return j.render()
    }

    private func testcase(_ r: PayloadResult, suite s: Int) {
        let seconds = Double(r.outcome?.wallNanoseconds ?? 0) / 1e9
        let open = "    <testcase classname=\"\(Self.xml(r.group))\" name=\"\(Self.xml("\(r.payload) [\(r.backend)]"))\" time=\"\(Self.time(seconds))\""
        func texts(_ v: Verdict) -> [String] { r.lines.filter { $0.verdict == v }.map(\.text) }
        var body: [String] = []
        switch r.verdict {
        case .pass: break
        case .fail:
            body.append(Self.failure(type: "FAIL", message: texts(.fail).first ?? "failed", details: texts(.fail)))
        case .xpass where strict:
            body.append(Self.failure(type: "XPASS", message: "a recorded divergence of \(r.implementation) passed (--strict)",
                                     details: texts(.xpass)))
        case .skip:
            body.append("      <skipped message=\"\(Self.xml(r.skipReason))\"/>")
        case .xfail, .xpass: break
        }
        // What did not pass and did not fail the run: expected failures, XPASS, SKIP records.
        let notes = r.lines.filter { $0.verdict != .pass && $0.verdict != .fail && !(r.verdict == .skip && $0.verdict == .skip) }
        if !notes.isEmpty {
            body.append("      <system-out>\(Self.xml(notes.map { "\($0.verdict.rawValue): \($0.text)" }.joined(separator: "\n")))</system-out>")
        }
        add(open, body, suite: s, failed: r.verdict == .fail || (r.verdict == .xpass && strict), skipped: r.verdict == .skip,
            seconds: seconds)
    }

    private func testcase(_ c: Comparison, name: String, suite s: Int) {
        let open = "    <testcase classname=\"\(Self.xml(suites[s].name))\" name=\"\(Self.xml(name))\" time=\"0\""
        var body: [String] = []
        switch c.verdict {
        case .agree: break
        case .skip: body.append("      <skipped message=\"\(Self.xml(c.details.first ?? "not run on both backends"))\"/>")
        case .diverge:
            body.append(Self.failure(type: "DIVERGE", message: "diverge: " + c.differingAspects.joined(separator: ", "), details: c.details))
        case .expectedDivergence:
            body.append("      <system-out>\(Self.xml((["XDIVERGE: " + (c.reason ?? "")] + c.details).joined(separator: "\n")))</system-out>")
        }
        add(open, body, suite: s, failed: c.verdict == .diverge, skipped: c.verdict == .skip, seconds: 0)
    }

    private func add(_ open: String, _ body: [String], suite s: Int, failed: Bool, skipped: Bool, seconds: Double) {
        suites[s].cases.append(body.isEmpty ? open + "/>" : ([open + ">"] + body + ["    </testcase>"]).joined(separator: "\n"))
        suites[s].tests += 1
        if failed { suites[s].failures += 1 }
        if skipped { suites[s].skipped += 1 }
        suites[s].seconds += seconds
    }

    private static func failure(type: String, message: String, details: [String]) -> String {
        "      <failure message=\"\(xml(message))\" type=\"\(type)\">\(xml(details.joined(separator: "\n")))</failure>"
    }

    static func time(_ seconds: Double) -> String { fixedPoint(seconds, places: 6) }

    static func xml(_ s: String) -> String {
        var o = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&apos;"
            default:
                // XML 1.0 forbids most control characters even escaped, and U+FFFE/U+FFFF.
                if (ch.value < 0x20 && ch != "\n" && ch != "\t" && ch != "\r") || ch.value == 0xFFFE || ch.value == 0xFFFF {
                    o += "?"
                } else {
                    o.unicodeScalars.append(ch)
                }
            }
        }
        return o
    }
}
