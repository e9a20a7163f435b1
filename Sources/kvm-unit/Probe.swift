import ArgumentParser
import Conformance
import Foundation

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
            FileHandle.standardError.write(Data("kvm-unit probe: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
