// The x87 FPU (SDM Vol. 1 chapter 8, Vol. 2 "F" instructions): the register stack, tags,
// status and control words, and the data instructions most code uses. Values are Swift's
// Float80, which is the x87 double-extended format bit for bit on x86-64.
//
// Implemented: FLD/FST/FSTP (m32/m64/m80/ST(i)), FILD/FIST/FISTP (m16/m32/m64), the
// constants, FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR (m32/m64/ST(i), P forms), FCHS/FABS/FSQRT/
// FRNDINT, FXCH, FFREE, FINCSTP/FDECSTP, FCOM/FCOMP/FCOMPP/FUCOM/FUCOMP/FUCOMPP, FCOMI/
// FUCOMI(P), FCMOVcc, FNSTSW (AX, m16), FNSTCW/FLDCW, FNINIT, FNCLEX, FNOP, FWAIT (9B in
// Execute.swift), FXSAVE/FXRSTOR (0F AE /0 /1). Stack overflow/underflow set IE|SF (C1 = 1
// on overflow); invalid operations set IE and deliver the QNaN indefinite when masked;
// x/0 sets ZE. An unmasked exception sets ES|B, the destination is left alone, and the
// next waiting x87 instruction raises #MF (SDM Vol. 1 8.7; FERR# with CR0.NE=0 is not
// modelled).
// Not modelled: precision control (results are always 64-bit precision), rounding control
// for arithmetic (round to nearest; FIST/FRNDINT honour RC), PE/UE/OE/DE for arithmetic
// (PE is reported for FIST/FRNDINT/FST m32/m64), C1 round-up reporting, FPU IP/DP/opcode.
// Everything else in D8-DF (FLDENV/FNSTENV, FSAVE/FRSTOR, FBLD/FBSTP, FI<op> m16/m32,
// FISTTP, transcendentals, FPREM, FSCALE, FXTRACT, undocumented aliases) and the reserved
// encodings raise #UD rather than run as no-ops.

extension CPU {
    // FSW bits (SDM Vol. 1 8.1.3)
    static let fswIE: UInt16 = 0x01, fswZE: UInt16 = 0x04, fswPE: UInt16 = 0x20, fswSF: UInt16 = 0x40
    static let fswES: UInt16 = 0x80, fswC0: UInt16 = 0x100, fswC1: UInt16 = 0x200, fswC2: UInt16 = 0x400
    static let fswC3: UInt16 = 0x4000, fswB: UInt16 = 0x8000

    /// The QNaN floating-point indefinite: sign 1, exponent all ones, significand 1100..0.
    static var x87Indefinite: Float80 { float80(lo: 0xC000_0000_0000_0000, hi: 0xFFFF) }

    static func float80(lo: UInt64, hi: UInt16) -> Float80 {
        var f: Float80 = 0
        withUnsafeMutableBytes(of: &f) { b in
            b.storeBytes(of: lo, toByteOffset: 0, as: UInt64.self)
            b.storeBytes(of: hi, toByteOffset: 8, as: UInt16.self)
        }
        return f
    }

    static func bits80(_ f: Float80) -> (lo: UInt64, hi: UInt16) {
        withUnsafeBytes(of: f) { b in (b.load(fromByteOffset: 0, as: UInt64.self), b.load(fromByteOffset: 8, as: UInt16.self)) }
    }

    var x87Top: Int { Int((fsw >> 11) & 7) }
    func setX87Top(_ t: Int) { fsw = (fsw & ~0x3800) | UInt16(t & 7) << 11 }
    func x87Phys(_ i: Int) -> Int { (x87Top + i) & 7 }
    func x87Empty(_ i: Int) -> Bool { ftw & (1 << x87Phys(i)) == 0 }

    /// Records exception flags; true when every one of them is masked (the default
    /// result is then delivered), false when one is unmasked (ES and B set, no result).
    func x87Raise(_ e: UInt16) -> Bool {
        fsw |= e
        if e & ~fcw & 0x3F != 0 { fsw |= CPU.fswES | CPU.fswB; return false }
        return true
    }

