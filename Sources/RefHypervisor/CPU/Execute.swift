// The one-byte opcode map (SDM Vol. 2D Appendix A, Table A-2). One call executes one
// instruction; on a Fault nothing of the instruction is committed and RIP is unchanged
// (string instructions commit completed iterations, as the SDM specifies).

extension CPU {
    /// RIP of the next instruction: 64-bit, EIP, or IP wrapping at 64 KiB in 16-bit code.
    @inline(__always) var nextRIP: UInt64 {
        (instStart &+ UInt64(pos)) & ipMask
    }

    /// Operand size of stack pushes/pops: 64 by default in 64-bit mode, 16 with 66.
    @inline(__always) var stackOsz: Int { code64 ? (osz == 2 ? 2 : 8) : osz }

    /// Operand size of near branches: fixed at 64 in 64-bit mode (Intel ignores 66 there).
    @inline(__always) var branchOsz: Int { code64 ? 8 : osz }

    @inline(__always) func lockCheck(_ allowed: Bool) throws(Fault) {
        if lock && (!allowed || mrIsReg) { throw ud() }
    }

    /// Near branch target check: CS limit outside 64-bit mode, canonical inside.
    @inline(__always) func jumpNear(_ target: UInt64, _ size: Int) throws(Fault) {
        var t = target
        if size == 2 { t &= 0xFFFF } else if size == 4 { t &= 0xFFFF_FFFF }
        if code64 {
            if !CPU.canonical(t) { throw gp(0) }
        } else if t > segs[S.cs].hi || t < segs[S.cs].lo {
            throw gp(0)
        }
        rip = t
    }

