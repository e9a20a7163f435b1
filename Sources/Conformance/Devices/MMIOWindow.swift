import PayloadFormat

/// A userspace MMIO window (kinds ram, log and absent; rom windows are read-only memory
/// slots and only see writes here).
///
/// A `ram` window may be almost 4 GiB and a payload may have eight, so its contents are
/// kept sparsely: a page exists only once the guest wrote into it, every other byte reads
/// as `fill`. Host memory then grows with what the guest writes (one MMIO exit writes at
/// most 8 bytes), never with what the header asks for; `WrittenPages` caps it per run.
final class MMIOWindow {
    static let pageSize = 4096

    let window: PayloadHeader.Window
    /// Written pages of a `ram` window, by page index; absent pages hold `fill`.
    private var pages: [Int: [UInt8]] = [:]
    /// The run's budget of written pages, shared by all windows of one payload.
    private let budget: WrittenPages
    /// Every access, for `log` windows.
    private(set) var log: [String] = []

    init(_ window: PayloadHeader.Window, budget: WrittenPages) {
        self.window = window
        self.budget = budget
    }

    func contains(_ gpa: UInt64, length: Int) -> Bool {
        gpa >= window.gpa && gpa < window.end && UInt64(length) <= window.end - gpa
    }

    func read(_ gpa: UInt64, length: Int) -> [UInt8] {
        let offset = Int(gpa - window.gpa)
        switch window.kind {
        case .ram: return (offset..<(offset + length)).map(byte)
        case .log:
            log.append("R \(length)@+0x\(String(offset, radix: 16))")
            return [UInt8](repeating: window.fill, count: length)
        case .absent: return [UInt8](repeating: 0xFF, count: length)
        case .rom: return [UInt8](repeating: window.fill, count: length)  // unreachable: KVM reads the slot
        }
    }

    /// Stores a guest write; throws when the run's budget of written pages is spent (the
    /// run then ends with that error, the write is not stored).
    func write(_ gpa: UInt64, data: [UInt8]) throws(WrittenPages.Exhausted) {
        let offset = Int(gpa - window.gpa)
        switch window.kind {
        case .ram:
            for (i, b) in data.enumerated() {
                let at = offset + i
                let page = at / Self.pageSize
                if pages[page] == nil {
                    try budget.take()
                    pages[page] = [UInt8](repeating: window.fill, count: Self.pageSize)
                }
                pages[page]![at % Self.pageSize] = b
            }
        case .log: log.append("W \(data.count)@+0x\(String(offset, radix: 16))=\(hex(data))")
        case .absent, .rom: break   // dropped
        }
    }

    private func byte(_ offset: Int) -> UInt8 {
        pages[offset / Self.pageSize]?[offset % Self.pageSize] ?? window.fill
    }

    /// What the outcome compares: the contents of a ram window, the access log of a log
    /// window. A ram window is described by its size, fill and every page that differs
    /// from the fill (by offset), so two runs that leave the same bytes digest the same
    /// whichever pages they happened to write.
    var digestInput: [UInt8] {
        switch window.kind {
        case .ram:
            var out = Array("ram \(window.size) fill \(window.fill)".utf8)
            for page in pages.keys.sorted() {
                let bytes = pages[page]!
                guard bytes.contains(where: { $0 != window.fill }) else { continue }
                out += Array("\npage \(page)\n".utf8) + bytes
            }
            return out
        case .log: return Array(log.joined(separator: "\n").utf8)
        case .absent, .rom: return []
        }
    }
}

/// How many window pages one run may write, across all its `ram` windows.
final class WrittenPages {
    /// 64 MiB: far more than any payload needs (the suite's write a few bytes), little
    /// enough for several runs in parallel. Documented in guests/README.md, "MMIO windows".
    static let maximumBytes = 64 << 20

    struct Exhausted: Error, CustomStringConvertible {
        var description: String {
            "the payload wrote to more than \(WrittenPages.maximumBytes >> 20) MiB of ram-window pages (the harness's limit)"
        }
    }

    private var remaining = maximumBytes / MMIOWindow.pageSize

    func take() throws(Exhausted) {
        guard remaining > 0 else { throw Exhausted() }
        remaining -= 1
    }
}

func hex(_ data: [UInt8]) -> String {
    // Written straight into the string's storage: this runs once per exit, and a string per
    // byte joined together was most of the cost of an exit on the engine.
    String(unsafeUninitializedCapacity: data.count * 2) { out in
        let digits: StaticString = "0123456789abcdef"
        let d = digits.utf8Start
        for (i, b) in data.enumerated() {
            out[2 * i] = d[Int(b >> 4)]
            out[2 * i + 1] = d[Int(b & 15)]
        }
        return data.count * 2
    }
}
