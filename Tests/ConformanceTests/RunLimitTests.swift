@testable import Conformance
import Foundation
import GuestPayloads
import KVMABI
import Testing

/// Nothing a payload says can hang the runner (README.md "How a run is protected"): a huge
/// header budget is cut to the documented cap, the wall-clock limit ends a spinning guest
/// on both backends, and every REP iteration counts toward the instruction budget.
@Suite("Run limits: timeouts, budget cap, REP iterations")
struct RunLimitTests {
    /// Assembles a payload with the suite's include files (nasm, as the build plugin does).
    static func payload(_ name: String, budget: String, ram: String = "0x200000", mode: String = "long64",
                        body: String) throws -> Payload {
        try assemblePayload(name, source: """
        %define PL_BUDGET \(budget)
        %define PL_RAM_SIZE \(ram)
        %include "payload.inc"
        PAYLOAD \(name), exits, \(mode), "test payload"
        payload_main:
        \(body)
        """)
    }

    /// `jmp $` with the largest budget a header can state.
    static func spinner() throws -> Payload {
        try payload("spin_forever", budget: "0x7FFFFFFFFFFFFFFF", body: "    jmp $")
    }

    /// REP STOSB with ECX ~ 2^32 (32-bit address size), again and again. Every 2 MiB page of
    /// the first 4 GiB but the first is remapped to the RAM page at 2 MiB, so the stores stay
    /// in RAM (no exit on either backend) and never reach the code.
    static func repStosb(budget: String) throws -> Payload {
        try payload("rep_stosb_forever", budget: budget, ram: "0x400000", body: """
            mov rdi, 0x3008                 ; boot PDEs 1..2047 (boot.inc: PDs at 0x3000-0x6FFF)
            mov ecx, 2047
        .pde:
            mov qword [rdi], 0x200000 | 0x87
            add rdi, 8
            dec ecx
            jnz .pde
            mov rax, cr3
            mov cr3, rax
            xor eax, eax
        .again:
            mov edi, 0x200000
            mov ecx, 0xFFE00000             ; up to the 4 GiB wrap, never into the first page
            a32 rep stosb
            jmp .again
        """)
    }

    static func backends() -> [(String, any Hypervisor)] {
        var out: [(String, any Hypervisor)] = []
        if let ref = GroupTesting.reference.hypervisor { out.append(("ref", ref)) }
        if let kvm = GroupTesting.host.hypervisor { out.append(("kvm", kvm)) } else {
            print("RunLimitTests: kvm side skipped: \(GroupTesting.host.reason)")
        }
        return out
    }

    /// Slack over the limit: HostKVM's watchdog polls every 2 ms; the engine reads the clock
    /// every 2^18 instructions (~20 ms in a debug build); a loaded 2-core host adds more.
    static let slack: UInt64 = 1_500_000_000

    @Test func hugeHeaderBudgetIsCappedAndGetsTheLongestDefaultTimeout() throws {
        let p = try Self.spinner()
        #expect(p.header.instructionBudget == 0x7FFF_FFFF_FFFF_FFFF)
        let loaded = try LoadedPayload(p, on: try #require(GroupTesting.reference.hypervisor))
        defer { loaded.vm.close() }
        #expect(loaded.instructionBudget == LoadedPayload.maximumInstructionBudget)
        #expect(loaded.defaultTimeoutNanoseconds == LoadedPayload.maximumDefaultTimeout)
    }

    @Test func defaultTimeoutFollowsTheBudget() throws {
        let small = try Self.payload("small_budget", budget: "1000", body: "    jmp $")
        let loaded = try LoadedPayload(small, on: try #require(GroupTesting.reference.hypervisor))
        defer { loaded.vm.close() }
        #expect(loaded.defaultTimeoutNanoseconds == LoadedPayload.minimumDefaultTimeout)
        #expect(PayloadRunner(loaded).wallBudgetNanoseconds == LoadedPayload.minimumDefaultTimeout)
        #expect(PayloadRunner(loaded, wallBudgetNanoseconds: 123).wallBudgetNanoseconds == 123)
    }

    @Test func spinningPayloadEndsAsATimeoutOnEveryBackend() throws {
        let p = try Self.spinner()
        let limit: UInt64 = 1_000_000_000
        for (name, hv) in Self.backends() {
            let r = SuiteRunner(timeoutNanoseconds: limit).run(p, on: hv, backend: name)
            let o = try #require(r.outcome)
            #expect(o.end == .timeout, "\(name): \(o.end)")
            #expect(o.wallNanoseconds >= limit * 9 / 10 && o.wallNanoseconds <= limit + Self.slack,
                    "\(name): ended after \(o.wallNanoseconds) ns with a \(limit) ns limit")
            #expect(r.verdict == .fail, "a timeout is a failure")
        }
    }

    @Test func repStosbWithAHugeCountEndsAsATimeoutOnEveryBackend() throws {
        let p = try Self.repStosb(budget: "0x7FFFFFFFFFFFFFFF")
        let limit: UInt64 = 1_000_000_000
        for (name, hv) in Self.backends() {
            let r = SuiteRunner(timeoutNanoseconds: limit).run(p, on: hv, backend: name)
            let o = try #require(r.outcome)
            #expect(o.end == .timeout, "\(name): \(o.end)")
            #expect(o.wallNanoseconds <= limit + Self.slack, "\(name): ended after \(o.wallNanoseconds) ns with a \(limit) ns limit")
        }
    }

    /// Counted as one instruction per 64K-iteration chunk, 2M budgeted "instructions" of
    /// REP STOSB would be 1.3e11 stores; counted per iteration they are 2M, far within 10 s.
    @Test func everyRepIterationCountsTowardTheInstructionBudget() throws {
        let p = try Self.repStosb(budget: "2000000")
        let ref = try #require(GroupTesting.reference.hypervisor)
        let limit: UInt64 = 10_000_000_000
        let r = SuiteRunner(timeoutNanoseconds: limit).run(p, on: ref, backend: "ref")
        let o = try #require(r.outcome)
        #expect(o.end == .timeout)
        #expect(o.wallNanoseconds < limit / 2, "the instruction budget, not the wall clock, ended it: \(o.wallNanoseconds) ns")
    }

    @Test func timeoutOptionRejectsNonsense() {
        #expect(throws: RunLimits.Invalid.self) { try RunLimits.nanoseconds(seconds: 0) }
        #expect(throws: RunLimits.Invalid.self) { try RunLimits.nanoseconds(seconds: -1) }
        #expect(throws: RunLimits.Invalid.self) { try RunLimits.nanoseconds(seconds: .infinity) }
        #expect(throws: RunLimits.Invalid.self) { try RunLimits.nanoseconds(seconds: .nan) }
        #expect(throws: RunLimits.Invalid.self) { try RunLimits.nanoseconds(seconds: 1e9) }
        #expect((try? RunLimits.nanoseconds(seconds: 0.5)) == 500_000_000)
    }
}
