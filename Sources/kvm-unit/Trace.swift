import ArgumentParser
import Conformance
import GuestPayloads
import KVMABI

struct Trace: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the exit trace of one payload run, one exit per line.",
        discussion: "On ref, each KVM exit is preceded by the VMX exits that led to it (reason, qualification).")

    @Argument(help: "A payload name or file.")
    var payload: String

    @Option(name: .long, help: "kvm or ref.")
    var backend: String = "ref"

    @Option(name: .long, help: "The KVM device node for the kvm backend.")
    var device: String = "/dev/kvm"

    func run() throws {
        let selected: [Payload]
        do { selected = try Selection.resolve([payload]) } catch { fail(error.description) }
        guard selected.count == 1, let p = selected.first else { fail("\"\(payload)\" names \(selected.count) payloads; trace takes one") }
        guard backend == "kvm" || backend == "ref" else { fail("trace runs on one backend: kvm or ref") }
        let backends: [(name: String, hypervisor: any Hypervisor)]
        do { backends = try Backends.open(backend, device: device) } catch { fail(error.description) }
        let b = backends[0]
        print(TextReport.header(b.hypervisor.identity, backend: b.name))
        let result = TraceRun.run(p, on: b.hypervisor, backend: b.name)
        for line in result.lines { print(line) }
        print("\(result.result.verdict.rawValue) \(p.qualifiedName) [\(b.name)]: ended with \(result.result.outcome?.end.description ?? "no run")")
        if result.result.verdict == .fail { throw ExitCode(1) }
    }
}
