// Linear and segmented memory access with a software TLB (separate read, write and fetch
// arrays so each entry only caches a permission the walk has checked).

extension CPU {
    @inline(__always) static func load(_ p: UnsafeMutableRawPointer, _ size: Int) -> UInt64 {
        switch size {
        case 1: return UInt64(p.load(as: UInt8.self))
        case 2: return UInt64(p.loadUnaligned(as: UInt16.self))
        case 4: return UInt64(p.loadUnaligned(as: UInt32.self))
        case 8: return p.loadUnaligned(as: UInt64.self)
        default: return loadOdd(p, size)
        }
    }

    /// Odd sizes come from page-split accesses (out of line to keep load() small).
    @inline(never) static func loadOdd(_ p: UnsafeMutableRawPointer, _ size: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<size { v |= UInt64(p.load(fromByteOffset: k, as: UInt8.self)) << UInt64(8 * k) }
        return v
    }

    @inline(never) static func storeOdd(_ p: UnsafeMutableRawPointer, _ size: Int, _ v: UInt64) {
        for k in 0..<size { p.storeBytes(of: UInt8(truncatingIfNeeded: v >> UInt64(8 * k)), toByteOffset: k, as: UInt8.self) }
    }

    @inline(__always) static func store(_ p: UnsafeMutableRawPointer, _ size: Int, _ v: UInt64) {
        switch size {
        case 1: p.storeBytes(of: UInt8(truncatingIfNeeded: v), as: UInt8.self)
        case 2: p.storeBytes(of: UInt16(truncatingIfNeeded: v), as: UInt16.self)
        case 4: p.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
        case 8: p.storeBytes(of: v, as: UInt64.self)
        default: storeOdd(p, size, v)
        }
    }

