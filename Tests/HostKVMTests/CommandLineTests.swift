import Conformance
import Foundation
import GuestPayloads
import PayloadFormat
import Testing

/// The command line keeps the README's promises: exit status 0, 1 and 2, `--version`,
/// an explicit `--device` that must open, and `--log-dir`. Each test runs the built
/// `kvm-unit` (next to this test binary: HostKVMTests depends on kvm-unit).
@Suite("kvm-unit command line")
struct CommandLineTests {
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func kvmUnit(_ arguments: [String]) throws -> Run {
        let tool = LifecycleLeakTests.kvmUnit
        try #require(FileManager.default.isExecutableFile(atPath: tool.path), "kvm-unit not found at \(tool.path)")
        let p = Process()
        p.executableURL = tool
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: stdout, stderr: stderr)
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-unit-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("--version names the suite version, the commit and the build date")
    func version() throws {
        let r = try Self.kvmUnit(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout == SuiteVersion.description + "\n")
        #expect(r.stdout.hasPrefix("kvm-unit \(SuiteVersion.version) (commit "))
        #expect(r.stdout.contains(", built "))
    }

    /// ArgumentParser's parse and validation errors exit 64 unless mapped: every
    /// subcommand's usage errors must exit 2, with the message on stderr.
    @Test("usage errors exit 2 in every subcommand", arguments: [
        ["--bogus"], ["run", "--bogus"], ["run", "-j"], ["list", "--nope"], ["probe", "--device"],
        ["trace"], ["bench", "host", "--rounds", "0"], ["bench", "ref", "--runs", "0"],
        ["selftest", "lifecycle-leaks", "--count", "x"], ["no-such-subcommand"],
    ])
    func usageErrorsExit2(_ arguments: [String]) throws {
        let r = try Self.kvmUnit(arguments)
        #expect(r.status == 2, "\(arguments): \(r.stderr)")
        #expect(r.stderr.contains("Error:") || r.stderr.contains("kvm-unit:"), "\(arguments): \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    /// `bench ref` on a named loop (short, engine only): the table, the retired-instruction
    /// count equal to the analytical one, and exit 0; a payload without the block is exit 2.
    @Test("bench ref measures a named loop and refuses a payload without a bench block")
    func benchRefNamedLoop() throws {
        let r = try Self.kvmUnit(["bench", "ref", "--ref-only", "--runs", "1", "--iterations", "20000", "bench_crc32_table"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("bench_crc32_table"))
        #expect(r.stdout.contains("retired T(N) - T(0) = 160000 (analytical 160000)"), "\(r.stdout)")
        #expect(r.stdout.contains("SKIP (Bochs not measured)"))
        let none = try Self.kvmUnit(["bench", "ref", "--ref-only", "exits.hlt_resume"])
        #expect(none.status == 2)
        #expect(none.stderr.contains("has no bench parameter block"), "\(none.stderr)")
    }

    @Test("setup errors exit 2 with one line", arguments: [
        ["run", "no_such_payload"], ["run", "--backend", "neither"], ["run", "-j", "0"], ["list", "-g", "nogroup"],
        ["run", "/nonexistent/x.bin"], ["trace", "exits.*"],
    ])
    func setupErrorsExit2(_ arguments: [String]) throws {
        let r = try Self.kvmUnit(arguments)
        #expect(r.status == 2, "\(arguments): \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(arguments): \(r.stderr)")
    }

    /// A typo in --device must not quietly test the engine alone.
    @Test("an explicit --device that cannot be opened is an error naming the path and errno")
    func explicitDevice() throws {
        for args in [["run", "--device", "/nonexistent/kvm", "exits.hlt_resume"],
                     ["run", "--backend", "both", "--device", "/nonexistent/kvm", "exits.hlt_resume"]] {
            let r = try Self.kvmUnit(args)
            #expect(r.status == 2, "\(args)")
            #expect(r.stderr == "kvm-unit: /nonexistent/kvm does not exist (is the kvm module loaded?): errno 2 ENOENT\n")
            #expect(!r.stdout.contains("PASS"), "nothing may run")
        }
        let notKVM = try Self.kvmUnit(["run", "--device", "/dev/null", "exits.hlt_resume"])
        #expect(notKVM.status == 2)
        #expect(notKVM.stderr.hasPrefix("kvm-unit: /dev/null is not a KVM device") && notKVM.stderr.hasSuffix("errno 25 ENOTTY\n"),
                "\(notKVM.stderr)")
        let probe = try Self.kvmUnit(["probe", "--device", "/nonexistent/kvm"])
        #expect(probe.status == 2)
        #expect(probe.stderr.contains("/nonexistent/kvm") && probe.stderr.contains("ENOENT"))
    }

    @Test("a passing run exits 0")
    func passExits0() throws {
        let r = try Self.kvmUnit(["run", "--backend", "ref", "exits.hlt_resume"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("SUMMARY: "))
    }

    /// A payload whose entry reports status 1 on port 0xF4 at once: `mov al, 1; out 0xf4, al`
    /// (the same bytes in 16-, 32- and 64-bit code), written over a catalogue payload's entry.
    @Test("an unexpected failure exits 1")
    func failureExits1() throws {
        let base = try #require(Catalogue.all.first { $0.header.mode == .real16 })
        var image = base.image
        image.replaceSubrange(Int(base.header.entry)..<Int(base.header.entry) + 4, with: [0xB0, 0x01, 0xE6, 0xF4])
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/\(base.name).bin"  // the header's name: a file from elsewhere that shares it
        try Data(image).write(to: URL(fileURLWithPath: file))
        let r = try Self.kvmUnit(["run", "--backend", "ref", file])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("FAIL"))
    }

    /// A recorded divergence that does not diverge is XPASS: exit 0, and 1 with --strict.
    @Test("XPASS exits 0, and 1 with --strict")
    func strictXPass() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let table = dir + "/divergences.txt"
        try "ref hlt_resume * a divergence the engine does not have\n".write(toFile: table, atomically: true, encoding: .utf8)
        let plain = try Self.kvmUnit(["run", "--backend", "ref", "--divergences", table, "exits.hlt_resume"])
        #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
        #expect(plain.stdout.contains("XPASS"))
        let strict = try Self.kvmUnit(["run", "--backend", "ref", "--divergences", table, "--strict", "exits.hlt_resume"])
        #expect(strict.status == 1, "\(strict.stdout)\(strict.stderr)")
    }

