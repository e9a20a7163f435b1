import KVMABI

/// The vCPU fd with its `struct kvm_run`: KVM_RUN's loop (vcpu_run / vcpu_enter_guest),
/// event injection as VMX does it, completion of userspace I/O and MMIO on the next run.
public final class RefVCPU: VirtualCPU {
    public let id: UInt32
    weak var vm: RefVM?
    /// The VM's in-kernel irqchip, fixed before any vCPU exists (KVM_CREATE_IRQCHIP fails once
    /// one does): KVM_RUN reads it here rather than through the weak `vm` (an atomic load per exit).
    let chip: IRQChip?
    let vmClock: VMClock
    let cpu: CPU
    let index: Int

    /// The kvm_run fields a VMM writes: each write also ends a quiet entry (quietRun).
    public var requestInterruptWindow = false { didSet { cpu.eventCheck = true; quietEntry = false } }
    public var immediateExit = false { didSet { quietEntry = false } }
    /// kvm_run.cr8, .apic_base and .flags (see VirtualCPU): written at every return of
    /// KVM_RUN (post_kvm_run_save); cr8 is also read at its start without an in-kernel LAPIC.
    public var cr8: UInt64 {
        get { kvmRunCR8 }
        set { kvmRunCR8 = newValue; quietEntry = false }
    }
    /// kvm_run.cr8 as KVM_RUN writes it (no quiet-entry reset).
    private var kvmRunCR8: UInt64 = 0
    /// The next KVM_RUN may take quietRun: set at an OUT's exit (armQuietEntry), cleared by
    /// every public method of this class that may change vCPU state (pure getters such as
    /// regs() do not) and every kvm_run field the VMM writes.
    var quietEntry = false
    /// Off: every KVM_RUN takes slowRun (the differential test of quietRun, QuietEntryTests).
    var quietEntryEnabled = true
    /// KVM_RUNs that took quietRun (for its test).
    var quietRuns: UInt64 = 0
    public private(set) var apicBase: UInt64 = 0
    public private(set) var runFlags: UInt16 = 0

    /// KVM_INTERRUPT without an in-kernel irqchip: vcpu->arch.interrupt (injected at the next entry).
    var queuedInterrupt: UInt8?
    var nmiPending = 0
    var pendingException: (UInt8, UInt32?)?
    var irqWindowArmed = false
    var nmiWindowArmed = false
    /// Further exits of the last instruction (e.g. a second MMIO write), one per KVM_RUN.
    var pendingExits: [Exit] = []
    /// Linear RIP of the instruction whose I/O or MMIO read completes on the next run.
    var resumeRIP: UInt64 = ~0
    var shutdownState = false
    /// KVM_REQ_TRIPLE_FAULT made outside KVM_RUN (KVM_X86_SET_MCE): the next run shuts down.
    var pendingTripleFault = false
    var hasRun = false
    /// FOP, FIP and FDP as KVM_SET_FPU left them (the engine's x87 does not track them).
    var fpuState = FPU()
    /// KVM_SET_FPU wrote a component whose XSTATE_BV bit is clear: the next KVM_RUN's XRSTOR
    /// puts it back to its init state (loadGuestFPU).
    var fpuWrittenNotInUse = false
    /// The XSAVE components beyond SSE (AVX, MPX, AVX-512, PKRU) as KVM_SET_XSAVE gave them:
    /// the engine has no such registers, but a VMM reads back what it set (XSaveState bytes
    /// 576 and up, and their XSTATE_BV bits).
    var extendedXState: (bits: UInt64, bytes: ArraySlice<UInt8>) = (0, [])
    /// Set when the VM was closed: the vCPU fd is gone.
    var closed = false
    /// KVM_MP_STATE_INIT_RECEIVED / UNINITIALIZED: an application processor with an in-kernel
    /// LAPIC waits for INIT/SIPI before it runs (kvm_vcpu_reset, kvm_apic_accept_events).
    var waitingForSIPI = false
    /// KVM_MP_STATE_UNINITIALIZED, the state of an AP that has never run (kvm_arch_vcpu_create):
    /// its first KVM_RUN blocks until an INIT or SIPI arrives, accepts it, and returns EAGAIN.
    var uninitialized = false
    /// The vector of the last start-up IPI (apic->sipi_vector), which KVM_SET_MP_STATE with
    /// SIPI_RECEIVED makes pending again (RefVCPU+MPState.swift).
    var sipiVector: UInt8 = 0
    /// KVM_MP_STATE_AP_RESET_HOLD set by the host: halted, reported as such until woken.
    var apResetHold = false
    var guestDebug = GuestDebug()

    init(vm: RefVM, id: UInt32, index: Int) {
        self.vm = vm
        self.id = id
        self.index = index
        chip = vm.chip
        vmClock = vm.virtualClock
        cpu = CPU(memory: vm.memory, cpuid: CPUIDModel())
        cpu.vcpuIndex = index
        cpu.vmControls = vm.controls
        cpu.devices = vm.chip
        // The VM's injected faults are fixed at its creation: set once, not per KVM_RUN.
        cpu.flipCarryAfterADC = vm.injectedFaults.contains(.flipCarryAfterADC)
        cpu.flipMOVBEAtCPL3 = vm.injectedFaults.contains(.flipMOVBEAtCPL3)
        cpu.skipReadModifyWriteProbe = vm.injectedFaults.contains(.readFaultForReadModifyWrite)
        cpu.staleDecodeCache = vm.injectedFaults.contains(.staleDecodeCache)
        cpu.deadFlagsIgnoreStops = vm.injectedFaults.contains(.deadFlagsAcrossStops)
        cpu.genericStepIgnoresCodeWrites = vm.injectedFaults.contains(.genericStepIgnoresCodeWrites)
        // kvm_vcpu_is_reset_bsp: the BSP is the vCPU whose id is the VM's boot CPU id
        // (KVM_SET_BOOT_CPU_ID, 0 by default); the others are APs (kvm_arch_vcpu_create).
        let bsp = id == vm.bootCPUID
        if let chip = vm.chip {
            chip.setResetBSP(vcpu: index, bsp)
            cpu.apicBase = chip.readMSR(0x1B, vcpu: index, now: 0) ?? cpu.apicBase
        } else if bsp {
            cpu.apicBase |= 0x100
        } else {
            cpu.apicBase &= ~UInt64(0x100)
        }
        if !bsp {
            waitingForSIPI = vm.chip != nil
            uninitialized = vm.chip != nil
        }
    }

    // MARK: extras of the reference engine

    /// Guest instructions retired so far (virtual nanoseconds while not halted).
    public var instructionsRetired: UInt64 { cpu.instructionsRetired }

    public var vmxTraceEnabled: Bool {
        get { cpu.vmxTraceEnabled }
        set { cpu.vmxTraceEnabled = newValue }
    }

    /// The VM exits taken since the last call, oldest first.
    public func takeVMXTrace() -> [VMXTraceRecord] {
        quietEntry = false
        let t = cpu.traceBuffer
        cpu.traceBuffer = []
        return t
    }

    // MARK: kvm_run

    public var readyForInterruptInjection: Bool {
        if chip != nil { return true }
        return cpu.flags & F.if != 0 && cpu.shadow == 0 && queuedInterrupt == nil
    }

    public var ifFlag: Bool { cpu.flags & F.if != 0 }

    private var linearRIP: UInt64 {
        cpu.code64 ? cpu.rip : (cpu.segs[S.cs].base &+ cpu.rip) & 0xFFFF_FFFF
    }

    public func run(budget: RunBudget) throws(KVMError) -> Exit {
        // RefVM.close (also run by its deinit) sets `closed`: no load of the weak `vm` here.
        guard !closed else { throw KVMError(errno: Errno.EBADF, operation: "KVM_RUN") }
        // immediate_exit is read here too: a VMM may set it from another thread during a run.
        if quietEntry && !immediateExit && (cpu.mmioLoad == nil || cpu.mmioLoadValue != nil) { return try quietRun(budget) }
        quietEntry = false
        return try slowRun(budget)
    }

