import KVMABI

// State that must survive a KVM_SET_* / KVM_GET_* round trip: what a VMM's save/restore
// (migration, snapshots) depends on, field by field, because a port that drops one field
// (a segment's base, R13, an MSR it does not list) breaks restore silently. Linux 6.1
// arch/x86/kvm/x86.c __set_regs/__get_regs, __set_sregs_common/__get_sregs_common,
// kvm_set_msr_common/kvm_get_msr_common, vmx/vmx.c vmx_set_msr/vmx_get_msr.

extension ABICatalogue {
    static let gprNames = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]

    /// Each GPR set to a distinct 64-bit pattern reads back.
    static let gprChecks: [ABICheck] = gprNames.enumerated().map { i, name in
        let pattern = 0x0102_0304_0506_0700 &+ UInt64(i) &* 0x1111
        return ABICheck("regs.\(name)", "KVM_SET_REGS \(name.uppercased()) = 0x\(String(pattern, radix: 16)) reads back",
                        cite: "arch/x86/kvm/x86.c __set_regs, __get_regs", expect: .bits(pattern)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var r = try vcpu.regs()
                r[gpr: i] = pattern
                try vcpu.setRegs(r)
                return .bits(try vcpu.regs()[gpr: i])
            }
        }
    } + [
        ABICheck("regs.rip", "KVM_SET_REGS RIP = 0x1234 reads back", cite: "arch/x86/kvm/x86.c __set_regs, kvm_rip_write", expect: .value(0x1234)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var r = try vcpu.regs()
                r.rip = 0x1234
                try vcpu.setRegs(r)
                return .bits(try vcpu.regs().rip)
            }
        },
        ABICheck("regs.rip_64bit", "KVM_SET_REGS RIP = 0xffffffff00001000 in real mode reads back whole (KVM stores RIP as given)",
                 cite: "arch/x86/kvm/x86.c __set_regs (kvm_rip_write)", expect: .bits(UInt64(0xFFFF_FFFF_0000_1000))) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var r = try vcpu.regs()
                r.rip = 0xFFFF_FFFF_0000_1000
                try vcpu.setRegs(r)
                return .bits(try vcpu.regs().rip)
            }
        },
        ABICheck("regs.rflags", "KVM_SET_REGS RFLAGS = 0x8d7 (CF PF AF ZF SF OF and bit 1) reads back", cite: "arch/x86/kvm/x86.c __set_regs, kvm_set_rflags",
                 expect: .value(0x8D7)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var r = try vcpu.regs()
                r.rflags = 0x8D7
                try vcpu.setRegs(r)
                return .bits(try vcpu.regs().rflags)
            }
        },
    ]

    /// An sregs field set on the vCPU and read back (in a valid protected-mode state).
    static func sregsField(_ name: String, _ title: String, expect value: UInt64,
                           set: @escaping @Sendable (inout SpecialRegisters) -> Void,
                           get: @escaping @Sendable (SpecialRegisters) -> UInt64) -> ABICheck {
        ABICheck("sregs.\(name)", title, cite: "arch/x86/kvm/x86.c __set_sregs_common, __get_sregs_common", expect: .bits(value)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var s = try vcpu.sregs()
                set(&s)
                try vcpu.setSregs(s)
                return .bits(get(try vcpu.sregs()))
            }
        }
    }

    static let sregsFieldChecks: [ABICheck] = [
        sregsField("ds_base", "DS.base = 0x12340 reads back", expect: 0x12340, set: { $0.ds.base = 0x12340 }, get: { $0.ds.base }),
        sregsField("es_limit", "ES.limit = 0xfff reads back", expect: 0xFFF, set: { $0.es.limit = 0xFFF }, get: { UInt64($0.es.limit) }),
        sregsField("fs_base", "FS.base = 0x7fff_0000_1000 (64-bit) reads back", expect: 0x7FFF_0000_1000,
                   set: { $0.fs.base = 0x7FFF_0000_1000 }, get: { $0.fs.base }),
        sregsField("gs_base", "GS.base = 0xffff_8000_0000_2000 reads back", expect: 0xFFFF_8000_0000_2000,
                   set: { $0.gs.base = 0xFFFF_8000_0000_2000 }, get: { $0.gs.base }),
        sregsField("ss_selector", "SS.selector = 0x7000 reads back", expect: 0x7000, set: { $0.ss.selector = 0x7000; $0.ss.base = 0x70000 },
                   get: { UInt64($0.ss.selector) }),
        sregsField("gdt", "GDTR = 0x5000/0x3f reads back (base*0x10000 + limit)", expect: 0x5000 * 0x10000 + 0x3F,
                   set: { $0.gdt = DescriptorTable(base: 0x5000, limit: 0x3F) }, get: { $0.gdt.base * 0x10000 + UInt64($0.gdt.limit) }),
        sregsField("idt", "IDTR = 0x6000/0x7ff reads back (base*0x10000 + limit)", expect: 0x6000 * 0x10000 + 0x7FF,
                   set: { $0.idt = DescriptorTable(base: 0x6000, limit: 0x7FF) }, get: { $0.idt.base * 0x10000 + UInt64($0.idt.limit) }),
        sregsField("cr2", "CR2 = 0xdead000 reads back", expect: 0xDEAD000, set: { $0.cr2 = 0xDEAD000 }, get: { $0.cr2 }),
        sregsField("cr3", "CR3 = 0x3000 reads back", expect: 0x3000, set: { $0.cr3 = 0x3000 }, get: { $0.cr3 }),
        sregsField("efer_sce", "EFER.SCE reads back", expect: 1, set: { $0.efer |= 1 }, get: { $0.efer & 1 }),
        sregsField("cr4_pge", "CR4.PGE|PSE reads back (0x90)", expect: 0x90, set: { $0.cr4 = 0x90 }, get: { $0.cr4 & 0x90 }),
        sregsField("cs_base", "CS.base = 0xf0000 with selector 0xf000 reads back", expect: 0xF0000,
                   set: { $0.cs.selector = 0xF000; $0.cs.base = 0xF0000 }, get: { $0.cs.base }),
        sregsField("ldt", "LDTR = selector 0x30, base 0x7000, limit 0xff reads back (base + limit)", expect: 0x7000 + 0xFF * 0x10_0000,
                   set: { $0.ldt = Segment(base: 0x7000, limit: 0xFF, selector: 0x30, type: 2, s: 0) },
                   get: { $0.ldt.base + UInt64($0.ldt.limit) * 0x10_0000 }),
        sregsField("apic_base", "apic_base = 0xfee00900 (the reset value: EN, BSP) reads back", expect: 0xFEE0_0900,
                   set: { $0.apicBase = 0xFEE0_0900 }, get: { $0.apicBase }),
        sregsField("cr0_wp_ne", "CR0 = 0x60050031 (CD NW AM WP NE ET PE) reads back", expect: 0x6005_0031,
                   set: { $0.cr0 = 0x6005_0031; $0.cs.db = 1 }, get: { $0.cr0 }),
        sregsField("tr", "TR = selector 0x28, base 0x9000, limit 0x67, busy TSS (type 11) reads back (base + limit + type)",
                   expect: 0x9000 + 0x67 * 0x10_0000 + 11 * 0x1_0000_0000,
                   set: { $0.tr = Segment(base: 0x9000, limit: 0x67, selector: 0x28, type: 11, s: 0) },
                   get: { $0.tr.base + UInt64($0.tr.limit) * 0x10_0000 + UInt64($0.tr.type) * 0x1_0000_0000 }),
    ]

    /// An MSR written by the host and read back.
    static func msrRoundTrip(_ name: String, _ index: UInt32, _ value: UInt64, cite: String) -> ABICheck {
        ABICheck("msrs.\(name)", "\(name.uppercased()) (0x\(String(index, radix: 16))) = 0x\(String(value, radix: 16)) written by the host reads back",
                 cite: cite, expect: .bits(value)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                guard try vcpu.setMSRs([MSREntry(index: index, data: value)]) == 1 else { return .text("KVM_SET_MSRS set 0 entries") }
                guard let e = try vcpu.msrs([index]).first else { return .text("KVM_GET_MSRS read 0 entries") }
                return .bits(e.data)
            }
        }
    }

    static let msrRoundTrips: [ABICheck] = [
        msrRoundTrip("sysenter_cs", 0x174, 0x10, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_IA32_SYSENTER_CS)"),
        msrRoundTrip("sysenter_eip", 0x176, 0xFFFF_8000_1234_5000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_IA32_SYSENTER_EIP)"),
        msrRoundTrip("star", 0xC000_0081, 0x0023_0010_0000_0000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (user-return MSR_STAR)"),
        msrRoundTrip("lstar", 0xC000_0082, 0xFFFF_8000_0010_0000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_LSTAR)"),
        msrRoundTrip("cstar", 0xC000_0083, 0xFFFF_8000_0020_0000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_CSTAR)"),
        msrRoundTrip("sfmask", 0xC000_0084, 0x4_7700, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_SYSCALL_MASK)"),
        msrRoundTrip("fs_base", 0xC000_0100, 0x7FFF_F000_0000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_FS_BASE)"),
        msrRoundTrip("gs_base", 0xC000_0101, 0xFFFF_8880_0000_0000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_GS_BASE)"),
        msrRoundTrip("kernel_gs_base", 0xC000_0102, 0xFFFF_8880_1000_0000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_KERNEL_GS_BASE)"),
        msrRoundTrip("pat", 0x277, 0x0007_0406_0007_0406, cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_IA32_CR_PAT, kvm_pat_valid)"),
        ABICheck("msrs.efer_lma_kept", "EFER = 0x501 (SCE|LME|LMA) written by the host in real mode reads back 0x101: LMA follows the vCPU, not the write",
                 cite: "arch/x86/kvm/x86.c set_efer (efer &= ~EFER_LMA; efer |= vcpu->arch.efer & EFER_LMA)", expect: .value(0x101)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                guard try vcpu.setMSRs([MSREntry(index: 0xC000_0080, data: 0x501)]) == 1 else { return .text("KVM_SET_MSRS set 0 entries") }
                return .bits(try vcpu.msrs([0xC000_0080]).first?.data ?? 0)
            }
        },
        msrRoundTrip("mtrr_def_type", 0x2FF, 0xC06, cite: "arch/x86/kvm/mtrr.c kvm_mtrr_set_msr (MSR_MTRRdefType)"),
        msrRoundTrip("misc_enable", 0x1A0, 0x1, cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_IA32_MISC_ENABLE, host-initiated)"),
        ABICheck("msrs.tsc_adjust_without_cpuid", "IA32_TSC_ADJUST = 0x1000 with no TSC_ADJUST in the guest CPUID: the write succeeds and is dropped (reads 0)",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common / kvm_get_msr_common (MSR_IA32_TSC_ADJUST)", expect: .text("set 1, read 0x0")) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var t = try h.supportedCPUID()
                for i in t.indices where t[i].function == 7 && t[i].index == 0 { t[i].ebx &= ~(UInt32(1) << 1) }
                try vcpu.setCPUID(t)
                let n = try vcpu.setMSRs([MSREntry(index: 0x3B, data: 0x1000)])
                let v = try vcpu.msrs([0x3B]).first.map { "0x" + String($0.data, radix: 16) } ?? "nothing"
                return .text("set \(n), read \(v)")
            }
        },
        msrRoundTrip("sysenter_esp", 0x175, 0xFFFF_C900_0000_8000, cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr (MSR_IA32_SYSENTER_ESP)"),
        ABICheck("msrs.pat_reset", "IA32_PAT of a new vCPU reads 0x0007040600070406 (the power-on value)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_create (vcpu->arch.pat = MSR_IA32_CR_PAT_DEFAULT)", expect: .bits(UInt64(0x0007_0406_0007_0406))) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in .bits(try vcpu.msrs([0x277]).first?.data ?? 0) }
        },
        ABICheck("msrs.efer_reset", "EFER of a new vCPU reads 0", cite: "arch/x86/kvm/x86.c kvm_vcpu_reset", expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in .bits(try vcpu.msrs([0xC000_0080]).first?.data ?? 0xFFFF) }
        },
        ABICheck("msrs.pat_invalid", "PAT with memory type 2 (reserved) in entry 0 is refused: 0 entries set",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common (kvm_pat_valid)", expect: .value(0)) { h in
            setMSRs(h, [MSREntry(index: 0x277, data: 0x0007_0406_0007_0402)])
        },
        ABICheck("msrs.apic_base_reserved", "IA32_APIC_BASE with EXTD (bit 10) but not EN (bit 11), an invalid mode, is refused even from the host: 0 entries set",
                 cite: "arch/x86/kvm/x86.c kvm_set_apic_base (LAPIC_MODE_INVALID)", expect: .value(0)) { h in
            setMSRs(h, [MSREntry(index: 0x1B, data: 0xFEE0_0000 | 0x400 | 0x100)])
        },
        ABICheck("msrs.tsc_written", "IA32_TSC = 1<<40 written by the host: a read right after is at least 1<<40 and below 1<<40 + 2^36",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_IA32_TSC, host-initiated: kvm_synchronize_tsc)", expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                _ = try vcpu.setMSRs([MSREntry(index: 0x10, data: 1 << 40)])
                let t = try vcpu.msrs([0x10]).first?.data ?? 0
                return t >= 1 << 40 && t < (1 << 40) + (1 << 36) ? .value(1) : .text("read 0x\(String(t, radix: 16))")
            }
        },
    ]

    static let eventRoundTrips: [ABICheck] = [
        ABICheck("events.exception_roundtrip", "an injected #PF with error code 6 reads back (nr*0x100 + has_error_code*0x10 + error_code)",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_get_vcpu_events", expect: .value(14 * 0x100 + 0x10 + 6)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var e = try vcpu.vcpuEvents()
                e.flags = 0
                e.exception.injected = 1; e.exception.nr = 14; e.exception.hasErrorCode = 1; e.exception.errorCode = 6
                try vcpu.setVCPUEvents(e)
                let r = try vcpu.vcpuEvents().exception
                return .value(Int(r.nr) * 0x100 + Int(r.hasErrorCode) * 0x10 + Int(r.errorCode))
            }
        },
        ABICheck("events.exception_vector_255", "an injected exception with vector 255: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events", expect: .errno(Errno.EINVAL)) { h in
            events(h) { $0.exception.injected = 1; $0.exception.nr = 255 }
        },
        ABICheck("events.exception_vector_31", "an injected exception with vector 31 (the last exception vector)",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events", expect: .ok) { h in
            events(h) { $0.exception.injected = 1; $0.exception.nr = 31 }
        },
        ABICheck("events.interrupt_roundtrip", "an injected external interrupt (vector 0x30) reads back injected with its vector",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events (kvm_queue_interrupt)", expect: .value(0x1_30)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var e = try vcpu.vcpuEvents()
                e.flags = 0
                e.interrupt.injected = 1; e.interrupt.nr = 0x30
                try vcpu.setVCPUEvents(e)
                let r = try vcpu.vcpuEvents().interrupt
                return .value(Int(r.injected) * 0x100 + Int(r.nr))
            }
        },
        ABICheck("events.sipi_not_reported", "a SIPI vector 0x9a set with KVM_VCPUEVENT_VALID_SIPI_VECTOR is accepted, and KVM_GET_VCPU_EVENTS reports sipi_vector 0 (never valid when reported)",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_get_vcpu_events (events->sipi_vector = 0)", expect: .value(0)) { h in
            Ask.withVCPU(h, irqchip: true) { _, vcpu, _ throws(KVMError) in
                var e = try vcpu.vcpuEvents()
                e.flags = VCPUEvents.validSIPIVector
                e.sipiVector = 0x9A
                try vcpu.setVCPUEvents(e)
                return .bits(try vcpu.vcpuEvents().sipiVector)
            }
        },
        ABICheck("events.shadow_roundtrip", "an STI interrupt shadow (KVM_X86_SHADOW_INT_STI) with KVM_VCPUEVENT_VALID_SHADOW reads back",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events (set_interrupt_shadow)", expect: .value(2)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var e = try vcpu.vcpuEvents()
                e.flags = VCPUEvents.validShadow
                e.interrupt.shadow = 2
                try vcpu.setVCPUEvents(e)
                return .bits(try vcpu.vcpuEvents().interrupt.shadow)
            }
        },
    ]
}

extension Regs {
    /// GPR by the order of `ABICatalogue.gprNames`.
    subscript(gpr i: Int) -> UInt64 {
        get { [rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp, r8, r9, r10, r11, r12, r13, r14, r15][i] }
        set {
            switch i {
            case 0: rax = newValue
            case 1: rbx = newValue
            case 2: rcx = newValue
            case 3: rdx = newValue
            case 4: rsi = newValue
            case 5: rdi = newValue
            case 6: rsp = newValue
            case 7: rbp = newValue
            case 8: r8 = newValue
            case 9: r9 = newValue
            case 10: r10 = newValue
            case 11: r11 = newValue
            case 12: r12 = newValue
            case 13: r13 = newValue
            case 14: r14 = newValue
            default: r15 = newValue
            }
        }
    }
}
