import Testing
@testable import RefHypervisor

// 8254 PIT (8254 datasheet), 1.193182 MHz input clock, counter 0 on IRQ0.
// Time for n input clocks = ceil(n * 1e9 / 1193182) ns.

@Suite struct DevicesPITTests {
    @Test func portsExistOnlyAfterCreatePIT() {
        let chip = IRQChip()
        #expect(chip.handlesPort(0x20) && chip.handlesPort(0x4D1))
        #expect(!chip.handlesPort(0x40) && !chip.handlesPort(0x43) && !chip.handlesPort(0x61))
        #expect(!chip.pitCreated)
        chip.createPIT()
        #expect(chip.pitCreated)
        #expect(chip.handlesPort(0x40) && chip.handlesPort(0x43))
        // Without KVM_PIT_SPEAKER_DUMMY port 0x61 is userspace's (i8254.c kvm_create_pit).
        #expect(!chip.handlesPort(0x61))
        let speaker = IRQChip()
        speaker.createPIT(speakerDummy: true)
        #expect(speaker.handlesPort(0x61))
        #expect(!chip.handlesPort(0x44))
        #expect(chip.nextDeadline() == nil)                        // unprogrammed: no timer
    }

    @Test func mode2RateGeneratorPeriodDrivesIRQ0() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.createPIT()
        chip.devOut(0x43, 0x34)                                    // ch0, lo/hi, mode 2
        chip.devOut(0x40, 0xA9); chip.devOut(0x40, 0x04)           // 1193 clocks
        #expect(chip.nextDeadline() == 999_848)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 999_847) == nil)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 999_848) == 0x20)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 999_900) == 0x20)
        chip.devOut(0x20, 0x20, now: 1_000_000)
        #expect(chip.nextDeadline() == 1_999_695)                  // 2 * 1193 clocks, no drift
        #expect(chip.pendingInterrupt(vcpu: 0, now: 1_999_695) == 0x20)
    }

    @Test func counterLatchFreezesReadback() {
        let chip = IRQChip()
        chip.createPIT()
        chip.devOut(0x43, 0x34)
        chip.devOut(0x40, 0xE8); chip.devOut(0x40, 0x03)           // 1000
        chip.devOut(0x43, 0x00, now: 83_810)                       // latch after 100 clocks
        #expect(chip.devIn(0x40, now: 200_000) == 0x84)            // 900 = 0x384
        #expect(chip.devIn(0x40, now: 250_000) == 0x03)
        // Unlatched reads follow the live count: 238 clocks at 200 us -> 762 = 0x2FA.
        #expect(chip.devIn(0x40, now: 200_000) == 0xFA)
        #expect(chip.devIn(0x40, now: 200_000) == 0x02)
    }

    @Test func readBackStatusAndBCDCounting() {
        let chip = IRQChip()
        chip.createPIT()
        chip.devOut(0x43, 0xB1)                                    // ch2, lo/hi, mode 0, BCD
        chip.devOut(0x43, 0xE8)                                    // read-back status of ch2
        // OUT low, null count (no count written yet), RW = 3, mode 0, BCD.
        #expect(chip.devIn(0x42) == 0x71)
        chip.devOut(0x42, 0x34); chip.devOut(0x42, 0x12)           // 1234 decimal
        #expect(chip.devIn(0x42, now: 28_496) == 0x00)             // 34 clocks later: 1200
        #expect(chip.devIn(0x42, now: 28_496) == 0x12)
        chip.devOut(0x43, 0xE8)
        #expect(chip.devIn(0x42) == 0x31)                          // count loaded: no null count
        // Read-back of count and status together: status comes first, then the count.
        chip.devOut(0x43, 0xC8, now: 28_496)
        #expect(chip.devIn(0x42) == 0x31)
        #expect(chip.devIn(0x42) == 0x00 && chip.devIn(0x42) == 0x12)
    }

    @Test func port61GatesCounter2AndShowsOUT() {
        let chip = IRQChip()
        chip.createPIT(speakerDummy: true)
        chip.devOut(0x61, 0x01)                                    // gate 2 on, speaker off
        chip.devOut(0x43, 0xB0)                                    // ch2, lo/hi, mode 0
        chip.devOut(0x42, 100); chip.devOut(0x42, 0, now: 0)
        #expect(chip.devIn(0x61, now: 83_809) & 0x21 == 0x01)      // OUT still low
        #expect(chip.devIn(0x61, now: 83_810) & 0x21 == 0x21)      // terminal count reached
        chip.devOut(0x61, 0x02)
        #expect(chip.devIn(0x61, now: 0) & 0x03 == 0x02)
    }

    @Test func mode0InterruptsOnceOnTerminalCount() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.createPIT()
        chip.devOut(0x43, 0x30)                                    // ch0, lo/hi, mode 0
        chip.devOut(0x40, 100); chip.devOut(0x40, 0)
        #expect(chip.nextDeadline() == 83_810)
        #expect(chip.acknowledgeInterrupt(vcpu: 0, now: 83_810) == 0x20)
        chip.devOut(0x20, 0x20)
        #expect(chip.nextDeadline() == nil)
        #expect(chip.pendingInterrupt(vcpu: 0, now: 10_000_000) == nil)
    }

    @Test func missedTicksAreReinjectedOnePerAck() {
        let chip = IRQChip()
        chip.devInitPICs()
        chip.createPIT()
        chip.devOut(0x43, 0x34)
        chip.devOut(0x40, 0xA9); chip.devOut(0x40, 0x04)           // 1193 clocks
        chip.advance(to: 3_000_000)                                 // three periods elapse
        var delivered = 0
        while chip.pendingInterrupt(vcpu: 0, now: 3_000_000) == 0x20 {
            _ = chip.acknowledgeInterrupt(vcpu: 0, now: 3_000_000)
            chip.devOut(0x20, 0x20, now: 3_000_000)                // EOI acks the PIT tick
            delivered += 1
            if delivered > 10 { break }
        }
        #expect(delivered == 3)
    }

    @Test func malformedAccessesNeverTrap() {
        let chip = IRQChip(vcpuCount: 2)
        chip.createPIT()
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        for i in 0..<20_000 {
            let r = next(), now = UInt64(i) * 1000
            let size = [-1, 0, 1, 2, 3, 4, 8, 16][Int(r % 8)]
            let port: UInt16 = [0x20, 0x21, 0xA0, 0xA1, 0x4D0, 0x4D1, 0x40, 0x41, 0x42, 0x43, 0x61][Int((r >> 8) % 11)]
            chip.portWrite(port, size: size, value: UInt32(truncatingIfNeeded: next()), now: now)
            _ = chip.portRead(port, size: size, now: now)
            let gpa = (r & 1 == 0 ? devAPICBase : devIOAPICBase) + (next() & 0xFFF)
            chip.mmioWrite(gpa, size: size, value: next(), vcpu: Int(r >> 3 & 1), now: now)
            _ = chip.mmioRead(gpa, size: size, vcpu: Int(r >> 5 & 1), now: now)
            _ = chip.writeMSR(0x800 + UInt32(next() & 0xFF), value: next(), vcpu: 1, now: now)
            _ = chip.writeMSR(0x1B, value: next(), vcpu: Int(r >> 9 & 1), now: now)
            _ = chip.setIRQLine(gsi: UInt32(next() % 30), level: r & 2 != 0, now: now)
            chip.signalMSI(address: next(), data: UInt32(truncatingIfNeeded: next()), now: now)
            _ = chip.acknowledgeInterrupt(vcpu: Int(r >> 11 & 1), now: now)
            _ = chip.pendingInterrupt(vcpu: 7, now: now)
            _ = chip.takePendingNMI(vcpu: 0)
            if let d = chip.nextDeadline(), d < now + 1_000_000 { chip.advance(to: d) }
        }
        #expect(chip.readMSR(0x1B, vcpu: 5, now: 0) == nil)        // unknown vCPU: not handled
        #expect(chip.readMSR(0x10, vcpu: 0, now: 0) == nil)
    }
}
