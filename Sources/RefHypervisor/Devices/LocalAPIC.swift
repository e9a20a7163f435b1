// Local APIC (Intel SDM vol. 3, chapter 11), xAPIC MMIO and x2APIC MSR views, as KVM's
// in-kernel LAPIC presents it. One instance per vCPU. Times are virtual nanoseconds; the
// APIC timer's bus clock runs at 1 GHz like KVM's (1 ns per count before the divider).

/// A 256-bit vector register (IRR, ISR, TMR): bit n = vector n. Four words, no heap.
struct APICBits256: Equatable {
    var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0

    @inline(__always) func word(_ i: Int) -> UInt64 {
        switch i & 3 { case 0: return w0; case 1: return w1; case 2: return w2; default: return w3 }
    }
    @inline(__always) mutating func setWord(_ i: Int, _ v: UInt64) {
        switch i & 3 { case 0: w0 = v; case 1: w1 = v; case 2: w2 = v; default: w3 = v }
    }
    @inline(__always) func test(_ v: UInt8) -> Bool {
        word(Int(v) >> 6) & (1 << UInt64(v & 63)) != 0
    }
    @inline(__always) mutating func set(_ v: UInt8) {
        setWord(Int(v) >> 6, word(Int(v) >> 6) | (1 << UInt64(v & 63)))
    }
    @inline(__always) mutating func clear(_ v: UInt8) {
        setWord(Int(v) >> 6, word(Int(v) >> 6) & ~(1 << UInt64(v & 63)))
    }
    /// Highest set vector, or nil.
    @inline(__always) func highest() -> UInt8? {
        if w3 != 0 { return UInt8(255 - w3.leadingZeroBitCount) }
        if w2 != 0 { return UInt8(191 - w2.leadingZeroBitCount) }
        if w1 != 0 { return UInt8(127 - w1.leadingZeroBitCount) }
        if w0 != 0 { return UInt8(63 - w0.leadingZeroBitCount) }
        return nil
    }
    /// The 32-bit register slice n (0...7) as the APIC page lays it out (ISR0..ISR7 etc.).
    @inline(__always) func reg32(_ n: Int) -> UInt32 {
        let w = word(n >> 1)
        return UInt32(truncatingIfNeeded: (n & 1) == 0 ? w : w >> 32)
    }
}

/// Register offsets in the xAPIC page (SDM table 11-1). x2APIC MSR = 0x800 + offset >> 4.
enum APICReg {
    static let id: UInt32 = 0x020, version: UInt32 = 0x030, tpr: UInt32 = 0x080, apr: UInt32 = 0x090
    static let ppr: UInt32 = 0x0A0, eoi: UInt32 = 0x0B0, rrd: UInt32 = 0x0C0, ldr: UInt32 = 0x0D0
    static let dfr: UInt32 = 0x0E0, svr: UInt32 = 0x0F0, isr: UInt32 = 0x100, tmr: UInt32 = 0x180
    static let irr: UInt32 = 0x200, esr: UInt32 = 0x280, lvtCMCI: UInt32 = 0x2F0
    static let icrLow: UInt32 = 0x300, icrHigh: UInt32 = 0x310, lvtTimer: UInt32 = 0x320
    static let lvtThermal: UInt32 = 0x330, lvtPerf: UInt32 = 0x340, lvtLint0: UInt32 = 0x350
    static let lvtLint1: UInt32 = 0x360, lvtError: UInt32 = 0x370, timerInitial: UInt32 = 0x380
    static let timerCurrent: UInt32 = 0x390, timerDivide: UInt32 = 0x3E0, selfIPI: UInt32 = 0x3F0
}

/// Delivery modes (SDM 11.6.1, ICR bits 10:8; same encoding in LVTs, IOAPIC and MSI).
enum APICDeliveryMode {
    static let fixed: UInt32 = 0, lowest: UInt32 = 1, smi: UInt32 = 2, remoteRead: UInt32 = 3
    static let nmi: UInt32 = 4, initIPI: UInt32 = 5, startup: UInt32 = 6, extINT: UInt32 = 7
}

