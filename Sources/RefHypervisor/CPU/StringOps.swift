// MOVS CMPS STOS LODS SCAS and INS OUTS with REP/REPE/REPNE (SDM Vol. 2B "REP").
// Each iteration commits RSI/RDI/RCX; a fault or exit mid-way leaves RIP at the
// instruction so it resumes with the remaining count, as the SDM specifies.

extension CPU {
    /// Iterations done in one step before yielding (the instruction resumes next step).
    static let repChunk: UInt64 = 1 << 16

    /// RSI or RDI past `count` elements of `size` bytes, in the direction of DF.
    @inline(__always) func advanceIndex(_ r: Int, _ size: Int, count: UInt64 = 1) {
        let bytes = UInt64(size) &* count
        setReg(r, asz, flags & F.df != 0 ? regs[r] &- bytes : regs[r] &+ bytes)
    }

    /// Sets RIP itself: past the instruction when done, unchanged when iterations remain.
    func stringOp(_ op: UInt8) throws(Fault) {
        if lock { throw ud() }
        let size = op & 1 == 0 ? 1 : osz
        let src = dataSeg
        let kind = op & 0xFE
        if rep == 0 {
            try stringElement(kind, size, src)
            rip = nextRIP
            return
        }
        var n: UInt64 = 0
        // REP MOVS/STOS move whole runs of elements at once where nothing can happen between
        // two of them (bulkString), REPE/REPNE CMPS/SCAS compare them (bulkCompare; with the
        // fast path on: off, the element-by-element path is what the differential tests
        // compare it with); one element at a time otherwise.
        let compare = kind == 0xA6 || kind == 0xAE
        let bulk = (kind == 0xA4 || kind == 0xAA || compare && fastPath) && !hwBreakpoints && !acCheck && completionData.isEmpty
        while true {
            if reg(1, asz) == 0 { rip = nextRIP; return }
            if bulk {
                var done: UInt64 = 0, ended = false
                if compare { (done, ended) = bulkCompare(kind, size, src, upTo: CPU.repChunk &- n, whileEqual: rep == 0xF3) }
                else { done = bulkString(kind, size, src, upTo: CPU.repChunk &- n) }
                if done != 0 {
                    // As below, the iteration whose ZF ends the REP is not counted again.
                    let counted = ended ? done &- 1 : done
                    n &+= counted
                    repIterations &+= counted
                    if ended { rip = nextRIP; return }
                    if n >= CPU.repChunk {
                        if reg(1, asz) == 0 { rip = nextRIP }
                        eventCheck = true
                        return
                    }
                    continue
                }
            }
            try stringElement(kind, size, src)
            setReg(1, asz, reg(1, asz) &- 1)
            if completionPos != 0 {
                // MMIO read data of a committed iteration is used up.
                completionData.removeFirst(min(completionPos, completionData.count))
                completionPos = 0
            }
            if kind == 0xA6 || kind == 0xAE {
                let zf = flags & F.zf != 0
                if (rep == 0xF3 && !zf) || (rep == 0xF2 && zf) {
                    rip = nextRIP; return
                }
            }
            n &+= 1
            repIterations &+= 1
            if stopAfterInstruction || n >= CPU.repChunk {
                if reg(1, asz) == 0 { rip = nextRIP }
                else if kind == 0xA6 || kind == 0xAE { /* already checked */ }
                eventCheck = true   // back to the run loop: it charges the budget and reads the clock
                return
            }
        }
    }

