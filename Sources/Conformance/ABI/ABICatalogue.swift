import KVMABI

/// Every ABI check, grouped by the ioctls they exercise (one file per area).
public enum ABICatalogue {
    public static var all: [ABICheck] {
        systemChecks + memslotChecks + vcpuChecks + irqchipChecks + cpuidChecks + sregsChecks + eventChecks + msrChecks + runChecks
            + gprChecks + sregsFieldChecks + msrRoundTrips + eventRoundTrips + mpStateChecks + saveRestoreChecks + vmDeviceChecks + mceChecks + lapicChecks + irqchipStateChecks + pitStateChecks + sregs2Checks
            + enableCapChecks + msrFilterChecks + hypercallChecks + dirtyClearChecks + lineStatusChecks + attributeChecks + setMCEChecks + ioeventfdChecks + irqfdChecks + coalescedChecks
            + runFieldChecks + xsaveChecks + gsiRoutingChecks
    }
}

/// The verdict of one check on one backend, judged against Linux's answer and the
/// known-divergence table (`abi=NAME` entries).
public struct ABIResult: Sendable {
    public var check: String
    public var backend: String
    public var implementation: String
    public var expected: ABIAnswer
    public var answer: ABIAnswer
    public var verdict: Verdict
    /// The recorded divergence's reason for XFAIL/XPASS.
    public var reason: String?

    /// `PASS abi.memslot.overlap [kvm]`, or with what differed and the citation.
    public func line(_ check: ABICheck) -> String {
        let head = "\(verdict.rawValue) abi.\(self.check) [\(backend)]"
        switch verdict {
        case .pass: return head
        case .fail: return "\(head): \(check.title): got \(answer), Linux answers \(expected) (\(check.citation))"
        case .xfail: return "\(head): got \(answer), Linux answers \(expected) [known divergence of \(implementation): \(reason ?? "")]"
        case .xpass: return "\(head): answered as Linux does, but recorded as a divergence of \(implementation): \(reason ?? "")"
        case .skip: return "\(head): \(answer)"
        }
    }
}

public enum ABIRunner {
    /// Runs every check on `hypervisor`.
    public static func run(_ checks: [ABICheck], on hypervisor: any Hypervisor, backend: String,
                           divergences: KnownDivergences) -> [ABIResult] {
        let implementation = hypervisor.identity.implementation
        return checks.map { c in
            let answer = c.run(on: hypervisor)
            let entry = divergences.abiEntry(implementation: implementation, check: c.name)
            let verdict: Verdict
            if case .setupFailed = answer {
                verdict = entry == nil ? .fail : .xfail
            } else if answer == c.expected {
                verdict = entry == nil ? .pass : .xpass
            } else {
                verdict = entry == nil ? .fail : .xfail
            }
            return ABIResult(check: c.name, backend: backend, implementation: implementation, expected: c.expected,
                             answer: answer, verdict: verdict, reason: entry?.reason)
        }
    }
}
