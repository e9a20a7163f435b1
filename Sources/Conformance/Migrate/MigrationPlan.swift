import KVMABI

/// When and where a run migrates (`kvm-unit run --migrate[=N]`): after every `every`-th
/// exit the whole VM is saved and restored into a new VM on the next of `targets`, in turn
/// (one target: the run's own backend; two: back and forth between backends).
struct MigrationPlan {
    var every: Int
    var targets: [any Hypervisor]
}