    @inline(__always) func step() throws(Fault) {
        instStart = rip
        try beginFetch()
        let op = try decodePrefixes()
        if lock { try checkLockable(op) }
        switch op {
        // ALU ops 00-3D: op>>3 selects ADD OR ADC SBB AND SUB XOR CMP, op&7 the form.
        case 0x00...0x05, 0x08...0x0D, 0x10...0x15, 0x18...0x1D, 0x20...0x25, 0x28...0x2D, 0x30...0x35, 0x38...0x3D:
            try execALU(op)
        case 0x06, 0x0E, 0x16, 0x1E:
            if code64 { throw ud() }
            try pushSegment(segs[Int(op >> 3)].sel, osz)
        case 0x07, 0x17, 0x1F:
            if code64 { throw ud() }
            let s = Int(op >> 3)
            let v = try peek(0, osz)
            try loadSegment(s, UInt16(truncatingIfNeeded: v))
            setSP((regs[4] &+ UInt64(osz)) & spMask)
            if s == S.ss { shadow = 2; eventCheck = true }
        case 0x27, 0x2F, 0x37, 0x3F:
            if code64 { throw ud() }
            bcdAdjust(op)
        case 0x40...0x4F:
            // INC/DEC r (only outside 64-bit mode, where 40-4F are REX).
            let n = Int(op & 7)
            setReg(n, osz, incdec(reg(n, osz), op >= 0x48, osz))
        case 0x50...0x57:
            let n = Int(op & 7) | Int(rex & 1) << 3
            try push(reg(n, stackOsz), stackOsz)
        case 0x58...0x5F:
            let n = Int(op & 7) | Int(rex & 1) << 3
            let v = try pop(stackOsz)
            setReg(n, stackOsz, v)
        case 0x60:
            if code64 { throw ud() }
            let sp = reg(4, osz)
            // PUSHA: check the whole frame first so a fault leaves ESP unchanged.
            _ = try linear(S.ss, (regs[4] &- UInt64(8 * osz)) & spMask, 8 * osz, write: true)
            for n in 0..<8 { try push(n == 4 ? sp : reg(n, osz), osz) }
        case 0x61:
            if code64 { throw ud() }
            var vals = [UInt64](repeating: 0, count: 8)
            for n in 0..<8 { vals[7 - n] = try peek(UInt64(n * osz), osz) }
            for n in 0..<8 where n != 4 { setReg(n, osz, vals[n]) }
            setSP((regs[4] &+ UInt64(8 * osz)) & spMask)
        case 0x62:
            if code64 { throw ud() }
            try decodeModRM()
            if mrIsReg { throw ud() }
            let idx = CPU.sext(getR(mrReg, osz), osz)
            let lo = CPU.sext(try rd(eaSeg, eaddr(), osz), osz)
            let hi = CPU.sext(try rd(eaSeg, (eaddr() &+ UInt64(osz)) & asMask, osz), osz)
            if Int64(bitPattern: idx) < Int64(bitPattern: lo) || Int64(bitPattern: idx) > Int64(bitPattern: hi) {
                throw Fault.exception(Vec.br, nil)
            }
        case 0x63:
            try decodeModRM()
            if code64 {
                // MOVSXD
                let v = try readRM(4)
                setR(mrReg, osz, osz == 8 ? CPU.sext(v, 4) : v)
            } else {
                // ARPL (#UD in real mode)
                if !pe { throw ud() }
                let d = try readRM(2)
                let s = getR(mrReg, 2)
                if d & 3 < s & 3 {
                    try writeRM(2, (d & ~3) | (s & 3))
                    flags |= F.zf
                } else { flags &= ~F.zf }
            }
        case 0x68:
            let v = try fetchIz(stackOsz == 8 ? 8 : osz)
            try push(v, stackOsz)
        case 0x6A:
            let v = try fetchS8()
            try push(v & CPU.mask(stackOsz), stackOsz)
        case 0x69, 0x6B:
            try decodeModRM()
            let imm = op == 0x69 ? CPU.sext(try fetchIz(osz), osz == 2 ? 2 : 4) : try fetchS8()
            let a = try readRM(osz)
            setR(mrReg, osz, imul2(a, imm, osz))
        case 0x6C, 0x6D, 0x6E, 0x6F:
            try stringIO(op)
            return
        case 0x70...0x7F:
            let d = try fetchS8()
            if cond(Int(op & 15)) { try jumpNear(nextRIP &+ d, branchOsz); return }
        case 0x80, 0x81, 0x82, 0x83:
            if op == 0x82 && code64 { throw ud() }
            let size = op & 1 == 0 ? 1 : osz
            try decodeModRM()
            let k = mrReg & 7
            try lockCheck(k != 7)
            let imm = op == 0x81 ? try fetchIz(osz) & CPU.mask(osz) : try fetchS8() & CPU.mask(size)
            if k != 7 { try checkWritableRM(size) }
            let a = try readRM(size)
            let r = alu(k, a, imm, size)
            if k != 7 { try writeRM(size, r) }
        case 0x84, 0x85:
            let size = op & 1 == 0 ? 1 : osz
            try decodeModRM()
            if lock { throw ud() }
            let a = try readRM(size)
            _ = logic(a & getR(mrReg, size), size)
        case 0x86, 0x87:
            // XCHG with memory is implicitly locked.
            let size = op & 1 == 0 ? 1 : osz
            try decodeModRM()
            try lockCheck(true)
            try checkWritableRM(size)
            let a = try readRM(size)
            let b = getR(mrReg, size)
            try writeRM(size, b)
            setR(mrReg, size, a)
        case 0x88, 0x89, 0x8A, 0x8B:
            try execMov(op)
        case 0x8C:
            try decodeModRM()
            let s = mrReg & 7
            if s > 5 || lock { throw ud() }
            let v = UInt64(segs[s].sel)
            // A register destination takes the operand size (upper bits zeroed), memory is 16 bits.
            if mrIsReg { setR(mrRM, osz, v) } else { try writeRM(2, v) }
        case 0x8D:
            try decodeModRM()
            if mrIsReg || lock { throw ud() }
            setR(mrReg, osz, eaddr())
        case 0x8E:
            try decodeModRM()
            let s = mrReg & 7
            if s == S.cs || s > 5 || lock { throw ud() }
            let v = try readRM(2)
            try loadSegment(s, UInt16(truncatingIfNeeded: v))
            if s == S.ss { shadow = 2; eventCheck = true }
        case 0x8F:
            try decodeModRM()
            if mrReg & 7 != 0 { throw ud() }
            let size = stackOsz
            let v = try peek(0, size)
            // The effective address is computed with the incremented RSP (SDM POP).
            let oldSP = regs[4]
            if !mrIsReg && eaUsesSP { ea = (ea &+ UInt64(size)) & asMask }
            setSP((regs[4] &+ UInt64(size)) & spMask)
            do { try writeRM(size, v) } catch { regs[4] = oldSP; throw error }
        case 0x90:
            if rex & 1 != 0 {
                let a = regs[0], b = regs[8]
                setReg(0, osz, b); setReg(8, osz, a)
            } else if rep == 0xF3 {
                // PAUSE
            } else if osz == 8 || osz == 2 {
                // XCHG rAX, rAX: no change
            } else if code64 {
                // 32-bit NOP does not zero-extend RAX (it is NOP, not XCHG EAX,EAX).
            }
        case 0x91...0x97:
            let n = Int(op & 7) | Int(rex & 1) << 3
            let a = reg(0, osz), b = reg(n, osz)
            setReg(0, osz, b); setReg(n, osz, a)
        case 0x98:
            switch osz {
            case 2: setReg(0, 2, CPU.sext(regs[0], 1))
            case 4: setReg(0, 4, CPU.sext(regs[0], 2))
            default: regs[0] = CPU.sext(regs[0], 4)
            }
        case 0x99:
            let s = reg(0, osz) & CPU.signBit(osz) != 0
            setReg(2, osz, s ? ~0 : 0)
        case 0x9A:
            if code64 { throw ud() }
            let off = osz == 4 ? try fetch32() : try fetch16()
            let sel = UInt16(try fetch16())
            try farCall(sel, off, osz)
            return
        case 0x9B:
            // FWAIT: #NM when CR0.MP and CR0.TS
            if cr0 & 0xA == 0xA { throw Fault.exception(Vec.nm, nil) }
        case 0x9C:
            try pushf()
        case 0x9D:
            try popf()
        case 0x9E:
            // SAHF (#UD in 64-bit mode without LAHF-SAHF; CPUID reports it).
            sahf()
        case 0x9F:
            lahf()
        case 0xA0, 0xA1, 0xA2, 0xA3:
            let size = op & 1 == 0 ? 1 : osz
            let off: UInt64
            switch asz { case 8: off = try fetch64(); case 4: off = try fetch32(); default: off = try fetch16() }
            if op < 0xA2 { setReg(0, size, try rd(dataSeg, off, size)) }
            else { try wr(dataSeg, off, size, regs[0]) }
        case 0xA4, 0xA5, 0xA6, 0xA7, 0xAA, 0xAB, 0xAC, 0xAD, 0xAE, 0xAF:
            try stringOp(op)
            return
        case 0xA8:
            _ = logic(regs[0] & UInt64(try fetch8()), 1)
        case 0xA9:
            let imm = try fetchIz(osz)
            _ = logic(reg(0, osz) & imm, osz)
        case 0xB0...0xB7:
            setReg8(Int(op & 7) | Int(rex & 1) << 3, UInt64(try fetch8()))
        case 0xB8...0xBF:
            let n = Int(op & 7) | Int(rex & 1) << 3
            let v = osz == 8 ? try fetch64() : (osz == 4 ? try fetch32() : try fetch16())
            setReg(n, osz, v)
        case 0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3:
            let size = op & 1 == 0 ? 1 : osz
            try decodeModRM()
            if lock { throw ud() }
            let count: UInt64 = op <= 0xC1 ? UInt64(try fetch8()) : (op <= 0xD1 ? 1 : regs[1] & 0xFF)
            try checkWritableRM(size)
            let a = try readRM(size)
            let r = shiftOp(mrReg & 7, a, count, size)
            try writeRM(size, r)
        case 0xC2, 0xC3:
            let n = op == 0xC2 ? try fetch16() : 0
            let size = branchOsz
            let t = try peek(0, size)
            try jumpNear(t, size)
            setSP((regs[4] &+ UInt64(size) &+ n) & spMask)
            return
        case 0xC4, 0xC5:
            if code64 { throw ud() }   // VEX prefixes: AVX is not implemented
            try decodeModRM()
            if mrIsReg { throw ud() }
            try loadFarPointer(op == 0xC4 ? S.es : S.ds)
        case 0xC6, 0xC7:
            let size = op & 1 == 0 ? 1 : osz
            try decodeModRM()
            if mrReg & 7 != 0 || lock { throw ud() }
            let imm = size == 1 ? UInt64(try fetch8()) : try fetchIz(osz)
            try writeRM(size, imm)
        case 0xC8:
            let alloc = try fetch16()
            let level = UInt64(try fetch8())
            try enter(alloc, level)
        case 0xC9:
            // LEAVE: SP = BP, then pop BP.
            let size = stackOsz
            let bp = regs[5] & spMask
            let v = try rd(S.ss, bp, size)
            setSP(bp &+ UInt64(size))
            setReg(5, size, v)
        case 0xCA, 0xCB:
            let n = op == 0xCA ? try fetch16() : 0
            try farReturn(n, osz)
            return
        case 0xCC:
            if interceptBreakpoints { throw requestExit(.softwareBreakpoint) }
            try softwareInterrupt(3, kind: .int3)
            return
        case 0xCD:
            let v = try fetch8()
            try softwareInterrupt(v, kind: .intn)
            return
        case 0xCE:
            if code64 { throw ud() }
            if flags & F.of != 0 { try softwareInterrupt(4, kind: .into); return }
        case 0xCF:
            try iret(osz)
            return
        case 0xD4:
            if code64 { throw ud() }
            let base = UInt64(try fetch8())
            if base == 0 { throw Fault.exception(Vec.de, nil) }
            let al = regs[0] & 0xFF
            let r = ((al / base) << 8) | (al % base)
            setReg(0, 2, r)
            // AAM: SF ZF PF from AL; OF AF CF undefined, cleared as on Intel cores.
            setArith(CPU.szp(r & 0xFF, 1))
        case 0xD5:
            if code64 { throw ud() }
            let base = UInt64(try fetch8())
            let al = (regs[0] & 0xFF) &+ ((regs[0] >> 8) & 0xFF) &* base
            setReg(0, 2, al & 0xFF)
            setArith(CPU.szp(al & 0xFF, 1))
        case 0xD6:
            // SALC (undocumented): AL = CF ? FF : 00
            if code64 { throw ud() }
            setReg(0, 1, flags & F.cf != 0 ? 0xFF : 0)
        case 0xD7:
            let off = (regs[3] &+ (regs[0] & 0xFF)) & asMask
            setReg(0, 1, try rd(dataSeg, off, 1))
        case 0xD8...0xDF:
            // x87 (CPU/X87.swift): #NM when CR0.EM or CR0.TS (SDM Vol. 3A 2.5); what is
            // not implemented raises #UD, never runs as a no-op.
            try decodeModRM()
            if cr0 & 0xC != 0 { throw Fault.exception(Vec.nm, nil) }
            try x87(op)
        case 0xE0, 0xE1, 0xE2:
            let d = try fetchS8()
            let c = (reg(1, asz) &- 1) & CPU.mask(asz)
            setReg(1, asz, c)
            var take = c != 0
            if op == 0xE0 { take = take && flags & F.zf == 0 }
            if op == 0xE1 { take = take && flags & F.zf != 0 }
            if take { try jumpNear(nextRIP &+ d, branchOsz); return }
        case 0xE3:
            let d = try fetchS8()
            if reg(1, asz) == 0 { try jumpNear(nextRIP &+ d, branchOsz); return }
        case 0xE4, 0xE5, 0xE6, 0xE7:
            let port = UInt16(try fetch8())
            try portIO(op, port: port, immediate: true)
        case 0xEC, 0xED, 0xEE, 0xEF:
            try portIO(op, port: UInt16(truncatingIfNeeded: regs[2]), immediate: false)
        case 0xE8:
            let d = branchOsz == 2 ? CPU.sext(try fetch16(), 2) : CPU.sext(try fetch32(), 4)
            let ret = nextRIP
            let size = branchOsz
            let target = ret &+ d
            let saved = rip
            try jumpNear(target, size)
            do { try push(ret, size) } catch { rip = saved; throw error }
            return
        case 0xE9:
            let d = osz == 2 && !code64 ? CPU.sext(try fetch16(), 2) : CPU.sext(try fetch32(), 4)
            try jumpNear(nextRIP &+ d, branchOsz)
            return
        case 0xEA:
            if code64 { throw ud() }
            let off = osz == 4 ? try fetch32() : try fetch16()
            let sel = UInt16(try fetch16())
            try farJump(sel, off, osz)
            return
        case 0xEB:
            let d = try fetchS8()
            try jumpNear(nextRIP &+ d, branchOsz)
            return
        case 0xF1:
            // INT1 / ICEBP: #DB as a privileged software exception.
            try softwareInterrupt(1, kind: .icebp)
            return
        case 0xF4:
            if cpl != 0 { throw gp(0) }
            rip = nextRIP
            throw requestExit(.hlt)
        case 0xF5: flags ^= F.cf
        case 0xF6, 0xF7:
            try group3(op == 0xF6 ? 1 : osz)
        case 0xF8: flags &= ~F.cf
        case 0xF9: flags |= F.cf
        case 0xFA:
            try checkIOPLForIF()
            flags &= ~F.if
        case 0xFB:
            try checkIOPLForIF()
            if flags & F.if == 0 { shadow = 1 }
            flags |= F.if
            eventCheck = true
        case 0xFC: flags &= ~F.df
        case 0xFD: flags |= F.df
        case 0xFE:
            try decodeModRM()
            let k = mrReg & 7
            if k > 1 { throw ud() }
            try lockCheck(true)
            try checkWritableRM(1)
            let a = try readRM(1)
            try writeRM(1, incdec(a, k == 1, 1))
        case 0xFF:
            if try group5() { return }
        case 0x0F:
            if try step0F() { return }
        case 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0, 0xF2, 0xF3:
            throw ud()   // unreachable: consumed as prefixes
        default:
            throw ud()
        }
        rip = nextRIP
    }

