import Testing
@testable import RefHypervisor

// Cascaded 8259A PICs (8259A datasheet), reached through the BSP's LINT0 virtual wire.

@Suite struct DevicesPICTests {
    @Test func initSequenceVectorBaseAndEOI() {
        let chip = IRQChip()
        chip.devInitPICs(masterBase: 0x08)
        chip.devOut(0x21, 0xFB ^ 0x02)                            // unmask IRQ1 (and cascade)
        #expect(chip.devIn(0x21) == 0xF9)
        _ = chip.setIRQLine(gsi: 1, level: true, now: 0)
        #expect(chip.devIn(0x20) == 0x02)                         // IRR (read register default)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x09)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x09)
        chip.devOut(0x20, 0x0B)                                   // OCW3: read ISR
        #expect(chip.devIn(0x20) == 0x02)
        chip.devOut(0x20, 0x0A)                                   // OCW3: read IRR
        #expect(chip.devIn(0x20) == 0x00)                         // edge IRR cleared by INTA
        chip.devOut(0x20, 0x20)                                   // non-specific EOI
        chip.devOut(0x20, 0x0B)
        #expect(chip.devIn(0x20) == 0x00)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
    }

    @Test func spuriousIRQ7AndIRQ15() {
        let chip = IRQChip()
        chip.devInitPICs()
        // INTA with nothing requesting: master answers IR7 and sets no ISR bit.
        #expect(chip.pic.acknowledge() == 0x27)
        chip.devOut(0x20, 0x0B)
        #expect(chip.devIn(0x20) == 0x00)
        // The slave's request vanishes after the master latched IR2: slave answers IR7 (IRQ15).
        chip.devOut(0x4D1, 0x04)                                  // IRQ10 level-sensitive
        _ = chip.setIRQLine(gsi: 10, level: true, now: 0)
        _ = chip.setIRQLine(gsi: 10, level: false, now: 0)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x77)
        chip.devOut(0xA0, 0x0B)
        #expect(chip.devIn(0xA0) == 0x00)
    }

    @Test func cascadedSlaveInterrupt() {
        let chip = IRQChip()
        chip.devInitPICs()
        _ = chip.setIRQLine(gsi: 12, level: true, now: 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x74)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x74)
        chip.devOut(0xA0, 0x0B); chip.devOut(0x20, 0x0B)
        #expect(chip.devIn(0xA0) == 0x10)
        #expect(chip.devIn(0x20) == 0x04)                         // master IR2 in service
        chip.devOut(0xA0, 0x20); chip.devOut(0x20, 0x20)
        #expect(chip.devIn(0xA0) == 0x00 && chip.devIn(0x20) == 0x00)
    }

    @Test func fullyNestedPriority() {
        let chip = IRQChip()
        chip.devInitPICs()
        _ = chip.setIRQLine(gsi: 4, level: true, now: 0)
        _ = chip.setIRQLine(gsi: 1, level: true, now: 0)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x21)   // IR1 beats IR4
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)        // IR4 below in-service IR1
        _ = chip.setIRQLine(gsi: 0, level: true, now: 0)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x20)   // IR0 nests above IR1
        chip.devOut(0x20, 0x20)                                       // EOI retires IR0 first
        chip.devOut(0x20, 0x0B)
        #expect(chip.devIn(0x20) == 0x02)
        chip.devOut(0x20, 0x20)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x24)
    }

    @Test func specificPriorityRotation() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.devOut(0x20, 0xC3)                                   // OCW2 set priority: IR3 lowest
        _ = chip.setIRQLine(gsi: 1, level: true, now: 0)
        _ = chip.setIRQLine(gsi: 4, level: true, now: 0)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x24)   // IR4 now highest
        chip.devOut(0x20, 0x64)                                   // specific EOI IR4
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x21)
    }

    @Test func autoEOILeavesISRClear() {
        let chip = IRQChip()
        chip.devInitPICs(icw4: 0x03)                              // 8086 mode + AEOI
        _ = chip.setIRQLine(gsi: 5, level: true, now: 0)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x25)
        chip.devOut(0x20, 0x0B)
        #expect(chip.devIn(0x20) == 0x00)
        _ = chip.setIRQLine(gsi: 5, level: false, now: 0)
        _ = chip.setIRQLine(gsi: 3, level: true, now: 0)          // lower priority, not blocked
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x23)
    }

    /// Linux 6.1 i8259.c pic_poll_read, not the 8259A datasheet: the level without bit 7,
    /// and the request leaves IRR and ISR both.
    @Test func pollCommandAcknowledgesAndEndsAsKVMDoes() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.devOut(0x20, 0x0C)                                   // OCW3 poll
        #expect(chip.devIn(0x20) == 0x07)                         // no request
        _ = chip.setIRQLine(gsi: 6, level: true, now: 0)
        chip.devOut(0x20, 0x0C)
        #expect(chip.devIn(0x20) == 0x06)
        chip.devOut(0x20, 0x0B)
        #expect(chip.devIn(0x20) == 0x00)                         // nothing in service
        chip.devOut(0x20, 0x0A)
        #expect(chip.devIn(0x20) == 0x00)                         // the edge request is gone
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        _ = chip.setIRQLine(gsi: 10, level: true, now: 0)         // slave IR2: master IR2 requests
        chip.devOut(0xA0, 0x0C)
        #expect(chip.devIn(0xA0) == 0x02)
        chip.devOut(0x20, 0x0A)
        #expect(chip.devIn(0x20) == 0x00)                         // the slave poll dropped the cascade
    }

    @Test func levelTriggeredELCRFollowsLine() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.devOut(0x4D0, 0xFF)                                  // IRQ0-2 can't be level
        #expect(chip.devIn(0x4D0) == 0xF8)
        _ = chip.setIRQLine(gsi: 5, level: true, now: 0)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x25)
        chip.devOut(0x20, 0x0A)
        #expect(chip.devIn(0x20) == 0x20)                         // level IRR survives INTA
        chip.devOut(0x20, 0x20)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x25)   // still asserted: again
        _ = chip.setIRQLine(gsi: 5, level: false, now: 0)
        #expect(chip.devIn(0x20) == 0x00)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
    }

    @Test func maskedIRQAndSpecialMaskMode() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.devOut(0x21, 0x08)                                   // mask IR3
        _ = chip.setIRQLine(gsi: 3, level: true, now: 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        #expect(chip.devIn(0x20) == 0x08)                         // still in IRR
        // Special mask: on an 8259A, IR3 in service but masked would no longer block the
        // lower IR4; KVM's pic_get_irq ignores special_mask, so IR4 stays blocked.
        chip.devOut(0x21, 0x00)
        _ = chip.acknowledgeInterrupt(vcpu: 0, now: 0)            // IR3 in service
        _ = chip.setIRQLine(gsi: 4, level: true, now: 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.devOut(0x21, 0x08)
        chip.devOut(0x20, 0x68)                                   // OCW3: set special mask
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.devOut(0x20, 0x63)                                   // specific EOI for IR3
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x24)
    }

    @Test func picIgnoredWhenLINT0Masked() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x350, 0x1_0700)                        // mask LINT0
        _ = chip.setIRQLine(gsi: 1, level: true, now: 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        // Globally disabling the APIC wires the 8259 straight to the CPU.
        #expect(chip.writeMSR(0x1B, value: 0xFEE0_0100, vcpu: 0, now: 0))
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x21)
    }
}
