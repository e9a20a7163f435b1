// The decoded-instruction cache: straight-line runs of guest code ("blocks") decoded once
// into DecodedOp records and run by CPU.runBlocks (BlockExecutor.swift) without decoding
// again. One mechanism in one place; step() stays the definition of every instruction and
// runs whatever a block does not hold.
//
// Keyed by where the code bytes are (the host address of the first byte, so every linear
// alias of a physical page shares its blocks) and by the decode mode (64-bit, or the default
// operand/address size of CS). Paging and CS changes need nothing more: the code address is
// translated through the fetch TLB before every block.
//
// Staleness: a block keeps a copy of its bytes. Pages that hold blocks are "code pages":
// the write TLB never maps them (their entries are dropped when a page becomes one and
// physWrite refuses to refill them), so every guest write to a code page, whatever the
// instruction (string ops and the emulator path too) and through whichever linear alias,
// takes the slow path, which bumps the cache's epoch. A block entered under a newer epoch
// than it was last checked under is compared byte for byte with guest memory and rebuilt if
// it differs. The epoch is also bumped at every KVM_RUN (the host may have written guest
// memory between runs: DMA-like writes, memslot requests) and at every TLB flush (memslot
// changes flush it). So no decode outlives a change of its bytes, and a loop that does not
// write its own code pays no comparison.
//
// Memory is bounded: fixed pools of ops and bytes; when either is full the whole cache is
// dropped and refilled (counted in `flushes`). `peakBytes` is the high-water mark.

import Glibc

/// One decoded instruction of the cached subset. Fields not used by a kind are zero.
struct DecodedOp {
    /// Where the next instruction starts, as an offset from the block's first byte (so the
    /// executor does not carry RIP from op to op). decodeForBlock leaves the instruction's
    /// length here; buildBlock places it.
    var end: UInt16 = 0
    var kind: DecodedOp.Kind = .generic
    /// Operand size 1, 2, 4 or 8 (for branches, CALL/RET and PUSH/POP: their own size).
    var size: UInt8 = 0
    /// ALU operation 0-7, condition 0-15, shift operation 0-7, group-3 operation, or the
    /// source size of MOVZX/MOVSX.
    var sub: UInt8 = 0
    /// ModRM.reg | REX.R, or the register the opcode names; for jccBack and jmpBack, their
    /// block's op count.
    var reg: UInt8 = 0
    /// The register operand of a mod = 3 ModRM.
    var rm: UInt8 = 0
    var isReg = false
    /// A REX prefix was present (byte registers 4-7 are SPL..DIL instead of AH..BH).
    var rex = false
    /// Memory operand: base and index register (noRegister when absent; ripBase for
    /// RIP-relative), scale shift, segment, address size.
    var base: UInt8 = DecodedOp.noRegister
    var index: UInt8 = DecodedOp.noRegister
    var scale: UInt8 = 0
    var seg: UInt8 = 0
    var asz: UInt8 = 0
    /// The immediate is an operand (BT r/m, imm8 rather than BT r/m, reg).
    var isImm = false
    /// No one can see the flags this op would compute: the executor computes only its
    /// result (FlagLiveness.swift).
    var flagsDead = false
    // The byte fields above fit in 16 bytes, so a DecodedOp is 32: a power of two, which
    // turns the executor's op counts (pointer differences) into shifts.
    /// Memory operand displacement. A Jcc has none: there it is the flags its condition
    /// tests when that is one test of some flags set (`flagTest`), else 0.
    var disp: UInt64 = 0
    /// Immediate (already sign-extended and masked as the instruction uses it), branch
    /// displacement, or shift count.
    var imm: UInt64 = 0

    static let noRegister: UInt8 = 0xFF
    static let ripBase: UInt8 = 16

    enum Kind: UInt8 {
        case generic        // not in the subset: step() runs it
        case aluRMReg       // 00-39 even forms: r/m = r/m op reg (CMP: flags only)
        case aluRegRM       // reg = reg op r/m
        case aluRMImm       // 80/81/83, and 04/05.. as r/m = AL/eAX
        case testRMReg      // 84/85
        case testRMImm      // F6/F7 /0 /1, A8/A9
        case movRMReg       // 88/89
        case movRegRM       // 8A/8B
        case movRMImm       // C6/C7 /0
        case movRegImm      // B0-BF
        case movzx          // 0F B6/B7 (sub = source size)
        case movsx          // 0F BE/BF
        case movsxd         // 63 in 64-bit mode
        case lea            // 8D
        case incDec         // FE/FF /0 /1, 40-4F outside 64-bit mode (sub 1 = DEC)
        case notNeg         // F6/F7 /2 /3 (sub)
        case mulDiv         // F6/F7 /4-/7 (sub)
        case shiftImm       // C0/C1/D0/D1 (imm = count)
        case shiftCL        // D2/D3
        case imulRegRM      // 0F AF
        case imulRegRMImm   // 69/6B
        case push           // 50-57
        case pop            // 58-5F
        case pushImm        // 68/6A
        case setcc          // 0F 90-9F
        case cmovcc         // 0F 40-4F
        case cbw            // 98
        case cwd            // 99
        case nop            // 90, 0F 1F
        case bitTest        // 0F A3/AB/B3/BB and 0F BA /4-/7 (sub = BT BTS BTR BTC; the offset
                            // from ModRM.reg, or imm with isImm)
        case bitScan        // 0F BC/BD (sub 1 = BSR), F3 0F BC (BSF: TZCNT is not advertised)
        case bitCount       // F3 0F B8 POPCNT (sub 0), F3 0F BD LZCNT (sub 1)
        case doubleShift    // 0F A4/A5/AC/AD (sub bit 0 = SHLD, bit 1 = count in CL; imm = count)
        case bswap          // 0F C8-CF
        case xchg           // 86/87 (memory too: implicitly locked) and 90-97
        case flagOp         // F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD (sub = the opcode's low byte)
        case leave          // C9
        case stringOp       // A4-AF without REP: MOVS CMPS STOS LODS SCAS (sub = the opcode with
                            // bit 0 clear; seg = the source's segment, ES for the destination)
        case xlat           // D7 (seg = DS or the override)
        case lahf           // 9F
        case sahf           // 9E
        case pushf          // 9C
        case popf           // 9D: only when it changes no flag but the arithmetic ones and DF
        case xadd           // 0F C0/C1
        case cmpxchg        // 0F B0/B1, memory destination only
        case pushRM         // FF /6
        case popRM          // 8F /0
        // Control transfers end a block.
        case jcc            // 70-7F, 0F 80-8F
        case jmp            // EB, E9
        case call           // E8
        case ret            // C3
        case jmpIndirect    // FF /4
        case callIndirect   // FF /2
        case loop           // E0-E3: sub 0 LOOPNE, 1 LOOPE, 2 LOOP, 3 JrCXZ (count: CX/ECX/RCX by asz)
        case portOut        // E6/E7 (imm = port, isImm) and EE/EF (port in DX): an exit (IO.swift)
        case portIn         // E4/E5, EC/ED: an exit whose data the next KVM_RUN writes to AL/AX/EAX
        // Register forms of the commonest instructions with the operand size fixed (chosen by
        // specialise() after decoding), so the executor's code for them folds the size.
        case movRR4, movRR8, movRI8, incDecR4, incDecR8
        // ALU register forms with the operation fixed as well (ADD OR ADC SBB AND SUB
        // XOR CMP, in ModRM.reg / opcode order, so `first + op` is the kind).
        case addRR8, orRR8, adcRR8, sbbRR8, andRR8, subRR8, xorRR8, cmpRR8
        case addRR4, orRR4, adcRR4, sbbRR4, andRR4, subRR4, xorRR4, cmpRR4
        case addRI8, orRI8, adcRI8, sbbRI8, andRI8, subRI8, xorRI8, cmpRI8
        case addRI4, orRI4, adcRI4, sbbRI4, andRI4, subRI4, xorRI4, cmpRI4
        // Memory forms of MOV and of the ALU operations, size fixed the same way.
        case load4, load8, store4, store8, aluRegMem4, aluRegMem8, aluMemReg4, aluMemReg8
        // 16-bit ALU register forms (real-mode and 16-bit code, 66H-prefixed code elsewhere).
        case addRR2, orRR2, adcRR2, sbbRR2, andRR2, subRR2, xorRR2, cmpRR2
        case addRI2, orRI2, adcRI2, sbbRI2, andRI2, subRI2, xorRI2, cmpRI2
        // Flag consumers of branch-free code with register operands: SETcc of a low byte
        // register (AL..BL, or any with REX), CMOVcc of 64 and 32 bits.
        case setccR, cmovRR8, cmovRR4
        // Shifts and rotates of a 64/32-bit register by an immediate count.
        case shiftRI8, shiftRI4
        // Not an instruction: the op after a block's last (buildBlock), so the executor's
        // op loop needs no end test; its `end` is the block's. Never counted in opCount.
        case blockEnd
        // A JMP to a later byte of its own block (buildBlock): nothing to do, the next op is
        // the one at its target, where this op's `end` is.
        case jmpAhead
        // A Jcc or JMP back to its own block's first byte (buildBlock, after the liveness
        // pass, which sees them as Jcc and JMP): a loop whose body is one block. `reg` holds
        // the block's op count, so runBlocks goes round again without a look-up.
        case jccBack, jmpBack
    }

