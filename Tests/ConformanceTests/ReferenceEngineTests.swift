@testable import Conformance
import GuestPayloads
import KVMABI
import RefHypervisor
import Testing

/// The reference engine as the harness sees it: deterministic, and a deliberately broken
/// engine is caught by the cross-check.
@Suite("Reference engine through the harness")
struct ReferenceEngineTests {
    @Test("two runs of the whole catalogue on ref give identical outcomes")
    func deterministic() throws {
        let ref = try Backends.openReference()
        let runner = SuiteRunner()
        let first = runner.run(Catalogue.all, on: [("ref", ref)], jobs: 2)
        let second = runner.run(Catalogue.all, on: [("ref", ref)], jobs: 2)
        #expect(first.count == Catalogue.all.count)
        for (a, b) in zip(first, second) {
            let oa = try #require(a.results.first?.outcome), ob = try #require(b.results.first?.outcome)
            #expect(oa.trace == ob.trace, "\(a.qualifiedName): traces differ")
            #expect(oa.checks == ob.checks, "\(a.qualifiedName): checks differ")
            #expect(oa.registers == ob.registers, "\(a.qualifiedName): final registers differ")
            #expect(oa.ramDigest == ob.ramDigest, "\(a.qualifiedName): RAM differs")
            #expect(oa.end == ob.end, "\(a.qualifiedName): ends differ")
        }
    }

    @Test("the same payload twice gives the same VMX-level trace (exit reasons, qualifications, GPAs)",
          arguments: ["mmio_movs", "lapic_timer_periodic", "ad_bits", "string_rep_df"])
    func sameVMXTraceTwice(_ name: String) throws {
        let payload = try #require(Catalogue.named(name))
        let a = TraceRun.run(payload, on: try Backends.openReference(), backend: "ref")
        let b = TraceRun.run(payload, on: try Backends.openReference(), backend: "ref")
        #expect(a.lines.contains { $0.contains("VMX ") }, "the trace shows the VMX exits")
        #expect(a.lines == b.lines)
        #expect(a.result.outcome?.registers == b.result.outcome?.registers)
        #expect(a.result.verdict == .pass)
    }

    @Test("an injected engine bug (CF flipped after ADC) makes the ADC payload DIVERGE, naming the exit and CF")
    func injectedCarryBugDiverges() throws {
        let ref = try Backends.openReference()
        // The other side: the host's KVM when usable; otherwise a second, healthy run of the
        // reference engine recorded before the fault is switched on.
        let payload = try #require(Catalogue.named("alu_add_adc"))
        let healthy = SuiteRunner().run(payload, on: ref, backend: "ref")
        #expect(healthy.verdict == .pass)

        let brokenEngine = RefHypervisor(injectedFaults: [.flipCarryAfterADC])
        let broken = SuiteRunner().run(payload, on: brokenEngine, backend: "ref-injected")
        #expect(broken.verdict == .fail, "the payload's own checks catch it")

        let report = SuiteRunner().compare(healthy, broken, payload: payload)
        #expect(report.verdict == .diverge)
        let text = report.details.joined(separator: "\n")
        #expect(text.contains("first differing exit is #"), "\(text)")
        #expect(text.contains("KVM_EXIT_IO out port 0xe8"), "the first differing exit is a check record: \(text)")
        #expect(text.contains("CF"), "the CF bit is named: \(text)")

        if let host = GroupTesting.host.hypervisor {
            let both = SuiteRunner().run(payload, on: [("kvm", host), ("ref", brokenEngine)], cpuid: try? host.supportedCPUID())
            #expect(both.comparison?.verdict == .diverge, "against /dev/kvm too")
            #expect(both.comparison?.details.joined().contains("CF") == true)
        }
    }

    /// Each self-modifying-code payload passes on the engine and fails when its decoded-
    /// instruction cache never looks at guest memory again (a stale decode).
    @Test("every SMC payload catches a decode cache that keeps stale code",
          arguments: ["smc_next_insn", "smc_loop_patch", "smc_alias", "smc_rep_movsb", "smc_rep_movsb_loop", "smc_host_write"])
    func staleDecodeCacheCaught(_ name: String) throws {
        let payload = try #require(Catalogue.named(name))
        #expect(SuiteRunner().run(payload, on: try Backends.openReference(), backend: "ref").verdict == .pass)
        let broken = RefHypervisor(injectedFaults: [.staleDecodeCache])
        #expect(SuiteRunner().run(payload, on: broken, backend: "ref-stale").verdict == .fail)
    }

    /// emulator.smc_rep_movsb_loop passes on the engine and fails when runBlocks goes on after
    /// a generic op's step() without noticing the code it wrote (the epoch it bumped).
    @Test("smc_rep_movsb_loop catches a block executor that ignores code written by a generic op")
    func genericStepCodeWritesCaught() throws {
        let payload = try #require(Catalogue.named("smc_rep_movsb_loop"))
        #expect(SuiteRunner().run(payload, on: try Backends.openReference(), backend: "ref").verdict == .pass)
        let broken = RefHypervisor(injectedFaults: [.genericStepIgnoresCodeWrites])
        #expect(SuiteRunner().run(payload, on: broken, backend: "ref-generic-stale").verdict == .fail)
    }

    /// emulator.flags_at_fault passes on the engine and fails when the decoded-instruction
    /// cache's dead-flag elimination forgets that a fault can come between an instruction and
    /// the one that overwrites its flags (FlagLiveness.swift).
    @Test("flags_at_fault catches dead-flag elimination across a fault")
    func deadFlagsAcrossStopsCaught() throws {
        let payload = try #require(Catalogue.named("flags_at_fault"))
        #expect(SuiteRunner().run(payload, on: try Backends.openReference(), backend: "ref").verdict == .pass)
        let broken = RefHypervisor(injectedFaults: [.deadFlagsAcrossStops])
        let report = SuiteRunner().run(payload, on: broken, backend: "ref-dead-flags")
        #expect(report.verdict == .fail)
        // Every case with a fault between the writer and the overwriting instruction fails.
        #expect(report.count.fail >= 6, "\(report.lines.map(\.text))")
    }

    /// `kvm-unit trace` on ref: an EPT violation names its qualification bits and the GPA
    /// (README, "trace"), and the later access to an unbacked GPA is an EPT misconfiguration.
    @Test("the trace decodes EPT-violation qualifications and shows the GPA")
    func eptViolationTrace() throws {
        let payload = try #require(Catalogue.named("memslot_delete_mmio"))
        let t = TraceRun.run(payload, on: try Backends.openReference(), backend: "ref")
        let write = t.lines.first { $0.contains("EPT violation qual=0x182 (write; EPT entry ---; linear address valid; final translation)") }
        #expect(write?.contains(" gpa=0x") == true, "\(t.lines.prefix(20))")
        #expect(t.lines.contains { $0.contains("EPT violation qual=0x184 (fetch; EPT entry ---; linear address valid; final translation)") })
        #expect(t.lines.contains { $0.contains("VMX 49 EPT misconfiguration") }, "an MMIO SPTE hit")
    }
}
