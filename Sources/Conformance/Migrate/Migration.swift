import GuestPayloads
import KVMABI
import PayloadFormat

/// Moving a running payload into a new VM, as a VMM's save/restore (migration, snapshots)
/// does: `kvm-unit run --migrate` (README, "Save and restore").
///
/// The save reads everything KVM hands userspace (SavedVCPU per vCPU; the irqchip's three
/// chips, the PIT, kvmclock and the dirty logs per VM; the memory of every slot); the old
/// VM is closed; a VM is built on the target backend exactly as the loader built the
/// first (irqchip, PIT, slots, CPUID, the configuration the payload asked the VMM for
/// with host requests) and the state is written into it. The run then goes on in the new
/// VM; its outcome must be the plain run's.
extension LoadedPayload {
    /// Moves the payload into a new VM on `target` (which may be the backend it runs on).
    /// Every vCPU must be out of KVM_RUN with its last exit completed (PayloadRunner.quiesce).
    /// Throws when an ioctl of the save or the restore fails: the run cannot go on, and the
    /// error says which.
    func migrate(to target: any Hypervisor, notes: inout [String]) throws(MigrationError) {
        let h = payload.header
        let source = vm
        // First the irqfds leave the old VM (they are assigned on the new one below): their
        // deassign completes an injection still in flight (irqfd_shutdown flushes the inject
        // work), so the interrupt is in the state saved next, not lost. The coalesced ring,
        // reached through the old VM's vCPU, is kept for the guest's next drain.
        eventFDs.detach()
        // Save.
        let sourceHypervisorMSRs: [UInt32]
        do { sourceHypervisorMSRs = try sourceMSRIndexList() } catch { throw MigrationError(step: "KVM_GET_MSR_INDEX_LIST", error: error) }
        let irqchip = h.flags.contains(.irqchip)
        let hasSregs2 = source.checkExtension(.sregs2) != 0 && target.checkExtension(.sregs2) != 0
        let hasXCRs = source.checkExtension(.xcrs) != 0 && target.checkExtension(.xcrs) != 0
        let hasXSave = source.checkExtension(.xsave) != 0 && target.checkExtension(.xsave) != 0
        var saved: [SavedVCPU] = []
        for v in vcpus {
            do {
                saved.append(try SavedVCPU.save(v, msrIndices: sourceHypervisorMSRs, hasSregs2: hasSregs2, hasXSave: hasXSave, hasXCRs: hasXCRs,
                                                hasLAPIC: irqchip, notes: &notes))
            } catch { throw MigrationError(step: "saving vCPU \(v.id)", error: error) }
        }
        var chips: [IRQChipState] = []
        var pit: PITState2?
        let clock: ClockData?
        do {
            if irqchip { chips = try (0...2).map { (chip: UInt32) throws(KVMError) in try source.irqchip(chip) } }
            if h.flags.contains(.pit) { pit = try source.pit2() }
            clock = source.checkExtension(.adjustClock) != 0 && target.checkExtension(.adjustClock) != 0 ? try source.clock() : nil
        } catch { throw MigrationError(step: "saving the VM state", error: error) }
        do { try memslots.carryDirtyLogs() } catch { throw MigrationError(step: "KVM_GET_DIRTY_LOG", error: error) }

        // Build the new VM as the loader built the first.
        let next: any VirtualMachine
        do { next = try target.createVM() } catch { throw MigrationError(step: "KVM_CREATE_VM", error: error) }
        do {
            if irqchip { try next.createIRQChip() }
            if h.flags.contains(.pit) { try next.createPIT2() }
            let newRAM = try next.allocateGuestMemory(size: ram.size)
            Self.copyTouchedPages(from: ram, to: newRAM)
            try next.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(h.ramSize),
                                                      userspaceAddress: newRAM.hostAddress))
            var roms: [(PayloadHeader.Window, GuestMemory)] = []
            for (w, old) in romMemories {
                let m = try next.allocateGuestMemory(size: old.size)
                Self.copyTouchedPages(from: old, to: m)
                let i = h.windows.firstIndex(of: w) ?? 0
                try next.setUserMemoryRegion(MemoryRegion(slot: UInt32(1 + i), flags: .readOnly, guestPhysicalAddress: w.gpa,
                                                          memorySize: UInt64(w.size), userspaceAddress: m.hostAddress))
                roms.append((w, m))
            }
            try memslots.rebuild(in: next, ram: newRAM)
            try userspaceExits.apply(to: next, ram: newRAM)
            try eventFDs.apply(to: next, ram: newRAM)
            var created: [any VirtualCPU] = []
            for id in 0..<vcpus.count {
                let v = try next.createVCPU(id: UInt32(id))
                try v.setCPUID(Self.cpuid(cpuidTable, apicID: UInt32(id)))
                created.append(v)
            }
            // Restore.
            let targetMSRs = Set(try Self.msrIndexList(of: target))
            for (v, s) in zip(created, saved) {
                do { try s.restore(into: v, targetMSRIndices: targetMSRs, notes: &notes) } catch {
                    throw MigrationError(step: "restoring vCPU \(v.id)", error: error)
                }
                if let debug = guestDebug[Int(v.id)] { try v.setGuestDebug(debug) }
            }
            for chip in chips { try next.setIRQChip(chip) }
            if let pit { try next.setPIT2(pit) }
            if let clock { try next.setClock(ClockData(clock: clock.clock)) }
            // kvm_run's out fields (ready_for_interrupt_injection, if_flag, cr8, apic_base)
            // are written by KVM_RUN (post_kvm_run_save); a new vCPU's are zero until then.
            // One KVM_RUN with immediate_exit fills them without entering the guest, so the
            // harness does not take a restored vCPU for one that cannot take an interrupt
            // (with a migration after every exit, it then asked for the window for ever).
            for v in created { _ = try? v.runWithImmediateExit() }
            source.close()
            hypervisor = target
            vm = next
            vcpus = created
            ram = newRAM
            romMemories = roms
        } catch let e as MigrationError {
            next.close()
            throw e
        } catch let e as KVMError {
            next.close()
            throw MigrationError(step: "building the new VM", error: e)
        } catch {
            next.close()
            throw MigrationError(step: "building the new VM", error: KVMError(errno: Errno.EINVAL, operation: "\(error)"))
        }
    }

    /// The MSRs a VMM saves: the system fd's KVM_GET_MSR_INDEX_LIST of the source.
    private func sourceMSRIndexList() throws(KVMError) -> [UInt32] {
        try Self.msrIndexList(of: hypervisor)
    }

    static func msrIndexList(of hypervisor: any Hypervisor) throws(KVMError) -> [UInt32] {
        try hypervisor.msrIndexList(capacity: try hypervisor.msrIndexCount())
    }

    /// Copies the pages of `from` that are not all zero (a fresh mapping is zero: untouched
    /// pages of a large, lazily backed slot stay unbacked in the copy too).
    static func copyTouchedPages(from: GuestMemory, to: GuestMemory) {
        let page = 4096
        let count = min(from.size, to.size)
        for offset in stride(from: 0, to: count, by: page) {
            let n = min(page, count - offset)
            let src = UnsafeRawBufferPointer(start: from.pointer + offset, count: n)
            if src.allSatisfy({ $0 == 0 }) { continue }
            (to.pointer + offset).copyMemory(from: from.pointer + offset, byteCount: n)
        }
    }
}

/// A save or restore step that failed: the migrated run ends with this error.
struct MigrationError: Error, CustomStringConvertible {
    let step: String
    let error: KVMError
    var description: String { "migration: \(step): \(error)" }
}
