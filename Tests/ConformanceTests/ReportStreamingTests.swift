@testable import Conformance
import Foundation
import GuestPayloads
import Testing

/// Results reach the reports as each payload completes, and the exit status follows the
/// same rule as the reports' verdicts.
@Suite("Streaming reports")
struct ReportStreamingTests {
    final class Lines: @unchecked Sendable {
        var lines: [String] = []
    }

    @Test("SuiteRunner delivers each payload once, as it completes, one delivery at a time")
    func runnerDelivers() throws {
        let ref = try Backends.openReference()
        let payloads = ["io_dx_port", "io_latch_sizes", "cpuid_leaf0", "hlt_resume"].compactMap(Catalogue.named)
        try #require(payloads.count == 4)
        final class Seen: @unchecked Sendable { var indices: [Int] = []; var inside = 0; var overlapped = false }
        let seen = Seen()
        SuiteRunner().run(payloads, on: [("ref", ref)], jobs: 2) { i, r in
            seen.inside += 1
            if seen.inside > 1 { seen.overlapped = true }
            seen.indices.append(i)
            #expect(r.payload == payloads[i].name)
            usleep(2000)
            seen.inside -= 1
        }
        #expect(seen.indices.sorted() == [0, 1, 2, 3])
        #expect(!seen.overlapped)
    }

    @Test("TAP on stdout and JSON in its file are written at each add, before the run ends")
    func writtenAsTheyArrive() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = dir.appendingPathComponent("run.json").path
        let out = Lines()
        let reporter = try RunReporter(.init(format: .tap, jsonPath: json)) { out.lines.append($0) }
        let reports = SyntheticRun.reports()
        reporter.begin(backends: SyntheticRun.backends, identities: [], payloads: reports.count)
        reporter.add(reports[0])
        #expect(out.lines.contains { $0.hasPrefix("ok 1 - exits.pass_all [kvm]") })
        #expect(try String(contentsOfFile: json, encoding: .utf8).contains(#""payload":"pass_all""#), "streamed to the file")
        for r in reports.dropFirst() { reporter.add(r) }
        #expect(reporter.finish() == 1, "a FAIL and a DIVERGE: exit 1")
        #expect(out.lines.last?.hasPrefix("# SUMMARY: 14 payload runs") == true)
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any]
        #expect(doc?["exit_status"] as? Int == 1)
    }

    @Test("the exit status: 0 for expected failures and XPASS, 1 for XPASS under --strict, 2 when a report cannot be written")
    func exitStatus() throws {
        func status(_ options: RunReporter.Options) throws -> Int32 {
            let reporter = try RunReporter(options) { _ in }
            reporter.begin(backends: SyntheticRun.backends, identities: [], payloads: 6)
            for r in SyntheticRun.passingReports() { reporter.add(r) }
            return reporter.finish()
        }
        #expect(try status(.init()) == 0)
        #expect(try status(.init(strict: true)) == 1)
        #expect(try status(.init(junitPath: "/dev/full")) == 2)
    }
}
