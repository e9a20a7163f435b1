import KVMABI

// System instructions: group 7 (LGDT..INVLPG, VMCALL, SWAPGS, RDTSCP), MOV CR/DR,
// RDMSR/WRMSR, CPUID, SYSCALL/SYSRET, SYSENTER/SYSEXIT (SDM Vol. 2, Vol. 3A ch. 2, 5.8.8).
// Each VM exit KVM takes for them is recorded (in the kernel, or passed to userspace:
// KVM_EXIT_X86_RDMSR/WRMSR, KVM_EXIT_HYPERCALL).

extension CPU {
    /// 0F 01. Returns true when RIP was set.
    func group7() throws(Fault) -> Bool {
        try decodeModRM()
        let k = mrReg & 7
        if mrIsReg {
            switch modrm {
            case 0xC1: try vmcall(); return false
            case 0xC2, 0xC3, 0xC4:
                // VMLAUNCH/VMRESUME/VMXOFF: VMX is not exposed to the guest.
                throw ud()
            case 0xD0: try xgetbvInsn(); return false
            case 0xD1: try xsetbvInsn(); return false
            case 0xC8, 0xC9:
                // MONITOR/MWAIT exit; KVM treats them as NOPs (MWAIT_NEVER_UD_FAULTS quirk).
                if cpl != 0 { throw ud() }
                vmExit(modrm == 0xC8 ? .monitor : .mwait, outcome: VMXTraceRecord.handledInKernel)
                return false
            case 0xF8:
                if !code64 { throw ud() }
                if cpl != 0 { throw gp(0) }
                let t = segs[S.gs].base; segs[S.gs].base = kernelGSBase; kernelGSBase = t
                return false
            case 0xF9:
                // RDTSCP: #UD unless the guest's CPUID has RDTSCP or RDPID (Linux 6.1 vmx.c
                // vmx_secondary_exec_control sets SECONDARY_EXEC_ENABLE_RDTSCP from them).
                if !guestHasTSCAux { throw ud() }
                if cr4 & 4 != 0 && cpl != 0 { throw gp(0) }
                let t = guestTSC
                setReg(0, 4, t & 0xFFFF_FFFF); setReg(2, 4, t >> 32); setReg(1, 4, tscAux & 0xFFFF_FFFF)
                return false
            default:
                break
            }
            if k == 4 {
                setR(mrRM, osz, cr0 & CPU.mask(osz))
                return false
            }
            if k == 6 {
                if cpl != 0 { throw gp(0) }
                try lmsw(UInt16(truncatingIfNeeded: getR(mrRM, 2)), memory: false)
                return false
            }
            throw ud()
        }
        let a = eaddr()
        switch k {
        case 0, 1:
            let base = k == 0 ? gdtBase : idtBase
            let limit = k == 0 ? gdtLimit : idtLimit
            try wr(eaSeg, a, 2, UInt64(limit))
            try wr(eaSeg, (a &+ 2) & asMask, code64 ? 8 : 4, code64 ? base : base & 0xFFFF_FFFF)
        case 2, 3:
            if cpl != 0 { throw gp(0) }
            let limit = try rd(eaSeg, a, 2)
            var base = try rd(eaSeg, (a &+ 2) & asMask, code64 ? 8 : 4)
            if !code64 && osz == 2 { base &= 0xFF_FFFF }
            if code64 && !CPU.canonical(base) { throw gp(0) }
            if k == 2 { gdtBase = base; gdtLimit = UInt32(limit) } else { idtBase = base; idtLimit = UInt32(limit) }
        case 4:
            try wr(eaSeg, a, 2, cr0 & 0xFFFF)
        case 6:
            if cpl != 0 { throw gp(0) }
            try lmsw(UInt16(truncatingIfNeeded: try rd(eaSeg, a, 2)), memory: true)
        case 7:
            if cpl != 0 { throw gp(0) }
            // INVLPG does not exit with EPT: drop the page's entries, global or not.
            if code64 {
                invalidatePage(a &+ (eaSeg >= S.fs ? segs[eaSeg].base : 0))
            } else {
                invalidatePage((segs[eaSeg].base &+ a) & 0xFFFF_FFFF)
            }
        default:
            throw ud()
        }
        return false
    }

    func lmsw(_ v: UInt16, memory: Bool) throws(Fault) {
        // LMSW loads PE MP EM TS; it can set PE but not clear it.
        let newCR0 = (cr0 & ~0xE) | UInt64(v & 0xE) | (cr0 & 1) | UInt64(v & 1)
        vmExit(.crAccess, qual: VMXQualification.crAccess(cr: 0, type: 3, gpr: 0, lmswData: v, lmswMemory: memory),
               outcome: VMXTraceRecord.handledInKernel)
        try setCR0(newCR0)
    }

