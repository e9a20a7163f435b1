import KVMABI

// The in-kernel irqchip of KVM_CREATE_IRQCHIP (two 8259s, an IOAPIC, one LAPIC per vCPU)
// plus the KVM_CREATE_PIT2 timer: the single entry point the engine calls for interrupt
// lines, port I/O, MMIO, MSRs and virtual time.

final class IRQChip {
    let router: InterruptRouter

    init(vcpuCount: Int = 1) {
        let r = InterruptRouter()
        router = r
        r.ioapic = IOAPIC(router: r)
        r.pic = PIC8259(router: r)
        r.lapics = (0..<max(vcpuCount, 1)).map { LocalAPIC(vcpuIndex: $0, router: r) }
    }

    // Device access for the engine's debugging and the tests.
    var lapics: [LocalAPIC] { router.lapics }
    var ioapic: IOAPIC { router.ioapic }
    var pic: PIC8259 { router.pic }
    var pit: PIT8254 { router.pit }

    /// KVM's default GSI 0 -> IOAPIC pin 0; set for QEMU's table (GSI 0 -> pin 2).
    var gsi0ToIOAPICPin2: Bool {
        get { router.gsi0ToIOAPICPin2 }
        set { router.gsi0ToIOAPICPin2 = newValue }
    }

    @inline(__always) private func lapic(_ vcpu: Int) -> LocalAPIC? {
        vcpu >= 0 && vcpu < router.lapics.count ? router.lapics[vcpu] : nil
    }

    // MARK: - Interrupt lines (KVM_IRQ_LINE, KVM_SIGNAL_MSI)

    /// kvm_set_irq from KVM_IRQ_LINE (or an irqfd): the GSI's routes (GSIRouting.swift); a
    /// GSI without routes goes nowhere (false).
    @discardableResult
    func setIRQLine(gsi: UInt32, level: Bool, now: UInt64) -> Bool {
        advance(to: now)
        router.setGSI(Int(gsi), level: level, fromPIT: false)
        return !router.routing.targets(Int(gsi)).isEmpty
    }

    /// irqfd_inject for a resampling irqfd: the GSI from KVM_IRQFD_RESAMPLE_IRQ_SOURCE_ID.
    func setResampleLine(gsi: UInt32, level: Bool, now: UInt64) {
        advance(to: now)
        router.setGSI(Int(gsi), level: level, fromPIT: false, resample: true)
    }

    /// KVM_IRQ_LINE_STATUS: kvm_set_irq with line_status; -1 for a GSI without routes.
    func setIRQLineStatus(gsi: UInt32, level: Bool, now: UInt64) -> Int {
        advance(to: now)
        return router.setGSI(Int(gsi), level: level, fromPIT: false, lineStatus: true)
    }

    /// KVM_SET_GSI_ROUTING: the table replaces the old one as a whole.
    func setRouting(_ routing: GSIRouting) { router.routing = routing }

    /// kvm_set_msi: -1 when no LAPIC matched, else how many accepted.
    @discardableResult
    func signalMSI(address: UInt64, data: UInt32, now: UInt64) -> Int {
        advance(to: now)
        return router.signalMSI(address: address, data: data)
    }

    // MARK: - CPU side

    /// Highest-priority maskable vector the vCPU would take now. The 8259 comes first when
    /// this LAPIC passes ExtINT through LINT0 (as KVM), then LAPIC IRR above PPR.
    func pendingInterrupt(vcpu: Int, now: UInt64) -> UInt8? {
        guard let l = lapic(vcpu) else { return nil }
        advance(to: now)
        if router.pic.output && l.acceptsPICInterrupt { return router.pic.peekVector() }
        return l.deliverableVector()
    }

