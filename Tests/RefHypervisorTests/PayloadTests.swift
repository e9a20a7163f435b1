import Testing
import KVMABI
@testable import RefHypervisor

/// Every payload of every group on the reference engine.
@Suite struct PayloadTests {
    static let all: [String] = ["exits", "mmu", "emulator", "irq"].flatMap { g in PayloadRunner.payloadNames(g).map { "\(g)/\($0)" } }

    /// Payloads that fail on ref because of the payload itself (reported to the lead).
    static let suspectedPayloadBugs: [String: String] = [:]

    @Test(arguments: all)
    func payload(_ path: String) throws {
        let parts = path.split(separator: "/").map(String.init)
        let bin = try PayloadRunner.assemble(parts[0], parts[1])
        let o = PayloadRunner.run(bin)
        if PayloadTests.suspectedPayloadBugs[path] != nil && !o.passed {
            withKnownIssue(Comment(rawValue: PayloadTests.suspectedPayloadBugs[path]!), isIntermittent: true) {
                Issue.record("\(path) fails on ref: \(o.failures.map(\.message))")
            }
            return
        }
        let fails = o.failures.map { "line \($0.line) kind \($0.kind) exp 0x\(String($0.expected, radix: 16)) act 0x\(String($0.actual, radix: 16)) aux 0x\(String($0.aux, radix: 16)) \($0.message)" }
        #expect(o.passed, "\(path): status \(String(describing: o.status)) shutdown \(o.shutdown) error \(o.error ?? "-") rip 0x\(String(o.regs.rip, radix: 16)) fails \(fails) console \(o.console)")
    }
}
