import KVMABI
#if canImport(Glibc)
import Glibc
#endif

// KVM_SET_GSI_ROUTING: Linux 6.1 virt/kvm/kvm_main.c kvm_vm_ioctl (nr, flags),
// virt/kvm/irqchip.c kvm_set_irq_routing, setup_routing_entry, kvm_set_irq; arch/x86/kvm/
// irq_comm.c kvm_set_routing_entry, kvm_arch_can_set_irq_routing, kvm_set_msi.

extension ABICatalogue {
    static let routingSource = "virt/kvm/irqchip.c kvm_set_irq_routing"
    static let routingEntrySource = "arch/x86/kvm/irq_comm.c kvm_set_routing_entry"
    static let routingSetupSource = "virt/kvm/irqchip.c setup_routing_entry"

    /// KVM_SET_GSI_ROUTING with `routes` on a VM with the irqchip and vCPU 0: its errno or 0.
    static func route(_ h: any Hypervisor, _ routes: [GSIRoute], count: UInt32? = nil, flags: UInt32 = 0) -> ABIAnswer {
        withChip(h) { vm throws(KVMError) in
            Ask.call { () throws(KVMError) in
                try vm.setGSIRouting(routes, count: count ?? UInt32(routes.count), flags: flags)
            }
        }
    }

    static func ioapicRoute(_ gsi: UInt32, pin: UInt32) -> GSIRoute { GSIRoute(gsi: gsi, .irqchip(chip: GSIRoute.ioapic, pin: pin)) }
    static func msiRoute(_ gsi: UInt32, vector: UInt32, flags: UInt32 = 0) -> GSIRoute {
        GSIRoute(gsi: gsi, flags: flags, .msi(address: 0xFEE0_0000, data: vector, devid: 0))
    }

    /// After `routes`, raise `gsi` with KVM_IRQ_LINE and read the IRR of irqchip `chip`
    /// (0 PIC master, 1 slave: 8 bits; 2 IOAPIC: 24 pins).
    static func routedIRR(_ h: any Hypervisor, _ routes: [GSIRoute], raise gsi: UInt32, chip: UInt32) -> ABIAnswer {
        withChip(h) { vm throws(KVMError) in
            try vm.setGSIRouting(routes)
            try vm.irqLine(gsi, level: true)
            let s = try vm.irqchip(chip)
            if let a = ioapic(s) { return .bits(a.irr & 0xFF_FFFF) }
            if let p = pic(s) { return .bits(UInt64(p.irr)) }
            return .setupFailed("no irqchip state \(chip)")
        }
    }

