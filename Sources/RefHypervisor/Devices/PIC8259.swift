import KVMABI

// Two cascaded 8259A PICs (master 0x20/0x21, slave 0xA0/0xA1, slave on master IR2) with
// the PIIX ELCR (0x4D0/0x4D1) selecting edge or level sense per line, as KVM's i8259.

/// One 8259A. Register and mode names follow the 8259A datasheet.
struct PIC8259Controller {
    var irr: UInt8 = 0
    var imr: UInt8 = 0
    var isr: UInt8 = 0
    var lastLevel: UInt8 = 0          // input levels, for edge detection
    var elcr: UInt8 = 0               // 1 = level sensitive
    var elcrMask: UInt8               // lines that can be level sensitive (KVM_SET_IRQCHIP may change it)
    var priorityAdd: UInt8 = 0        // line with highest priority (rotation)
    var vectorBase: UInt8 = 0         // ICW2 bits 7:3
    var readISR = false               // OCW3 RR/RIS
    var poll = false
    var specialMask = false
    var initState = 0                 // 0 ready, 1 expect ICW2, 2 ICW3, 3 ICW4
    var needICW4 = false
    var autoEOI = false
    var rotateOnAutoEOI = false
    var specialFullyNested = false
    let isMaster: Bool

    init(isMaster: Bool) {
        self.isMaster = isMaster
        // IRQ0/1/2 and IRQ8/13 are edge-only on PC chipsets.
        elcrMask = isMaster ? 0xF8 : 0xDE
    }

    /// Index (0-7, relative to rotation) of the highest-priority set bit, or 8 if none.
    @inline(__always) func priority(of mask: UInt8) -> Int {
        if mask == 0 { return 8 }
        var p = 0
        while mask & (1 << ((p + Int(priorityAdd)) & 7)) == 0 { p += 1 }
        return p
    }

    /// The line this PIC would present on INT, or nil (datasheet "priority resolver"):
    /// a request wins if it outranks everything in service.
    func pendingIRQ() -> Int? {
        let p = priority(of: irr & ~imr)
        if p == 8 { return nil }
        var inService = isr
        // Special mask mode (OCW3 SMM) is kept but not applied: the datasheet lets masked
        // lines in service stop blocking lower ones, KVM's i8259.c pic_get_irq does not
        // (it stores special_mask and never reads it), and the engine is KVM's.
        // Special fully nested: the slave's own in-service line does not block it (ICW4 SFNM).
        if specialFullyNested && isMaster { inService &= ~(1 << 2) }
        return p < priority(of: inService) ? (p + Int(priorityAdd)) & 7 : nil
    }

    /// Drive input `irq`. Level lines follow the input; edge lines latch on 0->1. Returns
    /// KVM's pic_set_irq1 status: -1 masked, 0 coalesced (already in IRR), else 1.
    @discardableResult
    mutating func setInput(_ irq: Int, level: Bool) -> Int {
        let bit = UInt8(1) << UInt8(irq)
        var status = 1
        if elcr & bit != 0 {
            if level { status = irr & bit == 0 ? 1 : 0; irr |= bit; lastLevel |= bit } else { irr &= ~bit; lastLevel &= ~bit }
        } else if level {
            if lastLevel & bit == 0 { status = irr & bit == 0 ? 1 : 0; irr |= bit }
            lastLevel |= bit
        } else {
            lastLevel &= ~bit
        }
        return imr & bit != 0 ? -1 : status
    }

    /// INTA: set ISR (unless auto-EOI), clear IRR for edge lines (level stays while asserted).
    /// Returns true if the auto-EOI retired the line at once.
    mutating func intAck(_ irq: Int) -> Bool {
        let bit = UInt8(1) << UInt8(irq)
        isr |= bit
        if elcr & bit == 0 { irr &= ~bit }
        if autoEOI {
            if rotateOnAutoEOI { priorityAdd = UInt8((irq + 1) & 7) }
            isr &= ~bit
            return true
        }
        return false
    }

    /// ICW1 (datasheet "Initialization Command Words"): edge latches cleared, IMR cleared,
    /// IR7 lowest priority, special mask off, read IRR; ICW4 functions zeroed if IC4 = 0.
    /// ISR is not on the datasheet's list and KVM keeps it too.
    mutating func initialize(icw1: UInt8) {
        needICW4 = icw1 & 1 != 0
        lastLevel = 0
        irr &= elcr
        imr = 0
        priorityAdd = 0
        specialMask = false
        readISR = false
        poll = false
        if !needICW4 { specialFullyNested = false; autoEOI = false }
        initState = 1
    }
}

final class PIC8259 {
    var master = PIC8259Controller(isMaster: true)
    var slave = PIC8259Controller(isMaster: false)
    unowned(unsafe) let router: InterruptRouter

    /// INTR output of the master to the CPU(s).
    private(set) var output = false

