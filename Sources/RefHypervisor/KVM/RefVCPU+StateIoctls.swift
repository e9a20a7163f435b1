import KVMABI

/// vCPU state ioctls a VMM uses to save and restore (Linux 6.1 arch/x86/kvm/x86.c,
/// kvm_arch_vcpu_ioctl): debug registers, XCRs, the CPUID table back, KVM_TRANSLATE, the
/// TSC frequency, KVM_KVMCLOCK_CTRL.
extension RefVCPU {
    /// The engine's TSC: 1 GHz (1 tick per virtual ns; RefHypervisor.swift).

    func checkOpen(_ op: String) throws(KVMError) {
        if closed { throw KVMError(errno: Errno.EBADF, operation: op) }
    }

    /// kvm_vcpu_ioctl_x86_get_debugregs: DR0-3, DR6 (kvm_get_dr) and DR7 as stored.
    public func debugRegisters() throws(KVMError) -> DebugRegisters {
        try checkOpen("KVM_GET_DEBUGREGS")
        return DebugRegisters(db: Array(cpu.dr[0..<4]), dr6: cpu.dr[6], dr7: cpu.dr[7])
    }

    /// kvm_vcpu_ioctl_x86_set_debugregs: flags must be 0, DR6 and DR7 bits 63:32 clear
    /// (kvm_dr6_valid, kvm_dr7_valid); the values are stored as given, without the fixed
    /// bits a MOV to DR6/DR7 would add.
    public func setDebugRegisters(_ regs: DebugRegisters) throws(KVMError) {
        quietEntry = false
        let op = "KVM_SET_DEBUGREGS"
        try checkOpen(op)
        if regs.flags != 0 || regs.dr6 >> 32 != 0 || regs.dr7 >> 32 != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        for i in 0..<4 { cpu.dr[i] = i < regs.db.count ? regs.db[i] : 0 }
        cpu.dr[6] = regs.dr6
        cpu.dr[7] = regs.dr7
        cpu.updateBreakpoints()
        cpu.eventCheck = true
    }

    /// kvm_vcpu_ioctl_x86_get_xcrs: XCR0 alone (the host has XSAVE: the engine models it).
    public func xcrs() throws(KVMError) -> XCRs {
        try checkOpen("KVM_GET_XCRS")
        return XCRs([XCR(index: 0, value: cpu.xcr0)])
    }

    /// kvm_vcpu_ioctl_x86_set_xcrs: more than KVM_MAX_XCRS or any flag is EINVAL; the first
    /// entry for XCR0 is set through __kvm_set_xcr (EINVAL if invalid); others are ignored.
    public func setXCRs(_ xcrs: XCRs) throws(KVMError) {
        quietEntry = false
        let op = "KVM_SET_XCRS"
        try checkOpen(op)
        if xcrs.xcrs.count > XCRs.maximum || xcrs.flags != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        guard let e = xcrs.xcrs.first(where: { $0.index == 0 }) else { return }
        if !cpu.validXCR0(e.value) { throw KVMError(errno: Errno.EINVAL, operation: op) }
        cpu.xcr0 = e.value
    }

    /// kvm_vcpu_ioctl_get_cpuid2: the table KVM_SET_CPUID2 set; E2BIG if it does not fit.
    public func cpuid(capacity: Int) throws(KVMError) -> [CPUIDEntry] {
        let op = "KVM_GET_CPUID2"
        try checkOpen(op)
        let t = cpu.cpuid.entries
        if capacity < t.count { throw KVMError(errno: Errno.E2BIG, operation: op) }
        return t
    }

    /// kvm_arch_vcpu_ioctl_translate: kvm_mmu_gva_to_gpa_system under the current paging
    /// (a supervisor read); INVALID_GPA (~0) and valid 0 when the walk faults; writeable
    /// is always 1 and usermode 0, as KVM reports them.
    public func translate(_ linearAddress: UInt64) throws(KVMError) -> Translation {
        try checkOpen("KVM_TRANSLATE")
        let gpa: UInt64?
        if cpu.cr0 & 0x8000_0000 == 0 {
            gpa = linearAddress
        } else {
            do { gpa = try cpu.translate(linearAddress, write: false, fetch: false, user: false) } catch { gpa = nil }
        }
        return Translation(physicalAddress: gpa ?? ~0, valid: gpa != nil, writeable: true, usermode: false)
    }

    /// KVM_GET_TSC_KHZ (vcpu->arch.virtual_tsc_khz).
    public func tscKHz() throws(KVMError) -> UInt32 {
        try checkOpen("KVM_GET_TSC_KHZ")
        return cpu.virtualTSCKHz
    }

