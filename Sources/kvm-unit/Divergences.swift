import ArgumentParser
import Conformance

/// `kvm-unit divergences`: the known-divergence table this binary carries (and any local file
/// added to it), grouped by implementation, one entry a line as the file writes it.
struct Divergences: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the known-divergence table built into this kvm-unit.",
        discussion: "The grammar (IMPLEMENTATION SCOPE WHAT REASON) is in guests/README.md.")

    @Option(name: .long, help: ArgumentHelp("A local known-divergence file to add to the built-in table.", valueName: "file"))
    var divergences: String?

    @Option(name: .long, help: ArgumentHelp("Only the entries of this implementation (kvm_pvm, ref, ...).", valueName: "name"))
    var implementation: String?

    func run() throws {
        var table = KnownDivergences.builtIn
        if let path = divergences { table = table.adding(loadDivergenceFile(path)) }
        let entries = table.entries.filter { implementation == nil || $0.implementation == implementation }
        var order: [String] = []
        for e in entries where !order.contains(e.implementation) { order.append(e.implementation) }
        for impl in order {
            let mine = entries.filter { $0.implementation == impl }
            print("\(impl): \(mine.count) entries")
            for e in mine { print("  \(e.scope) \(e.what)\(e.builtIn ? "" : " (local)"): \(e.reason)") }
        }
        print("\(entries.count) entries")
    }
}

/// Reads and parses a `--divergences` file, or stops with one line and exit 2.
func loadDivergenceFile(_ path: String) -> KnownDivergences {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("\(path): cannot read the divergence table") }
    do { return try KnownDivergences.parse(text) } catch { fail("\(path): \(error)") }
}
