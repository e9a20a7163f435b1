import GuestPayloads
import KVMABI

/// One payload run with its exit trace as lines (for `kvm-unit trace`).
public enum TraceRun {
    public static func run(_ payload: Payload, on hypervisor: any Hypervisor, backend: String,
                           divergences: KnownDivergences = .builtIn) -> (lines: [String], result: PayloadResult) {
        var lines: [String] = []
        let result = SuiteRunner(divergences: divergences).run(payload, on: hypervisor, backend: backend) { lines.append($0) }
        return (lines, result)
    }
}
