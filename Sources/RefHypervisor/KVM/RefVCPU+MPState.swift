import KVMABI

/// KVM_GET/SET_MP_STATE: the vCPU's run state as KVM keeps it in vcpu->arch.mp_state, made
/// here of `uninitialized`, `waitingForSIPI` and the CPU's halt.
extension RefVCPU {
    /// kvm_arch_vcpu_ioctl_get_mpstate (arch/x86/kvm/x86.c): pending INIT/SIPI are accepted
    /// first (kvm_apic_accept_events), so an AP that was sent INIT reads INIT_RECEIVED.
    public func mpState() throws(KVMError) -> MPState {
        quietEntry = false
        guard !closed else { throw KVMError(errno: Errno.EBADF, operation: "KVM_GET_MP_STATE") }
        if let chip {
            // An UNINITIALIZED AP becomes INIT_RECEIVED by accepting an INIT; a SIPI alone
            // is dropped (it only starts a vCPU in INIT_RECEIVED).
            if chip.hasPendingINIT(vcpu: index) { uninitialized = false }
            acceptINITAndSIPI(chip)
        }
        if uninitialized { return .uninitialized }
        if waitingForSIPI { return .initReceived }
        if cpu.halted { return apResetHold ? .apResetHold : .halted }
        return .runnable
    }

    /// kvm_arch_vcpu_ioctl_set_mpstate: RUNNABLE always; the others only with an in-kernel
    /// LAPIC; any other number is EINVAL. SIPI_RECEIVED is stored as INIT_RECEIVED with the
    /// last start-up vector pending. (No SMM in this engine, so kvm_apic_init_sipi_allowed
    /// always holds.)
    public func setMPState(_ state: MPState) throws(KVMError) {
        quietEntry = false
        guard !closed else { throw KVMError(errno: Errno.EBADF, operation: "KVM_SET_MP_STATE") }
        switch state {
        case .runnable: break
        case .uninitialized, .halted, .apResetHold, .initReceived, .sipiReceived:
            guard chip != nil else { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_MP_STATE") }
        default:
            throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_MP_STATE")
        }
        uninitialized = state == .uninitialized
        waitingForSIPI = state == .uninitialized || state == .initReceived || state == .sipiReceived
        if state == .sipiReceived, let chip { chip.setPendingSIPI(vcpu: index, vector: sipiVector) }
        cpu.halted = state == .halted || state == .apResetHold
        apResetHold = state == .apResetHold
        cpu.eventCheck = true   // kvm_make_request(KVM_REQ_EVENT)
    }
}
