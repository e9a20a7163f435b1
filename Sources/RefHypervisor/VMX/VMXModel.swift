// VM exits as the CPU takes them: the `exits` stat and the VMX trace.

/// The per-vCPU counters a VMX KVM keeps (names as in KVM's binary stats).
struct VCPUStats {
    var exits: UInt64 = 0
    var ioExits: UInt64 = 0
    var mmioExits: UInt64 = 0
    var haltExits: UInt64 = 0
    var irqWindowExits: UInt64 = 0
    var nmiWindowExits: UInt64 = 0
    var irqInjections: UInt64 = 0
    var nmiInjections: UInt64 = 0
    var signalExits: UInt64 = 0
    var requestIRQExits: UInt64 = 0
    var haltWakeup: UInt64 = 0
    var pfFixed: UInt64 = 0
    var hypercalls: UInt64 = 0
    var irqExits: UInt64 = 0
    var haltSuccessfulPoll: UInt64 = 0
    var insnEmulationFail: UInt64 = 0
}

extension CPU {
    /// A VM exit: counted in `exits`, recorded when tracing.
    @inline(__always) func vmExit(_ reason: VMXExitReason, qual: UInt64 = 0, gpa: UInt64? = nil, gla: UInt64? = nil,
                                  vector: UInt8? = nil, outcome: String) {
        stats.exits &+= 1
        movDRExiting = reason != .drAccess   // any other exit re-arms MOV-DR exiting
        if vmxTraceEnabled { recordVMExit(reason, qual: qual, gpa: gpa, gla: gla, vector: vector, outcome: outcome) }
    }

    /// vmExit's record when tracing, out of line: the exit paths that inline vmExit stay
    /// free of calls (no registers to save) when nothing is traced.
    @inline(never) func recordVMExit(_ reason: VMXExitReason, qual: UInt64, gpa: UInt64?, gla: UInt64?, vector: UInt8?, outcome: String) {
        traceBuffer.append(VMXTraceRecord(reason: reason, qualification: qual, guestPhysicalAddress: gpa,
                                          guestLinearAddress: gla, rip: instStart, vector: vector, outcome: outcome))
    }

    /// insn_emulation: once per instruction KVM's emulator decodes (a re-execution after
    /// userspace completed an MMIO read continues the same emulation).
    @inline(__always) func countEmulation() {
        if lastEmulatedAt != instructionsRetired || emulatedInstructions == 0 {
            emulatedInstructions &+= 1
            lastEmulatedAt = instructionsRetired
        }
    }

    @inline(__always) func vmxTrace(_ reason: VMXExitReason, qual: UInt64 = 0, outcome: String) {
        vmExit(reason, qual: qual, outcome: outcome)
    }
}
