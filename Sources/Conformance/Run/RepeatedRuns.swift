#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import GuestPayloads
import KVMABI

/// How often each verdict came up when one payload ran many times (`kvm-unit run --repeat`).
/// A verdict that changes between runs of the same payload on the same backend means the
/// payload depends on timing it does not control, or the implementation misbehaves
/// intermittently: either way the single-run verdict cannot be trusted.
public struct VerdictTally<V: Hashable & Comparable & Sendable & RawRepresentable>: Sendable where V.RawValue == String {
    /// The verdict of each run, in run order.
    public private(set) var verdicts: [V] = []
    /// For each verdict: the first run (0-based) that had it and the first line explaining it.
    public private(set) var firstSeen: [V: (run: Int, why: String)] = [:]

    public init() {}

    public mutating func add(_ v: V, why: String) {
        if firstSeen[v] == nil { firstSeen[v] = (verdicts.count, why) }
        verdicts.append(v)
    }

    public func count(_ v: V) -> Int { verdicts.lazy.filter { $0 == v }.count }
    /// Distinct verdicts, the worst last.
    public var distinct: [V] { Set(verdicts).sorted() }
    public var changed: Bool { distinct.count > 1 }
    /// "XPASS 19, XFAIL 1": the most frequent first.
    public var countsText: String {
        distinct.map { ($0, count($0)) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            .map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
    }
}

extension Comparison.Verdict: Comparable {
    private var rank: Int { [.agree: 0, .skip: 1, .expectedDivergence: 2, .diverge: 3][self]! }
    public static func < (a: Comparison.Verdict, b: Comparison.Verdict) -> Bool { a.rank < b.rank }
}

/// One payload run `times` times on every backend.
public struct RepeatedReport: Sendable {
    public var qualifiedName: String
    /// Per backend, in the order the backends were given.
    public var backends: [(name: String, tally: VerdictTally<Verdict>)]
    /// Present when two backends ran.
    public var comparison: VerdictTally<Comparison.Verdict>?
    /// Checks whose own verdict was not the same in every run although the payload's could
    /// be (an XFAIL check that sometimes passes under a payload-wide entry): per backend, one
    /// line each, e.g. `check 2: PASS 19, XFAIL 1 (CPUID.1H:EBX at CPL3 = at CPL0 ...)`.
    public var checkChanges: [(backend: String, text: String)] = []

    public var changed: Bool {
        backends.contains { $0.tally.changed } || comparison?.changed == true || !checkChanges.isEmpty
    }
    /// A run failed unexpectedly or the backends diverged unexpectedly in at least one run.
    public var unexpectedFailure: Bool {
        backends.contains { $0.tally.count(.fail) > 0 } || (comparison?.count(.diverge) ?? 0) > 0
    }
    public var unexpectedPass: Bool { backends.contains { $0.tally.count(.xpass) > 0 } }

    init(_ runs: [PayloadReport]) {
        qualifiedName = runs.first?.qualifiedName ?? ""
        backends = (runs.first?.results ?? []).indices.map { i in
            var t = VerdictTally<Verdict>()
            for r in runs { let res = r.results[i]; t.add(res.verdict, why: Self.why(res)) }
            return (runs[0].results[i].backend, t)
        }
        for i in (runs.first?.results ?? []).indices {
            let name = runs[0].results[i].backend
            let perRun = runs.map { $0.results[i].lines }
            let fewest = perRun.map(\.count).min() ?? 0, most = perRun.map(\.count).max() ?? 0
            if fewest != most { checkChanges.append((name, "the number of checks varies: \(fewest) to \(most)")) }
            for k in 0..<fewest {
                var counts: [Verdict: Int] = [:]
                for lines in perRun { counts[lines[k].verdict, default: 0] += 1 }
                guard counts.count > 1 else { continue }
                let tally = counts.keys.sorted().map { "\($0.rawValue) \(counts[$0]!)" }.joined(separator: ", ")
                let text = Self.withoutRecordedReason(perRun[0][k].text)
                checkChanges.append((name, "check \(k + 1): \(tally) (\(text))"))
            }
        }
        if runs.first?.comparison != nil {
            var t = VerdictTally<Comparison.Verdict>()
            for r in runs {
                guard let c = r.comparison else { continue }
                let why = ([c.differingAspects.joined(separator: ", ")] + c.details.prefix(1))
                    .filter { !$0.isEmpty }.joined(separator: "; ")
                t.add(c.verdict, why: why)
            }
            comparison = t
        }
    }

