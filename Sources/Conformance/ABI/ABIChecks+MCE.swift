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

    static let setMCESource = "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_mce"
    static let mciVAL: UInt64 = 1 << 63, mciOVER: UInt64 = 1 << 62, mciUC: UInt64 = 1 << 61, mciEN: UInt64 = 1 << 60
    static let mciPCC: UInt64 = 1 << 57

    /// vCPU 0 with 10 banks (and `cap` bits), after `setup`; `body` answers.
    static func mceVCPU(_ h: any Hypervisor, cap: UInt64 = mcgCTLP,
                        _ body: @escaping (any VirtualMachine, any VirtualCPU) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        Ask.withVCPU(h) { vm, vcpu, mem throws(KVMError) in
            _ = mem.write([0x00, 0x11, 0x00, 0x00], at: 18 * 4)   // IVT[18] (#MC) -> 0:1100H, a HLT
            _ = mem.write([0xF4], at: 0x1100)
            try vcpu.setupMCE(10 | cap)
            return try body(vm, vcpu)
        }
    }

    /// One MSR as KVM_GET_MSRS reads it: "n value" (n = entries read).
    static func readMSR(_ vcpu: any VirtualCPU, _ index: UInt32) throws(KVMError) -> ABIAnswer {
        let e = try vcpu.msrs([index])
        return .text("\(e.count) 0x" + String(e.first?.data ?? 0, radix: 16))
    }

    static let setMCEChecks: [ABICheck] = [
        ABICheck("set_mce.bank_past_cap", "KVM_X86_SET_MCE for bank 10 with 10 banks: EINVAL", cite: setMCESource,
                 expect: .errno(Errno.EINVAL)) { h in
            mceVCPU(h) { _, vcpu in Ask.call { () throws(KVMError) in try vcpu.setMCE(MachineCheckEvent(bank: 10, status: mciVAL | mciEN)) } }
        },
        ABICheck("set_mce.not_valid", "KVM_X86_SET_MCE with MCi_STATUS.VAL clear: EINVAL", cite: setMCESource,
                 expect: .errno(Errno.EINVAL)) { h in
            mceVCPU(h) { _, vcpu in Ask.call { () throws(KVMError) in try vcpu.setMCE(MachineCheckEvent(bank: 1, status: mciEN)) } }
        },
        ABICheck("set_mce.corrected_logged", "a corrected error in bank 1: MC1_STATUS holds it (KVM_GET_MSRS 405H)",
                 cite: setMCESource, expect: .text("1 0x9000000000000001")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                try vcpu.setMCE(MachineCheckEvent(bank: 1, status: mciVAL | mciEN | 1, addr: 0x1234))
                return try readMSR(vcpu, 0x405)
            }
        },
        ABICheck("set_mce.corrected_addr", "a corrected error in bank 1: MC1_ADDR holds its address (406H)",
                 cite: setMCESource, expect: .text("1 0x1234")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                try vcpu.setMCE(MachineCheckEvent(bank: 1, status: mciVAL | mciEN | 1, addr: 0x1234))
                return try readMSR(vcpu, 0x406)
            }
        },
        ABICheck("set_mce.corrected_overflow", "a second corrected error in the bank: logged with OVER (bit 62)",
                 cite: setMCESource, expect: .text("1 0xd000000000000002")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                try vcpu.setMCE(MachineCheckEvent(bank: 1, status: mciVAL | mciEN | 1))
                try vcpu.setMCE(MachineCheckEvent(bank: 1, status: mciVAL | mciEN | 2))
                return try readMSR(vcpu, 0x405)
            }
        },
        ABICheck("set_mce.corrected_after_uc", "a corrected error over a logged uncorrected one: only OVER is added",
                 cite: setMCESource, expect: .text("1 0xf240000000000003")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                var s = try vcpu.sregs()
                s.cr4 |= 1 << 6
                try vcpu.setSregs(s)
                try vcpu.setMCE(MachineCheckEvent(bank: 1, status: mciVAL | mciUC | mciEN | mciPCC | 1 << 54 | 3, mcgStatus: 5))
                try vcpu.setMCE(MachineCheckEvent(bank: 1, status: mciVAL | mciEN | 4))
                return try readMSR(vcpu, 0x405)
            }
        },
        ABICheck("set_mce.uc_injects_mc", "an uncorrected error with CR4.MCE: #MC (the IVT[18] handler's HLT exits at 1101H)",
                 cite: setMCESource + " (kvm_queue_exception(MC_VECTOR))", expect: .value(0x1101)) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                var s = try vcpu.sregs()
                s.cr4 |= 1 << 6
                try vcpu.setSregs(s)
                try vcpu.setMCE(MachineCheckEvent(bank: 2, status: mciVAL | mciUC | mciEN | mciPCC, mcgStatus: 5))
                guard case .hlt = try vcpu.run(budget: .milliseconds(300)) else { return .text("no HLT exit") }
                return .bits(try vcpu.regs().rip)
            }
        },
        ABICheck("set_mce.uc_mcg_status", "an uncorrected error sets IA32_MCG_STATUS from the event (5: RIPV | MCIP)",
                 cite: setMCESource, expect: .text("1 0x5")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                var s = try vcpu.sregs()
                s.cr4 |= 1 << 6
                try vcpu.setSregs(s)
                try vcpu.setMCE(MachineCheckEvent(bank: 2, status: mciVAL | mciUC | mciEN | mciPCC, mcgStatus: 5))
                return try readMSR(vcpu, 0x17A)
            }
        },
        ABICheck("set_mce.uc_without_cr4_mce", "an uncorrected error with CR4.MCE clear: the next KVM_RUN is KVM_EXIT_SHUTDOWN (8)",
                 cite: setMCESource + " (KVM_REQ_TRIPLE_FAULT)", expect: .value(8)) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                try vcpu.setMCE(MachineCheckEvent(bank: 2, status: mciVAL | mciUC | mciEN | mciPCC, mcgStatus: 5))
                return .value(Int(try vcpu.run(budget: .milliseconds(300)).reason))
            }
        },
        ABICheck("set_mce.uc_bank_disabled", "MC2_CTL = 0, then an uncorrected error in bank 2: dropped (MC2_STATUS stays 0)",
                 cite: setMCESource + " (banks[0] != ~0)", expect: .text("1 0x0")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                _ = try vcpu.setMSRs([MSREntry(index: 0x408, data: 0)])
                try vcpu.setMCE(MachineCheckEvent(bank: 2, status: mciVAL | mciUC | mciEN | mciPCC, mcgStatus: 5))
                return try readMSR(vcpu, 0x409)
            }
        },
        ABICheck("set_mce.ucna_logged", "a UCNA (UC without PCC/S/AR, MCG_STATUS 0): logged, no #MC (the HLT at 1000H exits, RIP 1001H)",
                 cite: "arch/x86/kvm/x86.c is_ucna, kvm_vcpu_x86_set_ucna", expect: .text("1 0xb000000000000007 rip 0x1001")) { h in
            mceVCPU(h, cap: mcgCTLP | 1 << 10) { _, vcpu throws(KVMError) in
                var s = try vcpu.sregs()
                s.cr4 |= 1 << 6
                try vcpu.setSregs(s)
                try vcpu.setMCE(MachineCheckEvent(bank: 3, status: mciVAL | mciUC | mciEN | 7))
                _ = try vcpu.run(budget: .milliseconds(300))
                guard case .text(let t) = try readMSR(vcpu, 0x40D) else { return .text("?") }
                return .text(t + " rip 0x" + String(try vcpu.regs().rip, radix: 16))
            }
        },
        ABICheck("mce_msr.ctl_partial", "KVM_SET_MSRS MC0_CTL = 5 (neither 0 nor all ones): 0 set",
                 cite: "arch/x86/kvm/x86.c set_msr_mce (is_mci_control_msr)", expect: .value(0)) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in .value(try vcpu.setMSRs([MSREntry(index: 0x400, data: 5)])) }
        },
        ABICheck("mce_msr.ctl_bits_0_10_clear", "MC0_CTL = all ones but bits 10 and 0 (the K8 and UnixWare quirks): 1 set",
                 cite: "arch/x86/kvm/x86.c set_msr_mce", expect: .value(1)) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in .value(try vcpu.setMSRs([MSREntry(index: 0x400, data: ~UInt64(0x401))])) }
        },
        ABICheck("mce_msr.status_host_write", "a host write of MC0_STATUS = 1: 1 set (only a guest write needs 0)",
                 cite: "arch/x86/kvm/x86.c set_msr_mce (is_mci_status_msr, host_initiated)", expect: .value(1)) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in .value(try vcpu.setMSRs([MSREntry(index: 0x401, data: 1)])) }
        },
        ABICheck("mce_msr.past_last_bank", "with 10 banks, KVM_GET_MSRS of MC10_CTL (428H): 0 entries",
                 cite: "arch/x86/kvm/x86.c get_msr_mce (last_msr)", expect: .value(0)) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in .value(try vcpu.msrs([0x428]).count) }
        },
        ABICheck("mce_msr.ctl_after_setup", "after KVM_X86_SETUP_MCE, MC9_CTL (424H) reads all ones",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_setup_mce", expect: .text("1 0xffffffffffffffff")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in try readMSR(vcpu, 0x424) }
        },
        ABICheck("mce_msr.ctl2_without_cmci", "without MCG_CMCI_P, a host write of MC0_CTL2 = CMCI_EN: 0 set",
                 cite: "arch/x86/kvm/x86.c set_msr_mce (MSR_IA32_MC0_CTL2)", expect: .value(0)) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in .value(try vcpu.setMSRs([MSREntry(index: 0x280, data: 1 << 30)])) }
        },
        ABICheck("mce_msr.ctl2_reserved", "with MCG_CMCI_P, MC0_CTL2 with bit 31 (reserved): 0 set",
                 cite: "arch/x86/kvm/x86.c set_msr_mce (MSR_IA32_MC0_CTL2)", expect: .value(0)) { h in
            mceVCPU(h, cap: mcgCTLP | 1 << 10) { _, vcpu throws(KVMError) in .value(try vcpu.setMSRs([MSREntry(index: 0x280, data: 1 << 31)])) }
        },
        ABICheck("mce_msr.ctl2_cmci", "with MCG_CMCI_P, MC0_CTL2 = CMCI_EN | threshold 5 reads back",
                 cite: "arch/x86/kvm/x86.c set_msr_mce, get_msr_mce", expect: .text("1 0x40000005")) { h in
            mceVCPU(h, cap: mcgCTLP | 1 << 10) { _, vcpu throws(KVMError) in
                _ = try vcpu.setMSRs([MSREntry(index: 0x280, data: 1 << 30 | 5)])
                return try readMSR(vcpu, 0x280)
            }
        },
        ABICheck("mce_msr.mcg_status_any", "KVM_SET_MSRS IA32_MCG_STATUS = 5: set and read back",
                 cite: "arch/x86/kvm/x86.c set_msr_mce (MSR_IA32_MCG_STATUS)", expect: .text("1 0x5")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in
                _ = try vcpu.setMSRs([MSREntry(index: 0x17A, data: 5)])
                return try readMSR(vcpu, 0x17A)
            }
        },
        ABICheck("mce_msr.p5_mc_addr", "IA32_P5_MC_ADDR (0) reads 0",
                 cite: "arch/x86/kvm/x86.c get_msr_mce (MSR_IA32_P5_MC_ADDR)", expect: .text("1 0x0")) { h in
            mceVCPU(h) { _, vcpu throws(KVMError) in try readMSR(vcpu, 0) }
        },
    ]

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
