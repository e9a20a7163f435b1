// The three fd kinds of the KVM API as Swift protocols. HostKVM implements them over
// /dev/kvm; RefHypervisor implements them in software. The harness drives both through
// these and nothing else, so every difference it sees is a difference of implementation.

/// The system fd (`/dev/kvm`): API version, capabilities, VM creation.
public protocol Hypervisor: AnyObject {
    /// Which KVM this is; every result is printed under it.
    var identity: ImplementationIdentity { get }
    /// KVM_GET_API_VERSION (12 on every Linux since 2.6.22).
    func apiVersion() throws(KVMError) -> Int32
    /// KVM_CHECK_EXTENSION on the system fd: 0 = absent, otherwise a capability-specific value.
    func checkExtension(_ capability: Capability) -> Int32
    /// KVM_GET_SUPPORTED_CPUID.
    func supportedCPUID() throws(KVMError) -> [CPUIDEntry]
    /// KVM_GET_MSR_INDEX_LIST with room for `capacity` indices: the MSRs a VMM saves and
    /// restores. E2BIG when `capacity` is below the count, which `msrIndexCount` gives.
    func msrIndexList(capacity: Int) throws(KVMError) -> [UInt32]
    /// KVM_GET_MSR_INDEX_LIST with no room: the count KVM writes back with its E2BIG.
    func msrIndexCount() throws(KVMError) -> Int
    /// KVM_GET_MSR_FEATURE_INDEX_LIST: the feature MSRs the system fd's KVM_GET_MSRS reads
    /// (E2BIG below the count, which `featureMSRIndexCount` gives).
    func featureMSRIndexList(capacity: Int) throws(KVMError) -> [UInt32]
    func featureMSRIndexCount() throws(KVMError) -> Int
    /// KVM_GET_MSRS on the system fd: feature MSR values; stops at the first it cannot read.
    func featureMSRs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry]
    /// KVM_GET_EMULATED_CPUID: what KVM's emulator can do beyond the host (E2BIG below the count).
    func emulatedCPUID(capacity: Int) throws(KVMError) -> [CPUIDEntry]
    /// KVM_X86_GET_MCE_CAP_SUPPORTED: the IA32_MCG_CAP bits KVM_X86_SETUP_MCE accepts.
    func mceCapSupported() throws(KVMError) -> UInt64
    /// KVM_HAS_DEVICE_ATTR on the system fd (group 0: KVM_X86_XCOMP_GUEST_SUPP; ENXIO otherwise).
    func hasDeviceAttribute(_ attribute: DeviceAttribute) throws(KVMError)
    /// KVM_GET_DEVICE_ATTR on the system fd: the attribute's 64-bit value.
    func deviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) -> UInt64
    /// KVM_CREATE_VM (type 0).
    func createVM() throws(KVMError) -> any VirtualMachine
}

