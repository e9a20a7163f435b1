@testable import RefHypervisor

// Small accessors for the interrupt-device tests (Devices*.swift).

let devAPICBase: UInt64 = 0xFEE0_0000
let devIOAPICBase: UInt64 = 0xFEC0_0000

extension IRQChip {
    func devAPICWrite(_ offset: UInt64, _ value: UInt32, vcpu: Int = 0, now: UInt64 = 0) {
        mmioWrite(devAPICBase + offset, size: 4, value: UInt64(value), vcpu: vcpu, now: now)
    }

    func devAPICRead(_ offset: UInt64, vcpu: Int = 0, now: UInt64 = 0) -> UInt32 {
        UInt32(truncatingIfNeeded: mmioRead(devAPICBase + offset, size: 4, vcpu: vcpu, now: now))
    }

    /// Software-enable the LAPIC with spurious vector 0xFF (SVR bit 8).
    func devEnableAPIC(vcpu: Int = 0) { devAPICWrite(0xF0, 0x1FF, vcpu: vcpu) }

    func devIOAPICWrite(_ reg: UInt32, _ value: UInt32) {
        mmioWrite(devIOAPICBase, size: 4, value: UInt64(reg), vcpu: 0, now: 0)
        mmioWrite(devIOAPICBase + 0x10, size: 4, value: UInt64(value), vcpu: 0, now: 0)
    }

    func devIOAPICRead(_ reg: UInt32) -> UInt32 {
        mmioWrite(devIOAPICBase, size: 4, value: UInt64(reg), vcpu: 0, now: 0)
        return UInt32(truncatingIfNeeded: mmioRead(devIOAPICBase + 0x10, size: 4, vcpu: 0, now: 0))
    }

    /// Program redirection entry `pin` (low dword `low`, destination APIC ID `dest`).
    func devRoute(pin: UInt32, low: UInt32, dest: UInt32 = 0) {
        devIOAPICWrite(0x11 + 2 * pin, dest << 24)
        devIOAPICWrite(0x10 + 2 * pin, low)
    }

    func devOut(_ port: UInt16, _ value: UInt8, now: UInt64 = 0) {
        portWrite(port, size: 1, value: UInt32(value), now: now)
    }

    func devIn(_ port: UInt16, now: UInt64 = 0) -> UInt8 {
        UInt8(truncatingIfNeeded: portRead(port, size: 1, now: now))
    }

    /// The PC BIOS setup: master vectors 0x20-0x27, slave 0x70-0x77, cascade on IR2, 8086 mode.
    func devInitPICs(masterBase: UInt8 = 0x20, slaveBase: UInt8 = 0x70, icw4: UInt8 = 0x01) {
        devOut(0x20, 0x11); devOut(0x21, masterBase); devOut(0x21, 0x04); devOut(0x21, icw4)
        devOut(0xA0, 0x11); devOut(0xA1, slaveBase); devOut(0xA1, 0x02); devOut(0xA1, icw4)
        devOut(0x21, 0x00); devOut(0xA1, 0x00)
    }

    /// Mask every 8259 line (an APIC-mode OS does this; at reset the IMRs are clear and the
    /// BSP's LINT0 is in virtual-wire mode, so GSI 0-15 would also arrive via the PIC).
    func devMaskPICs() { devOut(0x21, 0xFF); devOut(0xA1, 0xFF) }

    /// Bit `vector` of the 256-bit IRR/ISR/TMR block at `base` (0x200, 0x100, 0x180).
    func devAPICBit(_ base: UInt64, _ vector: UInt8, vcpu: Int = 0) -> Bool {
        let reg = devAPICRead(base + UInt64(vector >> 5) * 0x10, vcpu: vcpu)
        return reg & (1 << UInt32(vector & 31)) != 0
    }
}
