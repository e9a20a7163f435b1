import Testing
import KVMABI
@testable import RefHypervisor

/// Privilege transitions and system instructions (SDM Vol. 3A ch. 5, 6; Vol. 2 SYSCALL/SYSRET).
@Suite struct SystemTests {
    @Test func syscallSysretRoundTrip() throws {
        let s = try Snippet(.long64, """
        mov ecx, 0xC0000080
        rdmsr
        or eax, 1
        wrmsr
        mov ecx, 0xC0000081
        xor eax, eax
        mov edx, 0x00100008
        wrmsr
        mov ecx, 0xC0000082
        mov rax, kentry
        xor edx, edx
        wrmsr
        mov ecx, 0xC0000084
        mov eax, 0x200
        wrmsr
        mov rcx, user
        mov r11, 0x202
        o64 sysret
        user:
        mov ebx, cs
        syscall
        after:
        kentry:
        mov edi, cs
        hlt
        """)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rbx == 0x23)            // STAR[63:48] + 16, RPL 3
        #expect(r.rdi == 0x08)
        #expect(r.r11 & 0x200 != 0)       // user RFLAGS saved
        #expect(r.rflags & 0x200 == 0)    // SFMASK cleared IF
        #expect(try s.vcpu.sregs().cs.dpl == 0)
    }

    @Test func sysretNonCanonicalRCXIsGP() throws {
        let s = try Snippet(.long64, """
        mov ecx, 0xC0000080
        rdmsr
        or eax, 1
        wrmsr
        mov rcx, 0x0000800000000000
        o64 sysret
        hlt
        """)
        #expect(try s.run() == .shutdown)   // #GP(0) with no IDT
    }

    @Test func cr0PagingWithoutPAEInLongModeIsGP() throws {
        let s = try Snippet(.prot32, """
        mov ecx, 0xC0000080
        rdmsr
        or eax, 0x100
        wrmsr
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        hlt
        """)
        #expect(try s.run() == .shutdown)
    }

    @Test func rdmsrUnknownIsGP() throws {
        let s = try Snippet(.long64, "mov ecx, 0x12345\nrdmsr\nhlt")
        #expect(try s.run() == .shutdown)
    }

    @Test func msrsThroughTheIoctls() throws {
        let s = try Snippet(.long64, "hlt")
        #expect(try s.vcpu.setMSRs([MSREntry(index: 0xC000_0081, data: 0x1234), MSREntry(index: 0x12345, data: 1), MSREntry(index: 0x277, data: 0)]) == 1)
        let m = try s.vcpu.msrs([0xC000_0081, 0x12345, 0x277])
        #expect(m == [MSREntry(index: 0xC000_0081, data: 0x1234)])
    }

    @Test func realModeInterruptThroughIVT() throws {
        // IVT entry 0x21 -> 0x1000:handler; INT pushes FLAGS, CS, IP and clears IF.
        let s = try Snippet(.real, """
        jmp start
        handler: mov bx, 0x55
        iret
        start:
        xor ax, ax
        mov es, ax
        mov word [es:0x84], handler
        mov word [es:0x86], 0x1000
        sti
        int 0x21
        pushf
        pop cx
        hlt
        """)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rbx & 0xFFFF == 0x55)
        #expect(r.rcx & 0x200 != 0)   // IF restored by IRET
    }

    @Test func ioplCheckForUserOut() throws {
        // CPL3 OUT with IOPL 0: the TSS I/O bitmap decides (SDM Vol. 1 19.5.2).
        // Bitmap at TSS+0x68 allows port 0x80 only; port 0x81 is #GP(0).
        let s = try Snippet(.long64, "hlt")
        var sr = try s.vcpu.sregs()
        sr.tr = Segment(base: 0x7000, limit: 0x68 + 0x20, selector: 0x30, type: 0xB, s: 0)
        s.ram.write([0x68, 0x00], at: 0x7066)
        s.ram.write([UInt8](repeating: 0xFF, count: 0x20), at: 0x7068)
        s.ram.write([0xFE], at: 0x7068 + 0x10)
        sr.cs = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x2B, type: 0xB, dpl: 3, l: 1, g: 1)
        sr.ss = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x23, type: 0x3, dpl: 3, db: 1, g: 1)
        try s.vcpu.setSregs(sr)
        let code = try Snippet.assemble("bits 64\nout 0x80, al\nout 0x81, al\nhlt")
        s.ram.write(code, at: Int(Snippet.codeBase))
        #expect(try s.run() == .io(IOExit(direction: .out, size: 1, port: 0x80, count: 1, data: [0])))
        #expect(try s.run() == .shutdown)
    }

    @Test func softwareBreakpointExit() throws {
        let s = try Snippet(.long64, "nop\nint3\nhlt")
        try s.vcpu.setGuestDebug(GuestDebug(control: GuestDebug.enable | GuestDebug.useSoftwareBreakpoints))
        let e = try s.run()
        #expect(e == .debug(exception: 3, pc: Snippet.codeBase + 1, dr6: 0xFFFF_0FF0, dr7: 0x400))
    }
}

