import Testing
import KVMABI
@testable import RefHypervisor

/// Less common instructions, checked against the SDM's definitions.
@Suite struct LegacyInstructionTests {
    func run32(_ asm: String) throws -> Regs {
        let s = try Snippet(.prot32, asm + "\nhlt\n")
        let e = try s.run()
        #expect(e == .hlt, "\(e)")
        return try s.regs()
    }

    @Test func aaaAasAamAad() throws {
        // AAA: AL=0x0F after ADD -> AX += 0x106, AL &= 0x0F: AX 0x000F -> 0x0105, CF=AF=1.
        // AAM 10: AL=0x4F (79) -> AH=7, AL=9. AAD 10: AX=0x0709 -> AL=79 (0x4F), AH=0.
        let r = try run32("""
        mov eax, 0x0008
        add al, 0x07
        aaa
        setc bl
        mov ecx, eax
        mov eax, 0x4F
        aam
        mov edx, eax
        mov eax, 0x0709
        aad
        """)
        #expect(r.rcx & 0xFFFF == 0x0105)
        #expect(r.rbx & 0xFF == 1)
        #expect(r.rdx & 0xFFFF == 0x0709)
        #expect(r.rax & 0xFFFF == 0x004F)
    }

    @Test func dasAfterBcdSubtract() throws {
        // 0x35 - 0x47 = 0xEE -> DAS -> 0x88 with CF=1 (BCD 35 - 47 = -12 -> 88 borrow).
        let r = try run32("mov al, 0x35\nsub al, 0x47\ndas\nsetc bl")
        #expect(r.rax & 0xFF == 0x88)
        #expect(r.rbx & 0xFF == 1)
    }

    @Test func xlatLoopJcxz() throws {
        let r = try run32("""
        mov dword [0x3000], 0x44332211
        mov ebx, 0x3000
        mov al, 2
        xlatb
        mov edx, eax
        mov ecx, 5
        xor esi, esi
        l1: inc esi
        loop l1
        xor ecx, ecx
        jecxz skip
        mov esi, 99
        skip:
        """)
        #expect(r.rdx & 0xFF == 0x33)
        #expect(r.rsi == 5)
    }

    @Test func enterNestedFrames() throws {
        // ENTER 8, 2 at EBP=0x1000: pushes EBP, copies one frame pointer, pushes the new frame.
        let r = try run32("""
        mov esp, 0x80000
        mov ebp, 0x70000
        mov dword [0x6FFFC], 0xAAAA
        enter 8, 2
        mov eax, [esp + 8]
        mov ebx, [esp + 12]
        mov ecx, [esp + 16]
        """)
        #expect(r.rbp == 0x7FFFC)                 // frame = ESP after pushing EBP
        #expect(r.rsp == 0x7FFFC - 8 - 8)         // two more pointers, then 8 bytes of locals
        #expect(r.rax == 0x7FFFC)                 // the new frame pointer
        #expect(r.rbx == 0xAAAA)                  // copied from [EBP - 4]
        #expect(r.rcx == 0x70000)                 // the old EBP
    }

