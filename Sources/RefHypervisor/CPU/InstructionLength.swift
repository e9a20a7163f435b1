// The engine's instruction-length rules as a pure function (SDM Vol. 2A ch. 2, Vol. 2D
// App. A), for the decoder fuzz test. It mirrors, byte for byte and in the same order, what
// `CPU.step()` (Execute.swift), `CPU.step0F()` (Execute0F.swift), `decodePrefixes()` and
// `decodeModRM()` (Decoder.swift) and the group helpers (System.swift, Segmentation.swift,
// BitOps.swift) fetch, and where they raise #UD. It reuses `CPU.isLegacyPrefix`.
//
// The executing decoder interleaves decoding with execution, so some of its #UD decisions
// depend on machine state. This function fixes that state to what the fuzz harness sets up:
//   bits 16 = real mode (CR0.PE = 0), bits 32 = flat protected mode with CS.D = 1,
//   bits 64 = IA-32e 64-bit mode; CPL 0; CR4.DE = 0; EFER.SCE = 1.
// Where the executing decoder and this function could disagree:
//   * State-dependent #UD outside those assumptions: SYSCALL/SYSRET with EFER.SCE = 0,
//     MOV DR4/DR5 with CR4.DE = 1, MONITOR/MWAIT at CPL > 0, ARPL/LAR/LSL/group 6 in
//     protected-mode 16-bit code (here bits 16 means real mode, where they are #UD).
//   * Faults that are not decode faults (#GP for privilege, #NM for x87 with CR0.TS/EM,
//     #PF/#GP on the code fetch itself, CS-limit shorter than 15 bytes) are not modelled:
//     such instructions still get `.length`.
//   * `.tooLong` means the engine needs a byte beyond the 15th (or beyond `bytes`): the
//     executing decoder raises #GP(0) there (Paging.swift fetchFault) unless the fetch
//     window was cut by a page/segment fault first.
//   * Ordering: like the engine, an earlier #UD wins over a later missing byte (e.g.
//     0F BA /0 without its imm8 is #UD, not #GP), and LOCK is checked right after the
//     prefixes (checkLockable), before the opcode's own bytes are needed.
//   * Known engine deviations from the SDM that this function deliberately reproduces
//     (so that it keeps describing the executing decoder) are marked "ENGINE:" below.

public enum InstructionLength {
    public enum Result: Equatable, Hashable, Sendable {
        /// The instruction decodes; its length in bytes (1...15).
        case length(Int)
        /// The engine raises #UD.
        case undefined
        /// The instruction would need more than 15 bytes: #GP(0).
        case tooLong
    }

    private enum Stop: Error { case ud, long }

    /// A cursor over at most 15 bytes with the engine's decode state.
    private struct D {
        let b: [UInt8]
        let limit: Int
        var p = 0
        let code64: Bool
        let real: Bool
        var osz = 4, asz = 4
        var rep: UInt8 = 0
        var lock = false
        var rex: UInt8 = 0
        var modrm: UInt8 = 0
        var mrIsReg = false
        var mrReg = 0

        init(_ bytes: [UInt8], bits: Int) {
            b = bytes
            limit = min(15, bytes.count)
            code64 = bits == 64
            real = bits == 16
            osz = bits == 16 ? 2 : 4
            asz = bits == 16 ? 2 : (bits == 32 ? 4 : 8)
        }

        mutating func u8() throws(Stop) -> UInt8 {
            if p >= limit { throw .long }
            p += 1
            return b[p - 1]
        }
        mutating func skip(_ n: Int) throws(Stop) {
            if p + n > limit { throw .long }
            p += n
        }
        /// Iz: 16 bits for osz 2, else 32 (CPU.fetchIz).
        mutating func iz(_ size: Int) throws(Stop) { try skip(size == 2 ? 2 : 4) }
        var branchOsz: Int { code64 ? 8 : osz }
        var stackOsz: Int { code64 ? (osz == 2 ? 2 : 8) : osz }

        /// decodePrefixes / decodePrefixesSlow.
        mutating func prefixes() throws(Stop) -> UInt8 {
            var o16 = false, a16 = false
            while true {
                let op = try u8()
                if CPU.isLegacyPrefix(op) {
                    switch op {
                    case 0x66: o16 = true
                    case 0x67: a16 = true
                    case 0xF0: lock = true
                    case 0xF2, 0xF3: rep = op
                    default: break
                    }
                    rex = 0
                } else if code64 && op & 0xF0 == 0x40 {
                    rex = op   // a REX followed by a legacy prefix is ignored
                } else {
                    if code64 {
                        osz = rex & 8 != 0 ? 8 : (o16 ? 2 : 4)
                        asz = a16 ? 4 : 8
                    } else {
                        let defOsz = osz, defAsz = asz
                        osz = o16 ? (defOsz == 4 ? 2 : 4) : defOsz
                        asz = a16 ? (defAsz == 4 ? 2 : 4) : defAsz
                    }
                    return op
                }
            }
        }

