import Conformance
import Foundation
import KVMABI
import RefHypervisor
import Testing

/// `kvm-unit fuzz` on the engine alone (no /dev/kvm): the generator, the flag tracking, the
/// comparison and the minimiser.
@Suite("Fuzz: generated streams on the engine, and an injected engine fault found and minimised")
struct FuzzTests {
    static let template = FuzzTemplate.catalogue!

    /// The same seed gives the same programs; no generated stream reads a flag it left undefined.
    @Test func generatorIsSeededAndTracksFlags() {
        var a = StreamGenerator(seed: 7), b = StreamGenerator(seed: 7)
        for _ in 0..<500 {
            let p = a.program()
            #expect(p == b.program())
            #expect(!p.instructions.isEmpty && p.instructions.count <= 8)
        }
    }

    /// RAM and MMIO runs on the engine agree on every program (a short campaign).
    @Test func engineRamAndMmioAgree() {
        let ref = RefHypervisor()
        let campaign = FuzzCampaign(template: Self.template, implementations: [
            FuzzImplementation(backend: "ref", hypervisor: ref, mmio: false),
            FuzzImplementation(backend: "ref", hypervisor: ref, mmio: true),
        ], cpuid: nil)
        let s = campaign.run(seed: 3, count: 256)
        #expect(s.programs == 256)
        #expect(s.runErrors.isEmpty)
        #expect(s.divergences.isEmpty, "\(s.divergences.map { "\($0.form): \($0.details)" })")
        #expect(s.byForm.count > 150)
    }

    /// An engine whose ADC inverts CF afterwards (InjectedFault.flipCarryAfterADC) is found,
    /// and each difference is minimised to the one ADC that shows it; the reproducer names it.
    @Test func injectedFaultIsFoundAndMinimisedToOneInstruction() throws {
        let campaign = FuzzCampaign(template: Self.template, implementations: [
            FuzzImplementation(backend: "ref", hypervisor: RefHypervisor(), mmio: false),
            FuzzImplementation(backend: "faulty", hypervisor: RefHypervisor(injectedFaults: [.flipCarryAfterADC]), mmio: false),
        ], cpuid: nil)
        let s = campaign.run(seed: 1, count: 192)
        #expect(s.runErrors.isEmpty)
        let d = try #require(s.divergences.first)
        #expect(s.divergences.allSatisfy { $0.minimised.instructions.count == 1 })
        #expect(s.divergences.allSatisfy { $0.form.hasPrefix("adc ") })
        #expect(d.details.contains { $0.hasPrefix("rflags") })
        let asm = d.reproducer(name: "fuzz_1_0", seed: 1)
        #expect(asm.contains("PAYLOAD fuzz_1_0, emulator, user64"))
        #expect(asm.contains("; " + d.minimised.instructions[0].text))
        // The reproducer assembles and runs as any payload: it fails on the faulty engine
        // (its checks against the reference's values) and passes on the correct one.
        let payload = try assemblePayload("fuzz_1_0", source: asm)
        let runner = SuiteRunner(divergences: KnownDivergences(entries: []))
        let onFaulty = runner.run(payload, on: RefHypervisor(injectedFaults: [.flipCarryAfterADC]), backend: "ref")
        let onCorrect = runner.run(payload, on: RefHypervisor(), backend: "ref")
        #expect(onFaulty.verdict == .fail)
        #expect(onCorrect.verdict == .pass)
    }

    /// An engine whose read-modify-write forms fault as reads (the old W=0 #PF bug) is found
    /// by the programs that end on the not-present page, minimised to the one RMW
    /// instruction, with the error code named.
    @Test func readModifyWriteFaultCodeIsFound() throws {
        let campaign = FuzzCampaign(template: Self.template, implementations: [
            FuzzImplementation(backend: "ref", hypervisor: RefHypervisor(), mmio: false),
            FuzzImplementation(backend: "faulty", hypervisor: RefHypervisor(injectedFaults: [.readFaultForReadModifyWrite]), mmio: false),
        ], cpuid: nil)
        let s = campaign.run(seed: 5, count: 512)
        #expect(s.runErrors.isEmpty)
        #expect(s.faultingPrograms > 30 && s.pageFaultsOnReference == s.faultingPrograms)
        let d = try #require(s.divergences.first)
        #expect(s.divergences.allSatisfy { $0.minimised.instructions.count == 1 && $0.minimised.faults })
        #expect(d.details.contains { $0 == "error code 0x4 vs 0x6" })   // U|read vs U|W, not present
    }

    /// Same-register operands (XADD/XCHG/CMPXCHG r, r with one register) are generated.
    @Test func sameRegisterFormsAreGenerated() {
        var g = StreamGenerator(seed: 11)
        var same = 0
        for _ in 0..<3000 {
            for insn in g.program().instructions where insn.form.hasSuffix("r64, r64") || insn.form.hasSuffix("r32, r32") {
                let ops = insn.text.split(separator: " ", maxSplits: 1).last!.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                if ops.count == 2 && ops[0] == ops[1] && insn.text.hasPrefix("xadd") { same += 1 }
            }
        }
        #expect(same > 0)
    }
}