final class LocalAPIC {
    // IA32_APIC_BASE (SDM 11.4.4): bit 8 BSP, bit 10 x2APIC enable (EXTD), bit 11 global enable.
    static let baseBSP: UInt64 = 1 << 8
    static let baseEXTD: UInt64 = 1 << 10
    static let baseEnable: UInt64 = 1 << 11
    static let defaultBase: UInt64 = 0xFEE0_0000

    // LVT fields (SDM figure 11-8).
    static let lvtMasked: UInt32 = 1 << 16
    static let lvtVectorAndStatus: UInt32 = 0x0001_10FF   // mask, delivery status, vector
    static let lvtModeBits: UInt32 = 0x700
    static let lintBits: UInt32 = 0x0001_F7FF             // + polarity, remote IRR, trigger, mode
    static let timerModeBits: UInt32 = 0x6_0000           // 00 one-shot, 01 periodic, 10 TSC-deadline
    static let timerPeriodic: UInt32 = 0x2_0000
    static let timerTSCDeadline: UInt32 = 0x4_0000

    /// KVM refuses periodic APIC timers faster than 200 us (its min_timer_period_us
    /// module parameter); the period is silently raised. Set to 0 for the bare SDM clock.
    static let kvmMinPeriodNs: UInt64 = 200_000

    let vcpuIndex: Int
    unowned(unsafe) let router: InterruptRouter   // owner of all LAPICs; outlives them

    var apicBase: UInt64
    var idReg: UInt32              // xAPIC: ID in bits 31:24; x2APIC: the 32-bit x2APIC ID
    var tpr: UInt32 = 0
    var ldr: UInt32 = 0
    var dfr: UInt32 = 0xFFFF_FFFF   // flat model
    var svr: UInt32 = 0xFF           // software disabled, spurious vector 0xFF (SDM 11.9)
    var irr = APICBits256(), isr = APICBits256(), tmr = APICBits256()
    var esr: UInt32 = 0
    var icrLow: UInt32 = 0, icrHigh: UInt32 = 0
    var lvtTimer: UInt32 = lvtMasked, lvtThermal: UInt32 = lvtMasked, lvtPerf: UInt32 = lvtMasked
    var lvtLint0: UInt32 = lvtMasked, lvtLint1: UInt32 = lvtMasked, lvtError: UInt32 = lvtMasked
    var lvtCMCI: UInt32 = lvtMasked
    /// KVM exposes the CMCI LVT only once userspace enables MCG_CMCI_P; default off.
    var cmciSupported = false
    var minPeriodicNs: UInt64 = LocalAPIC.kvmMinPeriodNs

    // Timer (SDM 11.5.4).
    var timerInitial: UInt32 = 0
    var divideConfig: UInt32 = 0
    var divisor: UInt64 = 2          // TDCR 0 means divide by 2
    var timerArmed = false
    var timerTarget: UInt64 = 0      // virtual ns of the next expiry
    var timerPeriod: UInt64 = 0      // ns per full count (one-shot/periodic)
    var tscDeadline: UInt64 = 0      // IA32_TSC_DEADLINE as the guest wrote it
    var tscOffset: UInt64 = 0        // guest TSC = scale(now) + tscOffset (wrapping)
    var tscRatio: UInt64 = TSCScaling.defaultRatio
    var tscKHz: UInt32 = TSCScaling.hostKHz

    // Events for the CPU side.
    var nmiPending: UInt32 = 0
    var smiPending = false
    var initPending = false
    var sipiVector: UInt8? = nil

    /// kvm_vcpu_is_reset_bsp: this LAPIC's vCPU is the VM's boot CPU (KVM_SET_BOOT_CPU_ID;
    /// vCPU 0 unless the VMM said otherwise). It decides the BSP flag and the LINT0 quirk.
    private(set) var isResetBSP: Bool

    init(vcpuIndex: Int, router: InterruptRouter, isResetBSP: Bool? = nil) {
        self.vcpuIndex = vcpuIndex
        self.router = router
        self.isResetBSP = isResetBSP ?? (vcpuIndex == 0)
        apicBase = 0
        idReg = 0
        reset(initEvent: false)
    }

    /// The vCPU was created with a boot CPU id that makes it (or not) the BSP: power-on
    /// reset again with that role (no guest has touched the LAPIC yet).
    func setResetBSP(_ bsp: Bool) {
        guard bsp != isResetBSP else { return }
        isResetBSP = bsp
        reset(initEvent: false)
    }

