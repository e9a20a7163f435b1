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

    public init(name: String, implementation: String, kernel: String, apiVersion: Int32, device: String) {
        self.name = name; self.implementation = implementation; self.kernel = kernel
        self.apiVersion = apiVersion; self.device = device
    }

    public init(name: String, identity: ImplementationIdentity) {
        self.init(name: name, implementation: identity.implementation, kernel: identity.kernelRelease,
                  apiVersion: identity.apiVersion, device: identity.device)
    }

    /// `kvm: implementation=kvm_pvm kernel=6.18.44 api_version=12 device=/dev/kvm`
    public var line: String {
        "\(name): implementation=\(implementation) kernel=\(kernel) api_version=\(apiVersion) device=\(device)"
    }
}
