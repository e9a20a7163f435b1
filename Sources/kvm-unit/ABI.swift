import ArgumentParser
import Conformance
import KVMABI

/// `kvm-unit abi`: the ioctl-ABI checks (Sources/Conformance/ABI) on every backend, each
/// judged against Linux 6.1's answer and the known-divergence table (`abi=` entries), and
/// the backends compared with each other.
struct ABI: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check ioctl semantics and errno values against Linux, on every backend.",
        discussion: """
        Each check names the Linux 6.1 source (file and function) that defines its answer.
        Exit status: 0 when every check answered as Linux does (or as a recorded divergence),
        1 on an unexpected answer (or, with --strict, an XPASS), 2 on a usage or setup error.
        """)

    @Argument(help: "Check names or prefixes (memslot, cpuid.too_many). Default: every check.")
    var checks: [String] = []

    @Option(name: .long, help: "kvm, ref or both (default: both when the KVM device is usable, else ref).")
    var backend: String?

    @Option(name: .long, help: ArgumentHelp("The KVM device node for the kvm backend (default /dev/kvm).", valueName: "path"))
    var device: String?

    @Option(name: .long, help: ArgumentHelp("A local known-divergence file, added to the built-in table.", valueName: "file"))
    var divergences: String?

    @Flag(name: .long, help: "Fail on XPASS (a recorded divergence that answered as Linux does).")
    var strict = false

    @Flag(name: .long, help: "List the checks with their Linux citations and expected answers; run nothing.")
    var list = false

    @Flag(name: .shortAndLong, help: "Print every check, not only the ones that did not pass.")
    var verbose = false

    func run() throws {
        let selected = ABICatalogue.all.filter { c in
            checks.isEmpty || checks.contains { c.name == $0 || c.name.hasPrefix($0 + ".") || c.name.hasPrefix($0) }
        }
        guard !selected.isEmpty else { fail("no ABI check matches \(checks.joined(separator: " ")) (kvm-unit abi --list)") }
        if list {
            for c in selected { print("abi.\(c.name): \(c.title) -> \(c.expected) (\(c.citation))") }
            print("\(selected.count) checks")
            return
        }
        let table = knownDivergences(adding: divergences)
        let backends = openBackends(backend, device: device)

        print("kvm-unit: suite \(SuiteVersion.description)")
        var all: [[ABIResult]] = []
        for b in backends {
            print(TextReport.header(b.hypervisor.identity, backend: b.name))
            let results = ABIRunner.run(selected, on: b.hypervisor, backend: b.name, divergences: table)
            all.append(results)
            for (r, c) in zip(results, selected) where verbose || r.verdict != .pass { print(r.line(c)) }
        }
        var differ = 0
        if all.count == 2 {
            for (i, c) in selected.enumerated() where all[0][i].answer != all[1][i].answer {
                differ += 1
                print("DIFFER abi.\(c.name): \(backends[0].name) \(all[0][i].answer), \(backends[1].name) \(all[1][i].answer); Linux \(c.expected)")
            }
        }
        var failed = false
        for (b, results) in zip(backends, all) {
            let count = { (v: Verdict) in results.filter { $0.verdict == v }.count }
            let asLinux = results.filter { $0.answer == $0.expected }.count
            let percent = results.isEmpty ? 0 : Double(asLinux) * 100 / Double(results.count)
            print("\(b.name): \(results.count) checks (\(count(.pass)) pass, \(count(.fail)) fail, \(count(.xfail)) expected-fail, "
                  + "\(count(.xpass)) xpass); \(b.hypervisor.identity.implementation) answers as Linux 6.1 on \(asLinux) of \(results.count) "
                  + "(\(String(Int(percent.rounded(.down))))%)")
            if count(.fail) > 0 || (strict && count(.xpass) > 0) { failed = true }
        }
        print("SUMMARY: \(selected.count) ABI checks on \(backends.count) backend\(backends.count == 1 ? "" : "s")"
              + (all.count == 2 ? "; \(differ) answered differently by the two" : ""))
        if failed { throw ExitCode(1) }
    }
}