    /// Power-on (initEvent false) or INIT reset, as KVM's kvm_lapic_reset. INIT keeps
    /// IA32_APIC_BASE and the APIC ID (SDM 11.4.7.3); everything else returns to reset values.
    func reset(initEvent: Bool) {
        if !initEvent {
            // Enabled, BSP flag on the boot CPU, xAPIC ID = vCPU index.
            apicBase = LocalAPIC.defaultBase | LocalAPIC.baseEnable | (isResetBSP ? LocalAPIC.baseBSP : 0)
            idReg = UInt32(truncatingIfNeeded: vcpuIndex) << 24
        }
        let m = LocalAPIC.lvtMasked
        lvtTimer = m; lvtThermal = m; lvtPerf = m; lvtLint0 = m; lvtLint1 = m; lvtError = m; lvtCMCI = m
        // KVM's LINT0_REENABLED quirk: the BSP comes up in virtual-wire mode (LINT0 = ExtINT,
        // unmasked) so the 8259 reaches it before the guest programs the APIC.
        if isResetBSP { lvtLint0 = APICDeliveryMode.extINT << 8 }
        dfr = 0xFFFF_FFFF
        svr = 0xFF
        tpr = 0
        if !x2apicMode { ldr = 0 }
        esr = 0
        icrLow = 0; icrHigh = 0
        irr = APICBits256(); isr = APICBits256(); tmr = APICBits256()
        timerInitial = 0
        divideConfig = 0
        divisor = 2
        timerArmed = false
        timerPeriod = 0
        tscDeadline = 0
        nmiPending = 0
        smiPending = false
        initPending = false
        sipiVector = nil
    }

    // MARK: - State predicates

    @inline(__always) var hwEnabled: Bool { apicBase & LocalAPIC.baseEnable != 0 }
    @inline(__always) var x2apicMode: Bool { apicBase & LocalAPIC.baseEXTD != 0 }
    @inline(__always) var swEnabled: Bool { svr & 0x100 != 0 }
    @inline(__always) var enabled: Bool { hwEnabled && swEnabled }
    @inline(__always) var mmioBase: UInt64 { apicBase & 0x000F_FFFF_FFFF_F000 }
    @inline(__always) var timerMode: UInt32 { lvtTimer & LocalAPIC.timerModeBits }

    /// 8-bit xAPIC ID or 32-bit x2APIC ID.
    var apicID: UInt32 { x2apicMode ? idReg : idReg >> 24 }

    /// Version register: 0x14 (integrated APIC), max LVT entry index in 23:16 (5, or 6 with
    /// CMCI). No directed-EOI bit: KVM only offers it with a userspace IOAPIC.
    var version: UInt32 { 0x14 | ((cmciSupported ? 6 : 5) << 16) }

    /// PPR (SDM 11.8.3.1): TPR if its class is >= the highest in-service class, else that class.
    var ppr: UInt32 {
        let isrv = UInt32(isr.highest() ?? 0)
        return (tpr & 0xF0) >= (isrv & 0xF0) ? tpr & 0xFF : isrv & 0xF0
    }

    /// LINT0 takes the 8259's INTR when the APIC is globally disabled (the 8259 then wires
    /// straight to the core) or LINT0 is an unmasked ExtINT entry (virtual wire, SDM 11.5.1).
    var acceptsPICInterrupt: Bool {
        if !hwEnabled { return true }
        return lvtLint0 & LocalAPIC.lvtMasked == 0 && (lvtLint0 >> 8) & 7 == APICDeliveryMode.extINT
    }

    // MARK: - Interrupt acceptance and the CPU side

