import Testing
import Conformance
import GuestPayloads
import KVMABI
import RefHypervisor

/// The guest-visible CPUID (issue 8): measured once per run on every backend, differences
/// from the KVM_SET_CPUID2 table named in the header, and later divergences attributed to them.
@Suite("Guest-visible CPUID")
struct GuestCPUIDTests {
    /// A user64 payload that SKIPs without MOVBE and otherwise uses it: the branch a payload
    /// takes on a feature check depends on the CPUID its guest reads.
    static func movbeUser() throws -> Payload {
        try RunLimitTests.payload("movbe_if_present", budget: "2000000", mode: "user64", body: """
            mov eax, 1
            cpuid
            test ecx, 1 << 22
            jnz .has
            SKIP "MOVBE not in CPUID.1:ECX"
            ret
        .has:
            mov eax, 0x11223344
            movbe [rel scratch], eax
            mov ebx, [rel scratch]
            CHECK_EQ ebx, 0x44332211, "MOVBE stores byte-swapped"
            ret
        scratch: dd 0
        """)
    }

    @Test("the shared table ANDs feature words, keeps the smaller highest leaf, drops leaves one side lacks")
    func sharedTable() {
        let a = [CPUIDEntry(function: 0, eax: 0xD, ebx: 1, ecx: 2, edx: 3),
                 CPUIDEntry(function: 1, eax: 0x506, ebx: 0x800, ecx: 0b1110, edx: 0xF0),
                 CPUIDEntry(function: 7, index: 0, flags: CPUIDEntry.significantIndex, eax: 1, ebx: 0x281, ecx: 0, edx: 0),
                 CPUIDEntry(function: 0xB, eax: 1, ebx: 1, ecx: 1, edx: 1)]
        let b = [CPUIDEntry(function: 0, eax: 7, ebx: 9, ecx: 9, edx: 9),
                 CPUIDEntry(function: 1, eax: 0x999, ebx: 0x999, ecx: 0b0111, edx: 0x3C),
                 CPUIDEntry(function: 7, index: 0, flags: CPUIDEntry.significantIndex, eax: 0, ebx: 0x280, ecx: 0, edx: 0)]
        let s = SharedCPUIDTable.intersection([a, b])
        #expect(s.count == 3, "leaf 0xB is only on one side")
        #expect(s[0].eax == 7 && s[0].ebx == 1, "highest leaf = the smaller; vendor from the first table")
        #expect(s[1].ecx == 0b0110 && s[1].edx == 0x30 && s[1].eax == 0x506, "feature words ANDed, signature from the first")
        #expect(s[2].eax == 0 && s[2].ebx == 0x280, "7.0: highest sub-leaf the smaller, EBX ANDed")
        #expect(SharedCPUIDTable.intersection([a]) == a)
    }

    @Test("the reference engine reads its own table at CPL0 and CPL3")
    func engineSeesItsTable() throws {
        let ref = RefHypervisor()
        let seen = GuestVisibleCPUID.measure(on: ref, backend: "ref", table: nil)
        #expect(seen.failure == nil)
        #expect(seen.leavesRead == 13)
        #expect(seen.differences.isEmpty, "\(seen.differences.map(\.description))")
        #expect(seen.headerLines(.builtIn) == ["kvm-unit: backend ref: guest-visible CPUID = the KVM_SET_CPUID2 table (13 leaves read at CPL0 and CPL3)"])
    }

