#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc

/// TAP13, as kvm-unit-tests' `run_tests.sh -t` prints it: one test point per payload and
/// backend (and per comparison); an expected failure is `not ok ... # TODO`, a skip `# SKIP`.
public enum TAPReport {
    public static func render(_ reports: [PayloadReport]) -> String {
        var out = ["TAP version 13"]
        var n = 0
        for rep in reports {
            for r in rep.results {
                n += 1
                let name = "\(r.group).\(r.payload) [\(r.backend)]"
                switch r.verdict {
                case .pass: out.append("ok \(n) - \(name)")
                case .fail: out.append("not ok \(n) - \(name)")
                case .xfail: out.append("not ok \(n) - \(name) # TODO known divergence of \(r.implementation)")
                case .xpass: out.append("ok \(n) - \(name) # TODO recorded divergence of \(r.implementation) passed")
                case .skip: out.append("ok \(n) - \(name) # SKIP \(escape(r.lines.first?.text ?? ""))")
                }
                if r.verdict == .fail {
                    out.append("  ---")
                    for l in r.lines where l.verdict == .fail { out.append("  message: \(yaml(l.text))") }
                    out.append("  ...")
                }
            }
            if let c = rep.comparison {
                n += 1
                let name = "\(rep.qualifiedName) [\(rep.results.map(\.backend).joined(separator: " vs "))]"
                switch c.verdict {
                case .agree: out.append("ok \(n) - \(name) agree")
                case .skip: out.append("ok \(n) - \(name) # SKIP not run on both backends")
                case .expectedDivergence: out.append("not ok \(n) - \(name) diverge # TODO \(escape(c.reason ?? ""))")
                case .diverge:
                    out.append("not ok \(n) - \(name) diverge")
                    out.append("  ---")
                    for d in c.details { out.append("  message: \(yaml(d))") }
                    out.append("  ...")
                }
            }
        }
        out.append("1..\(n)")
        return out.joined(separator: "\n") + "\n"
    }

    static func escape(_ s: String) -> String { s.replacing("#", with: "\\#").replacing("\n", with: " ") }
    static func yaml(_ s: String) -> String { "'" + s.replacing("'", with: "''") + "'" }
}

/// JUnit XML: one testsuite per group, one testcase per payload and backend, plus one per
/// comparison. FAIL and DIVERGE are failures; SKIP is skipped; expected failures pass with
/// their reason in system-out.
public enum JUnitReport {
    public static func render(_ reports: [PayloadReport], implementation: String) -> String {
        var out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>"]
        var suites: [String] = []
        var totals = (tests: 0, failures: 0, skipped: 0)
        for g in orderedGroups(reports) {
            var cases: [String] = []
            var counts = (tests: 0, failures: 0, skipped: 0)
            for rep in reports where rep.group == g {
                for r in rep.results {
                    counts.tests += 1
                    let time = Double(r.outcome?.wallNanoseconds ?? 0) / 1e9
                    var c = "    <testcase classname=\"\(xml(g))\" name=\"\(xml(r.payload)) [\(xml(r.backend))]\" time=\"\(fixedPoint(time, places: 6))\""
                    switch r.verdict {
                    case .pass: c += "/>"
                    case .fail:
                        counts.failures += 1
                        let msg = r.lines.filter { $0.verdict == .fail }.map(\.text)
                        c += ">\n      <failure message=\"\(xml(msg.first ?? "failed"))\">\(xml(msg.joined(separator: "\n")))</failure>\n    </testcase>"
                    case .skip:
                        counts.skipped += 1
                        c += ">\n      <skipped message=\"\(xml(r.lines.first?.text ?? ""))\"/>\n    </testcase>"
                    case .xfail, .xpass:
                        let msg = r.lines.filter { $0.verdict == r.verdict }.map { "\($0.verdict.rawValue): \($0.text)" }
                        c += ">\n      <system-out>\(xml(msg.joined(separator: "\n")))</system-out>\n    </testcase>"
                    }
                    cases.append(c)
                }
                if let cmp = rep.comparison {
                    counts.tests += 1
                    var c = "    <testcase classname=\"\(xml(g))\" name=\"\(xml(rep.payload)) [cross-check]\" time=\"0\""
                    switch cmp.verdict {
                    case .agree: c += "/>"
                    case .skip:
                        counts.skipped += 1
                        c += ">\n      <skipped message=\"not run on both backends\"/>\n    </testcase>"
                    case .expectedDivergence:
                        c += ">\n      <system-out>\(xml("XDIVERGE: " + (cmp.reason ?? "")))</system-out>\n    </testcase>"
                    case .diverge:
                        counts.failures += 1
                        c += ">\n      <failure message=\"diverge: \(xml(cmp.differingAspects.joined(separator: ", ")))\">\(xml(cmp.details.joined(separator: "\n")))</failure>\n    </testcase>"
                    }
                    cases.append(c)
                }
            }
            totals.tests += counts.tests; totals.failures += counts.failures; totals.skipped += counts.skipped
            suites.append("  <testsuite name=\"\(xml(g))\" tests=\"\(counts.tests)\" failures=\"\(counts.failures)\" errors=\"0\" skipped=\"\(counts.skipped)\">\n" + cases.joined(separator: "\n") + "\n  </testsuite>")
        }
        out.append("<testsuites name=\"kvm-unit \(xml(implementation))\" tests=\"\(totals.tests)\" failures=\"\(totals.failures)\" errors=\"0\" skipped=\"\(totals.skipped)\">")
        out += suites
        out.append("</testsuites>")
        return out.joined(separator: "\n") + "\n"
    }

    static func orderedGroups(_ reports: [PayloadReport]) -> [String] {
        var seen: [String] = []
        for r in reports where !seen.contains(r.group) { seen.append(r.group) }
        return seen
    }

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
                // XML 1.0 forbids most control characters even escaped.
                if ch.value < 0x20 && ch != "\n" && ch != "\t" && ch != "\r" { o += "?" } else { o.unicodeScalars.append(ch) }
            }
        }
        return o
    }
}

/// JSON: one object per payload per backend (outcome and verdict) with the comparison.
public enum JSONReport {
    public struct Document: Codable {
        public var implementations: [String: String]
        public var payloads: [PayloadReport]
    }

    public static func render(_ reports: [PayloadReport], implementations: [String: String]) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(Document(implementations: implementations, payloads: reports))
    }
}