    /// A message arriving at this APIC (IPI, IOAPIC, MSI, local LVT). Returns true if accepted.
    @discardableResult
    func accept(mode: UInt32, vector: UInt8, level: Bool, levelTriggered: Bool) -> Bool {
        switch mode {
        case APICDeliveryMode.fixed, APICDeliveryMode.lowest:
            // A level-triggered deassert message carries no interrupt (SDM 11.6.1).
            if levelTriggered && !level { return false }
            // A software-disabled APIC does not accept fixed interrupts (SDM 11.4.7.2).
            if !enabled { return false }
            if levelTriggered { tmr.set(vector) } else { tmr.clear(vector) }
            irr.set(vector)
            return true
        case APICDeliveryMode.nmi:
            if nmiPending < 2 { nmiPending += 1 }
            return true
        case APICDeliveryMode.smi:
            smiPending = true
            return true
        case APICDeliveryMode.initIPI:
            // INIT level de-assert is a no-op on modern processors (SDM 11.6.1).
            if !levelTriggered || level { initPending = true; return true }
            return false
        case APICDeliveryMode.startup:
            sipiVector = vector
            return true
        default:
            // ExtINT is taken through acceptsPICInterrupt; remote read and reserved are dropped.
            return false
        }
    }

    /// Deliver through one LVT entry (timer, LINT0/1, error, ...) to this APIC (SDM 11.5.1).
    @discardableResult
    func localDeliver(_ lvt: UInt32) -> Bool {
        guard hwEnabled, lvt & LocalAPIC.lvtMasked == 0 else { return false }
        let mode = (lvt >> 8) & 7
        // Only LINT0/1 carry a trigger-mode bit; in others bit 15 is masked off at write.
        return accept(mode: mode, vector: UInt8(truncatingIfNeeded: lvt), level: true,
                      levelTriggered: lvt & 0x8000 != 0)
    }

    /// Highest IRR vector whose priority class beats PPR (SDM 11.8.3.1), without side effects.
    @inline(__always) func deliverableVector() -> UInt8? {
        guard hwEnabled, let v = irr.highest() else { return nil }
        return UInt32(v & 0xF0) > (ppr & 0xF0) ? v : nil
    }

    /// INTA cycle: move the vector from IRR to ISR (SDM 11.8.4). Nil when nothing deliverable.
    func acknowledge() -> UInt8? {
        guard let v = deliverableVector() else { return nil }
        irr.clear(v)
        isr.set(v)
        return v
    }

    /// EOI (SDM 11.8.5): retire the highest in-service vector; a level-triggered one (TMR set)
    /// is broadcast to the IOAPIC so it clears Remote IRR.
    func eoi() {
        guard let v = isr.highest() else { return }
        isr.clear(v)
        router.lapicEOI(vector: v, levelTriggered: tmr.test(v), from: vcpuIndex)
    }

    func setTPR(_ value: UInt32) { tpr = value & 0xFF }

    // MARK: - Timer (SDM 11.5.4)

    /// TDCR bits 0,1,3 encode divide by 2,4,8,16,32,64,128,1.
    static func divisor(forConfig c: UInt32) -> UInt64 {
        let code = ((c & 3) | ((c & 8) >> 1)) + 1
        return 1 << UInt64(code & 7)
    }


    private func startCountTimer(now: UInt64) {
        timerArmed = false
        timerPeriod = UInt64(timerInitial) * divisor
        guard timerPeriod != 0 else { return }
        if timerMode == LocalAPIC.timerPeriodic && timerPeriod < minPeriodicNs { timerPeriod = minPeriodicNs }
        timerTarget = now &+ timerPeriod
        timerArmed = true
    }

    /// Arm for the guest-TSC deadline: a deadline at or below the current guest TSC is due
    /// now; otherwise the ticks ahead become ns at the vCPU's TSC rate (start_sw_tscdeadline).
    func armDeadline(now: UInt64) {
        timerArmed = tscDeadline != 0
        let guestNow = TSCScaling.scale(now, ratio: tscRatio) &+ tscOffset
        let ahead = tscDeadline &- guestNow
        guard ahead < (1 << 63) else { timerTarget = now; return }
        let ns = TSCScaling.nanoseconds(ticks: ahead, khz: tscKHz)
        timerTarget = ns > ~now ? ~0 : now &+ ns
    }

    /// Current count register (SDM 11.5.4): counts down at bus/divisor; 0 once a one-shot ran out.
    func currentCount(now: UInt64) -> UInt32 {
        guard timerMode != LocalAPIC.timerTSCDeadline, timerArmed, timerPeriod != 0 else { return 0 }
        var remaining: UInt64
        if now < timerTarget {
            remaining = timerTarget - now
        } else if timerMode == LocalAPIC.timerPeriodic {
            // Expiry not yet processed by advance(): fold into the current period.
            remaining = timerPeriod - (now - timerTarget) % timerPeriod
        } else {
            return 0
        }
        if remaining > timerPeriod { remaining = timerPeriod }
        let count = remaining / divisor
        return count > UInt64(UInt32.max) ? UInt32.max : UInt32(count)
    }

