import KVMABI

/// A backend as the reports name it: the run's name for it (`kvm`, `ref`) and the identity
/// of the implementation behind it, as separate fields a CI can match on.
public struct ReportedBackend: Sendable, Equatable {
    /// `kvm` or `ref`: the name the test points carry.
    public var name: String
    /// The vendor module (`kvm_intel`, `kvm_pvm`, ...) or `ref`.
    public var implementation: String
    /// `uname -r` of the host, or the reference engine's version.
    public var kernel: String
    public var apiVersion: Int32
    /// The device node, or `(software)`.
    public var device: String
    /// What the guest read with CPUID against the KVM_SET_CPUID2 table (nil: not measured),
    /// and for each difference the reason of the known divergence that records it.
    public var guestCPUID: GuestVisibleCPUID?
    public var guestCPUIDRecorded: [String?] = []

    public init(name: String, implementation: String, kernel: String, apiVersion: Int32, device: String) {
        self.name = name; self.implementation = implementation; self.kernel = kernel
        self.apiVersion = apiVersion; self.device = device
    }

    public init(name: String, identity: ImplementationIdentity, guestCPUID: GuestVisibleCPUID? = nil,
                divergences: KnownDivergences = .builtIn) {
        self.init(name: name, implementation: identity.implementation, kernel: identity.kernelRelease,
                  apiVersion: identity.apiVersion, device: identity.device)
        self.guestCPUID = guestCPUID
        guestCPUIDRecorded = guestCPUID?.differences.map { guestCPUID?.entry(for: $0, in: divergences)?.reason } ?? []
    }

    /// The guest-visible CPUID in one line (TAP comment, JUnit property).
    public var guestCPUIDLine: String? {
        guard let g = guestCPUID else { return nil }
        if let f = g.failure { return "not measured: \(f)" }
        if g.differences.isEmpty { return "= the KVM_SET_CPUID2 table (\(g.leavesRead) leaves at CPL0 and CPL3)" }
        let recorded = guestCPUIDRecorded.filter { $0 != nil }.count
        return "differs from the KVM_SET_CPUID2 table in \(g.differences.count) registers (\(recorded) recorded): "
            + g.differences.map(\.description).joined(separator: ", ")
    }

    /// `kvm: implementation=kvm_pvm kernel=6.18.44 api_version=12 device=/dev/kvm`
    public var line: String {
        "\(name): implementation=\(implementation) kernel=\(kernel) api_version=\(apiVersion) device=\(device)"
    }
}
