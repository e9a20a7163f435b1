// Ops of the decoded-block subset that CPU.runBlocks (BlockExecutor.swift) runs out of line:
// the memory forms of less common instructions. Each is a call from the executor's switch,
// which keeps runBlocks small enough for the compiler to inline the helpers its hot ops
// use (a function past the optimiser's size limits gets none inlined into it). Each
// returns false, having changed nothing, when the instruction is step()'s after all (a TLB
// miss, a segment check, a POPF with more to do).

extension CPU {
    /// BT BTS BTR BTC on memory, a bit string (SDM Vol. 2A BT, "bit base"): a register offset
    /// is signed and moves the address by whole operands (an arithmetic shift is the floor
    /// division); an immediate one stays inside the operand (as bitTest()).
    @inline(never) func blockBitString(_ o: UnsafePointer<DecodedOp>, _ next: UInt64) -> Bool {
        let size = Int(o.pointee.size)
        let offset = o.pointee.isImm ? o.pointee.imm : blockReg(Int(o.pointee.reg), size, o.pointee.rex)
        let k = Int(o.pointee.sub)
        var a = blockAddress(o, next)
        if !o.pointee.isImm {
            let shift: Int64 = size == 8 ? 6 : size == 4 ? 5 : 4
            let units = Int64(bitPattern: CPU.sext(offset, size)) &>> shift
            a = (a &+ UInt64(bitPattern: units &* Int64(size))) & CPU.mask(Int(o.pointee.asz))
        }
        let sg = Int(o.pointee.seg)
        guard let rp = blockData(sg, a, size, write: false) else { return false }
        if k == 0 {
            _ = bitTestRegister(0, CPU.load(rp, size), offset, size)
            return true
        }
        guard let wp = blockData(sg, a, size, write: true) else { return false }
        CPU.store(wp, size, bitTestRegister(k, CPU.load(rp, size), offset, size))
        return true
    }

    /// PUSH r/m (FF /6): the operand is read at an address computed before RSP moves (SDM
    /// Vol. 2B PUSH); both accesses are checked before either is done. `spm` and `spKeep` are
    /// runBlocks' stack mask and the RSP bits a write of SP keeps.
    @inline(never) func blockPushRM(_ o: UnsafePointer<DecodedOp>, _ next: UInt64, _ spm: UInt64, _ spKeep: UInt64) -> Bool {
        let size = Int(o.pointee.size)
        guard let v = blockReadRM(o, next, size) else { return false }
        let sp = (regs[4] &- UInt64(size)) & spm
        guard let wp = blockData(S.ss, sp, size, write: true) else { return false }
        CPU.store(wp, size, v)
        regs[4] = regs[4] & spKeep | sp & spm
        return true
    }

    /// POP r/m (8F /0): an address based on RSP is computed with RSP already incremented
    /// (SDM Vol. 2B POP); a register destination is written after RSP (POP RSP leaves the
    /// value popped).
    @inline(never) func blockPopRM(_ o: UnsafePointer<DecodedOp>, _ next: UInt64, _ spm: UInt64, _ spKeep: UInt64) -> Bool {
        let size = Int(o.pointee.size)
        let sp = regs[4] & spm
        guard let rp = blockData(S.ss, sp, size, write: false) else { return false }
        let v = CPU.load(rp, size)
        let newSP = regs[4] & spKeep | (sp &+ UInt64(size)) & spm
        if o.pointee.isReg {
            regs[4] = newSP
            setBlockReg(Int(o.pointee.rm), size, true, v)
            return true
        }
        var a = blockAddress(o, next)
        if o.pointee.base == 4 { a = (a &+ UInt64(size)) & CPU.mask(Int(o.pointee.asz)) }
        guard let wp = blockData(Int(o.pointee.seg), a, size, write: true) else { return false }
        CPU.store(wp, size, v)
        regs[4] = newSP
        return true
    }

