import Testing
import KVMABI
@testable import RefHypervisor

/// KVM_SET_TSC_KHZ on the engine: VMX TSC scaling (SDM Vol. 3C 25.3; Linux 6.1 x86.c
/// set_tsc_khz, kvm_scale_tsc) multiplies the host TSC, and the TSC-deadline timer converts
/// guest ticks at the vCPU's rate (lapic.c start_sw_tscdeadline).
@Suite struct TSCScalingTests {
    /// Two RDTSCs around 1000 loop turns; R9 = the difference.
    static let twoReads = """
        rdtsc
        shl rdx, 32
        or rax, rdx
        mov r8, rax
        mov ecx, 1000
        .turn:
        dec ecx
        jnz .turn
        rdtsc
        shl rdx, 32
        or rax, rdx
        sub rax, r8
        mov r9, rax
        hlt
        """

    func elapsed(khz: UInt32?) throws -> UInt64 {
        let s = try Snippet(.long64, Self.twoReads)
        if let khz { try s.vcpu.setTSCKHz(khz) }
        #expect(try s.run() == .hlt)
        return try s.regs().r9
    }

    @Test func doubleRateDoublesTheTicks() throws {
        let plain = try elapsed(khz: nil)
        #expect(plain > 2000)
        #expect(try elapsed(khz: 2_000_000) == 2 * plain)
        #expect(try elapsed(khz: 500_000) == plain / 2)
    }

    @Test func withinTheToleranceIsUnscaled() throws {
        // tsc_tolerance_ppm 250: 1,000,200 kHz runs at the host's rate (no multiplier)...
        #expect(try elapsed(khz: 1_000_200) == (try elapsed(khz: nil)))
        // ...and GET_TSC_KHZ still reports the rate asked for (virtual_tsc_khz).
        let s = try Snippet(.long64, "hlt")
        try s.vcpu.setTSCKHz(1_000_200)
        #expect(try s.vcpu.tscKHz() == 1_000_200)
    }

    @Test func ratioMatchesKVMArithmetic() {
        #expect(TSCScaling.ratio(khz: 1_000_000) == 1 << 48)
        #expect(TSCScaling.ratio(khz: 3_000_000) == 3 << 48)
        // mul_u64_u32_div(1 << 48, 1_234_567, 1_000_000), truncated.
        #expect(TSCScaling.ratio(khz: 1_234_567) == UInt64((Double(1 << 48) * 1.234567).rounded(.down)))
        #expect(TSCScaling.scale(1_000, ratio: 3 << 48) == 3_000)
        #expect(TSCScaling.nanoseconds(ticks: 3_000, khz: 3_000_000) == 1_000)
        #expect(TSCScaling.nanoseconds(ticks: ~0, khz: 1) == ~0)   // saturates, never traps
    }

    @Test func newVCPUsTakeTheVMRate() throws {
        let vm = try RefHypervisor().createVM()
        try vm.setTSCKHz(3_000_000)
        let v = try vm.createVCPU(id: 0)
        #expect(try v.tscKHz() == 3_000_000)
        #expect(throws: KVMError.self) { try vm.setTSCKHz(0xFFFF_FFFF) }
        try vm.setTSCKHz(0)
        #expect(try vm.tscKHz() == 1_000_000)
    }

    @Test func deadlineTimerCountsGuestTicks() throws {
        // With the vCPU at 2 GHz a deadline 200,000 ticks ahead is 100,000 ns away: the
        // deadline must pass after about 100,000 virtual ns (instructions), not 200,000.
        let s = try Snippet(.prot32, """
            mov ebx, 0xFEE00000
            mov dword [ebx + 0xF0], 0x1FF       ; software-enable, spurious FFH
            mov dword [ebx + 0x320], 0x40040    ; LVT timer: TSC-deadline mode, vector 40H
            rdtsc
            add eax, 200000
            adc edx, 0
            mov ecx, 0x6E0
            wrmsr
            xor esi, esi
            .turn:
            inc esi
            mov ecx, 0x6E0
            rdmsr
            or eax, edx
            jnz .turn                           ; IA32_TSC_DEADLINE reads 0 once it passed
            out 0x10, al
            """, irqchip: true)
        try s.vcpu.setTSCKHz(2_000_000)
        guard case .io = try s.run() else { Issue.record("the deadline never passed"); return }
        let turns = try s.regs().rsi
        // Five instructions a turn: about 100,000 / 5 turns; unscaled it would be 40,000.
        #expect(turns > 15_000 && turns < 30_000, "turns \(turns)")
    }
}
