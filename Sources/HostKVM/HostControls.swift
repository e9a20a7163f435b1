import CKVM
import KVMABI

// KVM_ENABLE_CAP, the MSR filter, KVM_CLEAR_DIRTY_LOG, KVM_IRQ_LINE_STATUS, the PMU event
// filter, device attributes and the completion of MSR and hypercall exits, over /dev/kvm.

/// struct kvm_device_attr for `a`, with `addr` pointing at `value`, handed to `body`.
private func withDeviceAttr(_ a: DeviceAttribute, _ value: inout UInt64,
                            _ body: (UnsafePointer<kvm_device_attr>) -> Int32) -> Int32 {
    withUnsafeMutablePointer(to: &value) { v in
        var attr = kvm_device_attr()
        attr.flags = a.flags
        attr.group = a.group
        attr.attr = a.attribute
        attr.addr = UInt64(UInt(bitPattern: v))
        return body(&attr)
    }
}

private func hasAttribute(_ fd: Int32, _ a: DeviceAttribute) throws(KVMError) {
    var v: UInt64 = 0
    try check(withDeviceAttr(a, &v) { ckvm_has_device_attr(fd, $0) }, "KVM_HAS_DEVICE_ATTR")
}

private func getAttribute(_ fd: Int32, _ a: DeviceAttribute) throws(KVMError) -> UInt64 {
    var v: UInt64 = 0
    try check(withDeviceAttr(a, &v) { ckvm_get_device_attr(fd, $0) }, "KVM_GET_DEVICE_ATTR")
    return v
}

private func enable(_ fd: Int32, _ cap: EnableCap) throws(KVMError) {
    var c = kvm_enable_cap()
    c.cap = UInt32(bitPattern: cap.capability.rawValue)
    c.flags = cap.flags
    c.args = (cap.args[0], cap.args[1], cap.args[2], cap.args[3])
    try check(ckvm_enable_cap(fd, &c), "KVM_ENABLE_CAP")
}

extension HostHypervisor {
    public func hasDeviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) { try hasAttribute(fd, attribute) }
    public func deviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) -> UInt64 { try getAttribute(fd, attribute) }
}

extension HostVM {
    public func enableCap(_ cap: EnableCap) throws(KVMError) { try enable(fd, cap) }

    public func setMSRFilter(_ filter: MSRFilter) throws(KVMError) {
        // More ranges than struct kvm_msr_filter holds cannot be expressed: the caller's error.
        guard filter.ranges.count <= MSRFilter.maximumRanges else {
            throw KVMError(errno: Errno.EINVAL, operation: "KVM_X86_SET_MSR_FILTER (more than 16 ranges)")
        }
        // The bitmaps must outlive the ioctl: one buffer each, as long as KVM reads for the
        // sizes it accepts (it refuses a larger one before reading it).
        let bitmaps = filter.ranges.map { $0.kernelBitmap + [0] }
        var r: Int32 = 0
        var f = kvm_msr_filter()
        f.flags = filter.flags
        var pointers: [UnsafeMutablePointer<UInt8>] = []
        defer { pointers.forEach { $0.deallocate() } }
        for b in bitmaps {
            let p = UnsafeMutablePointer<UInt8>.allocate(capacity: b.count)
            p.initialize(from: b, count: b.count)
            pointers.append(p)
        }
        withUnsafeMutableBytes(of: &f.ranges) { raw in
            let ranges = raw.bindMemory(to: kvm_msr_filter_range.self)
            for (i, range) in filter.ranges.enumerated() {
                ranges[i].flags = range.flags
                ranges[i].base = range.base
                ranges[i].nmsrs = range.nmsrs
                ranges[i].bitmap = pointers[i]
            }
        }
        r = ckvm_set_msr_filter(fd, &f)
        try check(r, "KVM_X86_SET_MSR_FILTER")
    }

