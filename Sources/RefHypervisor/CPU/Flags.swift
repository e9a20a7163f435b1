// Arithmetic flags (SDM Vol. 1 3.4.3, Appendix A "EFLAGS Cross-Reference").
// Flags are computed eagerly. Where the SDM leaves a flag undefined, the choice is noted
// at the instruction; the reference is Bochs' model of current Intel cores.

extension CPU {
    /// PF: set when the low byte has an even number of ones. A 256-entry table in a constant
    /// string: byte i is "$" (0x24, bit 2 set = PF) when i has even parity, " " (0x20) if odd.
    /// Two instructions (load, and), against seven with a variable shift for a nibble table.
    @inline(__always) static func parity(_ r: UInt64) -> UInt64 {
        let t: StaticString = "$  $ $$  $$ $  $ $$ $  $$  $ $$  $$ $  $$  $ $$ $  $ $$  $$ $  $ $$ $  $$  $ $$ $  $ $$  $$ $  $$  $ $$  $$ $  $ $$ $  $$  $ $$  $$ $  $$  $ $$ $  $ $$  $$ $  $$  $ $$  $$ $  $ $$ $  $$  $ $$ $  $ $$  $$ $  $ $$ $  $$  $ $$  $$ $  $$  $ $$ $  $ $$  $$ $  $"
        return UInt64(t.utf8Start[Int(truncatingIfNeeded: r & 0xFF)]) & F.pf
    }

    /// SF ZF PF, branch-free: ZF is bit 63 of ~x & (x - 1), which is set only for x = 0.
    @inline(__always) static func szp(_ r: UInt64, _ size: Int) -> UInt64 {
        let x = r & mask(size)
        let sf = ((x &>> UInt64(truncatingIfNeeded: size &* 8 &- 1)) & 1) &<< 7
        let zf = ((~x & (x &- 1)) &>> 63) &<< 6
        return parity(r) | zf | sf
    }

    @inline(__always) func setArith(_ f: UInt64) { flags = (flags & ~F.arith) | f }

    /// LAHF: AH = SF:ZF:0:AF:0:PF:1:CF (SDM Vol. 2A LAHF).
    @inline(__always) func lahf() { regs[0] = (regs[0] & ~0xFF00) | (((flags & 0xD5) | 2) << 8) }

    /// SAHF: SF ZF AF PF CF from AH; OF and the other bits kept, bit 1 set (SDM Vol. 2B SAHF).
    @inline(__always) func sahf() { flags = (flags & ~UInt64(0xD5)) | ((regs[0] >> 8) & 0xD5) | 2 }

    /// Jcc/SETcc/CMOVcc condition codes (SDM Vol. 1 Appendix B).
    @inline(__always) func cond(_ c: Int) -> Bool { CPU.condF(c, flags) }

    @inline(__always) static func condF(_ c: Int, _ f: UInt64) -> Bool {
        var r: Bool
        switch (c >> 1) & 7 {
        case 0: r = f & F.of != 0
        case 1: r = f & F.cf != 0
        case 2: r = f & F.zf != 0
        case 3: r = f & (F.cf | F.zf) != 0
        case 4: r = f & F.sf != 0
        case 5: r = f & F.pf != 0
        case 6: r = (f & F.sf != 0) != (f & F.of != 0)
        default: r = f & F.zf != 0 || (f & F.sf != 0) != (f & F.of != 0)
        }
        return c & 1 != 0 ? !r : r
    }
}