    /// The flags a condition (Jcc, SETcc, CMOVcc; SDM Vol. 1 Appendix B) reads.
    static func conditionFlags(_ condition: UInt8) -> UInt64 {
        switch (condition >> 1) & 7 {
        case 0: return F.of
        case 1: return F.cf
        case 2: return F.zf
        case 3: return F.cf | F.zf
        case 4: return F.sf
        case 5: return F.pf
        case 6: return F.sf | F.of
        default: return F.zf | F.sf | F.of
        }
    }

    /// For a Jcc's condition: the flags whose being set (any of them) is the condition, for
    /// O, B, Z, BE, S and P (their negations by `sub` bit 0), or 0 for L, LE and theirs
    /// (SF != OF, ZF or SF != OF), which CPU.cond works out.
    static func flagTest(_ condition: UInt8) -> UInt64 {
        (condition >> 1) & 7 < 6 ? conditionFlags(condition) : 0
    }

    /// The size-specialised kind for this op, where there is one.
    mutating func specialise() {
        if kind == .jcc { disp = DecodedOp.flagTest(sub) }
        if !isReg && kind != .movRegImm {
            switch (kind, size) {
            case (.movRegRM, 4): kind = .load4
            case (.movRegRM, 8): kind = .load8
            case (.movRMReg, 4): kind = .store4
            case (.movRMReg, 8): kind = .store8
            case (.aluRegRM, 4): kind = .aluRegMem4
            case (.aluRegRM, 8): kind = .aluRegMem8
            case (.aluRMReg, 4): kind = .aluMemReg4
            case (.aluRMReg, 8): kind = .aluMemReg8
            default: break
            }
            return
        }
        // ALU register forms: the kind names the operation too (`first + op`, ADD..CMP order).
        let first: Kind?
        switch (kind, size) {
        case (.aluRMReg, 8): first = .addRR8
        case (.aluRMReg, 4): first = .addRR4
        case (.aluRMImm, 8): first = .addRI8
        case (.aluRMImm, 4): first = .addRI4
        case (.aluRMReg, 2): first = .addRR2
        case (.aluRMImm, 2): first = .addRI2
        default: first = nil
        }
        if let first, let k = Kind(rawValue: first.rawValue + (sub & 7)) { kind = k; return }
        switch (kind, size) {
        case (.movRMReg, 4): kind = .movRR4
        case (.movRMReg, 8): kind = .movRR8
        case (.movRegRM, 4): kind = .movRR4; swap(&reg, &rm)
        case (.movRegRM, 8): kind = .movRR8; swap(&reg, &rm)
        case (.movRegImm, 8), (.movRegImm, 4): kind = .movRI8   // imm is zero-extended for size 4
        case (.incDec, 4): kind = .incDecR4
        case (.incDec, 8): kind = .incDecR8
        case (.setcc, 1) where rex || rm < 4: kind = .setccR
        case (.cmovcc, 8): kind = .cmovRR8
        case (.cmovcc, 4): kind = .cmovRR4
        case (.shiftImm, 8): kind = .shiftRI8
        case (.shiftImm, 4): kind = .shiftRI4
        default: break
        }
    }

    /// A control transfer ends a block, except a Jcc: a block goes on past a conditional
    /// branch, whose fall-through is the next op (an extended basic block), so a branch not
    /// taken costs no block look-up. Only a taken one leaves the block there. IN and OUT do
    /// not end one either: the next KVM_RUN goes on after their exit inside the block
    /// (recordResume), as after an MMIO access's.
    var endsBlock: Bool { kind.rawValue > Kind.jcc.rawValue && kind.rawValue <= Kind.loop.rawValue }
}

/// The cache's storage (bump-allocated pools, a direct-mapped block table), one per vCPU.
final class DecodeCache {
    struct Entry {
        var host: UInt = 0          // address of the first code byte; 0 = empty
        var mode: UInt8 = 0
        var opCount: UInt8 = 0
        var byteCount: UInt16 = 0
        var firstOp: UInt32 = 0
        var firstByte: UInt32 = 0
        /// The epoch under which the bytes were last found equal to guest memory.
        var epoch: UInt64 = 0
    }

