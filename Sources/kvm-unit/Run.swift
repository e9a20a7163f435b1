import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import GuestPayloads
import KVMABI
import Synchronization

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run payloads and report kvm-unit-tests-style results.",
        discussion: """
        Exit status: 0 when everything passed or agreed (or failed or diverged as a recorded
        known divergence), 1 on an unexpected failure or divergence, 2 on a usage or setup error.
        """)

    @Argument(help: "Payload names, globs (mmu.pf_*) or payload files (x.bin). Default: the whole catalogue.")
    var payloads: [String] = []

    @Option(name: .shortAndLong, help: "Only this group: exits, mmu, emulator or irq.")
    var group: String?

    @Option(name: .long, help: "kvm, ref or both (default: both when the KVM device is usable, else ref).")
    var backend: String?

    @Option(name: .long, help: ArgumentHelp("The KVM device node for the kvm backend (default /dev/kvm). A device named here must open: no fallback to ref alone.", valueName: "path"))
    var device: String?

    @Option(name: .customShort("j"), help: "Payloads run in parallel.")
    var jobs: Int = 1

    @Option(name: .long, help: ArgumentHelp("A local known-divergence file, added to the built-in table (kvm-unit divergences prints it).", valueName: "file"))
    var divergences: String?

    @Flag(name: .long, help: "Use only the --divergences file (none when it is not given), not the built-in table.")
    var replaceDivergences = false

    @Flag(name: .long, help: "Fail the run on XPASS (a recorded divergence that no longer diverges) and, with --repeat, on a verdict that changes between runs.")
    var strict = false

    @Option(name: .long, help: "Run each payload this many times and report how often each verdict came up.")
    var `repeat`: Int = 1

    @Option(name: .long, help: ArgumentHelp("Run the vCPUs of several-vCPU payloads on the reference engine in a shuffled order drawn from this seed (default: round robin, 1000 instructions a turn), to find payloads whose verdict depends on the order.", valueName: "seed"))
    var interleaveSeed: UInt64?

    @Option(name: .long, help: ArgumentHelp("Also run each payload saved and restored into a new VM after every N exits (--migrate alone: every exit), within each backend and, with two, between them; each migrated run must end as the plain run did.", valueName: "N"))
    var migrate: Int?

    /// `--migrate` without a value (KVMUnit.main spells it `--migrate=1`).
    static let defaultMigrateEvery = 1

    @Option(name: .long, help: "Wall-clock limit of one payload run, in seconds (default: 4 µs per budgeted instruction, 2 to 20 s).")
    var timeout: Double?

    @Flag(name: .shortAndLong, help: "Print every check, not only the ones that did not pass.")
    var verbose = false

    @Flag(name: .long, help: "Print TAP13 on stdout instead of the text report.")
    var tap = false

    @Option(name: .long, help: "Also write a JUnit XML report to this file.")
    var junit: String?

    @Option(name: .long, help: "Also write a JSON report (outcomes and comparisons) to this file.")
    var json: String?

    @Option(name: .long, help: ArgumentHelp("Write one log per payload and backend into this directory (created if missing): exit trace, check records, registers, differences.", valueName: "dir"))
    var logDir: String?

    func run() throws {
        let g = try parseGroup(group)
        guard jobs >= 1 else { fail("-j wants a positive number of jobs") }
        guard self.repeat >= 1 else { fail("--repeat wants a positive number of runs") }
        if self.repeat > 1 && (tap || junit != nil || json != nil) { fail("--repeat reports counts only: it cannot be combined with --tap, --junit or --json") }
        if let m = migrate, m < 1 { fail("--migrate wants a positive number of exits between migrations") }
        if migrate != nil && self.repeat > 1 { fail("--migrate and --repeat cannot be combined") }
        let timeoutNanoseconds: UInt64?
        do { timeoutNanoseconds = try timeout.map(RunLimits.nanoseconds(seconds:)) } catch { fail(error.description) }
        let selected: [Payload]
        do { selected = try Selection.resolve(payloads, group: g) } catch { fail(error.description) }
        var options = RunReporter.Options(format: tap ? .tap : .text, verbose: verbose, strict: strict, junitPath: junit, jsonPath: json)
        options.interleaveSeed = interleaveSeed
        options.migrate = migrate != nil
        let reporter: RunReporter
        do { reporter = try RunReporter(options) } catch { fail(error.description) }  // before any payload runs
        let logs = logDir.map { LogDirectory($0, payloads: selected) }
        var table = replaceDivergences ? KnownDivergences(entries: []) : KnownDivergences.builtIn
        if let path = divergences { table = table.adding(loadDivergenceFile(path)) }
        let backends = openBackends(backend, device: device)

        var runner = SuiteRunner(divergences: table, timeoutNanoseconds: timeoutNanoseconds)
        runner.migrateEvery = migrate
        if let seed = interleaveSeed {
            runner.interleaving = .shuffled(seed: seed)
            // On stderr, so TAP on stdout stays pure; every report format is affected alike.
            writeStandardError("kvm-unit: several-vCPU payloads on the reference engine: \(runner.interleaving)\n")
        }
        // What the guests will really read with CPUID, once, before any payload: a backend
        // that answers other than its table is named in the header, and divergences it may
        // cause are attributed to it (issue 8; README, "Guest-visible CPUID").
        runner.guestCPUID = SuiteRunner.measureGuestCPUID(on: backends)
        if self.repeat > 1 {
            for (i, b) in backends.enumerated() {
                print(TextReport.header(b.hypervisor.identity, backend: b.name))
                runner.guestCPUID[i].headerLines(table).forEach { print($0) }
            }
            let reports = runner.runRepeated(selected, times: self.repeat, on: backends, jobs: jobs)
            for r in reports { for l in RepeatReport.lines(r, runs: self.repeat) { print(l) } }
            print(RepeatReport.summary(reports, runs: self.repeat))
            if RepeatReport.failed(reports, strict: strict) { throw ExitCode(1) }
            return
        }
        let seen = runner.guestCPUID
        reporter.begin(backends: backends.indices.map {
                           ReportedBackend(name: backends[$0].name, identity: backends[$0].hypervisor.identity,
                                           guestCPUID: seen[$0], divergences: table)
                       },
                       identities: backends.indices.flatMap {
                           [TextReport.header(backends[$0].hypervisor.identity, backend: backends[$0].name)]
                               + seen[$0].headerLines(table)
                       },
                       payloads: selected.count)
        runner.run(selected, on: backends, jobs: jobs) { _, r in
            reporter.add(r)
            logs?.write(r)
        }
        logs?.finish()
        let status = reporter.finish()
        if status != 0 { throw ExitCode(status) }
    }
}
