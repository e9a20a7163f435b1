import KVMABI
#if canImport(Glibc)
import Glibc
#endif

// The interpreter core: one final class, registers behind an unsafe pointer, a big
// opcode switch in Execute.swift, instruction classes in extensions (one file each).

/// Why an instruction stopped: a CPU exception to deliver through the IDT, or a VM exit
/// that the VMX model must take (details in `CPU.exitRequest`). Either way the instruction
/// did not retire and RIP still points at it.
enum Fault: Error {
    case exception(UInt8, UInt32?)
    case vmexit
}

/// RFLAGS bits (SDM Vol. 1 3.4.3).
enum F {
    static let cf: UInt64 = 1 << 0
    static let pf: UInt64 = 1 << 2
    static let af: UInt64 = 1 << 4
    static let zf: UInt64 = 1 << 6
    static let sf: UInt64 = 1 << 7
    static let tf: UInt64 = 1 << 8
    static let `if`: UInt64 = 1 << 9
    static let df: UInt64 = 1 << 10
    static let of: UInt64 = 1 << 11
    static let iopl: UInt64 = 3 << 12
    static let nt: UInt64 = 1 << 14
    static let rf: UInt64 = 1 << 16
    static let vm: UInt64 = 1 << 17
    static let ac: UInt64 = 1 << 18
    static let vif: UInt64 = 1 << 19
    static let vip: UInt64 = 1 << 20
    static let id: UInt64 = 1 << 21
    static let arith: UInt64 = cf | pf | af | zf | sf | of
}

/// Exception vectors (SDM Vol. 3A 6.3.1).
enum Vec {
    static let de: UInt8 = 0, db: UInt8 = 1, nmi: UInt8 = 2, bp: UInt8 = 3, of: UInt8 = 4, br: UInt8 = 5
    static let ud: UInt8 = 6, nm: UInt8 = 7, df: UInt8 = 8, ts: UInt8 = 10, np: UInt8 = 11, ss: UInt8 = 12
    static let gp: UInt8 = 13, pf: UInt8 = 14, mf: UInt8 = 16, ac: UInt8 = 17, mc: UInt8 = 18
}

/// A segment register with its descriptor cache, plus the bounds derived from it.
struct Seg {
    var sel: UInt16 = 0
    var base: UInt64 = 0
    var limit: UInt32 = 0xFFFF
    var type: UInt8 = 3
    var s: Bool = true
    var dpl: UInt8 = 0
    var present: Bool = true
    var db: Bool = false
    var l: Bool = false
    var g: Bool = false
    var avl: Bool = false
    var unusable: Bool = false
    // derived: valid offsets lo...hi, access rights
    var lo: UInt64 = 0
    var hi: UInt64 = 0xFFFF
    var readable: Bool = true
    var writable: Bool = true
}

/// Segment register numbers (ModRM sreg encoding), then LDTR and TR.
enum S { static let es = 0, cs = 1, ss = 2, ds = 3, fs = 4, gs = 5, ldtr = 6, tr = 7 }

/// Where the CPU asks the VMX model to exit.
enum ExitRequest {
    case none
    /// IN/OUT/INS/OUTS to a port no in-kernel device claims.
    /// `value`: an OUT's data (one element of `size` bytes, little-endian); 0 for IN.
    case io(port: UInt16, size: Int, isIn: Bool, count: Int, value: UInt64, string: Bool, rep: Bool, immediate: Bool)
    /// An access to a GPA that is not RAM (or a write to a read-only slot).
    case mmio(gpa: UInt64, size: Int, isWrite: Bool, data: [UInt8], linear: UInt64, fetch: Bool, readOnlySlot: Bool)
    case hlt
    /// MOV to CR8 lowered the TPR without an in-kernel LAPIC: KVM_EXIT_SET_TPR after the
    /// instruction (Linux 6.1 vmx.c handle_cr, case 8).
    case setTPR
    case tripleFault
    /// Code fetch from a GPA without RAM: KVM cannot emulate it.
    case emulationFailure
    /// The guest touched a slot whose userspace memory is not mapped.
    case efault
    /// INT3 with KVM_GUESTDBG_USE_SW_BP: #BP intercepted, KVM_EXIT_DEBUG.
    case softwareBreakpoint
    /// RDMSR/WRMSR that KVM could not complete and userspace asked to see
    /// (KVM_CAP_X86_USER_SPACE_MSR): KVM_EXIT_X86_RDMSR/WRMSR, completed on the next run.
    case msr(write: Bool, index: UInt32, data: UInt64, reason: UInt32)
    /// VMCALL of a hypercall userspace handles (KVM_CAP_EXIT_HYPERCALL): KVM_EXIT_HYPERCALL.
    case hypercall(nr: UInt64, args: [UInt64], longMode: Bool)
}