    /// The two most recent successors of a block (by the RIP the block left at, with the
    /// successor block's ops and table slot), recorded under one `stamp`: the next block is
    /// found from the last one without the fetch TLB, the hash or the table (block chaining).
    /// A stamp lasts while RIP means the same code bytes: no fetch-TLB entry filled or
    /// dropped (CPU.codeGeneration), the same CS base and decode mode (checked at every
    /// runBlocks entry) and no flush (links name ops by pool index). It outlives runBlocks
    /// and KVM_RUN, so a loop that leaves the blocks every iteration (an exit, a REP, an
    /// instruction outside the subset) still chains. The bytes are another matter: a link is
    /// followed without a look at them only in the epoch it was last checked in; under a
    /// newer one its block's bytes are compared with guest memory first, as block(at:) does.
    /// A block of 1 to 32 bytes (nearly all are) is compared from the link itself: its host
    /// address and its bytes as decoded are in the link (`host`, and `head`, `second`,
    /// `third`, `tail`), so the check after every KVM_RUN (the host may have written guest
    /// memory) reads no table entry and no byte pool, inline in runBlocks. The link's ops
    /// were decoded from exactly those bytes, and ops stay put until a flush (which ends the
    /// stamp), so equal bytes mean valid ops.
    struct Link {
        var ip: UInt64 = ~0
        /// The epoch in which the successor's bytes were last found equal to guest memory.
        var epoch: UInt64 = 0
        /// The successor's first code byte (0: compare through the table, recheck()).
        var host: UInt = 0
        /// Its bytes as decoded, as headAndTail (1 to 16 bytes: `head`, `tail`) or
        /// fourWords (17 to 32) keeps them: together they cover every byte of the block.
        var head: UInt64 = 0
        var second: UInt64 = 0
        var third: UInt64 = 0
        var tail: UInt64 = 0
        var firstOp: UInt32 = 0
        var byteCount: UInt16 = 0
        var slot: UInt16 = 0
        var opCount: UInt8 = 0
        /// A link into the middle of its block (recordResume): the block's ops before the one
        /// to run first, and its bytes before the link's RIP. 0 for a link to a block's start.
        var skip: UInt8 = 0
        var bias: UInt16 = 0
    }

    static let tableSize = 4096
    static let opCapacity = 32768
    static let byteCapacity = 262_144
    static let maxOpsPerBlock = 32
    /// The most code bytes a link keeps a copy of (Link: `head`, `second`, `third`, `tail`).
    /// A longer block is rechecked through the table after every KVM_RUN (recheckThroughTable).
    static let linkCopyBytes = 32
    /// The farthest a JMP may skip for its block to go on at its target (jmpAhead): the
    /// bytes it skips are part of the block's bytes (compared, tracked) though not decoded.
    static let jumpAheadBytes = 64

    // Safety: each pool is allocated once with its capacity, initialised, and freed in deinit;
    // every index into it is below the bump pointer, which is kept under the capacity.
    let table: UnsafeMutablePointer<Entry>
    /// Two links per table slot (the block that left), and the stamp they were made under.
    let links: UnsafeMutablePointer<Link>
    let linkStamps: UnsafeMutablePointer<UInt64>
    /// The current stamp (0 is never current; 64 bits, so no old stamp comes back), and what
    /// it was made under: the CPU's codeGeneration, CS base and decode mode (see Link).
    var chainStamp: UInt64 = 0
    var stampCodeGeneration: UInt64 = ~0
    var stampCSBase: UInt64 = 0
    var stampMode: UInt8 = 0
    /// The table slot of the block that ran last, under `chainStamp` (-1: none): where the
    /// next runBlocks call looks for a link first.
    var lastSlot = -1
    let ops: UnsafeMutablePointer<DecodedOp>
    let bytes: UnsafeMutablePointer<UInt8>
    var opsUsed = 0
    var bytesUsed = 0
    /// Times the pools filled up and everything was dropped.
    var flushes: UInt64 = 0
    var blocksBuilt: UInt64 = 0
    /// Blocks whose bytes no longer matched guest memory when entered (code was changed).
    var staleBlocks: UInt64 = 0
    var peakOps = 0
    var peakBytesUsed = 0
    /// Bumped by anything that may have changed code bytes (see the file comment).
    var epoch: UInt64 = 1
    /// The pages holding blocks ("code pages"), direct-mapped by host page number: the page
    /// (~0: none) and which of its 64-byte chunks hold bytes of a block, so that a write to
    /// the rest of the page (data next to code) bumps no epoch. A page whose slot another
    /// code page holds flushes the cache before it becomes one (buildBlock).
    static let codePageSlots = 4096
    let codePageTags: UnsafeMutablePointer<UInt>
    let codeChunks: UnsafeMutablePointer<UInt64>
    var codePageCount = 0

    init() {
        table = .allocate(capacity: Self.tableSize)
        table.initialize(repeating: Entry(), count: Self.tableSize)
        links = .allocate(capacity: 2 * Self.tableSize)
        links.initialize(repeating: Link(), count: 2 * Self.tableSize)
        linkStamps = .allocate(capacity: Self.tableSize)
        linkStamps.initialize(repeating: 0, count: Self.tableSize)
        ops = .allocate(capacity: Self.opCapacity)
        ops.initialize(repeating: DecodedOp(), count: Self.opCapacity)
        bytes = .allocate(capacity: Self.byteCapacity)
        bytes.initialize(repeating: 0, count: Self.byteCapacity)
        codePageTags = .allocate(capacity: Self.codePageSlots)
        codePageTags.initialize(repeating: ~0, count: Self.codePageSlots)
        codeChunks = .allocate(capacity: Self.codePageSlots)
        codeChunks.initialize(repeating: 0, count: Self.codePageSlots)
    }

    deinit {
        table.deallocate(); links.deallocate(); linkStamps.deallocate(); ops.deallocate(); bytes.deallocate()
        codePageTags.deallocate(); codeChunks.deallocate()
    }

    /// Bytes the cache holds at most (table and both pools): its memory bound.
    static var footprintBytes: Int {
        tableSize * (MemoryLayout<Entry>.stride + 2 * MemoryLayout<Link>.stride + MemoryLayout<UInt64>.stride) + opCapacity * MemoryLayout<DecodedOp>.stride + byteCapacity
            + codePageSlots * (MemoryLayout<UInt>.stride + MemoryLayout<UInt64>.stride)
    }

    /// High-water mark of the pools in use plus the table.
    var peakBytes: Int {
        Self.tableSize * (MemoryLayout<Entry>.stride + 2 * MemoryLayout<Link>.stride + MemoryLayout<UInt64>.stride) + peakOps * MemoryLayout<DecodedOp>.stride + peakBytesUsed
            + Self.codePageSlots * (MemoryLayout<UInt>.stride + MemoryLayout<UInt64>.stride)
    }

    /// Chain records made so far no longer count.
    @inline(__always) func newChainStamp() -> UInt64 {
        chainStamp &+= 1
        if chainStamp == 0 { chainStamp = 1 }
        lastSlot = -1
        return chainStamp
    }

    /// The stamp for a runBlocks call whose RIP is translated under `generation` (the CPU's
    /// codeGeneration) with this CS base and decode mode: the current one while all three
    /// are as it was made under, else a new one.
    @inline(__always) func stamp(generation: UInt64, csBase: UInt64, mode: UInt8) -> UInt64 {
        if generation == stampCodeGeneration && csBase == stampCSBase && mode == stampMode && chainStamp != 0 {
            return chainStamp
        }
        stampCodeGeneration = generation; stampCSBase = csBase; stampMode = mode
        return newChainStamp()
    }

    /// The link of the block in table slot `from` for RIP `ip` under `stamp`, if any.
    @inline(__always) func chained(from: Int, ip: UInt64, stamp: UInt64) -> UnsafeMutablePointer<Link>? {
        guard linkStamps[from] == stamp else { return nil }
        let l = links + 2 &* from
        if l.pointee.ip == ip { return l }
        if (l + 1).pointee.ip == ip { return l + 1 }
        return nil
    }

