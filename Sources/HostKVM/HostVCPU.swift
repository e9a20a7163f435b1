import CKVM
import KVMABI

/// A vCPU fd and its mmapped `struct kvm_run`.
public final class HostVCPU: VirtualCPU {
    public let id: UInt32
    let fd: Int32
    let run: UnsafeMutablePointer<kvm_run>
    let mmapSize: Int
    private let slot: Watchdog.Slot
    private var closed = false
    /// What the last exit asked userspace to supply before the next run.
    private var pendingIn: (offset: Int, count: Int)?
    private var pendingMMIORead: Int?

    init(fd: Int32, id: UInt32, mmapSize: Int) throws(KVMError) {
        var err: Int32 = 0
        guard let run = ckvm_mmap_run(fd, mmapSize, &err) else {
            throw KVMError(errno: err, operation: "mmap kvm_run")
        }
        self.fd = fd
        self.id = id
        self.run = run
        self.mmapSize = mmapSize
        self.slot = Watchdog.Slot(immediateExit: UnsafeMutableRawPointer(run).advanced(by: 1).assumingMemoryBound(to: UInt8.self))
        Watchdog.shared.register(slot)
        let r = ckvm_set_kick_signal_mask(fd, Watchdog.kickSignal)
        guard r >= 0 else {
            Watchdog.shared.unregister(slot)
            _ = ckvm_munmap(run, mmapSize)
            throw KVMError(errno: -r, operation: "KVM_SET_SIGNAL_MASK")
        }
    }

    deinit { close() }

    /// Unmaps kvm_run and closes the fd. The owning VM calls it on close().
    func close() {
        guard !closed else { return }
        closed = true
        Watchdog.shared.unregister(slot)
        _ = ckvm_munmap(run, mmapSize)
        _ = ckvm_close(fd)
    }

    // MARK: KVM_RUN

    public func run(budget: RunBudget) throws(KVMError) -> Exit {
        slot.thread = ckvm_self()
        slot.deadline.store(Watchdog.now() &+ budget.wallClockNanoseconds, ordering: .releasing)
        let r = ckvm_run(fd)
        // Disarm. If the swap finds 0, the watchdog claimed this run: wait until it has
        // finished kicking, then undo its immediate_exit.
        if slot.deadline.exchange(0, ordering: .acquiringAndReleasing) == 0 {
            while !slot.fired.load(ordering: .acquiring) {}
            slot.fired.store(false, ordering: .relaxed)
            run.pointee.immediate_exit = 0
            // If this thread blocks the kick, it is still pending: consume it now, or it
            // would end the next KVM_RUN at once.
            _ = ckvm_drain_kick(Watchdog.kickSignal)
            if r == -Errno.EINTR || (r >= 0 && run.pointee.exit_reason == UInt32(KVM_EXIT_INTR)) {
                return .timeout
            }
        }
        if r < 0 {
            if r == -Errno.EINTR { return .intr }
            throw KVMError(errno: -r, operation: "KVM_RUN")
        }
        return decodeExit()
    }

