import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc

/// `kvm-unit selftest`: checks of the suite itself, run in a process of their own (hidden).
struct Selftest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Checks of the suite's own machinery.",
        shouldDisplay: false,
        subcommands: [LifecycleLeaks.self, ReportMemory.self])
}

struct LifecycleLeaks: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifecycle-leaks",
        abstract: "Run HostKVM VM lifecycles; fail if the process's fd or mapping count changed.")

    @Option(name: .long, help: "How many lifecycles.")
    var count: Int = 1000

    @Option(name: .long, help: "The KVM device node.")
    var device: String = "/dev/kvm"

    func run() throws {
        let r: LifecycleLeakCheck.Report
        do {
            r = try LifecycleLeakCheck.run(count: count, device: device)
        } catch let e as BackendUnavailable {
            writeStandardError("kvm-unit selftest lifecycle-leaks: \(e.description)\n")
            throw ExitCode(2)
        } catch {
            writeStandardError("kvm-unit selftest lifecycle-leaks: \(error)\n")
            throw ExitCode(1)
        }
        print("lifecycles \(r.lifecycles)")
        print("fds before/after \(r.fdsBefore)/\(r.fdsAfter)")
        print("mappings before/after \(r.mappingsBefore)/\(r.mappingsAfter)")
        print(r.leaks ? "LEAK" : "OK")
        if r.leaks { throw ExitCode(1) }
    }
}
