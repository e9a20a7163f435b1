import Foundation
import Testing
import KVMABI

/// Runs of the long fuzzers: REF_FUZZ_RUNS (e.g. 5000); the short versions always run.
let longFuzzRuns = ProcessInfo.processInfo.environment["REF_FUZZ_RUNS"].flatMap(Int.init)

/// Long fuzz run, only with REF_FUZZ_RUNS set (e.g. 5000).
@Suite struct FuzzTests {
    @Test(.enabled(if: longFuzzRuns != nil, "long fuzz: set REF_FUZZ_RUNS=N to run it (the short fuzz runs always)"))
    func longFuzz() throws {
        let n = try #require(longFuzzRuns)
        try InstructionTests.fuzz(runs: n, seed: 0x1234_5678_9ABC_DEF1)
    }
}

/// Random machine state: all of RAM random (so GDT, IDT, TSS and page tables are garbage),
/// random descriptor-table registers and control bits. Nothing may trap the host.
@Suite struct StateFuzzTests {
    static func run(runs: Int, seed: UInt64) throws {
        var x = seed
        func next() -> UInt64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
        for i in 0..<runs {
            let mode: Snippet.Mode = [.real, .prot32, .long64][i % 3]
            let s = try Snippet(mode, "hlt", ramSize: 0x40000)
            var ram = [UInt8](repeating: 0, count: 0x40000)
            for k in stride(from: 0, to: ram.count, by: 8) {
                let v = next()
                for j in 0..<8 { ram[k + j] = UInt8(truncatingIfNeeded: v >> (8 * j)) }
            }
            if mode == .long64 {
                // keep the identity map so that 64-bit code runs at all
                ram.replaceSubrange(0x1000..<0x1008, with: [0x07, 0x20, 0, 0, 0, 0, 0, 0])
                ram.replaceSubrange(0x2000..<0x2008, with: [0x87, 0, 0, 0, 0, 0, 0, 0])
            }
            s.ram.write(ram, at: 0)
            var sr = try s.vcpu.sregs()
            sr.gdt = DescriptorTable(base: next() & 0x3FFFF, limit: UInt16(truncatingIfNeeded: next()))
            sr.idt = DescriptorTable(base: next() & 0x3FFFF, limit: UInt16(truncatingIfNeeded: next()))
            sr.tr = Segment(base: next() & 0x3FFFF, limit: UInt32(truncatingIfNeeded: next() & 0xFFFF), selector: 0x28, type: 0xB, s: 0)
            sr.ldt = Segment(base: next() & 0x3FFFF, limit: UInt32(truncatingIfNeeded: next() & 0xFFFF), selector: 0x30, type: 2, s: 0)
            try? s.vcpu.setSregs(sr)
            var r = try s.regs()
            var g = r.gprs
            for k in 0..<16 where k != 4 { g[k] = next() >> (next() & 63) }
            r.gprs = g
            r.rip = mode == .real ? next() & 0xFFFF : Snippet.codeBase + (next() & 0xFFFF)
            r.rflags = 2 | (next() & 0x3F_7FD5 & ~UInt64(0x100))
            try s.vcpu.setRegs(r)
            for _ in 0..<6 {
                guard let e = try? s.run(20_000) else { break }
                if case .io(let io) = e, io.direction == .in { s.vcpu.completeIO([UInt8](repeating: 0x5A, count: Int(io.size) * Int(io.count))) }
                if case .mmio(let m) = e, !m.isWrite { s.vcpu.completeMMIORead([UInt8](repeating: 0xA5, count: Int(m.length))) }
                if e == .shutdown || e == .timeout { break }
            }
        }
    }

    @Test func garbageSystemState() throws { try StateFuzzTests.run(runs: 60, seed: 0xDEAD_BEEF_1234_5678) }

    @Test(.enabled(if: longFuzzRuns != nil, "long fuzz: set REF_FUZZ_RUNS=N to run it (the short fuzz runs always)"))
    func longGarbageSystemState() throws {
        let n = try #require(longFuzzRuns)
        try StateFuzzTests.run(runs: n, seed: 0x0123_4567_89AB_CDEF)
    }
}
