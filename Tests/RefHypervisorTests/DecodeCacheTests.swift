import Foundation
import Testing
import KVMABI
@testable import RefHypervisor

/// Differential test of the decoded-instruction cache (CPU.runBlocks): random programs in
/// real mode, 32-bit protected mode and 64-bit mode, mixing the cached subset in every
/// operand size (ALU with registers, memory and immediates, MOVZX/MOVSX, IMUL, MUL/DIV,
/// SETcc/CMOVcc, shifts, PUSH/POP, CALL/RET, Jcc, LEA with an index, LOOP/LOOPcc/JrCXZ,
/// string instructions without REP in both directions, XLAT, LAHF/SAHF, PUSHF, MOV moffs,
/// XCHG/XADD/CMPXCHG with memory, LOCKed read-modify-writes, POPCNT/LZCNT, RET imm16,
/// BT/BTS/BTR/BTC on memory, PUSH/POP r/m, PAUSE, POPF) with instructions it leaves to step()
/// (which runBlocks calls itself for them: generic ops; REPE/REPNE CMPS/SCAS among them, which
/// step() compares in runs with the cache on and one element at a time with it off), and
/// stores that patch instructions still to run. Each runs with the cache on and off:
/// registers, RFLAGS, retired count, memory and the exit must be equal.
@Suite struct DecodeCacheTests {
    typealias Rng = FastPathTests.Rng

    struct ModeSpec: Sendable {
        let mode: Snippet.Mode
        let sizes: [(regs: [String], ptr: String, bits: Int)]
        let base: String, index: String, scale: Int
        let setup: String
        /// How a label's address is written in a memory operand (real mode: CS-relative).
        let labelRef: @Sendable (String) -> String
    }

    static let real = ModeSpec(
        mode: .real,
        sizes: [(["al", "cl", "dl", "ah", "ch", "dh"], "byte", 8), (["ax", "cx", "dx", "bp", "di"], "word", 16),
                (["eax", "ecx", "edx", "ebp", "edi"], "dword", 32)],
        base: "bx", index: "si", scale: 1,
        setup: "mov bx, 0x8000\nmov si, 0x40\n",
        labelRef: { "cs:\($0) - 0x10000" })
    static let prot32 = ModeSpec(
        mode: .prot32,
        sizes: [(["al", "cl", "dl", "ah", "ch", "dh"], "byte", 8), (["ax", "cx", "dx", "bp", "di"], "word", 16),
                (["eax", "ecx", "edx", "ebp", "edi"], "dword", 32)],
        base: "ebx", index: "esi", scale: 4,
        setup: "mov ebx, 0x40000\nmov esi, 0x10\n",
        labelRef: { $0 })
    static let long64 = ModeSpec(
        mode: .long64,
        sizes: [(["al", "cl", "dl", "bl", "r8b", "r9b"], "byte", 8), (["ax", "cx", "dx", "bp", "r10w"], "word", 16),
                (["eax", "ecx", "edx", "ebp", "edi", "r8d", "r11d"], "dword", 32),
                (["rax", "rcx", "rdx", "rbp", "rdi", "r8", "r9", "r10", "r11", "r12"], "qword", 64)],
        base: "r15", index: "rsi", scale: 8,
        setup: "mov r15, 0x40000\nmov rsi, 4\n",
        labelRef: { "rel \($0)" })

