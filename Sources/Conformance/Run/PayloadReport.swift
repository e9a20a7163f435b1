import GuestPayloads
import KVMABI

/// A payload's runs on every backend of the run, and their comparison.
public struct PayloadReport: Sendable, Codable {
    public var payload: String
    public var group: String
    public var results: [PayloadResult]
    /// Present when two backends ran.
    public var comparison: Comparison?
    /// `kvm-unit run --migrate`: each migrated run compared with a plain one (labelled).
    public var migrations: [Comparison] = []

    public var qualifiedName: String { "\(group).\(payload)" }
}

extension SuiteRunner {
    /// Runs `payload` on every backend and compares the outcomes of the first two.
    ///
    /// Both backends get the same CPUID table (what both support: `sharedCPUID`), so that
    /// CPUID-dependent guest state is comparable.
    public func run(_ payload: Payload, on backends: [(name: String, hypervisor: any Hypervisor)],
                    cpuid: [CPUIDEntry]?) -> PayloadReport {
        let results = backends.map { run(payload, on: $0.hypervisor, backend: $0.name, cpuid: cpuid) }
        var report = PayloadReport(payload: payload.name, group: payload.group.description, results: results, comparison: nil)
        if results.count >= 2 { report.comparison = compare(results[0], results[1], payload: payload) }
        if let every = migrateEvery {
            report.migrations = migratedRuns(payload, on: backends, cpuid: cpuid, plain: report, every: every)
        }
        return report
    }

    /// Whether two outcomes of `payload` are compared by their invariants only (the end and
    /// the checks): interrupts from timers and from host requests arrive when the backend's
    /// timing lets them, and several vCPUs interleave as the host schedules them.
    static func invariantsOnly(_ payload: Payload, _ outcome: Outcome) -> Bool {
        payload.header.flags.contains(.irqchip) || payload.header.flags.contains(.pit)
            || payload.header.vcpuCount > 1
            || outcome.hostRequests > 0
            || outcome.trace.contains { $0.exit == "KVM_EXIT_IO" && $0.address == UInt64(ABIPort.hostRequest) && !$0.note.hasPrefix("memslot") }
    }

    func compare(_ a: PayloadResult, _ b: PayloadResult, payload: Payload) -> Comparison {
        guard let oa = a.outcome, let ob = b.outcome else {
            return Comparison(verdict: .skip, differingAspects: [], details: ["not run on both backends"], reason: nil)
        }
        // Compare what arrived (the checks), not how many polls it took (invariantsOnly).
        let invariantsOnly = Self.invariantsOnly(payload, oa)
        let (aspects, details) = OutcomeComparison.compare(oa, ob, names: (a.backend, b.backend), invariantsOnly: invariantsOnly)
        if aspects.isEmpty { return Comparison(verdict: .agree, differingAspects: [], details: [], reason: nil) }

        // Each differing aspect is judged by itself: recorded for one of the implementations
        // (by payload, group, mode or `*`), or not.
        let impls = [a.implementation, b.implementation]
        let recorded = aspects.compactMap { aspect in
            impls.lazy.compactMap { divergences.aspectEntry(implementation: $0, payload: payload, aspect: aspect) }.first
        }
        let unrecorded = aspects.filter { aspect in !recorded.contains { $0.what == .aspect(aspect) } }
        let recordedText = recorded.isEmpty ? nil : "recorded: " + recorded.map(\.key).joined(separator: ", ")
        let reasons = Dictionary(recorded.map { ($0.key, $0.reason) }, uniquingKeysWith: { a, _ in a })

        // A side that failed as a recorded divergence explains the rest of the difference.
        for r in [a, b] where r.verdict == .xfail {
            let reason = r.lines.first { $0.verdict == .xfail }?.text ?? "recorded divergence"
            return Comparison(verdict: .expectedDivergence, differingAspects: aspects, details: details,
                              reason: "\(r.implementation) fails as recorded: \(reason)", recorded: recorded.map(\.key), recordedReasons: reasons)
        }
        // Everything that is not recorded agrees: the payload agrees, with its recorded
        // aspects listed beside it.
        if unrecorded.isEmpty {
            return Comparison(verdict: .agree, differingAspects: aspects, details: details, reason: recordedText,
                              recorded: recorded.map(\.key), recordedReasons: reasons)
        }
        // The guests may have read different CPUID (measured at the start of the run): a
        // payload that checks a feature then takes another branch on each side. Recorded
        // CPUID differences explain the divergence; unrecorded ones are named beside it.
        let misled = guestCPUID.filter { $0.mayHaveMisled(payload) }
        if !misled.isEmpty {
            let cpuidRecorded = misled.allSatisfy { $0.unrecorded(divergences).isEmpty }
            let account = "the guests may have read different CPUID (\(misled.map { $0.summary(cplFirst: payload.header.mode == .user64 ? 3 : 0) }.joined(separator: "; ")); see the header)"
            if cpuidRecorded {
                return Comparison(verdict: .expectedDivergence, differingAspects: aspects, details: details,
                                  reason: account + ", recorded as a divergence of " + misled.map(\.implementation).joined(separator: ", "),
                                  recorded: recorded.map(\.key), recordedReasons: reasons)
            }
            return Comparison(verdict: .diverge, differingAspects: unrecorded, details: details,
                              reason: [recordedText, account].compactMap { $0 }.joined(separator: "; "),
                              recorded: recorded.map(\.key), recordedReasons: reasons)
        }
        return Comparison(verdict: .diverge, differingAspects: unrecorded, details: details, reason: recordedText,
                          recorded: recorded.map(\.key), recordedReasons: reasons)
    }
}
