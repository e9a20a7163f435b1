import KVMABI

// KVM_GET/SET_IRQCHIP (Linux 6.1 arch/x86/kvm/x86.c kvm_vm_ioctl_get_irqchip,
// kvm_vm_ioctl_set_irqchip; ioapic.c kvm_get_ioapic, kvm_set_ioapic, ioapic_service) and
// what KVM_SIGNAL_MSI returns (kvm_send_userspace_msi -> kvm_irq_delivery_to_apic).

extension ABICatalogue {
    static let getIRQChipSource = "arch/x86/kvm/x86.c kvm_vm_ioctl_get_irqchip"
    static let setIRQChipSource = "arch/x86/kvm/x86.c kvm_vm_ioctl_set_irqchip"

    /// A VM with the in-kernel irqchip and vCPU 0 (whose LAPIC is software-enabled when
    /// `lapicEnabled`), then `body`.
    static func withChip(_ h: any Hypervisor, lapicEnabled: Bool = false,
                         _ body: @escaping (any VirtualMachine) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            try vm.createIRQChip()
            let v = try vm.createVCPU(id: 0)
            if lapicEnabled { try softwareEnableLAPIC(v) }
            return try body(vm)
        }
    }

    /// SVR 1FFH: the LAPIC accepts interrupts (a reset LAPIC is software-disabled).
    static func softwareEnableLAPIC(_ v: any VirtualCPU) throws(KVMError) {
        var l = try v.lapic()
        l.setRegister(0xF0, 0x1FF)
        try v.setLAPIC(l)
    }

    /// Bit `vector` of the LAPIC's IRR (KVM_GET_LAPIC): 1 if the interrupt is pending.
    static func lapicIRRBit(_ v: any VirtualCPU, vector: Int) throws(KVMError) -> Int {
        Int(try v.lapic().register(0x200 + 0x10 * (vector / 32)) >> UInt32(vector % 32) & 1)
    }

    static func pic(_ s: IRQChipState) -> PICState? {
        switch s { case .picMaster(let p), .picSlave(let p): p; default: nil }
    }
    static func ioapic(_ s: IRQChipState) -> IOAPICState? {
        if case .ioapic(let a) = s { return a }
        return nil
    }

    /// Sets IOAPIC pin 3 level-triggered, unmasked, vector 33H to APIC ID `dest`, with its IRR
    /// bit set in the state, and reads Remote IRR back (kvm_set_ioapic reinjects the pin).
    static func reinjectedRemoteIRR(_ h: any Hypervisor, lapicEnabled: Bool, dest: UInt64) -> ABIAnswer {
        withChip(h, lapicEnabled: lapicEnabled) { vm throws(KVMError) in
            guard var a = ioapic(try vm.irqchip(2)) else { return .setupFailed("no IOAPIC state") }
            a.redirection[3] = dest << 56 | 1 << 15 | 0x33
            a.irr = 1 << 3
            try vm.setIRQChip(.ioapic(a))
            guard let b = ioapic(try vm.irqchip(2)) else { return .setupFailed("no IOAPIC state") }
            return .value(Int((b.redirection[3] >> 14) & 1))
        }
    }

    static func msiResult(_ h: any Hypervisor, lapicEnabled: Bool, dest: UInt64) -> ABIAnswer {
        withChip(h, lapicEnabled: lapicEnabled) { vm throws(KVMError) in
            do throws(KVMError) {
                return .value(Int(try vm.signalMSI(address: 0xFEE0_0000 | dest << 12, data: 0x31)))
            } catch { return .errno(error.errno) }
        }
    }

    static let irqchipStateChecks: [ABICheck] = [
        ABICheck("irqchip_state.get_no_irqchip", "KVM_GET_IRQCHIP without KVM_CREATE_IRQCHIP: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (KVM_GET_IRQCHIP, irqchip_kernel)", expect: .errno(Errno.ENXIO)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in _ = try vm.irqchip(0) } }
        },
        ABICheck("irqchip_state.get_bad_chip", "KVM_GET_IRQCHIP of chip 3: EINVAL", cite: getIRQChipSource,
                 expect: .errno(Errno.EINVAL)) { h in
            withChip(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in _ = try vm.irqchip(3) } }
        },
        ABICheck("irqchip_state.elcr_masks", "after KVM_CREATE_IRQCHIP the ELCR masks are F8H (master) and DEH (slave): master << 8 | slave",
                 cite: "arch/x86/kvm/i8259.c kvm_create_pic", expect: .value(0xF8DE)) { h in
            withChip(h) { vm throws(KVMError) in
                let m = pic(try vm.irqchip(0))?.elcrMask ?? 0, s = pic(try vm.irqchip(1))?.elcrMask ?? 0
                return .value(Int(m) << 8 | Int(s))
            }
        },
        ABICheck("irqchip_state.pic_roundtrip", "KVM_SET_IRQCHIP master with IMR A5H, irq_base 20H, ELCR 08H, auto_eoi 1: read back as set",
                 cite: setIRQChipSource + " (memcpy of kvm_pic_state)", expect: .value(1)) { h in
            withChip(h) { vm throws(KVMError) in
                guard var p = pic(try vm.irqchip(0)) else { return .setupFailed("no PIC state") }
                p.imr = 0xA5; p.irqBase = 0x20; p.elcr = 0x08; p.autoEOI = 1
                try vm.setIRQChip(.picMaster(p))
                let q = pic(try vm.irqchip(0))
                return .value(q?.imr == 0xA5 && q?.irqBase == 0x20 && q?.elcr == 0x08 && q?.autoEOI == 1 ? 1 : 0)
            }
        },
        ABICheck("irqchip_state.pic_slave_separate", "KVM_SET_IRQCHIP of the slave with IMR 3CH leaves the master's IMR: master IMR << 8 | slave IMR",
                 cite: setIRQChipSource, expect: .value(0x003C)) { h in
            withChip(h) { vm throws(KVMError) in
                guard var p = pic(try vm.irqchip(1)) else { return .setupFailed("no PIC state") }
                p.imr = 0x3C
                try vm.setIRQChip(.picSlave(p))
                return .value(Int(pic(try vm.irqchip(0))?.imr ?? 0xFF) << 8 | Int(pic(try vm.irqchip(1))?.imr ?? 0))
            }
        },
        ABICheck("irqchip_state.ioapic_reset", "after KVM_CREATE_IRQCHIP the IOAPIC is at FEC00000H with all 24 entries masked: base == FEC00000H and 24 masked",
                 cite: "arch/x86/kvm/ioapic.c kvm_ioapic_reset", expect: .value(24)) { h in
            withChip(h) { vm throws(KVMError) in
                guard let a = ioapic(try vm.irqchip(2)) else { return .setupFailed("no IOAPIC state") }
                return .value(a.baseAddress == 0xFEC0_0000 ? a.redirection.filter { $0 & (1 << 16) != 0 }.count : -1)
            }
        },
        ABICheck("irqchip_state.ioapic_roundtrip", "KVM_SET_IRQCHIP IOAPIC with ID 3 and entry 5 = dest 2, vector 45H, masked: read back as set",
                 cite: setIRQChipSource + ", ioapic.c kvm_set_ioapic", expect: .value(1)) { h in
            withChip(h) { vm throws(KVMError) in
                guard var a = ioapic(try vm.irqchip(2)) else { return .setupFailed("no IOAPIC state") }
                a.id = 3
                a.redirection[5] = 2 << 56 | 1 << 16 | 0x45
                try vm.setIRQChip(.ioapic(a))
                let b = ioapic(try vm.irqchip(2))
                return .value(b?.id == 3 && b?.redirection[5] == 2 << 56 | 1 << 16 | 0x45 ? 1 : 0)
            }
        },
        ABICheck("irqchip_state.ioapic_irr_reinjected", "KVM_SET_IRQCHIP IOAPIC with pin 3 level, unmasked, IRR bit 3, to an enabled LAPIC: the pin is asserted again and Remote IRR reads 1",
                 cite: "arch/x86/kvm/ioapic.c kvm_set_ioapic (kvm_ioapic_inject_all), ioapic_service", expect: .value(1)) { h in
            reinjectedRemoteIRR(h, lapicEnabled: true, dest: 0)
        },
        ABICheck("irqchip_state.ioapic_remote_irr_refused", "the same with the LAPIC software-disabled: it refuses the message (0 accepted), Remote IRR stays 0",
                 cite: "arch/x86/kvm/ioapic.c ioapic_service (remote_irr only if ret != 0), lapic.c __apic_accept_irq", expect: .value(0)) { h in
            reinjectedRemoteIRR(h, lapicEnabled: false, dest: 0)
        },
        ABICheck("irqchip_state.ioapic_remote_irr_no_target", "the same to APIC ID 9, which no vCPU has: the APIC map answers 0 accepted, Remote IRR stays 0",
                 cite: "arch/x86/kvm/ioapic.c ioapic_service, lapic.c kvm_irq_delivery_to_apic_fast (dest beyond max_apic_id: r = 0)", expect: .value(0)) { h in
            reinjectedRemoteIRR(h, lapicEnabled: true, dest: 9)
        },
        ABICheck("msi.accepted", "KVM_SIGNAL_MSI fixed vector 31H to APIC ID 0, LAPIC enabled: returns 1 (one LAPIC accepted)",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl (KVM_SIGNAL_MSI), irq_comm.c kvm_set_msi", expect: .value(1)) { h in
            msiResult(h, lapicEnabled: true, dest: 0)
        },
        ABICheck("msi.refused", "KVM_SIGNAL_MSI to APIC ID 0 with its LAPIC software-disabled: returns 0",
                 cite: "arch/x86/kvm/irq_comm.c kvm_irq_delivery_to_apic, lapic.c __apic_accept_irq", expect: .value(0)) { h in
            msiResult(h, lapicEnabled: false, dest: 0)
        },
        ABICheck("msi.no_destination", "KVM_SIGNAL_MSI to APIC ID 9 (no such LAPIC): returns 0 (the APIC map's fast path)",
                 cite: "arch/x86/kvm/lapic.c kvm_irq_delivery_to_apic_fast, kvm_apic_map_get_dest_lapic", expect: .value(0)) { h in
            msiResult(h, lapicEnabled: true, dest: 9)
        },
        ABICheck("msi.no_vcpu", "KVM_SIGNAL_MSI with the irqchip but no vCPU: no APIC map, the slow path finds nothing: -1, seen as EPERM",
                 cite: "arch/x86/kvm/irq_comm.c kvm_irq_delivery_to_apic (r = -1)", expect: .errno(Errno.EPERM)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                return Ask.call { () throws(KVMError) in _ = try vm.signalMSI(address: 0xFEE0_0000, data: 0x31) }
            }
        },
    ]
}
