import GuestPayloads
import PayloadFormat

/// The verdict on one check or one payload run, in kvm-unit-tests' vocabulary.
public enum Verdict: String, Sendable, Codable, Comparable {
    case pass = "PASS"
    case fail = "FAIL"
    /// Failed as a recorded known divergence of this implementation.
    case xfail = "XFAIL"
    /// A recorded known divergence that did not fail this time.
    case xpass = "XPASS"
    case skip = "SKIP"

    private var rank: Int { [.pass: 0, .skip: 1, .xpass: 2, .xfail: 3, .fail: 4][self]! }
    public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }
}

/// One line of the report: a check, or something about the run as a whole.
public struct JudgedLine: Sendable, Codable {
    public var verdict: Verdict
    public var text: String
}

/// A payload's run on one backend, judged.
public struct PayloadResult: Sendable, Codable {
    public var payload: String
    public var group: String
    public var backend: String
    public var implementation: String
    public var verdict: Verdict
    public var lines: [JudgedLine]
    /// nil when the payload was skipped before it ran.
    public var outcome: Outcome?
    /// Remarks about the run that are not verdicts (a name that matches a catalogue payload
    /// whose image differs, so its recorded divergences were not applied).
    public var notes: [String] = []

    public var checkCount: Int { lines.count }
    public var count: (pass: Int, fail: Int, xfail: Int, xpass: Int, skip: Int) {
        lines.reduce(into: (0, 0, 0, 0, 0)) { c, l in
            switch l.verdict {
            case .pass: c.0 += 1
            case .fail: c.1 += 1
            case .xfail: c.2 += 1
            case .xpass: c.3 += 1
            case .skip: c.4 += 1
            }
        }
    }
}

/// Turns an outcome into verdicts, applying the known-divergence table.
public enum Judge {
    public static func skipped(_ payload: Payload, backend: String, implementation: String, reason: String) -> PayloadResult {
        PayloadResult(payload: payload.name, group: payload.group.description, backend: backend,
                      implementation: implementation, verdict: .skip,
                      lines: [JudgedLine(verdict: .skip, text: reason)], outcome: nil)
    }

    public static func judge(_ outcome: Outcome, payload: Payload, backend: String, implementation: String,
                             divergences: KnownDivergences) -> PayloadResult {
        let h = payload.header
        let entries = divergences.entries(implementation: implementation, payload: payload)
        let wholePayload = entries.first { $0.what == .whole }
        var lines: [JudgedLine] = []

        /// The entry naming check `c`, by its stable label or (older tables) its line.
        func entry(for c: CheckRecord) -> KnownDivergences.Entry? {
            let label = KnownDivergences.label(c.message)
            return entries.first {
                switch $0.what {
                case .line(let l): l == c.line
                // CATCH sends a second record, "<message> (error code)": the label covers both.
                case .label(let l): label == l || label == l + "_error_code"
                default: false
                }
            }
        }
        func recorded(_ text: String, _ e: KnownDivergences.Entry) -> JudgedLine {
            JudgedLine(verdict: .xfail, text: "\(text) [known divergence of \(implementation) (\(e.scope) \(e.what)): \(e.reason)]")
        }
        func failure(_ text: String, check: CheckRecord?) -> JudgedLine {
            if let check, let e = entry(for: check) { return recorded(text, e) }
            if let e = wholePayload { return recorded(text, e) }
            return JudgedLine(verdict: .fail, text: text)
        }

        for c in outcome.checks {
            switch c.kind {
            case .pass:
                if let e = entry(for: c) {
                    lines.append(JudgedLine(verdict: .xpass, text: "\(c.summary) [recorded as a divergence of \(implementation) (\(e.scope) \(e.what)), but passed: \(e.reason)]"))
                } else {
                    lines.append(JudgedLine(verdict: .pass, text: c.summary))
                }
            case .skip: lines.append(JudgedLine(verdict: .skip, text: c.summary))
            case .fail, .malformed: lines.append(failure(c.summary, check: c))
            case .unexpectedException: lines.append(failure(c.summary, check: nil))
            }
        }
        for e in outcome.hostErrors { lines.append(failure("host request failed: \(e)", check: nil)) }

        // The end of the run. A status of 1 only repeats that a check failed.
        let checkFailed = outcome.checks.contains { $0.kind != .pass && $0.kind != .skip }
        switch (h.expectedExit, outcome.end) {
        case (.status, .status(let s)) where s == h.expectedStatus: break
        case (.status, .status(let s)) where checkFailed && s != 0: break
        case (.shutdown, .shutdown):
            lines.append(JudgedLine(verdict: .pass, text: "ended in KVM_EXIT_SHUTDOWN as expected"))
        default:
            let want = h.expectedExit == .status ? "status \(h.expectedStatus) on port 0xF4" : "KVM_EXIT_SHUTDOWN"
            lines.append(failure("ended with \(outcome.end), expected \(want)", check: nil))
        }
        if lines.isEmpty { lines.append(failure("reported no checks", check: nil)) }

        let unexpected = lines.contains { $0.verdict == .fail }
        let expected = lines.contains { $0.verdict == .xfail }
        var verdict: Verdict = unexpected ? .fail : expected ? .xfail : .pass
        // Every check the payload made was a SKIP (e.g. CPUID lacks the feature): nothing was
        // tested, so the run is a SKIP, not a PASS a CI would count as coverage.
        if verdict == .pass, outcome.checks.contains(where: { $0.kind == .skip }),
           !outcome.checks.contains(where: { $0.kind == .pass }) {
            verdict = .skip
        }
        if verdict == .pass {
            if let e = wholePayload {
                lines.append(JudgedLine(verdict: .xpass, text: "recorded as a divergence of \(implementation), but passed: \(e.reason)"))
            }
            if lines.contains(where: { $0.verdict == .xpass }) { verdict = .xpass }
        }
        var result = PayloadResult(payload: payload.name, group: payload.group.description, backend: backend,
                                   implementation: implementation, verdict: verdict, lines: lines, outcome: outcome)
        if let note = divergences.imageMismatchNote(payload) { result.notes.append(note) }
        return result
    }
}
