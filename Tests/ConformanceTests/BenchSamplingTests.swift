@testable import Conformance
import GuestPayloads
import KVMABI
import Testing

/// `bench ref`'s sampling (RefBench.measureInTurns) on engines with made-up run times: a
/// T(N) - T(0) under 0.5 s in the first round is lengthened per engine, its first T(N) is
/// dropped and one more round is taken; a given --iterations is never lengthened.
@Suite("bench ref: samples in turns, short loops lengthened per engine")
struct BenchSamplingTests {
    static let loop = BenchLoop.catalogue.first { $0.name == "bench_alu_loop" }!

    /// An engine whose run with the count patched to n takes `boot` + n * `perIteration`
    /// seconds and passes; `log` records the counts it was run with, in order.
    static func sampler(boot: Double, perIteration: Double, log: Log) -> RefBench.Sampler {
        RefBench.Sampler(loop, iterations: loop.defaultIterations * RefBench.defaultScale) { image in
            let n = BenchLoop.u64(image, loop.blockOffset + 8)
            log.counts.append(n)
            return TimedRun(seconds: boot + Double(n) * perIteration, status: 0)
        }
    }

    final class Log { var counts: [UInt64] = [] }

    @Test("a short timed part is lengthened to about 1 s, on that engine only")
    func lengthensShortEngineOnly() {
        let n = Self.loop.defaultIterations * RefBench.defaultScale
        let shortLog = Log(), longLog = Log()
        // 0.2 s for N (under 0.5 s): scaled by ceil(1.0 / 0.2) = 5. The other: 0.8 s, kept.
        var samplers = [Self.sampler(boot: 0.2, perIteration: 0.2 / Double(n), log: shortLog),
                        Self.sampler(boot: 0.2, perIteration: 0.8 / Double(n), log: longLog)]
        RefBench.measureInTurns(Self.loop, runs: 3, lengthen: true, &samplers)

        let short = samplers[0].measurement, long = samplers[1].measurement
        #expect(short.iterations == 5 * n)
        #expect(short.lengthenedFrom == n)
        // Three T(N) samples at the final N (the first round's was dropped), four T(0).
        #expect(short.loopRuns.count == 3)
        #expect(short.zeroRuns.count == 4)
        #expect(shortLog.counts == [Self.loop.defaultIterations, 0, n, 0, 5 * n, 0, 5 * n, 0, 5 * n])
        // 5N iterations in 1.0 s.
        let expected = Double(5 * n * Self.loop.instructionsPerIteration) / 1.0 / 1e6
        #expect(abs((short.mips ?? 0) - expected) < expected * 1e-9)

        // The other engine still takes every round in turn: four samples at its own N.
        #expect(long.iterations == n)
        #expect(long.lengthenedFrom == nil)
        #expect(long.loopRuns.count == 4)
    }

    @Test("the lengthening is capped at 20 times, and a negative timed part does not trap")
    func lengtheningIsCapped() {
        let n = Self.loop.defaultIterations * RefBench.defaultScale
        var samplers = [Self.sampler(boot: 0.3, perIteration: 0, log: Log())]   // T(N) = T(0)
        RefBench.measureInTurns(Self.loop, runs: 1, lengthen: true, &samplers)
        #expect(samplers[0].measurement.iterations == RefBench.maximumLengthening * n)
        #expect(samplers[0].measurement.loopRuns.count == 1)
    }

    @Test("without lengthening (a given --iterations) N stays and no round is added")
    func givenIterationsAreKept() {
        let n = Self.loop.defaultIterations * RefBench.defaultScale
        let log = Log()
        var samplers = [Self.sampler(boot: 0.2, perIteration: 0.1 / Double(n), log: log)]
        RefBench.measureInTurns(Self.loop, runs: 2, lengthen: false, &samplers)
        #expect(samplers[0].measurement.iterations == n)
        #expect(samplers[0].measurement.lengthenedFrom == nil)
        #expect(log.counts == [Self.loop.defaultIterations, 0, n, 0, n])
    }

    @Test("the spread of T(N) samples is reported against the timed part")
    func timedSpread() {
        var timed = [1.0, 1.2, 0.8].makeIterator()
        var samplers = [RefBench.Sampler(Self.loop, iterations: 100) { image in
            let n = BenchLoop.u64(image, Self.loop.blockOffset + 8)
            return TimedRun(seconds: 0.2 + (n == 100 ? timed.next()! : 0), status: 0)
        }]
        RefBench.measureInTurns(Self.loop, runs: 3, lengthen: false, &samplers)
        // T(N) 1.2, 1.4, 1.0 s; T(0) 0.2 s: (1.4 - 1.0) / (1.2 - 0.2).
        let spread = samplers[0].measurement.timedSpread
        #expect(spread.map { abs($0 - 0.4) < 1e-9 } == true, "spread \(String(describing: spread))")
        samplers[0].measurement.loopRuns.removeLast(2)
        #expect(samplers[0].measurement.timedSpread == nil)   // one sample: no spread
    }

    @Test("a failed run stops that engine's samples, lengthened or not")
    func failureStops() {
        var samplers = [RefBench.Sampler(Self.loop, iterations: 100) { _ in TimedRun(seconds: 0.1, status: nil, problem: "boom") }]
        RefBench.measureInTurns(Self.loop, runs: 3, lengthen: true, &samplers)
        guard case .failed(let why) = samplers[0].measurement.state else {
            Issue.record("expected a failed state, got \(samplers[0].measurement.state)")
            return
        }
        #expect(why.contains("did not pass"))
    }
}
