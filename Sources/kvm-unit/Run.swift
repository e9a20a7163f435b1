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

    @Option(name: .long, help: "A known-divergence table to use instead of the built-in one.")
    var divergences: String?

    @Flag(name: .long, help: "Fail the run on XPASS: a recorded divergence that no longer diverges.")
    var strict = false

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
        let selected: [Payload]
        do { selected = try Selection.resolve(payloads, group: g) } catch { fail(error.description) }
        let logs = logDir.map { LogDirectory($0, payloads: selected) }
        let table: KnownDivergences
        if let path = divergences {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("\(path): cannot read the divergence table") }
            do { table = try KnownDivergences.parse(text) } catch { fail("\(path): \(error)") }
        } else {
            table = .builtIn
        }
        let backends: [(name: String, hypervisor: any Hypervisor)]
        do {
            backends = try Backends.open(backend, device: device ?? "/dev/kvm", deviceGiven: device != nil) { line in
                writeStandardError((line + "\n"))
            }
        } catch { fail(error.description) }

        let text = !tap
        if text { for b in backends { print(TextReport.header(b.hypervisor.identity, backend: b.name)) } }
        let verbose = self.verbose
        let printer = LinePrinter()
        let reports = SuiteRunner(divergences: table).run(selected, on: backends, jobs: jobs) { r in
            if text { printer.print(TextReport.lines(r, verbose: verbose)) }
            logs?.write(r)
        }
        if tap {
            print(TAPReport.render(reports), terminator: "")
        } else {
            print(TextReport.table(reports))
            print(TextReport.summary(reports))
        }
        let implementations = Dictionary(uniqueKeysWithValues: backends.map { ($0.name, $0.hypervisor.identity.summary) })
        if let path = junit {
            let impl = backends.map { "\($0.name): \($0.hypervisor.identity.implementation)" }.joined(separator: ", ")
            write(JUnitReport.render(reports, implementation: impl), to: path)
        }
        if let path = json {
            do { write(try JSONReport.render(reports, implementations: implementations), to: path) } catch { fail("\(path): \(error)") }
        }
        logs?.finish()
        let results = reports.flatMap(\.results)
        let failed = results.contains { $0.verdict == .fail }
            || reports.contains { $0.comparison?.verdict == .diverge }
            || (strict && results.contains { $0.verdict == .xpass })
        if failed { throw ExitCode(1) }
    }

    private func write(_ s: String, to path: String) { write(Data(s.utf8), to: path) }
    private func write(_ d: Data, to path: String) {
        guard FileManager.default.createFile(atPath: path, contents: d) else { fail("\(path): cannot write the report") }
    }
}

/// Keeps the lines of one payload together when payloads finish on several threads.
final class LinePrinter: @unchecked Sendable {
    private let lock = Mutex(())
    func print(_ lines: [String]) {
        lock.withLock { _ in
            for l in lines { Swift.print(l) }
            fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch from here
        }
    }
}
