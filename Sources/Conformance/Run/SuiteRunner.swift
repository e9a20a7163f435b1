import Foundation
import GuestPayloads
import KVMABI

/// Runs payloads on one backend and judges them.
public struct SuiteRunner: Sendable {
    public let divergences: KnownDivergences

    public init(divergences: KnownDivergences = .builtIn) { self.divergences = divergences }

    /// One payload, start to finish: a fresh VM, the run, the VM closed, the verdict.
    public func run(_ payload: Payload, on hypervisor: any Hypervisor, backend: String) -> PayloadResult {
        let implementation = hypervisor.identity.implementation
        let loaded: LoadedPayload
        do {
            loaded = try LoadedPayload(payload, on: hypervisor)
        } catch {
            if case .missingCapability(let why) = error {
                return Judge.skipped(payload, backend: backend, implementation: implementation, reason: why)
            }
            let outcome = Outcome(end: .error(error.description), checks: [], trace: [], console: "", registers: [],
                                  ramDigest: "", windowDigests: [], stats: [:], hostErrors: [], wallNanoseconds: 0)
            return Judge.judge(outcome, payload: payload, backend: backend, implementation: implementation, divergences: divergences)
        }
        let outcome = PayloadRunner(loaded).run()
        loaded.vm.close()
        return Judge.judge(outcome, payload: payload, backend: backend, implementation: implementation, divergences: divergences)
    }

    /// Every payload, `jobs` at a time, results in the order of `payloads`.
    public func run(_ payloads: [Payload], on hypervisor: any Hypervisor, backend: String, jobs: Int = 1,
                    progress: (@Sendable (PayloadResult) -> Void)? = nil) -> [PayloadResult] {
        _ = hypervisor.identity  // computed once, before threads share the hypervisor
        let box = HypervisorBox(hypervisor)
        let results = ResultSlots(count: payloads.count)
        DispatchQueue.concurrentPerform(iterations: max(1, min(jobs, payloads.count))) { worker in
            var i = worker
            while i < payloads.count {
                let r = run(payloads[i], on: box.hypervisor, backend: backend)
                results.set(i, r)
                progress?(r)
                i += max(1, jobs)
            }
        }
        return results.all
    }
}

/// The hypervisor objects are used from several threads: their fds and ioctls are
/// thread-safe, and the reference engine keeps all state per VM.
private final class HypervisorBox: @unchecked Sendable {
    let hypervisor: any Hypervisor
    init(_ h: any Hypervisor) { hypervisor = h }
}

private final class ResultSlots: @unchecked Sendable {
    private var slots: [PayloadResult?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: PayloadResult) { lock.lock(); slots[i] = r; lock.unlock() }
    var all: [PayloadResult] { lock.lock(); defer { lock.unlock() }; return slots.compactMap { $0 } }
}