/// Hooks into the in-kernel devices (the IRQChip in Devices/ conforms to this).
protocol InKernelDevices: AnyObject {
    func handlesPort(_ port: UInt16) -> Bool
    func portRead(_ port: UInt16, size: Int, now: UInt64) -> UInt32
    func portWrite(_ port: UInt16, size: Int, value: UInt32, now: UInt64)
    func handlesMMIO(_ gpa: UInt64, vcpu: Int) -> Bool
    func mmioRead(_ gpa: UInt64, size: Int, vcpu: Int, now: UInt64) -> UInt64
    func mmioWrite(_ gpa: UInt64, size: Int, value: UInt64, vcpu: Int, now: UInt64)
    func readMSR(_ index: UInt32, vcpu: Int, now: UInt64) -> UInt64?
    func writeMSR(_ index: UInt32, value: UInt64, vcpu: Int, now: UInt64) -> Bool
    func readTPR(vcpu: Int) -> UInt8
    func writeTPR(vcpu: Int, value: UInt8)
}

/// Test-only fault injection for the cross-check machinery.
public enum InjectedFault: Hashable, Sendable {
    /// After every ADC, CF is inverted.
    case flipCarryAfterADC
    /// CPUID at CPL3 answers leaf 1 with ECX.MOVBE (bit 22) inverted: a backend whose user
    /// mode CPUID does not follow the table, as one that runs CPL3 natively.
    case flipMOVBEAtCPL3
    /// The decoded-instruction cache never compares a block with guest memory again once
    /// built: the stale-decode bug the self-modifying-code payloads exist to catch.
    case staleDecodeCache
    /// Read-modify-write instructions skip their write probe, so a #PF on the destination
    /// reports W=0 (a read): the engine's old bug that `kvm-unit fuzz`'s faulting programs
    /// exist to catch.
    case readFaultForReadModifyWrite
    /// The decoded-instruction cache's flag liveness forgets that the block executor may stop
    /// in front of a memory access (FlagLiveness.swift): an instruction whose flags a later
    /// one overwrites leaves them uncomputed even when a fault or an exit comes in between.
    case deadFlagsAcrossStops
    /// After an instruction outside the block subset that runBlocks had step() run (a generic
    /// op), the executor goes on without noticing that the instruction wrote code (a REP
    /// MOVSB over a block it has linked to): what emulator.smc_rep_movsb_loop exists to catch.
    case genericStepIgnoresCodeWrites
}

final class CPU {
    /// Debug aid: print every exception raised (set REF_DEBUG_EXCEPTIONS=1).
    nonisolated(unsafe) static var debugExceptions = getenv("REF_DEBUG_EXCEPTIONS") != nil

    // MARK: architectural state
    let regs: UnsafeMutablePointer<UInt64>      // rax..r15 in encoding order
    var rip: UInt64 = 0xFFF0
    var flags: UInt64 = 0x2
    let segs: UnsafeMutablePointer<Seg>          // ES CS SS DS FS GS LDTR TR
    var cr0: UInt64 = 0x6000_0010
    var cr2: UInt64 = 0
    var cr3: UInt64 = 0
    var cr4: UInt64 = 0
    var efer: UInt64 = 0
    var cr8Shadow: UInt64 = 0                    // TPR when there is no in-kernel LAPIC
    var dr = [UInt64](repeating: 0, count: 8)
    var gdtBase: UInt64 = 0, gdtLimit: UInt32 = 0xFFFF
    var idtBase: UInt64 = 0, idtLimit: UInt32 = 0xFFFF
    var cpl: Int = 0
    /// PAE PDPTE registers (loaded with CR3 in PAE paging mode).
    var pdptes: [UInt64] = [0, 0, 0, 0]
    /// CR0.AM && RFLAGS.AC && CPL 3: misaligned data accesses raise #AC(0) (SDM Vol. 3A 6.15).
    var acCheck = false
    /// DR7 enables a breakpoint (SDM Vol. 3B 17.2.4): the TLB is bypassed so every data
    /// access is checked, and instructions are checked one by one.
    var hwBreakpoints = false
    /// DR6.B0-B3 bits of data breakpoints hit by the current instruction (a trap after it).
    var dataBreakHits: UInt64 = 0
    /// DR0-DR7 from KVM_SET_GUEST_DEBUG with USE_HW_BP (hits exit as KVM_EXIT_DEBUG).
    var hostBreakpoints: [UInt64]? = nil

