import GuestPayloads
import HostKVM
import KVMABI
import PayloadFormat

/// What the group test targets (Tests/Exits, MMU, Emulator, IRQ) share: the backends that
/// are usable here, and one payload run judged, with the reason to print when it is a
/// recorded divergence or a skip.
public enum GroupTesting {
    /// The host KVM, opened once per test process; nil with the reason when unusable.
    nonisolated(unsafe) public static let host: (hypervisor: HostHypervisor?, reason: String) = {
        do throws(BackendUnavailable) { return (try Backends.openHost(), "") } catch { return (nil, "\(error.description): kvm runs skipped") }
    }()

    public static func names(_ group: PayloadHeader.Group) -> [String] { Catalogue.group(group).map(\.name) }

    /// Runs the payload named `name` on `hypervisor` and returns its judged result.
    public static func run(_ name: String, on hypervisor: any Hypervisor, backend: String) -> PayloadResult? {
        guard let p = Catalogue.named(name) else { return nil }
        return SuiteRunner().run(p, on: hypervisor, backend: backend)
    }

    /// The report lines of a result, for the test log.
    public static func describe(_ r: PayloadResult) -> String {
        TextReport.lines(r, verbose: false).joined(separator: "\n")
    }
}
