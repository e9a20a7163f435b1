import KVMABI

// The guest FPU as KVM keeps it (Linux 6.1): one XSAVE image per vCPU
// (vcpu->arch.guest_fpu.fpstate), which KVM_GET/SET_FPU read and write in its legacy
// region only and KVM_GET/SET_XSAVE whole. arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_get_fpu,
// kvm_arch_vcpu_ioctl_set_fpu, kvm_vcpu_ioctl_x86_get_xsave/set_xsave;
// arch/x86/kernel/fpu/xstate.c __copy_xstate_to_uabi_buf, copy_uabi_to_xstate.

extension RefVCPU {
    /// KVM_GET_FPU: the legacy region, without MXCSR: kvm_arch_vcpu_ioctl_get_fpu does not
    /// copy it, and kvm_vcpu_ioctl hands out a kzalloc'd struct, so kvm_fpu.mxcsr reads 0.
    public func fpu() throws(KVMError) -> FPU {
        var f = fpuState
        f.fcw = cpu.fcw; f.fsw = cpu.fsw; f.ftwx = cpu.ftw
        // fpr holds ST(0)..ST(7) in stack order, 16 bytes each (the FXSAVE layout).
        for i in 0..<8 {
            let (lo, hi) = CPU.bits80(cpu.fpr[cpu.x87Phys(i)])
            for k in 0..<8 { f.fpr[16 * i + k] = UInt8(truncatingIfNeeded: lo >> UInt64(8 * k)) }
            f.fpr[16 * i + 8] = UInt8(truncatingIfNeeded: hi); f.fpr[16 * i + 9] = UInt8(truncatingIfNeeded: hi >> 8)
            for k in 10..<16 { f.fpr[16 * i + k] = 0 }
        }
        f.xmm = cpu.xmm
        f.mxcsr = 0
        return f
    }

    /// KVM_SET_FPU: writes the legacy region, MXCSR excepted (kvm_arch_vcpu_ioctl_set_fpu
    /// has no line for it), and leaves XSTATE_BV alone: on a vCPU whose x87 or SSE state was
    /// never in use the next KVM_RUN's XRSTOR puts that component back to its init state.
    public func setFPU(_ fpu: FPU) throws(KVMError) {
        quietEntry = false
        fpuState = fpu
        if cpu.xinuse & 3 != 3 { fpuWrittenNotInUse = true }
        cpu.fcw = fpu.fcw; cpu.fsw = fpu.fsw; cpu.ftw = fpu.ftwx
        if fpu.xmm.count == 256 { cpu.xmm = fpu.xmm }
        for i in 0..<8 where fpu.fpr.count >= 16 * i + 10 {
            var lo: UInt64 = 0
            for k in 0..<8 { lo |= UInt64(fpu.fpr[16 * i + k]) << UInt64(8 * k) }
            let hi = UInt16(fpu.fpr[16 * i + 8]) | UInt16(fpu.fpr[16 * i + 9]) << 8
            cpu.fpr[cpu.x87Phys(i)] = CPU.float80(lo: lo, hi: hi)
        }
    }

    /// The XRSTOR of the guest image at KVM_RUN (kvm_load_guest_fpu): components whose
    /// XSTATE_BV bit is clear get their init state (SDM Vol. 1 13.8.1): x87 FCW 37FH and
    /// the rest 0; XMM registers 0 (MXCSR is loaded from the image either way).
    func loadGuestFPU() {
        fpuWrittenNotInUse = false
        if cpu.xinuse & 1 == 0 {
            cpu.fcw = 0x37F; cpu.fsw = 0; cpu.ftw = 0
            for i in 0..<8 { cpu.fpr[i] = 0 }
            fpuState.lastOpcode = 0; fpuState.lastIP = 0; fpuState.lastDP = 0
        }
        if cpu.xinuse & 2 == 0 { for i in cpu.xmm.indices { cpu.xmm[i] = 0 } }
    }

    /// The MXCSR bits FXRSTOR and XRSTOR accept (the engine's MXCSR_MASK, with DAZ).
    static let mxcsrFeatureMask: UInt32 = 0xFFFF