    /// The exits of the run loop's hot path (IO, HLT, MMIO) are read in place, field by
    /// field; only the others take a copy of the whole `kvm_run` (2 KiB and more, which
    /// dominated the userspace cost of an IO exit in debug builds).
    private func decodeExit() -> Exit {
        pendingIn = nil
        pendingMMIORead = nil
        let raw = UnsafeRawPointer(run)
        switch Int32(bitPattern: run.pointee.exit_reason) {
        case KVM_EXIT_IO:
            let direction = raw.load(fromByteOffset: RunLayout.ioDirection, as: UInt8.self)
            let size = raw.load(fromByteOffset: RunLayout.ioSize, as: UInt8.self)
            let port = raw.load(fromByteOffset: RunLayout.ioPort, as: UInt16.self)
            let count = raw.load(fromByteOffset: RunLayout.ioCount, as: UInt32.self)
            let dataOffset = Int(raw.load(fromByteOffset: RunLayout.ioDataOffset, as: UInt64.self))
            let bytes = Int(size) * Int(count)
            let isOut = direction == UInt8(KVM_EXIT_IO_OUT)
            var data: [UInt8] = []
            if isOut {
                data = Array(UnsafeRawBufferPointer(start: raw + dataOffset, count: bytes))
            } else {
                pendingIn = (dataOffset, bytes)
            }
            return .io(IOExit(direction: isOut ? .out : .in, size: size, port: port, count: count, data: data))
        case KVM_EXIT_HLT:
            return .hlt
        case KVM_EXIT_MMIO:
            let physicalAddress = raw.load(fromByteOffset: RunLayout.mmioPhysAddr, as: UInt64.self)
            let length = raw.load(fromByteOffset: RunLayout.mmioLen, as: UInt32.self)
            let isWrite = raw.load(fromByteOffset: RunLayout.mmioIsWrite, as: UInt8.self) != 0
            var data: [UInt8] = []
            let len = Int(min(length, 8))
            if isWrite {
                data = Array(UnsafeRawBufferPointer(start: raw + RunLayout.mmioData, count: len))
            } else {
                pendingMMIORead = len
            }
            return .mmio(MMIOExit(physicalAddress: physicalAddress, length: length, isWrite: isWrite, data: data))
        default:
            return decodeOtherExit()
        }
    }

    private func decodeOtherExit() -> Exit {
        let p = run.pointee
        switch Int32(bitPattern: p.exit_reason) {
        case KVM_EXIT_UNKNOWN: return .unknown(hardwareExitReason: p.hw.hardware_exit_reason)
        case KVM_EXIT_EXCEPTION: return .exception(vector: p.ex.exception, errorCode: p.ex.error_code)
        case KVM_EXIT_HYPERCALL:
            let h = p.hypercall
            return .hypercall(nr: h.nr, args: [h.args.0, h.args.1, h.args.2, h.args.3, h.args.4, h.args.5],
                              ret: h.ret, longMode: h.longmode != 0)
        case KVM_EXIT_DEBUG:
            let d = p.debug.arch
            return .debug(exception: d.exception, pc: d.pc, dr6: d.dr6, dr7: d.dr7)
        case KVM_EXIT_IRQ_WINDOW_OPEN: return .irqWindowOpen
        case KVM_EXIT_SHUTDOWN: return .shutdown
        case KVM_EXIT_FAIL_ENTRY:
            return .failEntry(hardwareEntryFailureReason: p.fail_entry.hardware_entry_failure_reason, cpu: p.fail_entry.cpu)
        case KVM_EXIT_INTR: return .intr
        case KVM_EXIT_SET_TPR: return .setTPR
        case KVM_EXIT_TPR_ACCESS: return .tprAccess(rip: p.tpr_access.rip, isWrite: p.tpr_access.is_write != 0)
        case KVM_EXIT_NMI: return .nmi
        case KVM_EXIT_INTERNAL_ERROR:
            let i = p.internal
            let n = Int(min(i.ndata, 16))
            let data = withUnsafeBytes(of: i.data) { Array($0.bindMemory(to: UInt64.self).prefix(n)) }
            return .internalError(suberror: i.suberror, data: data)
        case KVM_EXIT_SYSTEM_EVENT:
            let s = p.system_event
            let n = Int(min(s.ndata, 16))
            let data = withUnsafeBytes(of: s.data) { Array($0.bindMemory(to: UInt64.self).prefix(n)) }
            return .systemEvent(type: s.type, data: data)
        case KVM_EXIT_IOAPIC_EOI: return .ioapicEOI(vector: p.eoi.vector)
        case KVM_EXIT_HYPERV: return .hyperv(type: p.hyperv.type, data: [])
        case KVM_EXIT_X86_RDMSR: return .rdmsr(index: p.msr.index, reason: p.msr.reason)
        case KVM_EXIT_X86_WRMSR: return .wrmsr(index: p.msr.index, data: p.msr.data, reason: p.msr.reason)
        case KVM_EXIT_DIRTY_RING_FULL: return .dirtyRingFull
        case KVM_EXIT_AP_RESET_HOLD: return .apResetHold
        case KVM_EXIT_X86_BUS_LOCK: return .busLock
        case KVM_EXIT_XEN: return .xen(type: p.xen.type)
        case KVM_EXIT_NOTIFY: return .notify(flags: p.notify.flags)
        default: return .otherArchitecture(reason: p.exit_reason)
        }
    }

