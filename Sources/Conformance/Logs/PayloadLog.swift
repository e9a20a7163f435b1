import GuestPayloads
import PayloadFormat

/// The per-payload log of `kvm-unit run --log-dir`: one file per payload and backend with
/// everything a porter needs to chase a failure without re-running it: how it ended, the
/// judged lines, every check record, unexpected exceptions with the instruction behind
/// them, the exit trace, the final registers, the stats, and the comparison with the
/// other backend (register differences, the first differing guest-physical page).
public enum PayloadLog {
    /// `exits.io_latch_sizes.kvm.log`.
    public static func fileName(_ report: PayloadReport, backend: String) -> String {
        "\(report.qualifiedName).\(backend).log"
    }

    /// The log of `report`'s run on the backend of `result`.
    public static func render(_ result: PayloadResult, of report: PayloadReport, payload: Payload) -> String {
        var out: [String] = []
        let h = payload.header
        out.append("payload:        \(report.qualifiedName) (\(payload.source), \(h.mode), ram 0x\(hex(UInt64(h.ramSize))))")
        out.append("backend:        \(result.backend) (\(result.implementation))")
        out.append("verdict:        \(result.verdict.rawValue)")
        out.append("suite:          \(SuiteVersion.description)")
        guard let o = result.outcome else {
            out.append("not run: " + result.lines.map(\.text).joined(separator: "; "))
            return out.joined(separator: "\n") + "\n"
        }
        out.append("end:            \(o.end) (a pass ends with \(h.expectedExit))")
        out.append("wall time:      \(fixedPoint(Double(o.wallNanoseconds) / 1e6, places: 3)) ms")

        out.append("")
        out.append("judged lines (\(result.lines.count)):")
        for l in result.lines { out.append("  \(l.verdict.rawValue) \(l.text)") }

        out.append("")
        out.append("check records (\(o.checks.count)):")
        for (i, c) in o.checks.enumerated() {
            out.append("  \(i + 1): line \(c.line) \(c.kind): \(c.summary)")
            if c.kind == .unexpectedException {
                let previous = o.checks[..<i].last { $0.kind != .unexpectedException && $0.line != 0 }
                out += exceptionDetail(c, payload: payload, previousCheckLine: previous?.line).map { "       " + $0 }
            }
        }
        if !o.console.isEmpty {
            out.append("")
            out.append("console (port 0xe9):")
            out += o.console.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
        }
        if !o.hostErrors.isEmpty {
            out.append("")
            out.append("host request errors:")
            out += o.hostErrors.map { "  " + $0 }
        }

        out.append("")
        out.append("exit trace (\(o.trace.count) exits):")
        for (i, e) in o.trace.enumerated() { out.append("  \(i + 1): \(e)") }

        out.append("")
        out.append("final registers (undefined bits masked as the payload declares):")
        for r in o.registers { out.append("  \(r.name.padding(8)) 0x\(hex(r.value))") }
        out.append("ram digest:     \(o.ramDigest) (\(o.ramPageDigests.count) pages of \(ramPageSize) bytes)")
        if !o.windowDigests.isEmpty { out.append("window digests: \(o.windowDigests.joined(separator: " "))") }
        if !o.stats.isEmpty {
            out.append("stats:          " + o.stats.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }

        if let c = report.comparison {
            let others = report.results.filter { $0.backend != result.backend }.map(\.backend)
            out.append("")
            out.append("comparison with \(others.joined(separator: ", ")): \(c.verdict.rawValue)"
                       + (c.differingAspects.isEmpty ? "" : " (differs in: \(c.differingAspects.joined(separator: ", ")))"))
            if let reason = c.reason { out.append("  expected: \(reason)") }
            out += c.details.map { "  " + $0 }
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// Where an unexpected exception happened: the instruction there (decoded from the
    /// payload image: RIP is a linear address, which the boot library maps 1:1), its
    /// offset in the image, and the last check before it as a source-line landmark.
    static func exceptionDetail(_ c: CheckRecord, payload: Payload, previousCheckLine: UInt32?) -> [String] {
        let rip = c.actual
        var lines = ["\(InstructionNames.vectorName(c.expected)) at RIP 0x\(hex(rip)), error code 0x\(hex(c.aux))"]
        let load = PayloadHeader.loadAddress
        if rip >= load, rip - load < UInt64(payload.image.count) {
            let offset = Int(rip - load)
            let bits = payload.header.mode == .real16 ? 16 : payload.header.mode == .prot32 ? 32 : 64
            let bytes = Array(payload.image[offset..<min(offset + 15, payload.image.count)])
            lines.append("instruction:  \(InstructionNames.describe(bytes, bits: bits)) (decoded as \(bits)-bit code)")
            if let line = payload.sourceLine(atImageOffset: offset) {
                lines.append("source:       \(payload.source) line \(line) (image offset 0x\(hex(UInt64(offset))))")
            } else {
                lines.append("image offset: 0x\(hex(UInt64(offset))) of \(payload.source)"
                             + " (nasm -f bin -I guests/include/ -l out.lst FILE.asm maps it to a line)")
            }
        } else {
            lines.append("RIP is outside the payload image (0x\(hex(load))-0x\(hex(load + UInt64(payload.image.count) - 1))): no instruction bytes to show")
        }
        if let line = previousCheckLine { lines.append("last check before it: line \(line) of \(payload.source)") }
        return lines
    }

    static func hex(_ v: UInt64) -> String { String(v, radix: 16) }
}

private extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}