    /// KVM_HC_* handling of kvm_emulate_hypercall (VMCALL exit 18). Arguments and the
    /// result are cut to 32 bits outside 64-bit mode (is_64_bit_hypercall).
    func vmcall() throws(Fault) {
        let longMode = code64
        if let ret = hypercallCompletion {
            // complete_hypercall_exit: userspace's ret goes to RAX; the VMCALL completes.
            hypercallCompletion = nil
            regs[0] = longMode ? ret : ret & 0xFFFF_FFFF
            stats.hypercalls &+= 1
            return
        }
        let cut: UInt64 = longMode ? ~0 : 0xFFFF_FFFF
        let nr = regs[0] & cut
        let a0 = regs[3] & cut, a1 = regs[1] & cut, a2 = regs[2] & cut
        var ret: Int64
        if cpl != 0 {
            ret = -1            // -KVM_EPERM
        } else {
            // guest_pv_has: with KVM_CAP_ENFORCE_PV_FEATURE_CPUID, a PV hypercall needs its
            // feature bit in CPUID 40000001H:EAX; otherwise every one is allowed.
            func pvHas(_ bit: UInt32) -> Bool {
                !enforcePVFeatureCPUID || cpuid.lookup(0x4000_0001, 0).0 & (1 << bit) != 0
            }
            switch nr {
            case 1: ret = 0                                 // KVM_HC_VAPIC_POLL_IRQ
            case 5: ret = pvHas(9) ? 0 : -1000              // KVM_HC_KICK_CPU (KVM_FEATURE_PV_UNHALT)
            case 11: ret = pvHas(13) ? 0 : -1000            // KVM_HC_SCHED_YIELD (KVM_FEATURE_PV_SCHED_YIELD)
            case 12:                                        // KVM_HC_MAP_GPA_RANGE
                if vmControls.hypercallExitMask & (1 << 12) == 0 {
                    ret = -1000                             // -KVM_ENOSYS
                } else if a0 & 0xFFF != 0 || a1 == 0 || (a0 >> 12) &+ a1 <= (a0 >> 12) {
                    ret = -22                               // -KVM_EINVAL
                } else {
                    vmExit(.vmcall, outcome: "KVM_EXIT_HYPERCALL")
                    throw requestExit(.hypercall(nr: 12, args: [a0, a1, a2, 0, 0, 0], longMode: longMode))
                }
            default: ret = -1000  // -KVM_ENOSYS
            }
        }
        vmExit(.vmcall, outcome: VMXTraceRecord.handledInKernel)
        stats.hypercalls &+= 1
        regs[0] = UInt64(bitPattern: ret) & cut
    }

    // MARK: MOV CR / DR

