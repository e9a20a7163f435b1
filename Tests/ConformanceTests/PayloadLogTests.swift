@testable import Conformance
import GuestPayloads
import PayloadFormat
import Testing
import Foundation

/// The pieces of `run --log-dir` that are not a run: instruction naming, the exception
/// account, the first differing RAM page, and printf-style decimals without Foundation.
@Suite("Payload logs")
struct PayloadLogTests {
    /// Byte sequences with the name the SDM's opcode maps give them (Vol. 2D App. A).
    @Test("instruction names", arguments: [
        ([0xE6, 0xF4] as [UInt8], 16, "e6 f4  out"),
        ([0xEC], 32, "ec  in"),
        ([0xF3, 0xA4], 32, "f3 a4  rep movsb"),
        ([0x48, 0x89, 0xD8], 64, "48 89 d8  mov"),
        ([0x66, 0x0F, 0xA2], 64, "66 0f a2  cpuid"),
        ([0x0F, 0x01, 0xC1], 64, "0f 01 c1  vmcall"),
        ([0x0F, 0x01, 0x38], 64, "0f 01 38  invlpg"),
        ([0x0F, 0x22, 0xC0], 32, "0f 22 c0  mov cr"),
        ([0xF7, 0xF1], 64, "f7 f1  div"),
        ([0xFF, 0xD0], 64, "ff d0  call"),
        ([0xCD, 0x30], 32, "cd 30  int"),
        ([0x0F, 0x0B], 64, "0f 0b  ud2 (raises #UD)"),
        ([0x0F, 0x30], 64, "0f 30  wrmsr"),
        ([0x48, 0x0F, 0xFF], 64, "48 0f ff  0f ff (raises #UD)"),
        ([0xF0, 0x0F, 0xB1, 0x0B], 64, "f0 0f b1 0b  lock cmpxchg"),
    ])
    func names(_ bytes: [UInt8], bits: Int, want: String) {
        #expect(InstructionNames.describe(bytes + [0x90, 0x90], bits: bits) == want)
    }

    @Test("an unexpected exception is placed in the payload image")
    func exceptionDetail() throws {
        let p = try #require(Catalogue.all.first { $0.header.mode == .real16 })
        let entry = UInt64(p.header.entry)
        let record = CheckRecord(line: 0, kind: .unexpectedException, expected: 13,
                                 actual: PayloadHeader.loadAddress + entry, aux: 0x18, message: "")
        let lines = PayloadLog.exceptionDetail(record, payload: p, previousCheckLine: 42)
        #expect(lines[0] == "#GP at RIP 0x\(String(PayloadHeader.loadAddress + entry, radix: 16)), error code 0x18")
        let expectedBytes = InstructionNames.describe(Array(p.image[Int(entry)...].prefix(15)), bits: 16)
        #expect(lines[1] == "instruction:  \(expectedBytes) (decoded as 16-bit code)")
        let line = try #require(p.sourceLine(atImageOffset: Int(entry)))
        #expect(lines[2] == "source:       \(p.source) line \(line) (image offset 0x\(String(entry, radix: 16)))")
        #expect(lines[3] == "last check before it: line 42 of \(p.source)")

        let outside = CheckRecord(line: 0, kind: .unexpectedException, expected: 14, actual: 0x10, aux: 2, message: "")
        let o = PayloadLog.exceptionDetail(outside, payload: p, previousCheckLine: nil)
        #expect(o.count == 2 && o[0].hasPrefix("#PF at RIP 0x10") && o[1].hasPrefix("RIP is outside the payload image"))
    }

    /// nasm's listing maps image offsets to lines of the payload's own file: the bytes of
    /// `out PORT_LATCH + 1, al` (E6 E1) are on the line that says so, the boot library's on
    /// the PAYLOAD line, and every catalogue payload has an ascending map.
    @Test("image offsets map to source lines")
    func sourceLines() throws {
        let p = try #require(Catalogue.named("exits.io_latch_sizes"))
        let asm = try String(contentsOfFile: Self.repository + "/" + p.source, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        let outLine = try #require(asm.firstIndex { $0.contains("out PORT_LATCH + 1, al") }) + 1
        let payloadLine = try #require(asm.firstIndex { $0.hasPrefix("PAYLOAD ") }) + 1
        let entry = Int(p.header.entry)
        let out = try #require((entry..<p.image.count - 1).first { p.image[$0] == 0xE6 && p.image[$0 + 1] == 0xE1 })
        #expect(p.sourceLine(atImageOffset: out) == outLine)
        #expect(p.sourceLine(atImageOffset: out + 1) == outLine)
        #expect(p.sourceLine(atImageOffset: entry) == payloadLine)
        #expect(p.sourceLine(atImageOffset: p.image.count) == nil)
        for q in Catalogue.all {
            #expect(!q.lineMap.isEmpty, "\(q.qualifiedName) has no line map")
            #expect(zip(q.lineMap, q.lineMap.dropFirst()).allSatisfy { $0.offset < $1.offset }, "\(q.qualifiedName)")
        }
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// One changed byte is found in its own page, whichever page and whichever byte of it.
    @Test("the first differing RAM page", arguments: [0, 7, 4095, 4096, 0x5123, 0x7FFF])
    func firstDifferingPage(_ offset: Int) {
        var a = [UInt8](repeating: 0, count: 0x8000)
        var b = a
        b[offset] = 1
        if offset < 0x7000 { a[0x7ABC] = 9; b[0x7ABC] = 8 }  // a second, later difference
        let da = a.withUnsafeBytes { pageDigests($0.baseAddress!, count: $0.count) }
        let db = b.withUnsafeBytes { pageDigests($0.baseAddress!, count: $0.count) }
        #expect(da.count == 8)
        let page = offset / 4096 * 4096
        let pages = offset < 0x7000 ? "2 pages differ" : "1 page differs"
        #expect(OutcomeComparison.firstDifferingPage(da, db)
                == ", first in the page at GPA 0x\(String(page, radix: 16))-0x\(String(page + 4095, radix: 16)) (\(pages))")
        #expect(OutcomeComparison.firstDifferingPage(da, da) == "")
        #expect(OutcomeComparison.firstDifferingPage([], db) == "")
    }

    @Test("fixedPoint formats as %.Nf")
    func fixed() {
        #expect(fixedPoint(1.23456, places: 3) == "1.235")
        #expect(fixedPoint(0, places: 6) == "0.000000")
        #expect(fixedPoint(2, places: 0) == "2")
        #expect(fixedPoint(-0.5, places: 2) == "-0.50")
        #expect(fixedPoint(1234.5, places: 1) == "1234.5")
    }
}