    /// PUSH Sreg: with a 32/64-bit operand, current Intel cores move 16 bits and leave the
    /// rest of the slot unmodified (SDM Vol. 2B PUSH).
    func pushSegment(_ sel: UInt16, _ size: Int) throws(Fault) {
        let sp = (regs[4] &- UInt64(size)) & spMask
        if size > 2 { _ = try linear(S.ss, sp, size, write: true) }
        try wr(S.ss, sp, 2, UInt64(sel))
        setSP(sp)
    }

    /// Opcodes 00-3D: op>>3 selects ADD OR ADC SBB AND SUB XOR CMP, op&7 the operand form.
    /// A separate function so the ModRM decode and operand access inline into it. The
    /// operation is one switch calling add/sub/logic directly: alu() as a whole is over the
    /// inliner's 64-block limit, and calling it cost ~7% of the bench profile.
    @inline(never) func execALU(_ op: UInt8) throws(Fault) {
        let k = Int(op >> 3)
        let form = op & 7
        let size = form & 1 == 0 ? 1 : osz
        let a: UInt64, b: UInt64
        switch form {
        case 0, 1:
            try decodeModRM()
            try lockCheck(k != 7)
            if k != 7 { try checkWritableRM(size) }
            a = try readRM(size)
            b = getR(mrReg, size)
        case 2, 3:
            try decodeModRM()
            if lock { throw ud() }
            b = try readRM(size)
            a = getR(mrReg, size)
        case 4:
            if lock { throw ud() }
            b = UInt64(try fetch8())
            a = regs[0] & 0xFF
        default:
            if lock { throw ud() }
            b = try fetchIz(osz) & CPU.mask(osz)
            a = reg(0, osz)
        }
        let r: UInt64
        switch k {
        case 0: r = add(a, b, 0, size)
        case 1: r = logic(a | b, size)
        case 2:
            r = add(a, b, flags & F.cf, size)
            if flipCarryAfterADC { flags ^= F.cf }
        case 3: r = sub(a, b, flags & F.cf, size)
        case 4: r = logic(a & b, size)
        case 5: r = sub(a, b, 0, size)
        case 6: r = logic(a ^ b, size)
        default: _ = sub(a, b, 0, size); return
        }
        switch form {
        case 0, 1: try writeRM(size, r)
        case 2, 3: setR(mrReg, size, r)
        default: setR(0, size, r)
        }
    }