    func movCRDR(_ op: UInt8) throws(Fault) {
        // SDM Vol. 2B MOV to/from CR/DR: the mod field is ignored and the r/m operand is
        // always a general register, so no SIB or displacement follows the ModRM byte.
        let m = try fetch8()
        modrm = m
        mrReg = Int((m >> 3) & 7) | Int(rex & 4) << 1
        mrIsReg = true
        mrRM = Int(m & 7) | Int(rex & 1) << 3
        let gpr = Int(modrm & 7) | Int(rex & 1) << 3
        let n = mrReg
        let size = code64 ? 8 : 4
        if cpl != 0 { throw gp(0) }
        switch op {
        case 0x20:
            let v: UInt64
            switch n {
            case 0: v = cr0
            case 2: v = cr2
            case 3:
                v = cr3
            case 4: v = cr4
            case 8:
                if !code64 { throw ud() }
                if devices == nil {
                    // No in-kernel LAPIC, so no TPR shadow: KVM sets CR8-store exiting
                    // (vmx.c exec_control) and handle_cr answers it in the kernel.
                    vmExit(.crAccess, qual: VMXQualification.crAccess(cr: 8, type: 1, gpr: gpr), outcome: VMXTraceRecord.handledInKernel)
                }
                v = readCR8()
            default: throw ud()
            }
            regs[gpr] = size == 8 ? v : v & 0xFFFF_FFFF
        case 0x22:
            let v = size == 8 ? regs[gpr] : regs[gpr] & 0xFFFF_FFFF
            switch n {
            case 0:
                vmExit(.crAccess, qual: VMXQualification.crAccess(cr: 0, type: 0, gpr: gpr), outcome: VMXTraceRecord.handledInKernel)
                try setCR0(v)
            case 2: cr2 = v
            case 3:
                // kvm_set_cr3: bits beyond MAXPHYADDR (bit 63 too, without CR4.PCIDE) are #GP.
                if lma && v & ~(physAddrMask | 0xFFF) != 0 { throw gp(0) }
                if paePaging { try loadPDPTEs(v) }
                cr3 = v
                if cr4 & 0x80 != 0 && mem.generation == memGeneration { flushNonGlobalTLB() } else { flushTLB() }
            case 4:
                vmExit(.crAccess, qual: VMXQualification.crAccess(cr: 4, type: 0, gpr: gpr), outcome: VMXTraceRecord.handledInKernel)
                try setCR4(v)
            case 8:
                if !code64 { throw ud() }
                if devices == nil {
                    // No in-kernel LAPIC: CR8-load exiting (no TPR shadow). handle_cr runs
                    // kvm_set_cr8 (#GP for bits 63:4), completes the instruction and, when the
                    // TPR went down, exits to userspace with KVM_EXIT_SET_TPR so a userspace
                    // APIC can deliver what the old TPR held back (Linux 6.1 vmx.c handle_cr).
                    let lowered = v < cr8Shadow && v & ~0xF == 0
                    vmExit(.crAccess, qual: VMXQualification.crAccess(cr: 8, type: 0, gpr: gpr),
                           outcome: lowered ? "KVM_EXIT_SET_TPR" : VMXTraceRecord.handledInKernel)
                    if v & ~0xF != 0 { throw gp(0) }
                    cr8Shadow = v
                    eventCheck = true
                    if lowered { rip = nextRIP; throw requestExit(.setTPR) }
                    return
                }
                if v & ~0xF != 0 { throw gp(0) }
                writeCR8(v)
            default: throw ud()
            }
            eventCheck = true
        case 0x21:
            if n == 4 || n == 5 { if cr4 & 8 != 0 { throw ud() } }
            if n > 7 { throw ud() }
            try generalDetect()
            if movDRExiting {
                vmExit(.drAccess, qual: UInt64(n & 7) | 0x10 | UInt64(gpr) << 8, outcome: VMXTraceRecord.handledInKernel)
            }
            let r = n == 4 ? 6 : (n == 5 ? 7 : n)
            regs[gpr] = size == 8 ? dr[r] : dr[r] & 0xFFFF_FFFF
        default:
            if n == 4 || n == 5 { if cr4 & 8 != 0 { throw ud() } }
            if n > 7 { throw ud() }
            try generalDetect()
            if movDRExiting {
                vmExit(.drAccess, qual: UInt64(n & 7) | UInt64(gpr) << 8, outcome: VMXTraceRecord.handledInKernel)
            }
            let r = n == 4 ? 6 : (n == 5 ? 7 : n)
            let v = size == 8 ? regs[gpr] : regs[gpr] & 0xFFFF_FFFF
            if (r == 6 || r == 7) && v >> 32 != 0 { throw gp(0) }
            switch r {
            case 6: dr[6] = (v & 0x1_E00F) | 0xFFFF_0FF0   // reserved bits read as 1
            case 7:
                dr[7] = (v & 0xFFFF_2BFF) | 0x400
                updateBreakpoints()
            default: dr[r] = v
            }
        }
    }

    /// DR7.GD: a MOV DR raises #DB (fault) with DR6.BD, and GD is cleared (SDM Vol. 3B 17.2.4).
    func generalDetect() throws(Fault) {
        if dr[7] & 0x2000 != 0 {
            dr[6] = (dr[6] & ~UInt64(0xF)) | 0x2000
            dr[7] &= ~UInt64(0x2000)
            throw Fault.exception(Vec.db, nil)
        }
    }

    /// The breakpoint registers in force: the guest's, or userspace's with
    /// KVM_GUESTDBG_USE_HW_BP (KVM loads those into the hardware DRs instead).
    @inline(__always) var bp: [UInt64] { hostBreakpoints ?? dr }

    func updateBreakpoints() {
        let on = bp[7] & 0xFF != 0
        if on != hwBreakpoints { hwBreakpoints = on; flushTLB() }
        eventCheck = true
    }

    /// Length mask of breakpoint n from DR7.LENn (1, 2, 8, 4 bytes).
    func bpLength(_ n: Int) -> UInt64 {
        switch (bp[7] >> UInt64(18 + 4 * n)) & 3 { case 0: return 1; case 1: return 2; case 2: return 8; default: return 4 }
    }

