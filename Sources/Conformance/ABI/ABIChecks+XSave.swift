import KVMABI

// KVM_GET/SET_XSAVE and how they relate to KVM_GET/SET_FPU: the guest FPU is one XSAVE
// image; KVM_SET_FPU writes its legacy region only and leaves XSTATE_BV, which a fresh vCPU
// has at 0, so the next KVM_RUN's XRSTOR gives the guest the init x87 state; KVM_SET_XSAVE
// carries XSTATE_BV. Linux 6.1 arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_set_fpu,
// kvm_vcpu_ioctl_x86_get_xsave/set_xsave; arch/x86/kernel/fpu/core.c
// fpu_alloc_guest_fpstate, fpu_copy_uabi_to_guest_fpstate; fpu/xstate.c
// __copy_xstate_to_uabi_buf, copy_uabi_to_xstate, validate_user_xstate_header.

extension ABICatalogue {
    static let xsaveGet = "arch/x86/kernel/fpu/xstate.c __copy_xstate_to_uabi_buf"
    static let xsaveSet = "arch/x86/kernel/fpu/xstate.c copy_uabi_to_xstate, validate_user_xstate_header"

    /// KVM_GET_FPU, FCW replaced, KVM_SET_FPU.
    static func setFPUControlWord(_ v: any VirtualCPU, _ fcw: UInt16) throws(KVMError) {
        var f = try v.fpu()
        f.fcw = fcw
        try v.setFPU(f)
    }

    /// An image with XSTATE_BV `bv`: FCW 27FH, MXCSR `mxcsr`, XMM3 = 00..0F; then `edit`.
    static func xsaveImage(bv: UInt64, mxcsr: UInt32 = 0x1F80, edit: (inout XSaveState) -> Void = { _ in }) -> XSaveState {
        var x = XSaveState()
        x.region[0] = 0x7F; x.region[1] = 0x02
        for i in 0..<4 { x.region[24 + i] = UInt8(truncatingIfNeeded: mxcsr >> UInt32(8 * i)) }
        for i in 0..<16 { x.region[160 + 3 * 16 + i] = UInt8(i) }
        x.xstateBV = bv
        edit(&x)
        return x
    }

    /// fnstcw [0x2000] / hlt (real mode, DS = 0).
    static let fnstcw2000: [UInt8] = [0xD9, 0x3E, 0x00, 0x20, 0xF4]

