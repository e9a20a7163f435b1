import Testing
import KVMABI
@testable import RefHypervisor

/// NMIs, 32-bit privilege-changing interrupts, in-kernel HLT and other event paths.
@Suite struct EventTests {
    /// 64-bit snippet with an IDT at 0x5000; `gates` maps vectors to labels in the code.
    func snippet(_ body: String, gates: [UInt8: String], irqchip: Bool = false) throws -> Snippet {
        let s = try Snippet(.long64, body, irqchip: irqchip)
        let bin = try Snippet.assemble("bits 64\norg 0x10000\n" + body + "\n" + gates.values.map { "dq \($0)" }.joined(separator: "\n"))
        let tail = Array(bin.suffix(8 * gates.count))
        for (i, v) in gates.keys.enumerated() {
            let a = (0..<8).reduce(UInt64(0)) { $0 | UInt64(tail[8 * i + $1]) << (8 * $1) }
            var g = [UInt8](repeating: 0, count: 16)
            g[0] = UInt8(a & 0xFF); g[1] = UInt8((a >> 8) & 0xFF); g[2] = 8; g[5] = 0x8E; g[6] = UInt8((a >> 16) & 0xFF)
            s.ram.write(g, at: 0x5000 + 16 * Int(v))
        }
        var sr = try s.vcpu.sregs()
        sr.idt = DescriptorTable(base: 0x5000, limit: 0xFFF)
        try s.vcpu.setSregs(sr)
        return s
    }

    @Test func nmiIsMaskedUntilIret() throws {
        let s = try snippet("""
        jmp start
        nmi:
        inc r15
        out 0x80, al
        iretq
        start:
        out 0x81, al
        hlt
        """, gates: [2: "nmi"])
        #expect(try s.run() == .io(IOExit(direction: .out, size: 1, port: 0x81, count: 1, data: [0])))
        try s.vcpu.nmi()
        try s.vcpu.nmi()
        // First NMI: handler runs and exits at OUT 0x80 with NMIs masked.
        #expect(try s.run() == .io(IOExit(direction: .out, size: 1, port: 0x80, count: 1, data: [0])))
        #expect(try s.vcpuEvents().nmi.masked == 1)
        #expect(try s.vcpuEvents().nmi.pending == 1)
        // IRET unmasks: the second NMI is delivered, then the guest returns to HLT.
        #expect(try s.run() == .io(IOExit(direction: .out, size: 1, port: 0x80, count: 1, data: [0])))
        #expect(try s.run() == .hlt)
        #expect(try s.regs().r15 == 2)
        let st = try s.vcpu.statistics()
        #expect(st["nmi_injections"] == 2)
        #expect(st["nmi_window_exits"] == 1)
    }

    @Test func fetchFromMMIOIsEmulationFailure() throws {
        let s = try Snippet(.long64, "mov rax, 0x30000000\njmp rax")
        let e = try s.run()
        guard case .internalError(let sub, _) = e else { Issue.record("\(e)"); return }
        #expect(sub == InternalErrorSuberror.emulation)
    }

    @Test func inKernelHaltSkipsVirtualTime() throws {
        // LAPIC timer one-shot: divide 1, initial count 1_000_000 ns, vector 0x40; HLT until it fires.
        let s = try snippet("""
        jmp start
        timer:
        mov dword [rbx + 0xB0], 0
        inc r15
        iretq
        start:
        mov ebx, 0xFEE00000
        mov dword [rbx + 0xF0], 0x1FF
        mov dword [rbx + 0x3E0], 0xB
        mov dword [rbx + 0x320], 0x40
        mov dword [rbx + 0x380], 1000000
        sti
        hlt
        cli
        rdtsc
        out 0x80, al
        """, gates: [0x40: "timer"], irqchip: true)
        // Map the APIC page: the snippet's 1 GiB page covers only 0..1 GiB, add 3..4 GiB.
        s.ram.write([0x87, 0, 0, 0xC0, 0, 0, 0, 0], at: 0x2000 + 3 * 8)
        let e = try s.run()
        #expect(e == .io(IOExit(direction: .out, size: 1, port: 0x80, count: 1, data: [UInt8(truncatingIfNeeded: (try s.regs()).rax)])), "\(e)")
        let r = try s.regs()
        #expect(r.r15 == 1)
        let tsc = (r.rdx << 32) | (r.rax & 0xFFFF_FFFF)
        #expect(tsc >= 1_000_000)                     // virtual time skipped to the deadline
        #expect(s.ref.instructionsRetired < 1000)     // ... without executing instructions
        let st = try s.vcpu.statistics()
        #expect(st["halt_exits"] == 1)
        #expect(st["halt_wakeup"] == 1)
    }
}

