// The x86 vCPU state as the KVM ABI presents it (asm/kvm.h), in Swift.
// Field names and order follow the C structs so that a reader can map one to the other.

/// General-purpose registers, RIP and RFLAGS (`struct kvm_regs`).
public struct Regs: Equatable, Sendable {
    public var rax: UInt64 = 0, rbx: UInt64 = 0, rcx: UInt64 = 0, rdx: UInt64 = 0
    public var rsi: UInt64 = 0, rdi: UInt64 = 0, rsp: UInt64 = 0, rbp: UInt64 = 0
    public var r8: UInt64 = 0, r9: UInt64 = 0, r10: UInt64 = 0, r11: UInt64 = 0
    public var r12: UInt64 = 0, r13: UInt64 = 0, r14: UInt64 = 0, r15: UInt64 = 0
    public var rip: UInt64 = 0
    /// Bit 1 is reserved-as-one on x86; KVM's reset value is 0x2.
    public var rflags: UInt64 = 0x2

    public init() {}

    /// The 16 GPRs in encoding order (rax = 0 ... r15 = 15), as ModRM numbers them.
    public var gprs: [UInt64] {
        get { [rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15] }
        set {
            precondition(newValue.count == 16, "16 GPRs")
            rax = newValue[0]; rcx = newValue[1]; rdx = newValue[2]; rbx = newValue[3]
            rsp = newValue[4]; rbp = newValue[5]; rsi = newValue[6]; rdi = newValue[7]
            r8 = newValue[8]; r9 = newValue[9]; r10 = newValue[10]; r11 = newValue[11]
            r12 = newValue[12]; r13 = newValue[13]; r14 = newValue[14]; r15 = newValue[15]
        }
    }

    /// Register names in encoding order, for reports.
    public static let gprNames = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                  "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
}

/// A segment register with its hidden descriptor cache (`struct kvm_segment`).
public struct Segment: Equatable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt32 = 0xFFFF
    public var selector: UInt16 = 0
    /// Descriptor type field (4 bits): 0x3 = read/write accessed data, 0xB = exec/read accessed code.
    public var type: UInt8 = 0x3
    public var present: UInt8 = 1, dpl: UInt8 = 0, db: UInt8 = 0, s: UInt8 = 1, l: UInt8 = 0, g: UInt8 = 0, avl: UInt8 = 0
    public var unusable: UInt8 = 0

    public init() {}

    public init(base: UInt64, limit: UInt32, selector: UInt16, type: UInt8, present: UInt8 = 1,
                dpl: UInt8 = 0, db: UInt8 = 0, s: UInt8 = 1, l: UInt8 = 0, g: UInt8 = 0,
                avl: UInt8 = 0, unusable: UInt8 = 0) {
        self.base = base; self.limit = limit; self.selector = selector; self.type = type
        self.present = present; self.dpl = dpl; self.db = db; self.s = s; self.l = l; self.g = g
        self.avl = avl; self.unusable = unusable
    }

    /// A real-mode segment: base = selector * 16, 64 KiB limit.
    public static func realMode(selector: UInt16, code: Bool = false) -> Segment {
        Segment(base: UInt64(selector) << 4, limit: 0xFFFF, selector: selector, type: code ? 0xB : 0x3)
    }
}

/// GDTR / IDTR (`struct kvm_dtable`).
public struct DescriptorTable: Equatable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt16 = 0xFFFF
    public init(base: UInt64 = 0, limit: UInt16 = 0xFFFF) { self.base = base; self.limit = limit }
}

/// Segment, control and system registers (`struct kvm_sregs`).
public struct SpecialRegisters: Equatable, Sendable {
    public var cs = Segment(base: 0, limit: 0xFFFF, selector: 0, type: 0xB)
    public var ds = Segment(), es = Segment(), fs = Segment(), gs = Segment(), ss = Segment()
    public var tr = Segment(base: 0, limit: 0xFFFF, selector: 0, type: 0xB, s: 0)
    public var ldt = Segment(base: 0, limit: 0xFFFF, selector: 0, type: 0x2, s: 0)
    public var gdt = DescriptorTable(), idt = DescriptorTable()
    /// KVM's reset CR0 is 0x60000010 (CD | NW | ET).
    public var cr0: UInt64 = 0x6000_0010
    public var cr2: UInt64 = 0, cr3: UInt64 = 0, cr4: UInt64 = 0, cr8: UInt64 = 0
    public var efer: UInt64 = 0
    /// 0xFEE00900: default LAPIC base, enabled, BSP.
    public var apicBase: UInt64 = 0xFEE0_0900
    /// One bit per pending external interrupt vector (only one may be set, see KVM_SET_SREGS).
    public var interruptBitmap: [UInt64] = [0, 0, 0, 0]

