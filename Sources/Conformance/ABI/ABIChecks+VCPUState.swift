import KVMABI

// vCPU state ioctls: KVM_SET_CPUID2 (arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_set_cpuid2,
// kvm_set_cpuid), KVM_SET_SREGS (arch/x86/kvm/x86.c kvm_is_valid_sregs, kvm_is_valid_cr0,
// __kvm_is_valid_cr4), KVM_SET_VCPU_EVENTS (kvm_vcpu_ioctl_x86_set_vcpu_events), and
// KVM_GET/SET_MSRS (msr_io, __msr_io, set_efer, kvm_set_msr_ignored_check), all Linux 6.1.

extension ABICatalogue {
    static let validSregs = "arch/x86/kvm/x86.c kvm_is_valid_sregs"

    /// KVM_SET_SREGS after `edit` on the vCPU's current (reset-like, real-mode) sregs.
    static func sregs(_ h: any Hypervisor, _ edit: @escaping (inout SpecialRegisters) -> Void) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
            var s = try vcpu.sregs()
            edit(&s)
            return Ask.call { () throws(KVMError) in try vcpu.setSregs(s) }
        }
    }

    /// Long mode as a VMM sets it up: CR0.PE|PG, CR4.PAE, EFER.LME|LMA, a 64-bit CS.
    static func longMode(_ s: inout SpecialRegisters) {
        s.cr0 = 0x8000_0011; s.cr4 = 0x20; s.efer = 0x500; s.cr3 = 0x1000
        s.cs = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x8, type: 0xB, l: 1, g: 1)
    }

    /// KVM_SET_VCPU_EVENTS after `edit` on the current events.
    static func events(_ h: any Hypervisor, _ edit: @escaping (inout VCPUEvents) -> Void) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
            var e = try vcpu.vcpuEvents()
            edit(&e)
            return Ask.call { () throws(KVMError) in try vcpu.setVCPUEvents(e) }
        }
    }

    /// How many entries KVM_SET_MSRS set.
    static func setMSRs(_ h: any Hypervisor, _ entries: [MSREntry]) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
            do throws(KVMError) { return .value(try vcpu.setMSRs(entries)) } catch { return .errno(error.errno) }
        }
    }

    /// How many entries KVM_GET_MSRS read.
    static func getMSRs(_ h: any Hypervisor, _ indices: [UInt32]) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
            do throws(KVMError) { return .value(try vcpu.msrs(indices).count) } catch { return .errno(error.errno) }
        }
    }

    static let sysenterCS: UInt32 = 0x174, sysenterESP: UInt32 = 0x175, efer: UInt32 = 0xC000_0080
    static let unknownMSR: UInt32 = 0x4000_7FFF

    static let cpuidChecks: [ABICheck] = [
        ABICheck("cpuid.set_supported", "KVM_SET_CPUID2 with KVM_GET_SUPPORTED_CPUID", cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_set_cpuid2",
                 expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let t = try h.supportedCPUID()
                return Ask.call { () throws(KVMError) in try vcpu.setCPUID(t) }
            }
        },
        ABICheck("cpuid.too_many", "KVM_SET_CPUID2 with 257 entries (KVM_MAX_CPUID_ENTRIES is 256): E2BIG",
                 cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_set_cpuid2", expect: .errno(Errno.E2BIG)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let vcpu = try vm.createVCPU(id: 0)
                let many = (0..<257).map { CPUIDEntry(function: 0x4000_0100 + UInt32($0), eax: 0, ebx: 0, ecx: 0, edx: 0) }
                return Ask.call { () throws(KVMError) in try vcpu.setCPUID(many) }
            }
        },
        ABICheck("cpuid.max_entries", "KVM_SET_CPUID2 with exactly 256 entries", cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_set_cpuid2",
                 expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let vcpu = try vm.createVCPU(id: 0)
                let many = (0..<256).map { CPUIDEntry(function: 0x4000_0100 + UInt32($0), eax: 0, ebx: 0, ecx: 0, edx: 0) }
                return Ask.call { () throws(KVMError) in try vcpu.setCPUID(many) }
            }
        },
        ABICheck("cpuid.before_run_changed", "before KVM_RUN a different table replaces the first",
                 cite: "arch/x86/kvm/cpuid.c kvm_set_cpuid", expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var t = try h.supportedCPUID()
                if let i = t.firstIndex(where: { $0.function == 1 }) { t[i].ecx ^= 1 }
                return Ask.call { () throws(KVMError) in try vcpu.setCPUID(t) }
            }
        },
        ABICheck("cpuid.after_run_changed", "after KVM_RUN a different table: EINVAL",
                 cite: "arch/x86/kvm/cpuid.c kvm_set_cpuid, kvm_cpuid_check_equal", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                guard try vcpu.run(budget: .milliseconds(2000)) == .hlt else { return .setupFailed("the HLT guest did not exit with HLT") }
                var t = try h.supportedCPUID()
                if let i = t.firstIndex(where: { $0.function == 1 }) { t[i].ecx ^= 1 }
                return Ask.call { () throws(KVMError) in try vcpu.setCPUID(t) }
            }
        },
        ABICheck("cpuid.identical_after_run", "after KVM_RUN the identical table is accepted (VMMs replay setup on reused vCPU fds)",
                 cite: "arch/x86/kvm/cpuid.c kvm_set_cpuid, kvm_cpuid_check_equal", expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                guard try vcpu.run(budget: .milliseconds(2000)) == .hlt else { return .setupFailed("the HLT guest did not exit with HLT") }
                let t = try h.supportedCPUID()
                return Ask.call { () throws(KVMError) in try vcpu.setCPUID(t) }
            }
        },
    ]

    static let sregsChecks: [ABICheck] = [
        ABICheck("sregs.roundtrip", "KVM_SET_SREGS with what KVM_GET_SREGS returned", cite: validSregs, expect: .ok) { h in sregs(h) { _ in } },
        ABICheck("sregs.pg_without_pe", "CR0.PG without CR0.PE: EINVAL", cite: "arch/x86/kvm/x86.c kvm_is_valid_cr0",
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { $0.cr0 = 0x8000_0010 } },
        ABICheck("sregs.nw_without_cd", "CR0.NW without CR0.CD: EINVAL", cite: "arch/x86/kvm/x86.c kvm_is_valid_cr0",
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { $0.cr0 = 0x2000_0010 } },
        ABICheck("sregs.cr0_high_bits", "CR0 bit 32 set: EINVAL", cite: "arch/x86/kvm/x86.c kvm_is_valid_cr0",
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { $0.cr0 |= 1 << 32 } },
        ABICheck("sregs.cr4_reserved_bit", "CR4 bit 15 (reserved): EINVAL", cite: "arch/x86/kvm/x86.c __kvm_is_valid_cr4 (cr4_reserved_bits)",
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { $0.cr4 |= 1 << 15 } },
        ABICheck("sregs.cr4_high_bits", "CR4 bit 32 (reserved): EINVAL", cite: "arch/x86/kvm/x86.c __kvm_is_valid_cr4 (cr4_reserved_bits)",
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { $0.cr4 |= 1 << 32 } },
        ABICheck("sregs.cr4_smep_without_cpuid", "CR4.SMEP when the guest CPUID lacks SMEP: EINVAL",
                 cite: "arch/x86/kvm/x86.c __kvm_is_valid_cr4 (cr4_guest_rsvd_bits, from the guest CPUID in kvm_vcpu_after_set_cpuid)",
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var t = try h.supportedCPUID()
                for i in t.indices where t[i].function == 7 && t[i].index == 0 { t[i].ebx &= ~(UInt32(1) << 7) }
                try vcpu.setCPUID(t)
                var s = try vcpu.sregs()
                s.cr4 |= 1 << 20
                return Ask.call { () throws(KVMError) in try vcpu.setSregs(s) }
            }
        },
        ABICheck("sregs.cr4_osxsave_without_cpuid", "CR4.OSXSAVE when the guest CPUID lacks XSAVE: EINVAL",
                 cite: "arch/x86/kvm/x86.c __kvm_is_valid_cr4 (cr4_guest_rsvd_bits)", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var t = try h.supportedCPUID()
                for i in t.indices where t[i].function == 1 { t[i].ecx &= ~(UInt32(1) << 26) }
                try vcpu.setCPUID(t)
                var s = try vcpu.sregs()
                s.cr4 |= 1 << 18
                return Ask.call { () throws(KVMError) in try vcpu.setSregs(s) }
            }
        },
        ABICheck("sregs.long_mode", "64-bit mode: CR0.PE|PG, CR4.PAE, EFER.LME|LMA, CS.L", cite: validSregs, expect: .ok) { h in
            sregs(h) { longMode(&$0) }
        },
        ABICheck("sregs.long_mode_without_pae", "EFER.LME and CR0.PG without CR4.PAE: EINVAL", cite: validSregs,
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { longMode(&$0); $0.cr4 = 0 } },
        ABICheck("sregs.long_mode_without_lma", "EFER.LME and CR0.PG without EFER.LMA: EINVAL", cite: validSregs,
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { longMode(&$0); $0.efer = 0x100 } },
        ABICheck("sregs.lma_without_paging", "EFER.LMA without CR0.PG: EINVAL", cite: validSregs,
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { $0.efer = 0x500 } },
        ABICheck("sregs.cs_l_outside_long_mode", "CS.L=1 outside 64-bit mode: EINVAL", cite: validSregs,
                 expect: .errno(Errno.EINVAL)) { h in sregs(h) { $0.cs.l = 1 } },
        ABICheck("sregs.compatibility_mode", "64-bit mode with a 32-bit CS (CS.L=0, CS.D=1: compatibility mode)", cite: validSregs,
                 expect: .ok) { h in sregs(h) { longMode(&$0); $0.cs.l = 0; $0.cs.db = 1 } },
        ABICheck("sregs.protected_mode", "protected mode without paging (CR0.PE)", cite: validSregs, expect: .ok) { h in
            sregs(h) { $0.cr0 = 0x11; $0.cs = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x8, type: 0xB, db: 1, g: 1) }
        },
        ABICheck("sregs.cr8_roundtrip", "CR8 = 5 through KVM_SET_SREGS reads back 5", cite: "arch/x86/kvm/x86.c __set_sregs_common (kvm_set_cr8)",
                 expect: .value(5)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var s = try vcpu.sregs()
                s.cr8 = 5
                try vcpu.setSregs(s)
                return .bits(try vcpu.sregs().cr8)
            }
        },
    ]

    static let eventChecks: [ABICheck] = [
        ABICheck("events.roundtrip", "KVM_SET_VCPU_EVENTS with what KVM_GET_VCPU_EVENTS returned",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events", expect: .ok) { h in events(h) { _ in } },
        ABICheck("events.unknown_flag", "flags bit 31: EINVAL", cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events",
                 expect: .errno(Errno.EINVAL)) { h in events(h) { $0.flags |= 1 << 31 } },
        ABICheck("events.payload_not_enabled", "KVM_VCPUEVENT_VALID_PAYLOAD without KVM_CAP_EXCEPTION_PAYLOAD enabled: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events", expect: .errno(Errno.EINVAL)) { h in
            events(h) { $0.flags |= VCPUEvents.validPayload }
        },
        ABICheck("events.exception_vector_32", "an injected exception with vector 32: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events", expect: .errno(Errno.EINVAL)) { h in
            events(h) { $0.exception.injected = 1; $0.exception.nr = 32 }
        },
        ABICheck("events.exception_vector_nmi", "an injected exception with vector 2 (NMI is not an exception): EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events", expect: .errno(Errno.EINVAL)) { h in
            events(h) { $0.exception.injected = 1; $0.exception.nr = 2 }
        },
        ABICheck("events.exception_gp", "an injected #GP(0)", cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events",
                 expect: .ok) { h in
            events(h) { $0.exception.injected = 1; $0.exception.nr = 13; $0.exception.hasErrorCode = 1; $0.exception.errorCode = 0 }
        },
        ABICheck("events.nmi_pending", "NMI pending with KVM_VCPUEVENT_VALID_NMI_PENDING reads back pending",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events, kvm_vcpu_ioctl_x86_get_vcpu_events", expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var e = try vcpu.vcpuEvents()
                e.flags = VCPUEvents.validNMIPending
                e.nmi.pending = 1
                try vcpu.setVCPUEvents(e)
                return .bits(try vcpu.vcpuEvents().nmi.pending)
            }
        },
        ABICheck("events.nmi_masked", "NMI masked reads back masked", cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events",
                 expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var e = try vcpu.vcpuEvents()
                e.flags = 0
                e.nmi.masked = 1
                try vcpu.setVCPUEvents(e)
                return .bits(try vcpu.vcpuEvents().nmi.masked)
            }
        },
    ]

    static let msrChecks: [ABICheck] = [
        ABICheck("msrs.set_partial", "KVM_SET_MSRS [SYSENTER_CS, an unknown MSR, SYSENTER_ESP] sets 1 (stops at the first failure; ignore_msrs=0)",
                 cite: "arch/x86/kvm/x86.c __msr_io, kvm_set_msr_ignored_check", expect: .value(1)) { h in
            setMSRs(h, [MSREntry(index: sysenterCS, data: 8), MSREntry(index: unknownMSR, data: 0), MSREntry(index: sysenterESP, data: 0x1000)])
        },
        ABICheck("msrs.get_partial", "KVM_GET_MSRS [SYSENTER_CS, an unknown MSR, SYSENTER_ESP] reads 1",
                 cite: "arch/x86/kvm/x86.c __msr_io, kvm_get_msr_ignored_check", expect: .value(1)) { h in
            getMSRs(h, [sysenterCS, unknownMSR, sysenterESP])
        },
        ABICheck("msrs.set_all", "KVM_SET_MSRS [SYSENTER_CS, SYSENTER_ESP, SYSENTER_EIP] sets 3",
                 cite: "arch/x86/kvm/x86.c __msr_io", expect: .value(3)) { h in
            setMSRs(h, [MSREntry(index: sysenterCS, data: 8), MSREntry(index: sysenterESP, data: 0x1000), MSREntry(index: 0x176, data: 0x2000)])
        },
        ABICheck("msrs.empty", "KVM_GET_MSRS with no entries reads 0", cite: "arch/x86/kvm/x86.c msr_io", expect: .value(0)) { h in
            getMSRs(h, [])
        },
        ABICheck("msrs.too_many", "KVM_SET_MSRS with 256 entries (MAX_IO_MSRS; the limit is nmsrs >= 256): E2BIG",
                 cite: "arch/x86/kvm/x86.c msr_io", expect: .errno(Errno.E2BIG)) { h in
            setMSRs(h, Array(repeating: MSREntry(index: sysenterCS, data: 0), count: 256))
        },
        ABICheck("msrs.max", "KVM_SET_MSRS with 255 entries sets 255", cite: "arch/x86/kvm/x86.c msr_io", expect: .value(255)) { h in
            setMSRs(h, Array(repeating: MSREntry(index: sysenterCS, data: 0), count: 255))
        },
        ABICheck("msrs.efer_reserved_bit", "EFER with bit 1 (reserved) is not set, even host-initiated",
                 cite: "arch/x86/kvm/x86.c set_efer (efer_reserved_bits)", expect: .value(0)) { h in
            setMSRs(h, [MSREntry(index: efer, data: 0x2)])
        },
        ABICheck("msrs.sysenter_roundtrip", "SYSENTER_ESP = 0x12345000 reads back", cite: "arch/x86/kvm/vmx/vmx.c vmx_set_msr / vmx_get_msr",
                 expect: .value(0x1234_5000)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                _ = try vcpu.setMSRs([MSREntry(index: sysenterESP, data: 0x1234_5000)])
                return .bits(try vcpu.msrs([sysenterESP]).first?.data ?? 0)
            }
        },
        ABICheck("msrs.tsc_aux_roundtrip", "IA32_TSC_AUX = 7 written by the host reads back (the guest-CPUID check is for guest writes only)",
                 cite: "arch/x86/kvm/x86.c kvm_set_msr_common (MSR_TSC_AUX)", expect: .value(7)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                _ = try vcpu.setMSRs([MSREntry(index: 0xC000_0103, data: 7)])
                return .bits(try vcpu.msrs([0xC000_0103]).first?.data ?? 0)
            }
        },
    ]
}