    /// INTA: the 8259's vector, or LAPIC IRR -> ISR. With nothing left (a race the guest
    /// cannot see here) the LAPIC answers its spurious vector (SDM 11.9).
    func acknowledgeInterrupt(vcpu: Int, now: UInt64) -> UInt8 {
        guard let l = lapic(vcpu) else { return 0xFF }
        advance(to: now)
        if router.pic.output && l.acceptsPICInterrupt { return router.pic.acknowledge() }
        return l.acknowledge() ?? UInt8(truncatingIfNeeded: l.svr)
    }

    func takePendingNMI(vcpu: Int) -> Bool {
        guard let l = lapic(vcpu), l.nmiPending > 0 else { return false }
        l.nmiPending -= 1
        return true
    }

    /// INIT IPI received (the CPU model enters wait-for-SIPI).
    func takePendingINIT(vcpu: Int) -> Bool {
        guard let l = lapic(vcpu), l.initPending else { return false }
        l.initPending = false
        return true
    }

    func hasPendingINIT(vcpu: Int) -> Bool { lapic(vcpu)?.initPending ?? false }

    /// KVM_SET_MP_STATE(SIPI_RECEIVED): a start-up IPI pending with `vector`, as a SIPI
    /// message leaves it (KVM sets KVM_APIC_SIPI in apic->pending_events).
    func setPendingSIPI(vcpu: Int, vector: UInt8) { lapic(vcpu)?.sipiVector = vector }

    /// KVM_SET_BOOT_CPU_ID decides, at vCPU creation, which LAPIC is the BSP's.
    func setResetBSP(vcpu: Int, _ bsp: Bool) { lapic(vcpu)?.setResetBSP(bsp) }

    func setPITReinject(_ on: Bool) { router.setPITReinject(on) }

    /// KVM_GET/SET_IRQCHIP of one chip (0 master PIC, 1 slave, 2 IOAPIC).
    func chipState(_ chipID: UInt32, now: UInt64) -> IRQChipState? {
        advance(to: now)
        switch chipID {
        case 0: return .picMaster(router.pic.kvmState(slave: false))
        case 1: return .picSlave(router.pic.kvmState(slave: true))
        case 2: return .ioapic(router.ioapic.kvmState())
        default: return nil
        }
    }

    func setChipState(_ state: IRQChipState, now: UInt64) {
        advance(to: now)
        switch state {
        case .picMaster(let s): router.pic.restore(s, slave: false)
        case .picSlave(let s): router.pic.restore(s, slave: true)
        case .ioapic(let s): router.ioapic.restore(s)
        }
    }

    /// KVM_GET/SET_PIT2 (and the old KVM_GET/SET_PIT, `flags` nil).
    func pitState(now: UInt64) -> PITState2 {
        advance(to: now)
        var s = PITState2()
        s.channels = router.pit.kvmChannels()
        s.flags = router.pit.kvmFlags
        return s
    }

    func setPITState(_ channels: [PITChannelState], flags: UInt32?, now: UInt64) {
        advance(to: now)
        router.pit.restore(channels, flags: flags, now: now)
    }

    /// KVM_GET_LAPIC / KVM_SET_LAPIC of vCPU `vcpu`'s LAPIC (LocalAPIC+KVMState.swift).
    func lapicState(vcpu: Int, now: UInt64) -> [UInt8]? {
        advance(to: now)
        return lapic(vcpu)?.kvmState(now: now)
    }

    func setLAPICState(vcpu: Int, _ page: [UInt8], now: UInt64) {
        advance(to: now)
        lapic(vcpu)?.restoreKVMState(page, now: now)
    }

    func hasPendingINITOrSIPI(vcpu: Int) -> Bool {
        guard let l = lapic(vcpu) else { return false }
        return l.initPending || l.sipiVector != nil
    }

    /// Start-up IPI vector received, if any.
    func takePendingSIPI(vcpu: Int) -> UInt8? {
        guard let l = lapic(vcpu), let v = l.sipiVector else { return nil }
        l.sipiVector = nil
        return v
    }