    public func clearDirtyLog(slot: UInt32, firstPage: UInt64, numPages: UInt32, bitmap: [UInt64]) throws(KVMError) {
        // KVM reads ALIGN(num_pages, 64) / 8 bytes: pad the caller's words to that.
        let words = Int((UInt64(numPages) + 63) / 64)
        var b = bitmap + [UInt64](repeating: 0, count: max(0, words - bitmap.count))
        let r = b.withUnsafeMutableBytes { buf -> Int32 in
            var log = kvm_clear_dirty_log()
            log.slot = slot
            log.num_pages = numPages
            log.first_page = firstPage
            log.dirty_bitmap = buf.baseAddress
            return ckvm_clear_dirty_log(fd, &log)
        }
        try check(r, "KVM_CLEAR_DIRTY_LOG")
    }

    public func irqLineStatus(_ gsi: UInt32, level: Bool) throws(KVMError) -> Int32 {
        var l = kvm_irq_level()
        l.irq = gsi
        l.level = level ? 1 : 0
        try check(ckvm_irq_line_status(fd, &l), "KVM_IRQ_LINE_STATUS")
        return l.status
    }

    public func setTSCKHz(_ khz: UInt32) throws(KVMError) {
        try check(ckvm_set_tsc_khz(fd, UInt(khz)), "KVM_SET_TSC_KHZ (VM)")
    }

    public func setPMUEventFilter(_ filter: PMUEventFilter) throws(KVMError) {
        let r = filter.events.withUnsafeBufferPointer { e in
            ckvm_set_pmu_event_filter(fd, filter.action, filter.fixedCounterBitmap, filter.flags,
                                      UInt32(clamping: filter.events.count), e.baseAddress)
        }
        try check(r, "KVM_SET_PMU_EVENT_FILTER")
    }
}

extension HostVCPU {
    public func enableCap(_ cap: EnableCap) throws(KVMError) { try enable(fd, cap) }
    public func hasDeviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) { try hasAttribute(fd, attribute) }
    public func deviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) -> UInt64 { try getAttribute(fd, attribute) }
    public func setDeviceAttribute(_ attribute: DeviceAttribute, value: UInt64) throws(KVMError) {
        var v = value
        try check(withDeviceAttr(attribute, &v) { ckvm_set_device_attr(fd, $0) }, "KVM_SET_DEVICE_ATTR")
    }

    public func setTSCKHz(_ khz: UInt32) throws(KVMError) {
        try check(ckvm_set_tsc_khz(fd, UInt(khz)), "KVM_SET_TSC_KHZ")
    }

    public func setMCE(_ mce: MachineCheckEvent) throws(KVMError) {
        var m = kvm_x86_mce()
        m.status = mce.status; m.addr = mce.addr; m.misc = mce.misc; m.mcg_status = mce.mcgStatus; m.bank = mce.bank
        try check(ckvm_set_mce(fd, &m), "KVM_X86_SET_MCE")
    }

    public func completeMSR(error: Bool, data: UInt64) {
        run.pointee.msr.error = error ? 1 : 0
        run.pointee.msr.data = data
    }

    public func completeHypercall(ret: UInt64) {
        run.pointee.hypercall.ret = ret
    }
}

extension HostVM {
    public func ioeventfd(_ e: IOEventFD) throws(KVMError) {
        var a = kvm_ioeventfd()
        a.datamatch = e.datamatchValue
        a.addr = e.address
        a.len = e.length
        a.fd = e.fd
        a.flags = e.flags
        try check(ckvm_ioeventfd(fd, &a), "KVM_IOEVENTFD")
    }

    public func registerCoalescedMMIO(_ zone: CoalescedMMIOZone) throws(KVMError) {
        var z = kvm_coalesced_mmio_zone()
        z.addr = zone.address; z.size = zone.size; z.pio = zone.pio
        try check(ckvm_register_coalesced_mmio(fd, &z), "KVM_REGISTER_COALESCED_MMIO")
    }

    public func unregisterCoalescedMMIO(_ zone: CoalescedMMIOZone) throws(KVMError) {
        var z = kvm_coalesced_mmio_zone()
        z.addr = zone.address; z.size = zone.size; z.pio = zone.pio
        try check(ckvm_unregister_coalesced_mmio(fd, &z), "KVM_UNREGISTER_COALESCED_MMIO")
    }

