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
