/// The JSON report (docs/report.schema.json), streamed: the header when the run starts, one
/// payload per line as each completes, the summary at the end. Nothing is kept, so a run of
/// thousands of payloads does not grow in memory because of it.
///
/// Encodings: 64-bit values (registers, check values, addresses) are `"0x..."` strings;
/// counts are numbers; enums are their names, with payload fields spelt out.
public final class JSONReport {
    /// Bumped when a field changes meaning or disappears (adding a field does not bump it).
    public static let schemaVersion = 1

    /// The suite's own version and commit. The `SuiteVersion` type of the Conformance module
    /// fills this in when the CLI passes it; until then both are null.
    public struct SuiteIdentity: Sendable {
        public var version: String?
        public var commit: String?
        public var buildDate: String?
        public init(version: String? = nil, commit: String? = nil, buildDate: String? = nil) {
            self.version = version; self.commit = commit; self.buildDate = buildDate
        }
    }

    private let emit: (String) -> Void
    private let strict: Bool
    private var first = true

    /// Writes the header, up to the opening of the `payloads` array.
    /// `interleaveSeed`: `kvm-unit run --interleave-seed`, which decides the verdicts of
    /// several-vCPU payloads on the reference engine, so a report says which order it saw.
    public init(backends: [ReportedBackend], strict: Bool, suite: SuiteIdentity = SuiteIdentity(),
                interleaveSeed: UInt64? = nil, emit: @escaping (String) -> Void) {
        self.emit = emit
        self.strict = strict
        let header: [(String, JSONValue)] = [
            ("schema_version", .int(Self.schemaVersion)),
            ("suite", .object([("version", .optional(suite.version)), ("commit", .optional(suite.commit)), ("build_date", .optional(suite.buildDate))])),
            ("strict", .bool(strict)),
            ("interleave_seed", interleaveSeed.map(JSONValue.hex) ?? .null),
            ("backends", .array(backends.map(Self.encode))),
        ]
        let text = JSONValue.object(header).text
        emit(String(text.dropLast()) + ",\n\"payloads\":[\n")
    }

    public func add(_ report: PayloadReport) {
        emit((first ? "" : ",\n") + Self.encode(report).text)
        first = false
    }

    /// Closes the array and writes the counts and the exit status they give.
    public func finish(_ tally: RunTally) {
        let summary = JSONValue.object([
            ("payload_runs", Self.encode(tally.runs)),
            ("comparisons", .object([("agree", .int(tally.comparisons.agree)), ("diverge", .int(tally.comparisons.diverge)),
                                     ("expected_divergence", .int(tally.comparisons.expectedDivergence)),
                                     ("skip", .int(tally.comparisons.skip)), ("total", .int(tally.comparisons.total))])),
            ("migrated_runs", .object([("agree", .int(tally.migrations.agree)), ("diverge", .int(tally.migrations.diverge)),
                                       ("expected_divergence", .int(tally.migrations.expectedDivergence)),
                                       ("skip", .int(tally.migrations.skip)), ("total", .int(tally.migrations.total))])),
            ("checks", Self.encode(tally.checks)),
        ])
        emit("\n],\n\"summary\":\(summary.text),\n\"exit_status\":\(tally.failed(strict: strict) ? 1 : 0)}\n")
    }

    /// A whole run at once, for tests and small callers.
    public static func render(_ reports: [PayloadReport], backends: [ReportedBackend], strict: Bool = false,
                              interleaveSeed: UInt64? = nil) -> String {
        var out = ""
        let json = JSONReport(backends: backends, strict: strict, interleaveSeed: interleaveSeed) { out += $0 }
        for r in reports { json.add(r) }
        json.finish(RunTally(reports))
        return out
    }

    static func encode(_ b: ReportedBackend) -> JSONValue {
        var fields: [(String, JSONValue)] = [("name", .string(b.name)), ("implementation", .string(b.implementation)),
                                             ("kernel", .string(b.kernel)), ("api_version", .int(Int(b.apiVersion))),
                                             ("device", .string(b.device))]
        if let g = b.guestCPUID {
            let differences: [JSONValue] = g.differences.indices.map { i in
                let d = g.differences[i]
                let reason = i < b.guestCPUIDRecorded.count ? b.guestCPUIDRecorded[i] : nil
                return .object([("cpl", .int(d.cpl)), ("register", .string(d.key)),
                                ("table", .string("0x" + String(d.table, radix: 16))), ("seen", .string("0x" + String(d.seen, radix: 16))),
                                ("recorded", reason.map(JSONValue.string) ?? .null)])
            }
            fields.append(("guest_cpuid", .object([("leaves_read", .int(g.leavesRead)),
                                                   ("failure", g.failure.map(JSONValue.string) ?? .null),
                                                   ("differences", .array(differences))])))
        }
        return .object(fields)
    }