    // MSRs (SDM Vol. 4)
    var star: UInt64 = 0, lstar: UInt64 = 0, cstar: UInt64 = 0, sfmask: UInt64 = 0
    var kernelGSBase: UInt64 = 0
    var sysenterCS: UInt64 = 0, sysenterESP: UInt64 = 0, sysenterEIP: UInt64 = 0
    var pat: UInt64 = 0x0007_0406_0007_0406
    var tscAux: UInt64 = 0
    var miscEnable: UInt64 = 0x1800   // kvm_vcpu_reset: PEBS_UNAVAIL | BTS_UNAVAIL
    var apicBase: UInt64 = 0xFEE0_0900
    var tscOffset: UInt64 = 0
    /// KVM_SET_TSC_KHZ: the TSC multiplier and the rate KVM reports (TSCScaling.swift).
    var tscRatio: UInt64 = TSCScaling.defaultRatio
    var virtualTSCKHz: UInt32 = TSCScaling.hostKHz
    /// What RDTSC reads: the scaled host TSC plus the offset.
    @inline(__always) var guestTSC: UInt64 { TSCScaling.scale(now, ratio: tscRatio) &+ tscOffset }
    /// IA32_MCG_CAP and IA32_MCG_CTL (KVM: vcpu->arch.mcg_cap = KVM_MAX_MCE_BANKS at creation,
    /// KVM_X86_SETUP_MCE sets both).
    var mcgCap: UInt64 = 32
    var mcgCtl: UInt64 = 0
    /// IA32_MCG_STATUS and the banks (MCi_CTL, _STATUS, _ADDR, _MISC at 400H + 4i; MCi_CTL2
    /// at 280H + i), KVM_MAX_MCE_BANKS of each (MachineCheck.swift).
    var mcgStatus: UInt64 = 0
    var mceBanks = [UInt64](repeating: 0, count: 4 * 32)
    var mciCtl2 = [UInt64](repeating: 0, count: 32)
    var mtrrDefType: UInt64 = 0
    var mtrr: [UInt32: UInt64] = [:]
    var xcr0: UInt64 = 1
    var powerCtl: UInt64 = 0
    /// IA32_TSC_ADJUST (kvm_set_msr_common: stored only when the guest CPUID has TSC_ADJUST).
    var tscAdjust: UInt64 = 0
    // x87 state (CPU/X87.swift; KVM_GET_FPU): control and status words, the abridged tag
    // byte (bit i = physical register i holds a value), and the eight physical registers.
    var fcw: UInt16 = 0x37F
    var fsw: UInt16 = 0
    var ftw: UInt8 = 0
    var fpr = [Float80](repeating: 0, count: 8)
    // SSE state as FXSAVE/FXRSTOR and KVM_GET/SET_FPU carry it (no SSE instruction uses it).
    var xmm = [UInt8](repeating: 0, count: 256)
    var mxcsr: UInt32 = 0x1F80
    /// XINUSE[1:0] (SDM Vol. 1 13.6): whether the x87 (bit 0) and SSE (bit 1) state has been
    /// in use, which is the XSTATE_BV the host's XSAVE writes into the guest FPU image.
    /// Set by x87 instructions and FXRSTOR, and by KVM_SET_XSAVE; a KVM_RUN restores the
    /// image with XRSTOR, which gives a component whose bit is clear its init state.
    var xinuse: UInt64 = 0

    // MARK: event state
    var nmiMasked = false
    /// 1 = blocking by STI, 2 = blocking by MOV SS (SDM Vol. 3C 25.4.2), for the next instruction.
    var shadow: UInt8 = 0
    var halted = false
    /// Set whenever something may make an event deliverable; the run loop re-evaluates.
    var eventCheck = true

    // MARK: time
    var instructionsRetired: UInt64 = 0
    /// Virtual nanoseconds skipped while halted (TSC = retired + skipped).
    var skippedTime: UInt64 = 0
    @inline(__always) var now: UInt64 { instructionsRetired &+ skippedTime }
    /// REP string iterations since the run loop last took them: KVM_RUN's instruction budget
    /// counts each (every iteration is interruptible, SDM Vol. 2B "REP"), virtual time does not.
    var repIterations: UInt64 = 0

    // MARK: derived mode
    var code64 = false
    var defOsz = 2
    var defAsz = 2
    var stackSize = 2
    var ipMask: UInt64 = 0xFFFF
    var lma: Bool { efer & (1 << 10) != 0 }
    var pe: Bool { cr0 & 1 != 0 }
    var pagingOn: Bool { cr0 & 0x8000_0000 != 0 }