    /// Process an expiry at or before `now`.
    func advanceTimer(to now: UInt64) {
        guard timerArmed, now >= timerTarget else { return }
        localDeliver(lvtTimer)
        switch timerMode {
        case LocalAPIC.timerPeriodic where timerPeriod != 0:
            // Missed periods coalesce into the single IRR bit; keep the phase.
            let missed = (now - timerTarget) / timerPeriod + 1
            timerTarget &+= missed &* timerPeriod
        case LocalAPIC.timerTSCDeadline:
            tscDeadline = 0                // the MSR reads 0 after the deadline passes
            timerArmed = false
        default:
            timerArmed = false
        }
    }

    func writeTSCDeadline(_ value: UInt64, now: UInt64) {
        // Outside TSC-deadline mode the write is ignored (SDM 11.5.4.1).
        guard timerMode == LocalAPIC.timerTSCDeadline else { return }
        tscDeadline = value
        armDeadline(now: now)
        advanceTimer(to: now)              // a deadline already in the past fires at once
    }

    func readTSCDeadline() -> UInt64 {
        timerMode == LocalAPIC.timerTSCDeadline ? tscDeadline : 0
    }

    private func writeLVTTimer(_ raw: UInt32, now: UInt64) {
        var val = raw
        if !swEnabled { val |= LocalAPIC.lvtMasked }
        val &= LocalAPIC.lvtVectorAndStatus | LocalAPIC.timerModeBits
        let oldMode = timerMode
        lvtTimer = val
        let newMode = timerMode
        guard oldMode != newMode else { return }
        // Entering or leaving TSC-deadline mode disarms the timer and zeroes both the
        // initial count and the deadline (SDM 11.5.4.1); one-shot <-> periodic keeps running.
        if (oldMode == LocalAPIC.timerTSCDeadline) != (newMode == LocalAPIC.timerTSCDeadline) {
            timerArmed = false
            timerInitial = 0
            timerPeriod = 0
            tscDeadline = 0
        } else if newMode == LocalAPIC.timerPeriodic && timerPeriod != 0 && timerPeriod < minPeriodicNs {
            timerPeriod = minPeriodicNs
        }
    }

    private func writeDivide(_ val: UInt32, now: UInt64) {
        let old = divisor
        divideConfig = val & 0xB
        divisor = LocalAPIC.divisor(forConfig: divideConfig)
        guard divisor != old, timerArmed, timerMode != LocalAPIC.timerTSCDeadline else { return }
        // A running count keeps its remaining ticks, now at the new rate.
        timerPeriod = UInt64(timerInitial) * divisor
        if timerMode == LocalAPIC.timerPeriodic && timerPeriod < minPeriodicNs { timerPeriod = minPeriodicNs }
        let remaining = timerTarget > now ? timerTarget - now : 0
        // remaining <= 2^32 * 128 ns, so the product cannot overflow.
        timerTarget = now &+ remaining * divisor / old
    }

    // MARK: - Register file

    /// Registers readable at this offset (SDM table 11-1 / 11-6); nil = reserved.
    func readRegister(_ offset: UInt32, now: UInt64) -> UInt32? {
        switch offset {
        case APICReg.id: return idReg
        case APICReg.version: return version
        case APICReg.tpr: return tpr
        case APICReg.apr: return x2apicMode ? nil : 0   // KVM does not model arbitration priority
        case APICReg.ppr: return ppr
        case APICReg.ldr: return ldr
        case APICReg.dfr: return x2apicMode ? nil : dfr
        case APICReg.svr: return svr
        case 0x100...0x170: return isr.reg32(Int((offset - 0x100) >> 4))
        case 0x180...0x1F0: return tmr.reg32(Int((offset - 0x180) >> 4))
        case 0x200...0x270: return irr.reg32(Int((offset - 0x200) >> 4))
        case APICReg.esr: return esr
        case APICReg.lvtCMCI: return cmciSupported ? lvtCMCI : nil
        case APICReg.icrLow: return icrLow
        case APICReg.icrHigh: return x2apicMode ? nil : icrHigh
        case APICReg.lvtTimer: return lvtTimer
        case APICReg.lvtThermal: return lvtThermal
        case APICReg.lvtPerf: return lvtPerf
        case APICReg.lvtLint0: return lvtLint0
        case APICReg.lvtLint1: return lvtLint1
        case APICReg.lvtError: return lvtError
        case APICReg.timerInitial: return timerInitial
        case APICReg.timerCurrent: return currentCount(now: now)
        case APICReg.timerDivide: return divideConfig
        default: return nil                         // EOI, RRD, self-IPI are write-only/absent
        }
    }

