// Dead-flag elimination for the decoded-instruction cache (DecodeCache.swift): most
// arithmetic results' flags are overwritten by a later instruction of the same block before
// anything reads them (`add rax, rcx; xor rbx, rax; ...; cmp rdx, rbx; jb`), and computing
// SF ZF PF CF OF AF is most of the cost of a register ALU instruction. When a block is
// built, one backward pass over its ops marks those whose flags are dead; CPU.runBlocks
// (BlockExecutor.swift) computes only their results. Every other path is unchanged: step()
// still computes every flag of every instruction it runs.
//
// Flags are architectural state that the outside sees whenever execution leaves the block
// executor: a fault, an exit, an interrupt taken between instructions, KVM_GET_REGS, a
// trace line. The pass therefore treats the flags as live
//   - at the end of every block (the next block, or step(), may read them), and before
//     every Jcc, which leaves its block when taken (a block goes on past one: endsBlock);
//   - before every op the executor may stop in front of (a memory operand that misses the
//     TLB or fails a segment check, a stack access, a branch whose target step() must check,
//     DIV's #DE): step() then runs that instruction, or raises its fault, with the flags of
//     the instructions before it exact;
//   - and the executor never runs part of a block: one the instruction limit would cut is
//     left to step() (an instruction at a time), as is one that crosses CS's limit.
// So a dead op's flags are missing only while no one can look, and the instructions that
// overwrite them always run right after, in the same block, without a way to stop in
// between. Liveness is tracked per flag: an op is dead when every flag it writes is
// written again before anything reads it (`xor ebx, eax; rol ebx, 5; dec ecx; jnz`: ROL
// writes CF and OF, DEC the other five, JNZ reads ZF, so XOR's flags are all dead).

extension DecodedOp {
    /// What an op does with the arithmetic flags, for the liveness pass.
    enum FlagUse {
        /// Neither reads nor writes them (MOV, LEA, PUSH, ...).
        case none
        /// Writes all six and reads none: the flags before it are dead.
        case kills
        /// Writes some and keeps the others (INC/DEC keep CF): dead when the flags after it are.
        case writesSome
        /// Reads them (Jcc, SETcc, CMOVcc, ADC, SBB, a count-0 shift that keeps them, ...), or
        /// its effect is not modelled here: the flags before it are live.
        case reads
    }

    /// The operation (0-7: ADD OR ADC SBB AND SUB XOR CMP) of a size-specialised register
    /// ALU kind (addRR8 ... cmpRI2, each group of eight in that order), or nil.
    static let registerALUFirstKinds: [Kind] = [.addRR8, .addRR4, .addRI8, .addRI4, .addRR2, .addRI2]
    var registerALUOperation: Int? {
        for first in Self.registerALUFirstKinds {
            let op = Int(kind.rawValue) - Int(first.rawValue)
            if op >= 0 && op < 8 { return op }
        }
        return nil
    }

    var flagUse: FlagUse {
        // ADC and SBB read CF; the other six write all six flags and read none.
        if let op = registerALUOperation { return op == 2 || op == 3 ? .reads : .kills }
        switch kind {
        case .aluRegMem4, .aluRegMem8, .aluMemReg4, .aluMemReg8, .aluRMReg, .aluRMImm, .aluRegRM:
            return sub == 2 || sub == 3 ? .reads : .kills   // ADC and SBB read CF
        case .testRMReg, .testRMImm, .imulRegRM, .imulRegRMImm:
            return .kills
        case .notNeg:
            return sub == 3 ? .kills : .none                // NEG sets all six; NOT none
        case .shiftImm, .shiftRI8, .shiftRI4:
            // SHL/SHR/SAL/SAR of 32/64 bits by a count that is not 0 after masking set all
            // six (CPU.shift); a masked count of 0 changes nothing, rotates only CF and OF.
            let count = imm & (size == 8 ? 63 : 31)
            return sub >= 4 && size >= 4 && count != 0 ? .kills : .reads
        case .incDecR4, .incDecR8, .incDec:
            return .writesSome
        case .movRR4, .movRR8, .movRI8, .movRegImm, .movRegRM, .movRMReg, .movRMImm, .load4, .load8,
             .store4, .store8, .movzx, .movsx, .movsxd, .lea, .nop, .bswap, .xchg, .cbw, .cwd,
             .push, .pop, .pushImm, .pushRM, .popRM, .leave, .jmp, .call, .ret, .jmpIndirect, .callIndirect,
             .portOut, .portIn, .jmpAhead:
            return .none
        default:
            return .reads
        }
    }

