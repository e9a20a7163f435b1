// A fast path for the most common 64-bit instructions, run ahead of step() by the vCPU's
// batch loop. It keeps RIP and the code page in locals and decodes straight from guest RAM
// (no prefix/ModRM state written to the CPU object). It only handles an instruction it can
// finish without a fault or exit: one optional REX and no legacy prefix; operand size 32/64;
// register operands or [base(+disp)] memory operands whose page already hits the TLB.
// Anything else stops the fast path *before* the instruction has changed any state, and
// step() runs it. Results come from the same helpers step() uses (add/sub/logic/incdec/
// shiftOp/cond), so flags are identical. Code bytes are read from guest RAM on every
// instruction (no decoded-instruction cache), so self-modifying code needs no invalidation;
// the code page pointer is the one beginFetch caches, dropped on every TLB flush/INVLPG.
// Measured (kvm-unit bench ref, ALU / mem-call loop): ~115 / ~100 MIPS with step() alone, ~230 / ~245 with it.
// runLane (entered at short branches) runs Jcc/JMP rel8 and REX.W register-register ALU forms in
// a small function of its own: ~370 / ~222 with it (the ALU loop never leaves it).

extension CPU {
    /// Decoded ModRM of the fast path: a register number (mod = 3) or a linear address.
    struct FastRM {
        var isReg: Bool
        var reg: Int      // ModRM.reg | REX.R
        var rm: Int       // register number when isReg
        var la: UInt64    // linear address (64-bit mode: DS/SS base 0) when !isReg
    }

    /// ModRM (+SIB/displacement) at `p[len]`, advancing `len`. Supports register forms,
    /// [base], [base+disp8], [base+disp32] with any base but RIP-relative, and SIB with no
    /// index (scale ignored then) and a base other than RBP/R13 at mod 0. Nil otherwise.
    @inline(__always) func fastModRM(_ p: UnsafePointer<UInt8>, _ len: inout Int, _ rx: UInt8) -> FastRM? {
        let m = p[len]
        len &+= 1
        let reg = Int((m >> 3) & 7) | Int(rx & 4) << 1
        let mod = m >> 6
        var rm = Int(m & 7)
        if mod == 3 { return FastRM(isReg: true, reg: reg, rm: rm | Int(rx & 1) << 3, la: 0) }
        if rm == 4 {
            let sib = p[len]
            len &+= 1
            // No index: SIB.index = 100 without REX.X.
            if (sib >> 3) & 7 != 4 || rx & 2 != 0 { return nil }
            rm = Int(sib & 7)
            if rm == 5 && mod == 0 { return nil }
        } else if rm == 5 && mod == 0 {
            return nil   // RIP-relative
        }
        var a = regs[rm | Int(rx & 1) << 3]
        if mod == 1 {
            a = a &+ UInt64(bitPattern: Int64(Int8(bitPattern: p[len])))
            len &+= 1
        } else if mod == 2 {
            a = a &+ UInt64(bitPattern: Int64(Int32(bitPattern: UnsafeRawPointer(p + len).loadUnaligned(as: UInt32.self))))
            len &+= 4
        }
        return FastRM(isReg: false, reg: reg, rm: 0, la: a)
    }

    /// reg/setReg for the fast path's operand sizes (4 or 8): no 4-way size switch.
    @inline(__always) func r32or64(_ n: Int, _ size: Int) -> UInt64 {
        size == 8 ? regs[n] : regs[n] & 0xFFFF_FFFF
    }

    @inline(__always) func set32or64(_ n: Int, _ size: Int, _ v: UInt64) {
        regs[n] = size == 8 ? v : v & 0xFFFF_FFFF
    }

    /// Host address of a TLB-hit read of `size` bytes at `la` on one page (what rd() would read).
    @inline(__always) func fastReadPtr(_ la: UInt64, _ size: Int) -> UnsafeMutableRawPointer? {
        if !CPU.canonical(la) { return nil }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let o = Int(la & 0xFFF)
        if tlbRTag[i] == page && o &+ size <= 4096 { return tlbRHost[i].unsafelyUnwrapped + o }
        return nil
    }

