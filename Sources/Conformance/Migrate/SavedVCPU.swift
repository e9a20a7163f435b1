import KVMABI

/// Everything of one vCPU a VMM saves to move it into another VM (issue 9, "save/restore
/// of every payload"): the state KVM gives userspace through the vCPU fd, in the order
/// QEMU's kvm_arch_get_registers reads it.
///
/// The vCPU must have completed the exit userspace last handled (a KVM_RUN with
/// immediate_exit: Documentation/virt/kvm/api.rst, "KVM_RUN", and kvm_arch_vcpu_ioctl_run),
/// or an I/O instruction would be half done in what is saved.
struct SavedVCPU {
    var regs: Regs
    var sregs2: SpecialRegisters2?
    /// Only without KVM_CAP_SREGS2 (which also carries the PAE PDPTEs).
    var sregs: SpecialRegisters?
    /// KVM_GET_FPU: only where a backend lacks KVM_CAP_XSAVE. It is no save format on an
    /// XSAVE host: it has no MXCSR, and KVM_SET_FPU leaves XSTATE_BV alone, so on a new vCPU
    /// the next KVM_RUN gives the guest the init x87 and SSE state (`xsave.set_fpu_guest_sees_init`).
    var fpu: FPU?
    /// KVM_GET_XSAVE, as QEMU saves the FPU on an XSAVE host.
    var xsave: XSaveState?
    var xcrs: XCRs?
    var msrs: [MSREntry]
    var lapic: LAPICState?
    var events: VCPUEvents
    var mpState: MPState
    var debugRegisters: DebugRegisters

    /// Reads `vcpu`'s state. `msrIndices` is the source's KVM_GET_MSR_INDEX_LIST; an MSR the
    /// vCPU will not read (KVM_GET_MSRS stops at it) is left out and named in `notes`.
    static func save(_ vcpu: any VirtualCPU, msrIndices: [UInt32], hasSregs2: Bool, hasXSave: Bool, hasXCRs: Bool, hasLAPIC: Bool,
                     notes: inout [String]) throws(KVMError) -> SavedVCPU {
        let regs = try vcpu.regs()
        let sregs2 = hasSregs2 ? try vcpu.sregs2() : nil
        let sregs = hasSregs2 ? nil : try vcpu.sregs()
        let xsave = hasXSave ? try vcpu.xsave() : nil
        let fpu = hasXSave ? nil : try vcpu.fpu()
        let xcrs = hasXCRs ? try vcpu.xcrs() : nil
        var msrs: [MSREntry] = []
        var rest = msrIndices[...]
        while !rest.isEmpty {
            // KVM_GET_MSRS returns how many it read, stopping at the first it cannot
            // (x86.c __msr_io): skip that one and read on.
            let got = try vcpu.msrs(Array(rest))
            msrs += got
            rest = rest.dropFirst(got.count)
            if let unreadable = rest.first {
                notes.append("vCPU \(vcpu.id): MSR 0x\(String(unreadable, radix: 16)) of the index list does not read")
                rest = rest.dropFirst()
            }
        }
        let lapic = hasLAPIC ? try vcpu.lapic() : nil
        // KVM_GET_MP_STATE first accepts a pending INIT/SIPI (kvm_apic_accept_events), which
        // changes what KVM_GET_VCPU_EVENTS then reports: read it before the events.
        let mpState = try vcpu.mpState()
        let events = try vcpu.vcpuEvents()
        let debugRegisters = try vcpu.debugRegisters()
        return SavedVCPU(regs: regs, sregs2: sregs2, sregs: sregs, fpu: fpu, xsave: xsave, xcrs: xcrs, msrs: msrs, lapic: lapic,
                         events: events, mpState: mpState, debugRegisters: debugRegisters)
    }

    /// Writes the state into a fresh `vcpu` (CPUID already set), in the order of QEMU's
    /// kvm_arch_put_registers where KVM needs one: the special registers (with APIC_BASE)
    /// before the LAPIC, whose KVM_SET_LAPIC takes the APIC mode from APIC_BASE
    /// (lapic.c kvm_apic_set_state); the LAPIC before the MSRs, because a write of
    /// IA32_TSC_DEADLINE is dropped unless the LVT timer is in TSC-deadline mode
    /// (lapic.c kvm_set_lapic_tscdeadline_msr); the MP state before the events (a
    /// SIPI vector goes with INIT_RECEIVED). An MSR the target refuses, or that is not in
    /// `targetMSRIndices`, is named in `notes`: the state a backend loses.
    func restore(into vcpu: any VirtualCPU, targetMSRIndices: Set<UInt32>, notes: inout [String]) throws(KVMError) {
        try vcpu.setRegs(regs)
        if let xsave { try vcpu.setXSave(xsave) } else if let fpu { try vcpu.setFPU(fpu) }
        if let xcrs { try vcpu.setXCRs(xcrs) }
        if let sregs2 { try vcpu.setSregs2(sregs2) } else if let sregs { try vcpu.setSregs(sregs) }
        if let lapic { try vcpu.setLAPIC(lapic) }
        let kept = msrs.filter { targetMSRIndices.contains($0.index) }
        for m in msrs where !targetMSRIndices.contains(m.index) {
            // Not the target's to save; lost only if the target does not hold the value anyway.
            let held = try? vcpu.msrs([m.index]).first?.data
            if held == m.data { continue }
            // Neither listed nor readable there, and 0 here: a model difference (the guest
            // reading it there faults), not state a migration could carry.
            if held == nil && m.data == 0 { continue }
            notes.append("vCPU \(vcpu.id): MSR 0x\(String(m.index, radix: 16)) = 0x\(String(m.data, radix: 16)) is not in the target's index list")
        }
        var rest = kept[...]
        while !rest.isEmpty {
            // KVM_SET_MSRS, too, stops at the first MSR it refuses (x86.c __msr_io).
            let n = try vcpu.setMSRs(Array(rest))
            rest = rest.dropFirst(n)
            if let refused = rest.first {
                // Refused but already holding the value (a reset value KVM will not take back
                // from the host, as MSR_KVM_ASYNC_PF_INT without an in-kernel LAPIC, x86.c
                // kvm_pv_enable_async_pf_int): nothing is lost.
                let now = try? vcpu.msrs([refused.index]).first?.data
                if now != refused.data {
                    notes.append("vCPU \(vcpu.id): KVM_SET_MSRS refuses MSR 0x\(String(refused.index, radix: 16)) = 0x\(String(refused.data, radix: 16))")
                }
                rest = rest.dropFirst()
            }
        }
        try vcpu.setMPState(mpState)
        var e = events
        // KVM_GET_VCPU_EVENTS does not set VALID_SIPI_VECTOR (x86.c
        // kvm_vcpu_ioctl_x86_get_vcpu_events); a VMM restoring sets it to keep the vector.
        e.flags |= VCPUEvents.validSIPIVector
        try vcpu.setVCPUEvents(e)
        try vcpu.setDebugRegisters(debugRegisters)
        // Without an in-kernel LAPIC the next KVM_RUN sets CR8 from kvm_run->cr8, which a
        // fresh vCPU has at 0 (x86.c kvm_arch_vcpu_ioctl_run, "re-sync apic's tpr").
        vcpu.cr8 = (sregs2?.sregs ?? sregs)?.cr8 ?? 0
    }
}
