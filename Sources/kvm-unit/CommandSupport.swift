import Conformance
import KVMABI

/// `--backend` and `--device` as every subcommand reads them: the backends, or exit 2 with
/// the reason (a named device must open; no fallback to ref alone).
func openBackends(_ backend: String?, device: String?) -> [(name: String, hypervisor: any Hypervisor)] {
    do {
        return try Backends.open(backend, device: device ?? "/dev/kvm", deviceGiven: device != nil) { line in
            writeStandardError(line + "\n")
        }
    } catch { fail(error.description) }
}

/// The built-in known-divergence table, plus a `--divergences` file when one is named.
func knownDivergences(adding path: String?) -> KnownDivergences {
    var table = KnownDivergences.builtIn
    if let path { table = table.adding(loadDivergenceFile(path)) }
    return table
}
