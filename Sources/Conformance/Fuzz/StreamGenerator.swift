// Random instruction streams for `kvm-unit fuzz`: integer instruction forms in every
// width, on registers and on a 64-byte memory cell at [R15 + disp8], with operand values
// biased to the edges. The generator tracks which arithmetic flags are defined after each
// instruction (SDM Vol. 2 "Flags Affected" of each form), never emits an instruction that
// reads an undefined flag, and gives the mask of flags defined at the end, so no
// difference in undefined behaviour (the host is AMD, the engine models Intel) is reported.

/// SplitMix64: seeded, reproducible on every platform.
public struct FuzzRNG: Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func pick<T>(_ a: [T]) -> T { a[below(a.count)] }

    /// A value biased to the edges of the widths: 0, 1, all ones, the signed extremes of
    /// 8/16/32/64 bits, small numbers, or anything.
    mutating func edgeValue() -> UInt64 {
        switch below(4) {
        case 0: return pick([0, 1, 2, ~0, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000,
                             0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000])
        case 1: return UInt64(below(64))
        case 2: return ~UInt64(below(64))
        default: return next()
        }
    }
}

/// RFLAGS arithmetic bits.
public enum FuzzFlags {
    public static let cf: UInt64 = 0x1, pf: UInt64 = 0x4, af: UInt64 = 0x10, zf: UInt64 = 0x40
    public static let sf: UInt64 = 0x80, of: UInt64 = 0x800
    public static let arith: UInt64 = cf | pf | af | zf | sf | of
}

/// One generated instruction: its bytes, its form (for the summary), a readable text, and
/// what it does to the defined-flags state.
public struct FuzzInstruction: Sendable, Equatable {
    public let bytes: [UInt8]
    public let form: String
    public let text: String
    /// Flags it reads (must be defined before it).
    let reads: UInt64
    /// Flags it leaves defined / undefined; the rest keep their state.
    let defines: UInt64
    let undefines: UInt64

    func apply(_ known: UInt64) -> UInt64 { (known & ~undefines) | defines }
}

/// A program: set-up values and the stream.
public struct FuzzProgram: Sendable, Equatable {
    /// RAX..R15 (index 4, RSP, and 15, R15, are set by the harness).
    public var registers: [UInt64]
    public var memory: [UInt64]          // eight qwords at [R15]
    public var flags: UInt64             // arithmetic flags in
    public var instructions: [FuzzInstruction]
    /// The last instruction's memory operand reaches the not-present page after the cell
    /// (R15 = the template's edge cell): the program ends in a #PF.
    public var faults = false
    /// The stream has x87 memory forms, which KVM's emulator does not implement (emulate.c
    /// has only FNINIT/FNSTCW/FNSTSW of the x87): the cell stays in RAM on every implementation.
    public var ramOnly: Bool { instructions.contains { $0.form.hasPrefix("x87 ") } }

    /// The arithmetic flags defined after the stream; a faulting last instruction changes
    /// none (the fault delivers RFLAGS as before it).
    public var definedFlags: UInt64 {
        (faults ? instructions.dropLast() : instructions[...]).reduce(FuzzFlags.arith) { $1.apply($0) }
    }
}

