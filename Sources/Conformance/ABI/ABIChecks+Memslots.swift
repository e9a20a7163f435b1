import KVMABI

// KVM_SET_USER_MEMORY_REGION and KVM_GET_DIRTY_LOG: Linux 6.1 virt/kvm/kvm_main.c
// kvm_vm_ioctl_set_memory_region, __kvm_set_memory_region, check_memory_region_flags,
// kvm_get_dirty_log_protect (x86 selects CONFIG_KVM_GENERIC_DIRTYLOG_READ_PROTECT).

extension ABICatalogue {
    static let setRegion = "virt/kvm/kvm_main.c __kvm_set_memory_region"

    /// Sets `regions` in order on a fresh VM (each backed by its own host memory unless
    /// `userspaceAddress` is given as nonzero); the answer is that of the last one.
    static func regions(_ h: any Hypervisor, _ regions: [(slot: UInt32, flags: MemoryRegion.Flags, gpa: UInt64, size: UInt64)],
                        sameBacking: Bool = false, addressOffset: UInt64 = 0) -> ABIAnswer {
        Ask.withVM(h) { vm throws(KVMError) in
            var answer = ABIAnswer.ok
            let shared: GuestMemory? = sameBacking ? try vm.allocateGuestMemory(size: 0x10000) : nil
            for (i, r) in regions.enumerated() {
                let host: GuestMemory
                if let shared { host = shared } else { host = try vm.allocateGuestMemory(size: Int((max(r.size, 0x1000) + 0xFFF) & ~0xFFF)) }
                let region = MemoryRegion(slot: r.slot, flags: r.flags, guestPhysicalAddress: r.gpa, memorySize: r.size,
                                          userspaceAddress: host.hostAddress + (i == regions.count - 1 ? addressOffset : 0))
                answer = Ask.call { () throws(KVMError) in try vm.setUserMemoryRegion(region) }
                if i < regions.count - 1, answer != .ok { return .setupFailed("region \(i): \(answer)") }
            }
            return answer
        }
    }

