import Testing
import KVMABI
@testable import RefHypervisor

/// VM exits, their qualifications, and the KVM exits userspace sees.
@Suite struct ExitTests {
    @Test func outLeavesRIPUntilNextRun() throws {
        // kvm_fast_pio_out: RIP is advanced by complete_fast_pio_out on the next KVM_RUN.
        let s = try Snippet(.long64, "mov eax, 0x1234\nout 0x80, ax\nhlt")
        s.ref.vmxTraceEnabled = true
        let e = try s.run()
        #expect(e == .io(IOExit(direction: .out, size: 2, port: 0x80, count: 1, data: [0x34, 0x12])))
        #expect(try s.regs().rip == Snippet.codeBase + 5)
        let io = s.ref.takeVMXTrace().last
        #expect(io?.reason == .ioInstruction)
        #expect(io?.qualification == 0x0080_0041)   // size-1 = 1, immediate (bit 6), port 0x80
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rip == Snippet.codeBase + 5 + 3 + 1)
    }

    /// IOExit keeps up to 8 data bytes inline and longer data in an array; both read back
    /// as the same `data`, and `value`/`dataCount` agree with it.
    @Test func ioExitDataInlineAndSpilled() {
        let short = IOExit(direction: .out, size: 4, port: 0xE0, count: 1, data: [1, 2, 3, 4])
        #expect(short.data == [1, 2, 3, 4])
        #expect(short.value == 0x0403_0201)
        #expect(short.dataCount == 4)
        let byValue = IOExit(direction: .out, size: 2, port: 0xE0, count: 1, value: 0xAABB_CCDD, byteCount: 2)
        #expect(byValue.data == [0xDD, 0xCC])   // bytes above byteCount are not data
        #expect(byValue == IOExit(direction: .out, size: 2, port: 0xE0, count: 1, data: [0xDD, 0xCC]))
        #expect(byValue != IOExit(direction: .out, size: 2, port: 0xE0, count: 1, data: [0xDD, 0xCD]))
        let long = IOExit(direction: .out, size: 4, port: 0xE0, count: 3, data: Array(1...12))
        #expect(long.data == Array(1...12))
        #expect(long.dataCount == 12)
        #expect(long.value == 0x0807_0605_0403_0201)
        var changed = long
        changed.data = [9]
        #expect(changed.data == [9] && changed.dataCount == 1 && changed.value == 9)
        #expect(IOExit(direction: .in, size: 1, port: 0x60, count: 1, data: []).dataCount == 0)
    }

    @Test func inCompletesOnNextRun() throws {
        let s = try Snippet(.long64, "mov dx, 0x3f8\nmov rax, -1\nin eax, dx\nhlt")
        s.ref.vmxTraceEnabled = true
        let e = try s.run()
        #expect(e == .io(IOExit(direction: .in, size: 4, port: 0x3F8, count: 1, data: [])))
        #expect(s.ref.takeVMXTrace().last?.qualification == 0x03F8_000B)   // size 4, IN, DX
        s.vcpu.completeIO([1, 2, 3, 4])
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rax == 0x0403_0201)   // 32-bit IN zero-extends
    }

    @Test func out7EQuirkAdvancesRIP() throws {
        let s = try Snippet(.long64, "out 0x7e, al\nhlt")
        _ = try s.run()
        #expect(try s.regs().rip == Snippet.codeBase + 2)
    }

    @Test func mmioReadThenMisconfig() throws {
        let s = try Snippet(.long64, "mov eax, [0x30000000]\nmov ebx, [0x30000004]\nmov dword [0x30000008], 0x55\nhlt", ramSize: 0x100000)
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .mmio(MMIOExit(physicalAddress: 0x3000_0000, length: 4, isWrite: false, data: [])))
        let v = s.ref.takeVMXTrace().last
        #expect(v?.reason == .eptViolation)
        #expect(v?.guestPhysicalAddress == 0x3000_0000)
        #expect(v!.qualification & 0x3F == 0x1)     // data read, no EPT permissions
        s.vcpu.completeMMIORead([0xAA, 0xBB, 0xCC, 0xDD])
        #expect(try s.run() == .mmio(MMIOExit(physicalAddress: 0x3000_0004, length: 4, isWrite: false, data: [])))
        #expect(s.ref.takeVMXTrace().last?.reason == .eptMisconfig)   // KVM's MMIO SPTE
        s.vcpu.completeMMIORead([1, 0, 0, 0])
        let w = try s.run()
        #expect(w == .mmio(MMIOExit(physicalAddress: 0x3000_0008, length: 4, isWrite: true, data: [0x55, 0, 0, 0])))
        // MMIO writes are completed (RIP advanced) before the exit.
        #expect(try s.regs().rip == Snippet.codeBase + 7 + 7 + 11)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rax == 0xDDCC_BBAA)
        #expect(r.rbx == 1)
        let st = try s.vcpu.statistics()
        #expect(st["mmio_exits"] == 3)
    }

    @Test func readOnlySlotWriteExitsAsMMIO() throws {
        let s = try Snippet(.long64, "mov al, [0x200000]\nmov byte [0x200000], 7\nhlt")
        let rom = try s.vm.allocateGuestMemory(size: 0x1000)
        rom.fill(0x5A)
        try s.vm.setUserMemoryRegion(MemoryRegion(slot: 1, flags: .readOnly, guestPhysicalAddress: 0x200000, memorySize: 0x1000, userspaceAddress: rom.hostAddress))
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .mmio(MMIOExit(physicalAddress: 0x200000, length: 1, isWrite: true, data: [7])))
        let v = s.ref.takeVMXTrace().last
        #expect(v?.reason == .eptViolation)
        #expect(v!.qualification & 0x3F == 0b101_010)   // write; entry readable + executable
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rax & 0xFF == 0x5A)
    }

    @Test func hltWithoutIrqchip() throws {
        let s = try Snippet(.long64, "nop\nhlt\nnop")
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rip == Snippet.codeBase + 2)
        #expect(try s.vcpu.statistics()["halt_exits"] == 1)
    }

    @Test func cpuidHandledInKernel() throws {
        let s = try Snippet(.long64, "xor eax, eax\ncpuid\nhlt")
        try s.vcpu.setCPUID(try s.hv.supportedCPUID())
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rbx == 0x756E_6547 && r.rdx == 0x4965_6E69 && r.rcx == 0x6C65_746E)   // GenuineIntel
        #expect(s.ref.takeVMXTrace().contains { $0.reason == .cpuid && $0.outcome == VMXTraceRecord.handledInKernel })
    }

    @Test func movCR8LoweringTPRExitsSetTPR() throws {
        // Linux 6.1 vmx.c handle_cr, case 8: no in-kernel LAPIC and cr8_prev > cr8 ->
        // KVM_EXIT_SET_TPR after the MOV completed; raising the TPR stays in the kernel.
        let s = try Snippet(.long64, "mov eax, 5\nmov cr8, rax\nmov eax, 2\nmov cr8, rax\nnop\nhlt")
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .setTPR)
        #expect(try s.regs().rip == Snippet.codeBase + 18)
        #expect(s.ref.takeVMXTrace().contains { $0.reason == .crAccess && $0.qualification == 0x08 && $0.outcome == "KVM_EXIT_SET_TPR" })
        #expect(try s.run() == .hlt)
    }

    /// The engine's CPUID plus XSAVE (1:ECX[26]) and leaf 0DH for x87|SSE|AVX, with the
    /// static EBX KVM_GET_SUPPORTED_CPUID reports (the size for every supported feature).
    static func xsaveTable(_ s: Snippet) throws -> [CPUIDEntry] {
        var table = try s.hv.supportedCPUID().filter { $0.function != 0 }.map { e in
            var e = e
            if e.function == 1 { e.ecx |= 1 << 26 }
            return e
        }
        table.append(CPUIDEntry(function: 0, eax: 0xD, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69))
        table.append(CPUIDEntry(function: 0xD, index: 0, flags: CPUIDEntry.significantIndex, eax: 7, ebx: 832, ecx: 832, edx: 0))
        table.append(CPUIDEntry(function: 0xD, index: 2, flags: CPUIDEntry.significantIndex, eax: 256, ebx: 576, ecx: 0, edx: 0))
        return table
    }

    @Test func cpuidLeafDEBXFollowsXCR0() throws {
        // kvm_update_cpuid_runtime: CPUID.(0DH,0).EBX = xstate_required_size(xcr0); XCR0 = 1
        // after reset (576, whatever the table's static EBX says), 832 once XSETBV enabled
        // AVX; ECX stays the all-features size. CPUID.1:ECX.OSXSAVE follows CR4.OSXSAVE.
        let s = try Snippet(.long64, """
            mov eax, 0xD
            xor ecx, ecx
            cpuid
            mov r8, rbx
            mov r9, rcx
            mov rax, cr4
            bts rax, 18
            mov cr4, rax
            mov eax, 1
            cpuid
            mov r10, rcx
            mov eax, 7
            xor edx, edx
            xor ecx, ecx
            xsetbv
            mov eax, 0xD
            xor ecx, ecx
            cpuid
            mov r11, rbx
            xor ecx, ecx
            xgetbv
            hlt
            """)
        try s.vcpu.setCPUID(try Self.xsaveTable(s))
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.r8 == 576)
        #expect(r.r9 == 832)
        #expect(r.r10 & (1 << 27) != 0)
        #expect(r.r11 == 832)
        #expect(r.rax == 7 && r.rdx == 0)
        #expect(s.ref.takeVMXTrace().contains { $0.reason == .xsetbv })
    }

    @Test func xsetbvRejectsInvalidXCR0() throws {
        // __kvm_set_xcr: AVX without SSE is #GP(0); here the #GP has no IDT and ends in a
        // triple fault. Without CR4.OSXSAVE, XSETBV is #UD (also a triple fault).
        for (setup, expected) in [("bts rax, 18\nmov cr4, rax\nmov eax, 5", Exit.shutdown),
                                  ("bts rax, 18\nmov cr4, rax\nmov eax, 3", Exit.hlt),
                                  ("mov eax, 3", Exit.shutdown)] {
            let s = try Snippet(.long64, "mov rax, cr4\n\(setup)\nxor edx, edx\nxor ecx, ecx\nxsetbv\nhlt")
            try s.vcpu.setCPUID(try Self.xsaveTable(s))
            #expect(try s.run() == expected, "\(setup)")
        }
    }

    @Test func tscAuxNeedsRDTSCPOrRDPIDInGuestCPUID() throws {
        // Linux 6.1 x86.c __kvm_set_msr (MSR_TSC_AUX): #GP without guest RDTSCP/RDPID;
        // here the #GP has no IDT to go to, so it ends in a triple fault.
        let code = "mov ecx, 0xC0000103\nxor edx, edx\nmov eax, 1\nwrmsr\nhlt"
        let with = try Snippet(.long64, code)
        try with.vcpu.setCPUID(try with.hv.supportedCPUID())
        #expect(try with.run() == .hlt)
        let without = try Snippet(.long64, code)
        try without.vcpu.setCPUID(try without.hv.supportedCPUID().map { e in
            var e = e
            if e.function == 0x8000_0001 { e.edx &= ~(UInt32(1) << 27) }
            return e
        })
        #expect(try without.run() == .shutdown)
    }

    @Test func vmcallUnknownHypercall() throws {
        let s = try Snippet(.long64, "mov eax, 0x1234\nvmcall\nhlt")
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rax == UInt64(bitPattern: -1000))   // -KVM_ENOSYS
    }

    @Test func immediateExit() throws {
        let s = try Snippet(.long64, "hlt")
        s.vcpu.immediateExit = true
        #expect(try s.run() == .intr)
        #expect(try s.regs().rip == Snippet.codeBase)
    }

    @Test func irqWindowAndKVMInterrupt() throws {
        // IDT at 0x5000 with vector 0x30 -> handler that sets EBX and IRETQs.
        let s = try Snippet(.long64, """
        jmp start
        handler: mov ebx, 0x77
        iretq
        start: cli
        nop
        sti
        nop
        nop
        hlt
        """)
        let handler = Snippet.codeBase + 2
        var gate = [UInt8](repeating: 0, count: 16)
        gate[0] = UInt8(handler & 0xFF); gate[1] = UInt8((handler >> 8) & 0xFF)
        gate[2] = 8; gate[5] = 0x8E; gate[6] = UInt8((handler >> 16) & 0xFF); gate[7] = UInt8((handler >> 24) & 0xFF)
        s.ram.write(gate, at: 0x5000 + 0x30 * 16)
        var sr = try s.vcpu.sregs()
        sr.idt = DescriptorTable(base: 0x5000, limit: 0xFFF)
        try s.vcpu.setSregs(sr)
        try s.vcpu.run(budget: RunBudget(wallClockNanoseconds: 0, instructions: 2))   // jmp, cli
        #expect(!s.vcpu.readyForInterruptInjection)
        s.vcpu.requestInterruptWindow = true
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .irqWindowOpen)
        // STI shadow: the window opens after the instruction following STI.
        #expect(try s.regs().rip == Snippet.codeBase + 2 + 5 + 2 + 4)
        #expect(s.vcpu.readyForInterruptInjection && s.vcpu.ifFlag)
        #expect(s.ref.takeVMXTrace().last?.reason == .interruptWindow)
        s.vcpu.requestInterruptWindow = false
        try s.vcpu.interrupt(vector: 0x30)
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rbx == 0x77)
        let st = try s.vcpu.statistics()
        #expect(st["irq_injections"] == 1)
        #expect(st["request_irq_exits"] == 1)
        #expect(st["irq_window_exits"] == 1)
    }

    @Test func resetState() throws {
        let vm = try RefHypervisor().createVM()
        let v = try vm.createVCPU(id: 0)
        let r = try v.regs(), s = try v.sregs()
        #expect(r.rip == 0xFFF0 && r.rflags == 2 && r.rdx == 0x600)
        #expect(s.cs.selector == 0xF000 && s.cs.base == 0xFFFF_0000)
        #expect(s.cr0 == 0x6000_0010)
    }
}

