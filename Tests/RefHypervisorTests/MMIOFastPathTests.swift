import KVMABI
import Testing
@testable import RefHypervisor

/// The engine's MMIO fast paths: the MMIO TLB (CPU.tlbMTag: linear -> GPA translations of
/// pages with no RAM, kept like any guest TLB entry), stores to MMIO done by the block
/// executor (CPU.blockMMIOStore) and the quiet KVM_RUN after an MMIO write's exit. Expected
/// exits come from the SDM's TLB rules (Vol. 3A 4.10.4: INVLPG and MOV to CR3 drop the
/// entries of the pages they name; a write through an entry filled by a read walks again to
/// set the dirty bit, 4.8), not from a run; every scenario also runs with the decoded-block
/// cache off, where step() makes each access.
@Suite struct MMIOFastPathTests {
    typealias Rng = FastPathTests.Rng

    /// 64-bit mode with 4 KiB pages only (a large page would make INVLPG drop everything):
    /// PDPT[0] -> PD at 0x3000, PD[0] -> PT at 0x5000 (identity: code, stack, tables), PD[1]
    /// -> PT at 0x4000. PT[0] of the latter (the page at linear 0x200000) starts at GPA
    /// 0x300000, where there is no memory (MMIO).
    static func pagedSnippet(_ asm: String, cached: Bool) throws -> Snippet {
        let s = try Snippet(.long64, asm)
        func q(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        s.ram.write(q(0x3007), at: 0x2000)              // PDPT[0] -> PD
        s.ram.write(q(0x5007), at: 0x3000)              // PD[0] -> identity PT
        for i in 0..<256 { s.ram.write(q(UInt64(i) << 12 | 7), at: 0x5000 + 8 * i) }   // the 1 MiB of RAM
        s.ram.write(q(0x4007), at: 0x3008)              // PD[1] -> PT
        s.ram.write(q(0x30_0007), at: 0x4000)           // PT[0]: linear 0x200000 -> GPA 0x300000
        s.ref.cpu.fastPath = cached
        return s
    }

    static func pte(_ s: Snippet) -> UInt64 {
        s.ram.read(at: 0x4000, count: 8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }

    static func expectWrite(_ e: Exit, gpa: UInt64, _ data: [UInt8], _ what: String) {
        #expect(e == .mmio(MMIOExit(physicalAddress: gpa, length: UInt32(data.count), isWrite: true, data: data)), "\(what): \(e)")
    }

    /// INVLPG, MOV to CR3 and a PTE that now names RAM: each is seen by the next access, and
    /// a write after a read of the same MMIO page sets the PTE's dirty bit. With CR4.PGE, MOV
    /// to CR3 keeps global entries only (the PTEs here are not global).
    @Test(arguments: [true, false], [false, true]) func translationsFollowThePageTables(_ cached: Bool, _ pge: Bool) throws {
        let s = try Self.pagedSnippet("""
            mov eax, [0x200000]             ; MMIO read at GPA 0x300000 (fills a read entry)
            mov dword [0x200000], 0x11      ; write: walks again, sets D
            mov dword [0x200004], 0x22      ; through the entry
            mov qword [0x4000], 0x310007    ; PT[0] -> GPA 0x310000
            invlpg [0x200000]
            mov dword [0x200008], 0x33
            mov qword [0x4000], 0x320007    ; PT[0] -> GPA 0x320000, dropped by a CR3 write
            mov rcx, cr3
            mov cr3, rcx
            mov byte [0x20000C], 0x55
            mov qword [0x4000], 0x9007      ; PT[0] -> RAM at 0x9000
            invlpg [0x200000]
            mov dword [0x200000], 0x44      ; RAM: no exit
            mov ebx, [0x200000]
            hlt
            """, cached: cached)
        if pge { var sr = try s.vcpu.sregs(); sr.cr4 |= 0x80; try s.vcpu.setSregs(sr) }
        var e = try s.run()
        #expect(e == .mmio(MMIOExit(physicalAddress: 0x30_0000, length: 4, isWrite: false, data: [])), "read: \(e)")
        #expect(Self.pte(s) & 0x60 == 0x20, "a read sets A, not D")
        s.vcpu.completeMMIORead([1, 2, 3, 4])
        Self.expectWrite(try s.run(), gpa: 0x30_0000, [0x11, 0, 0, 0], "first write")
        #expect(Self.pte(s) & 0x40 != 0, "the write after a read walked again and set D (SDM Vol. 3A 4.8)")
        Self.expectWrite(try s.run(), gpa: 0x30_0004, [0x22, 0, 0, 0], "second write")
        Self.expectWrite(try s.run(), gpa: 0x31_0008, [0x33, 0, 0, 0], "after INVLPG")
        Self.expectWrite(try s.run(), gpa: 0x32_000C, [0x55], "after MOV to CR3")
        e = try s.run()
        #expect(e == .hlt, "\(e)")
        let r = try s.regs()
        #expect(r.rax == 0x0403_0201)
        #expect(r.rbx == 0x44, "the write went to RAM once the PTE named it")
        #expect(s.ram.read(at: 0x9000, count: 4) == [0x44, 0, 0, 0])
    }

    /// Loads of every executor form from an MMIO page, each finished with the VMM's bytes:
    /// MOV r64/r32 (zero-extends, SDM Vol. 1 3.4.1.1), MOV r16/r8 (keep the rest), MOVZX,
    /// MOVSX, MOVSXD. With the cache on, the block executor makes the exit and the next
    /// KVM_RUN finishes the load (blockMMIOLoad, complete_emulated_mmio); off, step() runs
    /// it twice. Then the same load left without data (it exits again), and one whose
    /// completion is followed by KVM_SET_REGS (the full entry finishes it).
    @Test(arguments: [true, false]) func loadsFinishWithTheVMMsBytes(_ cached: Bool) throws {
        let s = try Self.pagedSnippet("""
            mov r15, 0x200000
            mov rbx, -1
            mov rbx, [r15]
            mov rcx, -1
            mov ecx, [r15+8]
            mov rdx, -1
            mov dx, [r15+16]
            mov rsi, -1
            mov sil, [r15+24]
            movzx edi, byte [r15+32]
            movsx r8, word [r15+40]
            movsxd r9, dword [r15+48]
            mov r10, [r15+56]
            mov r11, [r15+64]
            hlt
            """, cached: cached)
        func read(_ gpa: UInt64, _ n: UInt32, _ v: UInt64?) throws {
            let e = try s.run()
            #expect(e == .mmio(MMIOExit(physicalAddress: gpa, length: n, isWrite: false, data: [])), "\(e)")
            if let v { s.vcpu.completeMMIORead(value: v, byteCount: Int(n)) }
        }
        try read(0x30_0000, 8, 0x1122_3344_5566_7788)
        try read(0x30_0008, 4, 0x8899_AABB)
        try read(0x30_0010, 2, 0xCCDD)
        try read(0x30_0018, 1, 0xEE)
        try read(0x30_0020, 1, 0x80)
        try read(0x30_0028, 2, 0x8001)
        try read(0x30_0030, 4, 0x8000_0002)
        try read(0x30_0038, 8, nil)                          // no data: the load exits again
        try read(0x30_0038, 8, 0x0102_0304_0506_0708)
        try read(0x30_0040, 8, 0x0A0B_0C0D_0E0F_1011)
        var r = try s.regs()
        try s.vcpu.setRegs(r)                                // an ioctl: the full entry finishes it
        #expect(try s.run() == .hlt)
        r = try s.regs()
        #expect(r.rbx == 0x1122_3344_5566_7788)
        #expect(r.rcx == 0x8899_AABB, "a 32-bit load zero-extends")
        #expect(r.rdx == 0xFFFF_FFFF_FFFF_CCDD, "a 16-bit load keeps bits 63:16")
        #expect(r.rsi == 0xFFFF_FFFF_FFFF_FFEE, "an 8-bit load keeps bits 63:8")
        #expect(r.rdi == 0x80, "MOVZX")
        #expect(r.r8 == 0xFFFF_FFFF_FFFF_8001, "MOVSX of a word")
        #expect(r.r9 == 0xFFFF_FFFF_8000_0002, "MOVSXD")
        #expect(r.r10 == 0x0102_0304_0506_0708)
        #expect(r.r11 == 0x0A0B_0C0D_0E0F_1011)
    }

    /// A memory slot created where an MMIO page was (between runs) is RAM at the next access.
    @Test(arguments: [true, false]) func memorySlotOverAnMMIOPage(_ cached: Bool) throws {
        let s = try Self.pagedSnippet("""
            .loop:
            mov dword [0x200000], 0x66
            mov eax, [0x200000]
            jmp .loop
            """, cached: cached)
        Self.expectWrite(try s.run(), gpa: 0x30_0000, [0x66, 0, 0, 0], "before the slot")
        let extra = try s.vm.allocateGuestMemory(size: 0x1000)
        try s.vm.setUserMemoryRegion(MemoryRegion(slot: 1, flags: [], guestPhysicalAddress: 0x30_0000, memorySize: 0x1000,
                                                  userspaceAddress: extra.hostAddress))
        let e = try s.run(200)
        #expect(e == .timeout, "with RAM behind it, the loop makes no exit: \(e)")
        #expect(extra.read(at: 0, count: 4) == [0x66, 0, 0, 0])
        #expect(try s.regs().rax == 0x66)
    }

    /// Random straight-line code mixing register work with stores of every width and form
    /// (MOV r/m from a register or an immediate, SETcc) to an MMIO page and to RAM, in a
    /// loop: every exit (GPA, data), the registers and RFLAGS at every exit, and the retired
    /// count must be the same with the decoded-block cache on and off, and so must the VMX
    /// exits (an EPT violation the first time, then misconfigurations).
    @Test(arguments: 0..<12) func storesToMMIOAsStepMakesThem(_ seed: Int) throws {
        var g = Rng(s: 0x3310_0000 &+ UInt64(seed))
        var body = ""
        let regs = ["rax", "rbx", "rcx", "rdx", "rsi", "rbp", "r8", "r9"]
        let r32 = ["eax", "ebx", "ecx", "edx", "esi", "ebp", "r8d", "r9d"]
        let r16 = ["ax", "bx", "cx", "dx", "si", "bp", "r8w", "r9w"]
        let r8 = ["al", "bl", "cl", "dl", "sil", "bpl", "r8b", "r9b"]
        let cc = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]
        for _ in 0..<40 {
            let d = g.pick(regs), s = g.pick(regs)
            let where_ = g.pick(["r15", "r14"])   // r15: MMIO page, r14: RAM
            let off = 8 * Int(g.next() % 32)
            switch g.next() % 8 {
            case 0: body += "mov qword [\(where_)+\(off)], \(s)\n"
            case 1: body += "mov dword [\(where_)+\(off)], \(g.pick(r32))\n"
            case 2: body += "mov word [\(where_)+\(off)], \(g.pick(r16))\n"
            case 3: body += "mov byte [\(where_)+\(off)], \(g.pick(r8))\n"
            case 4: body += "mov dword [\(where_)+\(off)], \(Int(g.next() % 0x10000) - 0x8000)\n"
            case 5: body += "set\(g.pick(cc)) byte [\(where_)+\(off)]\n"
            case 6: body += "\(g.pick(["add", "xor", "sub", "imul"])) \(d), \(s)\n"
            default: body += "rol \(d), \(1 + g.next() % 31)\nadd \(g.pick(r32)), \(g.next() % 1000)\n"
            }
        }
        var init_ = "mov r15, 0x200000\nmov r14, 0x40000\n"
        for r in regs { init_ += "mov \(r), 0x\(String(g.next(), radix: 16))\n" }
        let asm = init_ + "mov r13, 3\n.top:\n" + body + "dec r13\njnz .top\nhlt\n"

        func run(_ cached: Bool) throws -> [String] {
            let s = try Self.pagedSnippet(asm, cached: cached)
            s.ref.hardwareTraceEnabled = true
            var log: [String] = []
            for _ in 0..<400 {
                let e = try s.run()
                let r = try s.regs()
                log.append("\(e) rip \(r.rip) rflags \(r.rflags) rax \(r.rax) rbx \(r.rbx) rcx \(r.rcx) rdx \(r.rdx) retired \(s.ref.cpu.instructionsRetired)")
                log += s.ref.takeHardwareTrace()
                if case .mmio(let m) = e, m.isWrite { continue }
                break
            }
            log.append("RAM \(s.ram.read(at: 0x40000, count: 256))")
            return log
        }
        let a = try run(true), b = try run(false)
        #expect(a.count == b.count, "seed \(seed): \(a.count) vs \(b.count) lines")
        for (i, (x, y)) in zip(a, b).enumerated() where x != y {
            Issue.record("seed \(seed) line \(i): cache on \(x)\ncache off \(y)")
            break
        }
        #expect(a.last?.hasPrefix("RAM") == true)
        #expect(a.contains { $0.hasPrefix("hlt") }, "seed \(seed): the program ran to its HLT")
    }
}
