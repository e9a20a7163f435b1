import KVMABI

// I/O APIC (Intel 82093AA datasheet) as KVM's in-kernel IOAPIC: 24 pins, version 0x11,
// indirect registers through IOREGSEL (+0x00) / IOWIN (+0x10), 0x100 bytes of MMIO.

final class IOAPIC {
    static let pinCount = 24
    static let defaultBase: UInt64 = 0xFEC0_0000
    static let mmioLength: UInt64 = 0x100
    /// Version register: max redirection entry 23 in 23:16, version 0x11.
    static let versionValue: UInt32 = 0x0017_0011

    // Redirection-entry fields (82093AA section 3.2.4).
    static let deliveryStatus: UInt64 = 1 << 12
    static let remoteIRR: UInt64 = 1 << 14
    static let levelTrigger: UInt64 = 1 << 15
    static let masked: UInt64 = 1 << 16

    unowned(unsafe) let router: InterruptRouter

    var base: UInt64 = IOAPIC.defaultBase
    var id: UInt32 = 0                 // 4-bit IOAPIC ID (bits 27:24 of register 0)
    var ioregsel: UInt32 = 0
    /// Logical input level per pin (asserted = 1). KVM ignores the polarity bit: the GSI
    /// level given to KVM_IRQ_LINE is already the asserted state.
    var irr: UInt32 = 0
    var redirection: [UInt64] = Array(repeating: IOAPIC.masked, count: IOAPIC.pinCount)
    /// KVM's RTC EOI tracking (ioapic.c rtc_status), used only with KVM_IRQ_LINE_STATUS:
    /// the vCPUs that took the RTC pin's interrupt and have not EOI'd it yet.
    static let rtcPin = 8
    var rtcPendingEOI: Set<Int> = []

    init(router: InterruptRouter) { self.router = router }

    @inline(__always) func isLevel(_ pin: Int) -> Bool { redirection[pin] & IOAPIC.levelTrigger != 0 }

    /// A change on input pin `pin`. Edge pins latch on 0->1; level pins deliver while high
    /// unless Remote IRR says the previous one was not yet EOI'd (82093AA 3.2.4).
    /// ioapic_set_irq. Returns KVM's status: 1 for a deasserted line, 0 coalesced (an edge
    /// already pending; the RTC pin while a vCPU owes its EOI, with `lineStatus`), -1 masked
    /// or held by Remote IRR, else the number of LAPICs that took it.
    @discardableResult
    func setPin(_ pin: Int, level: Bool, lineStatus: Bool = false) -> Int {
        guard pin >= 0 && pin < IOAPIC.pinCount else { return -1 }
        let bit = UInt32(1) << UInt32(pin)
        if !level { irr &= ~bit; return 1 }
        // rtc_irq_check_coalesced: checked before IRR changes.
        if pin == IOAPIC.rtcPin && lineStatus && !rtcPendingEOI.isEmpty { return 0 }
        let old = irr
        irr |= bit
        if !isLevel(pin) && old & bit != 0 { return 0 }   // edge: no new rising edge
        return service(pin, lineStatus: lineStatus)
    }

    /// Send the pin's interrupt message if unmasked and, for level pins, Remote IRR clear
    /// (ioapic_service); the delivery result, or -1 if nothing was sent.
    @discardableResult
    private func service(_ pin: Int, lineStatus: Bool = false) -> Int {
        let e = redirection[pin]
        if e & IOAPIC.masked != 0 { return -1 }
        let level = e & IOAPIC.levelTrigger != 0
        if level && e & IOAPIC.remoteIRR != 0 { return -1 }
        let r = router.deliver(vector: UInt8(truncatingIfNeeded: e),
                       mode: UInt32((e >> 8) & 7),
                       logical: e & (1 << 11) != 0,
                       dest: UInt32(truncatingIfNeeded: e >> 56),
                       level: true, levelTriggered: level, shorthand: 0, source: nil,
                       lowestHint: false)
        // The RTC pin delivered with line status records who must EOI it (dest_map).
        if pin == IOAPIC.rtcPin && lineStatus { rtcPendingEOI = Set(router.lastAccepted) }
        // Remote IRR is set once a LAPIC takes a level interrupt (82093AA 3.2.4): KVM's
        // ioapic_service sets it only when the delivery returned non-zero, so not when the
        // target refused (software-disabled) or no LAPIC has the destination (0 from
        // kvm_irq_delivery_to_apic_fast).
        if level && r != 0 { redirection[pin] |= IOAPIC.remoteIRR }
        return r
    }

    /// rtc_irq_eoi: an EOI of the RTC pin's vector by a vCPU that took it.
    func rtcEOI(vector: UInt8, vcpu: Int) {
        if !rtcPendingEOI.isEmpty && UInt8(truncatingIfNeeded: redirection[IOAPIC.rtcPin]) == vector {
            rtcPendingEOI.remove(vcpu)
        }
    }

    /// kvm_rtc_eoi_tracking_restore_all: after the RTC entry or the whole IOAPIC is set, the
    /// vCPUs owing an EOI are those the entry targets with its vector in IRR or ISR.
    func rtcRestore() {
        let e = redirection[IOAPIC.rtcPin]
        rtcPendingEOI = router.lapicsHolding(vector: UInt8(truncatingIfNeeded: e), logical: e & (1 << 11) != 0,
                                             dest: UInt32(truncatingIfNeeded: e >> 56))
    }