    /// ST(i), or nil after a stack underflow (IE|SF, C1 = 0) with IE unmasked; a masked
    /// underflow reads the indefinite.
    func x87Read(_ i: Int) -> Float80? {
        if !x87Empty(i) { return fpr[x87Phys(i)] }
        fsw &= ~CPU.fswC1
        return x87Raise(CPU.fswIE | CPU.fswSF) ? CPU.x87Indefinite : nil
    }

    func x87Set(_ i: Int, _ v: Float80) {
        let p = x87Phys(i)
        fpr[p] = v
        ftw |= 1 << p
    }

    /// Push: stack overflow (ST(7) in use) sets IE|SF with C1 = 1 and, masked, pushes the
    /// indefinite; unmasked, nothing changes.
    func x87Push(_ v: Float80) {
        if !x87Empty(7) {
            fsw |= CPU.fswC1
            if !x87Raise(CPU.fswIE | CPU.fswSF) { return }
            setX87Top(x87Top - 1); x87Set(0, CPU.x87Indefinite); return
        }
        fsw &= ~CPU.fswC1
        setX87Top(x87Top - 1)
        x87Set(0, v)
    }

    func x87Pop() {
        ftw &= ~(1 << x87Phys(0))
        setX87Top(x87Top + 1)
    }

    static func isSignaling(_ v: Float80) -> Bool { v.isSignalingNaN }

    /// The arithmetic of D8/DC/DE: 0 ADD, 1 MUL, 4 SUB (a-b), 5 SUBR (b-a), 6 DIV (a/b),
    /// 7 DIVR (b/a). Nil when an unmasked exception suppresses the result.
    func x87Arith(_ k: Int, _ a: Float80, _ b: Float80) -> Float80? {
        let (x, y) = k == 5 || k == 7 ? (b, a) : (a, b)
        if x.isNaN || y.isNaN {
            if (CPU.isSignaling(x) || CPU.isSignaling(y)) && !x87Raise(CPU.fswIE) { return nil }
            return CPU.x87NaNResult(x, y)
        }
        var invalid = false
        switch k {
        case 0: invalid = x.isInfinite && y.isInfinite && x.sign != y.sign
        case 4, 5: invalid = x.isInfinite && y.isInfinite && x.sign == y.sign
        case 1: invalid = (x.isInfinite && y == 0) || (x == 0 && y.isInfinite)
        default:
            invalid = (x == 0 && y == 0) || (x.isInfinite && y.isInfinite)
            if !invalid && y == 0 {
                if !x87Raise(CPU.fswZE) { return nil }
                return x.sign == y.sign ? .infinity : -.infinity
            }
        }
        if invalid { return x87Raise(CPU.fswIE) ? CPU.x87Indefinite : nil }
        fsw &= ~CPU.fswC1
        switch k {
        case 0: return x + y
        case 1: return x * y
        case 4, 5: return x - y
        default: return x / y
        }
    }

    /// The NaN an x87 arithmetic instruction delivers (SDM Vol. 1 4.8.3.5, Table 4-7, x87
    /// column): a NaN and a number give the NaN; an SNaN and a QNaN give the QNaN; two
    /// NaNs of the same kind give the one with the larger significand (equal: the positive
    /// one); always quieted.
    static func x87NaNResult(_ x: Float80, _ y: Float80) -> Float80 {
        guard x.isNaN && y.isNaN else { return quiet(x.isNaN ? x : y) }
        let xs = isSignaling(x), ys = isSignaling(y)
        if xs != ys { return quiet(xs ? y : x) }
        // equal significands: the positive one (the smaller sign/exponent word), as the host
        // CPU does and as Bochs' softfloat propagateFloatx80NaN decides
        let (xl, xh) = bits80(x), (yl, yh) = bits80(y)
        if xl != yl { return quiet(yl > xl ? y : x) }
        return quiet(yh < xh ? y : x)
    }

    /// Single and double NaNs to and from the register format with their payloads (FLD
    /// m32/m64 and FST/FSTP m32/m64 move the significand bits, SDM Vol. 1 4.8.3.4); other
    /// values convert exactly (loads) or rounded to nearest (stores) as Swift does.
    static func float80(single b: UInt32) -> Float80 {
        guard b & 0x7F80_0000 == 0x7F80_0000 && b & 0x7F_FFFF != 0 else { return Float80(Float(bitPattern: b)) }
        return float80(lo: 1 << 63 | UInt64(b & 0x7F_FFFF) << 40, hi: UInt16(b >> 31) << 15 | 0x7FFF)
    }

