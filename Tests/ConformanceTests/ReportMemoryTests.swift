import Foundation
import Testing

/// Results stream to the reports and are dropped (issue 15 point 3): the peak RSS of a run
/// does not grow with the number of payload runs. Measured in child processes (`kvm-unit
/// selftest report-memory`), since this process runs other tests meanwhile.
@Suite("Run memory", .serialized)
struct ReportMemoryTests {
    /// Peak RSS in kB after `count` runs of a minimal payload on the reference engine.
    static func peak(count: Int, keep: Bool) throws -> Int? {
        let r = try ExternalTool.run(ExternalTool.kvmUnit.path,
                                     ["selftest", "report-memory", "--count", String(count), "io_dx_port"] + (keep ? ["--keep-results"] : []))
        guard r.status == 0, let line = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("peak RSS ") }) else { return nil }
        return Int(line.dropFirst("peak RSS ".count).prefix { $0.isNumber })
    }

    @Test("1,200 more runs add under 2 MB of peak RSS; keeping the reports (the old way) adds more than 3 MB",
          .enabled(if: RunReportPathTests.available, "kvm-unit is not built next to the test binary"))
    func streamingKeepsMemoryFlat() throws {
        let small = try #require(try Self.peak(count: 300, keep: false))
        let large = try #require(try Self.peak(count: 1500, keep: false))
        print("peak RSS streaming: 300 runs \(small) kB, 1500 runs \(large) kB")
        #expect(large - small < 2048, "streaming: \(small) kB -> \(large) kB")
        // The measurement can see growth: the same runs with every report kept.
        let keptSmall = try #require(try Self.peak(count: 300, keep: true))
        let keptLarge = try #require(try Self.peak(count: 1500, keep: true))
        print("peak RSS keeping reports: 300 runs \(keptSmall) kB, 1500 runs \(keptLarge) kB")
        #expect(keptLarge - keptSmall > 3072, "kept: \(keptSmall) kB -> \(keptLarge) kB")
    }
}
