import Testing
import KVMABI
@testable import RefHypervisor

/// Instruction semantics with expected values worked out from the SDM's definitions.
@Suite struct InstructionTests {
    func run64(_ asm: String) throws -> Regs {
        let s = try Snippet(.long64, asm + "\nhlt\n")
        let e = try s.run()
        #expect(e == .hlt)
        return try s.regs()
    }

    /// The inline shift (CPU.shift: the decoded blocks' SHL/SHR/SAR/ROL/ROR, 8/16 bits
    /// included) and the out-of-line one (CPU.shiftOp, step()'s group 2) agree on every
    /// operation, width and count 0-63, for operands with the top, bottom and middle bits set
    /// and clear, from flags all clear and all set: result and every flag. (A 16-bit ROL by
    /// 16 or 32 sets CF/OF from the unrotated value; an 8-bit SHL by 9..31 leaves CF 0.)
    @Test func inlineShiftMatchesShiftOp() throws {
        let c = try Snippet(.long64, "hlt").ref.cpu
        let patterns: [UInt64] = [0, 1, 0x80, 0x81, 0x7F, 0x8000, 0x8001, 0x7FFF, 0xA5A5, 0x8000_0000, 0x8000_0001,
                                  0x7FFF_FFFF, 0xDEAD_BEEF, 0x8000_0000_0000_0000, 0x0123_4567_89AB_CDEF, ~0]
        var compared = 0
        for size in [1, 2, 4, 8] {
            let m = CPU.mask(size)
            for k in [0, 1, 4, 5, 6, 7] {
                for count in UInt64(0)..<64 {
                    for a in Set(patterns.map { $0 & m }) {
                        for before in [UInt64(0x2), 0x2 | FL.arith] {
                            c.flags = before
                            let inline = c.shift(k, a, count, size)
                            let fInline = c.flags
                            c.flags = before
                            let outOfLine = c.shiftOp(k, a, count, size)
                            #expect(inline == outOfLine && fInline == c.flags,
                                    "op \(k) size \(size) count \(count) of \(a) from flags \(before)")
                            compared += 1
                        }
                    }
                }
            }
        }
        #expect(compared > 4 * 6 * 64 * 2 * 5)
    }

    @Test func addSignedOverflow() throws {
        // 0x7FFFFFFF + 1 = 0x80000000: OF (sign change), SF, AF (carry out of bit 3), PF (low byte 0x00 even).
        let r = try run64("mov eax, 0x7fffffff\nadd eax, 1\npushfq\npop rbx")
        #expect(r.rax == 0x8000_0000)
        #expect(r.rbx & FL.arith == FL.of | FL.sf | FL.af | FL.pf)
    }

    @Test func subBorrow() throws {
        // 0 - 1 = 0xFFFFFFFF: CF (borrow), SF, AF, PF (0xFF has eight ones), no OF.
        let r = try run64("xor eax, eax\nsub eax, 1\npushfq\npop rbx")
        #expect(r.rax == 0xFFFF_FFFF)
        #expect(r.rbx & FL.arith == FL.cf | FL.sf | FL.af | FL.pf)
    }

    @Test func adcSbbUseCarry() throws {
        let r = try run64("stc\nmov eax, 5\nadc eax, 5\nstc\nmov ecx, 5\nsbb ecx, 2")
        #expect(r.rax == 11)
        #expect(r.rcx == 2)
    }

    @Test func flipCarryAfterADCInjection() throws {
        let s = try Snippet(.long64, "clc\nmov eax, 1\nadc eax, 1\npushfq\npop rbx\nhlt\n", injectedFaults: [.flipCarryAfterADC])
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rax == 2)
        #expect(r.rbx & FL.cf == FL.cf)   // inverted from the architectural 0
    }

    @Test func incKeepsCarry() throws {
        let r = try run64("stc\nmov eax, 0xffffffff\ninc eax\npushfq\npop rbx")
        #expect(r.rax == 0)
        #expect(r.rbx & (FL.cf | FL.zf) == FL.cf | FL.zf)
    }

    @Test func thirtyTwoBitWritesZeroExtend() throws {
        let r = try run64("mov rax, -1\nmov eax, 1\nmov rbx, -1\nmov bx, 2\nmov rcx, -1\nmov cl, 3")
        #expect(r.rax == 1)
        #expect(r.rbx == 0xFFFF_FFFF_FFFF_0002)
        #expect(r.rcx == 0xFFFF_FFFF_FFFF_FF03)
    }

    @Test func highByteRegisters() throws {
        let r = try run64("mov eax, 0x1234\nmov bh, ah\nmov bl, al")
        #expect(r.rbx & 0xFFFF == 0x1234)
    }

    @Test func rclRcrThroughCarry() throws {
        // RCL AL,1 with CF=1: 0x80 -> 0x01, CF = old bit 7 = 1. RCR BL,1 with CF=0: 0x01 -> 0x00, CF = 1.
        let r = try run64("stc\nmov al, 0x80\nrcl al, 1\nsetc cl\nclc\nmov bl, 1\nrcr bl, 1\nsetc dl")
        #expect(r.rax & 0xFF == 0x01)
        #expect(r.rcx & 0xFF == 1)
        #expect(r.rbx & 0xFF == 0)
        #expect(r.rdx & 0xFF == 1)
    }

    @Test func shldShrd() throws {
        let r = try run64("mov eax, 0x12345678\nmov ebx, 0x9abcdef0\nshld eax, ebx, 8\nmov ecx, 0x12345678\nshrd ecx, ebx, 8")
        #expect(r.rax == 0x3456_789A)
        #expect(r.rcx == 0xF012_3456)
    }

    @Test func shiftByZeroLeavesFlags() throws {
        let r = try run64("stc\nmov eax, 1\nmov cl, 32\nshl eax, cl\npushfq\npop rbx")   // count masked to 0
        #expect(r.rax == 1)
        #expect(r.rbx & FL.cf == FL.cf)
    }

    @Test func mulImulFlags() throws {
        // MUL: 0x80000000 * 2 = 0x1_00000000 -> EDX=1, CF=OF=1. IMUL r32: -1 * -1 = 1, no overflow.
        let r = try run64("mov eax, 0x80000000\nmov ecx, 2\nmul ecx\npushfq\npop rbx\nmov esi, -1\nimul esi, esi\npushfq\npop rdi")
        #expect(r.rax == 0)
        #expect(r.rdx == 1)
        #expect(r.rbx & (FL.cf | FL.of) == FL.cf | FL.of)
        #expect(r.rsi == 1)
        #expect(r.rdi & (FL.cf | FL.of) == 0)
    }

    @Test func divAndIdiv() throws {
        let r = try run64("xor edx, edx\nmov eax, 100\nmov ecx, 7\ndiv ecx\nmov rbx, rdx\nmov rax, -100\ncqo\nmov rcx, 7\nidiv rcx")
        #expect(r.rbx == 2)
        #expect(r.rax == UInt64(bitPattern: -14))
        #expect(r.rdx == UInt64(bitPattern: -2))
    }

    @Test func divideByZeroWithoutIDTIsTripleFault() throws {
        // #DE with a zero-limit IDT -> #GP -> #DF -> shutdown (SDM Vol. 3A Table 6-5).
        let s = try Snippet(.long64, "xor ecx, ecx\ndiv ecx\nhlt")
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .shutdown)
        #expect(s.ref.takeVMXTrace().last?.reason == .tripleFault)
    }

    @Test func bitScanAndTest() throws {
        let r = try run64("mov eax, 0x00f0\nbsf ebx, eax\nbsr ecx, eax\nmov edx, 0x10\nbts edx, 0\nsetc sil\nbt edx, 4\nsetc dil")
        #expect(r.rbx == 4)
        #expect(r.rcx == 7)
        #expect(r.rdx == 0x11)
        #expect(r.rsi & 0xFF == 0)
        #expect(r.rdi & 0xFF == 1)
    }

    @Test func cmpxchgXaddBswap() throws {
        let r = try run64("""
        mov qword [0x3000], 5
        mov eax, 5
        mov ecx, 9
        lock cmpxchg [0x3000], ecx
        setz bl
        mov edx, 1
        lock xadd [0x3000], edx
        mov rsi, [0x3000]
        mov edi, 0x11223344
        bswap edi
        """)
        #expect(r.rbx & 0xFF == 1)
        #expect(r.rdx == 9)
        #expect(r.rsi == 10)
        #expect(r.rdi == 0x4433_2211)
    }

    @Test func movsxMovzxMovsxd() throws {
        let r = try run64("mov al, 0x80\nmovsx ebx, al\nmovzx ecx, al\nmov edx, -2\nmovsxd rsi, edx")
        #expect(r.rbx == 0xFFFF_FF80)
        #expect(r.rcx == 0x80)
        #expect(r.rsi == UInt64(bitPattern: -2))
    }

    @Test func repMovsBackwards() throws {
        let r = try run64("""
        mov dword [0x3000], 0x44332211
        std
        mov rsi, 0x3003
        mov rdi, 0x4003
        mov ecx, 4
        rep movsb
        cld
        mov eax, [0x4000]
        """)
        #expect(r.rax == 0x4433_2211)
        #expect(r.rcx == 0)
        #expect(r.rsi == 0x2FFF)
    }

    @Test func repeScasStopsOnMismatch() throws {
        let r = try run64("mov dword [0x3000], 0x00414141\nmov rdi, 0x3000\nmov al, 0x41\nmov ecx, 8\nrepe scasb")
        #expect(r.rcx == 4)
        #expect(r.rdi == 0x3004)
    }

    @Test func pushPopCallRet() throws {
        let r = try run64("mov rbx, rsp\ncall f\njmp done\nf: mov eax, 7\nret\ndone: sub rbx, rsp")
        #expect(r.rax == 7)
        #expect(r.rbx == 0)
    }

    @Test func daaAfterBcdAdd() throws {
        // 0x79 + 0x35 = 0xAE -> DAA -> 0x14 with CF=1 (BCD 79 + 35 = 114).
        let s = try Snippet(.prot32, "mov al, 0x79\nadd al, 0x35\ndaa\nsetc bl\nhlt")
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rax & 0xFF == 0x14)
        #expect(r.rbx & 0xFF == 1)
    }

    @Test func realModeSegmentArithmetic() throws {
        let s = try Snippet(.real, "mov ax, 0x2000\nmov ds, ax\nmov word [0x10], 0xbeef\nhlt")
        #expect(try s.run() == .hlt)
        #expect(s.ram.read(at: 0x20010, count: 2) == [0xEF, 0xBE])
    }

    @Test func fifteenByteLimit() throws {
        // 15 prefixes + opcode = 16 bytes: #GP (no IDT -> triple fault).
        let s = try Snippet(.long64, "times 15 db 0x66\nnop\nhlt")
        #expect(try s.run() == .shutdown)
    }

    @Test func undefinedOpcodeFaults() throws {
        let s = try Snippet(.long64, "ud2\nhlt")
        s.ref.vmxTraceEnabled = true
        #expect(try s.run() == .shutdown)
        let t = s.ref.takeVMXTrace()
        #expect(t.contains { $0.reason == .exceptionOrNMI && $0.vector == 6 })
    }

    @Test func arbitraryBytesNeverTrapTheHost() throws {
        try InstructionTests.fuzz(runs: 96, seed: 0x9E37_79B9_7F4A_7C15)
    }

    /// A deterministic pseudo-random byte soup with random registers: every run must end in
    /// some exit without trapping the host process.
    static func fuzz(runs: Int, seed: UInt64) throws {
        var x: UInt64 = seed
        func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        for i in 0..<runs {
            let s = try Snippet([Snippet.Mode.real, .prot32, .long64][i % 3], "hlt")
            var bytes: [UInt8] = []
            for _ in 0..<4096 { bytes.append(UInt8(truncatingIfNeeded: next())) }
            s.ram.write(bytes, at: i % 3 == 0 ? 0x10000 : Int(Snippet.codeBase))
            var r = try s.regs()
            var g = r.gprs
            for k in 0..<16 where k != 4 { g[k] = next() >> (next() & 63) }
            r.gprs = g
            try s.vcpu.setRegs(r)
            for _ in 0..<4 {
                guard let e = try? s.run(10_000) else { break }
                if case .io(let io) = e, io.direction == .in { s.vcpu.completeIO([UInt8](repeating: 0xAB, count: Int(io.size) * Int(io.count))) }
                if case .mmio(let m) = e, !m.isWrite { s.vcpu.completeMMIORead([UInt8](repeating: 0xCD, count: Int(m.length))) }
                if e == .shutdown || e == .timeout { break }
            }
        }
    }
}
