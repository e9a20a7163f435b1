import KVMABI

// KVM_GET/SET_SREGS2 (Linux 6.1 arch/x86/kvm/x86.c __get_sregs2, __set_sregs2,
// __set_sregs_common): the special registers with the PAE PDPTEs a VMM must carry across
// a migration (a guest may have changed the PDPT in memory since it loaded CR3).

extension ABICatalogue {
    static let setSregs2Source = "arch/x86/kvm/x86.c __set_sregs2"

    /// 32-bit PAE paging with CR3 at 10000H (flat 32-bit CS, CR0.PE|PG, CR4.PAE).
    static func paeMode(_ s: inout SpecialRegisters) {
        s.cs = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x8, type: 0xB, db: 1, g: 1)
        s.cr0 = 0x8000_0011; s.cr4 = 0x20; s.efer = 0; s.cr3 = 0x10000
    }

    /// KVM_SET_SREGS2 of the vCPU's registers after `edit`, then `read` of KVM_GET_SREGS2;
    /// the PDPT at 10000H in RAM holds `memoryPDPTEs`.
    static func sregs2(_ h: any Hypervisor, memoryPDPTEs: [UInt64] = [0, 0, 0, 0],
                       _ edit: @escaping (inout SpecialRegisters2) -> Void,
                       _ read: @escaping (SpecialRegisters2) -> Int) -> ABIAnswer {
        Ask.withVCPU(h, ram: 0x40_0000) { _, vcpu, ram throws(KVMError) in
            for (i, v) in memoryPDPTEs.enumerated() {
                _ = ram.write((0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }, at: 0x10000 + 8 * i)
            }
            var s = try vcpu.sregs2()
            edit(&s)
            do throws(KVMError) { try vcpu.setSregs2(s) } catch { return .errno(error.errno) }
            return .value(read(try vcpu.sregs2()))
        }
    }

    static let sregs2Checks: [ABICheck] = [
        ABICheck("sregs2.cap", "KVM_CAP_SREGS2 is 1", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension (KVM_CAP_SREGS2)",
                 expect: .value(1)) { h in .value(Int(h.checkExtension(.sregs2))) },
        ABICheck("sregs2.real_mode_flags", "KVM_GET_SREGS2 in real mode: flags 0 (no PDPTEs outside PAE paging)",
                 cite: "arch/x86/kvm/x86.c __get_sregs2", expect: .value(0)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in .value(Int(try vcpu.sregs2().flags)) }
        },
        ABICheck("sregs2.matches_sregs", "KVM_GET_SREGS2 and KVM_GET_SREGS agree on CS, CR0, CR4, EFER and APIC base",
                 cite: "arch/x86/kvm/x86.c __get_sregs_common", expect: .value(1)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let a = try vcpu.sregs(), b = try vcpu.sregs2().sregs
                return .value(a.cs == b.cs && a.cr0 == b.cr0 && a.cr4 == b.cr4 && a.efer == b.efer && a.apicBase == b.apicBase ? 1 : 0)
            }
        },
        ABICheck("sregs2.unknown_flag", "KVM_SET_SREGS2 with flags bit 1: EINVAL", cite: setSregs2Source, expect: .errno(Errno.EINVAL)) { h in
            sregs2(h, { $0.flags = 2 }) { Int($0.flags) }
        },
        ABICheck("sregs2.pdptrs_without_pae", "KVM_SET_SREGS2 with PDPTRS_VALID in real mode: EINVAL", cite: setSregs2Source,
                 expect: .errno(Errno.EINVAL)) { h in
            sregs2(h, { $0.flags = SpecialRegisters2.pdptrsValid }) { Int($0.flags) }
        },
        ABICheck("sregs2.pdptrs_given", "PAE paging with PDPTRS_VALID and PDPTEs 11001H, 12001H, 0, 0 (memory has zeros): KVM_GET_SREGS2 returns the given ones, flags 1",
                 cite: setSregs2Source + " (kvm_pdptr_write), __get_sregs2", expect: .value(1)) { h in
            sregs2(h, { paeMode(&$0.sregs); $0.flags = SpecialRegisters2.pdptrsValid; $0.pdptrs = [0x11001, 0x12001, 0, 0] }) {
                $0.flags == 1 && $0.pdptrs == [0x11001, 0x12001, 0, 0] ? 1 : 0
            }
        },
        ABICheck("sregs2.pdptrs_from_memory", "PAE paging without PDPTRS_VALID, memory PDPTEs 13001H, 0, 0, 0: KVM loads them (KVM_GET_SREGS2 pdptrs[0])",
                 cite: "arch/x86/kvm/x86.c __set_sregs_common (load_pdptrs when not given)", expect: .value(0x13001)) { h in
            sregs2(h, memoryPDPTEs: [0x13001, 0, 0, 0], { paeMode(&$0.sregs); $0.flags = 0 }) { Int($0.pdptrs[0]) }
        },
        ABICheck("sregs2.pdptrs_long_mode", "KVM_SET_SREGS2 with PDPTRS_VALID in long mode (EFER.LMA): EINVAL",
                 cite: setSregs2Source + " (pae requires !EFER.LMA)", expect: .errno(Errno.EINVAL)) { h in
            sregs2(h, { longMode(&$0.sregs); $0.flags = SpecialRegisters2.pdptrsValid }) { Int($0.flags) }
        },
    ]
}