    @Test("--log-dir writes one log per payload and backend")
    func logDirectory() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logs = dir + "/new/logs"  // created, parents too
        let r = try Self.kvmUnit(["run", "--backend", "ref", "--log-dir", logs, "exits.hlt_resume", "exits.io_latch_sizes"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: logs).sorted()
        #expect(files == ["exits.hlt_resume.ref.log", "exits.io_latch_sizes.ref.log"])
        let log = try String(contentsOfFile: logs + "/exits.io_latch_sizes.ref.log", encoding: .utf8)
        for part in ["payload:        exits.io_latch_sizes (guests/exits/io_latch_sizes.asm", "backend:        ref (ref)",
                     "verdict:        PASS", "end:            status 0", "check records (", "exit trace (",
                     "  1: KVM_EXIT_IO in port 0xe0 size 4", "final registers", "  rip      0x", "ram digest:"] {
            #expect(log.contains(part), "missing \"\(part)\" in:\n\(log)")
        }
    }

    @Test("an unwritable --log-dir is refused before anything runs", arguments: ["/etc/hostname/logs", "/proc/kvm-unit-logs"])
    func unwritableLogDirectory(_ path: String) throws {
        let r = try Self.kvmUnit(["run", "--backend", "ref", "--log-dir", path, "exits.hlt_resume"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.hasPrefix("kvm-unit: --log-dir \(path): "), "\(r.stderr)")
        #expect(r.stderr.contains("errno"))
        #expect(r.stdout.isEmpty, "nothing may run")
    }
}
