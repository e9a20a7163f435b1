import KVMABI

// KVM_RUN outcomes a VMM depends on, for tiny real-mode guests at 0x1000 (CS = DS = 0):
// the exit reason and its kvm_run fields, RIP at the exit, memslot changes seen by the next
// access, dirty logging of guest writes, immediate_exit, guest debugging. Linux 6.1
// arch/x86/kvm/x86.c (kvm_arch_vcpu_ioctl_run, kvm_fast_pio, kvm_emulate_halt,
// handle_emulation_failure), arch/x86/kvm/vmx/vmx.c (handle_io, handle_exception_nmi,
// handle_ept_misconfig), virt/kvm/kvm_main.c (kvm_get_dirty_log_protect).

extension ABICatalogue {
    /// Runs `code` at 0x1000 once (2 s); `setup` may add slots or set state first; `inspect`
    /// turns the exit (and whatever it reads from the vCPU or VM) into the answer.
    static func guest(_ h: any Hypervisor, _ code: [UInt8], ram: Int = 0x10000,
                      setup: @escaping (any VirtualMachine, any VirtualCPU) throws(KVMError) -> Void = { _, _ in },
                      inspect: @escaping (Exit, any VirtualMachine, any VirtualCPU) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        Ask.withVCPU(h, ram: ram) { vm, vcpu, mem throws(KVMError) in
            _ = mem.write(code, at: 0x1000)
            try setup(vm, vcpu)
            let exit = try vcpu.run(budget: .milliseconds(2000))
            return try inspect(exit, vm, vcpu)
        }
    }

    /// The exit's KVM_EXIT_* number.
    static func reason(_ h: any Hypervisor, _ code: [UInt8], ram: Int = 0x10000,
                       setup: @escaping (any VirtualMachine, any VirtualCPU) throws(KVMError) -> Void = { _, _ in }) -> ABIAnswer {
        guest(h, code, ram: ram, setup: setup) { exit, _, _ in .value(Int(exit.reason)) }
    }

    /// A slot of `pages` pages at GPA 0x20000 (slot 1), filled with 0xA5.
    static func extraSlot(_ vm: any VirtualMachine, flags: MemoryRegion.Flags = [], pages: Int = 16) throws(KVMError) -> GuestMemory {
        let m = try vm.allocateGuestMemory(size: pages * 4096)
        m.fill(0xA5)
        try vm.setUserMemoryRegion(MemoryRegion(slot: 1, flags: flags, guestPhysicalAddress: 0x20000, memorySize: UInt64(pages * 4096),
                                                userspaceAddress: m.hostAddress))
        return m
    }

    // Real-mode code bytes (ndisasm -b16).
    static let hlt: [UInt8] = [0xF4]
    /// mov al,0x42 / out 0x10,al / hlt
    static let outByte: [UInt8] = [0xB0, 0x42, 0xE6, 0x10, 0xF4]
    /// in ax,0x12 / hlt
    static let inWord: [UInt8] = [0xE5, 0x12, 0xF4]
    /// mov ax,0x2000 / mov ds,ax / mov byte [0x10],0x5a / hlt     (a write to GPA 0x20010)
    static let writeSegment2000: [UInt8] = [0xB8, 0x00, 0x20, 0x8E, 0xD8, 0xC6, 0x06, 0x10, 0x00, 0x5A, 0xF4]
    /// mov ax,0x2000 / mov ds,ax / mov al,[0x10] / hlt              (a read of GPA 0x20010)
    static let readSegment2000: [UInt8] = [0xB8, 0x00, 0x20, 0x8E, 0xD8, 0xA0, 0x10, 0x00, 0xF4]
    /// mov ax,0x3000 / mov ds,ax / mov al,[0x10] / hlt              (a read of GPA 0x30010)
    static let readSegment3000: [UInt8] = [0xB8, 0x00, 0x30, 0x8E, 0xD8, 0xA0, 0x10, 0x00, 0xF4]
    /// mov ax,0x2000 / mov es,ax / mov di,0x3000 / mov al,1 / stosb / hlt   (a write to page 3 of slot 1)
    static let stosbPage3: [UInt8] = [0xB8, 0x00, 0x20, 0x8E, 0xC0, 0xBF, 0x00, 0x30, 0xB0, 0x01, 0xAA, 0xF4]

