import KVMABI
import Testing
@testable import RefHypervisor

/// IN's exit and completion without step(): an IN in a decoded block makes its exit
/// (CPU.blockPortIn) and the next KVM_RUN completes it as complete_fast_pio_in does (the
/// VMM's bytes to AL/AX/EAX, RIP past it). Expected register values come from the SDM
/// (Vol. 1 3.4.1.1: an 8- or 16-bit destination keeps the rest of the register, a 32-bit
/// one is zero-extended into the 64-bit register), and each case also runs with the
/// decoded-block cache off, where step() executes the IN both times.
@Suite struct PortInFastPathTests {
    @Test(arguments: [true, false]) func widthsAndDataAsTheSDMSays(_ cached: Bool) throws {
        let s = try Snippet(.long64, """
            mov rax, -1
            in al, 0xE0
            mov rbx, rax
            mov rax, -1
            in ax, 0xE1
            mov rcx, rax
            mov rax, -1
            mov dx, 0x1234
            in eax, dx
            mov rsi, rax
            mov rax, -1
            in al, 0xE0             ; no data given: kvm_run's bytes stay 0
            hlt
            """)
        s.ref.cpu.fastPath = cached
        func expectIn(_ port: UInt16, _ size: Int) throws {
            let e = try s.run()
            #expect(e.singleIn?.port == port && e.singleIn?.bytes == size, "\(e)")
        }
        try expectIn(0xE0, 1)
        s.vcpu.completeIO(value: 0x5A, byteCount: 1)
        try expectIn(0xE1, 2)
        s.vcpu.completeIO(value: 0xBEEF, byteCount: 2)
        try expectIn(0x1234, 4)
        s.vcpu.completeIO([0x78, 0x56, 0x34, 0x12])      // through the array form
        try expectIn(0xE0, 1)
        #expect(try s.run() == .hlt)
        let r = try s.regs()
        #expect(r.rbx == 0xFFFF_FFFF_FFFF_FF5A, "IN AL keeps bits 63:8")
        #expect(r.rcx == 0xFFFF_FFFF_FFFF_BEEF, "IN AX keeps bits 63:16")
        #expect(r.rsi == 0x1234_5678, "IN EAX zero-extends into RAX")
        #expect(r.rax == 0xFFFF_FFFF_FFFF_FF00, "no data: zeros")
        #expect(s.ref.cpu.instructionsRetired == 13)
    }

    /// With single-step on, the completed IN traps (kvm_skip_emulated_instruction calls
    /// kvm_vcpu_do_singlestep): the quiet entry and the fast completion must step aside.
    @Test func singleStepAfterAnIN() throws {
        let s = try Snippet(.long64, "in al, 0xE0\nnop\nhlt")
        _ = try s.run()
        try s.vcpu.setGuestDebug(GuestDebug(control: GuestDebug.enable | GuestDebug.singleStep))
        s.vcpu.completeIO(value: 0x33, byteCount: 1)
        let e = try s.run()
        guard case .debug(_, let pc, _, _) = e else { Issue.record("expected a debug exit, got \(e)"); return }
        #expect(pc == Snippet.codeBase + 2, "the trap is after the IN")
        #expect(try s.regs().rax & 0xFF == 0x33)
    }
}
