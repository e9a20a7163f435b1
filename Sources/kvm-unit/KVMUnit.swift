import ArgumentParser
import Conformance

/// kvm-unit: the command line of the KVM conformance suite. Every subcommand is a thin
/// caller of the Conformance library.
@main
struct KVMUnit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvm-unit",
        abstract: "Conformance suite for the Linux KVM userspace ABI on x86, with a reference hypervisor.",
        subcommands: [List.self, Run.self, Trace.self, Probe.self, Bench.self, Selftest.self])
}