    /// A backend whose CPL3 CPUID does not follow the table (the engine with an injected
    /// fault): the header names the register, and the payload that SKIPs on one side and
    /// runs on the other DIVERGEs with the CPUID named as the likely cause, or XDIVERGEs
    /// when a `cpuid` entry records the difference.
    @Test("a CPUID difference is named in the header and a SKIP-vs-PASS divergence is attributed to it")
    func attribution() throws {
        let good = RefHypervisor(), odd = RefHypervisor(injectedFaults: [.flipMOVBEAtCPL3])
        let backends: [(name: String, hypervisor: any Hypervisor)] = [("ref", good), ("odd", odd)]
        let seen = SuiteRunner.measureGuestCPUID(on: backends)
        #expect(seen[0].differences.isEmpty)
        #expect(seen[1].differences.map(\.key) == ["0x1.ecx"] && seen[1].differences.map(\.cpl) == [3])
        let header = seen[1].headerLines(.builtIn).joined(separator: "\n")
        #expect(header.contains("DIVERGE CPL3 0x1.ecx = 0x81a02000 (table 0x81e02000) [not recorded for ref]"), "\(header)")

        let payload = try Self.movbeUser()
        var runner = SuiteRunner(divergences: KnownDivergences(entries: []))
        runner.guestCPUID = seen
        let report = runner.run(payload, on: backends, cpuid: SuiteRunner.sharedCPUID(backends))
        #expect(report.results.map(\.verdict) == [.pass, .skip])
        let c = try #require(report.comparison)
        #expect(c.verdict == .diverge)
        #expect(c.reason?.contains("the guests may have read different CPUID (odd: CPL3 0x1.ecx = 0x81a02000 (table 0x81e02000)") == true,
                "\(c.reason ?? "no reason")")

        // Recorded: the same divergence is expected, with the reason named.
        let table = try KnownDivergences.parse("ref cpuid cpl3:0x1.ecx user-mode CPUID here does not follow the table (test)")
        #expect(seen[1].headerLines(table).joined().contains("XDIVERGE CPL3 0x1.ecx"))
        runner = SuiteRunner(divergences: table)
        runner.guestCPUID = seen
        let recorded = runner.run(payload, on: backends, cpuid: SuiteRunner.sharedCPUID(backends))
        #expect(recorded.comparison?.verdict == .expectedDivergence, "\(recorded.comparison?.reason ?? "")")

        // A long64 payload never runs at CPL3: the CPL3 difference cannot explain its divergence.
        #expect(!seen[1].mayHaveMisled(try #require(Catalogue.named("exits.cpuid_leaf0"))))
        #expect(seen[1].mayHaveMisled(payload))
    }

    /// On this host's /dev/kvm the guest's CPL3 CPUID is the host CPU's: a payload that needs
    /// SSE3 (absent from the engine, so from the shared table) runs on kvm and SKIPs on ref.
    @Test("on /dev/kvm: the header names kvm's CPUID differences and a SKIP on ref alone is attributed")
    func hostAttribution() throws {
        guard let host = GroupTesting.host.hypervisor else {
            print("skipped: \(GroupTesting.host.reason)")
            return
        }
        let backends: [(name: String, hypervisor: any Hypervisor)] = [("kvm", host), ("ref", RefHypervisor())]
        let seen = SuiteRunner.measureGuestCPUID(on: backends)
        #expect(seen[1].differences.isEmpty)
        let table = try #require(SuiteRunner.sharedCPUID(backends))
        let sse3InTable = table.first { $0.function == 1 }.map { $0.ecx & 1 != 0 } ?? false
        let sse3AtCPL3 = seen[0].differences.first { $0.key == "0x1.ecx" && $0.cpl == 3 }.map { $0.seen & 1 != 0 } ?? sse3InTable
        guard sse3AtCPL3 != sse3InTable else {
            print("skipped: \(host.identity.implementation) answers CPUID.1:ECX.SSE3 at CPL3 from the table; nothing to attribute")
            return
        }
        for line in seen[0].headerLines(.builtIn) { print(line) }
        let payload = try RunLimitTests.payload("sse3_if_present", budget: "2000000", mode: "user64", body: """
            mov eax, 1
            cpuid
            test ecx, 1
            jnz .has
            SKIP "SSE3 not in CPUID.1:ECX"
            ret
        .has:
            PASS "SSE3 present"
            ret
        """)
        var runner = SuiteRunner()
        runner.guestCPUID = seen
        let report = runner.run(payload, on: backends, cpuid: table)
        let lines = TextReport.lines(report, verbose: false).joined(separator: "\n")
        print(lines)
        #expect(report.results.map(\.verdict) == [.pass, .skip])
        #expect(lines.contains("the guests may have read different CPUID (kvm: "), "\(lines)")
        let recorded = divergencesRecordCPL3(seen[0])
        #expect(report.comparison?.verdict == (recorded ? .expectedDivergence : .diverge))
    }

    func divergencesRecordCPL3(_ seen: GuestVisibleCPUID) -> Bool { seen.unrecorded(.builtIn).isEmpty }
}
