import Glibc
import KVMABI

/// KVM_IRQFD (Linux 6.1 virt/kvm/eventfd.c kvm_irqfd, kvm_irqfd_assign, irqfd_wakeup,
/// irqfd_inject, irqfd_resampler_ack): eventfds whose signal raises a GSI. KVM injects from a
/// wait-queue callback and a work item, some time after the write; the engine, which has no
/// threads, looks at the eventfds before anything can observe an interrupt: at KVM_RUN entry,
/// every WallClockBound check while the guest runs, after an ioeventfd it signals itself,
/// and before KVM_GET_IRQCHIP / KVM_GET_LAPIC.
final class IRQFDs {
    struct Entry {
        var eventfdID: UInt64
        /// Our own reference to the eventfd (KVM holds the context).
        var fd: Int32
        var gsi: UInt32
        /// With KVM_IRQFD_FLAG_RESAMPLE: our reference to the resample eventfd.
        var resampleFD: Int32?
    }

    private(set) var entries: [Entry] = []
    var isEmpty: Bool { entries.isEmpty }
    /// The in-kernel irqchip (RefVM sets it when it creates one).
    weak var chip: IRQChip?

    deinit { closeAll() }

    func closeAll() {
        for e in entries { _ = Glibc.close(e.fd); if let r = e.resampleFD { _ = Glibc.close(r) } }
        entries = []
    }

    /// kvm_irqfd: flags other than DEASSIGN | RESAMPLE are EINVAL; then assign or deassign.
    func apply(_ a: IRQFD, now: UInt64) throws(KVMError) {
        let op = "KVM_IRQFD"
        if a.flags & ~(IRQFD.deassign | IRQFD.resample) != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if a.flags & IRQFD.deassign != 0 {
            // kvm_irqfd_deassign: the eventfd must be one; no match is still success.
            let id = try EventFDIdentity.id(a.fd, op)
            while let i = entries.firstIndex(where: { $0.eventfdID == id && $0.gsi == a.gsi }) { remove(at: i, now: now) }
            return
        }
        // kvm_arch_irqfd_allowed: an in-kernel irqchip (a full one for RESAMPLE).
        guard let chip else { throw KVMError(errno: Errno.EINVAL, operation: op) }
        let id = try EventFDIdentity.id(a.fd, op)
        var resample: Int32?
        if a.flags & IRQFD.resample != 0 {
            _ = try EventFDIdentity.id(a.resampleFD, op)
            resample = try EventFDIdentity.own(a.resampleFD, op)
        }
        if entries.contains(where: { $0.eventfdID == id }) {
            if let resample { _ = Glibc.close(resample) }
            throw KVMError(errno: Errno.EBUSY, operation: op)
        }
        let own: Int32
        do { own = try EventFDIdentity.own(a.fd, op) } catch {
            if let resample { _ = Glibc.close(resample) }
            throw error
        }
        entries.append(Entry(eventfdID: id, fd: own, gsi: a.gsi, resampleFD: resample))
        // "Check if there was an event already pending on the eventfd before we registered."
        poll(now: now)
    }

    /// irqfd_deactivate; a resampler's last irqfd lowers its line (irqfd_resampler_shutdown).
    private func remove(at i: Int, now: UInt64) {
        let e = entries.remove(at: i)
        _ = Glibc.close(e.fd)
        if let r = e.resampleFD {
            _ = Glibc.close(r)
            if !entries.contains(where: { $0.resampleFD != nil && $0.gsi == e.gsi }) {
                chip?.setResampleLine(gsi: e.gsi, level: false, now: now)
            }
        }
    }

    /// irqfd_wakeup for each signalled eventfd: its counter is read (reset) and the GSI
    /// pulsed (irqfd_inject: 1 then 0 from the userspace source), or, for a resampler,
    /// held high until the guest acknowledges it. Returns whether anything was injected.
    @discardableResult
    func poll(now: UInt64) -> Bool {
        guard let chip, !entries.isEmpty else { return false }
        var injected = false
        for e in entries where EventFDIdentity.take(e.fd) != 0 {
            injected = true
            if e.resampleFD != nil {
                chip.setResampleLine(gsi: e.gsi, level: true, now: now)
            } else {
                chip.setIRQLine(gsi: e.gsi, level: true, now: now)
                chip.setIRQLine(gsi: e.gsi, level: false, now: now)
            }
        }
        return injected
    }

    /// irqfd_resampler_ack: the guest acknowledged `gsi` (PIC EOI or IOAPIC EOI of its pin):
    /// lower the resample line and signal every resample eventfd of that GSI.
    /// Called by the router while it processes the EOI, so the line is lowered there
    /// directly (the devices' time is already current).
    func acked(gsi: Int) {
        let resamplers = entries.filter { Int($0.gsi) == gsi && $0.resampleFD != nil }
        guard !resamplers.isEmpty else { return }
        chip?.router.setGSI(gsi, level: false, fromPIT: false, resample: true)
        for e in resamplers { if let r = e.resampleFD { EventFDIdentity.signal(r) } }
    }
}