    static let runIoctl = "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_run"

    /// The fields of an exit that the checks compare, in one line.
    static func describe(_ exit: Exit, dr6: Bool = true) -> String {
        func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
        func bytes(_ d: [UInt8]) -> String { d.map { String($0, radix: 16) }.joined(separator: " ") }
        switch exit {
        case .io(let io):
            return "\(io.direction == .out ? "out" : "in") size \(io.size) port \(hex(UInt64(io.port))) count \(io.count)"
                + (io.direction == .out ? " data \(bytes(Array(io.data.prefix(Int(io.size) * Int(io.count)))))" : "")
        case .mmio(let m):
            return "mmio \(m.isWrite ? "write" : "read") \(hex(m.physicalAddress)) len \(m.length)"
                + (m.isWrite ? " data \(bytes(Array(m.data.prefix(Int(m.length)))))" : "")
        case .internalError(let sub, _): return "internal error suberror \(sub)"
        case .failEntry(let reason, _): return "fail entry reason " + hex(reason)
        case .rdmsr(let index, let reason): return "rdmsr index \(hex(UInt64(index))) reason \(reason)"
        case .wrmsr(let index, let data, let reason): return "wrmsr index \(hex(UInt64(index))) data \(hex(data)) reason \(reason)"
        case .hypercall(let nr, let args, _, let longMode):
            return "hypercall nr \(nr) args \(args.prefix(3).map(hex).joined(separator: " ")) longmode \(longMode ? 1 : 0)"
        case .debug(let exception, let pc, let d6, _):
            return "debug exception \(exception) pc \(hex(pc))" + (dr6 ? " dr6.bs \(d6 >> 14 & 1)" : "")
        default: return exit.name
        }
    }

