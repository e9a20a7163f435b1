import Testing
import KVMABI
@testable import RefHypervisor

/// Guest state that a restore hands the engine (KVM_SET_LAPIC pages, KVM_SET_IRQCHIP states,
/// debug registers, XCRs, MP states) is input like any other: random values must give an errno or a state the
/// vCPU runs with, never a crash of the host process (issue 9, acceptance 5).
@Suite struct RestoredStateFuzzTests {
    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("500 random LAPIC pages, 8259, IOAPIC and PIT states, SREGS2 with PDPTEs, debug registers, XCRs, XSAVE and FPU images, kvm_run.cr8 and MP states: errno or a running vCPU")
    func randomRestores() throws {
        var g = SplitMix64(state: 0x1A91C)
        var accepted = 0
        for round in 0..<500 {
            let vm = try RefHypervisor().createVM()
            defer { vm.close() }
            try vm.createIRQChip()
            let ram = try vm.allocateGuestMemory(size: 0x10000)
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: ram.hostAddress))
            // in al, 40h / 41h / 42h (the restored counters, whatever their read state); sti; hlt; jmp $-1
            _ = ram.write([0xE4, 0x40, 0xE4, 0x41, 0xE4, 0x42, 0xFB, 0xF4, 0xEB, 0xFD], at: 0x1000)
            let vcpu = try vm.createVCPU(id: UInt32(round % 2))
            try vcpu.setCPUID(RefHypervisor().supportedCPUID())
            var s = try vcpu.sregs()
            s.cs = .realMode(selector: 0, code: true)
            try vcpu.setSregs(s)
            var r = Regs(); r.rip = 0x1000; r.rflags = 2
            try vcpu.setRegs(r)
            var page = LAPICState()
            for i in stride(from: 0, to: LAPICState.size, by: 8) {
                let v = g.next()
                for k in 0..<8 { page.regs[i + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
            }
            do { try vcpu.setLAPIC(page); accepted += 1 } catch {}
            try? vcpu.setDebugRegisters(DebugRegisters(db: [g.next(), g.next(), g.next(), g.next()],
                                                       dr6: g.next() & 0xFFFF_FFFF, dr7: g.next() & 0xFFFF_FFFF))
            try? vcpu.setXCRs(XCRs([XCR(index: UInt32(g.next() & 1), value: g.next())]))
            try? vcpu.setMPState(MPState(rawValue: UInt32(g.next() % 12)))
            var pic = PICState()
            pic.bytes = (0..<16).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            try? vm.setIRQChip(round % 3 == 0 ? .picMaster(pic) : .picSlave(pic))
            var io = IOAPICState()
            io.id = UInt32(truncatingIfNeeded: g.next()); io.ioregsel = UInt32(truncatingIfNeeded: g.next())
            io.irr = UInt32(truncatingIfNeeded: g.next()); io.baseAddress = g.next()
            io.redirection = (0..<24).map { _ in g.next() }
            try? vm.setIRQChip(.ioapic(io))
            if round % 2 == 0 { try? vm.createPIT2() }
            var pit = PITState2()
            for c in 0..<3 {
                var ch = PITChannelState()
                ch.count = UInt32(truncatingIfNeeded: g.next()); ch.mode = UInt8(truncatingIfNeeded: g.next())
                ch.rwMode = UInt8(truncatingIfNeeded: g.next()); ch.readState = UInt8(truncatingIfNeeded: g.next())
                ch.writeState = UInt8(truncatingIfNeeded: g.next()); ch.gate = UInt8(truncatingIfNeeded: g.next())
                ch.bcd = UInt8(truncatingIfNeeded: g.next()); ch.countLatched = UInt8(truncatingIfNeeded: g.next())
                pit.channels[c] = ch
            }
            pit.flags = UInt32(truncatingIfNeeded: g.next())
            try? vm.setPIT2(pit)
            if var s2 = try? vcpu.sregs2() {
                s2.flags = g.next() & 3
                s2.pdptrs = (0..<4).map { _ in g.next() }
                if g.next() & 1 == 0 { s2.sregs.cr0 |= 0x8000_0001; s2.sregs.cr4 |= 0x20; s2.sregs.cr3 = g.next() & 0xFFFF_F000 }
                try? vcpu.setSregs2(s2)
            }
            // An XSAVE image as another backend may hand over: random bytes, the header
            // cleared in most rounds (so it passes validation), random XSTATE_BV bits.
            var x = XSaveState(region: (0..<(XSaveState.size / 8)).flatMap { _ in
                let v = g.next(); return (0..<8).map { UInt8(truncatingIfNeeded: v >> UInt64(8 * $0)) } })
            if round % 4 != 0 { for i in 520..<576 { x.region[i] = 0 } }
            x.xstateBV = g.next() & (round % 3 == 0 ? ~0 : 0x2FF)
            try? vcpu.setXSave(x)
            if round % 5 == 0 {
                var f = FPU()
                f.fpr = (0..<128).map { _ in UInt8(truncatingIfNeeded: g.next()) }
                f.fcw = UInt16(truncatingIfNeeded: g.next()); f.fsw = UInt16(truncatingIfNeeded: g.next())
                f.ftwx = UInt8(truncatingIfNeeded: g.next())
                try? vcpu.setFPU(f)
            }
            vcpu.cr8 = g.next() & (round % 5 == 1 ? ~0 : 0xF)
            _ = try? vcpu.run(budget: RunBudget(wallClockNanoseconds: 50_000_000, instructions: 20_000))
            _ = try vcpu.lapic()
            _ = try vcpu.xsave()
        }
        #expect(accepted == 500, "KVM_SET_LAPIC takes any page in xAPIC mode")
    }

