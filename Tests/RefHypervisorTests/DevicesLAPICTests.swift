import Testing
@testable import RefHypervisor

// Local APIC behaviour from Intel SDM vol. 3 chapter 11, with KVM's reset values.

@Suite struct DevicesLAPICTests {
    @Test func resetStateMatchesKVM() {
        let chip = IRQChip(vcpuCount: 2)
        #expect(chip.readMSR(0x1B, vcpu: 0, now: 0) == 0xFEE0_0900)     // enabled + BSP
        #expect(chip.readMSR(0x1B, vcpu: 1, now: 0) == 0xFEE0_0800)     // enabled, AP
        #expect(chip.devAPICRead(0x20, vcpu: 1) == 0x0100_0000)         // APIC ID 1
        #expect(chip.devAPICRead(0x30) == 0x0005_0014)                  // version, max LVT 5
        #expect(chip.devAPICRead(0xF0) == 0xFF)                         // SVR
        #expect(chip.devAPICRead(0xE0) == 0xFFFF_FFFF)                  // DFR flat
        #expect(chip.devAPICRead(0x320) == 0x1_0000)                    // timer LVT masked
        #expect(chip.devAPICRead(0x350) == 0x700)                       // BSP LINT0 ExtINT
        #expect(chip.devAPICRead(0x350, vcpu: 1) == 0x1_0000)           // AP LINT0 masked
        #expect(chip.devAPICRead(0x370) == 0x1_0000)
    }

    @Test func initIPIThenResetKeepsBaseAndID() {
        let chip = IRQChip(vcpuCount: 2)
        chip.devEnableAPIC(vcpu: 0); chip.devEnableAPIC(vcpu: 1)
        chip.devAPICWrite(0x20, 0x0500_0000, vcpu: 1)             // xAPIC ID is writable
        chip.devAPICWrite(0x300, 0x4_0020, vcpu: 1)               // pending self IPI
        chip.devAPICWrite(0x310, 0x0000_0000, vcpu: 1)
        chip.devAPICWrite(0x300, 0x0_C500, vcpu: 1)               // INIT assert, level, to ID 0
        #expect(chip.takePendingINIT(vcpu: 0))
        chip.devAPICWrite(0x300, 0x0_8500, vcpu: 1)               // INIT de-assert: ignored
        #expect(!chip.takePendingINIT(vcpu: 0))
        chip.devAPICWrite(0x310, 0x0500_0000, vcpu: 0)
        chip.devAPICWrite(0x300, 0x0_0612, vcpu: 0)               // SIPI vector 0x12 to ID 5
        #expect(chip.takePendingSIPI(vcpu: 1) == 0x12)
        chip.resetLAPIC(vcpu: 1)
        #expect(chip.devAPICRead(0x20, vcpu: 1) == 0x0500_0000)
        #expect(chip.readMSR(0x1B, vcpu: 1, now: 0) == 0xFEE0_0800)
        #expect(chip.devAPICRead(0xF0, vcpu: 1) == 0xFF)
        #expect(!chip.devAPICBit(0x200, 0x20, vcpu: 1))
    }