    static func float80(double b: UInt64) -> Float80 {
        guard b & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 && b & 0xF_FFFF_FFFF_FFFF != 0 else {
            return Float80(Double(bitPattern: b))
        }
        return float80(lo: 1 << 63 | (b & 0xF_FFFF_FFFF_FFFF) << 11, hi: UInt16(b >> 63) << 15 | 0x7FFF)
    }

    static func singleBits(_ v: Float80) -> UInt32 {
        guard v.isNaN else { return Float(v).bitPattern }
        let (lo, hi) = bits80(v)
        return UInt32(hi >> 15) << 31 | 0x7F80_0000 | UInt32((lo >> 40) & 0x7F_FFFF)
    }

    static func doubleBits(_ v: Float80) -> UInt64 {
        guard v.isNaN else { return Double(v).bitPattern }
        let (lo, hi) = bits80(v)
        return UInt64(hi >> 15) << 63 | 0x7FF0_0000_0000_0000 | ((lo >> 11) & 0xF_FFFF_FFFF_FFFF)
    }

    static func quiet(_ v: Float80) -> Float80 {
        var (lo, hi) = bits80(v)
        lo |= 0x4000_0000_0000_0000
        return float80(lo: lo, hi: hi)
    }

    /// FCOM/FUCOM compare: sets C3 C2 C0 (> 000, < 001, = 100, unordered 111). Any NaN
    /// is invalid for FCOM; only an SNaN for FUCOM. Returns false when an unmasked IE
    /// suppresses the result.
    func x87Compare(_ a: Float80, _ b: Float80, unordered: Bool) -> (c3: Bool, c2: Bool, c0: Bool)? {
        fsw &= ~CPU.fswC1
        if a.isNaN || b.isNaN {
            if !unordered || CPU.isSignaling(a) || CPU.isSignaling(b) {
                if !x87Raise(CPU.fswIE) { return nil }
            }
            return (true, true, true)
        }
        return (a == b, false, a < b)
    }

    func x87SetCC(_ r: (c3: Bool, c2: Bool, c0: Bool)) {
        fsw &= ~(CPU.fswC3 | CPU.fswC2 | CPU.fswC0)
        if r.c3 { fsw |= CPU.fswC3 }
        if r.c2 { fsw |= CPU.fswC2 }
        if r.c0 { fsw |= CPU.fswC0 }
    }

    /// FCOMI/FUCOMI: ZF PF CF as C3 C2 C0; OF SF AF cleared (SDM Vol. 2A FCOMI).
    func x87SetEFlags(_ r: (c3: Bool, c2: Bool, c0: Bool)) {
        flags &= ~(F.zf | F.pf | F.cf | F.of | F.sf | F.af)
        if r.c3 { flags |= F.zf }
        if r.c2 { flags |= F.pf }
        if r.c0 { flags |= F.cf }
    }

    /// Rounds to an integral value by FCW.RC (SDM Vol. 1 4.8.4); PE when inexact.
    func x87RoundRC(_ v: Float80) -> Float80 {
        let rule: FloatingPointRoundingRule
        switch (fcw >> 10) & 3 {
        case 0: rule = .toNearestOrEven
        case 1: rule = .down
        case 2: rule = .up
        default: rule = .towardZero
        }
        let r = v.rounded(rule)
        if r != v && !v.isNaN && !v.isInfinite { _ = x87Raise(CPU.fswPE) }
        return r
    }

    /// FIST/FISTP: integer of `size` bytes; NaN, infinity or out of range is invalid and
    /// stores the integer indefinite (the most negative value) when masked.
    func x87ToInt(_ v: Float80, _ size: Int) -> UInt64? {
        let bits = size * 8
        let minV = -Float80(sign: .plus, exponent: bits - 1, significand: 1)
        if v.isNaN || v.isInfinite { return x87Raise(CPU.fswIE) ? UInt64(1) << UInt64(bits - 1) : nil }
        let r = x87RoundRC(v)
        if r < minV || r >= -minV { return x87Raise(CPU.fswIE) ? UInt64(1) << UInt64(bits - 1) : nil }
        return UInt64(bitPattern: Int64(r)) & CPU.mask(size)
    }