    /// The first line that carries the run's verdict (for PASS: nothing to explain), without
    /// the recorded divergence's reason (the single-run report prints it).
    static func why(_ r: PayloadResult) -> String {
        guard r.verdict != .pass else { return "" }
        return withoutRecordedReason(r.lines.first { $0.verdict == r.verdict }?.text ?? r.lines.first?.text ?? "")
    }

    static func withoutRecordedReason(_ text: String) -> String {
        for marker in [" [known divergence of ", " [recorded as a divergence of "] {
            if let r = text.firstRange(of: marker) { return String(text[..<r.lowerBound]) }
        }
        return text
    }
}

extension SuiteRunner {
    /// Every payload `times` times on every backend, `jobs` runs at a time. The runs go round
    /// the selection (all payloads once, then all again, ...) so that the repetitions of one
    /// payload meet different moments of host load. Reports in the order of `payloads`.
    public func runRepeated(_ payloads: [Payload], times: Int, on backends: [(name: String, hypervisor: any Hypervisor)],
                            jobs: Int = 1) -> [RepeatedReport] {
        precondition(times >= 1)
        for b in backends { _ = b.hypervisor.identity }
        let cpuid = Self.sharedCPUID(backends)
        let box = BackendsBox(backends)
        let total = payloads.count * times
        let slots = ResultSlots<PayloadReport>(count: total)
        let workers = max(1, min(jobs, total))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var k = worker
            while k < total {
                var r = run(payloads[k % payloads.count], on: box.backends, cpuid: cpuid)
                // Only the verdicts and their first lines are kept: traces of thousands of runs add up.
                for i in r.results.indices { r.results[i].outcome = nil }
                slots.set(k, r)
                k += workers
            }
        }
        let all = slots.all
        return payloads.indices.map { p in
            RepeatedReport(stride(from: p, to: total, by: payloads.count).map { all[$0] })
        }
    }
}

/// Text for `--repeat`: one line per payload and backend (and comparison) with the count of
/// each verdict; `CHANGED` where the verdict was not the same in every run, with the first
/// run of each verdict and why.
public enum RepeatReport {
    public static func lines(_ r: RepeatedReport, runs: Int) -> [String] {
        var out: [String] = []
        func add<V>(_ t: VerdictTally<V>, _ label: String) {
            if t.changed {
                out.append("CHANGED \(r.qualifiedName) [\(label)]: \(t.countsText) in \(runs) runs")
                for v in t.distinct { if let f = t.firstSeen[v] {
                    out.append("    \(v.rawValue) first in run \(f.run + 1)" + (f.why.isEmpty ? "" : ": \(f.why)"))
                } }
            } else if let v = t.distinct.first {
                let why = t.firstSeen[v]?.why ?? ""
                out.append("STABLE \(v.rawValue) \(r.qualifiedName) [\(label)]: \(runs) of \(runs)" + (why.isEmpty ? "" : " (\(why))"))
            }
        }
        for b in r.backends {
            add(b.tally, b.name)
            for c in r.checkChanges where c.backend == b.name {
                out.append("CHANGED CHECK \(r.qualifiedName) [\(b.name)] \(c.text) in \(runs) runs")
            }
        }
        if let c = r.comparison { add(c, "comparison") }
        return out
    }

    /// The exit status rule of `--repeat`: any run that failed or diverged unexpectedly fails
    /// the whole run; with `strict`, so does an XPASS or a verdict that changed.
    public static func failed(_ reports: [RepeatedReport], strict: Bool) -> Bool {
        reports.contains { $0.unexpectedFailure || (strict && ($0.unexpectedPass || $0.changed)) }
    }

    /// `REPEAT SUMMARY: 70 payloads x 20 runs: 1 changed verdicts (irq.x [kvm]), 0 changed check verdicts, 0 unexpected failures, ...`
    public static func summary(_ reports: [RepeatedReport], runs: Int) -> String {
        var changed: [String] = []
        var failures = 0, divergences = 0, xpasses = 0, changedChecks = 0
        for r in reports {
            changedChecks += r.checkChanges.count
            for b in r.backends {
                if b.tally.changed { changed.append("\(r.qualifiedName) [\(b.name)]") }
                failures += b.tally.count(.fail)
                xpasses += b.tally.count(.xpass)
            }
            if let c = r.comparison {
                if c.changed { changed.append("\(r.qualifiedName) [comparison]") }
                divergences += c.count(.diverge)
            }
        }
        var s = "REPEAT SUMMARY: \(reports.count) payloads x \(runs) runs: \(changed.count) changed verdicts"
        if !changed.isEmpty { s += " (\(changed.joined(separator: ", ")))" }
        s += ", \(changedChecks) changed check verdicts"
        s += ", \(failures) unexpected failures, \(divergences) unexpected divergences, \(xpasses) unexpected passes"
        return s
    }
}