    static let memslotChecks: [ABICheck] = [
        ABICheck("memslot.create", "a 64 KiB slot at GPA 0", cite: setRegion, expect: .ok) {
            regions($0, [(0, [], 0, 0x10000)])
        },
        ABICheck("memslot.unknown_flag", "flags bit 2 (not LOG_DIRTY_PAGES or READONLY): EINVAL",
                 cite: "virt/kvm/kvm_main.c check_memory_region_flags", expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, MemoryRegion.Flags(rawValue: 1 << 2), 0, 0x10000)])
        },
        ABICheck("memslot.high_flag", "flags bit 31: EINVAL",
                 cite: "virt/kvm/kvm_main.c check_memory_region_flags", expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, MemoryRegion.Flags(rawValue: 1 << 31), 0, 0x10000)])
        },
        ABICheck("memslot.readonly", "KVM_MEM_READONLY is a valid flag on x86 (__KVM_HAVE_READONLY_MEM)",
                 cite: "virt/kvm/kvm_main.c check_memory_region_flags", expect: .ok) {
            regions($0, [(0, .readOnly, 0, 0x10000)])
        },
        ABICheck("memslot.readonly_and_logging", "KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES together are valid flags",
                 cite: "virt/kvm/kvm_main.c check_memory_region_flags", expect: .ok) {
            regions($0, [(0, [.readOnly, .logDirtyPages], 0, 0x10000)])
        },
        ABICheck("memslot.size_not_page_multiple", "memory_size 0x10800: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0, 0x10800)])
        },
        ABICheck("memslot.size_one_byte", "memory_size 1: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0, 1)])
        },
        ABICheck("memslot.misaligned_gpa", "guest_phys_addr 0x800: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0x800, 0x10000)])
        },
        ABICheck("memslot.misaligned_gpa_high", "guest_phys_addr 0x1_0000_0001: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0x1_0000_0001, 0x10000)])
        },
        ABICheck("memslot.misaligned_hva", "userspace_addr not page aligned: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0, 0x1000)], addressOffset: 8)
        },
        ABICheck("memslot.address_space_2", "slot 0x20000 (address space 2; x86 has KVM_ADDRESS_SPACE_NUM 2): EINVAL",
                 cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0x2_0000, [], 0, 0x10000)])
        },
        ABICheck("memslot.address_space_1", "slot 0x10000 (address space 1, SMM) over the GPA of slot 0 is accepted exactly when KVM_CAP_MULTI_ADDRESS_SPACE >= 2 (no overlap across spaces), else EINVAL",
                 cite: setRegion, expect: .value(1)) { h in
            let answer = regions(h, [(0, [], 0, 0x10000), (0x1_0000, [], 0, 0x10000)])
            let spaces = h.checkExtension(.multiAddressSpace)
            return .value((spaces >= 2 && answer == .ok) || (spaces < 2 && answer == .errno(Errno.EINVAL)) ? 1 : 0)
        },
        ABICheck("memslot.address_space_beyond", "slot in address space KVM_CAP_MULTI_ADDRESS_SPACE (one past the last): EINVAL",
                 cite: setRegion, expect: .errno(Errno.EINVAL)) { h in
            regions(h, [(UInt32(max(1, h.checkExtension(.multiAddressSpace))) << 16, [], 0, 0x10000)])
        },
        ABICheck("memslot.slot_id_limit", "slot id = KVM_CAP_NR_MEMSLOTS: EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_set_memory_region", expect: .errno(Errno.EINVAL)) { h in
            regions(h, [(UInt32(max(0, h.checkExtension(.nrMemslots))), [], 0, 0x10000)])
        },
        ABICheck("memslot.slot_id_last", "slot id = KVM_CAP_NR_MEMSLOTS - 1 is usable",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_set_memory_region", expect: .ok) { h in
            regions(h, [(UInt32(max(1, h.checkExtension(.nrMemslots)) - 1), [], 0, 0x10000)])
        },
        ABICheck("memslot.slot_id_low16", "slot 0xFFFF in address space 0 (id >= KVM_USER_MEM_SLOTS): EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_vm_ioctl_set_memory_region", expect: .errno(Errno.EINVAL)) {
            regions($0, [(0xFFFF, [], 0, 0x10000)])
        },
        ABICheck("memslot.gpa_wraps", "guest_phys_addr + memory_size wraps past 2^64: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0xFFFF_FFFF_FFFF_F000, 0x2000)])
        },
        ABICheck("memslot.too_many_pages", "2^31 pages (KVM_MEM_MAX_NR_PAGES is 2^31 - 1): EINVAL", cite: setRegion,
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let m = try vm.allocateGuestMemory(size: 0x1000)
                return Ask.call { () throws(KVMError) in
                    try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 1 << 43,
                                                            userspaceAddress: m.hostAddress))
                }
            }
        },
        ABICheck("memslot.delete_absent", "deleting (size 0) a slot that does not exist: EINVAL", cite: setRegion,
                 expect: .errno(Errno.EINVAL)) {
            regions($0, [(3, [], 0, 0)])
        },
        ABICheck("memslot.delete", "deleting an existing slot", cite: setRegion, expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let m = try vm.allocateGuestMemory(size: 0x10000)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: m.hostAddress))
                return Ask.call { () throws(KVMError) in
                    try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: m.hostAddress))
                }
            }
        },
        ABICheck("memslot.delete_twice", "deleting the same slot twice: the second is EINVAL", cite: setRegion,
                 expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let m = try vm.allocateGuestMemory(size: 0x10000)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: m.hostAddress))
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: m.hostAddress))
                return Ask.call { () throws(KVMError) in
                    try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: m.hostAddress))
                }
            }
        },
        ABICheck("memslot.recreate_after_delete", "a deleted slot id can be created again elsewhere", cite: setRegion, expect: .ok) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let m = try vm.allocateGuestMemory(size: 0x10000)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: m.hostAddress))
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: m.hostAddress))
                return Ask.call { () throws(KVMError) in
                    try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0x20000, memorySize: 0x8000, userspaceAddress: m.hostAddress))
                }
            }
        },
        ABICheck("memslot.overlap", "a second slot overlapping the first by one page: EEXIST",
                 cite: "virt/kvm/kvm_main.c __kvm_set_memory_region (kvm_check_memslot_overlap)", expect: .errno(Errno.EEXIST)) {
            regions($0, [(0, [], 0, 0x10000), (1, [], 0xF000, 0x10000)])
        },
        ABICheck("memslot.overlap_inside", "a second slot inside the first: EEXIST",
                 cite: "virt/kvm/kvm_main.c __kvm_set_memory_region (kvm_check_memslot_overlap)", expect: .errno(Errno.EEXIST)) {
            regions($0, [(0, [], 0, 0x10000), (1, [], 0x4000, 0x1000)])
        },
        ABICheck("memslot.adjacent", "a second slot starting where the first ends does not overlap",
                 cite: "virt/kvm/kvm_main.c kvm_check_memslot_overlap", expect: .ok) {
            regions($0, [(0, [], 0, 0x10000), (1, [], 0x10000, 0x10000)])
        },
        ABICheck("memslot.same_again", "setting an existing slot again unchanged: nothing to change, success", cite: setRegion, expect: .ok) {
            regions($0, [(0, [], 0, 0x10000), (0, [], 0, 0x10000)], sameBacking: true)
        },
        ABICheck("memslot.resize", "changing an existing slot's size: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0, 0x10000), (0, [], 0, 0x8000)], sameBacking: true)
        },
        ABICheck("memslot.new_hva", "changing an existing slot's userspace_addr: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0, 0x10000), (0, [], 0, 0x10000)])
        },
        ABICheck("memslot.toggle_readonly", "changing an existing slot's READONLY flag: EINVAL", cite: setRegion, expect: .errno(Errno.EINVAL)) {
            regions($0, [(0, [], 0, 0x10000), (0, .readOnly, 0, 0x10000)], sameBacking: true)
        },
        ABICheck("memslot.toggle_logging", "switching dirty logging on for an existing slot (KVM_MR_FLAGS_ONLY)", cite: setRegion, expect: .ok) {
            regions($0, [(0, [], 0, 0x10000), (0, .logDirtyPages, 0, 0x10000)], sameBacking: true)
        },
        ABICheck("memslot.move", "moving an existing slot to a free GPA (KVM_MR_MOVE)", cite: setRegion, expect: .ok) {
            regions($0, [(0, [], 0, 0x10000), (0, [], 0x10_0000, 0x10000)], sameBacking: true)
        },
        ABICheck("memslot.move_onto_other", "moving a slot onto another slot: EEXIST", cite: setRegion, expect: .errno(Errno.EEXIST)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let a = try vm.allocateGuestMemory(size: 0x10000), b = try vm.allocateGuestMemory(size: 0x10000)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: a.hostAddress))
                try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0x20000, memorySize: 0x10000, userspaceAddress: b.hostAddress))
                return Ask.call { () throws(KVMError) in
                    try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0x8000, memorySize: 0x10000, userspaceAddress: b.hostAddress))
                }
            }
        },
        ABICheck("memslot.shared_backing", "two slots backed by the same host memory at different GPAs",
                 cite: setRegion, expect: .ok) {
            regions($0, [(0, [], 0, 0x10000), (1, [], 0x10_0000, 0x10000)], sameBacking: true)
        },
        ABICheck("memslot.above_4g", "a slot above 4 GiB (GPA 0x1_0000_0000)", cite: setRegion, expect: .ok) {
            regions($0, [(0, [], 0x1_0000_0000, 0x10000)])
        },
        ABICheck("dirtylog.not_logging", "KVM_GET_DIRTY_LOG on a slot without dirty logging: ENOENT",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect", expect: .errno(Errno.ENOENT)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let m = try vm.allocateGuestMemory(size: 0x10000)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x10000, userspaceAddress: m.hostAddress))
                return Ask.call { () throws(KVMError) in _ = try vm.dirtyLog(slot: 0) }
            }
        },
        ABICheck("dirtylog.absent_slot", "KVM_GET_DIRTY_LOG on a slot that does not exist: ENOENT",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect", expect: .errno(Errno.ENOENT)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in _ = try vm.dirtyLog(slot: 7) } }
        },
        ABICheck("dirtylog.slot_id_limit", "KVM_GET_DIRTY_LOG on slot id KVM_CAP_NR_MEMSLOTS: EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                Ask.call { () throws(KVMError) in _ = try vm.dirtyLog(slot: UInt32(max(0, h.checkExtension(.nrMemslots)))) }
            }
        },
        ABICheck("dirtylog.address_space_2", "KVM_GET_DIRTY_LOG on slot 0x20000 (address space 2): EINVAL",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect", expect: .errno(Errno.EINVAL)) { h in
            Ask.withVM(h) { vm throws(KVMError) in Ask.call { () throws(KVMError) in _ = try vm.dirtyLog(slot: 0x2_0000) } }
        },
        ABICheck("dirtylog.clean_after_create", "a new logging slot of 65 pages: two bitmap words, both 0 (nothing written)",
                 cite: "virt/kvm/kvm_main.c kvm_get_dirty_log_protect, include/linux/kvm_host.h kvm_dirty_bitmap_bytes",
                 expect: .value(0)) { h in
            Ask.withVM(h) { vm throws(KVMError) in
                let m = try vm.allocateGuestMemory(size: 65 * 4096)
                try vm.setUserMemoryRegion(MemoryRegion(slot: 0, flags: .logDirtyPages, guestPhysicalAddress: 0,
                                                        memorySize: 65 * 4096, userspaceAddress: m.hostAddress))
                let log = try vm.dirtyLog(slot: 0)
                return .value(log.prefix(2).reduce(0) { $0 + $1.nonzeroBitCount })
            }
        },
    ]
}
