import Foundation
import KVMABI
@testable import RefHypervisor

/// A test-only loader for ABI v1 payloads (guests/ABI-CONTRACT.md) driving the reference
/// engine through the KVMABI protocols only, plus the userspace side of the ports/windows.
struct PayloadHeader {
    var entry: UInt32, ramSize: UInt32, group: UInt8, mode: UInt8, expectedExit: UInt8, expectedStatus: UInt8
    var flags: UInt32, windows: [(gpa: UInt64, size: UInt32, kind: UInt8, fill: UInt8)]
    var budget: UInt64, name: String

    init?(_ b: [UInt8]) {
        guard b.count >= 0x140, Array(b[0..<7]) == Array("KVMUPLD".utf8) else { return nil }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }
        entry = u32(0x0C); ramSize = u32(0x10); group = b[0x14]; mode = b[0x15]
        expectedExit = b[0x16]; expectedStatus = b[0x17]; flags = u32(0x18)
        let n = Int(u32(0x1C))
        windows = (0..<min(n, 8)).map { i in
            let o = 0xC0 + 16 * i
            return (u64(o), u32(o + 8), b[o + 12], b[o + 13])
        }
        budget = u64(0x20)
        name = String(decoding: b[0x40..<0x60].prefix { $0 != 0 }, as: UTF8.self)
    }
}

struct CheckRecord: Equatable { var line: UInt32; var kind: UInt8; var expected: UInt64; var actual: UInt64; var aux: UInt64; var message: String }

struct PayloadOutcome {
    var status: Int? = nil
    var shutdown = false
    var checks: [CheckRecord] = []
    var exits: [String] = []
    var console = ""
    var error: String? = nil
    var regs = Regs()
    var retired: UInt64 = 0
    var passed: Bool = false
    var trace: [VMXTraceRecord] = []
    var failures: [CheckRecord] { checks.filter { $0.kind != 1 && $0.kind != 2 } }
}

enum PayloadRunner {
    static let guests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("guests")

