// Hardware task switches (SDM Vol. 3A 8.3): JMP/CALL to a TSS or task gate, interrupts
// and exceptions through a task gate, IRET with NT. Under VMX each is a "task switch" VM
// exit that KVM emulates (kvm_task_switch). 16- and 32-bit TSS formats; legacy mode only.

enum TaskSwitchSource { case jmp, call, iret, gate }

extension CPU {
    /// Switches to the task whose TSS selector is `sel`. `returnRIP` is saved as the old
    /// task's EIP. `errorCode` is pushed on the new task's stack (exceptions).
    func taskSwitch(_ sel: UInt16, source: TaskSwitchSource, returnRIP: UInt64, errorCode: UInt32? = nil) throws(Fault) {
        if lma { throw gp(UInt32(sel & 0xFFFC)) }
        let q = UInt64(sel) | (source == .call ? 0 : source == .iret ? 1 << 30 : source == .jmp ? 2 << 30 : 3 << 30)
        vmExit(.taskSwitch, qual: q, outcome: VMXTraceRecord.handledInKernel)
        if sel & 4 != 0 { throw Fault.exception(Vec.ts, UInt32(sel & 0xFFFC)) }
        guard let d = try readDescriptor(sel) else { throw gp(UInt32(sel & 0xFFFC)) }
        var nt = CPU.segFromDescriptor(d, sel: sel)
        let type = nt.type
        if nt.s || (type & 5) != 1 { throw gp(UInt32(sel & 0xFFFC)) }      // 1/3 (16-bit), 9/B (32-bit)
        let busy = type & 2 != 0
        if source == .iret ? !busy : busy { throw gp(UInt32(sel & 0xFFFC)) }
        if !nt.present { throw Fault.exception(Vec.np, UInt32(sel & 0xFFFC)) }
        let new32 = type & 8 != 0
        if nt.limit < (new32 ? 0x67 : 0x2B) { throw Fault.exception(Vec.ts, UInt32(sel & 0xFFFC)) }

        // Save the outgoing task.
        let old = segs[S.tr]
        let old32 = old.type & 8 != 0
        var savedFlags = flags
        if source == .iret { savedFlags &= ~F.nt }
        if old32 {
            let b = old.base
            try sysWrite(b &+ 0x20, 4, returnRIP)
            try sysWrite(b &+ 0x24, 4, savedFlags)
            for r in 0..<8 { try sysWrite(b &+ 0x28 &+ UInt64(4 * r), 4, regs[r]) }
            for sreg in 0..<6 { try sysWrite(b &+ 0x48 &+ UInt64(4 * sreg), 2, UInt64(segs[sreg].sel)) }
        } else {
            let b = old.base
            try sysWrite(b &+ 0x0E, 2, returnRIP)
            try sysWrite(b &+ 0x10, 2, savedFlags)
            for r in 0..<8 { try sysWrite(b &+ 0x12 &+ UInt64(2 * r), 2, regs[r]) }
            for sreg in 0..<4 { try sysWrite(b &+ 0x22 &+ UInt64(2 * sreg), 2, UInt64(segs[sreg].sel)) }
        }
        if source == .jmp || source == .iret {
            let a = descriptorAddress(old.sel) &+ 5
            try sysWrite(a, 1, try sysRead(a, 1) & ~2)
        }

        // Read the incoming task.
        let b = nt.base
        var nEIP: UInt64, nFlags: UInt64, nCR3: UInt64 = cr3
        var nRegs = [UInt64](repeating: 0, count: 8)
        var nSel = [UInt16](repeating: 0, count: 6)
        var nLDT: UInt16
        if new32 {
            nCR3 = try sysRead(b &+ 0x1C, 4)
            nEIP = try sysRead(b &+ 0x20, 4)
            nFlags = try sysRead(b &+ 0x24, 4)
            for r in 0..<8 { nRegs[r] = try sysRead(b &+ 0x28 &+ UInt64(4 * r), 4) }
            for sreg in 0..<6 { nSel[sreg] = UInt16(try sysRead(b &+ 0x48 &+ UInt64(4 * sreg), 2)) }
            nLDT = UInt16(try sysRead(b &+ 0x60, 2))
        } else {
            nEIP = try sysRead(b &+ 0x0E, 2)
            nFlags = try sysRead(b &+ 0x10, 2) | (flags & 0xFFFF_0000)
            for r in 0..<8 { nRegs[r] = try sysRead(b &+ 0x12 &+ UInt64(2 * r), 2) | (regs[r] & 0xFFFF_0000) }
            for sreg in 0..<4 { nSel[sreg] = UInt16(try sysRead(b &+ 0x22 &+ UInt64(2 * sreg), 2)) }
            nLDT = UInt16(try sysRead(b &+ 0x2A, 2))
        }
        if source == .call || source == .gate {
            nFlags |= F.nt
            try sysWrite(b, 2, UInt64(old.sel))     // back link
        }
        if source != .iret {
            let a = descriptorAddress(sel) &+ 5
            try sysWrite(a, 1, try sysRead(a, 1) | 2)
        }
        nt.type |= 2
        segs[S.tr] = nt; derive(S.tr)
        cr0 |= 8    // TS

        // Commit the register state, then load and check the segments (#TS on failure).
        if new32 && pagingOn && nCR3 != cr3 {
            if paePaging { try loadPDPTEs(nCR3) }
            cr3 = nCR3
            flushTLB()
        }
        rip = nEIP
        flags = (nFlags & 0x3F_7FD7) | 2
        for r in 0..<8 { regs[r] = nRegs[r] }
        // Selectors first (so a fault leaves them in place), then descriptors.
        for sreg in 0..<6 where new32 || sreg < 4 { segs[sreg].sel = nSel[sreg] }
        let newCPL = Int(nSel[S.cs] & 3)
        do {
            try lldt(nLDT)
            // CS
            let csSel = nSel[S.cs]
            if csSel & 0xFFFC == 0 { throw Fault.exception(Vec.ts, 0) }
            guard let cd = try readDescriptor(csSel) else { throw Fault.exception(Vec.ts, UInt32(csSel & 0xFFFC)) }
            let cs = CPU.segFromDescriptor(cd, sel: csSel)
            if !cs.s || cs.type & 8 == 0 || (cs.type & 4 == 0 ? Int(cs.dpl) != newCPL : Int(cs.dpl) > newCPL) {
                throw Fault.exception(Vec.ts, UInt32(csSel & 0xFFFC))
            }
            if !cs.present { throw Fault.exception(Vec.np, UInt32(csSel & 0xFFFC)) }
            cpl = newCPL
            var c = cs; c.type |= 1
            setSeg(S.cs, c)
            for sreg in [S.ss, S.ds, S.es, S.fs, S.gs] where new32 || sreg < 4 {
                do { try loadSegment(sreg, nSel[sreg]) } catch {
                    if case .exception(let v, let code) = error, v == Vec.gp { throw Fault.exception(Vec.ts, code) }
                    throw error
                }
            }
        }
        if let e = errorCode { try push(UInt64(e), new32 ? 4 : 2) }
        if rip > segs[S.cs].hi { throw gp(0) }
        updateMode()
        updateAC()
        eventCheck = true
    }
}