/// The VM fd.
public protocol VirtualMachine: AnyObject {
    /// Whether its vCPUs may run at once on threads of their own, as KVM's do (a VMM runs
    /// each on a thread). The reference engine runs one at a time on the caller's thread.
    var runsVCPUsConcurrently: Bool { get }
    /// Page-aligned, zeroed host memory to back a memory slot. The VM keeps it alive until
    /// `close()`; `GuestMemory.hostAddress` goes into `MemoryRegion.userspaceAddress`.
    func allocateGuestMemory(size: Int) throws(KVMError) -> GuestMemory
    /// KVM_SET_USER_MEMORY_REGION: create, move, change flags of, or (size 0) delete a slot.
    func setUserMemoryRegion(_ region: MemoryRegion) throws(KVMError)
    /// KVM_CREATE_VCPU.
    func createVCPU(id: UInt32) throws(KVMError) -> any VirtualCPU
    /// KVM_CREATE_IRQCHIP: two PICs, an IOAPIC and a LAPIC per vCPU. Before any vCPU.
    func createIRQChip() throws(KVMError)
    /// KVM_CREATE_PIT2 (flags 0). Needs the irqchip.
    func createPIT2() throws(KVMError)
    /// KVM_IRQ_LINE on a GSI.
    func irqLine(_ gsi: UInt32, level: Bool) throws(KVMError)
    /// KVM_SIGNAL_MSI. Returns >0 delivered, 0 blocked by the guest.
    func signalMSI(address: UInt64, data: UInt32) throws(KVMError) -> Int32
    /// KVM_GET_DIRTY_LOG: one bit per page of the slot, set if written since the last call.
    func dirtyLog(slot: UInt32) throws(KVMError) -> [UInt64]
    /// KVM_SET_TSS_ADDR: three pages VMX needs without unrestricted guest.
    func setTSSAddress(_ address: UInt64) throws(KVMError)
    /// KVM_SET_IDENTITY_MAP_ADDR: the page of VMX's EPT identity map (before any vCPU).
    func setIdentityMapAddress(_ address: UInt64) throws(KVMError)
    /// KVM_SET_BOOT_CPU_ID: which vCPU id is the BSP (before any vCPU).
    func setBootCPUID(_ id: UInt32) throws(KVMError)
    /// KVM_GET_TSC_KHZ on the VM fd: the TSC frequency new vCPUs get.
    func tscKHz() throws(KVMError) -> UInt32
    /// KVM_SET_TSC_KHZ on the VM fd: the frequency of vCPUs created afterwards (0: the host's).
    func setTSCKHz(_ khz: UInt32) throws(KVMError)
    /// KVM_CREATE_PIT, the old form: KVM_CREATE_PIT2 with KVM_PIT_SPEAKER_DUMMY (port 61H in the kernel).
    func createPIT() throws(KVMError)
    /// KVM_REINJECT_CONTROL: whether missed PIT ticks are reinjected (ENXIO without a PIT).
    func setPITReinject(_ reinject: Bool) throws(KVMError)
    /// KVM_GET_NR_MMU_PAGES / KVM_SET_NR_MMU_PAGES: the shadow-MMU page budget.
    func nrMMUPages() throws(KVMError) -> Int
    func setNrMMUPages(_ pages: Int) throws(KVMError)
    /// KVM_GET_CLOCK / KVM_SET_CLOCK: the VM's kvmclock.
    func clock() throws(KVMError) -> ClockData
    func setClock(_ data: ClockData) throws(KVMError)
    /// KVM_GET_IRQCHIP of chip `chipID` (0 master PIC, 1 slave, 2 IOAPIC; EINVAL otherwise,
    /// ENXIO without the in-kernel irqchip).
    func irqchip(_ chipID: UInt32) throws(KVMError) -> IRQChipState
    /// KVM_SET_IRQCHIP.
    func setIRQChip(_ state: IRQChipState) throws(KVMError)
    /// KVM_GET_PIT2 / KVM_SET_PIT2 (ENXIO without a PIT).
    func pit2() throws(KVMError) -> PITState2
    func setPIT2(_ state: PITState2) throws(KVMError)
    /// KVM_GET_PIT / KVM_SET_PIT, the old forms: the three counters without the flags.
    func pit() throws(KVMError) -> [PITChannelState]
    func setPIT(_ channels: [PITChannelState]) throws(KVMError)
    /// KVM_CHECK_EXTENSION on the VM fd.
    func checkExtension(_ capability: Capability) -> Int32
    /// KVM_ENABLE_CAP on the VM fd (EINVAL for a capability it cannot enable, or flags).
    func enableCap(_ cap: EnableCap) throws(KVMError)
    /// KVM_X86_SET_MSR_FILTER: replaces the VM's MSR filter.
    func setMSRFilter(_ filter: MSRFilter) throws(KVMError)
    /// KVM_CLEAR_DIRTY_LOG: clears (and write-protects again) the pages of `slot` from
    /// `firstPage` whose bits are set in `bitmap` (bit 0 = firstPage).
    func clearDirtyLog(slot: UInt32, firstPage: UInt64, numPages: UInt32, bitmap: [UInt64]) throws(KVMError)
    /// KVM_IRQ_LINE_STATUS: KVM_IRQ_LINE that returns kvm_set_irq's status (>0 delivered,
    /// 0 coalesced, -1 masked or nowhere to go).
    func irqLineStatus(_ gsi: UInt32, level: Bool) throws(KVMError) -> Int32
    /// KVM_SET_PMU_EVENT_FILTER.
    func setPMUEventFilter(_ filter: PMUEventFilter) throws(KVMError)
    /// KVM_IOEVENTFD: assign (or, with the DEASSIGN flag, remove) an ioeventfd.
    func ioeventfd(_ e: IOEventFD) throws(KVMError)
    /// KVM_IRQFD: assign (or, with the DEASSIGN flag, remove) an irqfd.
    func irqfd(_ f: IRQFD) throws(KVMError)
    /// KVM_SET_GSI_ROUTING: replaces the VM's routing table with `routes`; `count` is the
    /// kvm_irq_routing.nr KVM is told (normally routes.count; larger only to test E2BIG-like
    /// limits: the missing entries are zero), `flags` its flags (must be 0).
    func setGSIRouting(_ routes: [GSIRoute], count: UInt32, flags: UInt32) throws(KVMError)
    /// KVM_REGISTER_COALESCED_MMIO / KVM_UNREGISTER_COALESCED_MMIO.
    func registerCoalescedMMIO(_ zone: CoalescedMMIOZone) throws(KVMError)
    func unregisterCoalescedMMIO(_ zone: CoalescedMMIOZone) throws(KVMError)
    /// The entries of the coalesced-MMIO ring (the page at KVM_COALESCED_MMIO_PAGE_OFFSET of a
    /// vCPU mapping) from `first` to `last`, consumed as a VMM does (first = last). Empty
    /// without a vCPU (the ring is reached through one).
    func takeCoalescedMMIO() -> [CoalescedMMIOEntry]
    /// KVM_GET_STATS_FD on the VM fd, read once.
    func statistics() throws(KVMError) -> Statistics
    /// Releases every vCPU, the VM and the guest memory. Idempotent; deinit calls it too.
    func close()
}