    // MARK: decode state of the current instruction
    var instStart: UInt64 = 0
    /// Instruction bytes: `ibp` is the next byte to decode, `ibEnd` one past the last
    /// available one, `ibStart` the instruction's first byte (pointer bumping keeps the
    /// fetch to one dependent load).
    var ibp: UnsafePointer<UInt8>
    var ibStart: UnsafePointer<UInt8>
    var ibEnd: UnsafePointer<UInt8>
    @inline(__always) var pos: Int { ibp - ibStart }
    var ibFault: Fault = .exception(Vec.gp, 0)
    var ibFaultCR2: UInt64 = 0
    var ibSlow = false
    /// Code is fetched at linear = RIP (64-bit mode, or a flat 4 GiB CS at base 0).
    var flatFetch = false
    /// Linear page of the last fetch and its host address (valid until the next TLB flush).
    /// Bumped whenever a fetch-TLB entry is filled or dropped: while it stands, every RIP
    /// translates to the same code bytes as before, so block links stay good (DecodeCache.Link).
    var codeGeneration: UInt64 = 0
    var codePage: UInt64 = ~0
    var codeHost: UnsafeMutableRawPointer = UnsafeMutableRawPointer(bitPattern: 0x1000)!
    let ibBuf: UnsafeMutablePointer<UInt8>
    var osz = 4
    var asz = 4
    var segOv = -1
    var rep: UInt8 = 0       // 0, 0xF2, 0xF3
    var lock = false
    var rex: UInt8 = 0
    var modrm: UInt8 = 0
    var mrReg = 0            // ModRM.reg | REX.R
    var mrIsReg = false
    var mrRM = 0             // register number when mod == 3
    var ea: UInt64 = 0       // offset (masked to address size, without RIP-relative displacement base)
    var eaSeg = S.ds
    var ripRel = false
    var eaUsesSP = false

    // MARK: memory
    let mem: GuestPhysicalMemory
    var memGeneration: UInt64 = ~0
    static let tlbSize = 512
    let tlbRTag: UnsafeMutablePointer<UInt64>
    let tlbRHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let tlbWTag: UnsafeMutablePointer<UInt64>
    let tlbWHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let tlbXTag: UnsafeMutablePointer<UInt64>
    let tlbXHost: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// Per TLB slot: bit 0/1/2 = the read/write/fetch entry maps a global page.
    let tlbGlobal: UnsafeMutablePointer<UInt8>
    /// Translations of linear pages whose GPA has no RAM behind it for some access (MMIO,
    /// or writes to a read-only slot): the guest's TLB holds them like any other (SDM Vol.
    /// 3A 4.10.2), so a device register accessed in a loop does not walk the page tables on
    /// every access. What the GPA then is (in-kernel device, ioeventfd, exit) is still
    /// decided per access (mmioRead/mmioWrite). Tag = linear page, GPA = its page base,
    /// kinds = TLBMMIOKind bits the walk checked. Dropped with the other entries.
    let tlbMTag: UnsafeMutablePointer<UInt64>
    let tlbMGPA: UnsafeMutablePointer<UInt64>
    let tlbMKinds: UnsafeMutablePointer<UInt8>
    var lastWalkGlobal = false
    var lastWalkLarge = false
    /// Some TLB entry comes from a 2M/4M/1G page: INVLPG must drop all of that page, which
    /// the 4 KiB-granular software TLB does by flushing everything.
    var tlbHasLarge = false
    /// CPL class (user or supervisor) the TLB entries were filled for.
    var tlbUser = false

    /// Forgets the MMIO writes of an instruction that faulted or exited otherwise.
    @inline(__always) func dropPendingMMIOWrites() {
        firstMMIOWrite = nil
        if !moreMMIOWrites.isEmpty { moreMMIOWrites.removeAll() }
    }