    public func completeIO(_ data: [UInt8]) {
        guard let (offset, count) = pendingIn else { return }
        data.withUnsafeBytes { src in
            let n = min(count, src.count)
            if n > 0, let b = src.baseAddress { (UnsafeMutableRawPointer(run) + offset).copyMemory(from: b, byteCount: n) }
        }
        pendingIn = nil
    }

    public func completeMMIORead(_ data: [UInt8]) {
        guard let len = pendingMMIORead else { return }
        withUnsafeMutableBytes(of: &run.pointee.mmio.data) { dst in
            data.withUnsafeBytes { src in
                let n = min(len, src.count, dst.count)
                if n > 0, let b = src.baseAddress { dst.baseAddress!.copyMemory(from: b, byteCount: n) }
            }
        }
        pendingMMIORead = nil
    }

    // MARK: kvm_run flags

    public var requestInterruptWindow: Bool {
        get { run.pointee.request_interrupt_window != 0 }
        set { run.pointee.request_interrupt_window = newValue ? 1 : 0 }
    }
    public var immediateExit: Bool {
        get { run.pointee.immediate_exit != 0 }
        set { run.pointee.immediate_exit = newValue ? 1 : 0 }
    }
    public var readyForInterruptInjection: Bool { run.pointee.ready_for_interrupt_injection != 0 }
    public var ifFlag: Bool { run.pointee.if_flag != 0 }
    public var cr8: UInt64 {
        get { run.pointee.cr8 }
        set { run.pointee.cr8 = newValue }
    }
    public var apicBase: UInt64 { run.pointee.apic_base }
    public var runFlags: UInt16 { run.pointee.flags }

    // MARK: state ioctls

