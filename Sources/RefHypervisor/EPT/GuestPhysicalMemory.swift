import KVMABI

/// The guest-physical address space as EPT sees it: built from the memory slots.
/// A GPA inside a slot is RAM (read-only for KVM_MEM_READONLY slots: a write is an EPT
/// violation that KVM emulates as MMIO); any other GPA has no EPT mapping, so the first
/// access is an EPT violation and later ones hit KVM's MMIO SPTE (an EPT misconfiguration).
final class GuestPhysicalMemory {
    struct Slot {
        var id: UInt32          // as_id << 16 | slot
        var gpa: UInt64
        var size: UInt64
        var userspaceAddress: UInt64
        var flags: MemoryRegion.Flags
        /// Host pointer of the slot's first byte, nil if the userspace address is not memory
        /// this VM allocated (KVM_RUN then fails with EFAULT when the guest touches it).
        var host: UnsafeMutableRawPointer?
        /// One bit per page when KVM_MEM_LOG_DIRTY_PAGES is set.
        var dirty: [UInt64]?
    }

    /// x86 KVM_USER_MEM_SLOTS since Linux 5.15 (KVM_MEM_SLOTS_NUM = SHRT_MAX minus 3 private slots).
    static let userMemSlots: UInt32 = 32764
    /// KVM_ADDRESS_SPACE_NUM on x86 (normal + SMM).
    static let addressSpaces: UInt32 = 2

    private(set) var slots: [Slot] = []
    /// Bumped on every change; translation caches compare it.
    private(set) var generation: UInt64 = 0
    /// GPA pages for which KVM has installed an MMIO SPTE (EPT misconfiguration on access).
    var mmioSPTE: Set<UInt64> = []
    /// GPA pages with a present EPT entry (populated on first access: pf_fixed).
    var populated: Set<UInt64> = []
    /// Backing allocations: host address range -> pointer.
    var allocations: [GuestMemory] = []
    /// KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 (kvm->manual_dirty_log_protect): bit 0 makes
    /// KVM_GET_DIRTY_LOG leave the bits (KVM_CLEAR_DIRTY_LOG clears them), bit 1
    /// (KVM_DIRTY_LOG_INITIALLY_SET) starts a new bitmap with every page set.
    var manualDirtyLogProtect: UInt64 = 0

    /// kvm_prepare_memory_region: a new dirty bitmap, all set with KVM_DIRTY_LOG_INITIALLY_SET.
    private func newDirtyBitmap(bytes: UInt64) -> [UInt64] {
        let pages = Int(bytes >> 12)
        var b = [UInt64](repeating: 0, count: (pages + 63) / 64)
        if manualDirtyLogProtect & 2 != 0 {
            for p in 0..<pages { b[p >> 6] |= 1 << UInt64(p & 63) }
        }
        return b
    }

