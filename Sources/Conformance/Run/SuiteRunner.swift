#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Synchronization
import Glibc
import GuestPayloads
import KVMABI

/// Runs payloads on one backend and judges them.
public struct SuiteRunner: Sendable {
    public let divergences: KnownDivergences
    /// Wall-clock limit of each payload run (`--timeout`); nil = derived from the payload's
    /// instruction budget (`LoadedPayload.defaultTimeoutNanoseconds`).
    public var timeoutNanoseconds: UInt64?
    /// What the guest reads with CPUID on each backend (`measureGuestCPUID`): a comparison
    /// that diverges where the guests may have read different CPUID says so.
    public var guestCPUID: [GuestVisibleCPUID] = []
    /// How the reference engine interleaves the vCPUs of a several-vCPU payload
    /// (`--interleave-seed`); /dev/kvm runs them on threads, as the host schedules them.
    public var interleaving = Interleaving.fixed
    /// `kvm-unit run --migrate=N`: also run each payload saved and restored into a new VM
    /// after every N exits, and compare with its plain run (MigratedRuns).
    public var migrateEvery: Int?

    public init(divergences: KnownDivergences = .builtIn, timeoutNanoseconds: UInt64? = nil) {
        self.divergences = divergences
        self.timeoutNanoseconds = timeoutNanoseconds
    }

    /// One payload, start to finish: a fresh VM, the run, the VM closed, the verdict.
    /// `traceSink` receives the exit trace as it happens (`kvm-unit trace`).
    public func run(_ payload: Payload, on hypervisor: any Hypervisor, backend: String, cpuid: [CPUIDEntry]? = nil,
                    traceSink: ((String) -> Void)? = nil) -> PayloadResult {
        run(payload, on: hypervisor, backend: backend, cpuid: cpuid, traceSink: traceSink, migration: nil)
    }

    func run(_ payload: Payload, on hypervisor: any Hypervisor, backend: String, cpuid: [CPUIDEntry]? = nil,
             traceSink: ((String) -> Void)? = nil, migration: MigrationPlan?) -> PayloadResult {
        let implementation = hypervisor.identity.implementation
        let loaded: LoadedPayload
        do {
            loaded = try LoadedPayload(payload, on: hypervisor, cpuid: cpuid)
        } catch {
            if case .missingCapability(let why) = error {
                return Judge.skipped(payload, backend: backend, implementation: implementation, reason: why)
            }
            let outcome = Outcome(end: .error(error.description), checks: [], trace: [], console: "", registers: [],
                                  ramDigest: "", windowDigests: [], stats: [:], hostErrors: [], wallNanoseconds: 0)
            return Judge.judge(outcome, payload: payload, backend: backend, implementation: implementation, divergences: divergences)
        }
        var runner = PayloadRunner(loaded, wallBudgetNanoseconds: timeoutNanoseconds)
        runner.traceSink = traceSink
        runner.interleaving = interleaving
        runner.migration = migration
        let outcome = runner.run()
        loaded.vm.close()
        return Judge.judge(outcome, payload: payload, backend: backend, implementation: implementation, divergences: divergences)
    }

    /// Every payload on every backend, `jobs` payloads at a time. Each payload's report goes
    /// to `deliver` as soon as it is complete, with its index in `payloads`, one call at a
    /// time (never concurrently), in the order the payloads finish; nothing is kept here, so
    /// memory stays flat however many payloads run. With two backends each payload's
    /// outcomes are compared.
    public func run(_ payloads: [Payload], on backends: [(name: String, hypervisor: any Hypervisor)], jobs: Int = 1,
                    sameCPUID: Bool = true, deliver: @Sendable (_ index: Int, _ report: PayloadReport) -> Void) {
        for b in backends { _ = b.hypervisor.identity }  // computed once, before threads share them
        let cpuid = sameCPUID ? Self.sharedCPUID(backends) : nil
        let box = BackendsBox(backends)
        let delivery = Mutex(())
        let workers = max(1, min(jobs, payloads.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < payloads.count {
                let r = run(payloads[i], on: box.backends, cpuid: cpuid)
                delivery.withLock { _ in deliver(i, r) }
                i += workers
            }
        }
    }

    /// Every payload on every backend, all reports kept and returned in the order of
    /// `payloads`: for tests and small selections (the CLI streams with `deliver:`).
    public func run(_ payloads: [Payload], on backends: [(name: String, hypervisor: any Hypervisor)], jobs: Int = 1,
                    sameCPUID: Bool = true) -> [PayloadReport] {
        let reports = ResultSlots<PayloadReport>(count: payloads.count)
        run(payloads, on: backends, jobs: jobs, sameCPUID: sameCPUID) { i, r in reports.set(i, r) }
        return reports.all
    }
}

extension SuiteRunner {
    /// The table every backend of a cross-check gets: what all of them support
    /// (`SharedCPUIDTable`). nil for one backend, which gets its own KVM_GET_SUPPORTED_CPUID.
    public static func sharedCPUID(_ backends: [(name: String, hypervisor: any Hypervisor)]) -> [CPUIDEntry]? {
        guard backends.count > 1 else { return nil }
        var tables: [[CPUIDEntry]] = []
        for b in backends {
            guard let t = try? b.hypervisor.supportedCPUID() else { return nil }
            tables.append(t)
        }
        return SharedCPUIDTable.intersection(tables)
    }

    /// Runs the CPUID probe on every backend with the table the payloads will get.
    public static func measureGuestCPUID(on backends: [(name: String, hypervisor: any Hypervisor)]) -> [GuestVisibleCPUID] {
        let table = sharedCPUID(backends)
        return backends.map { GuestVisibleCPUID.measure(on: $0.hypervisor, backend: $0.name, table: table) }
    }
}

/// The hypervisor objects are used from several threads: their fds and ioctls are
/// thread-safe, and the reference engine keeps all state per VM.
final class BackendsBox: @unchecked Sendable {
    let backends: [(name: String, hypervisor: any Hypervisor)]
    init(_ b: [(name: String, hypervisor: any Hypervisor)]) { backends = b }
}

final class ResultSlots<T>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = Mutex(())
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: T) { lock.withLock { _ in slots[i] = r } }
    var all: [T] { lock.withLock { _ in slots.compactMap { $0 } } }
}
