/// A guest memory slot (`struct kvm_userspace_memory_region`).
///
/// `userspaceAddress` is the host virtual address of the backing memory; a backend allocates
/// it with `VirtualMachine.allocateGuestMemory(size:)` so that both backends can own it.
public struct MemoryRegion: Equatable, Sendable {
    public var slot: UInt32
    public var flags: Flags
    public var guestPhysicalAddress: UInt64
    /// 0 deletes the slot.
    public var memorySize: UInt64
    public var userspaceAddress: UInt64

    public init(slot: UInt32, flags: Flags = [], guestPhysicalAddress: UInt64, memorySize: UInt64, userspaceAddress: UInt64) {
        self.slot = slot; self.flags = flags; self.guestPhysicalAddress = guestPhysicalAddress
        self.memorySize = memorySize; self.userspaceAddress = userspaceAddress
    }

    public struct Flags: OptionSet, Equatable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// KVM_MEM_LOG_DIRTY_PAGES
        public static let logDirtyPages = Flags(rawValue: 1 << 0)
        /// KVM_MEM_READONLY: guest writes exit as KVM_EXIT_MMIO.
        public static let readOnly = Flags(rawValue: 1 << 1)
    }
}
