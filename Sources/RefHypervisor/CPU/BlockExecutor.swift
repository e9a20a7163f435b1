// Runs the decoded blocks of the instruction cache (DecodeCache.swift), in every mode, ahead
// of step(). It only runs an instruction it can finish without a fault or an exit: the code
// page and every operand must hit the TLB, segment checks must pass, branch targets must be
// inside CS (or canonical). Anything else stops it *before* the instruction has changed any
// state, and step() runs that instruction (raising the fault or making the exit). Results
// come from the helpers step() uses (alu, logic, incdec, shiftOp, imul2, mulDiv, cond), so
// flags, injected faults and edge cases are the same by construction.

extension CPU {
    /// Host address of a data access of `size` bytes at `off` in segment `seg`, or nil when
    /// step() must do it: a failing segment check (SDM Vol. 3A 5.3, 5.4), a non-canonical
    /// address, a page-crossing access, or a TLB miss (first touch, MMIO, read-only slot).
    @inline(__always) func blockData(_ seg: Int, _ off: UInt64, _ size: Int, write: Bool) -> UnsafeMutableRawPointer? {
        guard let la = blockLinear(seg, off, size, write: write) else { return nil }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let o = Int(la & 0xFFF)
        if o &+ size > 4096 { return nil }
        if write { return tlbWTag[i] == page ? tlbWHost[i].unsafelyUnwrapped + o : nil }
        return tlbRTag[i] == page ? tlbRHost[i].unsafelyUnwrapped + o : nil
    }

    /// The linear address of a data access, or nil where the segment checks (SDM Vol. 3A 5.3,
    /// 5.4) or canonical addressing would fault: step()'s.
    @inline(__always) func blockLinear(_ seg: Int, _ off: UInt64, _ size: Int, write: Bool) -> UInt64? {
        if code64 {
            let la = seg >= S.fs ? off &+ segs[seg].base : off
            return CPU.canonical(la) ? la : nil
        }
        let s = segs + seg
        if write ? !s.pointee.writable : !s.pointee.readable { return nil }
        let last = off &+ UInt64(truncatingIfNeeded: size &- 1)
        if off < s.pointee.lo || last > s.pointee.hi || last < off { return nil }
        return (s.pointee.base &+ off) & 0xFFFF_FFFF
    }

    /// A store blockData could not map: when it goes to a page the MMIO TLB knows for writes
    /// (tlbMTag), it is done here as writeLinSlow does it (mmioWrite: an in-kernel device, an
    /// ioeventfd, a coalesced zone, or a KVM_EXIT_MMIO owed after the instruction), and the
    /// executor stops right after it (blockMMIOStored). A device register written in a loop
    /// then costs no step() (decode, operand fetch) per write. False: step()'s, unchanged.
    /// `at` is the instruction's RIP (instStart, for the exit's trace).
    @inline(never) func blockMMIOStore(_ seg: Int, _ off: UInt64, _ size: Int, _ v: UInt64, at ip: UInt64) -> Bool {
        guard let la = blockLinear(seg, off, size, write: true) else { return false }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        if tlbMTag[i] != page || tlbMKinds[i] & TLBMMIOKind.write == 0 || Int(la & 0xFFF) &+ size > 4096 { return false }
        instStart = ip
        let gpa = tlbMGPA[i] | (la & 0xFFF), readOnly = tlbMKinds[i] & TLBMMIOKind.readOnlySlot != 0
        if (readOnly || devices == nil) && vmControls.ioeventfds.isEmpty && vmControls.coalesced.isEmpty && firstMMIOWrite == nil {
            // Nothing in the kernel can take it (mmioWrite's checks, all false): its exit.
            firstMMIOWrite = PendingMMIOWrite(gpa: gpa, value: v, size: size, linear: la, readOnly: readOnly)
            stopAfterInstruction = true
            eventCheck = true
        } else {
            mmioWrite(gpa, size, v, linear: la, readOnly: readOnly)
        }
        blockMMIOStored = true
        return true
    }

    /// A load blockData could not map, from a page the MMIO TLB knows for reads that no
    /// in-kernel device answers: its KVM_EXIT_MMIO (the caller makes it from blockMMIORead*,
    /// with blockExited), and the load itself (`mmioLoad`), which the next KVM_RUN finishes
    /// with the VMM's bytes (completeBlockLoad) as KVM finishes an emulated MMIO read
    /// (complete_emulated_mmio re-enters the emulator with the instruction it decoded). False,
    /// with nothing changed: step()'s (a TLB miss, a page-crossing read, a device, a
    /// completion in progress).
    @inline(never) func blockMMIOLoad(_ seg: Int, _ off: UInt64, _ size: Int, _ o: UnsafePointer<DecodedOp>,
                                      at ip: UInt64, next: UInt64) -> Bool {
        guard let la = blockLinear(seg, off, size, write: false) else { return false }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        if tlbMTag[i] != page || tlbMKinds[i] & TLBMMIOKind.read == 0 || Int(la & 0xFFF) &+ size > 4096 { return false }
        let gpa = tlbMGPA[i] | (la & 0xFFF)
        // With in-kernel devices, the look-up is a call: apart, so that this stays a leaf
        // (no registers to save on every MMIO read's exit).
        if devices != nil { return blockMMIOLoadPastDevices(gpa, la, i, size, o, at: ip, next: next) }
        return armMMIOLoad(gpa, la, i, size, o, at: ip, next: next)
    }

    /// blockMMIOLoad with in-kernel devices: one that answers the GPA takes the load (step()'s).
    @inline(never) func blockMMIOLoadPastDevices(_ gpa: UInt64, _ la: UInt64, _ i: Int, _ size: Int,
                                                 _ o: UnsafePointer<DecodedOp>, at ip: UInt64, next: UInt64) -> Bool {
        if let d = devices, d.handlesMMIO(gpa, vcpu: vcpuIndex) { return false }
        return armMMIOLoad(gpa, la, i, size, o, at: ip, next: next)
    }

    /// Records the load and its exit (blockMMIOLoad), unless a completion is in progress.
    @inline(__always) private func armMMIOLoad(_ gpa: UInt64, _ la: UInt64, _ i: Int, _ size: Int,
                                               _ o: UnsafePointer<DecodedOp>, at ip: UInt64, next: UInt64) -> Bool {
        if !completionData.isEmpty || ioResume { return false }
        instStart = ip
        blockMMIORead = true
        blockMMIOReadGPA = gpa
        blockMMIOReadLinear = la
        blockMMIOReadSPTE = tlbMKinds[i] & TLBMMIOKind.mmioSPTE != 0
        mmioLoad = o.pointee
        mmioLoadSize = size
        mmioLoadNext = next
        mmioLoadValue = nil
        return true
    }