    /// A link made in an earlier epoch: whether its block's bytes are still those in guest
    /// memory (then the link is marked checked in this epoch): from the link's own copy for a
    /// block of 1 to 32 bytes (here), else through the table slot it names (whose block must
    /// still be the link's; it is marked checked too), out of line, so that this inlines into
    /// runBlocks. A block whose bytes changed is left to block(at:), which rebuilds it.
    @inline(__always) func recheck(_ link: UnsafeMutablePointer<Link>, ignoringEpoch: Bool) -> Bool {
        let n = Int(link.pointee.byteCount)
        if let host = UnsafeRawPointer(bitPattern: link.pointee.host) {
            let same = n <= 16 ? DecodeCache.headAndTail(host, n) == (link.pointee.head, link.pointee.tail)
                               : DecodeCache.fourWords(host, n) == (link.pointee.head, link.pointee.second, link.pointee.third, link.pointee.tail)
            if !same && !ignoringEpoch { return false }
            link.pointee.epoch = epoch
            return true
        }
        return recheckThroughTable(link, ignoringEpoch: ignoringEpoch)
    }

    /// recheck() for a block of more than 32 bytes: through the table.
    @inline(never) func recheckThroughTable(_ link: UnsafeMutablePointer<Link>, ignoringEpoch: Bool) -> Bool {
        let e = table + Int(link.pointee.slot)
        if e.pointee.firstOp != link.pointee.firstOp || e.pointee.opCount != link.pointee.opCount { return false }
        if e.pointee.epoch != epoch && !ignoringEpoch {
            guard let host = UnsafeRawPointer(bitPattern: e.pointee.host),
                  DecodeCache.sameBytes(host, bytes + Int(e.pointee.firstByte), Int(e.pointee.byteCount)) else { return false }
        }
        e.pointee.epoch = epoch
        link.pointee.epoch = epoch
        return true
    }

    /// What a link keeps of a block of 1 to 16 bytes at `p`, which together cover every byte:
    /// its first and last 8; under 8, the block's bytes zero-extended and 0.
    @inline(__always) static func headAndTail(_ p: UnsafeRawPointer, _ n: Int) -> (UInt64, UInt64) {
        if n >= 8 { return (p.loadUnaligned(as: UInt64.self), p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) }
        // One 8-byte load that stays on p's host page (mapped, as p is): from p when the page
        // has 8 bytes there, else the 8 that end where the block ends.
        let drop = UInt64(64 - 8 * n)
        if UInt(bitPattern: p) & 0xFFF <= 4096 - 8 { return ((p.loadUnaligned(as: UInt64.self) << drop) >> drop, 0) }
        return (p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) >> drop, 0)
    }

    /// What a link keeps of a block of 17 to 32 bytes at `p`: its 8-byte words at 0, 8,
    /// n - 16 and n - 8, which overlap to cover every byte.
    @inline(__always) static func fourWords(_ p: UnsafeRawPointer, _ n: Int) -> (UInt64, UInt64, UInt64, UInt64) {
        (p.loadUnaligned(as: UInt64.self), p.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
         p.loadUnaligned(fromByteOffset: n - 16, as: UInt64.self), p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
    }

    /// The block in slot `from` left at `ip` for block `e` (checked in this epoch, with ops),
    /// which is in slot `slot`.
    /// With `skip` and `bias`, the link enters `e` at its op `skip`, `bias` bytes past its
    /// first (recordResume).
    @inline(__always) func recordChain(from: Int, ip: UInt64, to e: Entry, slot: Int, stamp: UInt64,
                                       skip: UInt8 = 0, bias: UInt16 = 0) {
        let l = links + 2 &* from
        var link = Link(ip: ip, epoch: epoch, firstOp: e.firstOp, byteCount: e.byteCount,
                        slot: UInt16(truncatingIfNeeded: slot), opCount: e.opCount, skip: skip, bias: bias)
        // The bytes the ops were decoded from (the pool's copy; equal to guest memory in this
        // epoch, in which `e` was checked).
        let n = Int(e.byteCount), copy = UnsafeRawPointer(bytes + Int(e.firstByte))
        if n > 16 && n <= DecodeCache.linkCopyBytes {
            link.host = e.host
            (link.head, link.second, link.third, link.tail) = DecodeCache.fourWords(copy, n)
        } else if n >= 8 && n <= 16 {
            link.host = e.host
            (link.head, link.tail) = DecodeCache.headAndTail(copy, n)
        } else if n >= 1 && n < 8 {
            // Under 8 bytes, headAndTail's value (the bytes, zero-extended) a byte at a time:
            // its 8-byte load could start before the pool, which is not on a guest page.
            link.host = e.host
            link.head = 0
            for i in 0..<n { link.head |= UInt64(copy.load(fromByteOffset: i, as: UInt8.self)) << UInt64(8 * i) }
            link.tail = 0
        }
        if linkStamps[from] != stamp {
            linkStamps[from] = stamp
            l.pointee = link
            (l + 1).pointee = Link()
        } else if l.pointee.ip != ip {
            (l + 1).pointee = l.pointee
            l.pointee = link
        } else {
            l.pointee = link
        }
    }

    /// An exit from inside the block in table slot `slot` (its first op `firstOp`) that the
    /// next KVM_RUN resumes at `ip`, its op `skip`, `bias` bytes past its first byte: a link
    /// from the block to itself, entered there, so the rest of it runs without a block of its
    /// own (its look-up, its recheck). The link's copy is of the whole block, so a recheck
    /// covers the ops before the entry too, which a branch back to its start runs (jccBack).
    /// Such a link is right whichever block it is followed from: it names the block and the
    /// op, and RIP means the same bytes while its stamp lasts. runBlocks calls this when no
    /// such link is there yet; nothing is recorded under an old stamp, or when the table slot
    /// holds another block now (the one running was entered through a link).
    @inline(never) func recordResume(slot: Int, ip: UInt64, firstOp: UInt32, skip: UInt8, bias: UInt16, stamp: UInt64) {
        let e = table[slot]
        guard stamp == chainStamp && e.host != 0 && e.firstOp == firstOp && skip < e.opCount && bias < e.byteCount else { return }
        recordChain(from: slot, ip: ip, to: e, slot: slot, stamp: stamp, skip: skip, bias: bias)
    }

    func flush() {
        // Links name ops by their index in the pool, which is refilled from 0: none survives.
        _ = newChainStamp()
        table.update(repeating: Entry(), count: Self.tableSize)
        opsUsed = 0
        bytesUsed = 0
        if codePageCount != 0 {
            codePageTags.update(repeating: ~0, count: Self.codePageSlots)
            codeChunks.update(repeating: 0, count: Self.codePageSlots)
            codePageCount = 0
        }
        flushes &+= 1
    }

    @inline(__always) static func codePageSlot(_ page: UInt) -> Int {
        Int(truncatingIfNeeded: (page ^ (page &>> 12)) & UInt(codePageSlots - 1))
    }

    /// The 64-byte chunks of a page that bytes `offset ..< offset + count` touch (count >= 1,
    /// inside the page).
    @inline(__always) static func chunks(_ offset: Int, _ count: Int) -> UInt64 {
        let first = offset &>> 6, last = (offset &+ count &- 1) &>> 6
        let n = last &- first &+ 1
        return (n >= 64 ? ~0 : (UInt64(1) &<< UInt64(n)) &- 1) &<< UInt64(first)
    }

    /// A guest write of `size` bytes reached host address `p` through the slow path: if it
    /// touches bytes of a block, every block must be checked again before it runs. Returns
    /// whether `p` is on a code page (which the write TLB must never map).
    @inline(__always) func noteWrite(_ p: UnsafeMutableRawPointer, size: Int) -> Bool {
        if codePageCount == 0 { return false }
        let page = UInt(bitPattern: p) &>> 12
        let s = Self.codePageSlot(page)
        if codePageTags[s] != page { return false }
        let offset = Int(UInt(bitPattern: p) & 0xFFF)
        // A write that runs past the page is taken as touching code (its rest is the next
        // page's own write).
        if offset &+ size > 4096 || codeChunks[s] & Self.chunks(offset, max(size, 1)) != 0 { epoch &+= 1 }
        return true
    }

    /// `count` bytes at `a` and `b` are equal. Most blocks are 32 bytes or less: two or four
    /// overlapping 8-byte loads each instead of a call to memcmp (which was 3% of a loop that
    /// revalidates its blocks after every exit). Both ranges are readable for `count` bytes.
    @inline(__always) static func sameBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
        @inline(__always) func same8(_ at: Int) -> Bool {
            a.loadUnaligned(fromByteOffset: at, as: UInt64.self) == b.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        }
        if count >= 8 && count <= 16 { return same8(0) && same8(count - 8) }
        if count > 16 && count <= 32 { return same8(0) && same8(8) && same8(count - 16) && same8(count - 8) }
        if count >= 4 && count < 8 {
            return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
                && a.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        if count > 0 && count < 4 {
            // IN/OUT imm8, a block that is one generic op: each byte.
            for i in 0..<count where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            return true
        }
        return memcmp(a, b, count) == 0
    }

    @inline(__always) static func slot(_ host: UInt) -> Int {
        Int(truncatingIfNeeded: (host ^ (host &>> 12)) & UInt(tableSize - 1))
    }
}