/// The vCPU fd with its `struct kvm_run`.
public protocol VirtualCPU: AnyObject {
    var id: UInt32 { get }
    /// KVM_RUN under the watchdog: returns the exit, or `.timeout` when the guest did not
    /// exit within `budget`. An unexpected errno throws.
    func run(budget: RunBudget) throws(KVMError) -> Exit
    /// The data for the IN exit just returned (`size * count` bytes), given to the guest on the next run.
    func completeIO(_ data: [UInt8])
    /// The same for an IN of one element: its `byteCount` (at most 8) bytes are the low bytes
    /// of `value`, little-endian (no array: an IN's round trip is the commonest exit after
    /// an OUT's). A backend without its own gets `completeIO(_:)` with those bytes.
    func completeIO(value: UInt64, byteCount: Int)
    /// The data for the MMIO read exit just returned (`length` bytes).
    func completeMMIORead(_ data: [UInt8])
    /// The same with the (at most 8) bytes as the low bytes of `value`, little-endian.
    func completeMMIORead(value: UInt64, byteCount: Int)
    /// The answer to the KVM_EXIT_X86_RDMSR/WRMSR just returned (kvm_run.msr.error and, for
    /// a read, .data): an error makes KVM inject #GP, otherwise the instruction completes.
    func completeMSR(error: Bool, data: UInt64)
    /// kvm_run.hypercall.ret for the KVM_EXIT_HYPERCALL just returned (the guest's RAX).
    func completeHypercall(ret: UInt64)

