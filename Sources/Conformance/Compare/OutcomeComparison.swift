/// The comparison of two backends' outcomes for one payload.
public struct Comparison: Sendable, Codable {
    public enum Verdict: String, Sendable, Codable {
        case agree = "AGREE"
        case diverge = "DIVERGE"
        /// Diverges where a recorded known divergence says it will.
        case expectedDivergence = "XDIVERGE"
        /// One side did not run.
        case skip = "SKIP"
    }

    public var verdict: Verdict
    /// Every aspect that differs, first the most telling: "end", "checks", "trace", "registers", "ram", "windows", "stats".
    public var differingAspects: [String]
    /// Human-readable account of the first difference, with context.
    public var details: [String]
    /// Why a divergence is expected (the known-divergence reason), or which differing
    /// aspects of an agreeing payload are recorded.
    public var reason: String?
    /// The recorded entries (`IMPLEMENTATION SCOPE WHAT`) that explain differing aspects;
    /// their reasons are printed once per run.
    public var recorded: [String] = []
    /// The reason of each entry in `recorded`, by its key.
    public var recordedReasons: [String: String] = [:]
    /// What was compared, when it is not the payload's runs on two backends: a migrated run
    /// against a plain one (`kvm-unit run --migrate`).
    public var label: String? = nil
}

/// A register that differs, with the RFLAGS bits named when it is RFLAGS.
public struct RegisterDifference: Sendable, Codable, Equatable {
    public var name: String
    public var values: [UInt64]
    public var flagBits: [String]

    public var description: String {
        let v = values.map { "0x" + String($0, radix: 16) }.joined(separator: " vs ")
        return flagBits.isEmpty ? "\(name): \(v)" : "\(name): \(v) (differs in \(flagBits.joined(separator: ", ")))"
    }
}

public enum OutcomeComparison {
    /// RFLAGS bit names (SDM Vol. 1 3.4.3).
    static let flagNames: [(Int, String)] = [
        (0, "CF"), (2, "PF"), (4, "AF"), (6, "ZF"), (7, "SF"), (8, "TF"), (9, "IF"), (10, "DF"), (11, "OF"),
        (12, "IOPL0"), (13, "IOPL1"), (14, "NT"), (16, "RF"), (17, "VM"), (18, "AC"), (19, "VIF"), (20, "VIP"), (21, "ID"),
    ]

    public static func flagBits(_ diff: UInt64) -> [String] {
        flagNames.filter { diff & (1 << UInt64($0.0)) != 0 }.map(\.1)
            + (diff & ~flagNames.reduce(UInt64(0)) { $0 | 1 << UInt64($1.0) } != 0 ? ["reserved bits"] : [])
    }

    /// Exits shown before the first differing one.
    static let contextExits = 3

    /// Compares outcome `a` (backend `names.0`) with `b`. With `invariantsOnly` (payloads
    /// driven by timers or injected interrupts) only the end and the check records count:
    /// how many polling exits a wait took is timing, not behaviour.
    public static func compare(_ a: Outcome, _ b: Outcome, names: (String, String), invariantsOnly: Bool) -> (aspects: [String], details: [String]) {
        var aspects: [String] = []
        var details: [String] = []

        if a.end != b.end {
            aspects.append("end")
            details.append("end: \(names.0) \(a.end), \(names.1) \(b.end)")
        }
        // With invariants only, a check's values may be timing (how many ticks by now);
        // its line and verdict are the invariant.
        let key = invariantsOnly ? invariantKey : checkKey
        // Several vCPUs report in an order that is timing; each vCPU's own order is not.
        let recordsA = byVCPU(a.checks), recordsB = byVCPU(b.checks)
        let checksA = recordsA.map(key), checksB = recordsB.map(key)
        if checksA != checksB {
            aspects.append("checks")
            if let i = checksA.indices.first(where: { $0 < checksB.count && checksA[$0] != checksB[$0] }) {
                details.append("check \(i + 1): \(names.0) \(recordsA[i].kind) \(recordsA[i].summary); \(names.1) \(recordsB[i].kind) \(recordsB[i].summary)")
            } else {
                details.append("checks: \(names.0) reported \(a.checks.count), \(names.1) reported \(b.checks.count)")
            }
        }
        if invariantsOnly { return (aspects, details) }

        if !sameTrace(a, b) {
            aspects.append("trace")
            details += traceDifference(a, b, names: names)
        }
        let regDiffs = registerDifferences(a.registers, b.registers)
        if !regDiffs.isEmpty {
            aspects.append("registers")
            details.append("registers: " + regDiffs.map(\.description).joined(separator: "; "))
        }
        if a.ramDigest != b.ramDigest {
            aspects.append("ram")
            details.append("guest RAM differs\(firstDifferingPage(a.ramPageDigests, b.ramPageDigests)) (digest \(names.0) \(a.ramDigest), \(names.1) \(b.ramDigest))")
        }
        if a.windowDigests != b.windowDigests {
            aspects.append("windows")
            details.append("MMIO window contents or access logs differ")
        }
        let statNames = Set(a.stats.keys).union(b.stats.keys).sorted()
        let statDiffs = statNames.filter { a.stats[$0] != b.stats[$0] }
        if !statDiffs.isEmpty {
            aspects.append("stats")
            details.append("stats: " + statDiffs.map { "\($0) \(a.stats[$0].map(String.init) ?? "-") vs \(b.stats[$0].map(String.init) ?? "-")" }.joined(separator: ", "))
        }
        return (aspects, details)
    }