    public func takeCoalescedMMIO() -> [CoalescedMMIOEntry] {
        // The ring page sits KVM_COALESCED_MMIO_PAGE_OFFSET pages into every vCPU's mapping
        // (kvm_vcpu_fault); the mapping covers it when KVM_GET_VCPU_MMAP_SIZE says so.
        let page = 4096
        guard let v = vcpus.first, v.mmapSize >= (Int(KVM_COALESCED_MMIO_PAGE_OFFSET) + 1) * page else { return [] }
        let ring = ckvm_coalesced_ring(v.run, page)!
        let max = UInt32(CoalescedMMIOEntry.ringEntries)
        // KVM writes `last`; userspace owns `first`. Both are bounded here before use.
        var first = ring.pointee.first % max
        let last = ring.pointee.last % max
        var out: [CoalescedMMIOEntry] = []
        // Safety: the ring page is mapped for as long as the vCPU is (it is in `vcpus`), and
        // the flexible array has KVM_COALESCED_MMIO_MAX entries within that page.
        let entries = UnsafeMutableRawPointer(ring).advanced(by: 8).assumingMemoryBound(to: kvm_coalesced_mmio.self)
        while first != last {
            let e = entries[Int(first)]
            let len = min(Int(e.len), 8)
            let data = withUnsafeBytes(of: e.data) { Array($0.prefix(len)) }
            out.append(CoalescedMMIOEntry(physicalAddress: e.phys_addr, length: e.len, pio: e.pio, data: data))
            first = (first + 1) % max
        }
        ring.pointee.first = first
        return out
    }

    public func irqfd(_ f: IRQFD) throws(KVMError) {
        var a = kvm_irqfd()
        a.fd = UInt32(bitPattern: f.fd)
        a.gsi = f.gsi
        a.flags = f.flags
        a.resamplefd = UInt32(bitPattern: f.resampleFD)
        try check(ckvm_irqfd(fd, &a), "KVM_IRQFD")
    }

    public func setGSIRouting(_ routes: [GSIRoute], count: UInt32, flags: UInt32) throws(KVMError) {
        let entries = routes.map { route -> kvm_irq_routing_entry in
            var e = kvm_irq_routing_entry()
            e.gsi = route.gsi
            e.flags = route.flags
            switch route.target {
            case .irqchip(let chip, let pin):
                e.type = 1
                e.u.irqchip.irqchip = chip
                e.u.irqchip.pin = pin
            case .msi(let address, let data, let devid):
                e.type = 2
                e.u.msi.address_lo = UInt32(truncatingIfNeeded: address)
                e.u.msi.address_hi = UInt32(truncatingIfNeeded: address >> 32)
                e.u.msi.data = data
                e.u.msi.devid = devid
            case .other(let type):
                e.type = type
            }
            return e
        }
        let r = entries.withUnsafeBufferPointer { b in
            ckvm_set_gsi_routing(fd, count, flags, b.baseAddress, UInt32(clamping: b.count))
        }
        try check(r, "KVM_SET_GSI_ROUTING")
    }
}

/// An eventfd (non-blocking, close-on-exec) to hand to KVM_IOEVENTFD; `take()` reads and
/// resets its counter. Closed when released.
public final class EventFD {
    public let fd: Int32
    public init() throws(KVMError) {
        let r = ckvm_eventfd()
        guard r >= 0 else { throw KVMError(errno: -r, operation: "eventfd") }
        fd = r
    }
    deinit { _ = ckvm_close(fd) }
    /// Adds 1 to the counter, as a device signalling it would.
    public func signal() { _ = ckvm_eventfd_signal(fd) }

    /// The counter since the last take (0 if nothing was signalled).
    public func take() -> UInt64 {
        let v = ckvm_eventfd_take(fd)
        return v < 0 ? 0 : UInt64(v)
    }
}