    func x87LoadMem(_ size: Int) throws(Fault) -> Float80 {
        let a = eaddr()
        switch size {
        case 4: return CPU.float80(single: UInt32(truncatingIfNeeded: try rd(eaSeg, a, 4)))
        case 8: return CPU.float80(double: try rd(eaSeg, a, 8))
        default:
            let lo = try rd(eaSeg, a, 8)
            let hi = try rd(eaSeg, (a &+ 8) & asMask, 2)
            return CPU.float80(lo: lo, hi: UInt16(truncatingIfNeeded: hi))
        }
    }

    func x87StoreMem(_ v: Float80, _ size: Int) throws(Fault) {
        let a = eaddr()
        switch size {
        case 4:
            let f = Float(v)
            if Float80(f) != v && !v.isNaN { _ = x87Raise(CPU.fswPE) }
            try wr(eaSeg, a, 4, UInt64(CPU.singleBits(v)))
        case 8:
            let d = Double(v)
            if Float80(d) != v && !v.isNaN { _ = x87Raise(CPU.fswPE) }
            try wr(eaSeg, a, 8, CPU.doubleBits(v))
        default:
            try probeWrite(eaSeg, a, 10)
            let (lo, hi) = CPU.bits80(v)
            try wr(eaSeg, a, 8, lo)
            try wr(eaSeg, (a &+ 8) & asMask, 2, UInt64(hi))
        }
    }

    func x87IntLoad(_ size: Int) throws(Fault) -> Float80 {
        let v = try rd(eaSeg, eaddr(), size)
        return Float80(Int64(bitPattern: CPU.sext(v, size)))
    }

    /// A waiting x87 instruction (and FWAIT) first delivers a pending unmasked exception.
    func x87CheckPending() throws(Fault) {
        if fsw & CPU.fswES != 0 { throw Fault.exception(Vec.mf, nil) }
    }

    /// D8-DF after the ModRM byte has been decoded and CR0.EM/TS checked.
    func x87(_ op: UInt8) throws(Fault) {
        let r = mrReg & 7
        xinuse |= 1
        // Non-waiting control instructions: no pending-exception check (SDM Vol. 1 8.3.11).
        if op == 0xDB && modrm == 0xE3 { fcw = 0x37F; fsw = 0; ftw = 0; return }              // FNINIT
        if op == 0xDB && modrm == 0xE2 { fsw &= 0x7F00; return }                               // FNCLEX
        if op == 0xDF && modrm == 0xE0 { setReg(0, 2, UInt64(fsw)); return }                  // FNSTSW AX
        if !mrIsReg && op == 0xDD && r == 7 { try writeRM(2, UInt64(fsw)); return }           // FNSTSW m16
        if !mrIsReg && op == 0xD9 && r == 7 { try writeRM(2, UInt64(fcw)); return }           // FNSTCW m16
        if mrIsReg { try x87Register(op) } else { try x87Memory(op, r) }
    }

