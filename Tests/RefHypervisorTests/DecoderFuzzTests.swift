import Foundation
import Testing
import KVMABI
@testable import RefHypervisor

/// Decoder fuzz: random 15-byte sequences in 16-, 32- and 64-bit mode. Every sequence is
/// (1) decoded by `InstructionLength` and compared with ndisasm's length wherever ndisasm
/// decodes a valid integer instruction, and (2) executed for one instruction by the engine
/// through KVMABI: no crash, and an instruction that retires without a control transfer
/// advances RIP by exactly `InstructionLength`'s length.
///
/// ndisasm runs a few times per mode over files of 16-byte slots (15 random bytes + a NOP),
/// with a sync point (`-s`) at every slot so it restarts at each slot; only the first
/// instruction of a slot is used. ndisasm does not enforce the 15-byte limit, so a first
/// instruction of 16 bytes (it used the pad) means "longer than 15".
@Suite struct DecoderFuzzTests {
    static let count = 100_000
    static let chunk = 25_000

    // MARK: PRNG

    struct SplitMix64 {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func sequences(bits: Int) -> [UInt8] {
        var g = SplitMix64(state: 0x5EED_0000_0000_0000 | UInt64(bits))
        var out = [UInt8](repeating: 0x90, count: count * 16)
        for i in 0..<count {
            let a = g.next(), b = g.next()
            for j in 0..<8 { out[i * 16 + j] = UInt8(truncatingIfNeeded: a >> (8 * j)) }
            for j in 0..<7 { out[i * 16 + 8 + j] = UInt8(truncatingIfNeeded: b >> (8 * j)) }
        }
        return out
    }

    // MARK: ndisasm

    struct NdisasmLine { var length: Int; var text: String }

    /// First instruction of every slot.
    static func ndisasm(_ slots: [UInt8], bits: Int) throws -> [NdisasmLine?] {
        var result = [NdisasmLine?](repeating: nil, count: count)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("decfuzz-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var procs: [(Process, URL, Int)] = []
        for base in stride(from: 0, to: count, by: chunk) {
            let n = min(chunk, count - base)
            let bin = dir.appendingPathComponent("s\(base).bin"), txt = dir.appendingPathComponent("s\(base).txt")
            try Data(slots[(base * 16)..<((base + n) * 16)]).write(to: bin)
            FileManager.default.createFile(atPath: txt.path, contents: nil)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/ndisasm")
            p.arguments = ["-b", "\(bits)"] + (1..<n).map { "-s\($0 * 16)" } + [bin.path]
            p.standardOutput = try FileHandle(forWritingTo: txt)
            try p.run()
            procs.append((p, txt, base))
        }
        for (p, txt, base) in procs {
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "ndisasm failed")
            let data = [UInt8](try Data(contentsOf: txt))
            parse(data, base: base, into: &result)
        }
        return result
    }

