import KVMABI

/// Memory slots a payload creates, moves, flags and deletes while it runs, and their dirty
/// logs read into guest RAM: host request 0x10 (guests/README.md, "Memslot requests").
///
/// The guest passes the GPA of a 40-byte request block in its RAM:
///
///     +0  u32 op        1 create, 2 delete, 3 move, 4 set flags, 5 get dirty log
///     +4  u32 slot      16..31 (0 is the payload's RAM, 1..8 its rom windows)
///     +8  u64 gpa       create, move: the slot's (new) guest-physical address
///     +16 u64 size      create: bytes; get dirty log: the GPA in RAM the bitmap goes to
///     +24 u32 flags     bits 0-7 the slot's flags as KVM_SET_USER_MEMORY_REGION takes them
///                       (bit 0 LOG_DIRTY_PAGES, bit 1 READONLY; others make KVM say EINVAL);
///                       create: bits 8-15 the byte the new memory is filled with
///     +28 u32 share     create: 0, or a slot 16..31 whose host memory this slot maps too
///     +32 i32 result    written by the harness: 0, or -errno of the ioctl
///     +36 u32 words     written by the harness: 64-bit words of the dirty bitmap stored
///
/// An ioctl's errno goes back to the guest (a payload may check it); a block the harness
/// cannot act on (outside RAM, an unknown op, a slot outside 16..31, too much memory) ends
/// the run with an error.
final class RuntimeMemslots {
    struct Slot {
        var memory: GuestMemory
        var gpa: UInt64
        var size: UInt64
        var flags: MemoryRegion.Flags
    }

    static let op: UInt32 = 0x10
    static let slotIDs: ClosedRange<UInt32> = 16...31
    /// Host memory all the slots of one run may be backed by (lazily: untouched pages cost nothing).
    static let maximumBytes: UInt64 = 256 << 20
    static let blockSize = 40

    private var vm: any VirtualMachine
    private var ram: GuestMemory
    private var slots: [UInt32: Slot] = [:]
    private var allocated: UInt64 = 0
    /// Dirty bits a migration read from the old VM's log (KVM_GET_DIRTY_LOG), by slot: the
    /// next dirty-log request of the payload gets them with the new VM's, as a VMM that
    /// migrates a VM which logs its own writes must hand them on.
    private var carriedDirty: [UInt32: [UInt64]] = [:]

    init(vm: any VirtualMachine, ram: GuestMemory) {
        self.vm = vm
        self.ram = ram
    }

    struct Refused: Error { let why: String }