    // MARK: links to the VMX/KVM model
    var exitRequest: ExitRequest = .none
    var devices: IRQChip?
    var vcpuIndex = 0
    /// The VM's KVM_ENABLE_CAP / MSR filter state (RefVM+Controls.swift).
    var vmControls = VMControls()
    /// Userspace's answer to an MSR exit (kvm_run.msr.error/.data), consumed when the
    /// RDMSR/WRMSR is executed again on the next KVM_RUN (complete_fast_rdmsr / _msr_access).
    var msrCompletion: (error: Bool, data: UInt64)?
    /// kvm_run.hypercall.ret for a VMCALL that exited (complete_hypercall_exit).
    var hypercallCompletion: UInt64?
    /// Set by readMSR/writeMSR when KVM does not know the MSR at all (KVM_MSR_RET_UNSUPPORTED,
    /// KVM_MSR_EXIT_REASON_UNKNOWN) rather than refusing the access (KVM_MSR_EXIT_REASON_INVAL).
    var msrUnsupported = false
    /// KVM_CAP_ENFORCE_PV_FEATURE_CPUID (vcpu->arch.pv_cpuid.enforce).
    var enforcePVFeatureCPUID = false
    /// MSR_PLATFORM_INFO (vcpu->arch.msr_platform_info): CPUID faulting supported (bit 31).
    var platformInfo: UInt64 = 0x8000_0000
    /// MSR_MISC_FEATURES_ENABLES: bit 0 turns on CPUID faulting.
    var miscFeaturesEnables: UInt64 = 0
    /// MMIO/PIO read data supplied by userspace for re-execution, consumed in order.
    var completionData: [UInt8] = []
    var completionPos = 0
    /// MMIO writes done by the current instruction, exited one per run: the first held
    /// inline (most instructions make one: no array to fill and empty per exit), the others
    /// after it in order (PendingMMIOWrite).
    var firstMMIOWrite: PendingMMIOWrite? = nil
    var moreMMIOWrites: [PendingMMIOWrite] = []
    var stopAfterInstruction = false
    var interceptBreakpoints = false
    var flipCarryAfterADC = false
    var flipMOVBEAtCPL3 = false
    var skipReadModifyWriteProbe = false
    var staleDecodeCache = false
    /// Dead-flag elimination in decoded blocks (FlagLiveness.swift); off only to compare.
    var deadFlagElimination = true
    var deadFlagsIgnoreStops = false
    /// InjectedFault.genericStepIgnoresCodeWrites.
    var genericStepIgnoresCodeWrites = false
    var cpuid: CPUIDModel
    /// MAXPHYADDR of the guest's CPUID and the address bits below it (updatePhysicalAddressWidth).
    var maxPhysAddr: UInt64 = 46
    var physAddrMask: UInt64 = ((UInt64(1) << 46) - 1) & ~0xFFF
    var vmxTraceEnabled = false
    var traceBuffer: [VMXTraceRecord] = []
    var stats = VCPUStats()
    /// The instruction at `ioResumeRIP` exited to userspace for I/O and is re-executed to complete.
    var ioResume = false
    var ioData: [UInt8] = []
    /// Where RIP goes when the OUT (not OUTS) that exited completes: complete_fast_pio_out
    /// only skips the instruction. Nil for every other exit.
    var ioResumeOutNext: UInt64? = nil
    /// The same for a plain IN (complete_fast_pio_in: the data to AL/AX/EAX, then RIP
    /// past it), with its size; nil for every other exit.
    var ioResumeInNext: UInt64? = nil
    var ioResumeInSize = 1
    /// The data the VMM gave for a plain IN (kvm_run's io data, little-endian; 0 until it
    /// gives some), kept inline; ioData holds it instead when it gave more than 8 bytes.
    var ioInValue: UInt64 = 0
    /// RIP after the OUT whose exit is being requested (with exitRequest, or blockOut*).
    var outNextRIP: UInt64 = 0
    /// runBlocks stopped at an OUT that exits (blockPortOut), whose port, size and data are
    /// in the three fields below: plain values, not an ExitRequest (whose copies cost more
    /// than the rest of an OUT's round trip).
    var blockExited = false
    var blockOutPort: UInt16 = 0
    var blockOutSize = 0
    var blockOutValue: UInt64 = 0
    /// The block's I/O exit is an IN (blockPortIn), not an OUT.
    var blockIOIsIn = false
    /// runBlocks stopped at a load that made an MMIO read exit (blockMMIOLoad; with
    /// blockExited): its GPA and linear address, and the load to finish at the next
    /// KVM_RUN (`mmioLoad`, `mmioLoadSize` bytes, RIP `mmioLoadNext` after it) with the
    /// VMM's bytes (`mmioLoadValue`, nil until it gives them).
    var blockMMIORead = false
    var blockMMIOReadGPA: UInt64 = 0
    var blockMMIOReadLinear: UInt64 = 0
    /// The load's MMIO TLB entry knew the GPA's MMIO SPTE (TLBMMIOKind.mmioSPTE): its exit
    /// is an EPT misconfiguration with nothing more to look up (eptExitTrace).
    var blockMMIOReadSPTE = false
    var mmioLoad: DecodedOp? = nil
    var mmioLoadSize = 1
    var mmioLoadNext: UInt64 = 0
    var mmioLoadValue: UInt64? = nil
    /// runBlocks stopped right after a store it did to MMIO (blockMMIOStore): the store
    /// retired, and any exit it owes is in firstMMIOWrite (stopAfterInstruction).
    var blockMMIOStored = false
    /// runBlocks ran the instruction it stopped in front of with step() (a generic op, a TLB
    /// miss, MMIO it makes no exit for, a block the limit would cut) and it faulted: the
    /// fault, for batch() to handle as it handles step()'s own.
    var blockStepFault: Fault? = nil
    var ioDataPos = 0
    /// OUTS element that must exit to userspace after the instruction (KVM writes back first).
    var pendingIOOut: (port: UInt16, size: Int, value: UInt64)? = nil
    /// Counts instructions KVM would have emulated (MMIO, string I/O): insn_emulation.
    var emulatedInstructions: UInt64 = 0
    var lastEmulatedAt: UInt64 = 0
    /// KVM intercepts MOV DR until the first one, then lets them run until the next VM exit
    /// (handle_dr / vmx_sync_dirty_debug_regs).
    var movDRExiting = true
    /// Run decoded blocks (BlockExecutor.swift) ahead of step(); tests turn it off to compare.
    var fastPath = true
    /// The decoded-instruction cache (DecodeCache.swift).
    let decodeCache = DecodeCache()