    func takePendingSMI(vcpu: Int) -> Bool {
        guard let l = lapic(vcpu), l.smiPending else { return false }
        l.smiPending = false
        return true
    }

    /// INIT (the CPU's INIT signal or an INIT IPI it has taken): LAPIC back to its reset
    /// state except IA32_APIC_BASE and the APIC ID.
    func resetLAPIC(vcpu: Int) {
        lapic(vcpu)?.reset(initEvent: true)
    }

    /// The full 8-bit TPR (SDM 11.8.3). CR8 is TPR[7:4]: see readCR8/writeCR8.
    func readTPR(vcpu: Int) -> UInt8 {
        guard let l = lapic(vcpu) else { return 0 }
        return UInt8(truncatingIfNeeded: l.tpr)
    }

    func writeTPR(vcpu: Int, value: UInt8) {
        lapic(vcpu)?.setTPR(UInt32(value))
    }

    /// MOV from CR8 reads TPR[7:4]; MOV to CR8 writes TPR[7:4] and zeroes TPR[3:0] (SDM 11.8.6.1).
    func readCR8(vcpu: Int) -> UInt64 { UInt64(readTPR(vcpu: vcpu) >> 4) }
    func writeCR8(vcpu: Int, value: UInt64) { writeTPR(vcpu: vcpu, value: UInt8(value & 0xF) << 4) }

    /// kvm_apic_after_set_mcg_cap: with MCG_CMCI_P the LAPIC has LVT CMCI (7 LVT entries).
    func setCMCISupported(vcpu: Int, _ on: Bool) {
        lapic(vcpu)?.cmciSupported = on
    }

    /// kvm_apic_local_deliver(APIC_LVTCMCI) for a UCNA logged in a CMCI-enabled bank.
    func deliverCMCI(vcpu: Int) {
        guard let l = lapic(vcpu), l.cmciSupported else { return }
        _ = l.localDeliver(l.lvtCMCI)
    }

    /// KVM_SET_TSC_KHZ: the vCPU's TSC multiplier and rate, for IA32_TSC_DEADLINE (an
    /// armed deadline keeps the expiry it was given, as KVM's hrtimer does).
    func setTSCScaling(vcpu: Int, ratio: UInt64, khz: UInt32) {
        guard let l = lapic(vcpu) else { return }
        l.tscRatio = ratio
        l.tscKHz = khz
    }

    /// Guest TSC = scaled virtual ns + offset; IA32_TSC_DEADLINE compares against the guest TSC.
    func setTSCOffset(vcpu: Int, offset: UInt64, now: UInt64) {
        guard let l = lapic(vcpu) else { return }
        l.tscOffset = offset
        if l.timerMode == LocalAPIC.timerTSCDeadline { l.armDeadline(now: now) }
    }

    // MARK: - Port I/O

    func handlesPort(_ port: UInt16) -> Bool {
        switch port {
        case 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1: return true
        case 0x40...0x43: return router.pitCreated
        case 0x61: return router.pitCreated && speakerInKernel
        default: return false
        }
    }

    func portRead(_ port: UInt16, size: Int, now: UInt64) -> UInt32 {
        advance(to: now)
        switch port {
        case 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1:
            // The 8259 and ELCR decode byte cycles only; wider reads return 0 (as KVM).
            return size == 1 ? UInt32(router.pic.read(port: port)) : 0
        case 0x40...0x43 where router.pitCreated:
            return UInt32(router.pit.read(port: port, now: now))
        case 0x61 where router.pitCreated && speakerInKernel:
            return UInt32(router.pit.readPort61(now: now))
        default:
            return 0xFFFF_FFFF >> UInt32(32 - 8 * min(max(size, 1), 4))   // open bus
        }
    }

