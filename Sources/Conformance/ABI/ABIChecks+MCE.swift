import KVMABI

// Machine check setup (Linux 6.1 arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_setup_mce,
// set_msr_mce, get_msr_mce; KVM_X86_GET_MCE_CAP_SUPPORTED in kvm_arch_dev_ioctl), the
// emulated CPUID (cpuid.c __do_cpuid_func_emulated) and KVM_TPR_ACCESS_REPORTING
// (vcpu_ioctl_tpr_access_reporting).

extension ABICatalogue {
    static let setupMCESource = "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_setup_mce"
    static let mcgCTLP: UInt64 = 1 << 8, mcgSERP: UInt64 = 1 << 24

    static func setupMCE(_ h: any Hypervisor, _ cap: UInt64) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in Ask.call { () throws(KVMError) in try vcpu.setupMCE(cap) } }
    }

    static let mceChecks: [ABICheck] = [
        ABICheck("mce.cap_supported", "KVM_X86_GET_MCE_CAP_SUPPORTED has MCG_CTL_P and MCG_SER_P",
                 cite: "arch/x86/kvm/x86.c kvm_arch_dev_ioctl (kvm_caps.supported_mce_cap)", expect: .value(1)) { h in
            do throws(KVMError) {
                let c = try h.mceCapSupported()
                return .value(c & (mcgCTLP | mcgSERP) == mcgCTLP | mcgSERP ? 1 : 0)
            } catch { return .errno(error.errno) }
        },
        ABICheck("mce.default_cap", "IA32_MCG_CAP of a new vCPU: 32 banks (KVM_MAX_MCE_BANKS), nothing else",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_create (mcg_cap)", expect: .value(32)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in .value(Int(try vcpu.msrs([0x179]).first?.data ?? 0xDEAD)) }
        },
        ABICheck("mce.setup_no_banks", "KVM_X86_SETUP_MCE with 0 banks: EINVAL", cite: setupMCESource,
                 expect: .errno(Errno.EINVAL)) { h in setupMCE(h, mcgCTLP) },
        ABICheck("mce.setup_33_banks", "KVM_X86_SETUP_MCE with 33 banks: EINVAL", cite: setupMCESource,
                 expect: .errno(Errno.EINVAL)) { h in setupMCE(h, 33) },
        ABICheck("mce.setup_unsupported_bit", "KVM_X86_SETUP_MCE with MCG_EXT_P (bit 9, never supported): EINVAL", cite: setupMCESource,
                 expect: .errno(Errno.EINVAL)) { h in setupMCE(h, 10 | 1 << 9) },
        ABICheck("mce.setup_reads_back", "KVM_X86_SETUP_MCE 10 banks | MCG_CTL_P: IA32_MCG_CAP reads 10AH",
                 cite: setupMCESource + ", get_msr_mce", expect: .value(0x10A)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try vcpu.setupMCE(10 | mcgCTLP)
                return .value(Int(try vcpu.msrs([0x179]).first?.data ?? 0xDEAD))
            }
        },
        ABICheck("mce.mcg_ctl_all_ones", "after KVM_X86_SETUP_MCE with MCG_CTL_P, IA32_MCG_CTL reads all ones (its low 32 bits)",
                 cite: setupMCESource, expect: .value(0xFFFF_FFFF)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try vcpu.setupMCE(10 | mcgCTLP)
                return .value(Int((try vcpu.msrs([0x17B]).first?.data ?? 0) & 0xFFFF_FFFF))
            }
        },
        ABICheck("mce.mcg_ctl_host_read", "without MCG_CTL_P the host still reads IA32_MCG_CTL (KVM_GET_MSRS: 1 entry, 0)",
                 cite: "arch/x86/kvm/x86.c get_msr_mce (MSR_IA32_MCG_CTL: only a guest read needs MCG_CTL_P)", expect: .value(0x100)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try vcpu.setupMCE(10)
                let e = try vcpu.msrs([0x17B])
                return .value(e.count << 8 | Int(truncatingIfNeeded: e.first?.data ?? 0xFF) & 0xFF)
            }
        },
        ABICheck("mce.mcg_ctl_host_write_nonzero", "without MCG_CTL_P the host's write of all ones to IA32_MCG_CTL: 0 entries set",
                 cite: "arch/x86/kvm/x86.c set_msr_mce (MSR_IA32_MCG_CTL)", expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try vcpu.setupMCE(10)
                return .value(try vcpu.setMSRs([MSREntry(index: 0x17B, data: ~0)]))
            }
        },
        ABICheck("mce.mcg_ctl_partial", "with MCG_CTL_P, the host's write of 1 to IA32_MCG_CTL (neither 0 nor all ones): 0 entries set",
                 cite: "arch/x86/kvm/x86.c set_msr_mce (MSR_IA32_MCG_CTL)", expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try vcpu.setupMCE(10 | mcgCTLP)
                return .value(try vcpu.setMSRs([MSREntry(index: 0x17B, data: 1)]))
            }
        },
        ABICheck("emulated_cpuid.too_small", "KVM_GET_EMULATED_CPUID with nent 1: E2BIG",
                 cite: "arch/x86/kvm/cpuid.c kvm_dev_ioctl_get_cpuid", expect: .errno(Errno.E2BIG)) { h in
            Ask.call { () throws(KVMError) in _ = try h.emulatedCPUID(capacity: 1) }
        },
        ABICheck("emulated_cpuid.leaf0", "KVM_GET_EMULATED_CPUID: leaf 0 EAX = 7",
                 cite: "arch/x86/kvm/cpuid.c __do_cpuid_func_emulated", expect: .value(7)) { h in
            do throws(KVMError) {
                return .value(Int(try h.emulatedCPUID(capacity: 64).first { $0.function == 0 }?.eax ?? 0xDEAD))
            } catch { return .errno(error.errno) }
        },
        ABICheck("emulated_cpuid.movbe", "KVM_GET_EMULATED_CPUID: leaf 1 ECX is MOVBE (bit 22) alone",
                 cite: "arch/x86/kvm/cpuid.c __do_cpuid_func_emulated", expect: .value(1 << 22)) { h in
            do throws(KVMError) {
                return .value(Int(try h.emulatedCPUID(capacity: 64).first { $0.function == 1 }?.ecx ?? 0))
            } catch { return .errno(error.errno) }
        },
        ABICheck("tpr_access.enable", "KVM_TPR_ACCESS_REPORTING enabled 1, flags 0: 0 (no LAPIC needed)",
                 cite: "arch/x86/kvm/x86.c vcpu_ioctl_tpr_access_reporting", expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vcpu.setTPRAccessReporting(enabled: true, flags: 0) }
            }
        },
        ABICheck("tpr_access.flags", "KVM_TPR_ACCESS_REPORTING with flags 1: EINVAL",
                 cite: "arch/x86/kvm/x86.c vcpu_ioctl_tpr_access_reporting", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h, irqchip: true) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vcpu.setTPRAccessReporting(enabled: true, flags: 1) }
            }
        },
    ]
}