    init(memory: GuestPhysicalMemory, cpuid: CPUIDModel) {
        mem = memory
        self.cpuid = cpuid
        regs = .allocate(capacity: 16); regs.initialize(repeating: 0, count: 16)
        segs = .allocate(capacity: 8); segs.initialize(repeating: Seg(), count: 8)
        ibBuf = .allocate(capacity: 16); ibBuf.initialize(repeating: 0, count: 16)
        ibp = UnsafePointer(ibBuf); ibStart = ibp; ibEnd = ibp
        let n = CPU.tlbSize
        tlbRTag = .allocate(capacity: n); tlbRTag.initialize(repeating: ~0, count: n)
        tlbWTag = .allocate(capacity: n); tlbWTag.initialize(repeating: ~0, count: n)
        tlbXTag = .allocate(capacity: n); tlbXTag.initialize(repeating: ~0, count: n)
        tlbRHost = .allocate(capacity: n); tlbRHost.initialize(repeating: nil, count: n)
        tlbGlobal = .allocate(capacity: n); tlbGlobal.initialize(repeating: 0, count: n)
        tlbWHost = .allocate(capacity: n); tlbWHost.initialize(repeating: nil, count: n)
        tlbXHost = .allocate(capacity: n); tlbXHost.initialize(repeating: nil, count: n)
        tlbMTag = .allocate(capacity: n); tlbMTag.initialize(repeating: ~0, count: n)
        tlbMGPA = .allocate(capacity: n); tlbMGPA.initialize(repeating: 0, count: n)
        tlbMKinds = .allocate(capacity: n); tlbMKinds.initialize(repeating: 0, count: n)
        reset()
        updatePhysicalAddressWidth()
    }

    deinit {
        regs.deallocate(); segs.deallocate(); ibBuf.deallocate()
        tlbRTag.deallocate(); tlbWTag.deallocate(); tlbXTag.deallocate()
        tlbRHost.deallocate(); tlbWHost.deallocate(); tlbXHost.deallocate(); tlbGlobal.deallocate()
        tlbMTag.deallocate(); tlbMGPA.deallocate(); tlbMKinds.deallocate()
    }

    /// kvm_vcpu_reset + vmx_vcpu_reset: the INIT/power-on state KVM gives a new vCPU.
    func reset() {
        for i in 0..<16 { regs[i] = 0 }
        regs[2] = cpuid.resetEDX    // EDX = CPUID.1.EAX signature (SDM Vol. 3A 9.1.4)
        rip = 0xFFF0
        flags = 0x2
        var cs = Seg(); cs.sel = 0xF000; cs.base = 0xFFFF_0000; cs.limit = 0xFFFF; cs.type = 0xB
        segs[S.cs] = cs
        for s in [S.es, S.ss, S.ds, S.fs, S.gs] { var d = Seg(); d.type = 3; segs[s] = d }
        var ldt = Seg(); ldt.type = 2; ldt.s = false; segs[S.ldtr] = ldt
        var tr = Seg(); tr.type = 0xB; tr.s = false; segs[S.tr] = tr
        for i in 0..<8 { derive(i) }
        cr0 = 0x6000_0010; cr2 = 0; cr3 = 0; cr4 = 0; efer = 0
        gdtBase = 0; gdtLimit = 0xFFFF; idtBase = 0; idtLimit = 0xFFFF
        dr = [0, 0, 0, 0, 0, 0, 0xFFFF_0FF0, 0x400]
        cpl = 0
        nmiMasked = false; shadow = 0; halted = false
        updateMode()
        flushTLB()
    }

