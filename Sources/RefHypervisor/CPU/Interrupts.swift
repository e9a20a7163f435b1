// Exception and interrupt delivery through the IVT (real mode) and the IDT (protected and
// IA-32e mode) with the TSS stack switch (SDM Vol. 3A ch. 6, 20.1.4), double and triple
// faults (Table 6-5).

enum EventKind { case exception, external, nmi, intn, int3, into, icebp }

extension CPU {
    /// INT n / INT3 / INTO / INT1: a trap whose return address is the next instruction.
    func softwareInterrupt(_ v: UInt8, kind: EventKind) throws(Fault) {
        try deliver(v, code: nil, kind: kind, returnRIP: nextRIP)
    }

    static func contributory(_ v: UInt8) -> Bool { v == 0 || (v >= 10 && v <= 13) }

    static func faultClass(_ v: UInt8) -> Bool {
        switch v { case 0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19, 20: return true; default: return false }
    }

    /// Delivers a fault/trap raised by an instruction (RIP = the faulting instruction for faults).
    /// Returns false for a triple fault (shutdown).
    func raiseException(_ v: UInt8, _ code: UInt32?) -> Bool {
        if CPU.debugExceptions { print("ref: exception \(v) code \(String(describing: code)) at rip 0x\(String(rip, radix: 16)) cpl \(cpl)") }
        if v == Vec.ud || v == Vec.db || v == Vec.ac {
            // KVM intercepts #UD, #DB and #AC and reflects them (handle_exception_nmi).
            vmExit(.exceptionOrNMI, vector: v, outcome: VMXTraceRecord.handledInKernel)
        }
        // Faults (not #DB) save RFLAGS with RF set so the IRET back does not re-trigger an
        // instruction breakpoint (SDM Vol. 3B 17.3.1.1; Bochs does the same).
        let flagsBefore = flags
        if CPU.faultClass(v) { flags |= F.rf }
        if v == Vec.db { dr[7] &= ~UInt64(0x2000) }
        var vec = v, err = code
        while true {
            do {
                try deliver(vec, code: err, kind: .exception, returnRIP: rip)
                return true
            } catch {
                // A shutdown leaves the state as it was before the delivery attempts.
                guard case .exception(let v2, let c2) = error else { flags = flagsBefore; return false }
                if vec == Vec.df {
                    if CPU.contributory(v2) || v2 == Vec.pf { flags = flagsBefore; return false }
                    vec = v2; err = c2
                } else if (CPU.contributory(vec) && CPU.contributory(v2)) || (vec == Vec.pf && (CPU.contributory(v2) || v2 == Vec.pf)) {
                    vec = Vec.df; err = 0
                } else {
                    vec = v2; err = c2
                }
            }
        }
    }

    /// Delivers an external interrupt or NMI at an instruction boundary. False = triple fault.
    func deliverExternal(_ v: UInt8, nmi: Bool) -> Bool {
        halted = false
        do {
            try deliver(v, code: nil, kind: nmi ? .nmi : .external, returnRIP: rip)
            if nmi { nmiMasked = true }
            return true
        } catch {
            guard case .exception(let v2, let c2) = error else { return false }
            if nmi { nmiMasked = true }
            return raiseException(v2, c2)
        }
    }

    func deliver(_ v: UInt8, code: UInt32?, kind: EventKind, returnRIP: UInt64) throws(Fault) {
        let software = kind == .intn || kind == .int3 || kind == .into
        let ext: UInt32 = (software || kind == .icebp) ? 0 : 1
        eventCheck = true
        if !pe {
            try deliverReal(v, returnRIP: returnRIP)
            return
        }
        // Snapshot what a failed delivery must not leave modified.
        let sp0 = regs[4], ss0 = segs[S.ss], cs0 = segs[S.cs], cpl0 = cpl, flags0 = flags
        do {
            if lma { try deliverLong(v, code: code, software: software, ext: ext, returnRIP: returnRIP) }
            else { try deliverProtected(v, code: code, software: software, ext: ext, returnRIP: returnRIP) }
        } catch {
            regs[4] = sp0; segs[S.ss] = ss0; segs[S.cs] = cs0; cpl = cpl0; flags = flags0
            updateMode()
            throw error
        }
    }