@Suite struct SplitAccessTests {
    @Test func mmioReadAcrossPagesIsTwoFragments() throws {
        // A 4-byte read at the last 2 bytes of RAM page 0x2FFFF000... spanning into MMIO at 0x30000000.
        let s = try Snippet(.long64, "mov eax, [0x2FFFFFFE]\nhlt", ramSize: 0x100000)
        // RAM only to 1 MiB: both pages are MMIO here -> two exits of 2 bytes each.
        #expect(try s.run() == .mmio(MMIOExit(physicalAddress: 0x2FFF_FFFE, length: 2, isWrite: false, data: [])))
        s.vcpu.completeMMIORead([0x11, 0x22])
        #expect(try s.run() == .mmio(MMIOExit(physicalAddress: 0x3000_0000, length: 2, isWrite: false, data: [])))
        s.vcpu.completeMMIORead([0x33, 0x44])
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rax == 0x4433_2211)
    }
}

@Suite struct IoctlRuleTests {
    @Test func setSregsRejectsInconsistentLongMode() throws {
        let vm = try RefHypervisor().createVM()
        let v = try vm.createVCPU(id: 0)
        var s = try v.sregs()
        s.efer = 0x500; s.cr0 = 0x8000_0011; s.cr4 = 0   // LME+LMA+PG without PAE
        do { try v.setSregs(s); Issue.record("accepted") } catch { #expect(error.errno == Errno.EINVAL) }
        s = try v.sregs()
        s.efer = 0x400                                    // LMA without paging
        do { try v.setSregs(s); Issue.record("accepted") } catch { #expect(error.errno == Errno.EINVAL) }
    }

    @Test func vcpuEventsValidation() throws {
        let vm = try RefHypervisor().createVM()
        let v = try vm.createVCPU(id: 0)
        var e = VCPUEvents()
        e.flags = 0x40   // unknown flag
        do { try v.setVCPUEvents(e); Issue.record("accepted") } catch { #expect(error.errno == Errno.EINVAL) }
        e = VCPUEvents()
        e.exception.injected = 1; e.exception.nr = 2   // NMI vector as an exception
        do { try v.setVCPUEvents(e); Issue.record("accepted") } catch { #expect(error.errno == Errno.EINVAL) }
        let got = try v.vcpuEvents()
        #expect(got.flags & (VCPUEvents.validNMIPending | VCPUEvents.validShadow) != 0)
    }

    @Test func interruptBitmapRoundTrip() throws {
        let vm = try RefHypervisor().createVM()
        let v = try vm.createVCPU(id: 0)
        try v.interrupt(vector: 0x41)
        let s = try v.sregs()
        #expect(s.interruptBitmap[1] == 1 << 1)
        #expect(try v.vcpuEvents().interrupt.injected == 1)
    }

    @Test func capabilitiesAndIdentity() throws {
        let hv = RefHypervisor()
        #expect(hv.identity.implementation == "ref")
        #expect(hv.identity.device == "(software)")
        #expect(try hv.apiVersion() == 12)
        #expect(hv.checkExtension(.readonlyMem) == 1)
        #expect(hv.checkExtension(.immediateExit) == 1)
        #expect(hv.checkExtension(.nrMemslots) == 32764)
        // KVM_GET/SET_XSAVE and KVM_GET_XSAVE2 are implemented (RefVCPU+FPUState.swift):
        // XSAVE2 is the buffer size, at least sizeof(struct kvm_xsave).
        #expect(hv.checkExtension(.xsave) == 1)
        #expect(hv.checkExtension(.xsave2) == 4096)
        // KVM_SET_GSI_ROUTING (Devices/GSIRouting.swift): KVM_MAX_IRQ_ROUTES.
        #expect(hv.checkExtension(.irqRouting) == 4096)
        let cpuid = try hv.supportedCPUID()
        let ext = cpuid.first { $0.function == 0x8000_0001 }!
        #expect(ext.edx & (1 << 29) != 0 && ext.edx & (1 << 20) != 0)   // LM, NX
    }
}

@Suite struct ShadowAtExitTests {
    @Test func stiShadowStillBlocksAtAnUnfinishedOut() throws {
        let s = try Snippet(.long64, "cli\nsti\nout 0x80, al\nnop\nhlt")
        #expect(try s.run() == .io(IOExit(direction: .out, size: 1, port: 0x80, count: 1, data: [0])))
        #expect(s.vcpu.ifFlag)
        #expect(!s.vcpu.readyForInterruptInjection)            // blocking by STI at the exit
        #expect(try s.vcpu.vcpuEvents().interrupt.shadow == 2)  // KVM_X86_SHADOW_INT_STI
        #expect(try s.run(1) == .timeout)                        // completes the OUT, runs nothing else
        #expect(s.vcpu.readyForInterruptInjection)
    }
}