    private func x87Memory(_ op: UInt8, _ r: Int) throws(Fault) {
        switch (op, r) {
        case (0xD9, 5):                                                                         // FLDCW
            try x87CheckPending()
            fcw = UInt16(truncatingIfNeeded: try readRM(2)) | 0x40   // bit 6 reads as 1
        case (0xD8, _), (0xDC, _):                                                              // F<op> m32/m64
            try x87CheckPending()
            let m = try x87LoadMem(op == 0xD8 ? 4 : 8)
            guard let a = x87Read(0) else { return }
            if r == 2 || r == 3 {                                                               // FCOM/FCOMP
                guard let c = x87Compare(a, m, unordered: false) else { return }
                x87SetCC(c)
                if r == 3 { x87Pop() }
            } else if let v = x87Arith(r, a, m) { x87Set(0, v) }
        case (0xD9, 0), (0xDD, 0), (0xDB, 5):                                                   // FLD m32/m64/m80
            try x87CheckPending()
            let v = try x87LoadMem(op == 0xD9 ? 4 : (op == 0xDD ? 8 : 10))
            if CPU.isSignaling(v) && op != 0xDB { if !x87Raise(CPU.fswIE) { return } }
            x87Push(op != 0xDB && v.isNaN ? CPU.quiet(v) : v)
        case (0xD9, 2), (0xD9, 3), (0xDD, 2), (0xDD, 3), (0xDB, 7):                            // FST/FSTP
            try x87CheckPending()
            guard let v = x87Read(0) else { return }
            try x87StoreMem(v, op == 0xD9 ? 4 : (op == 0xDD ? 8 : 10))
            if r != 2 { x87Pop() }
        case (0xDF, 0), (0xDB, 0), (0xDF, 5):                                                   // FILD m16/m32/m64
            try x87CheckPending()
            x87Push(try x87IntLoad(op == 0xDB ? 4 : (r == 0 ? 2 : 8)))
        case (0xDF, 2), (0xDF, 3), (0xDB, 2), (0xDB, 3), (0xDF, 7):                            // FIST/FISTP
            try x87CheckPending()
            let size = op == 0xDB ? 4 : (r == 7 ? 8 : 2)
            try probeWrite(eaSeg, eaddr(), size)
            guard let v = x87Read(0), let i = x87ToInt(v, size) else { return }
            try writeRM(size, i)
            if r != 2 { x87Pop() }
        default:
            throw ud()   // not implemented or reserved
        }
    }

    private func x87Register(_ op: UInt8) throws(Fault) {
        let i = Int(modrm & 7)
        let row = modrm & 0xF8
        switch (op, row) {
        case (0xD9, 0xD0) where i == 0: try x87CheckPending()                                   // FNOP
        case (0xD9, 0xC0):                                                                      // FLD ST(i)
            try x87CheckPending()
            guard let v = x87Read(i) else { return }
            x87Push(v)
        case (0xD9, 0xC8):                                                                      // FXCH ST(i)
            try x87CheckPending()
            if x87Empty(0) || x87Empty(i) {
                fsw &= ~CPU.fswC1
                if !x87Raise(CPU.fswIE | CPU.fswSF) { return }
                if x87Empty(0) { x87Set(0, CPU.x87Indefinite) }
                if x87Empty(i) { x87Set(i, CPU.x87Indefinite) }
            }
            let a = fpr[x87Phys(0)], b = fpr[x87Phys(i)]
            x87Set(0, b); x87Set(i, a)
            fsw &= ~CPU.fswC1
        case (0xD9, 0xE0), (0xD9, 0xE8), (0xD9, 0xF0), (0xD9, 0xF8):
            try x87D9Misc(Int(modrm))
        case (0xD8, _), (0xDC, _), (0xDE, _):
            try x87CheckPending()
            let k = Int((modrm >> 3) & 7)
            if k == 2 || k == 3 {                                                              // FCOM/FCOMP ST(i)
                if op == 0xDE && modrm != 0xD9 { throw ud() }   // only FCOMPP (DE D9)
                if op == 0xDC { throw ud() }                     // DC D0-DF: undocumented aliases
                guard let a = x87Read(0), let b = x87Read(op == 0xDE ? 1 : i) else { return }
                guard let c = x87Compare(a, b, unordered: false) else { return }
                x87SetCC(c)
                if k == 3 || op == 0xDE { x87Pop() }
                if op == 0xDE { x87Pop() }
                return
            }
            guard let st0 = x87Read(0), let sti = x87Read(i) else { return }
            if op == 0xD8 {
                if let v = x87Arith(k, st0, sti) { x87Set(0, v) }
            } else {
                // DC/DE: ST(i) <- ST(i) op ST(0); the encodings of SUB/SUBR and DIV/DIVR swap
                // relative to D8 (SDM Vol. 2A FSUB: DC E8+i is FSUB ST(i),ST(0)).
                let kk = k >= 4 ? k ^ 1 : k
                if let v = x87Arith(kk, sti, st0) { x87Set(i, v) } else { return }
                if op == 0xDE { x87Pop() }
            }
        case (0xDD, 0xD0), (0xDD, 0xD8):                                                        // FST/FSTP ST(i)
            try x87CheckPending()
            guard let v = x87Read(0) else { return }
            x87Set(i, v)
            if row == 0xD8 { x87Pop() }
        case (0xDD, 0xC0):                                                                      // FFREE ST(i)
            try x87CheckPending()
            ftw &= ~(1 << x87Phys(i))
        case (0xDD, 0xE0), (0xDD, 0xE8), (0xDA, 0xE8) where op != 0xDA || modrm == 0xE9:        // FUCOM/FUCOMP/FUCOMPP
            try x87CheckPending()
            guard let a = x87Read(0), let b = x87Read(op == 0xDA ? 1 : i) else { return }
            guard let c = x87Compare(a, b, unordered: true) else { return }
            x87SetCC(c)
            if row == 0xE8 { x87Pop() }
            if op == 0xDA { x87Pop() }
        case (0xDB, 0xE8), (0xDB, 0xF0), (0xDF, 0xE8), (0xDF, 0xF0):                            // F(U)COMI(P)
            try x87CheckPending()
            guard let a = x87Read(0), let b = x87Read(i) else { return }
            guard let c = x87Compare(a, b, unordered: row == 0xE8) else { return }
            x87SetEFlags(c)
            if op == 0xDF { x87Pop() }
        case (0xDA, 0xC0), (0xDA, 0xC8), (0xDA, 0xD0), (0xDA, 0xD8),
             (0xDB, 0xC0), (0xDB, 0xC8), (0xDB, 0xD0), (0xDB, 0xD8):                            // FCMOVcc
            try x87CheckPending()
            let c: Bool
            switch row {
            case 0xC0: c = flags & F.cf != 0
            case 0xC8: c = flags & F.zf != 0
            case 0xD0: c = flags & (F.cf | F.zf) != 0
            default: c = flags & F.pf != 0
            }
            guard x87Read(0) != nil, let v = x87Read(i) else { return }
            if c != (op == 0xDB) { x87Set(0, v) }
        case (0xDB, 0xE0) where i == 0 || i == 1 || i == 4:                                     // FNENI/FNDISI/FNSETPM: no-ops on 387+
            break
        default:
            throw ud()   // reserved (e.g. D9 D1) or not implemented
        }
    }

