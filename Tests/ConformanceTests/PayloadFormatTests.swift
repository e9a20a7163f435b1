import Conformance
import Foundation
import GuestPayloads
import PayloadFormat
import Testing

/// A valid header to corrupt, built field by field as guests/README.md lays it out.
func header(ram: UInt32 = 0x20_0000, windows: [(UInt64, UInt32, UInt8)] = [], imageSize: Int = 0x400) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: max(imageSize, PayloadHeader.size))
    func put<T: FixedWidthInteger>(_ v: T, _ o: Int) { withUnsafeBytes(of: v.littleEndian) { for (i, x) in $0.enumerated() { b[o + i] = x } } }
    b.replaceSubrange(0..<8, with: PayloadHeader.magic)
    put(UInt16(1), 0x08); put(UInt16(0x140), 0x0A); put(UInt32(0x140), 0x0C); put(ram, 0x10)
    b[0x14] = 0; b[0x15] = 2
    put(UInt32(windows.count), 0x1C)
    put(UInt64(1000), 0x20)
    for i in 0..<4 { put(UInt16(0xFFFF), 0x38 + 2 * i) }
    for (i, c) in "sample".utf8.enumerated() { b[0x40 + i] = c }
    for (i, w) in windows.enumerated() { put(w.0, 0xC0 + 16 * i); put(w.1, 0xC8 + 16 * i); b[0xCC + 16 * i] = w.2 }
    return b
}

@Suite("Payload files: every malformed file gets one clear error")
struct PayloadFormatTests {
    @Test func validHeaderParses() throws {
        let h = try PayloadHeader.parse(header(windows: [(0xC000_0000, 0x1000, 0)]))
        #expect(h.name == "sample")
        #expect(h.mode == .long64)
        #expect(h.windows.first?.kind == .ram)
    }

    @Test func badMagic() {
        var b = header()
        b[0] = 0x4D
        #expect(throws: PayloadFormatError.self) { try PayloadHeader.parse(b) }
        #expect(error(b).hasPrefix("not a payload: bad magic"))
    }

    @Test func truncatedHeader() {
        #expect(error(Array(header().prefix(100))) == "truncated payload: 100 bytes, the header alone is 320")
    }

    @Test func ramOverTheLimit() {
        #expect(error(header(ram: 0x2000_0000)).hasPrefix("bad ram_size 0x20000000"))
    }

    @Test func windowOverlappingRAM() {
        #expect(error(header(windows: [(0x10_0000, 0x1000, 0)])) == "bad MMIO window 0: overlaps RAM (0..0x200000)")
    }

    @Test func overlappingWindows() {
        #expect(error(header(windows: [(0xC000_0000, 0x2000, 0), (0xC000_1000, 0x1000, 1)])) == "bad MMIO window 1: overlaps window 0")
    }

    @Test func randomBytesNeverCrash() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let n = Int.random(in: 0..<600, using: &rng)
            var b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if Bool.random(using: &rng), b.count >= 8 { b.replaceSubrange(0..<8, with: PayloadHeader.magic) }
            _ = try? PayloadHeader.parse(b)
        }
    }

    @Test("a file path that is not a payload is one line naming the file")
    func fileErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-unit-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("x.bin").path
        #expect(FileManager.default.createFile(atPath: f, contents: Data([1, 2, 3])))
        #expect(throws: Selection.Failure.self) { try Selection.load(file: f) }
        do { _ = try Selection.load(file: f) } catch { #expect(error.description.hasPrefix("\(f): not a payload")) }
        do { _ = try Selection.load(file: dir.path + "/none.bin") } catch { #expect(error.description.hasSuffix("no such file")) }
    }

    @Test("the catalogue has at least 8 payloads in each group, each valid")
    func catalogue() {
        for g in PayloadHeader.Group.allCases { #expect(Catalogue.group(g).count >= 8, "\(g)") }
        #expect(Set(Catalogue.all.map(\.name)).count == Catalogue.all.count, "names are unique")
    }

    private func error(_ b: [UInt8]) -> String {
        do { _ = try PayloadHeader.parse(b); return "" } catch { return error.description }
    }
}
