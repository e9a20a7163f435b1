/// Basic exit reasons (Intel SDM Vol. 3D, Appendix C "VMX Basic Exit Reasons").
public enum VMXExitReason: UInt16, Sendable {
    case exceptionOrNMI = 0
    case externalInterrupt = 1
    case tripleFault = 2
    case initSignal = 3
    case interruptWindow = 7
    case nmiWindow = 8
    case taskSwitch = 9
    case cpuid = 10
    case getsec = 11
    case hlt = 12
    case invd = 13
    case invlpg = 14
    case rdpmc = 15
    case rdtsc = 16
    case vmcall = 18
    case vmclear = 19
    case vmlaunch = 20
    case vmptrld = 21
    case vmptrst = 22
    case vmread = 23
    case vmresume = 24
    case vmwrite = 25
    case vmxoff = 26
    case vmxon = 27
    case crAccess = 28
    case drAccess = 29
    case ioInstruction = 30
    case rdmsr = 31
    case wrmsr = 32
    case entryFailGuestState = 33
    case mwait = 36
    case monitorTrapFlag = 37
    case monitor = 39
    case pause = 40
    case tprBelowThreshold = 43
    case apicAccess = 44
    case gdtrIdtrAccess = 46
    case ldtrTrAccess = 47
    case eptViolation = 48
    case eptMisconfig = 49
    case invept = 50
    case rdtscp = 51
    case preemptionTimer = 52
    case invvpid = 53
    case wbinvd = 54
    case xsetbv = 55
    case rdrand = 57
    case invpcid = 58
    case rdseed = 61
    case xsaves = 63
    case xrstors = 64

    /// The SDM's name for the reason.
    public var name: String {
        switch self {
        case .exceptionOrNMI: "Exception or non-maskable interrupt (NMI)"
        case .externalInterrupt: "External interrupt"
        case .tripleFault: "Triple fault"
        case .initSignal: "INIT signal"
        case .interruptWindow: "Interrupt window"
        case .nmiWindow: "NMI window"
        case .taskSwitch: "Task switch"
        case .cpuid: "CPUID"
        case .getsec: "GETSEC"
        case .hlt: "HLT"
        case .invd: "INVD"
        case .invlpg: "INVLPG"
        case .rdpmc: "RDPMC"
        case .rdtsc: "RDTSC"
        case .vmcall: "VMCALL"
        case .vmclear: "VMCLEAR"
        case .vmlaunch: "VMLAUNCH"
        case .vmptrld: "VMPTRLD"
        case .vmptrst: "VMPTRST"
        case .vmread: "VMREAD"
        case .vmresume: "VMRESUME"
        case .vmwrite: "VMWRITE"
        case .vmxoff: "VMXOFF"
        case .vmxon: "VMXON"
        case .crAccess: "Control-register accesses"
        case .drAccess: "MOV DR"
        case .ioInstruction: "I/O instruction"
        case .rdmsr: "RDMSR"
        case .wrmsr: "WRMSR"
        case .entryFailGuestState: "VM-entry failure due to invalid guest state"
        case .mwait: "MWAIT"
        case .monitorTrapFlag: "Monitor trap flag"
        case .monitor: "MONITOR"
        case .pause: "PAUSE"
        case .tprBelowThreshold: "TPR below threshold"
        case .apicAccess: "APIC access"
        case .gdtrIdtrAccess: "Access to GDTR or IDTR"
        case .ldtrTrAccess: "Access to LDTR or TR"
        case .eptViolation: "EPT violation"
        case .eptMisconfig: "EPT misconfiguration"
        case .invept: "INVEPT"
        case .rdtscp: "RDTSCP"
        case .preemptionTimer: "VMX-preemption timer expired"
        case .invvpid: "INVVPID"
        case .wbinvd: "WBINVD"
        case .xsetbv: "XSETBV"
        case .rdrand: "RDRAND"
        case .invpcid: "INVPCID"
        case .rdseed: "RDSEED"
        case .xsaves: "XSAVES"
        case .xrstors: "XRSTORS"
        }
    }
}

/// One VM exit of the modelled VMX CPU and what KVM did with it.
public struct VMXTraceRecord: Equatable, Sendable, CustomStringConvertible {
    public var reason: VMXExitReason
    /// Exit qualification (SDM Vol. 3C 28.2.1), 0 where the reason defines none.
    public var qualification: UInt64
    /// Guest-physical address (EPT violation / misconfiguration).
    public var guestPhysicalAddress: UInt64?
    /// Guest-linear address where the SDM reports one (EPT violation with bit 7, INVLPG, I/O strings).
    public var guestLinearAddress: UInt64?
    /// Guest RIP of the instruction that exited.
    public var rip: UInt64
    /// VM-exit interruption information for exception exits (vector), else nil.
    public var vector: UInt8?
    /// The KVM exit it produced (`KVM_EXIT_IO`) or "handled in kernel".
    public var outcome: String