    func regs() throws(KVMError) -> Regs
    func setRegs(_ regs: Regs) throws(KVMError)
    func sregs() throws(KVMError) -> SpecialRegisters
    func setSregs(_ sregs: SpecialRegisters) throws(KVMError)
    func fpu() throws(KVMError) -> FPU
    func setFPU(_ fpu: FPU) throws(KVMError)
    /// KVM_GET_MSRS: the entries KVM returned (it stops at the first MSR it cannot read).
    func msrs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry]
    /// KVM_SET_MSRS: returns how many entries were set.
    func setMSRs(_ entries: [MSREntry]) throws(KVMError) -> Int
    /// KVM_SET_CPUID2.
    func setCPUID(_ entries: [CPUIDEntry]) throws(KVMError)
    /// KVM_SET_CPUID, the old form: no index or flags (KVM stores index 0, flags 0).
    func setCPUIDv1(_ entries: [CPUIDEntry]) throws(KVMError)
    func vcpuEvents() throws(KVMError) -> VCPUEvents
    func setVCPUEvents(_ events: VCPUEvents) throws(KVMError)
    /// KVM_INTERRUPT: queue an external interrupt (no in-kernel irqchip only).
    func interrupt(vector: UInt8) throws(KVMError)
    /// KVM_NMI.
    func nmi() throws(KVMError)
    /// KVM_SET_GUEST_DEBUG.
    func setGuestDebug(_ debug: GuestDebug) throws(KVMError)
    /// KVM_GET_MP_STATE (accepts a pending INIT/SIPI first, as kvm_apic_accept_events does).
    func mpState() throws(KVMError) -> MPState
    /// KVM_SET_MP_STATE.
    func setMPState(_ state: MPState) throws(KVMError)
    func debugRegisters() throws(KVMError) -> DebugRegisters
    func setDebugRegisters(_ regs: DebugRegisters) throws(KVMError)
    func xcrs() throws(KVMError) -> XCRs
    func setXCRs(_ xcrs: XCRs) throws(KVMError)
    /// KVM_GET_XSAVE / KVM_SET_XSAVE (KVM_CAP_XSAVE): what a VMM saves instead of KVM_GET_FPU
    /// on an XSAVE host, because it carries XSTATE_BV (x86.c kvm_vcpu_ioctl_x86_get_xsave,
    /// fpu_copy_uabi_to_guest_fpstate: EINVAL for a header KVM does not accept).
    func xsave() throws(KVMError) -> XSaveState
    func setXSave(_ state: XSaveState) throws(KVMError)
    /// KVM_GET_XSAVE2 into a zeroed buffer of `size` bytes (at least the VM's KVM_CAP_XSAVE2,
    /// which is at least 4096): KVM writes the guest FPU's uabi_size bytes, the standard
    /// XSAVE image (x86.c kvm_vcpu_ioctl_x86_get_xsave2). Sizes below 4096 count as 4096.
    func xsave2(size: Int) throws(KVMError) -> [UInt8]
    /// KVM_GET_CPUID2 with room for `capacity` entries: the table KVM_SET_CPUID2 set (E2BIG
    /// when it has more entries than `capacity`).
    func cpuid(capacity: Int) throws(KVMError) -> [CPUIDEntry]
    /// KVM_TRANSLATE of a linear address.
    func translate(_ linearAddress: UInt64) throws(KVMError) -> Translation
    /// KVM_GET_TSC_KHZ on the vCPU fd.
    func tscKHz() throws(KVMError) -> UInt32
    /// KVM_SET_TSC_KHZ on the vCPU fd (0: the host's rate).
    func setTSCKHz(_ khz: UInt32) throws(KVMError)
    /// KVM_KVMCLOCK_CTRL: tell the guest's kvmclock it was paused (EINVAL without kvmclock).
    func kvmclockCtrl() throws(KVMError)
    /// KVM_TPR_ACCESS_REPORTING (`flags` must be 0).
    func setTPRAccessReporting(enabled: Bool, flags: UInt32) throws(KVMError)
    /// KVM_X86_SETUP_MCE: IA32_MCG_CAP (bank count in bits 7:0).
    func setupMCE(_ mcgCap: UInt64) throws(KVMError)
    /// KVM_X86_SET_MCE: log (and for an uncorrected error raise) a machine check.
    func setMCE(_ mce: MachineCheckEvent) throws(KVMError)
    /// KVM_GET_SREGS2 / KVM_SET_SREGS2 (KVM_CAP_SREGS2).
    func sregs2() throws(KVMError) -> SpecialRegisters2
    func setSregs2(_ sregs: SpecialRegisters2) throws(KVMError)
    /// KVM_GET_LAPIC / KVM_SET_LAPIC (EINVAL without an in-kernel LAPIC).
    func lapic() throws(KVMError) -> LAPICState
    func setLAPIC(_ state: LAPICState) throws(KVMError)
    /// KVM_ENABLE_CAP on the vCPU fd.
    func enableCap(_ cap: EnableCap) throws(KVMError)
    /// KVM_HAS/GET/SET_DEVICE_ATTR on the vCPU fd (group KVM_VCPU_TSC_CTRL; ENXIO otherwise).
    func hasDeviceAttribute(_ attribute: DeviceAttribute) throws(KVMError)
    func deviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) -> UInt64
    func setDeviceAttribute(_ attribute: DeviceAttribute, value: UInt64) throws(KVMError)
    /// KVM_GET_STATS_FD on the vCPU fd, read once.
    func statistics() throws(KVMError) -> Statistics

    /// kvm_run.request_interrupt_window (in).
    var requestInterruptWindow: Bool { get set }
    /// kvm_run.immediate_exit (in): the next KVM_RUN returns KVM_EXIT_INTR at once.
    var immediateExit: Bool { get set }
    /// kvm_run.ready_for_interrupt_injection (out).
    var readyForInterruptInjection: Bool { get }
    /// kvm_run.if_flag (out).
    var ifFlag: Bool { get }
    /// kvm_run.cr8 (in and out). Without an in-kernel LAPIC every KVM_RUN first sets CR8
    /// from it (EINVAL above 15), and every return writes CR8 back (x86.c
    /// kvm_arch_vcpu_ioctl_run, post_kvm_run_save): a VMM that restores CR8 with
    /// KVM_SET_SREGS must put it here too, or the next KVM_RUN undoes it.
    var cr8: UInt64 { get set }
    /// kvm_run.apic_base (out): IA32_APIC_BASE at the last return of KVM_RUN.
    var apicBase: UInt64 { get }
    /// kvm_run.flags (out): KVM_RUN_X86_SMM (bit 0), KVM_RUN_X86_BUS_LOCK (bit 1).
    var runFlags: UInt16 { get }
}

