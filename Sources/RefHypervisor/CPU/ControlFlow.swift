// Far JMP/CALL/RET (with call gates), IRET, ENTER, PUSHF/POPF (SDM Vol. 2A/2B, Vol. 3A 5.8).
// Task switches are not modelled: a task gate or TSS selector as a far target raises #GP(selector).

extension CPU {
    /// Far transfer through a call gate (SDM Vol. 3A 5.8.4-5.8.6).
    func gateTransfer(_ sel: UInt16, _ gate: UInt64, isCall: Bool) throws(Fault) {
        let gs = CPU.segFromDescriptor(gate, sel: sel)
        let type = gs.type
        let valid = lma ? type == 0xC : (type == 0xC || type == 0x4)
        if !valid { throw gp(UInt32(sel & 0xFFFC)) }
        if Int(gs.dpl) < cpl || Int(gs.dpl) < Int(sel & 3) { throw gp(UInt32(sel & 0xFFFC)) }
        if !gs.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        let csSel = UInt16((gate >> 16) & 0xFFFF)
        var target = (gate & 0xFFFF) | ((gate >> 32) & 0xFFFF_0000)
        if type == 0x4 { target &= 0xFFFF }
        if lma {
            // 64-bit call gate: the upper half holds offset 63:32 and a zero type field.
            let hi = try sysRead(descriptorAddress(sel) &+ 8, 8)
            if (hi >> 40) & 0x1F != 0 { throw gp(UInt32(sel & 0xFFFC)) }
            target |= (hi & 0xFFFF_FFFF) << 32
        }
        if csSel & 0xFFFC == 0 { throw gp(0) }
        guard let d = try readDescriptor(csSel) else { throw gp(UInt32(csSel & 0xFFFC)) }
        let cs = CPU.segFromDescriptor(d, sel: csSel)
        if !cs.s || cs.type & 8 == 0 || Int(cs.dpl) > cpl { throw gp(UInt32(csSel & 0xFFFC)) }
        if lma && (!cs.l || cs.db) { throw gp(UInt32(csSel & 0xFFFC)) }
        if !isCall && cs.type & 4 == 0 && Int(cs.dpl) != cpl { throw gp(UInt32(csSel & 0xFFFC)) }
        if !cs.present { throw Fault.exception(Vec.np, UInt32(csSel & 0xFFFC)) }
        if !lma && target > UInt64(cs.limit) { throw gp(0) }
        if lma && !CPU.canonical(target) { throw gp(0) }
        let psize = lma ? 8 : (type == 0xC ? 4 : 2)
        let retIP = nextRIP, oldCS = UInt64(segs[S.cs].sel)
        if !isCall {
            try loadCS(csSel, d, cpl: cpl)
            rip = target
            return
        }
        let sp0 = regs[4], ss0 = segs[S.ss], cpl0 = cpl
        do throws(Fault) {
            if cs.type & 4 == 0 && Int(cs.dpl) < cpl {
                // Inner privilege: new stack from the TSS, old SS:SP and parameters copied.
                let newCPL = Int(cs.dpl)
                let oldSS = UInt64(segs[S.ss].sel), oldSP = regs[4]
                let tr = segs[S.tr]
                var params: [UInt64] = []
                if !lma {
                    let count = Int((gate >> 32) & 0x1F)
                    for i in 0..<count { params.append(try peek(UInt64(i * psize), psize)) }
                }
                if lma {
                    let off = 4 + 8 * UInt64(newCPL)
                    if off + 7 > UInt64(tr.limit) { throw Fault.exception(Vec.ts, UInt32(tr.sel & 0xFFFC)) }
                    let rsp = try sysRead(tr.base &+ off, 8)
                    cpl = newCPL
                    loadSS(UInt16(newCPL), nil, cpl: newCPL)
                    regs[4] = rsp
                } else {
                    let off: UInt64 = tr.type & 8 != 0 ? 4 + 8 * UInt64(newCPL) : 2 + 4 * UInt64(newCPL)
                    let wide = tr.type & 8 != 0
                    if off + (wide ? 5 : 3) > UInt64(tr.limit) { throw Fault.exception(Vec.ts, UInt32(tr.sel & 0xFFFC)) }
                    let nsp = try sysRead(tr.base &+ off, wide ? 4 : 2)
                    let nss = UInt16(try sysRead(tr.base &+ off + (wide ? 4 : 2), 2))
                    if nss & 0xFFFC == 0 { throw Fault.exception(Vec.ts, 0) }
                    guard let sd = try readDescriptor(nss) else { throw Fault.exception(Vec.ts, UInt32(nss & 0xFFFC)) }
                    let ssg = CPU.segFromDescriptor(sd, sel: nss)
                    if Int(nss & 3) != newCPL || !ssg.s || ssg.type & 8 != 0 || ssg.type & 2 == 0 || Int(ssg.dpl) != newCPL {
                        throw Fault.exception(Vec.ts, UInt32(nss & 0xFFFC))
                    }
                    if !ssg.present { throw Fault.exception(Vec.ss, UInt32(nss & 0xFFFC)) }
                    cpl = newCPL
                    var n = ssg; n.type |= 1
                    setSeg(S.ss, n)
                    regs[4] = ssg.db ? nsp : (regs[4] & ~0xFFFF) | nsp
                }
                try push(oldSS, psize)
                try push(oldSP & CPU.mask(psize), psize)
                for p in params.reversed() { try push(p, psize) }
                try push(oldCS, psize)
                try push(retIP & CPU.mask(psize), psize)
                try loadCS(csSel, d, cpl: newCPL)
            } else {
                try push(oldCS, psize)
                try push(retIP & CPU.mask(psize), psize)
                try loadCS(csSel, d, cpl: cpl)
            }
        } catch {
            regs[4] = sp0; segs[S.ss] = ss0; cpl = cpl0; updateMode()
            throw error
        }
        rip = target
    }

