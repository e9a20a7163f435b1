/// TAP version 13 (testanything.org/tap-version-13-specification.html), written as payloads
/// complete, so a CI sees progress and a killed run leaves what it had.
///
/// - The plan `1..N` comes first: N is known before the run (payload runs plus comparisons).
/// - Test points are numbered in the order they complete (with `-j 2` that is not the
///   catalogue order), so the numbering is always 1, 2, 3, ... as TAP requires.
/// - Each backend's identity is a comment before the first point.
/// - Directives agree with the exit status: FAIL and DIVERGE are `not ok`; XFAIL and an
///   expected divergence are `not ok # TODO known divergence: ...`; a skipped payload run is
///   `ok # SKIP reason`; XPASS is `ok # TODO` (does not fail the run), or under `--strict`
///   a plain `not ok` (it fails the run).
/// - At most one YAML block per test point, its repeated items as lists, double-quoted
///   strings only (what TAP::Parser's YAMLish reader and full YAML parsers both read).
public final class TAPReport {
    private let emit: (String) -> Void
    private let strict: Bool
    private var number = 0

    /// Writes the version, the plan and the identity comments at once.
    public init(plan: Int, backends: [ReportedBackend], strict: Bool, emit: @escaping (String) -> Void) {
        self.emit = emit
        self.strict = strict
        emit("TAP version 13")
        emit("1..\(plan)")
        emit("# suite \(SuiteVersion.description)")
        for b in backends {
            emit("# backend \(b.line)")
            if let cpuid = b.guestCPUIDLine { emit("# backend \(b.name) guest-visible CPUID \(cpuid)") }
        }
    }

    /// The test points of one payload: one per backend run, then the comparison.
    public func add(_ report: PayloadReport) {
        for r in report.results { point(r) }
        if let c = report.comparison {
            point(c, name: "\(report.qualifiedName) [\(report.results.map(\.backend).joined(separator: " vs "))]")
        }
        for m in report.migrations { point(m, name: "\(report.qualifiedName) [\(m.label ?? "migrated")]") }
    }

    /// The run's counts as closing comments (the same numbers as the text SUMMARY).
    public func finish(_ tally: RunTally) {
        for line in TextReport.summaryLines(tally) { emit("# " + line) }
    }

    /// A whole run at once, for tests and small callers.
    public static func render(_ reports: [PayloadReport], backends: [ReportedBackend], strict: Bool = false) -> String {
        var out: [String] = []
        let tap = TAPReport(plan: RunTally.plannedTestPoints(payloads: reports.count, backends: backends.count),
                            backends: backends, strict: strict) { out.append($0) }
        for r in reports { tap.add(r) }
        tap.finish(RunTally(reports))
        return out.joined(separator: "\n") + "\n"
    }

    private func point(_ r: PayloadResult) {
        number += 1
        let name = escape("\(r.group).\(r.payload) [\(r.backend)]")
        let line: String
        switch r.verdict {
        case .pass: line = "ok \(number) - \(name)"
        case .fail: line = "not ok \(number) - \(name)"
        case .xfail:
            let first = r.lines.first { $0.verdict == .xfail }?.text ?? ""
            line = "not ok \(number) - \(name) # TODO known divergence: \(escape(first))"
        case .xpass where strict:
            line = "not ok \(number) - \(name) XPASS: a recorded divergence of \(escape(r.implementation)) passed (--strict)"
        case .xpass: line = "ok \(number) - \(name) # TODO a recorded divergence of \(escape(r.implementation)) passed"
        case .skip: line = "ok \(number) - \(name) # SKIP \(escape(r.skipReason))"
        }
        emit(line)
        // Every line that is not a PASS, grouped by verdict: in-payload SKIPs too.
        let lists: [(String, Verdict)] = [("failures", .fail), ("expected_failures", .xfail),
                                          ("unexpected_passes", .xpass), ("skipped_checks", .skip)]
        let items = lists.map { key, v in (key, r.lines.filter { $0.verdict == v }.map(\.text)) }.filter { !$0.1.isEmpty }
        guard !items.isEmpty else { return }
        var y = YAMLBlock()
        y.scalar("verdict", r.verdict.rawValue)
        y.scalar("backend", r.backend)
        y.scalar("implementation", r.implementation)
        y.number("checks", r.checkCount)
        if let end = r.outcome?.end { y.scalar("end", end.description) }
        for (key, texts) in items { y.list(key, texts) }
        emit(y.text)
    }

