import KVMABI

// The kvm_run fields besides the exit: cr8 (in and out), apic_base and flags (out). Linux
// 6.1 arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_run ("re-sync apic's tpr": without an
// in-kernel LAPIC, kvm_set_cr8(vcpu, kvm_run->cr8) before anything runs, EINVAL when it
// refuses) and post_kvm_run_save (cr8, apic_base, flags written on every return). A VMM
// that restores CR8 with KVM_SET_SREGS and not kvm_run->cr8 loses it on the next KVM_RUN.

extension ABICatalogue {
    /// One KVM_RUN with immediate_exit set (KVM returns EINTR without entering the guest),
    /// after `setup`; `inspect` reads the answer.
    static func immediateRun(_ h: any Hypervisor, irqchip: Bool = false,
                             setup: @escaping (any VirtualCPU) throws(KVMError) -> Void,
                             inspect: @escaping (any VirtualCPU) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        Ask.withVCPU(h, irqchip: irqchip) { _, vcpu, _ throws(KVMError) in
            try setup(vcpu)
            do throws(KVMError) { _ = try vcpu.runWithImmediateExit(budget: .milliseconds(2000)) } catch { return .errno(error.errno) }
            return try inspect(vcpu)
        }
    }

    static func setCR8(_ vcpu: any VirtualCPU, _ value: UInt64) throws(KVMError) {
        var s = try vcpu.sregs()
        s.cr8 = value
        try vcpu.setSregs(s)
    }

    static let runFieldChecks: [ABICheck] = [
        ABICheck("run.cr8_in", "no irqchip: KVM_RUN first sets CR8 from kvm_run.cr8 (SREGS CR8 9, kvm_run.cr8 3: CR8 reads 3)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_run (re-sync apic's tpr: kvm_set_cr8(vcpu, kvm_run->cr8))",
                 expect: .value(3)) { h in
            immediateRun(h, setup: { v throws(KVMError) in try setCR8(v, 9); v.cr8 = 3 }) { v throws(KVMError) in .bits(try v.sregs().cr8) }
        },
        ABICheck("run.cr8_in_fresh", "no irqchip: CR8 set by KVM_SET_SREGS alone is undone by the next KVM_RUN (a fresh kvm_run.cr8 is 0)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_run (kvm_run->cr8 is zeroed with the vCPU's kvm_run page)",
                 expect: .value(0)) { h in
            immediateRun(h, setup: { v throws(KVMError) in try setCR8(v, 9) }) { v throws(KVMError) in .bits(try v.sregs().cr8) }
        },
        ABICheck("run.cr8_out", "no irqchip: kvm_run.cr8 holds CR8 after KVM_RUN returns (cr8 5 in, 5 out)",
                 cite: "arch/x86/kvm/x86.c post_kvm_run_save (kvm_run->cr8 = kvm_get_cr8)", expect: .value(5)) { h in
            immediateRun(h, setup: { v throws(KVMError) in v.cr8 = 5 }) { v in .bits(v.cr8) }
        },
        ABICheck("run.cr8_invalid", "no irqchip: kvm_run.cr8 = 16 (bits above 3:0) makes KVM_RUN fail with EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_run (kvm_set_cr8 refuses CR8_RESERVED_BITS: -EINVAL)",
                 expect: .errno(Errno.EINVAL)) { h in
            immediateRun(h, setup: { v throws(KVMError) in v.cr8 = 16 }) { _ in .ok }
        },
        ABICheck("run.cr8_lapic_ignored", "with the in-kernel LAPIC kvm_run.cr8 is not read: SREGS CR8 9 stays 9 (kvm_run.cr8 0)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_run (the re-sync is only for !lapic_in_kernel)",
                 expect: .value(9)) { h in
            immediateRun(h, irqchip: true, setup: { v throws(KVMError) in try setCR8(v, 9); v.cr8 = 0 }) { v throws(KVMError) in
                .bits(try v.sregs().cr8)
            }
        },
        ABICheck("run.cr8_lapic_out", "with the in-kernel LAPIC kvm_run.cr8 reports the TPR after KVM_RUN (TPR 90H: 9)",
                 cite: "arch/x86/kvm/x86.c post_kvm_run_save (kvm_get_cr8: kvm_lapic_get_cr8, TPR[7:4])", expect: .value(9)) { h in
            immediateRun(h, irqchip: true, setup: { v throws(KVMError) in try setCR8(v, 9); v.cr8 = 0 }) { v in .bits(v.cr8) }
        },
        ABICheck("run.apic_base_out", "kvm_run.apic_base after KVM_RUN: the BSP's IA32_APIC_BASE (FEE00900H)",
                 cite: "arch/x86/kvm/x86.c post_kvm_run_save (kvm_run->apic_base = kvm_get_apic_base), lapic.c kvm_lapic_reset",
                 expect: .value(0xFEE0_0900)) { h in
            immediateRun(h, irqchip: true, setup: { _ in }) { v in .bits(v.apicBase) }
        },
        ABICheck("run.apic_base_out_moved", "kvm_run.apic_base follows KVM_SET_SREGS: base FED00000H, enabled, BSP (FED00900H)",
                 cite: "arch/x86/kvm/x86.c post_kvm_run_save, __set_sregs_common (kvm_set_apic_base)", expect: .value(0xFED0_0900)) { h in
            immediateRun(h, irqchip: true, setup: { v throws(KVMError) in
                var s = try v.sregs()
                s.apicBase = 0xFED0_0900
                try v.setSregs(s)
            }) { v in .bits(v.apicBase) }
        },
        ABICheck("run.flags_out", "kvm_run.flags after a KVM_RUN outside SMM: 0 (KVM_RUN_X86_SMM clear)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_run (kvm_run->flags = 0), post_kvm_run_save", expect: .value(0)) { h in
            immediateRun(h, setup: { _ in }) { v in .value(Int(v.runFlags)) }
        },
    ]
}
