import KVMABI

/// What KVM_ENABLE_CAP and KVM_X86_SET_MSR_FILTER set on a VM that its vCPUs consult while
/// the guest runs (kvm->arch.user_space_msr_mask, msr_filter, hypercall_exit_enabled,
/// guest_can_read_msr_platform_info) and KVM_IOEVENTFD adds to its buses. One object per
/// VM, shared by its CPUs.
final class VMControls {
    /// KVM_IOEVENTFD's eventfds on the PIO and MMIO buses.
    let ioeventfds = IOEventFDs()
    /// KVM_IRQFD's eventfds.
    let irqfds = IRQFDs()
    /// Coalesced MMIO/PIO zones and their ring.
    let coalesced = CoalescedMMIO()
    /// KVM_MSR_EXIT_REASON_* that go to userspace instead of a #GP.
    var userSpaceMSRMask: UInt32 = 0
    /// nil: no filter (every MSR allowed).
    var msrFilter: MSRFilter?
    /// Bit n: hypercall n exits to userspace (only KVM_HC_MAP_GPA_RANGE, 12, can).
    var hypercallExitMask: UInt64 = 0
    /// kvm_arch_init_vm: the guest may read MSR_PLATFORM_INFO until userspace says otherwise.
    var guestCanReadPlatformInfo = true

    /// kvm_msr_allowed: x2APIC MSRs are never filtered; otherwise the first range that
    /// covers the MSR for this access type decides, else the filter's default.
    func msrAllowed(_ index: UInt32, write: Bool) -> Bool {
        if index >= 0x800 && index <= 0x8FF { return true }
        guard let f = msrFilter else { return true }
        let type = write ? MSRFilter.write : MSRFilter.read
        for r in f.ranges where r.nmsrs != 0 && r.flags & type != 0 {
            // Unsigned 32-bit arithmetic, as KVM's u32 start/end: a range that wraps past
            // 2^32 covers nothing above its base (end < start).
            let end = r.base &+ r.nmsrs
            if index >= r.base && index < end {
                let bit = Int(index - r.base)
                // setMSRFilter stored the bitmap at its kernel size, which covers every bit.
                return r.bitmap[bit >> 3] & (1 << UInt8(bit & 7)) != 0
            }
        }
        return f.flags & MSRFilter.defaultDeny == 0
    }
}

extension RefVM {
    /// KVM_EXIT_HYPERCALL_VALID_MASK: only KVM_HC_MAP_GPA_RANGE.
    static let hypercallExitValidMask: UInt64 = 1 << 12
    /// KVM_MAX_VCPU_IDS on x86 (KVM_MAX_VCPUS * KVM_VCPU_ID_RATIO).
    static let maximumVCPUIDs: UInt64 = 4096

    /// kvm_vm_ioctl_enable_cap_generic then kvm_vm_ioctl_enable_cap (x86.c), for the
    /// capabilities this engine implements; every other one is EINVAL, as the default case.
    public func enableCap(_ cap: EnableCap) throws(KVMError) {
        let op = "KVM_ENABLE_CAP"
        func fail() -> KVMError { KVMError(errno: Errno.EINVAL, operation: op) }
        if cap.flags != 0 { throw fail() }
        let a = cap.args[0]
        switch cap.capability {
        case .manualDirtyLogProtect2:
            // Only KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, or with it KVM_DIRTY_LOG_INITIALLY_SET.
            let allowed: UInt64 = a & 1 != 0 ? 3 : 1
            if a & ~allowed != 0 { throw fail() }
            memory.manualDirtyLogProtect = a
        case .haltPoll:
            // max_halt_poll_ns: the engine never polls, but the value is checked and kept.
            if a != UInt64(UInt32(truncatingIfNeeded: a)) { throw fail() }
            maxHaltPollNs = UInt32(a)
        case .msrPlatformInfo:
            controls.guestCanReadPlatformInfo = a != 0
        case .x86UserSpaceMsr:
            if a & ~UInt64(MSRExitReason.inval | MSRExitReason.unknown | MSRExitReason.filter) != 0 { throw fail() }
            controls.userSpaceMSRMask = UInt32(a)
        case .exitHypercall:
            if a & ~Self.hypercallExitValidMask != 0 { throw fail() }
            controls.hypercallExitMask = a
        case .maxVcpuId:
            // The first KVM_CREATE_VCPU fixes the limit at KVM_MAX_VCPU_IDS
            // (kvm_arch_vcpu_precreate); afterwards only that same value is accepted.
            if a > Self.maximumVCPUIDs { throw fail() }
            if maxVCPUIDs == a { return }
            if maxVCPUIDs != 0 { throw fail() }
            maxVCPUIDs = a
        default:
            throw fail()
        }
    }

