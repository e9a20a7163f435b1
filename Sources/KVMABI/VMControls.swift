// Arguments of the ioctls that switch KVM behaviour on or configure it rather than carry
// guest state: KVM_ENABLE_CAP, KVM_X86_SET_MSR_FILTER, KVM_CLEAR_DIRTY_LOG,
// KVM_SET_PMU_EVENT_FILTER and the device attributes (linux/kvm.h, 6.1 uapi).

/// `struct kvm_enable_cap` (KVM_ENABLE_CAP on the VM or the vCPU fd). `flags` must be 0.
public struct EnableCap: Equatable, Sendable {
    public var capability: Capability
    public var flags: UInt32
    /// Four 64-bit arguments; missing ones are 0.
    public var args: [UInt64]
    public init(_ capability: Capability, flags: UInt32 = 0, args: [UInt64] = []) {
        self.capability = capability; self.flags = flags
        self.args = Array((args + [0, 0, 0, 0]).prefix(4))
    }
}

/// KVM_CAP_X86_USER_SPACE_MSR's argument bits and `kvm_run.msr.reason`: why an MSR access
/// went to userspace (KVM_MSR_EXIT_REASON_*).
public enum MSRExitReason {
    /// The MSR exists but the access is invalid (a reserved value, a guest-CPUID rule).
    public static let inval: UInt32 = 1
    /// KVM does not know the MSR (KVM_MSR_RET_UNSUPPORTED).
    public static let unknown: UInt32 = 2
    /// The MSR filter denied the access.
    public static let filter: UInt32 = 4
}

/// `struct kvm_msr_filter` (KVM_X86_SET_MSR_FILTER): up to 16 ranges, each with a bitmap
/// of allowed MSRs (bit set = allowed) for reads, writes or both; the first range that
/// covers an MSR for the access type decides, otherwise the default.
public struct MSRFilter: Equatable, Sendable {
    public struct Range: Equatable, Sendable {
        /// KVM_MSR_FILTER_READ (1) | KVM_MSR_FILTER_WRITE (2).
        public var flags: UInt32
        public var base: UInt32
        public var nmsrs: UInt32
        /// ceil(nmsrs / 64) * 8 bytes are read by KVM; shorter bitmaps are padded with 0.
        public var bitmap: [UInt8]
        public init(flags: UInt32, base: UInt32, nmsrs: UInt32, bitmap: [UInt8]) {
            self.flags = flags; self.base = base; self.nmsrs = nmsrs; self.bitmap = bitmap
        }
        /// Bytes of bitmap KVM copies: BITS_TO_LONGS(nmsrs) longs.
        public var kernelBitmapBytes: Int { Int((UInt64(nmsrs) + 63) / 64) * 8 }
        /// The bitmap as KVM copies it, padded with 0 (only for sizes KVM accepts: at most
        /// `MSRFilter.maximumBitmapBytes`; a larger range yields the caller's bytes as they are).
        public var kernelBitmap: [UInt8] {
            let n = kernelBitmapBytes
            guard n <= MSRFilter.maximumBitmapBytes else { return bitmap }
            return Array((bitmap + [UInt8](repeating: 0, count: max(0, n - bitmap.count))).prefix(n))
        }
    }
    public static let read: UInt32 = 1, write: UInt32 = 2
    /// KVM_MSR_FILTER_DEFAULT_DENY: MSRs no range covers are denied.
    public static let defaultDeny: UInt32 = 1
    /// KVM_MSR_FILTER_MAX_RANGES.
    public static let maximumRanges = 16
    /// KVM_MSR_FILTER_MAX_BITMAP_SIZE: bytes of one range's bitmap.
    public static let maximumBitmapBytes = 0x600

    public var flags: UInt32
    /// At most `maximumRanges`; ranges with nmsrs 0 are ignored.
    public var ranges: [Range]
    public init(flags: UInt32 = 0, ranges: [Range] = []) { self.flags = flags; self.ranges = ranges }
}

/// `struct kvm_pmu_event_filter` (KVM_SET_PMU_EVENT_FILTER).
public struct PMUEventFilter: Equatable, Sendable {
    /// KVM_PMU_EVENT_ALLOW (0) or KVM_PMU_EVENT_DENY (1).
    public var action: UInt32
    public var fixedCounterBitmap: UInt32
    public var flags: UInt32
    public var events: [UInt64]
    public static let allow: UInt32 = 0, deny: UInt32 = 1
    /// KVM_PMU_EVENT_FILTER_MAX_EVENTS.
    public static let maximumEvents = 300
    public init(action: UInt32, fixedCounterBitmap: UInt32 = 0, flags: UInt32 = 0, events: [UInt64] = []) {
        self.action = action; self.fixedCounterBitmap = fixedCounterBitmap; self.flags = flags; self.events = events
    }
}

/// `struct kvm_device_attr` without its user pointer: the group and attribute of
/// KVM_HAS/GET/SET_DEVICE_ATTR; the 64-bit value travels beside it.
public struct DeviceAttribute: Equatable, Sendable {
    public var flags: UInt32
    public var group: UInt32
    public var attribute: UInt64
    public init(group: UInt32, attribute: UInt64, flags: UInt32 = 0) {
        self.group = group; self.attribute = attribute; self.flags = flags
    }
    /// System fd, group 0: KVM_X86_XCOMP_GUEST_SUPP, the XCR0 bits a guest may be given.
    public static let xcompGuestSupported = DeviceAttribute(group: 0, attribute: 0)
    /// vCPU fd, group KVM_VCPU_TSC_CTRL (0): KVM_VCPU_TSC_OFFSET, the L1 TSC offset.
    public static let tscOffset = DeviceAttribute(group: 0, attribute: 0)
}