    static func program(_ m: ModeSpec, seed: UInt64, length: Int) -> String {
        var g = Rng(s: seed)
        var out = m.setup
        for r in m.sizes.last!.regs { out += "mov \(r), 0x\(String(g.next() & (m.mode == .long64 ? ~0 : 0xFFFF_FFFF), radix: 16))\n" }
        out += "add \(m.sizes.last!.regs[0]), 0\n"   // flags from a known value
        // The body runs twice, so that its second pass meets code decoded (and patched) by the first.
        out += "mov word [\(m.base)+0xF00], 2\n.top:\n"
        let cc = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]
        for i in 0..<length {
            let sz = g.pick(m.sizes)
            let d = g.pick(sz.regs), s = g.pick(sz.regs)
            let wide = m.sizes.filter { $0.bits >= 16 }
            let w = g.pick(wide)
            let wd = g.pick(w.regs), ws = g.pick(w.regs)
            let disp = 2 * Int(g.next() % 64)
            let mem = g.pick(["[\(m.base)+\(disp)]", "[\(m.base)+\(m.index)*\(m.scale == 1 ? 1 : m.scale)+\(disp)]", "[\(m.base)]"])
                .replacingOccurrences(of: "*1+", with: "+")
            let alu = g.pick(["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"])
            let imm = g.pick(["\(g.next() % 128)", "-\(g.next() % 128)", "0x\(String(g.next() & 0x7FFF, radix: 16))", "0"])
            let m16 = m.mode == .real, m64 = m.mode == .long64
            switch g.next() % 40 {
            case 0, 1, 2: out += "\(alu) \(d), \(s)\n"
            case 3: out += "\(alu) \(d), \(sz.ptr) \(mem)\n"
            case 4: out += "\(alu) \(sz.ptr) \(mem), \(s)\n"
            case 5: out += "\(alu) \(d), \(sz.bits == 8 ? "\(g.next() % 256)" : imm)\n"
            case 6: out += "\(alu) \(sz.ptr) \(mem), \(sz.bits == 8 ? "\(g.next() % 256)" : imm)\n"
            case 7: out += "test \(d), \(s)\ntest \(sz.ptr) \(mem), \(sz.bits == 8 ? "\(g.next() % 256)" : "0x55")\n"
            case 8: out += g.pick(["mov \(d), \(s)\n", "mov \(d), \(sz.ptr) \(mem)\n", "mov \(sz.ptr) \(mem), \(s)\n",
                                   "mov \(sz.ptr) \(mem), \(sz.bits == 8 ? "\(g.next() % 256)" : imm)\n", "mov \(d), \(sz.bits == 8 ? "\(g.next() % 256)" : imm)\n"])
            case 9: out += "\(g.pick(["inc", "dec", "not", "neg"])) \(g.pick([d, "\(sz.ptr) \(mem)"]))\n"
            case 10: out += "\(g.pick(["shl", "shr", "sar", "rol", "ror", "rcl", "rcr"])) \(g.pick([d, "\(sz.ptr) \(mem)"])), \(g.pick(["1", "cl", "\(g.next() % 40)"]))\n"
            case 11:
                let src8 = g.pick(m.sizes[0].regs)
                out += g.pick(["movzx \(wd), \(src8)\n", "movsx \(wd), \(src8)\n", "movzx \(wd), byte \(mem)\n", "movsx \(wd), byte \(mem)\n"])
                if w.bits > 16 { out += g.pick(["movzx \(wd), word \(mem)\n", "movsx \(wd), word \(mem)\n"]) }
                if m.mode == .long64 && w.bits == 64 { out += "movsxd \(wd), dword \(mem)\n" }
            case 12: out += g.pick(["imul \(wd), \(ws)\n", "imul \(wd), \(w.ptr) \(mem)\n", "imul \(wd), \(ws), \(imm)\n", "imul \(wd), \(w.ptr) \(mem), 7\n"])
            case 13:
                // MUL/IMUL one-operand, and a DIV that cannot fault.
                out += "\(g.pick(["mul", "imul"])) \(g.pick([s, "\(sz.ptr) \(mem)"]))\n"
                if w.bits == 16 { out += "xor dx, dx\nmov cx, \(1 + g.next() % 999)\ndiv cx\n" }
                else { out += "xor edx, edx\nmov ecx, \(1 + g.next() % 99999)\ndiv ecx\n" }
            case 14: out += "set\(g.pick(cc)) \(g.pick([g.pick(m.sizes[0].regs), "byte \(mem)"]))\n"
            case 15: out += "cmov\(g.pick(cc)) \(wd), \(g.pick([ws, "\(w.ptr) \(mem)"]))\n"
            case 16:
                let stack = m.mode == .long64 ? m.sizes[3] : m.sizes[m.mode == .real ? 1 : 2]
                out += "push \(g.pick(stack.regs))\npush \(g.next() % 100)\npop \(g.pick(stack.regs))\npop \(g.pick(stack.regs))\n"
            case 17: out += "j\(g.pick(cc)) \(g.next() % 2 == 0 ? "short" : "near") .L\(i)\ninc \(wd)\n.L\(i):\n"
            case 18: out += "call .C\(i)\njmp .E\(i)\n.C\(i):\n\(alu) \(d), \(s)\nret\n.E\(i):\n"
            case 19: out += g.pick(m.mode == .long64 ? ["cbw\n", "cwde\n", "cdqe\n", "cwd\n", "cdq\n", "cqo\n"] : ["cbw\n", "cwde\n", "cwd\n", "cdq\n"])
            case 20: out += "lea \(wd), [\(m.base)+\(m.index)*\(m.scale == 1 ? 1 : m.scale)+\(disp)]\n".replacingOccurrences(of: "*1+", with: "+")
            case 21:
                // A store into the immediate of an instruction still to run (self-modifying);
                // past the 66h prefix when the MOV has one.
                let prefixed = (m.mode == .real) != (w.bits == 16)
                out += "mov byte [\(m.labelRef(".P\(i) + \(prefixed ? 2 : 1)"))], \(g.next() % 256)\n.P\(i):\nmov \(w.bits == 16 ? "ax" : "eax"), 0x1234\nadd \(wd), \(w.bits == 16 ? "ax" : (w.bits == 32 ? "eax" : "rax"))\n"
            case 22: out += "nop\n"
            case 23: out += "xchg \(d), \(s)\n"                      // step()
            case 24: out += "bt \(wd), \(ws)\nbsf \(wd), \(ws)\n"     // step() (BSF of 0 keeps the destination on both paths)
            case 25: out += "\(g.pick(["stc", "clc", "cmc"]))\n\(g.pick(["adc", "sbb"])) \(d), \(s)\n"
            case 26:   // step()
                out += m.mode == .real ? "mov cx, 3\nmov di, 0x8100\nrep stosb\n"
                    : (m.mode == .prot32 ? "mov ecx, 3\nmov edi, 0x40100\nrep stosb\n" : "mov ecx, 3\nmov rdi, 0x40100\nrep stosb\n")
            case 27:
                // MOVS CMPS STOS LODS SCAS without REP, in either direction, with the address-size
                // and segment prefixes; then the index register the memory operands use, as set up.
                out += m16 ? "mov esi, 0x8200\nmov edi, 0x8300\n" : (m64 ? "mov rsi, 0x40200\nmov rdi, 0x40300\n" : "mov esi, 0x40200\nmov edi, 0x40300\n")
                out += g.pick(["cld\n", "std\n", ""])
                for _ in 0..<(1 + g.next() % 4) {
                    let suffix = g.pick(m64 ? ["b", "w", "d", "q"] : ["b", "w", "d"])
                    let prefix = g.pick(["", "", "", m.mode == .prot32 ? "" : "a32 ", "es ", "ss "])
                    out += "\(prefix)\(g.pick(["lods", "stos", "movs", "cmps", "scas"]))\(suffix)\n"
                }
                out += "cld\n" + (m16 ? "mov si, 0x40\n" : (m64 ? "mov rsi, 4\n" : "mov esi, 0x10\n"))
            case 28:
                // LOOP/LOOPE/LOOPNE (also with the other address size) and JrCXZ.
                let body = g.pick(w.regs.filter { !$0.contains("c") })
                // The count register's bits above the address size are set where that size is
                // narrower than the register: they must neither count nor change.
                let n = 1 + g.next() % 5
                let form = g.pick(["loop", "loope", "loopne", m16 ? "a32 loop" : (m64 ? "a32 loopne" : "a16 loop")])
                let narrow = m16 ? !form.hasPrefix("a32") : form.hasPrefix(m64 ? "a32" : "a16")
                out += !narrow ? "mov ecx, \(n)\n" : (m64 ? "mov rcx, 0x1_0000_000\(n)\n" : "mov ecx, 0x3000\(n)\n")
                out += ".Lp\(i):\n\(alu) \(body), \(g.pick(w.regs))\n\(form) .Lp\(i)\n"
                out += "\(g.pick(m16 ? ["jcxz", "a32 jcxz"] : (m64 ? ["jrcxz", "jecxz"] : ["jecxz", "a16 jcxz"]))) .Lz\(i)\ninc \(body)\n.Lz\(i):\n"
            case 29:
                // XLAT: AL <- [rBX + AL].
                // In 32-bit code also with a 16-bit address (BX + AL wraps at 64 KiB).
                out += (m64 ? "mov rbx, r15\n" : "") + g.pick(["xlatb\n", "es xlatb\n", m.mode == .prot32 ? "a16 xlatb\n" : "xlatb\n"])
            case 30: out += g.pick(["lahf\n\(alu) \(d), \(s)\nsahf\n", "mov ah, \(g.next() % 256)\nsahf\n", "lahf\n"])
            case 31:
                let stack = m64 ? m.sizes[3] : m.sizes[m16 ? 1 : 2]
                out += "\(m64 ? "pushfq" : (m16 ? "pushf" : "pushfd"))\npop \(g.pick(stack.regs))\n"
                if !m16 { out += "pushfw\npop \(g.pick(m.sizes[1].regs))\n" }
            case 32:
                // XCHG with memory, XADD, CMPXCHG, and LOCKed read-modify-writes.
                out += g.pick(["xchg \(d), \(sz.ptr) \(mem)\n", "xchg \(sz.ptr) \(mem), \(s)\n",
                               "xadd \(sz.ptr) \(mem), \(s)\n", "xadd \(d), \(s)\n", "lock xadd \(sz.ptr) \(mem), \(s)\n",
                               "cmpxchg \(sz.ptr) \(mem), \(s)\n", "lock cmpxchg \(sz.ptr) \(mem), \(s)\n", "cmpxchg \(d), \(s)\n",
                               "lock \(g.pick(["add", "or", "adc", "sbb", "and", "sub", "xor"])) \(sz.ptr) \(mem), \(s)\n",
                               "lock \(g.pick(["inc", "dec", "not", "neg"])) \(sz.ptr) \(mem)\n"])
            case 33:
                // MOV AL/AX/EAX/RAX <-> moffs.
                let acc = g.pick(m64 ? ["al", "ax", "eax", "rax"] : ["al", "ax", "eax"])
                let at = m16 ? "0x\(String(0x8000 + 2 * Int(g.next() % 128), radix: 16))"
                    : (m64 ? "qword 0x\(String(0x40000 + 2 * Int(g.next() % 128), radix: 16))" : "0x\(String(0x40000 + 2 * Int(g.next() % 128), radix: 16))")
                out += g.pick(["mov \(acc), [\(at)]\n", "mov [\(at)], \(acc)\n"])
            case 34:
                // POPCNT, LZCNT, and F3 0F BC (BSF here: TZCNT is not advertised).
                out += "\(g.pick(["popcnt", "lzcnt", "tzcnt"])) \(wd), \(g.pick([ws, "\(w.ptr) \(mem)"]))\n"
            case 35:
                // RET imm16 releasing an argument pushed before the CALL.
                let slot = m64 ? 8 : (m16 ? 2 : 4)
                out += "push \(g.next() % 100)\ncall .R\(i)\njmp .S\(i)\n.R\(i):\n\(alu) \(d), \(s)\nret \(slot)\n.S\(i):\n"
            case 36:
                // BT BTS BTR BTC on memory: a register offset (negative, or past the operand:
                // a bit string) or an immediate one (inside the operand); LOCK on the writers.
                // ADC reads the CF they leave.
                let offReg = w.bits == 16 ? "cx" : (w.bits == 32 ? "ecx" : "rcx")
                let bt = g.pick(["bt", "bts", "btr", "btc", "lock bts", "lock btc"])
                out += g.pick(["mov \(offReg), \(Int(g.next() % 240) - 40)\n\(bt) \(w.ptr) \(mem), \(offReg)\n",
                               "\(bt) \(w.ptr) \(mem), \(g.next() % 256)\n"])
                out += "adc \(wd), \(ws)\n"
            case 37:
                // PUSH r/m and POP r/m (FF /6, 8F /0): memory, the register forms, and a POP to
                // an address based on rSP (computed after rSP moves).
                let sp = m64 ? "qword" : (m16 ? "word" : "dword")
                let spReg = m64 ? "rsp" : "esp"
                var forms = ["push \(sp) \(mem)\npop \(sp) \(mem)\n", "push \(sp) \(mem)\nadd \(wd), \(ws)\npop \(g.pick((m64 ? m.sizes[3] : m.sizes[m16 ? 1 : 2]).regs))\n",
                             "db 0xFF, 0xF3\ndb 0x8F, 0xC2\n"]
                if !m16 { forms.append("push \(g.next() % 100)\npush \(g.next() % 100)\npop \(sp) [\(spReg)]\npush \(sp) [\(spReg)+\(m64 ? 8 : 4)]\npop \(sp) [\(spReg)+\(m64 ? 8 : 4)]\npop \(g.pick((m64 ? m.sizes[3] : m.sizes[2]).regs))\npop \(g.pick((m64 ? m.sizes[3] : m.sizes[2]).regs))\n") }
                out += g.pick(forms)
            case 38:
                // PAUSE (F3 90) and POPF in the subset (one that sets the arithmetic flags and
                // DF, then ADC; one that sets IF too, which is step()'s: an event check), next
                // to instructions outside it that step() runs from inside runBlocks (generic
                // ops): ENTER, CPUID (which writes the base register: set up again).
                let popf = m64 ? "popfq" : (m16 ? "popf" : "popfd")
                out += g.pick(["pause\n\(alu) \(d), \(s)\n", "\(m64 ? "pushfq" : (m16 ? "pushf" : "pushfd"))\n\(popf)\n",
                               "push 0x\(String(g.next() & 0xCD5, radix: 16))\n\(popf)\nadc \(d), \(s)\ncld\n",
                               "push 0x\(String(g.next() & 0xCD5 | 0x200, radix: 16))\n\(popf)\nsbb \(d), \(s)\ncld\n",
                               "enter 16, 0\n\(alu) \(d), \(s)\nleave\n", "cpuid\n" + m.setup])
            case 39:
                // REPE/REPNE CMPS and SCAS of every size, either direction, over a run that may
                // cross a page, with a byte planted at a random element: step()'s bulk compare
                // with the cache on, element by element with it off.
                let dbase = g.pick(m16 ? [0x8300, 0x8FF0] : [0x40300, 0x40FF0]), sbase = m16 ? 0x8200 : 0x40200
                let count = 1 + g.next() % 40
                let suffix = g.pick(m64 ? ["b", "w", "d", "q"] : ["b", "w", "d"])
                let down = g.next() % 2 == 0
                let end = Int(count) * (["b": 1, "w": 2, "d": 4, "q": 8][suffix] ?? 1)
                out += "mov byte [0x\(String(dbase + Int(g.next() % UInt64(end)), radix: 16))], \(g.next() % 256)\n"
                let (si, di, cx) = m16 ? ("esi", "edi", "ecx") : (m64 ? ("rsi", "rdi", "rcx") : ("esi", "edi", "ecx"))
                out += "mov \(si), 0x\(String(sbase + (down ? end : 0), radix: 16))\nmov \(di), 0x\(String(dbase + (down ? end : 0), radix: 16))\nmov \(cx), \(count)\n"
                out += (down ? "std\n" : "cld\n") + "\(g.pick(["repe", "repne"])) \(g.pick(["cmps", "scas"]))\(suffix)\n"
                out += "cld\n" + (m16 ? "mov si, 0x40\n" : (m64 ? "mov rsi, 4\n" : "mov esi, 0x10\n"))
            default: out += "\(alu) \(wd), \(ws)\n"
            }
        }
        out += "dec word [\(m.base)+0xF00]\njnz .top\nhlt\n"
        return out
    }

    static func runOnce(_ spec: ModeSpec, _ asm: String, cached: Bool) throws -> (Regs, UInt64, [UInt8], String) {
        let s = try Snippet(spec.mode, asm)
        s.ref.cpu.fastPath = cached
        let e = try s.run(300_000)
        let regs = try s.regs()
        let data = spec.mode == .real ? 0x18000 : 0x40000
        let mem = s.ram.read(at: data, count: 0x1000) + s.ram.read(at: Int(Snippet.codeBase), count: 0x8000)
            + s.ram.read(at: 0x70000, count: 0x10000)
        return (regs, s.ref.cpu.instructionsRetired, mem, "\(e)")
    }

    /// The general programs run in many KVM_RUNs of a few instructions each (each ends in a
    /// budget exit, and the next enters where it stopped, as after a timeout or a vCPU's
    /// quantum): registers, the retired count, memory and the end equal one run's. A count
    /// or a piece of state that a stop in the middle of a block (or of runBlocks' steps)
    /// loses or counts twice shows here.
    static func compareResumed(_ spec: ModeSpec, seed: UInt64) throws {
        let asm = program(spec, seed: seed, length: 200)
        let whole = try runOnce(spec, asm, cached: true)
        let s = try Snippet(spec.mode, asm)
        var g = Rng(s: seed ^ 0x2E5)
        var e = try s.run(1 + g.next() % 60)
        var entries = 1
        while "\(e)" == "timeout" && entries < 100_000 {
            e = try s.run(1 + g.next() % 60)
            entries += 1
        }
        let data = spec.mode == .real ? 0x18000 : 0x40000
        let mem = s.ram.read(at: data, count: 0x1000) + s.ram.read(at: Int(Snippet.codeBase), count: 0x8000)
            + s.ram.read(at: 0x70000, count: 0x10000)
        #expect("\(e)" == whole.3, "exit differs for seed \(seed) after \(entries) runs")
        #expect(s.ref.cpu.instructionsRetired == whole.1, "retired differs for seed \(seed): \(s.ref.cpu.instructionsRetired) vs \(whole.1)")
        #expect(try s.regs() == whole.0, "registers/flags differ for seed \(seed)")
        #expect(mem == whole.2, "memory differs for seed \(seed)")
    }

    static func compare(_ spec: ModeSpec, seed: UInt64) throws {
        let asm = program(spec, seed: seed, length: 300)
        let a = try runOnce(spec, asm, cached: true)
        let b = try runOnce(spec, asm, cached: false)
        #expect(a.3 == b.3, "exit differs for seed \(seed): \(a.3) vs \(b.3)")
        #expect(a.1 == b.1, "retired differs for seed \(seed)")
        #expect(a.0 == b.0, "registers/flags differ for seed \(seed)")
        #expect(a.2 == b.2, "memory differs for seed \(seed)")
    }

    /// Dead-flag elimination (FlagLiveness.swift) must never show: stopped after any number
    /// of instructions (the limit cuts blocks anywhere, as a timer deadline or a vCPU's
    /// quantum does), the cached run's registers and RFLAGS equal step()'s. The programs are
    /// long runs of register arithmetic, where most flags are dead, in a counted loop.
    static func flagProgram(_ bits: Int, seed: UInt64) -> String {
        var g = Rng(s: seed)
        let regs = bits == 64 ? ["rax", "rbx", "rdx", "rsi", "rdi", "r8", "r9"] : ["eax", "ebx", "edx", "esi", "edi", "ebp"]
        let counter = bits == 64 ? "rcx" : "ecx"
        var out = regs.enumerated().map { "mov \($1), \(0x1234_5678 &* ($0 + 3))\n" }.joined()
        out += "mov \(counter), 40\n.top:\n"
        for _ in 0..<(8 + Int(g.next() % 24)) {
            let d = g.pick(regs), s = g.pick(regs)
            switch g.next() % 10 {
            case 0, 1, 2: out += "\(g.pick(["add", "sub", "xor", "and", "or", "cmp", "test"])) \(d), \(s)\n"
            case 3: out += "\(g.pick(["add", "sub", "xor", "and", "or", "cmp"])) \(d), \(Int(g.next() % 0x7FFF_FFFF) - 0x4000_0000)\n"
            case 4: out += "\(g.pick(["inc", "dec", "neg", "not"])) \(d)\n"
            case 5: out += "imul \(d), \(s), \(Int(g.next() % 1000) - 500)\n"
            case 6: out += "\(g.pick(["shl", "shr", "sar"])) \(d), \(1 + g.next() % 31)\n"
            case 7: out += "mov \(d), \(s)\n"
            case 8: out += "\(g.pick(["adc", "sbb"])) \(d), \(s)\n"
            default: out += "lea \(d), [\(d) + \(s) * 2 + 7]\n"
            }
        }
        out += "dec \(counter)\njnz .top\nhlt\n"
        return out
    }

    static func compareAtStops(_ mode: Snippet.Mode, bits: Int, seed: UInt64) throws {
        let asm = flagProgram(bits, seed: seed)
        var g = Rng(s: seed ^ 0x5107)
        for _ in 0..<16 {
            let stop = 1 + g.next() % 600
            let a = try runStopped(mode, asm, cached: true, stop)
            let b = try runStopped(mode, asm, cached: false, stop)
            #expect(a == b, "registers/flags differ for seed \(seed) stopped after \(stop): \(a) vs \(b)")
        }
    }

    static func runStopped(_ mode: Snippet.Mode, _ asm: String, cached: Bool, _ stop: UInt64) throws -> Regs {
        try runStoppedCounting(mode, asm, cached: cached, stop).0
    }

    static func runStoppedCounting(_ mode: Snippet.Mode, _ asm: String, cached: Bool, _ stop: UInt64) throws -> (Regs, UInt64) {
        let s = try Snippet(mode, asm)
        s.ref.cpu.fastPath = cached
        try s.run(stop)
        return (try s.regs(), s.ref.cpu.instructionsRetired)
    }

    /// The general programs stopped anywhere: registers and the retired count equal step()'s
    /// (a block whose last instruction is a branch taken exactly at the limit was once counted
    /// twice: 13 instructions retired too many, with the same RIP).
    static func compareRetiredAtStops(_ spec: ModeSpec, seed: UInt64) throws {
        let asm = program(spec, seed: seed, length: 120)
        var g = Rng(s: seed ^ 0x7E71)
        for _ in 0..<12 {
            let stop = 1 + g.next() % 400
            let a = try runStoppedCounting(spec.mode, asm, cached: true, stop)
            let b = try runStoppedCounting(spec.mode, asm, cached: false, stop)
            #expect(a.0 == b.0, "registers/flags differ for seed \(seed) stopped after \(stop)")
            #expect(a.1 == b.1, "retired differs for seed \(seed) stopped after \(stop): \(a.1) vs \(b.1)")
        }
    }

    @Test(arguments: 0..<6) func retiredAtStops32(_ seed: Int) throws { try Self.compareRetiredAtStops(Self.prot32, seed: 0xDE32_0000 &+ UInt64(seed)) }
    @Test(arguments: 0..<6) func retiredAtStops64(_ seed: Int) throws { try Self.compareRetiredAtStops(Self.long64, seed: 0xDE64_0000 &+ UInt64(seed)) }
    @Test(arguments: 0..<6) func retiredAtStops16(_ seed: Int) throws { try Self.compareRetiredAtStops(Self.real, seed: 0xDE16_0000 &+ UInt64(seed)) }

    @Test(arguments: 0..<8) func stopsAnywhere64(_ seed: Int) throws { try Self.compareAtStops(.long64, bits: 64, seed: 0xDF64_0000 &+ UInt64(seed)) }
    @Test(arguments: 0..<8) func stopsAnywhere32(_ seed: Int) throws { try Self.compareAtStops(.prot32, bits: 32, seed: 0xDF32_0000 &+ UInt64(seed)) }

    @Test(arguments: 0..<4) func resumed16(_ seed: Int) throws { try Self.compareResumed(Self.real, seed: 0xE516_0000 &+ UInt64(seed)) }
    @Test(arguments: 0..<4) func resumed32(_ seed: Int) throws { try Self.compareResumed(Self.prot32, seed: 0xE532_0000 &+ UInt64(seed)) }
    @Test(arguments: 0..<4) func resumed64(_ seed: Int) throws { try Self.compareResumed(Self.long64, seed: 0xE564_0000 &+ UInt64(seed)) }

    @Test(arguments: 0..<24) func realMode(_ seed: Int) throws { try Self.compare(Self.real, seed: 0xDC16_0000 &+ UInt64(seed)) }
    @Test(arguments: 0..<24) func protectedMode32(_ seed: Int) throws { try Self.compare(Self.prot32, seed: 0xDC32_0000 &+ UInt64(seed)) }
    @Test(arguments: 0..<24) func longMode64(_ seed: Int) throws { try Self.compare(Self.long64, seed: 0xDC64_0000 &+ UInt64(seed)) }

    /// The generated programs run to their HLT (a program that faulted early would compare
    /// little), and the cache really ran most of them.
    @Test func programsRunToTheEndThroughTheCache() throws {
        for spec in [Self.real, Self.prot32, Self.long64] {
            let s = try Snippet(spec.mode, Self.program(spec, seed: 7, length: 300))
            let e = try s.run(300_000)
            #expect("\(e)" == "hlt", "\(spec.mode): \(e)")
            let c = s.ref.cpu.decodeCache
            #expect(c.blocksBuilt > 0)
            #expect(c.staleBlocks > 0, "\(spec.mode): the program's own stores made blocks stale")
        }
    }

    /// The ops of a block in the cache's table.
    static func ops(_ c: DecodeCache, _ e: DecodeCache.Entry) -> [DecodedOp] {
        (0..<Int(e.opCount)).map { c.ops[Int(e.firstOp) + $0] }
    }

    /// The ops of every block in the cache's table.
    static func blocks(_ c: DecodeCache) -> [[DecodedOp]] {
        (0..<DecodeCache.tableSize).filter { c.table[$0].host != 0 }.map { ops(c, c.table[$0]) }
    }

    /// A block goes on past a Jcc (DecodedOp.endsBlock): a loop whose body branches forward
    /// on a condition that is never true runs its whole body in one block. And one that would
    /// go on past a backward Jcc (a loop's last) to more bytes than a link keeps a copy of
    /// ends after that Jcc (buildBlock), so an exit loop's blocks are rechecked inline after
    /// every KVM_RUN.
    @Test func blocksGoOnPastAJccWithinTheLinkCopy() throws {
        let loop = """
            mov ecx, 10
            .top:
            add eax, 1
            test eax, 0x1000
            jnz .never
            add ebx, eax
            dec ecx
            jnz .top
            hlt
            .never:
            hlt
            """
        let s = try Snippet(.long64, loop)
        #expect("\(try s.run(10_000))" == "hlt")
        #expect(try s.regs().rbx == 55)
        #expect(Self.blocks(s.ref.cpu.decodeCache).contains { $0.dropLast().contains { $0.kind == .jcc } },
                "a block goes on past its JNZ .never")

        // The loop is 21 bytes from its MOV to its JNZ; 12 ADDs of 6 bytes follow it.
        let long = "mov ecx, 10\n.top:\nadd eax, 1\ntest eax, 0x1000\njnz .never\nadd ebx, eax\ndec ecx\njnz .top\n"
            + String(repeating: "add edx, 0x12345678\n", count: 12) + "hlt\n.never:\nhlt\n"
        let t = try Snippet(.long64, long)
        #expect("\(try t.run(10_000))" == "hlt")
        let c = t.ref.cpu.decodeCache
        var checked = 0
        for slot in 0..<DecodeCache.tableSize where c.table[slot].host != 0 {
            let e = c.table[slot]
            let jccWithinCopy = Self.ops(c, e).contains {
                ($0.kind == .jcc || $0.kind == .jccBack) && Int64(bitPattern: $0.imm) < 0 && Int($0.end) <= DecodeCache.linkCopyBytes
            }
            #expect(Int(e.byteCount) <= DecodeCache.linkCopyBytes || !jccWithinCopy,
                    "a block of \(e.byteCount) bytes goes on past a backward Jcc that ends within \(DecodeCache.linkCopyBytes)")
            checked += 1
        }
        #expect(checked >= 2)
        #expect(try t.regs().rdx == UInt64(12 * 0x12345678) & 0xFFFF_FFFF)
    }

    /// A block goes on at the target of a JMP forward in 32/64-bit code (jmpAhead): the path
    /// through an if/else is one block. The op after the JMP is the target's instruction: its
    /// RIP (here, an MMIO read's exit, which leaves RIP on the load; or where step() goes on
    /// when the executor stops in front of it) is the target's. Real-mode
    /// code (16-bit IP, which wraps) keeps its JMPs.
    @Test func blocksGoOnAtAForwardJMP() throws {
        let diamond = """
            mov ecx, 10
            .top:
            add eax, 1
            test eax, 1
            jz .even
            add ebx, eax
            jmp .join
            .even:
            sub ebx, 3
            .join:
            dec ecx
            jnz .top
            mov rdx, .load
            mov esi, 0x200000
            jmp .load
            times 10 inc edi
            .load:
            mov eax, [rsi]
            hlt
            """
        let s = try Snippet(.long64, diamond)
        let e = try s.run(10_000)
        guard case .mmio(let m) = e else { Issue.record("expected the load's MMIO exit, got \(e)"); return }
        #expect(m.physicalAddress == 0x200000 && !m.isWrite)
        let r = try s.regs()
        #expect(r.rbx == 25 &- 15, "odd counts 1+3+5+7+9 added, five SUBs of 3")
        #expect(r.rip == r.rdx, "RIP at the exit is the load's, at the JMP's target")
        #expect(r.rdi == 0, "the ten INC EDI the JMP skips never run")
        let blocks = Self.blocks(s.ref.cpu.decodeCache)
        #expect(blocks.contains { b in b.dropLast().contains { $0.kind == .jmpAhead } && (b.last?.kind == .jcc || b.last?.kind == .jccBack) },
                "the path through JMP .join goes on to DEC and JNZ in one block")
        #expect(blocks.contains { b in
                    zip(b, b.dropFirst()).contains { $0.kind == .jmpAhead && $1.kind == .load4 }
                }, "JMP .load over ten INC EDI goes on at the load")

        let real = try Snippet(.real, "mov cx, 3\n.top:\ninc ax\njmp .n\nnop\n.n:\ndec cx\njnz .top\nhlt\n")
        #expect("\(try real.run(1_000))" == "hlt")
        #expect(try real.regs().rax & 0xFFFF == 3)
        #expect(!Self.blocks(real.ref.cpu.decodeCache).contains { $0.contains { $0.kind == .jmpAhead } })
    }

    /// A Jcc or JMP back to its own block's first byte (jccBack, jmpBack: a loop whose body is
    /// one block) goes round again in place, checking only the instruction limit: stopped
    /// after any number of instructions, registers, flags and the retired count equal step()'s
    /// (a limit check left out runs past the stop; a wrong op count counts wrong), and the
    /// sums come out as a model of the two loops computes them.
    @Test func loopsOfOneBlockGoRoundInPlace() throws {
        for (mode, bits) in [(Snippet.Mode.real, 16), (.prot32, 32), (.long64, 64)] {
            let (a, b, c) = bits == 16 ? ("ax", "bx", "cx") : bits == 32 ? ("eax", "ebx", "ecx") : ("rax", "rbx", "rcx")
            let asm = """
                mov \(c), 30
                .top:
                add \(a), \(c)
                xor \(b), \(a)
                dec \(c)
                jnz .top
                mov \(c), 20
                .again:
                add \(b), 3
                dec \(c)
                jz .out
                jmp .again
                .out:
                hlt
                """
            var ra: UInt64 = 0, rb: UInt64 = 0
            for k in stride(from: UInt64(30), to: 0, by: -1) { ra &+= k; rb ^= ra }
            rb &+= 60
            let total: UInt64 = 1 + 30 * 4 + 1 + 20 * 4 - 1
            let s = try Snippet(mode, asm)
            #expect("\(try s.run(10_000))" == "hlt")
            let r = try s.regs()
            #expect(r.rax & 0xFFFF == ra && r.rbx & 0xFFFF == rb, "\(mode): sums \(r.rax) \(r.rbx), model \(ra) \(rb)")
            #expect(s.ref.cpu.instructionsRetired == total + 1, "\(mode): \(total) instructions and the HLT")
            let blocks = Self.blocks(s.ref.cpu.decodeCache)
            #expect(blocks.contains { $0.contains { $0.kind == .jccBack } }, "\(mode): JNZ .top goes back to its block's start")
            #expect(blocks.contains { $0.last?.kind == .jmpBack }, "\(mode): JMP .again goes back to its block's start")
            for stop in 1...(total + 2) {
                let x = try Self.runStoppedCounting(mode, asm, cached: true, stop)
                let y = try Self.runStoppedCounting(mode, asm, cached: false, stop)
                #expect(x.0 == y.0, "\(mode): registers/flags differ stopped after \(stop)")
                #expect(x.1 == y.1, "\(mode): retired differs stopped after \(stop): \(x.1) vs \(y.1)")
            }
        }
    }

    /// After an exit from inside a block (an MMIO read or write, an IN, an OUT), the next
    /// KVM_RUN goes on with the rest of that block (recordResume: a link into its middle), and
    /// its branch back to its start (jccBack) runs it whole again. Between two runs the host
    /// writes code: before the exits (run again only through the branch back) and after one
    /// of them. Every exit, the registers and the retired count at each equal step()'s (the
    /// cache off), and the sums are those of a model of the loop with the two changes: ADD
    /// EBX, 1 becomes ADD EBX, 7 after iteration 3's MMIO read (three 1s, three 7s), ADD EBP,
    /// 2 becomes ADD EBP, 9 after iteration 3's OUT (two 2s, four 9s).
    @Test func exitsResumeInsideTheirBlock() throws {
        let asm = """
            mov esi, 0x200000
            mov ecx, 6
            .top:
            add ebx, 1
            mov eax, [rsi]
            add edi, eax
            out 0x80, al
            add ebp, 2
            in al, 0x81
            mov [rsi], edi
            dec ecx
            jnz .top
            hlt
            """
        func run(_ cached: Bool) throws -> (log: [String], regs: Regs, midLinks: Int) {
            let s = try Snippet(.long64, asm)
            s.ref.cpu.fastPath = cached
            let code = s.ram.read(at: Int(Snippet.codeBase), count: 64)
            func at(_ pattern: [UInt8]) -> Int {
                let i = (0...(code.count - pattern.count)).first { Array(code[$0..<($0 + pattern.count)]) == pattern }!
                return Int(Snippet.codeBase) + i + pattern.count - 1
            }
            let ebxImm = at([0x83, 0xC3, 0x01]), ebpImm = at([0x83, 0xC5, 0x02])
            var log: [String] = [], reads = 0, outs = 0
            for _ in 0..<100 {
                let e = try s.run()
                let r = try s.regs()
                log.append("\(e) rip \(r.rip) rax \(r.rax) rbx \(r.rbx) rdi \(r.rdi) rbp \(r.rbp) retired \(s.ref.cpu.instructionsRetired)")
                if case .mmio(let m) = e, !m.isWrite {
                    reads += 1
                    s.vcpu.completeMMIORead(value: 0x10 &* UInt64(reads), byteCount: 4)
                    if reads == 3 { s.ram.write([7], at: ebxImm) }
                } else if case .io(let io) = e {
                    if io.direction == .in { s.vcpu.completeIO(value: 0x5A, byteCount: 1) } else { outs += 1 }
                    if outs == 3 && io.direction == .out { s.ram.write([9], at: ebpImm) }
                } else if case .mmio = e {
                } else { break }
            }
            let c = s.ref.cpu.decodeCache
            let mid = (0..<(2 * DecodeCache.tableSize)).filter { c.links[$0].skip != 0 }.count
            return (log, try s.regs(), mid)
        }
        let on = try run(true), off = try run(false)
        #expect(on.log.count == off.log.count, "\(on.log.count) vs \(off.log.count) exits")
        for (i, (x, y)) in zip(on.log, off.log).enumerated() where x != y {
            Issue.record("exit \(i): cache on \(x)\ncache off \(y)")
            break
        }
        #expect(on.log.last?.hasPrefix("hlt") == true, "ran to its HLT: \(on.log.last ?? "")")
        #expect(on.log.count == 6 * 4 + 1, "four exits an iteration, then HLT")
        #expect(on.regs.rbx == 3 * 1 + 3 * 7 && on.regs.rbp == 2 * 2 + 4 * 9, "rbx \(on.regs.rbx) rbp \(on.regs.rbp)")
        #expect(on.regs.rdi == 0x10 * (1 + 2 + 3 + 4 + 5 + 6), "the six reads' data added")
        // A block keeps links to its two latest successors: two of the four resume points.
        #expect(on.midLinks >= 2, "exits resumed inside their block: \(on.midLinks) links into a block's middle")
    }

    /// The cache's memory is bounded: a program far larger than its pools flushes and
    /// refills, and its footprint never exceeds the bound.
    @Test func boundedMemory() throws {
        var asm = "mov ecx, 3\n.top:\n"
        for i in 0..<9000 { asm += "add eax, \(i)\njmp .N\(i)\n.N\(i):\n" }
        asm += "dec ecx\njnz .top\nhlt\n"
        let s = try Snippet(.long64, asm, ramSize: 0x200000)
        let e = try s.run(1_000_000)
        #expect("\(e)" == "hlt")
        let c = s.ref.cpu.decodeCache
        #expect(c.flushes > 0, "27,000 blocks overflow the pools")
        #expect(c.peakBytes <= DecodeCache.footprintBytes)
        // 32 bytes: the pool's size, and op counts from pointer differences are shifts.
        #expect(MemoryLayout<DecodedOp>.stride == 32)
        #expect(try s.regs().rax == UInt64(3 * (0..<9000).reduce(0, +)) & 0xFFFF_FFFF)
    }

    /// Block links outlive a runBlocks call and a KVM_RUN, trusted while no fetch-TLB entry
    /// changed (CPU.codeGeneration). These programs call linear page 0x70000 from one call
    /// site, whose link goes to the code of physical page A, then map the page to B; the
    /// next call must run B's code as step() does. Page tables: PML4 0x8D000, PDPT 0x8E000,
    /// PD 0x8F000, 4K page tables 0x90000 (0-2 MiB, identity but 0x70000 -> A) and 0x91000
    /// (2-4 MiB: only 0x270000 -> C, which shares 0x70000's TLB index).
    static func remapProgram(_ change: String) -> String {
        """
        mov rdi, 0x90000
        mov rax, 7
        mov ecx, 512
        .pt:
        mov [rdi], rax
        add rax, 0x1000
        add rdi, 8
        dec ecx
        jnz .pt
        mov qword [0x90000 + 0x70 * 8], 0x60007
        mov qword [0x91000 + 0x70 * 8], 0x62007
        mov qword [0x8F000], 0x90007
        mov qword [0x8F008], 0x91007
        mov qword [0x8E000], 0x8F007
        mov qword [0x8D000], 0x8E007
        mov rax, 0x8D000
        mov cr3, rax
        xor r8, r8
        mov r9, 4
        .top:
        call 0x70000
        add r8, rax
        cmp r9, 2
        jne .skip
        mov qword [0x90000 + 0x70 * 8], 0x61007
        \(change)
        .skip:
        dec r9
        jnz .top
        hlt
        """
    }

    static func runRemap(_ change: String, cached: Bool) throws -> UInt64 {
        let s = try Snippet(.long64, Self.remapProgram(change))
        s.ref.cpu.fastPath = cached
        s.ram.write([0xB8, 1, 0, 0, 0, 0xC3], at: 0x60000)     // A: mov eax, 1; ret
        s.ram.write([0xB8, 2, 0, 0, 0, 0xC3], at: 0x61000)     // B: mov eax, 2; ret
        s.ram.write([0xC3], at: 0x62000)                       // C: ret
        let e = try s.run(100_000)
        #expect("\(e)" == "hlt")
        return try s.regs().r8
    }

    /// INVLPG after the PTE write: A, A, A, then B (SDM Vol. 3A 4.10.4.1).
    @Test func linkAfterINVLPG() throws {
        #expect(try Self.runRemap("invlpg [0x70000]", cached: true) == 5)
        #expect(try Self.runRemap("invlpg [0x70000]", cached: false) == 5)
    }

    /// No INVLPG, but a fetch from 0x270000 takes the TLB entry of 0x70000 (same index):
    /// the next fetch from 0x70000 walks the new tables and finds B.
    @Test func linkAfterFetchTLBEviction() throws {
        #expect(try Self.runRemap("call 0x270000", cached: true) == 5)
        #expect(try Self.runRemap("call 0x270000", cached: false) == 5)
    }

    /// Per-flag liveness (FlagLiveness.swift): an op is dead only when every flag it writes
    /// is written again before anything reads it. Blocks built so that this is decided by
    /// single flags: a full writer, then ops that write some flags (INC/DEC keep CF, ROL/ROR
    /// write only CF and OF), then a consumer of one condition (SETcc, CMOVcc), then a full
    /// writer that makes everything before it dead unless the consumer reads it. Registers and
    /// RFLAGS with the cache on must equal step()'s (cache off).
    @Test(arguments: 0..<16) func perFlagLiveness(_ seed: Int) throws {
        var g = Rng(s: 0xF1A6_0000 &+ UInt64(seed))
        let r = ["eax", "ebx", "edx", "esi", "edi", "ebp", "r8d", "r9d"]
        let r8 = ["al", "bl", "dl", "sil", "dil", "bpl", "r8b", "r9b"]
        let cc = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]
        var asm = ""
        for x in r { asm += "mov \(x), 0x\(String(g.next() & 0xFFFF_FFFF, radix: 16))\n" }
        for _ in 0..<60 {
            asm += "\(g.pick(["add", "sub", "xor", "and", "or", "cmp", "imul"])) \(g.pick(r)), \(g.pick(r))\n"
            for _ in 0..<Int(g.next() % 3) {
                asm += g.pick(["inc \(g.pick(r))\n", "dec \(g.pick(r))\n", "rol \(g.pick(r)), \(1 + g.next() % 31)\n",
                               "ror \(g.pick(r)), \(1 + g.next() % 31)\n"])
            }
            asm += g.pick(["set\(g.pick(cc)) \(g.pick(r8))\n", "cmov\(g.pick(cc)) \(g.pick(r)), \(g.pick(r))\n"])
            asm += "\(g.pick(["add", "sub", "xor", "imul"])) \(g.pick(r)), \(g.pick(r))\n"
        }
        asm += "hlt\n"
        var results: [Regs] = []
        for cached in [true, false] {
            let s = try Snippet(.long64, asm)
            s.ref.cpu.fastPath = cached
            #expect("\(try s.run(100_000))" == "hlt")
            results.append(try s.regs())
        }
        #expect(results[0] == results[1], "seed \(seed): cache on \(results[0])\ncache off \(results[1])")
    }

    /// A 32-bit protected-mode program run to its HLT with the cache on, then off.
    static func runToHLTBothWays(_ asm: String) throws -> [(cached: Bool, regs: Regs)] {
        try [true, false].map { cached in
            let s = try Snippet(.prot32, asm)
            s.ref.cpu.fastPath = cached
            #expect("\(try s.run(100_000))" == "hlt", "cache \(cached ? "on" : "off")")
            return (cached, try s.regs())
        }
    }

    /// The same link under another CS: block S (`jmp eax`, eax = T1) has a link to the code
    /// at linear T1, recorded under a CS based at 0. After a far JMP to a CS based at
    /// 0x1000, the same RIP T1 is linear T1 + 0x1000 (T2), whose code adds 100, not 1.
    @Test func linkAfterCSBaseChange() throws {
        let asm = """
        mov dword [0x6018], 0x1000FFFF
        mov dword [0x601C], 0x00CF9A00
        lgdt [gdtr]
        xor esi, esi
        mov ecx, 3
        .warm:
        mov eax, T1
        call S
        dec ecx
        jnz .warm
        jmp 0x18:(cs2 - 0x1000)
        cs2:
        mov eax, T1
        call S
        hlt
        gdtr: dw 31
        dd 0x6000
        align 4096
        S: jmp eax
        align 16
        T1: add esi, 1
        ret
        times T1 + 0x1000 - $ db 0xCC
        T2: add esi, 100
        ret
        """
        for (cached, r) in try Self.runToHLTBothWays(asm) {
            #expect(r.rsi == 103, "cache \(cached ? "on" : "off")")
        }
    }

    /// The same link under another default operand size: block S and the code at T were
    /// decoded as 32-bit code (T: MOV EAX, 12345678H); after a far JMP to a 16-bit CS with
    /// the same base, S is JMP AX to the same RIP, where the bytes are MOV AX, 5678H and
    /// XOR AL, 12H.
    @Test func linkAfterCSSizeChange() throws {
        let asm = """
        mov dword [0x6018], 0x0000FFFF
        mov dword [0x601C], 0x00CF9A01
        mov dword [0x6020], 0x0000FFFF
        mov dword [0x6024], 0x00009A01
        lgdt [gdtr]
        jmp 0x18:(c32 - 0x10000)
        c32:
        mov ecx, 3
        .warm:
        mov eax, T - 0x10000
        call S
        dec ecx
        jnz .warm
        mov edi, eax
        jmp 0x20:(c16 - 0x10000)
        bits 16
        c16:
        mov eax, T - 0x10000
        call S
        hlt
        bits 32
        gdtr: dw 39
        dd 0x6000
        align 4096
        S: jmp eax
        T: mov eax, 0x12345678
        ret
        """
        for (cached, r) in try Self.runToHLTBothWays(asm) {
            #expect(r.rdi == 0x1234_5678 && r.rax == 0x566A, "cache \(cached ? "on" : "off"): eax \(String(r.rax, radix: 16))")
        }
    }
}
