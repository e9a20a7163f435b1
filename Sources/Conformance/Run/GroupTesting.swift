import Synchronization
import GuestPayloads
import HostKVM
import KVMABI
import PayloadFormat

/// What the group test targets (Tests/Exits, MMU, Emulator, IRQ) share: the backends that
/// are usable here, and a payload's verdict turned into a failure message (nil = fine).
public enum GroupTesting {
    /// The host KVM, opened once per test process; nil with the reason when unusable.
    nonisolated(unsafe) public static let host: (hypervisor: (any Hypervisor)?, reason: String) = {
        do throws(BackendUnavailable) { return (try Backends.openHost(), "") } catch { return (nil, "\(error.description): kvm runs skipped") }
    }()

    /// The reference engine; nil with the reason when it is not available.
    nonisolated(unsafe) public static let reference: (hypervisor: (any Hypervisor)?, reason: String) = {
        do throws(BackendUnavailable) { return (try Backends.openReference(), "") } catch { return (nil, "\(error.description): ref runs skipped") }
    }()

    public static var bothReason: String {
        [host.reason, reference.reason].filter { !$0.isEmpty }.joined(separator: "; ")
    }

    public static func names(_ group: PayloadHeader.Group) -> [String] { Catalogue.group(group).map(\.name) }

    /// Runs `name` on one backend. nil when it passed or failed only as a recorded
    /// divergence (whose reason is printed); otherwise the report lines, for the failure.
    public static func failure(_ name: String, on hypervisor: any Hypervisor, backend: String) -> String? {
        guard let p = Catalogue.named(name) else { return "no payload \(name)" }
        let r = SuiteRunner().run(p, on: hypervisor, backend: backend)
        let text = TextReport.lines(r, verbose: false).joined(separator: "\n")
        if r.verdict != .pass { print(text) }
        return r.verdict == .fail ? text : nil
    }

    /// The guest-visible CPUID of each pair of implementations, measured once per process.
    private static let cpuidSeen = Mutex<[String: [GuestVisibleCPUID]]>([:])
    static func measuredCPUID(_ backends: [(name: String, hypervisor: any Hypervisor)]) -> [GuestVisibleCPUID] {
        let key = backends.map(\.hypervisor.identity.implementation).joined(separator: "/")
        if let known = cpuidSeen.withLock({ $0[key] }) { return known }
        let seen = SuiteRunner.measureGuestCPUID(on: backends)
        cpuidSeen.withLock { $0[key] = seen }
        return seen
    }

    /// Runs `name` on kvm and ref and compares them. nil when they agree or diverge as
    /// recorded (printed); otherwise the report, for the failure.
    public static func divergence(_ name: String, host: any Hypervisor, reference: any Hypervisor) -> String? {
        guard let p = Catalogue.named(name) else { return "no payload \(name)" }
        let backends: [(name: String, hypervisor: any Hypervisor)] = [("kvm", host), ("ref", reference)]
        var runner = SuiteRunner()
        runner.guestCPUID = measuredCPUID(backends)
        let report = runner.run(p, on: backends, cpuid: SuiteRunner.sharedCPUID(backends))
        let text = TextReport.lines(report, verbose: false).joined(separator: "\n")
        if report.comparison?.verdict != .agree { print(text) }
        let bad = report.comparison?.verdict == .diverge || report.results.contains { $0.verdict == .fail }
        return bad ? text : nil
    }
}
