@testable import Conformance
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// The machine-readable reports of a run with every verdict, read by the tools a CI uses:
/// TAP by Perl's TAP::Parser and prove, its YAML blocks by PyYAML, JUnit by xmllint against
/// docs/junit.xsd, JSON by python-jsonschema against docs/report.schema.json.
@Suite("Machine-readable reports, read by their consumers")
struct ReportFormatTests {
    let reports = SyntheticRun.reports()
    let backends = SyntheticRun.backends
    var tally: RunTally { RunTally(reports) }

    // MARK: TAP

    /// TAP::Parser's view of a TAP text: counts, parse errors, YAML blocks it could read.
    static let tapParserScript = #"""
    use strict; use warnings; use TAP::Parser;
    local $/; my $tap = <STDIN>;
    my $p = TAP::Parser->new({ tap => $tap });
    my ($yaml, $nothash) = (0, 0);
    while (my $r = $p->next) {
        if ($r->is_yaml) { $yaml++; $nothash++ unless ref($r->data) eq 'HASH'; }
    }
    printf "planned=%d run=%d passed=%d failed=%d todo=%d todo_passed=%d skipped=%d parse_errors=%d yaml=%d nothash=%d version=%d\n",
        $p->tests_planned, $p->tests_run, scalar($p->passed), scalar($p->failed), scalar($p->todo),
        scalar($p->todo_passed), scalar($p->skipped), scalar($p->parse_errors), $yaml, $nothash, $p->version;
    print "parse error: $_\n" for $p->parse_errors;
    """#

    static func fields(_ line: String) -> [String: Int] {
        var d: [String: Int] = [:]
        for kv in line.split(separator: " ") {
            let p = kv.split(separator: "=")
            if p.count == 2, let v = Int(p[1].trimmingCharacters(in: .whitespacesAndNewlines)) { d[String(p[0])] = v }
        }
        return d
    }

    @Test("TAP::Parser reads every point, every YAML block, no parse errors; directives give the counts",
          .enabled(if: ExternalTool.prove, "perl/prove not found: scripts/setup.sh (Debian: perl)"),
          arguments: [false, true])
    func tapParser(strict: Bool) throws {
        let tap = TAPReport.render(reports, backends: backends, strict: strict)
        let r = try ExternalTool.run("perl", ["-e", Self.tapParserScript], stdin: tap)
        #expect(r.status == 0, "\(r.stderr)")
        let f = Self.fields(r.stdout.split(separator: "\n").first.map(String.init) ?? "")
        let t = tally
        #expect(f["version"] == 13)
        #expect(f["parse_errors"] == 0, "\(r.stdout)")
        #expect(f["planned"] == t.testPoints && f["run"] == t.testPoints, "the plan and the points: \(r.stdout)")
        // Failures: FAIL, DIVERGE, and under --strict the XPASS, which is the exit status's rule.
        #expect(f["failed"] == t.runs.fail + t.comparisons.diverge + (strict ? t.runs.xpass : 0), "\(r.stdout)")
        // TODO: XFAIL and XDIVERGE (not ok), and XPASS without --strict (ok # TODO).
        #expect(f["todo"] == t.runs.xfail + t.comparisons.expectedDivergence + (strict ? 0 : t.runs.xpass), "\(r.stdout)")
        #expect(f["todo_passed"] == (strict ? 0 : t.runs.xpass))
        #expect(f["skipped"] == t.runs.skip + t.comparisons.skip)
        let blocks = tap.components(separatedBy: "\n  ---\n").count - 1
        #expect(blocks > 0 && f["yaml"] == blocks, "TAP::Parser read every YAML block as YAML: \(r.stdout)")
        #expect(f["nothash"] == 0)
    }

    @Test("prove's exit status agrees with kvm-unit's for runs that fail, pass, and fail only under --strict",
          .enabled(if: ExternalTool.prove, "perl/prove not found: scripts/setup.sh (Debian: perl)"))
    func proveAgreesWithExitStatus() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, rs, strict) in [("failing", reports, false), ("passing", SyntheticRun.passingReports(), false),
                                   ("strict-xpass", SyntheticRun.passingReports(), true)] {
            let file = dir.appendingPathComponent("\(name).tap")
            try TAPReport.render(rs, backends: backends, strict: strict).write(to: file, atomically: false, encoding: .utf8)
            let r = try ExternalTool.run("prove", ["-e", "cat", file.path])
            let failed = RunTally(rs).failed(strict: strict)
            #expect((r.status != 0) == failed, "\(name): prove exited \(r.status), the run \(failed ? "fails" : "passes")\n\(r.stdout)\(r.stderr)")
            #expect(!r.stdout.contains("Parse errors"), "\(name):\n\(r.stdout)")
        }
    }

    @Test("TAP: version, plan, the suite, then the identity of each backend, then the points")
    func tapOpening() {
        let lines = TAPReport.render(reports, backends: backends).split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(5)) == [
            "TAP version 13", "1..\(tally.testPoints)", "# suite \(SuiteVersion.description)",
            "# backend kvm: implementation=impl_k kernel=6.1.0-test api_version=12 device=/dev/kvm",
            "# backend ref: implementation=ref kernel=ref-1 api_version=12 device=(software)",
        ])
        let points = lines.filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }
        #expect(points.contains { $0.hasPrefix("not ok") && $0.contains("emulator.xfail [kvm] # TODO known divergence: ") })
        #expect(points.contains { $0.hasPrefix("ok") && $0.contains("irq.not_run [kvm] # SKIP needs KVM_CAP_IRQCHIP") })
        #expect(points.contains { $0.hasPrefix("ok") && $0.contains("mmu.all_skipped [kvm] # SKIP check at 11") })
        #expect(points.contains { $0.hasPrefix("ok") && $0.contains("emulator.xpass [kvm] # TODO") })
        let strict = TAPReport.render(reports, backends: backends, strict: true)
        #expect(strict.contains("not ok") && strict.split(separator: "\n").contains {
            $0.hasPrefix("not ok") && $0.contains("emulator.xpass [kvm]") && !$0.contains("#")
        }, "an XPASS under --strict is a plain not ok")
        #expect(lines.last == "# " + TextReport.summary(tally), "the closing comment is the text SUMMARY")
    }

    @Test("TAP points go out as each payload completes, numbered in arrival order")
    func tapStreams() {
        var out: [String] = []
        let tap = TAPReport(plan: RunTally.plannedTestPoints(payloads: 2, backends: 2), backends: backends, strict: false) { out.append($0) }
        #expect(out.first == "TAP version 13" && out.contains("1..6"))
        tap.add(reports[4])  // out of catalogue order, as with -j 2
        #expect(out.contains { $0.hasPrefix("ok 1 - irq.not_run [kvm]") })
        tap.add(reports[0])
        #expect(out.contains { $0.hasPrefix("ok 4 - exits.pass_all [kvm]") })
        #expect(out.contains { $0.hasPrefix("ok 6 - exits.pass_all [kvm vs ref] agree") })
    }

    /// Each YAML block of the TAP text, parsed by PyYAML with duplicate keys refused (PyYAML
    /// would otherwise keep the last one silently, as prove does), as JSON.
    static let yamlScript = #"""
    import sys, json, yaml
    class Strict(yaml.SafeLoader):
        pass
    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        if len(keys) != len(set(keys)):
            raise yaml.constructor.ConstructorError(None, None, "duplicate key", node.start_mark)
        return yaml.SafeLoader.construct_mapping(loader, node, deep)
    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    blocks, point, cur = [], None, None
    for line in sys.stdin.read().split("\n"):
        if cur is None and (line.startswith("ok ") or line.startswith("not ok ")):
            point = line
        elif line == "  ---":
            cur = []
        elif line == "  ..." and cur is not None:
            blocks.append({"point": point, "data": yaml.load("\n".join(l[2:] for l in cur), Loader=Strict)})
            cur = None
        elif cur is not None:
            cur.append(line)
    print(json.dumps(blocks))
    """#

    @Test("every YAML block parses with PyYAML, no key twice, several messages as a list, text intact",
          .enabled(if: ExternalTool.python(has: "yaml"), "python3 with PyYAML not found: scripts/setup.sh installs python3-yaml"))
    func yamlBlocks() throws {
        let tap = TAPReport.render(reports, backends: backends)
        let r = try ExternalTool.run("python3", ["-c", Self.yamlScript], stdin: tap)
        #expect(r.status == 0, "\(r.stderr)")
        let blocks = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(blocks.count == tap.components(separatedBy: "\n  ---\n").count - 1)
        func block(_ point: String) -> [String: Any]? {
            blocks.first { ($0["point"] as? String)?.contains(point) == true }?["data"] as? [String: Any]
        }
        let fail = try #require(block("exits.fails_twice [kvm]"))
        let failures = try #require(fail["failures"] as? [String])
        #expect(failures.count == 2)
        for (m, f) in zip(SyntheticRun.trickyMessages, failures) { #expect(f.hasPrefix(m), "\(f) keeps \(m)") }
        #expect(fail["verdict"] as? String == "FAIL" && fail["implementation"] as? String == "impl_k")
        let partly = try #require(block("mmu.partly_skipped [kvm]"), "in-payload SKIPs get a block on a passing point")
        #expect((partly["skipped_checks"] as? [String])?.count == 2)
        let diverge = try #require(block("exits.fails_twice [kvm vs ref]"))
        #expect(diverge["differing_aspects"] as? [String] == ["checks", "registers"])
        #expect(diverge["details"] as? [String] == ["check line 10: kvm FAIL, ref PASS", "rax: 0x2 vs 0x1 # differs"],
                "a first word ending in a colon survives (TAP::Parser would read it as a mapping)")
    }

    // MARK: JUnit

    @Test("JUnit validates against docs/junit.xsd (the Jenkins/Ant form)",
          .enabled(if: ExternalTool.xmllint, "xmllint not found: scripts/setup.sh installs libxml2-utils"), arguments: [false, true])
    func junitValidates(strict: Bool) throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("run.xml")
        try JUnitReport.render(reports, backends: backends, strict: strict).write(to: file, atomically: false, encoding: .utf8)
        let xsd = ExternalTool.repository.appendingPathComponent("docs/junit.xsd").path
        let r = try ExternalTool.run("xmllint", ["--noout", "--schema", xsd, file.path])
        #expect(r.status == 0, "\(r.stderr)")
        // The schema must be able to say no: the old report's skipped attribute on the root.
        let bad = dir.appendingPathComponent("bad.xml")
        try JUnitReport.render(reports, backends: backends).replacingOccurrences(of: "<testsuites ", with: "<testsuites skipped=\"1\" ")
            .write(to: bad, atomically: false, encoding: .utf8)
        #expect(try ExternalTool.run("xmllint", ["--noout", "--schema", xsd, bad.path]).status != 0)
    }

    @Test("JUnit: a testcase per payload run and comparison, failures with message and text, skips as <skipped>",
          arguments: [false, true])
    func junitCounts(strict: Bool) throws {
        let xml = JUnitReport.render(reports, backends: backends, strict: strict)
        let c = JUnitCounter()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = c
        #expect(parser.parse(), "well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        let t = tally
        #expect(c.testcases == t.testPoints)
        #expect(c.rootAttributes["tests"] == "\(t.testPoints)")
        #expect(c.rootAttributes["skipped"] == nil)
        let failures = t.runs.fail + t.comparisons.diverge + (strict ? t.runs.xpass : 0)
        #expect(c.failures == failures && c.rootAttributes["failures"] == "\(failures)")
        #expect(c.skipped == t.runs.skip + t.comparisons.skip)
        #expect(c.suiteSkipped == c.skipped)
        #expect(c.skippedIn.contains("all_skipped [kvm]") && c.skippedIn.contains("not_run [kvm]"))
        #expect(c.failureMessages.contains(SyntheticRun.trickyMessages[0] + " (line 10): expected 0x1, got 0x2"),
                "the first failing line is the message, its text intact")
        #expect(c.failureTexts.contains { $0.contains(SyntheticRun.trickyMessages[0]) && $0.contains("after a newline") },
                "every failing line is in the text")
        #expect(c.properties["backend.kvm.implementation"] == "impl_k" && c.properties["backend.ref.kernel"] == "ref-1")
    }

    // MARK: JSON

    @Test("JSON validates against docs/report.schema.json",
          .enabled(if: ExternalTool.python(has: "jsonschema"), "python3 jsonschema not found: scripts/setup.sh installs python3-jsonschema"))
    func jsonValidates() throws {
        let dir = try ExternalTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("run.json")
        try JSONReport.render(reports, backends: backends).write(to: file, atomically: false, encoding: .utf8)
        let schema = ExternalTool.repository.appendingPathComponent("docs/report.schema.json").path
        let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        jsonschema.Draft202012Validator.check_schema(schema)
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
        for e in errors[:10]: print(e.json_path, e.message[:300])
        sys.exit(1 if errors else 0)
        """
        let r = try ExternalTool.run("python3", ["-c", script, schema, file.path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        // The schema must be able to say no: an encoder artefact instead of an explicit end.
        let bad = dir.appendingPathComponent("bad.json")
        try String(decoding: try Data(contentsOf: file), as: UTF8.self)
            .replacingOccurrences(of: #"{"kind":"status","status":1,"description":"status 1"}"#, with: #"{"status":{"_0":1}}"#)
            .write(to: bad, atomically: false, encoding: .utf8)
        #expect(try ExternalTool.run("python3", ["-c", script, schema, bad.path]).status != 0)
    }

    @Test("JSON: 64-bit values as hex strings, backends as fields, explicit enums, the same counts")
    func jsonContent() throws {
        let text = JSONReport.render(reports, backends: backends)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(doc["schema_version"] as? Int == JSONReport.schemaVersion)
        #expect((doc["suite"] as? [String: Any])?.keys.sorted() == ["build_date", "commit", "version"])
        let b = try #require((doc["backends"] as? [[String: Any]])?.first)
        #expect(b["implementation"] as? String == "impl_k" && b["kernel"] as? String == "6.1.0-test"
                && b["api_version"] as? Int == 12 && b["device"] as? String == "/dev/kvm")
        #expect(text.contains(#""name":"rax","value":"0xfedcba9876543211""#), "a value above 2^53, exact")
        #expect(text.contains(#""expected":"0xfedcba9876543211""#))
        #expect(!text.contains("\"_0\""), "no encoder artefacts")
        #expect(text.contains(#""end":{"kind":"status","status":1,"description":"status 1"}"#))
        let payloads = try #require(doc["payloads"] as? [[String: Any]])
        let runs = payloads.flatMap { $0["runs"] as? [[String: Any]] ?? [] }
        let t = tally
        #expect(runs.count == t.runs.total)
        #expect(payloads.filter { !($0["comparison"] is NSNull) }.count == t.comparisons.total)
        let summary = try #require(doc["summary"] as? [String: Any])
        #expect((summary["payload_runs"] as? [String: Int])?["fail"] == t.runs.fail)
        #expect((summary["checks"] as? [String: Int])?["total"] == t.checks.total)
        #expect(doc["exit_status"] as? Int == 1)
    }

    // MARK: One set of numbers

    @Test("the text SUMMARY, the table, TAP, JUnit and JSON give the same numbers, in labelled units")
    func countsAgree() throws {
        let t = tally
        let summary = TextReport.summary(t)
        #expect(summary == "SUMMARY: 14 payload runs (8 pass, 1 fail, 1 expected-fail, 1 xpass, 3 skip); "
                + "7 comparisons (4 agree, 1 diverge, 1 expected-diverge, 1 skip); "
                + "19 checks (8 pass, 2 fail, 1 expected-fail, 1 xpass, 7 skip)")
        let table = TextReport.table(t).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(table.last == ["total", "8", "1", "1", "1", "3", "4", "1", "1"])
        let tap = TAPReport.render(reports, backends: backends)
        #expect(tap.split(separator: "\n").filter { $0.hasPrefix("ok ") || $0.hasPrefix("not ok ") }.count == 21)
        #expect(tap.contains("\n1..21\n"))
        #expect(JUnitReport.render(reports, backends: backends).contains("<testsuites name=\"kvm-unit\" tests=\"21\" failures=\"2\""))
        #expect(JSONReport.render(reports, backends: backends).contains(#""payload_runs":{"pass":8,"fail":1,"xfail":1,"xpass":1,"skip":3,"total":14}"#))
    }
}

final class JUnitCounter: NSObject, XMLParserDelegate {
    var testcases = 0, failures = 0, skipped = 0, suiteSkipped = 0
    var rootAttributes: [String: String] = [:]
    var properties: [String: String] = [:]
    var failureMessages: [String] = [], failureTexts: [String] = [], skippedIn: [String] = []
    private var testcase = "", text: String?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "testsuites": rootAttributes = attributes
        case "testsuite": suiteSkipped += Int(attributes["skipped"] ?? "0") ?? 0
        case "property": properties[attributes["name"] ?? ""] = attributes["value"]
        case "testcase": testcases += 1; testcase = attributes["name"] ?? ""
        case "failure": failures += 1; failureMessages.append(attributes["message"] ?? ""); text = ""
        case "skipped": skipped += 1; skippedIn.append(testcase)
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text? += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "failure", let t = text { failureTexts.append(t); text = nil }
    }
}