    /// Register write. Returns false for a reserved or read-only register (x2APIC: #GP).
    @discardableResult
    func writeRegister(_ offset: UInt32, _ val: UInt32, now: UInt64) -> Bool {
        switch offset {
        case APICReg.id:
            if x2apicMode { return false }           // x2APIC ID is read-only
            idReg = val & 0xFF00_0000
        case APICReg.tpr:
            setTPR(val)
        case APICReg.eoi:
            eoi()
        case APICReg.ldr:
            if x2apicMode { return false }           // derived from the x2APIC ID
            ldr = val & 0xFF00_0000
        case APICReg.dfr:
            if x2apicMode { return false }
            dfr = val | 0x0FFF_FFFF                  // only the model bits 31:28 are writable
        case APICReg.svr:
            svr = val & 0x3FF
            if val & 0x100 == 0 {
                // Software disable masks every LVT entry (SDM 11.4.7.2).
                lvtTimer |= LocalAPIC.lvtMasked; lvtThermal |= LocalAPIC.lvtMasked
                lvtPerf |= LocalAPIC.lvtMasked; lvtLint0 |= LocalAPIC.lvtMasked
                lvtLint1 |= LocalAPIC.lvtMasked; lvtError |= LocalAPIC.lvtMasked
                lvtCMCI |= LocalAPIC.lvtMasked
            }
        case APICReg.esr:
            // KVM keeps ESR at 0 (it reports no send/receive errors); x2APIC requires 0.
            if x2apicMode && val != 0 { return false }
        case APICReg.icrLow:
            if x2apicMode { return false }           // x2APIC uses the 64-bit MSR path
            icrLow = val & ~UInt32(0x1000)           // delivery is instantaneous: never busy
            router.sendIPI(from: self, low: icrLow, high: icrHigh)
        case APICReg.icrHigh:
            if x2apicMode { return false }
            icrHigh = val & 0xFF00_0000
        case APICReg.lvtTimer:
            writeLVTTimer(val, now: now)
        case APICReg.lvtThermal, APICReg.lvtPerf, APICReg.lvtLint0, APICReg.lvtLint1,
             APICReg.lvtError, APICReg.lvtCMCI:
            if offset == APICReg.lvtCMCI && !cmciSupported { return false }
            var v = val
            if !swEnabled { v |= LocalAPIC.lvtMasked }
            switch offset {
            case APICReg.lvtThermal: lvtThermal = v & (LocalAPIC.lvtVectorAndStatus | LocalAPIC.lvtModeBits)
            case APICReg.lvtPerf: lvtPerf = v & (LocalAPIC.lvtVectorAndStatus | LocalAPIC.lvtModeBits)
            case APICReg.lvtCMCI: lvtCMCI = v & (LocalAPIC.lvtVectorAndStatus | LocalAPIC.lvtModeBits)
            case APICReg.lvtLint0: lvtLint0 = v & LocalAPIC.lintBits
            case APICReg.lvtLint1: lvtLint1 = v & LocalAPIC.lintBits
            default: lvtError = v & LocalAPIC.lvtVectorAndStatus
            }
        case APICReg.timerInitial:
            // Ignored in TSC-deadline mode (SDM 11.5.4.1); 0 stops the timer.
            if timerMode == LocalAPIC.timerTSCDeadline { return true }
            timerInitial = val
            startCountTimer(now: now)
        case APICReg.timerDivide:
            writeDivide(val, now: now)
        case APICReg.selfIPI:
            if !x2apicMode { return false }
            // SELF IPI (SDM 11.12.11): fixed, edge, to self.
            accept(mode: APICDeliveryMode.fixed, vector: UInt8(truncatingIfNeeded: val),
                   level: true, levelTriggered: false)
        default:
            return false
        }
        return true
    }