    /// eptExitTrace for blockMMIOLoad's exit when its TLB entry did not know the MMIO SPTE
    /// (the first read of the page), out of line.
    @inline(never) func firstMMIOReadExitTrace() {
        eptExitTrace(gpa: blockMMIOReadGPA, linear: blockMMIOReadLinear, write: false, fetch: false, readOnly: false, outcome: "KVM_EXIT_MMIO")
    }

    /// Finishes a load that made an MMIO read exit (blockMMIOLoad) with the VMM's `v` (the
    /// access's bytes, little-endian), as the executor would have with memory.
    @inline(__always) func completeBlockLoad(_ o: DecodedOp, _ v: UInt64) {
        let d = Int(o.reg), size = Int(o.size)
        switch o.kind {
        case .load8: regs[d] = v
        case .load4: regs[d] = v & 0xFFFF_FFFF
        case .movRegRM, .movzx: setBlockReg(d, size, o.rex, v)
        case .movsx: setBlockReg(d, size, o.rex, CPU.sext(v, Int(o.sub)) & CPU.mask(size))
        case .movsxd: setBlockReg(d, size, o.rex, size == 8 ? CPU.sext(v, 4) : v)
        default: break
        }
    }

    /// The effective address of a decoded memory operand (eaddr()): base + index << scale +
    /// displacement, RIP-relative to the next instruction, wrapped to the address size.
    @inline(__always) func blockAddress(_ o: UnsafePointer<DecodedOp>, _ next: UInt64) -> UInt64 {
        var a = o.pointee.disp
        let b = Int(o.pointee.base)
        if b < 16 { a = a &+ regs[b] } else if b == Int(DecodedOp.ripBase) { a = a &+ next }
        let x = Int(o.pointee.index)
        if x < 16 { a = a &+ (regs[x] &<< UInt64(o.pointee.scale)) }
        switch o.pointee.asz {
        case 8: return a
        case 4: return a & 0xFFFF_FFFF
        default: return a & 0xFFFF
        }
    }

    /// Both pointers of a read-modify-write of the op's memory operand (read, then write
    /// checks), or nil: step()'s, with nothing changed.
    @inline(__always) func blockReadWrite(_ o: UnsafePointer<DecodedOp>, _ next: UInt64, _ size: Int)
        -> (UnsafeMutableRawPointer, UnsafeMutableRawPointer)? {
        let a = blockAddress(o, next), sg = Int(o.pointee.seg)
        guard let rp = blockData(sg, a, size, write: false), let wp = blockData(sg, a, size, write: true) else { return nil }
        return (rp, wp)
    }

    /// The op's r/m operand: its register, or memory read through the TLB; nil: step()'s.
    @inline(__always) func blockReadRM(_ o: UnsafePointer<DecodedOp>, _ next: UInt64, _ size: Int) -> UInt64? {
        if o.pointee.isReg { return blockReg(Int(o.pointee.rm), size, o.pointee.rex) }
        guard let rp = blockData(Int(o.pointee.seg), blockAddress(o, next), size, write: false) else { return nil }
        return CPU.load(rp, size)
    }

    /// reg8/reg with the instruction's own REX (AH..BH without one).
    @inline(__always) func blockReg(_ n: Int, _ size: Int, _ rex: Bool) -> UInt64 {
        switch size {
        case 1: return n < 4 || rex ? regs[n] & 0xFF : (regs[n &- 4] &>> 8) & 0xFF
        case 2: return regs[n] & 0xFFFF
        case 4: return regs[n] & 0xFFFF_FFFF
        default: return regs[n]
        }
    }

    @inline(__always) func setBlockReg(_ n: Int, _ size: Int, _ rex: Bool, _ v: UInt64) {
        switch size {
        case 1:
            if n < 4 || rex { regs[n] = (regs[n] & ~0xFF) | (v & 0xFF) }
            else { regs[n &- 4] = (regs[n &- 4] & ~0xFF00) | ((v & 0xFF) &<< 8) }
        case 2: regs[n] = (regs[n] & ~0xFFFF) | (v & 0xFFFF)
        case 4: regs[n] = v & 0xFFFF_FFFF
        default: regs[n] = v
        }
    }

    /// The ops from `a` up to `b` (`b` not before `a`, both in the op pool): their byte
    /// distance over DecodedOp's 32-byte stride. `UInt64(b - a)` is a signed division with a
    /// trap for a negative count, at every block's end.
    @inline(__always) static func ops(from a: UnsafePointer<DecodedOp>, to b: UnsafePointer<DecodedOp>) -> UInt64 {
        UInt64(truncatingIfNeeded: UnsafeRawPointer(a).distance(to: UnsafeRawPointer(b)))
            &>> UInt64(MemoryLayout<DecodedOp>.stride.trailingZeroBitCount)
    }

    /// Whether a Jcc's condition holds. Most conditions are one test of the flags
    /// (DecodedOp.flagTest): no switch on the condition for those.
    @inline(__always) func jccTaken(_ o: UnsafePointer<DecodedOp>) -> Bool {
        let test = o.pointee.disp
        return test != 0 ? (flags & test != 0) != (o.pointee.sub & 1 != 0) : cond(Int(o.pointee.sub))
    }

    /// A near branch target as jumpNear() takes it: wrapped to the operand size, then
    /// canonical (64-bit) or inside CS; nil where jumpNear would raise #GP.
    @inline(__always) func blockTarget(_ t: UInt64, _ size: Int) -> UInt64? {
        var t = t
        if size == 2 { t &= 0xFFFF } else if size == 4 { t &= 0xFFFF_FFFF }
        if code64 { return CPU.canonical(t) ? t : nil }
        let cs = segs + S.cs
        return t > cs.pointee.hi || t < cs.pointee.lo ? nil : t
    }

    /// Register-register (`imm` false) or register-immediate ALU operation `k` at a fixed size:
    /// inlined with constants, so alu()'s switch and the size masks fold away.
    /// With `dead` (FlagLiveness.swift) only the result: CMP does nothing at all.
    /// A 16-bit result keeps bits 63:16 of the register (SDM Vol. 1 3.4.1.1).
    @inline(__always) func blockALU(_ o: UnsafePointer<DecodedOp>, _ k: Int, _ size: Int, imm: Bool, dead: Bool) {
        let d = Int(o.pointee.rm)
        let m: UInt64 = size == 8 ? ~0 : size == 4 ? 0xFFFF_FFFF : 0xFFFF
        let keep: UInt64 = size == 2 ? ~0xFFFF : 0
        let b = imm ? o.pointee.imm : regs[Int(o.pointee.reg)] & m
        if dead {
            if k != 7 { regs[d] = regs[d] & keep | CPU.aluResult(k, regs[d] & m, b) & m }
            return
        }
        let v = alu(k, regs[d] & m, b, size)
        if k != 7 { regs[d] = regs[d] & keep | v }
    }

