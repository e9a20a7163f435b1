import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Glibc
#endif
import Dispatch
import Glibc

/// kvm-unit: the command line of the KVM conformance suite. Every subcommand is a thin
/// caller of the Conformance library.
@main
struct KVMUnit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kvm-unit",
        abstract: "Conformance suite for the Linux KVM userspace ABI on x86, with a reference hypervisor.",
        discussion: "Exit status: 0 success, 1 an unexpected failure or divergence, 2 a usage or setup error.",
        version: SuiteVersion.description,
        subcommands: [List.self, Run.self, Trace.self, Probe.self, ABI.self, Divergences.self, Bench.self, Fuzz.self, Selftest.self])

    /// ArgumentParser's own `main`, with one change: usage and validation errors exit 2
    /// (the status the README promises for every subcommand), not EX_USAGE (64).
    static func main() {
        do {
            var command = try parseAsRoot(optionalValues(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch {
            exit(withError: error, usageStatus: 2)
        }
    }

    /// `run --migrate` may stand without its value (ArgumentParser options always take one):
    /// it is spelt `--migrate=1` here; `--migrate N` and `--migrate=N` pass as they are.
    static func optionalValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        for (i, a) in arguments.enumerated() {
            if a == "--migrate" && (i + 1 == arguments.count || Int(arguments[i + 1]) == nil) {
                out.append("--migrate=\(Run.defaultMigrateEvery)")
            } else {
                out.append(a)
            }
        }
        return out
    }

    static func exit(withError error: Error, usageStatus: Int32) -> Never {
        if exitCode(for: error) == .validationFailure {
            writeStandardError(fullMessage(for: error) + "\n")
            Glibc.exit(usageStatus)
        }
        exit(withError: error)
    }
}