    /// Iterations of REP MOVS (`kind` A4) or REP STOS (AA) done at once, at most `limit` and
    /// RCX: the run of elements for which every source and destination byte lies on the
    /// current pages of RSI and RDI, inside their segments, without wrapping the address size,
    /// and hits the read and write TLBs (so no fault, MMIO exit, code page, dirty-log first
    /// write or page walk can come between two elements: those pages are never in the write
    /// TLB, DecodeCache.swift). Returns 0 when even the first element is not such an element:
    /// stringElement then does it the slow way. The elements are moved in their architectural
    /// order (SDM Vol. 2B MOVS: one after the other, in the direction of DF), so overlapping
    /// source and destination give what element-by-element moves give.
    func bulkString(_ kind: UInt8, _ size: Int, _ src: Int, upTo limit: UInt64) -> UInt64 {
        guard let (n, dst, source) = bulkRun(size, src, upTo: limit, from: kind == 0xA4, writes: true) else { return 0 }
        let down = flags & F.df != 0
        let bytes = Int(n) &* size
        if let from = source {
            let d = UInt(bitPattern: dst), f = UInt(bitPattern: from), b = UInt(bytes)
            if d &+ b <= f || f &+ b <= d {
                dst.copyMemory(from: from, byteCount: bytes)   // disjoint: any order gives the same
            } else if down {
                var i = Int(n) &- 1
                while i >= 0 { CPU.store(dst + i &* size, size, CPU.load(from + i &* size, size)); i &-= 1 }
            } else {
                for i in 0..<Int(n) { CPU.store(dst + i &* size, size, CPU.load(from + i &* size, size)) }
            }
            advanceIndex(6, size, count: n)
        } else if size == 1 {
            dst.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: regs[0]), count: bytes)
        } else {
            // One loop per size, so each is a plain (vectorisable) store loop.
            let v = regs[0], count = Int(n)
            switch size {
            case 8: for i in 0..<count { dst.storeBytes(of: v, toByteOffset: i &* 8, as: UInt64.self) }
            case 4: for i in 0..<count { dst.storeBytes(of: UInt32(truncatingIfNeeded: v), toByteOffset: i &* 4, as: UInt32.self) }
            default: for i in 0..<count { dst.storeBytes(of: UInt16(truncatingIfNeeded: v), toByteOffset: i &* 2, as: UInt16.self) }
            }
        }
        advanceIndex(7, size, count: n)
        setReg(1, asz, reg(1, asz) &- n)
        return n
    }

    /// Elements of `size` bytes from offset `off` of segment `seg`, in the direction of DF,
    /// before the page or the address size ends (a run the bulk paths may take at once).
    func elementsOnPage(_ seg: Int, _ off: UInt64, _ size: Int) -> UInt64 {
        let step = UInt64(size)
        let shift = UInt64(size.trailingZeroBitCount)   // sizes are 1, 2, 4, 8: no divisions
        let am = asMask
        let la = code64 ? (seg >= S.fs ? off &+ segs[seg].base : off) : (segs[seg].base &+ off) & 0xFFFF_FFFF
        let inPage = la & 0xFFF
        if flags & F.df != 0 {
            return inPage &+ step > 4096 ? 0 : min(inPage &>> shift, off &>> shift) &+ 1
        }
        return min((4096 &- inPage) &>> shift, am == ~0 ? UInt64.max : (am &- off &+ 1) &>> shift)
    }

    /// REPE (`whileEqual`) or REPNE CMPS (A6) and SCAS (AE) over one run of elements on RAM
    /// (as bulkString's, through the TLB: 0 when it misses), as that many iterations of
    /// stringElement: returns how many were done and whether the last one ended the REP by
    /// its ZF. The flags are the last comparison's (SDM Vol. 2A CMPS, Vol. 2B SCAS: CMPS
    /// computes [rSI] - ES:[rDI], SCAS rAX - ES:[rDI]).
    func bulkCompare(_ kind: UInt8, _ size: Int, _ src: Int, upTo limit: UInt64, whileEqual: Bool) -> (UInt64, Bool) {
        guard let (n, dst, from) = bulkRun(size, src, upTo: limit, from: kind == 0xA6, writes: false) else { return (0, false) }
        let down = flags & F.df != 0
        let count = Int(n)
        // Element i (0: compared first) is i elements from the run's first byte, or from its
        // last element going down.
        let acc = reg(0, size)
        var i = 0, a: UInt64 = 0, b: UInt64 = 0, ended = false
        while i < count {
            let at = (down ? count &- 1 &- i : i) &* size
            b = CPU.load(dst + at, size)
            if let from { a = CPU.load(from + at, size) } else { a = acc }
            i &+= 1
            if (a == b) != whileEqual { ended = true; break }
        }
        _ = sub(a, b, 0, size)
        let done = UInt64(i)
        if kind == 0xA6 { advanceIndex(6, size, count: done) }
        advanceIndex(7, size, count: done)
        setReg(1, asz, reg(1, asz) &- done)
        return (done, ended)
    }

    /// The run of elements bulkString and bulkCompare take at once: up to `limit` and
    /// RCX/ECX/CX, none past the page of ES:rDI or (with `from`) of the source, both mapped
    /// through the TLB (the destination for writing, with `writes`); its count and the host
    /// address of its lowest byte in each. Nil, with nothing changed, when there is none.
    @inline(__always) func bulkRun(_ size: Int, _ src: Int, upTo limit: UInt64, from: Bool, writes: Bool)
        -> (UInt64, UnsafeMutableRawPointer, UnsafeMutableRawPointer?)? {
        let down = flags & F.df != 0
        let am = asMask
        var n = min(reg(1, asz), limit)
        let di = regs[7] & am
        n = min(n, elementsOnPage(S.es, di, size))
        let si = regs[6] & am
        if from { n = min(n, elementsOnPage(src, si, size)) }
        if n == 0 { return nil }
        let bytes = Int(n) &* size
        let span = (n &- 1) &* UInt64(size)            // from the first element to the last
        guard let dst = blockData(S.es, down ? di &- span : di, bytes, write: writes) else { return nil }
        if !from { return (n, dst, nil) }
        guard let source = blockData(src, down ? si &- span : si, bytes, write: false) else { return nil }
        return (n, dst, source)
    }

    @inline(__always) func stringElement(_ kind: UInt8, _ size: Int, _ src: Int) throws(Fault) {
        switch kind {
        case 0xA4:
            let v = try rd(src, regs[6] & asMask, size)
            try wr(S.es, regs[7] & asMask, size, v)
            advanceIndex(6, size); advanceIndex(7, size)
        case 0xA6:
            let a = try rd(src, regs[6] & asMask, size)
            let b = try rd(S.es, regs[7] & asMask, size)
            _ = sub(a, b, 0, size)
            advanceIndex(6, size); advanceIndex(7, size)
        case 0xAA:
            try wr(S.es, regs[7] & asMask, size, regs[0])
            advanceIndex(7, size)
        case 0xAC:
            let v = try rd(src, regs[6] & asMask, size)
            setReg(0, size, v)
            advanceIndex(6, size)
        default: // 0xAE SCAS
            let b = try rd(S.es, regs[7] & asMask, size)
            _ = sub(getR(0, size), b, 0, size)
            advanceIndex(7, size)
        }
    }
}