        /// decodeModRM: ModRM, SIB and displacement bytes.
        mutating func modRM() throws(Stop) {
            let m = try u8()
            modrm = m
            mrReg = Int((m >> 3) & 7) | Int(rex & 4) << 1
            let mod = m >> 6, rm = m & 7
            if mod == 3 { mrIsReg = true; return }
            mrIsReg = false
            if asz == 2 {
                if mod == 0 && rm == 6 { try skip(2) }
                if mod == 1 { try skip(1) } else if mod == 2 { try skip(2) }
            } else {
                if rm == 4 {
                    let sib = try u8()
                    if sib & 7 == 5 && mod == 0 { try skip(4) }
                } else if rm == 5 && mod == 0 {
                    try skip(4)
                }
                if mod == 1 { try skip(1) } else if mod == 2 { try skip(4) }
            }
        }

        /// CPU.lockCheck.
        func lockCheck(_ allowed: Bool) throws(Stop) {
            if lock && (!allowed || mrIsReg) { throw .ud }
        }

        /// CPU.checkLockable: LOCK only on the read-modify-write opcodes.
        func checkLockable(_ op: UInt8) throws(Stop) {
            switch op {
            case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31,
                 0x80, 0x81, 0x82, 0x83, 0x86, 0x87, 0xF6, 0xF7, 0xFE, 0xFF:
                return
            case 0x0F:
                if p < limit {
                    switch b[p] {
                    case 0xAB, 0xB3, 0xBB, 0xBA, 0xB0, 0xB1, 0xC0, 0xC1, 0xC7: return
                    default: break
                    }
                }
                throw .ud
            default:
                throw .ud
            }
        }

        /// CPU.step: the one-byte map.
        mutating func step() throws(Stop) {
            let op = try prefixes()
            if lock { try checkLockable(op) }
            switch op {
            case 0x00...0x3F where op & 7 < 6:
                switch op & 7 {
                case 0, 1:
                    try modRM(); try lockCheck(op >> 3 != 7)
                case 2, 3:
                    try modRM()
                    if lock { throw .ud }
                case 4:
                    if lock { throw .ud }
                    try skip(1)
                default:
                    if lock { throw .ud }
                    try iz(osz)
                }
            case 0x06, 0x0E, 0x16, 0x1E, 0x07, 0x17, 0x1F, 0x27, 0x2F, 0x37, 0x3F, 0x60, 0x61, 0xCE, 0xD6:
                if code64 { throw .ud }
            case 0x40...0x5F, 0x90...0x99, 0x9B...0x9F, 0xC3, 0xC9, 0xCB, 0xCC, 0xCF, 0xD7, 0xEC...0xEF,
                 0xF1, 0xF4, 0xF5, 0xF8...0xFD:
                break
            case 0x62:
                if code64 { throw .ud }
                try modRM()
                if mrIsReg { throw .ud }
            case 0x63:
                try modRM()
                if !code64 && real { throw .ud }   // ARPL is #UD in real mode
            case 0x68: try iz(stackOsz == 8 ? 8 : osz)
            case 0x6A, 0x70...0x7F, 0xA8, 0xB0...0xB7, 0xCD, 0xE0...0xE7, 0xEB: try skip(1)
            case 0x69: try modRM(); try iz(osz)
            case 0x6B: try modRM(); try skip(1)
            case 0x6C...0x6F, 0xA4...0xA7, 0xAA...0xAF:
                if lock { throw .ud }
            case 0x80...0x83:
                if op == 0x82 && code64 { throw .ud }
                try modRM()
                try lockCheck(mrReg & 7 != 7)
                if op == 0x81 { try iz(osz) } else { try skip(1) }
            case 0x84, 0x85:
                try modRM()
                if lock { throw .ud }
            case 0x86, 0x87:
                try modRM(); try lockCheck(true)
            case 0x88...0x8B:
                try modRM()
                if lock { throw .ud }
            case 0x8C:
                try modRM()
                if mrReg & 7 > 5 || lock { throw .ud }
            case 0x8D:
                try modRM()
                if mrIsReg || lock { throw .ud }
            case 0x8E:
                try modRM()
                let s = mrReg & 7
                if s == 1 || s > 5 || lock { throw .ud }
            case 0x8F:
                try modRM()
                if mrReg & 7 != 0 { throw .ud }
            case 0x9A, 0xEA:
                if code64 { throw .ud }
                try skip(osz == 4 ? 4 : 2); try skip(2)
            case 0xA0...0xA3: try skip(asz)
            case 0xA9: try iz(osz)
            case 0xB8...0xBF: try skip(osz)
            case 0xC0, 0xC1, 0xD0...0xD3:
                try modRM()
                if lock { throw .ud }
                if op <= 0xC1 { try skip(1) }
            case 0xC2, 0xCA: try skip(2)
            case 0xC4, 0xC5:
                if code64 { throw .ud }   // VEX is not implemented
                try modRM()
                if mrIsReg { throw .ud }
            case 0xC6, 0xC7:
                try modRM()
                if mrReg & 7 != 0 || lock { throw .ud }
                if op == 0xC6 { try skip(1) } else { try iz(osz) }
            case 0xC8: try skip(2); try skip(1)
            case 0xD4, 0xD5:
                if code64 { throw .ud }
                try skip(1)
            case 0xD8...0xDF: try modRM()
            case 0xE8: try skip(branchOsz == 2 ? 2 : 4)
            case 0xE9: try skip(osz == 2 && !code64 ? 2 : 4)
            case 0xF6, 0xF7:
                try modRM()
                let k = mrReg & 7
                try lockCheck(k == 2 || k == 3)
                if k < 2 { if op == 0xF6 { try skip(1) } else { try iz(osz) } }
            case 0xFE:
                try modRM()
                if mrReg & 7 > 1 { throw .ud }
                try lockCheck(true)
            case 0xFF:
                try modRM()
                let k = mrReg & 7
                try lockCheck(k < 2)
                if (k == 3 || k == 5) && mrIsReg { throw .ud }
                if k == 7 { throw .ud }
            case 0x0F:
                try step0F()
            default:
                throw .ud
            }
        }

