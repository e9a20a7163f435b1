import HostKVM
import KVMABI

/// The implementations the suite can run payloads on.
public enum BackendKind: String, CaseIterable, Sendable {
    /// The host's KVM device (`/dev/kvm` or `--device`).
    case kvm
    /// The reference engine.
    case ref
}

/// Why a backend cannot be used, in one line for the user.
public struct BackendUnavailable: Error, CustomStringConvertible {
    public let description: String
}

public enum Backends {
    /// Opens the host KVM device, turning every failure into one clear sentence.
    public static func openHost(device: String = "/dev/kvm") throws(BackendUnavailable) -> HostHypervisor {
        do {
            return try HostHypervisor(devicePath: device)
        } catch {
            let why: String
            switch error.errno {
            case Errno.ENOENT: why = "does not exist (is the kvm module loaded?)"
            case Errno.EACCES, Errno.EPERM: why = "is not accessible: permission denied (run as root or join the kvm group)"
            case Errno.ENOTTY, Errno.EINVAL: why = "is not a KVM device (\(error.operation) failed)"
            case Errno.ENXIO, Errno.ENODEV: why = "has no device behind it"
            default: why = "cannot be used (\(error.operation) failed)"
            }
            throw BackendUnavailable(description: "\(device) \(why): errno \(error.errno) \(error.name)")
        }
    }
}
