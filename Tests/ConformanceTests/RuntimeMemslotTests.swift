import Testing
import Conformance
import GuestPayloads
import KVMABI

/// Run-time memslots (issue 11): a slot deleted, moved or mapped read-only while the guest
/// runs changes the exit the guest's next access makes, on every backend here.
@Suite("Run-time memslots")
struct RuntimeMemslotTests {
    static var backends: [(String, any Hypervisor)] {
        [("ref", GroupTesting.reference.hypervisor), ("kvm", GroupTesting.host.hypervisor)].compactMap { n, h in h.map { (n, $0) } }
    }

    /// The exits of `payload` on `hypervisor` after the memslot request whose note contains
    /// `request`, up to the next memslot request.
    static func exitsAfter(_ request: String, in payload: String, on hypervisor: any Hypervisor, backend: String) throws -> [TraceEvent] {
        let p = try #require(Catalogue.named(payload))
        let r = SuiteRunner(divergences: .builtIn).run(p, on: hypervisor, backend: backend)
        #expect(r.verdict == .pass, "\(payload) [\(backend)]: \(r.lines.map(\.text))")
        let trace = try #require(r.outcome?.trace)
        let i = try #require(trace.firstIndex { $0.note.hasPrefix("memslot") && $0.note.contains(request) }, "no '\(request)' request in the trace")
        #expect(trace[i].note.hasSuffix(": 0"), "the request failed: \(trace[i].note)")
        return Array(trace[(i + 1)...].prefix { !$0.note.hasPrefix("memslot") })
    }

    @Test("before the delete the access makes no exit; after it the same access is a KVM_EXIT_MMIO at the slot's GPA")
    func deletion() throws {
        for (name, h) in Self.backends {
            let before = try Self.exitsAfter("create 16", in: "mmu.memslot_delete_mmio", on: h, backend: name)
            #expect(!before.contains { $0.exit == "KVM_EXIT_MMIO" }, "[\(name)] accesses to the live slot exited: \(before)")
            let after = try Self.exitsAfter("delete 16", in: "mmu.memslot_delete_mmio", on: h, backend: name)
            let mmio = after.filter { $0.exit == "KVM_EXIT_MMIO" }
            #expect(mmio.first?.direction == "read" && mmio.first?.address == 0x4000_1000, "[\(name)] \(after)")
            #expect(mmio.dropFirst().first?.direction == "write", "[\(name)] the write after the delete did not exit")
        }
    }

    @Test("after a move the old GPA's read is a KVM_EXIT_MMIO and the new GPA's read makes no exit")
    func move() throws {
        for (name, h) in Self.backends {
            let after = try Self.exitsAfter("move 16", in: "mmu.memslot_move", on: h, backend: name)
            let mmio = after.filter { $0.exit == "KVM_EXIT_MMIO" }
            #expect(mmio.count == 1 && mmio.first?.address == 0x4000_2008 && mmio.first?.direction == "read",
                    "[\(name)] want exactly one MMIO exit, the read at the old GPA (the new GPA's read makes none): \(after)")
        }
    }

    @Test("a write through the read-only alias is a KVM_EXIT_MMIO write; the same write through the read-write slot makes no exit")
    func readOnly() throws {
        for (name, h) in Self.backends {
            let p = try #require(Catalogue.named("mmu.memslot_readonly_alias"))
            let trace = try #require(SuiteRunner().run(p, on: h, backend: name).outcome?.trace)
            #expect(trace.contains { $0.exit == "KVM_EXIT_MMIO" && $0.direction == "write" && $0.address == 0x4010_1004 },
                    "[\(name)] no MMIO write exit at the read-only slot")
            #expect(!trace.contains { $0.exit == "KVM_EXIT_MMIO" && $0.address == 0x4000_1004 },
                    "[\(name)] the read-write slot's write exited")
        }
    }
}
