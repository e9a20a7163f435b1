import Testing
import Conformance
import KVMABI
import RefHypervisor

/// `kvm-unit abi` (issue 9): the checks are well-formed, the engine answers as Linux 6.1 on
/// all but its recorded divergences, and a wrong answer is a FAIL naming the citation.
@Suite("ABI checks")
struct ABITests {
    @Test("at least 200 checks, unique names, each with a Linux 6.1 source citation")
    func catalogue() {
        let all = ABICatalogue.all
        #expect(all.count >= 200)
        #expect(Set(all.map(\.name)).count == all.count, "duplicate check names")
        for c in all {
            #expect(c.citation.contains(".c ") || c.citation.contains(".h "), "\(c.name): citation '\(c.citation)' names no file and function")
            #expect(c.name.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }, "\(c.name)")
        }
    }

    @Test("the engine answers as Linux on every check not recorded for ref; recorded ones still differ")
    func engine() {
        let results = ABIRunner.run(ABICatalogue.all, on: RefHypervisor(), backend: "ref", divergences: .builtIn)
        for r in results where r.verdict == .fail || r.verdict == .xpass {
            Issue.record("\(r.verdict.rawValue) abi.\(r.check): got \(r.answer), Linux \(r.expected)")
        }
        let asLinux = results.filter { $0.answer == $0.expected }.count
        #expect(Double(asLinux) / Double(results.count) >= 0.97)
    }

    /// The wrappers added with issue 9 map KVM's errno (and values) as the kernel gives
    /// them: every check of their areas answers as Linux on /dev/kvm, or as recorded.
    @Test("on /dev/kvm: the wrappers of MP state, VM setup, debug registers, XCRs, XSAVE, GET_CPUID2, TRANSLATE, PIT, MMU pages, clock, MCE, kvm_run fields, GSI routing")
    func hostWrappers() {
        guard let host = GroupTesting.host.hypervisor else {
            print("skipped: \(GroupTesting.host.reason)")
            return
        }
        let areas = ["mp_state.", "msr_list.", "vm.", "debugregs.", "xcrs.", "cpuid.get_", "translate.", "tsc_khz.", "kvmclock_ctrl.",
                     "pit.legacy", "pit.reinject", "mmu_pages.", "clock.", "mce.", "emulated_cpuid.", "tpr_access.", "lapic.", "irqchip_state.", "msi.", "pit_state.", "sregs2.", "cpuid_v1.", "feature_msrs.",
                     "enable_cap.", "msr_filter.", "user_msr.", "platform_info.", "misc_features.", "hypercall.", "clear_dirty.",
                     "manual_dirty.", "irq_line_status.", "pmu_filter.", "sys_attr.", "vcpu_attr.", "set_mce.", "mce_msr.", "ioeventfd.", "irqfd.", "coalesced.",
                     "xsave.", "run.cr8", "run.apic_base", "run.flags", "run.mxcsr", "gsi_routing.", "xsave2."]
        let checks = ABICatalogue.all.filter { c in areas.contains { c.name.hasPrefix($0) } }
        #expect(checks.count >= 50)
        for r in ABIRunner.run(checks, on: host, backend: "kvm", divergences: .builtIn) where r.verdict == .fail {
            Issue.record("FAIL abi.\(r.check) on \(host.identity.implementation): got \(r.answer), Linux \(r.expected)")
        }
    }

    @Test("a wrong answer is a FAIL that names the check, both answers and the citation; a recorded one is XFAIL")
    func judging() throws {
        let wrong = ABICheck.forTesting("test.wrong", expect: .errno(Errno.EINVAL)) { _ in .ok }
        let r = ABIRunner.run([wrong], on: RefHypervisor(), backend: "ref", divergences: KnownDivergences(entries: []))
        #expect(r[0].verdict == .fail)
        #expect(r[0].line(wrong).contains("got 0 (success), Linux answers EINVAL (test.c test_function)"))
        let table = try KnownDivergences.parse("ref abi=test.wrong * recorded for the test")
        let x = ABIRunner.run([wrong], on: RefHypervisor(), backend: "ref", divergences: table)
        #expect(x[0].verdict == .xfail)
        let right = ABICheck.forTesting("test.wrong", expect: .ok) { _ in .ok }
        #expect(ABIRunner.run([right], on: RefHypervisor(), backend: "ref", divergences: table)[0].verdict == .xpass)
    }

    @Test("kvm-unit abi --backend ref: SUMMARY line, exit 0; an unknown check name exits 2")
    func command() throws {
        let run = try ExternalTool.run(ExternalTool.kvmUnit.path, ["abi", "--backend", "ref"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("SUMMARY: \(ABICatalogue.all.count) ABI checks on 1 backend"))
        #expect(run.stdout.contains("ref answers as Linux 6.1 on"))
        let listed = try ExternalTool.run(ExternalTool.kvmUnit.path, ["abi", "--list", "memslot"])
        #expect(listed.stdout.contains("abi.memslot.overlap:") && listed.stdout.contains("__kvm_set_memory_region"))
        let bad = try ExternalTool.run(ExternalTool.kvmUnit.path, ["abi", "no_such_check"])
        #expect(bad.status == 2)
    }
}
