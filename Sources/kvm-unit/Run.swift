import ArgumentParser
import Conformance
import Foundation
import GuestPayloads
import KVMABI

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run payloads and report kvm-unit-tests-style results.",
        discussion: """
        Exit status: 0 when everything passed (or failed as a recorded known divergence),
        1 on an unexpected failure, 2 on a usage or setup error.
        """)

    @Argument(help: "Payload names, globs (mmu.pf_*) or payload files (x.bin). Default: the whole catalogue.")
    var payloads: [String] = []

    @Option(name: .shortAndLong, help: "Only this group: exits, mmu, emulator or irq.")
    var group: String?

    @Option(name: .long, help: "kvm (the host's /dev/kvm).")
    var backend: String = "kvm"

    @Option(name: .long, help: "The KVM device node for the kvm backend.")
    var device: String = "/dev/kvm"

    @Option(name: .customShort("j"), help: "Payloads run in parallel.")
    var jobs: Int = 1

    @Option(name: .long, help: "A known-divergence table to use instead of the built-in one.")
    var divergences: String?

    @Flag(name: .long, help: "Fail the run on XPASS: a recorded divergence that no longer diverges.")
    var strict = false

    @Flag(name: .shortAndLong, help: "Print every check, not only the ones that did not pass.")
    var verbose = false

    func run() throws {
        let g = try parseGroup(group)
        guard jobs >= 1 else { fail("-j wants a positive number of jobs") }
        let selected: [Payload]
        do { selected = try Selection.resolve(payloads, group: g) } catch { fail(error.description) }
        let table: KnownDivergences
        if let path = divergences {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("\(path): cannot read the divergence table") }
            do { table = try KnownDivergences.parse(text) } catch { fail("\(path): \(error)") }
        } else {
            table = .builtIn
        }
        guard backend == "kvm" else { fail("unknown backend \"\(backend)\": want kvm") }
        let host: any Hypervisor
        do { host = try Backends.openHost(device: device) } catch { fail(error.description) }
        print(TextReport.header(host.identity, backend: backend))

        let verbose = self.verbose
        let printer = LinePrinter()
        let results = SuiteRunner(divergences: table).run(selected, on: host, backend: backend, jobs: jobs) { r in
            printer.print(TextReport.lines(r, verbose: verbose))
        }
        print(TextReport.summary(results))
        let failed = results.contains { $0.verdict == .fail } || (strict && results.contains { $0.verdict == .xpass })
        if failed { throw ExitCode(1) }
    }
}

/// Keeps the lines of one payload together when payloads finish on several threads.
final class LinePrinter: @unchecked Sendable {
    private let lock = NSLock()
    func print(_ lines: [String]) {
        lock.lock()
        defer { lock.unlock() }
        for l in lines { Swift.print(l) }
        fflush(nil)  // all streams: stdout is a C global Swift 6 will not touch from here
    }
}
