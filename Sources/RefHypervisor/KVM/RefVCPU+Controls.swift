import KVMABI

// KVM_ENABLE_CAP and the device attributes of the vCPU fd (Linux 6.1 x86.c
// kvm_vcpu_ioctl_enable_cap, kvm_vcpu_ioctl_device_attr), and the completion of the
// userspace MSR and hypercall exits (complete_fast_rdmsr, complete_hypercall_exit).

extension RefVCPU {
    /// kvm_vcpu_ioctl_enable_cap: flags must be 0; KVM_CAP_ENFORCE_PV_FEATURE_CPUID is the
    /// one capability outside Hyper-V (out of scope, EINVAL here as for any unknown one).
    public func enableCap(_ cap: EnableCap) throws(KVMError) {
        quietEntry = false
        let op = "KVM_ENABLE_CAP (vCPU)"
        try checkOpen(op)
        if cap.flags != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        switch cap.capability {
        case .enforcePvFeatureCpuid:
            cpu.enforcePVFeatureCPUID = cap.args[0] != 0
        default:
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
    }

    /// kvm_vcpu_ioctl_device_attr: only group KVM_VCPU_TSC_CTRL (0), attribute
    /// KVM_VCPU_TSC_OFFSET (0); ENXIO for anything else.
    private func tscAttribute(_ a: DeviceAttribute, _ op: String) throws(KVMError) {
        try checkOpen(op)
        if a.group != 0 || a.attribute != 0 { throw KVMError(errno: Errno.ENXIO, operation: op) }
    }

    public func hasDeviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) {
        quietEntry = false
        try tscAttribute(attribute, "KVM_HAS_DEVICE_ATTR")
    }

    /// kvm_arch_tsc_get_attr: vcpu->arch.l1_tsc_offset, the guest TSC minus the host's;
    /// the engine's host TSC is its virtual clock, so this is the offset RDTSC adds to it.
    public func deviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) -> UInt64 {
        quietEntry = false
        try tscAttribute(attribute, "KVM_GET_DEVICE_ATTR")
        return cpu.tscOffset
    }

    /// kvm_arch_tsc_set_attr: __kvm_synchronize_tsc with the given offset.
    public func setDeviceAttribute(_ attribute: DeviceAttribute, value: UInt64) throws(KVMError) {
        quietEntry = false
        try tscAttribute(attribute, "KVM_SET_DEVICE_ATTR")
        cpu.tscOffset = value
        cpu.devices?.setTSCOffset(vcpu: index, offset: value, now: cpu.now)
        cpu.eventCheck = true
    }

    /// kvm_run.msr.error / .data, read by the RDMSR/WRMSR when it runs again.
    public func completeMSR(error: Bool, data: UInt64) {
        quietEntry = false
        if cpu.msrCompletion != nil { cpu.msrCompletion = (error, data) }
    }

    /// kvm_run.hypercall.ret, given to the guest in RAX when the VMCALL completes.
    public func completeHypercall(ret: UInt64) {
        quietEntry = false
        if cpu.hypercallCompletion != nil { cpu.hypercallCompletion = ret }
    }
}
