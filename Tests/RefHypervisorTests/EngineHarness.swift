import Foundation
import KVMABI
@testable import RefHypervisor

/// Runs a nasm snippet directly in a chosen mode on the reference engine (no payload ABI),
/// through the KVMABI protocols. Code is loaded at 0x10000; 64-bit mode uses a 1 GiB
/// identity page at PML4 0x1000 / PDPT 0x2000; the snippet ends with HLT (KVM_EXIT_HLT).
final class Snippet {
    let hv: RefHypervisor
    let vm: any VirtualMachine
    let vcpu: any VirtualCPU
    let ram: GuestMemory
    var ref: RefVCPU { vcpu as! RefVCPU }
    static let codeBase: UInt64 = 0x10000

    enum Mode: Sendable { case real, prot32, long64 }

    init(_ mode: Mode, _ asm: String, ramSize: Int = 0x100000, irqchip: Bool = false,
         injectedFaults: Set<InjectedFault> = []) throws {
        hv = RefHypervisor(injectedFaults: injectedFaults)
        vm = try hv.createVM()
        ram = try vm.allocateGuestMemory(size: ramSize)
        try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(ramSize), userspaceAddress: ram.hostAddress))
        if irqchip { try vm.createIRQChip() }
        vcpu = try vm.createVCPU(id: 0)
        let bits = mode == .real ? 16 : (mode == .prot32 ? 32 : 64)
        let code = try Snippet.assemble("bits \(bits)\norg 0x\(String(Snippet.codeBase, radix: 16))\n" + asm)
        ram.write(code, at: Int(Snippet.codeBase))
        var s = try vcpu.sregs()
        switch mode {
        case .real:
            let seg = Segment.realMode(selector: 0x1000)
            s.ds = seg; s.es = seg; s.ss = seg; s.fs = seg; s.gs = seg
            s.cs = Segment.realMode(selector: 0x1000, code: true)
        case .prot32, .long64:
            let code = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 8, type: 0xB, db: mode == .prot32 ? 1 : 0,
                               l: mode == .long64 ? 1 : 0, g: 1)
            let data = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x10, type: 0x3, db: 1, g: 1)
            s.cs = code; s.ds = data; s.es = data; s.ss = data; s.fs = data; s.gs = data
            s.cr0 = 0x11
            if mode == .long64 {
                ram.write([0x07, 0x20, 0, 0, 0, 0, 0, 0], at: 0x1000)           // PML4[0] -> PDPT (user)
                ram.write([0x87, 0, 0, 0, 0, 0, 0, 0], at: 0x2000)              // PDPT[0]: 1 GiB user page
                s.cr3 = 0x1000; s.cr4 = 0x20; s.efer = 0x500; s.cr0 = 0x8000_0011
            }
            // GDT at 0x6000: null, code (0x08), data (0x10).
            let codeDesc: UInt64 = mode == .long64 ? 0x00AF_9A00_0000_FFFF : 0x00CF_9A00_0000_FFFF
            for (i, d) in [UInt64(0), codeDesc, 0x00CF_9200_0000_FFFF].enumerated() {
                ram.write((0..<8).map { UInt8(truncatingIfNeeded: d >> (8 * $0)) }, at: 0x6000 + 8 * i)
            }
            s.gdt = DescriptorTable(base: 0x6000, limit: 23)
            s.idt = DescriptorTable(base: 0, limit: 0)
        }
        try vcpu.setSregs(s)
        var r = Regs()
        r.rip = mode == .real ? 0 : Snippet.codeBase
        r.rsp = mode == .real ? 0xFFF0 : 0x80000
        r.rflags = 2
        try vcpu.setRegs(r)
    }

    /// Runs until an exit other than those the closure completes; returns it.
    @discardableResult
    func run(_ budget: UInt64 = 1_000_000) throws -> Exit {
        try vcpu.run(budget: RunBudget(wallClockNanoseconds: 1_000_000_000, instructions: budget))
    }

    func regs() throws -> Regs { try vcpu.regs() }

    static func assemble(_ text: String) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ref-snip-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = dir.appendingPathComponent("s.asm"), out = dir.appendingPathComponent("s.bin")
        try text.write(to: src, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/nasm")
        p.arguments = ["-f", "bin", src.path, "-o", out.path]
        let pipe = Pipe()
        p.standardError = pipe
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            let err = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            // Name the offending lines themselves: the file is gone when the test reports.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let quoted = err.split(separator: "\n").compactMap { l -> String? in
                guard let r = l.firstRange(of: ".asm:"), let n = Int(l[r.upperBound...].prefix { $0.isNumber }), n >= 1, n <= lines.count else { return nil }
                return "  line \(n): \(lines[n - 1])"
            }
            throw NSError(domain: "nasm", code: 1, userInfo: [NSLocalizedDescriptionKey: err + quoted.joined(separator: "\n")])
        }
        return [UInt8](try Data(contentsOf: out))
    }
}

/// RFLAGS arithmetic bits for readable expectations.
enum FL {
    static let cf: UInt64 = 1, pf: UInt64 = 4, af: UInt64 = 0x10, zf: UInt64 = 0x40, sf: UInt64 = 0x80, of: UInt64 = 0x800
    static let arith: UInt64 = 0x8D5
}
