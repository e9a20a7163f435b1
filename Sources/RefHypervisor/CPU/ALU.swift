// ADD ADC SUB SBB CMP AND OR XOR TEST INC DEC NEG with their flags (SDM Vol. 2A/2B).
// AND/OR/XOR/TEST leave AF undefined; Intel cores clear it, and so does this model.

extension CPU {
    @inline(__always) func add(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ size: Int) -> UInt64 {
        let m = CPU.mask(size)
        let r = (a &+ b &+ c) & m
        var f = CPU.szp(r, size)
        if c == 0 ? r < a : r <= a { f |= F.cf }
        if ((a ^ r) & (b ^ r)) & CPU.signBit(size) != 0 { f |= F.of }
        f |= (a ^ b ^ r) & F.af
        setArith(f)
        return r
    }

    @inline(__always) func sub(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ size: Int) -> UInt64 {
        let m = CPU.mask(size)
        let r = (a &- b &- c) & m
        var f = CPU.szp(r, size)
        if c == 0 ? a < b : a <= b { f |= F.cf }
        if ((a ^ b) & (a ^ r)) & CPU.signBit(size) != 0 { f |= F.of }
        f |= (a ^ b ^ r) & F.af
        setArith(f)
        return r
    }

    /// AND/OR/XOR/TEST: CF = OF = 0; AF is undefined, Intel cores clear it.
    @inline(__always) func logic(_ r: UInt64, _ size: Int) -> UInt64 {
        setArith(CPU.szp(r, size))
        return r & CPU.mask(size)
    }

    /// The eight ALU operations of opcodes 00-3F and group 1 (ADD OR ADC SBB AND SUB XOR CMP).
    @inline(__always) func alu(_ op: Int, _ a: UInt64, _ b: UInt64, _ size: Int) -> UInt64 {
        switch op {
        case 0: return add(a, b, 0, size)
        case 1: return logic(a | b, size)
        case 2:
            let r = add(a, b, flags & F.cf, size)
            if flipCarryAfterADC { flags ^= F.cf }
            return r
        case 3: return sub(a, b, flags & F.cf, size)
        case 4: return logic(a & b, size)
        case 6: return logic(a ^ b, size)
        default: return sub(a, b, 0, size)
        }
    }

    /// INC/DEC keep CF.
    @inline(__always) func incdec(_ a: UInt64, _ dec: Bool, _ size: Int) -> UInt64 {
        let cf = flags & F.cf
        let r = dec ? sub(a, 1, 0, size) : add(a, 1, 0, size)
        flags = (flags & ~F.cf) | cf
        return r
    }
}
