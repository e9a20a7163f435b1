@testable import Conformance
import Foundation
import GuestPayloads
import PayloadFormat
import Testing

/// Header fields a hostile or careless payload may set: each is one clear error, never a
/// crash and never a silent acceptance (guests/README.md, "Header" and "Limits").
@Suite("Hostile headers: each bad field is one clear error")
struct HostileHeaderTests {
    private func error(_ b: [UInt8]) -> String {
        do { _ = try PayloadHeader.parse(b); return "" } catch { return error.description }
    }

    private func put<T: FixedWidthInteger>(_ v: T, _ o: Int, in b: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } }
    }

    @Test("a 32-character name without a NUL, or bytes after the NUL")
    func nameNotNULTerminated() {
        var b = header()
        for i in 0..<32 { b[0x40 + i] = 0x61 }
        #expect(error(b).hasPrefix("bad header field name: not NUL-terminated within 32 bytes"))
        for i in 0..<31 { b[0x40 + i] = 0x61 }
        b[0x5F] = 0
        #expect(error(b) == "", "31 characters and a NUL are allowed")
        b = header()
        b[0x50] = 0x78     // "sample\0...x"
        #expect(error(b).hasPrefix("bad header field name: not NUL-terminated"))
    }

    @Test("a description with a control character or without a NUL")
    func descriptionText() {
        var b = header()
        b[0x60] = 0x41; b[0x61] = 0x1B     // "A" ESC: would reach the terminal
        #expect(error(b) == "bad header field description: must be printable ASCII, at most 95 characters, NUL-padded")
        b = header()
        for i in 0..<96 { b[0x60 + i] = 0x41 }
        #expect(error(b).hasPrefix("bad header field description"))
        b[0xBF] = 0
        #expect(error(b) == "")
    }

    @Test func zeroInstructionBudget() {
        var b = header()
        put(UInt64(0), 0x20, in: &b)
        #expect(error(b) == "bad header field insn_budget: 0 (a payload must retire at least one instruction)")
    }

    @Test("ram_size below 64 KiB, above 256 MiB or not 4 KiB aligned")
    func ramSizeBounds() {
        #expect(error(header(ram: 0xF000)).hasPrefix("bad ram_size 0xf000"))
        #expect(error(header(ram: 0x1001_0000)).hasPrefix("bad ram_size 0x10010000"))
        #expect(error(header(ram: 0x20_0800)).hasPrefix("bad ram_size 0x200800"))
        #expect(error(header(ram: 0x1_0000, imageSize: 0x8001)) == "image of 32769 bytes loaded at 0x8000 does not fit in ram_size 0x10000")
    }

    @Test("entry in the header or beyond the image")
    func entryOutsideImage() {
        var b = header()
        put(UInt32(0x10), 0x0C, in: &b)
        #expect(error(b).hasPrefix("bad header field entry: 0x10 (must lie in the image"))
        put(UInt32(b.count), 0x0C, in: &b)
        #expect(error(b).hasPrefix("bad header field entry: 0x400"))
    }

    @Test func tooManyWindows() {
        var b = header()
        put(UInt32(9), 0x1C, in: &b)
        #expect(error(b) == "bad header field window_count: 9 (at most 8)")
    }

    @Test("window kind, alignment, the 52-bit space, RAM, other windows, the interrupt controllers")
    func windowPlacement() {
        #expect(error(header(windows: [(0xC000_0000, 0x1000, 4)])) == "bad MMIO window 0: kind 4")
        #expect(error(header(windows: [(0xC000_0000, 0x1800, 0)])).hasPrefix("bad MMIO window 0: gpa 0xc0000000 size 0x1800 must be"))
        #expect(error(header(windows: [(0xC000_0800, 0x1000, 0)])).hasPrefix("bad MMIO window 0: gpa 0xc0000800"))
        #expect(error(header(windows: [(0xC000_0000, 0, 0)])).hasPrefix("bad MMIO window 0: gpa 0xc0000000 size 0x0"))
        #expect(error(header(windows: [((1 << 52) - 0x1000, 0x2000, 0)])) == "bad MMIO window 0: beyond the 52-bit physical address space")
        #expect(error(header(windows: [(0x1F_F000, 0x2000, 0)])) == "bad MMIO window 0: overlaps RAM (0..0x200000)")
        #expect(error(header(windows: [(0xC000_0000, 0x1000, 0), (0xBFFF_F000, 0x2000, 2)])) == "bad MMIO window 1: overlaps window 0")
        #expect(error(header(windows: [(0xFEE0_0000, 0x1000, 1)])) == "bad MMIO window 0: overlaps the LAPIC page at 0xfee00000")
        #expect(error(header(windows: [(0xF000_0000, 0x0FFF_F000, 0)])) == "bad MMIO window 0: overlaps the IOAPIC page at 0xfec00000")
        #expect(error(header(windows: [(0xFEC0_1000, 0x1000, 0)])) == "", "the page after the IOAPIC's is free")
    }

    @Test("rom windows need host memory: at most 256 MiB of them; other kinds are not capped")
    func romCap() throws {
        let rom: UInt32 = 0x800_0000   // 128 MiB
        #expect(error(header(windows: [(0x1_0000_0000, rom, 3), (0x2_0000_0000, rom, 3)])) == "")
        #expect(error(header(windows: [(0x1_0000_0000, rom, 3), (0x2_0000_0000, rom, 3), (0x3_0000_0000, 0x1000, 3)]))
                == "bad header field windows: rom windows of 0x10001000 bytes in all (at most 256 MiB)")
        let huge = (1...8).map { (UInt64($0) << 32, UInt32(0xFFFF_F000), UInt8(0)) }
        #expect(try PayloadHeader.parse(header(windows: huge)).windows.count == 8)
    }

    @Test("a ram window keeps only the pages written, reads the fill elsewhere, and caps what a run writes")
    func sparseRAMWindow() throws {
        var h = header(windows: [(0x1_0000_0000, 0xFFFF_F000, 0)])
        h[0xCD] = 0x11     // fill
        let w = try PayloadHeader.parse(h).windows[0]
        let budget = WrittenPages()
        let a = MMIOWindow(w, budget: budget), b = MMIOWindow(w, budget: budget)
        try a.write(w.gpa + 0xFFFF_EFFE, data: [1, 2])
        #expect(a.read(w.gpa + 0xFFFF_EFFD, length: 4) == [0x11, 1, 2, 0x11])
        #expect(a.digestInput != b.digestInput)
        // Writing the fill back leaves the same contents as never writing: the same digest.
        try a.write(w.gpa + 0xFFFF_EFFE, data: [0x11, 0x11])
        #expect(a.digestInput == b.digestInput)
        // 64 MiB of pages in all, across the windows of a run; the next new page is refused.
        let pages = WrittenPages.maximumBytes / MMIOWindow.pageSize
        for p in 1..<pages { try b.write(w.gpa + UInt64(p * MMIOWindow.pageSize), data: [0]) }
        #expect(throws: WrittenPages.Exhausted.self) { try b.write(w.gpa, data: [0]) }
        try a.write(w.gpa + 0xFFFF_E000, data: [7])     // a page it has already
    }

    @Test("a header name that is not the file's base name")
    func nameDiffersFromFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-unit-names-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let wrong = dir.appendingPathComponent("x.bin").path, right = dir.appendingPathComponent("sample.bin").path
        #expect(FileManager.default.createFile(atPath: wrong, contents: Data(header())))
        #expect(FileManager.default.createFile(atPath: right, contents: Data(header())))
        do {
            _ = try Selection.load(file: wrong)
            Issue.record("x.bin whose header says sample was accepted")
        } catch {
            #expect(error.description == "\(wrong): the header names the payload \"sample\" but the file is x; they must be equal")
        }
        #expect(try Selection.load(file: right).name == "sample")
    }

    @Test("a selection the group filter empties is an error, not an empty success")
    func emptySelection() {
        do {
            _ = try Selection.resolve(["exits.hlt_resume"], group: .irq)
            Issue.record("an empty selection was accepted")
        } catch {
            #expect(error.description == "no payload of group irq among exits.hlt_resume")
        }
        #expect((try? Selection.resolve(["exits.hlt_resume"], group: .exits))?.count == 1)
    }
}
