@testable import Conformance
import Foundation
import Testing

/// Report paths are opened as a shell's `>` opens them (issue 15): the suite runs as root,
/// so a report must never replace what the path names (a device node, a symlink).
@Suite("Report files", .serialized)
struct ReportFileTests {
    static func fileType(_ path: String) -> mode_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
    }

    @Test("a symlink is written through: the link stays, its target gets the report")
    func symlink() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("target.json").path, link = dir.appendingPathComponent("link.json").path
        try "old content that is longer than the report\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let f = try ReportFile(path: link)
        f.write("report\n")
        f.close()
        #expect(f.writeError == nil)
        #expect(Self.fileType(link) == S_IFLNK)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "report\n", "truncated, then written")
    }

    @Test("a FIFO is streamed into, and stays a FIFO")
    func fifo() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("pipe").path
        #expect(mkfifo(path, 0o600) == 0)
        let received = ExternalTool.DataBox()
        let reader = Thread { received.data = FileHandle(forReadingAtPath: path)?.readDataToEndOfFile() ?? Data() }
        reader.start()
        let f = try ReportFile(path: path)  // blocks until the reader has opened its end, as `>` does
        f.write("first\n")
        f.write("second\n")
        f.close()
        while !reader.isFinished { usleep(1000) }
        #expect(String(decoding: received.data, as: UTF8.self) == "first\nsecond\n")
        #expect(Self.fileType(path) == S_IFIFO)
    }

    @Test("a character device is written to, never replaced")
    func characterDevice() throws {
        let f = try ReportFile(path: "/dev/null")
        f.write("report\n")
        f.close()
        #expect(f.writeError == nil)
        #expect(Self.fileType("/dev/null") == S_IFCHR)
    }

    @Test("a device that refuses the bytes is a write error to report, and stays a device")
    func fullDevice() throws {
        let f = try ReportFile(path: "/dev/full")
        f.write("report\n")
        f.close()
        #expect(f.writeError?.contains("No space left on device") == true, "\(f.writeError ?? "no error")")
        #expect(Self.fileType("/dev/full") == S_IFCHR)
    }

    @Test("a directory or a path in a missing directory is refused at open, in one line")
    func refused() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: ReportFile.OpenError.self) { try ReportFile(path: dir.path) }
        do { _ = try ReportFile(path: dir.path) } catch { #expect(error.description == "\(dir.path) is a directory") }
        let missing = dir.appendingPathComponent("no/such/dir/report.xml").path
        do { _ = try ReportFile(path: missing); Issue.record("opened \(missing)") } catch {
            #expect(error.description.contains("No such file or directory") && !error.description.contains("\n"))
        }
    }
}

/// The same through the built `kvm-unit` binary, on the reference engine (no /dev/kvm).
@Suite("kvm-unit run report paths", .serialized)
struct RunReportPathTests {
    static let available = FileManager.default.isExecutableFile(atPath: ExternalTool.kvmUnit.path)

    static func run(_ arguments: [String]) throws -> ExternalTool.Result {
        try ExternalTool.run(ExternalTool.kvmUnit.path, ["run", "--backend", "ref"] + arguments)
    }

    @Test("--junit and --json through a symlink, into a FIFO, onto /dev/null: written, nothing replaced",
          .enabled(if: available, "kvm-unit is not built next to the test binary"))
    func writesThrough() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("target.xml").path, link = dir.appendingPathComponent("link.xml").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let fifo = dir.appendingPathComponent("json.pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let received = ExternalTool.DataBox()
        let reader = Thread { received.data = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data() }
        reader.start()
        let r = try Self.run(["io_latch_sizes", "--junit", link, "--json", fifo])
        while !reader.isFinished { usleep(1000) }
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(ReportFileTests.fileType(link) == S_IFLNK && ReportFileTests.fileType(fifo) == S_IFIFO)
        #expect(try String(contentsOfFile: target, encoding: .utf8).contains("<testcase classname=\"exits\" name=\"io_latch_sizes [ref]\""))
        let json = try #require(try JSONSerialization.jsonObject(with: received.data) as? [String: Any], "the FIFO got JSON")
        #expect((json["payloads"] as? [Any])?.count == 1)

        let n = try Self.run(["io_latch_sizes", "--junit", "/dev/null", "--json", "/dev/null"])
        #expect(n.status == 0, "\(n.stderr)")
        #expect(ReportFileTests.fileType("/dev/null") == S_IFCHR)
    }

    @Test("a directory or an unwritable path stops the run before any payload runs: exit 2, one line",
          .enabled(if: available, "kvm-unit is not built next to the test binary"))
    func refusedBeforeTheRun() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for args in [["--json", dir.path], ["--junit", dir.appendingPathComponent("missing/x.xml").path]] {
            let r = try Self.run(["io_latch_sizes"] + args)
            #expect(r.status == 2, "\(args): \(r.stdout)\(r.stderr)")
            #expect(r.stdout.isEmpty, "nothing ran: \(r.stdout)")
            #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("kvm-unit: \(args[1])"), "\(r.stderr)")
        }
        // A write that fails (ENOSPC) is reported, exit 2, and /dev/full stays a device.
        let full = try Self.run(["io_latch_sizes", "--json", "/dev/full"])
        #expect(full.status == 2 && full.stderr.contains("/dev/full: write failed"), "\(full.stderr)")
        #expect(ReportFileTests.fileType("/dev/full") == S_IFCHR)
    }
}