    /// kvm_vm_ioctl_set_msr_filter / kvm_add_msr_filter: checks in their order.
    public func setMSRFilter(_ filter: MSRFilter) throws(KVMError) {
        let op = "KVM_X86_SET_MSR_FILTER"
        func fail() -> KVMError { KVMError(errno: Errno.EINVAL, operation: op) }
        if filter.flags & ~MSRFilter.defaultDeny != 0 { throw fail() }
        if filter.ranges.count > MSRFilter.maximumRanges { throw fail() }
        let empty = filter.ranges.allSatisfy { $0.nmsrs == 0 }
        if empty && filter.flags & MSRFilter.defaultDeny != 0 { throw fail() }
        var kept: [MSRFilter.Range] = []
        for r in filter.ranges where r.nmsrs != 0 {
            if r.flags & ~(MSRFilter.read | MSRFilter.write) != 0 || r.flags == 0 { throw fail() }
            if r.kernelBitmapBytes > MSRFilter.maximumBitmapBytes { throw fail() }
            var copy = r
            copy.bitmap = r.kernelBitmap
            kept.append(copy)
        }
        controls.msrFilter = MSRFilter(flags: filter.flags, ranges: kept)
        for v in vcpus { v.cpu.eventCheck = true }
    }

    public func clearDirtyLog(slot: UInt32, firstPage: UInt64, numPages: UInt32, bitmap: [UInt64]) throws(KVMError) {
        try memory.clearDirtyLog(slot: slot, firstPage: firstPage, numPages: numPages, bitmap: bitmap)
    }

    /// kvm_vm_ioctl_irq_line with line_status: ENXIO without the in-kernel irqchip, else
    /// kvm_set_irq's sum over the GSI's routes (irqchip.c).
    public func irqLineStatus(_ gsi: UInt32, level: Bool) throws(KVMError) -> Int32 {
        guard let chip else { throw KVMError(errno: Errno.ENXIO, operation: "KVM_IRQ_LINE_STATUS") }
        let status = chip.setIRQLineStatus(gsi: gsi, level: level, now: now)
        for v in vcpus { v.cpu.eventCheck = true }
        return Int32(status)
    }

    /// KVM_REGISTER_COALESCED_MMIO: KVM's own devices on the bus count against its size (the
    /// IOAPIC on the MMIO bus; the two 8259s, ELCR, the PIT and its speaker port on PIO).
    public func registerCoalescedMMIO(_ zone: CoalescedMMIOZone) throws(KVMError) {
        var kernel = 0
        if let chip {
            kernel = zone.pio == 1 ? 3 + (chip.pitCreated ? 1 : 0) + (chip.pitCreated && chip.speakerInKernel ? 1 : 0) : 1
        }
        try controls.coalesced.register(zone, kernelDevices: kernel)
    }

    public func unregisterCoalescedMMIO(_ zone: CoalescedMMIOZone) throws(KVMError) {
        try controls.coalesced.unregister(zone)
    }

    public func takeCoalescedMMIO() -> [CoalescedMMIOEntry] {
        vcpus.isEmpty ? [] : controls.coalesced.take()
    }

    /// KVM_IRQFD (kvm_irqfd in virt/kvm/eventfd.c).
    public func irqfd(_ f: IRQFD) throws(KVMError) {
        try controls.irqfds.apply(f, now: now)
        for v in vcpus { v.cpu.eventCheck = true }
    }

    /// KVM_SET_GSI_ROUTING (kvm_vm_ioctl, virt/kvm/irqchip.c kvm_set_irq_routing): EINVAL
    /// without an in-kernel irqchip (kvm_arch_can_set_irq_routing), then GSIRouting.build's
    /// checks; the new table takes effect for every later line, irqfd and acknowledgement.
    public func setGSIRouting(_ routes: [GSIRoute], count: UInt32, flags: UInt32) throws(KVMError) {
        guard let chip else { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_GSI_ROUTING") }
        chip.setRouting(try GSIRouting.build(routes, count: count, flags: flags))
    }

    /// KVM_IOEVENTFD (kvm_ioeventfd in virt/kvm/eventfd.c).
    public func ioeventfd(_ e: IOEventFD) throws(KVMError) {
        try controls.ioeventfds.apply(e)
    }

    /// kvm_vm_ioctl_set_pmu_event_filter: checked and kept. The engine's CPUs have no
    /// performance counters (CPUID leaf 0AH is absent), so no event is ever counted and
    /// the filter has nothing to act on, as on a host KVM runs with enable_pmu=0.
    public func setPMUEventFilter(_ filter: PMUEventFilter) throws(KVMError) {
        let op = "KVM_SET_PMU_EVENT_FILTER"
        if filter.action != PMUEventFilter.allow && filter.action != PMUEventFilter.deny {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        if filter.flags != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if filter.events.count > PMUEventFilter.maximumEvents { throw KVMError(errno: Errno.E2BIG, operation: op) }
        var kept = filter
        kept.events.sort()
        pmuEventFilter = kept
    }
}