extension CPU {
    /// 16-bit addressing (SDM Vol. 2A Table 2-1): base, index and default segment per ModRM.rm
    /// (rm = 6 with mod = 0 is a bare disp16, handled apart).
    static let modRM16: [(UInt8, UInt8, Int)] = [
        (3, 6, S.ds), (3, 7, S.ds), (5, 6, S.ss), (5, 7, S.ss),
        (6, DecodedOp.noRegister, S.ds), (7, DecodedOp.noRegister, S.ds),
        (5, DecodedOp.noRegister, S.ss), (3, DecodedOp.noRegister, S.ds),
    ]

    /// The decode mode a block was built for: 64-bit code, or CS's default operand size
    /// (which is also its default address size outside 64-bit mode).
    @inline(__always) var decodeMode: UInt8 { code64 ? 3 : (defOsz == 4 ? 2 : 1) }

    /// The block starting at `host` (the code byte at RIP, `room` bytes left on its page),
    /// built if missing or stale.
    @inline(__always) func block(at host: UnsafeMutableRawPointer, room: Int) -> DecodeCache.Entry {
        let c = decodeCache
        let key = UInt(bitPattern: host)
        let slot = DecodeCache.slot(key)
        let e = c.table[slot]
        if e.host == key && e.mode == decodeMode {
            if e.epoch == c.epoch || staleDecodeCache { return e }
            if DecodeCache.sameBytes(host, c.bytes + Int(e.firstByte), Int(e.byteCount)) {
                c.table[slot].epoch = c.epoch
                return e
            }
            c.staleBlocks &+= 1
        }
        return buildBlock(host, room: room)
    }

    /// Decodes up to maxOpsPerBlock instructions of the subset from `host`, going on past a
    /// Jcc and at the target of a short JMP forward (jmpAhead), stopping after any other
    /// control transfer (endsBlock) or at a generic op (the first other instruction, or one that does
    /// not end on this page).
    @inline(never) func buildBlock(_ host: UnsafeMutableRawPointer, room: Int) -> DecodeCache.Entry {
        let c = decodeCache
        if c.opsUsed + DecodeCache.maxOpsPerBlock + 1 > DecodeCache.opCapacity
            || c.bytesUsed + DecodeCache.maxOpsPerBlock * 15 > DecodeCache.byteCapacity {
            c.flush()
        }
        let p = UnsafePointer<UInt8>(host.assumingMemoryBound(to: UInt8.self))
        let hostPage = UInt(bitPattern: host) >> 12
        let pageSlot = DecodeCache.codePageSlot(hostPage)
        if c.codePageTags[pageSlot] != hostPage {
            // A slot holds one code page: another one there would go untracked, so everything
            // is dropped first (a flush, counted; rare with 4096 slots).
            if c.codePageTags[pageSlot] != ~0 { c.flush() }
            c.codePageTags[pageSlot] = hostPage
            c.codePageCount += 1
            // From now on writes to this page take the slow path (physWrite), which sees them.
            for i in 0..<CPU.tlbSize where tlbWTag[i] != ~0 {
                if let w = tlbWHost[i], UInt(bitPattern: w) >> 12 == hostPage { tlbWTag[i] = ~0 }
            }
        }
        let first = c.opsUsed
        var offset = 0
        var count = 0
        var generic = false
        // Where the block could end after a Jcc within the link's copy (ops, bytes): see below.
        var cutAfterJcc: (count: Int, offset: Int)? = nil
        while count < DecodeCache.maxOpsPerBlock {
            var op = DecodedOp()
            if offset == room { break }     // the page ends here: the next block is on the next
            guard decodeForBlock(p + offset, room: room - offset, &op) else {
                // Not in the subset, or not whole in `room`: a generic op ends the block, and
                // runBlocks has step() run the instruction there without leaving (its length
                // and everything else are step()'s; `end` is where it starts).
                var g = DecodedOp()
                g.kind = .generic
                g.end = UInt16(offset)
                c.ops[first + count] = g
                count += 1
                generic = true
                break
            }
            offset += Int(op.end)           // the length, until placed here
            op.end = UInt16(offset)
            if op.kind == .jmp && decodeMode >= 2 && op.size >= 4 {
                // A JMP forward on this page, in 32/64-bit code at its own size: the block goes
                // on at its target (if/else code: one block for the path through it). Its
                // target lies inside the block's bytes, which runBlocks checks against CS's
                // limit and RIP's wrap before it runs any: jumpNear's checks cannot fail.
                let skip = Int(truncatingIfNeeded: op.imm)   // sign-extended
                if skip >= 0 && skip <= DecodeCache.jumpAheadBytes && offset + skip < room {
                    op.kind = .jmpAhead
                    offset += skip
                    op.end = UInt16(offset)
                }
            }
            c.ops[first + count] = op
            count += 1
            if op.endsBlock { break }
            // A backward Jcc closes a loop: past it is the loop's exit, seldom run.
            if op.kind == .jcc && Int64(bitPattern: op.imm) < 0 && offset <= DecodeCache.linkCopyBytes {
                cutAfterJcc = (count, offset)
            }
        }
        // A block that goes on past a backward Jcc (a loop's last instruction) to more bytes
        // than a link keeps ends after the last such Jcc that fits instead: the block it would
        // have been before (a Jcc ended every block) is no longer, so its recheck after every
        // KVM_RUN (an exit loop's every iteration) stays inline (recheck()). Past a forward Jcc
        // is the rest of an if/else, as hot as what is before it.
        let span0 = generic ? offset + 1 : offset
        if span0 > DecodeCache.linkCopyBytes, let cut = cutAfterJcc {
            count = cut.count
            offset = cut.offset
            generic = false
        }
        // The block-end op after the last (not counted: opCount is the instructions).
        var sentinel = DecodedOp()
        sentinel.kind = .blockEnd
        sentinel.end = UInt16(offset)
        c.ops[first + count] = sentinel
        if deadFlagElimination { DecodeCache.markDeadFlags(c.ops + first, count: count, ignoringStops: deadFlagsIgnoreStops) }
        // A branch back to the block's first byte (its displacement undoes its `end`) becomes
        // jccBack or jmpBack, with the block's op count: runBlocks goes round again after
        // checking the target and the instruction limit, as it would after looking the block
        // up (its bytes, stamp and CS cannot change inside one runBlocks call).
        for i in 0..<count where UInt64(c.ops[first + i].end) &+ c.ops[first + i].imm == 0 {
            switch c.ops[first + i].kind {
            case .jcc: c.ops[first + i].kind = .jccBack
            case .jmp: c.ops[first + i].kind = .jmpBack
            default: continue
            }
            c.ops[first + i].reg = UInt8(count)
        }
        // The bytes kept (and compared when the block is entered in a newer epoch) are those
        // of the decoded ops and the first byte of a generic op's instruction, so that a block
        // is never empty and one whose code became decodable is rebuilt.
        let span = generic ? offset + 1 : offset
        c.codeChunks[pageSlot] |= DecodeCache.chunks(Int(UInt(bitPattern: host) & 0xFFF), span)
        var e = DecodeCache.Entry()
        e.host = UInt(bitPattern: host)
        e.mode = decodeMode
        e.opCount = UInt8(count)
        e.byteCount = UInt16(span)
        e.firstOp = UInt32(first)
        e.firstByte = UInt32(c.bytesUsed)
        e.epoch = c.epoch
        (c.bytes + c.bytesUsed).update(from: p, count: span)
        c.opsUsed += count + 1
        c.bytesUsed += span
        if c.opsUsed > c.peakOps { c.peakOps = c.opsUsed }
        if c.bytesUsed > c.peakBytesUsed { c.peakBytesUsed = c.bytesUsed }
        c.blocksBuilt &+= 1
        c.table[DecodeCache.slot(e.host)] = e
        return e
    }