    public var basicExitReason: UInt16 { reason.rawValue }
    public var reasonName: String { reason.name }

    public init(reason: VMXExitReason, qualification: UInt64 = 0, guestPhysicalAddress: UInt64? = nil,
                guestLinearAddress: UInt64? = nil, rip: UInt64, vector: UInt8? = nil, outcome: String) {
        self.reason = reason; self.qualification = qualification
        self.guestPhysicalAddress = guestPhysicalAddress; self.guestLinearAddress = guestLinearAddress
        self.rip = rip; self.vector = vector; self.outcome = outcome
    }

    public var description: String {
        var s = "\(reason.rawValue) \(reason.name) qual=0x\(String(qualification, radix: 16))"
        if reason == .eptViolation { s += " (" + VMXQualification.describeEPTViolation(qualification) + ")" }
        s += " rip=0x\(String(rip, radix: 16))"
        if let g = guestPhysicalAddress { s += " gpa=0x\(String(g, radix: 16))" }
        if let l = guestLinearAddress { s += " gla=0x\(String(l, radix: 16))" }
        if let v = vector { s += " vector=\(v)" }
        return s + " -> " + outcome
    }

    public static let handledInKernel = "handled in kernel"
}

/// Exit qualification encoders (SDM Vol. 3C 28.2.1).
enum VMXQualification {
    /// An EPT-violation qualification in words (Table 28-7): the access (bits 0-2), what the
    /// EPT entry allowed (bits 3-5, `---` when there was no entry: KVM had not mapped the page
    /// yet, or the GPA has no memory), whether the linear address is valid (bit 7) and, if it
    /// is, whether the access was to the final translation or to a guest paging structure
    /// during the walk (bit 8). E.g. `write; EPT entry ---; linear address valid; final translation`.
    static func describeEPTViolation(_ q: UInt64) -> String {
        let access = [(1, "read"), (2, "write"), (4, "fetch")].filter { q & UInt64($0.0) != 0 }.map(\.1)
        let perms = (q & 8 != 0 ? "r" : "-") + (q & 16 != 0 ? "w" : "-") + (q & 32 != 0 ? "x" : "-")
        var parts = [access.isEmpty ? "no access bits" : access.joined(separator: "+"), "EPT entry \(perms)"]
        if q & 0x80 != 0 {
            parts.append("linear address valid")
            parts.append(q & 0x100 != 0 ? "final translation" : "guest paging-structure access")
        } else {
            parts.append("no linear address")
        }
        return parts.joined(separator: "; ")
    }

    /// Table 28-5, I/O instructions: size-1 in bits 2:0, direction bit 3 (1 = IN),
    /// string bit 4, REP bit 5, operand encoding bit 6 (1 = immediate), port in 31:16.
    static func io(size: Int, isIn: Bool, string: Bool, rep: Bool, immediate: Bool, port: UInt16) -> UInt64 {
        UInt64(truncatingIfNeeded: size &- 1) & 7 | (isIn ? 8 : 0) | (string ? 0x10 : 0) | (rep ? 0x20 : 0) | (immediate ? 0x40 : 0)
            | UInt64(port) << 16
    }

    /// Table 28-7, EPT violations: bit 0 read, 1 write, 2 fetch; bits 3-5 the EPT entry's
    /// read/write/execute permissions; bit 7 linear address valid; bit 8 set when the access
    /// was to the final translation (not to a paging structure).
    static func eptViolation(read: Bool, write: Bool, fetch: Bool, permissions: UInt64,
                             linearValid: Bool, finalTranslation: Bool) -> UInt64 {
        (read ? 1 : 0) | (write ? 2 : 0) | (fetch ? 4 : 0) | (permissions & 7) << 3
            | (linearValid ? 0x80 : 0) | (linearValid && finalTranslation ? 0x100 : 0)
    }

    /// Table 28-3, control-register accesses: CR number 3:0, access type 5:4 (0 MOV to CR,
    /// 1 MOV from CR, 2 CLTS, 3 LMSW), LMSW operand type bit 6, GPR 11:8, LMSW data 31:16.
    static func crAccess(cr: Int, type: Int, gpr: Int, lmswData: UInt16 = 0, lmswMemory: Bool = false) -> UInt64 {
        UInt64(cr & 15) | UInt64(type & 3) << 4 | (lmswMemory ? 0x40 : 0) | UInt64(gpr & 15) << 8
            | UInt64(lmswData) << 16
    }
}
