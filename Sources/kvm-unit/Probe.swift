import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc

struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print which KVM implementation a device is and its capabilities.")

    @Option(name: .long, help: "The KVM device node.")
    var device: String = "/dev/kvm"

    @Flag(name: .long, help: "List only the capabilities that are present.")
    var presentOnly = false

    func run() throws {
        do {
            let host = try Backends.openHost(device: device)
            print(ProbeReport.render(host.identity, showAbsent: !presentOnly), terminator: "")
        } catch {
            writeStandardError("kvm-unit probe: \(error.description)\n")
            throw ExitCode(2)
        }
    }
}