    /// Instruction breakpoints matching RIP (RW = 00), as DR6 B bits.
    func instructionBreakpointHits(_ la: UInt64) -> UInt64 {
        var hits: UInt64 = 0
        let r = bp
        for n in 0..<4 where (r[7] >> UInt64(2 * n)) & 3 != 0 && (r[7] >> UInt64(16 + 4 * n)) & 3 == 0 {
            if r[n] == la { hits |= 1 << UInt64(n) }
        }
        return hits
    }

    /// Data breakpoints (RW = 01 writes, 11 reads or writes) overlapping an access.
    func checkDataBreakpoints(_ la: UInt64, _ size: Int, write: Bool) {
        let r = bp
        for n in 0..<4 where (r[7] >> UInt64(2 * n)) & 3 != 0 {
            let rw = (r[7] >> UInt64(16 + 4 * n)) & 3
            if rw == 1 && !write || rw == 0 || rw == 2 { continue }
            let len = bpLength(n)
            let start = r[n] & ~(len - 1)
            if la < start &+ len && start < la &+ UInt64(size) { dataBreakHits |= 1 << UInt64(n) }
        }
    }

    @inline(__always) func readCR8() -> UInt64 {
        if let d = devices { return UInt64(d.readTPR(vcpu: vcpuIndex) >> 4) }
        return cr8Shadow
    }

    func writeCR8(_ v: UInt64) {
        if let d = devices { d.writeTPR(vcpu: vcpuIndex, value: UInt8(v << 4)) } else { cr8Shadow = v }
        eventCheck = true
    }

    /// MOV to CR0 with KVM's kvm_set_cr0 checks.
    func setCR0(_ vIn: UInt64) throws(Fault) {
        var v = vIn | 0x10            // ET is hardwired to 1
        if v >> 32 != 0 { throw gp(0) }
        v &= 0xE005_003F
        if v & 0x8000_0000 != 0 && v & 1 == 0 { throw gp(0) }        // PG without PE
        if v & 0x2000_0000 != 0 && v & 0x4000_0000 == 0 { throw gp(0) } // NW without CD
        let pgOn = v & 0x8000_0000 != 0, wasPG = pagingOn
        if pgOn && !wasPG && efer & (1 << 8) != 0 {
            if cr4 & 0x20 == 0 { throw gp(0) }                        // long mode needs PAE
            if segs[S.cs].l { throw gp(0) }
            efer |= 1 << 10                                           // LMA
        }
        if !pgOn && wasPG && lma {
            if code64 { throw gp(0) }
            efer &= ~(UInt64(1) << 10)
        }
        if pgOn && cr4 & 0x20 != 0 && efer & (1 << 8) == 0 && (!wasPG || (v ^ cr0) & 0x6000_0000 != 0) {
            try loadPDPTEs(cr3)
        }
        let oldPE = pe
        cr0 = v
        if !pe { cpl = 0 }
        if oldPE != pe { rederiveAll() }
        updateMode()
        updateAC()
        flushTLB()
    }

    /// CR4 bits KVM accepts (CR4_RESERVED_BITS plus the guest-CPUID-dependent ones):
    /// VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT, SMEP if the guest's CPUID
    /// has it, and OSXSAVE if it has XSAVE. VME/PVI are accepted but virtual-8086 mode is
    /// not modelled.
    var cr4Allowed: UInt64 {
        var a: UInt64 = 0x7FF & ~UInt64(0x800)
        if cpuid.entries.isEmpty || cpuid.lookup(7, 0).1 & (1 << 7) != 0 { a |= 0x10_0000 }
        if guestHasXSAVE { a |= CPU.cr4OSXSAVE }
        return a
    }

    /// MOV to CR4 (kvm_set_cr4 checks).
    func setCR4(_ v: UInt64) throws(Fault) {
        if v & ~cr4Allowed != 0 { throw gp(0) }
        if lma && v & 0x20 == 0 { throw gp(0) }
        // Changing PAE/PGE/PSE/SMEP while in PAE paging reloads the PDPTEs.
        if pagingOn && !lma && v & 0x20 != 0 && (v ^ cr4) & 0x1000B0 != 0 { try loadPDPTEs(cr3) }
        cr4 = v
        flushTLB()
    }

    // MARK: MSRs

    static let passThroughMSRs: Set<UInt32> = [0xC000_0100, 0xC000_0101, 0xC000_0102, 0x174, 0x175, 0x176]

