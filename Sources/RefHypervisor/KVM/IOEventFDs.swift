import Glibc
import KVMABI

/// What eventfd an fd refers to, as KVM's eventfd_ctx_fdget sees it.
enum EventFDIdentity {
    /// eventfd_ctx_fdget: EBADF for a closed fd, EINVAL for one that is not an eventfd;
    /// the eventfd's id otherwise.
    static func id(_ fd: Int32, _ op: String) throws(KVMError) -> UInt64 {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = fd < 0 ? -1 : readlink("/proc/self/fd/\(fd)", &buffer, buffer.count - 1)
        if n < 0 { throw KVMError(errno: Errno.EBADF, operation: op) }
        let target = String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target != "anon_inode:[eventfd]" { throw KVMError(errno: Errno.EINVAL, operation: op) }
        // /proc/self/fdinfo/N of an eventfd has a line "eventfd-id: <n>" (fs/eventfd.c).
        guard let f = fopen("/proc/self/fdinfo/\(fd)", "r") else { throw KVMError(errno: Errno.EBADF, operation: op) }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 128)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("eventfd-id:"), let id = UInt64(text.dropFirst(11).trimmingPrefix(while: { $0 == " " || $0 == "\t" }).prefix { $0.isNumber }) {
                return id
            }
        }
        throw KVMError(errno: Errno.EINVAL, operation: op)
    }


    /// Our own reference to the eventfd behind `fd` (close-on-exec), as KVM holds the context.
    static func own(_ fd: Int32, _ op: String) throws(KVMError) -> Int32 {
        let own = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        if own < 0 { throw KVMError(errno: Errno.EBADF, operation: op) }
        return own
    }

    /// Reads (and so resets) the counter without ever blocking: 0 when nothing was signalled.
    static func take(_ fd: Int32) -> UInt64 {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) == 1, p.revents & Int16(POLLIN) != 0 else { return 0 }
        var v: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &v) { Glibc.read(fd, $0.baseAddress, 8) }
        return n == 8 ? v : 0
    }

    /// eventfd_signal(ctx, 1) from the kernel side: never blocks (a full counter drops it).
    static func signal(_ fd: Int32) {
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, 0) == 1, p.revents & Int16(POLLOUT) != 0 else { return }
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { Glibc.write(fd, $0.baseAddress, 8) }
    }
}

/// KVM_IOEVENTFD (Linux 6.1 virt/kvm/eventfd.c): eventfds on the PIO and MMIO buses that a
/// matching guest write signals in the kernel, with no exit to userspace. The engine checks
/// them where KVM's io bus would: an OUT or each element of an OUTS (portIO, stringIO) and an
/// MMIO write (CPU.mmioWrite), after its own devices and before KVM_EXIT_IO / KVM_EXIT_MMIO.
final class IOEventFDs {
    /// KVM's buses an ioeventfd can sit on (ioeventfd_bus_from_flags).
    enum Bus: Equatable { case mmio, pio, virtioCCWNotify }

    struct Entry: Equatable {
        var bus: Bus
        var address: UInt64
        var length: UInt32
        /// nil: any value (no KVM_IOEVENTFD_FLAG_DATAMATCH, "wildcard").
        var datamatch: UInt64?
        /// The eventfd's identity (fdinfo "eventfd-id"): KVM matches a DEASSIGN by the
        /// eventfd object, not by the fd number.
        var eventfdID: UInt64
    }

    /// Our own reference to each assigned eventfd (KVM holds the eventfd context), so a
    /// VMM closing its fd, and the number being reused for another file, cannot redirect
    /// the signal. Closed on DEASSIGN and when the VM closes.
    private var signalFDs: [Int32] = []

    private(set) var entries: [Entry] = []
    var isEmpty: Bool { entries.isEmpty }
    /// Whether any ioeventfd sits at this port (its length and value decide per write).
    func hasPIO(_ port: UInt64) -> Bool { entries.contains { $0.bus == .pio && $0.address == port } }

    deinit { closeAll() }

    /// RefVM.close: drop every ioeventfd and our references.
    func closeAll() {
        for fd in signalFDs { _ = Glibc.close(fd) }
        signalFDs = []
        entries = []
    }

    /// kvm_ioeventfd: kvm_assign_ioeventfd / kvm_deassign_ioeventfd with their checks in order.
    func apply(_ e: IOEventFD) throws(KVMError) {
        let op = "KVM_IOEVENTFD"
        // PIO first, then VIRTIO_CCW_NOTIFY (8; every bus exists on x86, nothing writes
        // that one), else MMIO.
        let bus: Bus = e.flags & IOEventFD.pio != 0 ? .pio : (e.flags & 8 != 0 ? .virtioCCWNotify : .mmio)
        let datamatch = e.flags & IOEventFD.datamatch != 0 ? e.datamatchValue : nil
        if e.flags & IOEventFD.deassign != 0 {
            // kvm_deassign_ioeventfd_idx: same bus, eventfd, address, length and match.
            let entry = Entry(bus: bus, address: e.address, length: e.length, datamatch: datamatch,
                              eventfdID: try EventFDIdentity.id(e.fd, op))
            guard let i = entries.firstIndex(of: entry) else { throw KVMError(errno: Errno.ENOENT, operation: op) }
            entries.remove(at: i)
            _ = Glibc.close(signalFDs.remove(at: i))
            return
        }
        guard [0, 1, 2, 4, 8].contains(e.length) else { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if e.address &+ UInt64(e.length) < e.address { throw KVMError(errno: Errno.EINVAL, operation: op) }
        // KVM_IOEVENTFD_VALID_FLAG_MASK: DATAMATCH, PIO, DEASSIGN, VIRTIO_CCW_NOTIFY and the
        // fast-MMIO bit (1 << 4), which nothing reads.
        if e.flags & ~UInt32(0x1F) != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        if e.length == 0 && e.flags & IOEventFD.datamatch != 0 { throw KVMError(errno: Errno.EINVAL, operation: op) }
        let entry = Entry(bus: bus, address: e.address, length: e.length, datamatch: datamatch,
                          eventfdID: try EventFDIdentity.id(e.fd, op))
        // ioeventfd_check_collision: same bus and address, and either length 0 or the same
        // length with a wildcard on either side or the same datamatch.
        for p in entries where p.bus == bus && p.address == e.address {
            if p.length == 0 || e.length == 0
                || (p.length == e.length && (p.datamatch == nil || entry.datamatch == nil || p.datamatch == entry.datamatch)) {
                throw KVMError(errno: Errno.EEXIST, operation: op)
            }
        }
        // kvm_io_bus_register_dev does not count ioeventfds against NR_IOBUS_DEVS: the number
        // of open fds bounds them.
        signalFDs.append(try EventFDIdentity.own(e.fd, op))
        entries.append(entry)
    }

    /// ioeventfd_write: signals (adds 1 to) the first matching eventfd; true if one matched
    /// (ioeventfd_in_range: the exact address; length 0 matches any size; else the size,
    /// and the value unless wildcard).
    func signal(pio: Bool, address: UInt64, size: Int, value: UInt64) -> Bool {
        let bus: Bus = pio ? .pio : .mmio
        for (i, e) in entries.enumerated() where e.bus == bus && e.address == address {
            if e.length != 0 {
                if Int(e.length) != size { continue }
                if let d = e.datamatch, d != value & CPU.mask(size) { continue }
            }
            EventFDIdentity.signal(signalFDs[i])
            return true
        }
        return false
    }
}