    // MARK: mode bookkeeping

    func updateMode() {
        let cs = segs[S.cs]
        code64 = lma && cs.l
        if code64 { defOsz = 4; defAsz = 8 }
        else if cs.db && pe { defOsz = 4; defAsz = 4 }
        else if cs.db { defOsz = 4; defAsz = 4 }
        else { defOsz = 2; defAsz = 2 }
        stackSize = code64 ? 8 : (segs[S.ss].db ? 4 : 2)
        ipMask = code64 ? ~0 : (defOsz == 4 ? 0xFFFF_FFFF : 0xFFFF)
        flatFetch = code64 || (pe && cs.base == 0 && cs.lo == 0 && cs.hi >= 0xFFFF_FFFF && cs.readable)
        let user = cpl == 3
        if user != tlbUser { flushTLB(); tlbUser = user }
        updateAC()
    }

    @inline(__always) func updateAC() {
        acCheck = cpl == 3 && cr0 & (1 << 18) != 0 && flags & F.ac != 0
    }

    /// Recomputes the bounds and rights of a segment from its cache (SDM Vol. 3A 5.3, 5.4).
    @inline(__always) func derive(_ i: Int) {
        var s = segs[i]
        if !pe {
            // Real mode: no type checks, only the limit of the (possibly "unreal") cache.
            s.readable = true; s.writable = true
            s.lo = 0; s.hi = UInt64(s.limit)
        } else if s.unusable || !s.present {
            s.readable = false; s.writable = false; s.lo = 1; s.hi = 0
        } else if s.type & 8 != 0 {
            s.readable = s.type & 2 != 0; s.writable = false
            s.lo = 0; s.hi = UInt64(s.limit)
        } else {
            s.readable = true; s.writable = s.type & 2 != 0
            if s.type & 4 != 0 { s.lo = UInt64(s.limit) &+ 1; s.hi = s.db ? 0xFFFF_FFFF : 0xFFFF }
            else { s.lo = 0; s.hi = UInt64(s.limit) }
        }
        segs[i] = s
    }

    func rederiveAll() { for i in 0..<8 { derive(i) } }

    // MARK: TLB

    func flushTLB() {
        let n = CPU.tlbSize
        tlbRTag.update(repeating: ~0, count: n)
        tlbWTag.update(repeating: ~0, count: n)
        tlbXTag.update(repeating: ~0, count: n)
        tlbMTag.update(repeating: ~0, count: n)
        codeGeneration &+= 1
        codePage = ~0
        tlbHasLarge = false
        memGeneration = mem.generation
        decodeCache.epoch &+= 1   // memslot changes come through here (DecodeCache.swift)
    }

    /// What an MMIO TLB entry (tlbMTag) was filled for.
    enum TLBMMIOKind {
        /// Reads: no memory slot at the GPA (a write walk also sets the PTE's dirty bit).
        static let read: UInt8 = 1
        static let write: UInt8 = 2
        /// With `write`: the GPA is in a read-only slot (reads come from its RAM).
        static let readOnlySlot: UInt8 = 4
        /// KVM has an MMIO SPTE for the GPA page (mem.mmioSPTE holds it; both go with a
        /// memslot change): its accesses are EPT misconfigurations, known without a hash.
        static let mmioSPTE: UInt8 = 8
    }

    /// Records that linear page `la` maps GPA page `gpa` with no RAM for accesses `kind`
    /// (after a walk that checked them; not with hardware breakpoints, like the other entries).
    @inline(__always) func fillMMIOTLB(_ la: UInt64, gpa: UInt64, kind: UInt8) {
        if hwBreakpoints { return }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let base = gpa & ~0xFFF
        if tlbMTag[i] == page && tlbMGPA[i] == base && (tlbMKinds[i] ^ kind) & TLBMMIOKind.readOnlySlot == 0 {
            tlbMKinds[i] |= kind
        } else {
            tlbMTag[i] = page; tlbMGPA[i] = base; tlbMKinds[i] = kind
        }
        if lastWalkLarge { tlbHasLarge = true }
    }

    @inline(__always) func setGlobal(_ i: Int, _ bit: UInt8) {
        if lastWalkGlobal { tlbGlobal[i] |= bit } else { tlbGlobal[i] &= ~bit }
        if lastWalkLarge { tlbHasLarge = true }
    }

