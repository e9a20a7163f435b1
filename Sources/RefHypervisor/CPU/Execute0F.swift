// The two-byte opcode map 0F xx (SDM Vol. 2D Table A-3), integer and system instructions.

extension CPU {
    /// Returns true when the instruction set RIP itself.
    func step0F() throws(Fault) -> Bool {
        let op = try fetch8()
        switch op {
        case 0x00: try group6()
        case 0x01: return try group7()
        case 0x02, 0x03: try larLsl(op == 0x02)
        case 0x05: try syscallInsn(); return true
        case 0x06:
            if cpl != 0 { throw gp(0) }
            cr0 &= ~UInt64(8)   // CLTS (TS is guest-owned under KVM: no exit)
        case 0x07: try sysretInsn(); return true
        case 0x08, 0x09:
            // INVD/WBINVD exit; KVM emulates INVD and skips WBINVD.
            if cpl != 0 { throw gp(0) }
            vmxTrace(op == 0x08 ? .invd : .wbinvd, outcome: VMXTraceRecord.handledInKernel)
            if op == 0x08 { countEmulation() }
        case 0x0B: throw ud()   // UD2
        case 0x0D, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F:
            try decodeModRM()   // hint NOPs / PREFETCH
        case 0x20, 0x21, 0x22, 0x23:
            try movCRDR(op)
        case 0x30: try wrmsrInsn()
        case 0x31:
            if cr4 & 4 != 0 && cpl != 0 && pe { throw gp(0) }   // CR4.TSD
            let t = guestTSC
            setReg(0, 4, t & 0xFFFF_FFFF); setReg(2, 4, t >> 32)
        case 0x32: try rdmsrInsn()
        case 0x33:
            // RDPMC: #GP at CPL > 0 without CR4.PCE; otherwise it exits and KVM injects #GP
            // for an invalid counter (no PMU is exposed).
            if cpl != 0 && cr4 & 0x100 == 0 && pe { throw gp(0) }
            vmExit(.rdpmc, outcome: VMXTraceRecord.handledInKernel)
            throw gp(0)
        case 0x34: try sysenterInsn(); return true
        case 0x35: try sysexitInsn(); return true
        case 0x40...0x4F:
            try decodeModRM()
            let v = try readRM(osz)   // the source is read even when the condition is false
            if cond(Int(op & 15)) { setR(mrReg, osz, v) }
            else if osz == 4 { setReg(mrReg, 4, reg(mrReg, 4)) }   // 32-bit CMOV zero-extends anyway
        case 0x80...0x8F:
            let d = branchOsz == 2 ? CPU.sext(try fetch16(), 2) : CPU.sext(try fetch32(), 4)
            if cond(Int(op & 15)) { try jumpNear(nextRIP &+ d, branchOsz); return true }
        case 0x90...0x9F:
            try decodeModRM()
            try writeRM(1, cond(Int(op & 15)) ? 1 : 0)
        case 0xA0, 0xA8:
            try pushSegment(segs[op == 0xA0 ? S.fs : S.gs].sel, stackOsz)
        case 0xA1, 0xA9:
            let v = try peek(0, stackOsz)
            try loadSegment(op == 0xA1 ? S.fs : S.gs, UInt16(truncatingIfNeeded: v))
            setSP((regs[4] &+ UInt64(stackOsz)) & spMask)
        case 0xA2: try cpuidInsn()
        case 0xA3, 0xAB, 0xB3, 0xBB:
            try decodeModRM()
            try bitTest(kind: Int((op >> 3) & 3), offset: getR(mrReg, osz), fromReg: true)
        case 0xBA:
            try decodeModRM()
            let k = mrReg & 7
            if k < 4 { throw ud() }
            let imm = UInt64(try fetch8())
            try bitTest(kind: k - 4, offset: imm, fromReg: false)
        case 0xA4, 0xA5, 0xAC, 0xAD:
            try decodeModRM()
            if lock { throw ud() }
            let count: UInt64 = op & 1 == 0 ? UInt64(try fetch8()) : regs[1] & 0xFF
            try checkWritableRM(osz)
            let a = try readRM(osz)
            let r = doubleShift(a, getR(mrReg, osz), count, osz, left: op < 0xA8)
            try writeRM(osz, r)
        case 0xAE:
            try decodeModRM()
            // LFENCE/MFENCE/SFENCE (mod = 3, /5 /6 /7) are no-ops; CLFLUSH (/7 memory) flushes
            // nothing but is checked like a byte load (SDM Vol. 2A CLFLUSH: "treated as a load
            // for permission checking and page faults": #GP/#SS for the segment, #PF on a
            // not-present or supervisor page, none on a read-only one). FXSAVE/FXRSTOR
            // (/0 /1 memory) are in X87.swift; LDMXCSR/STMXCSR/XSAVE* and RD/WRFSBASE are not implemented (#UD).
            if !mrIsReg && mrReg & 7 <= 1 { try fxsaveOrRestore(restore: mrReg & 7 == 1); break }
            if mrIsReg ? (mrReg & 7) < 5 : (mrReg & 7) != 7 { throw ud() }
            if !mrIsReg {
                let la = try linear(eaSeg, eaddr(), 1, write: false)
                if pagingOn { _ = try translate(la, write: false, fetch: false, user: cpl == 3) }
            }
        case 0xAF:
            try decodeModRM()
            let b = try readRM(osz)
            setR(mrReg, osz, imul2(getR(mrReg, osz), b, osz))
        case 0xB0, 0xB1:
            let size = op == 0xB0 ? 1 : osz
            try decodeModRM()
            try lockCheck(true)
            try checkWritableRM(size)
            let d = try readRM(size)
            let acc = getR(0, size)
            _ = sub(acc, d, 0, size)
            if acc == d { try writeRM(size, getR(mrReg, size)) }
            else {
                // The destination is written back with its own value (locked RMW), then rAX loaded.
                try writeRM(size, d)
                setR(0, size, d)
            }
        case 0xB2, 0xB4, 0xB5:
            try decodeModRM()
            if mrIsReg { throw ud() }
            try loadFarPointer(op == 0xB2 ? S.ss : (op == 0xB4 ? S.fs : S.gs))
        case 0xB6, 0xB7, 0xBE, 0xBF:
            try decodeModRM()
            let ss = op & 1 == 0 ? 1 : 2
            let v = try readRM(ss)
            setR(mrReg, osz, op >= 0xBE ? CPU.sext(v, ss) & CPU.mask(osz) : v)
        case 0xB8:
            // POPCNT (F3 0F B8)
            if rep != 0xF3 { throw ud() }
            try decodeModRM()
            let v = try readRM(osz)
            setR(mrReg, osz, UInt64(v.nonzeroBitCount))
            setArith(v == 0 ? F.zf : 0)
        case 0xBC, 0xBD:
            try decodeModRM()
            let v = try readRM(osz)
            if rep == 0xF3 && op == 0xBD {
                // LZCNT (CPUID ABM): CF = source zero, ZF = result zero. F3 0F BC stays BSF
                // because BMI1 (TZCNT) is not advertised (SDM Vol. 2A TZCNT note).
                let bits = UInt64(osz * 8)
                let r: UInt64 = v == 0 ? bits : UInt64(op == 0xBC ? v.trailingZeroBitCount : (v.leadingZeroBitCount - (64 - Int(bits))))
                setR(mrReg, osz, r)
                var f = flags & ~(F.cf | F.zf)
                if v == 0 { f |= F.cf }
                if r == 0 { f |= F.zf }
                flags = f
            } else if let r = bitScan(reverse: op == 0xBD, v) {
                setR(mrReg, osz, r)
            }
        case 0xC0, 0xC1:
            let size = op == 0xC0 ? 1 : osz
            try decodeModRM()
            try lockCheck(true)
            try checkWritableRM(size)
            let d = try readRM(size)
            let s = getR(mrReg, size)
            let r = add(d, s, 0, size)
            // SDM Vol. 2B XADD: TEMP <- SRC + DEST; SRC <- DEST; DEST <- TEMP. DEST is written
            // last, so `xadd rbx, rbx` leaves the sum. A memory DEST is stored first so a
            // faulting store leaves SRC unchanged.
            if mrIsReg { setR(mrReg, size, d); setR(mrRM, size, r) }
            else { try writeRM(size, r); setR(mrReg, size, d) }
        case 0xC7:
            try decodeModRM()
            let k = mrReg & 7
            if k == 1 && !mrIsReg {
                try cmpxchg8b16b()
            } else if k == 6 && mrIsReg {
                // RDRAND is not advertised: #UD.
                throw ud()
            } else { throw ud() }
        case 0xC8...0xCF:
            let n = Int(op & 7) | Int(rex & 1) << 3
            if osz == 8 { regs[n] = regs[n].byteSwapped }
            else if osz == 4 { setReg(n, 4, UInt64(UInt32(truncatingIfNeeded: regs[n]).byteSwapped)) }
            else { setReg(n, 2, 0) }   // BSWAP r16 is undefined; Intel cores zero it
        case 0x38:
            let op3 = try fetch8()
            if (op3 == 0xF0 || op3 == 0xF1) && rep == 0 {
                // MOVBE (F2-prefixed, it is CRC32: SSE4.2 is not implemented)
                try decodeModRM()
                if mrIsReg { throw ud() }
                if op3 == 0xF0 {
                    let v = try readRM(osz)
                    setR(mrReg, osz, CPU.byteSwap(v, osz))
                } else {
                    try writeRM(osz, CPU.byteSwap(getR(mrReg, osz), osz))
                }
            } else { throw ud() }
        default:
            throw ud()
        }
        return false
    }
}
