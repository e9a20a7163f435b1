import KVMABI

/// One userspace-visible exit, as the comparison sees it.
public struct TraceEvent: Sendable, Equatable, Codable, CustomStringConvertible {
    /// `KVM_EXIT_IO`, `KVM_EXIT_MMIO`, `KVM_EXIT_HLT`, ... (KVM's names), or `TIMEOUT`.
    public var exit: String
    /// `in`/`out` for I/O, `read`/`write` for MMIO, empty otherwise.
    public var direction: String
    /// Port or guest-physical address.
    public var address: UInt64
    public var size: UInt32
    public var count: UInt32
    /// Bytes written by the guest, or supplied to it for IN and MMIO reads (hex).
    public var data: String
    /// What the exit meant to the harness, where that is more than its bytes: the content of
    /// a check record (its GPA alone would hide a differing value).
    public var note: String = ""
    /// The vCPU whose exit this is, in a run of several vCPUs (nil with one).
    public var vcpu: Int? = nil

    public var description: String {
        guard let vcpu else { return line }
        return "vCPU \(vcpu): \(line)"
    }

    private var line: String {
        switch exit {
        case "KVM_EXIT_IO":
            let c = count > 1 ? " x\(count)" : ""
            let n = note.isEmpty ? "" : " (\(note))"
            return "\(exit) \(direction) port 0x\(String(address, radix: 16)) size \(size)\(c) data \(data)\(n)"
        case "KVM_EXIT_MMIO":
            return "\(exit) \(direction) gpa 0x\(String(address, radix: 16)) len \(size) data \(data)"
        default:
            let n = note.isEmpty ? "" : " (\(note))"
            return (data.isEmpty ? exit : "\(exit) \(data)") + n
        }
    }

    /// `fields` false keeps the exit's name only (a run that records no trace).
    init(exit: Exit, supplied: [UInt8] = [], fields: Bool = true) {
        self.exit = exit.name
        direction = ""; address = 0; size = 0; count = 0; data = ""
        guard fields else { return }
        switch exit {
        case .io(let io):
            direction = io.direction == .out ? "out" : "in"
            address = UInt64(io.port); size = UInt32(io.size); count = io.count
            data = hex(io.direction == .out ? io.data : supplied)
        case .mmio(let m):
            direction = m.isWrite ? "write" : "read"
            address = m.physicalAddress; size = m.length; count = 1
            data = hex(m.isWrite ? m.data : supplied)
        case .internalError(let suberror, let words):
            data = "suberror \(suberror) data [\(words.map { "0x" + String($0, radix: 16) }.joined(separator: ", "))]"
        case .systemEvent(let type, _):
            data = "type \(type)"
        case .exception(let vector, let code):
            data = "vector \(vector) error code \(code)"
        case .rdmsr(let index, let reason):
            direction = "read"; address = UInt64(index)
            data = "index 0x\(String(index, radix: 16)) reason \(reason)"
        case .wrmsr(let index, let value, let reason):
            direction = "write"; address = UInt64(index)
            data = "index 0x\(String(index, radix: 16)) data 0x\(String(value, radix: 16)) reason \(reason)"
        case .hypercall(let nr, let args, _, let longMode):
            address = nr
            data = "nr \(nr) args \(args.prefix(3).map { "0x" + String($0, radix: 16) }.joined(separator: " ")) longmode \(longMode ? 1 : 0)"
        default: break
        }
    }
}
