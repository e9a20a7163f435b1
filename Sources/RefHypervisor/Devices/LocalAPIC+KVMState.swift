// KVM_GET_LAPIC / KVM_SET_LAPIC: the register page as Linux 6.1 lapic.c kvm_apic_get_state
// and kvm_apic_set_state move it (a copy of apic->regs, not register writes: no IPI is sent,
// no EOI is made, no LVT is masked by the copy).

extension APICBits256 {
    /// Sets the 32-bit register `n` (0-7) of the 256-bit set.
    mutating func setReg32(_ n: Int, _ v: UInt32) {
        var w = word(n >> 1)
        if n & 1 == 0 { w = (w & 0xFFFF_FFFF_0000_0000) | UInt64(v) }
        else { w = (w & 0xFFFF_FFFF) | UInt64(v) << 32 }
        setWord(n >> 1, w)
    }
}

extension LocalAPIC {
    /// kvm_apic_get_state: every register slot as stored, the current count computed now
    /// (__apic_read(APIC_TMCCT)), and in x2APIC mode the ID reported as ID << 24 and ICR
    /// split into ICR and ICR2 (kvm_apic_state_fixup without KVM_CAP_X2APIC_API).
    func kvmState(now: UInt64) -> [UInt8] {
        var page = [UInt8](repeating: 0, count: 1024)
        func put(_ off: UInt32, _ v: UInt32) {
            for i in 0..<4 { page[Int(off) + i] = UInt8(truncatingIfNeeded: v >> UInt32(8 * i)) }
        }
        put(APICReg.id, x2apicMode ? idReg << 24 : idReg)
        put(APICReg.version, version)
        put(APICReg.tpr, tpr)
        put(APICReg.ppr, ppr)
        put(APICReg.ldr, ldr)
        put(APICReg.dfr, dfr)
        put(APICReg.svr, svr)
        for n in 0..<8 {
            put(0x100 + UInt32(n) * 0x10, isr.reg32(n))
            put(0x180 + UInt32(n) * 0x10, tmr.reg32(n))
            put(0x200 + UInt32(n) * 0x10, irr.reg32(n))
        }
        put(APICReg.esr, esr)
        put(APICReg.lvtCMCI, lvtCMCI)
        put(APICReg.icrLow, icrLow)
        put(APICReg.icrHigh, icrHigh)
        put(APICReg.lvtTimer, lvtTimer)
        put(APICReg.lvtThermal, lvtThermal)
        put(APICReg.lvtPerf, lvtPerf)
        put(APICReg.lvtLint0, lvtLint0)
        put(APICReg.lvtLint1, lvtLint1)
        put(APICReg.lvtError, lvtError)
        put(APICReg.timerInitial, timerInitial)
        put(APICReg.timerCurrent, currentCount(now: now))
        put(APICReg.timerDivide, divideConfig)
        return page
    }

    /// kvm_apic_set_state: the page replaces the registers as given (in x2APIC mode the ID
    /// is taken from bits 31:24 and the LDR derived from it); then the version is KVM's own
    /// again (kvm_apic_set_version), PPR follows TPR and ISR, the timer is cancelled and
    /// restarted from the page's current count (__start_apic_timer(APIC_TMCCT),
    /// set_target_expiration: above the initial count means a full period; 0 means a full
    /// period for a periodic timer and expiry at once for a one-shot), a deadline re-armed.
    func restoreKVMState(_ page: [UInt8], now: UInt64) {
        func get(_ off: UInt32) -> UInt32 {
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(page[Int(off) + $1]) << UInt32(8 * $1) }
        }
        guard page.count >= 1024 else { return }
        if x2apicMode {
            idReg = get(APICReg.id) >> 24
            ldr = ((idReg >> 4) << 16) | (1 << (idReg & 0xF))
        } else {
            idReg = get(APICReg.id)
            ldr = get(APICReg.ldr)
        }
        tpr = get(APICReg.tpr)
        dfr = get(APICReg.dfr)
        svr = get(APICReg.svr)
        for n in 0..<8 {
            isr.setReg32(n, get(0x100 + UInt32(n) * 0x10))
            tmr.setReg32(n, get(0x180 + UInt32(n) * 0x10))
            irr.setReg32(n, get(0x200 + UInt32(n) * 0x10))
        }
        esr = get(APICReg.esr)
        lvtCMCI = get(APICReg.lvtCMCI)
        icrLow = get(APICReg.icrLow)
        icrHigh = get(APICReg.icrHigh)
        lvtTimer = get(APICReg.lvtTimer)
        lvtThermal = get(APICReg.lvtThermal)
        lvtPerf = get(APICReg.lvtPerf)
        lvtLint0 = get(APICReg.lvtLint0)
        lvtLint1 = get(APICReg.lvtLint1)
        lvtError = get(APICReg.lvtError)
        timerInitial = get(APICReg.timerInitial)
        divideConfig = get(APICReg.timerDivide) & 0xB
        divisor = LocalAPIC.divisor(forConfig: divideConfig)
        // cancel_apic_timer, then __start_apic_timer(apic, APIC_TMCCT).
        timerArmed = false
        timerPeriod = 0
        if timerMode == LocalAPIC.timerTSCDeadline {
            armDeadline(now: now)
        } else if timerInitial != 0 {
            timerPeriod = UInt64(timerInitial) * divisor
            if timerMode == LocalAPIC.timerPeriodic && timerPeriod < minPeriodicNs { timerPeriod = minPeriodicNs }
            var first = UInt64(get(APICReg.timerCurrent)) * divisor
            if first > timerPeriod || (first == 0 && timerMode == LocalAPIC.timerPeriodic) { first = timerPeriod }
            timerTarget = now &+ first
            timerArmed = true
        }
    }
}
