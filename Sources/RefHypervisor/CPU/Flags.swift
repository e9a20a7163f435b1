// Arithmetic flags (SDM Vol. 1 3.4.3, Appendix A "EFLAGS Cross-Reference").
// Flags are computed eagerly. Where the SDM leaves a flag undefined, the choice is noted
// at the instruction; the reference is Bochs' model of current Intel cores.

extension CPU {
    /// PF: set when the low byte has an even number of ones (0x9669 is that table for a nibble).
    @inline(__always) static func parity(_ r: UInt64) -> UInt64 {
        let x = (r ^ (r >> 4)) & 0xF
        return ((0x9669 >> x) & 1) << 2
    }

    @inline(__always) static func szp(_ r: UInt64, _ size: Int) -> UInt64 {
        var f = parity(r)
        if r & mask(size) == 0 { f |= F.zf }
        if r & signBit(size) != 0 { f |= F.sf }
        return f
    }

    @inline(__always) func setArith(_ f: UInt64) { flags = (flags & ~F.arith) | f }

    /// Jcc/SETcc/CMOVcc condition codes (SDM Vol. 1 Appendix B).
    @inline(__always) func cond(_ c: Int) -> Bool {
        let f = flags
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
