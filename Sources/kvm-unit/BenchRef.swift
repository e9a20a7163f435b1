import ArgumentParser
import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import KVMABI

/// `kvm-unit bench ref`: the reference engine's speed in MIPS on the bench loop payloads,
/// with Bochs and QEMU TCG on the same images in the same run, as ratios.
struct BenchRef: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ref",
        abstract: "The reference engine's MIPS on two loop payloads, against Bochs and QEMU TCG.",
        discussion: """
            Payloads: emulator/bench_alu_loop (register ALU mix) and emulator/bench_mem_call_loop \
            (loads, stores, PUSH/POP, CALL/RET), both at CPL3. Every engine runs the same image \
            with the iteration count patched to 0 and to N (after one untimed run at the payload's \
            own count, which must pass its checksum check): MIPS = N x instructions per iteration \
            / (median T(N) - median T(0)), which removes VM creation, BIOS and boot. Bochs and \
            QEMU boot the image from a disk through their BIOS; a missing emulator is reported \
            as not installed. Target: ref >= 2x Bochs on both loops.
            """)

    @Option(name: .long, help: "Runs of T(0) and of T(N) per engine and loop (the median is used).")
    var runs: Int = 3

    @Option(name: .long, help: "Iterations N of each loop (default: 50 times each payload's own count, ~180M instructions).")
    var iterations: UInt64?

    static let targetRatio = 2.0

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let n = iterations, n < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let loops = BenchLoop.catalogue
        guard loops.count == BenchLoop.names.count else {
            writeStandardError("kvm-unit bench ref: the bench payloads \(BenchLoop.names) are not all in the catalogue\n")
            throw ExitCode(2)
        }
        let engine = Self.referenceEngine()
        var rows: [Row] = []
        for loop in loops {
            let n = iterations ?? loop.defaultIterations * RefBench.defaultScale
            let ref: LoopMeasurement
            if let engine {
                ref = RefBench.measureEngine(engine, loop: loop, iterations: n, runs: runs)
            } else {
                ref = LoopMeasurement(state: .notInstalled("reference engine not linked into kvm-unit"), iterations: n,
                                      instructionsPerIteration: loop.instructionsPerIteration)
            }
            let bochs = RefBench.measureBochs(loop: loop, iterations: n, runs: runs)
            let qemu = RefBench.measureQEMU(loop: loop, iterations: n, runs: runs)
            rows.append(Row(loop: loop, ref: ref, bochs: bochs, qemu: qemu))
        }
        print(Self.render(rows, runs: runs), terminator: "")
        // Exit 1 only on a measured miss of the target or a failed run; nothing to compare
        // with (Bochs not installed) is not an error.
        if rows.contains(where: { $0.passes == false }) { throw ExitCode(1) }
    }

    struct Row {
        let loop: BenchLoop
        let ref: LoopMeasurement
        let bochs: LoopMeasurement
        let qemu: LoopMeasurement

        var bochsRatio: Double? { ratio(ref, bochs) }
        var qemuRatio: Double? { ratio(ref, qemu) }
        /// nil when there is nothing to compare with (Bochs not installed).
        var passes: Bool? {
            if case .notInstalled = bochs.state { return nil }
            guard let r = bochsRatio else { return false }
            return r >= BenchRef.targetRatio
        }

        private func ratio(_ a: LoopMeasurement, _ b: LoopMeasurement) -> Double? {
            guard let x = a.mips, let y = b.mips, y > 0 else { return nil }
            return x / y
        }
    }

    /// The engine under test. kvm-unit does not link RefHypervisor while Package.swift keeps
    /// it out of Conformance's dependencies (its TEMP note); when it is back, this body is
    /// `RefHypervisor()`, with `import RefHypervisor` at the top of this file.
    static func referenceEngine() -> (any Hypervisor)? {
        try? Backends.openReference()
    }

    static func render(_ rows: [Row], runs: Int) -> String {
        func mips(_ m: LoopMeasurement) -> String {
            switch m.state {
            case .notInstalled: return "not installed"
            case .failed: return "FAILED"
            case .measured: return m.mips.map { fixedPoint($0, places: 1) } ?? "n/a"
            }
        }
        func ratio(_ r: Double?) -> String { r.map { fixedPoint($0, places: 2) + "x" } ?? "-" }
        let table: [[String]] = [["payload", "instructions", "ref MIPS", "Bochs MIPS", "QEMU MIPS", "ref/Bochs", "ref/QEMU"]]
            + rows.map { r in
                [r.loop.name, "\(r.ref.instructions)", mips(r.ref), mips(r.bochs), mips(r.qemu),
                 ratio(r.bochsRatio), ratio(r.qemuRatio)]
            }
        var out = "MIPS = iterations x instructions per iteration / (median T(N) - median T(0)), \(runs) runs each\n"
        out += TextTable.render(table)
        out += "\n"
        for r in rows {
            let verdict: String
            switch r.passes {
            case .none: verdict = "SKIP (Bochs not installed)"
            case .some(true): verdict = "PASS"
            case .some(false): verdict = "FAIL"
            }
            out += "target ref >= \(fixedPoint(targetRatio, places: 0))x Bochs on \(r.loop.name): \(verdict)"
                + (r.bochsRatio.map { " (\(fixedPoint($0, places: 2))x)" } ?? "") + "\n"
        }
        out += "\nspread (MIPS from the extreme T(0)/T(N) samples; median T(0) .. median T(N)):\n"
        for r in rows {
            for (name, m) in [("ref", r.ref), ("Bochs", r.bochs), ("QEMU", r.qemu)] {
                switch m.state {
                case .notInstalled(let why): out += "  \(r.loop.name) \(name): not installed (\(why))\n"
                case .failed(let why): out += "  \(r.loop.name) \(name): FAILED: \(why)\n"
                case .measured:
                    let range = m.mipsRange.map { "\(fixedPoint($0.0, places: 1)) .. \(fixedPoint($0.1, places: 1)) MIPS" } ?? "overlapping samples"
                    let z = LoopMeasurement.median(m.zeroRuns) ?? 0, n = LoopMeasurement.median(m.loopRuns) ?? 0
                    var s = "  \(r.loop.name) \(name): \(range); T(0) \(fixedPoint(z, places: 3)) s, T(N) \(fixedPoint(n, places: 3)) s"
                    if let retired = m.retiredLoop, let retired0 = m.retiredZero {
                        s += "; retired T(N) - T(0) = \(retired &- retired0) (analytical \(m.instructions))"
                    }
                    out += s + "\n"
                }
            }
        }
        return out
    }
}