    // MARK: - xAPIC MMIO (SDM 11.4.1)

    /// Accesses of 1, 2 or 4 bytes inside the first dword of a 16-byte slot read that part of
    /// the register; anything else reads 0 (KVM leaves the buffer untouched).
    func mmioRead(offset: UInt64, size: Int, now: UInt64) -> UInt64 {
        guard size > 0 else { return 0 }
        // Globally disabled or in x2APIC mode the page is a hole reading all ones (KVM quirk).
        if !hwEnabled || x2apicMode { return size >= 8 ? UInt64.max : (UInt64(1) << UInt64(size * 8)) &- 1 }
        let align = Int(offset & 0xF)
        guard size == 1 || size == 2 || size == 4, align + size <= 4, offset <= 0x3F0 else { return 0 }
        guard let reg = readRegister(UInt32(offset & 0xFF0), now: now) else { return 0 }
        let shifted = UInt64(reg) >> UInt64(align * 8)
        return size == 4 ? shifted : shifted & ((UInt64(1) << UInt64(size * 8)) - 1)
    }

    /// Only aligned 32-bit stores reach a register (SDM 11.4.1); others are dropped.
    func mmioWrite(offset: UInt64, size: Int, value: UInt64, now: UInt64) {
        guard hwEnabled, !x2apicMode, size == 4, offset & 0xF == 0, offset <= 0x3F0 else { return }
        writeRegister(UInt32(offset), UInt32(truncatingIfNeeded: value), now: now)
    }

    // MARK: - x2APIC MSRs (SDM 11.12.1)

    func readX2APIC(_ msr: UInt32, now: UInt64) -> UInt64? {
        guard x2apicMode else { return nil }
        let offset = (msr & 0xFF) << 4
        if offset == APICReg.icrLow { return UInt64(icrHigh) << 32 | UInt64(icrLow) }
        return readRegister(offset, now: now).map { UInt64($0) }
    }

    func writeX2APIC(_ msr: UInt32, value: UInt64, now: UInt64) -> Bool {
        guard x2apicMode else { return false }
        let offset = (msr & 0xFF) << 4
        if offset == APICReg.icrLow {
            // One 64-bit write sends: destination is the full 32-bit high half.
            icrLow = UInt32(truncatingIfNeeded: value) & ~UInt32(0x1000)
            icrHigh = UInt32(truncatingIfNeeded: value >> 32)
            router.sendIPI(from: self, low: icrLow, high: icrHigh)
            return true
        }
        if value >> 32 != 0 { return false }         // bits 63:32 reserved elsewhere
        return writeRegister(offset, UInt32(value), now: now)
    }

    // MARK: - IA32_APIC_BASE (SDM 11.4.4, 11.12.5)

    /// Physical-address width for the base's reserved bits.
    var physAddrBits: Int = 46

    func writeAPICBase(_ value: UInt64, now: UInt64) -> Bool {
        let reserved: UInt64 = 0x2FF | ~((UInt64(1) << UInt64(physAddrBits)) - 1)
        if value & reserved != 0 { return false }
        let newEnable = value & LocalAPIC.baseEnable != 0, newExtd = value & LocalAPIC.baseEXTD != 0
        if newExtd && !newEnable { return false }             // invalid state
        // Legal transitions (SDM figure 11-27): x2APIC -> xAPIC and disabled -> x2APIC fault.
        if x2apicMode && newEnable && !newExtd { return false }
        if !hwEnabled && newExtd { return false }
        let old = apicBase
        apicBase = value
        if (old ^ value) & LocalAPIC.baseEnable != 0 && newEnable {
            idReg = UInt32(truncatingIfNeeded: vcpuIndex) << 24
        }
        if (old ^ value) & LocalAPIC.baseEXTD != 0 && newExtd {
            // x2APIC ID = initial APIC ID; LDR = cluster in 31:16, 1 << (id & 15) in 15:0.
            let id = UInt32(truncatingIfNeeded: vcpuIndex)
            idReg = id
            ldr = ((id >> 4) << 16) | (1 << (id & 0xF))
        }
        return true
    }
}
