/// Why KVM_RUN returned: the `exit_reason` of `struct kvm_run` with its payload.
///
/// Every x86 exit reason of the 6.1 header has a case. Exits of other architectures
/// (s390, PowerPC, ARM, RISC-V) are `.otherArchitecture`. `.timeout` is not a KVM exit:
/// it is the harness's watchdog ending a KVM_RUN that did not exit within its budget.
public enum Exit: Equatable, Sendable {
    /// KVM_EXIT_UNKNOWN (0)
    case unknown(hardwareExitReason: UInt64)
    /// KVM_EXIT_EXCEPTION (1)
    case exception(vector: UInt32, errorCode: UInt32)
    /// KVM_EXIT_IO (2). For `.in`, supply the data with `VirtualCPU.completeIO` before the next run.
    case io(IOExit)
    /// KVM_EXIT_HYPERCALL (3)
    case hypercall(nr: UInt64, args: [UInt64], ret: UInt64, longMode: Bool)
    /// KVM_EXIT_DEBUG (4)
    case debug(exception: UInt32, pc: UInt64, dr6: UInt64, dr7: UInt64)
    /// KVM_EXIT_HLT (5): HLT with no in-kernel LAPIC. The next run resumes after the HLT.
    case hlt
    /// KVM_EXIT_MMIO (6). For reads, supply the data with `VirtualCPU.completeMMIORead`.
    case mmio(MMIOExit)
    /// KVM_EXIT_IRQ_WINDOW_OPEN (7): userspace asked for it and the guest can take an interrupt.
    case irqWindowOpen
    /// KVM_EXIT_SHUTDOWN (8): triple fault (or a shutdown-class event).
    case shutdown
    /// KVM_EXIT_FAIL_ENTRY (9)
    case failEntry(hardwareEntryFailureReason: UInt64, cpu: UInt32)
    /// KVM_EXIT_INTR (10): a signal interrupted KVM_RUN, or immediate_exit was set.
    case intr
    /// KVM_EXIT_SET_TPR (11)
    case setTPR
    /// KVM_EXIT_TPR_ACCESS (12)
    case tprAccess(rip: UInt64, isWrite: Bool)
    /// KVM_EXIT_NMI (16)
    case nmi
    /// KVM_EXIT_INTERNAL_ERROR (17): e.g. suberror 1 = KVM_INTERNAL_ERROR_EMULATION.
    case internalError(suberror: UInt32, data: [UInt64])
    /// KVM_EXIT_SYSTEM_EVENT (24): type 1 shutdown, 2 reset, 3 crash, ...
    case systemEvent(type: UInt32, data: [UInt64])
    /// KVM_EXIT_IOAPIC_EOI (26): split irqchip, level-triggered EOI.
    case ioapicEOI(vector: UInt8)
    /// KVM_EXIT_HYPERV (27): the raw `struct kvm_hyperv_exit` type and first words.
    case hyperv(type: UInt32, data: [UInt64])
    /// KVM_EXIT_X86_RDMSR (29): userspace supplies the value (or an error) before the next run.
    case rdmsr(index: UInt32, reason: UInt32)
    /// KVM_EXIT_X86_WRMSR (30)
    case wrmsr(index: UInt32, data: UInt64, reason: UInt32)
    /// KVM_EXIT_DIRTY_RING_FULL (31)
    case dirtyRingFull
    /// KVM_EXIT_AP_RESET_HOLD (32)
    case apResetHold
    /// KVM_EXIT_X86_BUS_LOCK (33)
    case busLock
    /// KVM_EXIT_XEN (34): the raw `struct kvm_xen_exit` type.
    case xen(type: UInt32)
    /// KVM_EXIT_NOTIFY (37)
    case notify(flags: UInt32)
    /// An exit reason of another architecture, or one newer than the 6.1 header.
    case otherArchitecture(reason: UInt32)
    /// Not a KVM exit: the watchdog ended a KVM_RUN that overran its budget.
    case timeout

    /// The `KVM_EXIT_*` number (`.timeout` has none and reports -1).
    public var reason: Int32 {
        switch self {
        case .unknown: 0
        case .exception: 1
        case .io: 2
        case .hypercall: 3
        case .debug: 4
        case .hlt: 5
        case .mmio: 6
        case .irqWindowOpen: 7
        case .shutdown: 8
        case .failEntry: 9
        case .intr: 10
        case .setTPR: 11
        case .tprAccess: 12
        case .nmi: 16
        case .internalError: 17
        case .systemEvent: 24
        case .ioapicEOI: 26
        case .hyperv: 27
        case .rdmsr: 29
        case .wrmsr: 30
        case .dirtyRingFull: 31
        case .apResetHold: 32
        case .busLock: 33
        case .xen: 34
        case .notify: 37
        case .otherArchitecture(let r): Int32(bitPattern: r)
        case .timeout: -1
        }
    }

