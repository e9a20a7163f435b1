/// The I/O ports of payload ABI v1 (guests/README.md, "Ports").
public enum ABIPort {
    /// 0xE0-0xE3: a 4-byte latch register.
    public static let latch: ClosedRange<UInt16> = 0xE0...0xE3
    /// 32-bit OUT: op << 24 | arg, a request for the host (inject an interrupt, an NMI, an IRQ line).
    public static let hostRequest: UInt16 = 0xE4
    /// 32-bit OUT: GPA of a 40-byte check record.
    public static let checkRecord: UInt16 = 0xE8
    /// 1-byte OUTs: the debug console.
    public static let debugConsole: UInt16 = 0xE9
    /// OUT of AL: the payload's status; the run ends.
    public static let exitStatus: UInt16 = 0xF4
}

/// The latch device on ports 0xE0-0xE3: OUT stores bytes, IN reads them back.
struct LatchDevice {
    /// Byte k is at port 0xE0 + k; initial value 0x44332211. A plain value, not an array:
    /// a latch write is the commonest exit of all (every bench_pio_exit iteration).
    var value: UInt32 = 0x4433_2211

    /// `count` bytes of `data` (little-endian) written at `port`; bytes past 0xE3 go nowhere.
    /// (Inline: the whole latch written at once is a store.)
    @inline(__always) mutating func write(port: UInt16, value data: UInt64, count: Int) {
        if port == ABIPort.latch.lowerBound && count >= 4 { value = UInt32(truncatingIfNeeded: data); return }
        writeBytes(port: port, value: data, count: count)
    }

    /// write() of part of the latch, or past it.
    @inline(never) private mutating func writeBytes(port: UInt16, value data: UInt64, count: Int) {
        var first = Int(port) - Int(ABIPort.latch.lowerBound), data = data, count = min(count, 8)
        if first < 0 {
            // Bytes below 0xE0 go nowhere; the rest land from 0xE0 on.
            if -first >= count { return }
            data >>= UInt64(8 * -first); count += first; first = 0
        }
        guard first < 4 && count > 0 else { return }
        let bytes = min(count, 4 - first)
        let mask = (UInt64(1) << UInt64(8 * bytes) - 1) << UInt64(8 * first)
        value = UInt32(truncatingIfNeeded: UInt64(value) & ~mask | (data << UInt64(8 * first)) & mask)
    }

    mutating func write(port: UInt16, data: [UInt8]) {
        for (i, b) in data.enumerated() where i < 8 {
            write(port: port &+ UInt16(i), value: UInt64(b), count: 1)
        }
    }

    /// `size` (at most 8) bytes read at `port`, little-endian, as `read` gives them.
    /// (Inline: the whole latch read at once is a load.)
    @inline(__always) func readValue(port: UInt16, size: Int) -> UInt64 {
        if port == ABIPort.latch.lowerBound && size == 4 { return UInt64(value) }
        return readBytes(port: port, size: size)
    }

    /// readValue() of part of the latch, or past it.
    @inline(never) private func readBytes(port: UInt16, size: Int) -> UInt64 {
        let n = min(max(size, 0), 8)
        let mask: UInt64 = n == 8 ? ~0 : (1 << UInt64(8 * n)) - 1
        let k = Int(port) - Int(ABIPort.latch.lowerBound)
        guard k >= 0 && k < 4 else { return mask }
        // The latch's bytes from `k` on, then all ones past 0xE3.
        return (UInt64(value) >> UInt64(8 * k) | ~0 << UInt64(8 * (4 - k))) & mask
    }

    /// Bytes past 0xE3 read as all ones, like an unclaimed port.
    func read(port: UInt16, size: Int) -> [UInt8] {
        (0..<size).map { i in
            let k = Int(port) - Int(ABIPort.latch.lowerBound) + i
            return k >= 0 && k < 4 ? UInt8(truncatingIfNeeded: value >> UInt32(8 * k)) : 0xFF
        }
    }
}

/// A host request written to port 0xE4.
enum HostRequest: Equatable {
    case interrupt(vector: UInt8)
    case nmi
    case irqLine(gsi: UInt32, level: Bool)
    case irqPulse(gsi: UInt32)
    /// KVM_SIGNAL_MSI: address 0xFEE00000 | destination << 12 | logical << 2, data = vector
    /// | delivery mode << 8 (edge; SDM Vol. 3A 10.11.1, 10.11.2).
    case msi(destination: UInt8, vector: UInt8, deliveryMode: UInt8, logical: Bool)
    /// A memslot request block at this GPA (RuntimeMemslots).
    case memslot(blockGPA: UInt64)
    /// A VM control block at this GPA (UserspaceExits): ENABLE_CAP and the MSR filter.
    case vmControls(blockGPA: UInt64)
    /// A guest debug block at this GPA (GuestDebugRequests): KVM_SET_GUEST_DEBUG.
    case guestDebug(blockGPA: UInt64)
    /// An eventfd block at this GPA (EventFDRequests): ioeventfds, irqfds, coalesced zones.
    case eventFD(blockGPA: UInt64)
    case unknown(UInt32)

    init(_ value: UInt32) {
        let arg = value & 0xFF_FFFF
        switch value >> 24 {
        case 1: self = .interrupt(vector: UInt8(arg & 0xFF))
        case 2: self = .nmi
        case 3: self = .irqLine(gsi: arg & 0xFFFF, level: true)
        case 4: self = .irqLine(gsi: arg & 0xFFFF, level: false)
        case 5: self = .irqPulse(gsi: arg & 0xFFFF)
        case 6: self = .msi(destination: UInt8((arg >> 8) & 0xFF), vector: UInt8(arg & 0xFF),
                            deliveryMode: UInt8((arg >> 16) & 7), logical: arg & (1 << 19) != 0)
        case RuntimeMemslots.op: self = .memslot(blockGPA: UInt64(arg))
        case UserspaceExits.op: self = .vmControls(blockGPA: UInt64(arg))
        case GuestDebugRequests.op: self = .guestDebug(blockGPA: UInt64(arg))
        case EventFDRequests.op: self = .eventFD(blockGPA: UInt64(arg))
        default: self = .unknown(value)
        }
    }
}