    /// MOV 88-8B.
    @inline(never) func execMov(_ op: UInt8) throws(Fault) {
        let size = op & 1 == 0 ? 1 : osz
        try decodeModRM()
        if lock { throw ud() }
        if op < 0x8A { try writeRM(size, getR(mrReg, size)) }
        else { setR(mrReg, size, try readRM(size)) }
    }

    /// LOCK is allowed only on the read-modify-write instructions (SDM Vol. 2A LOCK);
    /// the memory-operand and ModRM.reg conditions are checked by each instruction.
    @inline(never) func checkLockable(_ op: UInt8) throws(Fault) {
        switch op {
        case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31,
             0x80, 0x81, 0x82, 0x83, 0x86, 0x87, 0xF6, 0xF7, 0xFE, 0xFF:
            return
        case 0x0F:
            if ibp < ibEnd {
                switch ibp.pointee {
                case 0xAB, 0xB3, 0xBB, 0xBA, 0xB0, 0xB1, 0xC0, 0xC1, 0xC7: return
                default: break
                }
            }
            throw ud()
        default:
            throw ud()
        }
    }

    func checkIOPLForIF() throws(Fault) {
        if pe && cpl > Int((flags >> 12) & 3) { throw gp(0) }
    }

    /// Group 3 (F6/F7): TEST NOT NEG MUL IMUL DIV IDIV.
    func group3(_ size: Int) throws(Fault) {
        try decodeModRM()
        let k = mrReg & 7
        try lockCheck(k == 2 || k == 3)
        switch k {
        case 0, 1:
            let imm = size == 1 ? UInt64(try fetch8()) : try fetchIz(size)
            let a = try readRM(size)
            _ = logic(a & imm, size)
        case 2:
            try checkWritableRM(size)
            let a = try readRM(size)
            try writeRM(size, ~a & CPU.mask(size))
        case 3:
            try checkWritableRM(size)
            let a = try readRM(size)
            let r = sub(0, a, 0, size)
            try writeRM(size, r)
        default:
            let a = try readRM(size)
            try mulDiv(k, a, size)
        }
    }