    /// KVM's name for the exit (`KVM_EXIT_IO`), or `TIMEOUT` for the watchdog.
    public var name: String {
        if case .timeout = self { return "TIMEOUT" }
        return Exit.reasonNames[reason] ?? "KVM_EXIT_\(reason)"
    }

    public static let reasonNames: [Int32: String] = [
        0: "KVM_EXIT_UNKNOWN", 1: "KVM_EXIT_EXCEPTION", 2: "KVM_EXIT_IO", 3: "KVM_EXIT_HYPERCALL",
        4: "KVM_EXIT_DEBUG", 5: "KVM_EXIT_HLT", 6: "KVM_EXIT_MMIO", 7: "KVM_EXIT_IRQ_WINDOW_OPEN",
        8: "KVM_EXIT_SHUTDOWN", 9: "KVM_EXIT_FAIL_ENTRY", 10: "KVM_EXIT_INTR", 11: "KVM_EXIT_SET_TPR",
        12: "KVM_EXIT_TPR_ACCESS", 13: "KVM_EXIT_S390_SIEIC", 14: "KVM_EXIT_S390_RESET",
        15: "KVM_EXIT_DCR", 16: "KVM_EXIT_NMI", 17: "KVM_EXIT_INTERNAL_ERROR", 18: "KVM_EXIT_OSI",
        19: "KVM_EXIT_PAPR_HCALL", 20: "KVM_EXIT_S390_UCONTROL", 21: "KVM_EXIT_WATCHDOG",
        22: "KVM_EXIT_S390_TSCH", 23: "KVM_EXIT_EPR", 24: "KVM_EXIT_SYSTEM_EVENT",
        25: "KVM_EXIT_S390_STSI", 26: "KVM_EXIT_IOAPIC_EOI", 27: "KVM_EXIT_HYPERV",
        28: "KVM_EXIT_ARM_NISV", 29: "KVM_EXIT_X86_RDMSR", 30: "KVM_EXIT_X86_WRMSR",
        31: "KVM_EXIT_DIRTY_RING_FULL", 32: "KVM_EXIT_AP_RESET_HOLD", 33: "KVM_EXIT_X86_BUS_LOCK",
        34: "KVM_EXIT_XEN", 35: "KVM_EXIT_RISCV_SBI", 36: "KVM_EXIT_RISCV_CSR", 37: "KVM_EXIT_NOTIFY",
    ]
}

extension Exit {
    /// A KVM_EXIT_MMIO for a write (done before the exit: nothing to complete).
    @inlinable public var isMMIOWrite: Bool {
        if case .mmio(let m) = self { return m.isWrite }
        return false
    }
}

/// The `io` member of `struct kvm_run`.
extension Exit {
    /// An OUT of one element with its data held inline, read without copying the exit
    /// (IOExit.singleOut); else nil.
    @inlinable public var singleOut: (port: UInt16, value: UInt64, bytes: Int)? {
        if case .io(let io) = self { return io.singleOut }
        return nil
    }

    /// An IN of one element: (port, bytes); else nil.
    @inlinable public var singleIn: (port: UInt16, bytes: Int)? {
        if case .io(let io) = self, io.direction == .in, io.count == 1 { return (io.port, Int(io.size)) }
        return nil
    }
}

public struct IOExit: Equatable, Sendable {
    public enum Direction: UInt8, Sendable { case `in` = 0, out = 1 }
    public var direction: Direction
    /// Bytes per access: 1, 2 or 4.
    public var size: UInt8
    public var port: UInt16
    /// Accesses in this exit (more than one for REP INS/OUTS).
    public var count: UInt32
    /// The OUT data of up to 8 bytes, little-endian, kept in the exit itself: the commonest
    /// exit of all (an OUT of 1-4 bytes) then carries no array, so building, copying and
    /// dropping it costs no allocation or reference counting (the engine's exit round trip).
    /// (@usableFromInline: the engine and the runner build and read it across modules on
    /// every exit, where a call per accessor cost more than the accessor.)
    @usableFromInline var inlineBytes: UInt64
    @usableFromInline var inlineCount: UInt8
    /// Longer data (OUTS of more than 8 bytes), or nil.
    @usableFromInline var spilled: [UInt8]?

    public init(direction: Direction, size: UInt8, port: UInt16, count: UInt32, data: [UInt8]) {
        self.direction = direction; self.size = size; self.port = port; self.count = count
        inlineBytes = 0; inlineCount = 0; spilled = nil
        self.data = data
    }