    /// KVM_GET_XSAVE: the image in the standard form. A component whose XSTATE_BV bit is
    /// clear is written with its init values (__copy_xstate_to_uabi_buf copies from
    /// init_fpstate), MXCSR with the SSE or AVX bit. The software-reserved bytes 464-511
    /// (Linux's xstate_fx_sw_bytes, describing the host's layout) stay 0.
    public func xsave() throws(KVMError) -> XSaveState {
        var x = XSaveState()
        func put(_ offset: Int, _ value: UInt64, _ bytes: Int) {
            for i in 0..<bytes { x.region[offset + i] = UInt8(truncatingIfNeeded: value >> UInt64(8 * i)) }
        }
        let bv = cpu.xinuse & 3 | extendedXState.bits
        if bv & 1 != 0 {
            let f = try fpu()
            put(0, UInt64(f.fcw), 2); put(2, UInt64(f.fsw), 2); put(4, UInt64(f.ftwx), 1)
            put(6, UInt64(f.lastOpcode), 2); put(8, f.lastIP, 8); put(16, f.lastDP, 8)
            for i in 0..<128 { x.region[32 + i] = f.fpr[i] }
        } else {
            put(0, 0x37F, 2)
        }
        put(24, UInt64(bv & 6 != 0 ? cpu.mxcsr : 0x1F80), 4)
        put(28, UInt64(Self.mxcsrFeatureMask), 4)
        if bv & 2 != 0 { for i in 0..<256 { x.region[160 + i] = cpu.xmm[i] } }
        for (i, b) in extendedXState.bytes.enumerated() where 576 + i < XSaveState.size { x.region[576 + i] = b }
        x.xstateBV = bv
        return x
    }

    /// KVM_GET_XSAVE2: the KVM_GET_XSAVE image, as many bytes as the guest FPU's uabi_size
    /// (4096 here: no component past AVX), in a buffer of `size` (kvm_arch_vcpu_ioctl).
    public func xsave2(size: Int) throws(KVMError) -> [UInt8] {
        var buffer = try xsave().region
        if size > buffer.count { buffer += [UInt8](repeating: 0, count: size - buffer.count) }
        return buffer
    }

    /// KVM_SET_XSAVE: EINVAL for a component KVM does not offer (AMX needs a permission
    /// this engine's VMM never asks for), a compacted image (XCOMP_BV != 0), non-zero header
    /// reserved bytes, or MXCSR bits outside MXCSR_MASK with x87, SSE or AVX present
    /// (validate_user_xstate_header, copy_uabi_to_xstate), which also load MXCSR (the x87
    /// component's bytes include it). Components whose bit is clear take their init state.
    public func setXSave(_ state: XSaveState) throws(KVMError) {
        quietEntry = false
        let op = "KVM_SET_XSAVE"
        let r = state.region
        let bv = state.xstateBV
        let permitted = RefHypervisor.supportedXCR0 & ~0x6_0000
        if bv & ~permitted != 0 || state.xcompBV != 0 || r[528..<576].contains(where: { $0 != 0 }) {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        func get(_ offset: Int, _ bytes: Int) -> UInt64 {
            (0..<bytes).reduce(UInt64(0)) { $0 | UInt64(r[offset + $1]) << UInt64(8 * $1) }
        }
        let mxcsr = UInt32(truncatingIfNeeded: get(24, 4))
        if bv & 7 != 0 && mxcsr & ~Self.mxcsrFeatureMask != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if bv & 1 != 0 {
            var f = FPU()
            f.fcw = UInt16(get(0, 2)); f.fsw = UInt16(get(2, 2)); f.ftwx = UInt8(get(4, 1))
            f.lastOpcode = UInt16(get(6, 2)); f.lastIP = get(8, 8); f.lastDP = get(16, 8)
            f.fpr = Array(r[32..<160])
            f.xmm = cpu.xmm
            try setFPU(f)
        }
        if bv & 7 != 0 { cpu.mxcsr = mxcsr }
        if bv & 2 != 0 { cpu.xmm = Array(r[160..<416]) }
        cpu.xinuse = bv & 3
        extendedXState = (bv & ~3, bv & ~3 != 0 ? r[576...] : [])
        loadGuestFPU()
    }
}
