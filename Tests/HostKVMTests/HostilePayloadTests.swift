import Foundation
import Testing

/// Payloads that ask the host for too much, run through the real `kvm-unit` in a child
/// process (a trap must show as the child's status, not kill the tests), on the reference
/// engine always and on /dev/kvm when it is usable.
@Suite("Hostile payloads cannot harm the host")
struct HostilePayloadTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static var backends: [String] { HostKVM.usable ? ["ref", "kvm"] : ["ref"] }

    /// Eight `ram` windows of the largest size ABI v1 allows (32 GiB in all), a byte
    /// written and read at the far end of each. Before the windows were backed sparsely
    /// this allocated 32 GiB up front and died in "failed to allocate".
    static let hugeWindows = """
        %assign k 0
        %rep 8
        %xdefine PL_WINDOW%[k] (k + 1) * 0x100000000, 0xFFFFF000, WIN_RAM, 0x11
        %assign k k + 1
        %endrep
        %include "payload.inc"
        PAYLOAD huge_windows, exits, long64, "eight maximal ram windows, one byte touched in each"
        payload_main:
        %assign k 1
        %rep 8
            MAP_4K k * 0x100000000 + 0xFFFFE000, k * 0x100000000 + 0xFFFFE000 + (PTE_P | PTE_W)
            mov rbx, k * 0x100000000 + 0xFFFFEFFF
            mov byte [rbx], k
            movzx eax, byte [rbx]
            CHECK_EQ eax, k, "byte written at the end of a maximal window reads back"
            movzx eax, byte [rbx - 1]
            CHECK_EQ eax, 0x11, "an untouched byte reads as the fill"
        %assign k k + 1
        %endrep
            PAYLOAD_DONE
        """

    /// More exits than the harness allows (`PayloadRunner.maximumExits`, 200,000), each a
    /// byte to the debug console.
    static let exitCap = """
        %include "payload.inc"
        PAYLOAD exit_cap, exits, long64, "more console exits than the harness allows in one run"
        payload_main:
            mov ecx, 250000
            mov al, '.'
        .loop:
            out 0xE9, al
            dec ecx
            jnz .loop
            PAYLOAD_DONE
        """

    /// More check records than a run may send (`PayloadRunner.maximumChecks`, 10,000).
    static let checkFlood = """
        %include "payload.inc"
        PAYLOAD check_flood, exits, long64, "more check records than a run may send"
        payload_main:
            mov r12d, 12000
        .loop:
            PASS "the same check again"
            dec r12d
            jnz .loop
            PAYLOAD_DONE
        """

    @Test("a run that sends too many check records ends in an error after the first 10,000", arguments: backends)
    func checkRecordsAreBounded(backend: String) throws {
        try Scratch.with { dir in
            let bin = try Scratch.assemble(Self.checkFlood, name: "check_flood", in: dir)
            let r = try Scratch.kvmUnit(["run", bin, "--backend", backend])
            #expect(r.status == 1)
            #expect(r.stdout.contains("FAIL: exits.check_flood [\(backend)]: ended with error: more than 10000 check records"), "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("FAIL exits.check_flood [\(backend)] (10001 checks"), "\(r.stdout)")
        }
    }

    @Test("eight maximal ram windows run under a 1 GiB address-space limit", arguments: backends)
    func hugeWindowsUnderAddressSpaceLimit(backend: String) throws {
        try Scratch.with { dir in
            let bin = try Scratch.assemble(Self.hugeWindows, name: "huge_windows", in: dir)
            let r = try Scratch.kvmUnit(["run", bin, "--backend", backend], addressSpaceLimit: 1 << 30)
            #expect(r.status == 0, "kvm-unit exited \(r.status)\n\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("PASS exits.huge_windows [\(backend)] (16 checks)"), "\(r.stdout)\(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
    }

    @Test("a run at the exit cap keeps a bounded trace and console and says they were cut", arguments: backends)
    func exitCapTraceIsBounded(backend: String) throws {
        try Scratch.with { dir in
            let bin = try Scratch.assemble(Self.exitCap, name: "exit_cap", in: dir)
            let json = dir.appendingPathComponent("report.json").path
            let r = try Scratch.kvmUnit(["run", bin, "--backend", backend, "--json", json])
            #expect(r.status == 1, "the run ends in the harness's exit limit: \(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("more than 200000 exits"))
            let data = try Data(contentsOf: URL(fileURLWithPath: json))
            #expect(data.count < 2_000_000, "the report was \(data.count) bytes (51 MB before the bound)")
            let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let payload = try #require((report["payloads"] as? [[String: Any]])?.first)
            let outcome = try #require((payload["runs"] as? [[String: Any]])?.first?["outcome"] as? [String: Any])
            let cut = try #require(outcome["trace_cut"] as? [String: Any], "no traceCut in the outcome")
            #expect(cut["exits"] as? Int == 200_000)
            #expect((outcome["trace"] as? [Any])?.count == (cut["head"] as? Int ?? 0) + (cut["tail"] as? Int ?? 0))
            let console = try #require(outcome["console"] as? String)
            #expect(console.hasPrefix(String(repeating: ".", count: 65536) + "\n[kvm-unit: "))
            #expect(console.hasSuffix(" more console bytes not kept]"))
        }
    }

    @Test("loose command lines and files: one line on stderr, exit status 2")
    func usageErrors() throws {
        try Scratch.with { dir in
            let empty = try Scratch.kvmUnit(["run", "exits.hlt_resume", "-g", "irq", "--backend", "ref"])
            #expect(empty.status == 2)
            #expect(empty.stderr == "kvm-unit: no payload of group irq among exits.hlt_resume\n")
            let src = try Scratch.assemble(Self.exitCap, name: "exit_cap", in: dir)
            let renamed = dir.appendingPathComponent("other.bin").path
            try FileManager.default.moveItem(atPath: src, toPath: renamed)
            let r = try Scratch.kvmUnit(["run", renamed, "--backend", "ref"])
            #expect(r.status == 2)
            #expect(r.stderr == "kvm-unit: \(renamed): the header names the payload \"exit_cap\" but the file is other; they must be equal\n")
        }
    }
}

/// A scratch directory, nasm and the `kvm-unit` built next to the test binary.
enum Scratch {
    static func with(_ body: (URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-unit-hostile-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir)
    }

    /// Assembles `source` against guests/include into `<name>.bin`; returns its path.
    static func assemble(_ source: String, name: String, in dir: URL) throws -> String {
        let asm = dir.appendingPathComponent("\(name).asm"), bin = dir.appendingPathComponent("\(name).bin")
        try source.write(to: asm, atomically: true, encoding: .utf8)
        let include = HostilePayloadTests.repository.appendingPathComponent("guests/include").path + "/"
        let r = try run("/usr/bin/nasm", ["-f", "bin", "-I", include, asm.path, "-o", bin.path])
        try #require(r.status == 0, "nasm: \(r.stderr)")
        return bin.path
    }

    /// `kvm-unit arguments`, under `prlimit --as` when a limit is given.
    static func kvmUnit(_ arguments: [String], addressSpaceLimit: Int? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
        let tool = LifecycleLeakTests.kvmUnit.path
        try #require(FileManager.default.isExecutableFile(atPath: tool), "kvm-unit not found at \(tool)")
        if let limit = addressSpaceLimit { return try run("/usr/bin/prlimit", ["--as=\(limit)", tool] + arguments) }
        return try run(tool, arguments)
    }

    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read before waiting, so a full pipe cannot stall the child.
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, stdout, stderr)
    }
}