extension Snippet {
    func vcpuEvents() throws -> VCPUEvents { try vcpu.vcpuEvents() }
}

@Suite struct ProtectedModePrivilegeTests {
    @Test func ring3IntThroughDPL3GateSwitchesToTSSStack() throws {
        let body = """
        mov ax, 0x28
        ltr ax
        push dword 0x23
        push dword 0x70000
        push dword 0x3002
        push dword 0x1B
        push dword user
        iretd
        user:
        int 0x80
        mov eax, cs
        out 0x80, al
        handler:
        mov ebx, [esp + 4]
        mov edx, [esp + 12]
        mov esi, [esp + 16]
        mov edi, esp
        iretd
        """
        let s = try Snippet(.prot32, body)
        let bin = try Snippet.assemble("bits 32\norg 0x10000\n" + body + "\ndd handler")
        let h = (0..<4).reduce(UInt64(0)) { $0 | UInt64(bin[bin.count - 4 + $1]) << (8 * $1) }
        func tss(_ base: UInt64) -> UInt64 { 0x67 | (base & 0xFF_FFFF) << 16 | UInt64(0x89) << 40 | ((base >> 24) & 0xFF) << 56 }
        let gdt: [UInt64] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00CF_FA00_0000_FFFF, 0x00CF_F200_0000_FFFF, tss(0x7000)]
        for (i, d) in gdt.enumerated() { s.ram.write(CallGateTests.desc(d), at: 0x6000 + 8 * i) }
        s.ram.write([0x00, 0x00, 0x09, 0x00, 0x10, 0x00], at: 0x7004)          // ESP0 = 0x90000, SS0 = 0x10
        let gate: UInt64 = (h & 0xFFFF) | UInt64(0x08) << 16 | UInt64(0xEE) << 40 | ((h >> 16) & 0xFFFF) << 48
        s.ram.write(CallGateTests.desc(gate), at: 0x5000 + 8 * 0x80)
        var sr = try s.vcpu.sregs()
        sr.gdt = DescriptorTable(base: 0x6000, limit: UInt16(8 * gdt.count - 1))
        sr.idt = DescriptorTable(base: 0x5000, limit: 0x7FF)
        try s.vcpu.setSregs(sr)
        let e = try s.run()
        #expect(e == .io(IOExit(direction: .out, size: 1, port: 0x80, count: 1, data: [0x1B])), "\(e)")
        let r = try s.regs()
        #expect(r.rbx == 0x1B)             // pushed CS
        #expect(r.rdx == 0x70000)          // pushed ESP
        #expect(r.rsi == 0x23)             // pushed SS
        #expect(r.rdi == 0x90000 - 20)     // handler stack from TSS.ESP0
        #expect(r.rsp == 0x70000)          // IRETD restored the ring-3 stack
        #expect(try s.vcpu.sregs().ss.selector == 0x23)
    }
}