/// `struct kvm_x86_mce` (KVM_X86_SET_MCE): a machine-check event for one bank.
public struct MachineCheckEvent: Equatable, Sendable {
    /// IA32_MCi_STATUS (VAL, bit 63, must be set; UC bit 61, PCC 57, S 56, AR 55).
    public var status: UInt64
    public var addr: UInt64
    public var misc: UInt64
    /// IA32_MCG_STATUS the event sets (RIPV 0, EIPV 1, MCIP 2).
    public var mcgStatus: UInt64
    public var bank: UInt8
    public init(bank: UInt8, status: UInt64, addr: UInt64 = 0, misc: UInt64 = 0, mcgStatus: UInt64 = 0) {
        self.bank = bank; self.status = status; self.addr = addr; self.misc = misc; self.mcgStatus = mcgStatus
    }
}

/// `struct kvm_ioeventfd` (KVM_IOEVENTFD): an eventfd KVM signals, instead of exiting to
/// userspace, when the guest writes `length` bytes (0: any length) at `address` on the PIO
/// or MMIO bus, optionally only for one value (DATAMATCH).
public struct IOEventFD: Equatable, Sendable {
    public static let datamatch: UInt32 = 1, pio: UInt32 = 2, deassign: UInt32 = 4
    public var address: UInt64
    public var length: UInt32
    public var fd: Int32
    public var flags: UInt32
    public var datamatchValue: UInt64
    public init(address: UInt64, length: UInt32, fd: Int32, flags: UInt32 = 0, datamatchValue: UInt64 = 0) {
        self.address = address; self.length = length; self.fd = fd; self.flags = flags; self.datamatchValue = datamatchValue
    }
}

/// `struct kvm_irqfd` (KVM_IRQFD): an eventfd whose signal raises `gsi`; with RESAMPLE the
/// line stays high until the guest acknowledges it, which signals `resampleFD`.
public struct IRQFD: Equatable, Sendable {
    public static let deassign: UInt32 = 1, resample: UInt32 = 2
    public var fd: Int32
    public var gsi: UInt32
    public var flags: UInt32
    public var resampleFD: Int32
    public init(fd: Int32, gsi: UInt32, flags: UInt32 = 0, resampleFD: Int32 = 0) {
        self.fd = fd; self.gsi = gsi; self.flags = flags; self.resampleFD = resampleFD
    }
}

/// One `struct kvm_irq_routing_entry` of KVM_SET_GSI_ROUTING: where a GSI's level goes.
public struct GSIRoute: Equatable, Sendable {
    /// KVM_IRQ_ROUTING_* and the union's member.
    public enum Target: Equatable, Sendable {
        /// KVM_IRQ_ROUTING_IRQCHIP (1): `chip` KVM_IRQCHIP_PIC_MASTER 0, PIC_SLAVE 1, IOAPIC 2.
        case irqchip(chip: UInt32, pin: UInt32)
        /// KVM_IRQ_ROUTING_MSI (2): address_hi:address_lo, data, devid (with KVM_MSI_VALID_DEVID).
        case msi(address: UInt64, data: UInt32, devid: UInt32)
        /// Any other type (Hyper-V SINT 3, Xen event channel 4, or none), its union zero.
        case other(type: UInt32)
    }
    public static let picMaster: UInt32 = 0, picSlave: UInt32 = 1, ioapic: UInt32 = 2
    /// KVM_MSI_VALID_DEVID, the only flag an MSI route may carry.
    public static let msiValidDevID: UInt32 = 1
    /// KVM_MAX_IRQ_ROUTES: GSIs are below it, and a table has at most that many entries.
    public static let maximumRoutes = 4096
    public var gsi: UInt32
    public var flags: UInt32
    public var target: Target
    public init(gsi: UInt32, flags: UInt32 = 0, _ target: Target) { self.gsi = gsi; self.flags = flags; self.target = target }
}

/// `struct kvm_coalesced_mmio_zone` (KVM_REGISTER/UNREGISTER_COALESCED_MMIO): guest writes
/// inside it go to a ring instead of exiting (`pio` 1: the PIO bus).
public struct CoalescedMMIOZone: Equatable, Sendable {
    public var address: UInt64
    public var size: UInt32
    public var pio: UInt32
    public init(address: UInt64, size: UInt32, pio: UInt32 = 0) { self.address = address; self.size = size; self.pio = pio }
}

/// One `struct kvm_coalesced_mmio` of the ring: a write KVM batched.
public struct CoalescedMMIOEntry: Equatable, Sendable {
    public var physicalAddress: UInt64
    public var length: UInt32
    public var pio: UInt32
    /// `length` bytes (at most 8).
    public var data: [UInt8]
    public init(physicalAddress: UInt64, length: UInt32, pio: UInt32, data: [UInt8]) {
        self.physicalAddress = physicalAddress; self.length = length; self.pio = pio; self.data = data
    }
    /// KVM_COALESCED_MMIO_MAX with 4 KiB pages: (4096 - 8) / 24.
    public static let ringEntries = 170
}
