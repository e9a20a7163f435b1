import Glibc
import HostKVM
import KVMABI

// KVM_IOEVENTFD (Linux 6.1 virt/kvm/eventfd.c kvm_ioeventfd, kvm_assign_ioeventfd(_idx),
// ioeventfd_check_collision, kvm_deassign_ioeventfd_idx, ioeventfd_in_range, ioeventfd_write):
// the argument rules, and guest writes that signal the eventfd instead of exiting.

extension ABICatalogue {
    static let ioeventfdSource = "virt/kvm/eventfd.c kvm_assign_ioeventfd"

    /// A fresh eventfd for `body` (closed afterwards); one that cannot be made is a setup failure.
    static func withEventFD(_ body: (EventFD) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        let e: EventFD
        do { e = try EventFD() } catch { return .setupFailed("\(error)") }
        do { return try body(e) } catch { return .errno(error.errno) }
    }

    static func assign(_ h: any Hypervisor, _ make: @escaping (Int32) -> [IOEventFD]) -> ABIAnswer {
        withEventFD { e throws(KVMError) in
            Ask.withVM(h) { vm throws(KVMError) in
                Ask.call { () throws(KVMError) in for a in make(e.fd) { try vm.ioeventfd(a) } }
            }
        }
    }

    /// Runs `code` at 0x1000 with `events` assigned (on `e`); "exit-name count" after the run.
    static func ioeventfdGuest(_ h: any Hypervisor, _ code: [UInt8], _ events: @escaping (Int32) -> [IOEventFD]) -> ABIAnswer {
        withEventFD { e throws(KVMError) in
            guest(h, code, setup: { vm, _ throws(KVMError) in for a in events(e.fd) { try vm.ioeventfd(a) } }) { exit, _, _ in
                .text("\(exit.name) \(e.take())")
            }
        }
    }

    /// mov al,0x42 / out 0x10,al / mov ax,0x2000 / mov ds,ax / mov byte [0x10],0x5a / hlt
    static let outThenMMIOWrite: [UInt8] = [0xB0, 0x42, 0xE6, 0x10, 0xB8, 0x00, 0x20, 0x8E, 0xD8, 0xC6, 0x06, 0x10, 0x00, 0x5A, 0xF4]