    /// Decodes one instruction at `p` (at most `room` bytes readable) into `o`. False when it
    /// is not in the subset or does not fit; the decode follows decodePrefixes/decodeModRM
    /// and the opcode handlers of step() (SDM Vol. 2A ch. 2).
    func decodeForBlock(_ p: UnsafePointer<UInt8>, room: Int, _ o: inout DecodedOp) -> Bool {
        let avail = min(room, 15)
        var k = 0
        @inline(__always) func byte() -> Int? {
            if k >= avail { return nil }
            let b = Int(p[k]); k += 1; return b
        }
        @inline(__always) func imm(_ n: Int) -> UInt64? {
            if k + n > avail { return nil }
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(p[k + i]) << UInt64(8 * i) }
            k += n
            return v
        }
        // Prefixes: 66 67, segment overrides and LOCK (checked below); REP/REPNE leave it to
        // step().
        var o16 = false, a16 = false, segOv = -1, rx = 0, locked = false, repz = false
        var opByte = 0
        prefixes: while true {
            guard let b = byte() else { return false }
            switch b {
            case 0x66: o16 = true; rx = 0
            case 0x67: a16 = true; rx = 0
            case 0x26: segOv = S.es; rx = 0
            case 0x2E: segOv = S.cs; rx = 0
            case 0x36: segOv = S.ss; rx = 0
            case 0x3E: segOv = S.ds; rx = 0
            case 0x64: segOv = S.fs; rx = 0
            case 0x65: segOv = S.gs; rx = 0
            case 0xF0: locked = true; rx = 0
            case 0xF3: repz = true; rx = 0      // only as part of POPCNT/LZCNT (below)
            case 0xF2: return false
            case 0x40...0x4F where code64: rx = b
            default: opByte = b; break prefixes
            }
        }
        let osz: Int, asz: Int
        if code64 {
            if segOv >= 0 && segOv < S.fs { segOv = -1 }
            osz = rx & 8 != 0 ? 8 : (o16 ? 2 : 4)
            asz = a16 ? 4 : 8
        } else {
            osz = o16 ? (defOsz == 4 ? 2 : 4) : defOsz
            asz = a16 ? (defAsz == 4 ? 2 : 4) : defAsz
        }
        o.rex = rx != 0
        o.asz = UInt8(asz)
        let stackOsz = code64 ? (osz == 2 ? 2 : 8) : osz
        let branchOsz = code64 ? 8 : osz

        // ModRM with its SIB and displacement (decodeModRM / decodeModRMMem).
        func modrm() -> Bool {
            guard let m = byte() else { return false }
            o.reg = UInt8((m >> 3) & 7 | (rx & 4) << 1)
            let mod = m >> 6, rm = m & 7
            if mod == 3 {
                o.isReg = true
                o.rm = UInt8(rm | (rx & 1) << 3)
                return true
            }
            o.isReg = false
            var seg = S.ds
            var disp: UInt64 = 0
            if asz == 2 {
                if rm == 6 && mod == 0 {
                    guard let d = imm(2) else { return false }
                    o.base = DecodedOp.noRegister; disp = d
                } else {
                    (o.base, o.index, seg) = CPU.modRM16[rm]
                }
            } else if rm == 4 {
                guard let sib = byte() else { return false }
                let idx = (sib >> 3) & 7 | (rx & 2) << 2
                let b = sib & 7
                if idx != 4 { o.index = UInt8(idx); o.scale = UInt8(sib >> 6) }
                if b == 5 && mod == 0 {
                    guard let d = imm(4) else { return false }
                    o.base = DecodedOp.noRegister; disp = CPU.sext(d, 4)
                } else {
                    o.base = UInt8(b | (rx & 1) << 3)
                    if b == 4 || b == 5 { seg = S.ss }
                }
            } else if rm == 5 && mod == 0 {
                guard let d = imm(4) else { return false }
                o.base = code64 ? DecodedOp.ripBase : DecodedOp.noRegister
                disp = CPU.sext(d, 4)
            } else {
                o.base = UInt8(rm | (rx & 1) << 3)
                if rm == 5 { seg = S.ss }
            }
            if mod == 1 {
                guard let d = imm(1) else { return false }
                disp = disp &+ CPU.sext(d, 1)
            } else if mod == 2 {
                if asz == 2 {
                    guard let d = imm(2) else { return false }
                    disp = disp &+ d
                } else {
                    guard let d = imm(4) else { return false }
                    disp = disp &+ CPU.sext(d, 4)
                }
            }
            o.disp = disp
            o.seg = UInt8(segOv >= 0 ? segOv : seg)
            return true
        }
        func immZ(_ size: Int) -> UInt64? {   // Iz: 16 bits for size 2, else 32 sign-extended
            if size == 2 { return imm(2) }
            return imm(4).map { CPU.sext($0, 4) & CPU.mask(size) }
        }

