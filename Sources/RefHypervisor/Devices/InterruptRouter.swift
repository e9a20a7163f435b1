// Wiring between the interrupt devices: GSI lines to the 8259s and the IOAPIC (KVM's
// default routing), APIC messages (IPIs, IOAPIC redirections, MSIs) to LAPICs (SDM 11.6),
// EOI broadcast back to the IOAPIC, and the PIT's IRQ0 with KVM's tick reinjection.

final class InterruptRouter {
    var lapics: [LocalAPIC] = []
    var ioapic: IOAPIC!
    var pic: PIC8259!
    let pit = PIT8254()
    var pitCreated = false

    /// The GSI routing table: KVM's default until KVM_SET_GSI_ROUTING (GSIRouting.swift).
    var routing = GSIRouting.kvmDefault()

    /// KVM's built-in routing maps GSI n to IOAPIC pin n. Userspace such as QEMU installs a
    /// table with GSI 0 on pin 2 (the ISA timer override in the ACPI MADT), and no GSI 2.
    var gsi0ToIOAPICPin2 = false {
        didSet { routing = GSIRouting.kvmDefault(gsi0OnIOAPICPin2: gsi0ToIOAPICPin2) }
    }

    /// A pin's level is the OR of its sources (KVM irq source IDs, kvm_irq_line_state on the
    /// pin's irq_states): KVM_IRQ_LINE and irqfds (0), the PIT (1), resampling irqfds (2,
    /// KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID, held high until acked). Bit n = 8259 pin n or
    /// IOAPIC pin n.
    enum Source: Int { case user = 0, pit = 1, resample = 2 }
    private var picSources: [UInt16] = [0, 0, 0]
    private var ioapicSources: [UInt32] = [0, 0, 0]
    /// The VM's irqfds, told when the guest acknowledges a GSI (kvm_notify_acked_irq).
    weak var irqfds: IRQFDs?

    // PIT reinjection (KVM's default): ticks that arrive before the guest acknowledged the
    // previous IRQ0 are queued and injected one per acknowledgement.
    var pitReinject = true
    var pitPending: UInt64 = 0
    var pitIRQAck = true

    init() {}

    // MARK: - GSI lines

    /// kvm_set_irq over the GSI's routes: each irqchip route sets its pin to the OR of the
    /// pin's sources, an MSI route sends its message on a rising level (kvm_set_msi: -1 for
    /// level 0). The sum of the routes' non-negative statuses, or -1 if none accepted (or
    /// the GSI has no route).
    @discardableResult
    func setGSI(_ gsi: Int, level: Bool, fromPIT: Bool, lineStatus: Bool = false, resample: Bool = false) -> Int {
        let source = fromPIT ? Source.pit.rawValue : resample ? Source.resample.rawValue : Source.user.rawValue
        var status = -1
        func add(_ r: Int) { if r >= 0 { status = r + max(status, 0) } }
        for t in routing.targets(gsi) {
            switch t {
            case .pic(let pin):
                let bit = UInt16(1) << UInt16(pin)
                if level { picSources[source] |= bit } else { picSources[source] &= ~bit }
                add(pic.setIRQ(pin, level: (picSources[0] | picSources[1] | picSources[2]) & bit != 0))
            case .ioapic(let pin):
                let bit = UInt32(1) << UInt32(pin)
                if level { ioapicSources[source] |= bit } else { ioapicSources[source] &= ~bit }
                add(ioapic.setPin(pin, level: (ioapicSources[0] | ioapicSources[1] | ioapicSources[2]) & bit != 0,
                                  lineStatus: lineStatus))
            case .msi(let address, let data):
                if level { add(signalMSI(address: address, data: data)) }
            }
        }
        return status
    }

    // MARK: - APIC bus