    static let ioeventfdChecks: [ABICheck] = [
        ABICheck("ioeventfd.bad_length", "KVM_IOEVENTFD with length 3: EINVAL", cite: ioeventfdSource,
                 expect: .errno(Errno.EINVAL)) { h in assign(h) { [IOEventFD(address: 0x10, length: 3, fd: $0, flags: IOEventFD.pio)] } },
        ABICheck("ioeventfd.wraps", "an MMIO ioeventfd whose address + length wraps past 2^64: EINVAL", cite: ioeventfdSource,
                 expect: .errno(Errno.EINVAL)) { h in assign(h) { [IOEventFD(address: ~0, length: 4, fd: $0)] } },
        ABICheck("ioeventfd.unknown_flag", "flag 20H (past kvm_ioeventfd_flag_nr_max): EINVAL", cite: ioeventfdSource + " (KVM_IOEVENTFD_VALID_FLAG_MASK)",
                 expect: .errno(Errno.EINVAL)) { h in assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio | 0x20)] } },
        ABICheck("ioeventfd.fast_mmio_flag", "flag 10H (kvm_ioeventfd_flag_nr_fast_mmio, inside the valid mask, unused): 0",
                 cite: ioeventfdSource + " (KVM_IOEVENTFD_VALID_FLAG_MASK)", expect: .ok) { h in
            assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio | 0x10)] }
        },
        ABICheck("ioeventfd.datamatch_no_length", "DATAMATCH with length 0: EINVAL", cite: ioeventfdSource,
                 expect: .errno(Errno.EINVAL)) { h in
            assign(h) { [IOEventFD(address: 0x20000, length: 0, fd: $0, flags: IOEventFD.datamatch, datamatchValue: 1)] }
        },
        ABICheck("ioeventfd.not_an_eventfd", "an fd that is not an eventfd (the VM's own KVM fd is not reachable here: -1): EBADF",
                 cite: "virt/kvm/eventfd.c kvm_assign_ioeventfd_idx (eventfd_ctx_fdget)", expect: .errno(Errno.EBADF)) { h in
            assign(h) { _ in [IOEventFD(address: 0x10, length: 1, fd: -1, flags: IOEventFD.pio)] }
        },
        ABICheck("ioeventfd.pio_ok", "a 1-byte PIO ioeventfd at port 10H: 0", cite: ioeventfdSource,
                 expect: .ok) { h in assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio)] } },
        ABICheck("ioeventfd.collision", "the same PIO ioeventfd twice: EEXIST", cite: "virt/kvm/eventfd.c ioeventfd_check_collision",
                 expect: .errno(Errno.EEXIST)) { h in
            assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio), IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio)] }
        },
        ABICheck("ioeventfd.two_datamatches", "two DATAMATCH ioeventfds at one port with different values: 0",
                 cite: "virt/kvm/eventfd.c ioeventfd_check_collision", expect: .ok) { h in
            assign(h) { fd in [1, 2].map { IOEventFD(address: 0x10, length: 1, fd: fd, flags: IOEventFD.pio | IOEventFD.datamatch, datamatchValue: $0) } }
        },
        ABICheck("ioeventfd.wildcard_over_datamatch", "a DATAMATCH ioeventfd, then one of the same length without: EEXIST",
                 cite: "virt/kvm/eventfd.c ioeventfd_check_collision (wildcard)", expect: .errno(Errno.EEXIST)) { h in
            assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio | IOEventFD.datamatch, datamatchValue: 1),
                         IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio)] }
        },
        ABICheck("ioeventfd.other_bus", "the same address on the MMIO bus after the PIO bus: 0", cite: "virt/kvm/eventfd.c ioeventfd_check_collision (bus_idx)",
                 expect: .ok) { h in
            assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio), IOEventFD(address: 0x10, length: 1, fd: $0)] }
        },
        ABICheck("ioeventfd.deassign_missing", "DEASSIGN of an ioeventfd that was never assigned: ENOENT",
                 cite: "virt/kvm/eventfd.c kvm_deassign_ioeventfd_idx", expect: .errno(Errno.ENOENT)) { h in
            assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio | IOEventFD.deassign)] }
        },
        ABICheck("ioeventfd.deassign", "assign, then DEASSIGN with the same arguments: 0",
                 cite: "virt/kvm/eventfd.c kvm_deassign_ioeventfd_idx", expect: .ok) { h in
            assign(h) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio),
                         IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio | IOEventFD.deassign)] }
        },
        ABICheck("ioeventfd.pio_no_exit", "OUT to a port with an ioeventfd: no KVM_EXIT_IO (the next exit is the MMIO write), the eventfd reads 1",
                 cite: "virt/kvm/eventfd.c ioeventfd_write; x86.c kernel_pio", expect: .text("KVM_EXIT_MMIO 1")) { h in
            ioeventfdGuest(h, outThenMMIOWrite) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio)] }
        },
        ABICheck("ioeventfd.both_no_exit", "the OUT and the MMIO write (GPA 20010H) each with an ioeventfd: the HLT exits, the eventfd reads 2",
                 cite: "virt/kvm/eventfd.c ioeventfd_write; x86.c vcpu_mmio_write", expect: .text("KVM_EXIT_HLT 2")) { h in
            ioeventfdGuest(h, outThenMMIOWrite) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio),
                                                    IOEventFD(address: 0x20010, length: 1, fd: $0)] }
        },
        ABICheck("ioeventfd.rep_outsb", "REP OUTSB of 3 bytes to a port with an ioeventfd: no exit (the HLT exits), the eventfd reads 3",
                 cite: "arch/x86/kvm/x86.c kernel_pio (each element through kvm_io_bus_write)", expect: .text("KVM_EXIT_HLT 3")) { h in
            // mov si,1100h / mov cx,3 / mov dx,10h / rep outsb / hlt
            ioeventfdGuest(h, [0xBE, 0x00, 0x11, 0xB9, 0x03, 0x00, 0xBA, 0x10, 0x00, 0xF3, 0x6E, 0xF4]) {
                [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio)]
            }
        },
        ABICheck("ioeventfd.datamatch_miss", "DATAMATCH 41H and the OUT writes 42H: KVM_EXIT_IO, the eventfd reads 0",
                 cite: "virt/kvm/eventfd.c ioeventfd_in_range", expect: .text("KVM_EXIT_IO 0")) { h in
            ioeventfdGuest(h, outThenMMIOWrite) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio | IOEventFD.datamatch, datamatchValue: 0x41)] }
        },
        ABICheck("ioeventfd.datamatch_hit", "DATAMATCH 42H and the OUT writes 42H: no KVM_EXIT_IO, the eventfd reads 1",
                 cite: "virt/kvm/eventfd.c ioeventfd_in_range", expect: .text("KVM_EXIT_MMIO 1")) { h in
            ioeventfdGuest(h, outThenMMIOWrite) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio | IOEventFD.datamatch, datamatchValue: 0x42)] }
        },
        ABICheck("ioeventfd.length_mismatch", "a 2-byte ioeventfd and a 1-byte OUT: KVM_EXIT_IO (the length must match)",
                 cite: "virt/kvm/eventfd.c ioeventfd_in_range", expect: .text("KVM_EXIT_IO 0")) { h in
            ioeventfdGuest(h, outThenMMIOWrite) { [IOEventFD(address: 0x10, length: 2, fd: $0, flags: IOEventFD.pio)] }
        },
        ABICheck("ioeventfd.mmio_any_length", "a PIO ioeventfd on the OUT's port and an MMIO ioeventfd of length 0 at 20010H: the HLT exits, the eventfd reads 2",
                 cite: "virt/kvm/eventfd.c ioeventfd_in_range (length 0: the address alone)", expect: .text("KVM_EXIT_HLT 2")) { h in
            ioeventfdGuest(h, outThenMMIOWrite) { [IOEventFD(address: 0x10, length: 1, fd: $0, flags: IOEventFD.pio),
                                                    IOEventFD(address: 0x20010, length: 0, fd: $0)] }
        },
    ]
}

