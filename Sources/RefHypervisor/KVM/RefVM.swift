import KVMABI

/// The VM fd: memory slots (the EPT), vCPUs, the in-kernel irqchip and PIT.
public final class RefVM: VirtualMachine {
    /// One vCPU at a time, on the caller's thread: the engine is deterministic.
    public var runsVCPUsConcurrently: Bool { false }
    let memory = GuestPhysicalMemory()
    var vcpus: [RefVCPU] = []
    var chip: IRQChip?
    private var closed = false
    let injectedFaults: Set<InjectedFault>
    /// The VM's time: the furthest any vCPU's virtual clock has got (VMClock).
    let virtualClock = VMClock()
    /// KVM_SET_BOOT_CPU_ID (kvm->arch.bsp_vcpu_id): the vCPU id that is the BSP.
    var bootCPUID: UInt32 = 0
    /// KVM_ENABLE_CAP and KVM_X86_SET_MSR_FILTER state the vCPUs consult (RefVM+Controls.swift).
    let controls = VMControls()
    /// kvm->max_halt_poll_ns as KVM_CAP_HALT_POLL set it (kept; the engine never polls).
    var maxHaltPollNs: UInt32 = 0
    /// kvm->arch.max_vcpu_ids: 0 until KVM_CAP_MAX_VCPU_ID or the first KVM_CREATE_VCPU.
    var maxVCPUIDs: UInt64 = 0
    /// KVM_SET_PMU_EVENT_FILTER's last filter, events sorted as KVM keeps them.
    var pmuEventFilter: PMUEventFilter?
    /// kvm->arch.default_tsc_khz: the TSC rate each new vCPU gets (kvm_arch_vcpu_create).
    var defaultTSCKHz: UInt32 = TSCScaling.hostKHz

    init(injectedFaults: Set<InjectedFault> = []) { self.injectedFaults = injectedFaults }

    deinit { close() }

    public func allocateGuestMemory(size: Int) throws(KVMError) -> GuestMemory {
        let m = try GuestMemory(size: size)
        memory.allocations.append(m)
        return m
    }

    public func setUserMemoryRegion(_ region: MemoryRegion) throws(KVMError) {
        let existed = memory.slots.contains { $0.id == region.slot }
        try memory.setRegion(region)
        let exists = memory.slots.contains { $0.id == region.slot }
        // kvm_arch_commit_memory_region: a created or deleted slot recomputes the MMU page
        // budget unless userspace set one.
        if nRequestedMMUPages == 0 && existed != exists {
            let pages = memory.slots.reduce(0) { $0 + Int($1.size / 4096) }
            nMaxMMUPages = max(pages / 50, 64)
        }
    }

