import KVMABI

// KVM_GET/SET_MP_STATE (arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_get_mpstate,
// kvm_arch_vcpu_ioctl_set_mpstate; the initial state in kvm_arch_vcpu_create; INIT/SIPI
// acceptance in lapic.c kvm_apic_accept_events), Linux 6.1.

extension ABICatalogue {
    static let setMPStateSource = "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_set_mpstate"
    static let vcpuCreateSource = "arch/x86/kvm/x86.c kvm_arch_vcpu_create"

    /// KVM_GET_MP_STATE of vCPU `id` in a VM with or without the in-kernel irqchip, after
    /// KVM_SET_MP_STATE(`set`) when given.
    static func mpState(_ h: any Hypervisor, irqchip: Bool, id: UInt32 = 0, set: MPState? = nil) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            if irqchip { try vm.createIRQChip() }
            var vcpus: [any VirtualCPU] = []
            for i in 0...id { vcpus.append(try vm.createVCPU(id: i)) }
            let vcpu = vcpus[Int(id)]
            if let set {
                do throws(KVMError) { try vcpu.setMPState(set) } catch { return .errno(error.errno) }
            }
            return .value(Int(try vcpu.mpState().rawValue))
        }
    }

    /// KVM_GET_MP_STATE of a BSP set HALTED, then given RIP `rip` and KVM_SET_SREGS after `edit`.
    static func haltedBSPAfterSetSregs(_ h: any Hypervisor, rip: UInt64, _ edit: (inout SpecialRegisters) -> Void) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            try vm.createIRQChip()
            let vcpu = try vm.createVCPU(id: 0)
            try vcpu.setMPState(.halted)
            var r = try vcpu.regs(); r.rip = rip; try vcpu.setRegs(r)
            var s = try vcpu.sregs()
            edit(&s)
            try vcpu.setSregs(s)
            return .value(Int(try vcpu.mpState().rawValue))
        }
    }

    static let mpStateChecks: [ABICheck] = [
        ABICheck("mp_state.bsp_runnable", "vCPU 0 with the in-kernel irqchip starts RUNNABLE (0)", cite: vcpuCreateSource,
                 expect: .value(0)) { h in mpState(h, irqchip: true) },
        ABICheck("mp_state.ap_uninitialized", "vCPU 1 with the in-kernel irqchip starts UNINITIALIZED (1)", cite: vcpuCreateSource,
                 expect: .value(1)) { h in mpState(h, irqchip: true, id: 1) },
        ABICheck("mp_state.ap_no_irqchip_runnable", "vCPU 1 without an in-kernel irqchip starts RUNNABLE (0)", cite: vcpuCreateSource,
                 expect: .value(0)) { h in mpState(h, irqchip: false, id: 1) },
        ABICheck("mp_state.set_runnable_no_irqchip", "RUNNABLE without an in-kernel irqchip is accepted", cite: setMPStateSource,
                 expect: .value(0)) { h in mpState(h, irqchip: false, set: .runnable) },
        ABICheck("mp_state.set_halted_no_irqchip", "HALTED without an in-kernel irqchip: EINVAL", cite: setMPStateSource,
                 expect: .errno(Errno.EINVAL)) { h in mpState(h, irqchip: false, set: .halted) },
        ABICheck("mp_state.set_init_no_irqchip", "INIT_RECEIVED without an in-kernel irqchip: EINVAL", cite: setMPStateSource,
                 expect: .errno(Errno.EINVAL)) { h in mpState(h, irqchip: false, set: .initReceived) },
        ABICheck("mp_state.set_uninitialized_no_irqchip", "UNINITIALIZED without an in-kernel irqchip: EINVAL", cite: setMPStateSource,
                 expect: .errno(Errno.EINVAL)) { h in mpState(h, irqchip: false, set: .uninitialized) },
        ABICheck("mp_state.set_stopped", "STOPPED (5, an s390 state) with the irqchip: EINVAL", cite: setMPStateSource,
                 expect: .errno(Errno.EINVAL)) { h in mpState(h, irqchip: true, set: .stopped) },
        ABICheck("mp_state.set_unknown", "mp_state 100 with the irqchip: EINVAL", cite: setMPStateSource,
                 expect: .errno(Errno.EINVAL)) { h in mpState(h, irqchip: true, set: MPState(rawValue: 100)) },
        ABICheck("mp_state.set_halted", "HALTED with the irqchip reads back HALTED (3)", cite: setMPStateSource,
                 expect: .value(3)) { h in mpState(h, irqchip: true, set: .halted) },
        ABICheck("mp_state.set_init_received", "INIT_RECEIVED with the irqchip reads back INIT_RECEIVED (2)", cite: setMPStateSource,
                 expect: .value(2)) { h in mpState(h, irqchip: true, id: 1, set: .initReceived) },
        ABICheck("mp_state.set_uninitialized_bsp", "UNINITIALIZED on vCPU 0 with the irqchip reads back UNINITIALIZED (1)",
                 cite: setMPStateSource, expect: .value(1)) { h in mpState(h, irqchip: true, set: .uninitialized) },
        ABICheck("mp_state.ap_set_runnable", "an UNINITIALIZED AP set RUNNABLE reads RUNNABLE (0)", cite: setMPStateSource,
                 expect: .value(0)) { h in mpState(h, irqchip: true, id: 1, set: .runnable) },
        ABICheck("mp_state.sipi_received_starts", "SIPI_RECEIVED is stored as INIT_RECEIVED with a SIPI pending, which KVM_GET_MP_STATE accepts: RUNNABLE (0)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl_set_mpstate, lapic.c kvm_apic_accept_events", expect: .value(0)) { h in
            mpState(h, irqchip: true, id: 1, set: .sipiReceived)
        },
        ABICheck("mp_state.sipi_received_cs", "after SIPI_RECEIVED and KVM_GET_MP_STATE the AP's CS is the SIPI vector (0) << 8 with base 0, RIP 0: CS.base | RIP",
                 cite: "arch/x86/kvm/lapic.c kvm_apic_accept_events, vmx.c vmx_vcpu_deliver_sipi_vector", expect: .value(0)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                _ = try vm.createVCPU(id: 0)
                let ap = try vm.createVCPU(id: 1)
                var r = try ap.regs(); r.rip = 0x1234; try ap.setRegs(r)
                try ap.setMPState(.sipiReceived)
                _ = try ap.mpState()
                let s = try ap.sregs()
                return .value(Int(s.cs.base | UInt64(s.cs.selector) | (try ap.regs().rip)))
            }
        },
        ABICheck("mp_state.init_resets_at_accept", "an INIT MSI to a running AP in protected mode (LAPIC enabled): KVM_GET_MP_STATE takes it (INIT_RECEIVED, 2) and the AP is already reset: CR0 10H (CD and NW kept clear from CR0 11H), RIP FFF0H",
                 cite: "arch/x86/kvm/lapic.c kvm_apic_accept_events (kvm_vcpu_reset(vcpu, true) on INIT), x86.c kvm_vcpu_reset (CR0.CD/NW preserved on INIT)",
                 expect: .text("mp 2 cr0 0x10 rip 0xfff0")) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                _ = try vm.createVCPU(id: 0)
                let ap = try vm.createVCPU(id: 1)
                try ap.setMPState(.runnable)
                var s = try ap.sregs(); s.cr0 = 0x11; try ap.setSregs(s)
                var r = try ap.regs(); r.rip = 0x1234; try ap.setRegs(r)
                try softwareEnableLAPIC(ap)
                // Delivery mode INIT (5), physical destination APIC ID 1.
                _ = try vm.signalMSI(address: 0xFEE0_0000 | 1 << 12, data: 5 << 8)
                let mp = try ap.mpState()
                return .text("mp \(mp.rawValue) cr0 0x\(String(try ap.sregs().cr0, radix: 16)) rip 0x\(String(try ap.regs().rip, radix: 16))")
            }
        },
        ABICheck("mp_state.reset_sregs_unhalt_bsp", "a HALTED BSP given the reset CS (F000H, base FFFF0000H) at RIP FFF0H by KVM_SET_SREGS is RUNNABLE (0)",
                 cite: "arch/x86/kvm/x86.c __set_sregs_common", expect: .value(0)) { h in
            haltedBSPAfterSetSregs(h, rip: 0xFFF0) { $0.cs.selector = 0xF000; $0.cs.base = 0xFFFF_0000; $0.cr0 &= ~1 }
        },
        ABICheck("mp_state.halted_stays", "a HALTED BSP given CS 1000H (base 10000H) at RIP FFF0H by KVM_SET_SREGS stays HALTED (3)",
                 cite: "arch/x86/kvm/x86.c __set_sregs_common", expect: .value(3)) { h in
            haltedBSPAfterSetSregs(h, rip: 0xFFF0) { $0.cs.selector = 0x1000; $0.cs.base = 0x10000; $0.cr0 &= ~1 }
        },
    ]
}