// KVM_IRQFD (Linux 6.1 virt/kvm/eventfd.c kvm_irqfd, kvm_irqfd_assign, kvm_irqfd_deassign,
// irqfd_wakeup, irqfd_inject, irqfd_resampler_ack; x86 irq.c kvm_arch_irqfd_allowed).
// KVM injects from a work item some time after the signal, so the checks that look for the
// interrupt wait for it (up to 500 ms).

extension ABICatalogue {
    static let irqfdSource = "virt/kvm/eventfd.c kvm_irqfd_assign"

    static func irqfdCall(_ h: any Hypervisor, irqchip: Bool = true, _ make: @escaping (Int32) -> [IRQFD]) -> ABIAnswer {
        withEventFD { e throws(KVMError) in
            Ask.withVM(h) { vm throws(KVMError) in
                if irqchip { try vm.createIRQChip() }
                return Ask.call { () throws(KVMError) in for f in make(e.fd) { try vm.irqfd(f) } }
            }
        }
    }

    /// The master 8259's state once `settled` holds or 500 ms have passed.
    static func masterPIC(_ vm: any VirtualMachine, until settled: (PICState) -> Bool) throws(KVMError) -> PICState {
        var p = PICState()
        for _ in 0..<50 {
            if let s = pic(try vm.irqchip(0)) { p = s }
            if settled(p) { break }
            var t = timespec(tv_sec: 0, tv_nsec: 10_000_000)
            nanosleep(&t, nil)
        }
        return p
    }

    /// A VM with the irqchip and vCPU 0, an irqfd on GSI 4 (RESAMPLE with `resample`),
    /// then `body` with the eventfd and the resample eventfd.
    static func withIRQFD(_ h: any Hypervisor, resample: Bool = false, signalFirst: Bool = false,
                          _ body: @escaping (any VirtualMachine, any VirtualCPU, GuestMemory, EventFD, EventFD) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        withEventFD { e throws(KVMError) in
            withEventFD { r throws(KVMError) in
                Ask.withVCPU(h, irqchip: true) { vm, vcpu, mem throws(KVMError) in
                    if signalFirst { e.signal() }
                    try vm.irqfd(IRQFD(fd: e.fd, gsi: 4, flags: resample ? IRQFD.resample : 0, resampleFD: r.fd))
                    return try body(vm, vcpu, mem, e, r)
                }
            }
        }
    }