    public func regs() throws(KVMError) -> Regs {
        var r = kvm_regs()
        try check(ckvm_get_regs(fd, &r), "KVM_GET_REGS")
        return Regs(r)
    }
    public func setRegs(_ regs: Regs) throws(KVMError) {
        var r = regs.c
        try check(ckvm_set_regs(fd, &r), "KVM_SET_REGS")
    }
    public func sregs() throws(KVMError) -> SpecialRegisters {
        var s = kvm_sregs()
        try check(ckvm_get_sregs(fd, &s), "KVM_GET_SREGS")
        return SpecialRegisters(s)
    }
    public func setSregs(_ sregs: SpecialRegisters) throws(KVMError) {
        var s = sregs.c
        try check(ckvm_set_sregs(fd, &s), "KVM_SET_SREGS")
    }
    public func fpu() throws(KVMError) -> FPU {
        var f = kvm_fpu()
        try check(ckvm_get_fpu(fd, &f), "KVM_GET_FPU")
        return FPU(f)
    }
    public func setFPU(_ fpu: FPU) throws(KVMError) {
        var f = fpu.c
        try check(ckvm_set_fpu(fd, &f), "KVM_SET_FPU")
    }
    public func msrs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry] {
        let (r, out) = withFlexibleStruct(kvm_msrs.self, kvm_msr_entry.self, count: indices.count) { hdr, e in
            hdr.pointee.nmsrs = UInt32(indices.count)
            for (i, index) in indices.enumerated() { e[i].index = index }
            let r = ckvm_get_msrs(fd, hdr)
            return (r, r < 0 ? [] : (0..<Int(r)).map { MSREntry(index: e[$0].index, data: e[$0].data) })
        }
        try check(r, "KVM_GET_MSRS")
        return out
    }
    public func setMSRs(_ entries: [MSREntry]) throws(KVMError) -> Int {
        let r = withFlexibleStruct(kvm_msrs.self, kvm_msr_entry.self, count: entries.count) { hdr, e in
            hdr.pointee.nmsrs = UInt32(entries.count)
            for (i, m) in entries.enumerated() { e[i].index = m.index; e[i].data = m.data }
            return ckvm_set_msrs(fd, hdr)
        }
        try check(r, "KVM_SET_MSRS")
        return Int(r)
    }
    public func setCPUID(_ entries: [CPUIDEntry]) throws(KVMError) {
        let r = withFlexibleStruct(kvm_cpuid2.self, kvm_cpuid_entry2.self, count: entries.count) { hdr, e in
            hdr.pointee.nent = UInt32(entries.count)
            for (i, c) in entries.enumerated() { e[i] = c.c }
            return ckvm_set_cpuid2(fd, hdr)
        }
        try check(r, "KVM_SET_CPUID2")
    }
    public func setCPUIDv1(_ entries: [CPUIDEntry]) throws(KVMError) {
        let r = withFlexibleStruct(kvm_cpuid.self, kvm_cpuid_entry.self, count: entries.count) { hdr, e in
            hdr.pointee.nent = UInt32(entries.count)
            for (i, c) in entries.enumerated() {
                e[i] = kvm_cpuid_entry(function: c.function, eax: c.eax, ebx: c.ebx, ecx: c.ecx, edx: c.edx, padding: 0)
            }
            return ckvm_set_cpuid(fd, hdr)
        }
        try check(r, "KVM_SET_CPUID")
    }
    public func vcpuEvents() throws(KVMError) -> VCPUEvents {
        var e = kvm_vcpu_events()
        try check(ckvm_get_vcpu_events(fd, &e), "KVM_GET_VCPU_EVENTS")
        return VCPUEvents(e)
    }
    public func setVCPUEvents(_ events: VCPUEvents) throws(KVMError) {
        var e = events.c
        try check(ckvm_set_vcpu_events(fd, &e), "KVM_SET_VCPU_EVENTS")
    }
    public func interrupt(vector: UInt8) throws(KVMError) {
        var i = kvm_interrupt(irq: UInt32(vector))
        try check(ckvm_interrupt(fd, &i), "KVM_INTERRUPT")
    }
    public func nmi() throws(KVMError) { try check(ckvm_nmi(fd), "KVM_NMI") }
    public func setGuestDebug(_ debug: GuestDebug) throws(KVMError) {
        var d = kvm_guest_debug()
        d.control = debug.control
        withUnsafeMutableBytes(of: &d.arch.debugreg) { dst in
            debug.debugreg.prefix(8).withUnsafeBytes { dst.copyMemory(from: $0) }
        }
        try check(ckvm_set_guest_debug(fd, &d), "KVM_SET_GUEST_DEBUG")
    }
    public func mpState() throws(KVMError) -> MPState {
        var s = kvm_mp_state()
        try check(ckvm_get_mp_state(fd, &s), "KVM_GET_MP_STATE")
        return MPState(rawValue: s.mp_state)
    }
    public func setMPState(_ state: MPState) throws(KVMError) {
        var s = kvm_mp_state(mp_state: state.rawValue)
        try check(ckvm_set_mp_state(fd, &s), "KVM_SET_MP_STATE")
    }
    public func debugRegisters() throws(KVMError) -> DebugRegisters {
        var d = kvm_debugregs()
        try check(ckvm_get_debugregs(fd, &d), "KVM_GET_DEBUGREGS")
        return DebugRegisters(db: [d.db.0, d.db.1, d.db.2, d.db.3], dr6: d.dr6, dr7: d.dr7, flags: d.flags)
    }
    public func setDebugRegisters(_ regs: DebugRegisters) throws(KVMError) {
        var d = kvm_debugregs()
        let db = regs.db + [0, 0, 0, 0]
        d.db = (db[0], db[1], db[2], db[3])
        d.dr6 = regs.dr6; d.dr7 = regs.dr7; d.flags = regs.flags
        try check(ckvm_set_debugregs(fd, &d), "KVM_SET_DEBUGREGS")
    }
    public func xsave() throws(KVMError) -> XSaveState {
        var x = kvm_xsave()
        try check(ckvm_get_xsave(fd, &x), "KVM_GET_XSAVE")
        return XSaveState(region: withUnsafeBytes(of: &x.region) { Array($0.prefix(XSaveState.size)) })
    }
    public func xsave2(size: Int) throws(KVMError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(size, XSaveState.size))
        let r = buffer.withUnsafeMutableBytes { ckvm_get_xsave2(fd, $0.baseAddress) }
        try check(r, "KVM_GET_XSAVE2")
        return buffer
    }
    public func setXSave(_ state: XSaveState) throws(KVMError) {
        var x = kvm_xsave()
        withUnsafeMutableBytes(of: &x.region) { dst in
            state.region.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src.prefix(min(dst.count, src.count)))) }
        }
        try check(ckvm_set_xsave(fd, &x), "KVM_SET_XSAVE")
    }

    public func xcrs() throws(KVMError) -> XCRs {
        var x = kvm_xcrs()
        try check(ckvm_get_xcrs(fd, &x), "KVM_GET_XCRS")
        let n = min(Int(x.nr_xcrs), XCRs.maximum)
        let all = withUnsafeBytes(of: &x.xcrs) { Array($0.bindMemory(to: kvm_xcr.self)) }
        return XCRs(all.prefix(n).map { XCR(index: $0.xcr, value: $0.value) }, flags: x.flags)
    }
    public func setXCRs(_ xcrs: XCRs) throws(KVMError) {
        var x = kvm_xcrs()
        x.nr_xcrs = UInt32(xcrs.xcrs.count)
        x.flags = xcrs.flags
        withUnsafeMutableBytes(of: &x.xcrs) { raw in
            let dst = raw.bindMemory(to: kvm_xcr.self)
            for (i, e) in xcrs.xcrs.prefix(dst.count).enumerated() { dst[i] = kvm_xcr(xcr: e.index, reserved: 0, value: e.value) }
        }
        try check(ckvm_set_xcrs(fd, &x), "KVM_SET_XCRS")
    }
    public func cpuid(capacity: Int) throws(KVMError) -> [CPUIDEntry] {
        let (r, entries) = withFlexibleStruct(kvm_cpuid2.self, kvm_cpuid_entry2.self, count: capacity) { hdr, e in
            hdr.pointee.nent = UInt32(capacity)
            let r = ckvm_get_cpuid2(fd, hdr)
            return (r, r < 0 ? [] : (0..<Int(hdr.pointee.nent)).map { CPUIDEntry(e[$0]) })
        }
        try check(r, "KVM_GET_CPUID2")
        return entries
    }
    public func translate(_ linearAddress: UInt64) throws(KVMError) -> Translation {
        var t = kvm_translation()
        t.linear_address = linearAddress
        try check(ckvm_translate(fd, &t), "KVM_TRANSLATE")
        return Translation(physicalAddress: t.physical_address, valid: t.valid != 0, writeable: t.writeable != 0, usermode: t.usermode != 0)
    }
    public func tscKHz() throws(KVMError) -> UInt32 {
        let r = ckvm_get_tsc_khz(fd)
        try check(r, "KVM_GET_TSC_KHZ")
        return UInt32(r)
    }
    public func kvmclockCtrl() throws(KVMError) { try check(ckvm_kvmclock_ctrl(fd), "KVM_KVMCLOCK_CTRL") }
    public func setTPRAccessReporting(enabled: Bool, flags: UInt32) throws(KVMError) {
        var c = kvm_tpr_access_ctl()
        c.enabled = enabled ? 1 : 0
        c.flags = flags
        try check(ckvm_tpr_access_reporting(fd, &c), "KVM_TPR_ACCESS_REPORTING")
    }
    public func setupMCE(_ mcgCap: UInt64) throws(KVMError) { try check(ckvm_setup_mce(fd, mcgCap), "KVM_X86_SETUP_MCE") }
    /// kvm_sregs2 begins as kvm_sregs up to apic_base (no interrupt bitmap), then flags and
    /// pdptrs: the shared prefix is copied through the kvm_sregs conversion.
    public func sregs2() throws(KVMError) -> SpecialRegisters2 {
        var s2 = kvm_sregs2()
        try check(ckvm_get_sregs2(fd, &s2), "KVM_GET_SREGS2")
        var s = kvm_sregs()
        let prefix = MemoryLayout<kvm_sregs>.offset(of: \kvm_sregs.interrupt_bitmap)!
        withUnsafeMutableBytes(of: &s) { dst in withUnsafeBytes(of: &s2) { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(prefix))) } }
        var sr = SpecialRegisters(s)
        sr.interruptBitmap = [0, 0, 0, 0]
        return SpecialRegisters2(sregs: sr, flags: s2.flags, pdptrs: [s2.pdptrs.0, s2.pdptrs.1, s2.pdptrs.2, s2.pdptrs.3])
    }
    public func setSregs2(_ sregs: SpecialRegisters2) throws(KVMError) {
        var s = sregs.sregs.c
        var s2 = kvm_sregs2()
        let prefix = MemoryLayout<kvm_sregs>.offset(of: \kvm_sregs.interrupt_bitmap)!
        withUnsafeMutableBytes(of: &s2) { dst in withUnsafeBytes(of: &s) { UnsafeMutableRawBufferPointer(rebasing: dst.prefix(prefix)).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(prefix))) } }
        s2.flags = sregs.flags
        let p = sregs.pdptrs + [0, 0, 0, 0]
        s2.pdptrs = (p[0], p[1], p[2], p[3])
        try check(ckvm_set_sregs2(fd, &s2), "KVM_SET_SREGS2")
    }
    public func lapic() throws(KVMError) -> LAPICState {
        var s = kvm_lapic_state()
        try check(ckvm_get_lapic(fd, &s), "KVM_GET_LAPIC")
        return LAPICState(regs: withUnsafeBytes(of: &s.regs) { Array($0) })
    }
    public func setLAPIC(_ state: LAPICState) throws(KVMError) {
        var s = kvm_lapic_state()
        withUnsafeMutableBytes(of: &s.regs) { dst in state.regs.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(dst.count))) } }
        try check(ckvm_set_lapic(fd, &s), "KVM_SET_LAPIC")
    }
    public func statistics() throws(KVMError) -> Statistics {
        try StatsReader.read(ownerFD: fd, operation: "KVM_GET_STATS_FD (vCPU)")
    }
}

/// Byte offsets in `struct kvm_run` of the fields `decodeExit` reads in place, as the C
/// compiler lays them out (the ABI tests check the same offsets against the kernel's).
private enum RunLayout {
    static let ioDirection = ckvm_layout("kvm_run.io.direction")
    static let ioSize = ckvm_layout("kvm_run.io.size")
    static let ioPort = ckvm_layout("kvm_run.io.port")
    static let ioCount = ckvm_layout("kvm_run.io.count")
    static let ioDataOffset = ckvm_layout("kvm_run.io.data_offset")
    static let mmioPhysAddr = ckvm_layout("kvm_run.mmio.phys_addr")
    static let mmioData = ckvm_layout("kvm_run.mmio.data")
    static let mmioLen = ckvm_layout("kvm_run.mmio.len")
    static let mmioIsWrite = ckvm_layout("kvm_run.mmio.is_write")
}
