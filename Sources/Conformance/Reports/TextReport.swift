import KVMABI

/// kvm-unit-tests-style text: `PASS: name: check` lines per check, one line per payload,
/// and a `SUMMARY:` line.
public enum TextReport {
    public static func header(_ identity: ImplementationIdentity, backend: String) -> String {
        "kvm-unit: backend \(backend): \(identity.summary)"
    }

    /// The check lines of one payload run, then its one-line result.
    public static func lines(_ r: PayloadResult, verbose: Bool) -> [String] {
        var out: [String] = []
        let name = "\(r.group).\(r.payload)"
        for l in r.lines where verbose || l.verdict != .pass {
            out.append("\(l.verdict.rawValue): \(name): \(l.text)")
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

    /// `SUMMARY: 412 tests, 0 unexpected failures, 13 expected failures, 1 skipped`
    public static func summary(_ results: [PayloadResult]) -> String {
        var t = (tests: 0, fail: 0, xfail: 0, xpass: 0, skip: 0)
        for r in results {
            let c = r.count
            t.tests += r.checkCount; t.fail += c.fail; t.xfail += c.xfail; t.xpass += c.xpass; t.skip += c.skip
        }
        var s = "SUMMARY: \(t.tests) tests, \(t.fail) unexpected failures, \(t.xfail) expected failures"
        if t.xpass > 0 { s += ", \(t.xpass) unexpected passes" }
        s += ", \(t.skip) skipped"
        return s
    }
}
