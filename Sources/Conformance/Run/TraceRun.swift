import GuestPayloads
import KVMABI

/// One payload run with its exit trace as lines (for `kvm-unit trace`).
public enum TraceRun {
    public static func run(_ payload: Payload, on hypervisor: any Hypervisor, backend: String,
                           divergences: KnownDivergences = .builtIn) -> (lines: [String], result: PayloadResult) {
        let implementation = hypervisor.identity.implementation
        let loaded: LoadedPayload
        do {
            loaded = try LoadedPayload(payload, on: hypervisor)
        } catch {
            let r = Judge.skipped(payload, backend: backend, implementation: implementation, reason: error.description)
            return (["setup: \(error)"], r)
        }
        var lines: [String] = []
        var runner = PayloadRunner(loaded)
        runner.traceSink = { lines.append($0) }
        let outcome = runner.run()
        loaded.vm.close()
        let r = Judge.judge(outcome, payload: payload, backend: backend, implementation: implementation, divergences: divergences)
        return (lines, r)
    }
}