    static let irqfdChecks: [ABICheck] = [
        ABICheck("irqfd.no_irqchip", "KVM_IRQFD without the in-kernel irqchip: EINVAL", cite: "arch/x86/kvm/irq.c kvm_arch_irqfd_allowed",
                 expect: .errno(Errno.EINVAL)) { h in irqfdCall(h, irqchip: false) { [IRQFD(fd: $0, gsi: 4)] } },
        ABICheck("irqfd.bad_flags", "KVM_IRQFD with flag 4: EINVAL", cite: "virt/kvm/eventfd.c kvm_irqfd",
                 expect: .errno(Errno.EINVAL)) { h in irqfdCall(h) { [IRQFD(fd: $0, gsi: 4, flags: 4)] } },
        ABICheck("irqfd.bad_fd", "KVM_IRQFD with fd -1: EBADF", cite: irqfdSource + " (fdget)",
                 expect: .errno(Errno.EBADF)) { h in irqfdCall(h) { _ in [IRQFD(fd: -1, gsi: 4)] } },
        ABICheck("irqfd.busy", "one eventfd for GSI 4, then for GSI 5: EBUSY", cite: irqfdSource + " (\"This fd is used for another irq already\")",
                 expect: .errno(Errno.EBUSY)) { h in irqfdCall(h) { [IRQFD(fd: $0, gsi: 4), IRQFD(fd: $0, gsi: 5)] } },
        ABICheck("irqfd.same_eventfd_two_vms", "one eventfd for an irqfd of a VM, then for one of another VM: 0 (the list looked at is the VM's own)",
                 cite: irqfdSource + " (list_for_each_entry of kvm->irqfds.items)", expect: .ok) { h in
            // What a VMM restoring a snapshot into a second VM next to the first does.
            withEventFD { e throws(KVMError) in
                Ask.withVM(h) { first throws(KVMError) in
                    try first.createIRQChip()
                    try first.irqfd(IRQFD(fd: e.fd, gsi: 4))
                    return Ask.withVM(h) { second throws(KVMError) in
                        try second.createIRQChip()
                        return Ask.call { () throws(KVMError) in try second.irqfd(IRQFD(fd: e.fd, gsi: 4)) }
                    }
                }
            }
        },
        ABICheck("irqfd.deassign_unknown", "DEASSIGN of an irqfd that was never assigned: 0",
                 cite: "virt/kvm/eventfd.c kvm_irqfd_deassign", expect: .ok) { h in irqfdCall(h) { [IRQFD(fd: $0, gsi: 4, flags: IRQFD.deassign)] } },
        ABICheck("irqfd.resample_bad_fd", "RESAMPLE with resamplefd -1: EBADF", cite: irqfdSource + " (eventfd_ctx_fdget(resamplefd))",
                 expect: .errno(Errno.EBADF)) { h in irqfdCall(h) { [IRQFD(fd: $0, gsi: 4, flags: IRQFD.resample, resampleFD: -1)] } },
        ABICheck("irqfd.injects", "signalling an irqfd on GSI 4 sets IRR bit 4 of the master 8259 (within 500 ms)",
                 cite: "virt/kvm/eventfd.c irqfd_wakeup, irqfd_inject", expect: .value(1)) { h in
            withIRQFD(h) { vm, _, _, e, _ throws(KVMError) in
                e.signal()
                return .value(Int((try masterPIC(vm) { $0.irr & 0x10 != 0 }).irr >> 4 & 1))
            }
        },
        ABICheck("irqfd.edge_pulse", "after the injection the line is low again: IRR bit 4 set, last_irr bit 4 clear (1, then 0)",
                 cite: "virt/kvm/eventfd.c irqfd_inject (kvm_set_irq 1 then 0)", expect: .value(0x10)) { h in
            withIRQFD(h) { vm, _, _, e, _ throws(KVMError) in
                e.signal()
                let p = try masterPIC(vm) { $0.irr & 0x10 != 0 }
                return .value(Int(p.irr >> 4 & 1) << 4 | Int(p.lastIRR >> 4 & 1))
            }
        },
        ABICheck("irqfd.counter_consumed", "KVM reads the eventfd when it fires: its counter is 0 afterwards",
                 cite: "virt/kvm/eventfd.c irqfd_wakeup (eventfd_ctx_do_read)", expect: .value(0)) { h in
            withIRQFD(h) { vm, _, _, e, _ throws(KVMError) in
                e.signal()
                _ = try masterPIC(vm) { $0.irr & 0x10 != 0 }
                return .bits(e.take())
            }
        },
        ABICheck("irqfd.pending_at_assign", "an eventfd signalled before KVM_IRQFD fires on assignment: IRR bit 4 set",
                 cite: irqfdSource + " (vfs_poll: \"an event already pending\")", expect: .value(1)) { h in
            withIRQFD(h, signalFirst: true) { vm, _, _, _, _ throws(KVMError) in
                .value(Int((try masterPIC(vm) { $0.irr & 0x10 != 0 }).irr >> 4 & 1))
            }
        },
        ABICheck("irqfd.deassigned", "after DEASSIGN a signal injects nothing: IRR bit 4 stays clear (100 ms)",
                 cite: "virt/kvm/eventfd.c kvm_irqfd_deassign", expect: .value(0)) { h in
            withIRQFD(h) { vm, _, _, e, _ throws(KVMError) in
                try vm.irqfd(IRQFD(fd: e.fd, gsi: 4, flags: IRQFD.deassign))
                e.signal()
                var t = timespec(tv_sec: 0, tv_nsec: 100_000_000)
                nanosleep(&t, nil)
                return .value(Int((pic(try vm.irqchip(0))?.irr ?? 0) >> 4 & 1))
            }
        },
        ABICheck("irqfd.from_ioeventfd", "one eventfd as ioeventfd (port 10H) and irqfd (GSI 4): the guest's OUT makes no exit, IRQ4 reaches its handler, whose OUT 11H is the first exit",
                 cite: "virt/kvm/eventfd.c ioeventfd_write -> irqfd_wakeup", expect: .text("out size 1 port 0x11 count 1 data 20")) { h in
            withIRQFD(h) { vm, vcpu, mem, e, _ throws(KVMError) in
                try vm.ioeventfd(IOEventFD(address: 0x10, length: 1, fd: e.fd, flags: IOEventFD.pio))
                let base = Int(pic(try vm.irqchip(0))?.irqBase ?? 0)
                _ = mem.write([0x00, 0x11, 0x00, 0x00], at: 4 * (base + 4))       // IVT[irq_base + 4] -> 0:1100H
                _ = mem.write([0xB0, 0x20, 0xE6, 0x20, 0xE6, 0x11], at: 0x1100)   // mov al,20h; out 20h,al; out 11h,al
                _ = mem.write([0xE6, 0x10, 0xFB, 0xF4, 0xEB, 0xFD], at: 0x1000)   // out 10h,al; sti; hlt; jmp $-1
                return .text(describe(try vcpu.run(budget: .milliseconds(500))))
            }
        },
        ABICheck("irqfd.resample_held", "a RESAMPLE irqfd holds GSI 4 high until the guest acknowledges it: last_irr bit 4 set",
                 cite: "virt/kvm/eventfd.c irqfd_inject (KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, level 1)", expect: .value(1)) { h in
            withIRQFD(h, resample: true) { vm, _, _, e, _ throws(KVMError) in
                e.signal()
                return .value(Int((try masterPIC(vm) { $0.lastIRR & 0x10 != 0 }).lastIRR >> 4 & 1))
            }
        },
        ABICheck("irqfd.resample_ack", "the guest takes IRQ4 and EOIs it at the 8259: the line drops and the resamplefd reads 1 (\"1 0\")",
                 cite: "virt/kvm/eventfd.c irqfd_resampler_ack; i8259.c pic_clear_isr (kvm_notify_acked_irq)", expect: .text("1 0")) { h in
            withIRQFD(h, resample: true) { vm, vcpu, mem, e, r throws(KVMError) in
                let base = Int(pic(try vm.irqchip(0))?.irqBase ?? 0)
                _ = mem.write([0x00, 0x11, 0x00, 0x00], at: 4 * (base + 4))       // IVT[irq_base + 4] -> 0:1100H
                _ = mem.write([0xB0, 0x20, 0xE6, 0x20, 0xE6, 0x10], at: 0x1100)   // mov al,20h; out 20h,al; out 10h,al
                _ = mem.write([0xFB, 0xF4, 0xEB, 0xFD], at: 0x1000)               // sti; hlt; jmp $-1
                e.signal()
                _ = try masterPIC(vm) { $0.irr & 0x10 != 0 }
                let exit = try vcpu.run(budget: .milliseconds(500))
                guard case .io = exit else { return .text("exit \(exit.name)") }
                var t = timespec(tv_sec: 0, tv_nsec: 20_000_000)
                nanosleep(&t, nil)
                let line = Int((pic(try vm.irqchip(0))?.lastIRR ?? 0xFF) >> 4 & 1)
                return .text("\(r.take()) \(line)")
            }
        },
    ]
}