    /// RDMSR: kvm_emulate_rdmsr (x86.c). The MSR filter comes first (a filtered MSR is
    /// intercepted even where the MSR bitmap would pass it through); a read KVM cannot do
    /// goes to userspace if KVM_CAP_X86_USER_SPACE_MSR asked for its reason, else #GP(0).
    func rdmsrInsn() throws(Fault) {
        if cpl != 0 { throw gp(0) }
        let idx = UInt32(truncatingIfNeeded: regs[1])
        if let answer = msrCompletion {
            // complete_fast_rdmsr: userspace's data, or #GP if it set msr.error.
            msrCompletion = nil
            if answer.error { throw gp(0) }
            setReg(0, 4, answer.data & 0xFFFF_FFFF); setReg(2, 4, answer.data >> 32)
            return
        }
        let allowed = vmControls.msrAllowed(idx, write: false)
        var value: UInt64?
        var reason = MSRExitReason.filter
        if allowed {
            msrUnsupported = false
            value = readMSR(idx)
            reason = msrUnsupported ? MSRExitReason.unknown : MSRExitReason.inval
        }
        let toUser = value == nil && vmControls.userSpaceMSRMask & reason != 0
        // FS/GS bases and SYSENTER MSRs, and TSC reads, are not intercepted (MSR bitmap)
        // unless the filter denies them (vmx_msr_filter_changed).
        if !allowed || (!CPU.passThroughMSRs.contains(idx) && idx != 0x10) {
            vmExit(.rdmsr, outcome: toUser ? "KVM_EXIT_X86_RDMSR" : VMXTraceRecord.handledInKernel)
        }
        if toUser { throw requestExit(.msr(write: false, index: idx, data: 0, reason: reason)) }
        guard let v = value else { throw gp(0) }
        setReg(0, 4, v & 0xFFFF_FFFF); setReg(2, 4, v >> 32)
    }

    /// WRMSR: kvm_emulate_wrmsr, with the same filter and userspace rules as RDMSR.
    func wrmsrInsn() throws(Fault) {
        if cpl != 0 { throw gp(0) }
        let idx = UInt32(truncatingIfNeeded: regs[1])
        let v = (regs[2] << 32) | (regs[0] & 0xFFFF_FFFF)
        if let answer = msrCompletion {
            // complete_fast_msr_access: #GP if userspace set msr.error, else done.
            msrCompletion = nil
            if answer.error { throw gp(0) }
            eventCheck = true
            return
        }
        let allowed = vmControls.msrAllowed(idx, write: true)
        var done = false
        var reason = MSRExitReason.filter
        if allowed {
            msrUnsupported = false
            done = writeMSR(idx, v)
            reason = msrUnsupported ? MSRExitReason.unknown : MSRExitReason.inval
        }
        let toUser = !done && vmControls.userSpaceMSRMask & reason != 0
        if !allowed || !CPU.passThroughMSRs.contains(idx) {
            vmExit(.wrmsr, outcome: toUser ? "KVM_EXIT_X86_WRMSR" : VMXTraceRecord.handledInKernel)
        }
        if toUser { throw requestExit(.msr(write: true, index: idx, data: v, reason: reason)) }
        if !done { throw gp(0) }
        eventCheck = true
    }