    public init() {}
}

/// x87/SSE state (`struct kvm_fpu`).
public struct FPU: Equatable, Sendable {
    /// ST0-ST7, 16 bytes each (80-bit value + padding).
    public var fpr: [UInt8] = Array(repeating: 0, count: 128)
    public var fcw: UInt16 = 0x37F
    public var fsw: UInt16 = 0
    public var ftwx: UInt8 = 0
    public var lastOpcode: UInt16 = 0
    public var lastIP: UInt64 = 0
    public var lastDP: UInt64 = 0
    /// XMM0-XMM15, 16 bytes each.
    public var xmm: [UInt8] = Array(repeating: 0, count: 256)
    public var mxcsr: UInt32 = 0x1F80
    public init() {}
}

/// One MSR (`struct kvm_msr_entry`).
public struct MSREntry: Equatable, Sendable {
    public var index: UInt32
    public var data: UInt64
    public init(index: UInt32, data: UInt64) { self.index = index; self.data = data }
}

/// One CPUID leaf (`struct kvm_cpuid_entry2`).
public struct CPUIDEntry: Equatable, Sendable {
    public var function: UInt32
    public var index: UInt32
    /// KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1: the subleaf (index) matters.
    public var flags: UInt32
    public var eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32
    public init(function: UInt32, index: UInt32 = 0, flags: UInt32 = 0,
                eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
        self.function = function; self.index = index; self.flags = flags
        self.eax = eax; self.ebx = ebx; self.ecx = ecx; self.edx = edx
    }
    public static let significantIndex: UInt32 = 1
}

/// Pending and injected events (`struct kvm_vcpu_events`).
public struct VCPUEvents: Equatable, Sendable {
    public struct Exception: Equatable, Sendable {
        public var injected: UInt8 = 0, nr: UInt8 = 0, hasErrorCode: UInt8 = 0, pending: UInt8 = 0
        public var errorCode: UInt32 = 0
        public init() {}
    }
    public struct Interrupt: Equatable, Sendable {
        public var injected: UInt8 = 0, nr: UInt8 = 0, soft: UInt8 = 0
        /// KVM_X86_SHADOW_INT_MOV_SS = 1, KVM_X86_SHADOW_INT_STI = 2.
        public var shadow: UInt8 = 0
        public init() {}
    }
    public struct NMI: Equatable, Sendable {
        public var injected: UInt8 = 0, pending: UInt8 = 0, masked: UInt8 = 0
        public init() {}
    }
    public struct SMI: Equatable, Sendable {
        public var smm: UInt8 = 0, pending: UInt8 = 0, smmInsideNMI: UInt8 = 0, latchedInit: UInt8 = 0
        public init() {}
    }
    public var exception = Exception()
    public var interrupt = Interrupt()
    public var nmi = NMI()
    public var sipiVector: UInt32 = 0
    /// KVM_VCPUEVENT_VALID_* bits.
    public var flags: UInt32 = 0
    public var smi = SMI()
    public var tripleFaultPending: UInt8 = 0
    public var exceptionHasPayload: UInt8 = 0
    public var exceptionPayload: UInt64 = 0
    public init() {}

    public static let validNMIPending: UInt32 = 0x1
    public static let validSIPIVector: UInt32 = 0x2
    public static let validShadow: UInt32 = 0x4
    public static let validSMM: UInt32 = 0x8
    public static let validPayload: UInt32 = 0x10
    public static let validTripleFault: UInt32 = 0x20
}

