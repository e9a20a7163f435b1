import KVMABI

/// Host request 0x12 (guests/README.md, "Guest debug requests"): KVM_SET_GUEST_DEBUG for the
/// vCPU that asks, between two of its instructions, and the harness's side of the
/// KVM_EXIT_DEBUG exits it causes.
///
/// The guest passes the GPA of a 72-byte block in its RAM:
///
///     +0  u32 control   KVM_GUESTDBG_* (ENABLE 1, SINGLESTEP 2, USE_SW_BP 10000H, USE_HW_BP 20000H)
///     +4  i32 result    written by the harness: 0, or -errno of KVM_SET_GUEST_DEBUG
///     +8  u64 [8]       debugreg: DR0-DR3, (DR4, DR5 unused), DR6, DR7 for USE_HW_BP
///
/// A debug exit is answered so that the guest goes on: after a #BP (USE_SW_BP) RIP steps
/// over the INT3; after a breakpoint #DB the vCPU resumes with RFLAGS.RF set, so an
/// instruction breakpoint at RIP does not fire again; after a single-step #DB (DR6.BS, no
/// B0-B3) nothing is written: the instruction is done, and KVM_SET_REGS would drop the TF
/// that KVM_GUESTDBG_SINGLESTEP put in RFLAGS (x86.c __kvm_set_rflags keeps it only at
/// singlestep_rip, the RIP of the KVM_SET_GUEST_DEBUG), ending the stepping. Each exit leaves exception << 24 | DR6[3:0] << 20
/// | pc[19:0] in the vCPU's latch (DR6 only for #DB: KVM reports none for #BP).
enum GuestDebugRequests {
    static let op: UInt32 = 0x12
    static let blockSize = 72

    struct Refused: Error { let why: String }

    /// Carries out the request at `blockGPA` for `vcpu`; returns the trace note and the
    /// debug state KVM accepted (nil if it refused it), which a migration sets again.
    static func handle(blockGPA: UInt64, vcpu: any VirtualCPU, ram: GuestMemory) throws(Refused) -> (note: String, applied: GuestDebug?) {
        guard blockGPA % 8 == 0, blockGPA <= UInt64(ram.size), UInt64(blockSize) <= UInt64(ram.size) - blockGPA else {
            throw Refused(why: "guest debug block at 0x\(String(blockGPA, radix: 16)) is not an aligned 72-byte block in RAM")
        }
        let b = ram.read(at: Int(blockGPA), count: blockSize)
        let control = LittleEndian.u32(b, 0)
        let debug = GuestDebug(control: control, debugreg: (0..<8).map { LittleEndian.u64(b, 8 + 8 * $0) })
        var result: Int32 = 0
        do { try vcpu.setGuestDebug(debug) } catch { result = -error.errno }
        _ = ram.write(LittleEndian.bytes(UInt32(bitPattern: result)), at: Int(blockGPA) + 4)
        return ("KVM_SET_GUEST_DEBUG 0x\(String(control, radix: 16)): \(result)", result == 0 ? debug : nil)
    }

    /// Resumes the guest after a KVM_EXIT_DEBUG; returns the latch value, or an error
    /// message if the vCPU's registers could not be read or written.
    static func resume(_ vcpu: any VirtualCPU, exception: UInt32, pc: UInt64, dr6: UInt64) -> Result<UInt32, KVMError> {
        let singleStepOnly = exception == 1 && dr6 & 0x4000 != 0 && dr6 & 0xF == 0
        if !singleStepOnly {
            do {
                var r = try vcpu.regs()
                if exception == 3 { r.rip &+= 1 } else { r.rflags |= 1 << 16 }
                try vcpu.setRegs(r)
            } catch { return .failure(error) }
        }
        let dr = exception == 1 ? UInt32(dr6 & 0xF) << 20 : 0
        return .success(exception << 24 | dr | UInt32(truncatingIfNeeded: pc) & 0xF_FFFF)
    }
}
