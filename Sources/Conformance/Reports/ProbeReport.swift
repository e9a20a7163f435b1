import KVMABI

/// `kvm-unit probe`: the implementation identity and the capability table.
public enum ProbeReport {
    public static func render(_ identity: ImplementationIdentity, showAbsent: Bool = true) -> String {
        var out = "implementation: \(identity.implementation)\n"
        out += "kernel:         \(identity.kernelRelease)\n"
        out += "device:         \(identity.device)\n"
        out += "api version:    \(identity.apiVersion)\n"
        let present = identity.capabilities.filter { $0.1 != 0 }
        out += "capabilities:   \(present.count) present of \(identity.capabilities.count) in the 6.1 header\n"
        let width = identity.capabilities.map { $0.0.name.count }.max() ?? 20
        for (cap, value) in identity.capabilities where showAbsent || value != 0 {
            let pad = String(repeating: " ", count: max(1, width - cap.name.count + 1))
            out += "  \(cap.name)\(pad)\(String(cap.rawValue).leftPadded(3))  \(value)\n"
        }
        return out
    }
}

extension String {
    /// Padded with spaces on the left to `width` (for right-aligned table columns).
    public func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
    /// Padded with spaces on the right to `width`.
    public func rightPadded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
