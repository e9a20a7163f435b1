// Bit operations: BT BTS BTR BTC with their bit-string addressing, BSWAP/MOVBE byte
// swaps, CMPXCHG8B/CMPXCHG16B (SDM Vol. 2A).

extension CPU {
    static func byteSwap(_ v: UInt64, _ size: Int) -> UInt64 {
        switch size {
        case 2: return UInt64(UInt16(truncatingIfNeeded: v).byteSwapped)
        case 4: return UInt64(UInt32(truncatingIfNeeded: v).byteSwapped)
        default: return v.byteSwapped
        }
    }

    /// BT BTS BTR BTC (kind 0..3). With a register bit offset and a memory operand the
    /// offset is signed and addresses beyond the operand (SDM Vol. 2A BT).
    /// BT/BTS/BTR/BTC (kind 0-3) on a register operand `v`: CF = the bit (offset modulo the
    /// operand width); returns the new value (`v` for BT).
    @inline(__always) func bitTestRegister(_ kind: Int, _ v: UInt64, _ offset: UInt64, _ size: Int) -> UInt64 {
        let bit = offset & UInt64(size &* 8 &- 1)
        if (v &>> bit) & 1 != 0 { flags |= F.cf } else { flags &= ~F.cf }
        switch kind {
        case 1: return v | (1 &<< bit)
        case 2: return v & ~(1 &<< bit)
        case 3: return v ^ (1 &<< bit)
        default: return v
        }
    }

    /// BSF/BSR: ZF = source zero, and then no result (the destination is left unchanged, as
    /// on Intel cores); CF OF SF AF PF are undefined and left unchanged.
    @inline(__always) func bitScan(reverse: Bool, _ v: UInt64) -> UInt64? {
        if v == 0 { flags |= F.zf; return nil }
        flags &= ~F.zf
        return UInt64(reverse ? 63 - v.leadingZeroBitCount : v.trailingZeroBitCount)
    }

    func bitTest(kind: Int, offset: UInt64, fromReg: Bool) throws(Fault) {
        try lockCheck(kind != 0)
        let bits = UInt64(osz * 8)
        var bit: UInt64
        if mrIsReg {
            let r = bitTestRegister(kind, getR(mrRM, osz), offset, osz)
            if kind != 0 { setR(mrRM, osz, r) }
            return
        }
        var addr = eaddr()
        if fromReg {
            let s = Int64(bitPattern: CPU.sext(offset, osz))
            let unit = Int64(osz)
            let idx = s >= 0 ? s / Int64(bits) : (s - Int64(bits) + 1) / Int64(bits)
            addr = (addr &+ UInt64(bitPattern: idx &* unit)) & asMask
            bit = UInt64(bitPattern: s - idx * Int64(bits))
        } else {
            bit = offset & (bits - 1)
        }
        if kind != 0 { try probeWrite(eaSeg, addr, osz) }   // W=1 on #PF (SDM Vol. 3A 4.7)
        let v = try rd(eaSeg, addr, osz)
        if (v >> bit) & 1 != 0 { flags |= F.cf } else { flags &= ~F.cf }
        switch kind {
        case 1: try wr(eaSeg, addr, osz, v | (1 << bit))
        case 2: try wr(eaSeg, addr, osz, v & ~(1 << bit))
        case 3: try wr(eaSeg, addr, osz, v ^ (1 << bit))
        default: break
        }
    }

    /// CMPXCHG8B / CMPXCHG16B (REX.W; 16-byte operand must be aligned).
    func cmpxchg8b16b() throws(Fault) {
        if lock && mrIsReg { throw ud() }
        let wide = osz == 8
        let addr = eaddr()
        if wide && addr & 15 != 0 { throw gp(0) }
        let h = wide ? 8 : 4
        try probeWrite(eaSeg, addr, 2 * h)   // a locked RMW: #PF reports W=1 (SDM Vol. 3A 4.7)
        if !wide {
            // CMPXCHG8B is one 8-byte read and one 8-byte write (of the old value when the
            // compare fails, SDM Vol. 2A CMPXCHG8B): on MMIO one exit each way, as KVM's
            // emulator does it (Linux 6.1 emulate.c em_cmpxchg8b, DstMem64; the write-back
            // of emulator_cmpxchg_emulated falls back to one 8-byte write for MMIO).
            let old = try rd(eaSeg, addr, 8)
            let lo = old & 0xFFFF_FFFF, hi = old >> 32
            if lo == regs[0] & 0xFFFF_FFFF && hi == regs[2] & 0xFFFF_FFFF {
                try wr(eaSeg, addr, 8, (regs[1] & 0xFFFF_FFFF) << 32 | regs[3] & 0xFFFF_FFFF)
                flags |= F.zf
            } else {
                try wr(eaSeg, addr, 8, old)
                setReg(0, 4, lo); setReg(2, 4, hi)
                flags &= ~F.zf
            }
            return
        }
        let lo = try rd(eaSeg, addr, h)
        let hi = try rd(eaSeg, (addr &+ UInt64(h)) & asMask, h)
        let m = CPU.mask(h)
        if lo == regs[0] & m && hi == regs[2] & m {
            try wr(eaSeg, addr, h, regs[3])
            try wr(eaSeg, (addr &+ UInt64(h)) & asMask, h, regs[1])
            flags |= F.zf
        } else {
            try wr(eaSeg, addr, h, lo)
            try wr(eaSeg, (addr &+ UInt64(h)) & asMask, h, hi)
            setReg(0, h, lo); setReg(2, h, hi)
            flags &= ~F.zf
        }
    }
}
