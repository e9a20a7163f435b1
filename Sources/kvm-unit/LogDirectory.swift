import Conformance
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Glibc
import GuestPayloads
import Synchronization

/// `kvm-unit run --log-dir DIR`: one log per payload and backend (PayloadLog), written as
/// each payload finishes. The directory is checked before anything runs, so a typo costs
/// seconds, not a whole run.
final class LogDirectory: Sendable {
    let path: String
    private let payloads: [String: Payload]
    private let firstError = Mutex<String?>(nil)

    /// Creates DIR (and its parents) when missing, and proves it writable by creating and
    /// removing a file in it; otherwise exits 2 naming the path and the reason.
    init(_ path: String, payloads: [Payload]) {
        self.path = path
        self.payloads = Dictionary(payloads.map { ($0.qualifiedName, $0) }, uniquingKeysWith: { a, _ in a })
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            fail("--log-dir \(path): cannot create the directory: \(Self.reason(errno))")
        }
        let probe = path + "/.kvm-unit-write-test"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fail("--log-dir \(path): not writable: \(Self.reason(errno))") }
        close(fd)
        unlink(probe)
    }

    /// Writes the logs of one finished payload. A write error is kept and reported by
    /// `finish()`; the run itself goes on.
    func write(_ report: PayloadReport) {
        guard let payload = payloads[report.qualifiedName] else { return }
        for result in report.results {
            let file = path + "/" + PayloadLog.fileName(report, backend: result.backend)
            let text = PayloadLog.render(result, of: report, payload: payload)
            if !FileManager.default.createFile(atPath: file, contents: Data(text.utf8)) {
                let why = "\(file): cannot write the log: \(Self.reason(errno))"
                firstError.withLock { if $0 == nil { $0 = why } }
            }
        }
    }

    /// Exits 2 when a log could not be written (after the reports are out).
    func finish() {
        if let why = firstError.withLock({ $0 }) { fail(why) }
    }

    static func reason(_ e: Int32) -> String { "\(String(cString: strerror(e))) (errno \(e))" }
}
