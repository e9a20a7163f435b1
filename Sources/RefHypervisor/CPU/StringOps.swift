// MOVS CMPS STOS LODS SCAS and INS OUTS with REP/REPE/REPNE (SDM Vol. 2B "REP").
// Each iteration commits RSI/RDI/RCX; a fault or exit mid-way leaves RIP at the
// instruction so it resumes with the remaining count, as the SDM specifies.

extension CPU {
    /// Iterations done in one step before yielding (the instruction resumes next step).
    static let repChunk: UInt64 = 1 << 16

    @inline(__always) func advanceIndex(_ r: Int, _ size: Int) {
        let d: UInt64 = flags & F.df != 0 ? 0 &- UInt64(size) : UInt64(size)
        setReg(r, asz, regs[r] &+ d)
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
        while true {
            if reg(1, asz) == 0 { rip = nextRIP; return }
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