    /// A POPF that changes only the arithmetic flags and DF: nothing it could make
    /// deliverable or trap (IF, TF, AC, IOPL, NT, ID stay), so popf()'s event check would find
    /// nothing. Any other is step()'s.
    @inline(never) func blockPopf(_ o: UnsafePointer<DecodedOp>, _ spm: UInt64, _ spKeep: UInt64) -> Bool {
        let size = Int(o.pointee.size)
        let sp = regs[4] & spm
        guard let rp = blockData(S.ss, sp, size, write: false) else { return false }
        let m = writableFlags(size)
        let nf = (flags & ~m) | (CPU.load(rp, size) & m) | 2
        if (nf ^ flags) & ~(F.arith | F.df) != 0 { return false }
        flags = nf
        regs[4] = regs[4] & spKeep | (sp &+ UInt64(size)) & spm
        return true
    }

    /// MOVS CMPS STOS LODS SCAS without REP (stringElement): the source at seg:rSI, the
    /// destination at ES:rDI, each index moved by the size in the direction of DF and wrapped
    /// to the address size (a 16-bit one keeps bits 63:16). Every pointer before anything
    /// changes.
    @inline(never) func blockStringOp(_ o: UnsafePointer<DecodedOp>) -> Bool {
        let size = Int(o.pointee.size)
        let asz = Int(o.pointee.asz), am = CPU.mask(asz)
        let delta = flags & F.df != 0 ? 0 &- UInt64(size) : UInt64(size)
        let si = regs[6] & am, di = regs[7] & am
        switch o.pointee.sub {
        case 0xA4:
            guard let rp = blockData(Int(o.pointee.seg), si, size, write: false),
                  let wp = blockData(S.es, di, size, write: true) else { return false }
            CPU.store(wp, size, CPU.load(rp, size))
            setBlockReg(6, asz, true, si &+ delta)
            setBlockReg(7, asz, true, di &+ delta)
        case 0xA6:
            guard let rp = blockData(Int(o.pointee.seg), si, size, write: false),
                  let dp = blockData(S.es, di, size, write: false) else { return false }
            _ = sub(CPU.load(rp, size), CPU.load(dp, size), 0, size)
            setBlockReg(6, asz, true, si &+ delta)
            setBlockReg(7, asz, true, di &+ delta)
        case 0xAA:
            guard let wp = blockData(S.es, di, size, write: true) else { return false }
            CPU.store(wp, size, regs[0])
            setBlockReg(7, asz, true, di &+ delta)
        case 0xAC:
            guard let rp = blockData(Int(o.pointee.seg), si, size, write: false) else { return false }
            setBlockReg(0, size, true, CPU.load(rp, size))
            setBlockReg(6, asz, true, si &+ delta)
        default:   // 0xAE SCAS
            guard let dp = blockData(S.es, di, size, write: false) else { return false }
            _ = sub(blockReg(0, size, true), CPU.load(dp, size), 0, size)
            setBlockReg(7, asz, true, di &+ delta)
        }
        return true
    }

    /// XCHG and XADD with memory (XCHG is implicitly locked): both pointers before anything
    /// changes; the register gets the old destination (SDM Vol. 2B XADD, XCHG).
    @inline(never) func blockExchangeMemory(_ o: UnsafePointer<DecodedOp>, _ next: UInt64) -> Bool {
        let size = Int(o.pointee.size)
        let r = Int(o.pointee.reg)
        let src = blockReg(r, size, o.pointee.rex)
        guard let (rp, wp) = blockReadWrite(o, next, size) else { return false }
        let dest = CPU.load(rp, size)
        CPU.store(wp, size, o.pointee.kind == .xadd ? add(dest, src, 0, size) : src)
        setBlockReg(r, size, o.pointee.rex, dest)
        return true
    }

    /// CMPXCHG to memory: the flags of CMP rAX, DEST; equal: DEST <- SRC; else rAX <- DEST, and
    /// the destination is written back with its own bytes (a locked read-modify-write: the
    /// write check is the one step() makes; the bytes stay). SDM Vol. 2A CMPXCHG.
    @inline(never) func blockCmpxchg(_ o: UnsafePointer<DecodedOp>, _ next: UInt64) -> Bool {
        let size = Int(o.pointee.size)
        guard let (rp, wp) = blockReadWrite(o, next, size) else { return false }
        let dest = CPU.load(rp, size), acc = blockReg(0, size, true)
        _ = sub(acc, dest, 0, size)
        if acc == dest {
            CPU.store(wp, size, blockReg(Int(o.pointee.reg), size, o.pointee.rex))
        } else {
            setBlockReg(0, size, true, dest)
        }
        return true
    }
}