/// `struct kvm_xsave` (KVM_GET/SET_XSAVE): the vCPU's x87, SSE and extended state as one
/// XSAVE image in the standard form (SDM Vol. 1 13.4): the 512-byte legacy region (the
/// FXSAVE layout), the 64-byte header (XSTATE_BV at 512, XCOMP_BV at 520, which KVM wants
/// 0) and the components at their CPUID.(0DH,i) offsets.
public struct XSaveState: Equatable, Sendable {
    public static let size = 4096
    public var region: [UInt8]
    public init(region: [UInt8] = [UInt8](repeating: 0, count: XSaveState.size)) {
        self.region = region.count == Self.size ? region : Array((region + [UInt8](repeating: 0, count: Self.size)).prefix(Self.size))
    }
    /// The components whose state the image holds (bit 0 x87, 1 SSE, 2 AVX, ...).
    public var xstateBV: UInt64 {
        get { (0..<8).reduce(UInt64(0)) { $0 | UInt64(region[512 + $1]) << UInt64(8 * $1) } }
        set { for i in 0..<8 { region[512 + i] = UInt8(truncatingIfNeeded: newValue >> UInt64(8 * i)) } }
    }
    public var xcompBV: UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(region[520 + $1]) << UInt64(8 * $1) } }
    public var fcw: UInt16 { UInt16(region[0]) | UInt16(region[1]) << 8 }
    public var mxcsr: UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(region[24 + $1]) << UInt32(8 * $1) } }
    /// XMM register `i` (0-15), 16 bytes at 160 + 16 i.
    public func xmm(_ i: Int) -> [UInt8] { Array(region[(160 + 16 * i)..<(176 + 16 * i)]) }
}

/// KVM_SET_GUEST_DEBUG (`struct kvm_guest_debug`).
public struct GuestDebug: Equatable, Sendable {
    public static let enable: UInt32 = 0x1
    public static let singleStep: UInt32 = 0x2
    public static let useSoftwareBreakpoints: UInt32 = 0x1_0000
    public static let useHardwareBreakpoints: UInt32 = 0x2_0000
    public static let injectDB: UInt32 = 0x4_0000
    public static let injectBP: UInt32 = 0x8_0000
    public static let blockIRQ: UInt32 = 0x10_0000

    public var control: UInt32 = 0
    /// DR0-DR7 as the guest should see them while debugging (DR4/DR5 unused).
    public var debugreg: [UInt64] = Array(repeating: 0, count: 8)
    public init(control: UInt32 = 0, debugreg: [UInt64] = Array(repeating: 0, count: 8)) {
        self.control = control; self.debugreg = debugreg
    }
}

/// KVM_IRQ_LINE (`struct kvm_irq_level`).
public struct IRQLevel: Equatable, Sendable {
    public var irq: UInt32
    public var level: UInt32
    public init(irq: UInt32, level: UInt32) { self.irq = irq; self.level = level }
}

/// `struct kvm_mp_state`: a vCPU's multiprocessing state (KVM_GET/SET_MP_STATE). The x86
/// values; KVM_SET_MP_STATE takes any number, so this is a raw value with names.
public struct MPState: RawRepresentable, Equatable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let runnable = MPState(rawValue: 0)
    /// An AP that has not yet taken INIT (kvm_arch_vcpu_create with an in-kernel LAPIC).
    public static let uninitialized = MPState(rawValue: 1)
    /// INIT taken, waiting for a start-up IPI.
    public static let initReceived = MPState(rawValue: 2)
    public static let halted = MPState(rawValue: 3)
    /// Set only: KVM stores INIT_RECEIVED with a pending SIPI (kvm_arch_vcpu_ioctl_set_mpstate).
    public static let sipiReceived = MPState(rawValue: 4)
    /// s390 only; refused on x86.
    public static let stopped = MPState(rawValue: 5)
    /// SEV-ES AP reset hold: a halt the guest leaves on a SIPI-like wake-up.
    public static let apResetHold = MPState(rawValue: 9)

    public var description: String {
        switch rawValue {
        case 0: "KVM_MP_STATE_RUNNABLE"
        case 1: "KVM_MP_STATE_UNINITIALIZED"
        case 2: "KVM_MP_STATE_INIT_RECEIVED"
        case 3: "KVM_MP_STATE_HALTED"
        case 4: "KVM_MP_STATE_SIPI_RECEIVED"
        case 5: "KVM_MP_STATE_STOPPED"
        case 9: "KVM_MP_STATE_AP_RESET_HOLD"
        default: "mp_state \(rawValue)"
        }
    }
}