    private func deliverReal(_ v: UInt8, returnRIP: UInt64) throws(Fault) {
        let off = UInt64(v) * 4
        if off + 3 > UInt64(idtLimit) { throw gp(0) }
        let ent = try sysRead(idtBase &+ off, 4)
        let sp0 = regs[4]
        do {
            try push(flags & 0xFFFF, 2)
            try push(UInt64(segs[S.cs].sel), 2)
            try push(returnRIP & 0xFFFF, 2)
        } catch { regs[4] = sp0; throw error }
        flags &= ~(F.if | F.tf | F.ac | F.rf)
        let sel = UInt16(ent >> 16)
        loadRealModeCS(sel)
        rip = ent & 0xFFFF
    }

    /// Reads the inner stack pointer for privilege level `dpl` (or IST slot) from the TSS.
    private func tssStack(_ dpl: Int, ist: Int = 0, ext: UInt32) throws(Fault) -> (sp: UInt64, ss: UInt16) {
        let tr = segs[S.tr]
        let tsErr = Fault.exception(Vec.ts, UInt32(tr.sel & 0xFFFC) | ext)
        if lma {
            let off: UInt64 = ist != 0 ? 0x24 + 8 * UInt64(ist - 1) : 4 + 8 * UInt64(dpl)
            if off + 7 > UInt64(tr.limit) { throw tsErr }
            return (try sysRead(tr.base &+ off, 8), 0)
        }
        if tr.type & 8 != 0 {
            let off = 4 + 8 * UInt64(dpl)
            if off + 5 > UInt64(tr.limit) { throw tsErr }
            return (try sysRead(tr.base &+ off, 4), UInt16(try sysRead(tr.base &+ off + 4, 2)))
        }
        let off = 2 + 4 * UInt64(dpl)
        if off + 3 > UInt64(tr.limit) { throw tsErr }
        return (try sysRead(tr.base &+ off, 2), UInt16(try sysRead(tr.base &+ off + 2, 2)))
    }