// KVM_REGISTER/UNREGISTER_COALESCED_MMIO (Linux 6.1 virt/kvm/coalesced_mmio.c
// kvm_vm_ioctl_register_coalesced_mmio, kvm_vm_ioctl_unregister_coalesced_mmio,
// coalesced_mmio_in_range, coalesced_mmio_has_room, coalesced_mmio_write).

extension ABICatalogue {
    static let coalescedSource = "virt/kvm/coalesced_mmio.c kvm_vm_ioctl_register_coalesced_mmio"

    /// Runs `code` with `zones` registered; "exit-name, then the ring's entries".
    static func coalescedGuest(_ h: any Hypervisor, _ code: [UInt8], _ zones: [CoalescedMMIOZone],
                               unregister: [CoalescedMMIOZone] = [], prepare: [(Int, [UInt8])] = []) -> ABIAnswer {
        guest(h, code + [UInt8](repeating: 0xF4, count: prepare.isEmpty ? 0 : 0x100 - code.count) + prepare.flatMap { $0.1 }, setup: { vm, _ throws(KVMError) in
            for z in zones { try vm.registerCoalescedMMIO(z) }
            for z in unregister { try vm.unregisterCoalescedMMIO(z) }
        }) { exit, vm, _ in
            let ring = vm.takeCoalescedMMIO().map { e in
                "0x\(String(e.physicalAddress, radix: 16)) len \(e.length) pio \(e.pio) data \(e.data.map { String($0, radix: 16) }.joined(separator: " "))"
            }
            return .text(([exit.name] + ring).joined(separator: "; "))
        }
    }