    /// KVM_RUN's entry work (kvm_arch_vcpu_ioctl_run up to vcpu_enter_guest), then the guest.
    @inline(never) private func slowRun(_ budget: RunBudget) throws(KVMError) -> Exit {
        let chip = self.chip
        // kvm_arch_vcpu_ioctl_run clears kvm_run->flags on entry and post_kvm_run_save fills
        // the out fields on every way out, errors included.
        runFlags = 0
        defer {
            kvmRunCR8 = cpu.readCR8()
            apicBase = cpu.apicBase
        }
        // The VM's clock (VMClock): catch up on entry, publish on every way out.
        if cpu.now < vmClock.now { cpu.skippedTime &+= vmClock.now &- cpu.now }
        defer { if cpu.now > vmClock.now { vmClock.now = cpu.now } }
        hasRun = true
        // kvm_load_guest_fpu: XRSTOR of the guest image (RefVCPU+FPUState.swift); only a
        // KVM_SET_FPU can have left a component not in use with values other than its init.
        if fpuWrittenNotInUse { loadGuestFPU() }
        if cpu.devices !== chip { cpu.devices = chip }
        // The host may have written guest memory since the last run (DecodeCache.swift).
        cpu.decodeCache.epoch &+= 1
        // Memory slots changed (or the dirty log was read): drop every cached translation.
        if cpu.memGeneration != cpu.mem.generation { cpu.flushTLB() }
        if !pendingExits.isEmpty { return pendingExits.removeFirst() }
        if shutdownState { return shutdown() }
        // irqfds signalled since the last look (IRQFDs.swift).
        if !cpu.vmControls.irqfds.isEmpty && cpu.vmControls.irqfds.poll(now: cpu.now) { cpu.eventCheck = true }
        if pendingTripleFault { pendingTripleFault = false; return shutdown() }
        // "re-sync apic's tpr": without an in-kernel LAPIC, kvm_run->cr8 is the TPR the VMM
        // wants (kvm_set_cr8 refuses bits above 3:0), before any completion runs.
        if chip == nil {
            guard kvmRunCR8 <= 15 else { throw KVMError(errno: Errno.EINVAL, operation: "KVM_RUN") }
            if kvmRunCR8 != cpu.readCR8() { cpu.writeCR8(kvmRunCR8) }
        }
        var remaining = budget.instructions
        var clock = WallClockBound(budget.wallClockNanoseconds)
        if cpu.mmioLoad != nil {
            // A block's MMIO load (blockMMIOLoad) outside a quiet entry: completed the way
            // step()'s is, by running it again with the VMM's bytes as completion data.
            if let v = cpu.mmioLoadValue {
                cpu.completionData.append(contentsOf: (0..<cpu.mmioLoadSize).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) })
            }
            cpu.mmioLoad = nil
            cpu.mmioLoadValue = nil
        }
        if let next = cpu.ioResumeOutNext, linearRIP == resumeRIP, cpu.flags & (F.tf | F.rf) == 0, !cpu.hwBreakpoints,
           guestDebug.control == 0, cpu.completionData.isEmpty, cpu.ioData.isEmpty {
            // complete_fast_pio_out (no single-step or breakpoint to raise here). An OUT's
            // exit leaves nothing else to complete (ioExit), so this is the whole of
            // complete_userspace_io; the commonest exit takes no other path.
            completeFastPIOOut(next)
            remaining = charge(remaining, 1, &clock)
        } else if let next = cpu.ioResumeInNext, linearRIP == resumeRIP, cpu.flags & (F.tf | F.rf) == 0, !cpu.hwBreakpoints,
                  guestDebug.control == 0, cpu.completionData.isEmpty, cpu.ioData.isEmpty {
            // complete_fast_pio_in: the VMM's data to AL/AX/EAX, then as for an OUT.
            completeFastPIOIn(next)
            remaining = charge(remaining, 1, &clock)
        } else if cpu.ioResume || !cpu.completionData.isEmpty || cpu.msrCompletion != nil || cpu.hypercallCompletion != nil {
            // complete_userspace_io: re-execute the instruction that exited, with the data.
            if linearRIP == resumeRIP {
                cpu.completionPos = 0
                let tf = cpu.flags & F.tf != 0, rf = cpu.flags & F.rf != 0
                let retiredBefore = cpu.instructionsRetired
                let (n, e) = try batch(1)
                remaining = charge(remaining, n, &clock)
                if let e { return e }
                // KVM finishes these without data breakpoints: its emulator checks code
                // breakpoints only (x86.c x86_emulate_instruction), and the fast PIO paths
                // write a register.
                cpu.dataBreakHits = 0
                // The completed instruction single-steps like any other: complete_fast_pio_*,
                // complete_fast_*msr*, complete_hypercall_exit end in
                // kvm_skip_emulated_instruction, MMIO reads and string I/O in
                // x86_emulate_instruction's writeback; both call kvm_vcpu_do_singlestep
                // (a KVM_EXIT_DEBUG now, or a #DB for the guest).
                if cpu.instructionsRetired != retiredBefore {
                    cpu.shadow = 0
                    if let e = trapsAfterInstruction(tf: tf, rf: rf, singleStep: singleStepping) {
                        cleanUpCompletion()
                        return e
                    }
                }
                // kvm_skip_emulated_instruction drops an STI/MOV SS shadow.
                cpu.shadow = 0
            }
            cleanUpCompletion()
        }
        if immediateExit { return .intr }
        if let chip {
            if uninitialized {
                // kvm_arch_vcpu_ioctl_run: an UNINITIALIZED vCPU blocks (here: until the
                // watchdog, reported as its signal) until an event, accepts it
                // (kvm_apic_accept_events) and returns -EAGAIN without entering the guest.
                guard chip.hasPendingINITOrSIPI(vcpu: index) else { return .timeout }
                uninitialized = false
                acceptINITAndSIPI(chip)
                throw KVMError(errno: Errno.EAGAIN, operation: "KVM_RUN")
            }
            acceptINITAndSIPI(chip)
            // Blocked until a start-up IPI: KVM_RUN only returns on a signal (watchdog).
            if waitingForSIPI { return .timeout }
        }
        // VM entry checks RIP (SDM Vol. 3C 26.3.1.4): in 64-bit mode bits 63:47 must be a
        // sign extension (48 linear bits), otherwise bits 63:32 must be 0. KVM_SET_REGS does
        // not check it, so a VMM's bad RIP fails the entry: KVM_EXIT_FAIL_ENTRY with exit
        // reason 33 (invalid guest state) | 80000000H (vmx.c __vmx_handle_exit).
        if cpu.code64 ? !CPU.canonical(cpu.rip) : cpu.rip >> 32 != 0 {
            return .failEntry(hardwareEntryFailureReason: 0x8000_0021, cpu: 0)
        }
        // What the host may have queued since the last exit (KVM_INTERRUPT, KVM_NMI,
        // KVM_SET_VCPU_EVENTS, an interrupt window request, the in-kernel chip's lines) is
        // looked at before the first instruction, as vcpu_enter_guest does; an entry with
        // none of it skips the look.
        if chip != nil || cpu.halted || pendingException != nil || queuedInterrupt != nil || nmiPending > 0
            || requestInterruptWindow {
            cpu.eventCheck = true
        }
        return try enterGuest(remaining, &clock)
    }

    /// vcpu_enter_guest's loop, after KVM_RUN's entry work (run, quietRun): guest
    /// instructions in batches, events between them, up to an exit for userspace.
    private func enterGuest(_ remainingIn: UInt64, _ clock: inout WallClockBound) throws(KVMError) -> Exit {
        var remaining = remainingIn
        let chip = self.chip
        while true {
            // The watchdog of HostKVM, without a thread: the clock is read once per
            // WallClockBound.instructionsPerCheck instructions or turns of this loop.
            if clock.due {
                if clock.expired() { return .timeout }
                // Another thread may have signalled an irqfd while the guest ran.
                if !cpu.vmControls.irqfds.isEmpty && cpu.vmControls.irqfds.poll(now: cpu.now) { cpu.eventCheck = true }
            }
            if cpu.eventCheck || cpu.halted {
                if let e = try events(&remaining) { return e }
                if cpu.halted { clock.turn(); continue }
            }
            if remaining == 0 { return .timeout }
            var limit = min(remaining, WallClockBound.instructionsPerCheck)
            if let chip, let dl = chip.nextDeadline() {
                let now = cpu.now
                if dl <= now { cpu.eventCheck = true; limit = 1 } else { limit = min(limit, dl - now) }
            }
            let singleStep = singleStepping
            let tf = cpu.flags & F.tf != 0
            let rf = cpu.flags & F.rf != 0
            if cpu.shadow != 0 || tf || singleStep || rf || cpu.hwBreakpoints { limit = 1 }
            if cpu.hwBreakpoints && !rf && cpu.shadow != 2 {
                // Instruction breakpoints are faults taken before the instruction.
                let hits = cpu.instructionBreakpointHits(linearRIP)
                if hits != 0 && cpu.hostBreakpoints != nil {
                    // KVM_GUESTDBG_USE_HW_BP: the #DB is KVM's, reported to userspace.
                    cpu.vmExit(.exceptionOrNMI, vector: Vec.db, outcome: "KVM_EXIT_DEBUG")
                    return .debug(exception: 1, pc: linearRIP, dr6: 0xFFFF_0FF0 | hits, dr7: cpu.bp[7])
                }
                if hits != 0 {
                    cpu.dr[6] = (cpu.dr[6] & ~UInt64(0xF)) | hits
                    cpu.instStart = cpu.rip
                    if !cpu.raiseException(Vec.db, nil) { return shutdown() }
                    cpu.eventCheck = true
                    continue
                }
            }
            cpu.dataBreakHits = 0
            let shadowBefore = cpu.shadow
            let retiredBefore = cpu.instructionsRetired
            let (n, e) = try batch(limit)
            remaining = charge(remaining, n, &clock)
            // The shadow ends with the instruction after STI/MOV SS; if that instruction exited
            // to userspace unfinished (IN/OUT/MMIO read), it still blocks, as on VMX.
            if shadowBefore != 0 && (e == nil || cpu.instructionsRetired != retiredBefore) {
                cpu.shadow = 0; cpu.eventCheck = true
            }
            if let e {
                if cpu.ioResumeOutNext != nil || cpu.ioResumeInNext != nil || cpu.mmioLoad != nil || e.isMMIOWrite { armQuietEntry() }
                return e
            }
            if cpu.instructionsRetired != retiredBefore,
               let e = trapsAfterInstruction(tf: tf, rf: rf, singleStep: singleStep) { return e }
        }
    }

    /// complete_fast_pio_out: the data left with the exit, so completing an OUT is
    /// kvm_skip_emulated_instruction alone: RIP past it, one instruction retired, an STI/MOV
    /// SS shadow dropped, nothing else left to complete.
    @inline(__always) private func completeFastPIOOut(_ next: UInt64) {
        skipCompletedPIO(next)
        cpu.msrCompletion = nil
        cpu.hypercallCompletion = nil
    }

    /// completeFastPIOOut when no MSR or hypercall completion can be pending (a quiet entry:
    /// armQuietEntry).
    @inline(__always) private func skipCompletedPIO(_ next: UInt64) {
        let c = cpu
        c.rip = next
        c.instructionsRetired &+= 1
        c.shadow = 0
        c.ioResumeOutNext = nil
        c.ioResume = false
    }

    /// complete_fast_pio_in: the data the VMM gave (0 if none) to AL, AX or EAX (a 32-bit IN
    /// zero-extends into RAX, SDM Vol. 1 3.4.1.1), then what completing an OUT does.
    @inline(__always) private func completeFastPIOIn(_ next: UInt64) {
        let c = cpu
        let size = c.ioResumeInSize
        c.setReg(0, size, c.ioInValue & CPU.mask(size))
        c.ioResumeInNext = nil
        completeFastPIOOut(next)
    }

    /// The exit a decoded block ended on: an MMIO read's (blockMMIOLoad) or an I/O one's.
    @inline(__always) private func blockExit() -> Exit {
        cpu.blockMMIORead ? blockMMIOReadExit() : blockOutExit()
    }

    /// KVM_EXIT_MMIO for a block's load (CPU.blockMMIOLoad), made as handleFault makes
    /// step()'s: RIP stays on the load until the next KVM_RUN finishes it.
    @inline(__always) private func blockMMIOReadExit() -> Exit {
        let c = cpu
        c.blockExited = false
        c.blockMMIORead = false
        c.rip = c.instStart
        if c.blockMMIOReadSPTE {
            // eptExitTrace's commonest case, without its TLB look-up: blockMMIOLoad found the
            // MMIO SPTE in the entry it used, and nothing has changed the TLB since.
            c.vmExit(.eptMisconfig, gpa: c.blockMMIOReadGPA, outcome: "KVM_EXIT_MMIO")
        } else {
            c.firstMMIOReadExitTrace()
        }
        c.stats.mmioExits &+= 1
        c.countEmulation()
        resumeRIP = linearRIP
        return .mmio(MMIOExit(physicalAddress: c.blockMMIOReadGPA, length: UInt32(truncatingIfNeeded: c.mmioLoadSize), isWrite: false, value: 0, byteCount: 0))
    }

    /// The load of an MMIO read's exit finished with the VMM's bytes, as complete_emulated_mmio
    /// finishes it: the register written, RIP past the load, an STI/MOV SS shadow over.
    @inline(__always) private func completeFastMMIOLoad(_ op: DecodedOp, _ v: UInt64) {
        let c = cpu
        c.completeBlockLoad(op, v)
        c.rip = c.mmioLoadNext
        c.instructionsRetired &+= 1
        c.shadow = 0
        c.mmioLoad = nil
        c.mmioLoadValue = nil
    }

    /// The KVM_EXIT_IO of an OUT or IN a decoded block ended on (CPU.blockPortOut or
    /// blockPortIn left its port, size and value), made as ioExit makes step()'s.
    @inline(__always) private func blockOutExit() -> Exit {
        let c = cpu
        c.blockExited = false
        return ioExit(port: c.blockOutPort, size: c.blockOutSize, isIn: c.blockIOIsIn, count: 1, value: c.blockOutValue, string: false)
    }

    /// An OUT's exit (complete_fast_pio_out pending) or an MMIO write's (the write done, RIP
    /// past it: nothing to complete) leaves the vCPU as plain as KVM_RUN's entry checks would
    /// find it at the next run if nothing is done in between: no irqchip, nothing queued or
    /// pending (so events() would do nothing), no debugging, no completion data, no exit
    /// queued behind this one. Then the next KVM_RUN may take quietRun, unless an ioctl on
    /// this vCPU (every public method that may change its state clears `quietEntry`) or a
    /// kvm_run field written by the VMM (cr8, immediate_exit, request_interrupt_window) says
    /// otherwise.
    private func armQuietEntry() {
        let c = cpu
        quietEntry = quietEntryEnabled && chip == nil && pendingExits.isEmpty && !shutdownState && !pendingTripleFault
            && !fpuWrittenNotInUse && !c.halted && pendingException == nil && queuedInterrupt == nil
            && nmiPending == 0 && !requestInterruptWindow && c.flags & (F.tf | F.rf) == 0
            && !c.hwBreakpoints && guestDebug.control == 0 && c.completionData.isEmpty
            && c.ioData.isEmpty && c.msrCompletion == nil && c.hypercallCompletion == nil
            && (c.ioResumeOutNext != nil || c.ioResumeInNext != nil || c.mmioLoad != nil ? resumeRIP == linearRIP
                                                                                        : !c.ioResume && c.shadow == 0)
    }

    /// KVM_RUN right after an OUT's or MMIO write's exit with nothing done to the vCPU since
    /// (armQuietEntry): the entry checks of run() would all pass, so only what can change
    /// without an ioctl on this vCPU is looked at (the VM's clock, host writes to guest
    /// memory, memory slots), an OUT is completed as complete_fast_pio_out does, and the
    /// guest runs.
    @inline(__always) private func quietRun(_ budget: RunBudget) throws(KVMError) -> Exit {
        quietEntry = false
        quietRuns &+= 1
        runFlags = 0
        let c = cpu
        // post_kvm_run_save on the ways out. Out of the blocks (an exit a block ended on, an
        // MMIO store's) only the clock has moved: decoded blocks run no instruction that writes
        // CR8 or IA32_APIC_BASE, and the completions write a GPR and RIP, so kvm_run's cr8 and
        // apic_base are still what the last run published (a VMM write of kvm_run->cr8 ends
        // the quiet entry). Every other way out publishes all three (publishRunState).
        if c.now < vmClock.now { c.skippedTime &+= vmClock.now &- c.now }
        c.decodeCache.epoch &+= 1
        if c.memGeneration != c.mem.generation { c.flushTLB() }
        var clock = WallClockBound(budget.wallClockNanoseconds)
        var remaining = budget.instructions
        if let next = c.ioResumeOutNext {
            skipCompletedPIO(next)
            remaining = charge(remaining, 1, &clock)
        } else if let next = c.ioResumeInNext {
            completeFastPIOIn(next)
            remaining = charge(remaining, 1, &clock)
        } else if let op = c.mmioLoad, let v = c.mmioLoadValue {
            completeFastMMIOLoad(op, v)
            remaining = charge(remaining, 1, &clock)
        }
        // The eventCheck an MMIO write's exit leaves behind (mmioWrite) has nothing behind it
        // here: with nothing pending (armQuietEntry), events() would do nothing.
        c.eventCheck = false
        // RIP past the OUT is checked at entry as any RIP is (slowRun()).
        if c.code64 ? !CPU.canonical(c.rip) : c.rip >> 32 != 0 {
            publishRunState()
            return .failEntry(hardwareEntryFailureReason: 0x8000_0021, cpu: 0)
        }
        // enterGuest's first batch as it would run here (no event, shadow, single-step or
        // breakpoint: armQuietEntry), cut short: decoded blocks up to the next OUT. That
        // exit leaves the vCPU as plain as it found it, so the next run may be quiet too.
        if !c.eventCheck && !c.acCheck && c.fastPath && remaining > 0 {
            c.dataBreakHits = 0
            // Not stepping: what a step() may leave behind (a fault, an event) is batch()'s.
            let perCheck = WallClockBound.instructionsPerCheck
            let k = c.runBlocks(remaining < perCheck ? remaining : perCheck, stepping: false)
            c.instructionsRetired &+= k
            if c.blockExited {
                _ = charge(remaining, k &+ 1, &clock)   // (repIterations)
                quietEntry = quietEntryEnabled
                publishClock()
                return blockExit()
            }
            remaining = charge(remaining, k, &clock)
            if c.blockMMIOStored {
                // A store to MMIO retired in the block (blockMMIOStore), as in batch(). Its
                // exit (one write: nothing queued behind it) leaves the vCPU as plain as it
                // was found, so the next run may be quiet too.
                c.blockMMIOStored = false
                if c.eventCheck && c.stopAfterInstruction {
                    // One write, the store's own (afterInstruction's commonest case, inline).
                    if let w = c.firstMMIOWrite, c.moreMMIOWrites.isEmpty && c.pendingIOOut == nil {
                        c.firstMMIOWrite = nil
                        c.stopAfterInstruction = false
                        quietEntry = quietEntryEnabled
                        publishClock()
                        return mmioWriteExit(w)
                    }
                    if let e = afterInstruction() {
                        quietEntry = quietEntryEnabled && pendingExits.isEmpty
                        publishRunState()
                        return e
                    }
                }
            }
        }
        do {
            let e = try enterGuest(remaining, &clock)
            publishRunState()
            return e
        } catch {
            publishRunState()
            throw error
        }
    }

    /// post_kvm_run_save for quietRun's ways out other than a block's exit: kvm_run's cr8 and
    /// apic_base, and the VM's clock (out of line: these are the rarer ways).
    @inline(never) private func publishRunState() {
        let c = cpu
        kvmRunCR8 = c.readCR8()
        apicBase = c.apicBase
        publishClock()
    }

    /// The VM's clock (VMClock) on a way out of KVM_RUN: where this vCPU's time got to.
    @inline(__always) private func publishClock() {
        if cpu.now > vmClock.now { vmClock.now = cpu.now }
    }

    /// The debug traps of an instruction that completed (SDM Vol. 3B 17.3.1.2 data
    /// breakpoints, 17.3.1.4 single-step, both decided by the state before the instruction:
    /// `tf` and `rf` as it began), for the main loop and for an instruction KVM completes
    /// after a userspace exit (kvm_skip_emulated_instruction, or x86_emulate_instruction's
    /// writeback, calls kvm_vcpu_do_singlestep there). Returns the exit to userspace, if any;
    /// a #DB for the guest is raised here.
    private func trapsAfterInstruction(tf: Bool, rf: Bool, singleStep: Bool) -> Exit? {
        if rf { cpu.flags &= ~F.rf }   // RF is cleared once an instruction completes
        if cpu.dataBreakHits != 0 && cpu.hostBreakpoints != nil {
            let hits = cpu.dataBreakHits
            cpu.dataBreakHits = 0
            cpu.vmExit(.exceptionOrNMI, vector: Vec.db, outcome: "KVM_EXIT_DEBUG")
            return .debug(exception: 1, pc: linearRIP, dr6: 0xFFFF_0FF0 | hits, dr7: cpu.bp[7])
        }
        if cpu.dataBreakHits != 0 || (tf && cpu.hwBreakpoints) {
            // Data breakpoints (and single-step) trap after the instruction.
            cpu.dr[6] = (cpu.dr[6] & ~UInt64(0xF)) | cpu.dataBreakHits | (tf ? 0x4000 : 0)
            cpu.dataBreakHits = 0
            if !cpu.raiseException(Vec.db, nil) { return shutdown() }
            cpu.eventCheck = true
            return nil
        }
        if singleStep {
            // kvm_vcpu_do_singlestep with KVM_GUESTDBG_SINGLESTEP: DR6_BS | DR6_ACTIVE_LOW.
            return .debug(exception: 1, pc: linearRIP, dr6: 0xFFFF_4FF0, dr7: cpu.dr[7])
        }
        if tf {
            // Single-step trap after the instruction (SDM Vol. 3B 17.3.1.4;
            // kvm_vcpu_do_singlestep queues #DB with DR6_BS).
            cpu.dr[6] |= 0x4000
            if !cpu.raiseException(Vec.db, nil) { return shutdown() }
            cpu.eventCheck = true
        }
        return nil
    }

    /// KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP.
    private var singleStepping: Bool {
        guestDebug.control & (GuestDebug.enable | GuestDebug.singleStep) == (GuestDebug.enable | GuestDebug.singleStep)
    }

    /// complete_userspace_io ran: nothing of the exit's data is kept for the next entry.
    private func cleanUpCompletion() {
        cpu.ioResumeOutNext = nil
        cpu.ioResumeInNext = nil
        cpu.ioResume = false
        // Tested first: an OUT's completion has no data, and storing an empty array over an
        // empty one still costs a release and a retain per exit.
        if !cpu.completionData.isEmpty { cpu.completionData = [] }
        if !cpu.ioData.isEmpty { cpu.ioData = [] }
        cpu.msrCompletion = nil
        cpu.hypercallCompletion = nil
    }

    /// What is left of the instruction budget after `steps` steps and the REP iterations
    /// they did (each counts, so a huge RCX cannot outlast the budget).
    @inline(__always)
    private func charge(_ remaining: UInt64, _ steps: UInt64, _ clock: inout WallClockBound) -> UInt64 {
        let used = steps &+ cpu.repIterations
        cpu.repIterations = 0
        clock.turn(instructions: used)
        return remaining > used ? remaining - used : 0
    }

    /// kvm_apic_accept_events: a pending INIT puts the vCPU in wait-for-SIPI; a pending SIPI
    /// starts a waiting vCPU and is dropped by any other (SDM Vol. 3A 10.6.1: a running
    /// processor ignores a start-up IPI).
    func acceptINITAndSIPI(_ chip: IRQChip) {
        if chip.takePendingINIT(vcpu: index) {
            // kvm_apic_accept_events resets the vCPU when it takes the INIT
            // (kvm_vcpu_reset(vcpu, true)), not at the SIPI: KVM_GET_SREGS of a vCPU in
            // INIT_RECEIVED shows the reset state, and a VMM that restores it elsewhere
            // relies on that (the SIPI then only sets CS and RIP).
            let apic = cpu.apicBase
            // CR0.CD and NW are set on RESET and kept on INIT (kvm_vcpu_reset, SDM Vol. 3A
            // Table 9-1).
            let cacheBits = cpu.cr0 & 0x6000_0000
            cpu.reset()
            cpu.cr0 = cpu.cr0 & ~0x6000_0000 | cacheBits
            cpu.apicBase = apic
            cpu.updateMode()
            waitingForSIPI = true; apResetHold = false
        }
        if let v = chip.takePendingSIPI(vcpu: index), waitingForSIPI { startUp(vector: v) }
    }

    /// The SIPI after INIT: CS = vector << 8 with base vector << 12, RIP = 0 (SDM Vol. 3A
    /// 9.4.4; kvm_vcpu_deliver_sipi_vector sets nothing else).
    private func startUp(vector: UInt8) {
        sipiVector = vector
        var cs = Seg(); cs.sel = UInt16(vector) << 8; cs.base = UInt64(vector) << 12; cs.type = 0xB
        cpu.segs[S.cs] = cs
        cpu.derive(S.cs)
        cpu.rip = 0
        cpu.updateMode()
        waitingForSIPI = false
    }

    /// Runs up to `limit` instructions; stops early on an exit or when events need a look.
    @inline(__always)
    private func batch(_ limit: UInt64) throws(KVMError) -> (UInt64, Exit?) {
        let c = cpu
        var n: UInt64 = 0
        // The limit counts REP iterations as charge() does (each is one of the budget), so
        // where a batch ends does not change where the budget runs out.
        let rep0 = c.repIterations
        var used: UInt64 { n &+ (c.repIterations &- rep0) }
        while used < limit {
            // Decoded blocks first (CPU.runBlocks), which has step() run in place what it stops
            // in front of; step() below runs only where blocks may not. eventCheck is false
            // here except on entry.
            if !c.eventCheck && !c.acCheck && !c.hwBreakpoints && c.fastPath {
                let k = c.runBlocks(limit &- used, stepping: true)
                n &+= k
                c.instructionsRetired &+= k
                if c.blockExited {
                    // An OUT in a block made its exit (blockPortOut): counted as step()'s
                    // exits are, and handed to userspace as handleFault hands step()'s.
                    n &+= 1
                    return (n, blockExit())
                }
                if c.blockMMIOStored {
                    // A store to MMIO retired in the block (blockMMIOStore): what follows is
                    // what follows such a store in step() below.
                    c.blockMMIOStored = false
                    if c.eventCheck {
                        if c.stopAfterInstruction, let e = afterInstruction() { return (n, e) }
                        return (n, nil)
                    }
                    continue
                }
                if let f = c.blockStepFault {
                    // The step() runBlocks ran in place faulted: as a fault of step() below.
                    c.blockStepFault = nil
                    n &+= 1
                    if let e = try handleFault(f) { return (n, e) }
                    if c.eventCheck { return (n, nil) }
                    continue
                }
                if c.eventCheck {
                    // The step() runBlocks ran in place asked for a look (the check after
                    // step() below; runBlocks leaves eventCheck alone otherwise).
                    if c.stopAfterInstruction, let e = afterInstruction() { return (n, e) }
                    return (n, nil)
                }
                if used >= limit { break }
                // runBlocks ran what it stopped in front of itself (stepping) and left because
                // something it holds changed: look again from the top, not at step() below.
                continue
            }
            n &+= 1
            do {
                try c.step()
                c.instructionsRetired &+= 1
            } catch {
                if let e = try handleFault(error) { return (n, e) }
                if c.eventCheck { return (n, nil) }
                continue
            }
            if c.eventCheck {
                // stopAfterInstruction always comes with eventCheck: one test on the fast path.
                if c.stopAfterInstruction, let e = afterInstruction() { return (n, e) }
                return (n, nil)
            }
        }
        return (n, nil)
    }

    private func handleFault(_ f: Fault) throws(KVMError) -> Exit? {
        let c = cpu
        switch f {
        case .exception(let v, let code):
            c.rip = c.instStart
            c.stopAfterInstruction = false
            c.dropPendingMMIOWrites()
            c.pendingIOOut = nil
            if !c.raiseException(v, code) { return shutdown() }
            return nil
        case .vmexit:
            let req = c.exitRequest
            c.exitRequest = .none
            switch req {
            case .hlt:
                c.instructionsRetired &+= 1
                c.stats.haltExits &+= 1
                if c.devices != nil {
                    c.vmExit(.hlt, outcome: VMXTraceRecord.handledInKernel)
                    c.halted = true
                    c.eventCheck = true
                    return nil
                }
                c.vmExit(.hlt, outcome: "KVM_EXIT_HLT")
                return .hlt
            case .setTPR:
                // The MOV to CR8 completed (RIP is past it); the VMX exit was traced there.
                c.instructionsRetired &+= 1
                return .setTPR
            case .io(let port, let size, let isIn, let count, let value, let string, _, _):
                if !isIn && !string && port == 0x7E {
                    // KVM_X86_QUIRK_OUT_7E_INC_RIP: RIP is advanced before exiting.
                    c.rip = c.nextRIP
                    c.instructionsRetired &+= 1
                    return .io(IOExit(direction: .out, size: UInt8(size), port: port, count: 1, value: value, byteCount: size))
                }
                return ioExit(port: port, size: size, isIn: isIn, count: count, value: value, string: string)
            case .mmio(let gpa, let size, _, _, let linear, _, _):
                c.rip = c.instStart
                c.eptExitTrace(gpa: gpa, linear: linear, write: false, fetch: false, readOnly: false, outcome: "KVM_EXIT_MMIO")
                c.stats.mmioExits &+= 1
                c.countEmulation()
                resumeRIP = linearRIP
                c.stopAfterInstruction = false
                c.dropPendingMMIOWrites()
                return .mmio(MMIOExit(physicalAddress: gpa, length: UInt32(size), isWrite: false, value: 0, byteCount: 0))
            case .tripleFault:
                return shutdown()
            case .emulationFailure:
                c.rip = c.instStart
                c.stats.insnEmulationFail &+= 1
                return .internalError(suberror: InternalErrorSuberror.emulation, data: [])
            case .efault:
                c.rip = c.instStart
                throw KVMError(errno: Errno.EFAULT, operation: "KVM_RUN")
            case .softwareBreakpoint:
                c.rip = c.instStart
                c.vmExit(.exceptionOrNMI, vector: Vec.bp, outcome: "KVM_EXIT_DEBUG")
                return .debug(exception: 3, pc: linearRIP, dr6: c.dr[6], dr7: c.dr[7])
            case .msr(let write, let index, let data, let reason):
                // kvm_msr_user_space: msr.error = 0 and msr.data as exited (0 for a read)
                // stand unless userspace changes them (completeMSR).
                c.rip = c.instStart
                c.msrCompletion = (false, write ? data : 0)
                resumeRIP = linearRIP
                return write ? .wrmsr(index: index, data: data, reason: reason) : .rdmsr(index: index, reason: reason)
            case .hypercall(let nr, let args, let longMode):
                c.rip = c.instStart
                c.hypercallCompletion = 0
                resumeRIP = linearRIP
                return .hypercall(nr: nr, args: args, ret: 0, longMode: longMode)
            case .none:
                c.rip = c.instStart
                return nil
            }
        }
    }

    /// KVM_EXIT_IO for an IN, OUT, INS or OUTS that userspace completes: RIP stays at the
    /// instruction until the next KVM_RUN finishes it (complete_userspace_io); an OUT's
    /// completion only skips it (complete_fast_pio_out), an IN's takes the data.
    @inline(__always)
    private func ioExit(port: UInt16, size: Int, isIn: Bool, count: Int, value: UInt64, string: Bool) -> Exit {
        let c = cpu
        if !isIn {
            c.ioResumeOutNext = string ? nil : c.outNextRIP
            c.ioResumeInNext = nil
            if !c.ioData.isEmpty { c.ioData = [] }
        } else if string || count != 1 {
            c.ioResumeOutNext = nil
            c.ioResumeInNext = nil
            c.ioData = [UInt8](repeating: 0, count: size * count)
        } else {
            // A plain IN's data comes inline (ioInValue, 0 until the VMM gives some).
            c.ioResumeOutNext = nil
            c.ioResumeInNext = c.outNextRIP
            c.ioResumeInSize = size
            c.ioInValue = 0
            if !c.ioData.isEmpty { c.ioData = [] }
        }
        c.rip = c.instStart
        c.ioResume = true
        c.ioDataPos = 0
        resumeRIP = linearRIP
        // Every OUT value is cut to its size where the CPU records the exit (userspaceIOExit,
        // blockIOExit); an IN's is 0.
        return .io(IOExit(direction: isIn ? .in : .out, size: UInt8(truncatingIfNeeded: size), port: port, count: UInt32(count),
                          maskedValue: value, byteCount: isIn ? 0 : UInt8(truncatingIfNeeded: size)))
    }

    /// Exits owed by an instruction that completed: MMIO writes (RIP already advanced, as
    /// KVM writes back before exiting) and OUTS elements.
    private func afterInstruction() -> Exit? {
        let c = cpu
        c.stopAfterInstruction = false
        // The commonest case, one MMIO write (a MOV to a device register), builds no array.
        if let w = c.firstMMIOWrite, c.moreMMIOWrites.isEmpty && c.pendingIOOut == nil {
            c.firstMMIOWrite = nil
            return mmioWriteExit(w)
        }
        var exits: [Exit] = []
        if let w = c.firstMMIOWrite { exits.append(mmioWriteExit(w)) }
        for w in c.moreMMIOWrites { exits.append(mmioWriteExit(w)) }
        c.dropPendingMMIOWrites()
        if let o = c.pendingIOOut {
            c.pendingIOOut = nil
            exits.append(.io(IOExit(direction: .out, size: UInt8(o.size), port: o.port, count: 1, value: o.value, byteCount: o.size)))
            if c.rip == c.instStart {
                c.ioResume = true
                resumeRIP = linearRIP
            }
        }
        if exits.isEmpty { return nil }
        pendingExits = Array(exits.dropFirst())
        return exits[0]
    }

    /// The KVM_EXIT_MMIO of a write that completed (KVM wrote back before exiting).
    @inline(__always) private func mmioWriteExit(_ w: PendingMMIOWrite) -> Exit {
        let c = cpu
        c.eptExitTrace(gpa: w.gpa, linear: w.linear, write: true, fetch: false, readOnly: w.readOnly, outcome: "KVM_EXIT_MMIO")
        c.stats.mmioExits &+= 1
        c.countEmulation()
        return .mmio(MMIOExit(physicalAddress: w.gpa, length: UInt32(w.size), isWrite: true, value: w.value, byteCount: w.size))
    }

    private func shutdown() -> Exit {
        if !shutdownState { cpu.vmExit(.tripleFault, outcome: "KVM_EXIT_SHUTDOWN") }
        shutdownState = true
        return .shutdown
    }

    /// inject_pending_event + the KVM_EXIT_IRQ_WINDOW_OPEN check of vcpu_run, and HLT blocking.
    private func events(_ remaining: inout UInt64) throws(KVMError) -> Exit? {
        let c = cpu
        c.eventCheck = false
        let chip = c.devices   // vm?.chip, stored at KVM_RUN
        if let chip {
            if let dl = chip.nextDeadline(), dl <= c.now, !c.halted {
                // The timer fired while the guest ran: an external-interrupt exit on the host.
                c.vmExit(.externalInterrupt, outcome: VMXTraceRecord.handledInKernel)
                c.stats.irqExits &+= 1
            }
            chip.advance(to: c.now)
            if chip.takePendingNMI(vcpu: index) { nmiPending = min(nmiPending + 1, 2) }
        }
        let shadow = c.shadow != 0
        if let (v, code) = pendingException {
            pendingException = nil
            if !c.raiseException(v, code) { return shutdown() }
            c.eventCheck = true
            return nil
        }
        if let v = queuedInterrupt {
            // VM-entry injection ignores RFLAGS.IF; blocking by STI/MOV SS fails the entry.
            if shadow { return .failEntry(hardwareEntryFailureReason: 0x8000_0021, cpu: 0) }
            queuedInterrupt = nil
            c.stats.irqInjections &+= 1
            c.halted = false
            if !c.deliverExternal(v, nmi: false) { return shutdown() }
            c.eventCheck = true
            return nil
        }
        if nmiPending > 0 {
            if !c.nmiMasked && !shadow {
                if nmiWindowArmed {
                    c.vmExit(.nmiWindow, outcome: VMXTraceRecord.handledInKernel)
                    c.stats.nmiWindowExits &+= 1
                    nmiWindowArmed = false
                }
                nmiPending -= 1
                c.stats.nmiInjections &+= 1
                if c.halted { c.halted = false; c.stats.haltWakeup &+= 1 }
                if !c.deliverExternal(Vec.nmi, nmi: true) { return shutdown() }
                c.eventCheck = true
                return nil
            }
            nmiWindowArmed = true
            if shadow { c.eventCheck = true }
        }
        if let chip, chip.pendingInterrupt(vcpu: index, now: c.now) != nil {
            if c.flags & F.if != 0 && !shadow {
                if irqWindowArmed {
                    c.vmExit(.interruptWindow, outcome: VMXTraceRecord.handledInKernel)
                    c.stats.irqWindowExits &+= 1
                    irqWindowArmed = false
                }
                let v = chip.acknowledgeInterrupt(vcpu: index, now: c.now)
                c.stats.irqInjections &+= 1
                if c.halted { c.halted = false; c.stats.haltWakeup &+= 1 }
                if !c.deliverExternal(v, nmi: false) { return shutdown() }
                c.eventCheck = true
                return nil
            }
            if !c.halted { irqWindowArmed = true }
            if shadow { c.eventCheck = true }
        }
        if requestInterruptWindow && chip == nil {
            if c.flags & F.if != 0 && !shadow && queuedInterrupt == nil {
                c.vmExit(.interruptWindow, outcome: "KVM_EXIT_IRQ_WINDOW_OPEN")
                c.stats.irqWindowExits &+= 1
                c.stats.requestIRQExits &+= 1
                return .irqWindowOpen
            }
            if shadow { c.eventCheck = true }
        }
        if c.halted {
            guard let chip else { c.halted = false; return nil }
            // Blocked in kvm_vcpu_halt: skip virtual time to the next timer event.
            if remaining == 0 { return .timeout }
            remaining -= 1
            guard let dl = chip.nextDeadline() else { return .timeout }
            if dl > c.now { c.skippedTime &+= dl - c.now }
            c.eventCheck = true
        }
        return nil
    }

    public func completeIO(_ data: [UInt8]) {
        if cpu.ioResumeInNext != nil && data.count <= 8 {
            var v: UInt64 = 0
            for (i, b) in data.enumerated() { v |= UInt64(b) << UInt64(8 * i) }
            completeIO(value: v, byteCount: data.count)
            return
        }
        quietEntry = false
        cpu.ioData = data
        cpu.ioDataPos = 0
    }

    /// A plain IN's data is kvm_run's io area, written by the VMM without an ioctl: it does
    /// not end a quiet entry (complete_fast_pio_in reads it at the next KVM_RUN).
    public func completeIO(value: UInt64, byteCount: Int) {
        let n = min(max(byteCount, 0), 8)
        guard cpu.ioResumeInNext != nil else { return completeIO(bytesOf: value, n) }
        cpu.ioInValue = n == 8 ? value : value & ((1 << UInt64(8 * n)) - 1)
    }

    /// completeIO(value:byteCount:) for anything but a plain IN's exit (out of line: the
    /// plain IN is an exit loop's every iteration).
    @inline(never) private func completeIO(bytesOf value: UInt64, _ n: Int) {
        completeIO((0..<n).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) })
    }

    public func completeMMIORead(_ data: [UInt8]) {
        if cpu.mmioLoad != nil && data.count <= 8 {
            var v: UInt64 = 0
            for (i, b) in data.enumerated() { v |= UInt64(b) << UInt64(8 * i) }
            completeMMIORead(value: v, byteCount: data.count)
            return
        }
        quietEntry = false
        cpu.completionData.append(contentsOf: data)
    }

    /// The data of a block load's MMIO read exit is kvm_run's mmio.data, written by the VMM
    /// without an ioctl: it does not end a quiet entry (the next KVM_RUN finishes the load).
    public func completeMMIORead(value: UInt64, byteCount: Int) {
        let n = min(max(byteCount, 0), 8)
        guard cpu.mmioLoad != nil else { return completeMMIORead(bytesOf: value, n) }
        // Bytes the VMM did not give are 0 (as an array shorter than the access reads).
        cpu.mmioLoadValue = n == 8 ? value : value & ((1 << UInt64(8 * n)) - 1)
    }

    /// completeMMIORead(value:byteCount:) for anything but a block load's exit (out of line:
    /// that load is an MMIO-read loop's every iteration).
    @inline(never) private func completeMMIORead(bytesOf value: UInt64, _ n: Int) {
        completeMMIORead((0..<n).map { UInt8(truncatingIfNeeded: value >> UInt64(8 * $0)) })
    }

    // MARK: registers

    public func regs() throws(KVMError) -> Regs {
        var r = Regs()
        let g = cpu.regs
        r.rax = g[0]; r.rcx = g[1]; r.rdx = g[2]; r.rbx = g[3]; r.rsp = g[4]; r.rbp = g[5]; r.rsi = g[6]; r.rdi = g[7]
        r.r8 = g[8]; r.r9 = g[9]; r.r10 = g[10]; r.r11 = g[11]; r.r12 = g[12]; r.r13 = g[13]; r.r14 = g[14]; r.r15 = g[15]
        r.rip = cpu.rip
        r.rflags = cpu.flags
        return r
    }

    public func setRegs(_ r: Regs) throws(KVMError) {
        quietEntry = false
        let g = cpu.regs
        g[0] = r.rax; g[1] = r.rcx; g[2] = r.rdx; g[3] = r.rbx; g[4] = r.rsp; g[5] = r.rbp; g[6] = r.rsi; g[7] = r.rdi
        g[8] = r.r8; g[9] = r.r9; g[10] = r.r10; g[11] = r.r11; g[12] = r.r12; g[13] = r.r13; g[14] = r.r14; g[15] = r.r15
        cpu.rip = cpu.code64 ? r.rip : r.rip
        cpu.flags = r.rflags | 2   // X86_EFLAGS_FIXED
        cpu.updateAC()
        cpu.eventCheck = true
        shutdownState = false      // userspace may restart a vCPU after KVM_EXIT_SHUTDOWN
    }

    static func toABI(_ s: Seg) -> Segment {
        Segment(base: s.base, limit: s.limit, selector: s.sel, type: s.type, present: s.present ? 1 : 0,
                dpl: s.dpl, db: s.db ? 1 : 0, s: s.s ? 1 : 0, l: s.l ? 1 : 0, g: s.g ? 1 : 0,
                avl: s.avl ? 1 : 0, unusable: s.unusable ? 1 : 0)
    }

    static func fromABI(_ a: Segment) -> Seg {
        var s = Seg()
        s.sel = a.selector; s.base = a.base; s.limit = a.limit; s.type = a.type & 0xF
        s.present = a.present != 0; s.dpl = a.dpl & 3; s.db = a.db != 0; s.s = a.s != 0; s.l = a.l != 0
        s.g = a.g != 0; s.avl = a.avl != 0; s.unusable = a.unusable != 0
        return s
    }

    public func sregs() throws(KVMError) -> SpecialRegisters {
        var s = SpecialRegisters()
        let g = cpu.segs
        s.es = RefVCPU.toABI(g[S.es]); s.cs = RefVCPU.toABI(g[S.cs]); s.ss = RefVCPU.toABI(g[S.ss])
        s.ds = RefVCPU.toABI(g[S.ds]); s.fs = RefVCPU.toABI(g[S.fs]); s.gs = RefVCPU.toABI(g[S.gs])
        s.ldt = RefVCPU.toABI(g[S.ldtr]); s.tr = RefVCPU.toABI(g[S.tr])
        s.gdt = DescriptorTable(base: cpu.gdtBase, limit: UInt16(truncatingIfNeeded: cpu.gdtLimit))
        s.idt = DescriptorTable(base: cpu.idtBase, limit: UInt16(truncatingIfNeeded: cpu.idtLimit))
        s.cr0 = cpu.cr0; s.cr2 = cpu.cr2; s.cr3 = cpu.cr3; s.cr4 = cpu.cr4
        s.cr8 = cpu.readCR8()
        s.efer = cpu.efer
        s.apicBase = cpu.apicBase
        if let v = queuedInterrupt { s.interruptBitmap[Int(v >> 6)] |= 1 << UInt64(v & 63) }
        return s
    }

    public func setSregs(_ s: SpecialRegisters) throws(KVMError) {
        quietEntry = false
        try setSregsCommon(s, loadPDPTEs: true)
    }

    /// __set_sregs_common: KVM_SET_SREGS, and KVM_SET_SREGS2, which loads the PDPTEs from
    /// memory only when userspace did not supply them.
    func setSregsCommon(_ s: SpecialRegisters, loadPDPTEs: Bool) throws(KVMError) {
        let op = "KVM_SET_SREGS"
        // kvm_is_valid_sregs
        if s.efer & (1 << 8) != 0 && s.cr0 & 0x8000_0000 != 0 {
            if s.cr4 & 0x20 == 0 || s.efer & (1 << 10) == 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        } else if s.efer & (1 << 10) != 0 || s.cs.l != 0 {
            // Not in 64-bit mode: EFER.LMA clear and the code segment cannot be 64-bit.
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        if s.cr4 & ~cpu.cr4Allowed != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if s.cr0 >> 32 != 0 || (s.cr0 & 0x8000_0000 != 0 && s.cr0 & 1 == 0) || (s.cr0 & 0x2000_0000 != 0 && s.cr0 & 0x4000_0000 == 0) {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        let c = cpu
        c.cr0 = s.cr0 | 0x10; c.cr2 = s.cr2; c.cr3 = s.cr3; c.cr4 = s.cr4; c.efer = s.efer
        c.writeCR8(s.cr8 & 0xF)
        if vm?.chip == nil { c.apicBase = s.apicBase }
        else if let chip = vm?.chip, chip.writeMSR(0x1B, value: s.apicBase, vcpu: index, now: c.now) { c.apicBase = s.apicBase }
        c.gdtBase = s.gdt.base; c.gdtLimit = UInt32(s.gdt.limit)
        c.idtBase = s.idt.base; c.idtLimit = UInt32(s.idt.limit)
        c.segs[S.es] = RefVCPU.fromABI(s.es); c.segs[S.cs] = RefVCPU.fromABI(s.cs); c.segs[S.ss] = RefVCPU.fromABI(s.ss)
        c.segs[S.ds] = RefVCPU.fromABI(s.ds); c.segs[S.fs] = RefVCPU.fromABI(s.fs); c.segs[S.gs] = RefVCPU.fromABI(s.gs)
        c.segs[S.ldtr] = RefVCPU.fromABI(s.ldt); c.segs[S.tr] = RefVCPU.fromABI(s.tr)
        // vmx_get_cpl: SS.DPL in protected mode, 0 in real mode.
        c.cpl = c.pe ? Int(c.segs[S.ss].dpl) : 0
        c.rederiveAll()
        c.updateMode()
        c.flushTLB()
        // KVM_SET_SREGS reloads the PDPTEs in PAE paging mode (load_pdptrs).
        if c.paePaging && loadPDPTEs { do { try c.loadPDPTEs(c.cr3) } catch { throw KVMError(errno: Errno.EINVAL, operation: op) } }
        for w in 0..<4 where s.interruptBitmap.count > w && s.interruptBitmap[w] != 0 {
            queuedInterrupt = UInt8(w * 64 + s.interruptBitmap[w].trailingZeroBitCount)
            break
        }
        // __set_sregs_common, "older userspace won't unhalt the vcpu on reset": the BSP
        // given the reset CS (F000H, base FFFF0000H) at RIP FFF0H in real mode is RUNNABLE.
        if c.apicBase & 0x100 != 0 && c.rip == 0xFFF0 && s.cs.selector == 0xF000 && s.cs.base == 0xFFFF_0000 && !c.pe {
            uninitialized = false; waitingForSIPI = false; c.halted = false; apResetHold = false
        }
        c.eventCheck = true
    }

    /// msr_io (x86.c): at most MAX_IO_MSRS - 1 = 255 entries per call, else E2BIG.
    static let maximumMSRsPerCall = 255

    public func msrs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry] {
        if indices.count > Self.maximumMSRsPerCall { throw KVMError(errno: Errno.E2BIG, operation: "KVM_GET_MSRS") }
        var out: [MSREntry] = []
        for i in indices {
            guard let v = cpu.readMSR(i, hostInitiated: true) else { break }
            out.append(MSREntry(index: i, data: v))
        }
        return out
    }

    public func setMSRs(_ entries: [MSREntry]) throws(KVMError) -> Int {
        quietEntry = false
        if entries.count > Self.maximumMSRsPerCall { throw KVMError(errno: Errno.E2BIG, operation: "KVM_SET_MSRS") }
        var n = 0
        for e in entries {
            if e.index == 0xC000_0080 {
                // set_efer (x86.c): reserved bits refuse the write even from the host, which
                // skips only the guest checks; LMA is not taken from the write but kept from
                // the vCPU's state (KVM_SET_SREGS is how a VMM sets it).
                if e.data & ~UInt64(0xD01 | 0x400) != 0 { break }
                cpu.efer = (e.data & ~UInt64(0x400)) | (cpu.efer & 0x400)
                cpu.updateMode()
                cpu.flushTLB()
            } else if !cpu.writeMSR(e.index, e.data, hostInitiated: true) { break }
            n += 1
        }
        return n
    }

    /// kvm_vcpu_ioctl_set_cpuid: the old entries become kvm_cpuid_entry2 with index 0 and
    /// flags 0, then the same kvm_set_cpuid (E2BIG above 256, the after-run rule).
    public func setCPUIDv1(_ entries: [CPUIDEntry]) throws(KVMError) {
        quietEntry = false
        do throws(KVMError) {
            try setCPUID(entries.map { CPUIDEntry(function: $0.function, index: 0, flags: 0, eax: $0.eax, ebx: $0.ebx, ecx: $0.ecx, edx: $0.edx) })
        } catch { throw KVMError(errno: error.errno, operation: "KVM_SET_CPUID") }
    }

    public func setCPUID(_ entries: [CPUIDEntry]) throws(KVMError) {
        quietEntry = false
        let op = "KVM_SET_CPUID2"
        if entries.count > 256 { throw KVMError(errno: Errno.E2BIG, operation: op) }
        // Since 5.16 KVM refuses to change CPUID after KVM_RUN (identical tables are allowed).
        if hasRun && entries != cpu.cpuid.entries { throw KVMError(errno: Errno.EINVAL, operation: op) }
        cpu.cpuid.entries = entries
        cpu.updatePhysicalAddressWidth()
    }

    public func vcpuEvents() throws(KVMError) -> VCPUEvents {
        quietEntry = false
        // kvm_vcpu_ioctl_x86_get_vcpu_events starts with process_nmi: NMIs the LAPIC queued
        // (nmi_queued) become pending, at most two, one while NMIs are masked. Without it a
        // saved vCPU loses an NMI sent by another vCPU or an MSI it has not run since.
        if let chip {
            while chip.takePendingNMI(vcpu: index) { nmiPending += 1 }
            nmiPending = min(nmiPending, cpu.nmiMasked ? 1 : 2)
        }
        var e = VCPUEvents()
        if let v = queuedInterrupt { e.interrupt.injected = 1; e.interrupt.nr = v }
        e.interrupt.shadow = cpu.shadow == 1 ? 2 : (cpu.shadow == 2 ? 1 : 0)
        e.nmi.pending = nmiPending > 0 ? 1 : 0
        e.nmi.masked = cpu.nmiMasked ? 1 : 0
        if let (v, code) = pendingException {
            e.exception.injected = 1; e.exception.nr = v
            e.exception.hasErrorCode = code == nil ? 0 : 1; e.exception.errorCode = code ?? 0
        }
        e.flags = VCPUEvents.validNMIPending | VCPUEvents.validShadow | VCPUEvents.validSMM
        return e
    }

    public func setVCPUEvents(_ e: VCPUEvents) throws(KVMError) {
        quietEntry = false
        let op = "KVM_SET_VCPU_EVENTS"
        let valid = VCPUEvents.validNMIPending | VCPUEvents.validSIPIVector | VCPUEvents.validShadow | VCPUEvents.validSMM
        // PAYLOAD and TRIPLE_FAULT need capabilities this engine does not enable.
        if e.flags & ~valid != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if e.exception.injected != 0 && (e.exception.nr > 31 || e.exception.nr == 2) {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        if e.flags & VCPUEvents.validSMM != 0 && e.smi.smm != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        pendingException = (e.exception.injected != 0 || e.exception.pending != 0)
            ? (e.exception.nr, e.exception.hasErrorCode != 0 ? e.exception.errorCode : nil) : nil
        queuedInterrupt = e.interrupt.injected != 0 ? e.interrupt.nr : nil
        if e.flags & VCPUEvents.validShadow != 0 {
            cpu.shadow = e.interrupt.shadow & 2 != 0 ? 1 : (e.interrupt.shadow & 1 != 0 ? 2 : 0)
        }
        if e.nmi.injected != 0 { nmiPending = max(nmiPending, 1) }
        if e.flags & VCPUEvents.validNMIPending != 0 { nmiPending = Int(e.nmi.pending != 0 ? 1 : 0) + (e.nmi.injected != 0 ? 1 : 0) }
        cpu.nmiMasked = e.nmi.masked != 0
        cpu.eventCheck = true
    }

    public func interrupt(vector: UInt8) throws(KVMError) {
        quietEntry = false
        // kvm_vcpu_ioctl_interrupt: with the in-kernel PIC the ioctl is refused.
        if chip != nil { throw KVMError(errno: Errno.ENXIO, operation: "KVM_INTERRUPT") }
        queuedInterrupt = vector
        cpu.eventCheck = true
    }

    public func nmi() throws(KVMError) {
        quietEntry = false
        // process_nmi: at most two pending (one if NMIs are masked).
        nmiPending = min(nmiPending + 1, cpu.nmiMasked ? 1 : 2)
        cpu.eventCheck = true
    }

    public func setGuestDebug(_ debug: GuestDebug) throws(KVMError) {
        quietEntry = false
        let validMask = GuestDebug.enable | GuestDebug.singleStep | GuestDebug.useSoftwareBreakpoints
            | GuestDebug.useHardwareBreakpoints | GuestDebug.injectDB | GuestDebug.injectBP | GuestDebug.blockIRQ
        if debug.control & ~validMask != 0 { throw KVMError(errno: Errno.EINVAL, operation: "KVM_SET_GUEST_DEBUG") }
        if debug.control & (GuestDebug.injectDB | GuestDebug.injectBP) != 0 {
            if pendingException != nil { throw KVMError(errno: Errno.EBUSY, operation: "KVM_SET_GUEST_DEBUG") }
            pendingException = (debug.control & GuestDebug.injectDB != 0 ? Vec.db : Vec.bp, nil)
        }
        guestDebug = debug
        let hw = GuestDebug.enable | GuestDebug.useHardwareBreakpoints
        cpu.hostBreakpoints = debug.control & hw == hw && debug.debugreg.count >= 8 ? debug.debugreg : nil
        cpu.updateBreakpoints()
        cpu.interceptBreakpoints = debug.control & (GuestDebug.enable | GuestDebug.useSoftwareBreakpoints)
            == (GuestDebug.enable | GuestDebug.useSoftwareBreakpoints)
        cpu.eventCheck = true
    }

    public func statistics() throws(KVMError) -> Statistics {
        let s = cpu.stats
        func c(_ n: String, _ v: UInt64) -> Statistics.Descriptor {
            Statistics.Descriptor(name: n, kind: .cumulative, unit: .none, exponent: 0, values: [v])
        }
        return Statistics(descriptors: [
            c("halt_successful_poll", 0), c("halt_attempted_poll", 0), c("halt_poll_invalid", 0),
            c("halt_wakeup", s.haltWakeup),
            c("pf_taken", s.pfFixed), c("pf_fixed", s.pfFixed), c("pf_emulate", 0), c("pf_spurious", 0),
            c("pf_fast", 0), c("pf_mmio_spte_created", UInt64(cpu.mem.mmioSPTE.count)), c("pf_guest", 0),
            c("tlb_flush", 0), c("invlpg", 0),
            c("exits", s.exits), c("io_exits", s.ioExits), c("mmio_exits", s.mmioExits),
            c("signal_exits", s.signalExits), c("irq_window_exits", s.irqWindowExits),
            c("nmi_window_exits", s.nmiWindowExits), c("l1d_flush", 0), c("halt_exits", s.haltExits),
            c("request_irq_exits", s.requestIRQExits), c("irq_exits", s.irqExits),
            c("host_state_reload", 0), c("fpu_reload", 0),
            c("insn_emulation", cpu.emulatedInstructions), c("insn_emulation_fail", s.insnEmulationFail),
            c("hypercalls", s.hypercalls), c("irq_injections", s.irqInjections), c("nmi_injections", s.nmiInjections),
            c("req_event", 0),
            // The engine's own (no KVM counterpart): its decoded-instruction cache.
            c("decode_cache_peak_bytes", UInt64(cpu.decodeCache.peakBytes)),
            c("decode_cache_bound_bytes", UInt64(DecodeCache.footprintBytes)),
            c("decode_cache_blocks_built", cpu.decodeCache.blocksBuilt),
            c("decode_cache_stale_blocks", cpu.decodeCache.staleBlocks),
            c("decode_cache_flushes", cpu.decodeCache.flushes),
        ])
    }
}

