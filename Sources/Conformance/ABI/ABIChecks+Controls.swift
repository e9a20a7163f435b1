import KVMABI

// KVM_ENABLE_CAP on the VM and vCPU fds and what it switches on: userspace MSR exits and
// the MSR filter (Linux 6.1 arch/x86/kvm/x86.c kvm_vm_ioctl_enable_cap,
// kvm_vm_ioctl_set_msr_filter, kvm_msr_allowed, kvm_emulate_rdmsr/wrmsr,
// kvm_msr_user_space), hypercall exits (kvm_emulate_hypercall, complete_hypercall_exit),
// ENFORCE_PV_FEATURE_CPUID (kvm_vcpu_ioctl_enable_cap, guest_pv_has), MSR_PLATFORM_INFO
// and CPUID faulting, KVM_CAP_MAX_VCPU_ID and KVM_CAP_HALT_POLL.

extension ABICatalogue {
    static let enableCapSource = "arch/x86/kvm/x86.c kvm_vm_ioctl_enable_cap"
    static let msrFilterSource = "arch/x86/kvm/x86.c kvm_vm_ioctl_set_msr_filter, kvm_add_msr_filter"
    static let userMSRSource = "arch/x86/kvm/x86.c kvm_emulate_rdmsr, kvm_msr_user_space"
    static let hypercallSource = "arch/x86/kvm/x86.c kvm_emulate_hypercall"

    /// mov ecx, index / rdmsr / hlt (real mode, 66-prefixed 32-bit moves).
    static func rdmsrCode(_ index: UInt32) -> [UInt8] { [0x66, 0xB9] + LittleEndian.bytes(index) + [0x0F, 0x32, 0xF4] }
    /// mov ecx, index / mov eax, low / mov edx, high / wrmsr / hlt.
    static func wrmsrCode(_ index: UInt32, _ value: UInt64) -> [UInt8] {
        [0x66, 0xB9] + LittleEndian.bytes(index) + [0x66, 0xB8] + LittleEndian.bytes(UInt32(truncatingIfNeeded: value))
            + [0x66, 0xBA] + LittleEndian.bytes(UInt32(truncatingIfNeeded: value >> 32)) + [0x0F, 0x30, 0xF4]
    }
    /// mov eax, nr / mov ebx, a0 / mov ecx, a1 / mov edx, a2 / vmcall / hlt.
    static func vmcallCode(_ nr: UInt32, _ a0: UInt32, _ a1: UInt32, _ a2: UInt32) -> [UInt8] {
        [0x66, 0xB8] + LittleEndian.bytes(nr) + [0x66, 0xBB] + LittleEndian.bytes(a0) + [0x66, 0xB9] + LittleEndian.bytes(a1) + [0x66, 0xBA] + LittleEndian.bytes(a2)
            + [0x0F, 0x01, 0xC1, 0xF4]
    }
    /// An MSR KVM does not know on any x86 host.
    static let unclaimedMSR: UInt32 = 0xDEAD_0000
    /// RIP after the #GP handler's HLT (IVT vector 13 -> 0:1100H, a HLT there).
    static let afterGPHandler = 0x1101

    /// Runs `code` at 0x1000 in real mode with a #GP handler (a HLT at 1100H) after `setup`
    /// (300 ms: these guests take microseconds, and a backend that never exits costs each check that);
    /// `inspect` sees the first exit and may complete it and run again.
    static func msrGuest(_ h: any Hypervisor, _ code: [UInt8],
                         setup: @escaping (any VirtualMachine, any VirtualCPU) throws(KVMError) -> Void = { _, _ in },
                         inspect: @escaping (Exit, any VirtualMachine, any VirtualCPU) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        Ask.withVCPU(h) { vm, vcpu, mem throws(KVMError) in
            _ = mem.write(code, at: 0x1000)
            _ = mem.write([0x00, 0x11, 0x00, 0x00], at: 13 * 4)
            _ = mem.write([0xF4], at: 0x1100)
            try setup(vm, vcpu)
            return try inspect(try vcpu.run(budget: .milliseconds(300)), vm, vcpu)
        }
    }

