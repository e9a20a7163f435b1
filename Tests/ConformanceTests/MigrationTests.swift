import Testing
import Conformance
import GuestPayloads
import KVMABI

/// Save and restore of running payloads (issue 9, `kvm-unit run --migrate`): a payload moved
/// into a new VM after every exit ends as its plain run, within each backend here and
/// between them.
@Suite("Save and restore (--migrate)")
struct MigrationTests {
    static var backends: [(name: String, hypervisor: any Hypervisor)] {
        [("ref", GroupTesting.reference.hypervisor), ("kvm", GroupTesting.host.hypervisor)].compactMap { n, h in h.map { (n, $0) } }
    }

    /// The payloads whose state a port most often loses on the way: every exit kind, run-time
    /// slots and dirty logs, NMIs and IPIs in flight between vCPUs, CR8 without an irqchip,
    /// x87/SSE state, debug registers.
    static let selection = GroupTesting.names(.exits).map { "exits." + $0 }
        + ["mmu.dirty_log_string", "mmu.dirty_log_two_slots", "mmu.dirty_log_move_keeps", "mmu.memslot_move",
           "mmu.memslot_readonly_alias", "irq.msi_to_ap", "irq.nmi_ap_to_halted_bsp", "irq.nmi_blocking", "irq.sti_shadow",
           "irq.ipi_init_sipi_restart", "irq.pic_specific_eoi", "irq.lapic_timer_divide", "irq.tsc_deadline",
           "emulator.x87_basic", "emulator.string_rep_df"]

    static func migrated(_ names: [String], on backends: [(name: String, hypervisor: any Hypervisor)]) -> [PayloadReport] {
        var runner = SuiteRunner(divergences: .builtIn)
        runner.migrateEvery = 1
        let cpuid = SuiteRunner.sharedCPUID(backends)
        return names.compactMap(Catalogue.named).map { runner.run($0, on: backends, cpuid: cpuid) }
    }

    @Test("each payload migrated after every exit within one backend ends as its plain run (or as recorded)")
    func withinEachBackend() {
        for b in Self.backends {
            let reports = Self.migrated(Self.selection, on: [b])
            #expect(reports.count == Self.selection.count)
            for r in reports {
                #expect(r.migrations.count == 1, "\(r.qualifiedName) [\(b.name)]: one migrated run per backend")
                for m in r.migrations {
                    #expect(m.verdict != .diverge, "\(r.qualifiedName) [\(m.label ?? "")]: \(m.differingAspects) \(m.details)")
                    if m.verdict == .agree { #expect(m.details.last?.contains("migration") == true) }
                }
            }
        }
    }

    @Test("a REP OUTSB whose completion makes the next exit keeps that exit: the migrated trace is the plain one")
    func repStringExitKept() throws {
        let h = try #require(GroupTesting.reference.hypervisor, "\(GroupTesting.reference.reason)")
        let r = try #require(Self.migrated(["exits.io_rep_outsb"], on: [("ref", h)]).first)
        let m = try #require(r.migrations.first)
        #expect(m.verdict == .agree, "\(m.details)")
        // Several migrations happened inside the one REP OUTSB.
        let count = Int(m.details.last?.split(separator: " ").first ?? "") ?? 0
        #expect(count >= 5, "\(m.details)")
    }

    @Test("back and forth between the host's KVM and the reference engine, where their plain runs agree",
          .enabled(if: GroupTesting.host.hypervisor != nil && GroupTesting.reference.hypervisor != nil, "\(GroupTesting.bothReason)"))
    func betweenBackends() {
        let both: [(name: String, hypervisor: any Hypervisor)] = [("kvm", GroupTesting.host.hypervisor!), ("ref", GroupTesting.reference.hypervisor!)]
        for r in Self.migrated(GroupTesting.names(.exits).map { "exits." + $0 }, on: both) {
            #expect(r.migrations.count == 4, "\(r.qualifiedName): two within, two between")
            for m in r.migrations { #expect(m.verdict != .diverge, "\(r.qualifiedName) [\(m.label ?? "")]: \(m.differingAspects) \(m.details)") }
            if r.comparison?.verdict == .agree {
                #expect(r.migrations.filter { $0.label?.contains("and back") == true }.allSatisfy { $0.verdict != .skip })
            }
        }
    }

    @Test("a known-divergence entry may name a migrated aspect as migrate:ASPECT, and only a real aspect")
    func divergenceGrammar() throws {
        let t = try KnownDivergences.parse("ref irq.pit_mode0_once migrate:checks the PIT restarts\n")
        #expect(t.entries.first?.what == .aspect("migrate:checks"))
        #expect(throws: KnownDivergences.ParseError.self) { try KnownDivergences.parse("ref * migrate:clock no such aspect\n") }
    }
}
