import RefHypervisor

/// A one-line account of the instruction at a guest address, for logs: its bytes (length
/// from the engine's decoder, RefHypervisor's InstructionLength) and a mnemonic from a
/// small opcode table (SDM Vol. 2D, Appendix A, the one- and two-byte opcode maps). It
/// names the instruction; it does not disassemble operands.
public enum InstructionNames {
    /// "0f 01 d9  vmmcall" style text for the instruction at the start of `bytes`, decoded
    /// as `bits`-bit code (16, 32 or 64).
    public static func describe(_ bytes: [UInt8], bits: Int) -> String {
        let window = Array(bytes.prefix(15))
        guard !window.isEmpty else { return "(no bytes)" }
        let length: Int
        var note = ""
        switch InstructionLength.decode(window, bits: bits) {
        case .length(let n): length = n
        case .undefined: length = opcodeEnd(window, bits: bits); note = " (raises #UD)"
        case .tooLong: length = window.count; note = " (longer than 15 bytes: #GP)"
        }
        let hex = window.prefix(length).map { hex2($0) }.joined(separator: " ")
        return "\(hex)  \(mnemonic(window, bits: bits))\(note)"
    }

    /// How many bytes the prefixes and the opcode take (what is shown of an instruction
    /// that raises #UD, whose length the decoder does not define).
    static func opcodeEnd(_ bytes: [UInt8], bits: Int) -> Int {
        var i = 0
        while i < bytes.count, legacyPrefixes[bytes[i]] != nil || (bits == 64 && bytes[i] & 0xF0 == 0x40) { i += 1 }
        guard i < bytes.count else { return bytes.count }
        guard bytes[i] == 0x0F, i + 1 < bytes.count else { return i + 1 }
        return (bytes[i + 1] == 0x38 || bytes[i + 1] == 0x3A) && i + 2 < bytes.count ? i + 3 : i + 2
    }

    /// The mnemonic of the instruction at the start of `bytes` (prefixes named before it).
    public static func mnemonic(_ bytes: [UInt8], bits: Int) -> String {
        var i = 0
        var prefixes: [String] = []
        var operandSize16 = bits == 16
        while i < bytes.count {
            let b = bytes[i]
            if let p = legacyPrefixes[b] {
                if b == 0x66 { operandSize16.toggle() }
                if b == 0xF0 || b == 0xF2 || b == 0xF3 { prefixes.append(p) }
                i += 1
            } else if bits == 64, b & 0xF0 == 0x40 {
                if b & 8 != 0 { operandSize16 = false }
                i += 1
            } else {
                break
            }
        }
        guard i < bytes.count else { return (prefixes + ["(prefixes only)"]).joined(separator: " ") }
        let op = bytes[i]
        let modrm: UInt8? = i + 1 < bytes.count ? bytes[i + 1] : nil
        let reg = Int((modrm ?? 0) >> 3 & 7)
        let name: String
        if op == 0x0F {
            guard i + 1 < bytes.count else { return "0f (truncated)" }
            name = twoByte(bytes[i + 1], next: i + 2 < bytes.count ? bytes[i + 2] : nil)
        } else if let group = groups[op] {
            name = group[reg]
        } else if (op == 0x98 || op == 0x99) {
            name = op == 0x98 ? (operandSize16 ? "cbw" : "cwde/cdqe") : (operandSize16 ? "cwd" : "cdq/cqo")
        } else {
            name = oneByte[Int(op)]
        }
        return (prefixes + [name]).joined(separator: " ")
    }

    static func hex2(_ b: UInt8) -> String { b < 0x10 ? "0" + String(b, radix: 16) : String(b, radix: 16) }

    static let legacyPrefixes: [UInt8: String] = [
        0x26: "es", 0x2E: "cs", 0x36: "ss", 0x3E: "ds", 0x64: "fs", 0x65: "gs",
        0x66: "o16", 0x67: "a16", 0xF0: "lock", 0xF2: "repne", 0xF3: "rep",
    ]

