import KVMABI

/// `kvm-unit trace --backend ref` prints the VMX exits behind each KVM exit.
extension RefVCPU: HardwareExitTracing {
    public var hardwareTraceEnabled: Bool {
        get { vmxTraceEnabled }
        set { vmxTraceEnabled = newValue }
    }

    public func takeHardwareTrace() -> [String] { takeVMXTrace().map { "VMX " + $0.description } }
}