    @Test func oneShotFiresOnceAtInitialTimesDivisor() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x3E0, 0x3)                 // divide by 16
        chip.devAPICWrite(0x320, 0x40)                // one-shot, vector 0x40
        chip.devAPICWrite(0x380, 1000, now: 100)
        #expect(chip.nextDeadline() == 100 + 16_000)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 16_099) == nil)
        #expect(chip.devAPICRead(0x390, now: 16_099) == 0)           // 1 ns left < one count
        #expect(chip.devAPICRead(0x390, now: 100 + 160) == 990)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 16_100) == 0x40)
        #expect(chip.nextDeadline() == nil)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 16_100) == 0x40)
        chip.devAPICWrite(0xB0, 0, now: 16_200)                       // EOI
        chip.advance(to: 1_000_000)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 1_000_000) == nil)
        #expect(chip.devAPICRead(0x390, now: 1_000_000) == 0)
        #expect(chip.devAPICRead(0x380) == 1000)                      // initial count stays
    }

    @Test func periodicReloadsEveryPeriod() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x3E0, 0xB)                 // divide by 1
        chip.devAPICWrite(0x320, 0x2_0041)            // periodic, vector 0x41
        chip.devAPICWrite(0x380, 300_000, now: 0)
        #expect(chip.nextDeadline() == 300_000)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 300_000) == 0x41)
        chip.devAPICWrite(0xB0, 0, now: 300_010)
        #expect(chip.nextDeadline() == 600_000)
        #expect(chip.devAPICRead(0x390, now: 450_000) == 150_000)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 599_999) == nil)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 600_000) == 0x41)
        #expect(chip.nextDeadline() == 900_000)
        chip.devAPICWrite(0x380, 0, now: 610_000)     // writing 0 stops the timer
        #expect(chip.nextDeadline() == nil)
    }

    @Test func divideChangeKeepsRemainingCounts() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x3E0, 0xB)                 // divide by 1
        chip.devAPICWrite(0x320, 0x42)
        chip.devAPICWrite(0x380, 1000, now: 0)
        chip.devAPICWrite(0x3E0, 0x0, now: 500)       // divide by 2 with 500 counts left
        #expect(chip.devAPICRead(0x3E0) == 0)
        #expect(chip.devAPICRead(0x390, now: 500) == 500)
        #expect(chip.nextDeadline() == 1500)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 1499) == nil)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 1500) == 0x42)
    }

    @Test func periodicPeriodIsRaisedToKVMMinimum() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x3E0, 0xB)
        chip.devAPICWrite(0x320, 0x2_0041)
        chip.devAPICWrite(0x380, 1000, now: 0)
        #expect(chip.nextDeadline() == 200_000)
        chip.lapics[0].minPeriodicNs = 0
        chip.devAPICWrite(0x380, 1000, now: 0)
        #expect(chip.nextDeadline() == 1000)
    }

    @Test func tscDeadlineFiresAtDeadlineAndZeroDisarms() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x320, 0x4_0050)            // TSC-deadline, vector 0x50
        chip.devAPICWrite(0x380, 5, now: 0)           // TMICT ignored in this mode
        #expect(chip.nextDeadline() == nil)
        #expect(chip.writeMSR(0x6E0, value: 5000, vcpu: 0, now: 0))
        #expect(chip.readMSR(0x6E0, vcpu: 0, now: 0) == 5000)
        #expect(chip.nextDeadline() == 5000)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 4999) == nil)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 5000) == 0x50)
        #expect(chip.readMSR(0x6E0, vcpu: 0, now: 5000) == 0)         // cleared on expiry
        _ = chip.acknowledgeInterrupt(vcpu: 0, now: 5000)
        chip.devAPICWrite(0xB0, 0, now: 5001)
        #expect(chip.writeMSR(0x6E0, value: 8000, vcpu: 0, now: 6000))
        #expect(chip.writeMSR(0x6E0, value: 0, vcpu: 0, now: 6000))
        #expect(chip.nextDeadline() == nil)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 9000) == nil)
        // A deadline already in the past fires at once.
        #expect(chip.writeMSR(0x6E0, value: 100, vcpu: 0, now: 9000))
        #expect(chip.pendingInterrupt(vcpu: 0, now: 9000) == 0x50)
    }

    @Test func tscDeadlineComparesAgainstGuestTSC() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x320, 0x4_0050)
        chip.setTSCOffset(vcpu: 0, offset: 1_000_000, now: 0)       // guest TSC = ns + 1e6
        #expect(chip.writeMSR(0x6E0, value: 1_005_000, vcpu: 0, now: 0))
        #expect(chip.nextDeadline() == 5000)
        #expect(chip.writeMSR(0x6E0, value: 10, vcpu: 0, now: 0))    // long past in guest TSC
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x50)
    }

    @Test func tscDeadlineMSRIgnoredOutsideDeadlineMode() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x320, 0x50)                // one-shot
        #expect(chip.writeMSR(0x6E0, value: 5000, vcpu: 0, now: 0))
        #expect(chip.readMSR(0x6E0, vcpu: 0, now: 0) == 0)
        #expect(chip.nextDeadline() == nil)
    }

    @Test func tprMasksEqualAndLowerPriorityClasses() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x80, 0x50)
        chip.devAPICWrite(0x300, 0x4_0045)            // fixed IPI to self, vector 0x45
        #expect(chip.devAPICBit(0x200, 0x45))
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.writeTPR(vcpu: 0, value: 0x40)           // same class still blocks
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        chip.writeCR8(vcpu: 0, value: 3)
        #expect(chip.readTPR(vcpu: 0) == 0x30)
        #expect(chip.devAPICRead(0xA0) == 0x30)       // PPR = TPR with nothing in service
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x45)
    }

    @Test func eoiClearsHighestInServiceAndUpdatesPPR() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x300, 0x4_0030)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x30)
        chip.devAPICWrite(0x300, 0x4_0080)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 0) == 0x80)
        #expect(chip.devAPICBit(0x100, 0x30) && chip.devAPICBit(0x100, 0x80))
        #expect(chip.devAPICRead(0xA0) == 0x80)
        chip.devAPICWrite(0x300, 0x4_0035)            // same class as in-service 0x30...
        chip.devAPICWrite(0xB0, 0)
        #expect(!chip.devAPICBit(0x100, 0x80) && chip.devAPICBit(0x100, 0x30))
        #expect(chip.devAPICRead(0xA0) == 0x30)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)   // ...so it waits
        chip.writeTPR(vcpu: 0, value: 0x3A)                      // equal class: PPR = TPR
        #expect(chip.devAPICRead(0xA0) == 0x3A)
        chip.writeTPR(vcpu: 0, value: 0x2F)                      // lower class: PPR = ISRV class
        #expect(chip.devAPICRead(0xA0) == 0x30)
        chip.devAPICWrite(0xB0, 0)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x35)
    }

    @Test func ipiFixedToOtherVCPUAndNMIToSelf() {
        let chip = IRQChip(vcpuCount: 3)
        for v in 0..<3 { chip.devEnableAPIC(vcpu: v) }
        chip.devAPICWrite(0x310, 0x0200_0000)         // destination APIC ID 2
        chip.devAPICWrite(0x300, 0x0_0061)            // fixed, physical, vector 0x61
        #expect(chip.pendingInterrupt(vcpu: 2, now: 0) == 0x61)
        #expect(chip.pendingInterrupt(vcpu: 1, now: 0) == nil)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        #expect(chip.devAPICRead(0x300) & 0x1000 == 0)   // delivery status idle
        chip.devAPICWrite(0x300, 0x4_0400)            // NMI, shorthand self
        #expect(chip.takePendingNMI(vcpu: 0))
        #expect(!chip.takePendingNMI(vcpu: 0))
        chip.devAPICWrite(0x300, 0xC_0062)            // fixed, all excluding self
        #expect(chip.pendingInterrupt(vcpu: 1, now: 0) == 0x62)
        #expect(chip.pendingInterrupt(vcpu: 2, now: 0) == 0x62)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
    }

    @Test func logicalFlatAndClusterDestinations() {
        let chip = IRQChip(vcpuCount: 3)
        for v in 0..<3 { chip.devEnableAPIC(vcpu: v) }
        chip.devAPICWrite(0xD0, 0x0100_0000, vcpu: 0)
        chip.devAPICWrite(0xD0, 0x0200_0000, vcpu: 1)
        chip.devAPICWrite(0xD0, 0x0400_0000, vcpu: 2)
        chip.devAPICWrite(0x310, 0x0600_0000)         // logical mask 0b110 -> vCPUs 1, 2
        chip.devAPICWrite(0x300, 0x0_0871)            // fixed, logical
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == nil)
        #expect(chip.pendingInterrupt(vcpu: 1, now: 0) == 0x71)
        #expect(chip.pendingInterrupt(vcpu: 2, now: 0) == 0x71)
        // Cluster model: LDR 0x12 = cluster 1, member bit 1.
        for v in 0..<3 { chip.devAPICWrite(0xE0, 0x0FFF_FFFF, vcpu: v) }
        chip.devAPICWrite(0xD0, 0x1200_0000, vcpu: 0)
        #expect(chip.devAPICRead(0xE0) == 0x0FFF_FFFF)
        chip.devAPICWrite(0x310, 0x1300_0000, vcpu: 1)
        chip.devAPICWrite(0x300, 0x0_0872, vcpu: 1)
        #expect(chip.devAPICBit(0x200, 0x72, vcpu: 0))
        #expect(!chip.devAPICBit(0x200, 0x72, vcpu: 2))
    }

    @Test func softwareDisableMasksLVTsAndBlocksFixed() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x320, 0x40)
        #expect(chip.devAPICRead(0x320) == 0x40)
        chip.devAPICWrite(0xF0, 0xFF)                 // software disable
        #expect(chip.devAPICRead(0x320) == 0x1_0040)
        #expect(chip.devAPICRead(0x350) == 0x1_0700)
        chip.devAPICWrite(0x320, 0x40)                // mask cannot be cleared now
        #expect(chip.devAPICRead(0x320) == 0x1_0040)
        chip.devAPICWrite(0x300, 0x4_0045)
        #expect(!chip.devAPICBit(0x200, 0x45))
        // Only a globally disabled APIC bypasses LINT0; a masked LINT0 takes no ExtINT.
        #expect(!chip.lapics[0].acceptsPICInterrupt)
    }

    @Test func timerLVTHasNoDeliveryModeButLINT0NMISeesPIT() {
        let chip = IRQChip()
        chip.devEnableAPIC()
        chip.devAPICWrite(0x320, 0x441)               // bits 10:8 do not exist in the timer LVT
        #expect(chip.devAPICRead(0x320) == 0x41)
        // LINT0 as NMI: KVM feeds it the PIT's IRQ0 edges (the NMI watchdog wiring).
        chip.devAPICWrite(0x350, 0x400)
        chip.createPIT()
        chip.devOut(0x43, 0x34)
        chip.devOut(0x40, 0xA9); chip.devOut(0x40, 0x04)
        chip.advance(to: 999_847)
        #expect(!chip.takePendingNMI(vcpu: 0))
        chip.advance(to: 999_848)
        #expect(chip.takePendingNMI(vcpu: 0))
        #expect(!chip.takePendingNMI(vcpu: 0))
    }

    @Test func mmioAccessWidthsAndReservedOffsets() {
        let chip = IRQChip()
        #expect(chip.handlesMMIO(devAPICBase + 0xFFF, vcpu: 0))
        #expect(!chip.handlesMMIO(devAPICBase + 0x1000, vcpu: 0))
        #expect(chip.mmioRead(devAPICBase + 0x30, size: 1, vcpu: 0, now: 0) == 0x14)
        #expect(chip.mmioRead(devAPICBase + 0x32, size: 1, vcpu: 0, now: 0) == 0x05)
        #expect(chip.mmioRead(devAPICBase + 0x32, size: 2, vcpu: 0, now: 0) == 0x0005)
        #expect(chip.mmioRead(devAPICBase + 0x33, size: 2, vcpu: 0, now: 0) == 0)  // crosses dword
        #expect(chip.mmioRead(devAPICBase + 0x30, size: 8, vcpu: 0, now: 0) == 0)
        #expect(chip.mmioRead(devAPICBase + 0xB0, size: 4, vcpu: 0, now: 0) == 0)  // EOI write-only
        chip.mmioWrite(devAPICBase + 0x80, size: 2, value: 0x70, vcpu: 0, now: 0)  // dropped
        chip.mmioWrite(devAPICBase + 0x84, size: 4, value: 0x70, vcpu: 0, now: 0)  // dropped
        #expect(chip.readTPR(vcpu: 0) == 0)
        chip.mmioWrite(devAPICBase + 0x80, size: 4, value: 0xFFFF_FF70, vcpu: 0, now: 0)
        #expect(chip.devAPICRead(0x80) == 0x70)
        chip.devAPICWrite(0x30, 0xFFFF_FFFF)          // version is read-only
        #expect(chip.devAPICRead(0x30) == 0x0005_0014)
    }

    @Test func x2APICModeMSRsAndTransitions() {
        let chip = IRQChip(vcpuCount: 2)
        #expect(chip.readMSR(0x802, vcpu: 1, now: 0) == nil)            // #GP in xAPIC mode
        #expect(!chip.writeMSR(0x1B, value: 0xFEE0_0400, vcpu: 1, now: 0))  // EXTD without EN
        #expect(!chip.writeMSR(0x1B, value: 0xFEE0_0A00, vcpu: 1, now: 0))  // reserved bit 9
        #expect(chip.writeMSR(0x1B, value: 0xFEE0_0C00, vcpu: 1, now: 0))
        #expect(chip.readMSR(0x802, vcpu: 1, now: 0) == 1)               // x2APIC ID
        #expect(chip.readMSR(0x80D, vcpu: 1, now: 0) == 0x2)             // LDR cluster 0, bit 1
        #expect(chip.readMSR(0x80E, vcpu: 1, now: 0) == nil)             // no DFR in x2APIC
        #expect(!chip.writeMSR(0x802, value: 5, vcpu: 1, now: 0))        // ID read-only
        #expect(chip.mmioRead(devAPICBase + 0x20, size: 4, vcpu: 1, now: 0) == 0xFFFF_FFFF)
        #expect(!chip.writeMSR(0x1B, value: 0xFEE0_0800, vcpu: 1, now: 0))  // x2APIC -> xAPIC
        #expect(chip.writeMSR(0x80F, value: 0x1FF, vcpu: 1, now: 0))
        #expect(chip.writeMSR(0x83F, value: 0x55, vcpu: 1, now: 0))      // SELF IPI
        #expect(chip.pendingInterrupt(vcpu: 1, now: 0) == 0x55)
        // 64-bit ICR to x2APIC ID 0 (an xAPIC-mode target, ID 0).
        chip.devEnableAPIC(vcpu: 0)
        #expect(chip.writeMSR(0x830, value: 0x0000_0000_0000_0066, vcpu: 1, now: 0))
        #expect(chip.pendingInterrupt(vcpu: 0, now: 0) == 0x66)
        #expect(chip.readMSR(0x830, vcpu: 1, now: 0) == 0x66)
        #expect(!chip.writeMSR(0x808, value: 1 << 32, vcpu: 1, now: 0))  // reserved high half
        #expect(chip.writeMSR(0x1B, value: 0xFEE0_0000, vcpu: 1, now: 0))  // disable is legal
    }
}
