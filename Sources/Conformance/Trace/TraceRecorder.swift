/// Where a run's kept exit trace was cut: it holds exits #1...#`head` and the last `tail`
/// exits, not the `dropped` ones between them.
public struct TraceCut: Sendable, Codable, Equatable {
    /// Exits the run had in all.
    public var exits: Int
    public var head: Int
    public var tail: Int
    public var dropped: Int { exits - head - tail }
    /// Index (0-based) of the first kept exit after the cut.
    public var tailStart: Int { exits - tail }

    public var description: String {
        "trace cut: \(exits) exits, kept #1..#\(head) and #\(tailStart + 1)..#\(exits), \(dropped) not kept"
    }
}

/// Records a run's exits in bounded memory: the first `headLimit` and the last `tailLimit`
/// exits, and a digest over every exit, so two runs can still be told equal or not.
///
/// A run may make 200,000 exits (`PayloadRunner.maximumExits`); kept whole, their trace was
/// 55 MB of JSON per outcome. The head shows how a divergence started, the tail how the run
/// ended; the suite's own payloads stay far below the bound and are kept whole.
struct TraceRecorder {
    static let headLimit = 2000
    static let tailLimit = 500

    private(set) var head: [TraceEvent] = []
    /// A ring of the latest exits after the head; `ringStart` is its oldest.
    private var ring: [TraceEvent] = []
    private var ringStart = 0
    private(set) var count = 0
    /// 64-bit FNV-1a over every exit's fields (kind, direction, address, size, count, data,
    /// note), each followed by a separator byte. The fields, not the description: formatting
    /// a line per exit cost more than the engine's whole exit.
    private var hash: UInt64 = 0xCBF2_9CE4_8422_2325

    private mutating func feed(_ s: String) {
        for b in s.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01B3 }
        hash = (hash ^ 0x1F) &* 0x100_0000_01B3
    }

    private mutating func feed(_ v: UInt64) {
        for k in 0..<8 { hash = (hash ^ ((v >> UInt64(8 * k)) & 0xFF)) &* 0x100_0000_01B3 }
    }

    mutating func record(_ event: TraceEvent) {
        count += 1
        feed(event.exit)
        feed(event.direction)
        feed(event.address)
        feed(UInt64(event.size) << 32 | UInt64(event.count))
        feed(event.data)
        feed(event.note)
        if let v = event.vcpu { feed(UInt64(v)) }
        hash = (hash ^ 0x0A) &* 0x100_0000_01B3
        if head.count < Self.headLimit {
            head.append(event)
        } else if ring.count < Self.tailLimit {
            ring.append(event)
        } else {
            ring[ringStart] = event
            ringStart = (ringStart + 1) % Self.tailLimit
        }
    }

    /// The kept exits in order: the head, then the tail.
    var events: [TraceEvent] { head + ring[ringStart...] + ring[..<ringStart] }

    /// Nil when every exit was kept.
    var cut: TraceCut? {
        count > head.count + ring.count ? TraceCut(exits: count, head: head.count, tail: ring.count) : nil
    }

    var digest: String {
        let s = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

extension Outcome {
    /// How many exits the run made, kept or not.
    public var traceExits: Int { traceCut?.exits ?? trace.count }

    /// How many exits from the first on were all kept.
    public var traceKeptPrefix: Int { traceCut?.head ?? trace.count }

    /// Exit `index` (0-based) if the run made and kept it.
    public func traceEvent(at index: Int) -> TraceEvent? {
        guard let cut = traceCut else { return trace.indices.contains(index) ? trace[index] : nil }
        if index < cut.head { return trace[index] }
        if index >= cut.tailStart && index < cut.exits { return trace[cut.head + index - cut.tailStart] }
        return nil
    }
}
