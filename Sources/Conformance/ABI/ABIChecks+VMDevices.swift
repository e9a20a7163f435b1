import KVMABI

// VM-wide state a VMM sets up or migrates (Linux 6.1 arch/x86/kvm/x86.c kvm_arch_vm_ioctl):
// the old KVM_CREATE_PIT, KVM_REINJECT_CONTROL (kvm_vm_ioctl_reinject), the MMU page budget
// (kvm_vm_ioctl_set_nr_mmu_pages, kvm_arch_commit_memory_region) and the kvmclock
// (kvm_vm_ioctl_get_clock, kvm_vm_ioctl_set_clock).

extension ABICatalogue {
    static let setClockSource = "arch/x86/kvm/x86.c kvm_vm_ioctl_set_clock"
    static let nrMMUPagesSource = "arch/x86/kvm/x86.c kvm_vm_ioctl_set_nr_mmu_pages"

    /// A VM with an irqchip and a PIT made by KVM_CREATE_PIT, running `code` (real mode at
    /// 1000H) to its first exit (HLT does not exit with the in-kernel LAPIC: end with an OUT).
    static func legacyPITGuest(_ h: any Hypervisor, _ code: [UInt8]) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            try vm.createIRQChip()
            try vm.createPIT()
            let ram = try vm.allocateGuestMemory(size: 0x10000)
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: ram.hostAddress))
            let vcpu = try vm.createVCPU(id: 0)
            try vcpu.setCPUID(h.supportedCPUID())
            _ = ram.write(code, at: 0x1000)
            var s = try vcpu.sregs()
            s.cs = .realMode(selector: 0, code: true)
            try vcpu.setSregs(s)
            var r = Regs(); r.rip = 0x1000; r.rflags = 2
            try vcpu.setRegs(r)
            let exit = try vcpu.run(budget: .milliseconds(500, instructions: 10_000))
            return .text(describe(exit))
        }
    }

    /// KVM_GET_NR_MMU_PAGES after KVM_SET_NR_MMU_PAGES(`request`, if any) and one slot of `bytes`.
    static func mmuPagesAfterSlot(_ h: any Hypervisor, bytes: Int, request: Int? = nil) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            if let request { try vm.setNrMMUPages(request) }
            let m = try vm.allocateGuestMemory(size: bytes)
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(bytes), userspaceAddress: m.hostAddress))
            do throws(KVMError) { return .value(try vm.nrMMUPages()) } catch { return .errno(error.errno) }
        }
    }

    static let vmDeviceChecks: [ABICheck] = [
        ABICheck("pit.legacy_create", "KVM_CREATE_PIT after KVM_CREATE_IRQCHIP: 0", cite: archVMIoctl, expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in try vm.createPIT() }
            }
        },
        ABICheck("pit.legacy_twice", "KVM_CREATE_PIT, then KVM_CREATE_PIT2: EEXIST", cite: archVMIoctl, expect: .errno(Errno.EEXIST)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                try vm.createPIT()
                return Ask.call { () throws(KVMError) in try vm.createPIT2() }
            }
        },
        ABICheck("pit.legacy_speaker_in_kernel", "with KVM_CREATE_PIT (KVM_PIT_SPEAKER_DUMMY) IN AL, 61H makes no exit: the first exit is the OUT to port 80H after it",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (KVM_CREATE_PIT), i8254.c kvm_create_pit", expect: .text("out size 1 port 0x80 count 1 data 5a")) { h in
            legacyPITGuest(h, [0xE4, 0x61, 0xB0, 0x5A, 0xE6, 0x80])   // in al, 61h; mov al, 5Ah; out 80h, al
        },
        ABICheck("pit.reinject_without_pit", "KVM_REINJECT_CONTROL without a PIT: ENXIO", cite: archVMIoctl, expect: .errno(Errno.ENXIO)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in try vm.setPITReinject(false) }
            }
        },
        ABICheck("pit.reinject_off_on", "KVM_REINJECT_CONTROL off, then on, with a PIT: 0",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_reinject, i8254.c kvm_pit_set_reinject", expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                try vm.createPIT2()
                return Ask.call { () throws(KVMError) in try vm.setPITReinject(false); try vm.setPITReinject(true) }
            }
        },
        ABICheck("mmu_pages.below_minimum", "KVM_SET_NR_MMU_PAGES 63 (KVM_MIN_ALLOC_MMU_PAGES is 64): EINVAL", cite: nrMMUPagesSource,
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setNrMMUPages(63) } }
        },
        ABICheck("mmu_pages.set_get", "KVM_SET_NR_MMU_PAGES 100, then KVM_GET_NR_MMU_PAGES: 100", cite: nrMMUPagesSource + ", kvm_vm_ioctl_get_nr_mmu_pages",
                 expect: .value(100)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.setNrMMUPages(100)
                return .value(try vm.nrMMUPages())
            }
        },
        ABICheck("mmu_pages.from_slots", "no request, one 64 MiB slot: KVM_GET_NR_MMU_PAGES = 16384 pages / 50 = 327",
                 cite: "arch/x86/kvm/x86.c kvm_arch_commit_memory_region (KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO)", expect: .value(327)) { h in
            mmuPagesAfterSlot(h, bytes: 64 << 20)
        },
        ABICheck("mmu_pages.small_slot_minimum", "no request, one 1 MiB slot (256 pages / 50 = 5): the minimum, 64",
                 cite: "arch/x86/kvm/x86.c kvm_arch_commit_memory_region", expect: .value(64)) { h in
            mmuPagesAfterSlot(h, bytes: 1 << 20)
        },
        ABICheck("mmu_pages.request_sticks", "KVM_SET_NR_MMU_PAGES 100, then a 64 MiB slot: still 100",
                 cite: "arch/x86/kvm/x86.c kvm_arch_commit_memory_region (n_requested_mmu_pages)", expect: .value(100)) { h in
            mmuPagesAfterSlot(h, bytes: 64 << 20, request: 100)
        },
        ABICheck("clock.fresh_vm", "KVM_GET_CLOCK of a new VM: below 1 s (kvmclock starts at 0 at VM creation)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_init_vm (kvmclock_offset), kvm_vm_ioctl_get_clock", expect: .value(1)) { h in
            Ask.withVM(h) { vm throws(KVMError) in .value(try vm.clock().clock < 1_000_000_000 ? 1 : 0) }
        },
        ABICheck("clock.set_get", "KVM_SET_CLOCK 10^12 ns, then KVM_GET_CLOCK: from 10^12 to 10^12 + 1 s", cite: setClockSource + ", kvm_vm_ioctl_get_clock",
                 expect: .value(1)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.setClock(ClockData(clock: 1_000_000_000_000))
                let c = try vm.clock().clock
                return .value(c >= 1_000_000_000_000 && c < 1_001_000_000_000 ? 1 : 0)
            }
        },
        ABICheck("clock.get_set_roundtrip", "KVM_SET_CLOCK of what KVM_GET_CLOCK returned (its flags too): 0", cite: setClockSource,
                 expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let c = try vm.clock()
                return Ask.call { () throws(KVMError) in try vm.setClock(c) }
            }
        },
        ABICheck("clock.bad_flag", "KVM_SET_CLOCK with flag bit 0 (not in KVM_CLOCK_VALID_FLAGS): EINVAL", cite: setClockSource,
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setClock(ClockData(clock: 0, flags: 1)) } }
        },
        ABICheck("clock.bad_high_flag", "KVM_SET_CLOCK with flag bit 4: EINVAL", cite: setClockSource, expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setClock(ClockData(clock: 0, flags: 0x10)) } }
        },
    ]
}