    /// Message destination address as KVM computes it: an IOAPIC/MSI 0xFF reaches x2APICs too.
    @inline(__always) private func matches(_ t: LocalAPIC, source: LocalAPIC?, shorthand: UInt32,
                                           dest: UInt32, logical: Bool) -> Bool {
        guard t.hwEnabled else { return false }
        switch shorthand {
        case 1: return t === source                              // self
        case 2: return true                                      // all including self
        case 3: return t !== source                              // all excluding self
        default: break
        }
        if t.x2apicMode {
            let mda = (source == nil && dest == 0xFF) ? 0xFFFF_FFFF : dest
            if mda == 0xFFFF_FFFF { return true }
            if !logical { return mda == t.idReg }
            // x2APIC logical (SDM 11.12.10.2): cluster in 31:16, member bitmap in 15:0.
            return t.ldr >> 16 == mda >> 16 && t.ldr & mda & 0xFFFF != 0
        }
        if !logical { return dest == 0xFF || dest == t.idReg >> 24 }
        if dest == 0xFF { return true }
        let lid = t.ldr >> 24
        switch t.dfr >> 28 {
        case 0xF: return lid & dest != 0                          // flat model
        case 0x0: return lid >> 4 == dest >> 4 && lid & dest & 0xF != 0   // cluster model
        default: return false
        }
    }

    /// Deliver one interrupt message; returns the number of APICs that accepted it (0 when
    /// none matched: kvm_irq_delivery_to_apic_fast answers 0 for a physical or logical
    /// destination that the APIC map lacks).
    @discardableResult
    func deliver(vector: UInt8, mode: UInt32, logical: Bool, dest: UInt32, level: Bool,
                 levelTriggered: Bool, shorthand: UInt32, source: LocalAPIC?,
                 lowestHint: Bool) -> Int {
        if mode == APICDeliveryMode.lowest || lowestHint {
            // Lowest priority (SDM 11.6.2.4) is model specific; KVM picks among the matching,
            // software-enabled APICs by vector hashing: the (vector mod n)-th of them.
            var n = 0
            for t in lapics where t.swEnabled && matches(t, source: source, shorthand: shorthand,
                                                          dest: dest, logical: logical) { n += 1 }
            guard n > 0 else { return 0 }
            var pick = Int(vector) % n
            for t in lapics where t.swEnabled && matches(t, source: source, shorthand: shorthand,
                                                          dest: dest, logical: logical) {
                if pick == 0 {
                    return t.accept(mode: mode, vector: vector, level: level,
                                    levelTriggered: levelTriggered) ? 1 : 0
                }
                pick -= 1
            }
            return 0
        }
        var accepted = 0
        lastAccepted.removeAll(keepingCapacity: true)
        for t in lapics where matches(t, source: source, shorthand: shorthand, dest: dest, logical: logical) {
            if t.accept(mode: mode, vector: vector, level: level, levelTriggered: levelTriggered) {
                accepted += 1
                lastAccepted.append(t.vcpuIndex)
            }
        }
        return accepted
    }

    /// The vCPUs whose LAPIC took the last fixed-mode message `deliver` sent (the IOAPIC's
    /// RTC EOI tracking reads it).
    private(set) var lastAccepted: [Int] = []

    /// The LAPICs an IOAPIC message to `dest` reaches that hold `vector` in IRR or ISR.
    func lapicsHolding(vector: UInt8, logical: Bool, dest: UInt32) -> Set<Int> {
        var out: Set<Int> = []
        for t in lapics where matches(t, source: nil, shorthand: 0, dest: dest, logical: logical)
            && (t.irr.test(vector) || t.isr.test(vector)) {
            out.insert(t.vcpuIndex)
        }
        return out
    }

    /// ICR send (SDM 11.6.1). xAPIC destination is ICR[63:56], x2APIC ICR[63:32].
    func sendIPI(from source: LocalAPIC, low: UInt32, high: UInt32) {
        deliver(vector: UInt8(truncatingIfNeeded: low),
                mode: (low >> 8) & 7,
                logical: low & (1 << 11) != 0,
                dest: source.x2apicMode ? high : high >> 24,
                level: low & (1 << 14) != 0,
                levelTriggered: low & (1 << 15) != 0,
                shorthand: (low >> 18) & 3,
                source: source, lowestHint: false)
    }

    /// MSI (SDM 11.11): address 0xFEE, destination 19:12, RH bit 3, DM bit 2;
    /// data vector 7:0, delivery mode 10:8, trigger mode bit 15. KVM always asserts.
    func signalMSI(address: UInt64, data: UInt32) -> Int {
        deliver(vector: UInt8(truncatingIfNeeded: data),
                mode: (data >> 8) & 7,
                logical: address & (1 << 2) != 0,
                dest: UInt32((address >> 12) & 0xFF),
                level: true,
                levelTriggered: data & (1 << 15) != 0,
                shorthand: 0, source: nil,
                lowestHint: address & (1 << 3) != 0)
    }