    /// D9 E0-FF: FCHS FABS, FTST/FXAM (not implemented), the constants, FSQRT FRNDINT,
    /// FINCSTP FDECSTP.
    private func x87D9Misc(_ m: Int) throws(Fault) {
        try x87CheckPending()
        switch m {
        case 0xE0, 0xE1:                                                                        // FCHS/FABS
            guard let v = x87Read(0) else { return }
            fsw &= ~CPU.fswC1
            let (lo, hi) = CPU.bits80(v)
            x87Set(0, CPU.float80(lo: lo, hi: m == 0xE0 ? hi ^ 0x8000 : hi & 0x7FFF))
        case 0xE8: x87Push(1)                                                                   // FLD1
        case 0xE9: x87Push(CPU.float80(lo: 0xD49A_784B_CD1B_8AFE, hi: 0x4000))                 // FLDL2T
        case 0xEA: x87Push(CPU.float80(lo: 0xB8AA_3B29_5C17_F0BC, hi: 0x3FFF))                 // FLDL2E
        case 0xEB: x87Push(CPU.float80(lo: 0xC90F_DAA2_2168_C235, hi: 0x4000))                 // FLDPI
        case 0xEC: x87Push(CPU.float80(lo: 0x9A20_9A84_FBCF_F799, hi: 0x3FFD))                 // FLDLG2
        case 0xED: x87Push(CPU.float80(lo: 0xB172_17F7_D1CF_79AC, hi: 0x3FFE))                 // FLDLN2
        case 0xEE: x87Push(0)                                                                   // FLDZ
        case 0xF6: setX87Top(x87Top - 1); fsw &= ~CPU.fswC1                                    // FDECSTP
        case 0xF7: setX87Top(x87Top + 1); fsw &= ~CPU.fswC1                                    // FINCSTP
        case 0xFA:                                                                              // FSQRT
            guard let v = x87Read(0) else { return }
            if v.isNaN { if CPU.isSignaling(v) && !x87Raise(CPU.fswIE) { return }; x87Set(0, CPU.quiet(v)); return }
            if v < 0 { if x87Raise(CPU.fswIE) { x87Set(0, CPU.x87Indefinite) }; return }
            fsw &= ~CPU.fswC1
            x87Set(0, v.squareRoot())
        case 0xFC:                                                                              // FRNDINT
            guard let v = x87Read(0) else { return }
            x87Set(0, v.isNaN ? CPU.quiet(v) : x87RoundRC(v))
        default:
            throw ud()   // reserved (D9 E2 E3 E6 E7 EF) or not implemented
        }
    }

