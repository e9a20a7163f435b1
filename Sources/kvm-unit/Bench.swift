import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc

/// `kvm-unit bench`: performance measurements. `host` compares HostKVM with C; more
/// benchmarks (e.g. `bench ref`, the reference engine) join as further subcommands.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks of the suite's backends.",
        subcommands: [BenchHost.self, BenchRef.self])
}

struct BenchHost: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "HostKVM against the same steps in C: VM lifecycle and IO-exit round trip.",
        discussion: """
            Lifecycle: create a VM, one 64 KiB memory slot, one vCPU, run a real-mode HLT, \
            destroy. IO round trip: one KVM_RUN of a guest looping on `out 0x10, al`. C and \
            HostKVM batches alternate over --rounds rounds after a warm-up; PASS means HostKVM's \
            median is within 1.15x of C's.
            """)

    @Option(name: .long, help: "VM lifecycles per side (IO round trips: 20 times as many).")
    var iterations: Int = 1000

    @Option(name: .long, help: "Alternating C/HostKVM batches the iterations are split into.")
    var rounds: Int = 50

    @Option(name: .long, help: "The KVM device node.")
    var device: String = "/dev/kvm"

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let report: HostBench.Report
        do {
            report = try HostBench.run(device: device, lifecycles: iterations, roundTrips: iterations * 20,
                                         rounds: min(rounds, iterations))
        } catch let e as BackendUnavailable {
            writeStandardError("kvm-unit bench host: \(e.description)\n")
            throw ExitCode(2)
        } catch {
            writeStandardError("kvm-unit bench host: \(error)\n")
            throw ExitCode(1)
        }
        print(Self.render(report), terminator: "")
        if !report.passes { throw ExitCode(1) }
    }

    static func render(_ r: HostBench.Report) -> String {
        func us(_ ns: Double) -> String { fixedPoint(ns / 1000, places: 2) + " µs" }
        let rows: [[String]] = [["step", "C median", "HostKVM median", "ratio", "target"]] + r.comparisons.map {
            [$0.name, us($0.c.median), us($0.host.median), fixedPoint($0.ratio, places: 3) + "x",
             ($0.passes ? "PASS" : "FAIL") + " (<= \(fixedPoint(HostBench.targetRatio, places: 2))x)"]
        }
        var out = "device: \(r.device) (\(r.implementation)), \(r.rounds) alternating rounds\n"
        out += TextTable.render(rows)
        out += "\nspread (p10 .. p90):\n"
        for c in r.comparisons {
            out += "  \(c.name): C \(us(c.c.p10)) .. \(us(c.c.p90)), HostKVM \(us(c.host.p10)) .. \(us(c.host.p90))"
                + " (\(c.c.samples) samples each)\n"
        }
        return out
    }
}
