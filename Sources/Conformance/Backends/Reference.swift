import KVMABI
import RefHypervisor

extension Backends {
    /// The reference engine: KVM on Intel VMX with EPT, in software.
    public static func openReference() throws(BackendUnavailable) -> any Hypervisor {
        RefHypervisor()
    }
}
