import CKVM
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Glibc
import KVMABI
import Synchronization

/// Ends a KVM_RUN that overruns its budget.
///
/// One process-wide thread polls the armed vCPUs every `tick`. Arming and disarming are
/// single atomic operations, so the run loop pays no syscall for the watchdog. To end a
/// run the thread sets `kvm_run.immediate_exit` (which covers the window before the ioctl
/// is entered) and then signals the vCPU thread (which makes an ioctl in progress return
/// EINTR).
final class Watchdog: @unchecked Sendable {
    static let shared = Watchdog()
    /// The signal used to kick vCPU threads out of KVM_RUN.
    static let kickSignal = SIGUSR1
    static let tick: UInt64 = 2_000_000  // 2 ms

    /// One armed-or-idle vCPU.
    final class Slot: @unchecked Sendable {
        /// Monotonic deadline in ns; 0 = not armed. Claimed by whoever swaps it to 0 first.
        let deadline = Atomic<UInt64>(0)
        /// Set by the watchdog after it has finished kicking, so the vCPU thread knows when
        /// it may clear immediate_exit again.
        let fired = Atomic<Bool>(false)
        let immediateExit: UnsafeMutablePointer<UInt8>
        var thread: UInt = 0
        init(immediateExit: UnsafeMutablePointer<UInt8>) { self.immediateExit = immediateExit }
    }

    private let slots = Mutex<[ObjectIdentifier: Slot]>([:])
    private var started = false
    private let startLock = Mutex<Bool>(false)

    func register(_ slot: Slot) {
        startIfNeeded()
        slots.withLock { $0[ObjectIdentifier(slot)] = slot }
    }

    func unregister(_ slot: Slot) {
        _ = slots.withLock { $0.removeValue(forKey: ObjectIdentifier(slot)) }
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    private func startIfNeeded() {
        startLock.withLock { started in
            guard !started else { return }
            started = true
            _ = ckvm_install_kick_handler(Watchdog.kickSignal)
            // A raw pthread (Foundation's Thread is not in FoundationEssentials). The
            // watchdog lives for the process, so the retained reference is never released.
            var attr = pthread_attr_t()
            pthread_attr_init(&attr)
            defer { pthread_attr_destroy(&attr) }
            pthread_attr_setstacksize(&attr, 64 * 1024)
            var thread = pthread_t()
            let rc = pthread_create(&thread, &attr, { arg in
                Unmanaged<Watchdog>.fromOpaque(arg!).takeUnretainedValue().loop()
            }, Unmanaged.passRetained(self).toOpaque())
            precondition(rc == 0, "cannot start the watchdog thread: errno \(rc)")
        }
    }

    private func loop() -> Never {
        while true {
            var ts = timespec(tv_sec: 0, tv_nsec: Int(Watchdog.tick))
            nanosleep(&ts, nil)
            let now = Watchdog.now()
            let armed = slots.withLock { Array($0.values) }
            for slot in armed {
                let d = slot.deadline.load(ordering: .acquiring)
                guard d != 0, now >= d else { continue }
                guard slot.deadline.compareExchange(expected: d, desired: 0, ordering: .acquiringAndReleasing).exchanged else { continue }
                // Claimed: this run overran. immediate_exit first, then the signal.
                (slot.immediateExit as UnsafeMutablePointer<UInt8>).withMemoryRebound(to: UInt8.self, capacity: 1) {
                    $0.pointee = 1
                }
                _ = ckvm_kick(slot.thread, Watchdog.kickSignal)
                slot.fired.store(true, ordering: .releasing)
            }
        }
    }
}
