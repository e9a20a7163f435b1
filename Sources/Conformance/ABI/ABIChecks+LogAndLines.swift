import KVMABI

// KVM_CLEAR_DIRTY_LOG and manual dirty-log protection (Linux 6.1 virt/kvm/kvm_main.c
// kvm_clear_dirty_log_protect, kvm_get_dirty_log_protect, kvm_prepare_memory_region),
// KVM_IRQ_LINE_STATUS (x86.c kvm_vm_ioctl_irq_line; irqchip.c kvm_set_irq; i8259.c
// pic_set_irq1; ioapic.c ioapic_set_irq, ioapic_service, rtc_irq_check_coalesced),
// KVM_SET_PMU_EVENT_FILTER (pmu.c) and the device attributes of the system and vCPU fds
// (x86.c kvm_x86_dev_get_attr, kvm_vcpu_ioctl_device_attr, kvm_arch_tsc_*_attr).

extension ABICatalogue {
    static let clearDirtySource = "virt/kvm/kvm_main.c kvm_clear_dirty_log_protect"
    static let lineStatusSource = "virt/kvm/irqchip.c kvm_set_irq"

    /// A VM with vCPU 0 and a 16-page logging slot 1 at 20000H, after `manual` (if not nil)
    /// was enabled as MANUAL_DIRTY_LOG_PROTECT2.
    static func dirtyVM(_ h: any Hypervisor, manual: UInt64?, code: [UInt8] = hlt,
                       _ body: @escaping (any VirtualMachine, any VirtualCPU) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        Ask.withVCPU(h) { vm, vcpu, mem throws(KVMError) in
            if let manual { try enable(vm, .manualDirtyLogProtect2, manual) }
            _ = try extraSlot(vm, flags: .logDirtyPages)
            _ = mem.write(code, at: 0x1000)
            return try body(vm, vcpu)
        }
    }

    static func clear(_ h: any Hypervisor, slot: UInt32 = 1, first: UInt64, pages: UInt32) -> ABIAnswer {
        dirtyVM(h, manual: 1) { vm, _ in
            Ask.call { () throws(KVMError) in try vm.clearDirtyLog(slot: slot, firstPage: first, numPages: pages, bitmap: [~0]) }
        }
    }

