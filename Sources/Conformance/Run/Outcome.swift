import KVMABI

/// How a run ended.
public enum RunEnd: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The payload wrote its status to port 0xF4.
    case status(UInt8)
    /// KVM_EXIT_SHUTDOWN.
    case shutdown
    /// The watchdog ended it: the instruction or wall-clock budget ran out.
    case timeout
    /// KVM_EXIT_INTERNAL_ERROR (e.g. an instruction KVM's emulator cannot handle).
    case internalError(suberror: UInt32)
    /// An exit the harness does not expect from a payload.
    case unexpectedExit(String)
    /// An ioctl failed, or the harness hit one of its own limits.
    case error(String)

    public var description: String {
        switch self {
        case .status(let s): "status \(s)"
        case .shutdown: "KVM_EXIT_SHUTDOWN"
        case .timeout: "timeout"
        case .internalError(let s): "KVM_EXIT_INTERNAL_ERROR (suberror \(s)\(s == 1 ? ": emulation failure" : ""))"
        case .unexpectedExit(let e): "unexpected \(e)"
        case .error(let e): "error: \(e)"
        }
    }
}

/// A named register value of the final state.
public struct RegisterValue: Sendable, Equatable, Codable {
    public var name: String
    public var value: UInt64
}

/// Everything one run of one payload produced, in the form two runs can be compared in.
public struct Outcome: Sendable, Codable {
    public var end: RunEnd
    public var checks: [CheckRecord]
    /// The kept exits: all of them, or when `traceCut` says so the first and the last ones.
    public var trace: [TraceEvent]
    /// Text the payload wrote to the debug console (port 0xE9).
    public var console: String
    /// GPRs, RIP and RFLAGS with the payload's undefined masks applied, then CR0, CR3, CR4,
    /// EFER and the segment selectors.
    public var registers: [RegisterValue]
    /// FNV-1a digests of guest RAM and of each MMIO window's contents or access log.
    public var ramDigest: String
    /// One FNV-1a digest per 4 KiB page of guest RAM: enough to name the first differing
    /// guest-physical page when two runs' RAM differs. Not in the JSON report (it would
    /// be most of it); empty when the run never started.
    public var ramPageDigests: [UInt64] = []
    public var windowDigests: [String]
    /// The stats tied to userspace-visible exits (io_exits, mmio_exits, halt_exits, ...).
    public var stats: [String: UInt64]
    /// Errors from host requests (KVM_INTERRUPT, KVM_NMI, KVM_IRQ_LINE) the payload made.
    public var hostErrors: [String]
    public var wallNanoseconds: UInt64
    /// Set when the run made more exits than an outcome keeps (`TraceRecorder`).
    public var traceCut: TraceCut? = nil
    /// FNV-1a over every exit of the run, kept or not; empty for outcomes made without a run.
    public var traceDigest: String = ""
    /// Host requests (port 0xE4) the payload made, wherever they fall in the trace.
    public var hostRequests: Int = 0
    /// Save/restore cycles of the run (`kvm-unit run --migrate`), and what they did not
    /// carry over (MSRs a backend would not read or write), each line once.
    public var migrations: Int = 0
    public var migrationNotes: [String] = []

    private enum CodingKeys: String, CodingKey {
        case end, checks, trace, console, registers, ramDigest, windowDigests, stats, hostErrors, wallNanoseconds
        case traceCut, traceDigest, hostRequests
    }
}

/// The guest page size the RAM page digests are taken over.
public let ramPageSize = 4096

/// FNV-1a digests of each `ramPageSize` page of `count` bytes at `pointer`.
func pageDigests(_ pointer: UnsafeRawPointer, count: Int) -> [UInt64] {
    stride(from: 0, to: count, by: ramPageSize).map { start in
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in stride(from: start, to: min(start + ramPageSize, count) - 7, by: 8) {
            h = (h ^ pointer.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x100_0000_01B3
        }
        return h
    }
}

/// 64-bit FNV-1a over 8-byte words (fast enough in debug builds for a few MiB).
func digest(_ pointer: UnsafeRawPointer, count: Int) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    let words = count / 8
    for i in 0..<words {
        h = (h ^ pointer.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01B3
    }
    for i in (words * 8)..<count {
        h = (h ^ UInt64(pointer.load(fromByteOffset: i, as: UInt8.self))) &* 0x100_0000_01B3
    }
    let s = String(h, radix: 16)
    return String(repeating: "0", count: 16 - s.count) + s
}

func digest(_ bytes: [UInt8]) -> String {
    bytes.withUnsafeBytes { buf in
        guard let base = buf.baseAddress else { return digest(UnsafeRawPointer(bitPattern: 8)!, count: 0) }
        return digest(base, count: buf.count)
    }
}