    /// Group 5 (FF): INC DEC CALL CALLF JMP JMPF PUSH. Returns true when RIP was set.
    func group5() throws(Fault) -> Bool {
        try decodeModRM()
        let k = mrReg & 7
        try lockCheck(k < 2)
        switch k {
        case 0, 1:
            try checkWritableRM(osz)
            let a = try readRM(osz)
            try writeRM(osz, incdec(a, k == 1, osz))
            return false
        case 2:
            let size = branchOsz
            let t = try readRM(size)
            let ret = nextRIP
            let saved = rip
            try jumpNear(t, size)
            do { try push(ret, size) } catch { rip = saved; throw error }
            return true
        case 4:
            let t = try readRM(branchOsz)
            try jumpNear(t, branchOsz)
            return true
        case 3, 5:
            if mrIsReg { throw ud() }
            let o = osz
            let off = try rd(eaSeg, eaddr(), o)
            let sel = UInt16(try rd(eaSeg, (eaddr() &+ UInt64(o)) & asMask, 2))
            if k == 3 { try farCall(sel, off, o) } else { try farJump(sel, off, o) }
            return true
        case 6:
            let v = try readRM(stackOsz)
            try push(v, stackOsz)
            return false
        default:
            throw ud()
        }
    }

    /// DAA DAS AAA AAS (SDM Vol. 2A). AAA/AAS: OF SF ZF PF undefined; Intel computes SZP
    /// from AL and clears OF.
    func bcdAdjust(_ op: UInt8) {
        var al = regs[0] & 0xFF
        let cf = flags & F.cf != 0, af = flags & F.af != 0
        switch op {
        case 0x27, 0x2F:
            let oldAL = al
            var ncf = false, naf = false
            let isDAA = op == 0x27
            if al & 0xF > 9 || af {
                al = isDAA ? (al &+ 6) & 0xFF : (al &- 6) & 0xFF
                ncf = cf || (isDAA ? oldAL > 0xF9 : oldAL < 6)
                naf = true
            }
            if oldAL > 0x99 || cf {
                al = isDAA ? (al &+ 0x60) & 0xFF : (al &- 0x60) & 0xFF
                ncf = true
            }
            setReg(0, 1, al)
            // DAA/DAS: OF undefined; Intel sets it from the signed overflow of the adjustment (0 here).
            var f = CPU.szp(al, 1)
            if ncf { f |= F.cf }
            if naf { f |= F.af }
            setArith(f)
        default:
            let isAAA = op == 0x37
            var ax = regs[0] & 0xFFFF
            var f: UInt64 = 0
            if al & 0xF > 9 || af {
                // SDM AAA: AX := AX + 106H. SDM AAS: AX := AX - 6 (the borrow of AL reaches AH),
                // then AH := AH - 1 - so AX=0103H with AF=1 gives FF0DH, not 000DH.
                ax = isAAA ? ax &+ 0x106 : ((ax &- 6) &- 0x100) & 0xFFFF
                f = F.af | F.cf
            }
            ax = (ax & 0xFF0F) & 0xFFFF
            al = ax & 0xFF
            setReg(0, 2, ax)
            setArith(f | CPU.szp(al, 1))
        }
    }
}
