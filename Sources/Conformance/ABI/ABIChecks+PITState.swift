import KVMABI

// KVM_GET/SET_PIT2 and the old KVM_GET/SET_PIT (Linux 6.1 arch/x86/kvm/x86.c
// kvm_vm_ioctl_get_pit2, kvm_vm_ioctl_set_pit2, kvm_vm_ioctl_get_pit, kvm_vm_ioctl_set_pit;
// i8254.c kvm_pit_reset, kvm_pit_load_count).

extension ABICatalogue {
    static let setPIT2Source = "arch/x86/kvm/x86.c kvm_vm_ioctl_set_pit2"

    /// A VM with the irqchip and a PIT (KVM_CREATE_PIT2), then `body`.
    static func withPIT(_ h: any Hypervisor, _ body: @escaping (any VirtualMachine) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            try vm.createIRQChip()
            try vm.createPIT2()
            return try body(vm)
        }
    }

    static let pitStateChecks: [ABICheck] = [
        ABICheck("pit_state.get_no_pit", "KVM_GET_PIT2 with the irqchip but no PIT: ENXIO", cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (KVM_GET_PIT2)",
                 expect: .errno(Errno.ENXIO)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in _ = try vm.pit2() }
            }
        },
        ABICheck("pit_state.set_no_pit", "KVM_SET_PIT2 with the irqchip but no PIT: ENXIO", cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (KVM_SET_PIT2)",
                 expect: .errno(Errno.ENXIO)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in try vm.setPIT2(PITState2()) }
            }
        },
        ABICheck("pit_state.reset", "after KVM_CREATE_PIT2 every counter has mode FFH and count 65536, gates 1, 1, 0 (counter 2 waits for port 61H)",
                 cite: "arch/x86/kvm/i8254.c kvm_pit_reset", expect: .value(1)) { h in
            withPIT(h) { vm throws(KVMError) in
                let c = try vm.pit2().channels
                let ok = c.allSatisfy { $0.mode == 0xFF && $0.count == 0x10000 } && c.map(\.gate) == [1, 1, 0]
                return .value(ok ? 1 : 0)
            }
        },
        ABICheck("pit_state.roundtrip", "KVM_SET_PIT2 with counter 0 in mode 2, lobyte/hibyte, count 1000H, and counter 2's gate 1: read back as set",
                 cite: setPIT2Source + ", kvm_vm_ioctl_get_pit2", expect: .value(1)) { h in
            withPIT(h) { vm throws(KVMError) in
                var s = try vm.pit2()
                s.channels[0].mode = 2; s.channels[0].rwMode = 3; s.channels[0].count = 0x1000
                s.channels[2].gate = 1
                try vm.setPIT2(s)
                let g = try vm.pit2().channels
                return .value(g[0].mode == 2 && g[0].rwMode == 3 && g[0].count == 0x1000 && g[2].gate == 1 ? 1 : 0)
            }
        },
        ABICheck("pit_state.count_zero", "KVM_SET_PIT2 with counter 1's count 0: it reads 65536 (kvm_pit_load_count)",
                 cite: "arch/x86/kvm/i8254.c kvm_pit_load_count", expect: .value(0x10000)) { h in
            withPIT(h) { vm throws(KVMError) in
                var s = try vm.pit2()
                s.channels[1].count = 0
                try vm.setPIT2(s)
                return .value(Int(try vm.pit2().channels[1].count))
            }
        },
        ABICheck("pit_state.flags", "KVM_SET_PIT2 with flags HPET_LEGACY | SPEAKER_DATA_ON (3): flags read 3",
                 cite: setPIT2Source + " (pit_state.flags = ps->flags)", expect: .value(3)) { h in
            withPIT(h) { vm throws(KVMError) in
                var s = try vm.pit2()
                s.flags = 3
                try vm.setPIT2(s)
                return .value(Int(try vm.pit2().flags))
            }
        },
        ABICheck("pit_state.old_set_seen_by_new_get", "KVM_SET_PIT (old) with counter 0 in mode 3, count 2345H: KVM_GET_PIT2 sees both",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_set_pit", expect: .value(1)) { h in
            withPIT(h) { vm throws(KVMError) in
                var c = try vm.pit()
                c[0].mode = 3; c[0].count = 0x2345; c[0].rwMode = 3
                try vm.setPIT(c)
                let g = try vm.pit2().channels[0]
                return .value(g.mode == 3 && g.count == 0x2345 ? 1 : 0)
            }
        },
        ABICheck("pit_state.old_set_keeps_flags", "KVM_SET_PIT2 flags SPEAKER_DATA_ON, then KVM_SET_PIT (no flags field): flags still 2",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_set_pit (channels only)", expect: .value(2)) { h in
            withPIT(h) { vm throws(KVMError) in
                var s = try vm.pit2()
                s.flags = 2
                try vm.setPIT2(s)
                try vm.setPIT(try vm.pit())
                return .value(Int(try vm.pit2().flags))
            }
        },
        ABICheck("pit_state.old_get_no_pit", "KVM_GET_PIT without a PIT: ENXIO", cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (KVM_GET_PIT)",
                 expect: .errno(Errno.ENXIO)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in _ = try vm.pit() }
            }
        },
    ]
}
