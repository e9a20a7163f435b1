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
    /// Why a divergence is expected (the known-divergence reason), when it is.
    public var reason: String?
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
        let checksA = a.checks.map(key), checksB = b.checks.map(key)
        if checksA != checksB {
            aspects.append("checks")
            if let i = checksA.indices.first(where: { $0 < checksB.count && checksA[$0] != checksB[$0] }) {
                details.append("check \(i + 1): \(names.0) \(a.checks[i].kind) \(a.checks[i].summary); \(names.1) \(b.checks[i].kind) \(b.checks[i].summary)")
            } else {
                details.append("checks: \(names.0) reported \(a.checks.count), \(names.1) reported \(b.checks.count)")
            }
        }
        if invariantsOnly { return (aspects, details) }

        if a.trace != b.trace {
            aspects.append("trace")
            let common = min(a.trace.count, b.trace.count)
            let i = (0..<common).first { a.trace[$0] != b.trace[$0] } ?? common
            details.append("first differing exit is #\(i + 1):")
            for j in max(0, i - contextExits)..<i { details.append("    #\(j + 1) both: \(a.trace[j])") }
            details.append("  > #\(i + 1) \(names.0): \(i < a.trace.count ? a.trace[i].description : "(no more exits)")")
            details.append("  > #\(i + 1) \(names.1): \(i < b.trace.count ? b.trace[i].description : "(no more exits)")")
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

    private static func invariantKey(_ c: CheckRecord) -> String { "\(c.line):\(c.kind.rawValue)" }

    private static func checkKey(_ c: CheckRecord) -> String {
        "\(c.line):\(c.kind.rawValue):\(c.expected):\(c.actual):\(c.aux)"
    }
}
