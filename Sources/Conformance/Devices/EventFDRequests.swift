import HostKVM
import KVMABI

/// Host request 0x13 (guests/README.md, "Eventfd requests"): KVM_IOEVENTFD, KVM_IRQFD and
/// KVM_(UN)REGISTER_COALESCED_MMIO between two instructions of the guest, on eventfds the
/// harness owns, and the harness's side of them: reading and signalling an eventfd,
/// draining the coalesced ring into guest RAM, and the number of exits so far (so that a
/// payload can tell that its writes made none).
///
/// The guest passes the GPA of a 40-byte block in its RAM:
///
///     +0  u32 op         1 KVM_IOEVENTFD, 2 KVM_IRQFD, 3 KVM_IRQFD deassign, 4 read and reset
///                        the eventfd's counter, 5 signal the eventfd (+1), 6 register a
///                        coalesced zone, 7 unregister it, 8 drain the ring, 9 exits so far
///     +4  u32 eventfd    0..7: the run's eventfds, made on first use
///     +8  u64 address    ioeventfd and zone: the port or GPA; drain: the GPA the entries go to
///     +16 u64 datamatch  ioeventfd: the value (with flag DATAMATCH)
///     +24 u32 length     ioeventfd: 0, 1, 2, 4 or 8; zone: its size; drain: room in entries
///     +28 u32 arg        ioeventfd: KVM's flags (1 DATAMATCH, 2 PIO, 4 DEASSIGN); irqfd: the
///                        GSI; zone: 1 for the PIO bus
///     +32 i64 result     written by the harness: 0 or -errno of the ioctl; the counter (4);
///                        entries written (8); exits (9)
///
/// A drained entry is KVM's `struct kvm_coalesced_mmio` (24 bytes: u64 phys_addr, u32 len,
/// u32 pio, u8 data[8]). What KVM accepted is kept, so a migration registers the same
/// ioeventfds, irqfds and zones on the new VM (KVM has no ioctl that reads them back); the
/// eventfds, being the VMM's, carry their counters over by themselves.
final class EventFDRequests {
    static let op: UInt32 = 0x13
    static let blockSize = 40
    static let eventFDs = 8
    static let entrySize = 24

    private var vm: any VirtualMachine
    private var ram: GuestMemory
    private var fds: [EventFD?] = Array(repeating: nil, count: eventFDs)
    private var ioeventfds: [IOEventFD] = []
    private var irqfds: [IRQFD] = []
    private var zones: [CoalescedMMIOZone] = []
    /// Ring entries taken off a VM that was migrated away, not yet drained by the guest.
    private var heldEntries: [CoalescedMMIOEntry] = []

    init(vm: any VirtualMachine, ram: GuestMemory) {
        self.vm = vm
        self.ram = ram
    }

    struct Refused: Error { let why: String }

    private func inRAM(_ gpa: UInt64, _ bytes: Int) -> Bool {
        gpa <= UInt64(ram.size) && UInt64(bytes) <= UInt64(ram.size) - gpa
    }

    private func eventFD(_ i: Int) throws(KVMError) -> EventFD {
        if let e = fds[i] { return e }
        let e = try EventFD()
        fds[i] = e
        return e
    }