/// `struct kvm_debugregs` (KVM_GET/SET_DEBUGREGS): DR0-DR3, DR6, DR7 as KVM keeps them
/// (vcpu->arch.db, dr6, dr7); `flags` must be 0 on a set.
public struct DebugRegisters: Equatable, Sendable {
    public var db: [UInt64] = [0, 0, 0, 0]
    public var dr6: UInt64 = 0
    public var dr7: UInt64 = 0
    public var flags: UInt64 = 0
    public init(db: [UInt64] = [0, 0, 0, 0], dr6: UInt64 = 0, dr7: UInt64 = 0, flags: UInt64 = 0) {
        self.db = db; self.dr6 = dr6; self.dr7 = dr7; self.flags = flags
    }
}

/// One extended control register of `struct kvm_xcrs` (KVM_GET/SET_XCRS): XCR `index`.
public struct XCR: Equatable, Sendable {
    public var index: UInt32
    public var value: UInt64
    public init(index: UInt32, value: UInt64) { self.index = index; self.value = value }
}

/// `struct kvm_xcrs`: at most KVM_MAX_XCRS (16) registers; `flags` must be 0 on a set.
public struct XCRs: Equatable, Sendable {
    public static let maximum = 16
    public var xcrs: [XCR]
    public var flags: UInt32 = 0
    public init(_ xcrs: [XCR], flags: UInt32 = 0) { self.xcrs = xcrs; self.flags = flags }
}

/// `struct kvm_translation` (KVM_TRANSLATE): the guest-physical address of a linear address
/// under the vCPU's current paging. KVM reports an untranslatable address as valid 0 with
/// physical address ~0 (INVALID_GPA), and always writeable 1, usermode 0.
public struct Translation: Equatable, Sendable {
    public var physicalAddress: UInt64
    public var valid: Bool
    public var writeable: Bool
    public var usermode: Bool
    public init(physicalAddress: UInt64, valid: Bool, writeable: Bool, usermode: Bool) {
        self.physicalAddress = physicalAddress; self.valid = valid; self.writeable = writeable; self.usermode = usermode
    }
}

/// `struct kvm_clock_data` (KVM_GET/SET_CLOCK): the VM's kvmclock in ns. KVM_SET_CLOCK takes
/// only KVM_CLOCK_REALTIME among the flags (with `realtime`), and accepts what GET returned.
public struct ClockData: Equatable, Sendable {
    public static let tscStable: UInt32 = 2, realtimeFlag: UInt32 = 4, hostTSCFlag: UInt32 = 8
    public var clock: UInt64
    public var flags: UInt32 = 0
    public var realtime: UInt64 = 0
    public var hostTSC: UInt64 = 0
    public init(clock: UInt64, flags: UInt32 = 0, realtime: UInt64 = 0, hostTSC: UInt64 = 0) {
        self.clock = clock; self.flags = flags; self.realtime = realtime; self.hostTSC = hostTSC
    }
}

/// `struct kvm_lapic_state` (KVM_GET/SET_LAPIC): the LAPIC's 1 KiB register page as KVM
/// keeps it (xAPIC offsets; each register the low 32 bits of its 16-byte slot).
public struct LAPICState: Equatable, Sendable {
    public static let size = 1024
    public var regs: [UInt8]
    public init(regs: [UInt8] = [UInt8](repeating: 0, count: LAPICState.size)) {
        self.regs = regs.count == Self.size ? regs : Array((regs + [UInt8](repeating: 0, count: Self.size)).prefix(Self.size))
    }
    /// The 32-bit register at `offset` (0x000-0x3F0).
    public func register(_ offset: Int) -> UInt32 {
        guard offset >= 0, offset + 4 <= Self.size else { return 0 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(regs[offset + $1]) << UInt32(8 * $1) }
    }
    public mutating func setRegister(_ offset: Int, _ value: UInt32) {
        guard offset >= 0, offset + 4 <= Self.size else { return }
        for i in 0..<4 { regs[offset + i] = UInt8(truncatingIfNeeded: value >> UInt32(8 * i)) }
    }
}