    /// Whole traces when both were kept whole; otherwise the digests over every exit.
    static func sameTrace(_ a: Outcome, _ b: Outcome) -> Bool {
        if a.traceCut == nil && b.traceCut == nil { return a.trace == b.trace }
        return a.traceExits == b.traceExits && !a.traceDigest.isEmpty && a.traceDigest == b.traceDigest
    }

    /// Where two traces part. Exact when the first difference lies in exits both runs kept
    /// from the start; otherwise the range it must lie in, and whose exits were not kept.
    static func traceDifference(_ a: Outcome, _ b: Outcome, names: (String, String)) -> [String] {
        func show(_ o: Outcome, _ i: Int) -> String {
            if let e = o.traceEvent(at: i) { return e.description }
            return i < o.traceExits ? "(not kept: \(o.traceCut.map(\.description) ?? ""))" : "(no more exits)"
        }
        func around(_ i: Int) -> [String] {
            (max(0, i - contextExits)..<i).compactMap { j in
                guard let e = a.traceEvent(at: j), e == b.traceEvent(at: j) else { return nil }
                return "    #\(j + 1) both: \(e)"
            }
                + ["  > #\(i + 1) \(names.0): \(show(a, i))", "  > #\(i + 1) \(names.1): \(show(b, i))"]
        }
        let known = min(a.traceKeptPrefix, b.traceKeptPrefix)
        if let i = (0..<known).first(where: { a.trace[$0] != b.trace[$0] }) {
            return ["first differing exit is #\(i + 1):"] + around(i)
        }
        // Both kept every exit up to `known`: if one run ended there, that is the difference.
        if known == a.traceExits || known == b.traceExits {
            return ["first differing exit is #\(known + 1):"] + around(known)
        }
        // The first `known` exits agree and at least one side did not keep what follows.
        let shorter = min(a.traceExits, b.traceExits)
        let lastCandidate = (known..<shorter).first { i in
            guard let x = a.traceEvent(at: i), let y = b.traceEvent(at: i) else { return false }
            return x != y
        } ?? (a.traceExits != b.traceExits ? shorter : nil)
        let cuts = [(names.0, a), (names.1, b)].compactMap { n, o in o.traceCut.map { "\(n) \($0.description)" } }
        var out = ["the first \(known) exits agree; the first differing exit is after #\(known), among exits not kept ("
                   + cuts.joined(separator: "; ") + ")"]
        if let j = lastCandidate {
            out[0] += ", at or before #\(j + 1):"
            out += around(j)
        } else {
            out[0] += ": the kept exits agree, the digests over all \(a.traceExits) exits differ"
        }
        return out
    }

    /// ", first in the page at GPA 0x5000-0x5fff (3 pages differ)", or "" when the page
    /// digests do not tell (a run that never started, RAM sizes that differ).
    static func firstDifferingPage(_ a: [UInt64], _ b: [UInt64]) -> String {
        guard !a.isEmpty, a.count == b.count else { return "" }
        let differing = a.indices.filter { a[$0] != b[$0] }
        guard let first = differing.first else { return "" }
        let start = first * ramPageSize, end = start + ramPageSize - 1
        return ", first in the page at GPA 0x\(String(start, radix: 16))-0x\(String(end, radix: 16))"
            + " (\(differing.count) page\(differing.count == 1 ? "" : "s") differ\(differing.count == 1 ? "s" : ""))"
    }

    public static func registerDifferences(_ a: [RegisterValue], _ b: [RegisterValue]) -> [RegisterDifference] {
        var out: [RegisterDifference] = []
        for ra in a {
            guard let rb = b.first(where: { $0.name == ra.name }), rb.value != ra.value else { continue }
            out.append(RegisterDifference(name: ra.name, values: [ra.value, rb.value],
                                          flagBits: ra.name == "rflags" ? flagBits(ra.value ^ rb.value) : []))
        }
        return out
    }

    private static func invariantKey(_ c: CheckRecord) -> String { "\(c.vcpu.map { "\($0)/" } ?? "")\(c.line):\(c.kind.rawValue)" }

    /// The records grouped by vCPU (stable: each vCPU's in the order it sent them).
    private static func byVCPU(_ checks: [CheckRecord]) -> [CheckRecord] {
        guard checks.contains(where: { $0.vcpu != nil }) else { return checks }
        return checks.enumerated().sorted { ($0.element.vcpu ?? 0, $0.offset) < ($1.element.vcpu ?? 0, $1.offset) }.map(\.element)
    }

    private static func checkKey(_ c: CheckRecord) -> String {
        "\(c.line):\(c.kind.rawValue):\(c.expected):\(c.actual):\(c.aux)"
    }
}