    /// The result of ALU operation `k` (not ADC/SBB, which are never dead: they read CF),
    /// unmasked, without flags.
    @inline(__always) static func aluResult(_ k: Int, _ a: UInt64, _ b: UInt64) -> UInt64 {
        switch k {
        case 0: return a &+ b
        case 1: return a | b
        case 4: return a & b
        case 6: return a ^ b
        default: return a &- b
        }
    }

    /// SHL/SAL/SHR/SAR of 32/64 bits by a count that is not 0 (FlagUse.kills), without flags.
    @inline(__always) static func shiftResult(_ k: Int, _ a: UInt64, _ countIn: UInt64, _ size: Int) -> UInt64 {
        let count = countIn & (size == 8 ? 63 : 31)
        switch k {
        case 5: return a &>> count
        case 7: return UInt64(bitPattern: Int64(bitPattern: CPU.sext(a, size)) &>> Int64(count)) & CPU.mask(size)
        default: return (a &<< count) & CPU.mask(size)
        }
    }

    /// step() for the instruction runBlocks stopped in front of (a generic op, a TLB miss, ...),
    /// out of line (runBlocks keeps its registers; step() is large).
    @inline(never) func stepInPlace() -> Fault? {
        do { try step() } catch { return error }
        return nil
    }

    /// Runs up to `limit` instructions from decoded blocks; returns how many retired. The
    /// caller guarantees no pending event, no #AC checking and no hardware breakpoints.
    /// With `stepping`, an instruction it stops in front of without finishing (one outside
    /// the subset: a generic op; a TLB miss; MMIO it makes no exit for; the first of a block
    /// the limit would cut) is run by step()
    /// without leaving: what batch() would do next, minus the way out and back in. Then the
    /// caller looks at blockStepFault and eventCheck after the call as it does after step().
    @inline(never) func runBlocks(_ limitIn: UInt64, stepping: Bool) -> UInt64 {
        var limit = limitIn     // less the REP iterations of generic ops (batch() counts them)
        var n: UInt64 = 0
        var ip = rip
        let ops = decodeCache.ops
        // Nothing the cached subset does changes the mode: keep these out of memory (every
        // store through a raw pointer would otherwise make the compiler reload them).
        let ipm = ipMask
        // Instructions retired are counted per block, not per instruction: `o - first` ops of
        // the current block have retired whenever the loop leaves it (a `break blocks` leaves
        // before the op at `o` has changed anything).
        var o = UnsafePointer(ops)
        var first = o
        let cache = decodeCache
        // Links made in earlier calls count while RIP still means the same bytes (Link).
        let csBase = code64 ? 0 : segs[S.cs].base
        var stamp = cache.stamp(generation: codeGeneration, csBase: csBase, mode: decodeMode)
        // Nothing in a runBlocks call changes the epoch (stores to code pages are step()'s).
        let epoch = cache.epoch
        // SS does not change in a runBlocks call either: the stack's offset mask, and what a
        // write of SP keeps of RSP (setSP: a 16-bit stack keeps bits 63:16, a 32-bit one
        // zero-extends), held here instead of reading stackSize at every stack access.
        let spm = spMask
        let spKeep: UInt64 = spm == 0xFFFF ? ~0xFFFF : 0
        // CS does not change in a runBlocks call (far transfers and segment loads are step()'s).
        let csHi: UInt64 = code64 ? ~0 : segs[S.cs].hi
        // RIP is kept per block, not per op: an op's next RIP is the block's RIP plus the
        // op's `end`. `inOps` says the loop left from inside a block's ops, where the op at
        // `o` (which did not run) starts at the end of the one before it.
        var blockIP: UInt64 = 0
        var blockOps = o
        var inOps = false
        var slot = cache.lastSlot           // the table slot of the block that ran last
        defer { cache.lastSlot = stamp == cache.chainStamp ? slot : -1 }
        // Two loops, the inner one not indented: `steps` goes round once per instruction that
        // step() runs in place (after `blocks`), `blocks` once per block.
        steps: while true {
        blocks: while n < limit {
            first = o
            let firstOp: UInt32, opCount: UInt8, byteCount: UInt16
            // Where RIP is in the block: its op and byte (a link made by recordResume), else 0.
            var skip: UInt8 = 0, bias: UInt16 = 0
            if slot >= 0, let c = cache.chained(from: slot, ip: ip, stamp: stamp),
               c.pointee.epoch == epoch || cache.recheck(c, ignoringEpoch: staleDecodeCache) {
                // The last block went here before under this stamp: same RIP, same code.
                firstOp = c.pointee.firstOp; opCount = c.pointee.opCount; byteCount = c.pointee.byteCount
                skip = c.pointee.skip; bias = c.pointee.bias
                slot = Int(c.pointee.slot)
            } else {
                // RIP -> code bytes through the fetch TLB (beginFetch's checks); a miss, a CS
                // limit or a non-canonical RIP is step()'s.
                let la: UInt64
                if code64 {
                    if !CPU.canonical(ip) { break }
                    la = ip
                } else {
                    if ip > csHi { break }
                    la = (csBase &+ ip) & 0xFFFF_FFFF
                }
                let page = la >> 12
                let ti = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
                if tlbXTag[ti] != page { break }
                let offset = Int(la & 0xFFF)
                let host = tlbXHost[ti].unsafelyUnwrapped + offset
                // block(at:) may have built a block and flushed the cache: a new stamp then.
                let found = block(at: host, room: 4096 - offset)
                let key = UInt(bitPattern: host)
                let newSlot = DecodeCache.slot(key)
                if stamp != cache.chainStamp {
                    stamp = cache.chainStamp
                } else if slot >= 0 {
                    cache.recordChain(from: slot, ip: ip, to: found, slot: newSlot, stamp: stamp)
                }
                slot = newSlot
                firstOp = found.firstOp; opCount = found.opCount; byteCount = found.byteCount
            }
            // A block whose bytes do not all lie inside CS (16/32-bit code at the limit) is
            // step()'s, one instruction at a time, which checks the limit (SDM Vol. 3A 5.3).
            // A link into the middle of a block (recordResume) names the whole block; RIP is
            // `bias` bytes into it, at its op `skip`.
            let start = ip &- UInt64(bias)
            let lastByte = start &+ UInt64(byteCount) &- 1
            if lastByte > csHi || lastByte < start { break }
            // No store below can change this block: its page is never write-mapped (a store to
            // it misses the write TLB and is left to step(); DecodeCache.swift).
            // The instruction limit is checked once per block: a block runs whole or not at all.
            // One that does not fit in what is left is step()'s, an instruction at a time (at
            // most 31 per limit): its ops that skip dead flags (FlagLiveness.swift) count on
            // the ops after them to overwrite those flags, so it cannot stop in the middle.
            if UInt64(opCount &- skip) > limit &- n { break }
            blockOps = UnsafePointer(ops + Int(firstOp))
            o = blockOps + Int(skip)
            first = o
            blockIP = start
            inOps = true
            // Every block ends in an op that leaves the loop: a transfer, a stop, or the
            // block-end op after its last (buildBlock), so there is no end test per op.
            while true {
                var next: UInt64 { (blockIP &+ UInt64(o.pointee.end)) & ipm }
                // This op's own RIP (where the one before it ends).
                var opIP: UInt64 { (blockIP &+ UInt64(o == blockOps ? 0 : (o - 1).pointee.end)) & ipm }
                // Read where a case uses them, not ahead of the switch for every op.
                var size: Int { Int(o.pointee.size) }
                var rex: Bool { o.pointee.rex }
                switch o.pointee.kind {
                // Size-specialised register forms (DecodedOp.specialise): the same helpers with
                // a constant size, so masks and sign bits fold.
                case .addRR8: blockALU(o, 0, 8, imm: false, dead: o.pointee.flagsDead)
                case .orRR8: blockALU(o, 1, 8, imm: false, dead: o.pointee.flagsDead)
                case .adcRR8: blockALU(o, 2, 8, imm: false, dead: false)
                case .sbbRR8: blockALU(o, 3, 8, imm: false, dead: false)
                case .andRR8: blockALU(o, 4, 8, imm: false, dead: o.pointee.flagsDead)
                case .subRR8: blockALU(o, 5, 8, imm: false, dead: o.pointee.flagsDead)
                case .xorRR8: blockALU(o, 6, 8, imm: false, dead: o.pointee.flagsDead)
                case .cmpRR8: blockALU(o, 7, 8, imm: false, dead: o.pointee.flagsDead)
                case .addRR4: blockALU(o, 0, 4, imm: false, dead: o.pointee.flagsDead)
                case .orRR4: blockALU(o, 1, 4, imm: false, dead: o.pointee.flagsDead)
                case .adcRR4: blockALU(o, 2, 4, imm: false, dead: false)
                case .sbbRR4: blockALU(o, 3, 4, imm: false, dead: false)
                case .andRR4: blockALU(o, 4, 4, imm: false, dead: o.pointee.flagsDead)
                case .subRR4: blockALU(o, 5, 4, imm: false, dead: o.pointee.flagsDead)
                case .xorRR4: blockALU(o, 6, 4, imm: false, dead: o.pointee.flagsDead)
                case .cmpRR4: blockALU(o, 7, 4, imm: false, dead: o.pointee.flagsDead)
                case .addRI8: blockALU(o, 0, 8, imm: true, dead: o.pointee.flagsDead)
                case .orRI8: blockALU(o, 1, 8, imm: true, dead: o.pointee.flagsDead)
                case .adcRI8: blockALU(o, 2, 8, imm: true, dead: false)
                case .sbbRI8: blockALU(o, 3, 8, imm: true, dead: false)
                case .andRI8: blockALU(o, 4, 8, imm: true, dead: o.pointee.flagsDead)
                case .subRI8: blockALU(o, 5, 8, imm: true, dead: o.pointee.flagsDead)
                case .xorRI8: blockALU(o, 6, 8, imm: true, dead: o.pointee.flagsDead)
                case .cmpRI8: blockALU(o, 7, 8, imm: true, dead: o.pointee.flagsDead)
                case .addRR2: blockALU(o, 0, 2, imm: false, dead: o.pointee.flagsDead)
                case .orRR2: blockALU(o, 1, 2, imm: false, dead: o.pointee.flagsDead)
                case .adcRR2: blockALU(o, 2, 2, imm: false, dead: false)
                case .sbbRR2: blockALU(o, 3, 2, imm: false, dead: false)
                case .andRR2: blockALU(o, 4, 2, imm: false, dead: o.pointee.flagsDead)
                case .subRR2: blockALU(o, 5, 2, imm: false, dead: o.pointee.flagsDead)
                case .xorRR2: blockALU(o, 6, 2, imm: false, dead: o.pointee.flagsDead)
                case .cmpRR2: blockALU(o, 7, 2, imm: false, dead: o.pointee.flagsDead)
                case .addRI2: blockALU(o, 0, 2, imm: true, dead: o.pointee.flagsDead)
                case .orRI2: blockALU(o, 1, 2, imm: true, dead: o.pointee.flagsDead)
                case .adcRI2: blockALU(o, 2, 2, imm: true, dead: false)
                case .sbbRI2: blockALU(o, 3, 2, imm: true, dead: false)
                case .andRI2: blockALU(o, 4, 2, imm: true, dead: o.pointee.flagsDead)
                case .subRI2: blockALU(o, 5, 2, imm: true, dead: o.pointee.flagsDead)
                case .xorRI2: blockALU(o, 6, 2, imm: true, dead: o.pointee.flagsDead)
                case .cmpRI2: blockALU(o, 7, 2, imm: true, dead: o.pointee.flagsDead)
                case .addRI4: blockALU(o, 0, 4, imm: true, dead: o.pointee.flagsDead)
                case .orRI4: blockALU(o, 1, 4, imm: true, dead: o.pointee.flagsDead)
                case .adcRI4: blockALU(o, 2, 4, imm: true, dead: false)
                case .sbbRI4: blockALU(o, 3, 4, imm: true, dead: false)
                case .andRI4: blockALU(o, 4, 4, imm: true, dead: o.pointee.flagsDead)
                case .subRI4: blockALU(o, 5, 4, imm: true, dead: o.pointee.flagsDead)
                case .xorRI4: blockALU(o, 6, 4, imm: true, dead: o.pointee.flagsDead)
                case .cmpRI4: blockALU(o, 7, 4, imm: true, dead: o.pointee.flagsDead)
                case .movRR8:
                    regs[Int(o.pointee.rm)] = regs[Int(o.pointee.reg)]
                case .movRR4:
                    regs[Int(o.pointee.rm)] = regs[Int(o.pointee.reg)] & 0xFFFF_FFFF
                case .movRI8:
                    regs[Int(o.pointee.reg)] = o.pointee.imm
                case .shiftRI8:
                    let d = Int(o.pointee.rm), k = Int(o.pointee.sub)
                    regs[d] = o.pointee.flagsDead ? CPU.shiftResult(k, regs[d], o.pointee.imm, 8)
                                                              : shift(k, regs[d], o.pointee.imm, 8)
                case .shiftRI4:
                    // A 32-bit result is written zero-extended, a masked count of 0 included (as step()).
                    let d = Int(o.pointee.rm), k = Int(o.pointee.sub)
                    regs[d] = o.pointee.flagsDead ? CPU.shiftResult(k, regs[d] & 0xFFFF_FFFF, o.pointee.imm, 4)
                                                              : shift(k, regs[d] & 0xFFFF_FFFF, o.pointee.imm, 4)
                case .setccR:
                    let d = Int(o.pointee.rm)
                    regs[d] = regs[d] & ~0xFF | (cond(Int(o.pointee.sub)) ? 1 : 0)
                case .cmovRR8:
                    if cond(Int(o.pointee.sub)) { regs[Int(o.pointee.reg)] = regs[Int(o.pointee.rm)] }
                case .cmovRR4:
                    // A 32-bit CMOV zero-extends its destination whether or not it moves
                    // (SDM Vol. 2A CMOVcc).
                    let d = Int(o.pointee.reg)
                    regs[d] = (cond(Int(o.pointee.sub)) ? regs[Int(o.pointee.rm)] : regs[d]) & 0xFFFF_FFFF
                case .incDecR8:
                    let d = Int(o.pointee.rm)
                    if o.pointee.flagsDead { regs[d] = o.pointee.sub == 1 ? regs[d] &- 1 : regs[d] &+ 1 }
                    else { regs[d] = incdec(regs[d], o.pointee.sub == 1, 8) }
                case .incDecR4:
                    let d = Int(o.pointee.rm)
                    if o.pointee.flagsDead { regs[d] = (o.pointee.sub == 1 ? regs[d] &- 1 : regs[d] &+ 1) & 0xFFFF_FFFF }
                    else { regs[d] = incdec(regs[d] & 0xFFFF_FFFF, o.pointee.sub == 1, 4) }
                case .load8:
                    let a = blockAddress(o, next)
                    guard let rp = blockData(Int(o.pointee.seg), a, 8, write: false) else {
                        // An MMIO read's exit (blockMMIOLoad), or step()'s.
                        if blockMMIOLoad(Int(o.pointee.seg), a, 8, o, at: opIP, next: next) { blockExited = true }
                        break blocks
                    }
                    regs[Int(o.pointee.reg)] = CPU.load(rp, 8)
                case .load4:
                    let a = blockAddress(o, next)
                    guard let rp = blockData(Int(o.pointee.seg), a, 4, write: false) else {
                        if blockMMIOLoad(Int(o.pointee.seg), a, 4, o, at: opIP, next: next) { blockExited = true }
                        break blocks
                    }
                    regs[Int(o.pointee.reg)] = CPU.load(rp, 4)
                case .store8:
                    let a = blockAddress(o, next)
                    guard let wp = blockData(Int(o.pointee.seg), a, 8, write: true) else {
                        // Done as MMIO (counted past: the loop's end retires it), or step()'s.
                        if blockMMIOStore(Int(o.pointee.seg), a, 8, regs[Int(o.pointee.reg)], at: opIP) { o += 1 }
                        break blocks
                    }
                    CPU.store(wp, 8, regs[Int(o.pointee.reg)])
                case .store4:
                    let a = blockAddress(o, next)
                    guard let wp = blockData(Int(o.pointee.seg), a, 4, write: true) else {
                        if blockMMIOStore(Int(o.pointee.seg), a, 4, regs[Int(o.pointee.reg)] & 0xFFFF_FFFF, at: opIP) { o += 1 }
                        break blocks
                    }
                    CPU.store(wp, 4, regs[Int(o.pointee.reg)])
                case .aluRegMem8:
                    guard let rp = blockData(Int(o.pointee.seg), blockAddress(o, next), 8, write: false) else { break blocks }
                    let d = Int(o.pointee.reg), k = Int(o.pointee.sub)
                    if o.pointee.flagsDead {
                        if k != 7 { regs[d] = CPU.aluResult(k, regs[d], CPU.load(rp, 8)) }
                    } else {
                        let v = alu(k, regs[d], CPU.load(rp, 8), 8)
                        if k != 7 { regs[d] = v }
                    }
                case .aluRegMem4:
                    guard let rp = blockData(Int(o.pointee.seg), blockAddress(o, next), 4, write: false) else { break blocks }
                    let d = Int(o.pointee.reg), k = Int(o.pointee.sub)
                    if o.pointee.flagsDead {
                        if k != 7 { regs[d] = CPU.aluResult(k, regs[d], CPU.load(rp, 4)) & 0xFFFF_FFFF }
                    } else {
                        let v = alu(k, regs[d] & 0xFFFF_FFFF, CPU.load(rp, 4), 4)
                        if k != 7 { regs[d] = v }
                    }
                case .aluMemReg8, .aluMemReg4:
                    // Read-modify-write (CMP reads only): both pointers before anything changes.
                    let sz = o.pointee.kind == .aluMemReg8 ? 8 : 4
                    let a = blockAddress(o, next), sg = Int(o.pointee.seg), k = Int(o.pointee.sub)
                    guard let rp = blockData(sg, a, sz, write: false) else { break blocks }
                    let src = sz == 8 ? regs[Int(o.pointee.reg)] : regs[Int(o.pointee.reg)] & 0xFFFF_FFFF
                    if k == 7 {
                        _ = alu(7, CPU.load(rp, sz), src, sz)
                    } else {
                        guard let wp = blockData(sg, a, sz, write: true) else { break blocks }
                        CPU.store(wp, sz, alu(k, CPU.load(rp, sz), src, sz))
                    }
                case .aluRMReg, .aluRMImm:
                    let k = Int(o.pointee.sub)
                    let src = o.pointee.kind == .aluRMImm ? o.pointee.imm : blockReg(Int(o.pointee.reg), size, rex)
                    if o.pointee.isReg {
                        let d = Int(o.pointee.rm)
                        let v = alu(k, blockReg(d, size, rex), src, size)
                        if k != 7 { setBlockReg(d, size, rex, v) }
                    } else {
                        let a = blockAddress(o, next), s = Int(o.pointee.seg)
                        guard let rp = blockData(s, a, size, write: false) else { break blocks }
                        if k == 7 {
                            _ = alu(k, CPU.load(rp, size), src, size)
                        } else {
                            guard let wp = blockData(s, a, size, write: true) else { break blocks }
                            CPU.store(wp, size, alu(k, CPU.load(rp, size), src, size))
                        }
                    }
                case .aluRegRM, .testRMReg, .testRMImm, .movRegRM, .movzx, .movsx, .movsxd, .imulRegRM,
                     .imulRegRMImm, .cmovcc, .mulDiv, .bitScan, .bitCount:
                    // Instructions that read their r/m operand and write a register (or flags).
                    let srcSize: Int
                    switch o.pointee.kind {
                    case .movzx, .movsx: srcSize = Int(o.pointee.sub)
                    case .movsxd: srcSize = 4
                    default: srcSize = size
                    }
                    let v: UInt64
                    if o.pointee.isReg {
                        v = blockReg(Int(o.pointee.rm), srcSize, rex)
                    } else {
                        let a = blockAddress(o, next)
                        guard let rp = blockData(Int(o.pointee.seg), a, srcSize, write: false) else {
                            switch o.pointee.kind {
                            case .movRegRM, .movzx, .movsx, .movsxd:
                                if blockMMIOLoad(Int(o.pointee.seg), a, srcSize, o, at: opIP, next: next) { blockExited = true }
                            default: break
                            }
                            break blocks
                        }
                        v = CPU.load(rp, srcSize)
                    }
                    let d = Int(o.pointee.reg)
                    switch o.pointee.kind {
                    case .aluRegRM:
                        let k = Int(o.pointee.sub)
                        let r = alu(k, blockReg(d, size, rex), v, size)
                        if k != 7 { setBlockReg(d, size, rex, r) }
                    case .testRMReg: _ = logic(v & blockReg(d, size, rex), size)
                    case .testRMImm: _ = logic(v & o.pointee.imm, size)
                    case .movRegRM, .movzx: setBlockReg(d, size, rex, v)
                    case .movsx: setBlockReg(d, size, rex, CPU.sext(v, srcSize) & CPU.mask(size))
                    case .movsxd: setBlockReg(d, size, rex, size == 8 ? CPU.sext(v, 4) : v)
                    case .imulRegRM:
                        let a = blockReg(d, size, rex)
                        setBlockReg(d, size, rex, o.pointee.flagsDead ? (a &* v) & CPU.mask(size) : imul2(a, v, size))
                    case .imulRegRMImm:
                        setBlockReg(d, size, rex, o.pointee.flagsDead ? (v &* o.pointee.imm) & CPU.mask(size)
                                                                                 : imul2(v, o.pointee.imm, size))
                    case .bitScan: if let r = bitScan(reverse: o.pointee.sub == 1, v) { setBlockReg(d, size, rex, r) }
                    case .bitCount:
                        if o.pointee.sub == 0 {
                            // POPCNT: ZF = source zero, OF SF AF CF PF cleared (SDM Vol. 2B).
                            setBlockReg(d, size, rex, UInt64(v.nonzeroBitCount))
                            setArith(v == 0 ? F.zf : 0)
                        } else {
                            // LZCNT: the operand's width for 0; CF = source zero, ZF = result
                            // zero, the other flags kept (SDM Vol. 2A LZCNT).
                            let r = v == 0 ? UInt64(size * 8) : UInt64(v.leadingZeroBitCount - (64 - size * 8))
                            setBlockReg(d, size, rex, r)
                            flags = flags & ~(F.cf | F.zf) | (v == 0 ? F.cf : 0) | (r == 0 ? F.zf : 0)
                        }
                    case .cmovcc:
                        // The source is read even when the condition is false; a 32-bit CMOV
                        // zero-extends its destination either way (SDM Vol. 2A CMOVcc).
                        if cond(Int(o.pointee.sub)) { setBlockReg(d, size, rex, v) }
                        else if size == 4 { regs[d] &= 0xFFFF_FFFF }
                    default:
                        // MUL/IMUL/DIV/IDIV: mulDiv checks #DE before changing anything.
                        do { try mulDiv(Int(o.pointee.sub), v, size) } catch { break blocks }
                    }
                case .movRMReg, .movRMImm, .setcc:
                    let v: UInt64
                    switch o.pointee.kind {
                    case .movRMReg: v = blockReg(Int(o.pointee.reg), size, rex)
                    case .movRMImm: v = o.pointee.imm
                    default: v = cond(Int(o.pointee.sub)) ? 1 : 0
                    }
                    if o.pointee.isReg {
                        setBlockReg(Int(o.pointee.rm), size, rex, v)
                    } else {
                        let a = blockAddress(o, next)
                        guard let wp = blockData(Int(o.pointee.seg), a, size, write: true) else {
                            if blockMMIOStore(Int(o.pointee.seg), a, size, v, at: opIP) { o += 1 }
                            break blocks
                        }
                        CPU.store(wp, size, v)
                    }
                case .incDec, .notNeg, .shiftImm, .shiftCL, .doubleShift:
                    // Read-modify-write of r/m: both pointers before anything changes.
                    var a: UInt64
                    var wp: UnsafeMutableRawPointer? = nil
                    if o.pointee.isReg {
                        a = blockReg(Int(o.pointee.rm), size, rex)
                    } else {
                        let ea = blockAddress(o, next), s = Int(o.pointee.seg)
                        guard let rp = blockData(s, ea, size, write: false),
                              let w = blockData(s, ea, size, write: true) else { break blocks }
                        a = CPU.load(rp, size)
                        wp = w
                    }
                    let k = Int(o.pointee.sub)
                    switch o.pointee.kind {
                    case .incDec: a = incdec(a, k == 1, size)
                    case .notNeg: a = k == 2 ? ~a & CPU.mask(size) : sub(0, a, 0, size)
                    case .shiftImm:
                        a = o.pointee.flagsDead ? CPU.shiftResult(k, a, o.pointee.imm, size) : shift(k, a, o.pointee.imm, size)
                    case .shiftCL: a = shift(k, a, regs[1] & 0xFF, size)
                    default:
                        a = doubleShift(a, blockReg(Int(o.pointee.reg), size, rex), k & 2 != 0 ? regs[1] & 0xFF : o.pointee.imm,
                                        size, left: k & 1 != 0)
                    }
                    if let wp {
                        CPU.store(wp, size, a)
                    } else {
                        setBlockReg(Int(o.pointee.rm), size, rex, a)
                    }
                case .lea:
                    setBlockReg(Int(o.pointee.reg), size, rex, blockAddress(o, next))
                case .movRegImm:
                    setBlockReg(Int(o.pointee.reg), size, rex, o.pointee.imm)
                case .push, .pushImm:
                    let v = o.pointee.kind == .push ? blockReg(Int(o.pointee.reg), size, true) : o.pointee.imm
                    let sp = (regs[4] &- UInt64(size)) & spm
                    guard let wp = blockData(S.ss, sp, size, write: true) else { break blocks }
                    CPU.store(wp, size, v)
                    regs[4] = regs[4] & spKeep | sp & spm
                case .pop:
                    let sp = regs[4] & spm
                    guard let rp = blockData(S.ss, sp, size, write: false) else { break blocks }
                    let v = CPU.load(rp, size)
                    regs[4] = regs[4] & spKeep | (sp &+ UInt64(size)) & spm
                    setBlockReg(Int(o.pointee.reg), size, true, v)
                case .cbw:
                    switch size {
                    case 2: setReg(0, 2, CPU.sext(regs[0], 1))
                    case 4: setReg(0, 4, CPU.sext(regs[0], 2))
                    default: regs[0] = CPU.sext(regs[0], 4)
                    }
                case .cwd:
                    setReg(2, size, reg(0, size) & CPU.signBit(size) != 0 ? ~0 : 0)
                case .nop, .jmpAhead:
                    break   // a JMP within the block: the next op is at its target (buildBlock)
                case .bitTest:
                    if !o.pointee.isReg {
                        if !blockBitString(o, next) { break blocks }
                        break
                    }
                    let offset = o.pointee.isImm ? o.pointee.imm : blockReg(Int(o.pointee.reg), size, rex)
                    let k = Int(o.pointee.sub)
                    let d = Int(o.pointee.rm)
                    let r = bitTestRegister(k, blockReg(d, size, rex), offset, size)
                    if k != 0 { setBlockReg(d, size, rex, r) }
                case .pushRM:
                    if !blockPushRM(o, next, spm, spKeep) { break blocks }
                case .popRM:
                    if !blockPopRM(o, next, spm, spKeep) { break blocks }
                case .bswap:
                    let d = Int(o.pointee.reg)
                    if size == 8 { regs[d] = regs[d].byteSwapped }
                    else if size == 4 { setReg(d, 4, UInt64(UInt32(truncatingIfNeeded: regs[d]).byteSwapped)) }
                    else { setReg(d, 2, 0) }   // BSWAP r16 is undefined; Intel cores zero it (as step())
                case .stringOp:
                    if !blockStringOp(o) { break blocks }
                case .xlat:
                    // AL <- [seg: rBX + AL], wrapped to the address size (SDM Vol. 2B XLAT).
                    let a = (regs[3] &+ (regs[0] & 0xFF)) & CPU.mask(Int(o.pointee.asz))
                    guard let rp = blockData(Int(o.pointee.seg), a, 1, write: false) else { break blocks }
                    regs[0] = regs[0] & ~0xFF | CPU.load(rp, 1)
                case .lahf: lahf()
                case .sahf: sahf()
                case .pushf:
                    // VM and RF are pushed as 0 (pushf()).
                    let sp = (regs[4] &- UInt64(size)) & spm
                    guard let wp = blockData(S.ss, sp, size, write: true) else { break blocks }
                    CPU.store(wp, size, flags & ~(F.vm | F.rf) & CPU.mask(size))
                    regs[4] = regs[4] & spKeep | sp & spm
                case .popf:
                    if !blockPopf(o, spm, spKeep) { break blocks }
                case .xchg, .xadd:
                    if o.pointee.isReg {
                        // XCHG: DEST <- SRC; XADD: DEST <- DEST + SRC (flags of the ADD). Then
                        // SRC <- the old DEST; DEST is written last, so `xadd eax, eax` leaves
                        // the sum (SDM Vol. 2B XADD, XCHG).
                        let r = Int(o.pointee.reg), d = Int(o.pointee.rm)
                        let src = blockReg(r, size, rex), dest = blockReg(d, size, rex)
                        let v = o.pointee.kind == .xadd ? add(dest, src, 0, size) : src
                        setBlockReg(r, size, rex, dest)
                        setBlockReg(d, size, rex, v)
                    } else if !blockExchangeMemory(o, next) {
                        break blocks
                    }
                case .cmpxchg:
                    if !blockCmpxchg(o, next) { break blocks }
                case .flagOp:
                    switch o.pointee.sub {
                    case 0xF5: flags ^= F.cf
                    case 0xF8: flags &= ~F.cf
                    case 0xF9: flags |= F.cf
                    case 0xFC: flags &= ~F.df
                    default: flags |= F.df
                    }
                case .leave:
                    let bp = regs[5] & spm
                    guard let rp = blockData(S.ss, bp, size, write: false) else { break blocks }
                    let v = CPU.load(rp, size)
                    regs[4] = regs[4] & spKeep | (bp &+ UInt64(size)) & spm
                    setReg(5, size, v)
                case .jmpIndirect, .callIndirect:
                    guard let t0 = blockReadRM(o, next, size), let t = blockTarget(t0, size) else { break blocks }
                    if o.pointee.kind == .callIndirect {
                        let sp = (regs[4] &- UInt64(size)) & spm
                        guard let wp = blockData(S.ss, sp, size, write: true) else { break blocks }
                        CPU.store(wp, size, next)
                        regs[4] = regs[4] & spKeep | sp & spm
                    }
                    ip = t
                    n &+= CPU.ops(from: first, to: o) &+ 1
                    o += 1
                    first = o   // counted: the count after the loop must not add them again
                    inOps = false   // RIP is the target's
                    continue blocks
                case .jcc:
                    // A Jcc not taken goes on to the next op, its fall-through (a Jcc does not
                    // end its block: endsBlock), or past the block's end if it was the last.
                    // A taken one is a JMP.
                    if !jccTaken(o) { break }
                    fallthrough
                case .jmp:
                    guard let t = blockTarget(next &+ o.pointee.imm, size) else { break blocks }
                    ip = t
                    n &+= CPU.ops(from: first, to: o) &+ 1
                    o += 1
                    first = o   // counted: the count after the loop must not add them again
                    inOps = false   // RIP is the target's
                    continue blocks
                case .jccBack:
                    if !jccTaken(o) { break }
                    fallthrough
                case .jmpBack:
                    // Back to its own block's first byte (buildBlock): round again without a
                    // look-up. Nothing in a runBlocks call changes the block's bytes (its page
                    // is not write-mapped), its stamp or CS, so of the checks a block is entered
                    // with only the instruction limit (`reg`: the block's op count) is left. The
                    // target is compared too: a 16-bit one wraps where the block's RIP may not.
                    guard let t = blockTarget(next &+ o.pointee.imm, size) else { break blocks }
                    n &+= CPU.ops(from: first, to: o) &+ 1
                    if t == blockIP && UInt64(o.pointee.reg) <= limit &- n {
                        o = blockOps
                        first = o
                        continue
                    }
                    ip = t
                    o += 1
                    first = o   // counted: the count after the loop must not add them again
                    inOps = false   // RIP is the target's
                    continue blocks
                case .call:
                    guard let t = blockTarget(next &+ o.pointee.imm, size) else { break blocks }
                    let sp = (regs[4] &- UInt64(size)) & spm
                    guard let wp = blockData(S.ss, sp, size, write: true) else { break blocks }
                    CPU.store(wp, size, next)
                    regs[4] = regs[4] & spKeep | sp & spm
                    ip = t
                    n &+= CPU.ops(from: first, to: o) &+ 1
                    o += 1
                    first = o   // counted: the count after the loop must not add them again
                    inOps = false   // RIP is the target's
                    continue blocks
                case .loop:
                    // LOOPNE LOOPE LOOP decrement CX/ECX/RCX (by the address size, flags
                    // untouched) and branch while it is not 0 (and ZF says so); JrCXZ branches
                    // when it is 0. A target step() would #GP on stops it before the count
                    // changes (SDM Vol. 2A LOOP/LOOPcc, Jcc).
                    let asz = Int(o.pointee.asz), k = o.pointee.sub
                    let count = regs[1] & CPU.mask(asz)
                    let c = k == 3 ? count : (count &- 1) & CPU.mask(asz)
                    let take: Bool
                    switch k {
                    case 0: take = c != 0 && flags & F.zf == 0
                    case 1: take = c != 0 && flags & F.zf != 0
                    case 2: take = c != 0
                    default: take = c == 0
                    }
                    if take {
                        guard let t = blockTarget(next &+ o.pointee.imm, size) else { break blocks }
                        ip = t
                    } else {
                        ip = next
                    }
                    if k != 3 { setBlockReg(1, asz, true, c) }
                    n &+= CPU.ops(from: first, to: o) &+ 1
                    o += 1
                    first = o   // counted: the count after the loop must not add them again
                    inOps = false   // RIP is the target's
                    continue blocks
                case .ret:
                    let sp = regs[4] & spm
                    guard let rp = blockData(S.ss, sp, size, write: false),
                          let t = blockTarget(CPU.load(rp, size), size) else { break blocks }
                    // RET imm16 releases imm more bytes (0 for C3).
                    regs[4] = regs[4] & spKeep | (sp &+ UInt64(size) &+ o.pointee.imm) & spm
                    ip = t
                    n &+= CPU.ops(from: first, to: o) &+ 1
                    o += 1
                    first = o   // counted: the count after the loop must not add them again
                    inOps = false   // RIP is the target's
                    continue blocks
                case .portOut:
                    // The exit to userspace as portIO makes it; batch() hands it to userspace
                    // from blockOut* (RefVCPU.ioExit, as for step()'s). Whatever else an OUT
                    // may need is step()'s.
                    let port = o.pointee.isImm ? UInt16(truncatingIfNeeded: o.pointee.imm) : UInt16(truncatingIfNeeded: regs[2])
                    if blockPortOut(port: port, size: size, immediate: o.pointee.isImm, at: opIP, next: next) { blockExited = true }
                    break blocks
                case .portIn:
                    // The same for an IN: its exit, completed by the next KVM_RUN
                    // (complete_fast_pio_in), or step()'s.
                    let port = o.pointee.isImm ? UInt16(truncatingIfNeeded: o.pointee.imm) : UInt16(truncatingIfNeeded: regs[2])
                    if blockPortIn(port: port, size: size, immediate: o.pointee.isImm, at: opIP, next: next) { blockExited = true }
                    break blocks
                case .generic:
                    // step()'s, run after the loop below without leaving this call.
                    break blocks
                case .blockEnd:
                    // Past the block's last op (one that did not leave it: a Jcc not taken, or
                    // any other at the 32-op or page limit): the next block starts at its end.
                    inOps = false
                    ip = (blockIP &+ UInt64(o.pointee.end)) & ipm
                    n &+= CPU.ops(from: first, to: o)
                    first = o
                    continue blocks
                }
                o += 1
            }
        }
        if inOps {
            ip = (blockIP &+ UInt64(o == blockOps ? 0 : (o - 1).pointee.end)) & ipm
            // An exit from inside the block: the next KVM_RUN may go on with the rest of it
            // (recordResume; once made, its link is found here and nothing is recorded).
            if blockExited || blockMMIOStored {
                let resume = blockExited ? o + 1 : o
                let at = (blockIP &+ UInt64((resume - 1).pointee.end)) & ipm
                if resume.pointee.kind != .blockEnd && slot >= 0
                    && (cache.chained(from: slot, ip: at, stamp: stamp)?.pointee.skip ?? 0) == 0 {
                    cache.recordResume(slot: slot, ip: at, firstOp: UInt32(truncatingIfNeeded: blockOps - UnsafePointer(ops)),
                                       skip: UInt8(truncatingIfNeeded: resume - blockOps), bias: (resume - 1).pointee.end,
                                       stamp: stamp)
                }
            }
        }
        n &+= CPU.ops(from: first, to: o)
        first = o
        inOps = false
        // Stopped in front of an instruction it does not finish (a generic op, a TLB miss, a
        // segment check, MMIO it does not exit for, a block the limit would cut; not the limit
        // reached, not an exit): with
        // `stepping`, step() runs it here, from RIP at its first byte, as batch() would after
        // this call returned, and the blocks go on after it. Ops before it have retired.
        if !stepping || n >= limit || blockExited || blockMMIOStored { break steps }
        rip = ip
        // The clock (CPU.now: RDTSC, the timers) counts the ops retired so far in this call
        // while step() runs, as it would from batch().
        instructionsRetired &+= n
        let repsBefore = repIterations
        let fault = stepInPlace()
        instructionsRetired &-= n
        // A REP's iterations are each one of the budget (charge()).
        let reps = repIterations &- repsBefore
        if reps != 0 { limit = reps < limit &- n ? limit &- reps : n }
        ip = rip            // as step() left it, fault or not (a VM exit may be past it)
        if let fault {
            blockStepFault = fault   // not retired (handleFault decides)
            break steps
        }
        n &+= 1
        // Go on only while everything this call holds in locals (mode, CS, SS, the epoch, the
        // stamp) and what its caller checked before it is as it was; anything else (an event,
        // a far jump, a store to code) is the caller's, which calls again.
        if eventCheck || acCheck || hwBreakpoints || !fastPath || ipMask != ipm || spMask != spm
            || cache.epoch != epoch && !genericStepIgnoresCodeWrites || (code64 ? ~0 : segs[S.cs].hi) != csHi
            || codeGeneration != cache.stampCodeGeneration || decodeMode != cache.stampMode
            || (code64 ? 0 : segs[S.cs].base) != cache.stampCSBase {
            break steps
        }
        }   // steps
        rip = ip
        return n
    }
}