    /// Assembles guests/<group>/<name>.asm with nasm into a temp file.
    static func assemble(_ group: String, _ name: String) throws -> [UInt8] {
        let src = guests.appendingPathComponent(group).appendingPathComponent(name + ".asm")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ref-\(group)-\(name)-\(getpid()).bin")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/nasm")
        p.arguments = ["-f", "bin", "-I", guests.appendingPathComponent("include").path + "/", src.path, "-o", out.path]
        let pipe = Pipe()
        p.standardError = pipe
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            let msg = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NSError(domain: "nasm", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: msg])
        }
        defer { try? FileManager.default.removeItem(at: out) }
        return [UInt8](try Data(contentsOf: out))
    }

    /// Assembles an inline nasm source (with the guests/include files).
    static func assembleSource(_ text: String, name: String) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ref-src-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = dir.appendingPathComponent(name + ".asm")
        let out = dir.appendingPathComponent(name + ".bin")
        try text.write(to: src, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/nasm")
        p.arguments = ["-f", "bin", "-I", guests.appendingPathComponent("include").path + "/", src.path, "-o", out.path]
        let pipe = Pipe()
        p.standardError = pipe
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            let msg = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NSError(domain: "nasm", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: msg])
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        return [UInt8](try Data(contentsOf: out))
    }

    static func payloadNames(_ group: String) -> [String] {
        let dir = guests.appendingPathComponent(group)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return files.filter { $0.hasSuffix(".asm") }.map { String($0.dropLast(4)) }.sorted()
    }

    static func run(_ bin: [UInt8], trace: Bool = false, maxExits: Int = 200_000) -> PayloadOutcome {
        var out = PayloadOutcome()
        guard let h = PayloadHeader(bin) else { out.error = "bad header"; return out }
        do {
            let hv = RefHypervisor()
            let vm = try hv.createVM()
            defer { vm.close() }
            let ram = try vm.allocateGuestMemory(size: Int(h.ramSize))
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(h.ramSize), userspaceAddress: ram.hostAddress))
            ram.write(bin, at: 0x8000)
            var windows: [(gpa: UInt64, size: UInt32, kind: UInt8, data: [UInt8])] = []
            var slot: UInt32 = 1
            for w in h.windows {
                if w.kind == 3 {
                    let m = try vm.allocateGuestMemory(size: Int(w.size))
                    m.fill(w.fill)
                    try vm.setUserMemoryRegion(MemoryRegion(slot: slot, flags: .readOnly, guestPhysicalAddress: w.gpa, memorySize: UInt64(w.size), userspaceAddress: m.hostAddress))
                    slot += 1
                }
                windows.append((w.gpa, w.size, w.kind, [UInt8](repeating: w.kind == 2 ? 0xFF : w.fill, count: Int(w.size))))
            }
            if h.flags & 1 != 0 { try vm.createIRQChip() }
            if h.flags & 2 != 0 { try vm.createPIT2() }
            let vcpu = try vm.createVCPU(id: 0)
            let ref = vcpu as! RefVCPU
            ref.vmxTraceEnabled = trace
            try vcpu.setCPUID(try hv.supportedCPUID())
            var s = try vcpu.sregs()
            for seg in [\SpecialRegisters.ds, \.es, \.fs, \.gs, \.ss] { s[keyPath: seg] = Segment.realMode(selector: 0) }
            s.cs = Segment.realMode(selector: 0, code: true)
            s.gdt = DescriptorTable(base: 0, limit: 0xFFFF); s.idt = DescriptorTable(base: 0, limit: 0xFFFF)
            s.cr0 = 0x6000_0010; s.cr3 = 0; s.cr4 = 0; s.efer = 0
            try vcpu.setSregs(s)
            var r = Regs()
            r.rip = 0x8000 + UInt64(h.entry); r.rflags = 2
            try vcpu.setRegs(r)
            var latch: [UInt8] = [0x11, 0x22, 0x33, 0x44]
            var pendingVector: UInt8? = nil
            var budget = h.budget
            exitLoop: for _ in 0..<maxExits {
                if let v = pendingVector, vcpu.readyForInterruptInjection {
                    try vcpu.interrupt(vector: v)
                    pendingVector = nil
                    vcpu.requestInterruptWindow = false
                }
                let before = ref.instructionsRetired
                let e = try vcpu.run(budget: RunBudget(wallClockNanoseconds: 1_000_000_000, instructions: max(budget, 1)))
                let used = ref.instructionsRetired - before
                budget = budget > used ? budget - used : 0
                switch e {
                case .io(let io):
                    let port = io.port
                    if io.direction == .out {
                        let val = io.data.prefix(Int(io.size)).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
                        switch port {
                        case 0xE0...0xE3:
                            for k in 0..<Int(io.size) where Int(port - 0xE0) + k < 4 { latch[Int(port - 0xE0) + k] = io.data[k] }
                        case 0xE4:
                            let op = val >> 24, arg = val & 0xFFFFFF
                            switch op {
                            case 1:
                                pendingVector = UInt8(arg & 0xFF)
                                if !vcpu.readyForInterruptInjection { vcpu.requestInterruptWindow = true }
                            case 2: try vcpu.nmi()
                            case 3: try vm.irqLine(UInt32(arg & 0xFFFF), level: true)
                            case 4: try vm.irqLine(UInt32(arg & 0xFFFF), level: false)
                            case 5: try vm.irqLine(UInt32(arg & 0xFFFF), level: true); try vm.irqLine(UInt32(arg & 0xFFFF), level: false)
                            default: break
                            }
                        case 0xE8:
                            let a = Int(val & 0xFFFF_FFFF)
                            let rec = ram.read(at: a, count: 40)
                            func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(rec[o + $1]) << (8 * $1) } }
                            let line = (0..<4).reduce(UInt32(0)) { $0 | UInt32(rec[$1]) << (8 * $1) }
                            let msgAddr = Int((0..<4).reduce(UInt32(0)) { $0 | UInt32(rec[32 + $1]) << (8 * $1) })
                            var msg = ""
                            if msgAddr != 0 { msg = String(decoding: ram.read(at: msgAddr, count: 200).prefix { $0 != 0 }, as: UTF8.self) }
                            out.checks.append(CheckRecord(line: line, kind: rec[4], expected: u64(8), actual: u64(16), aux: u64(24), message: msg))
                        case 0xE9:
                            out.console += String(UnicodeScalar(UInt8(val & 0xFF)))
                        case 0xF4:
                            out.status = Int(val & 0xFF)
                            break exitLoop
                        default: break
                        }
                    } else {
                        var data: [UInt8] = []
                        for _ in 0..<Int(io.count) {
                            for k in 0..<Int(io.size) {
                                if (0xE0...0xE3).contains(port) && Int(port - 0xE0) + k < 4 { data.append(latch[Int(port - 0xE0) + k]) }
                                else { data.append(0xFF) }
                            }
                        }
                        vcpu.completeIO(data)
                    }
                    out.exits.append("io \(io.direction == .in ? "in" : "out") \(String(port, radix: 16))")
                case .mmio(let m):
                    out.exits.append("mmio \(m.isWrite ? "w" : "r") \(String(m.physicalAddress, radix: 16)) \(m.length)")
                    if let i = windows.firstIndex(where: { m.physicalAddress >= $0.gpa && m.physicalAddress - $0.gpa < UInt64($0.size) }) {
                        let off = Int(m.physicalAddress - windows[i].gpa)
                        if m.isWrite {
                            if windows[i].kind == 0 { for k in 0..<m.data.count where off + k < windows[i].data.count { windows[i].data[off + k] = m.data[k] } }
                        } else {
                            vcpu.completeMMIORead((0..<Int(m.length)).map { off + $0 < windows[i].data.count ? windows[i].data[off + $0] : 0xFF })
                        }
                    } else if !m.isWrite {
                        vcpu.completeMMIORead([UInt8](repeating: 0xFF, count: Int(m.length)))
                    }
                case .hlt:
                    out.exits.append("hlt")
                case .irqWindowOpen:
                    out.exits.append("irqwin")
                case .shutdown:
                    out.shutdown = true
                    out.exits.append("shutdown")
                    break exitLoop
                case .timeout:
                    out.error = "timeout"
                    break exitLoop
                default:
                    out.error = "unexpected exit \(e)"
                    break exitLoop
                }
            }
            out.regs = try vcpu.regs()
            out.retired = ref.instructionsRetired
            out.trace = ref.takeVMXTrace()
            if h.expectedExit == 1 { out.passed = out.shutdown && out.failures.isEmpty }
            else { out.passed = out.status == Int(h.expectedStatus) && out.failures.isEmpty && out.error == nil }
        } catch {
            out.error = "\(error)"
        }
        return out
    }
}