        let op = opByte
        switch op {
        case 0x00...0x3F where op & 7 < 6 && op != 0x0F:
            let form = op & 7
            let size = form & 1 == 0 ? 1 : osz
            o.sub = UInt8(op >> 3)
            o.size = UInt8(size)
            switch form {
            case 0, 1: guard modrm() else { return false }; o.kind = .aluRMReg
            case 2, 3: guard modrm() else { return false }; o.kind = .aluRegRM
            default:
                guard let v = size == 1 ? imm(1) : immZ(size) else { return false }
                o.kind = .aluRMImm; o.isReg = true; o.rm = 0; o.imm = v
            }
        case 0x40...0x4F:   // INC/DEC r outside 64-bit mode (REX was taken above in 64-bit)
            o.kind = .incDec; o.sub = UInt8((op >> 3) & 1); o.size = UInt8(osz); o.isReg = true; o.rm = UInt8(op & 7)
        case 0x50...0x57:
            o.kind = .push; o.size = UInt8(stackOsz); o.reg = UInt8(op & 7 | (rx & 1) << 3)
        case 0x58...0x5F:
            o.kind = .pop; o.size = UInt8(stackOsz); o.reg = UInt8(op & 7 | (rx & 1) << 3)
        case 0x63 where code64:
            guard modrm() else { return false }
            o.kind = .movsxd; o.size = UInt8(osz)
        case 0x68:
            guard let v = imm(stackOsz == 8 ? 4 : (osz == 2 ? 2 : 4)) else { return false }
            o.kind = .pushImm; o.size = UInt8(stackOsz)
            o.imm = (stackOsz == 8 ? CPU.sext(v, 4) : v) & CPU.mask(stackOsz)
        case 0x6A:
            guard let v = imm(1) else { return false }
            o.kind = .pushImm; o.size = UInt8(stackOsz); o.imm = CPU.sext(v, 1) & CPU.mask(stackOsz)
        case 0x69, 0x6B:
            guard modrm() else { return false }
            guard let v = op == 0x69 ? imm(osz == 2 ? 2 : 4).map({ CPU.sext($0, osz == 2 ? 2 : 4) }) : imm(1).map({ CPU.sext($0, 1) })
            else { return false }
            o.kind = .imulRegRMImm; o.size = UInt8(osz); o.imm = v
        case 0x70...0x7F:
            guard let d = imm(1) else { return false }
            o.kind = .jcc; o.sub = UInt8(op & 15); o.size = UInt8(branchOsz); o.imm = CPU.sext(d, 1)
        case 0x80, 0x81, 0x83:
            let size = op == 0x80 ? 1 : osz
            guard modrm() else { return false }
            guard let v = op == 0x81 ? immZ(size) : imm(1).map({ CPU.sext($0, 1) & CPU.mask(size) }) else { return false }
            o.kind = .aluRMImm; o.sub = o.reg & 7; o.size = UInt8(size); o.imm = v
        case 0x84, 0x85:
            guard modrm() else { return false }
            o.kind = .testRMReg; o.size = UInt8(op == 0x84 ? 1 : osz)
        case 0x88...0x8B:
            guard modrm() else { return false }
            o.kind = op < 0x8A ? .movRMReg : .movRegRM; o.size = UInt8(op & 1 == 0 ? 1 : osz)
        case 0x8D:
            guard modrm(), !o.isReg else { return false }
            o.kind = .lea; o.size = UInt8(osz)
        case 0x90 where rx & 1 == 0:
            o.kind = .nop
        case 0x91...0x97:
            o.kind = .xchg; o.size = UInt8(osz); o.isReg = true; o.rm = 0; o.reg = UInt8(op & 7 | (rx & 1) << 3)
        case 0x86, 0x87:
            guard modrm() else { return false }
            o.kind = .xchg; o.size = UInt8(op == 0x86 ? 1 : osz)
        case 0x9C:
            o.kind = .pushf; o.size = UInt8(stackOsz)
        case 0x9D:
            o.kind = .popf; o.size = UInt8(stackOsz)
        case 0x9E:
            o.kind = .sahf
        case 0x9F:
            o.kind = .lahf
        case 0xA0...0xA3:
            // MOV AL/eAX <-> moffs: a bare displacement of the address size (SDM Vol. 2B MOV).
            guard let a = imm(asz) else { return false }
            o.isReg = false; o.reg = 0; o.disp = a; o.seg = UInt8(segOv >= 0 ? segOv : S.ds)
            o.kind = op < 0xA2 ? .movRegRM : .movRMReg; o.size = UInt8(op & 1 == 0 ? 1 : osz)
        case 0xA4...0xA7, 0xAA...0xAF:
            o.kind = .stringOp; o.sub = UInt8(op & 0xFE); o.size = UInt8(op & 1 == 0 ? 1 : osz)
            o.seg = UInt8(segOv >= 0 ? segOv : S.ds)
        case 0xD7:
            o.kind = .xlat; o.seg = UInt8(segOv >= 0 ? segOv : S.ds)
        case 0xE0...0xE3:
            guard let d = imm(1) else { return false }
            o.kind = .loop; o.sub = UInt8(op - 0xE0); o.size = UInt8(branchOsz); o.imm = CPU.sext(d, 1)
        case 0xF5, 0xF8, 0xF9, 0xFC, 0xFD:
            o.kind = .flagOp; o.sub = UInt8(op)
        case 0xC9:
            o.kind = .leave; o.size = UInt8(stackOsz)
        case 0xE6, 0xE7, 0xEE, 0xEF:
            // OUT imm8 / OUT DX, of AL or eAX (REX.W does not widen it: 32 bits at most).
            if op < 0xEE {
                guard let v = imm(1) else { return false }
                o.imm = v; o.isImm = true
            }
            o.kind = .portOut; o.size = UInt8(op & 1 == 0 ? 1 : (osz == 2 ? 2 : 4))
        case 0xE4, 0xE5, 0xEC, 0xED:
            // IN AL/eAX, imm8 / DX (32 bits at most, as OUT).
            if op < 0xEC {
                guard let v = imm(1) else { return false }
                o.imm = v; o.isImm = true
            }
            o.kind = .portIn; o.size = UInt8(op & 1 == 0 ? 1 : (osz == 2 ? 2 : 4))
        case 0x98:
            o.kind = .cbw; o.size = UInt8(osz)
        case 0x99:
            o.kind = .cwd; o.size = UInt8(osz)
        case 0xA8, 0xA9:
            let size = op == 0xA8 ? 1 : osz
            guard let v = size == 1 ? imm(1) : immZ(size) else { return false }
            o.kind = .testRMImm; o.size = UInt8(size); o.isReg = true; o.rm = 0; o.imm = v
        case 0xB0...0xB7:
            guard let v = imm(1) else { return false }
            o.kind = .movRegImm; o.size = 1; o.reg = UInt8(op & 7 | (rx & 1) << 3); o.imm = v
        case 0xB8...0xBF:
            guard let v = imm(osz) else { return false }
            o.kind = .movRegImm; o.size = UInt8(osz); o.reg = UInt8(op & 7 | (rx & 1) << 3); o.imm = v
        case 0xC0, 0xC1, 0xD0, 0xD1, 0xD2, 0xD3:
            guard modrm() else { return false }
            o.size = UInt8(op & 1 == 0 ? 1 : osz); o.sub = o.reg & 7
            if op <= 0xC1 {
                guard let v = imm(1) else { return false }
                o.kind = .shiftImm; o.imm = v
            } else if op <= 0xD1 {
                o.kind = .shiftImm; o.imm = 1
            } else {
                o.kind = .shiftCL
            }
        case 0xC3:
            o.kind = .ret; o.size = UInt8(branchOsz)
        case 0xC2:
            guard let n = imm(2) else { return false }
            o.kind = .ret; o.size = UInt8(branchOsz); o.imm = n
        case 0xC6, 0xC7:
            let size = op == 0xC6 ? 1 : osz
            guard modrm(), o.reg & 7 == 0 else { return false }
            guard let v = size == 1 ? imm(1) : immZ(size) else { return false }
            o.kind = .movRMImm; o.size = UInt8(size); o.imm = v
        case 0xE8:
            guard let d = branchOsz == 2 ? imm(2).map({ CPU.sext($0, 2) }) : imm(4).map({ CPU.sext($0, 4) }) else { return false }
            o.kind = .call; o.size = UInt8(branchOsz); o.imm = d
        case 0xE9:
            guard let d = osz == 2 && !code64 ? imm(2).map({ CPU.sext($0, 2) }) : imm(4).map({ CPU.sext($0, 4) }) else { return false }
            o.kind = .jmp; o.size = UInt8(branchOsz); o.imm = d
        case 0xEB:
            guard let d = imm(1) else { return false }
            o.kind = .jmp; o.size = UInt8(branchOsz); o.imm = CPU.sext(d, 1)
        case 0xF6, 0xF7:
            let size = op == 0xF6 ? 1 : osz
            guard modrm() else { return false }
            o.size = UInt8(size); o.sub = o.reg & 7
            switch o.sub {
            case 0, 1:
                guard let v = size == 1 ? imm(1) : immZ(size) else { return false }
                o.kind = .testRMImm; o.imm = v
            case 2, 3: o.kind = .notNeg
            default: o.kind = .mulDiv
            }
        case 0xFE, 0xFF:
            guard modrm() else { return false }
            switch o.reg & 7 {
            case 0, 1: o.kind = .incDec; o.sub = o.reg & 1; o.size = UInt8(op == 0xFE ? 1 : osz)
            case 2 where op == 0xFF: o.kind = .callIndirect; o.size = UInt8(branchOsz)
            case 4 where op == 0xFF: o.kind = .jmpIndirect; o.size = UInt8(branchOsz)
            case 6 where op == 0xFF: o.kind = .pushRM; o.size = UInt8(stackOsz)
            default: return false
            }
        case 0x8F:
            guard modrm(), o.reg & 7 == 0 else { return false }
            o.kind = .popRM; o.size = UInt8(stackOsz)
        case 0x0F:
            guard let op2 = byte() else { return false }
            switch op2 {
            case 0x1F:
                guard modrm() else { return false }
                o.kind = .nop
            case 0x40...0x4F:
                guard modrm() else { return false }
                o.kind = .cmovcc; o.sub = UInt8(op2 & 15); o.size = UInt8(osz)
            case 0x80...0x8F:
                guard let d = branchOsz == 2 ? imm(2).map({ CPU.sext($0, 2) }) : imm(4).map({ CPU.sext($0, 4) }) else { return false }
                o.kind = .jcc; o.sub = UInt8(op2 & 15); o.size = UInt8(branchOsz); o.imm = d
            case 0x90...0x9F:
                guard modrm() else { return false }
                o.kind = .setcc; o.sub = UInt8(op2 & 15); o.size = 1
            case 0xAF:
                guard modrm() else { return false }
                o.kind = .imulRegRM; o.size = UInt8(osz)
            case 0xB6, 0xB7, 0xBE, 0xBF:
                guard modrm() else { return false }
                o.kind = op2 < 0xBE ? .movzx : .movsx; o.sub = UInt8(op2 & 1 == 0 ? 1 : 2); o.size = UInt8(osz)
            case 0xA3, 0xAB, 0xB3, 0xBB:
                // With memory and a register offset, a bit string (the executor's address).
                guard modrm() else { return false }
                o.kind = .bitTest; o.sub = UInt8((op2 >> 3) & 3); o.size = UInt8(osz)
            case 0xBA:
                guard modrm(), o.reg & 7 >= 4, let v = imm(1) else { return false }
                o.kind = .bitTest; o.sub = (o.reg & 7) - 4; o.size = UInt8(osz); o.imm = v; o.isImm = true
            case 0xBC, 0xBD:
                guard modrm() else { return false }
                o.kind = repz && op2 == 0xBD ? .bitCount : .bitScan; o.sub = UInt8(op2 & 1); o.size = UInt8(osz)
            case 0xB8 where repz:
                guard modrm() else { return false }
                o.kind = .bitCount; o.sub = 0; o.size = UInt8(osz)
            case 0xA4, 0xA5, 0xAC, 0xAD:
                guard modrm() else { return false }
                o.kind = .doubleShift; o.size = UInt8(osz)
                o.sub = (op2 < 0xA8 ? 1 : 0) | (op2 & 1 == 1 ? 2 : 0)
                if op2 & 1 == 0 {
                    guard let v = imm(1) else { return false }
                    o.imm = v
                }
            case 0xC0, 0xC1:
                guard modrm() else { return false }
                o.kind = .xadd; o.size = UInt8(op2 == 0xC0 ? 1 : osz)
            case 0xB0, 0xB1:
                guard modrm(), !o.isReg else { return false }
                o.kind = .cmpxchg; o.size = UInt8(op2 == 0xB0 ? 1 : osz)
            case 0xC8...0xCF:
                o.kind = .bswap; o.size = UInt8(osz); o.reg = UInt8(op2 & 7 | (rx & 1) << 3)
            default:
                return false
            }
        default:
            return false
        }
        // F3 only as part of POPCNT, LZCNT, BSF (F3 0F BC) and PAUSE (F3 90, which step() runs
        // as a NOP: no PAUSE-loop exiting is modelled); REP string instructions are step()'s.
        if repz && !(opByte == 0x0F && (o.kind == .bitCount || o.kind == .bitScan && o.sub == 0)
                     || opByte == 0x90 && o.kind == .nop) { return false }
        // LOCK only on a read-modify-write of memory (SDM Vol. 2A LOCK); anywhere else it is
        // step()'s #UD.
        if locked {
            guard !o.isReg else { return false }
            switch o.kind {
            case .aluRMReg, .aluRMImm: if o.sub == 7 { return false }
            case .incDec, .notNeg, .xchg, .xadd, .cmpxchg: break
            case .bitTest: if o.sub == 0 { return false }   // BTS BTR BTC, not BT
            default: return false
            }
        }
        o.end = UInt16(k)   // the length; buildBlock makes it the offset of the next instruction
        o.specialise()
        return true
    }
}