    /// KVM_SET_TSC_KHZ (kvm_arch_vcpu_ioctl): with TSC scaling (VMX has it), a rate at or
    /// above kvm_caps.max_guest_tsc_khz is EINVAL; 0 means the host's. kvm_set_tsc_khz then
    /// changes the multiplier without touching the offset, so the guest TSC jumps to the
    /// scaled host TSC plus the old offset (kvm_vcpu_write_tsc_multiplier).
    public func setTSCKHz(_ khz: UInt32) throws(KVMError) {
        quietEntry = false
        let op = "KVM_SET_TSC_KHZ"
        try checkOpen(op)
        if khz >= TSCScaling.maximumGuestKHz { throw KVMError(errno: Errno.EINVAL, operation: op) }
        applyTSCKHz(khz == 0 ? TSCScaling.hostKHz : khz)
    }

    /// kvm_set_tsc_khz for a rate already checked (also at vCPU creation, with the VM's).
    func applyTSCKHz(_ khz: UInt32) {
        cpu.virtualTSCKHz = khz
        cpu.tscRatio = TSCScaling.ratio(khz: khz)
        cpu.devices?.setTSCScaling(vcpu: index, ratio: cpu.tscRatio, khz: khz)
    }

    /// vcpu_ioctl_tpr_access_reporting: any flag is EINVAL; `enabled` asks for
    /// KVM_EXIT_TPR_ACCESS exits, which KVM makes only for accesses through the VAPIC page of
    /// KVM_SET_VAPIC_ADDR (not offered here), so the engine has no exit to make.
    public func setTPRAccessReporting(enabled: Bool, flags: UInt32) throws(KVMError) {
        quietEntry = false
        let op = "KVM_TPR_ACCESS_REPORTING"
        try checkOpen(op)
        if flags != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
    }

