// One run of a fuzz image: the template payload with its program area filled, on one
// backend, and the result area read back from guest RAM afterwards.

import GuestPayloads
import KVMABI
import PayloadFormat

/// The template's fuzz block (guests/emulator/fuzz_template.asm): where the program area,
/// the result records, the RAM scratch cell and the MMIO window are.
public struct FuzzTemplate: Sendable {
    public static let tag = Array("KVMUFUZZ".utf8)
    public let payload: Payload
    public let codeGPA: UInt64, codeSize: Int
    public let resultGPA: UInt64, resultSize: Int
    public let scratchGPA: UInt64, windowGPA: UInt64
    /// R15 of a faulting program: 64 bytes before a page the template made not present.
    public let edgeGPA: UInt64
    /// idt.inc's TRY state: where a fault is recorded and where the handler resumes.
    public let excVector: UInt64, excError: UInt64, excCR2: UInt64, excResume: UInt64, excArmed: UInt64

    public init?(_ payload: Payload) {
        let image = payload.image
        guard let tagAt = payload.offset(ofTag: Self.tag), tagAt + 104 <= image.count else { return nil }
        let at = tagAt + 8
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(image[at + o + $1]) << (8 * UInt64($1)) } }
        self.payload = payload
        codeGPA = u64(0); codeSize = Int(u64(8))
        resultGPA = u64(16); resultSize = Int(u64(24))
        scratchGPA = u64(32); windowGPA = u64(40)
        edgeGPA = u64(48)
        excVector = u64(56); excError = u64(64); excCR2 = u64(72); excResume = u64(80); excArmed = u64(88)
        let load = PayloadHeader.loadAddress
        guard codeGPA >= load, Int(codeGPA - load) + codeSize <= image.count, codeSize > 0, resultSize > 0 else { return nil }
    }

    /// The catalogue's template.
    public static var catalogue: FuzzTemplate? {
        Catalogue.all.first { $0.name == "fuzz_template" }.flatMap(FuzzTemplate.init)
    }

    /// The template's image with `code` at the start of its program area (the rest stays INT3).
    public func image(code: [UInt8]) -> [UInt8]? {
        guard code.count <= codeSize else { return nil }
        var image = payload.image
        let at = Int(codeGPA - PayloadHeader.loadAddress)
        image.replaceSubrange(at..<(at + code.count), with: code)
        return image
    }
}

/// Runs one fuzz image on a backend: the run's outcome and the result area's bytes.
public func runFuzzImage(_ image: [UInt8], template: FuzzTemplate, on hypervisor: any Hypervisor,
                         cpuid: [CPUIDEntry]?) -> (end: RunEnd, results: [UInt8]) {
    let payload: Payload
    do { payload = try Payload(image: image, source: "kvm-unit fuzz") } catch {
        return (.error("fuzz image: \(error)"), [])
    }
    let loaded: LoadedPayload
    do { loaded = try LoadedPayload(payload, on: hypervisor, cpuid: cpuid) } catch {
        return (.error(error.description), [])
    }
    let outcome = PayloadRunner(loaded).run()
    var results = [UInt8](repeating: 0, count: template.resultSize)
    let start = Int(template.resultGPA)
    if start + template.resultSize <= loaded.ram.size {
        // Safety: the range was checked against the RAM mapping's size just above.
        results.withUnsafeMutableBytes { dst in
            dst.baseAddress!.copyMemory(from: loaded.ram.pointer + start, byteCount: template.resultSize)
        }
    }
    loaded.vm.close()
    return (outcome.end, results)
}
