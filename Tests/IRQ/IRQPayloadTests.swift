import Conformance
import Testing

/// Every payload of the irq group on the reference engine, on /dev/kvm, and both compared.
/// A recorded known divergence passes, with its reason printed.
@Suite("irq payloads")
struct IRQPayloadTests {
    @Test("on ref", .enabled(if: GroupTesting.reference.hypervisor != nil, Comment(rawValue: GroupTesting.reference.reason)),
          arguments: GroupTesting.names(.irq))
    func onRef(_ name: String) throws {
        let failure = GroupTesting.failure(name, on: try #require(GroupTesting.reference.hypervisor), backend: "ref")
        #expect(failure == nil, Comment(rawValue: failure ?? ""))
    }

    @Test("on kvm", .enabled(if: GroupTesting.host.hypervisor != nil, Comment(rawValue: GroupTesting.host.reason)),
          arguments: GroupTesting.names(.irq))
    func onKVM(_ name: String) throws {
        let failure = GroupTesting.failure(name, on: try #require(GroupTesting.host.hypervisor), backend: "kvm")
        #expect(failure == nil, Comment(rawValue: failure ?? ""))
    }

    @Test("kvm and ref agree", .enabled(if: GroupTesting.host.hypervisor != nil && GroupTesting.reference.hypervisor != nil,
                                        Comment(rawValue: GroupTesting.bothReason)),
          arguments: GroupTesting.names(.irq))
    func crossCheck(_ name: String) throws {
        let failure = GroupTesting.divergence(name, host: try #require(GroupTesting.host.hypervisor),
                                              reference: try #require(GroupTesting.reference.hypervisor))
        #expect(failure == nil, Comment(rawValue: failure ?? ""))
    }
}