extension VirtualCPU {
    /// One KVM_RUN with kvm_run.immediate_exit set, cleared again afterwards: KVM completes
    /// the exit userspace last handled (complete_userspace_io) and fills kvm_run's out fields,
    /// then returns EINTR (`.intr`) without entering the guest, unless completing the
    /// instruction needs userspace again, in which case that exit is returned
    /// (x86.c kvm_arch_vcpu_ioctl_run).
    public func runWithImmediateExit(budget: RunBudget = .milliseconds(100, instructions: 1_000)) throws(KVMError) -> Exit {
        immediateExit = true
        defer { immediateExit = false }
        return try run(budget: budget)
    }
}

/// How long one KVM_RUN may go on before the watchdog ends it. HostKVM enforces the wall
/// clock; the reference engine enforces the instruction count (it is deterministic).
public struct RunBudget: Sendable, Equatable {
    public var wallClockNanoseconds: UInt64
    public var instructions: UInt64

    public init(wallClockNanoseconds: UInt64, instructions: UInt64) {
        self.wallClockNanoseconds = wallClockNanoseconds
        self.instructions = instructions
    }

    /// One second, 100 million instructions.
    public static let standard = RunBudget(wallClockNanoseconds: 1_000_000_000, instructions: 100_000_000)
    public static func milliseconds(_ ms: UInt64, instructions: UInt64 = 100_000_000) -> RunBudget {
        RunBudget(wallClockNanoseconds: ms * 1_000_000, instructions: instructions)
    }
}

/// A vCPU that can show the hardware-level exits behind each KVM exit (the reference
/// engine's VMX exits with reason and qualification). `kvm-unit trace` prints them.
public protocol HardwareExitTracing: AnyObject {
    var hardwareTraceEnabled: Bool { get set }
    /// The records since the last call, one line each, oldest first.
    func takeHardwareTrace() -> [String]
}

extension VirtualMachine {
    /// KVM_SET_GSI_ROUTING with exactly `routes` and no flags.
    public func setGSIRouting(_ routes: [GSIRoute]) throws(KVMError) {
        try setGSIRouting(routes, count: UInt32(clamping: routes.count), flags: 0)
    }
}

extension VirtualCPU {
    public func completeIO(value: UInt64, byteCount: Int) {
        completeIO((0..<min(max(byteCount, 0), 8)).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) })
    }

    public func completeMMIORead(value: UInt64, byteCount: Int) {
        completeMMIORead((0..<min(max(byteCount, 0), 8)).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) })
    }
}
