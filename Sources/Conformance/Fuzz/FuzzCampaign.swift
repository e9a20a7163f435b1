// `kvm-unit fuzz`: batches of generated programs, each run on every implementation (a
// backend with the memory cell in RAM, and the same backend with the cell on the MMIO
// window, so every memory operand goes through KVM's instruction emulator), the results
// compared, and every difference minimised to the fewest instructions and written out as
// a reproducer payload.
//
// On a host that runs CPL3 natively (kvm_pvm here), "kvm ram" is the host CPU itself: the
// oracle for defined behaviour. The template runs at CPL3 (user64).

import KVMABI

/// Where a program runs: a backend, and whether its memory cell is RAM or the MMIO window.
public struct FuzzImplementation {
    public let backend: String
    public let hypervisor: any Hypervisor
    public let mmio: Bool
    public var name: String { "\(backend) \(mmio ? "mmio" : "ram")" }
    public init(backend: String, hypervisor: any Hypervisor, mmio: Bool) {
        self.backend = backend
        self.hypervisor = hypervisor
        self.mmio = mmio
    }
}

/// What one program left: RAX..R15, the arithmetic flags and the eight memory qwords.
public struct FuzzResult: Sendable, Equatable {
    public var registers: [UInt64]
    public var flags: UInt64
    public var memory: [UInt64]
    /// The exception the stream raised (-1: none), its error code, and CR2 for a #PF.
    public var vector: UInt64 = ~0
    public var errorCode: UInt64 = ~0
    public var cr2: UInt64 = 0

    /// The parts that differ from `other`, flags compared under `definedFlags`.
    func differences(from other: FuzzResult, definedFlags: UInt64) -> [String] {
        var out: [String] = []
        func hex(_ v: UInt64) -> String { v == ~0 ? "none" : "0x" + String(v, radix: 16) }
        if vector != other.vector { out.append("exception vector \(hex(vector)) vs \(hex(other.vector))") }
        if errorCode != other.errorCode { out.append("error code \(hex(errorCode)) vs \(hex(other.errorCode))") }
        if vector == 14 && other.vector == 14 && cr2 != other.cr2 { out.append("cr2 \(hex(cr2)) vs \(hex(other.cr2))") }
        for i in 0..<15 where i != 4 && registers[i] != other.registers[i] {   // R15 is the base
            out.append("\(StreamGenerator.names64[i]) 0x\(String(registers[i], radix: 16)) vs 0x\(String(other.registers[i], radix: 16))")
        }
        if flags & definedFlags != other.flags & definedFlags {
            out.append("rflags 0x\(String(flags & definedFlags, radix: 16)) vs 0x\(String(other.flags & definedFlags, radix: 16)) (defined 0x\(String(definedFlags, radix: 16)))")
        }
        for i in 0..<8 where memory[i] != other.memory[i] {
            out.append("[r15+\(8 * i)] 0x\(String(memory[i], radix: 16)) vs 0x\(String(other.memory[i], radix: 16))")
        }
        return out
    }
}

/// A program on which an implementation differs from the reference implementation.
public struct FuzzDivergence {
    public let implementation: String
    public let reference: String
    public let program: FuzzProgram
    public let minimised: FuzzProgram
    public let details: [String]
    /// The reference's result on the minimised program (the host CPU's when the reference
    /// is a RAM run on a host that runs CPL3 natively).
    public let referenceResult: FuzzResult?
    /// The form of the last instruction of the minimised stream (the one that shows it); in
    /// a faulting stream of several, the one before the faulting instruction the minimiser
    /// keeps.
    public var form: String {
        let i = minimised.instructions
        if minimised.faults && i.count > 1 { return i[i.count - 2].form }
        return i.last?.form ?? "?"
    }
}

public struct FuzzCampaign {
    public let template: FuzzTemplate
    public let implementations: [FuzzImplementation]
    public let cpuid: [CPUIDEntry]?
    /// Programs per image (each run creates a VM; a batch amortises it).
    public var batch = 64

    static let recordSize = 256

    public init(template: FuzzTemplate, implementations: [FuzzImplementation], cpuid: [CPUIDEntry]?) {
        self.template = template
        self.implementations = implementations
        self.cpuid = cpuid
    }

    // MARK: code