@Suite struct SamePrivilegeIretTests {
    /// Evidence for the iret32 payload report: INT n / IRETD at CPL0 restores ESP exactly.
    @Test func intIretdRestoresESP() throws {
        let body = """
        mov esi, esp
        int 0x30
        mov edi, esp
        hlt
        handler:
        iretd
        """
        let s = try Snippet(.prot32, body)
        let bin = try Snippet.assemble("bits 32\norg 0x10000\n" + body + "\ndd handler")
        let h = (0..<4).reduce(UInt64(0)) { $0 | UInt64(bin[bin.count - 4 + $1]) << (8 * $1) }
        let gate: UInt64 = (h & 0xFFFF) | UInt64(0x08) << 16 | UInt64(0x8E) << 40 | ((h >> 16) & 0xFFFF) << 48
        s.ram.write(CallGateTests.desc(gate), at: 0x5000 + 8 * 0x30)
        var sr = try s.vcpu.sregs()
        sr.idt = DescriptorTable(base: 0x5000, limit: 0x7FF)
        try s.vcpu.setSregs(sr)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rdi == r.rsi)
        #expect(r.rsi == 0x80000)
    }
}

@Suite struct ApplicationProcessorTests {
    @Test func apWaitsForInitSipi() throws {
        let s = try Snippet(.long64, """
        mov ebx, 0xFEE00000
        mov dword [rbx + 0xF0], 0x1FF
        mov dword [rbx + 0x310], 0x01000000
        mov dword [rbx + 0x300], 0x00004500
        mov dword [rbx + 0x310], 0x01000000
        mov dword [rbx + 0x300], 0x00004608
        out 0x80, al
        """, irqchip: true)
        s.ram.write([0x87, 0, 0, 0xC0, 0, 0, 0, 0], at: 0x2000 + 3 * 8)
        let ap = try s.vm.createVCPU(id: 1)
        s.ram.write(try Snippet.assemble("bits 16\nmov ax, 0x1234\nout 0x81, al\n"), at: 0x8000)
        #expect(try ap.run(budget: RunBudget(wallClockNanoseconds: 0, instructions: 1000)) == .timeout)
        #expect(try s.run() == .io(IOExit(direction: .out, size: 1, port: 0x80, count: 1, data: [0])))
        // kvm_arch_vcpu_ioctl_run: the UNINITIALIZED AP takes the INIT and SIPI, then EAGAIN.
        #expect(throws: KVMError(errno: Errno.EAGAIN, operation: "KVM_RUN")) {
            try ap.run(budget: RunBudget(wallClockNanoseconds: 0, instructions: 1000))
        }
        #expect(try ap.run(budget: RunBudget(wallClockNanoseconds: 0, instructions: 1000)) == .io(IOExit(direction: .out, size: 1, port: 0x81, count: 1, data: [0x34])))
        let sr = try ap.sregs()
        #expect(sr.cs.selector == 0x0800 && sr.cs.base == 0x8000)
    }
}

@Suite struct AlignmentCheckTests {
    @Test func misalignedUserAccessWithACRaisesAC() throws {
        // CR0.AM + RFLAGS.AC at CPL3: a misaligned dword load is #AC(0); KVM intercepts #AC.
        let s = try Snippet(.long64, """
        mov rax, cr0
        or eax, 0x40000
        mov cr0, rax
        push 0x23
        push 0x70000
        push 0x40202
        push 0x1B
        push user
        iretq
        user:
        mov eax, [0x3000]
        mov ebx, [0x3001]
        hlt
        """)
        let gdt: [UInt64] = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00AF_FA00_0000_FFFF, 0x00CF_F200_0000_FFFF]
        for (i, d) in gdt.enumerated() { s.ram.write(CallGateTests.desc(d), at: 0x6000 + 8 * i) }
        var sr = try s.vcpu.sregs()
        sr.gdt = DescriptorTable(base: 0x6000, limit: UInt16(8 * gdt.count - 1))
        try s.vcpu.setSregs(sr)
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .shutdown)
        #expect(s.ref.takeVMXTrace().contains { $0.reason == .exceptionOrNMI && $0.vector == 17 })
    }
}