    func portWrite(_ port: UInt16, size: Int, value: UInt32, now: UInt64) {
        advance(to: now)
        let byte = UInt8(truncatingIfNeeded: value)
        switch port {
        case 0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1:
            if size == 1 { router.pic.write(port: port, value: byte) }
        case 0x40...0x43 where router.pitCreated:
            router.pit.write(port: port, value: byte, now: now)
        case 0x61 where router.pitCreated && speakerInKernel:
            router.pit.writePort61(byte, now: now)
        default:
            break
        }
    }

    // MARK: - MMIO

    func handlesMMIO(_ gpa: UInt64, vcpu: Int) -> Bool {
        if let l = lapic(vcpu), gpa &- l.mmioBase < 0x1000 { return true }
        return router.ioapic.contains(gpa)
    }

    func mmioRead(_ gpa: UInt64, size: Int, vcpu: Int, now: UInt64) -> UInt64 {
        guard size > 0 && size <= 8 else { return 0 }
        advance(to: now)
        if let l = lapic(vcpu), gpa &- l.mmioBase < 0x1000 {
            return l.mmioRead(offset: gpa &- l.mmioBase, size: size, now: now)
        }
        if router.ioapic.contains(gpa) {
            return router.ioapic.mmioRead(offset: gpa &- router.ioapic.base, size: size)
        }
        return 0
    }

    func mmioWrite(_ gpa: UInt64, size: Int, value: UInt64, vcpu: Int, now: UInt64) {
        guard size > 0 && size <= 8 else { return }
        advance(to: now)
        if let l = lapic(vcpu), gpa &- l.mmioBase < 0x1000 {
            l.mmioWrite(offset: gpa &- l.mmioBase, size: size, value: value, now: now)
            return
        }
        if router.ioapic.contains(gpa) {
            router.ioapic.mmioWrite(offset: gpa &- router.ioapic.base, size: size, value: value)
        }
    }

    // MARK: - MSRs

    static let msrAPICBase: UInt32 = 0x1B
    static let msrTSCDeadline: UInt32 = 0x6E0

    func readMSR(_ index: UInt32, vcpu: Int, now: UInt64) -> UInt64? {
        guard let l = lapic(vcpu) else { return nil }
        advance(to: now)
        switch index {
        case IRQChip.msrAPICBase: return l.apicBase
        case IRQChip.msrTSCDeadline: return l.readTSCDeadline()
        case 0x800...0x8FF: return l.readX2APIC(index, now: now)
        default: return nil
        }
    }

    func writeMSR(_ index: UInt32, value: UInt64, vcpu: Int, now: UInt64) -> Bool {
        guard let l = lapic(vcpu) else { return false }
        advance(to: now)
        switch index {
        case IRQChip.msrAPICBase: return l.writeAPICBase(value, now: now)
        case IRQChip.msrTSCDeadline: l.writeTSCDeadline(value, now: now); return true
        case 0x800...0x8FF: return l.writeX2APIC(index, value: value, now: now)
        default: return false
        }
    }

    // MARK: - PIT and time

    var pitCreated: Bool { router.pitCreated }

    /// KVM_CREATE_PIT2: counters 0/1 gated on, counter 2 off, all unprogrammed. Port 0x61
    /// (counter 2's gate and OUT, the speaker bit) is in the kernel only with the
    /// KVM_PIT_SPEAKER_DUMMY flag (i8254.c kvm_create_pit registers speaker_dev only then);
    /// without it an access to 0x61 exits to userspace.
    func createPIT(speakerDummy: Bool = false) {
        guard !router.pitCreated else { return }
        router.pitCreated = true
        speakerInKernel = speakerDummy
    }

    /// Port 0x61 is handled here (KVM_PIT_SPEAKER_DUMMY).
    private(set) var speakerInKernel = false

    /// Fire every timer due at or before `now`.
    func advance(to now: UInt64) { router.advance(to: now) }

    /// Earliest pending timer event (virtual ns), or nil when no timer is armed.
    func nextDeadline() -> UInt64? { router.nextDeadline() }
}
