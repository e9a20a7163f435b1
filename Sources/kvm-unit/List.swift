import ArgumentParser
import Conformance
import GuestPayloads
import PayloadFormat

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the payloads of the catalogue.")

    @Option(name: .shortAndLong, help: "Only this group: exits, mmu, emulator or irq.")
    var group: String?

    @Flag(help: "List the instruction forms the form payloads cover (their KVMUFORM blocks), with the CPLs and memory operands each runs on, and count them.")
    var forms = false

    @Argument(help: "Names or globs (default: all).")
    var names: [String] = []

    func run() throws {
        let g = try parseGroup(group)
        let payloads: [Payload]
        do { payloads = try Selection.resolve(names, group: g) } catch { fail(error.description) }
        if forms { listForms(payloads); return }
        let width = (payloads.map { $0.qualifiedName.count }.max() ?? 20) + 2
        for p in payloads {
            print("\(p.qualifiedName.rightPadded(width))\(p.header.mode.description.rightPadded(8))\(p.header.description)")
        }
        let counts = PayloadHeader.Group.allCases.map { g in "\(payloads.filter { $0.group == g }.count) \(g)" }
        print("\(payloads.count) payloads: \(counts.joined(separator: ", "))")
    }
}

/// `list --forms`: one line per form (CPLs, memory operands, payloads), then the count.
func listForms(_ payloads: [Payload]) {
    let coverage = FormCoverage(payloads)
    let width = (coverage.entries.map { $0.form.count }.max() ?? 20) + 2
    for e in coverage.entries {
        let cpls = e.cpls.sorted().map { "cpl\($0)" }.joined(separator: ",")
        let passes = e.passes.sorted().joined(separator: ",")
        print("\(e.form.rightPadded(width))\(cpls.rightPadded(11))\(passes)  \(e.payloads.joined(separator: " "))")
    }
    let both = coverage.entries.filter { $0.cpls.isSuperset(of: [0, 3]) }.count
    let payloadCount = payloads.filter { FormsBlock($0) != nil }.count
    print("\(coverage.entries.count) distinct instruction forms in \(payloadCount) form payloads; \(both) at both CPL0 and CPL3")
}

func parseGroup(_ name: String?) throws -> PayloadHeader.Group? {
    guard let name else { return nil }
    guard let g = PayloadHeader.Group(name: name) else {
        fail("unknown group \"\(name)\": want exits, mmu, emulator or irq", status: 2)
    }
    return g
}