    /// Carries out the request at `blockGPA`; returns the trace note (`memslot move 16 ->
    /// 0x300000: 0`), or throws when the block itself is unusable.
    func handle(blockGPA: UInt64) throws(Refused) -> String {
        guard blockGPA % 8 == 0, blockGPA + UInt64(Self.blockSize) <= UInt64(ram.size) else {
            throw Refused(why: "memslot request block at 0x\(String(blockGPA, radix: 16)) is not an aligned 40-byte block in RAM")
        }
        let b = ram.read(at: Int(blockGPA), count: Self.blockSize)
        func u32(_ o: Int) -> UInt32 { LittleEndian.u32(b, o) }
        func u64(_ o: Int) -> UInt64 { LittleEndian.u64(b, o) }
        let op = u32(0), id = u32(4), gpa = u64(8), size = u64(16), flagBits = u32(24), share = u32(28)
        guard Self.slotIDs.contains(id) else { throw Refused(why: "memslot request for slot \(id): payloads use slots 16..31") }
        let flags = MemoryRegion.Flags(rawValue: flagBits & 0xFF)   // bits 0-7 go to KVM as given

        var words: UInt32 = 0
        var note = ""
        let result: Int32
        switch op {
        case 1:
            note = "create \(id) at 0x\(String(gpa, radix: 16)) size 0x\(String(size, radix: 16)) flags \(flagBits & 0xFF)"
            let memory: GuestMemory
            if share != 0 {
                guard let other = slots[share] else { throw Refused(why: "memslot create shares slot \(share), which the payload did not create") }
                guard size <= UInt64(other.memory.size) else { throw Refused(why: "memslot create: shared slot \(share) has only \(other.memory.size) bytes") }
                memory = other.memory
                note += " sharing \(share)"
            } else {
                let bytes = (size + 0xFFF) & ~0xFFF
                guard bytes > 0, allocated + bytes <= Self.maximumBytes else {
                    throw Refused(why: "memslot create of 0x\(String(size, radix: 16)) bytes: the slots of a run may use at most \(Self.maximumBytes >> 20) MiB")
                }
                do { memory = try vm.allocateGuestMemory(size: Int(bytes)) } catch { throw Refused(why: "memslot create: \(error)") }
                allocated += bytes
                let fill = UInt8(truncatingIfNeeded: flagBits >> 8)
                if fill != 0 { memory.fill(fill) }
            }
            result = call { () throws(KVMError) in
                try vm.setUserMemoryRegion(MemoryRegion(slot: id, flags: flags, guestPhysicalAddress: gpa, memorySize: size,
                                                        userspaceAddress: memory.hostAddress))
            }
            if result == 0 { slots[id] = Slot(memory: memory, gpa: gpa, size: size, flags: flags) }
        case 2 where slots[id] == nil:
            // Deleting a slot that does not exist is a question for KVM (EINVAL), not a bad block.
            note = "delete \(id)"
            result = call { () throws(KVMError) in
                try vm.setUserMemoryRegion(MemoryRegion(slot: id, guestPhysicalAddress: gpa, memorySize: 0, userspaceAddress: ram.hostAddress))
            }
        case 2, 3, 4:
            guard let s = slots[id] else { throw Refused(why: "memslot request for slot \(id), which the payload did not create") }
            var next = s
            switch op {
            case 2: next.size = 0; note = "delete \(id)"
            case 3: next.gpa = gpa; note = "move \(id) to 0x\(String(gpa, radix: 16))"
            default: next.flags = flags; note = "flags \(id) = \(flagBits & 0xFF)"
            }
            result = call { () throws(KVMError) in
                try vm.setUserMemoryRegion(MemoryRegion(slot: id, flags: next.flags, guestPhysicalAddress: next.gpa,
                                                        memorySize: next.size, userspaceAddress: next.memory.hostAddress))
            }
            if result == 0 { if op == 2 { slots[id] = nil } else { slots[id] = next } }
            // A slot that stops logging (or goes) loses its bitmap in KVM (kvm_main.c
            // kvm_prepare_memory_region); a move keeps it.
            if result == 0 && (op == 2 || !next.flags.contains(.logDirtyPages)) { carriedDirty[id] = nil }
        case 5:
            note = "dirty log \(id) to 0x\(String(size, radix: 16))"
            do {
                var bitmap = try vm.dirtyLog(slot: id)
                if let carried = carriedDirty.removeValue(forKey: id) {
                    for i in bitmap.indices where i < carried.count { bitmap[i] |= carried[i] }
                }
                let bytes = bitmap.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
                guard size % 8 == 0, size + UInt64(bytes.count) <= UInt64(ram.size) else {
                    throw Refused(why: "memslot dirty log of \(bitmap.count) words does not fit at 0x\(String(size, radix: 16)) in RAM")
                }
                _ = ram.write(bytes, at: Int(size))
                words = UInt32(bitmap.count)
                result = 0
            } catch let e as KVMError {
                result = -e.errno
            } catch let e as Refused {
                throw e
            } catch {
                result = -22
            }
        default:
            throw Refused(why: "memslot request op \(op): want 1 create, 2 delete, 3 move, 4 set flags or 5 get dirty log")
        }
        var out: [UInt8] = []
        for v in [UInt32(bitPattern: result), words] { out += LittleEndian.bytes(v) }
        _ = ram.write(out, at: Int(blockGPA) + 32)
        return "memslot \(note): \(result == 0 ? "0" : "-" + Errno.name(-result))" + (op == 5 && result == 0 ? " (\(words) words)" : "")
    }

    /// Migration, on the old VM: reads (and so clears) the dirty log of every logging slot
    /// into `carriedDirty`.
    func carryDirtyLogs() throws(KVMError) {
        for (id, s) in slots where s.flags.contains(.logDirtyPages) {
            let bitmap = try vm.dirtyLog(slot: id)
            let old = carriedDirty[id] ?? []
            carriedDirty[id] = bitmap.indices.map { $0 < old.count ? bitmap[$0] | old[$0] : bitmap[$0] }
        }
    }

    /// Migration, on the new VM: every slot again, at its GPA with its flags, backed by new
    /// memory holding the old contents. Slots that shared host memory share the new memory.
    func rebuild(in next: any VirtualMachine, ram newRAM: GuestMemory) throws(KVMError) {
        var copies: [ObjectIdentifier: GuestMemory] = [:]
        for id in slots.keys.sorted() {
            var s = slots[id]!
            let key = ObjectIdentifier(s.memory)
            let memory: GuestMemory
            if let m = copies[key] { memory = m } else {
                memory = try next.allocateGuestMemory(size: s.memory.size)
                LoadedPayload.copyTouchedPages(from: s.memory, to: memory)
                copies[key] = memory
            }
            try next.setUserMemoryRegion(MemoryRegion(slot: id, flags: s.flags, guestPhysicalAddress: s.gpa,
                                                      memorySize: s.size, userspaceAddress: memory.hostAddress))
            s.memory = memory
            slots[id] = s
        }
        vm = next
        ram = newRAM
    }

    private func call(_ body: () throws(KVMError) -> Void) -> Int32 {
        do { try body(); return 0 } catch { return -error.errno }
    }
}