@Suite struct CallGateTests {
    static func desc(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    @Test func userCallThroughGateToRing0() throws {
        let s = try Snippet(.long64, """
        mov ax, 0x28
        ltr ax
        push 0x23
        push 0x70000
        push 0x2
        push 0x1B
        push user
        iretq
        user:
        call far [rel gateptr]
        hlt
        gateptr: dq 0
        dw 0x3B
        kernel:
        mov ebx, cs
        mov rcx, [rsp + 8]
        mov rdx, [rsp + 24]
        hlt
        """)
        let code = try Snippet.assemble("bits 64\norg 0x10000\n" + "mov ax, 0x28\nltr ax\npush 0x23\npush 0x70000\npush 0x2\npush 0x1B\npush user\niretq\nuser:\ncall far [rel gateptr]\nhlt\ngateptr: dq 0\ndw 0x3B\nkernel:\nmov ebx, cs\nmov rcx, [rsp + 8]\nmov rdx, [rsp + 24]\nhlt\n")
        // kernel label offset: find "mov ebx, cs" (8C CB) in the code
        let k = (0..<code.count - 1).first { code[$0] == 0x8C && code[$0 + 1] == 0xCB }!
        let kernel = Snippet.codeBase + UInt64(k)
        var gdt: [UInt64] = [0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, 0x00AF_FA00_0000_FFFF, 0x00CF_F200_0000_FFFF]
        let tss: UInt64 = 0x7000
        gdt.append(0x67 | (tss & 0xFF_FFFF) << 16 | UInt64(0x89) << 40 | ((tss >> 24) & 0xFF) << 56)
        gdt.append(tss >> 32)
        gdt.append((kernel & 0xFFFF) | UInt64(0x08) << 16 | UInt64(0xEC) << 40 | ((kernel >> 16) & 0xFFFF) << 48)
        gdt.append(kernel >> 32)
        for (i, d) in gdt.enumerated() { s.ram.write(CallGateTests.desc(d), at: 0x6000 + 8 * i) }
        s.ram.write(CallGateTests.desc(0x90000), at: 0x7004)   // RSP0
        var sr = try s.vcpu.sregs()
        sr.gdt = DescriptorTable(base: 0x6000, limit: UInt16(8 * gdt.count - 1))
        try s.vcpu.setSregs(sr)
        s.ref.vmxTraceEnabled = true
        let e = try s.run()
        #expect(e == .hlt, "\(e) \(s.ref.takeVMXTrace().filter { $0.reason != .eptViolation })")
        let r = try s.regs()
        #expect(r.rbx == 0x08)
        #expect(r.rcx == 0x1B)          // caller CS pushed
        #expect(r.rdx == 0x23)          // caller SS pushed
        #expect(r.rsp == 0x90000 - 32)
    }
}

@Suite struct DebugRegisterTests {
    /// IDT at 0x5000 whose #DB gate points at `dbhandler` (the handler counts in R15, saves DR6
    /// in R14 and resumes with RF set in the frame).
    func snippet(_ body: String) throws -> Snippet {
        let src = """
        jmp start
        dbhandler:
        inc r15
        mov rax, dr6
        mov r14, rax
        or qword [rsp + 16], 0x10000
        iretq
        start:
        \(body)
        hlt
        """
        let s = try Snippet(.long64, src)
        let handler = Snippet.codeBase + 2
        var gate = [UInt8](repeating: 0, count: 16)
        gate[0] = UInt8(handler & 0xFF); gate[1] = UInt8((handler >> 8) & 0xFF); gate[2] = 8; gate[5] = 0x8E
        gate[6] = UInt8((handler >> 16) & 0xFF)
        s.ram.write(gate, at: 0x5000 + 16)
        var sr = try s.vcpu.sregs()
        sr.idt = DescriptorTable(base: 0x5000, limit: 0xFFF)
        try s.vcpu.setSregs(sr)
        return s
    }