    func farJump(_ sel: UInt16, _ off: UInt64, _ size: Int) throws(Fault) {
        let target = off & CPU.mask(size)
        if !pe {
            if target > segs[S.cs].hi { throw gp(0) }
            loadRealModeCS(sel)
            rip = target
            return
        }
        if let g = try systemDescriptor(sel) {
            if let t = try taskTarget(sel, g) { try taskSwitch(t, source: .jmp, returnRIP: nextRIP); return }
            try gateTransfer(sel, g, isCall: false); return
        }
        let d = try checkDirectFarTarget(sel, target)
        try loadCS(sel, d, cpl: cpl)
        rip = target
    }

    func farCall(_ sel: UInt16, _ off: UInt64, _ size: Int) throws(Fault) {
        let target = off & CPU.mask(size)
        let ret = nextRIP
        if !pe {
            if target > segs[S.cs].hi { throw gp(0) }
            let sp0 = regs[4]
            try push(UInt64(segs[S.cs].sel), size)
            do { try push(ret, size) } catch { regs[4] = sp0; throw error }
            loadRealModeCS(sel)
            rip = target
            return
        }
        if let g = try systemDescriptor(sel) {
            if let t = try taskTarget(sel, g) { try taskSwitch(t, source: .call, returnRIP: nextRIP); return }
            try gateTransfer(sel, g, isCall: true); return
        }
        let d = try checkDirectFarTarget(sel, target)
        let sp0 = regs[4]
        try push(UInt64(segs[S.cs].sel), size)
        do { try push(ret, size) } catch { regs[4] = sp0; throw error }
        do { try loadCS(sel, d, cpl: cpl) } catch { regs[4] = sp0; throw error }
        rip = target
    }

    func farReturn(_ imm: UInt64, _ sizeIn: Int) throws(Fault) {
        let size = sizeIn
        let off = try peek(0, size)
        let sel = UInt16(truncatingIfNeeded: try peek(UInt64(size), 2))
        let target = off & CPU.mask(size)
        if !pe {
            if target > segs[S.cs].hi { throw gp(0) }
            loadRealModeCS(sel)
            rip = target
            setSP((regs[4] &+ UInt64(2 * size) &+ imm) & spMask)
            return
        }
        let rpl = Int(sel & 3)
        if rpl < cpl { throw gp(UInt32(sel & 0xFFFC)) }
        let d = try checkCodeTarget(sel, rplMode: true)
        let s = CPU.segFromDescriptor(d, sel: sel)
        if s.type & 4 != 0 { if Int(s.dpl) > rpl { throw gp(UInt32(sel & 0xFFFC)) } }
        else if Int(s.dpl) != rpl { throw gp(UInt32(sel & 0xFFFC)) }
        if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        if rpl == cpl {
            if !(lma && s.l) && target > UInt64(s.limit) { throw gp(0) }
            try loadCS(sel, d, cpl: cpl)
            rip = target
            setSP((regs[4] &+ UInt64(2 * size) &+ imm) & spMask)
            return
        }
        // Return to an outer privilege level: SS:SP follow the immediate.
        let newSP = try peek(UInt64(2 * size) &+ imm, size)
        let newSS = UInt16(truncatingIfNeeded: try peek(UInt64(3 * size) &+ imm, 2))
        let oldCPL = cpl
        let ssDesc = try checkStackSelector(newSS, cpl: rpl, csL: lma && s.l)
        if !(lma && s.l) && target > UInt64(s.limit) { throw gp(0) }
        try loadCS(sel, d, cpl: rpl)
        loadSS(newSS, ssDesc, cpl: rpl)
        rip = target
        setSP((newSP &+ imm) & spMask)
        if rpl > oldCPL { nullifyDataSegments() }
    }