    /// The arithmetic flags the op writes, each one it may change (its flag-free form leaves
    /// all of them as they were).
    var flagsWritten: UInt64 {
        switch flagUse {
        case .kills: return F.arith
        case .writesSome: return F.arith & ~F.cf        // INC/DEC keep CF
        case .none: return 0
        case .reads: return isRotateWritingCFOF ? F.cf | F.of : 0
        }
    }

    /// The arithmetic flags the op reads: a condition's own (SDM Vol. 1 Appendix B), none
    /// for a rotate that only writes CF and OF, all six for everything else that `.reads`.
    var flagsRead: UInt64 {
        guard flagUse == .reads, !isRotateWritingCFOF else { return 0 }
        switch kind {
        case .jcc, .setcc, .setccR, .cmovcc, .cmovRR4, .cmovRR8:
            return DecodedOp.conditionFlags(sub)
        default:
            return F.arith
        }
    }

    /// ROL/ROR of 32/64 bits by an immediate count that is not 0 after masking: writes CF and
    /// OF and nothing else, reads none (CPU.shift; SDM Vol. 2B RCL/RCR/ROL/ROR).
    var isRotateWritingCFOF: Bool {
        switch kind {
        case .shiftImm, .shiftRI8, .shiftRI4:
            return sub < 2 && size >= 4 && imm & (size == 8 ? 63 : 31) != 0
        default:
            return false
        }
    }

    /// The executor may stop in front of this op (BlockExecutor.swift's `break blocks`).
    var mayStopBefore: Bool {
        switch kind {
        case .lea, .nop, .bswap, .cbw, .cwd, .flagOp, .movRegImm, .movRI8, .lahf, .sahf, .jmpAhead:
            return false
        case .stringOp, .xlat, .pushf, .popf, .loop,
             .push, .pop, .pushImm, .pushRM, .popRM, .leave, .jcc, .jmp, .call, .ret, .jmpIndirect, .callIndirect,
             .portOut, .portIn, .mulDiv, .generic, .load4, .load8, .store4, .store8, .aluRegMem4, .aluRegMem8,
             .aluMemReg4, .aluMemReg8:
            return true
        default:
            return !isReg
        }
    }

    /// Ops the executor has a flag-free form for (BlockExecutor.swift), when dead.
    var hasFlagFreeForm: Bool {
        if let op = registerALUOperation { return op != 2 && op != 3 }   // not ADC/SBB
        switch kind {
        case .incDecR4, .incDecR8, .aluRegMem4, .aluRegMem8, .imulRegRM, .imulRegRMImm:
            return true
        case .shiftImm, .shiftRI8, .shiftRI4:
            return flagUse == .kills
        default:
            return false
        }
    }
}

extension DecodeCache {
    /// The backward liveness pass over one block's ops (see the file comment).
    /// `ignoringStops` is the injected fault InjectedFault.deadFlagsAcrossStops.
    static func markDeadFlags(_ ops: UnsafeMutablePointer<DecodedOp>, count: Int, ignoringStops: Bool = false) {
        // The flags live after op i, one bit each (F.cf ... F.of): all at the block's end.
        var live = F.arith
        var i = count - 1
        while i >= 0 {
            let written = ops[i].flagsWritten
            if written != 0 {
                ops[i].flagsDead = written & live == 0 && ops[i].hasFlagFreeForm
                live &= ~written
            }
            live |= ops[i].flagsRead
            if ops[i].mayStopBefore && !ignoringStops { live = F.arith }
            i -= 1
        }
    }
}