    static func encode(_ c: RunTally.Counts) -> JSONValue {
        .object([("pass", .int(c.pass)), ("fail", .int(c.fail)), ("xfail", .int(c.xfail)), ("xpass", .int(c.xpass)),
                 ("skip", .int(c.skip)), ("total", .int(c.total))])
    }

    static func encode(_ r: PayloadReport) -> JSONValue {
        .object([
            ("payload", .string(r.payload)),
            ("group", .string(r.group)),
            ("runs", .array(r.results.map(encode))),
            ("comparison", r.comparison.map(encode) ?? .null),
            ("migrations", .array(r.migrations.map(encode))),
        ])
    }

    static func encode(_ r: PayloadResult) -> JSONValue {
        .object([
            ("backend", .string(r.backend)),
            ("implementation", .string(r.implementation)),
            ("verdict", .string(r.verdict.rawValue)),
            ("lines", .array(r.lines.map { .object([("verdict", .string($0.verdict.rawValue)), ("text", .string($0.text))]) })),
            ("outcome", r.outcome.map(encode) ?? .null),
        ])
    }

    static func encode(_ c: Comparison) -> JSONValue {
        .object([("verdict", .string(c.verdict.rawValue)), ("differing_aspects", .strings(c.differingAspects)),
                 ("details", .strings(c.details)), ("reason", .optional(c.reason))]
                + (c.label.map { [("label", JSONValue.string($0))] } ?? []))
    }

    static func encode(_ o: Outcome) -> JSONValue {
        .object([
            ("end", encode(o.end)),
            ("checks", .array(o.checks.map(encode))),
            ("trace", .array(o.trace.map(encode))),
            ("trace_cut", o.traceCut.map { .object([("exits", .int($0.exits)), ("head", .int($0.head)), ("tail", .int($0.tail))]) } ?? .null),
            ("console", .string(o.console)),
            ("registers", .array(o.registers.map { .object([("name", .string($0.name)), ("value", .hex($0.value))]) })),
            ("ram_digest", .string(o.ramDigest)),
            ("window_digests", .strings(o.windowDigests)),
            // Exit counters: bounded by the run loop's exit limit, far below 2^53.
            ("stats", .object(o.stats.sorted { $0.key < $1.key }.map { ($0.key, .int(Int(clamping: $0.value))) })),
            ("host_errors", .strings(o.hostErrors)),
            ("wall_ns", .int(Int(clamping: o.wallNanoseconds))),
        ])
    }

    static func encode(_ e: RunEnd) -> JSONValue {
        var fields: [(String, JSONValue)]
        switch e {
        case .status(let s): fields = [("kind", .string("status")), ("status", .int(Int(s)))]
        case .shutdown: fields = [("kind", .string("shutdown"))]
        case .timeout: fields = [("kind", .string("timeout"))]
        case .internalError(let s): fields = [("kind", .string("internal_error")), ("suberror", .int(Int(s)))]
        case .unexpectedExit(let x): fields = [("kind", .string("unexpected_exit")), ("exit", .string(x))]
        case .error(let m): fields = [("kind", .string("error")), ("message", .string(m))]
        }
        return .object(fields + [("description", .string(e.description))])
    }

    static func encode(_ c: CheckRecord) -> JSONValue {
        let kind: String
        switch c.kind {
        case .pass: kind = "pass"
        case .fail: kind = "fail"
        case .skip: kind = "skip"
        case .unexpectedException: kind = "unexpected_exception"
        case .malformed: kind = "malformed"
        }
        return .object([
            ("line", .int(Int(c.line))), ("kind", .string(kind)), ("message", .string(c.message)),
            ("expected", .hex(c.expected)), ("actual", .hex(c.actual)), ("aux", .hex(c.aux)),
            ("values_are_rflags", .bool(c.format == CheckRecord.formatRFLAGS)),
        ])
    }

    static func encode(_ t: TraceEvent) -> JSONValue {
        .object([
            ("exit", .string(t.exit)), ("direction", .string(t.direction)), ("address", .hex(t.address)),
            ("size", .int(Int(t.size))), ("count", .int(Int(t.count))), ("data", .string(t.data)), ("note", .string(t.note)),
        ])
    }
}