    static let dirtyClearChecks: [ABICheck] = [
        ABICheck("clear_dirty.no_slot", "KVM_CLEAR_DIRTY_LOG of a slot that does not exist: ENOENT", cite: clearDirtySource,
                 expect: .errno(Errno.ENOENT)) { clear($0, slot: 5, first: 0, pages: 16) },
        ABICheck("clear_dirty.address_space", "KVM_CLEAR_DIRTY_LOG of address space 2: EINVAL", cite: clearDirtySource,
                 expect: .errno(Errno.EINVAL)) { clear($0, slot: 2 << 16 | 1, first: 0, pages: 16) },
        ABICheck("clear_dirty.first_page_unaligned", "first_page 1 (not a multiple of 64), before the slot is looked up: EINVAL",
                 cite: clearDirtySource, expect: .errno(Errno.EINVAL)) { clear($0, slot: 5, first: 1, pages: 16) },
        ABICheck("clear_dirty.not_logging", "KVM_CLEAR_DIRTY_LOG of a slot without KVM_MEM_LOG_DIRTY_PAGES: ENOENT",
                 cite: clearDirtySource + " (!memslot->dirty_bitmap)", expect: .errno(Errno.ENOENT)) { h in
            Ask.withVCPU(h) { vm, _, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vm.clearDirtyLog(slot: 0, firstPage: 0, numPages: 16, bitmap: [~0]) }
            }
        },
        ABICheck("clear_dirty.partial_word", "num_pages 10 of a 16-page slot (short of its end, not a multiple of 64): EINVAL",
                 cite: clearDirtySource, expect: .errno(Errno.EINVAL)) { clear($0, first: 0, pages: 10) },
        ABICheck("clear_dirty.past_end", "num_pages 17 of a 16-page slot: EINVAL", cite: clearDirtySource,
                 expect: .errno(Errno.EINVAL)) { clear($0, first: 0, pages: 17) },
        ABICheck("clear_dirty.first_past_end", "first_page 64 of a 16-page slot: EINVAL", cite: clearDirtySource,
                 expect: .errno(Errno.EINVAL)) { clear($0, first: 64, pages: 0) },
        ABICheck("clear_dirty.whole_slot", "num_pages 16 of a 16-page slot (up to its end): 0", cite: clearDirtySource,
                 expect: .ok) { clear($0, first: 0, pages: 16) },
        ABICheck("clear_dirty.without_manual", "KVM_CLEAR_DIRTY_LOG without manual protection enabled: 0 (it only needs a bitmap)",
                 cite: clearDirtySource, expect: .ok) { h in
            dirtyVM(h, manual: nil) { vm, _ in
                Ask.call { () throws(KVMError) in try vm.clearDirtyLog(slot: 1, firstPage: 0, numPages: 16, bitmap: [~0]) }
            }
        },
        ABICheck("manual_dirty.get_keeps_bits", "manual protection: a guest write to page 3, then two KVM_GET_DIRTY_LOG: the second still has bit 3",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect (manual_dirty_log_protect)", expect: .value(1 << 3)) { h in
            dirtyVM(h, manual: 1, code: stosbPage3) { vm, vcpu throws(KVMError) in
                _ = try vcpu.run(budget: .milliseconds(2000))
                _ = try vm.dirtyLog(slot: 1)
                return .bits(try vm.dirtyLog(slot: 1).first ?? 0)
            }
        },
        ABICheck("manual_dirty.clear_then_get", "manual protection: KVM_CLEAR_DIRTY_LOG of bit 3, then KVM_GET_DIRTY_LOG: 0",
                 cite: clearDirtySource, expect: .value(0)) { h in
            dirtyVM(h, manual: 1, code: stosbPage3) { vm, vcpu throws(KVMError) in
                _ = try vcpu.run(budget: .milliseconds(2000))
                try vm.clearDirtyLog(slot: 1, firstPage: 0, numPages: 16, bitmap: [1 << 3])
                return .bits(try vm.dirtyLog(slot: 1).first ?? 0)
            }
        },
        ABICheck("manual_dirty.clear_other_bit", "manual protection: clearing bit 4 leaves bit 3 (the page written)",
                 cite: clearDirtySource + " (atomic_long_fetch_andnot of the mask)", expect: .value(1 << 3)) { h in
            dirtyVM(h, manual: 1, code: stosbPage3) { vm, vcpu throws(KVMError) in
                _ = try vcpu.run(budget: .milliseconds(2000))
                try vm.clearDirtyLog(slot: 1, firstPage: 0, numPages: 16, bitmap: [1 << 4])
                return .bits(try vm.dirtyLog(slot: 1).first ?? 0)
            }
        },
        ABICheck("manual_dirty.logged_again_after_clear", "manual protection: write page 3, clear its bit, write it again: the bit is set again (KVM re-protected the page)",
                 cite: clearDirtySource + " (kvm_arch_mmu_enable_log_dirty_pt_masked)", expect: .value(1 << 3)) { h in
            dirtyVM(h, manual: 1, code: stosbPage3.dropLast() + [0xF4] + Array(stosbPage3.suffix(2))) { vm, vcpu throws(KVMError) in
                _ = try vcpu.run(budget: .milliseconds(2000))        // the first STOSB, then HLT
                try vm.clearDirtyLog(slot: 1, firstPage: 0, numPages: 16, bitmap: [1 << 3])
                _ = try vcpu.run(budget: .milliseconds(2000))        // the second STOSB, then HLT
                return .bits(try vm.dirtyLog(slot: 1).first ?? 0)
            }
        },
        ABICheck("manual_dirty.initially_set", "ENABLE | INITIALLY_SET, then a new logging slot of 16 pages: its bitmap is all set",
                 cite: "virt/kvm/kvm_main.c kvm_prepare_memory_region (kvm_dirty_log_manual_protect_and_init_set)", expect: .value(0xFFFF)) { h in
            dirtyVM(h, manual: 3) { vm, _ throws(KVMError) in .bits(try vm.dirtyLog(slot: 1).first ?? 0) }
        },
        ABICheck("manual_dirty.off_clears_on_get", "without manual protection: the second KVM_GET_DIRTY_LOG after a write is 0",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect", expect: .value(0)) { h in
            dirtyVM(h, manual: nil, code: stosbPage3) { vm, vcpu throws(KVMError) in
                _ = try vcpu.run(budget: .milliseconds(2000))
                _ = try vm.dirtyLog(slot: 1)
                return .bits(try vm.dirtyLog(slot: 1).first ?? 0)
            }
        },
    ]

    /// KVM_IRQ_LINE_STATUS on a VM with the irqchip and vCPU 0 (LAPIC software-enabled),
    /// after `setup`; `levels` are applied in order and the last status is the answer.
    static func lineStatus(_ h: any Hypervisor, gsi: UInt32, _ levels: [Bool],
                           setup: @escaping (any VirtualMachine) throws(KVMError) -> Void = { _ in }) -> ABIAnswer {
        withChip(h, lapicEnabled: true) { vm throws(KVMError) in
            try setup(vm)
            var status: Int32 = 0
            for l in levels { status = try vm.irqLineStatus(gsi, level: l) }
            return .value(Int(status))
        }
    }

    /// IOAPIC pin `pin` unmasked, edge, fixed, vector `vector`, physical destination 0.
    static func routePin(_ vm: any VirtualMachine, _ pin: Int, vector: UInt64) throws(KVMError) {
        guard var a = ioapic(try vm.irqchip(2)) else { return }
        a.redirection[pin] = vector
        try vm.setIRQChip(.ioapic(a))
    }

    static let lineStatusChecks: [ABICheck] = [
        ABICheck("irq_line_status.no_irqchip", "KVM_IRQ_LINE_STATUS without the in-kernel irqchip: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_irq_line", expect: .errno(Errno.ENXIO)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in _ = try vm.irqLineStatus(4, level: true) } }
        },
        ABICheck("irq_line_status.pic_only", "GSI 4 raised: the 8259 takes it (1), the masked IOAPIC pin does not (-1): 1",
                 cite: lineStatusSource + ", i8259.c pic_set_irq1, ioapic.c ioapic_service", expect: .value(1)) { lineStatus($0, gsi: 4, [true]) },
        ABICheck("irq_line_status.lowered", "GSI 4 lowered: 1 from each route, summed: 2",
                 cite: lineStatusSource + ", i8259.c pic_set_irq1, ioapic.c ioapic_set_irq", expect: .value(2)) { lineStatus($0, gsi: 4, [true, false]) },
        ABICheck("irq_line_status.pic_coalesced", "GSI 4 raised, lowered, raised before the guest took it: 0 (coalesced in the 8259's IRR)",
                 cite: "arch/x86/kvm/i8259.c pic_set_irq1", expect: .value(0)) { lineStatus($0, gsi: 4, [true, false, true]) },
        ABICheck("irq_line_status.held_high", "GSI 4 raised twice (no new edge): 1",
                 cite: "arch/x86/kvm/i8259.c pic_set_irq1 (last_irr set: ret stays 1)", expect: .value(1)) { lineStatus($0, gsi: 4, [true, true]) },
        ABICheck("irq_line_status.pic_masked", "GSI 4 with the 8259's IMR bit set and the IOAPIC pin masked: -1",
                 cite: "arch/x86/kvm/i8259.c pic_set_irq1 (imr & mask)", expect: .value(-1)) { h in
            lineStatus(h, gsi: 4, [true]) { vm throws(KVMError) in
                guard var p = pic(try vm.irqchip(0)) else { return }
                p.imr = 1 << 4
                try vm.setIRQChip(.picMaster(p))
            }
        },
        ABICheck("irq_line_status.no_route", "GSI 24 (no route in the default table): -1",
                 cite: lineStatusSource + " (kvm_irq_map_gsi finds nothing)", expect: .value(-1)) { lineStatus($0, gsi: 24, [true]) },
        ABICheck("irq_line_status.ioapic_masked", "GSI 16 (IOAPIC only), pin masked: -1",
                 cite: "arch/x86/kvm/ioapic.c ioapic_service", expect: .value(-1)) { lineStatus($0, gsi: 16, [true]) },
        ABICheck("irq_line_status.ioapic_delivered", "GSI 16 unmasked to APIC 0 (software-enabled): 1 LAPIC took it",
                 cite: "arch/x86/kvm/ioapic.c ioapic_service (kvm_irq_delivery_to_apic)", expect: .value(1)) { h in
            lineStatus(h, gsi: 16, [true]) { vm throws(KVMError) in try routePin(vm, 16, vector: 0x40) }
        },
        ABICheck("irq_line_status.ioapic_edge_again", "GSI 17 raised, lowered, raised: the IOAPIC delivers again (1)",
                 cite: "arch/x86/kvm/ioapic.c ioapic_set_irq (a new edge)", expect: .value(1)) { h in
            lineStatus(h, gsi: 17, [true, false, true]) { vm throws(KVMError) in try routePin(vm, 17, vector: 0x41) }
        },
        ABICheck("irq_line_status.rtc_coalesced", "GSI 8 (the RTC) raised, lowered, raised before the EOI: 0 from both routes",
                 cite: "arch/x86/kvm/ioapic.c rtc_irq_check_coalesced; i8259.c pic_set_irq1", expect: .value(0)) { h in
            lineStatus(h, gsi: 8, [true, false, true]) { vm throws(KVMError) in try routePin(vm, 8, vector: 0x42) }
        },
        ABICheck("irq_line_status.rtc_first", "GSI 8 (the RTC) raised once, pin unmasked: 8259 1 + IOAPIC 1 = 2",
                 cite: lineStatusSource + ", ioapic.c ioapic_service (rtc_status)", expect: .value(2)) { h in
            lineStatus(h, gsi: 8, [true]) { vm throws(KVMError) in try routePin(vm, 8, vector: 0x42) }
        },
    ]

    static let pmuFilterSource = "arch/x86/kvm/pmu.c kvm_vm_ioctl_set_pmu_event_filter"

    static func pmuFilter(_ h: any Hypervisor, _ f: PMUEventFilter) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in try vm.setPMUEventFilter(f) } }
    }

    static let attributeChecks: [ABICheck] = [
        ABICheck("pmu_filter.bad_action", "KVM_SET_PMU_EVENT_FILTER with action 2: EINVAL", cite: pmuFilterSource,
                 expect: .errno(Errno.EINVAL)) { pmuFilter($0, PMUEventFilter(action: 2)) },
        ABICheck("pmu_filter.flags", "KVM_SET_PMU_EVENT_FILTER with flags 2 (no flag is defined in 6.1): EINVAL", cite: pmuFilterSource,
                 expect: .errno(Errno.EINVAL)) { pmuFilter($0, PMUEventFilter(action: PMUEventFilter.deny, flags: 2)) },
        ABICheck("pmu_filter.too_many", "301 events (KVM_PMU_EVENT_FILTER_MAX_EVENTS + 1): E2BIG", cite: pmuFilterSource,
                 expect: .errno(Errno.E2BIG)) { pmuFilter($0, PMUEventFilter(action: PMUEventFilter.deny, events: Array(0..<301))) },
        ABICheck("pmu_filter.maximum", "300 events: 0", cite: pmuFilterSource,
                 expect: .ok) { pmuFilter($0, PMUEventFilter(action: PMUEventFilter.allow, events: Array(0..<300))) },
        ABICheck("pmu_filter.deny_two", "DENY of two events, fixed counter 0 bit: 0", cite: pmuFilterSource,
                 expect: .ok) { pmuFilter($0, PMUEventFilter(action: PMUEventFilter.deny, fixedCounterBitmap: 1, events: [0xC0, 0x3C])) },
        ABICheck("sys_attr.has_xcomp", "KVM_HAS_DEVICE_ATTR (system) group 0 KVM_X86_XCOMP_GUEST_SUPP: 0",
                 cite: "arch/x86/kvm/x86.c kvm_x86_dev_has_attr", expect: .ok) { h in
            Ask.call { () throws(KVMError) in try h.hasDeviceAttribute(.xcompGuestSupported) }
        },
        ABICheck("sys_attr.has_unknown", "KVM_HAS_DEVICE_ATTR (system) attribute 1: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_x86_dev_has_attr", expect: .errno(Errno.ENXIO)) { h in
            Ask.call { () throws(KVMError) in try h.hasDeviceAttribute(DeviceAttribute(group: 0, attribute: 1)) }
        },
        ABICheck("sys_attr.get_group", "KVM_GET_DEVICE_ATTR (system) group 1: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_x86_dev_get_attr", expect: .errno(Errno.ENXIO)) { h in
            Ask.call { () throws(KVMError) in _ = try h.deviceAttribute(DeviceAttribute(group: 1, attribute: 0)) }
        },
        ABICheck("sys_attr.xcomp_fp_sse", "KVM_X86_XCOMP_GUEST_SUPP includes x87 and SSE (bits 0 and 1)",
                 cite: "arch/x86/kvm/x86.c kvm_x86_dev_get_attr (kvm_caps.supported_xcr0)", expect: .value(3)) { h in
            do throws(KVMError) { return .bits(try h.deviceAttribute(.xcompGuestSupported) & 3) } catch { return .errno(error.errno) }
        },
        ABICheck("vcpu_attr.has_tsc_offset", "KVM_HAS_DEVICE_ATTR (vCPU) KVM_VCPU_TSC_CTRL / KVM_VCPU_TSC_OFFSET: 0",
                 cite: "arch/x86/kvm/x86.c kvm_arch_tsc_has_attr", expect: .ok) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in Ask.call { () throws(KVMError) in try vcpu.hasDeviceAttribute(.tscOffset) } }
        },
        ABICheck("vcpu_attr.has_unknown", "KVM_HAS_DEVICE_ATTR (vCPU) group 0 attribute 1: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_arch_tsc_has_attr", expect: .errno(Errno.ENXIO)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vcpu.hasDeviceAttribute(DeviceAttribute(group: 0, attribute: 1)) }
            }
        },
        ABICheck("vcpu_attr.bad_group", "KVM_GET_DEVICE_ATTR (vCPU) group 1: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_vcpu_ioctl_device_attr", expect: .errno(Errno.ENXIO)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in _ = try vcpu.deviceAttribute(DeviceAttribute(group: 1, attribute: 0)) }
            }
        },
        ABICheck("vcpu_attr.set_unknown", "KVM_SET_DEVICE_ATTR (vCPU) group 0 attribute 1: ENXIO",
                 cite: "arch/x86/kvm/x86.c kvm_arch_tsc_set_attr", expect: .errno(Errno.ENXIO)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                Ask.call { () throws(KVMError) in try vcpu.setDeviceAttribute(DeviceAttribute(group: 0, attribute: 1), value: 0) }
            }
        },
        ABICheck("vcpu_attr.tsc_offset_round_trip", "KVM_SET_DEVICE_ATTR TSC offset 123456789000H, then GET: the same",
                 cite: "arch/x86/kvm/x86.c kvm_arch_tsc_set_attr, kvm_arch_tsc_get_attr (l1_tsc_offset)", expect: .value(0x12_3456_7890_00)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                try vcpu.setDeviceAttribute(.tscOffset, value: 0x12_3456_7890_00)
                return .bits(try vcpu.deviceAttribute(.tscOffset))
            }
        },
        ABICheck("tsc_khz.vcpu_set_get", "KVM_SET_TSC_KHZ (vCPU) to twice the VM's rate, then KVM_GET_TSC_KHZ: that rate",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl (KVM_SET_TSC_KHZ), kvm_set_tsc_khz (virtual_tsc_khz)", expect: .value(2)) { h in
            Ask.withVCPU(h) { vm, vcpu, _ throws(KVMError) in
                let base = try vm.tscKHz()
                try vcpu.setTSCKHz(base * 2)
                return .value(Int(try vcpu.tscKHz() / max(base, 1)))
            }
        },
        ABICheck("tsc_khz.vcpu_zero", "KVM_SET_TSC_KHZ (vCPU) 0 after another rate: back to the host's (the VM's default)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl (KVM_SET_TSC_KHZ: 0 is tsc_khz)", expect: .value(1)) { h in
            Ask.withVCPU(h) { vm, vcpu, _ throws(KVMError) in
                let base = try vm.tscKHz()
                try vcpu.setTSCKHz(base * 2)
                try vcpu.setTSCKHz(0)
                return .value(try vcpu.tscKHz() == base ? 1 : 0)
            }
        },
        ABICheck("tsc_khz.vcpu_max", "KVM_SET_TSC_KHZ (vCPU) 0xffffffff: EINVAL exactly when the backend reports KVM_CAP_TSC_CONTROL (max_guest_tsc_khz); without TSC scaling a rate above the host's is accepted (tsc_catchup)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl (KVM_SET_TSC_KHZ, has_tsc_control), set_tsc_khz", expect: .value(1)) { h in
            Ask.withVCPU(h) { vm, vcpu, _ throws(KVMError) in
                let scaling = vm.checkExtension(.tscControl) != 0
                let refused = Ask.call { () throws(KVMError) in try vcpu.setTSCKHz(0xFFFF_FFFF) } == .errno(Errno.EINVAL)
                return .value(scaling == refused ? 1 : 0)
            }
        },
        ABICheck("tsc_khz.vm_new_vcpu", "KVM_SET_TSC_KHZ (VM) to twice its rate, then a new vCPU: KVM_GET_TSC_KHZ on it reads that rate",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (default_tsc_khz), kvm_arch_vcpu_create", expect: .value(2)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let base = try vm.tscKHz()
                try vm.setTSCKHz(base * 2)
                let v = try vm.createVCPU(id: 0)
                return .value(Int(try v.tscKHz() / max(base, 1)))
            }
        },
        ABICheck("tsc_khz.vm_existing_vcpu", "KVM_SET_TSC_KHZ (VM) after a vCPU exists: that vCPU keeps its rate, the VM reads the new one",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (KVM_SET_TSC_KHZ writes default_tsc_khz only)", expect: .value(0x12)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let base = try vm.tscKHz()
                let v = try vm.createVCPU(id: 0)
                try vm.setTSCKHz(base * 2)
                return .value(Int(try v.tscKHz() / max(base, 1)) << 4 | Int(try vm.tscKHz() / max(base, 1)))
            }
        },
        ABICheck("tsc_khz.vm_max", "KVM_SET_TSC_KHZ (VM) 0xffffffff: EINVAL exactly when the backend reports KVM_CAP_TSC_CONTROL",
                 cite: "arch/x86/kvm/x86.c kvm_arch_vm_ioctl (KVM_SET_TSC_KHZ, has_tsc_control)", expect: .value(1)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let scaling = vm.checkExtension(.tscControl) != 0
                let refused = Ask.call { () throws(KVMError) in try vm.setTSCKHz(0xFFFF_FFFF) } == .errno(Errno.EINVAL)
                return .value(scaling == refused ? 1 : 0)
            }
        },
        ABICheck("tsc_khz.vm_cap", "KVM_CHECK_EXTENSION(KVM_CAP_VM_TSC_CONTROL) equals KVM_CAP_TSC_CONTROL (both has_tsc_control)",
                 cite: "arch/x86/kvm/x86.c kvm_vm_ioctl_check_extension", expect: .value(1)) { h in
            Ask.withVM(h) { vm in .value(vm.checkExtension(.vmTscControl) == vm.checkExtension(.tscControl) ? 1 : 0) }
        },
        ABICheck("vcpu_attr.tsc_offset_moves_tsc", "raising the TSC offset by 2^40 raises IA32_TSC by 2^40 (the difference >> 36 is 16)",
                 cite: "arch/x86/kvm/x86.c kvm_arch_tsc_set_attr, kvm_get_msr_common (MSR_IA32_TSC: host TSC + l1_tsc_offset)",
                 expect: .value(16)) { h in
            Ask.withVCPU(h) { _, vcpu, _ throws(KVMError) in
                let base = try vcpu.deviceAttribute(.tscOffset)
                let t1 = try vcpu.msrs([0x10]).first?.data ?? 0
                try vcpu.setDeviceAttribute(.tscOffset, value: base &+ (1 << 40))
                let t2 = try vcpu.msrs([0x10]).first?.data ?? 0
                return .bits((t2 &- t1) >> 36)
            }
        },
    ]
}
