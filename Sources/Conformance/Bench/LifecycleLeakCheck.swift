import Glibc
import HostKVM
import KVMABI

/// Whether HostKVM's VM lifecycle leaks: counts this process's open fds and mappings, runs
/// `count` lifecycles (the benchmark's: VM, slot, vCPU, run to HLT, close), counts again.
///
/// The counts are of the whole process, so nothing else may open fds or map memory while
/// it runs: call it from a process of its own (`kvm-unit selftest lifecycle-leaks`).
public enum LifecycleLeakCheck {
    public struct Report: Sendable, Equatable {
        public var lifecycles: Int
        public var fdsBefore: Int
        public var fdsAfter: Int
        public var mappingsBefore: Int
        public var mappingsAfter: Int
        public var leaks: Bool { fdsBefore != fdsAfter || mappingsBefore != mappingsAfter }
    }

    /// Throws `BackendUnavailable` when the device cannot be opened, `HostBench.Failure` or
    /// `KVMError` when a lifecycle fails.
    public static func run(count: Int, device: String = "/dev/kvm") throws -> Report {
        let kvm = try Backends.openHost(device: device)
        // Warm-up: the first lifecycle starts the watchdog thread and installs its signal
        // handler; let the thread go round its loop (2 ms ticks) so that its stack and any
        // per-thread allocator state exist before the first count.
        try HostBench.lifecycle(kvm)
        var pause = timespec(tv_sec: 0, tv_nsec: 20_000_000)
        nanosleep(&pause, nil)
        _ = (openFDs(), mappings())   // the counters' own first-use costs, if any

        let fdsBefore = openFDs(), mappingsBefore = mappings()
        for _ in 0..<count { try HostBench.lifecycle(kvm) }
        let fdsAfter = openFDs(), mappingsAfter = mappings()
        return Report(lifecycles: count, fdsBefore: fdsBefore, fdsAfter: fdsAfter,
                      mappingsBefore: mappingsBefore, mappingsAfter: mappingsAfter)
    }

    /// Entries of /proc/self/fd, less `.`, `..` and the directory's own fd; -1 if unreadable.
    public static func openFDs() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(dir) }
        var n = 0
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            n += 1
        }
        return n - 1
    }

    /// Lines of /proc/self/maps; -1 if unreadable.
    public static func mappings() -> Int {
        let fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(byteCount: 16384, alignment: 16) { buf -> Int in
            var lines = 0
            while true {
                let got = read(fd, buf.baseAddress, buf.count)
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { return got < 0 ? -1 : lines }
                for b in UnsafeRawBufferPointer(rebasing: buf[0..<got]) where b == 0x0A { lines += 1 }
            }
        }
    }
}
