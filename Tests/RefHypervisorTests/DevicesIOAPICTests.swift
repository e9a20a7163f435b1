import Testing
@testable import RefHypervisor

// IOAPIC (82093AA datasheet) and MSI (SDM 11.11) delivery.

@Suite struct DevicesIOAPICTests {
    @Test func identificationRegistersAndResetMask() {
        let chip = IRQChip()
        #expect(chip.devIOAPICRead(0x01) == 0x0017_0011)
        #expect(chip.devIOAPICRead(0x00) == 0)
        chip.devIOAPICWrite(0x00, 0x0F00_0000 | 0xFF)
        #expect(chip.devIOAPICRead(0x00) == 0x0F00_0000)
        chip.devIOAPICWrite(0x01, 0)                              // version is read-only
        #expect(chip.devIOAPICRead(0x01) == 0x0017_0011)
        for pin: UInt32 in 0..<24 { #expect(chip.devIOAPICRead(0x10 + 2 * pin) == 0x1_0000) }
        #expect(chip.devIOAPICRead(0x40) == 0xFFFF_FFFF)          // past entry 23
        #expect(chip.handlesMMIO(devIOAPICBase + 0xFF, vcpu: 0))
        #expect(!chip.handlesMMIO(devIOAPICBase + 0x100, vcpu: 0))
        // IOREGSEL reads back; byte access to IOWIN returns the low byte.
        chip.mmioWrite(devIOAPICBase, size: 1, value: 0x01, vcpu: 0, now: 0)
        #expect(chip.mmioRead(devIOAPICBase, size: 4, vcpu: 0, now: 0) == 0x01)
        #expect(chip.mmioRead(devIOAPICBase + 0x10, size: 1, vcpu: 0, now: 0) == 0x11)
    }

    @Test func edgePinDeliversOnRisingEdgeOnly() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devMaskPICs()
        chip.devRoute(pin: 4, low: 0x34)                          // edge, fixed, physical 0
        #expect(chip.setIRQLine(gsi: 4, level: true, now: 0))
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x34)
        chip.devAPICWrite(0xB0, 0)
        #expect(chip.setIRQLine(gsi: 4, level: true, now: 0))     // still high: no edge
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        _ = chip.setIRQLine(gsi: 4, level: false, now: 0)
        _ = chip.setIRQLine(gsi: 4, level: true, now: 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x34)
        #expect(!chip.devAPICBit(0x180, 0x34))                    // TMR clear for edge
        #expect(!chip.setIRQLine(gsi: 24, level: true, now: 0))
    }

    @Test func maskedPinDoesNotFire() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devMaskPICs()
        chip.devRoute(pin: 17, low: 0x1_0039)                     // masked
        _ = chip.setIRQLine(gsi: 17, level: true, now: 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.devRoute(pin: 17, low: 0x39)                         // unmask an edge pin:
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)    // the edge is gone
    }

    @Test func levelPinRefiresAfterEOIWhileLineHigh() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devMaskPICs()
        chip.devRoute(pin: 19, low: 0xA051)                       // level, active low, 0x51
        _ = chip.setIRQLine(gsi: 19, level: true, now: 0)
        #expect(chip.devIOAPICRead(0x10 + 38) & 0x4000 != 0)      // Remote IRR set
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x51)
        #expect(chip.devAPICBit(0x180, 0x51))                     // TMR set: level
        // Remote IRR blocks a second message while the first is in service.
        chip.devIOAPICWrite(0x10 + 38, 0xA051)                    // rewrite: Remote IRR is RO
        #expect(chip.devIOAPICRead(0x10 + 38) & 0x4000 != 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.devAPICWrite(0xB0, 0)                                // EOI, line still high
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x51)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x51)
        _ = chip.setIRQLine(gsi: 19, level: false, now: 0)
        chip.devAPICWrite(0xB0, 0)
        #expect(chip.devIOAPICRead(0x10 + 38) & 0x4000 == 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
    }

    @Test func unmaskingAssertedLevelPinDelivers() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devMaskPICs()
        chip.devRoute(pin: 10, low: 0x1_8052)                     // level, masked
        _ = chip.setIRQLine(gsi: 10, level: true, now: 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.devRoute(pin: 10, low: 0x8052)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x52)
    }

    @Test func eoiRegisterClearsRemoteIRR() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devMaskPICs()
        chip.devRoute(pin: 20, low: 0x8053)
        _ = chip.setIRQLine(gsi: 20, level: true, now: 0)
        _ = chip.setIRQLine(gsi: 20, level: false, now: 0)
        #expect(chip.devIOAPICRead(0x10 + 40) & 0x4000 != 0)
        chip.mmioWrite(devIOAPICBase + 0x40, size: 4, value: 0x52, vcpu: 0, now: 0)  // other vector
        #expect(chip.devIOAPICRead(0x10 + 40) & 0x4000 != 0)
        chip.mmioWrite(devIOAPICBase + 0x40, size: 4, value: 0x53, vcpu: 0, now: 0)
        #expect(chip.devIOAPICRead(0x10 + 40) & 0x4000 == 0)
    }

    @Test func gsiZeroRoutingDefaultAndOverride() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devMaskPICs()
        chip.devRoute(pin: 0, low: 0x30)
        chip.devRoute(pin: 2, low: 0x32)
        _ = chip.setIRQLine(gsi: 0, level: true, now: 0)          // KVM default: pin 0
        #expect(chip.devAPICBit(0x200, 0x30) && !chip.devAPICBit(0x200, 0x32))
        _ = chip.setIRQLine(gsi: 0, level: false, now: 0)
        chip.gsi0ToIOAPICPin2 = true                              // QEMU's table
        _ = chip.setIRQLine(gsi: 0, level: true, now: 0)
        #expect(chip.devAPICBit(0x200, 0x32))
    }

    @Test func msiDeliversToDestinationWithTriggerMode() {
        let chip = IRQChip(vcpuCount: 2)
        chip.devEnableAPIC(vcpu: 0); chip.devEnableAPIC(vcpu: 1)
        chip.devMaskPICs()
        chip.signalMSI(address: 0xFEE0_1000, data: 0x0031, now: 0)   // dest 1, fixed, edge
        #expect(chip.pendingInterrupt(vcpu: 1, now: 0) == 0x31)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.signalMSI(address: 0xFEE0_0000, data: 0xC032, now: 0)   // dest 0, level assert
        #expect(chip.devAPICBit(0x180, 0x32, vcpu: 0))
        chip.signalMSI(address: 0xFEE0_1000, data: 0x0400, now: 0)   // NMI
        #expect(chip.takePendingNMI(vcpu: 1))
        // Broadcast, lowest priority: exactly one APIC takes it (KVM: vector hashing).
        chip.signalMSI(address: 0xFEEF_F000, data: 0x0141, now: 0)
        let taken = [0, 1].filter { chip.devAPICBit(0x200, 0x41, vcpu: $0) }
        #expect(taken == [0x41 % 2])
    }
}
