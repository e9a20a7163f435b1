import Conformance
import Testing

/// Every payload of the mmu group, one test each.
@Suite("mmu payloads")
struct MMUPayloadTests {
    /// On the host's /dev/kvm: passes when the payload passes or fails only as a recorded
    /// known divergence of this implementation (the reason is printed).
    @Test("on kvm", .enabled(if: GroupTesting.host.hypervisor != nil, Comment(rawValue: GroupTesting.host.reason)),
          arguments: GroupTesting.names(.mmu))
    func onKVM(_ name: String) throws {
        let host = try #require(GroupTesting.host.hypervisor)
        let r = try #require(GroupTesting.run(name, on: host, backend: "kvm"))
        if r.verdict != .pass { print(GroupTesting.describe(r)) }
        #expect(r.verdict != .fail, "\(GroupTesting.describe(r))")
    }
}