    /// `hostInitiated`: KVM_GET_MSRS, which skips the guest-CPUID checks (msr_info->host_initiated).
    func readMSR(_ idx: UInt32, hostInitiated: Bool = false) -> UInt64? {
        switch idx {
        case 0x10: return guestTSC
        case 0x1B: if let d = devices { return d.readMSR(idx, vcpu: vcpuIndex, now: now) }; return apicBase
        case 0x17, 0x2A: return 0                 // PLATFORM_ID, EBL_CR_POWERON
        case 0x140: return miscFeaturesEnables
        case 0x3A: return 0
        case 0x3B: return tscAdjust
        case 0x1FC: return powerCtl
        case 0x8B: return 0x1_0000_0000
        case 0xCE:
            // MSR_PLATFORM_INFO: a guest read needs KVM_CAP_MSR_PLATFORM_INFO left on.
            return hostInitiated || vmControls.guestCanReadPlatformInfo ? platformInfo : nil
        case 0xFE: return 0x508               // MTRRcap: 8 variable, fixed, WC
        case 0x174: return sysenterCS
        case 0x175: return sysenterESP
        case 0x176: return sysenterEIP
        case 0x179: return mcgCap             // KVM_MAX_MCE_BANKS until KVM_X86_SETUP_MCE
        case 0x17B: return mcgCap & (1 << 8) != 0 || hostInitiated ? mcgCtl : nil   // get_msr_mce: the guest needs MCG_CTL_P
        case 0x17A: return mcgStatus
        case 0x0, 0x1: return 0               // P5_MC_ADDR, P5_MC_TYPE (get_msr_mce)
        case 0x280...0x29F, 0x400...0x47F: return readMCEBank(idx, hostInitiated: hostInitiated)
        case 0x1A0: return miscEnable
        case 0x200...0x20F, 0x250, 0x258, 0x259, 0x268...0x26F: return mtrr[idx] ?? 0
        case 0x277: return pat
        case 0x2FF: return mtrrDefType
        case 0xC000_0080: return efer
        case 0xC000_0081: return star
        case 0xC000_0082: return lstar
        case 0xC000_0083: return cstar
        case 0xC000_0084: return sfmask
        case 0xC000_0100: return segs[S.fs].base
        case 0xC000_0101: return segs[S.gs].base
        case 0xC000_0102: return kernelGSBase
        case 0xC000_0103: return hostInitiated || guestHasTSCAux ? tscAux : nil
        case 0x6E0 where devices == nil: return 0
        default:
            if let d = devices, let v = d.readMSR(idx, vcpu: vcpuIndex, now: now) { return v }
            // kvm_get_msr_common's default: KVM_MSR_RET_UNSUPPORTED, except the x2APIC
            // range, which KVM knows (kvm_x2apic_msr_read fails with 1).
            if !(0x800...0x8FF).contains(idx) { msrUnsupported = true }
            return nil
        }
    }

    func writeMSR(_ idx: UInt32, _ v: UInt64, hostInitiated: Bool = false) -> Bool {
        switch idx {
        case 0x10:
            tscOffset = v &- TSCScaling.scale(now, ratio: tscRatio)
            devices?.setTSCOffset(vcpu: vcpuIndex, offset: tscOffset, now: now)
        case 0x1B:
            // kvm_set_apic_base (x86.c), host-initiated too: EXTD without EN is LAPIC_MODE_INVALID,
            // and EXTD is reserved unless the guest CPUID has x2APIC.
            if v & 0xC00 == 0x400 { return false }
            if v & 0x400 != 0 && !cpuid.entries.isEmpty && cpuid.lookup(1, 0).2 & (1 << 21) == 0 { return false }
            if let d = devices {
                if !d.writeMSR(idx, value: v, vcpu: vcpuIndex, now: now) { return false }
                apicBase = v
                return true
            }
            // Reserved bits (MAXPHYADDR and 0..7, 9) must be 0.
            if v & ~(physAddrMask | 0x900 | 0x400) != 0 { return false }
            apicBase = v
        case 0x8B: break
        case 0x3B:
            // kvm_set_msr_common (MSR_IA32_TSC_ADJUST): without TSC_ADJUST in the guest CPUID the
            // write succeeds and does nothing; with it, a guest write moves the TSC by the change.
            guard cpuid.lookup(7, 0).1 & (1 << 1) != 0 else { break }
            if !hostInitiated {
                tscOffset = tscOffset &+ (v &- tscAdjust)
                devices?.setTSCOffset(vcpu: vcpuIndex, offset: tscOffset, now: now)
            }
            tscAdjust = v
        case 0x1FC: powerCtl = v
        case 0x140:
            // MSR_MISC_FEATURES_ENABLES: only CPUID faulting, and only if PLATFORM_INFO offers it.
            if v & ~1 != 0 || (v & 1 != 0 && platformInfo & 0x8000_0000 == 0) { return false }
            miscFeaturesEnables = v
        case 0xCE:
            // MSR_PLATFORM_INFO: the host's write only; CPUID_FAULT cannot go while in use.
            if !hostInitiated || (v & 0x8000_0000 == 0 && miscFeaturesEnables & 1 != 0) { return false }
            platformInfo = v
        case 0x6E0 where devices == nil:
            break   // kvm_set_lapic_tscdeadline_msr: ignored without an in-kernel LAPIC
        case 0x174: sysenterCS = v & 0xFFFF
        case 0x175: if !CPU.canonical(v) { return false }; sysenterESP = v
        case 0x176: if !CPU.canonical(v) { return false }; sysenterEIP = v
        case 0x179: return false
        case 0x17B:
            // set_msr_mce: without MCG_CTL_P only the host's write of 0; else 0 or all ones.
            if mcgCap & (1 << 8) == 0 && (v != 0 || !hostInitiated) { return false }
            if v != 0 && v != ~0 { return false }
            mcgCtl = v
        case 0x17A: mcgStatus = v                  // set_msr_mce: any value
        case 0x280...0x29F, 0x400...0x47F: return writeMCEBank(idx, v, hostInitiated: hostInitiated)
        case 0x1A0: miscEnable = v
        case 0x200...0x20F, 0x250, 0x258, 0x259, 0x268...0x26F: mtrr[idx] = v
        case 0x277:
            // Each PAT entry must be a valid memory type (0, 1, 4, 5, 6, 7).
            for i in 0..<8 { let t = (v >> UInt64(8 * i)) & 0xFF; if t == 2 || t == 3 || t > 7 { return false } }
            pat = v
        case 0x2FF: if v & ~0xCFF != 0 { return false }; mtrrDefType = v
        case 0xC000_0080:
            // SCE LME NXE; LME cannot change while paging is on (kvm set_efer).
            if v & ~UInt64(0xD01) != 0 { return false }
            if pagingOn && (v ^ efer) & (1 << 8) != 0 { return false }
            efer = (v & ~UInt64(0x400)) | (efer & 0x400)
            flushTLB()
        case 0xC000_0081: star = v
        case 0xC000_0082: if !CPU.canonical(v) { return false }; lstar = v
        case 0xC000_0083: if !CPU.canonical(v) { return false }; cstar = v
        case 0xC000_0084: sfmask = v & 0xFFFF_FFFF
        case 0xC000_0100: if !CPU.canonical(v) { return false }; segs[S.fs].base = v
        case 0xC000_0101: if !CPU.canonical(v) { return false }; segs[S.gs].base = v
        case 0xC000_0102: if !CPU.canonical(v) { return false }; kernelGSBase = v
        case 0xC000_0103:
            // __kvm_set_msr: #GP without guest RDTSCP/RDPID; bits 63:32 are reserved for an
            // Intel guest (guest_cpuid_is_intel: CPUID.0 vendor GenuineIntel), else dropped.
            if !(hostInitiated || guestHasTSCAux) { return false }
            let vendor = cpuid.lookup(0, 0)
            let intel = vendor.1 == 0x756E_6547 && vendor.3 == 0x4965_6E69 && vendor.2 == 0x6C65_746E
            if v >> 32 != 0 && intel { return false }
            tscAux = v & 0xFFFF_FFFF
        case 0x800...0x8FF, 0x6E0:
            if let d = devices { return d.writeMSR(idx, value: v, vcpu: vcpuIndex, now: now) }
            return false
        default:
            // kvm_set_msr_common's default: KVM_MSR_RET_UNSUPPORTED.
            msrUnsupported = true
            return false
        }
        return true
    }