/// `struct kvm_pic_state`, one 8259 of KVM_GET/SET_IRQCHIP (chip 0 master, 1 slave).
public struct PICState: Equatable, Sendable {
    public var lastIRR: UInt8 = 0, irr: UInt8 = 0, imr: UInt8 = 0, isr: UInt8 = 0
    public var priorityAdd: UInt8 = 0, irqBase: UInt8 = 0, readRegSelect: UInt8 = 0, poll: UInt8 = 0
    public var specialMask: UInt8 = 0, initState: UInt8 = 0, autoEOI: UInt8 = 0, rotateOnAutoEOI: UInt8 = 0
    public var specialFullyNested: UInt8 = 0, init4: UInt8 = 0, elcr: UInt8 = 0, elcrMask: UInt8 = 0
    public init() {}
    /// The 16 bytes in the struct's order.
    public var bytes: [UInt8] {
        get { [lastIRR, irr, imr, isr, priorityAdd, irqBase, readRegSelect, poll, specialMask, initState,
               autoEOI, rotateOnAutoEOI, specialFullyNested, init4, elcr, elcrMask] }
        set {
            let b = newValue + [UInt8](repeating: 0, count: 16)
            lastIRR = b[0]; irr = b[1]; imr = b[2]; isr = b[3]; priorityAdd = b[4]; irqBase = b[5]
            readRegSelect = b[6]; poll = b[7]; specialMask = b[8]; initState = b[9]; autoEOI = b[10]
            rotateOnAutoEOI = b[11]; specialFullyNested = b[12]; init4 = b[13]; elcr = b[14]; elcrMask = b[15]
        }
    }
}

/// `struct kvm_ioapic_state` (KVM_GET/SET_IRQCHIP chip 2): 24 redirection entries.
public struct IOAPICState: Equatable, Sendable {
    public var baseAddress: UInt64 = 0xFEC0_0000
    public var ioregsel: UInt32 = 0
    public var id: UInt32 = 0
    public var irr: UInt32 = 0
    public var redirection: [UInt64] = Array(repeating: 1 << 16, count: 24)
    public init() {}
}

/// One chip of KVM_GET/SET_IRQCHIP.
public enum IRQChipState: Equatable, Sendable {
    case picMaster(PICState)
    case picSlave(PICState)
    case ioapic(IOAPICState)
    /// chip_id: 0 master PIC, 1 slave PIC, 2 IOAPIC.
    public var chipID: UInt32 {
        switch self { case .picMaster: 0; case .picSlave: 1; case .ioapic: 2 }
    }
}

/// `struct kvm_pit_channel_state`: one 8254 counter as KVM keeps it (i8254.c).
public struct PITChannelState: Equatable, Sendable {
    /// The reload value in binary; 0x10000 for a written 0.
    public var count: UInt32 = 0x10000
    public var latchedCount: UInt16 = 0
    public var countLatched: UInt8 = 0, statusLatched: UInt8 = 0, status: UInt8 = 0
    public var readState: UInt8 = 0, writeState: UInt8 = 0, writeLatch: UInt8 = 0
    public var rwMode: UInt8 = 0, mode: UInt8 = 0xFF, bcd: UInt8 = 0, gate: UInt8 = 0
    /// When the count was loaded (the backend's clock, ns); ignored by a set.
    public var countLoadTime: Int64 = 0
    public init() {}
}

/// `struct kvm_pit_state2` (KVM_GET/SET_PIT2): three counters and the flags
/// (KVM_PIT_FLAGS_HPET_LEGACY 1, KVM_PIT_FLAGS_SPEAKER_DATA_ON 2).
public struct PITState2: Equatable, Sendable {
    public static let hpetLegacy: UInt32 = 1, speakerDataOn: UInt32 = 2
    public var channels: [PITChannelState] = [PITChannelState(), PITChannelState(), PITChannelState()]
    public var flags: UInt32 = 0
    public init() {}
}

/// `struct kvm_sregs2` (KVM_GET/SET_SREGS2): the special registers without the interrupt
/// bitmap, plus the PAE PDPTEs, valid when `flags` has KVM_SREGS2_FLAGS_PDPTRS_VALID.
public struct SpecialRegisters2: Equatable, Sendable {
    public static let pdptrsValid: UInt64 = 1
    /// Everything but `interruptBitmap`, which kvm_sregs2 does not have.
    public var sregs: SpecialRegisters
    public var flags: UInt64 = 0
    public var pdptrs: [UInt64] = [0, 0, 0, 0]
    public init(sregs: SpecialRegisters, flags: UInt64 = 0, pdptrs: [UInt64] = [0, 0, 0, 0]) {
        self.sregs = sregs; self.flags = flags; self.pdptrs = pdptrs
    }
}
