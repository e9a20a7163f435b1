/// Which KVM implementation a result was obtained on. Printed with every result.
public struct ImplementationIdentity: Sendable, Equatable {
    /// The vendor module (`kvm_intel`, `kvm_amd`, `kvm_pvm`, ...), or `ref` for the reference engine.
    public var implementation: String
    /// `uname -r` of the host, or the reference engine's version.
    public var kernelRelease: String
    /// The device node (`/dev/kvm`), or `(software)`.
    public var device: String
    public var apiVersion: Int32
    /// Every capability of the 6.1 header with its KVM_CHECK_EXTENSION value on the system fd.
    public var capabilities: [(Capability, Int32)]

    public init(implementation: String, kernelRelease: String, device: String, apiVersion: Int32,
                capabilities: [(Capability, Int32)]) {
        self.implementation = implementation; self.kernelRelease = kernelRelease; self.device = device
        self.apiVersion = apiVersion; self.capabilities = capabilities
    }

    /// `kvm_pvm (Linux 6.18.44, API 12, /dev/kvm)`
    public var summary: String { "\(implementation) (\(kernelRelease), API \(apiVersion), \(device))" }

    public func value(of capability: Capability) -> Int32 {
        capabilities.first { $0.0 == capability }?.1 ?? 0
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.implementation == b.implementation && a.kernelRelease == b.kernelRelease && a.device == b.device
            && a.apiVersion == b.apiVersion
            && a.capabilities.map { $0.0.rawValue } == b.capabilities.map { $0.0.rawValue }
            && a.capabilities.map(\.1) == b.capabilities.map(\.1)
    }
}
