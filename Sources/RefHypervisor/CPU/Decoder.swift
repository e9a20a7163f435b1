// Prefixes, ModRM/SIB/displacement decoding (SDM Vol. 2A ch. 2).

extension CPU {
    /// Reads legacy and REX prefixes; returns the first opcode byte. Sets osz/asz/segOv/rep/lock/rex.
    /// Legacy prefix bytes 26 2E 36 3E 64 65 66 67 F0 F2 F3 as a 256-bit set.
    @inline(__always) static func isLegacyPrefix(_ op: UInt8) -> Bool {
        let w: UInt64
        switch op >> 6 {
        case 0: w = (1 << 0x26) | (1 << 0x2E) | (1 << 0x36) | (1 << 0x3E)
        case 1: w = (1 << (0x64 - 64)) | (1 << (0x65 - 64)) | (1 << (0x66 - 64)) | (1 << (0x67 - 64))
        case 3: w = (1 << (0xF0 - 192)) | (1 << (0xF2 - 192)) | (1 << (0xF3 - 192))
        default: w = 0
        }
        return (w >> UInt64(op & 63)) & 1 != 0
    }

    @inline(__always) func decodePrefixes() throws(Fault) -> UInt8 {
        // Fast path: no prefix, or a lone REX in 64-bit mode (most instructions).
        var first = try fetch8()
        var rx: UInt8 = 0
        if code64 && first & 0xF0 == 0x40 { rx = first; first = try fetch8() }
        if !CPU.isLegacyPrefix(first) && !(code64 && first & 0xF0 == 0x40) {
            osz = rx & 8 != 0 ? 8 : defOsz; asz = defAsz; segOv = -1; rep = 0; lock = false; rex = rx
            return first
        }
        ibp = ibStart
        return try decodePrefixesSlow()
    }

    @inline(never) func decodePrefixesSlow() throws(Fault) -> UInt8 {
        var o16 = false, a16 = false
        segOv = -1; rep = 0; lock = false; rex = 0
        var op: UInt8
        while true {
            op = try fetch8()
            switch op {
            case 0x66: o16 = true; rex = 0
            case 0x67: a16 = true; rex = 0
            case 0x26: segOv = S.es; rex = 0
            case 0x2E: segOv = S.cs; rex = 0
            case 0x36: segOv = S.ss; rex = 0
            case 0x3E: segOv = S.ds; rex = 0
            case 0x64: segOv = S.fs; rex = 0
            case 0x65: segOv = S.gs; rex = 0
            case 0xF0: lock = true; rex = 0
            case 0xF2, 0xF3: rep = op; rex = 0
            case 0x40...0x4F where code64:
                rex = op   // a REX followed by a legacy prefix is ignored (reset above)
            default:
                if code64 {
                    // ES/CS/SS/DS overrides are ignored in 64-bit mode.
                    if segOv >= 0 && segOv < S.fs { segOv = -1 }
                    osz = rex & 8 != 0 ? 8 : (o16 ? 2 : 4)
                    asz = a16 ? 4 : 8
                } else {
                    osz = o16 ? (defOsz == 4 ? 2 : 4) : defOsz
                    asz = a16 ? (defAsz == 4 ? 2 : 4) : defAsz
                }
                return op
            }
        }
    }

    @inline(__always) func decodeModRM() throws(Fault) {
        let m = try fetch8()
        modrm = m
        mrReg = Int((m >> 3) & 7) | Int(rex & 4) << 1
        let mod = m >> 6
        let rm = Int(m & 7)
        if mod == 3 {
            mrIsReg = true
            mrRM = rm | Int(rex & 1) << 3
            return
        }
        try decodeModRMMem(m)
    }

    /// The memory forms of ModRM, out of line so that decodeModRM stays small enough to be
    /// inlined (register forms then cost no call).
    @inline(never) func decodeModRMMem(_ m: UInt8) throws(Fault) {
        let mod = m >> 6
        let rm = Int(m & 7)
        mrIsReg = false
        ripRel = false
        eaUsesSP = false
        var seg = S.ds
        var a: UInt64 = 0
        if asz == 2 {
            switch rm {
            case 0: a = regs[3] &+ regs[6]
            case 1: a = regs[3] &+ regs[7]
            case 2: a = regs[5] &+ regs[6]; seg = S.ss
            case 3: a = regs[5] &+ regs[7]; seg = S.ss
            case 4: a = regs[6]
            case 5: a = regs[7]
            case 6:
                if mod == 0 { a = try fetch16() } else { a = regs[5]; seg = S.ss }
            default: a = regs[3]
            }
            if mod == 1 { a = a &+ (try fetchS8()) }
            else if mod == 2 { a = a &+ (try fetch16()) }
            ea = a & 0xFFFF
        } else {
            if rm == 4 {
                let sib = try fetch8()
                let scale = UInt64(sib >> 6)
                let idx = Int((sib >> 3) & 7) | Int(rex & 2) << 2
                let b = Int(sib & 7)
                if idx != 4 { a = regs[idx] &<< scale }
                if b == 5 && mod == 0 {
                    a = a &+ CPU.sext(try fetch32(), 4)
                } else {
                    a = a &+ regs[b | Int(rex & 1) << 3]
                    if b == 4 || b == 5 { seg = S.ss }
                    if b == 4 && rex & 1 == 0 { eaUsesSP = true }
                }
            } else if rm == 5 && mod == 0 {
                a = CPU.sext(try fetch32(), 4)
                if code64 { ripRel = true }
            } else {
                a = regs[rm | Int(rex & 1) << 3]
                if rm == 5 { seg = S.ss }
            }
            if mod == 1 { a = a &+ (try fetchS8()) }
            else if mod == 2 { a = a &+ CPU.sext(try fetch32(), 4) }
            ea = asz == 8 ? a : a & 0xFFFF_FFFF
        }
        eaSeg = segOv >= 0 ? segOv : seg
    }

    /// Data segment for string sources and moffs: DS unless overridden.
    @inline(__always) var dataSeg: Int { segOv >= 0 ? segOv : S.ds }
}
