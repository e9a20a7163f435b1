// MUL IMUL DIV IDIV (SDM Vol. 2A/2B). CF = OF report a significant upper half; SF ZF PF
// are undefined and set from the low half with AF cleared, as Bochs models Intel cores.
// Division raises #DE for a zero divisor or a quotient that does not fit.

extension CPU {
    @inline(__always) func mulFlags(_ lo: UInt64, _ overflow: Bool, _ size: Int) {
        var f = CPU.szp(lo, size)
        if overflow { f |= F.cf | F.of }
        setArith(f)
    }

    /// IMUL r, r/m(, imm): truncated signed product.
    func imul2(_ a: UInt64, _ b: UInt64, _ size: Int) -> UInt64 {
        let sa = Int64(bitPattern: CPU.sext(a, size)), sb = Int64(bitPattern: CPU.sext(b, size))
        let (hi, lo) = sa.multipliedFullWidth(by: sb)
        let r = UInt64(bitPattern: Int64(bitPattern: lo)) & CPU.mask(size)
        let full = (Int64(hi), lo)
        let overflow: Bool
        if size == 8 {
            overflow = !(full.0 == 0 && Int64(bitPattern: full.1) >= 0) && !(full.0 == -1 && Int64(bitPattern: full.1) < 0)
        } else {
            overflow = CPU.sext(r, size) != UInt64(bitPattern: sa &* sb)
        }
        mulFlags(r, overflow, size)
        return r
    }

    /// F6/F7 /4../7 on rAX (and rDX).
    func mulDiv(_ k: Int, _ src: UInt64, _ size: Int) throws(Fault) {
        let m = CPU.mask(size)
        let bits = UInt64(size * 8)
        switch k {
        case 4: // MUL
            if size == 8 {
                let (hi, lo) = regs[0].multipliedFullWidth(by: src)
                regs[0] = lo; regs[2] = hi
                mulFlags(lo, hi != 0, 8)
            } else {
                let p = (regs[0] & m) &* src
                let lo = p & m, hi = (p >> bits) & m
                if size == 1 { setReg(0, 2, p & 0xFFFF) } else { setReg(0, size, lo); setReg(2, size, hi) }
                mulFlags(lo, hi != 0, size)
            }
        case 5: // IMUL
            let a = Int64(bitPattern: CPU.sext(regs[0], size)), b = Int64(bitPattern: CPU.sext(src, size))
            if size == 8 {
                let (hi, lo) = a.multipliedFullWidth(by: b)
                regs[0] = lo; regs[2] = UInt64(bitPattern: hi)
                let ov = !(hi == 0 && Int64(bitPattern: lo) >= 0) && !(hi == -1 && Int64(bitPattern: lo) < 0)
                mulFlags(lo, ov, 8)
            } else {
                let p = UInt64(bitPattern: a &* b)
                let lo = p & m, hi = (p >> bits) & m
                if size == 1 { setReg(0, 2, p & 0xFFFF) } else { setReg(0, size, lo); setReg(2, size, hi) }
                mulFlags(lo, CPU.sext(lo, size) != p, size)
            }
        case 6: // DIV
            if src == 0 { throw Fault.exception(Vec.de, nil) }
            if size == 8 {
                let hi = regs[2], lo = regs[0]
                if hi >= src { throw Fault.exception(Vec.de, nil) }
                let (q, r) = src.dividingFullWidth((high: hi, low: lo))
                regs[0] = q; regs[2] = r
            } else {
                let dividend = size == 1 ? regs[0] & 0xFFFF : ((regs[2] & m) << bits) | (regs[0] & m)
                let q = dividend / src, r = dividend % src
                if q > m { throw Fault.exception(Vec.de, nil) }
                if size == 1 { setReg(0, 2, (r << 8) | q) } else { setReg(0, size, q); setReg(2, size, r) }
            }
        default: // IDIV
            if src == 0 { throw Fault.exception(Vec.de, nil) }
            if size == 8 {
                let d = Int64(bitPattern: src)
                let hi = Int64(bitPattern: regs[2]), lo = regs[0]
                // Quotient must fit in 64 bits; do the 128-bit division on magnitudes.
                let neg = hi < 0
                var mh = UInt64(bitPattern: hi), ml = lo
                if neg { ml = ~ml &+ 1; mh = ~mh &+ (ml == 0 ? 1 : 0) }
                let dn = d < 0
                let md = dn ? UInt64(bitPattern: 0 &- d) : UInt64(bitPattern: d)
                if mh >= md { throw Fault.exception(Vec.de, nil) }
                let (q, r) = md.dividingFullWidth((high: mh, low: ml))
                let qneg = neg != dn
                if qneg ? q > (UInt64(1) << 63) : q > UInt64(Int64.max) { throw Fault.exception(Vec.de, nil) }
                regs[0] = qneg ? 0 &- q : q
                regs[2] = neg ? 0 &- r : r
            } else {
                let dividend: Int64 = size == 1 ? Int64(Int16(truncatingIfNeeded: regs[0]))
                    : Int64(bitPattern: CPU.sext(((regs[2] & m) << bits) | (regs[0] & m), size * 2))
                let d = Int64(bitPattern: CPU.sext(src, size))
                // dividedReportingOverflow: INT64_MIN / -1 must be #DE, not a host trap.
                let (q, qo) = dividend.dividedReportingOverflow(by: d)
                let (r, ro) = dividend.remainderReportingOverflow(dividingBy: d)
                if qo || ro { throw Fault.exception(Vec.de, nil) }
                let lim = Int64(1) << Int64(bits - 1)
                if q >= lim || q < -lim { throw Fault.exception(Vec.de, nil) }
                if size == 1 { setReg(0, 2, ((UInt64(bitPattern: r) & 0xFF) << 8) | (UInt64(bitPattern: q) & 0xFF)) }
                else { setReg(0, size, UInt64(bitPattern: q)); setReg(2, size, UInt64(bitPattern: r)) }
            }
        }
    }
}