    @Test("300 random MSR filters, userspace MSR and hypercall masks, machine checks, TSC rates and guest MSR accesses: errno, an exit or a running vCPU")
    func randomControls() throws {
        var g = SplitMix64(state: 0xC0DE)
        var userExits = 0
        for round in 0..<300 {
            let vm = try RefHypervisor().createVM()
            defer { vm.close() }
            if round % 2 == 0 { try vm.createIRQChip() }
            let ram = try vm.allocateGuestMemory(size: 0x10000)
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: ram.hostAddress))
            // rdmsr; wrmsr; vmcall; mov ecx, ebx; rdmsr; hlt (the IVT is zero: a fault runs off into RAM until the budget ends)
            _ = ram.write([0x0F, 0x32, 0x0F, 0x30, 0x0F, 0x01, 0xC1, 0x66, 0x89, 0xD9, 0x0F, 0x32, 0xF4], at: 0x1000)
            let vcpu = try vm.createVCPU(id: 0)
            try vcpu.setCPUID(RefHypervisor().supportedCPUID())
            var s = try vcpu.sregs()
            s.cs = .realMode(selector: 0, code: true)
            s.cr4 = g.next() & 0x40          // CR4.MCE, or not
            try? vcpu.setSregs(s)
            var r = Regs(); r.rip = 0x1000; r.rflags = 2
            r.rax = g.next(); r.rcx = g.next() & (round % 3 == 0 ? 0x8FF : 0xFFFF_FFFF); r.rdx = g.next(); r.rbx = g.next()
            try vcpu.setRegs(r)
            let ranges = (0..<Int(g.next() % 4)).map { _ in
                MSRFilter.Range(flags: UInt32(g.next() & 7), base: UInt32(truncatingIfNeeded: g.next()) & (g.next() & 1 == 0 ? 0xFFF : ~0),
                                nmsrs: UInt32(g.next() % 0x3200), bitmap: (0..<Int(g.next() % 64)).map { _ in UInt8(truncatingIfNeeded: g.next()) })
            }
            try? vm.setMSRFilter(MSRFilter(flags: UInt32(g.next() & 3), ranges: ranges))
            try? vm.enableCap(EnableCap(.x86UserSpaceMsr, args: [g.next() & 0xF]))
            try? vm.enableCap(EnableCap(.exitHypercall, args: [g.next() & 0x1000]))
            try? vcpu.setupMCE(g.next() & 0x10_05FF)
            try? vcpu.setMCE(MachineCheckEvent(bank: UInt8(truncatingIfNeeded: g.next() % 40), status: g.next(), addr: g.next(),
                                               misc: g.next(), mcgStatus: g.next() & 7))
            try? vcpu.setTSCKHz(UInt32(truncatingIfNeeded: g.next()))
            try? vcpu.setDeviceAttribute(.tscOffset, value: g.next())
            for _ in 0..<6 {
                guard let e = try? vcpu.run(budget: RunBudget(wallClockNanoseconds: 50_000_000, instructions: 5_000)) else { break }
                switch e {
                case .rdmsr, .wrmsr: userExits += 1; vcpu.completeMSR(error: g.next() & 1 == 0, data: g.next())
                case .hypercall: userExits += 1; vcpu.completeHypercall(ret: g.next())
                default: break
                }
            }
            _ = try vcpu.regs()
        }
        #expect(userExits > 0, "some random setups sent MSR or hypercall exits to userspace")
    }
}