    /// For a far JMP/CALL to a TSS (types 1, 9) or task gate (5): the TSS selector, after the
    /// DPL checks (SDM Vol. 3A 8.3). Nil for other system descriptors.
    func taskTarget(_ sel: UInt16, _ d: UInt64) throws(Fault) -> UInt16? {
        let s = CPU.segFromDescriptor(d, sel: sel)
        guard !lma, s.type == 1 || s.type == 9 || s.type == 5 else { return nil }
        if Int(s.dpl) < cpl || Int(s.dpl) < Int(sel & 3) { throw gp(UInt32(sel & 0xFFFC)) }
        if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        return s.type == 5 ? UInt16((d >> 16) & 0xFFFF) : sel
    }

    /// The descriptor of `sel` if it is a system descriptor (S = 0), nil for code/data.
    func systemDescriptor(_ sel: UInt16) throws(Fault) -> UInt64? {
        if sel & 0xFFFC == 0 { throw gp(0) }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC)) }
        return (d >> 44) & 1 == 0 ? d : nil
    }

    /// Checks SS for a return/interrupt at privilege `cpl`; nil descriptor = null SS (64-bit only).
    func checkStackSelector(_ sel: UInt16, cpl newCPL: Int, csL: Bool) throws(Fault) -> UInt64? {
        if sel & 0xFFFC == 0 {
            if csL && newCPL < 3 && Int(sel & 3) == newCPL { return nil }
            throw gp(0)
        }
        if Int(sel & 3) != newCPL { throw gp(UInt32(sel & 0xFFFC)) }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC)) }
        let s = CPU.segFromDescriptor(d, sel: sel)
        if !s.s || s.type & 8 != 0 || s.type & 2 == 0 || Int(s.dpl) != newCPL { throw gp(UInt32(sel & 0xFFFC)) }
        if !s.present { throw Fault.exception(Vec.ss, UInt32(sel & 0xFFFC)) }
        try markAccessed(sel, d)
        return d | (1 << 40)
    }

    func loadSS(_ sel: UInt16, _ d: UInt64?, cpl newCPL: Int) {
        if let d {
            setSeg(S.ss, CPU.segFromDescriptor(d, sel: sel))
        } else {
            var s = Seg(); s.sel = sel; s.unusable = true; s.dpl = UInt8(newCPL); s.type = 0; s.present = false
            s.db = true
            setSeg(S.ss, s)
        }
    }

    /// After a return to an outer level, data segments more privileged than CPL become null.
    func nullifyDataSegments() {
        for i in [S.es, S.ds, S.fs, S.gs] {
            let s = segs[i]
            if s.unusable { continue }
            let conformingCode = s.type & 0xC == 0xC
            if Int(s.dpl) < cpl && !conformingCode {
                var n = s; n.sel = 0; n.unusable = true; n.present = false
                segs[i] = n; derive(i)
            }
        }
    }

    /// Flags POPF/IRET may change at the current CPL and IOPL (SDM Vol. 2B POPF).
    func writableFlags(_ size: Int) -> UInt64 {
        var m: UInt64 = F.arith | F.tf | F.df | F.nt | F.ac | F.id
        let iopl = Int((flags >> 12) & 3)
        if !pe || cpl == 0 { m |= F.iopl | F.if }
        else if cpl <= iopl { m |= F.if }
        if size == 2 { m &= 0xFFFF }
        return m
    }

    func pushf() throws(Fault) {
        let size = stackOsz
        // VM and RF are pushed as 0.
        try push(flags & ~(F.vm | F.rf) & CPU.mask(size), size)
    }

    func popf() throws(Fault) {
        let size = stackOsz
        let v = try pop(size)
        let m = writableFlags(size)
        flags = (flags & ~m) | (v & m) | 2
        updateAC()
        eventCheck = true
    }

    func iret(_ size: Int) throws(Fault) {
        nmiMasked = false   // IRET ends NMI blocking (SDM Vol. 3A 6.7.1)
        eventCheck = true
        if !pe {
            let ip = try peek(0, size)
            let cs = UInt16(truncatingIfNeeded: try peek(UInt64(size), 2))
            let fl = try peek(UInt64(2 * size), size)
            let target = size == 2 ? ip & 0xFFFF : ip & 0xFFFF_FFFF
            if target > segs[S.cs].hi { throw gp(0) }
            loadRealModeCS(cs)
            rip = target
            let m = writableFlags(size) | (size == 4 ? F.rf : 0)
            flags = (flags & ~m) | (fl & m) | 2
            setSP((regs[4] &+ UInt64(3 * size)) & spMask)
            return
        }
        if !lma && flags & F.nt != 0 {
            // Task return to the back link of the current TSS.
            let link = UInt16(try sysRead(segs[S.tr].base, 2))
            try taskSwitch(link, source: .iret, returnRIP: nextRIP)
            return
        }
        let ip = try peek(0, size)
        let sel = UInt16(truncatingIfNeeded: try peek(UInt64(size), 2))
        let fl = try peek(UInt64(2 * size), size)
        if !lma && fl & F.vm != 0 && cpl == 0 {
            // Return to virtual-8086 mode is not modelled.
            throw gp(0)
        }
        let rpl = Int(sel & 3)
        if sel & 0xFFFC == 0 { throw gp(0) }
        if rpl < cpl { throw gp(UInt32(sel & 0xFFFC)) }
        let d = try checkCodeTarget(sel, rplMode: true)
        let s = CPU.segFromDescriptor(d, sel: sel)
        if s.type & 4 != 0 { if Int(s.dpl) > rpl { throw gp(UInt32(sel & 0xFFFC)) } }
        else if Int(s.dpl) != rpl { throw gp(UInt32(sel & 0xFFFC)) }
        if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        let target = size == 2 ? ip & 0xFFFF : (size == 4 ? ip & 0xFFFF_FFFF : ip)
        let toLong = lma && s.l
        if toLong ? !CPU.canonical(target) : target > UInt64(s.limit) { throw gp(0) }
        let m = writableFlags(size) | F.rf
        let newFlags = (flags & ~m) | (fl & m) | 2
        if code64 || rpl > cpl {
            // 64-bit IRET always pops SS:RSP; legacy IRET only when changing privilege.
            let newSP = try peek(UInt64(3 * size), size)
            let newSS = UInt16(truncatingIfNeeded: try peek(UInt64(4 * size), 2))
            let ssd = try checkStackSelector(newSS, cpl: rpl, csL: toLong)
            let oldCPL = cpl
            try loadCS(sel, d, cpl: rpl)
            loadSS(newSS, ssd, cpl: rpl)
            flags = newFlags
            rip = target
            if stackSize == 8 || code64 { regs[4] = newSP } else { setSP(newSP) }
            if size == 4 && !code64 && stackSize == 4 { regs[4] = newSP & 0xFFFF_FFFF }
            if rpl > oldCPL { nullifyDataSegments() }
        } else {
            try loadCS(sel, d, cpl: cpl)
            flags = newFlags
            rip = target
            setSP((regs[4] &+ UInt64(3 * size)) & spMask)
        }
        updateMode()
        updateAC()
    }

    func enter(_ alloc: UInt64, _ levelIn: UInt64) throws(Fault) {
        let size = stackOsz
        let level = levelIn & 31
        let sp0 = regs[4], bp0 = regs[5]
        do {
            try push(reg(5, size), size)
            let frame = regs[4] & spMask
            if level > 0 {
                var bp = regs[5]
                for _ in 1..<max(level, 1) {
                    bp = (bp &- UInt64(size)) & spMask
                    try push(try rd(S.ss, bp, size), size)
                }
                try push(frame, size)
            }
            // SDM Vol. 2A ENTER: #SS/#PF "if a write using the final value of the stack
            // pointer" would fault; the probe writes nothing, and a fault restores RSP/RBP.
            let newSP = (regs[4] &- alloc) & spMask
            if alloc > 0 { try probeWrite(S.ss, newSP, size) }
            setReg(5, size, frame)
            setSP(newSP)
        } catch {
            regs[4] = sp0; regs[5] = bp0
            throw error
        }
    }
}