    static func bytes(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> UInt64($0 * 8)) } }

    // MARK: linear

    @inline(__always) func readLin(_ la: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let off = Int(la & 0xFFF)
        if tlbRTag[i] == page && off &+ size <= 4096 {
            return CPU.load(tlbRHost[i].unsafelyUnwrapped + off, size)
        }
        return try readLinSlow(la, size)
    }

    @inline(__always) func writeLin(_ la: UInt64, _ size: Int, _ v: UInt64) throws(Fault) {
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let off = Int(la & 0xFFF)
        if tlbWTag[i] == page && off &+ size <= 4096 {
            CPU.store(tlbWHost[i].unsafelyUnwrapped + off, size, v)
            return
        }
        try writeLinSlow(la, size, v)
    }

    @inline(never) func readLinSlow(_ la: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        if mem.generation != memGeneration { flushTLB() }
        let off = Int(la & 0xFFF)
        if off + size > 4096 {
            // Page-crossing access: one fragment per page, as KVM's emulator splits MMIO.
            let n1 = 4096 - off
            let lo = try readLinSlow(la, n1)
            let hi = try readLinSlow(la &+ UInt64(n1), size - n1)
            return lo | hi << UInt64(8 * n1)
        }
        let i = Int(truncatingIfNeeded: la >> 12) & (CPU.tlbSize - 1)
        if tlbMTag[i] == la >> 12 && tlbMKinds[i] & TLBMMIOKind.read != 0 {
            return try mmioRead(tlbMGPA[i] | UInt64(off), size, linear: la)
        }
        let gpa = try translate(la, write: false, fetch: false, user: cpl == 3)
        if hwBreakpoints { checkDataBreakpoints(la, size, write: false) }
        switch mem.lookup(gpa) {
        case .ram(let p, _, _):
            populate(gpa, linear: la, write: false, fetch: false)
            let i = Int(truncatingIfNeeded: la >> 12) & (CPU.tlbSize - 1)
            if !hwBreakpoints { tlbRTag[i] = la >> 12; setGlobal(i, 1) }
            tlbRHost[i] = p - off
            return CPU.load(p, size)
        case .badHost:
            throw requestExit(.efault)
        case .none:
            fillMMIOTLB(la, gpa: gpa, kind: TLBMMIOKind.read)
            return try mmioRead(gpa, size, linear: la)
        }
    }

    @inline(never) func writeLinSlow(_ la: UInt64, _ size: Int, _ v: UInt64) throws(Fault) {
        if mem.generation != memGeneration { flushTLB() }
        let off = Int(la & 0xFFF)
        if off + size > 4096 {
            // Check both pages before writing anything, then write one fragment per page. The
            // second page is checked at its first byte: that is the address the access faults on
            // (SDM Vol. 3A 4.7: CR2 = the linear address that caused the fault; KVM's emulator
            // splits the access at the page boundary and faults on the second fragment's start).
            let user = cpl == 3
            let n1 = 4096 - off
            _ = try translate(la, write: true, fetch: false, user: user)
            _ = try translate(la &+ UInt64(n1), write: true, fetch: false, user: user)
            try writeLinSlow(la, n1, v)
            try writeLinSlow(la &+ UInt64(n1), size - n1, v >> UInt64(8 * n1))
            return
        }
        let i = Int(truncatingIfNeeded: la >> 12) & (CPU.tlbSize - 1)
        if tlbMTag[i] == la >> 12 && tlbMKinds[i] & TLBMMIOKind.write != 0 {
            mmioWrite(tlbMGPA[i] | UInt64(off), size, v, linear: la, readOnly: tlbMKinds[i] & TLBMMIOKind.readOnlySlot != 0)
            return
        }
        let gpa = try translate(la, write: true, fetch: false, user: cpl == 3)
        if hwBreakpoints { checkDataBreakpoints(la, size, write: true) }
        try physWrite(gpa, size, v, linear: la, fillTLB: !hwBreakpoints)
    }

    /// A guest write to a GPA (after paging): RAM, read-only slot, in-kernel device or MMIO exit.
    func physWrite(_ gpa: UInt64, _ size: Int, _ v: UInt64, linear: UInt64, fillTLB: Bool) throws(Fault) {
        switch mem.lookup(gpa) {
        case .ram(let p, let slot, let ro):
            if !ro {
                mem.markDirty(slotIndex: slot, gpa: gpa)
                populate(gpa, linear: linear, write: true, fetch: false)
                // A page holding decoded code is never write-mapped: its writes come here.
                let code = decodeCache.noteWrite(p, size: size)
                if fillTLB && !code {
                    let i = Int(truncatingIfNeeded: linear >> 12) & (CPU.tlbSize - 1)
                    tlbWTag[i] = linear >> 12
                    setGlobal(i, 2)
                    tlbWHost[i] = p - Int(linear & 0xFFF)
                }
                CPU.store(p, size, v)
                return
            }
            if fillTLB { fillMMIOTLB(linear, gpa: gpa, kind: TLBMMIOKind.write | TLBMMIOKind.readOnlySlot) }
            mmioWrite(gpa, size, v, linear: linear, readOnly: true)
        case .badHost:
            throw requestExit(.efault)
        case .none:
            if fillTLB { fillMMIOTLB(linear, gpa: gpa, kind: TLBMMIOKind.write) }
            mmioWrite(gpa, size, v, linear: linear, readOnly: false)
        }
    }

    func mmioRead(_ gpa: UInt64, _ size: Int, linear: UInt64) throws(Fault) -> UInt64 {
        if let d = devices, d.handlesMMIO(gpa, vcpu: vcpuIndex) {
            eptExitTrace(gpa: gpa, linear: linear, write: false, fetch: false, readOnly: false, outcome: VMXTraceRecord.handledInKernel)
            countEmulation()
            return d.mmioRead(gpa, size: size, vcpu: vcpuIndex, now: now)
        }
        if completionPos + size <= completionData.count {
            var v: UInt64 = 0
            for k in 0..<size { v |= UInt64(completionData[completionPos + k]) << UInt64(k * 8) }
            completionPos += size
            return v
        }
        throw requestExit(.mmio(gpa: gpa, size: size, isWrite: false, data: [], linear: linear, fetch: false, readOnlySlot: false))
    }

    func mmioWrite(_ gpa: UInt64, _ size: Int, _ v: UInt64, linear: UInt64, readOnly: Bool) {
        if !readOnly, let d = devices, d.handlesMMIO(gpa, vcpu: vcpuIndex) {
            eptExitTrace(gpa: gpa, linear: linear, write: true, fetch: false, readOnly: false, outcome: VMXTraceRecord.handledInKernel)
            countEmulation()
            d.mmioWrite(gpa, size: size, value: v, vcpu: vcpuIndex, now: now)
            eventCheck = true
            return
        }
        if !vmControls.ioeventfds.isEmpty && vmControls.ioeventfds.signal(pio: false, address: gpa, size: size, value: v) {
            // An ioeventfd on KVM's MMIO bus took the write (kvm_io_bus_write): no exit.
            eptExitTrace(gpa: gpa, linear: linear, write: true, fetch: false, readOnly: readOnly, outcome: VMXTraceRecord.handledInKernel)
            if !vmControls.irqfds.isEmpty && vmControls.irqfds.poll(now: now) { eventCheck = true }
            return
        }
        if !vmControls.coalesced.isEmpty && vmControls.coalesced.write(pio: false, address: gpa, size: size, value: v) {
            // A coalesced-MMIO zone batched the write in the ring (coalesced_mmio_write).
            eptExitTrace(gpa: gpa, linear: linear, write: true, fetch: false, readOnly: readOnly, outcome: VMXTraceRecord.handledInKernel)
            return
        }
        let w = PendingMMIOWrite(gpa: gpa, value: v, size: size, linear: linear, readOnly: readOnly)
        if firstMMIOWrite == nil { firstMMIOWrite = w } else { moreMMIOWrites.append(w) }
        stopAfterInstruction = true
        eventCheck = true
    }

    /// Records the EPT violation (first touch) or misconfiguration (KVM's MMIO SPTE) exit.
    func eptExitTrace(gpa: UInt64, linear: UInt64, write: Bool, fetch: Bool, readOnly: Bool, outcome: String) {
        let page = gpa >> 12
        // The MMIO TLB entry of `linear`, when it is this GPA's, knows whether the SPTE is there.
        let i = Int(truncatingIfNeeded: linear >> 12) & (CPU.tlbSize - 1)
        let inTLB = tlbMTag[i] == linear >> 12 && tlbMGPA[i] == gpa & ~0xFFF
        if !readOnly && (inTLB && tlbMKinds[i] & TLBMMIOKind.mmioSPTE != 0 || mem.mmioSPTE.contains(page)) {
            vmExit(.eptMisconfig, gpa: gpa, outcome: outcome)
            if inTLB { tlbMKinds[i] |= TLBMMIOKind.mmioSPTE }
            return
        }
        let q = VMXQualification.eptViolation(read: !write && !fetch, write: write, fetch: fetch,
                                              permissions: readOnly ? 0b101 : 0, linearValid: true, finalTranslation: true)
        vmExit(.eptViolation, qual: q, gpa: gpa, gla: linear, outcome: outcome)
        if !readOnly {
            mem.mmioSPTE.insert(page)
            if inTLB { tlbMKinds[i] |= TLBMMIOKind.mmioSPTE }
        }
    }

    /// First guest access to a RAM page: KVM's EPT entry is not there yet, so the access
    /// takes an EPT violation that the MMU fixes in kernel (pf_fixed).
    @inline(__always) func populate(_ gpa: UInt64, linear: UInt64?, write: Bool, fetch: Bool) {
        let page = gpa >> 12
        if mem.populated.contains(page) { return }
        mem.populated.insert(page)
        stats.pfFixed &+= 1
        let q = VMXQualification.eptViolation(read: !write && !fetch, write: write, fetch: fetch, permissions: 0,
                                              linearValid: pagingOn || linear != nil, finalTranslation: linear != nil)
        vmExit(.eptViolation, qual: q, gpa: gpa, gla: linear, outcome: VMXTraceRecord.handledInKernel)
    }

    // MARK: physical (paging structures, descriptor tables after translation)

    func physRead(_ gpa: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        switch mem.lookup(gpa) {
        case .ram(let p, _, _):
            populate(gpa, linear: nil, write: false, fetch: false)
            return CPU.load(p, size)
        case .badHost: throw requestExit(.efault)
        case .none: return CPU.mask(size)   // no memory: all ones
        }
    }

    func physWriteRaw(_ gpa: UInt64, _ size: Int, _ v: UInt64) throws(Fault) {
        switch mem.lookup(gpa) {
        case .ram(let p, let slot, let ro):
            if ro { return }
            mem.markDirty(slotIndex: slot, gpa: gpa)
            _ = decodeCache.noteWrite(p, size: size)
            CPU.store(p, size, v)
        case .badHost: throw requestExit(.efault)
        case .none: return
        }
    }

    // MARK: system (supervisor) linear accesses: GDT, IDT, TSS (SDM Vol. 3A 4.6.1, implicit supervisor)

    func sysRead(_ la: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<size {
            let a = la &+ UInt64(k)
            let gpa = try translate(a, write: false, fetch: false, user: false)
            v |= try physRead(gpa, 1) << UInt64(8 * k)
        }
        return v
    }

    func sysWrite(_ la: UInt64, _ size: Int, _ v: UInt64) throws(Fault) {
        for k in 0..<size {
            let a = la &+ UInt64(k)
            let gpa = try translate(a, write: true, fetch: false, user: false)
            try physWriteRaw(gpa, 1, v >> UInt64(8 * k))
        }
    }

    // MARK: segmented

    @inline(__always) static func canonical(_ a: UInt64) -> Bool {
        (Int64(bitPattern: a << 16) >> 16) == Int64(bitPattern: a)
    }

    @inline(__always) func segFault(_ s: Int) -> Fault { s == S.ss ? .exception(Vec.ss, 0) : .exception(Vec.gp, 0) }

    /// Offset -> linear address with the limit and rights checks of SDM Vol. 3A 5.3/5.4.
    @inline(__always) func linear(_ s: Int, _ off: UInt64, _ size: Int, write: Bool) throws(Fault) -> UInt64 {
        if acCheck && size > 1 && (segs[s].base &+ off) & UInt64(size - 1) != 0 { throw Fault.exception(Vec.ac, 0) }
        if code64 {
            let la = s >= S.fs ? off &+ segs[s].base : off
            if !CPU.canonical(la) { throw segFault(s) }
            // The last byte can only leave the canonical range if the access crosses a page.
            if la & 0xFFF > UInt64(0x1000 - size) && !CPU.canonical(la &+ UInt64(size - 1)) { throw segFault(s) }
            return la
        }
        let p = segs + s
        if write ? !p.pointee.writable : !p.pointee.readable { throw segFault(s) }
        if off < p.pointee.lo || off &+ UInt64(size - 1) > p.pointee.hi || off &+ UInt64(size - 1) < off { throw segFault(s) }
        return (p.pointee.base &+ off) & 0xFFFF_FFFF
    }

    // rd/wr: a small inline fast path (64-bit mode, segment base 0, no #AC check, canonical,
    // TLB hit on one page: exactly the cases where linear() returns `off` and readLin/writeLin
    // hit) and everything else out of line. The full path has more than 64 SIL blocks, so
    // @inline(__always) was ignored and every operand access was a call (readRM/writeRM were
    // 15% of the profile); with the small fast path they inline.
    @inline(__always) func rd(_ s: Int, _ off: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        if code64 && s < S.fs && !acCheck && CPU.canonical(off) {
            let page = off >> 12
            let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
            let o = Int(off & 0xFFF)
            if tlbRTag[i] == page && o &+ size <= 4096 {
                return CPU.load(tlbRHost[i].unsafelyUnwrapped + o, size)
            }
        }
        return try rdSlow(s, off, size)
    }

    @inline(__always) func wr(_ s: Int, _ off: UInt64, _ size: Int, _ v: UInt64) throws(Fault) {
        if code64 && s < S.fs && !acCheck && CPU.canonical(off) {
            let page = off >> 12
            let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
            let o = Int(off & 0xFFF)
            if tlbWTag[i] == page && o &+ size <= 4096 {
                CPU.store(tlbWHost[i].unsafelyUnwrapped + o, size, v)
                return
            }
        }
        try wrSlow(s, off, size, v)
    }

    @inline(never) func rdSlow(_ s: Int, _ off: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        try readLin(try linear(s, off, size, write: false), size)
    }

    @inline(never) func wrSlow(_ s: Int, _ off: UInt64, _ size: Int, _ v: UInt64) throws(Fault) {
        try writeLin(try linear(s, off, size, write: true), size, v)
    }

    // MARK: ModRM operands

    @inline(__always) func eaddr() -> UInt64 {
        ripRel ? (ea &+ instStart &+ UInt64(pos)) & asMask : ea
    }

    @inline(__always) func readRM(_ size: Int) throws(Fault) -> UInt64 {
        if mrIsReg { return getR(mrRM, size) }
        return try rd(eaSeg, eaddr(), size)
    }

    @inline(__always) func writeRM(_ size: Int, _ v: UInt64) throws(Fault) {
        if mrIsReg { setR(mrRM, size, v); return }
        try wr(eaSeg, eaddr(), size, v)
    }

    /// Checks a read-modify-write destination is writable before reading it, so an MMIO
    /// read exit is not taken for a destination that would fault and a fault changes nothing.
    @inline(__always) func checkWritableRM(_ size: Int) throws(Fault) {
        if !mrIsReg && !skipReadModifyWriteProbe { try probeWrite(eaSeg, eaddr(), size) }
    }

    /// The checks of a write without the write: segmentation, then paging with W=1 for each
    /// page the access touches. A read-modify-write access is a write for the #PF error
    /// code (SDM Vol. 3A 4.7: W/R "the access causing the fault was a write"), and the CPU
    /// faults before changing memory or flags; ENTER probes its final stack pointer the
    /// same way (SDM Vol. 2A ENTER, #PF "if a write using the final value of the stack
    /// pointer would cause a page fault").
    @inline(never) func probeWrite(_ s: Int, _ off: UInt64, _ size: Int) throws(Fault) {
        let la = try linear(s, off, size, write: true)
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let crosses = Int(la & 0xFFF) + size > 4096
        if tlbWTag[i] == page && !crosses && mem.generation == memGeneration { return }
        let user = cpl == 3
        // A split access checks the second page first, so a fault there leaves the first
        // page's dirty bit alone (the access wrote nothing); CR2 is that page's start.
        if crosses { _ = try translate((la | 0xFFF) &+ 1, write: true, fetch: false, user: user) }
        _ = try translate(la, write: true, fetch: false, user: user)
    }

    // MARK: stack

    @inline(__always) var spMask: UInt64 { stackSize == 8 ? ~0 : (stackSize == 4 ? 0xFFFF_FFFF : 0xFFFF) }

    @inline(__always) func setSP(_ v: UInt64) {
        switch stackSize {
        case 8: regs[4] = v
        case 4: regs[4] = v & 0xFFFF_FFFF
        default: regs[4] = (regs[4] & ~0xFFFF) | (v & 0xFFFF)
        }
    }

    @inline(__always) func push(_ v: UInt64, _ size: Int) throws(Fault) {
        let sp = (regs[4] &- UInt64(size)) & spMask
        try wr(S.ss, sp, size, v)
        setSP(sp)
    }

    @inline(__always) func pop(_ size: Int) throws(Fault) -> UInt64 {
        let sp = regs[4] & spMask
        let v = try rd(S.ss, sp, size)
        setSP(sp &+ UInt64(size))
        return v
    }

    /// Reads the stack at SP + `offset` without moving SP.
    @inline(__always) func peek(_ offset: UInt64, _ size: Int) throws(Fault) -> UInt64 {
        try rd(S.ss, (regs[4] &+ offset) & spMask, size)
    }
}