    /// LAPIC EOI: level-triggered vectors clear Remote IRR in the IOAPIC (SDM 11.8.5); KVM
    /// also tells the PIT when the EOI'd vector is the one on GSI 0's pin.
    func lapicEOI(vector: UInt8, levelTriggered: Bool, from vcpu: Int) {
        ioapic.rtcEOI(vector: vector, vcpu: vcpu)
        let pins = ioapic.eoi(vector: vector, levelTriggered: levelTriggered)
        // kvm_ioapic_update_eoi_one -> kvm_notify_acked_irq for each pin with the vector,
        // which maps the pin back to its GSI: the PIT's notifier is on GSI 0.
        var p = pins
        while p != 0 {
            let pin = p.trailingZeroBitCount
            p &= p - 1
            let gsi = routing.ioapicPinGSI[pin]
            if gsi == 0 { pitAcked() }
            if gsi >= 0, let irqfds, !irqfds.isEmpty { irqfds.acked(gsi: gsi) }
        }
    }

    // MARK: - PIT IRQ0

    func picAcked(irq: Int) {
        // pic_clear_isr -> kvm_notify_acked_irq (KVM_IRQCHIP_PIC_MASTER/SLAVE, the pin's GSI).
        let gsi = routing.picPinGSI[irq]
        if gsi == 0 { pitAcked() }
        if gsi >= 0, let irqfds, !irqfds.isEmpty { irqfds.acked(gsi: gsi) }
    }
    /// kvm_fire_mask_notifiers: the PIT's mask notifier is on GSI 0.
    func picIRQ0Unmasked() { if routing.picPinGSI[0] == 0 { resetPITReinject() } }
    func ioapicMaskChanged(pin: Int, masked: Bool) {
        if !masked && routing.ioapicPinGSI[pin] == 0 { resetPITReinject() }
    }

    /// KVM_REINJECT_CONTROL (i8254.c kvm_pit_set_reinject): turning reinjection on starts
    /// with no backlog and IRQ0 acknowledged.
    func setPITReinject(_ on: Bool) {
        guard on != pitReinject else { return }
        if on { resetPITReinject() }
        pitReinject = on
    }

    /// Unmasking IRQ0 drops the backlog: KVM does not replay ticks a masked guest missed.
    private func resetPITReinject() {
        pitPending = 0
        pitIRQAck = true
    }

    private func pitAcked() {
        pitIRQAck = true
        if pitPending > 0 {
            pitPending -= 1
            if pitPending > 0 { injectPIT() }
        }
    }

    /// `edges` counter-0 interrupts became due.
    func pitTicked(edges: UInt64) {
        if pitReinject {
            pitPending &+= edges
            if pitIRQAck { injectPIT() }
        } else {
            pitIRQAck = true
            injectPIT()
        }
    }

    private func injectPIT() {
        if pitReinject { pitIRQAck = false }
        // An edge on GSI 0: raise and drop the PIT's source.
        setGSI(0, level: true, fromPIT: true)
        setGSI(0, level: false, fromPIT: true)
        // The NMI watchdog path: LINT0 programmed for NMI sees the PIT too (as KVM).
        var nmiWatchdog = false
        for l in lapics where l.lvtLint0 & LocalAPIC.lvtMasked == 0
            && (l.lvtLint0 >> 8) & 7 == APICDeliveryMode.nmi { nmiWatchdog = true }
        if nmiWatchdog { for l in lapics { l.localDeliver(l.lvtLint0) } }
    }

    // MARK: - Time

    func advance(to now: UInt64) {
        for l in lapics where l.timerArmed && now >= l.timerTarget { l.advanceTimer(to: now) }
        if pitCreated {
            let edges = pit.advance(to: now)
            if edges > 0 { pitTicked(edges: edges) }
        }
    }

    func nextDeadline() -> UInt64? {
        var best = UInt64.max
        for l in lapics where l.timerArmed && l.timerTarget < best { best = l.timerTarget }
        if pitCreated, let t = pit.nextDeadline, t < best { best = t }
        return best == UInt64.max ? nil : best
    }
}