    static let gsiRoutingChecks: [ABICheck] = [
        ABICheck("gsi_routing.cap", "KVM_CAP_IRQ_ROUTING on the VM fd is KVM_MAX_IRQ_ROUTES (4096)",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_check_extension_generic", expect: .value(4096)) { h in
            Ask.withVM(h) { vm throws(KVMError) in .value(Int(vm.checkExtension(.irqRouting))) }
        },
        ABICheck("gsi_routing.no_irqchip", "KVM_SET_GSI_ROUTING before KVM_CREATE_IRQCHIP: EINVAL",
                 cite: "arch/x86/kvm/irq_comm.c kvm_arch_can_set_irq_routing (irqchip_in_kernel)", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setGSIRouting([ioapicRoute(5, pin: 5)]) } }
        },
        ABICheck("gsi_routing.flags", "kvm_irq_routing.flags 1: EINVAL", cite: "virt/kvm/kvm_main.c kvm_vm_ioctl (routing.flags)",
                 expect: .errno(Errno.EINVAL)) { route($0, [ioapicRoute(5, pin: 5)], flags: 1) },
        ABICheck("gsi_routing.too_many", "nr 4097 (KVM_MAX_IRQ_ROUTES + 1): EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl (routing.nr > KVM_MAX_IRQ_ROUTES)", expect: .errno(Errno.EINVAL)) {
            route($0, [ioapicRoute(5, pin: 5)], count: 4097)
        },
        ABICheck("gsi_routing.max_entries", "4096 MSI routes, GSIs 0-4095: accepted",
                 cite: routingSource, expect: .ok) { h in
            route(h, (0..<4096).map { msiRoute(UInt32($0), vector: 0x40) })
        },
        ABICheck("gsi_routing.gsi_4096", "a route for GSI 4096: EINVAL", cite: routingSource + " (ue[i].gsi >= KVM_MAX_IRQ_ROUTES)",
                 expect: .errno(Errno.EINVAL)) { route($0, [msiRoute(4096, vector: 0x40)]) },
        ABICheck("gsi_routing.empty", "an empty table (nr 0): accepted", cite: routingSource, expect: .ok) { route($0, []) },
        ABICheck("gsi_routing.pic_pin_8", "PIC master pin 8: EINVAL (pins 0-7 per 8259)", cite: routingEntrySource,
                 expect: .errno(Errno.EINVAL)) { route($0, [GSIRoute(gsi: 5, .irqchip(chip: GSIRoute.picMaster, pin: 8))]) },
        ABICheck("gsi_routing.slave_pin_7", "PIC slave pin 7: accepted", cite: routingEntrySource, expect: .ok) {
            route($0, [GSIRoute(gsi: 15, .irqchip(chip: GSIRoute.picSlave, pin: 7))])
        },
        ABICheck("gsi_routing.ioapic_pin_24", "IOAPIC pin 24: EINVAL (KVM_IOAPIC_NUM_PINS 24)", cite: routingEntrySource,
                 expect: .errno(Errno.EINVAL)) { route($0, [ioapicRoute(5, pin: 24)]) },
        ABICheck("gsi_routing.bad_chip", "irqchip 3: EINVAL", cite: routingEntrySource, expect: .errno(Errno.EINVAL)) {
            route($0, [GSIRoute(gsi: 5, .irqchip(chip: 3, pin: 0))])
        },
        ABICheck("gsi_routing.bad_type", "route type 99: EINVAL", cite: routingEntrySource, expect: .errno(Errno.EINVAL)) {
            route($0, [GSIRoute(gsi: 5, .other(type: 99))])
        },
        ABICheck("gsi_routing.zero_entries_past_given", "nr 2 with one entry given (the other all zero: type 0): EINVAL",
                 cite: routingEntrySource, expect: .errno(Errno.EINVAL)) { route($0, [ioapicRoute(5, pin: 5)], count: 2) },
        ABICheck("gsi_routing.irqchip_flags", "an IRQCHIP route with flags 1: EINVAL", cite: routingSource + " (flags of non-MSI routes)",
                 expect: .errno(Errno.EINVAL)) { route($0, [GSIRoute(gsi: 5, flags: 1, .irqchip(chip: GSIRoute.ioapic, pin: 5))]) },
        ABICheck("gsi_routing.msi_devid", "an MSI route with KVM_MSI_VALID_DEVID: accepted (x86 ignores the devid)",
                 cite: routingSource + " (ue->flags & ~KVM_MSI_VALID_DEVID)", expect: .ok) {
            route($0, [msiRoute(40, vector: 0x40, flags: GSIRoute.msiValidDevID)])
        },
        ABICheck("gsi_routing.msi_flag_2", "an MSI route with flags 2: EINVAL", cite: routingSource + " (ue->flags & ~KVM_MSI_VALID_DEVID)",
                 expect: .errno(Errno.EINVAL)) { route($0, [msiRoute(40, vector: 0x40, flags: 2)]) },
        ABICheck("gsi_routing.same_chip_twice", "GSI 5 to IOAPIC pins 5 and 6: EINVAL (one route per irqchip)",
                 cite: routingSetupSource, expect: .errno(Errno.EINVAL)) { route($0, [ioapicRoute(5, pin: 5), ioapicRoute(5, pin: 6)]) },
        ABICheck("gsi_routing.pic_and_ioapic", "GSI 5 to PIC master pin 5 and IOAPIC pin 5 (as the default table): accepted",
                 cite: routingSetupSource, expect: .ok) {
            route($0, [GSIRoute(gsi: 5, .irqchip(chip: GSIRoute.picMaster, pin: 5)), ioapicRoute(5, pin: 5)])
        },
        ABICheck("gsi_routing.master_and_slave", "GSI 5 to PIC master pin 5 and PIC slave pin 5 (two chips): accepted",
                 cite: routingSetupSource, expect: .ok) {
            route($0, [GSIRoute(gsi: 5, .irqchip(chip: GSIRoute.picMaster, pin: 5)), GSIRoute(gsi: 5, .irqchip(chip: GSIRoute.picSlave, pin: 5))])
        },
        ABICheck("gsi_routing.irqchip_then_msi", "GSI 5 to IOAPIC pin 5, then GSI 5 to an MSI: EINVAL",
                 cite: routingSetupSource + " (a non-irqchip route is its GSI's only one)", expect: .errno(Errno.EINVAL)) {
            route($0, [ioapicRoute(5, pin: 5), msiRoute(5, vector: 0x40)])
        },
        ABICheck("gsi_routing.msi_then_irqchip", "GSI 5 to an MSI, then GSI 5 to IOAPIC pin 5: EINVAL",
                 cite: routingSetupSource, expect: .errno(Errno.EINVAL)) { route($0, [msiRoute(5, vector: 0x40), ioapicRoute(5, pin: 5)]) },
        ABICheck("gsi_routing.empty_line_status", "after an empty table, KVM_IRQ_LINE_STATUS on GSI 4: -1 (no route)",
                 cite: "virt/kvm/irqchip.c kvm_set_irq (kvm_irq_map_gsi finds nothing)", expect: .value(-1)) { h in
            lineStatus(h, gsi: 4, [true]) { vm throws(KVMError) in try vm.setGSIRouting([]) }
        },
        ABICheck("gsi_routing.moved_ioapic_irr", "GSI 30 routed to IOAPIC pin 3: raising GSI 30 sets IOAPIC IRR bit 3 (8)",
                 cite: "arch/x86/kvm/irq_comm.c kvm_set_ioapic_irq; ioapic.c ioapic_set_irq", expect: .value(8)) {
            routedIRR($0, [ioapicRoute(30, pin: 3)], raise: 30, chip: 2)
        },
        ABICheck("gsi_routing.default_gone", "with only GSI 30 -> pin 3, raising GSI 3 reaches nothing (IOAPIC IRR 0)",
                 cite: routingSource + " (the table replaces the default as a whole)", expect: .value(0)) {
            routedIRR($0, [ioapicRoute(30, pin: 3)], raise: 3, chip: 2)
        },
        ABICheck("gsi_routing.default_pic_gone", "with only GSI 30 -> IOAPIC pin 3, raising GSI 3 leaves the 8259 IRR 0",
                 cite: routingSource, expect: .value(0)) { routedIRR($0, [ioapicRoute(30, pin: 3)], raise: 3, chip: 0) },
        ABICheck("gsi_routing.slave_pin", "GSI 41 routed to PIC slave pin 2: raising it sets the slave's IRR bit 2 (4)",
                 cite: routingEntrySource + " (slave pin p is KVM pin 8 + p); i8259.c kvm_pic_set_irq", expect: .value(4)) {
            routedIRR($0, [GSIRoute(gsi: 41, .irqchip(chip: GSIRoute.picSlave, pin: 2))], raise: 41, chip: 1)
        },
        ABICheck("gsi_routing.replaced", "a second table (GSI 31 -> pin 4) drops the first (GSI 30 -> pin 3): raising 30 sets nothing",
                 cite: routingSource + " (rcu_assign_pointer of the new table)", expect: .value(0)) { h in
            withChip(h) { vm throws(KVMError) in
                try vm.setGSIRouting([ioapicRoute(30, pin: 3)])
                try vm.setGSIRouting([ioapicRoute(31, pin: 4)])
                try vm.irqLine(30, level: true)
                guard let a = ioapic(try vm.irqchip(2)) else { return .setupFailed("no IOAPIC state") }
                return .bits(a.irr & 0xFF_FFFF)
            }
        },
        ABICheck("gsi_routing.msi_raise", "GSI 100 routed to an MSI (APIC 0, vector 45H), raised: 1 LAPIC took it",
                 cite: "arch/x86/kvm/irq_comm.c kvm_set_msi (kvm_irq_delivery_to_apic)", expect: .value(1)) { h in
            lineStatus(h, gsi: 100, [true]) { vm throws(KVMError) in try vm.setGSIRouting([msiRoute(100, vector: 0x45)]) }
        },
        ABICheck("gsi_routing.msi_lower", "that MSI GSI lowered: -1 (an MSI has no level to drop)",
                 cite: "arch/x86/kvm/irq_comm.c kvm_set_msi (!level: -1)", expect: .value(-1)) { h in
            lineStatus(h, gsi: 100, [true, false]) { vm throws(KVMError) in try vm.setGSIRouting([msiRoute(100, vector: 0x45)]) }
        },
        ABICheck("gsi_routing.msi_irr", "after raising the MSI GSI, vector 45H is in the LAPIC's IRR",
                 cite: "arch/x86/kvm/lapic.c __apic_accept_irq (kvm_lapic_set_irr)", expect: .value(1)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                try vm.createIRQChip()
                let v = try vm.createVCPU(id: 0)
                try softwareEnableLAPIC(v)
                try vm.setGSIRouting([msiRoute(100, vector: 0x45)])
                try vm.irqLine(100, level: true)
                return .value(try lapicIRRBit(v, vector: 0x45))
            }
        },
        ABICheck("gsi_routing.irqfd_msi", "an irqfd on GSI 100 routed to an MSI (vector 46H): a signal puts 46H in the LAPIC's IRR (within 500 ms)",
                 cite: "virt/kvm/eventfd.c irqfd_wakeup (kvm_arch_set_irq_inatomic for an MSI route); arch/x86/kvm/irq_comm.c kvm_set_msi",
                 expect: .value(1)) { h in
            withEventFD { e throws(KVMError) in
                Ask.withVCPU(h, irqchip: true) { vm, vcpu, _ throws(KVMError) in
                    try softwareEnableLAPIC(vcpu)
                    try vm.setGSIRouting([msiRoute(100, vector: 0x46)])
                    try vm.irqfd(IRQFD(fd: e.fd, gsi: 100))
                    e.signal()
                    for _ in 0..<50 {
                        if try lapicIRRBit(vcpu, vector: 0x46) == 1 { return .value(1) }
                        var t = timespec(tv_sec: 0, tv_nsec: 10_000_000)
                        nanosleep(&t, nil)
                    }
                    return .value(0)
                }
            }
        },
    ]
}