    static let runChecks: [ABICheck] = [
        ABICheck("run.hlt", "HLT without an in-kernel irqchip exits with KVM_EXIT_HLT (5)",
                 cite: "arch/x86/kvm/x86.c kvm_emulate_halt, __kvm_vcpu_halt", expect: .value(5)) { reason($0, hlt) },
        ABICheck("run.hlt_rip", "after the KVM_EXIT_HLT, RIP is past the HLT (0x1001)",
                 cite: "arch/x86/kvm/x86.c kvm_emulate_halt (kvm_skip_emulated_instruction first)", expect: .value(0x1001)) { h in
            guest(h, hlt) { _, _, vcpu throws(KVMError) in .bits(try vcpu.regs().rip) }
        },
        ABICheck("run.out_reason", "OUT imm8, AL exits with KVM_EXIT_IO (2)", cite: "arch/x86/kvm/vmx/vmx.c handle_io, x86.c kvm_fast_pio",
                 expect: .value(2)) { reason($0, outByte) },
        ABICheck("run.out_fields", "the OUT's kvm_run.io: direction, size, port, count, data",
                 cite: "arch/x86/kvm/x86.c emulator_pio_in_out (kvm_run->io)", expect: .text("out size 1 port 0x10 count 1 data 42")) { h in
            guest(h, outByte) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.in_fields", "IN AX, imm8: kvm_run.io direction, size, port, count",
                 cite: "arch/x86/kvm/x86.c emulator_pio_in_out (kvm_run->io)", expect: .text("in size 2 port 0x12 count 1")) { h in
            guest(h, inWord) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.mmio_write_no_slot", "a write to a GPA with no memslot exits with KVM_EXIT_MMIO (6)",
                 cite: "arch/x86/kvm/vmx/vmx.c handle_ept_misconfig, x86.c emulator_read_write (vcpu->run->mmio)", expect: .value(6)) {
            reason($0, writeSegment2000)
        },
        ABICheck("run.mmio_write_fields", "that exit's kvm_run.mmio: phys_addr, len, is_write, data",
                 cite: "arch/x86/kvm/x86.c emulator_read_write_onepage, complete_emulated_mmio",
                 expect: .text("mmio write 0x20010 len 1 data 5a")) { h in
            guest(h, writeSegment2000) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.mmio_read_fields", "a read of a GPA with no memslot: kvm_run.mmio phys_addr, len, is_write",
                 cite: "arch/x86/kvm/x86.c emulator_read_write_onepage", expect: .text("mmio read 0x20010 len 1")) { h in
            guest(h, readSegment2000) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.readonly_slot_write", "a write to a KVM_MEM_READONLY slot exits with KVM_EXIT_MMIO (6), is_write",
                 cite: "arch/x86/kvm/mmu/mmu.c kvm_handle_noslot_fault / kvm_faultin_pfn (write to a read-only slot is MMIO)", expect: .value(6)) { h in
            guest(h, writeSegment2000, setup: { vm, _ throws(KVMError) in _ = try extraSlot(vm, flags: .readOnly) }) { exit, _, _ in
                guard case .mmio(let m) = exit, m.isWrite else { return .value(-Int(exit.reason)) }
                return .value(6)
            }
        },
        ABICheck("run.readonly_slot_unchanged", "the read-only slot's byte is unchanged after that write exit (0xa5)",
                 cite: "arch/x86/kvm/mmu/mmu.c (KVM_MEM_READONLY: writes never reach the slot)", expect: .value(0xA5)) { h in
            var slot: GuestMemory?
            return guest(h, writeSegment2000, setup: { vm, _ throws(KVMError) in slot = try extraSlot(vm, flags: .readOnly) }) { _, _, _ in
                .value(Int(slot?.read(at: 0x10, count: 1).first ?? 0))
            }
        },
        ABICheck("run.readonly_slot_read", "a read from a read-only slot does not exit: the HLT does (5)",
                 cite: "arch/x86/kvm/mmu/mmu.c (read-only slots are mapped for reads)", expect: .value(5)) { h in
            reason(h, readSegment2000, setup: { vm, _ throws(KVMError) in _ = try extraSlot(vm, flags: .readOnly) })
        },
        ABICheck("run.readonly_slot_read_value", "that read returns the slot's byte (AL = 0xa5)",
                 cite: "arch/x86/kvm/mmu/mmu.c kvm_faultin_pfn (read-only slots are mapped for reads)", expect: .value(0xA5)) { h in
            guest(h, readSegment2000, setup: { vm, _ throws(KVMError) in _ = try extraSlot(vm, flags: .readOnly) }) { _, _, vcpu throws(KVMError) in
                .bits(try vcpu.regs().rax & 0xFF)
            }
        },
        ABICheck("run.deleted_slot_is_mmio", "after deleting slot 1, a read of its GPA exits with KVM_EXIT_MMIO (6)",
                 cite: "virt/kvm/kvm_main.c __kvm_set_memory_region (KVM_MR_DELETE), arch/x86/kvm/mmu/mmu.c (no slot: MMIO)", expect: .value(6)) { h in
            reason(h, readSegment2000, setup: { vm, _ throws(KVMError) in
                let m = try extraSlot(vm)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0x20000, memorySize: 0, userspaceAddress: m.hostAddress))
            })
        },
        ABICheck("run.moved_slot_new_gpa", "after moving slot 1 from 0x20000 to 0x30000, a read at 0x30010 comes from it (no exit; AL = 0xa5)",
                 cite: "virt/kvm/kvm_main.c __kvm_set_memory_region (KVM_MR_MOVE)", expect: .value(0xA5)) { h in
            guest(h, readSegment3000, setup: { vm, _ throws(KVMError) in
                let m = try extraSlot(vm)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0x30000, memorySize: 16 * 4096, userspaceAddress: m.hostAddress))
            }) { exit, _, vcpu throws(KVMError) in
                exit == .hlt ? .bits(try vcpu.regs().rax & 0xFF) : .value(-Int(exit.reason))
            }
        },
        ABICheck("run.moved_slot_old_gpa", "after that move, a read at the old GPA 0x20010 exits with KVM_EXIT_MMIO (6)",
                 cite: "virt/kvm/kvm_main.c __kvm_set_memory_region (KVM_MR_MOVE)", expect: .value(6)) { h in
            reason(h, readSegment2000, setup: { vm, _ throws(KVMError) in
                let m = try extraSlot(vm)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0x30000, memorySize: 16 * 4096, userspaceAddress: m.hostAddress))
            })
        },
        ABICheck("run.dirty_bit_of_write", "a STOSB into page 3 of a logging slot sets exactly bit 3 of its dirty log",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect, mark_page_dirty_in_slot", expect: .value(8)) { h in
            guest(h, stosbPage3, setup: { vm, _ throws(KVMError) in _ = try extraSlot(vm, flags: .logDirtyPages) }) { exit, vm, _ throws(KVMError) in
                guard exit == .hlt else { return .value(-Int(exit.reason)) }
                return .bits(try vm.dirtyLog(slot: 1).first ?? 0)
            }
        },
        ABICheck("run.dirty_log_cleared_by_get", "a second KVM_GET_DIRTY_LOG with no write in between is all zero",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect (the bitmap is taken and pages write-protected)", expect: .value(0)) { h in
            guest(h, stosbPage3, setup: { vm, _ throws(KVMError) in _ = try extraSlot(vm, flags: .logDirtyPages) }) { _, vm, _ throws(KVMError) in
                _ = try vm.dirtyLog(slot: 1)
                return .bits(try vm.dirtyLog(slot: 1).first ?? 0)
            }
        },
        ABICheck("run.dirty_written_bytes", "the byte STOSB wrote is in the slot's host memory (1)",
                 cite: "virt/kvm/kvm_main.c (the slot's userspace memory backs the guest page)", expect: .value(1)) { h in
            var slot: GuestMemory?
            return guest(h, stosbPage3, setup: { vm, _ throws(KVMError) in slot = try extraSlot(vm, flags: .logDirtyPages) }) { _, _, _ in
                .value(Int(slot?.read(at: 0x3000, count: 1).first ?? 0))
            }
        },
        ABICheck("run.immediate_exit", "kvm_run.immediate_exit = 1: KVM_RUN returns at once with KVM_EXIT_INTR (10)",
                 cite: runIoctl, expect: .value(10)) { h in
            guest(h, hlt, setup: { _, vcpu in vcpu.immediateExit = true }) { exit, _, _ in .value(Int(exit.reason)) }
        },
        ABICheck("run.immediate_exit_runs_nothing", "with immediate_exit, RIP has not moved (0x1000)", cite: runIoctl, expect: .value(0x1000)) { h in
            guest(h, hlt, setup: { _, vcpu in vcpu.immediateExit = true }) { _, _, vcpu throws(KVMError) in .bits(try vcpu.regs().rip) }
        },
        ABICheck("run.no_memory_fetch", "fetching code from a GPA with no memslot at CPL0: KVM_EXIT_INTERNAL_ERROR, suberror 1 (emulation)",
                 cite: "arch/x86/kvm/x86.c handle_emulation_failure (CPL0: prepare_emulation_failure_exit)", expect: .text("internal error suberror 1")) { h in
            guest(h, hlt, setup: { _, vcpu throws(KVMError) in
                var r = try vcpu.regs()
                r.rip = 0x8000   // far above the 64 KiB slot 0
                var s = try vcpu.sregs()
                s.cs = .realMode(selector: 0x8000, code: true)
                try vcpu.setSregs(s)
                r.rip = 0
                try vcpu.setRegs(r)
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.fail_entry_rip_high", "real mode with RIP 100001000H (bits 63:32 set, which KVM_SET_REGS does not check): KVM_EXIT_FAIL_ENTRY, invalid guest state",
                 cite: "arch/x86/kvm/vmx/vmx.c __vmx_handle_exit (failed_vmentry); SDM Vol. 3C 26.3.1.4 (RIP)",
                 expect: .text("fail entry reason 0x80000021")) { h in
            guest(h, hlt, setup: { _, vcpu throws(KVMError) in
                var r = try vcpu.regs()
                r.rip = 0x1_0000_1000
                try vcpu.setRegs(r)
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.fail_entry_noncanonical", "64-bit mode with a non-canonical RIP (8000000000001000H): KVM_EXIT_FAIL_ENTRY, invalid guest state",
                 cite: "arch/x86/kvm/vmx/vmx.c __vmx_handle_exit (failed_vmentry); SDM Vol. 3C 26.3.1.4 (RIP)",
                 expect: .text("fail entry reason 0x80000021")) { h in
            guest(h, hlt, setup: { _, vcpu throws(KVMError) in
                var s = try vcpu.sregs()
                s.cr0 = 0x8000_0011; s.cr4 = 0x20; s.efer = 0x500; s.cr3 = 0x2000
                s.cs = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 8, type: 0xB, db: 0, l: 1, g: 1)
                let data = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x10, type: 0x3, db: 1, g: 1)
                s.ds = data; s.es = data; s.ss = data; s.fs = data; s.gs = data
                try vcpu.setSregs(s)
                var r = try vcpu.regs()
                r.rip = 0x8000_0000_0000_1000
                try vcpu.setRegs(r)
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.singlestep", "KVM_SET_GUEST_DEBUG ENABLE|SINGLESTEP: the first instruction (NOP) exits with KVM_EXIT_DEBUG #DB, DR6.BS set, pc after it",
                 cite: "arch/x86/kvm/vmx/vmx.c handle_exception_nmi (DB_VECTOR with KVM_GUESTDBG_SINGLESTEP)", expect: .text("debug exception 1 pc 0x1001 dr6.bs 1")) { h in
            guest(h, [0x90, 0xF4], setup: { _, vcpu throws(KVMError) in
                try vcpu.setGuestDebug(GuestDebug(control: GuestDebug.enable | GuestDebug.singleStep))
            }) { exit, _, _ in .text(describe(exit)) }
        },
        ABICheck("run.sw_breakpoint", "KVM_SET_GUEST_DEBUG ENABLE|USE_SW_BP: INT3 exits with KVM_EXIT_DEBUG, exception 3, pc at the INT3",
                 cite: "arch/x86/kvm/vmx/vmx.c handle_exception_nmi (BP_VECTOR with KVM_GUESTDBG_USE_SW_BP)", expect: .text("debug exception 3 pc 0x1000")) { h in
            guest(h, [0xCC, 0xF4], setup: { _, vcpu throws(KVMError) in
                try vcpu.setGuestDebug(GuestDebug(control: GuestDebug.enable | GuestDebug.useSoftwareBreakpoints))
            }) { exit, _, _ in .text(describe(exit, dr6: false)) }
        },
        ABICheck("run.regs_roundtrip", "KVM_SET_REGS then KVM_GET_REGS: R15 = 0x0123456789abcdef survives", cite: "arch/x86/kvm/x86.c __set_regs, __get_regs",
                 expect: .value(0x0123_4567_89AB_CDEF)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var r = try vcpu.regs()
                r.r15 = 0x0123_4567_89AB_CDEF
                try vcpu.setRegs(r)
                return .bits(try vcpu.regs().r15)
            }
        },
        ABICheck("run.rflags_reserved_bit1", "KVM_SET_REGS with RFLAGS = 0: KVM_GET_REGS reads bit 1 set (0x2)",
                 cite: "arch/x86/kvm/x86.c __set_regs (kvm_set_rflags: X86_EFLAGS_FIXED)", expect: .value(2)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var r = try vcpu.regs()
                r.rflags = 0
                try vcpu.setRegs(r)
                return .bits(try vcpu.regs().rflags & 0x2)
            }
        },
        ABICheck("run.fpu_roundtrip", "KVM_SET_FPU FCW = 0x27f then KVM_GET_FPU reads it back", cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_set_fpu",
                 expect: .value(0x27F)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try setFPUControlWord(vcpu, 0x27F)
                return .bits(try vcpu.fpu().fcw)
            }
        },
        ABICheck("run.mxcsr_reset", "KVM_GET_FPU reads MXCSR 0: get_fpu does not copy it, and the kvm_fpu it fills is zeroed",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_get_fpu (no mxcsr line), virt/kvm/kvm_main.c kvm_vcpu_ioctl KVM_GET_FPU (kzalloc)",
                 expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in .bits(try vcpu.fpu().mxcsr) }
        },
        ABICheck("run.mxcsr_roundtrip", "KVM_SET_FPU with MXCSR 1F00H does not store it: KVM_GET_XSAVE still reads 1F80H",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_set_fpu (no mxcsr line); arch/x86/kernel/fpu/xstate.c __copy_xstate_to_uabi_buf",
                 expect: .value(0x1F80)) { h in
            guard h.checkExtension(.xsave) != 0 else { return .setupFailed("no KVM_CAP_XSAVE") }
            return Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var f = try vcpu.fpu()
                f.mxcsr = 0x1F00
                try vcpu.setFPU(f)
                return .bits(try vcpu.xsave().mxcsr)
            }
        },
    ]
}