    /// The RIP at the next exit after completing this one with `complete`.
    static func ripAfter(_ vcpu: any VirtualCPU, _ complete: () -> Void) throws(KVMError) -> ABIAnswer {
        complete()
        let e = try vcpu.run(budget: .milliseconds(300))
        guard case .hlt = e else { return .text("exit \(e.name)") }
        return .bits(try vcpu.regs().rip)
    }

    /// "KVM_EXIT_HLT rax 0x..": the exit the VMCALL's HLT gave and what RAX holds then.
    static func haltedRAX(_ exit: Exit, _ vcpu: any VirtualCPU) throws(KVMError) -> ABIAnswer {
        .text("\(exit.name) rax 0x" + String(try vcpu.regs().rax, radix: 16))
    }

    static func enable(_ vm: any VirtualMachine, _ cap: Capability, _ arg: UInt64) throws(KVMError) {
        try vm.enableCap(EnableCap(cap, args: [arg]))
    }

    static func vmEnable(_ h: any Hypervisor, _ cap: EnableCap) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.enableCap(cap) } }
    }

    static func filter(_ h: any Hypervisor, _ f: MSRFilter) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setMSRFilter(f) } }
    }

    /// One range over a single MSR: reads (or writes) of it denied (bitmap bit 0 clear).
    static func denyOne(_ index: UInt32, _ flags: UInt32) -> MSRFilter.Range {
        MSRFilter.Range(flags: flags, base: index, nmsrs: 1, bitmap: [0])
    }

    static let enableCapChecks: [ABICheck] = [
        ABICheck("enable_cap.vm_flags", "KVM_ENABLE_CAP (VM) with flags 1: EINVAL", cite: enableCapSource,
                 expect: .errno(Errno.EINVAL)) { vmEnable($0, EnableCap(.x86UserSpaceMsr, flags: 1, args: [2])) },
        ABICheck("enable_cap.vm_not_enableable", "KVM_ENABLE_CAP (VM) of KVM_CAP_IRQCHIP (not an enableable capability): EINVAL",
                 cite: enableCapSource + " (default)", expect: .errno(Errno.EINVAL)) { vmEnable($0, EnableCap(.irqchip)) },
        ABICheck("enable_cap.user_space_msr_bad_bit", "X86_USER_SPACE_MSR with bit 3 (no such reason): EINVAL", cite: enableCapSource,
                 expect: .errno(Errno.EINVAL)) { vmEnable($0, EnableCap(.x86UserSpaceMsr, args: [8])) },
        ABICheck("enable_cap.user_space_msr_all", "X86_USER_SPACE_MSR with INVAL | UNKNOWN | FILTER: 0", cite: enableCapSource,
                 expect: .ok) { vmEnable($0, EnableCap(.x86UserSpaceMsr, args: [7])) },
        ABICheck("enable_cap.exit_hypercall_value", "KVM_CHECK_EXTENSION(KVM_CAP_EXIT_HYPERCALL): 1 << KVM_HC_MAP_GPA_RANGE",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension (KVM_EXIT_HYPERCALL_VALID_MASK)", expect: .value(1 << 12)) { h in
            Ask.withVM(h) { vm in .value(Int(vm.checkExtension(.exitHypercall))) }
        },
        ABICheck("enable_cap.exit_hypercall_bad_bit", "EXIT_HYPERCALL for hypercall 11 (only 12 may exit): EINVAL", cite: enableCapSource,
                 expect: .errno(Errno.EINVAL)) { vmEnable($0, EnableCap(.exitHypercall, args: [1 << 11])) },
        ABICheck("enable_cap.exit_hypercall_map_gpa", "EXIT_HYPERCALL for KVM_HC_MAP_GPA_RANGE: 0", cite: enableCapSource,
                 expect: .ok) { vmEnable($0, EnableCap(.exitHypercall, args: [1 << 12])) },
        ABICheck("enable_cap.manual_dirty_value", "KVM_CHECK_EXTENSION(MANUAL_DIRTY_LOG_PROTECT2): PROTECT_ENABLE | INITIALLY_SET",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic (KVM_DIRTY_LOG_MANUAL_CAPS)", expect: .value(3)) { h in
            Ask.withVM(h) { vm in .value(Int(vm.checkExtension(.manualDirtyLogProtect2))) }
        },
        ABICheck("enable_cap.manual_dirty_initially_set_alone", "MANUAL_DIRTY_LOG_PROTECT2 with INITIALLY_SET but not ENABLE: EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_enable_cap_generic", expect: .errno(Errno.EINVAL)) {
            vmEnable($0, EnableCap(.manualDirtyLogProtect2, args: [2]))
        },
        ABICheck("enable_cap.manual_dirty_both", "MANUAL_DIRTY_LOG_PROTECT2 with ENABLE | INITIALLY_SET: 0",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_enable_cap_generic", expect: .ok) {
            vmEnable($0, EnableCap(.manualDirtyLogProtect2, args: [3]))
        },
        ABICheck("enable_cap.manual_dirty_bad_bit", "MANUAL_DIRTY_LOG_PROTECT2 with bit 2: EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_enable_cap_generic", expect: .errno(Errno.EINVAL)) {
            vmEnable($0, EnableCap(.manualDirtyLogProtect2, args: [5]))
        },
        ABICheck("enable_cap.halt_poll_wide", "KVM_CAP_HALT_POLL with a value over 32 bits: EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_enable_cap_generic (KVM_CAP_HALT_POLL)", expect: .errno(Errno.EINVAL)) {
            vmEnable($0, EnableCap(.haltPoll, args: [1 << 32]))
        },
        ABICheck("enable_cap.halt_poll", "KVM_CAP_HALT_POLL with 200000 ns: 0",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_enable_cap_generic (KVM_CAP_HALT_POLL)", expect: .ok) {
            vmEnable($0, EnableCap(.haltPoll, args: [200_000]))
        },
        ABICheck("enable_cap.max_vcpu_id_too_big", "KVM_CAP_MAX_VCPU_ID above KVM_MAX_VCPU_IDS (4097): EINVAL", cite: enableCapSource,
                 expect: .errno(Errno.EINVAL)) { vmEnable($0, EnableCap(.maxVcpuId, args: [4097])) },
        ABICheck("enable_cap.max_vcpu_id_limits", "after KVM_CAP_MAX_VCPU_ID 2, KVM_CREATE_VCPU id 2: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_precreate", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try enable(vm, .maxVcpuId, 2)
                return Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: 2) }
            }
        },
        ABICheck("enable_cap.max_vcpu_id_below", "after KVM_CAP_MAX_VCPU_ID 2, KVM_CREATE_VCPU id 1: 0",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_precreate", expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try enable(vm, .maxVcpuId, 2)
                return Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: 1) }
            }
        },
        ABICheck("enable_cap.max_vcpu_id_after_vcpu", "KVM_CAP_MAX_VCPU_ID 8 after a vCPU exists (the limit is fixed at 4096): EINVAL",
                 cite: enableCapSource + ", kvm_arch_vcpu_precreate", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                _ = try vm.createVCPU(id: 0)
                return Ask.call { () throws(KVMError) in try enable(vm, .maxVcpuId, 8) }
            }
        },
        ABICheck("enable_cap.max_vcpu_id_same", "KVM_CAP_MAX_VCPU_ID 4096 after a vCPU exists (the value already set): 0",
                 cite: enableCapSource, expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                _ = try vm.createVCPU(id: 0)
                return Ask.call { () throws(KVMError) in try enable(vm, .maxVcpuId, 4096) }
            }
        },
        ABICheck("enable_cap.max_vcpu_id_twice", "KVM_CAP_MAX_VCPU_ID 8, then 16: EINVAL", cite: enableCapSource,
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try enable(vm, .maxVcpuId, 8)
                return Ask.call { () throws(KVMError) in try enable(vm, .maxVcpuId, 16) }
            }
        },
        ABICheck("enable_cap.vcpu_flags", "KVM_ENABLE_CAP (vCPU) with flags 1: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_enable_cap", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vcpu.enableCap(EnableCap(.enforcePvFeatureCpuid, flags: 1, args: [1])) }
            }
        },
        ABICheck("enable_cap.vcpu_not_enableable", "KVM_ENABLE_CAP (vCPU) of KVM_CAP_X86_USER_SPACE_MSR (a VM capability): EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_enable_cap (default)", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vcpu.enableCap(EnableCap(.x86UserSpaceMsr, args: [2])) }
            }
        },
        ABICheck("enable_cap.enforce_pv", "KVM_ENABLE_CAP (vCPU) ENFORCE_PV_FEATURE_CPUID: 0",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_enable_cap", expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vcpu.enableCap(EnableCap(.enforcePvFeatureCpuid, args: [1])) }
            }
        },
    ]

    static let msrFilterChecks: [ABICheck] = [
        ABICheck("msr_filter.bad_flags", "KVM_X86_SET_MSR_FILTER with flags 2: EINVAL", cite: msrFilterSource,
                 expect: .errno(Errno.EINVAL)) { filter($0, MSRFilter(flags: 2)) },
        ABICheck("msr_filter.deny_empty", "DEFAULT_DENY with no range: EINVAL", cite: msrFilterSource,
                 expect: .errno(Errno.EINVAL)) { filter($0, MSRFilter(flags: MSRFilter.defaultDeny)) },
        ABICheck("msr_filter.allow_empty", "DEFAULT_ALLOW with no range (no filtering): 0", cite: msrFilterSource,
                 expect: .ok) { filter($0, MSRFilter()) },
        ABICheck("msr_filter.range_no_flags", "a range with MSRs but neither READ nor WRITE: EINVAL", cite: msrFilterSource,
                 expect: .errno(Errno.EINVAL)) { filter($0, MSRFilter(ranges: [denyOne(0x174, 0)])) },
        ABICheck("msr_filter.range_bad_flag", "a range with flag 4: EINVAL", cite: msrFilterSource,
                 expect: .errno(Errno.EINVAL)) { filter($0, MSRFilter(ranges: [denyOne(0x174, 4)])) },
        ABICheck("msr_filter.empty_range_ignored", "a range of 0 MSRs with flags 0xff is skipped: 0", cite: msrFilterSource,
                 expect: .ok) { filter($0, MSRFilter(ranges: [MSRFilter.Range(flags: 0xFF, base: 0, nmsrs: 0, bitmap: [])])) },
        ABICheck("msr_filter.bitmap_max", "a range of 0x600 * 8 MSRs (KVM_MSR_FILTER_MAX_BITMAP_SIZE): 0", cite: msrFilterSource,
                 expect: .ok) { filter($0, MSRFilter(ranges: [MSRFilter.Range(flags: 1, base: 0, nmsrs: 0x3000, bitmap: [])])) },
        ABICheck("msr_filter.bitmap_too_big", "a range of 0x600 * 8 + 1 MSRs: EINVAL", cite: msrFilterSource,
                 expect: .errno(Errno.EINVAL)) { filter($0, MSRFilter(ranges: [MSRFilter.Range(flags: 1, base: 0, nmsrs: 0x3001, bitmap: [])])) },
        ABICheck("msr_filter.denied_read_gp", "RDMSR of a filtered MSR (SYSENTER_CS), no userspace exits: #GP (RIP after the handler's HLT)",
                 cite: "arch/x86/kvm/x86.c kvm_msr_allowed, kvm_emulate_rdmsr", expect: .value(afterGPHandler)) { h in
            msrGuest(h, rdmsrCode(0x174), setup: { vm, _ throws(KVMError) in
                try vm.setMSRFilter(MSRFilter(ranges: [denyOne(0x174, MSRFilter.read)]))
            }) { _, _, vcpu throws(KVMError) in .bits(try vcpu.regs().rip) }
        },
        ABICheck("msr_filter.denied_read_exit", "the same with X86_USER_SPACE_MSR FILTER: KVM_EXIT_X86_RDMSR, reason FILTER (4)",
                 cite: userMSRSource + ", kvm_msr_reason", expect: .text("rdmsr index 0x174 reason 4")) { h in
            msrGuest(h, rdmsrCode(0x174), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.filter))
                try vm.setMSRFilter(MSRFilter(ranges: [denyOne(0x174, MSRFilter.read)]))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("msr_filter.read_range_allows_write", "a READ-only range does not filter WRMSR of that MSR: it completes (RIP after the HLT behind it, 0x1015, not the #GP handler's)",
                 cite: "arch/x86/kvm/x86.c kvm_msr_allowed (flags & type)", expect: .value(0x1015)) { h in
            msrGuest(h, wrmsrCode(0x174, 8), setup: { vm, _ throws(KVMError) in
                try vm.setMSRFilter(MSRFilter(ranges: [denyOne(0x174, MSRFilter.read)]))
            }) { _, _, vcpu throws(KVMError) in .bits(try vcpu.regs().rip) }
        },
        ABICheck("msr_filter.default_deny", "DEFAULT_DENY with a range allowing SYSENTER_CS only: RDMSR SYSENTER_ESP exits with reason FILTER",
                 cite: "arch/x86/kvm/x86.c kvm_msr_allowed (msr_filter->default_allow)", expect: .text("rdmsr index 0x175 reason 4")) { h in
            msrGuest(h, rdmsrCode(0x175), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.filter))
                try vm.setMSRFilter(MSRFilter(flags: MSRFilter.defaultDeny,
                                              ranges: [MSRFilter.Range(flags: 3, base: 0x174, nmsrs: 1, bitmap: [1])]))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("msr_filter.first_range_wins", "two ranges over SYSENTER_CS, the first allowing: RDMSR completes (RIP after the HLT behind it, 0x1009)",
                 cite: "arch/x86/kvm/x86.c kvm_msr_allowed (first matching range)", expect: .value(0x1009)) { h in
            msrGuest(h, rdmsrCode(0x174), setup: { vm, _ throws(KVMError) in
                try vm.setMSRFilter(MSRFilter(ranges: [MSRFilter.Range(flags: 1, base: 0x174, nmsrs: 1, bitmap: [1]),
                                                       denyOne(0x174, MSRFilter.read)]))
            }) { _, _, vcpu throws(KVMError) in .bits(try vcpu.regs().rip) }
        },
        ABICheck("msr_filter.replaced", "a denying filter replaced by an empty DEFAULT_ALLOW one: RDMSR completes (RIP 0x1009)",
                 cite: msrFilterSource + " (rcu_assign_pointer of the new filter)", expect: .value(0x1009)) { h in
            msrGuest(h, rdmsrCode(0x174), setup: { vm, _ throws(KVMError) in
                try vm.setMSRFilter(MSRFilter(ranges: [denyOne(0x174, MSRFilter.read)]))
                try vm.setMSRFilter(MSRFilter())
            }) { _, _, vcpu throws(KVMError) in .bits(try vcpu.regs().rip) }
        },
        ABICheck("user_msr.unknown_read_exit", "RDMSR of an MSR KVM does not know, UNKNOWN asked for: KVM_EXIT_X86_RDMSR reason UNKNOWN (2)",
                 cite: userMSRSource, expect: .text("rdmsr index 0xdead0000 reason 2")) { h in
            msrGuest(h, rdmsrCode(unclaimedMSR), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.unknown))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("user_msr.read_completed", "that exit completed with data 1122334455667788H: EDX:EAX hold it",
                 cite: "arch/x86/kvm/x86.c complete_userspace_rdmsr", expect: .bits(0x1122_3344_5566_7788 as UInt64)) { h in
            msrGuest(h, rdmsrCode(unclaimedMSR), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.unknown))
            }) { exit, _, vcpu throws(KVMError) in
                guard case .rdmsr = exit else { return .text("exit \(exit.name)") }
                vcpu.completeMSR(error: false, data: 0x1122_3344_5566_7788)
                _ = try vcpu.run(budget: .milliseconds(300))
                let r = try vcpu.regs()
                return .bits((r.rdx & 0xFFFF_FFFF) << 32 | (r.rax & 0xFFFF_FFFF))
            }
        },
        ABICheck("user_msr.read_error", "that exit completed with msr.error 1: #GP (RIP after the handler's HLT)",
                 cite: "arch/x86/kvm/x86.c complete_fast_rdmsr (kvm_x86_complete_emulated_msr)", expect: .value(afterGPHandler)) { h in
            msrGuest(h, rdmsrCode(unclaimedMSR), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.unknown))
            }) { exit, _, vcpu throws(KVMError) in
                guard case .rdmsr = exit else { return .text("exit \(exit.name)") }
                return try ripAfter(vcpu) { vcpu.completeMSR(error: true, data: 0) }
            }
        },
        ABICheck("user_msr.write_exit", "WRMSR of an unknown MSR, UNKNOWN asked for: KVM_EXIT_X86_WRMSR with the data",
                 cite: "arch/x86/kvm/x86.c kvm_emulate_wrmsr, kvm_msr_user_space",
                 expect: .text("wrmsr index 0xdead0000 data 0xaabbccdd11223344 reason 2")) { h in
            msrGuest(h, wrmsrCode(unclaimedMSR, 0xAABB_CCDD_1122_3344), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.unknown))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("user_msr.write_completed", "that exit completed without error: the WRMSR retires (RIP after the HLT behind it: 0x1015)",
                 cite: "arch/x86/kvm/x86.c complete_fast_msr_access", expect: .value(0x1015)) { h in
            msrGuest(h, wrmsrCode(unclaimedMSR, 1), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.unknown))
            }) { exit, _, vcpu throws(KVMError) in
                guard case .wrmsr = exit else { return .text("exit \(exit.name)") }
                return try ripAfter(vcpu) { vcpu.completeMSR(error: false, data: 0) }
            }
        },
        ABICheck("user_msr.reason_not_asked", "RDMSR of an unknown MSR with only FILTER asked for: #GP, no exit",
                 cite: "arch/x86/kvm/x86.c kvm_msr_user_space (user_space_msr_mask & msr_reason)", expect: .value(afterGPHandler)) { h in
            msrGuest(h, rdmsrCode(unclaimedMSR), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.filter))
            }) { _, _, vcpu throws(KVMError) in .bits(try vcpu.regs().rip) }
        },
        ABICheck("user_msr.inval_write", "WRMSR of a non-canonical LSTAR with INVAL asked for: KVM_EXIT_X86_WRMSR reason INVAL (1)",
                 cite: "arch/x86/kvm/x86.c __kvm_set_msr (non-canonical), kvm_msr_reason",
                 expect: .text("wrmsr index 0xc0000082 data 0x8000000000000000 reason 1")) { h in
            msrGuest(h, wrmsrCode(0xC000_0082, 1 << 63), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.inval))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("platform_info.guest_read", "a guest RDMSR of MSR_PLATFORM_INFO: CPUID_FAULT (bit 31) alone",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_create (msr_platform_info), kvm_get_msr_common", expect: .value(0x8000_0000)) { h in
            msrGuest(h, rdmsrCode(0xCE)) { exit, _, vcpu throws(KVMError) in
                guard case .hlt = exit else { return .text("exit \(exit.name)") }
                let r = try vcpu.regs()
                return .bits((r.rdx & 0xFFFF_FFFF) << 32 | (r.rax & 0xFFFF_FFFF))
            }
        },
        ABICheck("platform_info.guest_read_disabled", "KVM_CAP_MSR_PLATFORM_INFO 0, then the guest's read: an INVAL exit (reason 1)",
                 cite: "arch/x86/kvm/x86.c kvm_get_msr_common (guest_can_read_msr_platform_info)", expect: .text("rdmsr index 0xce reason 1")) { h in
            msrGuest(h, rdmsrCode(0xCE), setup: { vm, _ throws(KVMError) in
                try enable(vm, .msrPlatformInfo, 0)
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.inval))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("platform_info.host_read_disabled", "KVM_CAP_MSR_PLATFORM_INFO 0: KVM_GET_MSRS still reads it (1 entry)",
                 cite: "arch/x86/kvm/x86.c kvm_get_msr_common (host_initiated)", expect: .value(1)) { h in
            Ask.withVCPU(h) { vm, vcpu, _ throws(KVMError) in
                try enable(vm, .msrPlatformInfo, 0)
                return .value(try vcpu.msrs([0xCE]).count)
            }
        },
        ABICheck("platform_info.guest_write", "a guest WRMSR of MSR_PLATFORM_INFO, INVAL asked for: an INVAL exit (host writes only)",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_PLATFORM_INFO)", expect: .text("wrmsr index 0xce data 0x80000000 reason 1")) { h in
            msrGuest(h, wrmsrCode(0xCE, 0x8000_0000), setup: { vm, _ throws(KVMError) in
                try enable(vm, .x86UserSpaceMsr, UInt64(MSRExitReason.inval))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("misc_features.cpuid_fault", "KVM_SET_MSRS MISC_FEATURES_ENABLES = 1 (CPUID faulting, offered by PLATFORM_INFO): 1 set",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_MISC_FEATURES_ENABLES, supports_cpuid_fault)", expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in .value(try vcpu.setMSRs([MSREntry(index: 0x140, data: 1)])) }
        },
        ABICheck("misc_features.reserved", "KVM_SET_MSRS MISC_FEATURES_ENABLES = 2 (reserved): 0 set",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_MISC_FEATURES_ENABLES)", expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in .value(try vcpu.setMSRs([MSREntry(index: 0x140, data: 2)])) }
        },
        ABICheck("platform_info.fault_in_use", "CPUID faulting on, then PLATFORM_INFO without CPUID_FAULT: 0 set",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_PLATFORM_INFO, cpuid_fault_enabled)", expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                _ = try vcpu.setMSRs([MSREntry(index: 0x140, data: 1)])
                return .value(try vcpu.setMSRs([MSREntry(index: 0xCE, data: 0)]))
            }
        },
    ]

    static let hypercallChecks: [ABICheck] = [
        ABICheck("hypercall.map_gpa_not_enabled", "VMCALL KVM_HC_MAP_GPA_RANGE without EXIT_HYPERCALL: RAX = (u32)-KVM_ENOSYS",
                 cite: hypercallSource, expect: .text("KVM_EXIT_HLT rax 0xfffffc18")) { h in
            msrGuest(h, vmcallCode(12, 0x1000, 2, 0)) { exit, _, vcpu throws(KVMError) in try haltedRAX(exit, vcpu) }
        },
        ABICheck("hypercall.map_gpa_exit", "with EXIT_HYPERCALL: KVM_EXIT_HYPERCALL nr 12, args gpa, npages, attrs, longmode 0",
                 cite: hypercallSource + " (KVM_HC_MAP_GPA_RANGE)", expect: .text("hypercall nr 12 args 0x1000 0x2 0x5 longmode 0")) { h in
            msrGuest(h, vmcallCode(12, 0x1000, 2, 5), setup: { vm, _ throws(KVMError) in
                try enable(vm, .exitHypercall, 1 << 12)
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("hypercall.map_gpa_ret", "that exit completed with ret 123456789H: RAX = its low 32 bits (not 64-bit mode)",
                 cite: "arch/x86/kvm/x86.c complete_hypercall_exit", expect: .value(0x2345_6789)) { h in
            msrGuest(h, vmcallCode(12, 0x1000, 2, 0), setup: { vm, _ throws(KVMError) in
                try enable(vm, .exitHypercall, 1 << 12)
            }) { exit, _, vcpu throws(KVMError) in
                guard case .hypercall = exit else { return .text("exit \(exit.name)") }
                vcpu.completeHypercall(ret: 0x1_2345_6789)
                _ = try vcpu.run(budget: .milliseconds(300))
                return .bits(try vcpu.regs().rax)
            }
        },
        ABICheck("hypercall.map_gpa_unaligned", "KVM_HC_MAP_GPA_RANGE of a GPA not page aligned: no exit, RAX = (u32)-KVM_EINVAL",
                 cite: hypercallSource, expect: .text("KVM_EXIT_HLT rax 0xffffffea")) { h in
            msrGuest(h, vmcallCode(12, 0x1001, 2, 0), setup: { vm, _ throws(KVMError) in
                try enable(vm, .exitHypercall, 1 << 12)
            }) { exit, _, vcpu throws(KVMError) in try haltedRAX(exit, vcpu) }
        },
        ABICheck("hypercall.map_gpa_no_pages", "KVM_HC_MAP_GPA_RANGE of 0 pages: RAX = (u32)-KVM_EINVAL",
                 cite: hypercallSource, expect: .text("KVM_EXIT_HLT rax 0xffffffea")) { h in
            msrGuest(h, vmcallCode(12, 0x1000, 0, 0), setup: { vm, _ throws(KVMError) in
                try enable(vm, .exitHypercall, 1 << 12)
            }) { exit, _, vcpu throws(KVMError) in try haltedRAX(exit, vcpu) }
        },
        ABICheck("hypercall.sched_yield", "KVM_HC_SCHED_YIELD without PV CPUID enforcement: RAX = 0",
                 cite: hypercallSource + ", guest_pv_has", expect: .text("KVM_EXIT_HLT rax 0x0")) { h in
            msrGuest(h, vmcallCode(11, 0, 0, 0)) { exit, _, vcpu throws(KVMError) in try haltedRAX(exit, vcpu) }
        },
        ABICheck("hypercall.sched_yield_enforced", "ENFORCE_PV_FEATURE_CPUID and no PV_SCHED_YIELD in 40000001H: RAX = (u32)-KVM_ENOSYS",
                 cite: hypercallSource + ", guest_pv_has", expect: .text("KVM_EXIT_HLT rax 0xfffffc18")) { h in
            msrGuest(h, vmcallCode(11, 0, 0, 0), setup: { _, vcpu throws(KVMError) in
                try vcpu.setCPUID(pvCPUID(try h.supportedCPUID(), features: 0))
                try vcpu.enableCap(EnableCap(.enforcePvFeatureCpuid, args: [1]))
            }) { exit, _, vcpu throws(KVMError) in try haltedRAX(exit, vcpu) }
        },
        ABICheck("hypercall.sched_yield_offered", "ENFORCE_PV_FEATURE_CPUID with PV_SCHED_YIELD (bit 13) offered: RAX = 0",
                 cite: hypercallSource + ", guest_pv_has", expect: .text("KVM_EXIT_HLT rax 0x0")) { h in
            msrGuest(h, vmcallCode(11, 0, 0, 0), setup: { _, vcpu throws(KVMError) in
                try vcpu.setCPUID(pvCPUID(try h.supportedCPUID(), features: 1 << 13))
                try vcpu.enableCap(EnableCap(.enforcePvFeatureCpuid, args: [1]))
            }) { exit, _, vcpu throws(KVMError) in try haltedRAX(exit, vcpu) }
        },
    ]

    /// The supported CPUID with KVM's leaves 40000000H/40000001H, the latter's EAX = `features`.
    static func pvCPUID(_ supported: [CPUIDEntry], features: UInt32) -> [CPUIDEntry] {
        var t = supported.filter { $0.function != 0x4000_0000 && $0.function != 0x4000_0001 }
        let sig = CPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4B4D_564B, ecx: 0x564B_4D56, edx: 0x4D)
        t.append(sig)
        t.append(CPUIDEntry(function: 0x4000_0001, eax: features, ebx: 0, ecx: 0, edx: 0))
        return t
    }
}