    private func gateTarget(_ sel: UInt16, ext: UInt32, needLong: Bool) throws(Fault) -> (UInt64, Seg) {
        if sel & 0xFFFC == 0 { throw gp(ext) }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC) | ext) }
        let s = CPU.segFromDescriptor(d, sel: sel)
        if !s.s || s.type & 8 == 0 || Int(s.dpl) > cpl { throw gp(UInt32(sel & 0xFFFC) | ext) }
        if needLong && (!s.l || s.db) { throw gp(UInt32(sel & 0xFFFC) | ext) }
        if !s.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC) | ext) }
        return (d, s)
    }

    private func deliverProtected(_ v: UInt8, code: UInt32?, software: Bool, ext: UInt32, returnRIP: UInt64) throws(Fault) {
        let idx = UInt64(v) * 8
        let gateErr = UInt32(idx) + 2 + ext
        if idx + 7 > UInt64(idtLimit) { throw gp(gateErr) }
        let gate = try sysRead(idtBase &+ idx, 8)
        let type = UInt8((gate >> 40) & 0xF)
        if (gate >> 44) & 1 != 0 || ![5, 6, 7, 0xE, 0xF].contains(type) { throw gp(gateErr) }
        if software && Int((gate >> 45) & 3) < cpl { throw gp(UInt32(idx) + 2) }
        if (gate >> 47) & 1 == 0 { throw Fault.exception(Vec.np, gateErr) }
        if type == 5 {
            // Task gate: the handler is another task; the error code goes on its stack.
            try taskSwitch(UInt16((gate >> 16) & 0xFFFF), source: .gate, returnRIP: returnRIP, errorCode: code)
            return
        }
        let sel = UInt16((gate >> 16) & 0xFFFF)
        let gate32 = type & 8 != 0
        var target = (gate & 0xFFFF) | ((gate >> 32) & 0xFFFF_0000)
        if !gate32 { target &= 0xFFFF }
        let (d, s) = try gateTarget(sel, ext: ext, needLong: false)
        let psize = gate32 ? 4 : 2
        let oldFlags = flags, oldCS = UInt64(segs[S.cs].sel), oldSS = UInt64(segs[S.ss].sel), oldSP = regs[4]
        var newCPL = cpl
        if s.type & 4 == 0 && Int(s.dpl) < cpl {
            newCPL = Int(s.dpl)
            let (sp, ss) = try tssStack(newCPL, ext: ext)
            if ss & 0xFFFC == 0 { throw Fault.exception(Vec.ts, ext) }
            if Int(ss & 3) != newCPL { throw Fault.exception(Vec.ts, UInt32(ss & 0xFFFC) | ext) }
            guard let sd = try readDescriptor(ss) else { throw Fault.exception(Vec.ts, UInt32(ss & 0xFFFC) | ext) }
            let sseg = CPU.segFromDescriptor(sd, sel: ss)
            if !sseg.s || sseg.type & 8 != 0 || sseg.type & 2 == 0 || Int(sseg.dpl) != newCPL {
                throw Fault.exception(Vec.ts, UInt32(ss & 0xFFFC) | ext)
            }
            if !sseg.present { throw Fault.exception(Vec.ss, UInt32(ss & 0xFFFC) | ext) }
            cpl = newCPL
            var ns = sseg; ns.type |= 1
            setSeg(S.ss, ns)
            regs[4] = sseg.db ? sp & 0xFFFF_FFFF : (regs[4] & ~0xFFFF) | (sp & 0xFFFF)
            try push(oldSS, psize)
            try push(oldSP & CPU.mask(psize), psize)
        }
        if target > UInt64(s.limit) { throw gp(0) }
        try push(oldFlags & CPU.mask(psize), psize)
        try push(oldCS, psize)
        try push(returnRIP & CPU.mask(psize), psize)
        if let c = code { try push(UInt64(c), psize) }
        try loadCS(sel, d, cpl: newCPL)
        flags &= ~(F.tf | F.nt | F.vm | F.rf)
        if type & 1 == 0 { flags &= ~F.if }
        rip = target
    }

    private func deliverLong(_ v: UInt8, code: UInt32?, software: Bool, ext: UInt32, returnRIP: UInt64) throws(Fault) {
        let idx = UInt64(v) * 16
        let gateErr = UInt32(v) * 8 + 2 + ext
        if idx + 15 > UInt64(idtLimit) { throw gp(gateErr) }
        let lo = try sysRead(idtBase &+ idx, 8)
        let hi = try sysRead(idtBase &+ idx + 8, 8)
        let type = UInt8((lo >> 40) & 0xF)
        if (lo >> 44) & 1 != 0 || (type != 0xE && type != 0xF) { throw gp(gateErr) }
        if software && Int((lo >> 45) & 3) < cpl { throw gp(UInt32(v) * 8 + 2) }
        if (lo >> 47) & 1 == 0 { throw Fault.exception(Vec.np, gateErr) }
        let sel = UInt16((lo >> 16) & 0xFFFF)
        let target = (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF_0000) | ((hi & 0xFFFF_FFFF) << 32)
        let ist = Int((lo >> 32) & 7)
        let (d, s) = try gateTarget(sel, ext: ext, needLong: true)
        let newCPL = s.type & 4 != 0 ? cpl : Int(s.dpl)
        let oldFlags = flags, oldCS = UInt64(segs[S.cs].sel), oldSS = UInt64(segs[S.ss].sel), oldSP = regs[4]
        var sp = regs[4]
        if newCPL < cpl || ist != 0 {
            sp = try tssStack(newCPL, ist: ist, ext: ext).sp
        }
        if !CPU.canonical(target) { throw gp(ext) }
        sp &= ~0xF
        if newCPL < cpl {
            cpl = newCPL
            loadSS(UInt16(newCPL), nil, cpl: newCPL)
        } else {
            cpl = newCPL
            updateMode()
        }
        // Five or six 8-byte pushes onto the new stack (supervisor accesses).
        var frame: [UInt64] = [oldSS, oldSP, oldFlags, oldCS, returnRIP]
        if let c = code { frame.append(UInt64(c)) }
        for x in frame {
            sp = sp &- 8
            if !CPU.canonical(sp) { throw Fault.exception(Vec.ss, ext) }
            try writeLin(sp, 8, x)
        }
        regs[4] = sp
        try loadCS(sel, d, cpl: newCPL)
        flags &= ~(F.tf | F.nt | F.vm | F.rf)
        if type & 1 == 0 { flags &= ~F.if }
        rip = target
    }
}
