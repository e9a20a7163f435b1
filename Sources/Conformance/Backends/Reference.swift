import KVMABI

extension Backends {
    /// The reference engine. (Wired to RefHypervisor when the engine target lands.)
    public static func openReference() throws(BackendUnavailable) -> any Hypervisor {
        throw BackendUnavailable(description: "the reference engine is not part of this build yet")
    }
}