    /// What the guest's FNSTCW stores after `setup`.
    static func guestFCW(_ h: any Hypervisor, setup: @escaping (any VirtualCPU) throws(KVMError) -> Void) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, ram throws(KVMError) in
            _ = ram.write(fnstcw2000, at: 0x1000)
            _ = ram.write([0xAA, 0xAA], at: 0x2000)
            try setup(vcpu)
            let exit = try vcpu.run(budget: .milliseconds(2000))
            guard exit == .hlt else { return .text("exit \(describe(exit))") }
            let b = ram.read(at: 0x2000, count: 2)
            return .value(Int(b[0]) | Int(b[1]) << 8)
        }
    }

    static func withXSave(_ h: any Hypervisor, _ body: @escaping (any VirtualCPU) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        guard h.checkExtension(.xsave) != 0 else { return .setupFailed("no KVM_CAP_XSAVE") }
        return Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in try body(vcpu) }
    }

    /// KVM_SET_XSAVE's own answer: success or its errno.
    static func setXSaveAnswer(_ v: any VirtualCPU, _ x: XSaveState) -> ABIAnswer {
        do throws(KVMError) { try v.setXSave(x); return .ok } catch { return .errno(error.errno) }
    }

    static let xsaveChecks: [ABICheck] = [
        ABICheck("xsave.fresh_bv", "KVM_GET_XSAVE on a new vCPU: XSTATE_BV[1:0] = 0 (no x87 or SSE state in use yet)",
                 cite: "arch/x86/kernel/fpu/core.c fpu_alloc_guest_fpstate (vzalloc'd header); " + xsaveGet, expect: .value(0)) { h in
            withXSave(h) { v throws(KVMError) in .bits(try v.xsave().xstateBV & 3) }
        },
        ABICheck("xsave.fresh_init_values", "and its FCW and MXCSR are the init values 37FH, 1F80H (copied from init_fpstate)",
                 cite: xsaveGet + " (copy_feature from init_fpstate for a clear XSTATE_BV bit)", expect: .text("fcw 0x37f mxcsr 0x1f80")) { h in
            withXSave(h) { v throws(KVMError) in
                let x = try v.xsave()
                return .text("fcw 0x\(String(x.fcw, radix: 16)) mxcsr 0x\(String(x.mxcsr, radix: 16))")
            }
        },
        ABICheck("xsave.set_fpu_hidden", "KVM_SET_FPU FCW 27FH on a new vCPU: KVM_GET_XSAVE still shows FCW 37FH (XSTATE_BV stays 0)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_set_fpu (legacy region only); " + xsaveGet, expect: .value(0x37F)) { h in
            withXSave(h) { v throws(KVMError) in
                try setFPUControlWord(v, 0x27F)
                return .bits(try v.xsave().fcw)
            }
        },
        ABICheck("xsave.set_fpu_guest_sees_init", "after KVM_SET_FPU FCW 27FH on a new vCPU, the guest's FNSTCW stores 37FH (XRSTOR of XSTATE_BV 0)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_set_fpu, kvm_load_guest_fpu; SDM Vol. 1 13.8.1 (a clear XSTATE_BV bit loads the init state)",
                 expect: .value(0x37F)) { h in
            guestFCW(h) { v throws(KVMError) in try setFPUControlWord(v, 0x27F) }
        },
        ABICheck("xsave.set_xsave_guest_sees", "after KVM_SET_XSAVE with XSTATE_BV 3 and FCW 27FH, the guest's FNSTCW stores 27FH",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_xsave; " + xsaveSet, expect: .value(0x27F)) { h in
            guard h.checkExtension(.xsave) != 0 else { return .setupFailed("no KVM_CAP_XSAVE") }
            return guestFCW(h) { v throws(KVMError) in try v.setXSave(xsaveImage(bv: 3)) }
        },
        ABICheck("xsave.roundtrip", "KVM_SET_XSAVE (XSTATE_BV 3, FCW 27FH, MXCSR 1F00H, XMM3 00..0F) then KVM_GET_XSAVE reads them back",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_xsave/get_xsave; " + xsaveSet,
                 expect: .text("bv 0x3 fcw 0x27f mxcsr 0x1f00 xmm3 000102030405060708090a0b0c0d0e0f")) { h in
            withXSave(h) { v throws(KVMError) in
                try v.setXSave(xsaveImage(bv: 3, mxcsr: 0x1F00))
                let x = try v.xsave()
                let xmm = x.xmm(3).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                return .text("bv 0x\(String(x.xstateBV & 3, radix: 16)) fcw 0x\(String(x.fcw, radix: 16)) mxcsr 0x\(String(x.mxcsr, radix: 16)) xmm3 \(xmm)")
            }
        },
        ABICheck("xsave.fpu_view", "after that KVM_SET_XSAVE, KVM_GET_FPU reads FCW 27FH and XMM3 byte 15 = 0FH (one image, two views)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_get_fpu (the image's legacy region)", expect: .text("fcw 0x27f xmm3[15] 0xf")) { h in
            withXSave(h) { v throws(KVMError) in
                try v.setXSave(xsaveImage(bv: 3))
                let f = try v.fpu()
                return .text("fcw 0x\(String(f.fcw, radix: 16)) xmm3[15] 0x\(String(f.xmm[3 * 16 + 15], radix: 16))")
            }
        },
        ABICheck("xsave.sse_bit_clear", "KVM_SET_XSAVE with XSTATE_BV 1 (x87 only): XMM3 takes its init value 0, whatever the image holds",
                 cite: xsaveSet + " (only components set in XSTATE_BV are copied); " + xsaveGet, expect: .value(0)) { h in
            withXSave(h) { v throws(KVMError) in
                try v.setXSave(xsaveImage(bv: 1))
                return .value(Int(try v.xsave().xmm(3)[15]))
            }
        },
        ABICheck("xsave.compacted", "KVM_SET_XSAVE of a compacted image (XCOMP_BV bit 63 set): EINVAL",
                 cite: "arch/x86/kernel/fpu/xstate.c validate_user_xstate_header (userspace must use the uncompacted format)",
                 expect: .errno(Errno.EINVAL)) { h in
            withXSave(h) { v in setXSaveAnswer(v, xsaveImage(bv: 3, edit: { $0.region[527] = 0x80; $0.region[520] = 3 })) }
        },
        ABICheck("xsave.header_reserved", "KVM_SET_XSAVE with a non-zero reserved header byte (offset 530): EINVAL",
                 cite: "arch/x86/kernel/fpu/xstate.c validate_user_xstate_header (no reserved bits may be set)",
                 expect: .errno(Errno.EINVAL)) { h in
            withXSave(h) { v in setXSaveAnswer(v, xsaveImage(bv: 3, edit: { $0.region[530] = 1 })) }
        },
        ABICheck("xsave.unknown_feature", "KVM_SET_XSAVE with XSTATE_BV bit 62 (no such component): EINVAL",
                 cite: "arch/x86/kernel/fpu/core.c fpu_copy_uabi_to_guest_fpstate (xfeatures & ~supported_xcr0)",
                 expect: .errno(Errno.EINVAL)) { h in
            withXSave(h) { v throws(KVMError) in
                setXSaveAnswer(v, xsaveImage(bv: 3 | 1 << 62))
            }
        },
        ABICheck("xsave.mxcsr_reserved", "KVM_SET_XSAVE with SSE and MXCSR bit 16 set: EINVAL",
                 cite: "arch/x86/kernel/fpu/xstate.c copy_uabi_to_xstate (mxcsr & ~mxcsr_feature_mask)", expect: .errno(Errno.EINVAL)) { h in
            withXSave(h) { v throws(KVMError) in
                setXSaveAnswer(v, xsaveImage(bv: 3, mxcsr: 0x1_1F80))
            }
        },
        ABICheck("xsave.mxcsr_reserved_x87_only", "the same MXCSR with XSTATE_BV 1 (x87 alone): EINVAL too",
                 cite: "arch/x86/kernel/fpu/xstate.c copy_uabi_to_xstate (MXCSR is checked when FP, SSE or YMM is in XSTATE_BV)",
                 expect: .errno(Errno.EINVAL)) { h in
            withXSave(h) { v throws(KVMError) in
                setXSaveAnswer(v, xsaveImage(bv: 1, mxcsr: 0x1_1F80))
            }
        },
        ABICheck("xsave.mxcsr_unread_without_fp_sse", "the same MXCSR with XSTATE_BV 0: accepted, MXCSR not read (it stays 1F80H)",
                 cite: "arch/x86/kernel/fpu/xstate.c copy_uabi_to_xstate (no FP, SSE or YMM: MXCSR neither checked nor copied)",
                 expect: .value(0x1F80)) { h in
            withXSave(h) { v throws(KVMError) in
                try v.setXSave(xsaveImage(bv: 0, mxcsr: 0x1_1F80))
                return .bits(try v.xsave().mxcsr)
            }
        },
        ABICheck("xsave2.cap", "KVM_CAP_XSAVE2 on the VM fd is at least 4096 (sizeof(struct kvm_xsave))",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension (KVM_CAP_XSAVE2)", expect: .value(1)) { h in
            Ask.withVM(h) { vm throws(KVMError) in .value(vm.checkExtension(.xsave2) >= 4096 ? 1 : 0) }
        },
        ABICheck("xsave2.same_image", "KVM_GET_XSAVE2 (a KVM_CAP_XSAVE2-sized buffer) holds KVM_GET_XSAVE's 4096 bytes",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl (KVM_GET_XSAVE2), kvm_vcpu_ioctl_x86_get_xsave2", expect: .value(1)) { h in
            Ask.withVCPU(h) { vm, v, _ throws(KVMError) in
                let two = try v.xsave2(size: Int(vm.checkExtension(.xsave2)))
                return .value(Array(two.prefix(XSaveState.size)) == (try v.xsave()).region ? 1 : 0)
            }
        },
        ABICheck("xsave2.after_set", "KVM_SET_XSAVE with XMM0 = 11H.. and XSTATE_BV SSE: KVM_GET_XSAVE2 shows XMM0's first byte 11H and SSE in XSTATE_BV",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_get_xsave2; " + xsaveGet, expect: .text("xmm0 0x11 bv.sse 1")) { h in
            withXSave(h) { v throws(KVMError) in
                var x = try v.xsave()
                for i in 160..<176 { x.region[i] = 0x11 }
                x.xstateBV = x.xstateBV | 3
                try v.setXSave(x)
                let two = try v.xsave2(size: 4096)
                return .text("xmm0 0x\(String(two[160], radix: 16)) bv.sse \(two[512] >> 1 & 1)")
            }
        },
    ]
}
