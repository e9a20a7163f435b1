import Foundation
import Testing
import KVMABI
@testable import RefHypervisor

/// Differential test of the decoded-instruction cache on 64-bit programs (CPU.runBlocks; it
/// replaced the 64-bit fast path these tests were first written for): random programs mixing
/// ALU, shifts, INC/DEC, MOV, LEA, PUSH/POP, Jcc, CALL/RET and memory operands with
/// instructions left to step(), run with the cache on and off: registers, RFLAGS, retired
/// count and the touched memory must be identical. DecodeCacheTests covers the other modes.
@Suite struct FastPathTests {
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func pick<T>(_ a: [T]) -> T { a[Int(next() % UInt64(a.count))] }
    }

    static let r64 = ["rax", "rcx", "rdx", "rbx", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14"]
    static let r32 = ["eax", "ecx", "edx", "ebx", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d"]
    static let r16 = ["ax", "cx", "dx", "bx", "si", "di", "r9w"]

    static func program(seed: UInt64, length: Int) -> String {
        var g = Rng(s: seed)
        var out = "mov r15, 0x40000\n"
        for r in r64 { out += "mov \(r), 0x\(String(g.next(), radix: 16))\n" }
        out += "add rsp, 0\n"   // sets flags deterministically from a known value
        for i in 0..<length {
            let w = g.next() % 4 != 0
            let regs = w ? r64 : r32
            let d = g.pick(regs), s = g.pick(regs)
            let sz = w ? "qword" : "dword"
            let mem = g.pick(["[r15]", "[r15+\(8 * (g.next() % 16))]", "[r15+0x\(String(0x100 + 8 * (g.next() % 32), radix: 16))]", "[rsp+\(8 * (g.next() % 4))]"])
            let alu = g.pick(["add", "or", "and", "sub", "xor", "cmp", "test", "adc", "sbb"])
            let sh = g.pick(["shl", "shr", "sar", "sal", "rol", "ror", "rcl", "rcr"])
            let imm = g.pick(["\(g.next() % 128)", "-\(g.next() % 128)", "0x\(String(g.next() & 0x7FFF_FFFF, radix: 16))", "0"])
            switch g.next() % 22 {
            case 0, 1, 2: out += "\(alu) \(d), \(s)\n"
            case 3: out += "\(alu) \(d), \(sz) \(mem)\n"
            case 4: out += "\(alu == "test" ? "test" : alu) \(sz) \(mem), \(s)\n"
            case 5, 6: out += "\(alu == "test" ? "and" : alu) \(d), \(imm)\n"
            case 7: out += "\(alu == "test" ? "cmp" : alu) \(sz) \(mem), \(imm)\n"
            case 8: out += "\(sh) \(d), \(g.next() % 70)\n"
            case 9: out += "\(sh) \(d), \(g.pick(["1", "cl"]))\n"
            case 10: out += "\(sh) \(sz) \(mem), \(g.pick(["1", "cl", "\(g.next() % 64)"]))\n"
            case 11: out += "\(g.pick(["inc", "dec"])) \(d)\n"
            case 12: out += "\(g.pick(["inc", "dec"])) \(sz) \(mem)\n"
            case 13: out += "mov \(d), \(s)\n"
            case 14: out += g.pick(["mov \(d), \(sz) \(mem)\n", "mov \(sz) \(mem), \(s)\n", "mov \(sz) \(mem), \(imm)\n", "mov \(d), \(imm)\n", "mov \(d), 0x\(String(g.next(), radix: 16))\n".replacingOccurrences(of: "mov e", with: "mov r")])
            case 15: out += "lea \(d), \(mem)\n"
            case 16: out += "push \(g.pick(r64))\npop \(g.pick(r64))\n"
            case 17:
                let cc = g.pick(["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"])
                out += "j\(cc) \(g.next() % 2 == 0 ? "short" : "near") .L\(i)\ninc r14\n.L\(i):\n"
            case 18: out += "call .C\(i)\njmp .E\(i)\n.C\(i):\nadd \(d), \(s)\nret\n.E\(i):\n"
            case 19: out += "\(alu) \(g.pick(r16)), \(g.pick(r16))\n"   // 16-bit: step()
            case 20: out += "\(alu) al, \(g.pick(["bl", "ah", "r9b", "sil"]))\n"   // 8-bit: step()
            default: out += "jmp .J\(i)\nud2\n.J\(i):\n"
            }
        }
        out += "hlt\n"
        return out
    }

    /// `program` with RFLAGS stored after every few instructions (PUSHFQ and a POP to the
    /// compared page), so the flags each fast-path run leaves are observed, not only those a
    /// later Jcc/ADC/SBB happens to read.
    static func programObservingFlags(seed: UInt64, length: Int) -> String {
        var g = Rng(s: seed ^ 0x5EED)
        let lines = program(seed: seed, length: length).split(separator: "\n", omittingEmptySubsequences: false)
        let setup = lines.firstIndex(of: "add rsp, 0")!
        var out = lines[...setup].joined(separator: "\n") + "\n"
        var slot = 0
        for line in lines[(setup + 1)...] {
            out += line + "\n"
            if line.hasPrefix(".") || line == "hlt" || line.isEmpty { continue }
            if g.next() % 3 == 0 {
                out += "pushfq\npop qword [r15+0x\(String(0x800 + 8 * (slot % 256), radix: 16))]\n"
                slot += 1
            }
        }
        return out
    }

    @Test(arguments: 0..<32)
    func fastFlagsMatchStep(_ seed: Int) throws {
        let asm = FastPathTests.programObservingFlags(seed: 0xF1A6_0000 &+ UInt64(seed), length: 300)
        let a = try FastPathTests.runOnce(asm, fast: true)
        let b = try FastPathTests.runOnce(asm, fast: false)
        #expect("\(a.3)" == "hlt", "the program must run to its HLT: \(a.3)")
        #expect(a.1 == b.1, "retired")
        #expect(a.0 == b.0, "registers/flags differ for seed \(seed)")
        #expect(a.2 == b.2, "memory (stored RFLAGS) differs for seed \(seed)")
    }

    /// Edge operands (0, 1, sign bit, all ones, nibble carries) through every 64-bit
    /// register-register operation the cache runs, each at the start of a block (after a
    /// short JMP) and followed by PUSHFQ, folded into R12.
    @Test func laneEdgeFlagsMatchStep() throws {
        let vals = ["0", "1", "0x7fffffffffffffff", "0x8000000000000000", "0xffffffffffffffff", "0x80", "0x7f", "0xf", "0x10", "0xfffffffffffffff0"]
        let ops = ["add rax, rbx", "add rbx, rax", "sub rax, rbx", "sub rbx, rax", "cmp rax, rbx", "cmp rbx, rax", "xor rax, rbx",
                   "or rax, rbx", "and rax, rbx", "test rax, rbx", "inc rax", "dec rax", "shl rax, 1", "shr rax, 1", "sar rax, 1",
                   "shl rax, 63", "shr rax, 4", "rol rax, 1", "ror rax, 3", "mov rax, rbx"]
        var asm = "mov r15, 0x40000\nxor r12, r12\n"
        var i = 0
        for x in vals { for y in vals { for op in ops {
            // Alternate the incoming CF (INC/DEC keep it).
            asm += "mov rax, \(x)\nmov rbx, \(y)\n\(i % 2 == 0 ? "stc" : "clc")\njmp short .L\(i)\n.L\(i):\n\(op)\n"
            asm += "pushfq\npop r13\nxor r13, rax\nadd r12, r13\nrol r12, 7\n"
            i += 1
        } } }
        asm += "hlt\n"
        let a = try FastPathTests.runOnce(asm, fast: true)
        let b = try FastPathTests.runOnce(asm, fast: false)
        #expect("\(a.3)" == "hlt", "the program must run to its HLT: \(a.3)")
        #expect(a.1 == b.1, "retired")
        #expect(a.0 == b.0, "registers/flags differ")
    }

    static func runOnce(_ asm: String, fast: Bool) throws -> (Regs, UInt64, [UInt8], Exit) {
        let s = try Snippet(.long64, asm)
        s.ref.cpu.fastPath = fast
        let e = try s.run(200_000)
        let regs = try s.regs()
        let mem = s.ram.read(at: 0x40000, count: 0x1000) + s.ram.read(at: 0x7F000, count: 0x2000)
        return (regs, s.ref.cpu.instructionsRetired, mem, e)
    }

    @Test(arguments: 0..<64)
    func fastMatchesStep(_ seed: Int) throws {
        let asm = FastPathTests.program(seed: 0xFA57_0000 &+ UInt64(seed), length: 400)
        let a = try FastPathTests.runOnce(asm, fast: true)
        let b = try FastPathTests.runOnce(asm, fast: false)
        #expect("\(a.3)" == "\(b.3)")
        #expect("\(a.3)" == "hlt", "the program must run to its HLT: \(a.3)")
        #expect(a.1 > 400, "retired \(a.1)")
        #expect(a.1 == b.1, "retired")
        #expect(a.0 == b.0, "registers/flags differ for seed \(seed)")
        #expect(a.2 == b.2, "memory differs for seed \(seed)")
    }
}
