/// The numbers of a run, kept as payloads complete so every report (text SUMMARY and table,
/// TAP, JUnit, JSON) states the same counts in the same units without keeping the results:
/// - payload runs: one payload on one backend (a TAP test point, a JUnit testcase);
/// - comparisons: one payload's outcomes on two backends (also a test point / testcase);
/// - migrated runs (`--migrate`): a run saved and restored into new VMs, compared with a
///   plain run (also a test point / testcase);
/// - checks: the records a payload run reported (plus the harness's lines about the run).
public struct RunTally: Sendable, Equatable {
    /// Counts by verdict, in one unit.
    public struct Counts: Sendable, Equatable {
        public var pass = 0, fail = 0, xfail = 0, xpass = 0, skip = 0
        public var total: Int { pass + fail + xfail + xpass + skip }

        mutating func add(_ v: Verdict) {
            switch v {
            case .pass: pass += 1
            case .fail: fail += 1
            case .xfail: xfail += 1
            case .xpass: xpass += 1
            case .skip: skip += 1
            }
        }
    }

    /// Comparisons by verdict.
    public struct ComparisonCounts: Sendable, Equatable {
        public var agree = 0, diverge = 0, expectedDivergence = 0, skip = 0
        public var total: Int { agree + diverge + expectedDivergence + skip }

        mutating func add(_ v: Comparison.Verdict) {
            switch v {
            case .agree: agree += 1
            case .diverge: diverge += 1
            case .expectedDivergence: expectedDivergence += 1
            case .skip: skip += 1
            }
        }
    }

    /// One group's share of the run.
    public struct Group: Sendable, Equatable {
        public var name: String
        public var runs = Counts()
        public var checks = Counts()
        public var comparisons = ComparisonCounts()
    }

    public var runs = Counts()
    public var checks = Counts()
    public var comparisons = ComparisonCounts()
    public var migrations = ComparisonCounts()
    /// In the order they first completed.
    public private(set) var groups: [Group] = []

    public init() {}

    public init(_ reports: [PayloadReport]) {
        for r in reports { add(r) }
    }

    public mutating func add(_ report: PayloadReport) {
        if !groups.contains(where: { $0.name == report.group }) { groups.append(Group(name: report.group)) }
        let g = groups.firstIndex { $0.name == report.group }!
        for r in report.results {
            runs.add(r.verdict)
            groups[g].runs.add(r.verdict)
            for l in r.lines {
                checks.add(l.verdict)
                groups[g].checks.add(l.verdict)
            }
        }
        if let c = report.comparison {
            comparisons.add(c.verdict)
            groups[g].comparisons.add(c.verdict)
        }
        for m in report.migrations { migrations.add(m.verdict) }
    }

    /// Test points (TAP) and testcases (JUnit): payload runs, comparisons, migrated runs.
    public var testPoints: Int { runs.total + comparisons.total + migrations.total }

    /// Whether the run fails: an unexpected failure or divergence, or with `strict` an XPASS.
    /// The exit status and the TAP/JUnit verdicts all follow this rule.
    public func failed(strict: Bool) -> Bool {
        runs.fail > 0 || comparisons.diverge > 0 || migrations.diverge > 0 || (strict && runs.xpass > 0)
    }

    /// How many test points a run of `payloads` payloads on `backends` backends has: the TAP
    /// plan. With `migrate`, each payload adds one migrated run per backend and, with two
    /// backends, two that go back and forth between them (MigratedRuns).
    public static func plannedTestPoints(payloads: Int, backends: Int, migrate: Bool = false) -> Int {
        payloads * (backends + (backends >= 2 ? 1 : 0) + (migrate ? backends + (backends >= 2 ? 2 : 0) : 0))
    }
}

extension PayloadResult {
    /// Why a skipped run was skipped: its first SKIP line.
    public var skipReason: String { lines.first { $0.verdict == .skip }?.text ?? "skipped" }
}
