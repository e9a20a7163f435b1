import KVMABI

extension Backends {
    /// The backends `--backend` names: `kvm`, `ref`, or `both` (kvm first, compared with ref).
    /// Without a choice: both when the KVM device is usable, otherwise ref alone; but a
    /// device the user named (`deviceGiven`) must open: a typo in `--device` silently
    /// testing only the engine would pass for a conformant port.
    /// `note` receives one line when the default choice falls back to ref alone.
    public static func open(_ choice: String?, device: String, deviceGiven: Bool = false, note: (String) -> Void = { _ in })
        throws(BackendUnavailable) -> [(name: String, hypervisor: any Hypervisor)] {
        switch choice {
        case "kvm": return [("kvm", try openHost(device: device))]
        case "ref": return [("ref", try openReference())]
        case "both": return [("kvm", try openHost(device: device)), ("ref", try openReference())]
        case nil where deviceGiven:
            return [("kvm", try openHost(device: device)), ("ref", try openReference())]
        case nil:
            let ref = try openReference()
            do throws(BackendUnavailable) {
                return [("kvm", try openHost(device: device)), ("ref", ref)]
            } catch {
                note("kvm-unit: \(error.description): running on ref only")
                return [("ref", ref)]
            }
        case let other?:
            throw BackendUnavailable(description: "unknown backend \"\(other)\": want kvm, ref or both")
        }
    }
}
