import Testing
import KVMABI
@testable import RefHypervisor

/// 32-bit and PAE paging from protected mode (SDM Vol. 3A 4.3, 4.4).
@Suite struct PagingTests {
    func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    @Test func thirtyTwoBitPagingWith4MAnd4KPages() throws {
        // PD at 0x20000: PDE0 = 4 MiB page at 0 (identity), PDE1 -> PT at 0x21000;
        // PT[0] maps 0x400000 -> 0x30000. Enable CR4.PSE, CR0.PG; write through 0x400010.
        let s = try Snippet(.prot32, """
        mov eax, 0x10
        mov cr4, eax
        mov eax, 0x20000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        mov dword [0x400010], 0xCAFEF00D
        mov ebx, [0x400010]
        hlt
        """)
        s.ram.write(le32(0x0000_0083), at: 0x20000)            // 4 MiB, RW, P
        s.ram.write(le32(0x0002_1003), at: 0x20004)            // PT, RW, P
        s.ram.write(le32(0x0003_0003), at: 0x21000)            // 4 KiB page 0x30000
        #expect(try s.run() == .hlt)
        #expect(try s.regs().rbx == 0xCAFE_F00D)
        #expect(s.ram.read(at: 0x30010, count: 4) == [0x0D, 0xF0, 0xFE, 0xCA])
        // A and D set in the PTE, A in the PDE (SDM Vol. 3A 4.8).
        #expect(s.ram.read(at: 0x21000, count: 1)[0] & 0x60 == 0x60)
        #expect(s.ram.read(at: 0x20004, count: 1)[0] & 0x20 == 0x20)
    }

    @Test func notPresentPageFaultErrorCodeAndCR2() throws {
        let s = try Snippet(.prot32, """
        mov eax, 0x10
        mov cr4, eax
        mov eax, 0x20000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        mov dword [0x800004], 1
        hlt
        """)
        s.ram.write(le32(0x0000_0083), at: 0x20000)
        // No IDT: the #PF escalates to a triple fault; CR2 holds the address.
        #expect(try s.run() == .shutdown)
        #expect(try s.vcpu.sregs().cr2 == 0x800004)
    }

    @Test func paeModeUsesPDPTEsLoadedWithCR3() throws {
        // PDPT at 0x20000 (32-byte aligned): PDPTE0 -> PD 0x21000 with a 2 MiB identity page.
        let s = try Snippet(.prot32, """
        mov eax, 0x20
        mov cr4, eax
        mov eax, 0x20000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        mov dword [0x20000], 0
        mov ebx, [0x3000]
        hlt
        """)
        s.ram.write(le64(0x21001), at: 0x20000)
        s.ram.write(le64(0x0000_0083), at: 0x21000)
        s.ram.write(le32(0x1234_5678), at: 0x3000)
        #expect(try s.run() == .hlt)
        // Clearing PDPTE0 in memory does not unmap: the PDPTE register keeps the old value.
        #expect(try s.regs().rbx == 0x1234_5678)
    }

    @Test func paeReservedPDPTEBitIsGPOnCR3Load() throws {
        let s = try Snippet(.prot32, """
        mov eax, 0x20
        mov cr4, eax
        mov eax, 0x20000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        hlt
        """)
        s.ram.write(le64(0x21001 | 0x100), at: 0x20000)   // bit 8 is reserved in a PAE PDPTE
        #expect(try s.run() == .shutdown)
        #expect(try s.vcpu.sregs().cr0 & 0x8000_0000 == 0)   // MOV CR0 faulted
    }

    @Test func writeProtectAtCPL0() throws {
        // Read-only 4 KiB page: CPL0 writes succeed with CR0.WP=0 and fault with WP=1.
        let s = try Snippet(.prot32, """
        mov eax, 0x10
        mov cr4, eax
        mov eax, 0x20000
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        mov dword [0x400000], 1
        mov eax, cr0
        or eax, 0x10000
        mov cr0, eax
        mov dword [0x400000], 2
        hlt
        """)
        s.ram.write(le32(0x0000_0083), at: 0x20000)
        s.ram.write(le32(0x0002_1003), at: 0x20004)
        s.ram.write(le32(0x0003_0001), at: 0x21000)            // present, read-only
        #expect(try s.run() == .shutdown)
        #expect(s.ram.read(at: 0x30000, count: 1) == [1])
        #expect(try s.vcpu.sregs().cr2 == 0x400000)
    }
}

@Suite struct GlobalPageTests {
    func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

    /// Linear 0x8000000000 -> PTE at 0x23000 -> phys 0x30000 (G as given); the code then
    /// retargets the PTE to 0x31000 and reloads CR3.
    func run(global: Bool) throws -> Regs {
        let s = try Snippet(.long64, """
        mov rax, cr4
        or eax, 0x80
        mov cr4, rax
        mov rbx, 0x8000000000
        mov ecx, [rbx]
        mov qword [0x23000], 0x31003 | \(global ? 0x100 : 0)
        mov rax, cr3
        mov cr3, rax
        mov edx, [rbx]
        invlpg [rbx]
        mov esi, [rbx]
        hlt
        """)
        s.ram.write(le64(0x21007), at: 0x1008)                 // PML4[1] -> PDPT 0x21000
        s.ram.write(le64(0x22007), at: 0x21000)                // PDPT[0] -> PD 0x22000
        s.ram.write(le64(0x23007), at: 0x22000)                // PD[0] -> PT 0x23000
        s.ram.write(le64(0x30003 | (global ? 0x100 : 0)), at: 0x23000)
        s.ram.write([0xAA], at: 0x30000)
        s.ram.write([0xBB], at: 0x31000)
        #expect(try s.run() == .hlt)
        return try s.regs()
    }

    @Test func globalEntrySurvivesCR3Reload() throws {
        let r = try run(global: true)
        #expect(r.rcx & 0xFF == 0xAA)
        #expect(r.rdx & 0xFF == 0xAA)   // still the old translation
        #expect(r.rsi & 0xFF == 0xBB)   // INVLPG drops it
    }

    @Test func nonGlobalEntryIsFlushedByCR3Reload() throws {
        let r = try run(global: false)
        #expect(r.rdx & 0xFF == 0xBB)
    }
}
