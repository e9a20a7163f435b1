// Segment loads and descriptor checks (SDM Vol. 3A ch. 3 and 5; MOV/POP Sreg, LDS..LSS,
// LLDT, LTR, LAR, LSL, VERR, VERW in Vol. 2).

extension CPU {
    /// The 8-byte descriptor for `sel`, or nil when it lies beyond the GDT/LDT limit.
    func readDescriptor(_ sel: UInt16) throws(Fault) -> UInt64? {
        let index = UInt64(sel & 0xFFF8)
        let base: UInt64, limit: UInt64
        if sel & 4 != 0 {
            let l = segs[S.ldtr]
            if l.unusable || l.sel & 0xFFFC == 0 { return nil }
            base = l.base; limit = UInt64(l.limit)
        } else {
            base = gdtBase; limit = UInt64(gdtLimit)
        }
        if index + 7 > limit { return nil }
        return try sysRead(base &+ index, 8)
    }

    func descriptorAddress(_ sel: UInt16) -> UInt64 {
        (sel & 4 != 0 ? segs[S.ldtr].base : gdtBase) &+ UInt64(sel & 0xFFF8)
    }

    static func segFromDescriptor(_ d: UInt64, sel: UInt16) -> Seg {
        var s = Seg()
        s.sel = sel
        var limit = UInt32(truncatingIfNeeded: (d & 0xFFFF) | ((d >> 32) & 0xF_0000))
        s.base = ((d >> 16) & 0xFF_FFFF) | ((d >> 32) & 0xFF00_0000)
        s.type = UInt8((d >> 40) & 0xF)
        s.s = (d >> 44) & 1 != 0
        s.dpl = UInt8((d >> 45) & 3)
        s.present = (d >> 47) & 1 != 0
        s.avl = (d >> 52) & 1 != 0
        s.l = (d >> 53) & 1 != 0
        s.db = (d >> 54) & 1 != 0
        s.g = (d >> 55) & 1 != 0
        if s.g { limit = (limit << 12) | 0xFFF }
        s.limit = limit
        return s
    }

    /// Sets the accessed bit of a code/data descriptor (type bit 0) if clear.
    func markAccessed(_ sel: UInt16, _ d: UInt64) throws(Fault) {
        if d & (1 << 40) == 0 {
            try sysWrite(descriptorAddress(sel) &+ 5, 1, (d >> 40) | 1)
        }
    }

    func setSeg(_ i: Int, _ s: Seg) {
        segs[i] = s
        derive(i)
        if i == S.cs || i == S.ss { updateMode() }
    }