public struct StreamGenerator: Sendable {
    /// Registers a stream may name: not RSP (the stack), not R15 (the memory base).
    static let usable = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    static let names64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                          "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
    static let aluNames = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]
    static let shiftNames = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"]
    static let ccNames = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]

    public var rng: FuzzRNG
    public var maxLength: Int
    /// While set, rm() gives a memory operand that reaches past the 64-byte cell into the
    /// not-present page (crossing into it, or inside it), and notes that it did.
    var faultOperand = false
    var usedFaultOperand = false

    public init(seed: UInt64, maxLength: Int = 8) {
        rng = FuzzRNG(seed: seed)
        self.maxLength = maxLength
    }

    public mutating func program() -> FuzzProgram {
        var regs = (0..<16).map { _ in rng.edgeValue() }
        regs[4] = 0
        regs[15] = 0
        let memory = (0..<8).map { _ in rng.edgeValue() }
        let flags = rng.next() & FuzzFlags.arith
        var known = FuzzFlags.arith
        var stream: [FuzzInstruction] = []
        let faults = rng.below(8) == 0
        let length = 1 + rng.below(maxLength)
        for i in 0..<length {
            let last = faults && i == length - 1
            faultOperand = last
            var insn: FuzzInstruction
            repeat {
                usedFaultOperand = false
                insn = instruction()
            } while insn.reads & ~known != 0 || (last && !usedFaultOperand)
            faultOperand = false
            known = insn.apply(known)
            stream.append(insn)
        }
        return FuzzProgram(registers: regs, memory: memory, flags: flags, instructions: stream, faults: faults)
    }

    // MARK: operands and encoding

    enum Operand { case reg(Int), mem(UInt8) }

    mutating func reg() -> Int { rng.pick(Self.usable) }
    mutating func width() -> Int { rng.pick([8, 16, 32, 64]) }
    mutating func rm(_ w: Int) -> Operand {
        if faultOperand {
            // a disp8 whose access ends past byte 63 of the cell: 64 - size + 1 ... 127
            usedFaultOperand = true
            let first = 64 - w / 8 + 1
            return .mem(UInt8(first + rng.below(128 - first)))
        }
        return rng.below(2) == 0 ? .reg(reg()) : .mem(UInt8(rng.below(64 - w / 8 + 1)))
    }

    static func regName(_ r: Int, _ w: Int) -> String {
        let n = names64[r]
        switch w {
        case 64: return n
        case 32: return r >= 8 ? n + "d" : "e" + n.dropFirst()
        case 16: return r >= 8 ? n + "w" : String(n.dropFirst())
        default:
            if r >= 8 { return n + "b" }
            return ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"][r]
        }
    }

    static func text(_ o: Operand, _ w: Int) -> String {
        switch o {
        case .reg(let r): return regName(r, w)
        case .mem(let d): return "\(["byte", "word", "dword", "qword"][w == 8 ? 0 : w == 16 ? 1 : w == 32 ? 2 : 3]) [r15+\(d)]"
        }
    }

    static func kind(_ o: Operand, _ w: Int) -> String {
        if case .mem = o { return "m\(w)" }
        return "r\(w)"
    }

    /// Prefixes, REX (always present, so byte registers 4-7 are SPL..DIL), opcode, ModRM
    /// (and disp8 for [R15 + disp8]), immediate.
    static func encode(_ w: Int, _ opcode: [UInt8], reg: Int, _ rm: Operand, imm: [UInt8] = [], rexW: Bool? = nil) -> [UInt8] {
        var b: [UInt8] = []
        if w == 16 { b.append(0x66) }
        let rmReg: Int
        switch rm { case .reg(let r): rmReg = r; case .mem: rmReg = 15 }
        let wbit: UInt8 = (rexW ?? (w == 64)) ? 0x08 : 0
        b.append(0x40 | wbit | UInt8((reg >> 3) & 1) << 2 | UInt8((rmReg >> 3) & 1))
        b += opcode
        switch rm {
        case .reg(let r): b.append(0xC0 | UInt8(reg & 7) << 3 | UInt8(r & 7))
        case .mem(let d): b += [0x40 | UInt8(reg & 7) << 3 | 7, d]
        }
        return b + imm
    }

    static func le(_ v: UInt64, _ bytes: Int) -> [UInt8] { (0..<bytes).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    // MARK: the forms

    static let logicDefines = FuzzFlags.cf | FuzzFlags.of | FuzzFlags.sf | FuzzFlags.zf | FuzzFlags.pf

    static func ccReads(_ cc: Int) -> UInt64 {
        let f = FuzzFlags.self
        switch cc / 2 {
        case 0: return f.of
        case 1: return f.cf
        case 2: return f.zf
        case 3: return f.cf | f.zf
        case 4: return f.sf
        case 5: return f.pf
        case 6: return f.sf | f.of
        default: return f.zf | f.sf | f.of
        }
    }

    static func aluFlags(_ op: Int) -> (reads: UInt64, defines: UInt64, undefines: UInt64) {
        switch op {
        case 1, 4, 6: return (0, logicDefines, FuzzFlags.af)         // OR AND XOR: AF undefined
        case 2, 3: return (FuzzFlags.cf, FuzzFlags.arith, 0)         // ADC SBB read CF
        default: return (0, FuzzFlags.arith, 0)
        }
    }

    /// A balanced x87 sequence on the cell (FLD ... FSTP/FISTP, so the register stack is
    /// empty after it): arithmetic with a memory operand, integer loads and stores, one-operand
    /// ops, and the P forms on two loaded values. FCW is FNINIT's (all exceptions masked,
    /// round to nearest, 64-bit precision), so every result is defined; the status word's
    /// sticky flags are not compared. Flags in RFLAGS are not touched.
    mutating func x87() -> FuzzInstruction {
        func m(_ opcode: UInt8, _ ext: Int, _ disp: Int) -> [UInt8] { [0x41, opcode, 0x40 | UInt8(ext << 3) | 7, UInt8(disp)] }
        func disp(_ size: Int) -> Int { rng.below(64 - size + 1) }
        let a8 = disp(8), b8 = disp(8), c8 = disp(8)
        switch rng.below(5) {
        case 0, 1: // FLD m; F<op> m; FSTP m (m64 or m32)
            let wide = rng.below(2) == 0
            let ext = rng.pick([0, 1, 4, 5, 6, 7])
            let name = ["fadd", "fmul", "", "", "fsub", "fsubr", "fdiv", "fdivr"][ext]
            let size = wide ? 8 : 4
            let (a, b, c) = (disp(size), disp(size), disp(size))
            let (ld, op): (UInt8, UInt8) = wide ? (0xDD, 0xDC) : (0xD9, 0xD8)
            return FuzzInstruction(bytes: m(ld, 0, a) + m(op, ext, b) + m(ld, 3, c), form: "x87 \(name) m\(size * 8)",
                                   text: "fld m\(size * 8) [r15+\(a)]; \(name) [r15+\(b)]; fstp [r15+\(c)]", reads: 0, defines: 0, undefines: 0)
        case 2: // FILD m; FISTP m (16/32/64-bit integers, rounding per RC)
            let which = rng.below(3)
            let (size, op, ldExt, stExt): (Int, UInt8, Int, Int) = [(2, 0xDF, 0, 3), (4, 0xDB, 0, 3), (8, 0xDF, 5, 7)][which]
            let (a, c) = (disp(size), disp(size))
            return FuzzInstruction(bytes: m(op, ldExt, a) + m(op, stExt, c), form: "x87 fild/fistp m\(size * 8)",
                                   text: "fild m\(size * 8) [r15+\(a)]; fistp [r15+\(c)]", reads: 0, defines: 0, undefines: 0)
        case 3: // FLD m64; FSQRT/FCHS/FABS/FRNDINT; FSTP m64
            let (code, name): (UInt8, String) = rng.pick([(0xFA, "fsqrt"), (0xE0, "fchs"), (0xE1, "fabs"), (0xFC, "frndint")])
            return FuzzInstruction(bytes: m(0xDD, 0, a8) + [0xD9, code] + m(0xDD, 3, c8), form: "x87 \(name)",
                                   text: "fld m64 [r15+\(a8)]; \(name); fstp [r15+\(c8)]", reads: 0, defines: 0, undefines: 0)
        default: // FLD m64; FLD m64; F<op>P ST(1), ST; FSTP m64
            let (code, name): (UInt8, String) = rng.pick([(0xC1, "faddp"), (0xC9, "fmulp"), (0xE9, "fsubp"), (0xF9, "fdivp"),
                                                          (0xE1, "fsubrp"), (0xF1, "fdivrp")])
            return FuzzInstruction(bytes: m(0xDD, 0, a8) + m(0xDD, 0, b8) + [0xDE, code] + m(0xDD, 3, c8), form: "x87 \(name)",
                                   text: "fld m64 [r15+\(a8)]; fld m64 [r15+\(b8)]; \(name); fstp [r15+\(c8)]",
                                   reads: 0, defines: 0, undefines: 0)
        }
    }

    mutating func instruction() -> FuzzInstruction {
        let f = FuzzFlags.self
        if !faultOperand && rng.below(24) == 0 { return x87() }
        switch rng.below(20) {
        case 0, 1, 2: // ALU r/m, r and r, r/m
            let op = rng.below(8), w = width(), r = reg(), o = rm(w)
            let fl = Self.aluFlags(op)
            let toReg = rng.below(2) == 0
            let opc = UInt8(op * 8 + (toReg ? 2 : 0) + (w == 8 ? 0 : 1))
            let (dst, src) = toReg ? (Self.regName(r, w), Self.text(o, w)) : (Self.text(o, w), Self.regName(r, w))
            let form = toReg ? "\(Self.aluNames[op]) r\(w), \(Self.kind(o, w))" : "\(Self.aluNames[op]) \(Self.kind(o, w)), r\(w)"
            return FuzzInstruction(bytes: Self.encode(w, [opc], reg: r, o), form: form,
                                   text: "\(Self.aluNames[op]) \(dst), \(src)", reads: fl.reads, defines: fl.defines, undefines: fl.undefines)
        case 3, 4: // ALU r/m, imm8 / imm
            let op = rng.below(8), w = width(), o = rm(w)
            let fl = Self.aluFlags(op)
            let short = w == 8 || rng.below(2) == 0
            let imm = rng.edgeValue()
            let immBytes = short ? 1 : (w == 16 ? 2 : 4)
            let opc: UInt8 = w == 8 ? 0x80 : (short ? 0x83 : 0x81)
            let form = "\(Self.aluNames[op]) \(Self.kind(o, w)), imm\(short ? 8 : min(w, 32))"
            return FuzzInstruction(bytes: Self.encode(w, [opc], reg: op, o, imm: Self.le(imm, immBytes)), form: form,
                                   text: "\(Self.aluNames[op]) \(Self.text(o, w)), 0x\(String(imm & ((1 << (8 * UInt64(immBytes))) - 1), radix: 16))",
                                   reads: fl.reads, defines: fl.defines, undefines: fl.undefines)
        case 5: // TEST r/m, r
            let w = width(), r = reg(), o = rm(w)
            return FuzzInstruction(bytes: Self.encode(w, [w == 8 ? 0x84 : 0x85], reg: r, o), form: "test \(Self.kind(o, w)), r\(w)",
                                   text: "test \(Self.text(o, w)), \(Self.regName(r, w))", reads: 0, defines: Self.logicDefines, undefines: f.af)
        case 6: // INC DEC NOT NEG
            let w = width(), o = rm(w), which = rng.below(4)
            let names = ["inc", "dec", "not", "neg"]
            let (opc, ext): (UInt8, Int) = which < 2 ? (w == 8 ? 0xFE : 0xFF, which) : (w == 8 ? 0xF6 : 0xF7, which)
            let defines: UInt64 = which < 2 ? f.arith & ~f.cf : (which == 2 ? 0 : f.arith)
            return FuzzInstruction(bytes: Self.encode(w, [opc], reg: ext, o), form: "\(names[which]) \(Self.kind(o, w))",
                                   text: "\(names[which]) \(Self.text(o, w))", reads: 0, defines: defines, undefines: 0)
        case 7, 8: // shifts and rotates by 1 or imm8 (the flags follow from the count)
            let w = width(), o = rm(w)
            let op = rng.pick([0, 1, 2, 3, 4, 5, 7])
            let byOne = rng.below(3) == 0
            var count = byOne ? 1 : rng.pick([0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 33, 63, 64, 65, rng.below(256)])
            let cm = count & (w == 64 ? 63 : 31)
            if op < 2 && cm != 0 && cm % w == 0 { count = 1 }           // ROL/ROR: keep CF/OF well defined
            if op >= 2 && op < 4 && w < 32 && cm != 0 && cm % (w + 1) == 0 { count = 1 }  // RCL/RCR tempCOUNT = 0
            let c = count & (w == 64 ? 63 : 31)
            var defines: UInt64 = 0, undefines: UInt64 = 0
            if c != 0 {
                if op >= 4 {
                    defines = f.sf | f.zf | f.pf | f.cf | f.of
                    undefines = f.af
                    if c >= w { defines &= ~f.cf; undefines |= f.cf }
                } else {
                    defines = f.cf | f.of
                }
                if c != 1 { defines &= ~f.of; undefines |= f.of }
            }
            let reads: UInt64 = (op == 2 || op == 3) ? f.cf : 0
            let name = Self.shiftNames[op]
            if byOne {
                return FuzzInstruction(bytes: Self.encode(w, [w == 8 ? 0xD0 : 0xD1], reg: op, o), form: "\(name) \(Self.kind(o, w)), 1",
                                       text: "\(name) \(Self.text(o, w)), 1", reads: reads, defines: defines, undefines: undefines)
            }
            return FuzzInstruction(bytes: Self.encode(w, [w == 8 ? 0xC0 : 0xC1], reg: op, o, imm: [UInt8(count & 0xFF)]),
                                   form: "\(name) \(Self.kind(o, w)), imm8", text: "\(name) \(Self.text(o, w)), \(count & 0xFF)",
                                   reads: reads, defines: defines, undefines: undefines)
        case 9: // shifts by CL: the count is data, so every flag may change or stay: all undefined after
            let w = width(), o = rm(w)
            let op = rng.pick([0, 1, 4, 5, 7])
            return FuzzInstruction(bytes: Self.encode(w, [w == 8 ? 0xD2 : 0xD3], reg: op, o), form: "\(Self.shiftNames[op]) \(Self.kind(o, w)), cl",
                                   text: "\(Self.shiftNames[op]) \(Self.text(o, w)), cl", reads: 0, defines: 0, undefines: f.arith)
        case 10: // MOV both directions
            let w = width(), r = reg(), o = rm(w)
            let toReg = rng.below(2) == 0
            let opc: UInt8 = (toReg ? 0x8A : 0x88) + (w == 8 ? 0 : 1)
            let form = toReg ? "mov r\(w), \(Self.kind(o, w))" : "mov \(Self.kind(o, w)), r\(w)"
            let text = toReg ? "mov \(Self.regName(r, w)), \(Self.text(o, w))" : "mov \(Self.text(o, w)), \(Self.regName(r, w))"
            return FuzzInstruction(bytes: Self.encode(w, [opc], reg: r, o), form: form, text: text, reads: 0, defines: 0, undefines: 0)
        case 11: // MOVZX / MOVSX
            let src = rng.pick([8, 16]), dw = src == 8 ? rng.pick([16, 32, 64]) : rng.pick([32, 64])
            let r = reg(), o = rm(src), sx = rng.below(2) == 0
            let opc: UInt8 = (sx ? 0xBE : 0xB6) + (src == 8 ? 0 : 1)
            let name = sx ? "movsx" : "movzx"
            return FuzzInstruction(bytes: Self.encode(dw, [0x0F, opc], reg: r, o), form: "\(name) r\(dw), \(Self.kind(o, src))",
                                   text: "\(name) \(Self.regName(r, dw)), \(Self.text(o, src))", reads: 0, defines: 0, undefines: 0)
        case 12: // XCHG, XADD, CMPXCHG (same-register operands included)
            let w = width(), r = reg(), o = rm(w), which = rng.below(3)
            let names = ["xchg", "xadd", "cmpxchg"]
            let opc: [UInt8] = which == 0 ? [w == 8 ? 0x86 : 0x87] : [0x0F, (which == 1 ? 0xC0 : 0xB0) + (w == 8 ? 0 : 1)]
            return FuzzInstruction(bytes: Self.encode(w, opc, reg: r, o), form: "\(names[which]) \(Self.kind(o, w)), r\(w)",
                                   text: "\(names[which]) \(Self.text(o, w)), \(Self.regName(r, w))", reads: 0,
                                   defines: which == 0 ? 0 : f.arith, undefines: 0)
        case 13: // SETcc
            let cc = rng.below(16), o = rm(8)
            return FuzzInstruction(bytes: Self.encode(8, [0x0F, 0x90 + UInt8(cc)], reg: 0, o), form: "set\(Self.ccNames[cc]) \(Self.kind(o, 8))",
                                   text: "set\(Self.ccNames[cc]) \(Self.text(o, 8))", reads: Self.ccReads(cc), defines: 0, undefines: 0)
        case 14: // CMOVcc
            let cc = rng.below(16), w = rng.pick([16, 32, 64]), r = reg(), o = rm(w)
            return FuzzInstruction(bytes: Self.encode(w, [0x0F, 0x40 + UInt8(cc)], reg: r, o), form: "cmov\(Self.ccNames[cc]) r\(w), \(Self.kind(o, w))",
                                   text: "cmov\(Self.ccNames[cc]) \(Self.regName(r, w)), \(Self.text(o, w))", reads: Self.ccReads(cc), defines: 0, undefines: 0)
        case 15: // IMUL r, r/m and MUL/IMUL r/m: CF = OF defined, SF ZF AF PF undefined
            let mulDefined = f.cf | f.of, mulUndefined = f.sf | f.zf | f.af | f.pf
            if rng.below(2) == 0 {
                let w = rng.pick([16, 32, 64]), r = reg(), o = rm(w)
                return FuzzInstruction(bytes: Self.encode(w, [0x0F, 0xAF], reg: r, o), form: "imul r\(w), \(Self.kind(o, w))",
                                       text: "imul \(Self.regName(r, w)), \(Self.text(o, w))", reads: 0, defines: mulDefined, undefines: mulUndefined)
            }
            let w = width(), o = rm(w), signed = rng.below(2) == 0
            let name = signed ? "imul" : "mul"
            return FuzzInstruction(bytes: Self.encode(w, [w == 8 ? 0xF6 : 0xF7], reg: signed ? 5 : 4, o), form: "\(name) \(Self.kind(o, w))",
                                   text: "\(name) \(Self.text(o, w))", reads: 0, defines: mulDefined, undefines: mulUndefined)
        case 16: // BT/BTS/BTR/BTC r/m, imm8: CF defined, OF SF AF PF undefined, ZF unaffected
            let w = rng.pick([16, 32, 64]), o = rm(w), op = rng.below(4), bit = rng.below(256)
            let name = ["bt", "bts", "btr", "btc"][op]
            return FuzzInstruction(bytes: Self.encode(w, [0x0F, 0xBA], reg: 4 + op, o, imm: [UInt8(bit)]), form: "\(name) \(Self.kind(o, w)), imm8",
                                   text: "\(name) \(Self.text(o, w)), \(bit)", reads: 0, defines: f.cf, undefines: f.of | f.sf | f.af | f.pf)
        case 17: // BT* r, r (register bit base: the offset is taken modulo the width)
            let w = rng.pick([16, 32, 64]), r = reg(), d = reg(), op = rng.below(4)
            let name = ["bt", "bts", "btr", "btc"][op]
            return FuzzInstruction(bytes: Self.encode(w, [0x0F, 0xA3 + UInt8(op) * 8], reg: r, .reg(d)), form: "\(name) r\(w), r\(w)",
                                   text: "\(name) \(Self.regName(d, w)), \(Self.regName(r, w))", reads: 0, defines: f.cf, undefines: f.of | f.sf | f.af | f.pf)
        case 18: // BSWAP r32 / r64
            let w = rng.pick([32, 64]), r = reg()
            let b: [UInt8] = [0x40 | (w == 64 ? 0x08 : 0) | UInt8(r >> 3), 0x0F, 0xC8 + UInt8(r & 7)]
            return FuzzInstruction(bytes: b, form: "bswap r\(w)", text: "bswap \(Self.regName(r, w))", reads: 0, defines: 0, undefines: 0)
        default: // LEA r, [base + disp8]: address arithmetic on a data register (not R15, whose
                 // value differs between the RAM and MMIO runs; not R12, which needs a SIB byte)
            let w = rng.pick([16, 32, 64]), r = reg(), d = UInt8(rng.below(128))
            let base = rng.pick(Self.usable.filter { $0 != 12 })
            var b: [UInt8] = w == 16 ? [0x66] : []
            b += [0x40 | (w == 64 ? 0x08 : 0) | UInt8((r >> 3) & 1) << 2 | UInt8((base >> 3) & 1), 0x8D,
                  0x40 | UInt8(r & 7) << 3 | UInt8(base & 7), d]
            return FuzzInstruction(bytes: b, form: "lea r\(w), m",
                                   text: "lea \(Self.regName(r, w)), [\(Self.names64[base])+\(d)]", reads: 0, defines: 0, undefines: 0)
        }
    }
}