    @Test func instructionBreakpointFaultsOnceWithRF() throws {
        let s = try snippet("""
        mov rax, target
        mov dr0, rax
        mov eax, 1
        mov dr7, rax
        target: mov ebx, 5
        xor eax, eax
        mov dr7, rax
        """)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.r15 == 1)            // RF suppressed the breakpoint on the IRET back
        #expect(r.r14 & 0xF == 1)      // DR6.B0
        #expect(r.rbx == 5)
    }

    @Test func dataWriteBreakpointTraps() throws {
        let s = try snippet("""
        mov eax, 0x3000
        mov dr1, rax
        mov eax, 0x00D00004
        mov dr7, rax
        mov dword [0x3002], 7
        mov ecx, [0x3000]
        xor eax, eax
        mov dr7, rax
        """)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.r15 == 1)            // write hit, the read does not (RW = 01)
        #expect(r.r14 & 0xF == 2)      // DR6.B1
    }
}

@Suite struct TaskSwitchTests {
    @Test func callTaskAndIretBack() throws {
        let s = try Snippet(.prot32, """
        mov ax, 0x18
        ltr ax
        call 0x20:0
        mov ecx, 0x55
        hlt
        task2:
        mov [0x3000], ebx
        iretd
        """)
        let code = try Snippet.assemble("bits 32\norg 0x10000\nmov ax, 0x18\nltr ax\ncall 0x20:0\nmov ecx, 0x55\nhlt\ntask2:\n")
        let task2 = Snippet.codeBase + UInt64(code.count)
        func tssDesc(_ base: UInt64) -> UInt64 { 0x67 | (base & 0xFF_FFFF) << 16 | UInt64(0x89) << 40 | ((base >> 24) & 0xFF) << 56 }
        let gdt: [UInt64] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF, tssDesc(0x7000), tssDesc(0x7100)]
        for (i, d) in gdt.enumerated() { s.ram.write(CallGateTests.desc(d), at: 0x6000 + 8 * i) }
        func put(_ off: Int, _ v: UInt32) { s.ram.write((0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }, at: 0x7100 + off) }
        put(0x20, UInt32(task2)); put(0x24, 2); put(0x34, 0x1234); put(0x38, 0x80000)
        put(0x4C, 0x08); for off in [0x48, 0x50, 0x54, 0x58, 0x5C] { put(off, 0x10) }
        var sr = try s.vcpu.sregs()
        sr.gdt = DescriptorTable(base: 0x6000, limit: UInt16(8 * gdt.count - 1))
        try s.vcpu.setSregs(sr)
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rcx == 0x55)
        #expect(s.ram.read(at: 0x3000, count: 4) == [0x34, 0x12, 0, 0])
        #expect(s.ram.read(at: 0x7100, count: 2) == [0x18, 0])            // back link
        #expect(try s.vcpu.sregs().tr.selector == 0x18)
        #expect(s.ref.takeVMXTrace().filter { $0.reason == .taskSwitch }.count == 2)
    }
}

@Suite struct GuestDebugTests {
    @Test func hardwareBreakpointExitsToUserspace() throws {
        let s = try Snippet(.long64, "nop\nnop\nmov eax, 1\nhlt")
        var regs = [UInt64](repeating: 0, count: 8)
        regs[0] = Snippet.codeBase + 2
        regs[7] = 0x1   // L0, execute
        try s.vcpu.setGuestDebug(GuestDebug(control: GuestDebug.enable | GuestDebug.useHardwareBreakpoints, debugreg: regs))
        let e = try s.run()
        #expect(e == .debug(exception: 1, pc: Snippet.codeBase + 2, dr6: 0xFFFF_0FF1, dr7: 1))
        try s.vcpu.setGuestDebug(GuestDebug())
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rax == 1)
    }

    @Test func singleStepExits() throws {
        let s = try Snippet(.long64, "nop\nnop\nhlt")
        try s.vcpu.setGuestDebug(GuestDebug(control: GuestDebug.enable | GuestDebug.singleStep))
        #expect(try s.run() == .debug(exception: 1, pc: Snippet.codeBase + 1, dr6: 0xFFFF_4FF0, dr7: 0x400))
    }
}