    /// kvm_vcpu_ioctl_x86_setup_mce: 1..32 banks and only supported capability bits, else
    /// EINVAL; IA32_MCG_CAP then reads the value and IA32_MCG_CTL all ones if MCG_CTL_P.
    public func setupMCE(_ mcgCap: UInt64) throws(KVMError) {
        quietEntry = false
        let op = "KVM_X86_SETUP_MCE"
        try checkOpen(op)
        let banks = mcgCap & 0xFF
        if banks == 0 || banks > 32 || mcgCap & ~(RefHypervisor.supportedMCECap | 0xFF | 0xFF_0000) != 0 {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        cpu.mcgCap = mcgCap
        if mcgCap & (1 << 8) != 0 { cpu.mcgCtl = ~0 }
        // IA32_MCi_CTL all ones, IA32_MCi_CTL2 zero; the LAPIC gains LVT CMCI with MCG_CMCI_P
        // (kvm_apic_after_set_mcg_cap).
        for bank in 0..<Int(banks) {
            cpu.mceBanks[4 * bank] = ~0
            if mcgCap & CPU.mcgCMCIP != 0 { cpu.mciCtl2[bank] = 0 }
        }
        cpu.devices?.setCMCISupported(vcpu: index, mcgCap & CPU.mcgCMCIP != 0)
    }

    /// KVM_X86_SET_MCE (kvm_vcpu_ioctl_x86_set_mce): EINVAL for a bank past MCG_CAP[7:0] or a
    /// status without VAL. A UCNA (uncorrected, no action required) is logged and signalled
    /// through LVT CMCI if the bank has CMCI enabled; an uncorrected error is dropped when
    /// IA32_MCG_CTL or the bank's MCi_CTL is not all ones, shuts the vCPU down when a #MC
    /// is already in progress (MCG_STATUS.MCIP) or CR4.MCE is clear, and is otherwise logged
    /// and raised as #MC; a corrected one is logged (OVER when the bank held a valid one).
    public func setMCE(_ mce: MachineCheckEvent) throws(KVMError) {
        quietEntry = false
        let op = "KVM_X86_SET_MCE"
        try checkOpen(op)
        let c = cpu
        let bank = Int(mce.bank)
        if bank >= c.mceBankCount || mce.status & CPU.mciStatusVAL == 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        let b = 4 * bank
        var status = mce.status
        let ucna = mce.mcgStatus == 0 && status & (CPU.mciStatusPCC | CPU.mciStatusS | CPU.mciStatusAR) == 0
            && status & CPU.mciStatusUC != 0
        if ucna {
            c.mceBanks[b + 1] = status; c.mceBanks[b + 2] = mce.addr; c.mceBanks[b + 3] = mce.misc
            c.mcgStatus = mce.mcgStatus
            if c.mcgCap & CPU.mcgCMCIP != 0 && c.mciCtl2[bank] & CPU.mciCtl2CMCIEnable != 0 {
                c.devices?.deliverCMCI(vcpu: index)
                c.eventCheck = true
            }
            return
        }
        let uc = status & CPU.mciStatusUC != 0
        if uc && c.mcgCap & CPU.mcgCTLP != 0 && c.mcgCtl != ~0 { return }
        if uc && c.mceBanks[b] != ~0 { return }
        if uc {
            if c.mcgStatus & CPU.mcgStatusMCIP != 0 || c.cr4 & (1 << 6) == 0 {
                pendingTripleFault = true      // KVM_REQ_TRIPLE_FAULT
                return
            }
            if c.mceBanks[b + 1] & CPU.mciStatusVAL != 0 { status |= CPU.mciStatusOVER }
            c.mceBanks[b + 2] = mce.addr; c.mceBanks[b + 3] = mce.misc
            c.mcgStatus = mce.mcgStatus
            c.mceBanks[b + 1] = status
            pendingException = (Vec.mc, nil)
            c.eventCheck = true
        } else if c.mceBanks[b + 1] & CPU.mciStatusVAL == 0 || c.mceBanks[b + 1] & CPU.mciStatusUC == 0 {
            if c.mceBanks[b + 1] & CPU.mciStatusVAL != 0 { status |= CPU.mciStatusOVER }
            c.mceBanks[b + 2] = mce.addr; c.mceBanks[b + 3] = mce.misc
            c.mceBanks[b + 1] = status
        } else {
            c.mceBanks[b + 1] |= CPU.mciStatusOVER
        }
    }

    /// __get_sregs2: the special registers, and the PDPTEs with PDPTRS_VALID in PAE paging.
    public func sregs2() throws(KVMError) -> SpecialRegisters2 {
        try checkOpen("KVM_GET_SREGS2")
        var s = try sregs()
        s.interruptBitmap = [0, 0, 0, 0]
        var r = SpecialRegisters2(sregs: s)
        if cpu.paePaging { r.flags = SpecialRegisters2.pdptrsValid; r.pdptrs = cpu.pdptes }
        return r
    }

    /// __set_sregs2: flags other than PDPTRS_VALID, or PDPTRS_VALID when the new registers
    /// are not PAE paging (CR0.PG, CR4.PAE, !EFER.LMA), are EINVAL; given PDPTEs are taken as
    /// they are instead of being read from memory.
    public func setSregs2(_ s2: SpecialRegisters2) throws(KVMError) {
        quietEntry = false
        let op = "KVM_SET_SREGS2"
        try checkOpen(op)
        let valid = s2.flags & SpecialRegisters2.pdptrsValid != 0
        let pae = s2.sregs.cr0 & 0x8000_0000 != 0 && s2.sregs.cr4 & 0x20 != 0 && s2.sregs.efer & 0x400 == 0
        if s2.flags & ~SpecialRegisters2.pdptrsValid != 0 || (valid && !pae) { throw KVMError(errno: Errno.EINVAL, operation: op) }
        var s = s2.sregs
        s.interruptBitmap = [0, 0, 0, 0]
        try setSregsCommon(s, loadPDPTEs: !valid)
        if valid {
            cpu.pdptes = Array((s2.pdptrs + [0, 0, 0, 0]).prefix(4))
            cpu.flushTLB()
        }
    }

    /// KVM_GET_LAPIC: EINVAL without the in-kernel LAPIC (kvm_arch_vcpu_ioctl).
    public func lapic() throws(KVMError) -> LAPICState {
        quietEntry = false
        try checkOpen("KVM_GET_LAPIC")
        cpu.vmControls.irqfds.poll(now: cpu.now)     // irqfd injections land before anyone looks
        guard let chip, let page = chip.lapicState(vcpu: index, now: cpu.now) else {
            throw KVMError(errno: Errno.EINVAL, operation: "KVM_GET_LAPIC")
        }
        return LAPICState(regs: page)
    }

    /// KVM_SET_LAPIC: EINVAL without the in-kernel LAPIC; the page replaces the registers
    /// (kvm_apic_set_state), and pending interrupts are looked at again (KVM_REQ_EVENT).
    public func setLAPIC(_ state: LAPICState) throws(KVMError) {
        quietEntry = false
        try checkOpen("KVM_SET_LAPIC")
        guard let chip else { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_LAPIC") }
        chip.setLAPICState(vcpu: index, state.regs, now: cpu.now)
        cpu.eventCheck = true
    }

    /// kvm_set_guest_paused: EINVAL unless the guest enabled kvmclock (pv_time active),
    /// which this engine does not offer (no KVM paravirtual CPUID leaves).
    public func kvmclockCtrl() throws(KVMError) {
        quietEntry = false
        try checkOpen("KVM_KVMCLOCK_CTRL")
        throw KVMError(errno: Errno.EINVAL, operation: "KVM_KVMCLOCK_CTRL")
    }
}
