import GuestPayloads
import KVMABI

extension SuiteRunner {
    /// The migrated runs of one payload (`kvm-unit run --migrate`), each compared with a
    /// plain run: on every backend, the payload migrated within that backend against its
    /// plain run there; with two backends whose plain runs agree, also back and forth
    /// between them, once starting on each, against the plain run on the backend it
    /// started on.
    func migratedRuns(_ payload: Payload, on backends: [(name: String, hypervisor: any Hypervisor)], cpuid: [CPUIDEntry]?,
                      plain: PayloadReport, every: Int) -> [Comparison] {
        var out: [Comparison] = []
        for (i, b) in backends.enumerated() {
            let label = "\(b.name) migrated every \(Self.exits(every)) within \(b.name)"
            out.append(migrated(payload, start: b, targets: [b.hypervisor], cpuid: cpuid, plain: plain.results[i],
                                label: label, every: every, implementations: [b.hypervisor.identity.implementation]))
        }
        guard backends.count >= 2 else { return out }
        let implementations = backends.prefix(2).map { $0.hypervisor.identity.implementation }
        for (i, j) in [(0, 1), (1, 0)] {
            let (a, b) = (backends[i], backends[j])
            let label = "\(a.name) migrated every \(Self.exits(every)) to \(b.name) and back"
            // Only where the plain runs agree is the other backend's behaviour the same as
            // the one the comparison is against.
            if let c = plain.comparison, c.verdict != .agree {
                out.append(Comparison(verdict: .skip, differingAspects: [],
                                      details: ["the plain runs on \(a.name) and \(b.name) do not agree (\(c.verdict.rawValue)): a migration between them is not comparable"],
                                      reason: nil, label: label))
                continue
            }
            out.append(migrated(payload, start: a, targets: [b.hypervisor, a.hypervisor], cpuid: cpuid, plain: plain.results[i],
                                label: label, every: every, implementations: implementations, crossBackend: true))
        }
        return out
    }

    static func exits(_ n: Int) -> String { n == 1 ? "exit" : "\(n) exits" }

    private func migrated(_ payload: Payload, start: (name: String, hypervisor: any Hypervisor), targets: [any Hypervisor],
                          cpuid: [CPUIDEntry]?, plain: PayloadResult, label: String, every: Int,
                          implementations: [String], crossBackend: Bool = false) -> Comparison {
        // A payload that ran but skipped its checks still has an outcome to compare.
        guard let before = plain.outcome else {
            return Comparison(verdict: .skip, differingAspects: [], details: ["the plain run on \(start.name) was skipped"],
                              reason: nil, label: label)
        }
        let result = run(payload, on: start.hypervisor, backend: start.name, cpuid: cpuid,
                         migration: MigrationPlan(every: every, targets: targets))
        guard let after = result.outcome else {
            return Comparison(verdict: .skip, differingAspects: [], details: ["the migrated run did not start: \(result.skipReason)"],
                              reason: nil, label: label)
        }
        let name = "\(start.name)+migrate"
        var (aspects, details) = OutcomeComparison.compare(before, after, names: (start.name, name),
                                                           invariantsOnly: Self.invariantsOnly(payload, before))
        let summary = "\(after.migrations) migration\(after.migrations == 1 ? "" : "s")"
            + (after.migrationNotes.isEmpty ? "" : "; not carried over: " + after.migrationNotes.joined(separator: "; "))
        details.append(summary)
        // A recorded entry names the aspect as `migrate:ASPECT` for the implementation
        // that loses the state (guests/known-divergences.txt). A run that went back and
        // forth between backends is also part one, part the other: an aspect recorded as
        // differing between them in the plain comparison (kvm_pvm's uncounted io_exits)
        // differs here too.
        func entry(_ aspect: String) -> KnownDivergences.Entry? {
            implementations.lazy.compactMap { impl in
                self.divergences.aspectEntry(implementation: impl, payload: payload, aspect: "migrate:" + aspect)
                    ?? self.divergences.aspectEntry(implementation: impl, payload: payload, aspect: "migrate:*")
                    ?? (crossBackend ? self.divergences.aspectEntry(implementation: impl, payload: payload, aspect: aspect) : nil)
            }.first
        }
        let recorded = aspects.compactMap(entry)
        let unrecorded = aspects.filter { entry($0) == nil }
        let reasons = Dictionary(recorded.map { ($0.key, $0.reason) }, uniquingKeysWith: { a, _ in a })
        let verdict: Comparison.Verdict = aspects.isEmpty ? .agree : unrecorded.isEmpty ? .expectedDivergence : .diverge
        return Comparison(verdict: verdict, differingAspects: verdict == .diverge ? unrecorded : aspects, details: details,
                          reason: recorded.isEmpty ? nil : recorded.map { "\($0.key): \($0.reason)" }.joined(separator: "; "),
                          recorded: recorded.map(\.key), recordedReasons: reasons, label: label)
    }
}
