// ADD ADC SUB SBB CMP AND OR XOR TEST INC DEC NEG with their flags (SDM Vol. 2A/2B).
// AND/OR/XOR/TEST leave AF undefined; Intel cores clear it, and so does this model.

extension CPU {
    // Branch-free flag formulas (operands are always masked to `size` by the callers): the
    // carry/borrow out of the top bit and the overflow come from the operand and result top
    // bits. Fewer SIL blocks keep add/sub/logic under the 64-block limit of @inline(__always),
    // so the ALU switch of the fast path inlines (it was a call costing ~10% of the ALU bench).
    @inline(__always) func add(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ size: Int) -> UInt64 {
        let m = CPU.mask(size)
        let top = UInt64(truncatingIfNeeded: size &* 8 &- 1)
        let r = (a &+ b &+ c) & m
        let cf = (((a & b) | ((a | b) & ~r)) &>> top) & 1
        let of = ((((a ^ r) & (b ^ r)) &>> top) & 1) &<< 11
        setArith(CPU.szp(r, size) | cf | of | ((a ^ b ^ r) & F.af))
        return r
    }

    @inline(__always) func sub(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ size: Int) -> UInt64 {
        let m = CPU.mask(size)
        let top = UInt64(truncatingIfNeeded: size &* 8 &- 1)
        let r = (a &- b &- c) & m
        let cf = (((~a & b) | ((~a | b) & r)) &>> top) & 1
        let of = ((((a ^ b) & (a ^ r)) &>> top) & 1) &<< 11
        setArith(CPU.szp(r, size) | cf | of | ((a ^ b ^ r) & F.af))
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
