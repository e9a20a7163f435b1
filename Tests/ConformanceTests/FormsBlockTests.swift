import Conformance
import GuestPayloads
import PayloadFormat
import Testing

/// The instruction-form payloads (scripts/gen-forms.py) and the KVMUFORM block that
/// `kvm-unit list --forms` reads (guests/README.md "Form payloads").
@Suite("Form payloads: the catalogue's instruction forms and their forms blocks")
struct FormsBlockTests {
    @Test func catalogueCoversAtLeast300FormsAtBothCPLs() {
        let coverage = FormCoverage(Catalogue.all)
        #expect(coverage.entries.count >= 300)
        for e in coverage.entries {
            #expect(e.cpls == [0, 3], "\(e.form) runs at CPL \(e.cpls.sorted()) only")
            #expect(e.passes.isSuperset(of: ["ram", "mmio"]), "\(e.form): \(e.passes.sorted())")
        }
        let emulator = Catalogue.all.filter { $0.group == .emulator }
        #expect(emulator.count >= 120)
    }

    @Test func blockIsReadFromAnImage() throws {
        var image = header(imageSize: 0x200)
        let block = Array("KVMUFORM".utf8) + Array("ram mmio".utf8) + [0]
            + Array("add m32, r32".utf8) + [0] + Array("neg m8".utf8) + [0, 0]
        image.replaceSubrange(0x160..<(0x160 + block.count), with: block)
        let p = try Payload(image: image, source: "test")
        let b = try #require(FormsBlock(p))
        #expect(b.passes == ["ram", "mmio"])
        #expect(b.forms == ["add m32, r32", "neg m8"])
        #expect(b.cpl == 0)
    }

    /// A block cut off by the end of the image (no empty name) is ignored, never read past the end.
    @Test func truncatedBlockIsIgnored() throws {
        var image = header(imageSize: 0x180)
        let block = Array("KVMUFORM".utf8) + Array("ram".utf8) + [0] + Array("add m8, r8".utf8)
        image.replaceSubrange((0x180 - block.count)..<0x180, with: block)
        let p = try Payload(image: image, source: "test")
        #expect(FormsBlock(p) == nil)
    }
}