    /// An exit whose `byteCount` (at most 8) data bytes are the low bytes of `value`.
    @inlinable
    public init(direction: Direction, size: UInt8, port: UInt16, count: UInt32, value: UInt64, byteCount: Int) {
        precondition(byteCount >= 0 && byteCount <= 8, "IOExit inline data holds at most 8 bytes")
        self.direction = direction; self.size = size; self.port = port; self.count = count
        inlineBytes = byteCount == 8 ? value : value & ((1 << UInt64(8 * byteCount)) - 1)
        inlineCount = UInt8(byteCount)
        spilled = nil
    }

    /// The same, for a `value` that has no bits set past its `byteCount` (at most 8) bytes:
    /// nothing to mask or check (the engine's exit round trip builds one per OUT).
    @inlinable
    public init(direction: Direction, size: UInt8, port: UInt16, count: UInt32, maskedValue value: UInt64, byteCount: UInt8) {
        assert(byteCount <= 8 && (byteCount == 8 || value >> UInt64(8 * byteCount) == 0), "IOExit: value wider than byteCount")
        self.direction = direction; self.size = size; self.port = port; self.count = count
        inlineBytes = value
        inlineCount = byteCount
        spilled = nil
    }

    /// For OUT: the `size * count` bytes written. Empty for IN.
    public var data: [UInt8] {
        get {
            if let spilled { return spilled }
            return (0..<Int(inlineCount)).map { UInt8(truncatingIfNeeded: inlineBytes >> UInt64(8 * $0)) }
        }
        set {
            if newValue.count <= 8 {
                var v: UInt64 = 0
                for (i, b) in newValue.enumerated() { v |= UInt64(b) << UInt64(8 * i) }
                inlineBytes = v; inlineCount = UInt8(newValue.count); spilled = nil
            } else {
                inlineBytes = 0; inlineCount = 0; spilled = newValue
            }
        }
    }

    /// Bytes of data (`data.count`) without building the array.
    @inlinable public var dataCount: Int { spilled?.count ?? Int(inlineCount) }

    /// The first (up to) 8 data bytes as a little-endian value, without building an array:
    /// the whole value of an OUT of one element.
    @inlinable public var value: UInt64 {
        if let spilled {
            var v: UInt64 = 0
            for (i, b) in spilled.prefix(8).enumerated() { v |= UInt64(b) << UInt64(8 * i) }
            return v
        }
        return inlineBytes
    }

    /// An OUT of one element with its data held inline: (port, value, bytes); else nil.
    @inlinable public var singleOut: (port: UInt16, value: UInt64, bytes: Int)? {
        direction == .out && count == 1 && spilled == nil ? (port, inlineBytes, Int(inlineCount)) : nil
    }

    public static func == (a: IOExit, b: IOExit) -> Bool {
        a.direction == b.direction && a.size == b.size && a.port == b.port && a.count == b.count && a.data == b.data
    }
}

/// The `mmio` member of `struct kvm_run`.
public struct MMIOExit: Equatable, Sendable {
    public var physicalAddress: UInt64
    /// 1 to 8 bytes.
    public var length: UInt32
    public var isWrite: Bool
    /// The written bytes, little-endian, as kvm_run.mmio.data[8] holds them: kept in the
    /// exit itself, so an MMIO write's exit carries no array (no allocation or reference
    /// counting per exit, as IOExit). 0 for reads.
    public var value: UInt64
    /// How many bytes `data` holds (the write's length; 0 for reads).
    public var dataCount: UInt8

    /// `data` of at most 8 bytes (kvm_run.mmio.data's size; more are dropped).
    public init(physicalAddress: UInt64, length: UInt32, isWrite: Bool, data: [UInt8]) {
        self.physicalAddress = physicalAddress; self.length = length; self.isWrite = isWrite
        value = 0; dataCount = 0
        self.data = data
    }

    /// An exit whose `byteCount` (at most 8) data bytes are the low bytes of `value`.
    @inlinable
    public init(physicalAddress: UInt64, length: UInt32, isWrite: Bool, value: UInt64, byteCount: Int) {
        self.physicalAddress = physicalAddress; self.length = length; self.isWrite = isWrite
        let n = min(max(byteCount, 0), 8)
        self.value = n == 8 ? value : value & ((1 << UInt64(8 * n)) - 1)
        dataCount = UInt8(n)
    }

    /// For writes: the `length` bytes written. Empty for reads.
    public var data: [UInt8] {
        get { (0..<Int(dataCount)).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) } }
        set {
            var v: UInt64 = 0
            for (i, b) in newValue.prefix(8).enumerated() { v |= UInt64(b) << UInt64(8 * i) }
            value = v; dataCount = UInt8(min(newValue.count, 8))
        }
    }
}

/// KVM_INTERNAL_ERROR_* suberrors.
public enum InternalErrorSuberror {
    public static let emulation: UInt32 = 1
    public static let simulEx: UInt32 = 2
    public static let deliveryEv: UInt32 = 3
    public static let unexpectedExitReason: UInt32 = 4
}