    /// EOI for `vector` from a LAPIC (or the EOI register). Level entries with that vector get
    /// Remote IRR cleared, and re-fire if their input is still asserted. Returns the mask of
    /// pins programmed with that vector (the router uses it for the PIT's ack).
    @discardableResult
    func eoi(vector: UInt8, levelTriggered: Bool) -> UInt32 {
        var matched: UInt32 = 0
        for pin in 0..<IOAPIC.pinCount {
            let e = redirection[pin]
            guard UInt8(truncatingIfNeeded: e) == vector else { continue }
            matched |= 1 << UInt32(pin)
            guard levelTriggered, e & IOAPIC.levelTrigger != 0 else { continue }
            redirection[pin] = e & ~IOAPIC.remoteIRR
            if e & IOAPIC.masked == 0 && irr & (1 << UInt32(pin)) != 0 { service(pin) }
        }
        return matched
    }

    // MARK: - Registers

    func readIndirect() -> UInt32 {
        switch ioregsel {
        case 0x00: return (id & 0xF) << 24
        case 0x01: return IOAPIC.versionValue
        case 0x02: return (id & 0xF) << 24          // arbitration ID tracks the APIC ID
        default:
            let index = Int((ioregsel &- 0x10) >> 1)
            guard ioregsel >= 0x10, index < IOAPIC.pinCount else { return 0xFFFF_FFFF }
            let e = redirection[index]
            return UInt32(truncatingIfNeeded: ioregsel & 1 != 0 ? e >> 32 : e)
        }
    }

    func writeIndirect(_ val: UInt32) {
        switch ioregsel {
        case 0x00: id = (val >> 24) & 0xF
        case 0x01, 0x02: return                     // read-only
        default:
            let index = Int((ioregsel &- 0x10) >> 1)
            guard ioregsel >= 0x10, index < IOAPIC.pinCount else { return }
            let old = redirection[index]
            var e = ioregsel & 1 != 0
                ? (old & 0xFFFF_FFFF) | UInt64(val) << 32
                : (old & ~0xFFFF_FFFF) | UInt64(val)
            // Delivery status and Remote IRR are read-only. Reserved bits 55:17 are kept
            // as written, like KVM.
            let readOnly = IOAPIC.deliveryStatus | IOAPIC.remoteIRR
            e = (e & ~readOnly) | (old & readOnly)
            // Switching to edge drops a stale Remote IRR (Linux relies on this).
            if e & IOAPIC.levelTrigger == 0 { e &= ~IOAPIC.remoteIRR }
            redirection[index] = e
            if index == IOAPIC.rtcPin { rtcRestore() }
            if (old ^ e) & IOAPIC.masked != 0 {
                router.ioapicMaskChanged(pin: index, masked: e & IOAPIC.masked != 0)
            }
            // Unmasking a level pin whose line is high delivers it now.
            if e & IOAPIC.levelTrigger != 0 && e & (IOAPIC.masked | IOAPIC.remoteIRR) == 0
                && irr & (1 << UInt32(index)) != 0 {
                service(index)
            }
        }
    }

    @inline(__always) func contains(_ gpa: UInt64) -> Bool { gpa &- base < IOAPIC.mmioLength }

    func mmioRead(offset: UInt64, size: Int) -> UInt64 {
        let reg: UInt32
        switch offset & 0xFF {
        case 0x00: reg = ioregsel
        case 0x10: reg = readIndirect()
        default: reg = 0
        }
        switch size {
        case 1: return UInt64(reg & 0xFF)
        case 2: return UInt64(reg & 0xFFFF)
        default: return UInt64(reg)
        }
    }

    func mmioWrite(offset: UInt64, size: Int, value: UInt64) {
        let data: UInt32
        switch size {
        case 1: data = UInt32(value & 0xFF)
        case 2: data = UInt32(value & 0xFFFF)
        case 4, 8: data = UInt32(truncatingIfNeeded: value)
        default: return
        }
        switch offset & 0xFF {
        case 0x00: ioregsel = data & 0xFF
        case 0x10: writeIndirect(data)
        case 0x40:
            // EOI register (introduced with IOAPIC version 0x20): clears Remote IRR of the
            // level entries whose vector matches, as a LAPIC EOI broadcast would.
            eoi(vector: UInt8(truncatingIfNeeded: data), levelTriggered: true)
        default: return
        }
    }
}

// KVM_GET/SET_IRQCHIP for the IOAPIC (Linux 6.1 ioapic.c kvm_get_ioapic, kvm_set_ioapic).
extension IOAPIC {
    func kvmState() -> IOAPICState {
        var s = IOAPICState()
        s.baseAddress = base; s.ioregsel = ioregsel; s.id = id; s.irr = irr
        s.redirection = redirection
        return s
    }

    /// kvm_set_ioapic: the state replaces the IOAPIC's, IRR starts empty, and every pin whose
    /// IRR bit the state had set is asserted once again (kvm_ioapic_inject_all), which
    /// delivers an unmasked edge entry and a level entry without Remote IRR.
    func restore(_ s: IOAPICState) {
        base = s.baseAddress; ioregsel = s.ioregsel; id = s.id
        for i in 0..<IOAPIC.pinCount { redirection[i] = i < s.redirection.count ? s.redirection[i] : IOAPIC.masked }
        irr = 0
        rtcRestore()
        // kvm_ioapic_inject_all asserts with line_status.
        for pin in 0..<IOAPIC.pinCount where s.irr & (1 << UInt32(pin)) != 0 { setPin(pin, level: true, lineStatus: true) }
    }
}
