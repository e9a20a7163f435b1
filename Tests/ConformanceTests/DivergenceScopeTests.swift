@testable import Conformance
import Foundation
import GuestPayloads
import PayloadFormat
import Testing

/// A copy of catalogue payload `name` under another header name, or with one byte of its
/// description changed (`touch`): a payload from outside the repository.
func outOfTree(_ name: String, renamedTo newName: String? = nil, touch: Bool = false) throws -> Payload {
    var image = Catalogue.named(name)!.image
    if let newName {
        for i in 0..<32 { image[0x40 + i] = 0 }
        for (i, b) in newName.utf8.enumerated() { image[0x40 + i] = b }
    }
    if touch { image[0x60] = image[0x60] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x") }
    return try Payload(image: image, source: "/elsewhere/\(newName ?? name).bin")
}

@Suite("Known-divergence scopes")
struct DivergenceScopeTests {
    @Test("every scope and WHAT of the grammar parses")
    func grammar() throws {
        let t = try KnownDivergences.parse("""
            # comment
            impl_a io_latch_sizes check=latch_returns_what_was_written reason a
            impl_a exits.io_latch_sizes 12 reason b
            impl_a group=irq * reason c
            impl_a mode=user64 registers reason d
            impl_a * stats reason e
            impl_a abi=set_cpuid2_after_run errno reason f
            impl_a form=xadd_m32_r32 * reason g
            impl_a cpuid leaf=0x1.ecx reason h
            """)
        #expect(t.entries.map(\.scope) == [.payload("io_latch_sizes"), .payload("io_latch_sizes"), .group("irq"), .mode("user64"),
                                           .all, .abi("set_cpuid2_after_run"), .form("xadd_m32_r32"), .cpuid])
        #expect(t.entries.map(\.what) == [.label("latch_returns_what_was_written"), .line(12), .whole, .aspect("registers"),
                                          .aspect("stats"), .detail("errno"), .whole, .detail("leaf=0x1.ecx")])
        #expect(t.entries.allSatisfy { !$0.builtIn })
        #expect(t.abiEntry(implementation: "impl_a", check: "set_cpuid2_after_run")?.reason == "reason f")
        #expect(t.formEntry(implementation: "impl_a", form: "xadd_m32_r32") != nil)
        #expect(t.cpuidEntries(implementation: "impl_a").count == 1)
    }

    @Test("a bad scope or WHAT is one error naming the line", arguments: [
        "impl mode=user65 registers r", "impl group=net * r", "impl Bad-Name * r", "impl x check= r", "impl x registerz r",
    ])
    func badLines(_ line: String) {
        #expect(throws: KnownDivergences.ParseError.self) { try KnownDivergences.parse("# first\n" + line) }
        do { _ = try KnownDivergences.parse("# first\n" + line) } catch { #expect(error.line == 2) }
    }

    @Test("a check's label is its message as a slug")
    func labels() {
        #expect(KnownDivergences.label("CR2 = first byte of the page (MOVBE)") == "cr2_first_byte_of_the_page_movbe")
        #expect(KnownDivergences.label("  RFLAGS at CPL3: IOPL = 3, IF = 0") == "rflags_at_cpl3_iopl_3_if_0")
    }

    @Test("a label entry covers the check with that message wherever its line moves, and CATCH's error-code record")
    func labelMatching() throws {
        let t = try KnownDivergences.parse("impl_a io_latch_sizes check=latch_byte reason")
        var moved = check(99, .fail), errorCode = check(100, .fail), other = check(101, .fail)
        moved.message = "latch byte"
        errorCode.message = "latch byte (error code)"
        other.message = "latch byte two"
        let r = Judge.judge(outcome(end: .status(1), checks: [moved, errorCode, other]), payload: samplePayload,
                            backend: "kvm", implementation: "impl_a", divergences: t)
        #expect(r.lines.map(\.verdict) == [.xfail, .xfail, .fail])
    }

    @Test("a built-in payload entry binds to the catalogue image: a file from elsewhere with the same name gets none")
    func imageBinding() throws {
        let table = KnownDivergences.builtIn
        let catalogue = Catalogue.named("iret32")!
        let impostor = try outOfTree("iret32", touch: true)
        #expect(!table.entries(implementation: "kvm_pvm", payload: catalogue).isEmpty)
        #expect(table.entries(implementation: "kvm_pvm", payload: impostor).isEmpty)
        #expect(table.imageMismatchNote(catalogue) == nil)
        #expect(table.imageMismatchNote(impostor)?.contains("image differs") == true)

        let failing = outcome(end: .internalError(suberror: 1), checks: [])
        #expect(Judge.judge(failing, payload: catalogue, backend: "kvm", implementation: "kvm_pvm", divergences: table).verdict == .xfail)
        let r = Judge.judge(failing, payload: impostor, backend: "kvm", implementation: "kvm_pvm", divergences: table)
        #expect(r.verdict == .fail)
        #expect(r.notes.count == 1)
        // A local table's entries apply by name: the user vouches for their own file.
        let local = try KnownDivergences.parse("kvm_pvm iret32 * local reason")
        #expect(Judge.judge(failing, payload: impostor, backend: "kvm", implementation: "kvm_pvm", divergences: local).verdict == .xfail)
    }

    @Test("mode, group and * scopes apply to payloads from elsewhere")
    func modeScopeOutOfTree() throws {
        let user = try outOfTree("user_iopl_out", renamedTo: "my_user_test")
        let long = try outOfTree("io_latch_sizes", renamedTo: "my_long_test")
        let t = try KnownDivergences.parse("impl_a mode=user64 registers r\nimpl_a group=exits ram r\nimpl_a * stats r")
        #expect(t.aspectEntry(implementation: "impl_a", payload: user, aspect: "registers") != nil)
        #expect(t.aspectEntry(implementation: "impl_a", payload: long, aspect: "registers") == nil)
        #expect(t.aspectEntry(implementation: "impl_a", payload: long, aspect: "ram") != nil)
        #expect(t.aspectEntry(implementation: "impl_a", payload: user, aspect: "stats") != nil)
    }

    /// Two passing runs whose registers differ on one side.
    func results(_ payload: Payload, implementation: String, table: KnownDivergences) -> (PayloadResult, PayloadResult) {
        let a = outcome(checks: [check(10, .pass)], rflags: 0x202)
        let b = outcome(checks: [check(10, .pass)], rflags: 0x2)
        return (Judge.judge(a, payload: payload, backend: "kvm", implementation: implementation, divergences: table),
                Judge.judge(b, payload: payload, backend: "ref", implementation: "ref", divergences: table))
    }

    @Test("a payload whose only differences are recorded aspects AGREEs, with them named; an unrecorded one DIVERGEs")
    func perAspectVerdict() throws {
        let user = try outOfTree("user_iopl_out", renamedTo: "my_user_test")
        let t = try KnownDivergences.parse("impl_a mode=user64 registers the CPL3 OUTs are replayed at CPL0")
        let runner = SuiteRunner(divergences: t)
        let (a, b) = results(user, implementation: "impl_a", table: t)
        let c = runner.compare(a, b, payload: user)
        #expect(c.verdict == .agree)
        #expect(c.differingAspects == ["registers"])
        #expect(c.recorded == ["impl_a mode=user64 registers"])
        #expect(c.recordedReasons["impl_a mode=user64 registers"] == "the CPL3 OUTs are replayed at CPL0")
        let line = TextReport.lines(PayloadReport(payload: user.name, group: "exits", results: [a, b], comparison: c), verbose: false)
        #expect(line.last?.hasPrefix("AGREE exits.my_user_test (registers differ as recorded: impl_a mode=user64 registers)") == true)

        let (x, y) = results(user, implementation: "impl_other", table: t)
        #expect(runner.compare(x, y, payload: user).verdict == .diverge)
        let long = try outOfTree("io_latch_sizes", renamedTo: "my_long_test")
        let (p, q) = results(long, implementation: "impl_a", table: t)
        #expect(runner.compare(p, q, payload: long).verdict == .diverge)
    }

    @Test("kvm-unit divergences prints the built-in table; --divergences adds a local file; a bad file exits 2")
    func divergencesCommand() throws {
        let builtIn = try ExternalTool.run(ExternalTool.kvmUnit.path, ["divergences"])
        #expect(builtIn.status == 0)
        #expect(builtIn.stdout.contains("kvm_pvm:"))
        #expect(builtIn.stdout.contains("mode=user64 registers"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvm-unit-div-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let local = dir.appendingPathComponent("local.txt"), bad = dir.appendingPathComponent("bad.txt")
        try "my_impl group=irq trace local reason\n".write(to: local, atomically: true, encoding: .utf8)
        try "my_impl mode=user65 trace r\n".write(to: bad, atomically: true, encoding: .utf8)
        let added = try ExternalTool.run(ExternalTool.kvmUnit.path, ["divergences", "--divergences", local.path])
        #expect(added.stdout.contains("my_impl: 1 entries") && added.stdout.contains("kvm_pvm:"))
        let refused = try ExternalTool.run(ExternalTool.kvmUnit.path, ["run", "exits.hlt_resume", "--backend", "ref", "--divergences", bad.path])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("mode=user65"))
    }
}