        /// CPU.step0F: the two-byte map (and the 0F 38 MOVBE rows).
        mutating func step0F() throws(Stop) {
            let op = try u8()
            switch op {
            case 0x00:
                // group 6 (Segmentation.swift): #UD in real mode and for /6 /7.
                try modRM()
                if real || mrReg & 7 > 5 { throw .ud }
            case 0x01:
                // group 7 (System.swift).
                try modRM()
                let k = mrReg & 7
                if mrIsReg {
                    switch modrm {
                    case 0xC1, 0xC8, 0xC9, 0xF9: return
                    case 0xC2, 0xC3, 0xC4: throw .ud
                    case 0xF8: if !code64 { throw .ud }; return
                    default: if k == 4 || k == 6 { return }; throw .ud
                    }
                }
                if k == 5 { throw .ud }
            case 0x02, 0x03:
                try modRM()
                if real { throw .ud }
            case 0x05, 0x07:
                if !code64 { throw .ud }   // EFER.SCE assumed set
            case 0x06, 0x08, 0x09, 0x30...0x35, 0xA0...0xA2, 0xA8, 0xA9, 0xC8...0xCF:
                break
            case 0x0D, 0x18...0x1F, 0x40...0x4F, 0x90...0x9F, 0xA3, 0xAB, 0xB3, 0xBB, 0xA5, 0xAD, 0xAF,
                 0xB6, 0xB7, 0xBE, 0xBF, 0xBC, 0xBD:
                try modRM()
                if lock && (op == 0xA5 || op == 0xAD) { throw .ud }
            case 0x20...0x23:
                // SDM Vol. 2B MOV to/from CR/DR: the mod field is ignored and the operand is
                // always a register, so only the ModRM byte follows (length 3 + prefixes).
                let m = try u8()
                modrm = m
                mrReg = Int((m >> 3) & 7) | Int(rex & 4) << 1
                mrIsReg = true
                let n = mrReg
                if op == 0x20 || op == 0x22 {
                    switch n {
                    case 0, 2, 3, 4: break
                    case 8: if !code64 { throw .ud }
                    default: throw .ud
                    }
                } else if n > 7 { throw .ud }   // CR4.DE assumed clear: DR4/DR5 alias DR6/DR7
            case 0x80...0x8F: try skip(branchOsz == 2 ? 2 : 4)
            case 0xBA:
                try modRM()
                if mrReg & 7 < 4 { throw .ud }
                try skip(1)
            case 0xA4, 0xAC:
                try modRM()
                if lock { throw .ud }
                try skip(1)
            case 0xAE:
                // Only the fences (register forms /5 /6 /7), FXSAVE/FXRSTOR (memory /0 /1) and
                // CLFLUSH (memory /7) exist here; RD/WRFSBASE, LDMXCSR, XSAVE* are #UD (as Execute0F).
                try modRM()
                if mrIsReg ? (mrReg & 7) < 5 : ((mrReg & 7) != 7 && (mrReg & 7) > 1) { throw .ud }
            case 0xB0, 0xB1, 0xC0, 0xC1:
                try modRM(); try lockCheck(true)
            case 0xB2, 0xB4, 0xB5:
                try modRM()
                if mrIsReg { throw .ud }
            case 0xB8:
                if rep != 0xF3 { throw .ud }
                try modRM()
            case 0xC7:
                try modRM()
                if !(mrReg & 7 == 1 && !mrIsReg) { throw .ud }
            case 0x38:
                let op3 = try u8()
                guard (op3 == 0xF0 || op3 == 0xF1) && rep == 0 else { throw .ud }
                try modRM()
                if mrIsReg { throw .ud }
            default:
                throw .ud
            }
        }
    }

    /// Decodes the instruction at the start of `bytes` (at most the first 15 are used) in
    /// 16-bit (real), 32-bit or 64-bit mode, with the engine's rules.
    public static func decode(_ bytes: [UInt8], bits: Int) -> Result {
        precondition(bits == 16 || bits == 32 || bits == 64, "bits must be 16, 32 or 64")
        var d = D(bytes, bits: bits)
        do {
            try d.step()
            return .length(d.p)
        } catch .ud {
            return .undefined
        } catch {
            return .tooLong
        }
    }
}
