import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import GuestPayloads
import KVMABI

/// `kvm-unit selftest report-memory`: one payload run `--count` times through the run's
/// streaming path (SuiteRunner delivering to every report), then the process's peak RSS.
/// Issue 15's acceptance: 4,000 runs of a minimal payload stay under 100 MB.
struct ReportMemory: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report-memory",
        abstract: "Run one payload many times through every report; print the peak RSS.")

    @Argument(help: "The payload (a catalogue name).")
    var payload: String = "io_dx_port"

    @Option(name: .long, help: "How many runs.")
    var count: Int = 4000

    @Option(name: .long, help: "kvm, ref or both.")
    var backend: String = "ref"

    @Option(name: .customShort("j"), help: "Payloads run in parallel.")
    var jobs: Int = 2

    @Flag(name: .long, help: "Also keep every report until the end, as the run did before it streamed (for comparison).")
    var keepResults = false

    func run() throws {
        guard count >= 1, let p = Catalogue.named(payload) else { fail("want --count >= 1 and a catalogue payload name") }
        let options = RunReporter.Options(format: .tap, junitPath: "/dev/null", jsonPath: "/dev/null")
        let reporter: RunReporter
        do { reporter = try RunReporter(options, out: { _ in }) } catch { fail(error.description) }
        let backends: [(name: String, hypervisor: any Hypervisor)]
        do { backends = try Backends.open(backend, device: "/dev/kvm") { _ in } } catch { fail(error.description) }
        reporter.begin(backends: backends.map { ReportedBackend(name: $0.name, identity: $0.hypervisor.identity) },
                       identities: [], payloads: count)
        let kept = KeptReports()
        let keep = keepResults
        SuiteRunner().run(Array(repeating: p, count: count), on: backends, jobs: jobs) { _, r in
            reporter.add(r)
            if keep { kept.reports.append(r) }
        }
        _ = reporter.finish()
        print("runs \(reporter.tally.runs.total) (\(TextReport.summary(reporter.tally)))")
        print("kept reports \(kept.reports.count)")
        print("peak RSS \(Self.status("VmHWM") ?? "unknown"), now \(Self.status("VmRSS") ?? "unknown")")
    }

    /// A field of /proc/self/status, e.g. `VmHWM` (peak resident set) as "51234 kB".
    static func status(_ field: String) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            .map { String($0.dropFirst(field.count + 1).drop { $0 == " " || $0 == "\t" }) }
    }
}

/// Reports kept by the (serialised) delivery callback.
private final class KeptReports: @unchecked Sendable { var reports: [PayloadReport] = [] }