    /// FXSAVE / FXRSTOR m512 (SDM Vol. 2A FXSAVE, Tables 3-53/3-56): FCW, FSW, the abridged
    /// tag byte, MXCSR and MXCSR_MASK, ST(0)-ST(7) in stack order at 32 + 16*i, XMM0-7
    /// (XMM0-15 in 64-bit mode) at 160 + 16*i. FOP/FIP/FDP are not modelled and save as 0.
    /// #UD with CR0.EM, #NM with CR0.TS, #GP(0) for a misaligned operand or (FXRSTOR)
    /// reserved MXCSR bits; FXRSTOR reads everything before changing state.
    func fxsaveOrRestore(restore: Bool) throws(Fault) {
        if cr0 & 4 != 0 { throw ud() }
        if cr0 & 8 != 0 { throw Fault.exception(Vec.nm, nil) }
        let a = eaddr()
        // The linear address must be 16-byte aligned (64-bit mode ignores bases but FS/GS's).
        if (code64 && eaSeg < S.fs ? a : segs[eaSeg].base &+ a) & 15 != 0 { throw gp(0) }
        let mask = asMask
        func at(_ o: UInt64) -> UInt64 { (a &+ o) & mask }
        let nx = code64 ? 16 : 8
        if restore {
            let mx = UInt32(truncatingIfNeeded: try rd(eaSeg, at(24), 4))
            if mx & ~0xFFFF != 0 { throw gp(0) }
            let cw = UInt16(truncatingIfNeeded: try rd(eaSeg, at(0), 2))
            let sw = UInt16(truncatingIfNeeded: try rd(eaSeg, at(2), 2))
            let tw = UInt8(truncatingIfNeeded: try rd(eaSeg, at(4), 1))
            var st: [Float80] = []
            for i in 0..<8 {
                let lo = try rd(eaSeg, at(32 + 16 * UInt64(i)), 8)
                let hi = try rd(eaSeg, at(40 + 16 * UInt64(i)), 2)
                st.append(CPU.float80(lo: lo, hi: UInt16(truncatingIfNeeded: hi)))
            }
            var x = xmm
            for k in 0..<(2 * nx) {
                let v = try rd(eaSeg, at(160 + 8 * UInt64(k)), 8)
                for b in 0..<8 { x[8 * k + b] = UInt8(truncatingIfNeeded: v >> UInt64(8 * b)) }
            }
            fcw = cw; fsw = sw; ftw = tw; mxcsr = mx; xmm = x
            for i in 0..<8 { fpr[x87Phys(i)] = st[i] }
            xinuse |= 3
            return
        }
        try probeWrite(eaSeg, a, 512)
        try wr(eaSeg, at(0), 8, UInt64(fcw) | UInt64(fsw) << 16 | UInt64(ftw) << 32)
        try wr(eaSeg, at(8), 8, 0)
        try wr(eaSeg, at(16), 8, 0)
        try wr(eaSeg, at(24), 8, UInt64(mxcsr) | UInt64(0xFFFF) << 32)
        for i in 0..<8 {
            let (lo, hi) = CPU.bits80(fpr[x87Phys(i)])
            try wr(eaSeg, at(32 + 16 * UInt64(i)), 8, lo)
            try wr(eaSeg, at(40 + 16 * UInt64(i)), 8, UInt64(hi))
        }
        for k in 0..<(2 * nx) {
            var v: UInt64 = 0
            for b in 0..<8 { v |= UInt64(xmm[8 * k + b]) << UInt64(8 * b) }
            try wr(eaSeg, at(160 + 8 * UInt64(k)), 8, v)
        }
    }
}
