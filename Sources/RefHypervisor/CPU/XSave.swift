// XCR0 and the instructions that read and write it (SDM Vol. 1 ch. 13, Vol. 2 XGETBV/XSETBV).
// The engine keeps x87 and SSE state (X87.swift, FXSAVE/FXRSTOR) but no AVX or later
// registers, so the XSAVE family stays #UD; what is modelled is the part KVM owns:
// CR4.OSXSAVE, XCR0's validity rules, CPUID leaf 0DH following it, and the guest's XSAVE
// image with its XSTATE_BV (KVM/RefVCPU+FPUState.swift).

extension CPU {
    /// The guest's CPUID (KVM_SET_CPUID2) has XSAVE (1:ECX[26]): CR4.OSXSAVE is then not
    /// reserved (Linux 6.1 x86.h __cr4_reserved_bits).
    var guestHasXSAVE: Bool { cpuid.lookup(1, 0).2 & (1 << 26) != 0 }

    /// XCR0 bits the guest may enable: CPUID.(0DH,0) EDX:EAX within what KVM supports
    /// (cpuid_get_supported_xcr0), and x87 always (kvm_vcpu_reset).
    var guestSupportedXCR0: UInt64 {
        let d = cpuid.lookup(0xD, 0)
        return ((UInt64(d.3) << 32 | UInt64(d.0)) & RefHypervisor.supportedXCR0) | 1
    }

    /// 0F 01 D0. #UD without CR4.OSXSAVE; #GP(0) for an XCR other than 0 (XCR1/XINUSE exists
    /// only with CPUID.(0DH,1):EAX[2], not modelled). Not intercepted by KVM on VMX.
    func xgetbvInsn() throws(Fault) {
        if cr4 & CPU.cr4OSXSAVE == 0 { throw ud() }
        if regs[1] & 0xFFFF_FFFF != 0 { throw gp(0) }
        setReg(0, 4, xcr0 & 0xFFFF_FFFF); setReg(2, 4, xcr0 >> 32)
    }

    /// 0F 01 D1. #UD without CR4.OSXSAVE (before the intercept); otherwise it always exits and
    /// kvm_emulate_xsetbv / __kvm_set_xcr (Linux 6.1 x86.c) inject #GP(0) for CPL != 0, an
    /// XCR other than 0, x87 clear, AVX without SSE, unsupported bits, one of the two MPX
    /// bits alone, a partial AVX-512 set or AVX-512 without AVX, a partial AMX pair.
    func xsetbvInsn() throws(Fault) {
        if cr4 & CPU.cr4OSXSAVE == 0 { throw ud() }
        vmExit(.xsetbv, outcome: VMXTraceRecord.handledInKernel)
        let v = (regs[2] & 0xFFFF_FFFF) << 32 | regs[0] & 0xFFFF_FFFF
        if cpl != 0 || regs[1] & 0xFFFF_FFFF != 0 { throw gp(0) }
        if !validXCR0(v) { throw gp(0) }
        xcr0 = v
    }

    /// __kvm_set_xcr (x86.c), for XSETBV and KVM_SET_XCRS alike: x87 always on, AVX needs
    /// SSE, only what the guest CPUID allows, MPX's two bits together, AVX-512's three
    /// together and with AVX, AMX's two together.
    func validXCR0(_ v: UInt64) -> Bool {
        let avx512: UInt64 = 0xE0, amx: UInt64 = 0x6_0000
        if v & 1 == 0 || (v & 4 != 0 && v & 2 == 0) || v & ~(guestSupportedXCR0 | 1) != 0 { return false }
        if (v & 0x08 == 0) != (v & 0x10 == 0) { return false }
        if v & avx512 != 0 && (v & 4 == 0 || v & avx512 != avx512) { return false }
        if v & amx != 0 && v & amx != amx { return false }
        return true
    }

    static let cr4OSXSAVE: UInt64 = 1 << 18
}