    @Test func boundRaisesBR() throws {
        let s = try Snippet(.prot32, "mov dword [0x3000], 10\nmov dword [0x3004], 20\nmov eax, 21\nbound eax, [0x3000]\nhlt")
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .shutdown)         // #BR with no IDT
    }

    @Test func larLslVerrVerw() throws {
        // Snippet GDT: 0x08 code (exec/read), 0x10 data (read/write).
        let r = try run32("""
        mov ax, 0x08
        lar ebx, ax
        lsl ecx, ax
        verw ax
        setz dl
        mov ax, 0x10
        verw ax
        setz dh
        mov ax, 0x40
        lsl esi, ax
        setz al
        """)
        #expect(r.rbx == 0x00C0_9A00)             // high dword AND 0x00F0FF00 (SDM LAR)
        #expect(r.rcx == 0xFFFF_FFFF)
        #expect(r.rdx & 0xFFFF == 0x0100)         // code not writable, data writable
        #expect(r.rax & 0xFF == 0)                // beyond the GDT limit: ZF = 0
    }

    @Test func smswLmsw() throws {
        let r = try run32("smsw eax\nmov ebx, 0xF\nlmsw bx\nmov ecx, cr0\nxor edx, edx\nlmsw dx\nmov esi, cr0")
        #expect(r.rax & 0xFFFF == 0x11)
        #expect(r.rcx & 0xF == 0xF)
        #expect(r.rsi & 0xF == 0x1)               // LMSW cannot clear PE
    }

    @Test func farCallAndRetSamePrivilege() throws {
        let r = try run32("""
        call 0x08:target
        mov ebx, 1
        jmp done
        target:
        mov eax, [esp + 4]
        retf
        done:
        """)
        #expect(r.rax == 0x08)
        #expect(r.rbx == 1)
        #expect(r.rsp == 0x80000)
    }

    @Test func sysenterSysexit() throws {
        let r = try run32("""
        mov ecx, 0x174
        mov eax, 0x08
        xor edx, edx
        wrmsr
        mov ecx, 0x175
        mov eax, 0x90000
        wrmsr
        mov ecx, 0x176
        mov eax, kernel
        wrmsr
        sysenter
        kernel:
        mov ebx, esp
        mov esi, ss
        """)
        #expect(r.rbx == 0x90000)
        #expect(r.rsi == 0x10)
    }

    @Test func pushfPopfIOPLRules() throws {
        // At CPL0 POPF may change IOPL and IF.
        let r = try run32("push dword 0x3202\npopfd\npushfd\npop eax\npush dword 0x2\npopfd")
        #expect(r.rax & 0x3200 == 0x3200)
    }

    @Test func segmentLimitViolationIsGP() throws {
        // A data segment with limit 0xFFF: a dword at 0xFFE crosses the limit (#GP, no IDT).
        let s = try Snippet(.prot32, "mov ax, 0x18\nmov ds, ax\nmov eax, [0xFFE]\nhlt")
        s.ram.write(CallGateTests.desc(0x0040_9200_0000_0FFF), at: 0x6018)
        var sr = try s.vcpu.sregs()
        sr.gdt = DescriptorTable(base: 0x6000, limit: 31)
        try s.vcpu.setSregs(sr)
        #expect(try s.run() == .shutdown)
        #expect(try s.regs().rip == Snippet.codeBase + 6)   // the faulting MOV
    }
}

@Suite struct RealModeTests {
    @Test func divideErrorThroughIVTReturnsToTheFaultingDIV() throws {
        // #DE is a fault: the IVT handler sees IP of the DIV; it fixes BL and returns.
        let s = try Snippet(.real, """
        jmp start
        handler:
        mov bl, 1
        inc si
        iret
        start:
        xor ax, ax
        mov es, ax
        mov word [es:0], handler
        mov word [es:2], 0x1000
        mov ax, 100
        xor bl, bl
        xor si, si
        div bl
        hlt
        """)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rsi & 0xFFFF == 1)       // one #DE, then the DIV by 1 succeeds
        #expect(r.rax & 0xFF == 100)
    }

    @Test func unrealModeKeepsTheCachedLimit() throws {
        // Load a 4 GiB data segment in protected mode, return to real mode: DS keeps the
        // limit (SDM Vol. 3A 20.1.1), so a 32-bit offset above 64 KiB works.
        let s = try Snippet(.real, """
        cli
        mov eax, cr0
        or al, 1
        mov cr0, eax
        mov bx, 0x10
        mov ds, bx
        and al, 0xFE
        mov cr0, eax
        xor bx, bx
        mov ds, bx
        mov dword [dword 0x50000], 0x600DF00D
        hlt
        """)
        var sr = try s.vcpu.sregs()
        s.ram.write(CallGateTests.desc(0x00CF_9200_0000_FFFF), at: 0x6010)
        sr.gdt = DescriptorTable(base: 0x6000, limit: 23)
        try s.vcpu.setSregs(sr)
        #expect(try s.run() == .hlt)
        #expect(s.ram.read(at: 0x50000, count: 4) == [0x0D, 0xF0, 0x0D, 0x60])
    }
}