    /// Machine code for `programs` with the memory cell at `base`, ending in RET.
    func code(_ programs: [FuzzProgram], base: UInt64) -> [UInt8] {
        var c: [UInt8] = []
        func movImm(_ r: Int, _ v: UInt64) { c += [0x48 | UInt8(r >> 3), 0xB8 + UInt8(r & 7)] + StreamGenerator.le(v, 8) }
        func storeAbs(_ r: Int, _ gpa: UInt64) {   // mov [disp32], r64 (SIB with no base)
            c += [0x48 | UInt8((r >> 3) << 2), 0x89, 0x04 | UInt8(r & 7) << 3, 0x25] + StreamGenerator.le(gpa, 4)
        }
        func movAbs(_ gpa: UInt64, _ imm: UInt64) {  // mov qword [disp32], simm32
            c += [0x48, 0xC7, 0x04, 0x25] + StreamGenerator.le(gpa, 4) + StreamGenerator.le(imm, 4)
        }
        for (j, p) in programs.enumerated() {
            let record = template.resultGPA + UInt64(j * Self.recordSize)
            movImm(15, p.faults ? template.edgeGPA : p.ramOnly ? template.scratchGPA : base)
            for (k, q) in p.memory.enumerated() {
                movImm(0, q)
                c += [0x49, 0x89, 0x47, UInt8(8 * k)]                     // mov [r15 + 8k], rax
            }
            // idt.inc TRY: a fault records vector, error code and CR2 and resumes after the stream
            movAbs(template.excVector, ~0)
            movAbs(template.excError, ~0)
            movAbs(template.excCR2, 0)
            let resumeFixup = c.count + 8                                 // the imm32 of the next MOV
            movAbs(template.excResume, 0)
            c += [0xC6, 0x04, 0x25] + StreamGenerator.le(template.excArmed, 4) + [1]   // mov byte [armed], 1
            for r in 0..<15 where r != 4 { movImm(r, p.registers[r]) }
            c += [0x68] + StreamGenerator.le(0x3002 | p.flags, 4) + [0x9D]  // push imm32; popfq (IOPL 3, IF 0 as at entry)
            for insn in p.instructions { c += insn.bytes }
            let resume = template.codeGPA + UInt64(c.count)
            c.replaceSubrange(resumeFixup..<(resumeFixup + 4), with: StreamGenerator.le(resume, 4))
            c += [0xC6, 0x04, 0x25] + StreamGenerator.le(template.excArmed, 4) + [0]   // disarm (no fault)
            for r in 0..<16 where r != 4 { storeAbs(r, record + UInt64(8 * r)) }
            c += [0x9C, 0x58]                                             // pushfq; pop rax
            storeAbs(0, record + 128)
            for k in 0..<8 {
                c += [0x49, 0x8B, 0x47, UInt8(8 * k)]                     // mov rax, [r15 + 8k]
                storeAbs(0, record + 136 + UInt64(8 * k))
            }
            for (k, gpa) in [template.excVector, template.excError, template.excCR2].enumerated() {
                c += [0x48, 0x8B, 0x04, 0x25] + StreamGenerator.le(gpa, 4)  // mov rax, [disp32]
                storeAbs(0, record + 200 + UInt64(8 * k))
            }
        }
        c.append(0xC3)
        return c
    }

