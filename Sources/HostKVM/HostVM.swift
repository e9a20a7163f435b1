import CKVM
import KVMABI

/// A VM fd. Owns its vCPUs and the guest memory it allocated; `close()` releases all of
/// them, in the order KVM needs (vCPUs and their kvm_run mappings first, then the VM fd,
/// then the memory the slots pointed at).
public final class HostVM: VirtualMachine {
    /// KVM runs each vCPU on the thread that calls KVM_RUN on it.
    public var runsVCPUsConcurrently: Bool { true }
    let fd: Int32
    let hypervisor: HostHypervisor
    private(set) var vcpus: [HostVCPU] = []
    private var memories: [GuestMemory] = []
    /// The size of every slot this VM set (slot id with its address space in bits 16-31),
    /// so KVM_GET_DIRTY_LOG gets a bitmap of exactly the size KVM writes.
    private var slotSizes: [UInt32: UInt64] = [:]
    private var closed = false

    init(fd: Int32, hypervisor: HostHypervisor) {
        self.fd = fd
        self.hypervisor = hypervisor
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        for v in vcpus { v.close() }
        vcpus.removeAll()
        _ = ckvm_close(fd)
        for m in memories { m.release() }
        memories.removeAll()
    }

    public func allocateGuestMemory(size: Int) throws(KVMError) -> GuestMemory {
        let m = try GuestMemory(size: size)
        memories.append(m)
        return m
    }

    public func setUserMemoryRegion(_ region: MemoryRegion) throws(KVMError) {
        var r = kvm_userspace_memory_region(slot: region.slot, flags: region.flags.rawValue,
                                            guest_phys_addr: region.guestPhysicalAddress,
                                            memory_size: region.memorySize, userspace_addr: region.userspaceAddress)
        try check(ckvm_set_user_memory_region(fd, &r), "KVM_SET_USER_MEMORY_REGION")
        if region.memorySize == 0 { slotSizes[region.slot] = nil } else { slotSizes[region.slot] = region.memorySize }
    }

    /// 64-bit words KVM writes for a slot of `bytes`: one bit per 4 KiB page, rounded up to
    /// whole longs (Linux 6.1 include/linux/kvm_host.h kvm_dirty_bitmap_bytes:
    /// ALIGN(npages, BITS_PER_LONG) / 8). At least one word, for a slot KVM will refuse.
    public static func dirtyBitmapWords(slotBytes bytes: UInt64) -> Int {
        let pages = (bytes + 4095) / 4096
        return max(1, Int((pages + 63) / 64))
    }

    public func createVCPU(id: UInt32) throws(KVMError) -> any VirtualCPU { try createHostVCPU(id: id) }

    public func createHostVCPU(id: UInt32) throws(KVMError) -> HostVCPU {
        let r = ckvm_create_vcpu(fd, UInt(id))
        try check(r, "KVM_CREATE_VCPU")
        do {
            let v = try HostVCPU(fd: r, id: id, mmapSize: hypervisor.vcpuMmapSize)
            vcpus.append(v)
            return v
        } catch {
            _ = ckvm_close(r)
            throw error
        }
    }

    public func createIRQChip() throws(KVMError) { try check(ckvm_create_irqchip(fd), "KVM_CREATE_IRQCHIP") }

    public func createPIT2() throws(KVMError) {
        var config = kvm_pit_config()
        try check(ckvm_create_pit2(fd, &config), "KVM_CREATE_PIT2")
    }

    public func irqLine(_ gsi: UInt32, level: Bool) throws(KVMError) {
        var l = kvm_irq_level()
        l.irq = gsi
        l.level = level ? 1 : 0
        try check(ckvm_irq_line(fd, &l), "KVM_IRQ_LINE")
    }

    public func signalMSI(address: UInt64, data: UInt32) throws(KVMError) -> Int32 {
        var m = kvm_msi()
        m.address_lo = UInt32(truncatingIfNeeded: address)
        m.address_hi = UInt32(truncatingIfNeeded: address >> 32)
        m.data = data
        let r = ckvm_signal_msi(fd, &m)
        try check(r, "KVM_SIGNAL_MSI")
        return r
    }

    public func dirtyLog(slot: UInt32) throws(KVMError) -> [UInt64] {
        // KVM writes kvm_dirty_bitmap_bytes(memslot) into the buffer: sized from the slot
        // (a fixed buffer was written past for any logging slot over 1 GiB). A slot this VM
        // never set does not exist, and KVM refuses it (ENOENT) before writing anything.
        var bitmap = [UInt64](repeating: 0, count: Self.dirtyBitmapWords(slotBytes: slotSizes[slot] ?? 0))
        let r = bitmap.withUnsafeMutableBytes { buf -> Int32 in
            var log = kvm_dirty_log()
            log.slot = slot
            log.dirty_bitmap = buf.baseAddress
            return ckvm_get_dirty_log(fd, &log)
        }
        try check(r, "KVM_GET_DIRTY_LOG")
        return bitmap
    }

    public func checkExtension(_ capability: Capability) -> Int32 {
        max(0, ckvm_check_extension(fd, Int(capability.rawValue)))
    }

    public func statistics() throws(KVMError) -> Statistics {
        try StatsReader.read(ownerFD: fd, operation: "KVM_GET_STATS_FD (VM)")
    }

