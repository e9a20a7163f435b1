import KVMABI

// Save/restore ioctls beyond REGS/SREGS/MSRS/EVENTS (Linux 6.1): the MSR index list
// (x86.c kvm_arch_dev_ioctl), KVM_SET_TSS_ADDR / IDENTITY_MAP_ADDR / BOOT_CPU_ID /
// GET_TSC_KHZ on the VM (kvm_arch_vm_ioctl), KVM_GET/SET_DEBUGREGS, KVM_GET/SET_XCRS,
// KVM_GET_CPUID2, KVM_TRANSLATE, KVM_GET_TSC_KHZ, KVM_KVMCLOCK_CTRL (kvm_arch_vcpu_ioctl).

extension ABICatalogue {
    static let archDevIoctl = "arch/x86/kvm/x86.c kvm_arch_dev_ioctl"
    static let archVMIoctl = "arch/x86/kvm/x86.c kvm_arch_vm_ioctl"
    static let setDebugregsSource = "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_debugregs"
    static let setXCRsSource = "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_xcrs, __kvm_set_xcr"

    /// KVM_SET_DEBUGREGS after `edit` on what KVM_GET_DEBUGREGS returned.
    static func debugregs(_ h: any Hypervisor, _ edit: @escaping (inout DebugRegisters) -> Void) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
            var d = try vcpu.debugRegisters()
            edit(&d)
            return Ask.call { () throws(KVMError) in try vcpu.setDebugRegisters(d) }
        }
    }

    /// KVM_SET_XCRS of `xcrs`, on a vCPU whose CPUID is KVM_GET_SUPPORTED_CPUID.
    static func setXCRs(_ h: any Hypervisor, _ xcrs: XCRs) -> ABIAnswer {
        Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in Ask.call { () throws(KVMError) in try vcpu.setXCRs(xcrs) } }
    }

    static let saveRestoreChecks: [ABICheck] = [
        // KVM_GET_MSR_INDEX_LIST
        ABICheck("msr_list.too_small", "KVM_GET_MSR_INDEX_LIST with nmsrs 0: E2BIG", cite: archDevIoctl,
                 expect: .errno(Errno.E2BIG)) { h in Ask.call { () throws(KVMError) in _ = try h.msrIndexList(capacity: 0) } },
        ABICheck("msr_list.exact_fit", "with nmsrs = the count KVM wrote back: that many indices",
                 cite: archDevIoctl, expect: .value(1)) { h in
            do throws(KVMError) {
                let n = try h.msrIndexCount()
                let list = try h.msrIndexList(capacity: n)
                return .value(n > 0 && list.count == n ? 1 : 0)
            } catch { return .errno(error.errno) }
        },
        ABICheck("msr_list.has_tsc_sysenter_star", "the list holds IA32_TSC, SYSENTER_CS and STAR (msrs_to_save_all)",
                 cite: "arch/x86/kvm/x86.c msrs_to_save_all, kvm_init_msr_list", expect: .value(1)) { h in
            do throws(KVMError) {
                let l = Set(try h.msrIndexList(capacity: 4096))
                return .value(l.isSuperset(of: [0x10, 0x174, 0xC000_0081]) ? 1 : 0)
            } catch { return .errno(error.errno) }
        },
        ABICheck("msr_list.no_duplicates", "no index twice", cite: "arch/x86/kvm/x86.c kvm_init_msr_list", expect: .value(0)) { h in
            do throws(KVMError) {
                let l = try h.msrIndexList(capacity: 4096)
                return .value(l.count - Set(l).count)
            } catch { return .errno(error.errno) }
        },
        // KVM_GET_MSR_FEATURE_INDEX_LIST and KVM_GET_MSRS on the system fd
        ABICheck("feature_msrs.too_small", "KVM_GET_MSR_FEATURE_INDEX_LIST with nmsrs 0: E2BIG", cite: archDevIoctl,
                 expect: .errno(Errno.E2BIG)) { h in Ask.call { () throws(KVMError) in _ = try h.featureMSRIndexList(capacity: 0) } },
        ABICheck("feature_msrs.has_ucode_rev", "the feature list holds IA32_UCODE_REV (8BH), and holds each index once",
                 cite: "arch/x86/kvm/x86.c msr_based_features_all_except_vmx, kvm_init_msr_list", expect: .value(1)) { h in
            do throws(KVMError) {
                let n = try h.featureMSRIndexCount()
                let l = try h.featureMSRIndexList(capacity: n)
                return .value(l.contains(0x8B) && Set(l).count == l.count && l.count == n ? 1 : 0)
            } catch { return .errno(error.errno) }
        },
        ABICheck("feature_msrs.read_ucode_rev", "KVM_GET_MSRS on the system fd of IA32_UCODE_REV: 1 entry", cite: "arch/x86/kvm/x86.c kvm_get_msr_feature",
                 expect: .value(1)) { h in
            do throws(KVMError) { return .value(try h.featureMSRs([0x8B]).count) } catch { return .errno(error.errno) }
        },
        ABICheck("feature_msrs.not_a_feature", "KVM_GET_MSRS on the system fd of IA32_UCODE_REV then IA32_TSC (not a feature MSR): stops after 1",
                 cite: "arch/x86/kvm/x86.c msr_io (do_get_msr_feature)", expect: .value(1)) { h in
            do throws(KVMError) { return .value(try h.featureMSRs([0x8B, 0x10]).count) } catch { return .errno(error.errno) }
        },
        ABICheck("feature_msrs.unknown_first", "KVM_GET_MSRS on the system fd of 40007FFFH first: 0 entries",
                 cite: "arch/x86/kvm/x86.c msr_io (do_get_msr_feature)", expect: .value(0)) { h in
            do throws(KVMError) { return .value(try h.featureMSRs([unknownMSR, 0x8B]).count) } catch { return .errno(error.errno) }
        },
        // KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_SET_BOOT_CPU_ID, KVM_GET_TSC_KHZ (VM)
        ABICheck("vm.tss_addr", "KVM_SET_TSS_ADDR FFFBD000H (QEMU's): 0", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_set_tss_addr",
                 expect: .ok) { h in Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setTSSAddress(0xFFFB_D000) } } },
        ABICheck("vm.tss_addr_too_high", "KVM_SET_TSS_ADDR FFFFE000H (above 4 GiB - 3 pages): EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_set_tss_addr", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setTSSAddress(0xFFFF_E000) } }
        },
        ABICheck("vm.identity_map_before_vcpu", "KVM_SET_IDENTITY_MAP_ADDR FFFBC000H before any vCPU: 0", cite: archVMIoctl,
                 expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setIdentityMapAddress(0xFFFB_C000) } }
        },
        ABICheck("vm.identity_map_after_vcpu", "KVM_SET_IDENTITY_MAP_ADDR after KVM_CREATE_VCPU: EINVAL", cite: archVMIoctl,
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                _ = try vm.createVCPU(id: 0)
                return Ask.call { () throws(KVMError) in try vm.setIdentityMapAddress(0xFFFB_C000) }
            }
        },
        ABICheck("vm.boot_cpu_id_after_vcpu", "KVM_SET_BOOT_CPU_ID after KVM_CREATE_VCPU: EBUSY", cite: archVMIoctl,
                 expect: .errno(Errno.EBUSY)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                _ = try vm.createVCPU(id: 0)
                return Ask.call { () throws(KVMError) in try vm.setBootCPUID(1) }
            }
        },
        ABICheck("vm.boot_cpu_id_bsp_bit", "KVM_SET_BOOT_CPU_ID 1, then vCPUs 0 and 1: IA32_APIC_BASE.BSP on vCPU 1 only (bit 8 of vCPU 1 | bit 8 of vCPU 0 << 1)",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_is_reset_bsp, lapic.c kvm_lapic_reset", expect: .value(1)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                try vm.setBootCPUID(1)
                let v0 = try vm.createVCPU(id: 0), v1 = try vm.createVCPU(id: 1)
                let b0 = try v0.sregs().apicBase, b1 = try v1.sregs().apicBase
                return .value(Int((b1 >> 8) & 1 | ((b0 >> 8) & 1) << 1))
            }
        },
        ABICheck("vm.boot_cpu_id_mp_state", "KVM_SET_BOOT_CPU_ID 1 with the irqchip: vCPU 0 is an AP (UNINITIALIZED, 1), vCPU 1 RUNNABLE (0): state0 << 4 | state1",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_create", expect: .value(0x10)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                try vm.setBootCPUID(1)
                let v0 = try vm.createVCPU(id: 0), v1 = try vm.createVCPU(id: 1)
                return .value(Int(try v0.mpState().rawValue) << 4 | Int(try v1.mpState().rawValue))
            }
        },
        ABICheck("vm.tsc_khz_matches_vcpu", "KVM_GET_TSC_KHZ on the VM equals it on a new vCPU, and is not 0",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl, kvm_arch_vcpu_create (kvm_set_tsc_khz default_tsc_khz)", expect: .value(1)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let k = try vm.tscKHz()
                let v = try vm.createVCPU(id: 0)
                let kv = try v.tscKHz()
                return .value(k != 0 && kv == k ? 1 : 0)
            }
        },
        // KVM_GET/SET_DEBUGREGS
        ABICheck("debugregs.reset", "after creation DR6 = FFFF0FF0H and DR7 = 400H: DR6 << 32 | DR7",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_reset (DR6_ACTIVE_LOW, DR7_FIXED_1)", expect: .value(Int(bitPattern: 0xFFFF_0FF0_0000_0400))) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let d = try vcpu.debugRegisters()
                return .value(Int(truncatingIfNeeded: d.dr6 << 32 | d.dr7))
            }
        },
        ABICheck("debugregs.roundtrip", "DR0-DR3 1000H..4000H, DR6 FFFF4FF1H, DR7 00F30402H read back as set",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_get_debugregs", expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let want = DebugRegisters(db: [0x1000, 0x2000, 0x3000, 0x4000], dr6: 0xFFFF_4FF1, dr7: 0x00F3_0402)
                try vcpu.setDebugRegisters(want)
                return .value(try vcpu.debugRegisters() == want ? 1 : 0)
            }
        },
        ABICheck("debugregs.flags", "flags 1: EINVAL", cite: setDebugregsSource, expect: .errno(Errno.EINVAL)) { h in debugregs(h) { $0.flags = 1 } },
        ABICheck("debugregs.dr6_high", "DR6 bit 32: EINVAL (kvm_dr6_valid)", cite: setDebugregsSource,
                 expect: .errno(Errno.EINVAL)) { h in debugregs(h) { $0.dr6 |= 1 << 32 } },
        ABICheck("debugregs.dr7_high", "DR7 bit 32: EINVAL (kvm_dr7_valid)", cite: setDebugregsSource,
                 expect: .errno(Errno.EINVAL)) { h in debugregs(h) { $0.dr7 |= 1 << 32 } },
        ABICheck("debugregs.dr6_raw", "DR6 0 is stored as given: it reads back 0 (no fixed bits added by the ioctl)",
                 cite: setDebugregsSource, expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                var d = try vcpu.debugRegisters()
                d.dr6 = 0
                try vcpu.setDebugRegisters(d)
                return .value(Int(try vcpu.debugRegisters().dr6))
            }
        },
        // KVM_GET/SET_XCRS
        ABICheck("xcrs.reset", "KVM_GET_XCRS after creation: one register, XCR0 = 1 (x87): count << 8 | index << 4 | value",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_get_xcrs, kvm_vcpu_reset", expect: .value(0x101)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let x = try vcpu.xcrs()
                guard let e = x.xcrs.first else { return .value(0) }
                return .value(x.xcrs.count << 8 | Int(e.index) << 4 | Int(e.value))
            }
        },
        ABICheck("xcrs.set_x87_sse", "with CPUID.(0DH,0):EAX = 3 in the table, XCR0 = 3 (x87, SSE): 0, and it reads back 3",
                 cite: setXCRsSource + ", cpuid.c cpuid_get_supported_xcr0", expect: .value(3)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                // guest_supported_xcr0 comes from the table's leaf 0DH (masked by what the host saves).
                var t = try h.supportedCPUID().filter { $0.function != 0xD }
                t.append(CPUIDEntry(function: 0xD, index: 0, flags: 1, eax: 3, ebx: 0x240, ecx: 0x240, edx: 0))
                try vcpu.setCPUID(t)
                try vcpu.setXCRs(XCRs([XCR(index: 0, value: 3)]))
                return .value(Int(try vcpu.xcrs().xcrs.first?.value ?? 0))
            }
        },
        ABICheck("xcrs.no_x87", "XCR0 = 2 (SSE without x87): EINVAL", cite: setXCRsSource,
                 expect: .errno(Errno.EINVAL)) { h in setXCRs(h, XCRs([XCR(index: 0, value: 2)])) },
        ABICheck("xcrs.avx_without_sse", "XCR0 = 5 (AVX without SSE): EINVAL", cite: setXCRsSource,
                 expect: .errno(Errno.EINVAL)) { h in setXCRs(h, XCRs([XCR(index: 0, value: 5)])) },
        ABICheck("xcrs.unsupported_bit", "XCR0 with bit 62 (no such state component): EINVAL", cite: setXCRsSource,
                 expect: .errno(Errno.EINVAL)) { h in setXCRs(h, XCRs([XCR(index: 0, value: 1 | 1 << 62)])) },
        ABICheck("xcrs.flags", "flags 1: EINVAL", cite: setXCRsSource, expect: .errno(Errno.EINVAL)) { h in
            setXCRs(h, XCRs([XCR(index: 0, value: 1)], flags: 1))
        },
        ABICheck("xcrs.too_many", "17 registers (KVM_MAX_XCRS is 16): EINVAL", cite: setXCRsSource, expect: .errno(Errno.EINVAL)) { h in
            setXCRs(h, XCRs(Array(repeating: XCR(index: 0, value: 1), count: 17)))
        },
        ABICheck("xcrs.other_index_ignored", "only XCR1 = 0 given: 0 (only XCR0 is looked for)", cite: setXCRsSource,
                 expect: .ok) { h in setXCRs(h, XCRs([XCR(index: 1, value: 0)])) },
        // KVM_GET_CPUID2
        ABICheck("cpuid.get_before_set", "KVM_GET_CPUID2 before any KVM_SET_CPUID2: 0 entries",
                 cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_get_cpuid2", expect: .value(0)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let v = try vm.createVCPU(id: 0)
                do throws(KVMError) { return .value(try v.cpuid(capacity: 256).count) } catch { return .errno(error.errno) }
            }
        },
        ABICheck("cpuid.get_after_set", "KVM_GET_CPUID2 after KVM_SET_CPUID2 of the supported table: as many entries, leaf 0 equal",
                 cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_get_cpuid2", expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let t = try h.supportedCPUID()
                let got = try vcpu.cpuid(capacity: 256)
                let leaf0 = { (x: [CPUIDEntry]) in x.first { $0.function == 0 } }
                return .value(got.count == t.count && leaf0(got) == leaf0(t) ? 1 : 0)
            }
        },
        ABICheck("cpuid.get_too_small", "KVM_GET_CPUID2 with nent 1 below the table: E2BIG",
                 cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_get_cpuid2", expect: .errno(Errno.E2BIG)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let n = try h.supportedCPUID().count
                return Ask.call { () throws(KVMError) in _ = try vcpu.cpuid(capacity: n - 1) }
            }
        },
        // KVM_SET_CPUID (the old form)
        ABICheck("cpuid_v1.too_many", "KVM_SET_CPUID with 257 entries: E2BIG", cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_set_cpuid",
                 expect: .errno(Errno.E2BIG)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let t = (0..<257).map { CPUIDEntry(function: 0x4000_0000 + UInt32($0), eax: 0, ebx: 0, ecx: 0, edx: 0) }
                return Ask.call { () throws(KVMError) in try vcpu.setCPUIDv1(t) }
            }
        },
        ABICheck("cpuid_v1.index_flags_zero", "KVM_SET_CPUID of the supported table's leaves 0 and 1: KVM_GET_CPUID2 shows 2 entries, each with index 0 and flags 0",
                 cite: "arch/x86/kvm/cpuid.c kvm_vcpu_ioctl_set_cpuid (e2[i].index = 0, flags = 0)", expect: .value(2)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let v = try vm.createVCPU(id: 0)
                let t = try h.supportedCPUID().filter { $0.function <= 1 }
                try v.setCPUIDv1(t)
                let got = try v.cpuid(capacity: 256)
                return .value(got.allSatisfy { $0.index == 0 && $0.flags == 0 } ? got.count : -1)
            }
        },
        // KVM_TRANSLATE
        ABICheck("translate.real_mode", "KVM_TRANSLATE of 12345H in real mode (no paging): 12345H, valid",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_translate", expect: .value(0x12345)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let t = try vcpu.translate(0x12345)
                return .value(t.valid ? Int(t.physicalAddress) : -1)
            }
        },
        ABICheck("translate.flags", "KVM_TRANSLATE reports writeable 1 and usermode 0: writeable << 1 | usermode",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_translate", expect: .value(2)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let t = try vcpu.translate(0x1000)
                return .value((t.writeable ? 2 : 0) | (t.usermode ? 1 : 0))
            }
        },
        ABICheck("translate.paged", "with 4-level paging (PML4 at 10000H, a 2 MiB page at GPA 200000H for linear 0): linear 1234H -> 201234H, valid",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_translate (kvm_mmu_gva_to_gpa_system)", expect: .value(0x201234)) { h in
            pagedTranslate(h, 0x1234)
        },
        ABICheck("translate.not_present", "with the same paging, linear 40000000H (no PDPTE): invalid, physical address ~0: valid << 1 | (pa == ~0)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_translate (INVALID_GPA)", expect: .value(1)) { h in
            Ask.withVCPU(h, ram: 0x40_0000) { _, vcpu, ram throws(KVMError) in
                try enterPagedMode(vcpu, ram)
                let t = try vcpu.translate(0x4000_0000)
                return .value((t.valid ? 2 : 0) | (t.physicalAddress == ~0 ? 1 : 0))
            }
        },
        // KVM_GET_TSC_KHZ (vCPU), KVM_KVMCLOCK_CTRL
        ABICheck("tsc_khz.nonzero", "KVM_GET_TSC_KHZ on a new vCPU is not 0", cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl (virtual_tsc_khz)",
                 expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let k = try vcpu.tscKHz()
                return .value(k > 0 ? 1 : 0)
            }
        },
        ABICheck("kvmclock_ctrl.no_kvmclock", "KVM_KVMCLOCK_CTRL while the guest has not enabled kvmclock: EINVAL",
                 cite: "arch/x86/kvm/x86.c kvm_set_guest_paused", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in Ask.call { () throws(KVMError) in try vcpu.kvmclockCtrl() } }
        },
    ]

    /// Identity-free 4-level paging for KVM_TRANSLATE checks: PML4 at 10000H -> PDPT at 11000H
    /// -> PD at 12000H whose entry 0 maps linear 0-1FFFFFH to the 2 MiB page at 200000H.
    static func enterPagedMode(_ vcpu: any VirtualCPU, _ ram: GuestMemory) throws(KVMError) {
        func put(_ v: UInt64, _ at: Int) { _ = ram.write((0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }, at: at) }
        put(0x11000 | 3, 0x10000)
        put(0x12000 | 3, 0x11000)
        put(0x20_0000 | 0x83, 0x12000)        // present, writable, PS
        var s = try vcpu.sregs()
        longMode(&s)
        s.cr3 = 0x10000
        try vcpu.setSregs(s)
    }

    static func pagedTranslate(_ h: any Hypervisor, _ linear: UInt64) -> ABIAnswer {
        Ask.withVCPU(h, ram: 0x40_0000) { _, vcpu, ram throws(KVMError) in
            try enterPagedMode(vcpu, ram)
            let t = try vcpu.translate(linear)
            return .value(t.valid ? Int(t.physicalAddress) : -1)
        }
    }
}