    /// IA32_TSC_AUX and RDTSCP exist for the guest only if its CPUID (KVM_SET_CPUID2) has
    /// RDTSCP (80000001H:EDX[27]) or RDPID (7:ECX[22]): Linux 6.1 x86.c __kvm_set_msr /
    /// __kvm_get_msr (MSR_TSC_AUX, guest_cpuid_has) and vmx.c vmx_secondary_exec_control.
    var guestHasTSCAux: Bool {
        cpuid.lookup(0x8000_0001, 0).3 & (1 << 27) != 0 || cpuid.lookup(7, 0).2 & (1 << 22) != 0
    }

    // MARK: CPUID

    func cpuidInsn() throws(Fault) {
        vmExit(.cpuid, outcome: VMXTraceRecord.handledInKernel)
        // kvm_emulate_cpuid: CPUID faulting (MSR_MISC_FEATURES_ENABLES bit 0) makes CPUID
        // above CPL 0 a #GP(0).
        if miscFeaturesEnables & 1 != 0 && cpl != 0 { throw gp(0) }
        let leaf = UInt32(truncatingIfNeeded: regs[0]), sub = UInt32(truncatingIfNeeded: regs[1])
        let (a, b0, c0, dd) = cpuid.lookup(leaf, sub)
        var d = dd, c = c0
        if leaf == 1 {
            // kvm_update_cpuid_runtime: APIC follows IA32_APIC_BASE.EN, OSXSAVE follows CR4.
            if apicBase & 0x800 == 0 { d &= ~(UInt32(1) << 9) }
            c = cr4 & CPU.cr4OSXSAVE != 0 ? c | (1 << 27) : c & ~(1 << 27)
            if flipMOVBEAtCPL3 && cpl == 3 { c ^= 1 << 22 }
        }
        var b = b0
        if leaf == 0xD, sub <= 1, let size = cpuid.xsaveAreaSize(xcr0: xcr0, subleaf: sub) { b = size }
        setReg(0, 4, UInt64(a)); setReg(3, 4, UInt64(b)); setReg(1, 4, UInt64(c)); setReg(2, 4, UInt64(d))
    }

