// Shifts and rotates (SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD).
// Undefined flags: OF for counts > 1 is computed with the count-1 formula and AF is cleared,
// as Bochs models Intel cores.

extension CPU {
    /// Group 2: op = ModRM.reg (ROL ROR RCL RCR SHL SHR SAL SAR).
    /// shiftOp with SHL/SAL/SHR/SAR inline (the same formulas; the count is at most 63 after
    /// masking, so the masking shifts equal the checked ones; for 8/16 bits a count above the
    /// width makes `bits - count` wrap to 41 or more, which shifts the masked operand to 0,
    /// as shiftOp's explicit CF = 0). shiftOp is too big to inline, and a call per SHL cost
    /// ~3% of a register ALU loop (a 16-bit ROL, ~70 host instructions, a real-mode one's).
    /// ROL and ROR too: the count, masked to 31 or 63, modulo the width (a power of two).
    /// `a` is masked to `size`, as every caller has it. RCL/RCR stay out of line.
    @inline(__always) func shift(_ k: Int, _ a: UInt64, _ countIn: UInt64, _ size: Int) -> UInt64 {
        if k == 2 || k == 3 { return shiftOp(k, a, countIn, size) }
        let bits = UInt64(truncatingIfNeeded: size &* 8)
        let count = countIn & (size == 8 ? 63 : 31)
        if count == 0 { return a }
        let m = CPU.mask(size)
        let sb = CPU.signBit(size)
        if k < 2 {
            // ROL: CF = bit 0 of the result, OF = its top bit XOR CF; ROR: CF = the top bit,
            // OF = the top two bits XORed (SDM Vol. 2B RCL/RCR/ROL/ROR; OF as for count 1).
            // A count that is a multiple of the width (8/16 bits) rotates nothing but still
            // sets CF and OF from the result, as shiftOp.
            let c = count & (bits &- 1)
            let r = k == 0 ? ((a &<< c) | (a &>> (bits &- c))) & m : ((a &>> c) | (a &<< (bits &- c))) & m
            let top = (r &>> (bits &- 1)) & 1
            let cf = k == 0 ? r & 1 : top
            let of = k == 0 ? top ^ cf : top ^ ((r &>> (bits &- 2)) & 1)
            flags = (flags & ~(F.cf | F.of)) | cf | (of &<< 11)
            return r
        }
        var f = flags & ~F.arith
        let r: UInt64
        switch k {
        case 4, 6:
            r = (a &<< count) & m
            let cf = (a &>> (bits &- count)) & 1
            f |= CPU.szp(r, size) | cf
            if ((r & sb) != 0) != (cf != 0) { f |= F.of }
        case 5:
            r = a &>> count
            let cf = (a &>> (count &- 1)) & 1
            f |= CPU.szp(r, size) | cf
            if a & sb != 0 { f |= F.of }
        default:
            let sv = Int64(bitPattern: CPU.sext(a, size))
            r = UInt64(bitPattern: sv &>> Int64(count)) & m
            let cf = UInt64(bitPattern: sv &>> Int64(count &- 1)) & 1
            f |= CPU.szp(r, size) | cf
        }
        flags = f
        return r
    }

    func shiftOp(_ op: Int, _ a: UInt64, _ countIn: UInt64, _ size: Int) -> UInt64 {
        let bits = UInt64(size * 8)
        let m = CPU.mask(size)
        let sb = CPU.signBit(size)
        var count = countIn & (size == 8 ? 63 : 31)
        if count == 0 { return a }
        var f = flags
        var r: UInt64
        switch op & 7 {
        case 0: // ROL: only CF and OF
            let c = count % bits
            r = c == 0 ? a : ((a << c) | (a >> (bits - c))) & m
            f = (f & ~(F.cf | F.of)) | (r & 1)
            if ((r & sb) != 0) != (r & 1 != 0) { f |= F.of }
        case 1: // ROR
            let c = count % bits
            r = c == 0 ? a : ((a >> c) | (a << (bits - c))) & m
            f &= ~(F.cf | F.of)
            if r & sb != 0 { f |= F.cf }
            if ((r & sb) != 0) != ((r & (sb >> 1)) != 0) { f |= F.of }
        case 2: // RCL through CF: rotates a (bits+1)-bit value
            if size < 4 { count %= bits + 1 }
            if count == 0 { return a }
            var v = a, cf = f & F.cf
            for _ in 0..<count {
                let out = (v & sb) != 0 ? UInt64(1) : 0
                v = ((v << 1) | cf) & m
                cf = out
            }
            r = v
            f = (f & ~(F.cf | F.of)) | cf
            if ((r & sb) != 0) != (cf != 0) { f |= F.of }
        case 3: // RCR: OF from the operand before the rotate
            if size < 4 { count %= bits + 1 }
            if count == 0 { return a }
            var v = a, cf = f & F.cf
            let of = ((a & sb) != 0) != (cf != 0)
            for _ in 0..<count {
                let out = v & 1
                v = (v >> 1) | (cf != 0 ? sb : 0)
                cf = out
            }
            r = v
            f = (f & ~(F.cf | F.of)) | cf | (of ? F.of : 0)
        case 4, 6: // SHL/SAL
            r = count >= 64 ? 0 : (a << count) & m
            let cf = count > bits ? 0 : (a >> (bits - count)) & 1
            f = (f & ~F.arith) | CPU.szp(r, size) | cf
            if ((r & sb) != 0) != (cf != 0) { f |= F.of }
        case 5: // SHR: OF = MSB of the original operand
            r = a >> count
            let cf = (a >> (count - 1)) & 1
            f = (f & ~F.arith) | CPU.szp(r, size) | cf
            if a & sb != 0 { f |= F.of }
        default: // SAR: OF = 0
            let s = Int64(bitPattern: CPU.sext(a, size))
            r = UInt64(bitPattern: s >> Int64(count)) & m
            let cf = UInt64(bitPattern: s >> Int64(count - 1)) & 1
            f = (f & ~F.arith) | CPU.szp(r, size) | cf
        }
        flags = f
        return r
    }

    /// SHLD/SHRD: shift `a` filling from `b`. 16-bit counts above 16 shift through b:a:b
    /// as on Intel cores (result undefined in the SDM).
    func doubleShift(_ a: UInt64, _ b: UInt64, _ countIn: UInt64, _ size: Int, left: Bool) -> UInt64 {
        let bits = UInt64(size * 8)
        let m = CPU.mask(size)
        let count = countIn & (size == 8 ? 63 : 31)
        if count == 0 { return a }
        var r: UInt64, cf: UInt64
        if size == 2 {
            // 48-bit pattern a:b:a (left) / b:a... as a 32-bit pair, count up to 31.
            if left {
                let big = (a << 32) | (b << 16) | a
                r = (big << count) >> 32 & 0xFFFF
                cf = (big >> (48 - count)) & 1
            } else {
                let big = (a << 32) | (b << 16) | a
                let big2 = (b << 16) | a | (a << 32)
                _ = big
                r = (big2 >> count) & 0xFFFF
                cf = (big2 >> (count - 1)) & 1
            }
        } else if left {
            r = ((a << count) | (b >> (bits - count))) & m
            cf = (a >> (bits - count)) & 1
        } else {
            r = ((a >> count) | (b << (bits - count))) & m
            cf = (a >> (count - 1)) & 1
        }
        let sb = CPU.signBit(size)
        var f = (flags & ~F.arith) | CPU.szp(r, size) | cf
        if ((r ^ a) & sb) != 0 { f |= F.of }
        flags = f
        return r
    }
}