    /// KVM_SET_USER_MEMORY_REGION with __kvm_set_memory_region's checks, in its order.
    func setRegion(_ r: MemoryRegion) throws(KVMError) {
        let op = "KVM_SET_USER_MEMORY_REGION"
        func fail(_ e: Int32) -> KVMError { KVMError(errno: e, operation: op) }
        // check_memory_region_flags: x86 accepts LOG_DIRTY_PAGES | READONLY.
        if r.flags.rawValue & ~UInt32(0x3) != 0 { throw fail(Errno.EINVAL) }
        // kvm_vm_ioctl_set_memory_region: (u16)slot >= KVM_USER_MEM_SLOTS.
        if (r.slot & 0xFFFF) >= Self.userMemSlots { throw fail(Errno.EINVAL) }
        let page: UInt64 = 4096
        if r.memorySize & (page - 1) != 0 { throw fail(Errno.EINVAL) }
        if r.guestPhysicalAddress & (page - 1) != 0 { throw fail(Errno.EINVAL) }
        // userspace_addr must be page aligned and a user address (access_ok).
        if r.userspaceAddress & (page - 1) != 0 { throw fail(Errno.EINVAL) }
        let userTop: UInt64 = 0x0000_7FFF_FFFF_F000
        if r.userspaceAddress > userTop || r.memorySize > userTop - r.userspaceAddress { throw fail(Errno.EINVAL) }
        if (r.slot >> 16) >= Self.addressSpaces { throw fail(Errno.EINVAL) }
        if r.guestPhysicalAddress &+ r.memorySize < r.guestPhysicalAddress { throw fail(Errno.EINVAL) }
        // KVM_MEM_MAX_NR_PAGES = 2^31 - 1 pages.
        if (r.memorySize >> 12) > 0x7FFF_FFFF { throw fail(Errno.EINVAL) }

        let oldIndex = slots.firstIndex { $0.id == r.slot }
        if r.memorySize == 0 {
            guard let i = oldIndex else { throw fail(Errno.EINVAL) }
            slots.remove(at: i)
            populated.removeAll(keepingCapacity: true)
            changed()
            return
        }
        var move = false
        if let i = oldIndex {
            let old = slots[i]
            if r.userspaceAddress != old.userspaceAddress || r.memorySize != old.size
                || (r.flags.rawValue ^ old.flags.rawValue) & MemoryRegion.Flags.readOnly.rawValue != 0 {
                throw fail(Errno.EINVAL)
            }
            if r.guestPhysicalAddress != old.gpa { move = true }
            else if r.flags != old.flags {
                // KVM_MR_FLAGS_ONLY: a new (empty) dirty bitmap when logging is switched on.
                slots[i].flags = r.flags
                slots[i].dirty = r.flags.contains(.logDirtyPages) ? (old.dirty ?? newDirtyBitmap(bytes: r.memorySize)) : nil
                changed()
                return
            } else { return }
        }
        // kvm_check_memslot_overlap, same address space only, ignoring the slot itself.
        let asID = r.slot >> 16
        let start = r.guestPhysicalAddress, end = r.guestPhysicalAddress + r.memorySize
        for s in slots where s.id != r.slot && (s.id >> 16) == asID {
            if start < s.gpa + s.size && s.gpa < end { throw fail(Errno.EEXIST) }
        }
        var s = Slot(id: r.slot, gpa: r.guestPhysicalAddress, size: r.memorySize,
                     userspaceAddress: r.userspaceAddress, flags: r.flags, host: hostPointer(r.userspaceAddress, r.memorySize),
                     dirty: nil)
        if r.flags.contains(.logDirtyPages) {
            // kvm_prepare_memory_region: logging in both old and new reuses the old bitmap
            // (a KVM_MR_MOVE keeps the bits of writes made before it); otherwise a new one.
            let old = move ? oldIndex.flatMap { slots[$0].dirty } : nil
            s.dirty = old ?? newDirtyBitmap(bytes: r.memorySize)
        }
        if move, let i = oldIndex { slots.remove(at: i); populated.removeAll(keepingCapacity: true) }
        slots.append(s)
        slots.sort { $0.gpa < $1.gpa }
        changed()
    }

    /// VM teardown: no slot may keep pointing at released host memory.
    func removeAllSlots() {
        slots.removeAll()
        populated.removeAll()
        changed()
    }

    private func changed() {
        generation &+= 1
        // Changing memslots zaps every SPTE, MMIO ones included (new generation).
        mmioSPTE.removeAll(keepingCapacity: true)
    }

    private func hostPointer(_ uaddr: UInt64, _ size: UInt64) -> UnsafeMutableRawPointer? {
        for a in allocations {
            let base = a.hostAddress
            if uaddr >= base && uaddr - base <= UInt64(a.size) && size <= UInt64(a.size) - (uaddr - base) {
                return a.pointer + Int(uaddr - base)
            }
        }
        return nil
    }

