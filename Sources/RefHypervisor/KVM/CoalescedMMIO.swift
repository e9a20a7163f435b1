import KVMABI

/// KVM_REGISTER/UNREGISTER_COALESCED_MMIO (Linux 6.1 virt/kvm/coalesced_mmio.c): zones on
/// the MMIO or PIO bus whose guest writes KVM appends to a ring (the page at
/// KVM_COALESCED_MMIO_PAGE_OFFSET of the vCPU mapping) instead of exiting; reads in a zone
/// still exit. The engine checks them where KVM's io bus sees a write (an OUT or an OUTS
/// element, an MMIO write), after its devices and ioeventfds.
final class CoalescedMMIO {
    struct Zone: Equatable { var address: UInt64; var size: UInt32; var pio: Bool }

    private(set) var zones: [Zone] = []
    var isEmpty: Bool { zones.isEmpty }
    /// Whether a PIO zone covers this port (for one byte; the size decides per write).
    func hasPIO(_ port: UInt64) -> Bool { zones.contains { $0.pio && Self.inRange($0, port, 1) } }
    /// The ring as KVM lays it out: `first` belongs to userspace, `last` to KVM.
    private var ring = [CoalescedMMIOEntry?](repeating: nil, count: CoalescedMMIOEntry.ringEntries)
    private var first: UInt32 = 0, last: UInt32 = 0

    /// NR_IOBUS_DEVS: non-ioeventfd devices one bus can hold.
    static let busDevices = 1000

    /// coalesced_mmio_in_range: the access lies inside the zone (no wrap).
    private static func inRange(_ z: Zone, _ address: UInt64, _ length: UInt64) -> Bool {
        if address &+ length < address { return false }
        return address >= z.address && address + length <= z.address + UInt64(z.size)
    }

    /// kvm_vm_ioctl_register_coalesced_mmio: pio must be 0 or 1; kvm_io_bus_register_dev
    /// refuses a full bus (ENOSPC), counting `kernelDevices` of KVM's own on it.
    func register(_ z: CoalescedMMIOZone, kernelDevices: Int) throws(KVMError) {
        let op = "KVM_REGISTER_COALESCED_MMIO"
        if z.pio > 1 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        let pio = z.pio == 1
        if zones.filter({ $0.pio == pio }).count + kernelDevices > Self.busDevices - 1 { throw KVMError(errno: Errno.ENOSPC, operation: op) }
        zones.append(Zone(address: z.address, size: z.size, pio: pio))
    }

    /// kvm_vm_ioctl_unregister_coalesced_mmio: removes every zone of that bus that contains
    /// the given range (coalesced_mmio_in_range with the zone as the device); always 0.
    func unregister(_ z: CoalescedMMIOZone) throws(KVMError) {
        if z.pio > 1 { throw KVMError(errno: Errno.EINVAL, operation: "KVM_UNREGISTER_COALESCED_MMIO") }
        let pio = z.pio == 1
        zones.removeAll { $0.pio == pio && Self.inRange($0, z.address, UInt64(z.size)) }
    }

    /// coalesced_mmio_write: true if a zone took the write into the ring. The room test is
    /// 6.1's, in unsigned 32-bit arithmetic: (first - last - 1) % KVM_COALESCED_MMIO_MAX == 0
    /// means full (with first 0 that happens at last 85, not 169).
    func write(pio: Bool, address: UInt64, size: Int, value: UInt64) -> Bool {
        guard zones.contains(where: { $0.pio == pio && Self.inRange($0, address, UInt64(size)) }) else { return false }
        let max = UInt32(CoalescedMMIOEntry.ringEntries)
        let insert = last
        if (first &- insert &- 1) % max == 0 || insert >= max { return false }
        ring[Int(insert)] = CoalescedMMIOEntry(physicalAddress: address, length: UInt32(size), pio: pio ? 1 : 0,
                                               data: (0..<size).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) })
        last = (insert + 1) % max
        return true
    }

    /// What a VMM reads from the ring page: first..last, then first = last.
    func take() -> [CoalescedMMIOEntry] {
        var out: [CoalescedMMIOEntry] = []
        let max = UInt32(CoalescedMMIOEntry.ringEntries)
        while first != last {
            if let e = ring[Int(first)] { out.append(e) }
            first = (first + 1) % max
        }
        return out
    }
}