    private func point(_ c: Comparison, name: String) {
        number += 1
        let name = escape(name)
        switch c.verdict {
        case .agree: emit("ok \(number) - \(name) agree")
        case .skip: emit("ok \(number) - \(name) # SKIP \(escape(c.details.first ?? "not run on both backends"))")
        case .expectedDivergence: emit("not ok \(number) - \(name) diverge # TODO known divergence: \(escape(c.reason ?? ""))")
        case .diverge: emit("not ok \(number) - \(name) diverge")
        }
        guard c.verdict == .diverge || c.verdict == .expectedDivergence else { return }
        var y = YAMLBlock()
        y.scalar("verdict", c.verdict.rawValue)
        y.list("differing_aspects", c.differingAspects)
        if let reason = c.reason { y.scalar("reason", reason) }
        y.list("details", c.details)
        emit(y.text)
    }

    /// A description or directive text: one line, no unescaped `#` (it would start a directive).
    func escape(_ s: String) -> String {
        s.replacing("#", with: "\\#").replacing("\n", with: " ").replacing("\r", with: " ")
    }
}

/// A TAP YAML diagnostic block, indented two spaces, between `---` and `...`: keys once
/// each, strings double-quoted with only the escapes TAP::Parser's YAMLish reader knows
/// (`\\`, `\"`, `\t`, `\n`, `\r`, `\xNN`), which YAML 1.1 and 1.2 read the same way.
struct YAMLBlock {
    private var lines = ["  ---"]

    mutating func scalar(_ key: String, _ value: String) { lines.append("  \(key): \(Self.quote(value))") }
    mutating func number(_ key: String, _ value: Int) { lines.append("  \(key): \(value)") }
    mutating func list(_ key: String, _ values: [String]) {
        lines.append("  \(key):")
        for v in values { lines.append("    - \(Self.listItem(Self.quote(v)))") }
    }

    /// TAP::Parser's YAMLish reader takes a list item whose first word is followed by a
    /// colon and a space (`- "stats: io_exits 0 vs 10"`) for a mapping, and then fails on the
    /// quote. Such a colon is written `\x3a`, which every YAML reader reads back as `:`.
    static func listItem(_ quoted: String) -> String {
        var c = Array(quoted)
        while true {
            // Without a space the word runs to the closing quote, and no colon is followed by a space.
            guard let space = c.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return String(c) }
            var colon: Int?
            if space > 1, c[space - 1] == ":" {
                colon = space - 1
            } else if let next = c[space...].firstIndex(where: { $0 != " " && $0 != "\t" }), c[next] == ":",
                      next + 1 == c.count || c[next + 1] == " " || c[next + 1] == "\t" {
                colon = next
            }
            guard let i = colon else { return String(c) }
            c.replaceSubrange(i...i, with: Array("\\x3a"))
        }
    }

    var text: String { (lines + ["  ..."]).joined(separator: "\n") }

    static func quote(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\\": o += "\\\\"
            case "\"": o += "\\\""
            case "\n": o += "\\n"
            case "\t": o += "\\t"
            case "\r": o += "\\r"
            default:
                if u.value < 0x20 || (0x7F...0x9F).contains(u.value) {
                    o += "\\x" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
                } else if u.value == 0xFEFF || u.value == 0xFFFE || u.value == 0xFFFF {
                    o += "?"  // not printable in YAML, and no \x form for them
                } else {
                    o.unicodeScalars.append(u)
                }
            }
        }
        return o + "\""
    }
}