    /// Opcodes whose ModRM.reg selects the instruction (SDM Vol. 2D Table A-6).
    static let groups: [UInt8: [String]] = {
        let alu = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]
        let shift = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"]
        let unary = ["test", "test", "not", "neg", "mul", "imul", "div", "idiv"]
        var g: [UInt8: [String]] = [0x80: alu, 0x81: alu, 0x82: alu, 0x83: alu,
                                    0xC0: shift, 0xC1: shift, 0xD0: shift, 0xD1: shift, 0xD2: shift, 0xD3: shift,
                                    0xF6: unary, 0xF7: unary]
        g[0x8F] = ["pop", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)"]
        g[0xC6] = ["mov", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)"]
        g[0xC7] = g[0xC6]
        g[0xFE] = ["inc", "dec", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)", "(bad)"]
        g[0xFF] = ["inc", "dec", "call", "call far", "jmp", "jmp far", "push", "(bad)"]
        return g
    }()

    /// The one-byte opcode map (SDM Vol. 2D Table A-2); groups are in `groups`.
    static let oneByte: [String] = {
        var t = [String](repeating: "(bad)", count: 256)
        let alu = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]
        for (k, n) in alu.enumerated() { for j in 0..<6 { t[k * 8 + j] = n } }
        t[0x06] = "push es"; t[0x07] = "pop es"; t[0x0E] = "push cs"; t[0x16] = "push ss"; t[0x17] = "pop ss"
        t[0x1E] = "push ds"; t[0x1F] = "pop ds"; t[0x27] = "daa"; t[0x2F] = "das"; t[0x37] = "aaa"; t[0x3F] = "aas"
        for j in 0..<8 { t[0x40 + j] = "inc"; t[0x48 + j] = "dec"; t[0x50 + j] = "push"; t[0x58 + j] = "pop" }
        t[0x60] = "pusha"; t[0x61] = "popa"; t[0x62] = "bound"; t[0x63] = "arpl/movsxd"
        t[0x68] = "push"; t[0x69] = "imul"; t[0x6A] = "push"; t[0x6B] = "imul"
        t[0x6C] = "insb"; t[0x6D] = "ins"; t[0x6E] = "outsb"; t[0x6F] = "outs"
        let cc = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]
        for (k, c) in cc.enumerated() { t[0x70 + k] = "j" + c }
        t[0x84] = "test"; t[0x85] = "test"; t[0x86] = "xchg"; t[0x87] = "xchg"
        for j in 0x88...0x8B { t[j] = "mov" }
        t[0x8C] = "mov sreg"; t[0x8D] = "lea"; t[0x8E] = "mov sreg"
        t[0x90] = "nop"; for j in 0x91...0x97 { t[j] = "xchg" }
        t[0x9A] = "call far"; t[0x9B] = "fwait"; t[0x9C] = "pushf"; t[0x9D] = "popf"; t[0x9E] = "sahf"; t[0x9F] = "lahf"
        for j in 0xA0...0xA3 { t[j] = "mov moffs" }
        t[0xA4] = "movsb"; t[0xA5] = "movs"; t[0xA6] = "cmpsb"; t[0xA7] = "cmps"; t[0xA8] = "test"; t[0xA9] = "test"
        t[0xAA] = "stosb"; t[0xAB] = "stos"; t[0xAC] = "lodsb"; t[0xAD] = "lods"; t[0xAE] = "scasb"; t[0xAF] = "scas"
        for j in 0xB0...0xBF { t[j] = "mov" }
        t[0xC2] = "ret"; t[0xC3] = "ret"; t[0xC4] = "les/vex"; t[0xC5] = "lds/vex"
        t[0xC8] = "enter"; t[0xC9] = "leave"; t[0xCA] = "retf"; t[0xCB] = "retf"
        t[0xCC] = "int3"; t[0xCD] = "int"; t[0xCE] = "into"; t[0xCF] = "iret"
        t[0xD4] = "aam"; t[0xD5] = "aad"; t[0xD6] = "salc"; t[0xD7] = "xlat"
        for j in 0xD8...0xDF { t[j] = "x87 (esc)" }
        t[0xE0] = "loopne"; t[0xE1] = "loope"; t[0xE2] = "loop"; t[0xE3] = "jcxz"
        t[0xE4] = "in"; t[0xE5] = "in"; t[0xE6] = "out"; t[0xE7] = "out"
        t[0xE8] = "call"; t[0xE9] = "jmp"; t[0xEA] = "jmp far"; t[0xEB] = "jmp"
        t[0xEC] = "in"; t[0xED] = "in"; t[0xEE] = "out"; t[0xEF] = "out"
        t[0xF1] = "int1"; t[0xF4] = "hlt"; t[0xF5] = "cmc"
        t[0xF8] = "clc"; t[0xF9] = "stc"; t[0xFA] = "cli"; t[0xFB] = "sti"; t[0xFC] = "cld"; t[0xFD] = "std"
        return t
    }()

    /// The two-byte (0F xx) opcode map, the system and integer instructions payloads use
    /// (SDM Vol. 2D Table A-3); SSE/AVX opcodes are named by their bytes.
    static func twoByte(_ op: UInt8, next: UInt8?) -> String {
        let reg = Int((next ?? 0) >> 3 & 7)
        let registerForm = (next ?? 0) >= 0xC0
        switch op {
        case 0x00: return ["sldt", "str", "lldt", "ltr", "verr", "verw", "(bad)", "(bad)"][reg]
        case 0x01:
            let special: [UInt8: String] = [0xC1: "vmcall", 0xC2: "vmlaunch", 0xC3: "vmresume", 0xC4: "vmxoff",
                                            0xC8: "monitor", 0xC9: "mwait", 0xCA: "clac", 0xCB: "stac",
                                            0xD0: "xgetbv", 0xD1: "xsetbv", 0xD8: "vmrun", 0xD9: "vmmcall",
                                            0xF8: "swapgs", 0xF9: "rdtscp"]
            if registerForm, let n = next, let s = special[n] { return s }
            return ["sgdt", "sidt", "lgdt", "lidt", "smsw", "(bad)", "lmsw", "invlpg"][reg]
        case 0x02: return "lar"
        case 0x03: return "lsl"
        case 0x05: return "syscall"
        case 0x06: return "clts"
        case 0x07: return "sysret"
        case 0x08: return "invd"
        case 0x09: return "wbinvd"
        case 0x0B: return "ud2"
        case 0x18...0x1F: return "nop (hint)"
        case 0x20, 0x22: return "mov cr"
        case 0x21, 0x23: return "mov dr"
        case 0x30: return "wrmsr"
        case 0x31: return "rdtsc"
        case 0x32: return "rdmsr"
        case 0x33: return "rdpmc"
        case 0x34: return "sysenter"
        case 0x35: return "sysexit"
        case 0x40...0x4F: return "cmov" + conditionCodes[Int(op & 0xF)]
        case 0x80...0x8F: return "j" + conditionCodes[Int(op & 0xF)]
        case 0x90...0x9F: return "set" + conditionCodes[Int(op & 0xF)]
        case 0xA0: return "push fs"
        case 0xA1: return "pop fs"
        case 0xA2: return "cpuid"
        case 0xA3: return "bt"
        case 0xA4, 0xA5: return "shld"
        case 0xA8: return "push gs"
        case 0xA9: return "pop gs"
        case 0xAA: return "rsm"
        case 0xAB: return "bts"
        case 0xAC, 0xAD: return "shrd"
        case 0xAF: return "imul"
        case 0xB0, 0xB1: return "cmpxchg"
        case 0xB2: return "lss"
        case 0xB3: return "btr"
        case 0xB4: return "lfs"
        case 0xB5: return "lgs"
        case 0xB6, 0xB7: return "movzx"
        case 0xBA: return ["(bad)", "(bad)", "(bad)", "(bad)", "bt", "bts", "btr", "btc"][reg]
        case 0xBB: return "btc"
        case 0xBC: return "bsf/tzcnt"
        case 0xBD: return "bsr/lzcnt"
        case 0xBE, 0xBF: return "movsx"
        case 0xC0, 0xC1: return "xadd"
        case 0xC7: return registerForm ? (reg == 6 ? "rdrand" : reg == 7 ? "rdseed" : "(bad)") : (reg == 1 ? "cmpxchg8b/16b" : "(bad)")
        case 0xC8...0xCF: return "bswap"
        default: return "0f " + hex2(op)
        }
    }

    static let conditionCodes = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]

    /// Exception vector mnemonics (SDM Vol. 3A Table 6-1).
    public static func vectorName(_ v: UInt64) -> String {
        let names: [UInt64: String] = [0: "#DE", 1: "#DB", 2: "NMI", 3: "#BP", 4: "#OF", 5: "#BR", 6: "#UD", 7: "#NM",
                                       8: "#DF", 10: "#TS", 11: "#NP", 12: "#SS", 13: "#GP", 14: "#PF", 16: "#MF",
                                       17: "#AC", 18: "#MC", 19: "#XM", 20: "#VE", 21: "#CP"]
        return names[v] ?? "vector \(v)"
    }
}
