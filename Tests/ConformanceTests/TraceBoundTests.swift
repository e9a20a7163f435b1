@testable import Conformance
import KVMABI
import Testing

/// The exit trace an outcome keeps is bounded; comparing two cut traces still finds the
/// first differing exit when it was kept, and says so when it may have been cut.
@Suite("Bounded exit traces")
struct TraceBoundTests {
    static let head = TraceRecorder.headLimit, tail = TraceRecorder.tailLimit

    /// Exit `i` of a synthetic run: an OUT whose data is `i` (plus `salt` for changed exits).
    static func event(_ i: Int, salt: UInt8 = 0) -> TraceEvent {
        TraceEvent(exit: .io(.init(direction: .out, size: 4, port: 0x80, count: 1,
                                   data: [UInt8(i & 0xFF), UInt8((i >> 8) & 0xFF), UInt8(i >> 16), salt])))
    }

    /// A run of `exits` exits, the ones in `changed` different, recorded as the runner does.
    static func run(_ exits: Int, changed: Set<Int> = []) -> Outcome {
        var r = TraceRecorder()
        for i in 0..<exits { r.record(event(i, salt: changed.contains(i) ? 1 : 0)) }
        var o = outcome(checks: [], trace: r.events)
        o.traceCut = r.cut
        o.traceDigest = r.digest
        return o
    }

    static func traceDetails(_ a: Outcome, _ b: Outcome) -> [String]? {
        let (aspects, details) = OutcomeComparison.compare(a, b, names: ("kvm", "ref"), invariantsOnly: false)
        return aspects.contains("trace") ? details : nil
    }

    @Test("keeps the first and the last exits, counts the rest")
    func recorderBounds() {
        let whole = Self.run(Self.head + Self.tail)
        #expect(whole.traceCut == nil && whole.trace.count == Self.head + Self.tail)
        let cut = Self.run(200_000)
        #expect(cut.traceCut == TraceCut(exits: 200_000, head: Self.head, tail: Self.tail))
        #expect(cut.traceCut?.dropped == 200_000 - Self.head - Self.tail)
        #expect(cut.trace.count == Self.head + Self.tail)
        #expect(cut.trace[Self.head - 1] == Self.event(Self.head - 1))
        #expect(cut.trace[Self.head] == Self.event(200_000 - Self.tail), "the tail starts where it should")
        #expect(cut.trace.last == Self.event(199_999))
        #expect(cut.traceEvent(at: 100_000) == nil)
        #expect(cut.traceEvent(at: 199_998) == Self.event(199_998))
    }

    @Test("equal cut traces agree; a difference in the kept head is exact")
    func differenceInHead() throws {
        #expect(Self.traceDetails(Self.run(3000), Self.run(3000)) == nil)
        let d = try #require(Self.traceDetails(Self.run(3000), Self.run(3000, changed: [10])))
        #expect(d.first == "first differing exit is #11:")
        #expect(d.contains { $0.hasPrefix("    #10 both: ") })
    }

    @Test("a difference only among exits not kept is reported as such, not missed")
    func differenceInCutPart() throws {
        let d = try #require(Self.traceDetails(Self.run(3000), Self.run(3000, changed: [2200])))
        #expect(d.first?.hasPrefix("the first \(Self.head) exits agree; the first differing exit is after #\(Self.head), among exits not kept") == true)
        #expect(d.first?.hasSuffix("the kept exits agree, the digests over all 3000 exits differ") == true)
    }

    @Test("a difference in both parts: the kept one bounds where the first may be")
    func differenceBounded() throws {
        let d = try #require(Self.traceDetails(Self.run(3000), Self.run(3000, changed: [2200, 2700])))
        #expect(d.first?.hasSuffix("at or before #2701:") == true)
        #expect(d.contains { $0.hasPrefix("  > #2701 kvm: KVM_EXIT_IO out port 0x80") })
    }

    @Test("different lengths: the shorter run's end bounds it; a whole shorter run is exact")
    func differentLengths() throws {
        let d = try #require(Self.traceDetails(Self.run(3000), Self.run(2900)))
        #expect(d.first?.hasSuffix("at or before #2901:") == true)
        #expect(d.contains("  > #2901 ref: (no more exits)"))
        let e = try #require(Self.traceDetails(Self.run(100), Self.run(3000)))
        #expect(e.first == "first differing exit is #101:")
        #expect(e.contains("  > #101 kvm: (no more exits)"))
    }
}
