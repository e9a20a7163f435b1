// Generated from linux/kvm.h (6.1 uapi) by hand-run script; one constant per KVM_CAP_*.
// The names are KVM's own so that `kvm-unit probe` output can be grepped against the API docs.

/// A KVM capability number, as passed to KVM_CHECK_EXTENSION.
public struct Capability: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// KVM's name for the capability (`KVM_CAP_IRQCHIP`), or `KVM_CAP_<n>` if unknown.
    public var name: String { Capability.names[rawValue] ?? "KVM_CAP_\(rawValue)" }
    public var description: String { name }

    public static let irqchip = Capability(rawValue: 0)
    public static let hlt = Capability(rawValue: 1)
    public static let mmuShadowCacheControl = Capability(rawValue: 2)
    public static let userMemory = Capability(rawValue: 3)
    public static let setTssAddr = Capability(rawValue: 4)
    public static let vapic = Capability(rawValue: 6)
    public static let extCpuid = Capability(rawValue: 7)
    public static let clocksource = Capability(rawValue: 8)
    public static let nrVcpus = Capability(rawValue: 9)
    public static let nrMemslots = Capability(rawValue: 10)
    public static let pit = Capability(rawValue: 11)
    public static let nopIoDelay = Capability(rawValue: 12)
    public static let pvMmu = Capability(rawValue: 13)
    public static let mpState = Capability(rawValue: 14)
    public static let coalescedMmio = Capability(rawValue: 15)
    public static let syncMmu = Capability(rawValue: 16)
    public static let iommu = Capability(rawValue: 18)
    public static let destroyMemoryRegionWorks = Capability(rawValue: 21)
    public static let userNmi = Capability(rawValue: 22)
    public static let setGuestDebug = Capability(rawValue: 23)
    public static let reinjectControl = Capability(rawValue: 24)
    public static let irqRouting = Capability(rawValue: 25)
    public static let irqInjectStatus = Capability(rawValue: 26)
    public static let assignDevIrq = Capability(rawValue: 29)
    public static let joinMemoryRegionsWorks = Capability(rawValue: 30)
    public static let mce = Capability(rawValue: 31)
    public static let irqfd = Capability(rawValue: 32)
    public static let pit2 = Capability(rawValue: 33)
    public static let setBootCpuId = Capability(rawValue: 34)
    public static let pitState2 = Capability(rawValue: 35)
    public static let ioeventfd = Capability(rawValue: 36)
    public static let setIdentityMapAddr = Capability(rawValue: 37)
    public static let xenHvm = Capability(rawValue: 38)
    public static let adjustClock = Capability(rawValue: 39)
    public static let internalErrorData = Capability(rawValue: 40)
    public static let vcpuEvents = Capability(rawValue: 41)
    public static let s390Psw = Capability(rawValue: 42)
    public static let ppcSegstate = Capability(rawValue: 43)
    public static let hyperv = Capability(rawValue: 44)
    public static let hypervVapic = Capability(rawValue: 45)
    public static let hypervSpin = Capability(rawValue: 46)
    public static let pciSegment = Capability(rawValue: 47)
    public static let ppcPairedSingles = Capability(rawValue: 48)
    public static let intrShadow = Capability(rawValue: 49)
    public static let debugregs = Capability(rawValue: 50)
    public static let x86RobustSinglestep = Capability(rawValue: 51)
    public static let ppcOsi = Capability(rawValue: 52)
    public static let ppcUnsetIrq = Capability(rawValue: 53)
    public static let enableCap = Capability(rawValue: 54)
    public static let xsave = Capability(rawValue: 55)
    public static let xcrs = Capability(rawValue: 56)
    public static let ppcGetPvinfo = Capability(rawValue: 57)
    public static let ppcIrqLevel = Capability(rawValue: 58)
    public static let asyncPf = Capability(rawValue: 59)
    public static let tscControl = Capability(rawValue: 60)
    public static let getTscKhz = Capability(rawValue: 61)
    public static let ppcBookeSregs = Capability(rawValue: 62)
    public static let spaprTce = Capability(rawValue: 63)
    public static let ppcSmt = Capability(rawValue: 64)
    public static let ppcRma = Capability(rawValue: 65)
    public static let maxVcpus = Capability(rawValue: 66)
    public static let ppcHior = Capability(rawValue: 67)
    public static let ppcPapr = Capability(rawValue: 68)
    public static let swTlb = Capability(rawValue: 69)
    public static let oneReg = Capability(rawValue: 70)
    public static let s390Gmap = Capability(rawValue: 71)
    public static let tscDeadlineTimer = Capability(rawValue: 72)
    public static let s390Ucontrol = Capability(rawValue: 73)
    public static let syncRegs = Capability(rawValue: 74)
    public static let pci23 = Capability(rawValue: 75)
    public static let kvmclockCtrl = Capability(rawValue: 76)
    public static let signalMsi = Capability(rawValue: 77)
    public static let ppcGetSmmuInfo = Capability(rawValue: 78)
    public static let s390Cow = Capability(rawValue: 79)
    public static let ppcAllocHtab = Capability(rawValue: 80)
    public static let readonlyMem = Capability(rawValue: 81)
    public static let irqfdResample = Capability(rawValue: 82)
    public static let ppcBookeWatchdog = Capability(rawValue: 83)
    public static let ppcHtabFd = Capability(rawValue: 84)
    public static let s390CssSupport = Capability(rawValue: 85)
    public static let ppcEpr = Capability(rawValue: 86)
    public static let armPsci = Capability(rawValue: 87)
    public static let armSetDeviceAddr = Capability(rawValue: 88)
    public static let deviceCtrl = Capability(rawValue: 89)
    public static let irqMpic = Capability(rawValue: 90)
    public static let ppcRtas = Capability(rawValue: 91)
    public static let irqXics = Capability(rawValue: 92)
    public static let armEl132bit = Capability(rawValue: 93)
    public static let spaprMultitce = Capability(rawValue: 94)
    public static let extEmulCpuid = Capability(rawValue: 95)
    public static let hypervTime = Capability(rawValue: 96)
    public static let ioapicPolarityIgnored = Capability(rawValue: 97)
    public static let enableCapVm = Capability(rawValue: 98)
    public static let s390Irqchip = Capability(rawValue: 99)
    public static let ioeventfdNoLength = Capability(rawValue: 100)
    public static let vmAttributes = Capability(rawValue: 101)
    public static let armPsci02 = Capability(rawValue: 102)
    public static let ppcFixupHcall = Capability(rawValue: 103)
    public static let ppcEnableHcall = Capability(rawValue: 104)
    public static let checkExtensionVm = Capability(rawValue: 105)
    public static let s390UserSigp = Capability(rawValue: 106)
    public static let s390VectorRegisters = Capability(rawValue: 107)
    public static let s390MemOp = Capability(rawValue: 108)
    public static let s390UserStsi = Capability(rawValue: 109)
    public static let s390Skeys = Capability(rawValue: 110)
    public static let mipsFpu = Capability(rawValue: 111)
    public static let mipsMsa = Capability(rawValue: 112)
    public static let s390InjectIrq = Capability(rawValue: 113)
    public static let s390IrqState = Capability(rawValue: 114)
    public static let ppcHwrng = Capability(rawValue: 115)
    public static let disableQuirks = Capability(rawValue: 116)
    public static let x86Smm = Capability(rawValue: 117)
    public static let multiAddressSpace = Capability(rawValue: 118)
    public static let guestDebugHwBps = Capability(rawValue: 119)
    public static let guestDebugHwWps = Capability(rawValue: 120)
    public static let splitIrqchip = Capability(rawValue: 121)
    public static let ioeventfdAnyLength = Capability(rawValue: 122)
    public static let hypervSynic = Capability(rawValue: 123)
    public static let s390Ri = Capability(rawValue: 124)
    public static let spaprTce64 = Capability(rawValue: 125)
    public static let armPmuV3 = Capability(rawValue: 126)
    public static let vcpuAttributes = Capability(rawValue: 127)
    public static let maxVcpuId = Capability(rawValue: 128)
    public static let x2apicApi = Capability(rawValue: 129)
    public static let s390UserInstr0 = Capability(rawValue: 130)
    public static let msiDevid = Capability(rawValue: 131)
    public static let ppcHtm = Capability(rawValue: 132)
    public static let spaprResizeHpt = Capability(rawValue: 133)
    public static let ppcMmuRadix = Capability(rawValue: 134)
    public static let ppcMmuHashV3 = Capability(rawValue: 135)
    public static let immediateExit = Capability(rawValue: 136)
    public static let mipsVz = Capability(rawValue: 137)
    public static let mipsTe = Capability(rawValue: 138)
    public static let mips64bit = Capability(rawValue: 139)
    public static let s390Gs = Capability(rawValue: 140)
    public static let s390Ais = Capability(rawValue: 141)
    public static let spaprTceVfio = Capability(rawValue: 142)
    public static let x86DisableExits = Capability(rawValue: 143)
    public static let armUserIrq = Capability(rawValue: 144)
    public static let s390CmmaMigration = Capability(rawValue: 145)
    public static let ppcFwnmi = Capability(rawValue: 146)
    public static let ppcSmtPossible = Capability(rawValue: 147)
    public static let hypervSynic2 = Capability(rawValue: 148)
    public static let hypervVpIndex = Capability(rawValue: 149)
    public static let s390AisMigration = Capability(rawValue: 150)
    public static let ppcGetCpuChar = Capability(rawValue: 151)
    public static let s390Bpb = Capability(rawValue: 152)
    public static let getMsrFeatures = Capability(rawValue: 153)
    public static let hypervEventfd = Capability(rawValue: 154)
    public static let hypervTlbflush = Capability(rawValue: 155)
    public static let s390Hpage1m = Capability(rawValue: 156)
    public static let nestedState = Capability(rawValue: 157)
    public static let armInjectSerrorEsr = Capability(rawValue: 158)
    public static let msrPlatformInfo = Capability(rawValue: 159)
    public static let ppcNestedHv = Capability(rawValue: 160)
    public static let hypervSendIpi = Capability(rawValue: 161)
    public static let coalescedPio = Capability(rawValue: 162)
    public static let hypervEnlightenedVmcs = Capability(rawValue: 163)
    public static let exceptionPayload = Capability(rawValue: 164)
    public static let armVmIpaSize = Capability(rawValue: 165)
    public static let manualDirtyLogProtect = Capability(rawValue: 166)
    public static let hypervCpuid = Capability(rawValue: 167)
    public static let manualDirtyLogProtect2 = Capability(rawValue: 168)
    public static let ppcIrqXive = Capability(rawValue: 169)
    public static let armSve = Capability(rawValue: 170)
    public static let armPtrauthAddress = Capability(rawValue: 171)
    public static let armPtrauthGeneric = Capability(rawValue: 172)
    public static let pmuEventFilter = Capability(rawValue: 173)
    public static let armIrqLineLayout2 = Capability(rawValue: 174)
    public static let hypervDirectTlbflush = Capability(rawValue: 175)
    public static let ppcGuestDebugSstep = Capability(rawValue: 176)
    public static let armNisvToUser = Capability(rawValue: 177)
    public static let armInjectExtDabt = Capability(rawValue: 178)
    public static let s390VcpuResets = Capability(rawValue: 179)
    public static let s390Protected = Capability(rawValue: 180)
    public static let ppcSecureGuest = Capability(rawValue: 181)
    public static let haltPoll = Capability(rawValue: 182)
    public static let asyncPfInt = Capability(rawValue: 183)
    public static let lastCpu = Capability(rawValue: 184)
    public static let smallerMaxphyaddr = Capability(rawValue: 185)
    public static let s390Diag318 = Capability(rawValue: 186)
    public static let stealTime = Capability(rawValue: 187)
    public static let x86UserSpaceMsr = Capability(rawValue: 188)
    public static let x86MsrFilter = Capability(rawValue: 189)
    public static let enforcePvFeatureCpuid = Capability(rawValue: 190)
    public static let sysHypervCpuid = Capability(rawValue: 191)
    public static let dirtyLogRing = Capability(rawValue: 192)
    public static let x86BusLockExit = Capability(rawValue: 193)
    public static let ppcDawr1 = Capability(rawValue: 194)
    public static let setGuestDebug2 = Capability(rawValue: 195)
    public static let sgxAttribute = Capability(rawValue: 196)
    public static let vmCopyEncContextFrom = Capability(rawValue: 197)
    public static let ptpKvm = Capability(rawValue: 198)
    public static let hypervEnforceCpuid = Capability(rawValue: 199)
    public static let sregs2 = Capability(rawValue: 200)
    public static let exitHypercall = Capability(rawValue: 201)
    public static let ppcRptInvalidate = Capability(rawValue: 202)
    public static let binaryStatsFd = Capability(rawValue: 203)
    public static let exitOnEmulationFailure = Capability(rawValue: 204)
    public static let armMte = Capability(rawValue: 205)
    public static let vmMoveEncContextFrom = Capability(rawValue: 206)
    public static let vmGpaBits = Capability(rawValue: 207)
    public static let xsave2 = Capability(rawValue: 208)
    public static let sysAttributes = Capability(rawValue: 209)
    public static let ppcAilMode3 = Capability(rawValue: 210)
    public static let s390MemOpExtension = Capability(rawValue: 211)
    public static let pmuCapability = Capability(rawValue: 212)
    public static let disableQuirks2 = Capability(rawValue: 213)
    public static let vmTscControl = Capability(rawValue: 214)
    public static let systemEventData = Capability(rawValue: 215)
    public static let armSystemSuspend = Capability(rawValue: 216)
    public static let s390ProtectedDump = Capability(rawValue: 217)
    public static let x86TripleFaultEvent = Capability(rawValue: 218)
    public static let x86NotifyVmexit = Capability(rawValue: 219)
    public static let vmDisableNxHugePages = Capability(rawValue: 220)
    public static let s390ZpciOp = Capability(rawValue: 221)
    public static let s390CpuTopology = Capability(rawValue: 222)
    public static let dirtyLogRingAcqRel = Capability(rawValue: 223)

    /// Every capability the 6.1 header defines, in numeric order.
    public static let all: [Capability] = names.keys.sorted().map(Capability.init(rawValue:))

    static let names: [Int32: String] = [
        0: "KVM_CAP_IRQCHIP",
        1: "KVM_CAP_HLT",
        2: "KVM_CAP_MMU_SHADOW_CACHE_CONTROL",
        3: "KVM_CAP_USER_MEMORY",
        4: "KVM_CAP_SET_TSS_ADDR",
        6: "KVM_CAP_VAPIC",
        7: "KVM_CAP_EXT_CPUID",
        8: "KVM_CAP_CLOCKSOURCE",
        9: "KVM_CAP_NR_VCPUS",
        10: "KVM_CAP_NR_MEMSLOTS",
        11: "KVM_CAP_PIT",
        12: "KVM_CAP_NOP_IO_DELAY",
        13: "KVM_CAP_PV_MMU",
        14: "KVM_CAP_MP_STATE",
        15: "KVM_CAP_COALESCED_MMIO",
        16: "KVM_CAP_SYNC_MMU",
        18: "KVM_CAP_IOMMU",
        21: "KVM_CAP_DESTROY_MEMORY_REGION_WORKS",
        22: "KVM_CAP_USER_NMI",
        23: "KVM_CAP_SET_GUEST_DEBUG",
        24: "KVM_CAP_REINJECT_CONTROL",
        25: "KVM_CAP_IRQ_ROUTING",
        26: "KVM_CAP_IRQ_INJECT_STATUS",
        29: "KVM_CAP_ASSIGN_DEV_IRQ",
        30: "KVM_CAP_JOIN_MEMORY_REGIONS_WORKS",
        31: "KVM_CAP_MCE",
        32: "KVM_CAP_IRQFD",
        33: "KVM_CAP_PIT2",
        34: "KVM_CAP_SET_BOOT_CPU_ID",
        35: "KVM_CAP_PIT_STATE2",
        36: "KVM_CAP_IOEVENTFD",
        37: "KVM_CAP_SET_IDENTITY_MAP_ADDR",
        38: "KVM_CAP_XEN_HVM",
        39: "KVM_CAP_ADJUST_CLOCK",
        40: "KVM_CAP_INTERNAL_ERROR_DATA",
        41: "KVM_CAP_VCPU_EVENTS",
        42: "KVM_CAP_S390_PSW",
        43: "KVM_CAP_PPC_SEGSTATE",
        44: "KVM_CAP_HYPERV",
        45: "KVM_CAP_HYPERV_VAPIC",
        46: "KVM_CAP_HYPERV_SPIN",
        47: "KVM_CAP_PCI_SEGMENT",
        48: "KVM_CAP_PPC_PAIRED_SINGLES",
        49: "KVM_CAP_INTR_SHADOW",
        50: "KVM_CAP_DEBUGREGS",
        51: "KVM_CAP_X86_ROBUST_SINGLESTEP",
        52: "KVM_CAP_PPC_OSI",
        53: "KVM_CAP_PPC_UNSET_IRQ",
        54: "KVM_CAP_ENABLE_CAP",
        55: "KVM_CAP_XSAVE",
        56: "KVM_CAP_XCRS",
        57: "KVM_CAP_PPC_GET_PVINFO",
        58: "KVM_CAP_PPC_IRQ_LEVEL",
        59: "KVM_CAP_ASYNC_PF",
        60: "KVM_CAP_TSC_CONTROL",
        61: "KVM_CAP_GET_TSC_KHZ",
        62: "KVM_CAP_PPC_BOOKE_SREGS",
        63: "KVM_CAP_SPAPR_TCE",
        64: "KVM_CAP_PPC_SMT",
        65: "KVM_CAP_PPC_RMA",
        66: "KVM_CAP_MAX_VCPUS",
        67: "KVM_CAP_PPC_HIOR",
        68: "KVM_CAP_PPC_PAPR",
        69: "KVM_CAP_SW_TLB",
        70: "KVM_CAP_ONE_REG",
        71: "KVM_CAP_S390_GMAP",
        72: "KVM_CAP_TSC_DEADLINE_TIMER",
        73: "KVM_CAP_S390_UCONTROL",
        74: "KVM_CAP_SYNC_REGS",
        75: "KVM_CAP_PCI_2_3",
        76: "KVM_CAP_KVMCLOCK_CTRL",
        77: "KVM_CAP_SIGNAL_MSI",
        78: "KVM_CAP_PPC_GET_SMMU_INFO",
        79: "KVM_CAP_S390_COW",
        80: "KVM_CAP_PPC_ALLOC_HTAB",
        81: "KVM_CAP_READONLY_MEM",
        82: "KVM_CAP_IRQFD_RESAMPLE",
        83: "KVM_CAP_PPC_BOOKE_WATCHDOG",
        84: "KVM_CAP_PPC_HTAB_FD",
        85: "KVM_CAP_S390_CSS_SUPPORT",
        86: "KVM_CAP_PPC_EPR",
        87: "KVM_CAP_ARM_PSCI",
        88: "KVM_CAP_ARM_SET_DEVICE_ADDR",
        89: "KVM_CAP_DEVICE_CTRL",
        90: "KVM_CAP_IRQ_MPIC",
        91: "KVM_CAP_PPC_RTAS",
        92: "KVM_CAP_IRQ_XICS",
        93: "KVM_CAP_ARM_EL1_32BIT",
        94: "KVM_CAP_SPAPR_MULTITCE",
        95: "KVM_CAP_EXT_EMUL_CPUID",
        96: "KVM_CAP_HYPERV_TIME",
        97: "KVM_CAP_IOAPIC_POLARITY_IGNORED",
        98: "KVM_CAP_ENABLE_CAP_VM",
        99: "KVM_CAP_S390_IRQCHIP",
        100: "KVM_CAP_IOEVENTFD_NO_LENGTH",
        101: "KVM_CAP_VM_ATTRIBUTES",
        102: "KVM_CAP_ARM_PSCI_0_2",
        103: "KVM_CAP_PPC_FIXUP_HCALL",
        104: "KVM_CAP_PPC_ENABLE_HCALL",
        105: "KVM_CAP_CHECK_EXTENSION_VM",
        106: "KVM_CAP_S390_USER_SIGP",
        107: "KVM_CAP_S390_VECTOR_REGISTERS",
        108: "KVM_CAP_S390_MEM_OP",
        109: "KVM_CAP_S390_USER_STSI",
        110: "KVM_CAP_S390_SKEYS",
        111: "KVM_CAP_MIPS_FPU",
        112: "KVM_CAP_MIPS_MSA",
        113: "KVM_CAP_S390_INJECT_IRQ",
        114: "KVM_CAP_S390_IRQ_STATE",
        115: "KVM_CAP_PPC_HWRNG",
        116: "KVM_CAP_DISABLE_QUIRKS",
        117: "KVM_CAP_X86_SMM",
        118: "KVM_CAP_MULTI_ADDRESS_SPACE",
        119: "KVM_CAP_GUEST_DEBUG_HW_BPS",
        120: "KVM_CAP_GUEST_DEBUG_HW_WPS",
        121: "KVM_CAP_SPLIT_IRQCHIP",
        122: "KVM_CAP_IOEVENTFD_ANY_LENGTH",
        123: "KVM_CAP_HYPERV_SYNIC",
        124: "KVM_CAP_S390_RI",
        125: "KVM_CAP_SPAPR_TCE_64",
        126: "KVM_CAP_ARM_PMU_V3",
        127: "KVM_CAP_VCPU_ATTRIBUTES",
        128: "KVM_CAP_MAX_VCPU_ID",
        129: "KVM_CAP_X2APIC_API",
        130: "KVM_CAP_S390_USER_INSTR0",
        131: "KVM_CAP_MSI_DEVID",
        132: "KVM_CAP_PPC_HTM",
        133: "KVM_CAP_SPAPR_RESIZE_HPT",
        134: "KVM_CAP_PPC_MMU_RADIX",
        135: "KVM_CAP_PPC_MMU_HASH_V3",
        136: "KVM_CAP_IMMEDIATE_EXIT",
        137: "KVM_CAP_MIPS_VZ",
        138: "KVM_CAP_MIPS_TE",
        139: "KVM_CAP_MIPS_64BIT",
        140: "KVM_CAP_S390_GS",
        141: "KVM_CAP_S390_AIS",
        142: "KVM_CAP_SPAPR_TCE_VFIO",
        143: "KVM_CAP_X86_DISABLE_EXITS",
        144: "KVM_CAP_ARM_USER_IRQ",
        145: "KVM_CAP_S390_CMMA_MIGRATION",
        146: "KVM_CAP_PPC_FWNMI",
        147: "KVM_CAP_PPC_SMT_POSSIBLE",
        148: "KVM_CAP_HYPERV_SYNIC2",
        149: "KVM_CAP_HYPERV_VP_INDEX",
        150: "KVM_CAP_S390_AIS_MIGRATION",
        151: "KVM_CAP_PPC_GET_CPU_CHAR",
        152: "KVM_CAP_S390_BPB",
        153: "KVM_CAP_GET_MSR_FEATURES",
        154: "KVM_CAP_HYPERV_EVENTFD",
        155: "KVM_CAP_HYPERV_TLBFLUSH",
        156: "KVM_CAP_S390_HPAGE_1M",
        157: "KVM_CAP_NESTED_STATE",
        158: "KVM_CAP_ARM_INJECT_SERROR_ESR",
        159: "KVM_CAP_MSR_PLATFORM_INFO",
        160: "KVM_CAP_PPC_NESTED_HV",
        161: "KVM_CAP_HYPERV_SEND_IPI",
        162: "KVM_CAP_COALESCED_PIO",
        163: "KVM_CAP_HYPERV_ENLIGHTENED_VMCS",
        164: "KVM_CAP_EXCEPTION_PAYLOAD",
        165: "KVM_CAP_ARM_VM_IPA_SIZE",
        166: "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT",
        167: "KVM_CAP_HYPERV_CPUID",
        168: "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2",
        169: "KVM_CAP_PPC_IRQ_XIVE",
        170: "KVM_CAP_ARM_SVE",
        171: "KVM_CAP_ARM_PTRAUTH_ADDRESS",
        172: "KVM_CAP_ARM_PTRAUTH_GENERIC",
        173: "KVM_CAP_PMU_EVENT_FILTER",
        174: "KVM_CAP_ARM_IRQ_LINE_LAYOUT_2",
        175: "KVM_CAP_HYPERV_DIRECT_TLBFLUSH",
        176: "KVM_CAP_PPC_GUEST_DEBUG_SSTEP",
        177: "KVM_CAP_ARM_NISV_TO_USER",
        178: "KVM_CAP_ARM_INJECT_EXT_DABT",
        179: "KVM_CAP_S390_VCPU_RESETS",
        180: "KVM_CAP_S390_PROTECTED",
        181: "KVM_CAP_PPC_SECURE_GUEST",
        182: "KVM_CAP_HALT_POLL",
        183: "KVM_CAP_ASYNC_PF_INT",
        184: "KVM_CAP_LAST_CPU",
        185: "KVM_CAP_SMALLER_MAXPHYADDR",
        186: "KVM_CAP_S390_DIAG318",
        187: "KVM_CAP_STEAL_TIME",
        188: "KVM_CAP_X86_USER_SPACE_MSR",
        189: "KVM_CAP_X86_MSR_FILTER",
        190: "KVM_CAP_ENFORCE_PV_FEATURE_CPUID",
        191: "KVM_CAP_SYS_HYPERV_CPUID",
        192: "KVM_CAP_DIRTY_LOG_RING",
        193: "KVM_CAP_X86_BUS_LOCK_EXIT",
        194: "KVM_CAP_PPC_DAWR1",
        195: "KVM_CAP_SET_GUEST_DEBUG2",
        196: "KVM_CAP_SGX_ATTRIBUTE",
        197: "KVM_CAP_VM_COPY_ENC_CONTEXT_FROM",
        198: "KVM_CAP_PTP_KVM",
        199: "KVM_CAP_HYPERV_ENFORCE_CPUID",
        200: "KVM_CAP_SREGS2",
        201: "KVM_CAP_EXIT_HYPERCALL",
        202: "KVM_CAP_PPC_RPT_INVALIDATE",
        203: "KVM_CAP_BINARY_STATS_FD",
        204: "KVM_CAP_EXIT_ON_EMULATION_FAILURE",
        205: "KVM_CAP_ARM_MTE",
        206: "KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM",
        207: "KVM_CAP_VM_GPA_BITS",
        208: "KVM_CAP_XSAVE2",
        209: "KVM_CAP_SYS_ATTRIBUTES",
        210: "KVM_CAP_PPC_AIL_MODE_3",
        211: "KVM_CAP_S390_MEM_OP_EXTENSION",
        212: "KVM_CAP_PMU_CAPABILITY",
        213: "KVM_CAP_DISABLE_QUIRKS2",
        214: "KVM_CAP_VM_TSC_CONTROL",
        215: "KVM_CAP_SYSTEM_EVENT_DATA",
        216: "KVM_CAP_ARM_SYSTEM_SUSPEND",
        217: "KVM_CAP_S390_PROTECTED_DUMP",
        218: "KVM_CAP_X86_TRIPLE_FAULT_EVENT",
        219: "KVM_CAP_X86_NOTIFY_VMEXIT",
        220: "KVM_CAP_VM_DISABLE_NX_HUGE_PAGES",
        221: "KVM_CAP_S390_ZPCI_OP",
        222: "KVM_CAP_S390_CPU_TOPOLOGY",
        223: "KVM_CAP_DIRTY_LOG_RING_ACQ_REL",
    ]
}
