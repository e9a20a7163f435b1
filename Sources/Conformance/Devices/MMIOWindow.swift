import PayloadFormat

/// A userspace MMIO window (kinds ram, log and absent; rom windows are read-only memory
/// slots and only see writes here).
final class MMIOWindow {
    let window: PayloadHeader.Window
    /// Contents for `ram` windows (and the fill pattern others read back).
    private(set) var bytes: [UInt8]
    /// Every access, for `log` windows.
    private(set) var log: [String] = []

    init(_ window: PayloadHeader.Window) {
        self.window = window
        self.bytes = window.kind == .ram ? [UInt8](repeating: window.fill, count: Int(window.size)) : []
    }

    func contains(_ gpa: UInt64, length: Int) -> Bool {
        gpa >= window.gpa && gpa < window.end && UInt64(length) <= window.end - gpa
    }

    func read(_ gpa: UInt64, length: Int) -> [UInt8] {
        let offset = Int(gpa - window.gpa)
        switch window.kind {
        case .ram: return Array(bytes[offset..<(offset + length)])
        case .log:
            log.append("R \(length)@+0x\(String(offset, radix: 16))")
            return [UInt8](repeating: window.fill, count: length)
        case .absent: return [UInt8](repeating: 0xFF, count: length)
        case .rom: return [UInt8](repeating: window.fill, count: length)  // unreachable: KVM reads the slot
        }
    }

    func write(_ gpa: UInt64, data: [UInt8]) {
        let offset = Int(gpa - window.gpa)
        switch window.kind {
        case .ram: bytes.replaceSubrange(offset..<(offset + data.count), with: data)
        case .log: log.append("W \(data.count)@+0x\(String(offset, radix: 16))=\(hex(data))")
        case .absent, .rom: break   // dropped
        }
    }

    /// What the outcome compares: the contents of a ram window, the access log of a log window.
    var digestInput: [UInt8] {
        switch window.kind {
        case .ram: bytes
        case .log: Array(log.joined(separator: "\n").utf8)
        case .absent, .rom: []
        }
    }
}

func hex(_ data: [UInt8]) -> String {
    data.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