    @inline(__always) func fastWritePtr(_ la: UInt64, _ size: Int) -> UnsafeMutableRawPointer? {
        if !CPU.canonical(la) { return nil }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let o = Int(la & 0xFFF)
        if tlbWTag[i] == page && o &+ size <= 4096 { return tlbWHost[i].unsafelyUnwrapped + o }
        return nil
    }

    /// ADD OR AND SUB XOR CMP (k = 0 1 4 5 6 7; ADC/SBB are left to step()).
    @inline(__always) func fastALU(_ k: Int, _ a: UInt64, _ b: UInt64, _ size: Int) -> UInt64 {
        // Two copies with a constant size, so masks and sign-bit positions fold.
        size == 8 ? fastALUConst(k, a, b, 8) : fastALUConst(k, a, b, 4)
    }

    @inline(__always) func fastALUConst(_ k: Int, _ a: UInt64, _ b: UInt64, _ size: Int) -> UInt64 {
        switch k {
        case 0: return add(a, b, 0, size)
        case 1: return logic(a | b, size)
        case 4: return logic(a & b, size)
        case 6: return logic(a ^ b, size)
        default: return sub(a, b, 0, size)
        }
    }

    /// SHL/SAL/SHR/SAR as shiftOp computes them (same formulas; counts are at most 63 here,
    /// so the masking shifts equal the checked ones); the rotates go to shiftOp. shiftOp is
    /// not inlined (too big), and a call per SHL cost ~3% of the ALU bench.
    @inline(__always) func fastShift(_ k: Int, _ a: UInt64, _ countIn: UInt64, _ size: Int) -> UInt64 {
        if k < 4 { return shiftOp(k, a, countIn, size) }
        let bits = UInt64(truncatingIfNeeded: size &* 8)
        let count = countIn & (size == 8 ? 63 : 31)
        if count == 0 { return a }
        let m = CPU.mask(size)
        let sb = CPU.signBit(size)
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

    /// 64-bit ADD/SUB/logic for runLane: CF and OF from the host's carry and overflow
    /// (addingReportingOverflow), equal to add()/sub()/logic() for size 8.
    @inline(__always) func add64(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (r, c) = a.addingReportingOverflow(b)
        let o = Int64(bitPattern: a).addingReportingOverflow(Int64(bitPattern: b)).overflow
        setArith(CPU.szp64(r) | (c ? F.cf : 0) | (o ? F.of : 0) | ((a ^ b ^ r) & F.af))
        return r
    }

    @inline(__always) func sub64(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (r, c) = a.subtractingReportingOverflow(b)
        let o = Int64(bitPattern: a).subtractingReportingOverflow(Int64(bitPattern: b)).overflow
        setArith(CPU.szp64(r) | (c ? F.cf : 0) | (o ? F.of : 0) | ((a ^ b ^ r) & F.af))
        return r
    }

    @inline(__always) func logic64(_ r: UInt64) -> UInt64 {
        setArith(CPU.szp64(r))
        return r
    }

    @inline(__always) static func szp64(_ r: UInt64) -> UInt64 {
        CPU.parity(r) | (r == 0 ? F.zf : 0) | ((r &>> 56) & F.sf)
    }

    /// The hottest subset, in a loop of its own (few live values, so nothing spills): Jcc
    /// rel8, JMP rel8 and REX.W register-register forms of the commonest ALU instructions,
    /// one case per opcode with the operation fixed. Runs up to `limit` of them from `start`
    /// and stops before the first other instruction; returns the next RIP and the count.
    @inline(never) func runLane(_ start: UInt64, _ limit: UInt64, _ base: UInt64, _ host: UnsafePointer<UInt8>) -> (UInt64, UInt64) {
        var ip = start
        var n: UInt64 = 0
        let r = regs
        loop: while n < limit {
            let off = ip &- base
            if off > 0x1000 - 15 { break }
            let p = host + Int(off)
            let rx = Int(p[0])
            if rx & 0xF8 != 0x48 || p[2] < 0xC0 {
                if rx & 0xF0 != 0x70 && rx != 0xEB { break loop }
                let next = ip &+ 2
                if rx == 0xEB || CPU.condF(Int(rx & 15), flags) {
                    let t = next &+ UInt64(bitPattern: Int64(Int8(bitPattern: p[1])))
                    if !CPU.canonical(t) { break loop }
                    ip = t
                } else {
                    ip = next
                }
                n &+= 1
                continue loop
            }
            let op = p[1]
            var len = 2
            let m = Int(p[len])
            let a = (m & 7) | (rx & 1) << 3
            let b = (m >> 3) & 7 | (rx & 4) << 1
            switch op {
            case 0x01: r[a] = add64(r[a], r[b])
            case 0x03: r[b] = add64(r[b], r[a])
            case 0x29: r[a] = sub64(r[a], r[b])
            case 0x2B: r[b] = sub64(r[b], r[a])
            case 0x39: _ = sub64(r[a], r[b])
            case 0x3B: _ = sub64(r[b], r[a])
            case 0x31: r[a] = logic64(r[a] ^ r[b])
            case 0x33: r[b] = logic64(r[b] ^ r[a])
            case 0x09: r[a] = logic64(r[a] | r[b])
            case 0x0B: r[b] = logic64(r[b] | r[a])
            case 0x21: r[a] = logic64(r[a] & r[b])
            case 0x23: r[b] = logic64(r[b] & r[a])
            case 0x85: _ = logic64(r[a] & r[b])
            case 0x89: r[a] = r[b]
            case 0x8B: r[b] = r[a]
            case 0xFF:
                // INC/DEC keep CF.
                let cf = flags & F.cf
                switch b & 7 {
                case 0: r[a] = add64(r[a], 1)
                case 1: r[a] = sub64(r[a], 1)
                default: break loop
                }
                flags = (flags & ~F.cf) | cf
            case 0xC1:
                r[a] = fastShift(b & 7, r[a], UInt64(p[len &+ 1]), 8)
                len &+= 1
            case 0xD1:
                r[a] = fastShift(b & 7, r[a], 1, 8)
            default: break loop
            }
            ip = ip &+ UInt64(len &+ 1)
            n &+= 1
        }
        return (ip, n)
    }

    /// Runs up to `limit` instructions of the fast subset; returns how many retired. The
    /// caller guarantees 64-bit mode, no #AC checking and no hardware breakpoints.
    @inline(never) func runFast(_ limit: UInt64) -> UInt64 {
        var n: UInt64 = 0
        var ip = rip
        let tag = codePage
        if tag >> 52 != 0 { return 0 }   // no code page cached (~0)
        let base = tag << 12
        let host = UnsafePointer<UInt8>(codeHost.assumingMemoryBound(to: UInt8.self))
        let r = regs
        loop: while n < limit {
            // The longest instruction handled is 11 bytes; beginFetch's window is 15.
            // ip on the cached page at most 15 bytes from its end: one unsigned compare.
            let off = ip &- base
            if off > 0x1000 - 15 { break }
            let p = host + Int(off)
            var op = p[0]
            // Enter runLane at short branches (loop heads and tails): it then runs on as long
            // as the code stays in its subset. Entering it at every register-register form
            // costs a call per instruction where those are interleaved with memory forms.
            if op & 0xF0 == 0x70 || op == 0xEB {
                let (nip, k) = runLane(ip, limit &- n, base, host)
                if k != 0 { ip = nip; n &+= k; continue loop }
            }
            var rx: UInt8 = 0
            var len = 1
            if op & 0xF0 == 0x40 { rx = op; op = p[1]; len = 2 }
            let size = rx & 8 != 0 ? 8 : 4
            switch op {
            case 0x01, 0x09, 0x21, 0x29, 0x31, 0x39, 0x03, 0x0B, 0x23, 0x2B, 0x33, 0x3B, 0x85:
                guard let m = fastModRM(p, &len, rx) else { break loop }
                let k = op == 0x85 ? 8 : Int(op >> 3)
                let toRM = op & 2 == 0
                if m.isReg {
                    let x = r32or64(m.rm, size), y = r32or64(m.reg, size)
                    if k == 8 { _ = logic(x & y, size) }
                    else if toRM {
                        let v = fastALU(k, x, y, size)
                        if k != 7 { set32or64(m.rm, size, v) }
                    } else {
                        let v = fastALU(k, y, x, size)
                        if k != 7 { set32or64(m.reg, size, v) }
                    }
                } else {
                    guard let rp = fastReadPtr(m.la, size) else { break loop }
                    let x = CPU.load(rp, size), y = r32or64(m.reg, size)
                    if k == 8 { _ = logic(x & y, size) }
                    else if toRM {
                        if k != 7 {
                            guard let wp = fastWritePtr(m.la, size) else { break loop }
                            CPU.store(wp, size, fastALU(k, x, y, size))
                        } else {
                            _ = sub(x, y, 0, size)
                        }
                    } else {
                        let v = fastALU(k, y, x, size)
                        if k != 7 { set32or64(m.reg, size, v) }
                    }
                }
            case 0x81, 0x83:
                guard let m = fastModRM(p, &len, rx) else { break loop }
                let k = m.reg & 7
                if k == 2 || k == 3 { break loop }
                let imm: UInt64
                if op == 0x83 {
                    imm = UInt64(bitPattern: Int64(Int8(bitPattern: p[len]))) & CPU.mask(size)
                    len &+= 1
                } else {
                    imm = UInt64(bitPattern: Int64(Int32(bitPattern: UnsafeRawPointer(p + len).loadUnaligned(as: UInt32.self)))) & CPU.mask(size)
                    len &+= 4
                }
                if m.isReg {
                    let v = fastALU(k, r32or64(m.rm, size), imm, size)
                    if k != 7 { set32or64(m.rm, size, v) }
                } else {
                    guard let rp = fastReadPtr(m.la, size) else { break loop }
                    if k != 7 {
                        guard let wp = fastWritePtr(m.la, size) else { break loop }
                        CPU.store(wp, size, fastALU(k, CPU.load(rp, size), imm, size))
                    } else {
                        _ = sub(CPU.load(rp, size), imm, 0, size)
                    }
                }
            case 0x89, 0x8B:
                guard let m = fastModRM(p, &len, rx) else { break loop }
                if m.isReg {
                    if op == 0x89 { set32or64(m.rm, size, r32or64(m.reg, size)) } else { set32or64(m.reg, size, r32or64(m.rm, size)) }
                } else if op == 0x89 {
                    guard let wp = fastWritePtr(m.la, size) else { break loop }
                    CPU.store(wp, size, r32or64(m.reg, size))
                } else {
                    guard let rp = fastReadPtr(m.la, size) else { break loop }
                    set32or64(m.reg, size, CPU.load(rp, size))
                }
            case 0x8D:
                guard let m = fastModRM(p, &len, rx), !m.isReg else { break loop }
                set32or64(m.reg, size, m.la)
            case 0xC1, 0xD1, 0xD3:
                guard let m = fastModRM(p, &len, rx) else { break loop }
                let count: UInt64
                if op == 0xC1 { count = UInt64(p[len]); len &+= 1 }
                else if op == 0xD1 { count = 1 }
                else { count = r[1] & 0xFF }
                if m.isReg {
                    set32or64(m.rm, size, fastShift(m.reg & 7, r32or64(m.rm, size), count, size))
                } else {
                    guard let rp = fastReadPtr(m.la, size), let wp = fastWritePtr(m.la, size) else { break loop }
                    CPU.store(wp, size, fastShift(m.reg & 7, CPU.load(rp, size), count, size))
                }
            case 0xFF:
                guard let m = fastModRM(p, &len, rx) else { break loop }
                let k = m.reg & 7
                if k > 1 { break loop }
                if m.isReg {
                    set32or64(m.rm, size, incdec(r32or64(m.rm, size), k == 1, size))
                } else {
                    guard let rp = fastReadPtr(m.la, size), let wp = fastWritePtr(m.la, size) else { break loop }
                    CPU.store(wp, size, incdec(CPU.load(rp, size), k == 1, size))
                }
            case 0xC7:
                guard let m = fastModRM(p, &len, rx), m.reg & 7 == 0 else { break loop }
                let imm32 = UnsafeRawPointer(p + len).loadUnaligned(as: UInt32.self)
                len &+= 4
                let v = size == 8 ? UInt64(bitPattern: Int64(Int32(bitPattern: imm32))) : UInt64(imm32)
                if m.isReg { set32or64(m.rm, size, v) } else {
                    guard let wp = fastWritePtr(m.la, size) else { break loop }
                    CPU.store(wp, size, v)
                }
            case 0xB8...0xBF:
                let d = Int(op & 7) | Int(rx & 1) << 3
                if size == 8 {
                    setReg(d, 8, UnsafeRawPointer(p + len).loadUnaligned(as: UInt64.self))
                    len &+= 8
                } else {
                    setReg(d, 4, UInt64(UnsafeRawPointer(p + len).loadUnaligned(as: UInt32.self)))
                    len &+= 4
                }
            case 0x50...0x57:
                // PUSH r64 (64-bit stack, no 66 prefix).
                let sp = r[4] &- 8
                guard let wp = fastWritePtr(sp, 8) else { break loop }
                CPU.store(wp, 8, r[Int(op & 7) | Int(rx & 1) << 3])
                r[4] = sp
            case 0x58...0x5F:
                let sp = r[4]
                guard let rp = fastReadPtr(sp, 8) else { break loop }
                let v = CPU.load(rp, 8)
                r[4] = sp &+ 8
                r[Int(op & 7) | Int(rx & 1) << 3] = v
            case 0x70...0x7F:
                let d = UInt64(bitPattern: Int64(Int8(bitPattern: p[len])))
                len &+= 1
                let next = ip &+ UInt64(len)
                if cond(Int(op & 15)) {
                    let t = next &+ d
                    if !CPU.canonical(t) { break loop }
                    ip = t
                } else {
                    ip = next
                }
                n &+= 1
                continue loop
            case 0xEB, 0xE9:
                let d: UInt64
                if op == 0xEB { d = UInt64(bitPattern: Int64(Int8(bitPattern: p[len]))); len &+= 1 }
                else { d = UInt64(bitPattern: Int64(Int32(bitPattern: UnsafeRawPointer(p + len).loadUnaligned(as: UInt32.self)))); len &+= 4 }
                let t = ip &+ UInt64(len) &+ d
                if !CPU.canonical(t) { break loop }
                ip = t
                n &+= 1
                continue loop
            case 0x0F:
                let op2 = p[len]
                if op2 & 0xF0 != 0x80 { break loop }
                let d = UInt64(bitPattern: Int64(Int32(bitPattern: UnsafeRawPointer(p + len + 1).loadUnaligned(as: UInt32.self))))
                len &+= 5
                let next = ip &+ UInt64(len)
                if cond(Int(op2 & 15)) {
                    let t = next &+ d
                    if !CPU.canonical(t) { break loop }
                    ip = t
                } else {
                    ip = next
                }
                n &+= 1
                continue loop
            case 0xE8:
                let d = UInt64(bitPattern: Int64(Int32(bitPattern: UnsafeRawPointer(p + len).loadUnaligned(as: UInt32.self))))
                len &+= 4
                let ret = ip &+ UInt64(len)
                let t = ret &+ d
                let sp = r[4] &- 8
                if !CPU.canonical(t) { break loop }
                guard let wp = fastWritePtr(sp, 8) else { break loop }
                CPU.store(wp, 8, ret)
                r[4] = sp
                ip = t
                n &+= 1
                continue loop
            case 0xC3:
                let sp = r[4]
                guard let rp = fastReadPtr(sp, 8) else { break loop }
                let t = CPU.load(rp, 8)
                if !CPU.canonical(t) { break loop }
                r[4] = sp &+ 8
                ip = t
                n &+= 1
                continue loop
            case 0x90:
                if rx & 1 != 0 { break loop }   // XCHG r8, rAX
            default:
                break loop
            }
            ip = ip &+ UInt64(len)
            n &+= 1
        }
        rip = ip
        return n
    }
}
