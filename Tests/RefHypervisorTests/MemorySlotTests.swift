import Testing
import KVMABI
@testable import RefHypervisor

/// KVM_SET_USER_MEMORY_REGION rules of __kvm_set_memory_region, and KVM_GET_DIRTY_LOG.
@Suite struct MemorySlotTests {
    func vm() throws -> (any VirtualMachine, GuestMemory) {
        let vm = try RefHypervisor().createVM()
        return (vm, try vm.allocateGuestMemory(size: 0x10000))
    }

    func errno(_ f: () throws -> Void) -> Int32? {
        do { try f(); return nil } catch { return (error as? KVMError)?.errno ?? -1 }
    }

    @Test func invalidFlags() throws {
        let (vm, m) = try vm()
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, flags: .init(rawValue: 4), guestPhysicalAddress: 0, memorySize: 0x1000, userspaceAddress: m.hostAddress)) } == Errno.EINVAL)
    }

    @Test func misalignment() throws {
        let (vm, m) = try vm()
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0x800, memorySize: 0x1000, userspaceAddress: m.hostAddress)) } == Errno.EINVAL)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x1800, userspaceAddress: m.hostAddress)) } == Errno.EINVAL)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x1000, userspaceAddress: m.hostAddress + 8)) } == Errno.EINVAL)
    }

    @Test func slotLimit() throws {
        let (vm, m) = try vm()
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 32764, guestPhysicalAddress: 0, memorySize: 0x1000, userspaceAddress: m.hostAddress)) } == Errno.EINVAL)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 32763, guestPhysicalAddress: 0, memorySize: 0x1000, userspaceAddress: m.hostAddress)) } == nil)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 2 << 16, guestPhysicalAddress: 0, memorySize: 0x1000, userspaceAddress: m.hostAddress)) } == Errno.EINVAL)
    }

    @Test func overlapAndModify() throws {
        let (vm, m) = try vm()
        try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x4000, userspaceAddress: m.hostAddress))
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 1, guestPhysicalAddress: 0x3000, memorySize: 0x2000, userspaceAddress: m.hostAddress + 0x8000)) } == Errno.EEXIST)
        // Changing the size or the READONLY flag of an existing slot.
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0x2000, userspaceAddress: m.hostAddress)) } == Errno.EINVAL)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, flags: .readOnly, guestPhysicalAddress: 0, memorySize: 0x4000, userspaceAddress: m.hostAddress)) } == Errno.EINVAL)
        // Move, flags-only change, delete; deleting a missing slot is EINVAL.
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0x10000, memorySize: 0x4000, userspaceAddress: m.hostAddress)) } == nil)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, flags: .logDirtyPages, guestPhysicalAddress: 0x10000, memorySize: 0x4000, userspaceAddress: m.hostAddress)) } == nil)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: 0)) } == nil)
        #expect(errno { try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: 0, userspaceAddress: 0)) } == Errno.EINVAL)
    }

    @Test func dirtyLog() throws {
        let s = try Snippet(.long64, "mov byte [0x5000], 1\nmov byte [0x7123], 2\nhlt")
        try s.vm.setUserMemoryRegion(MemoryRegion(slot: 0, flags: .logDirtyPages, guestPhysicalAddress: 0, memorySize: 0x100000, userspaceAddress: s.ram.hostAddress))
        #expect(try s.run() == .hlt)
        let bits = try s.vm.dirtyLog(slot: 0)
        #expect(bits[0] & (1 << 5) != 0)
        #expect(bits[0] & (1 << 7) != 0)
        #expect(bits[0] & (1 << 6) == 0)
        #expect(try s.vm.dirtyLog(slot: 0)[0] == 0)   // cleared by the read
        do { _ = try s.vm.dirtyLog(slot: 3); Issue.record("no ENOENT") } catch { #expect(error.errno == Errno.ENOENT) }
    }

    @Test func vcpuAndIrqchipOrdering() throws {
        let vm = try RefHypervisor().createVM()
        #expect(errno { try vm.irqLine(0, level: true) } == Errno.ENXIO)
        #expect(errno { try vm.createPIT2() } == Errno.ENOENT)
        try vm.createIRQChip()
        #expect(errno { try vm.createIRQChip() } == Errno.EEXIST)
        try vm.createPIT2()
        #expect(errno { try vm.createPIT2() } == Errno.EEXIST)
        let v = try vm.createVCPU(id: 0)
        #expect(errno { _ = try vm.createVCPU(id: 0) } == Errno.EEXIST)
        #expect(errno { try v.interrupt(vector: 0x20) } == Errno.ENXIO)
        let vm2 = try RefHypervisor().createVM()
        _ = try vm2.createVCPU(id: 1)
        #expect(errno { try vm2.createIRQChip() } == Errno.EINVAL)
    }
}