    /// mov ax,0x2000 / mov es,ax / xor di,di / mov cx,120 / mov al,1 / rep stosb / hlt
    static let stosb120: [UInt8] = [0xB8, 0x00, 0x20, 0x8E, 0xC0, 0x31, 0xFF, 0xB9, 0x78, 0x00, 0xB0, 0x01, 0xF3, 0xAA, 0xF4]

    static let coalescedChecks: [ABICheck] = [
        ABICheck("coalesced.cap", "KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO): KVM_COALESCED_MMIO_PAGE_OFFSET (2 on x86)",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic", expect: .value(2)) { h in
            Ask.withVM(h) { vm in .value(Int(vm.checkExtension(.coalescedMmio))) }
        },
        ABICheck("coalesced.bad_pio", "KVM_REGISTER_COALESCED_MMIO with pio 2: EINVAL", cite: coalescedSource,
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.registerCoalescedMMIO(CoalescedMMIOZone(address: 0x20000, size: 0x1000, pio: 2)) } }
        },
        ABICheck("coalesced.unregister_bad_pio", "KVM_UNREGISTER_COALESCED_MMIO with pio 2: EINVAL",
                 cite: "virt/kvm/coalesced_mmio.c kvm_vm_ioctl_unregister_coalesced_mmio", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.unregisterCoalescedMMIO(CoalescedMMIOZone(address: 0x20000, size: 0x1000, pio: 2)) } }
        },
        ABICheck("coalesced.unregister_none", "KVM_UNREGISTER_COALESCED_MMIO of a zone never registered: 0",
                 cite: "virt/kvm/coalesced_mmio.c kvm_vm_ioctl_unregister_coalesced_mmio (always 0)", expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.unregisterCoalescedMMIO(CoalescedMMIOZone(address: 0x20000, size: 0x1000)) } }
        },
        ABICheck("coalesced.mmio_write", "a byte written into an MMIO zone makes no exit (the HLT does) and is in the ring",
                 cite: "virt/kvm/coalesced_mmio.c coalesced_mmio_write", expect: .text("KVM_EXIT_HLT; 0x20010 len 1 pio 0 data 5a")) { h in
            coalescedGuest(h, writeSegment2000, [CoalescedMMIOZone(address: 0x20000, size: 0x1000)])
        },
        ABICheck("coalesced.read_exits", "a read inside the zone still exits with KVM_EXIT_MMIO (the ring is empty)",
                 cite: "virt/kvm/coalesced_mmio.c (the device has no read op)", expect: .text("KVM_EXIT_MMIO")) { h in
            coalescedGuest(h, readSegment2000, [CoalescedMMIOZone(address: 0x20000, size: 0x1000)])
        },
        ABICheck("coalesced.pio_write", "an OUT to a PIO zone makes no exit and is in the ring with pio 1",
                 cite: "virt/kvm/coalesced_mmio.c coalesced_mmio_write (dev->zone.pio)", expect: .text("KVM_EXIT_HLT; 0x10 len 1 pio 1 data 42")) { h in
            coalescedGuest(h, outByte, [CoalescedMMIOZone(address: 0x10, size: 1, pio: 1)])
        },
        ABICheck("coalesced.rep_outsb", "REP OUTSB of 3 bytes (1, 2, 3) to a PIO zone: no exit, three ring entries",
                 cite: "arch/x86/kvm/x86.c kernel_pio; virt/kvm/coalesced_mmio.c coalesced_mmio_write",
                 expect: .text("KVM_EXIT_HLT; 0x10 len 1 pio 1 data 1; 0x10 len 1 pio 1 data 2; 0x10 len 1 pio 1 data 3")) { h in
            // the bytes 1, 2, 3 at 1100H; mov si,1100h / mov cx,3 / mov dx,10h / rep outsb / hlt
            coalescedGuest(h, [0xBE, 0x00, 0x11, 0xB9, 0x03, 0x00, 0xBA, 0x10, 0x00, 0xF3, 0x6E, 0xF4], [CoalescedMMIOZone(address: 0x10, size: 1, pio: 1)],
                           prepare: [(0x1100, [1, 2, 3])])
        },
        ABICheck("coalesced.outside_zone", "a write just past the zone's end (zone 20000H-2000FH, write at 20010H) exits",
                 cite: "virt/kvm/coalesced_mmio.c coalesced_mmio_in_range", expect: .text("KVM_EXIT_MMIO")) { h in
            coalescedGuest(h, writeSegment2000, [CoalescedMMIOZone(address: 0x20000, size: 0x10)])
        },
        ABICheck("coalesced.unregistered", "after KVM_UNREGISTER_COALESCED_MMIO of a range inside the zone, the write exits",
                 cite: "virt/kvm/coalesced_mmio.c kvm_vm_ioctl_unregister_coalesced_mmio", expect: .text("KVM_EXIT_MMIO")) { h in
            coalescedGuest(h, writeSegment2000, [CoalescedMMIOZone(address: 0x20000, size: 0x1000)],
                           unregister: [CoalescedMMIOZone(address: 0x20010, size: 1)])
        },
        ABICheck("coalesced.unregister_larger", "KVM_UNREGISTER_COALESCED_MMIO of a range larger than the zone leaves it: the write is batched",
                 cite: "virt/kvm/coalesced_mmio.c kvm_vm_ioctl_unregister_coalesced_mmio (coalesced_mmio_in_range(dev, zone))",
                 expect: .text("KVM_EXIT_HLT; 0x20010 len 1 pio 0 data 5a")) { h in
            coalescedGuest(h, writeSegment2000, [CoalescedMMIOZone(address: 0x20000, size: 0x1000)],
                           unregister: [CoalescedMMIOZone(address: 0x10000, size: 0x100000)])
        },
        ABICheck("coalesced.ring_room", "REP STOSB of 120 bytes into a zone with the ring empty (first 0): how many KVM batches before the write that exits",
                 cite: "virt/kvm/coalesced_mmio.c coalesced_mmio_has_room ((first - last - 1) % KVM_COALESCED_MMIO_MAX in unsigned arithmetic: full at last 85)",
                 expect: .text("KVM_EXIT_MMIO 85")) { h in
            guest(h, stosb120, setup: { vm, _ throws(KVMError) in try vm.registerCoalescedMMIO(CoalescedMMIOZone(address: 0x20000, size: 0x1000)) }) { exit, vm, _ in
                .text("\(exit.name) \(vm.takeCoalescedMMIO().count)")
            }
        },
    ]
}
