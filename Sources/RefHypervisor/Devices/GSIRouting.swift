import KVMABI

/// The VM's GSI routing table (virt/kvm/irqchip.c, arch/x86/kvm/irq_comm.c): where the level
/// of each GSI goes. KVM_CREATE_IRQCHIP installs KVM's default (kvm_setup_default_irq_routing:
/// GSI 0-15 to the 8259 pin and the IOAPIC pin of the same number, 16-23 to the IOAPIC);
/// KVM_SET_GSI_ROUTING replaces it as a whole.
struct GSIRouting {
    /// A route's target; 8259 pins are 0-15 (the slave's pin p is 8 + p), as in KVM.
    enum Target: Equatable {
        case pic(pin: Int)
        case ioapic(pin: Int)
        case msi(address: UInt64, data: UInt32)
    }

    /// Routes by GSI (kvm_irq_routing_table.map); GSIs past the end have none.
    private(set) var routes: [[Target]]
    /// kvm_irq_routing_table.chip: the GSI of each 8259 and IOAPIC pin (the last route to a
    /// pin wins), -1 for none. KVM maps an acknowledged pin back to its GSI with it
    /// (kvm_notify_acked_irq, kvm_fire_mask_notifiers).
    private(set) var picPinGSI = [Int](repeating: -1, count: 16)
    private(set) var ioapicPinGSI = [Int](repeating: -1, count: IOAPIC.pinCount)

    init() { routes = [] }

    /// kvm_setup_default_irq_routing; `gsi0OnIOAPICPin2` instead gives QEMU's table (the
    /// MADT's ISA timer override: GSI 0 on IOAPIC pin 2, no GSI 2).
    static func kvmDefault(gsi0OnIOAPICPin2: Bool = false) -> GSIRouting {
        var r = GSIRouting()
        for gsi in 0..<IOAPIC.pinCount {
            if gsi0OnIOAPICPin2 && gsi == 2 { continue }
            if gsi < 16 { r.add(gsi, .pic(pin: gsi)) }
            r.add(gsi, .ioapic(pin: gsi0OnIOAPICPin2 && gsi == 0 ? 2 : gsi))
        }
        return r
    }

    /// The routes of `gsi` (none past the table).
    @inline(__always) func targets(_ gsi: Int) -> [Target] {
        gsi >= 0 && gsi < routes.count ? routes[gsi] : []
    }

    private mutating func add(_ gsi: Int, _ t: Target) {
        if gsi >= routes.count { routes += [[Target]](repeating: [], count: gsi + 1 - routes.count) }
        routes[gsi].append(t)
        switch t {
        case .pic(let pin): picPinGSI[pin] = gsi
        case .ioapic(let pin): ioapicPinGSI[pin] = gsi
        case .msi: break
        }
    }

    /// KVM_SET_GSI_ROUTING's table, checked as kvm_vm_ioctl (nr, flags), kvm_set_irq_routing
    /// (every GSI below KVM_MAX_IRQ_ROUTES, then each entry's flags), setup_routing_entry (a
    /// GSI reaches each irqchip at most once, and a non-irqchip route is its GSI's only one)
    /// and kvm_set_routing_entry (the chip, the pin, the type) do it; EINVAL for any failure.
    /// `count` is kvm_irq_routing.nr: entries past `entries` are zero, as a VMM's zeroed buffer.
    /// Hyper-V SINT and Xen routes are out of scope (README): EINVAL here.
    static func build(_ entries: [GSIRoute], count: UInt32, flags: UInt32) throws(KVMError) -> GSIRouting {
        let op = "KVM_SET_GSI_ROUTING"
        let invalid = KVMError(errno: Errno.EINVAL, operation: op)
        guard count <= UInt32(GSIRoute.maximumRoutes), flags == 0 else { throw invalid }
        var list = Array(entries.prefix(Int(count)))
        while list.count < Int(count) { list.append(GSIRoute(gsi: 0, .other(type: 0))) }
        if list.contains(where: { $0.gsi >= UInt32(GSIRoute.maximumRoutes) }) { throw invalid }
        var table = GSIRouting()
        for e in list {
            let gsi = Int(e.gsi)
            // The flags a route's type allows.
            if case .msi = e.target {
                if e.flags & ~GSIRoute.msiValidDevID != 0 { throw invalid }
            } else if e.flags != 0 { throw invalid }
            // setup_routing_entry: only irqchip routes may share a GSI, on different chips.
            let newChip: UInt32? = { if case .irqchip(let c, _) = e.target { return c } else { return nil } }()
            for old in table.targets(gsi) {
                guard let newChip else { throw invalid }
                switch old {
                case .pic(let pin): if newChip == (pin < 8 ? GSIRoute.picMaster : GSIRoute.picSlave) { throw invalid }
                case .ioapic: if newChip == GSIRoute.ioapic { throw invalid }
                case .msi: throw invalid
                }
            }
            // kvm_set_routing_entry.
            switch e.target {
            case .irqchip(let chip, let pin):
                switch chip {
                case GSIRoute.picMaster, GSIRoute.picSlave:
                    guard pin < 8 else { throw invalid }
                    table.add(gsi, .pic(pin: Int(pin) + (chip == GSIRoute.picSlave ? 8 : 0)))
                case GSIRoute.ioapic:
                    guard pin < UInt32(IOAPIC.pinCount) else { throw invalid }
                    table.add(gsi, .ioapic(pin: Int(pin)))
                default: throw invalid
                }
            case .msi(let address, let data, _):
                // kvm_msi_route_invalid needs KVM_CAP_X2APIC_API's format, which the engine
                // does not offer: every MSI route is valid.
                table.add(gsi, .msi(address: address, data: data))
            case .other:
                throw invalid
            }
        }
        return table
    }
}
