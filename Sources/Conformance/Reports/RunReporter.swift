#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Glibc

/// Every report of one `kvm-unit run`, fed as payloads complete: the text report or TAP on
/// stdout, the JSON report streamed to its file, the JUnit testcases kept for the end, and
/// the counts (`RunTally`) they all state. The outcomes themselves are dropped once written,
/// so memory does not grow with the number of runs.
public final class RunReporter: @unchecked Sendable {
    public enum Format: Sendable { case text, tap }

    public struct Options: Sendable {
        public var format: Format = .text
        public var verbose = false
        public var strict = false
        public var junitPath: String?
        public var jsonPath: String?
        /// `--interleave-seed`, recorded in the JSON report's header.
        public var interleaveSeed: UInt64?
        /// `--migrate`: the TAP plan counts the migrated runs.
        public var migrate = false
        /// The suite's own version and commit for the JSON report's `suite` field: null until
        /// this binary's `SuiteVersion` unless a caller says otherwise.
        public var suite = JSONReport.SuiteIdentity(version: SuiteVersion.version, commit: SuiteVersion.commit, buildDate: SuiteVersion.buildDate)

        public init(format: Format = .text, verbose: Bool = false, strict: Bool = false, junitPath: String? = nil,
                    jsonPath: String? = nil) {
            self.format = format; self.verbose = verbose; self.strict = strict
            self.junitPath = junitPath; self.jsonPath = jsonPath
        }
    }

    private let options: Options
    private let out: (String) -> Void
    private let junitFile: ReportFile?
    private let jsonFile: ReportFile?
    private var tap: TAPReport?
    private var junit: JUnitReport?
    private var json: JSONReport?
    public private(set) var tally = RunTally()
    /// Reasons of the aspect entries the comparisons used, printed once at the end.
    private var recordedReasons: [String: String] = [:]

    /// Opens the report files now, before anything runs: a path that cannot be written is
    /// one line (the error's description) and exit 2, not a lost report after the run.
    /// `out` receives stdout lines (the default prints and flushes each).
    public init(_ options: Options, out: ((String) -> Void)? = nil) throws(ReportFile.OpenError) {
        self.options = options
        self.out = out ?? { print($0); fflush(nil) }  // nil: all streams; Swift 6 will not touch the C global stdout
        junitFile = try options.junitPath.map { p throws(ReportFile.OpenError) in try ReportFile(path: p) }
        jsonFile = try options.jsonPath.map { p throws(ReportFile.OpenError) in try ReportFile(path: p) }
    }

    /// Headers: each backend's identity, the TAP plan, the JSON header.
    public func begin(backends: [ReportedBackend], identities: [String], payloads: Int) {
        switch options.format {
        case .text: out("kvm-unit: suite \(SuiteVersion.description)"); identities.forEach(out)
        case .tap:
            tap = TAPReport(plan: RunTally.plannedTestPoints(payloads: payloads, backends: backends.count, migrate: options.migrate),
                            backends: backends, strict: options.strict, emit: out)
        }
        if junitFile != nil { junit = JUnitReport(backends: backends, strict: options.strict) }
        if let f = jsonFile { json = JSONReport(backends: backends, strict: options.strict, suite: options.suite,
                                                     interleaveSeed: options.interleaveSeed, emit: f.write) }
    }

    /// One payload's report; callers deliver them one at a time (SuiteRunner does).
    public func add(_ report: PayloadReport) {
        tally.add(report)
        for c in [report.comparison].compactMap({ $0 }) + report.migrations { recordedReasons.merge(c.recordedReasons) { a, _ in a } }
        switch options.format {
        case .text: TextReport.lines(report, verbose: options.verbose).forEach(out)
        case .tap: tap?.add(report)
        }
        junit?.add(report)
        json?.add(report)
    }

    /// Closing lines and files. Returns the exit status: 0, 1 when the run failed (an
    /// unexpected failure or divergence, or an XPASS with `strict`), 2 when a report could
    /// not be written (its line on stderr).
    public func finish() -> Int32 {
        switch options.format {
        case .text:
            if !recordedReasons.isEmpty {
                out("recorded divergences behind the differing aspects above (once per run):")
                for (key, reason) in recordedReasons.sorted(by: { $0.key < $1.key }) { out("  \(key): \(reason)") }
            }
            out(TextReport.table(tally))
            TextReport.summaryLines(tally).forEach(out)
        case .tap: tap?.finish(tally)
        }
        if let j = junit, let f = junitFile { f.write(j.render()) }
        if let j = json { j.finish(tally) }
        var status: Int32 = tally.failed(strict: options.strict) ? 1 : 0
        for f in [junitFile, jsonFile].compactMap({ $0 }) {
            f.close()
            if let e = f.writeError {
                let line = "kvm-unit: \(e)\n"; _ = line.withCString { Glibc.write(2, $0, strlen($0)) }
                status = 2
            }
        }
        return status
    }
}