    /// MOV/POP to DS ES FS GS SS (not CS).
    func loadSegment(_ i: Int, _ sel: UInt16) throws(Fault) {
        if !pe {
            // Real mode: only selector and base change (SDM Vol. 3A 20.1.1).
            segs[i].sel = sel
            segs[i].base = UInt64(sel) << 4
            segs[i].unusable = false
            derive(i)
            if i == S.ss { updateMode() }
            return
        }
        let rpl = Int(sel & 3)
        if sel & 0xFFFC == 0 {
            if i == S.ss {
                // A null SS is allowed only in 64-bit mode at CPL < 3 with RPL = CPL.
                if !(code64 && cpl < 3 && rpl == cpl) { throw gp(0) }
            }
            var s = segs[i]
            s.sel = sel
            s.unusable = true
            if !code64 || i < S.fs { s.base = 0 }
            s.type = 0; s.present = false
            if i == S.ss { s.dpl = UInt8(cpl) }
            setSeg(i, s)
            return
        }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC)) }
        var s = CPU.segFromDescriptor(d, sel: sel)
        let code = s.type & 8 != 0
        if i == S.ss {
            if rpl != cpl || !s.s || code || s.type & 2 == 0 || Int(s.dpl) != cpl { throw gp(UInt32(sel & 0xFFFC)) }
            if !s.present { throw Fault.exception(Vec.ss, UInt32(sel & 0xFFFC)) }
        } else {
            if !s.s || (code && s.type & 2 == 0) { throw gp(UInt32(sel & 0xFFFC)) }
            if !code || s.type & 4 == 0 {
                if rpl > Int(s.dpl) || cpl > Int(s.dpl) { throw gp(UInt32(sel & 0xFFFC)) }
            }
            if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        }
        try markAccessed(sel, d)
        s.type |= 1
        setSeg(i, s)
    }

    /// LDS LES LFS LGS LSS: offset then selector from memory.
    func loadFarPointer(_ i: Int) throws(Fault) {
        let a = eaddr()
        let off = try rd(eaSeg, a, osz)
        let sel = UInt16(try rd(eaSeg, (a &+ UInt64(osz)) & asMask, 2))
        try loadSegment(i, sel)
        setR(mrReg, osz, off)   // LSS, unlike MOV/POP SS, does not block interrupts
    }

    /// Loads CS for a far transfer to a code segment at privilege `newCPL` (checks done by the caller).
    func loadCS(_ sel: UInt16, _ d: UInt64, cpl newCPL: Int) throws(Fault) {
        var s = CPU.segFromDescriptor(d, sel: (sel & 0xFFFC) | UInt16(newCPL))
        try markAccessed(sel, d)
        s.type |= 1
        cpl = newCPL
        setSeg(S.cs, s)
    }

    /// Checks a far JMP/CALL/RET/IRET target code descriptor; returns it.
    /// CS load by a real-mode far transfer or interrupt: only the selector and the base
    /// (selector * 16) change (SDM Vol. 3A 20.1.1).
    @inline(__always) func loadRealModeCS(_ sel: UInt16) {
        segs[S.cs].sel = sel
        segs[S.cs].base = UInt64(sel) << 4
        derive(S.cs)
    }

    /// The checks of a direct far JMP or CALL to a code segment (SDM Vol. 2A CALL, Vol. 2A
    /// JMP, protected mode): a conforming segment needs DPL <= CPL, a non-conforming one
    /// RPL <= CPL and DPL == CPL; it must be present; the target must be within the limit
    /// (canonical in 64-bit code). Returns the descriptor for loadCS.
    func checkDirectFarTarget(_ sel: UInt16, _ target: UInt64) throws(Fault) -> UInt64 {
        let d = try checkCodeTarget(sel, rplMode: false)
        let s = CPU.segFromDescriptor(d, sel: sel)
        if s.type & 4 != 0 { if Int(s.dpl) > cpl { throw gp(UInt32(sel & 0xFFFC)) } }
        else if Int(sel & 3) > cpl || Int(s.dpl) != cpl { throw gp(UInt32(sel & 0xFFFC)) }
        if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        if !(lma && s.l) && target > UInt64(s.limit) { throw gp(0) }
        if lma && s.l && !CPU.canonical(target) { throw gp(0) }
        return d
    }

    func checkCodeTarget(_ sel: UInt16, rplMode: Bool) throws(Fault) -> UInt64 {
        if sel & 0xFFFC == 0 { throw gp(0) }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC)) }
        let s = CPU.segFromDescriptor(d, sel: sel)
        if !s.s || s.type & 8 == 0 { throw gp(UInt32(sel & 0xFFFC)) }
        if lma && s.l && s.db { throw gp(UInt32(sel & 0xFFFC)) }
        return d
    }

    // MARK: group 6 (0F 00): SLDT STR LLDT LTR VERR VERW

    func group6() throws(Fault) {
        try decodeModRM()
        let k = mrReg & 7
        if !pe { throw ud() }
        switch k {
        case 0, 1:
            let v = UInt64(segs[k == 0 ? S.ldtr : S.tr].sel)
            if mrIsReg { setR(mrRM, osz, v) } else { try writeRM(2, v) }
        case 2, 3:
            if cpl != 0 { throw gp(0) }
            let sel = UInt16(try readRM(2))
            if k == 2 { try lldt(sel) } else { try ltr(sel) }
        case 4, 5:
            let sel = UInt16(try readRM(2))
            var ok = false
            if sel & 0xFFFC != 0, let d = try readDescriptor(sel) {
                let s = CPU.segFromDescriptor(d, sel: sel)
                if s.s {
                    let code = s.type & 8 != 0
                    let conforming = code && s.type & 4 != 0
                    let privOK = conforming || (Int(s.dpl) >= cpl && Int(s.dpl) >= Int(sel & 3))
                    ok = privOK && (k == 4 ? (!code || s.type & 2 != 0) : (!code && s.type & 2 != 0))
                }
            }
            if ok { flags |= F.zf } else { flags &= ~F.zf }
        default:
            throw ud()
        }
    }

    func lldt(_ sel: UInt16) throws(Fault) {
        if sel & 0xFFFC == 0 {
            segs[S.ldtr].sel = sel; segs[S.ldtr].unusable = true; derive(S.ldtr); return
        }
        if sel & 4 != 0 { throw gp(UInt32(sel & 0xFFFC)) }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC)) }
        var s = CPU.segFromDescriptor(d, sel: sel)
        if s.s || s.type != 2 { throw gp(UInt32(sel & 0xFFFC)) }
        if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        if lma { s.base |= (try sysRead(descriptorAddress(sel) &+ 8, 4)) << 32 }
        segs[S.ldtr] = s; derive(S.ldtr)
    }

    func ltr(_ sel: UInt16) throws(Fault) {
        if sel & 0xFFFC == 0 || sel & 4 != 0 { throw gp(UInt32(sel & 0xFFFC)) }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC)) }
        var s = CPU.segFromDescriptor(d, sel: sel)
        // Available TSS: type 1 (16-bit) or 9 (32/64-bit; only 9 in IA-32e mode).
        if s.s || (s.type != 9 && (s.type != 1 || lma)) { throw gp(UInt32(sel & 0xFFFC)) }
        if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        if lma { s.base |= (try sysRead(descriptorAddress(sel) &+ 8, 4)) << 32 }
        // Mark busy in the descriptor and the cache.
        try sysWrite(descriptorAddress(sel) &+ 5, 1, (d >> 40) | 2)
        s.type |= 2
        segs[S.tr] = s; derive(S.tr)
    }

    /// LAR / LSL: ZF = 1 and the rights or limit when the descriptor is visible at CPL/RPL.
    func larLsl(_ isLar: Bool) throws(Fault) {
        try decodeModRM()
        if !pe { throw ud() }
        let sel = UInt16(try readRM(2))
        guard sel & 0xFFFC != 0, let d = try readDescriptor(sel) else { flags &= ~F.zf; return }
        let s = CPU.segFromDescriptor(d, sel: sel)
        var valid: Bool
        if s.s { valid = true }
        else if isLar { valid = [1, 2, 3, 4, 5, 9, 0xB, 0xC].contains(s.type) && !(lma && [1, 3, 4, 5].contains(s.type)) }
        else { valid = [1, 2, 3, 9, 0xB].contains(s.type) && !(lma && [1, 3].contains(s.type)) }
        let conforming = s.s && s.type & 0xC == 0xC
        if valid && !conforming && (Int(s.dpl) < cpl || Int(s.dpl) < Int(sel & 3)) { valid = false }
        if !valid { flags &= ~F.zf; return }
        flags |= F.zf
        if isLar { setR(mrReg, osz, (d >> 32) & 0x00F0_FF00) }
        else { setR(mrReg, osz, UInt64(s.limit)) }
    }
}