    init(router: InterruptRouter) { self.router = router }

    /// Re-run the cascade: a slave request pulses master IR2; then recompute INTR.
    func update() {
        if slave.pendingIRQ() != nil {
            master.setInput(2, level: true)
            master.setInput(2, level: false)
        }
        output = master.pendingIRQ() != nil
    }

    /// Input line 0-15 (IRQ8-15 on the slave).
    /// kvm_pic_set_irq: the line's new level; returns pic_set_irq1's status.
    @discardableResult
    func setIRQ(_ irq: Int, level: Bool) -> Int {
        let status = irq < 8 ? master.setInput(irq, level: level) : slave.setInput(irq - 8, level: level)
        update()
        return status
    }

    /// The vector INTA would return now, without side effects.
    func peekVector() -> UInt8 {
        guard let irq = master.pendingIRQ() else { return master.vectorBase &+ 7 }
        if irq == 2 {
            return slave.vectorBase &+ UInt8(slave.pendingIRQ() ?? 7)
        }
        return master.vectorBase &+ UInt8(irq)
    }

    /// INTA cycle. With nothing left to deliver the 8259A answers IR7 (master) or IR15
    /// (slave) without setting ISR: the spurious interrupt of the datasheet.
    func acknowledge() -> UInt8 {
        let vector: UInt8
        if let irq = master.pendingIRQ() {
            if master.intAck(irq) { notifyEOI(irq) }
            if irq == 2 {
                if let irq2 = slave.pendingIRQ() {
                    if slave.intAck(irq2) { notifyEOI(irq2 + 8) }
                    vector = slave.vectorBase &+ UInt8(irq2)
                } else {
                    vector = slave.vectorBase &+ 7
                }
            } else {
                vector = master.vectorBase &+ UInt8(irq)
            }
        } else {
            vector = master.vectorBase &+ 7
        }
        update()
        flushNotifications()
        return vector
    }

    // Lines retired from ISR during the current operation, reported to the router only
    // after the controller state is consistent (the PIT's ack may re-raise IRQ0 at once).
    private var ackedLines: UInt16 = 0
    private var irq0Unmasked = false

    @inline(__always) private func notifyEOI(_ irq: Int) {
        if irq != 2 { ackedLines |= 1 << UInt16(irq) }
    }

    private func flushNotifications() {
        if irq0Unmasked { irq0Unmasked = false; router.picIRQ0Unmasked() }
        while ackedLines != 0 {
            let irq = ackedLines.trailingZeroBitCount
            ackedLines &= ackedLines - 1
            router.picAcked(irq: irq)
        }
    }

    // MARK: - Ports

    func read(port: UInt16) -> UInt8 {
        switch port {
        case 0x4D0: return master.elcr
        case 0x4D1: return slave.elcr
        default: break
        }
        let isSlave = port & 0x80 != 0
        if isSlave ? slave.poll : master.poll { return pollRead(isSlave: isSlave) }
        return isSlave ? read(&slave, a0: port & 1) : read(&master, a0: port & 1)
    }

    /// The read after a poll command (OCW3 P), as Linux 6.1 i8259.c pic_poll_read does it,
    /// which is not the 8259A's: the highest request's level (0-7) with bit 7 clear, and
    /// the request leaves IRR and ISR both (acknowledged and ended at once, the line's ack
    /// notifier runs); with no request, 07H. A slave poll also drops the master's cascade
    /// line (IRR and ISR bit 2). The datasheet sets bit 7 and the ISR bit instead.
    private func pollRead(isSlave: Bool) -> UInt8 {
        var ret: UInt8 = 0x07
        if isSlave {
            slave.poll = false
            if let irq = slave.pendingIRQ() {
                master.isr &= ~(1 << 2); master.irr &= ~(1 << 2)
                slave.irr &= ~(1 << UInt8(irq)); slave.isr &= ~(1 << UInt8(irq))
                notifyEOI(irq + 8)
                ret = UInt8(irq)
            }
        } else {
            master.poll = false
            if let irq = master.pendingIRQ() {
                master.irr &= ~(1 << UInt8(irq)); master.isr &= ~(1 << UInt8(irq))
                notifyEOI(irq)
                ret = UInt8(irq)
            }
        }
        update()
        flushNotifications()
        return ret
    }

    private func read(_ pic: inout PIC8259Controller, a0: UInt16) -> UInt8 {
        if a0 == 0 { return pic.readISR ? pic.isr : pic.irr }
        return pic.imr
    }

    func write(port: UInt16, value: UInt8) {
        switch port {
        case 0x4D0: master.elcr = value & master.elcrMask; return
        case 0x4D1: slave.elcr = value & slave.elcrMask; return
        default: break
        }
        if port & 0x80 != 0 { write(&slave, a0: port & 1, value: value, base: 8) }
        else { write(&master, a0: port & 1, value: value, base: 0) }
        update()
        flushNotifications()
    }

