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
        for n in r.notes { out.append("NOTE: \(name) [\(r.backend)]: \(n)") }
        for l in r.lines where verbose || l.verdict != .pass {
            out.append("\(l.verdict.rawValue): \(name) [\(r.backend)]: \(l.text)")
        }
        let c = r.count
        var detail = "\(r.checkCount) checks"
        if c.fail > 0 { detail += ", \(c.fail) unexpected failures" }
        if c.xfail > 0 { detail += ", \(c.xfail) expected failures" }
        if c.xpass > 0 { detail += ", \(c.xpass) unexpected passes" }
        if c.skip > 0 { detail += ", \(c.skip) skipped" }
        if r.verdict == .skip { detail = r.skipReason }
        out.append("\(r.verdict.rawValue) \(name) [\(r.backend)] (\(detail))")
        return out
    }

    /// A payload on every backend, and the comparison with its first difference.
    public static func lines(_ report: PayloadReport, verbose: Bool) -> [String] {
        var out = report.results.flatMap { lines($0, verbose: verbose) }
        if let c = report.comparison {
            switch c.verdict {
            case .agree:
                out.append("AGREE \(report.qualifiedName)" + (c.recorded.isEmpty ? "" : " (\(c.differingAspects.joined(separator: ", ")) differ as recorded: \(c.recorded.joined(separator: "; ")))"))
                if verbose { out += c.details.map { "    " + $0 } }
            case .skip: out.append("SKIP \(report.qualifiedName) (comparison: \(c.details.first ?? ""))")
            case .diverge, .expectedDivergence:
                let word = c.verdict == .diverge ? "DIVERGE" : "XDIVERGE"
                out.append("\(word) \(report.qualifiedName) (\(c.differingAspects.joined(separator: ", ")))"
                           + (c.reason.map { " [\($0)]" } ?? ""))
                if c.verdict == .diverge || verbose { out += c.details.map { "    " + $0 } }
            }
        }
        for m in report.migrations { out += migrationLines(m, report.qualifiedName, verbose: verbose) }
        return out
    }

    /// `MIGRATE AGREE exits.x [ref migrated every exit within ref] (12 migrations)`.
    static func migrationLines(_ m: Comparison, _ name: String, verbose: Bool) -> [String] {
        let label = m.label ?? "migrated"
        let summary = m.details.last ?? ""
        switch m.verdict {
        case .agree:
            return ["MIGRATE AGREE \(name) [\(label)] (\(summary))"] + (verbose ? m.details.dropLast().map { "    " + $0 } : [])
        case .skip:
            return ["MIGRATE SKIP \(name) [\(label)] (\(m.details.first ?? ""))"]
        case .diverge, .expectedDivergence:
            let word = m.verdict == .diverge ? "DIVERGE" : "XDIVERGE"
            var out = ["MIGRATE \(word) \(name) [\(label)] (\(m.differingAspects.joined(separator: ", ")))" + (m.reason.map { " [\($0)]" } ?? "")]
            if m.verdict == .diverge || verbose { out += m.details.map { "    " + $0 } }
            return out
        }
    }

    /// The run's counts, each with its unit, in the words of the group table's columns:
    /// `SUMMARY: 120 payload runs (110 pass, 2 fail, ...); 60 comparisons (...); 1412 checks (...)`.
    /// TAP repeats these lines as comments and JSON as its `summary`: the same numbers.
    public static func summaryLines(_ t: RunTally) -> [String] {
        func counts(_ c: RunTally.Counts) -> String {
            "\(c.pass) pass, \(c.fail) fail, \(c.xfail) expected-fail, \(c.xpass) xpass, \(c.skip) skip"
        }
        var parts = ["\(t.runs.total) payload runs (\(counts(t.runs)))"]
        if t.comparisons.total > 0 {
            let c = t.comparisons
            parts.append("\(c.total) comparisons (\(c.agree) agree, \(c.diverge) diverge, \(c.expectedDivergence) expected-diverge, \(c.skip) skip)")
        }
        if t.migrations.total > 0 {
            let m = t.migrations
            parts.append("\(m.total) migrated runs (\(m.agree) agree, \(m.diverge) diverge, \(m.expectedDivergence) expected-diverge, \(m.skip) skip)")
        }
        parts.append("\(t.checks.total) checks (\(counts(t.checks)))")
        return ["SUMMARY: " + parts.joined(separator: "; ")]
    }

    public static func summary(_ t: RunTally) -> String { summaryLines(t).joined(separator: "\n") }

    public static func summary(_ reports: [PayloadReport]) -> String { summary(RunTally(reports)) }

    /// Per group: payload runs that passed, failed, failed as expected, were skipped; payloads
    /// whose backends agreed, diverged unexpectedly, diverged as recorded.
    public static func table(_ t: RunTally) -> String {
        let columns = ["group", "pass", "fail", "expected-fail", "xpass", "skip", "agree", "diverge", "expected-diverge"]
        var rows: [[String]] = []
        let order = ["exits", "mmu", "emulator", "irq"]
        let groups = t.groups.sorted { a, b in
            let (ia, ib) = (order.firstIndex(of: a.name) ?? order.count, order.firstIndex(of: b.name) ?? order.count)
            return ia != ib ? ia < ib : a.name < b.name
        }
        func row(_ name: String, _ r: RunTally.Counts, _ c: RunTally.ComparisonCounts) -> [String] {
            [name] + [r.pass, r.fail, r.xfail, r.xpass, r.skip, c.agree, c.diverge, c.expectedDivergence].map(String.init)
        }
        for g in groups { rows.append(row(g.name, g.runs, g.comparisons)) }
        rows.append(row("total", t.runs, t.comparisons))
        var text = "payload runs (pass to skip) and comparisons (agree to expected-diverge) by group:\n"
        text += TextTable.render([columns] + rows)
        text.removeLast()  // callers print() it
        return text
    }

    public static func table(_ reports: [PayloadReport]) -> String { table(RunTally(reports)) }
}