    /// KVM_GET_DIRTY_LOG: returns and clears the slot's bitmap.
    func takeDirtyLog(slot: UInt32) throws(KVMError) -> [UInt64] {
        let op = "KVM_GET_DIRTY_LOG"
        if (slot >> 16) >= Self.addressSpaces || (slot & 0xFFFF) >= Self.userMemSlots {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        guard let i = slots.firstIndex(where: { $0.id == slot }), let bits = slots[i].dirty else {
            throw KVMError(errno: Errno.ENOENT, operation: op)
        }
        // kvm_get_dirty_log_protect: with manual protection the bitmap is only copied.
        if manualDirtyLogProtect & 1 != 0 { return bits }
        slots[i].dirty = Array(repeating: 0, count: bits.count)
        // KVM write-protects the pages again, so later writes are logged again.
        generation &+= 1
        return bits
    }

    /// KVM_CLEAR_DIRTY_LOG with kvm_clear_dirty_log_protect's checks, in its order.
    func clearDirtyLog(slot: UInt32, firstPage: UInt64, numPages: UInt32, bitmap: [UInt64]) throws(KVMError) {
        let op = "KVM_CLEAR_DIRTY_LOG"
        if (slot >> 16) >= Self.addressSpaces || (slot & 0xFFFF) >= Self.userMemSlots {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        if firstPage & 63 != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        guard let i = slots.firstIndex(where: { $0.id == slot }), slots[i].dirty != nil else {
            throw KVMError(errno: Errno.ENOENT, operation: op)
        }
        let npages = slots[i].size >> 12, n = UInt64(numPages)
        // The range must lie in the slot and be whole 64-page words unless it reaches the end.
        if firstPage > npages || n > npages - firstPage || (n < npages - firstPage && n & 63 != 0) {
            throw KVMError(errno: Errno.EINVAL, operation: op)
        }
        var cleared = false
        let words = Int((n + 63) / 64), first = Int(firstPage / 64)
        for w in 0..<words {
            let mask = w < bitmap.count ? bitmap[w] : 0
            let had = slots[i].dirty![first + w]
            // Bits past the slot's end are never set in the slot's bitmap, so clearing
            // them changes nothing (the comment in kvm_clear_dirty_log_protect).
            if had & mask != 0 { cleared = true }
            slots[i].dirty![first + w] = had & ~mask
        }
        // kvm_arch_mmu_enable_log_dirty_pt_masked: the cleared pages are write-protected again.
        if cleared { generation &+= 1 }
    }

    // MARK: translation

    /// Result of an EPT walk for one GPA.
    enum Lookup {
        case ram(UnsafeMutableRawPointer, slotIndex: Int, readOnly: Bool)
        /// Slot exists but its userspace memory is not mapped (KVM: -EFAULT from KVM_RUN).
        case badHost
        /// No slot (address space 0).
        case none
    }

    // Slots are few, so a linear scan of the sorted list is cheap; the CPU's software TLB
    // caches the results (keyed by `generation`).

    @inline(__always)
    func lookup(_ gpa: UInt64) -> Lookup {
        for i in slots.indices {
            let s = slots[i]
            if (s.id >> 16) != 0 { continue }
            if gpa >= s.gpa && gpa - s.gpa < s.size {
                guard let h = s.host else { return .badHost }
                return .ram(h + Int(gpa - s.gpa), slotIndex: i, readOnly: s.flags.contains(.readOnly))
            }
        }
        return .none
    }

    /// Marks the page of `gpa` dirty in slot `i` if it logs dirty pages.
    @inline(__always)
    func markDirty(slotIndex i: Int, gpa: UInt64) {
        if slots[i].dirty != nil {
            let page = Int((gpa - slots[i].gpa) >> 12)
            slots[i].dirty![page >> 6] |= 1 << UInt64(page & 63)
        }
    }

    func slotLogsDirty(_ i: Int) -> Bool { slots[i].dirty != nil }
}
