import ArgumentParser
import Conformance
import GuestPayloads
import PayloadFormat

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the payloads of the catalogue.")

    @Option(name: .shortAndLong, help: "Only this group: exits, mmu, emulator or irq.")
    var group: String?

    @Argument(help: "Names or globs (default: all).")
    var names: [String] = []

    func run() throws {
        let g = try parseGroup(group)
        let payloads: [Payload]
        do { payloads = try Selection.resolve(names, group: g) } catch { fail(error.description) }
        let width = (payloads.map { $0.qualifiedName.count }.max() ?? 20) + 2
        for p in payloads {
            print("\(p.qualifiedName.rightPadded(width))\(p.header.mode.description.rightPadded(8))\(p.header.description)")
        }
        let counts = PayloadHeader.Group.allCases.map { g in "\(payloads.filter { $0.group == g }.count) \(g)" }
        print("\(payloads.count) payloads: \(counts.joined(separator: ", "))")
    }
}

func parseGroup(_ name: String?) throws -> PayloadHeader.Group? {
    guard let name else { return nil }
    guard let g = PayloadHeader.Group(name: name) else {
        fail("unknown group \"\(name)\": want exits, mmu, emulator or irq", status: 2)
    }
    return g
}