    /// Runs `programs` on one implementation: a result per program, or why there is none.
    func run(_ programs: [FuzzProgram], on impl: FuzzImplementation) -> Result<[FuzzResult], FuzzRunError> {
        let base = impl.mmio ? template.windowGPA : template.scratchGPA
        guard programs.count * Self.recordSize <= template.resultSize,
              let image = template.image(code: code(programs, base: base)) else { return .failure(.init(why: "batch too large")) }
        let (end, bytes) = runFuzzImage(image, template: template, on: impl.hypervisor, cpuid: cpuid)
        guard end == .status(0) else { return .failure(.init(why: "the run ended with \(end)")) }
        func q(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
        return .success(programs.indices.map { j in
            let at = j * Self.recordSize
            return FuzzResult(registers: (0..<16).map { q(at + 8 * $0) }, flags: q(at + 128) & FuzzFlags.arith,
                              memory: (0..<8).map { q(at + 136 + 8 * $0) },
                              vector: q(at + 200), errorCode: q(at + 208), cr2: q(at + 216))
        })
    }

    public struct FuzzRunError: Error, Sendable { public let why: String }

    // MARK: comparison and minimisation

    /// The differences of `impl` from `reference` on one program, nil when they agree.
    func compare(_ p: FuzzProgram, _ impl: FuzzImplementation, _ reference: FuzzImplementation) -> [String]? {
        let a = run([p], on: impl), b = run([p], on: reference)
        switch (a, b) {
        case (.success(let x), .success(let y)):
            let d = x[0].differences(from: y[0], definedFlags: p.definedFlags)
            return d.isEmpty ? nil : d
        case (.failure(let e), .success): return ["\(impl.name): \(e.why)"]
        case (.success, .failure(let e)): return ["\(reference.name): \(e.why)"]
        case (.failure, .failure): return nil
        }
    }

    /// Drops instructions one at a time (from the end, then from the front) while the
    /// difference stays, then zeroes set-up values that do not matter: the smallest stream
    /// that still shows it.
    func minimise(_ p: FuzzProgram, _ impl: FuzzImplementation, _ reference: FuzzImplementation) -> FuzzProgram {
        var best = p
        // a faulting program whose difference does not need the fault becomes a plain one
        if best.faults && best.instructions.count > 1 {
            var plain = best
            plain.instructions.removeLast()
            plain.faults = false
            if compare(plain, impl, reference) != nil { best = plain }
        }
        var changed = true
        while changed && best.instructions.count > 1 {
            changed = false
            // a faulting program keeps its last instruction: the one that reaches the
            // not-present page (and whose flags the comparison leaves out)
            let last = best.instructions.count - (best.faults ? 2 : 1)
            for i in stride(from: last, through: 0, by: -1) where best.instructions.count > 1 && i < best.instructions.count - (best.faults ? 1 : 0) {
                var candidate = best
                candidate.instructions.remove(at: i)
                if compare(candidate, impl, reference) != nil { best = candidate; changed = true }
            }
        }
        return best
    }

    // MARK: the campaign

    public struct Summary {
        public var programs = 0
        public var instructions = 0
        /// Programs whose last instruction reaches the not-present page, and how many of them
        /// raised #PF on the reference.
        public var faultingPrograms = 0
        public var pageFaultsOnReference = 0
        public var byForm: [String: Int] = [:]
        public var divergences: [FuzzDivergence] = []
        public var runErrors: [String] = []
    }

    /// Runs `count` programs from `seed` (or until `deadline` passes); `progress` gets the
    /// number done after each batch. The first implementation is the reference.
    public func run(seed: UInt64, count: Int, maxLength: Int = 8, deadline: (() -> Bool)? = nil,
                    progress: ((Summary) -> Void)? = nil) -> Summary {
        var summary = Summary()
        var generator = StreamGenerator(seed: seed, maxLength: maxLength)
        guard let reference = implementations.first else { return summary }
        while summary.programs < count, !(deadline?() ?? false) {
            let n = min(batch, count - summary.programs)
            let programs = (0..<n).map { _ in generator.program() }
            var results: [[FuzzResult]?] = []
            for impl in implementations {
                switch run(programs, on: impl) {
                case .success(let r): results.append(r)
                case .failure(let e):
                    results.append(nil)
                    summary.runErrors.append("\(impl.name): batch at program \(summary.programs): \(e.why)")
                }
            }
            if let ref = results[0] {
                summary.pageFaultsOnReference += ref.filter { $0.vector == 14 }.count
                for (j, p) in programs.enumerated() {
                    for (i, impl) in implementations.enumerated().dropFirst() {
                        guard let r = results[i] else { continue }
                        guard !r[j].differences(from: ref[j], definedFlags: p.definedFlags).isEmpty else { continue }
                        let small = minimise(p, impl, reference)
                        let details = compare(small, impl, reference) ?? r[j].differences(from: ref[j], definedFlags: p.definedFlags)
                        let expected = try? run([small], on: reference).get().first
                        summary.divergences.append(FuzzDivergence(implementation: impl.name, reference: reference.name,
                                                                  program: p, minimised: small, details: details,
                                                                  referenceResult: expected))
                    }
                }
            }
            summary.programs += n
            summary.faultingPrograms += programs.filter(\.faults).count
            for p in programs {
                summary.instructions += p.instructions.count
                for insn in p.instructions { summary.byForm[insn.form, default: 0] += 1 }
            }
            progress?(summary)
        }
        return summary
    }
}

// MARK: reproducers

extension FuzzDivergence {
    /// A payload (.asm, assembles with `nasm -I guests/include`) that runs the minimised
    /// program on RAM and on a ram MMIO window at CPL3 and checks that both give the same
    /// registers, defined flags and memory, and, when the reference was a RAM run, the
    /// reference's values.
    public func reproducer(name: String, seed: UInt64) -> String {
        let p = minimised
        var out: [String] = []
        out.append("; kvm-unit fuzz reproducer (seed \(seed)): \(implementation) differs from \(reference) on")
        for d in details { out.append(";   \(d)") }
        out.append("; Stream:")
        for insn in p.instructions { out.append(";   \(insn.text)") }
        out.append("%define PL_WINDOW0 0x40000000, 0x1000, WIN_RAM, 0x00")
        out.append("%include \"payload.inc\"")
        out.append("PAYLOAD \(name), emulator, user64, \"fuzz reproducer: \(form)\"")
        out.append("payload_main:")
        for (label, base) in [("res_ram", "scratch"), ("res_mmio", "0x40000000")] {
            out.append("    mov r15, \(base)")
            for (k, q) in p.memory.enumerated() {
                out.append("    mov rax, 0x\(String(q, radix: 16))")
                out.append("    mov [r15 + \(8 * k)], rax")
            }
            for r in 0..<15 where r != 4 {
                out.append("    mov \(StreamGenerator.names64[r]), 0x\(String(p.registers[r], radix: 16))")
            }
            out.append("    push 0x\(String(0x3002 | p.flags, radix: 16))")
            out.append("    popfq")
            for insn in p.instructions {
                out.append("    db " + insn.bytes.map { "0x" + String($0, radix: 16) }.joined(separator: ", ") + "    ; \(insn.text)")
            }
            for r in 0..<15 where r != 4 { out.append("    mov [\(label) + \(8 * r)], \(StreamGenerator.names64[r])") }
            out.append("    pushfq")
            out.append("    pop rax")
            out.append("    mov qword [rsp - 8], 0")
            out.append("    mov [\(label) + 128], rax")
            for k in 0..<8 {
                out.append("    mov rax, [r15 + \(8 * k)]")
                out.append("    mov [\(label) + \(136 + 8 * k)], rax")
            }
        }
        let defined = p.definedFlags
        for r in 0..<15 where r != 4 {
            let n = StreamGenerator.names64[r]
            out.append("    CHECK_EQ qword [res_mmio + \(8 * r)], qword [res_ram + \(8 * r)], \"\(n): MMIO equals RAM\"")
        }
        out.append("    CHECK_MASK qword [res_mmio + 128], 0x\(String(defined, radix: 16)), qword [res_ram + 128], \"defined flags: MMIO equal RAM\"")
        for k in 0..<8 {
            out.append("    CHECK_EQ qword [res_mmio + \(136 + 8 * k)], qword [res_ram + \(136 + 8 * k)], \"[r15+\(8 * k)]: MMIO equals RAM\"")
        }
        if let e = referenceResult, reference.hasSuffix(" ram") {
            for r in 0..<15 where r != 4 {
                out.append("    CHECK_EQ qword [res_ram + \(8 * r)], 0x\(String(e.registers[r], radix: 16)), \"\(StreamGenerator.names64[r]) as \(reference) computed\"")
            }
            out.append("    CHECK_MASK qword [res_ram + 128], 0x\(String(defined, radix: 16)), 0x\(String(e.flags, radix: 16)), \"defined flags as \(reference) computed\"")
            for k in 0..<8 {
                out.append("    CHECK_EQ qword [res_ram + \(136 + 8 * k)], 0x\(String(e.memory[k], radix: 16)), \"[r15+\(8 * k)] as \(reference) computed\"")
            }
        }
        out.append("    xor eax, eax")
        out.append("    PAYLOAD_DONE")
        out.append("    [section .bss]")
        out.append("    alignb 64")
        out.append("scratch:  resb 64")
        out.append("res_ram:  resb 256")
        out.append("res_mmio: resb 256")
        return out.joined(separator: "\n") + "\n"
    }
}
