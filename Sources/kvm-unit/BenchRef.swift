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
        abstract: "The reference engine's MIPS on the bench loop payloads, against Bochs and QEMU TCG.",
        discussion: """
            Without arguments: every catalogue payload with a bench parameter block \
            (guests/emulator/bench_*.asm: register ALU, ALU widths, SIB arrays, a CRC table loop, \
            CALL/RET, a flag chain, MUL/DIV, shifts and bit ops, data-dependent branches, REP \
            strings, 32-bit protected mode, real mode, exit loops (OUT, IN, MMIO write, MMIO \
            read), a LODSB/XLATB/STOSB \
            loop counted by LOOP). With arguments: those \
            payloads (catalogue names or .bin files), each of which must carry the block. Every \
            engine runs the same image with the iteration count patched to 0 and to N (after one \
            untimed run at the payload's own count, which must pass its checksum check): MIPS = \
            N x instructions per iteration / (median T(N) - median T(0)), which removes VM \
            creation, BIOS and boot. The engines take turns: each round has one T(0) and one \
            T(N) run of every engine, so a slow spell of the machine falls on all of them. \
            Without --iterations, an engine whose T(N) - T(0) is under 0.5 s in the first \
            round runs the loop with its own N, scaled up to about 1 s (at most 20 times; the \
            spread lines give it), and one more round is taken. Bochs and QEMU boot the image from a disk through their \
            BIOS; a missing emulator is reported as not installed. Targets: the geometric mean \
            of ref/Bochs >= 3x, and no loop below 1.5x.
            """)

    @Argument(help: "Bench payloads to measure: catalogue names or .bin files (default: every catalogue bench payload).")
    var payloads: [String] = []

    /// Five, not three: on a shared 2-core VM one disturbed run of a 0.1-second loop (the exit
    /// loops) moved a median of three by 25%; the same count for every engine.
    @Option(name: .long, help: "Runs of T(0) and of T(N) per engine and loop (the median is used).")
    var runs: Int = 5

    @Option(name: .long, help: "Iterations N of each loop, on every engine (default: 50 times each payload's own count, lengthened per engine where that runs under 0.5 s).")
    var iterations: UInt64?

    @Flag(name: .long, help: "Measure the reference engine only (no Bochs or QEMU runs, no target verdict).")
    var refOnly = false

    static let targetGeometricMean = 3.0
    static let targetMinimum = 1.5
    /// A spread of T(N) samples above this (of T(N) - T(0)) is reported as an unsteady machine.
    static let unsteadySpread = 0.2

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        if let n = iterations, n < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let loops: [BenchLoop]
        if payloads.isEmpty {
            loops = BenchLoop.catalogue
            guard !loops.isEmpty else {
                writeStandardError("kvm-unit bench ref: the catalogue holds no bench payload\n")
                throw ExitCode(2)
            }
        } else {
            var chosen: [BenchLoop] = []
            do {
                for p in try Selection.resolve(payloads) {
                    guard let loop = BenchLoop(p) else {
                        writeStandardError("kvm-unit bench ref: \(p.source) has no bench parameter block "
                                           + "(the tag \"KVMUBNCH\" and three u64, see guests/emulator/bench_alu_loop.asm)\n")
                        throw ExitCode(2)
                    }
                    chosen.append(loop)
                }
            } catch let e as Selection.Failure {
                writeStandardError("kvm-unit bench ref: \(e.description)\n")
                throw ExitCode(2)
            }
            loops = chosen
        }
        let engine = Self.referenceEngine()
        var rows: [Row] = []
        for loop in loops {
            let n = iterations ?? loop.defaultIterations * RefBench.defaultScale
            let skipped = RefBench.Sampler(loop, iterations: n, state: .notInstalled("--ref-only"))
            // The engines take their samples in turns (RefBench.measureInTurns).
            var samplers = [
                engine.map { RefBench.engineSampler($0, loop: loop, iterations: n) }
                    ?? RefBench.Sampler(loop, iterations: n, state: .notInstalled("reference engine not linked into kvm-unit")),
                refOnly ? skipped : RefBench.externalSampler(.bochs, loop: loop, iterations: n),
                refOnly ? skipped : RefBench.externalSampler(.qemu, loop: loop, iterations: n),
            ]
            // A given --iterations is run as given; the default N is lengthened per engine
            // where its timed part is short (RefBench.measureInTurns).
            RefBench.measureInTurns(loop, runs: runs, lengthen: iterations == nil, &samplers)
            rows.append(Row(loop: loop, ref: samplers[0].measurement, bochs: samplers[1].measurement, qemu: samplers[2].measurement))
        }
        let verdict = Verdict(rows)
        print(Self.render(rows, verdict: verdict, runs: runs), terminator: "")
        // Exit 1 only on a measured miss of a target or a failed run; nothing to compare
        // with (Bochs not installed, --ref-only) is not an error.
        if rows.contains(where: { if case .failed = $0.ref.state { return true } else { return false } }) { throw ExitCode(1) }
        if verdict.passes == false { throw ExitCode(1) }
    }

    /// The targets over all rows: nil when Bochs was not measured at all.
    struct Verdict {
        let geometricMean: Double?
        let geometricMeanQEMU: Double?
        let minimum: (name: String, ratio: Double)?
        let passes: Bool?

        init(_ rows: [Row]) {
            func geomean(_ xs: [Double]) -> Double? {
                xs.isEmpty ? nil : exp(xs.map { log($0) }.reduce(0, +) / Double(xs.count))
            }
            let measured = rows.filter { if case .notInstalled = $0.bochs.state { return false } else { return true } }
            let ratios = measured.compactMap { r in r.bochsRatio.map { (r.loop.name, $0) } }
            geometricMean = geomean(ratios.map(\.1))
            geometricMeanQEMU = geomean(rows.compactMap(\.qemuRatio))
            minimum = ratios.min { $0.1 < $1.1 }.map { (name: $0.0, ratio: $0.1) }
            if measured.isEmpty { passes = nil }
            else if ratios.count < measured.count { passes = false }   // a loop failed on one side
            else { passes = (geometricMean ?? 0) >= BenchRef.targetGeometricMean && (minimum?.ratio ?? 0) >= BenchRef.targetMinimum }
        }
    }

    struct Row {
        let loop: BenchLoop
        let ref: LoopMeasurement
        let bochs: LoopMeasurement
        let qemu: LoopMeasurement

        var bochsRatio: Double? { ratio(ref, bochs) }
        var qemuRatio: Double? { ratio(ref, qemu) }
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

    static func render(_ rows: [Row], verdict: Verdict, runs: Int) -> String {
        func mips(_ m: LoopMeasurement) -> String {
            switch m.state {
            case .notInstalled: return "not installed"
            case .failed: return "FAILED"
            case .measured: return m.mips.map { fixedPoint($0, places: 1) } ?? "n/a"
            }
        }
        func ratio(_ r: Double?) -> String { r.map { fixedPoint($0, places: 2) + "x" } ?? "-" }
        let table: [[String]] = [["payload", "ref instructions", "ref MIPS", "Bochs MIPS", "QEMU MIPS", "ref/Bochs", "ref/QEMU"]]
            + rows.map { r in
                [r.loop.name, "\(r.ref.instructions)", mips(r.ref), mips(r.bochs), mips(r.qemu),
                 ratio(r.bochsRatio), ratio(r.qemuRatio)]
            }
            + [["geometric mean", "", "", "", "", ratio(verdict.geometricMean), ratio(verdict.geometricMeanQEMU)]]
        var out = "MIPS = iterations x instructions per iteration / (median T(N) - median T(0)), \(runs) runs each"
        if rows.contains(where: { r in [r.ref, r.bochs, r.qemu].contains { $0.lengthenedFrom != nil } }) {
            out += "; an engine's N was lengthened where its T(N) - T(0) was under "
                + "\(fixedPoint(RefBench.shortestTimedSeconds, places: 1)) s (see the spread)"
        }
        out += "\n"
        out += TextTable.render(table)
        out += "\n"
        switch verdict.passes {
        case .none:
            out += "targets (geometric mean >= \(fixedPoint(targetGeometricMean, places: 1))x Bochs, every loop >= "
                + "\(fixedPoint(targetMinimum, places: 1))x): SKIP (Bochs not measured)\n"
        case .some(let ok):
            let mean = verdict.geometricMean.map { fixedPoint($0, places: 2) + "x" } ?? "n/a"
            let low = verdict.minimum.map { "\(fixedPoint($0.ratio, places: 2))x (\($0.name))" } ?? "n/a"
            out += "target geometric mean ref/Bochs >= \(fixedPoint(targetGeometricMean, places: 1))x: \(mean)\n"
            out += "target every loop >= \(fixedPoint(targetMinimum, places: 1))x Bochs: lowest \(low)\n"
            out += "targets: \(ok ? "PASS" : "FAIL")\n"
        }
        // How far one run can be trusted on this machine: the widest spread of one engine's
        // T(N) samples on one loop, against its timed part.
        let spreads = rows.flatMap { r in
            [("ref", r.ref), ("Bochs", r.bochs), ("QEMU", r.qemu)].compactMap { name, m in
                m.timedSpread.map { (loop: r.loop.name, engine: name, spread: $0) }
            }
        }
        if let widest = spreads.max(by: { $0.spread < $1.spread }) {
            out += "steadiness: widest spread of T(N) samples \(fixedPoint(widest.spread * 100, places: 0))% of "
                + "T(N) - T(0) (\(widest.loop), \(widest.engine))"
            out += widest.spread > BenchRef.unsteadySpread
                ? "; over \(fixedPoint(BenchRef.unsteadySpread * 100, places: 0))%: this machine's load moves the "
                    + "ratios more than one run can settle\n"
                : "\n"
        }
        let peaks = rows.compactMap { $0.ref.cacheStats["decode_cache_peak_bytes"] }
        if let peak = peaks.max(), let bound = rows.compactMap({ $0.ref.cacheStats["decode_cache_bound_bytes"] }).first {
            out += "ref decoded-instruction cache: peak \(peak / 1024) KiB over all loops (bound \(bound / 1024) KiB)\n"
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
                    if let from = m.lengthenedFrom { s += "; N = \(m.iterations) (lengthened from \(from))" }
                    if let retired = m.retiredLoop, let retired0 = m.retiredZero {
                        s += "; retired T(N) - T(0) = \(retired &- retired0) (analytical \(m.instructions))"
                    }
                    if let peak = m.cacheStats["decode_cache_peak_bytes"] {
                        s += "; decode cache peak \(peak / 1024) KiB, \(m.cacheStats["decode_cache_blocks_built"] ?? 0) blocks built, "
                            + "\(m.cacheStats["decode_cache_flushes"] ?? 0) flushes"
                    }
                    out += s + "\n"
                }
            }
        }
        return out
    }
}
