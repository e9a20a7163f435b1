import KVMABI

/// kvm-unit-tests-style text: `PASS: name: check` lines per check, one line per payload and
/// backend, the comparison, a `SUMMARY:` line and a table per group.
public enum TextReport {
    public static func header(_ identity: ImplementationIdentity, backend: String) -> String {
        "kvm-unit: backend \(backend): \(identity.summary)"
    }

    /// The check lines of one payload run, then its one-line result.
    public static func lines(_ r: PayloadResult, verbose: Bool) -> [String] {
        var out: [String] = []
        let name = "\(r.group).\(r.payload)"
        for l in r.lines where verbose || l.verdict != .pass {
            out.append("\(l.verdict.rawValue): \(name) [\(r.backend)]: \(l.text)")
        }
        let c = r.count
        var detail = "\(r.checkCount) tests"
        if c.fail > 0 { detail += ", \(c.fail) unexpected failures" }
        if c.xfail > 0 { detail += ", \(c.xfail) expected failures" }
        if c.xpass > 0 { detail += ", \(c.xpass) unexpected passes" }
        if c.skip > 0 { detail += ", \(c.skip) skipped" }
        if r.verdict == .skip, let reason = r.lines.first?.text { detail = reason }
        out.append("\(r.verdict.rawValue) \(name) [\(r.backend)] (\(detail))")
        return out
    }

    /// A payload on every backend, and the comparison with its first difference.
    public static func lines(_ report: PayloadReport, verbose: Bool) -> [String] {
        var out = report.results.flatMap { lines($0, verbose: verbose) }
        if let c = report.comparison {
            switch c.verdict {
            case .agree: out.append("AGREE \(report.qualifiedName)")
            case .skip: out.append("SKIP \(report.qualifiedName) (comparison: \(c.details.first ?? ""))")
            case .diverge, .expectedDivergence:
                let word = c.verdict == .diverge ? "DIVERGE" : "XDIVERGE"
                out.append("\(word) \(report.qualifiedName) (\(c.differingAspects.joined(separator: ", ")))"
                           + (c.reason.map { " [\($0)]" } ?? ""))
                if c.verdict == .diverge || verbose { out += c.details.map { "    " + $0 } }
            }
        }
        return out
    }

    /// `SUMMARY: 412 tests, 0 unexpected failures, 13 expected failures, 1 skipped`
    public static func summary(_ reports: [PayloadReport]) -> String {
        var t = (tests: 0, fail: 0, xfail: 0, xpass: 0, skip: 0, diverge: 0)
        for r in reports.flatMap(\.results) {
            let c = r.count
            t.tests += r.checkCount; t.fail += c.fail; t.xfail += c.xfail; t.xpass += c.xpass; t.skip += c.skip
        }
        t.diverge = reports.filter { $0.comparison?.verdict == .diverge }.count
        var s = "SUMMARY: \(t.tests) tests, \(t.fail) unexpected failures, \(t.xfail) expected failures"
        if t.xpass > 0 { s += ", \(t.xpass) unexpected passes" }
        if reports.contains(where: { $0.comparison != nil }) { s += ", \(t.diverge) unexpected divergences" }
        s += ", \(t.skip) skipped"
        return s
    }

    /// Per group: payload runs that passed, failed, failed as expected, were skipped; payloads
    /// whose backends agreed, diverged unexpectedly, diverged as recorded.
    public static func table(_ reports: [PayloadReport]) -> String {
        let columns = ["group", "pass", "fail", "expected-fail", "xpass", "skip", "agree", "diverge", "expected-diverge"]
        var rows: [[String]] = []
        let groups = ["exits", "mmu", "emulator", "irq"] + Set(reports.map(\.group)).subtracting(["exits", "mmu", "emulator", "irq"]).sorted()
        var total = [Int](repeating: 0, count: columns.count - 1)
        for g in groups {
            let rs = reports.filter { $0.group == g }
            guard !rs.isEmpty else { continue }
            let results = rs.flatMap(\.results)
            func runs(_ v: Verdict) -> Int { results.filter { $0.verdict == v }.count }
            func payloads(_ v: Comparison.Verdict) -> Int { rs.filter { $0.comparison?.verdict == v }.count }
            let n: [Int] = [runs(.pass), runs(.fail), runs(.xfail), runs(.xpass), runs(.skip),
                            payloads(.agree), payloads(.diverge), payloads(.expectedDivergence)]
            for i in n.indices { total[i] += n[i] }
            rows.append([g] + n.map(String.init))
        }
        rows.append(["total"] + total.map(String.init))
        var text = TextTable.render([columns] + rows)
        text.removeLast()  // callers print() it
        return text
    }
}
