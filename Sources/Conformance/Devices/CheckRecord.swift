import KVMABI

/// One check reported by a payload through port 0xE8 (guests/README.md, "Check records").
public struct CheckRecord: Sendable, Equatable, Codable {
    public enum Kind: UInt8, Sendable, Codable {
        case fail = 0, pass = 1, skip = 2
        /// The boot library's default handler caught an exception nobody expected.
        case unexpectedException = 3
        /// A record whose kind byte is none of the above (a payload bug).
        case malformed = 255
    }
    /// Source line of the check in the payload's .asm.
    public var line: UInt32
    public var kind: Kind
    public var expected: UInt64
    public var actual: UInt64
    public var aux: UInt64
    public var message: String
    /// Byte 5 of the record: 1 when `expected`/`actual` are RFLAGS values (CHECK_FLAGS).
    public var format: UInt8 = 0
    /// The vCPU that reported it, in a run of several vCPUs (nil with one).
    public var vcpu: Int? = nil

    static let formatRFLAGS: UInt8 = 1

    /// "CF ZF" for an RFLAGS value.
    static func flagNames(_ v: UInt64) -> String {
        let names = OutcomeComparison.flagBits(v)
        return names.isEmpty ? "none" : names.joined(separator: " ")
    }

    /// What a report prints: the message, and for failures the values; in a run of several
    /// vCPUs, which one reported it.
    public var summary: String {
        guard let vcpu else { return text }
        return "vCPU \(vcpu): \(text)"
    }

    private var text: String {
        switch kind {
        case .unexpectedException:
            return "unexpected exception: vector \(expected) at RIP 0x\(String(actual, radix: 16)), error code 0x\(String(aux, radix: 16))"
        case .fail where format == Self.formatRFLAGS:
            return "\(message) (line \(line)): expected flags \(Self.flagNames(expected)), got \(Self.flagNames(actual))"
                + " (differs in \(Self.flagNames(expected ^ actual)))"
        case .fail:
            return "\(message) (line \(line)): expected 0x\(String(expected, radix: 16)), got 0x\(String(actual, radix: 16))"
        case .malformed:
            return "malformed check record at line \(line)"
        default:
            return message.isEmpty ? "line \(line)" : message
        }
    }

    /// Reads a record at `gpa` from guest RAM. The guest controls every byte, so every
    /// access is bounds-checked; a record outside RAM is reported as malformed.
    static func read(gpa: UInt64, ram: GuestMemory) -> CheckRecord {
        let size = UInt64(ram.size)
        guard gpa < size, size - gpa >= 40 else {
            return CheckRecord(line: 0, kind: .malformed, expected: gpa, actual: 0, aux: 0, message: "record outside RAM")
        }
        let b = ram.read(at: Int(gpa), count: 40)
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * $1) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * $1) } }
        var message = ""
        let messageGPA = UInt64(u32(32))
        if messageGPA != 0, messageGPA < size {
            let bytes = ram.read(at: Int(messageGPA), count: Int(min(160, size - messageGPA)))
            message = String(decoding: bytes.prefix { $0 != 0 }.map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x3F }, as: UTF8.self)
        }
        return CheckRecord(line: u32(0), kind: Kind(rawValue: b[4]) ?? .malformed,
                           expected: u64(8), actual: u64(16), aux: u64(24), message: message, format: b[5])
    }

    /// How the check appears in the exit trace: its line, verdict and values.
    var traceNote: String {
        let values = format == Self.formatRFLAGS
            ? "expected flags \(Self.flagNames(expected)) actual \(Self.flagNames(actual))"
            : "expected 0x\(String(expected, radix: 16)) actual 0x\(String(actual, radix: 16))"
        return "check line \(line) \(kind) \(values)"
    }
}
