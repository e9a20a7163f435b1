import KVMABI

// The system fd, vCPU creation, and the in-kernel irqchip/PIT ordering rules: Linux 6.1
// virt/kvm/kvm_main.c (kvm_dev_ioctl, kvm_vm_ioctl_create_vcpu, kvm_vm_ioctl_check_extension_generic),
// arch/x86/kvm/x86.c (kvm_vm_ioctl_check_extension, kvm_arch_vm_ioctl, kvm_vm_ioctl_irq_line,
// kvm_vcpu_ioctl_interrupt), virt/kvm/irqchip.c (kvm_send_userspace_msi).

extension ABICatalogue {
    static let x86VMIoctl = "arch/x86/kvm/x86.c kvm_arch_vm_ioctl"

    /// A capability's value on the system fd.
    static func capability(_ c: Capability) -> @Sendable (any Hypervisor) -> ABIAnswer {
        { .value(Int($0.checkExtension(c))) }
    }

    static let systemChecks: [ABICheck] = [
        ABICheck("system.api_version", "KVM_GET_API_VERSION is 12", cite: "virt/kvm/kvm_main.c kvm_dev_ioctl (KVM_API_VERSION)",
                 expect: .value(12)) { h in
            do throws(KVMError) { return .bits(try h.apiVersion()) } catch { return .errno(error.errno) }
        },
        ABICheck("system.cap_user_memory", "KVM_CAP_USER_MEMORY is 1", cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic",
                 expect: .value(1), ask: capability(.userMemory)),
        ABICheck("system.cap_immediate_exit", "KVM_CAP_IMMEDIATE_EXIT is 1", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension",
                 expect: .value(1), ask: capability(.immediateExit)),
        ABICheck("system.cap_readonly_mem", "KVM_CAP_READONLY_MEM is 1 on x86", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension",
                 expect: .value(1), ask: capability(.readonlyMem)),
        ABICheck("system.cap_multi_address_space", "KVM_CAP_MULTI_ADDRESS_SPACE is 2 (KVM_ADDRESS_SPACE_NUM: normal and SMM)",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic", expect: .value(2), ask: capability(.multiAddressSpace)),
        ABICheck("system.cap_irqchip", "KVM_CAP_IRQCHIP is 1", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension",
                 expect: .value(1), ask: capability(.irqchip)),
        ABICheck("system.cap_pit2", "KVM_CAP_PIT2 is 1", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension",
                 expect: .value(1), ask: capability(.pit2)),
        ABICheck("system.cap_vcpu_events", "KVM_CAP_VCPU_EVENTS is 1", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension",
                 expect: .value(1), ask: capability(.vcpuEvents)),
        ABICheck("system.cap_signal_msi", "KVM_CAP_SIGNAL_MSI is 1", cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic",
                 expect: .value(1), ask: capability(.signalMsi)),
        ABICheck("system.cap_set_guest_debug", "KVM_CAP_SET_GUEST_DEBUG is 1", cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension",
                 expect: .value(1), ask: capability(.setGuestDebug)),
        ABICheck("system.cap_unknown", "KVM_CHECK_EXTENSION of an unknown capability (100000) is 0",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension (default: 0)", expect: .value(0),
                 ask: capability(Capability(rawValue: 100_000))),
        ABICheck("system.max_vcpus_le_ids", "KVM_CAP_MAX_VCPUS <= KVM_CAP_MAX_VCPU_ID (ids may be sparse, never fewer than vCPUs)",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension (KVM_MAX_VCPUS, KVM_MAX_VCPU_IDS)", expect: .value(1)) { h in
            .value(h.checkExtension(.maxVcpus) <= h.checkExtension(.maxVcpuId) && h.checkExtension(.maxVcpus) > 0 ? 1 : 0)
        },
        ABICheck("system.nr_vcpus_le_max", "KVM_CAP_NR_VCPUS (recommended) <= KVM_CAP_MAX_VCPUS",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension", expect: .value(1)) { h in
            .value(h.checkExtension(.nrVcpus) <= h.checkExtension(.maxVcpus) && h.checkExtension(.nrVcpus) > 0 ? 1 : 0)
        },
        ABICheck("system.vm_check_extension", "KVM_CHECK_EXTENSION on the VM fd answers KVM_CAP_USER_MEMORY as the system fd does",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic", expect: .value(1)) { h in
            Ask.withVM(h) { vm in .value(Int(vm.checkExtension(.userMemory))) }
        },
    ]

    static let vcpuChecks: [ABICheck] = [
        ABICheck("vcpu.create", "vCPU 0", cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_create_vcpu", expect: .ok) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: 0) } }
        },
        ABICheck("vcpu.duplicate_id", "a second vCPU with the same id: EEXIST", cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_create_vcpu",
                 expect: .errno(Errno.EEXIST)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                _ = try vm.createVCPU(id: 0)
                return Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: 0) }
            }
        },
        ABICheck("vcpu.id_at_limit", "vCPU id = KVM_CAP_MAX_VCPU_ID: EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_create_vcpu, arch/x86/kvm/x86.c kvm_arch_vcpu_precreate",
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: UInt32(max(0, h.checkExtension(.maxVcpuId)))) } }
        },
        ABICheck("vcpu.id_below_limit", "vCPU id = KVM_CAP_MAX_VCPU_ID - 1 is allowed",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_create_vcpu", expect: .ok) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: UInt32(max(1, h.checkExtension(.maxVcpuId)) - 1)) } }
        },
        ABICheck("vcpu.id_huge", "vCPU id 0xFFFFFFFF: EINVAL", cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_create_vcpu",
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: 0xFFFF_FFFF) } }
        },
        ABICheck("vcpu.sparse_id", "vCPU 5 without vCPUs 0-4 (ids need not be dense)", cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_create_vcpu",
                 expect: .ok) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in _ = try vm.createVCPU(id: 5) } }
        },
    ]

    static let irqchipChecks: [ABICheck] = [
        ABICheck("irqchip.create", "KVM_CREATE_IRQCHIP on a new VM", cite: x86VMIoctl, expect: .ok) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in try vm.createIRQChip() } }
        },
        ABICheck("irqchip.twice", "KVM_CREATE_IRQCHIP twice: EEXIST", cite: x86VMIoctl, expect: .errno(Errno.EEXIST)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in try vm.createIRQChip() }
            }
        },
        ABICheck("irqchip.after_vcpu", "KVM_CREATE_IRQCHIP after a vCPU exists: EINVAL", cite: x86VMIoctl, expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                _ = try vm.createVCPU(id: 0)
                return Ask.call { () throws(KVMError) in try vm.createIRQChip() }
            }
        },
        ABICheck("pit.create", "KVM_CREATE_PIT2 after KVM_CREATE_IRQCHIP", cite: x86VMIoctl, expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in try vm.createPIT2() }
            }
        },
        ABICheck("pit.twice", "KVM_CREATE_PIT2 twice: EEXIST", cite: x86VMIoctl, expect: .errno(Errno.EEXIST)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                try vm.createPIT2()
                return Ask.call { () throws(KVMError) in try vm.createPIT2() }
            }
        },
        ABICheck("pit.without_irqchip", "KVM_CREATE_PIT2 without an irqchip succeeds (6.1 checks only for an existing PIT)",
                 cite: x86VMIoctl, expect: .ok) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in try vm.createPIT2() } }
        },
        ABICheck("irq_line.without_irqchip", "KVM_IRQ_LINE without an in-kernel irqchip: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_irq_line", expect: .errno(Errno.ENXIO)) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in try vm.irqLine(4, level: true) } }
        },
        ABICheck("irq_line.raise_lower", "KVM_IRQ_LINE GSI 4 high then low with an irqchip",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_irq_line", expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                try vm.irqLine(4, level: true)
                return Ask.call { () throws(KVMError) in try vm.irqLine(4, level: false) }
            }
        },
        ABICheck("irq_line.unrouted_gsi", "KVM_IRQ_LINE on GSI 1000 (no route): the ioctl still succeeds (kvm_set_irq finds no entry)",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_irq_line, virt/kvm/irqchip.c kvm_set_irq", expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in try vm.irqLine(1000, level: true) }
            }
        },
        ABICheck("msi.without_irqchip", "KVM_SIGNAL_MSI without an in-kernel irqchip: EINVAL",
                 cite: "virt/kvm/irqchip.c kvm_send_userspace_msi", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm in Ask.call { () throws(KVMError) in _ = try vm.signalMSI(address: 0xFEE0_0000, data: 0x30) } }
        },
        ABICheck("interrupt.with_pic", "KVM_INTERRUPT with the in-kernel PIC: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_interrupt", expect: .errno(Errno.ENXIO)) { h in
            Ask.withVCPU(h, irqchip: true) { _, vcpu, _ in Ask.call { () throws(KVMError) in try vcpu.interrupt(vector: 0x30) } }
        },
        ABICheck("interrupt.userspace_irqchip", "KVM_INTERRUPT without an in-kernel irqchip queues the vector",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_interrupt", expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ in Ask.call { () throws(KVMError) in try vcpu.interrupt(vector: 0x30) } }
        },
        ABICheck("interrupt.in_events", "that queued vector is in KVM_GET_VCPU_EVENTS: interrupt.injected 1, nr 30H (what a VMM saves)",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_interrupt (kvm_queue_interrupt), kvm_vcpu_ioctl_x86_get_vcpu_events",
                 expect: .text("injected 1 nr 0x30")) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try vcpu.interrupt(vector: 0x30)
                let e = try vcpu.vcpuEvents()
                return .text("injected \(e.interrupt.injected) nr 0x\(String(e.interrupt.nr, radix: 16))")
            }
        },
        ABICheck("interrupt.restored_delivered", "KVM_SET_VCPU_EVENTS with interrupt.injected (nr 30H) on a vCPU with IF=1: the guest takes vector 30H (real-mode IVT handler runs)",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_x86_set_vcpu_events (vcpu->arch.interrupt), inject_pending_event",
                 expect: .value(0x5A)) { h in
            Ask.withVCPU(h) { _, vcpu, ram throws(KVMError) in
                // IVT entry 30H -> 0000:2000, where the handler writes 5AH to 0x3000 and halts.
                _ = ram.write([0x00, 0x20, 0x00, 0x00], at: 0x30 * 4)
                _ = ram.write([0xC6, 0x06, 0x00, 0x30, 0x5A, 0xF4], at: 0x2000)
                _ = ram.write([0xF4], at: 0x1000)
                var r = try vcpu.regs()
                r.rflags = 0x202
                r.rsp = 0x8000
                try vcpu.setRegs(r)
                var e = try vcpu.vcpuEvents()
                e.interrupt.injected = 1
                e.interrupt.nr = 0x30
                try vcpu.setVCPUEvents(e)
                _ = try vcpu.run(budget: .milliseconds(2000))
                return .value(Int(ram.read(at: 0x3000, count: 1).first ?? 0))
            }
        },
        ABICheck("nmi.queue", "KVM_NMI always succeeds", cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_nmi", expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ in Ask.call { () throws(KVMError) in try vcpu.nmi() } }
        },
    ]
}