    static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 0x30...0x39: return Int(c - 0x30)
        case 0x41...0x46: return Int(c - 0x41 + 10)
        case 0x61...0x66: return Int(c - 0x61 + 10)
        default: return nil
        }
    }

    static func parse(_ d: [UInt8], base: Int, into result: inout [NdisasmLine?]) {
        var i = 0
        var current = -1
        while i < d.count {
            var e = i
            while e < d.count && d[e] != 0x0A { e += 1 }
            if e > i {
                if d[i] == 0x20 {
                    // continuation: "         -HEX"
                    if current >= 0 {
                        var k = i
                        while k < e && d[k] == 0x20 { k += 1 }
                        if k < e && d[k] == 0x2D { k += 1 }
                        var h = 0
                        while k < e, hexValue(d[k]) != nil { h += 1; k += 1 }
                        result[current]!.length += h / 2
                    }
                } else {
                    var k = i, off = 0
                    while k < e, let v = hexValue(d[k]) { off = off * 16 + v; k += 1 }
                    while k < e && d[k] == 0x20 { k += 1 }
                    var h = 0
                    while k < e, hexValue(d[k]) != nil { h += 1; k += 1 }
                    while k < e && d[k] == 0x20 { k += 1 }
                    if off % 16 == 0 {
                        current = base + off / 16
                        result[current] = NdisasmLine(length: h / 2, text: String(decoding: d[k..<e], as: UTF8.self))
                    } else {
                        current = -1
                    }
                }
            }
            i = e + 1
        }
    }

    // MARK: classification of ndisasm's text

    enum Kind: Equatable { case invalid, prefixOnly, waitJoined, nonInteger, integer }

    static let prefixTokens: Set<String> = ["cs", "ds", "es", "ss", "fs", "gs", "o16", "o32", "o64", "a16", "a32", "a64",
                                            "lock", "rep", "repe", "repz", "repne", "repnz", "xacquire", "xrelease", "bnd", "wait"]
    static let stringOps: Set<String> = ["movsb", "movsw", "movsd", "movsq", "cmpsb", "cmpsw", "cmpsd", "cmpsq", "scasb", "scasw",
                                         "scasd", "scasq", "lodsb", "lodsw", "lodsd", "lodsq", "stosb", "stosw", "stosd", "stosq",
                                         "insb", "insw", "insd", "outsb", "outsw", "outsd"]
    static let integerOps: Set<String> = [
        "add", "adc", "sub", "sbb", "and", "or", "xor", "cmp", "test", "inc", "dec", "neg", "not", "mul", "imul", "div", "idiv",
        "rol", "ror", "rcl", "rcr", "shl", "sal", "shr", "sar", "shld", "shrd", "bt", "bts", "btr", "btc", "bsf", "bsr",
        "popcnt", "lzcnt", "tzcnt", "movbe", "xchg", "xadd", "cmpxchg", "cmpxchg8b", "cmpxchg16b", "mov", "movzx", "movsx",
        "movsxd", "bswap", "lea", "cbw", "cwde", "cdqe", "cwd", "cdq", "cqo", "lahf", "sahf", "pushf", "pushfw", "pushfd",
        "pushfq", "popf", "popfw", "popfd", "popfq", "push", "pop", "pusha", "pushaw", "pushad", "popa", "popaw", "popad",
        "clc", "stc", "cmc", "cld", "std", "cli", "sti", "in", "out", "hlt", "cpuid", "rdtsc", "rdtscp", "rdmsr", "wrmsr",
        "rdpmc", "lgdt", "lidt", "lldt", "ltr", "sgdt", "sidt", "sldt", "str", "lmsw", "smsw", "verr", "verw", "lar", "lsl",
        "arpl", "clts", "invd", "wbinvd", "invlpg", "swapgs", "syscall", "sysret", "sysenter", "sysexit", "int", "int1",
        "int3", "into", "iret", "iretw", "iretd", "iretq", "call", "ret", "retn", "retf", "retfw", "retfd", "retfq", "retq",
        "retw", "enter", "leave", "loop", "loope", "loopne", "loopz", "loopnz", "daa", "das", "aaa", "aas", "aam", "aad",
        "salc", "xlatb", "xlat", "bound", "les", "lds", "lss", "lfs", "lgs", "nop", "pause", "ud0", "ud1", "ud2",
    ]

    struct Parsed { var kind: Kind; var mnemonic: String; var operands: String; var lock: Bool }

    static func classify(_ text: String) -> Parsed {
        let toks = text.split(separator: " ", maxSplits: 64, omittingEmptySubsequences: true).map(String.init)
        var i = 0, lock = false, wait = false
        while i < toks.count, prefixTokens.contains(toks[i]) || toks[i].hasPrefix("rex") {
            if toks[i] == "lock" { lock = true }
            if toks[i] == "wait" { wait = true }
            i += 1
        }
        guard i < toks.count else { return Parsed(kind: wait && toks.count == 1 ? .nonInteger : .prefixOnly, mnemonic: "", operands: "", lock: lock) }
        let m = toks[i]
        let ops = toks[(i + 1)...].joined(separator: " ")
        var kind: Kind
        if m == "db" { kind = .invalid }
        else if wait { kind = .waitJoined }
        else if stringOps.contains(m) { kind = ops.isEmpty ? .integer : .nonInteger }   // movsd/cmpsd xmm are SSE
        else if integerOps.contains(m) || m.hasPrefix("j") || m.hasPrefix("set") || m.hasPrefix("cmov")
                    || m.hasPrefix("prefetch") || m.hasPrefix("hint_nop") {
            kind = ops.contains("mm") ? .nonInteger : .integer   // mov with mmx/xmm never appears; safety
        } else { kind = .nonInteger }
        return Parsed(kind: kind, mnemonic: m, operands: ops, lock: lock)
    }

    // MARK: recorded exceptions

    /// Opcode bytes after the prefixes (for the exception tables).
    static func opcode(_ b: ArraySlice<UInt8>, bits: Int) -> (op: [UInt8], modrm: UInt8?) {
        var k = b.startIndex
        while k < b.endIndex, CPU.isLegacyPrefix(b[k]) || (bits == 64 && b[k] & 0xF0 == 0x40) { k += 1 }
        guard k < b.endIndex else { return ([], nil) }
        if b[k] == 0x0F, k + 1 < b.endIndex {
            return ([0x0F, b[k + 1]], k + 2 < b.endIndex ? b[k + 2] : nil)
        }
        return ([b[k]], k + 1 < b.endIndex ? b[k + 1] : nil)
    }

    /// Length disagreements where ndisasm is right per the SDM and the engine is wrong.
    /// Returns a label, or nil. A disagreement not matched here or below fails the test.
    static func knownEngineBug(_ b: ArraySlice<UInt8>, bits: Int) -> String? {
        let (op, modrm) = opcode(b, bits: bits)
        // MOV CR/DR (0F 20-23): "the 2 bits in the mod field are ignored" (SDM Vol. 2B, MOV—Move
        // to/from Control Registers and MOV—Move to/from Debug Registers): always 3 bytes after
        // the prefixes. The engine runs the full ModRM decoder (System.swift movCRDR ->
        // decodeModRM), fetching SIB/displacement bytes when mod != 3.
        if op.count == 2, (0x20...0x23).contains(op[1]), let m = modrm, m >> 6 != 3 { return "MOV CR/DR with mod != 3 (engine reads SIB/disp)" }
        return nil
    }

    /// Disagreements where ndisasm is wrong (or reports something the engine rightly treats
    /// differently). Returns a label, or nil.
    static func ndisasmFault(_ p: Parsed, _ b: ArraySlice<UInt8>, bits: Int) -> String? {
        // ndisasm prints 9B (WAIT/FWAIT) and the next instruction as one line; WAIT is an
        // instruction of its own (SDM Vol. 2B WAIT/FWAIT, "9B", and the FSTSW/FSTCW notes:
        // the assembler emits two instructions). The engine's length is 1.
        if p.kind == .waitJoined { return "9B WAIT joined with the next instruction" }
        return nil
    }

    /// ndisasm decodes an integer instruction that the engine treats as #UD: why that is right.
    static func engineUDReason(_ p: Parsed, bits: Int) -> String? {
        let lockable: Set<String> = ["add", "adc", "and", "btc", "btr", "bts", "cmpxchg", "cmpxchg8b", "cmpxchg16b", "dec",
                                     "inc", "neg", "not", "or", "sbb", "sub", "xor", "xadd", "xchg"]
        let destination = p.operands.split(separator: ",").first.map(String.init) ?? ""
        if p.lock && (!lockable.contains(p.mnemonic) || !destination.contains("[")) {
            return "LOCK on a non-lockable instruction or register destination (SDM Vol. 2A LOCK: #UD)"
        }
        if bits == 16 && ["arpl", "lar", "lsl", "sldt", "str", "lldt", "ltr", "verr", "verw"].contains(p.mnemonic) {
            return "not recognised in real-address mode (SDM Vol. 2A/2B, Real-Address Mode Exceptions: #UD)"
        }
        if ["ud0", "ud1", "ud2"].contains(p.mnemonic) { return "UD0/UD1/UD2 (SDM Vol. 2B UD: always #UD)" }
        if p.mnemonic == "mov" && (p.operands.contains("segr6") || p.operands.contains("segr7") || p.operands.hasPrefix("cs,")) {
            return "MOV Sreg with reserved sreg or CS destination (SDM Vol. 2B MOV: #UD)"
        }
        if p.mnemonic == "mov", let r = p.operands.split(separator: ",").map(String.init).first(where: { $0.hasPrefix("cr") || $0.hasPrefix("dr") }),
           !["cr0", "cr2", "cr3", "cr4", "cr8", "dr0", "dr1", "dr2", "dr3", "dr4", "dr5", "dr6", "dr7"].contains(r) || (bits != 64 && r == "cr8") {
            return "MOV CR/DR with a reserved register (SDM Vol. 2B MOV CR/DR: #UD)"
        }
        if bits != 64 && ["syscall", "sysret"].contains(p.mnemonic) {
            return "SYSCALL/SYSRET outside 64-bit mode (SDM Vol. 2B SYSCALL/SYSRET: #UD on Intel)"
        }
        if bits == 64 && p.mnemonic == "salc" {
            return "SALC (D6) in 64-bit mode (undocumented; SDM Vol. 2D Table A-2 leaves D6 empty, #UD in 64-bit mode)"
        }
        if p.mnemonic == "jmpe" {
            return "JMPE (0F B8 without F3) is IA-64 only (SDM Vol. 2B POPCNT: 0F B8 needs F3; Table A-3 otherwise reserved)"
        }
        return nil
    }

    // MARK: engine

    /// One VM per mode; each sequence runs as one instruction from a fresh register state.
    final class Engine {
        let hv: RefHypervisor
        let vm: any VirtualMachine
        let vcpu: any VirtualCPU
        let ram: GuestMemory
        let sregs: SpecialRegisters
        let regs: Regs
        let bits: Int
        var ref: RefVCPU { vcpu as! RefVCPU }
        static let codeBase = 0x10000
        static let gdt: [UInt64] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF]

        init(bits: Int) throws {
            self.bits = bits
            hv = RefHypervisor()
            vm = try hv.createVM()
            ram = try vm.allocateGuestMemory(size: 0x100000)
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x100000, userspaceAddress: ram.hostAddress))
            vcpu = try vm.createVCPU(id: 0)
            var s = try vcpu.sregs()
            if bits == 16 {
                let seg = Segment.realMode(selector: 0x1000)
                s.ds = seg; s.es = seg; s.ss = seg; s.fs = seg; s.gs = seg
                s.cs = Segment.realMode(selector: 0x1000, code: true)
            } else {
                let code = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 8, type: 0xB, db: bits == 32 ? 1 : 0,
                                   l: bits == 64 ? 1 : 0, g: 1)
                let data = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x10, type: 0x3, db: 1, g: 1)
                s.cs = code; s.ds = data; s.es = data; s.ss = data; s.fs = data; s.gs = data
                s.cr0 = 0x11
                s.efer = 1   // SCE (InstructionLength assumes it)
                if bits == 64 { s.cr3 = 0x1000; s.cr4 = 0x20; s.efer = 0x501; s.cr0 = 0x8000_0011 }
                s.gdt = DescriptorTable(base: 0x6000, limit: 23)
                s.idt = DescriptorTable(base: 0, limit: 0)
            }
            sregs = s
            var r = Regs()
            r.rip = bits == 16 ? 0 : UInt64(Engine.codeBase)
            r.rsp = bits == 16 ? 0xFFF0 : 0x80000
            r.rflags = 2
            regs = r
        }

        func restoreTables() {
            if bits == 64 {
                ram.write([0x07, 0x20, 0, 0, 0, 0, 0, 0], at: 0x1000)
                ram.write([0x87, 0, 0, 0, 0, 0, 0, 0], at: 0x2000)
            }
            if bits != 16 {
                var g = [UInt8]()
                for d in Engine.gdt { for k in 0..<8 { g.append(UInt8(truncatingIfNeeded: d >> (8 * k))) } }
                ram.write(g, at: 0x6000)
            }
        }

        enum Outcome { case retired(rip: UInt64), notRetired }

        func runOne(_ bytes: ArraySlice<UInt8>) throws -> Outcome {
            restoreTables()
            ram.write(Array(bytes) + [0xF4], at: Engine.codeBase)
            let c = ref.cpu
            c.ioResume = false; c.completionData = []; c.ioData = []; c.pendingIOOut = nil
            ref.pendingExits = []; ref.resumeRIP = ~0
            try vcpu.setSregs(sregs)
            try vcpu.setRegs(regs)
            let before = ref.instructionsRetired
            let budget = RunBudget(wallClockNanoseconds: 1_000_000_000, instructions: 1)
            var e = try vcpu.run(budget: budget)
            for _ in 0..<3 {
                if ref.instructionsRetired != before { break }
                if case .io(let io) = e {
                    if io.direction == .in { vcpu.completeIO([UInt8](repeating: 0, count: Int(io.size) * Int(io.count))) }
                } else if case .mmio(let m) = e, !m.isWrite {
                    vcpu.completeMMIORead([UInt8](repeating: 0, count: Int(m.length)))
                } else { break }
                e = try vcpu.run(budget: budget)
            }
            if ref.instructionsRetired == before { return .notRetired }
            return .retired(rip: try vcpu.regs().rip)
        }
    }

    /// Opcodes that may set RIP to something other than the next instruction.
    static func transfersControl(_ b: ArraySlice<UInt8>, bits: Int) -> Bool {
        let (op, modrm) = opcode(b, bits: bits)
        guard let o = op.first else { return false }
        if op.count == 2 { return (0x80...0x8F).contains(op[1]) || [0x05, 0x07, 0x34, 0x35].contains(op[1]) }
        switch o {
        case 0x70...0x7F, 0x9A, 0xC2, 0xC3, 0xCA, 0xCB, 0xCC, 0xCD, 0xCE, 0xCF, 0xE0...0xE3, 0xE8...0xEB, 0xF1: return true
        case 0xFF: return modrm.map { (2...5).contains(($0 >> 3) & 7) } ?? false
        default: return false
        }
    }

    // MARK: the test

    struct Summary: CustomStringConvertible {
        var bits = 0, sequences = 0, ndisasmInteger = 0, agreed = 0, engineUD = 0, disagreements = 0
        var knownEngineBugs = 0, ndisasmFaults = 0, retiredChecked = 0, transfers = 0, prefixOnly = 0
        var description: String {
            "decoder fuzz \(bits)-bit: sequences \(sequences), ndisasm-valid integer \(ndisasmInteger), agreed \(agreed), " +
            "engine #UD \(engineUD), disagreements \(disagreements) (known engine bugs \(knownEngineBugs), ndisasm faults \(ndisasmFaults), new \(disagreements - knownEngineBugs - ndisasmFaults)); " +
            "ndisasm prefix-only lines (not compared) \(prefixOnly); engine run: retired and RIP checked \(retiredChecked), control transfers \(transfers)"
        }
    }

    static func fuzz(bits: Int) throws -> Summary {
        let slots = sequences(bits: bits)
        let nd = try ndisasm(slots, bits: bits)
        let engine = try Engine(bits: bits)
        var s = Summary(); s.bits = bits; s.sequences = count
        var udReasons: [String: Int] = [:]
        var udMnemonics: [String: Int] = [:]
        var labels: [String: (Int, String)] = [:]
        var failures: [String] = []
        func hex(_ b: ArraySlice<UInt8>) -> String { b.map { String(format: "%02X", $0) }.joined(separator: " ") }
        for i in 0..<count {
            let seq = slots[(i * 16)..<(i * 16 + 15)]
            let mine = InstructionLength.decode(Array(seq), bits: bits)

            // (1) against ndisasm
            if let line = nd[i] {
                let p = classify(line.text)
                if p.kind == .prefixOnly { s.prefixOnly += 1 }
                let valid = p.kind == .integer || p.kind == .waitJoined
                if valid && line.length <= 15 {
                    s.ndisasmInteger += 1
                    switch mine {
                    case .length(let n) where n == line.length:
                        s.agreed += 1
                    case .undefined where p.kind == .integer:
                        s.engineUD += 1
                        udMnemonics[p.mnemonic, default: 0] += 1
                        if let r = engineUDReason(p, bits: bits) { udReasons[r, default: 0] += 1 }
                        else { failures.append("\(bits)-bit [\(hex(seq))]: engine #UD, ndisasm \"\(line.text)\" (\(line.length) bytes)") }
                    default:
                        s.disagreements += 1
                        let got = "\(mine)"
                        if let l = knownEngineBug(seq, bits: bits) {
                            s.knownEngineBugs += 1
                            labels["engine bug: " + l, default: (0, "")].0 += 1
                            if labels["engine bug: " + l]!.1.isEmpty {
                                labels["engine bug: " + l]!.1 = "[\(hex(seq))] ndisasm \(line.length) \"\(line.text)\", engine \(got)"
                            }
                        } else if let l = ndisasmFault(p, seq, bits: bits) {
                            s.ndisasmFaults += 1
                            labels["ndisasm: " + l, default: (0, "")].0 += 1
                            if labels["ndisasm: " + l]!.1.isEmpty {
                                labels["ndisasm: " + l]!.1 = "[\(hex(seq))] ndisasm \(line.length) \"\(line.text)\", engine \(got)"
                            }
                        } else {
                            failures.append("\(bits)-bit [\(hex(seq))]: ndisasm \(line.length) \"\(line.text)\", engine \(got)")
                        }
                    }
                }
            }

            // (2) the executing path
            let out = try engine.runOne(seq)
            if case .retired(let rip) = out {
                let start: UInt64 = bits == 16 ? 0 : UInt64(Engine.codeBase)
                if case .length(let n) = mine, rip == start + UInt64(n) {
                    s.retiredChecked += 1
                } else if transfersControl(seq, bits: bits) {
                    s.transfers += 1
                } else {
                    failures.append("\(bits)-bit [\(hex(seq))]: engine retired with RIP \(String(rip - start, radix: 16)) past start, InstructionLength \(mine)")
                }
            }
        }
        print(s)
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) { print("  \(k): \(v.0), e.g. \(v.1)") }
        for (k, v) in udReasons.sorted(by: { $0.key < $1.key }) { print("  engine #UD, \(k): \(v)") }
        print("  engine #UD mnemonics: " + udMnemonics.sorted(by: { $0.value > $1.value }).map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for f in failures.prefix(40) { print("  FAIL " + f) }
        let newFailures = failures.count
        #expect(newFailures == 0, "new decoder disagreements in \(bits)-bit mode (see FAIL lines)")
        return s
    }

    /// Known engine bug, invisible to the ndisasm comparison (ndisasm prints `db 0x0f` for
    /// these): MOV CR/DR ignores ModRM.mod (SDM Vol. 2B, MOV—Move to/from Control Registers:
    /// "the 2 bits in the mod field are ignored"), so 0F 20 05 is `mov ebp, cr0`, 3 bytes.
    /// The engine (System.swift movCRDR -> decodeModRM) and InstructionLength fetch a disp32.
    /// SDM Vol. 2B MOV to/from CR/DR: mod is ignored, no SIB or displacement follows.
    @Test func movCRIgnoresMod() {
        #expect(InstructionLength.decode([0x0F, 0x20, 0x05, 0x11, 0x22, 0x33, 0x44, 0x90], bits: 32) == .length(3))
        #expect(InstructionLength.decode([0x0F, 0x22, 0x44, 0x11, 0x22, 0x90], bits: 64) == .length(3))
    }

    @Test func decoderFuzz16() throws { _ = try DecoderFuzzTests.fuzz(bits: 16) }
    @Test func decoderFuzz32() throws { _ = try DecoderFuzzTests.fuzz(bits: 32) }
    @Test func decoderFuzz64() throws { _ = try DecoderFuzzTests.fuzz(bits: 64) }
}