    private func write(_ pic: inout PIC8259Controller, a0: UInt16, value: UInt8, base: Int) {
        if a0 == 0 {
            if value & 0x10 != 0 {
                pic.initialize(icw1: value)                   // ICW1
            } else if value & 0x08 != 0 {                     // OCW3
                if value & 0x04 != 0 { pic.poll = true }
                if value & 0x02 != 0 { pic.readISR = value & 1 != 0 }
                if value & 0x40 != 0 { pic.specialMask = value & 0x20 != 0 }
            } else {                                          // OCW2
                switch value >> 5 {
                case 0, 4:                                    // clear / set rotate in AEOI
                    pic.rotateOnAutoEOI = value & 0x80 != 0
                case 1, 5:                                    // non-specific EOI (5: + rotate)
                    let p = pic.priority(of: pic.isr)
                    if p != 8 {
                        let irq = (p + Int(pic.priorityAdd)) & 7
                        if value >> 5 == 5 { pic.priorityAdd = UInt8((irq + 1) & 7) }
                        pic.isr &= ~(1 << UInt8(irq))
                        notifyEOI(irq + base)
                    }
                case 3:                                       // specific EOI
                    let irq = Int(value & 7)
                    pic.isr &= ~(1 << UInt8(irq))
                    notifyEOI(irq + base)
                case 6:                                       // set priority: L is lowest
                    pic.priorityAdd = (value &+ 1) & 7
                case 7:                                       // rotate on specific EOI
                    let irq = Int(value & 7)
                    pic.priorityAdd = UInt8((irq + 1) & 7)
                    pic.isr &= ~(1 << UInt8(irq))
                    notifyEOI(irq + base)
                default:                                      // 2: no operation
                    break
                }
            }
            return
        }
        switch pic.initState {
        case 0:                                               // OCW1: interrupt mask
            let changed = pic.imr ^ value
            pic.imr = value
            if changed & 1 != 0 && base == 0 && value & 1 == 0 { irq0Unmasked = true }
        case 1:                                               // ICW2: vector base
            pic.vectorBase = value & 0xF8
            pic.initState = 2
        case 2:                                               // ICW3 (cascade always on, as KVM)
            pic.initState = pic.needICW4 ? 3 : 0
        default:                                              // ICW4
            pic.specialFullyNested = value & 0x10 != 0
            pic.autoEOI = value & 0x02 != 0
            pic.initState = 0
        }
    }
}

// KVM_GET/SET_IRQCHIP for the two 8259s: `struct kvm_pic_state` is a copy of KVM's own
// kvm_kpic_state fields (i8259.c), moved as they are (Linux 6.1 x86.c
// kvm_vm_ioctl_get_irqchip / kvm_vm_ioctl_set_irqchip, then kvm_pic_update_irq).
extension PIC8259 {
    func kvmState(slave isSlave: Bool) -> PICState {
        let p = isSlave ? slave : master
        var s = PICState()
        s.lastIRR = p.lastLevel; s.irr = p.irr; s.imr = p.imr; s.isr = p.isr
        s.priorityAdd = p.priorityAdd; s.irqBase = p.vectorBase; s.readRegSelect = p.readISR ? 1 : 0
        s.poll = p.poll ? 1 : 0; s.specialMask = p.specialMask ? 1 : 0; s.initState = UInt8(truncatingIfNeeded: p.initState)
        s.autoEOI = p.autoEOI ? 1 : 0; s.rotateOnAutoEOI = p.rotateOnAutoEOI ? 1 : 0
        s.specialFullyNested = p.specialFullyNested ? 1 : 0; s.init4 = p.needICW4 ? 1 : 0
        s.elcr = p.elcr; s.elcrMask = p.elcrMask
        return s
    }

    /// The fields as given, with no validation (KVM memcpys them); an init_state beyond the
    /// ICW sequence behaves as "ready" (0..3 are the states the port write path knows).
    func restore(_ s: PICState, slave isSlave: Bool) {
        var p = isSlave ? slave : master
        p.lastLevel = s.lastIRR; p.irr = s.irr; p.imr = s.imr; p.isr = s.isr
        p.priorityAdd = s.priorityAdd & 7; p.vectorBase = s.irqBase; p.readISR = s.readRegSelect != 0
        p.poll = s.poll != 0; p.specialMask = s.specialMask != 0; p.initState = Int(s.initState & 3)
        p.autoEOI = s.autoEOI != 0; p.rotateOnAutoEOI = s.rotateOnAutoEOI != 0
        p.specialFullyNested = s.specialFullyNested != 0; p.needICW4 = s.init4 != 0
        p.elcr = s.elcr; p.elcrMask = s.elcrMask
        if isSlave { slave = p } else { master = p }
        update()
        flushNotifications()
    }
}