    public func createVCPU(id: UInt32) throws(KVMError) -> any VirtualCPU {
        let op = "KVM_CREATE_VCPU"
        // kvm_vm_ioctl_create_vcpu: id >= KVM_MAX_VCPU_IDS (4096 = 1024 * KVM_VCPU_ID_RATIO)
        // -> EINVAL, online >= KVM_MAX_VCPUS (1024) -> EINVAL, duplicate id -> EEXIST.
        if UInt64(id) >= Self.maximumVCPUIDs || vcpus.count >= 1024 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        // kvm_arch_vcpu_precreate: the first creation fixes max_vcpu_ids (KVM_CAP_MAX_VCPU_ID).
        if maxVCPUIDs == 0 { maxVCPUIDs = Self.maximumVCPUIDs }
        if UInt64(id) >= maxVCPUIDs { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if vcpus.contains(where: { $0.id == id }) { throw KVMError(errno: Errno.EEXIST, operation: op) }
        if let chip, vcpus.count >= chip.router.lapics.count {
            chip.router.lapics.append(LocalAPIC(vcpuIndex: vcpus.count, router: chip.router))
        }
        let v = RefVCPU(vm: self, id: id, index: vcpus.count)
        // kvm_arch_vcpu_create: kvm_set_tsc_khz(vcpu, kvm->arch.default_tsc_khz).
        v.applyTSCKHz(defaultTSCKHz)
        vcpus.append(v)
        return v
    }

    public func createIRQChip() throws(KVMError) {
        let op = "KVM_CREATE_IRQCHIP"
        // kvm_arch_vm_ioctl: irqchip already there -> EEXIST; vCPUs already created -> EINVAL.
        if chip != nil { throw KVMError(errno: Errno.EEXIST, operation: op) }
        if !vcpus.isEmpty { throw KVMError(errno: Errno.EINVAL, operation: op) }
        let c = IRQChip(vcpuCount: 1)
        chip = c
        controls.irqfds.chip = c
        c.router.irqfds = controls.irqfds
    }

    public func createPIT2() throws(KVMError) {
        let op = "KVM_CREATE_PIT2"
        // kvm_arch_vm_ioctl(KVM_CREATE_PIT2): EEXIST if a PIT exists, ENOENT without the PIC.
        guard let chip else { throw KVMError(errno: Errno.ENOENT, operation: op) }
        if chip.pitCreated { throw KVMError(errno: Errno.EEXIST, operation: op) }
        chip.createPIT()
    }

    var now: UInt64 { max(virtualClock.now, vcpus.first?.cpu.now ?? 0) }

    public func irqLine(_ gsi: UInt32, level: Bool) throws(KVMError) {
        guard let chip else { throw KVMError(errno: Errno.ENXIO, operation: "KVM_IRQ_LINE") }
        chip.setIRQLine(gsi: gsi, level: level, now: now)
        for v in vcpus { v.cpu.eventCheck = true }
    }

    public func signalMSI(address: UInt64, data: UInt32) throws(KVMError) -> Int32 {
        // kvm_send_userspace_msi: EINVAL without an in-kernel irqchip.
        guard let chip else { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SIGNAL_MSI") }
        // kvm_vm_ioctl returns kvm_send_userspace_msi's value: the number of LAPICs that
        // accepted; with no vCPU there is no APIC map and the slow path's -1 comes back,
        // which userspace sees as -1 with EPERM.
        if vcpus.isEmpty { throw KVMError(errno: Errno.EPERM, operation: "KVM_SIGNAL_MSI") }
        let r = chip.signalMSI(address: address, data: data, now: now)
        for v in vcpus { v.cpu.eventCheck = true }
        return Int32(r)
    }

    public func dirtyLog(slot: UInt32) throws(KVMError) -> [UInt64] {
        try memory.takeDirtyLog(slot: slot)
    }

    public func checkExtension(_ capability: Capability) -> Int32 {
        RefHypervisor.capability(capability)
    }

    /// kvm_vm_ioctl_set_tss_addr: above 4 GiB - 3 pages EINVAL; vmx_set_tss_addr then has
    /// nothing to do with unrestricted guest, which this engine is.
    public func setTSSAddress(_ address: UInt64) throws(KVMError) {
        if address > UInt64(UInt32(truncatingIfNeeded: -3 * 4096)) { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_TSS_ADDR") }
    }

    /// kvm_arch_vm_ioctl(KVM_SET_IDENTITY_MAP_ADDR): EINVAL once a vCPU exists; the page is
    /// VMX's and unused with unrestricted guest.
    public func setIdentityMapAddress(_ address: UInt64) throws(KVMError) {
        if !vcpus.isEmpty { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_IDENTITY_MAP_ADDR") }
    }

    /// kvm_arch_vm_ioctl(KVM_SET_BOOT_CPU_ID): EBUSY once a vCPU exists.
    public func setBootCPUID(_ id: UInt32) throws(KVMError) {
        if !vcpus.isEmpty { throw KVMError(errno: Errno.EBUSY, operation: "KVM_SET_BOOT_CPU_ID") }
        bootCPUID = id
    }

    /// KVM_GET_TSC_KHZ on the VM (kvm->arch.default_tsc_khz): the host's 1 GHz until
    /// KVM_SET_TSC_KHZ.
    public func tscKHz() throws(KVMError) -> UInt32 { defaultTSCKHz }

    /// KVM_SET_TSC_KHZ on the VM (kvm_arch_vm_ioctl): the rate of vCPUs created later;
    /// EINVAL at or above kvm_caps.max_guest_tsc_khz, 0 for the host's.
    public func setTSCKHz(_ khz: UInt32) throws(KVMError) {
        if khz >= TSCScaling.maximumGuestKHz { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_TSC_KHZ (VM)") }
        defaultTSCKHz = khz == 0 ? TSCScaling.hostKHz : khz
    }

    /// kvm_vm_ioctl_get_irqchip: ENXIO without the in-kernel irqchip, EINVAL for a chip id
    /// other than 0-2.
    public func irqchip(_ chipID: UInt32) throws(KVMError) -> IRQChipState {
        guard let chip else { throw KVMError(errno: Errno.ENXIO, operation: "KVM_GET_IRQCHIP") }
        controls.irqfds.poll(now: now)     // irqfd injections land before anyone looks
        guard let s = chip.chipState(chipID, now: now) else { throw KVMError(errno: Errno.EINVAL, operation: "KVM_GET_IRQCHIP") }
        return s
    }

    /// kvm_vm_ioctl_set_irqchip: ENXIO without the in-kernel irqchip; the vCPUs look at
    /// interrupts again afterwards (kvm_pic_update_irq, kvm_set_ioapic).
    public func setIRQChip(_ state: IRQChipState) throws(KVMError) {
        guard let chip else { throw KVMError(errno: Errno.ENXIO, operation: "KVM_SET_IRQCHIP") }
        chip.setChipState(state, now: now)
        for v in vcpus { v.cpu.eventCheck = true }
    }

    /// kvm_arch_vm_ioctl(KVM_GET_PIT2 / KVM_SET_PIT2 / KVM_GET_PIT / KVM_SET_PIT): ENXIO
    /// without a PIT.
    private func pitChip(_ op: String) throws(KVMError) -> IRQChip {
        guard let chip, chip.pitCreated else { throw KVMError(errno: Errno.ENXIO, operation: op) }
        return chip
    }

    public func pit2() throws(KVMError) -> PITState2 { try pitChip("KVM_GET_PIT2").pitState(now: now) }

    public func setPIT2(_ state: PITState2) throws(KVMError) {
        try pitChip("KVM_SET_PIT2").setPITState(state.channels, flags: state.flags, now: now)
        for v in vcpus { v.cpu.eventCheck = true }
    }

    public func pit() throws(KVMError) -> [PITChannelState] { try pitChip("KVM_GET_PIT").pitState(now: now).channels }

    public func setPIT(_ channels: [PITChannelState]) throws(KVMError) {
        try pitChip("KVM_SET_PIT").setPITState(channels, flags: nil, now: now)
        for v in vcpus { v.cpu.eventCheck = true }
    }

    /// KVM_CREATE_PIT: KVM_CREATE_PIT2 with KVM_PIT_SPEAKER_DUMMY (kvm_arch_vm_ioctl).
    public func createPIT() throws(KVMError) {
        let op = "KVM_CREATE_PIT"
        guard let chip else { throw KVMError(errno: Errno.ENOENT, operation: op) }
        if chip.pitCreated { throw KVMError(errno: Errno.EEXIST, operation: op) }
        chip.createPIT(speakerDummy: true)
    }

    /// KVM_REINJECT_CONTROL: ENXIO without a PIT (kvm_vm_ioctl_reinject).
    public func setPITReinject(_ reinject: Bool) throws(KVMError) {
        guard let chip, chip.pitCreated else { throw KVMError(errno: Errno.ENXIO, operation: "KVM_REINJECT_CONTROL") }
        chip.setPITReinject(reinject)
    }

    /// kvm->arch.n_max_mmu_pages: set by KVM_SET_NR_MMU_PAGES (at least KVM_MIN_ALLOC_MMU_PAGES,
    /// 64), else recomputed when a slot is created or deleted as the slots' pages / 50, at
    /// least 64 (kvm_arch_commit_memory_region); 0 before any slot. The engine has no shadow
    /// MMU for it to bound (EPT), as KVM on EPT hardly uses it.
    var nMaxMMUPages = 0
    var nRequestedMMUPages = 0

    public func nrMMUPages() throws(KVMError) -> Int { nMaxMMUPages }

    public func setNrMMUPages(_ pages: Int) throws(KVMError) {
        if pages < 64 { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_NR_MMU_PAGES") }
        nMaxMMUPages = pages
        nRequestedMMUPages = pages
    }

    /// The kvmclock: the VM clock (virtual ns) plus kvmclock_offset, which KVM_SET_CLOCK sets.
    /// Only KVM_CLOCK_REALTIME means anything on a set; the engine has no wall clock, so a
    /// REALTIME set has nothing to catch up (as if no time had passed).
    var kvmclockOffset: UInt64 = 0

    public func clock() throws(KVMError) -> ClockData { ClockData(clock: now &+ kvmclockOffset) }

    /// kvm_vm_ioctl_set_clock: flags outside KVM_CLOCK_VALID_FLAGS are EINVAL.
    public func setClock(_ data: ClockData) throws(KVMError) {
        let valid = ClockData.tscStable | ClockData.realtimeFlag | ClockData.hostTSCFlag
        if data.flags & ~valid != 0 { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_CLOCK") }
        kvmclockOffset = data.clock &- now
    }

    public func statistics() throws(KVMError) -> Statistics {
        func c(_ n: String, _ v: UInt64) -> Statistics.Descriptor {
            Statistics.Descriptor(name: n, kind: .cumulative, unit: .none, exponent: 0, values: [v])
        }
        let pages = UInt64(memory.populated.count)
        return Statistics(descriptors: [
            c("remote_tlb_flush", 0),
            c("remote_tlb_flush_requests", 0),
            c("mmu_shadow_zapped", 0),
            c("mmu_pte_write", 0),
            c("mmu_pde_zapped", 0),
            c("mmu_flooded", 0),
            c("mmu_recycled", 0),
            c("mmu_cache_miss", 0),
            c("mmu_unsync", 0),
            Statistics.Descriptor(name: "pages_4k", kind: .instant, unit: .none, exponent: 0, values: [pages]),
            Statistics.Descriptor(name: "pages_2m", kind: .instant, unit: .none, exponent: 0, values: [0]),
            Statistics.Descriptor(name: "pages_1g", kind: .instant, unit: .none, exponent: 0, values: [0]),
            c("nx_lpage_splits", 0),
            Statistics.Descriptor(name: "max_mmu_page_hash_collisions", kind: .peak, unit: .none, exponent: 0, values: [0]),
            Statistics.Descriptor(name: "max_mmu_rmap_size", kind: .peak, unit: .none, exponent: 0, values: [0]),
        ])
    }

    public func close() {
        if closed { return }
        closed = true
        memory.removeAllSlots()
        for v in vcpus { v.cpu.flushTLB(); v.closed = true }
        vcpus.removeAll()
        for a in memory.allocations { a.release() }
        memory.allocations.removeAll()
        controls.ioeventfds.closeAll()
        controls.irqfds.closeAll()
    }
}

/// One clock for the whole VM. Each vCPU's virtual clock (CPU.now: its instructions plus the
/// time it skipped while halted) runs only while that vCPU runs; real CPUs share one time
/// base (the TSC is VM-wide, SDM Vol. 3B 17.17; KVM keeps vCPUs' TSCs in step). So every
/// KVM_RUN starts by moving the vCPU's clock up to the latest time any vCPU reached, as if
/// it had been descheduled meanwhile, and ends by publishing its own: a vCPU that acts on
/// what another did never reads an earlier TSC or timer count than that vCPU did.
final class VMClock {
    var now: UInt64 = 0
}