    func invalidatePage(_ la: UInt64) {
        if tlbHasLarge { flushTLB(); return }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        if tlbRTag[i] == page { tlbRTag[i] = ~0 }
        if tlbWTag[i] == page { tlbWTag[i] = ~0 }
        if tlbMTag[i] == page { tlbMTag[i] = ~0 }
        if tlbXTag[i] == page { tlbXTag[i] = ~0; codeGeneration &+= 1 }
        if codePage == page { codePage = ~0 }
    }

    /// MOV to CR3 with CR4.PGE: entries for global pages survive (SDM Vol. 3A 4.10.4.1).
    func flushNonGlobalTLB() {
        for i in 0..<CPU.tlbSize {
            let g = tlbGlobal[i]
            if g & 1 == 0 { tlbRTag[i] = ~0 }
            if g & 2 == 0 { tlbWTag[i] = ~0 }
            if g & 4 == 0 { tlbXTag[i] = ~0 }
        }
        // MMIO entries do not record G: all go (dropping an entry is always allowed).
        tlbMTag.update(repeating: ~0, count: CPU.tlbSize)
        codeGeneration &+= 1
        codePage = ~0
    }

    // MARK: registers

    @inline(__always) func reg(_ n: Int, _ size: Int) -> UInt64 {
        let v = regs[n]
        switch size {
        case 1: return v & 0xFF
        case 2: return v & 0xFFFF
        case 4: return v & 0xFFFF_FFFF
        default: return v
        }
    }

    /// Writes a register with x86-64 semantics: 32-bit writes zero the upper half.
    @inline(__always) func setReg(_ n: Int, _ size: Int, _ v: UInt64) {
        switch size {
        case 1: regs[n] = (regs[n] & ~0xFF) | (v & 0xFF)
        case 2: regs[n] = (regs[n] & ~0xFFFF) | (v & 0xFFFF)
        case 4: regs[n] = v & 0xFFFF_FFFF
        default: regs[n] = v
        }
    }

    /// 8-bit register by ModRM number: AH..BH without REX, SPL..DIL and R8B.. with it.
    @inline(__always) func reg8(_ n: Int) -> UInt64 {
        if n < 4 || rex != 0 { return regs[n] & 0xFF }
        return (regs[n - 4] >> 8) & 0xFF
    }

    @inline(__always) func setReg8(_ n: Int, _ v: UInt64) {
        if n < 4 || rex != 0 { regs[n] = (regs[n] & ~0xFF) | (v & 0xFF) }
        else { regs[n - 4] = (regs[n - 4] & ~0xFF00) | ((v & 0xFF) << 8) }
    }

    @inline(__always) func getR(_ n: Int, _ size: Int) -> UInt64 { size == 1 ? reg8(n) : reg(n, size) }
    @inline(__always) func setR(_ n: Int, _ size: Int, _ v: UInt64) { if size == 1 { setReg8(n, v) } else { setReg(n, size, v) } }

    // Masking shifts (&<<): the checked `<<` expands to overshift branches, which pushed
    // add/sub/alu past the inliner's 64-block limit for @inline(__always).
    @inline(__always) static func mask(_ size: Int) -> UInt64 { ~UInt64(0) &>> UInt64(truncatingIfNeeded: 64 &- size &* 8) }
    @inline(__always) static func signBit(_ size: Int) -> UInt64 { UInt64(1) &<< UInt64(truncatingIfNeeded: size &* 8 &- 1) }
    @inline(__always) static func sext(_ v: UInt64, _ size: Int) -> UInt64 {
        switch size {
        case 1: return UInt64(bitPattern: Int64(Int8(truncatingIfNeeded: v)))
        case 2: return UInt64(bitPattern: Int64(Int16(truncatingIfNeeded: v)))
        case 4: return UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v)))
        default: return v
        }
    }

    @inline(__always) var asMask: UInt64 { asz == 8 ? ~0 : (asz == 4 ? 0xFFFF_FFFF : 0xFFFF) }

    // MARK: faults

    @inline(__always) func gp(_ code: UInt32 = 0) -> Fault { .exception(Vec.gp, code) }
    @inline(__always) func ud() -> Fault { .exception(Vec.ud, nil) }
    func requestExit(_ r: ExitRequest) -> Fault { exitRequest = r; return .vmexit }
}

/// An MMIO write an instruction did, exited to userspace after it (KVM writes back first):
/// `size` bytes, the low bytes of `value` (kvm_run.mmio.data, little-endian; at most 8,
/// KVM's fragment), at `gpa`, from the linear address `linear`.
struct PendingMMIOWrite {
    var gpa: UInt64
    var value: UInt64
    var size: Int
    var linear: UInt64
    var readOnly: Bool
}
