import KVMABI

// KVM_GET_LAPIC / KVM_SET_LAPIC (Linux 6.1 arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl; lapic.c
// kvm_apic_get_state, kvm_apic_set_state, kvm_apic_state_fixup): what a VMM saves and
// restores of the in-kernel LAPIC, and what KVM recomputes on a restore.

extension ABICatalogue {
    static let getLAPICSource = "arch/x86/kvm/lapic.c kvm_apic_get_state"
    static let setLAPICSource = "arch/x86/kvm/lapic.c kvm_apic_set_state"

    /// vCPU `id` (after vCPUs 0..id-1) of a VM with the in-kernel irqchip: KVM_SET_LAPIC of
    /// its page after `edit`, then `read` of KVM_GET_LAPIC.
    static func lapicRoundTrip(_ h: any Hypervisor, id: UInt32 = 0, before: ((any VirtualCPU) throws(KVMError) -> Void)? = nil,
                               _ edit: @escaping (inout LAPICState) -> Void,
                               _ read: @escaping (LAPICState) -> Int) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            try vm.createIRQChip()
            var vcpu: (any VirtualCPU)?
            for i in 0...id { vcpu = try vm.createVCPU(id: i) }
            guard let vcpu else { return .setupFailed("no vCPU") }
            try before?(vcpu)
            var s = try vcpu.lapic()
            edit(&s)
            do throws(KVMError) { try vcpu.setLAPIC(s) } catch { return .errno(error.errno) }
            return .value(read(try vcpu.lapic()))
        }
    }

    /// The LAPIC page of vCPU `id` right after creation.
    static func freshLAPIC(_ h: any Hypervisor, id: UInt32 = 0, _ read: @escaping (LAPICState) -> Int) -> ABIAnswer {
        lapicRoundTrip(h, id: id, { _ in }, read)
    }

    static let lapicChecks: [ABICheck] = [
        ABICheck("lapic.get_no_irqchip", "KVM_GET_LAPIC without the in-kernel irqchip: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl (KVM_GET_LAPIC)", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in Ask.call { () throws(KVMError) in _ = try vcpu.lapic() } }
        },
        ABICheck("lapic.set_no_irqchip", "KVM_SET_LAPIC without the in-kernel irqchip: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl (KVM_SET_LAPIC)", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in Ask.call { () throws(KVMError) in try vcpu.setLAPIC(LAPICState()) } }
        },
        ABICheck("lapic.reset_id", "vCPU 2's page after creation: ID register 02000000H (xAPIC ID = vCPU id)",
                 cite: getLAPICSource + ", kvm_lapic_reset (kvm_apic_set_xapic_id)", expect: .value(0x0200_0000)) { h in
            freshLAPIC(h, id: 2) { Int($0.register(0x20)) }
        },
        ABICheck("lapic.reset_version", "after creation the version register's low byte is 14H (integrated APIC)",
                 cite: "arch/x86/kvm/lapic.c kvm_apic_set_version (APIC_VERSION)", expect: .value(0x14)) { h in
            freshLAPIC(h) { Int($0.register(0x30) & 0xFF) }
        },
        ABICheck("lapic.reset_lvt", "after creation the BSP's LVT0 is 700H (ExtINT, LINT0 quirk), LVT1 and the timer masked: LVT0 | LVT1 | LVTT",
                 cite: "arch/x86/kvm/lapic.c kvm_lapic_reset", expect: .value(0x10700)) { h in
            freshLAPIC(h) { Int($0.register(0x350) | $0.register(0x360) | $0.register(0x320)) }
        },
        ABICheck("lapic.reset_svr_dfr", "after creation SVR is FFH and DFR FFFFFFFFH: SVR << 32 | DFR",
                 cite: "arch/x86/kvm/lapic.c kvm_lapic_reset", expect: .value(0xFF_FFFF_FFFF)) { h in
            freshLAPIC(h) { Int($0.register(0xF0)) << 32 | Int($0.register(0xE0)) }
        },
        ABICheck("lapic.tpr_ppr", "KVM_SET_LAPIC with TPR 50H: TPR reads 50H and PPR follows it (apic_update_ppr): TPR << 8 | PPR",
                 cite: setLAPICSource + " (apic_update_ppr)", expect: .value(0x5050)) { h in
            lapicRoundTrip(h, { $0.setRegister(0x80, 0x50) }) { Int($0.register(0x80) << 8 | $0.register(0xA0)) }
        },
        // Not checked: the PPR stored after a restore with a vector in service. Linux 6.1 runs
        // apic_update_ppr before kvm_apic_update_apicv recounts the ISR, so the stored PPR
        // depends on APICv (60H with it, the TPR without it).
        ABICheck("lapic.isr_kept", "KVM_SET_LAPIC with vector 61H in ISR: the ISR bit reads back",
                 cite: setLAPICSource, expect: .value(1)) { h in
            lapicRoundTrip(h, { $0.setRegister(0x130, 1 << 1) }) { Int(($0.register(0x130) >> 1) & 1) }
        },
        ABICheck("lapic.version_recomputed", "KVM_SET_LAPIC with version register 0: it reads 14H again (kvm_apic_set_version)",
                 cite: setLAPICSource + " (kvm_apic_set_version)", expect: .value(0x14)) { h in
            lapicRoundTrip(h, { $0.setRegister(0x30, 0) }) { Int($0.register(0x30) & 0xFF) }
        },
        ABICheck("lapic.icr_no_ipi", "KVM_SET_LAPIC with ICR = fixed self IPI 45H (SVR enabled): copied, not sent: ICR reads it, IRR lacks 45H: ICR low byte << 1 | IRR bit",
                 cite: setLAPICSource + " (memcpy of the registers)", expect: .value(0x45 << 1)) { h in
            lapicRoundTrip(h, { $0.setRegister(0xF0, 0x1FF); $0.setRegister(0x300, 0x0004_4045) }) {
                Int($0.register(0x300) & 0xFF) << 1 | Int(($0.register(0x220) >> 5) & 1)
            }
        },
        ABICheck("lapic.lvt_kept_masked_state", "KVM_SET_LAPIC with SVR disabled (FFH) but LVT1 unmasked (vector 40H): kept as given (no forced mask on a restore)",
                 cite: setLAPICSource, expect: .value(0x40)) { h in
            lapicRoundTrip(h, { $0.setRegister(0xF0, 0xFF); $0.setRegister(0x360, 0x40) }) { Int($0.register(0x360)) }
        },
        ABICheck("lapic.timer_from_current_count", "one-shot timer restored with TMICT 10^9 and TMCCT 5*10^8 (divide 1): it counts on from the current count (TMCCT between 4*10^8 and 5*10^8)",
                 cite: setLAPICSource + " (__start_apic_timer with APIC_TMCCT)", expect: .value(1)) { h in
            lapicRoundTrip(h, {
                $0.setRegister(0x320, 0x1_0060); $0.setRegister(0x3E0, 0xB)
                $0.setRegister(0x380, 1_000_000_000); $0.setRegister(0x390, 500_000_000)
            }) { s in
                let c = s.register(0x390)
                return c > 400_000_000 && c <= 500_000_000 ? 1 : 0
            }
        },
        ABICheck("lapic.timer_zero_current_periodic", "periodic timer restored with TMICT 10^9 and TMCCT 0: a full period (TMCCT above 9*10^8)",
                 cite: "arch/x86/kvm/lapic.c set_target_expiration (a zero count: the period when periodic)", expect: .value(1)) { h in
            lapicRoundTrip(h, {
                $0.setRegister(0x320, 0x3_0060); $0.setRegister(0x3E0, 0xB)
                $0.setRegister(0x380, 1_000_000_000); $0.setRegister(0x390, 0)
            }) { s in s.register(0x390) > 900_000_000 ? 1 : 0 }
        },
        ABICheck("lapic.timer_zero_current_oneshot", "one-shot timer restored with TMICT 10^9 and TMCCT 0: expired at once (TMCCT reads 0)",
                 cite: "arch/x86/kvm/lapic.c set_target_expiration (a zero count: deadline 0 when one-shot)", expect: .value(0)) { h in
            lapicRoundTrip(h, {
                $0.setRegister(0x320, 0x1_0060); $0.setRegister(0x3E0, 0xB)
                $0.setRegister(0x380, 1_000_000_000); $0.setRegister(0x390, 0)
            }) { s in Int(s.register(0x390)) }
        },
        ABICheck("lapic.tdcr_kept", "KVM_SET_LAPIC with TDCR 0AH (divide by 128): reads 0AH",
                 cite: setLAPICSource + " (update_divide_count)", expect: .value(0xA)) { h in
            lapicRoundTrip(h, { $0.setRegister(0x3E0, 0xA) }) { Int($0.register(0x3E0)) }
        },
        ABICheck("lapic.x2apic_id_shifted", "vCPU 1 in x2APIC mode: KVM_GET_LAPIC reports the ID as 1 << 24 (no KVM_CAP_X2APIC_API)",
                 cite: "arch/x86/kvm/lapic.c kvm_apic_state_fixup", expect: .value(0x0100_0000)) { h in
            lapicRoundTrip(h, id: 1, before: { v throws(KVMError) in
                _ = try v.setMSRs([MSREntry(index: 0x1B, data: 0xFEE0_0C00)])
            }, { _ in }) { Int($0.register(0x20)) }
        },
        ABICheck("lapic.x2apic_ldr_derived", "vCPU 1 in x2APIC mode, KVM_SET_LAPIC with LDR 0: the LDR is derived from the ID again (cluster 0, bit 1)",
                 cite: "arch/x86/kvm/lapic.c kvm_apic_state_fixup (kvm_apic_calc_x2apic_ldr)", expect: .value(2)) { h in
            lapicRoundTrip(h, id: 1, before: { v throws(KVMError) in
                _ = try v.setMSRs([MSREntry(index: 0x1B, data: 0xFEE0_0C00)])
            }, { $0.setRegister(0xD0, 0) }) { Int($0.register(0xD0)) }
        },
    ]
}