    // MARK: fast system calls

    private func flatCode(_ sel: UInt16, dpl: Int, long: Bool) -> Seg {
        var s = Seg(); s.sel = sel; s.base = 0; s.limit = 0xFFFF_FFFF; s.type = 0xB; s.s = true
        s.dpl = UInt8(dpl); s.present = true; s.l = long; s.db = !long; s.g = true
        return s
    }

    private func flatData(_ sel: UInt16, dpl: Int) -> Seg {
        var s = Seg(); s.sel = sel; s.base = 0; s.limit = 0xFFFF_FFFF; s.type = 0x3; s.s = true
        s.dpl = UInt8(dpl); s.present = true; s.db = true; s.g = true
        return s
    }

    func syscallInsn() throws(Fault) {
        // Intel: SYSCALL is valid only in 64-bit mode with EFER.SCE.
        if efer & 1 == 0 || !code64 { throw ud() }
        let ret = nextRIP
        regs[1] = ret
        regs[11] = flags & ~F.rf
        let sel = UInt16((star >> 32) & 0xFFFC)
        cpl = 0
        setSeg(S.cs, flatCode(sel, dpl: 0, long: true))
        setSeg(S.ss, flatData(sel &+ 8, dpl: 0))
        flags = (flags & ~sfmask & ~F.rf) | 2
        rip = lstar
        eventCheck = true
    }

    func sysretInsn() throws(Fault) {
        if efer & 1 == 0 || !code64 { throw ud() }
        if cpl != 0 { throw gp(0) }
        let base = UInt16((star >> 48) & 0xFFFF)
        let to64 = osz == 8
        if to64 && !CPU.canonical(regs[1]) { throw gp(0) }
        cpl = 3
        if to64 {
            setSeg(S.cs, flatCode((base &+ 16) | 3, dpl: 3, long: true))
            rip = regs[1]
        } else {
            setSeg(S.cs, flatCode(base | 3, dpl: 3, long: false))
            rip = regs[1] & 0xFFFF_FFFF
        }
        // SS keeps its cached descriptor apart from selector and DPL (Intel).
        var ss = segs[S.ss]; ss.sel = (base &+ 8) | 3; ss.dpl = 3; ss.unusable = false; ss.present = true
        ss.type = 3; ss.s = true; ss.db = true; ss.limit = 0xFFFF_FFFF; ss.base = 0; ss.g = true
        setSeg(S.ss, ss)
        flags = (regs[11] & 0x3C_7FD7) | 2
        updateMode()
        eventCheck = true
    }

    func sysenterInsn() throws(Fault) {
        if !pe { throw gp(0) }
        if sysenterCS & 0xFFFC == 0 { throw gp(0) }
        let sel = UInt16(sysenterCS & 0xFFFC)
        flags &= ~(F.vm | F.if | F.rf)
        cpl = 0
        setSeg(S.cs, flatCode(sel, dpl: 0, long: lma))
        setSeg(S.ss, flatData(sel &+ 8, dpl: 0))
        rip = lma ? sysenterEIP : sysenterEIP & 0xFFFF_FFFF
        regs[4] = lma ? sysenterESP : sysenterESP & 0xFFFF_FFFF
        eventCheck = true
    }

    func sysexitInsn() throws(Fault) {
        if !pe || cpl != 0 { throw gp(0) }
        if sysenterCS & 0xFFFC == 0 { throw gp(0) }
        let base = UInt16(sysenterCS & 0xFFFC)
        let to64 = osz == 8
        cpl = 3
        if to64 {
            setSeg(S.cs, flatCode((base &+ 32) | 3, dpl: 3, long: true))
            setSeg(S.ss, flatData((base &+ 40) | 3, dpl: 3))
            rip = regs[2]; regs[4] = regs[1]
        } else {
            setSeg(S.cs, flatCode((base &+ 16) | 3, dpl: 3, long: false))
            setSeg(S.ss, flatData((base &+ 24) | 3, dpl: 3))
            rip = regs[2] & 0xFFFF_FFFF; regs[4] = regs[1] & 0xFFFF_FFFF
        }
        eventCheck = true
    }
}