    /// Carries out the request at `blockGPA` (`exits`: the run's exits so far); returns the
    /// trace note, or throws when the block itself is unusable (the run then ends).
    func handle(blockGPA: UInt64, exits: Int) throws(Refused) -> String {
        guard blockGPA % 8 == 0, inRAM(blockGPA, Self.blockSize) else {
            throw Refused(why: "eventfd request block at 0x\(String(blockGPA, radix: 16)) is not 8-aligned in RAM")
        }
        let b = ram.read(at: Int(blockGPA), count: Self.blockSize)
        let op = LittleEndian.u32(b, 0), index = Int(LittleEndian.u32(b, 4))
        let address = LittleEndian.u64(b, 8), datamatch = LittleEndian.u64(b, 16)
        let length = LittleEndian.u32(b, 24), arg = LittleEndian.u32(b, 28)
        guard index < Self.eventFDs else { throw Refused(why: "eventfd request: eventfd \(index) (0..7)") }
        var result: Int64 = 0
        let note: String
        do {
            switch op {
            case 1:
                let e = IOEventFD(address: address, length: length, fd: try eventFD(index).fd, flags: arg, datamatchValue: datamatch)
                try vm.ioeventfd(e)
                if arg & IOEventFD.deassign != 0 {
                    ioeventfds.removeAll { $0.address == address && $0.length == length && $0.flags == arg & ~IOEventFD.deassign }
                } else {
                    ioeventfds.append(e)
                }
                note = "KVM_IOEVENTFD \(arg & IOEventFD.pio != 0 ? "port" : "gpa") 0x\(String(address, radix: 16)) len \(length) flags 0x\(String(arg, radix: 16))"
            case 2, 3:
                var f = IRQFD(fd: try eventFD(index).fd, gsi: arg, flags: op == 3 ? IRQFD.deassign : 0)
                try vm.irqfd(f)
                if op == 3 { irqfds.removeAll { $0.fd == f.fd && $0.gsi == arg } } else { f.flags = 0; irqfds.append(f) }
                note = "KVM_IRQFD\(op == 3 ? " deassign" : "") gsi \(arg) eventfd \(index)"
            case 4:
                result = Int64(truncatingIfNeeded: try eventFD(index).take())
                note = "eventfd \(index) counter \(result)"
            case 5:
                try eventFD(index).signal()
                note = "eventfd \(index) signalled"
            case 6, 7:
                let z = CoalescedMMIOZone(address: address, size: length, pio: arg)
                if op == 6 { try vm.registerCoalescedMMIO(z); zones.append(z) }
                else {
                    // kvm_vm_ioctl_unregister_coalesced_mmio drops every zone of the same bus
                    // that contains the range given (coalesced_mmio_in_range).
                    try vm.unregisterCoalescedMMIO(z)
                    zones.removeAll { $0.pio == z.pio && z.size > 0 && z.address >= $0.address
                        && z.address &+ UInt64(z.size) <= $0.address &+ UInt64($0.size) }
                }
                note = "KVM_\(op == 6 ? "" : "UN")REGISTER_COALESCED_MMIO \(z.pio != 0 ? "port" : "gpa") 0x\(String(address, radix: 16)) size \(length)"
            case 8:
                let entries = heldEntries + vm.takeCoalescedMMIO()
                heldEntries = []
                guard inRAM(address, Int(length) * Self.entrySize) else {
                    throw Refused(why: "eventfd request: \(length) ring entries at 0x\(String(address, radix: 16)) are not in RAM")
                }
                let kept = entries.prefix(Int(length))
                for (i, e) in kept.enumerated() {
                    var bytes = LittleEndian.bytes(e.physicalAddress) + LittleEndian.bytes(e.length) + LittleEndian.bytes(e.pio)
                    bytes += e.data.prefix(8) + [UInt8](repeating: 0, count: 8 - min(8, e.data.count))
                    _ = ram.write(bytes, at: Int(address) + i * Self.entrySize)
                }
                result = Int64(kept.count)
                note = "coalesced ring: \(entries.count) entries, \(kept.count) written"
            case 9:
                result = Int64(exits)
                note = "exits so far \(exits)"
            default:
                throw Refused(why: "eventfd request: unknown op \(op)")
            }
        } catch let error as KVMError {
            result = -Int64(error.errno)
            note = "eventfd request op \(op): \(error)"
        } catch let error as Refused {
            throw error
        } catch {
            throw Refused(why: "eventfd request op \(op): \(error)")
        }
        _ = ram.write(LittleEndian.bytes(UInt64(bitPattern: result)), at: Int(blockGPA) + 32)
        return note
    }

    /// Before a migration builds the new VM: keep what the old one's ring holds, and take
    /// the irqfds off it. Newer kernels let an eventfd drive the irqfd of one VM only
    /// (irqfd_register: add_wait_queue_priority_exclusive, -EBUSY; kvm_pvm has it), while
    /// Linux 6.1's kvm_irqfd_assign looks at the one VM's list alone.
    func detach() {
        heldEntries += vm.takeCoalescedMMIO()
        for f in irqfds { try? vm.irqfd(IRQFD(fd: f.fd, gsi: f.gsi, flags: IRQFD.deassign)) }
    }

    /// After a migration: the same ioeventfds, irqfds and zones on `next`.
    func apply(to next: any VirtualMachine, ram newRAM: GuestMemory) throws(KVMError) {
        vm = next
        ram = newRAM
        for e in ioeventfds { try next.ioeventfd(e) }
        for f in irqfds { try next.irqfd(f) }
        for z in zones { try next.registerCoalescedMMIO(z) }
    }
}