    /// KVM_SET_TSS_ADDR: VMX needs three pages for real-mode emulation on old CPUs.
    public func setTSSAddress(_ address: UInt64) throws(KVMError) {
        try check(ckvm_set_tss_addr(fd, UInt(truncatingIfNeeded: address)), "KVM_SET_TSS_ADDR")
    }
    public func setIdentityMapAddress(_ address: UInt64) throws(KVMError) {
        try check(ckvm_set_identity_map_addr(fd, address), "KVM_SET_IDENTITY_MAP_ADDR")
    }
    public func setBootCPUID(_ id: UInt32) throws(KVMError) {
        try check(ckvm_set_boot_cpu_id(fd, UInt(id)), "KVM_SET_BOOT_CPU_ID")
    }
    public func tscKHz() throws(KVMError) -> UInt32 {
        let r = ckvm_get_tsc_khz(fd)
        try check(r, "KVM_GET_TSC_KHZ (VM)")
        return UInt32(r)
    }
    public func createPIT() throws(KVMError) { try check(ckvm_create_pit(fd), "KVM_CREATE_PIT") }
    public func pit2() throws(KVMError) -> PITState2 {
        var s = kvm_pit_state2()
        try check(ckvm_get_pit2(fd, &s), "KVM_GET_PIT2")
        var st = PITState2()
        st.channels = [PITChannelState(s.channels.0), PITChannelState(s.channels.1), PITChannelState(s.channels.2)]
        st.flags = s.flags
        return st
    }
    public func setPIT2(_ state: PITState2) throws(KVMError) {
        var s = kvm_pit_state2()
        let ch = state.channels + [PITChannelState](repeating: PITChannelState(), count: 3)
        s.channels = (ch[0].c, ch[1].c, ch[2].c)
        s.flags = state.flags
        try check(ckvm_set_pit2(fd, &s), "KVM_SET_PIT2")
    }
    public func pit() throws(KVMError) -> [PITChannelState] {
        var s = kvm_pit_state()
        try check(ckvm_get_pit(fd, &s), "KVM_GET_PIT")
        return [PITChannelState(s.channels.0), PITChannelState(s.channels.1), PITChannelState(s.channels.2)]
    }
    public func setPIT(_ channels: [PITChannelState]) throws(KVMError) {
        var s = kvm_pit_state()
        let ch = channels + [PITChannelState](repeating: PITChannelState(), count: 3)
        s.channels = (ch[0].c, ch[1].c, ch[2].c)
        try check(ckvm_set_pit(fd, &s), "KVM_SET_PIT")
    }
    public func irqchip(_ chipID: UInt32) throws(KVMError) -> IRQChipState {
        var c = kvm_irqchip()
        c.chip_id = chipID
        try check(ckvm_get_irqchip(fd, &c), "KVM_GET_IRQCHIP")
        switch chipID {
        case 0, 1:
            var p = PICState()
            p.bytes = withUnsafeBytes(of: &c.chip.pic) { Array($0.prefix(16)) }
            return chipID == 0 ? .picMaster(p) : .picSlave(p)
        default:
            var s = c.chip.ioapic
            var st = IOAPICState()
            st.baseAddress = s.base_address; st.ioregsel = s.ioregsel; st.id = s.id; st.irr = s.irr
            // redirtbl[24] (unions of u64) follows base_address, ioregsel, id, irr and pad.
            st.redirection = withUnsafeBytes(of: &s) { raw in (0..<24).map { raw.load(fromByteOffset: 24 + 8 * $0, as: UInt64.self) } }
            return .ioapic(st)
        }
    }
    public func setIRQChip(_ state: IRQChipState) throws(KVMError) {
        var c = kvm_irqchip()
        c.chip_id = state.chipID
        switch state {
        case .picMaster(let p), .picSlave(let p):
            withUnsafeMutableBytes(of: &c.chip.pic) { dst in p.bytes.withUnsafeBytes { dst.copyMemory(from: $0) } }
        case .ioapic(let st):
            c.chip.ioapic.base_address = st.baseAddress; c.chip.ioapic.ioregsel = st.ioregsel
            c.chip.ioapic.id = st.id; c.chip.ioapic.irr = st.irr
            withUnsafeMutableBytes(of: &c.chip.ioapic) { raw in
                for (i, v) in st.redirection.prefix(24).enumerated() { raw.storeBytes(of: v, toByteOffset: 24 + 8 * i, as: UInt64.self) }
            }
        }
        try check(ckvm_set_irqchip(fd, &c), "KVM_SET_IRQCHIP")
    }
    public func setPITReinject(_ reinject: Bool) throws(KVMError) {
        var c = kvm_reinject_control()
        c.pit_reinject = reinject ? 1 : 0
        try check(ckvm_reinject_control(fd, &c), "KVM_REINJECT_CONTROL")
    }
    public func nrMMUPages() throws(KVMError) -> Int {
        let r = ckvm_get_nr_mmu_pages(fd)
        try check(r, "KVM_GET_NR_MMU_PAGES")
        return Int(r)
    }
    public func setNrMMUPages(_ pages: Int) throws(KVMError) {
        try check(ckvm_set_nr_mmu_pages(fd, UInt(max(0, pages))), "KVM_SET_NR_MMU_PAGES")
    }
    public func clock() throws(KVMError) -> ClockData {
        var d = kvm_clock_data()
        try check(ckvm_get_clock(fd, &d), "KVM_GET_CLOCK")
        return ClockData(clock: d.clock, flags: d.flags, realtime: d.realtime, hostTSC: d.host_tsc)
    }
    public func setClock(_ data: ClockData) throws(KVMError) {
        var d = kvm_clock_data()
        d.clock = data.clock; d.flags = data.flags; d.realtime = data.realtime; d.host_tsc = data.hostTSC
        try check(ckvm_set_clock(fd, &d), "KVM_SET_CLOCK")
    }
}

@inline(__always)
func check(_ r: Int32, _ operation: @autoclosure () -> String) throws(KVMError) {
    if r < 0 { throw KVMError(errno: -r, operation: operation()) }
}
