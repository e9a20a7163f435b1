import Glibc

/// KVM_RUN's wall-clock limit in the engine (`RunBudget.wallClockNanoseconds`), the bound
/// HostKVM's watchdog thread enforces on /dev/kvm. The run loop reads the monotonic clock
/// only after `instructionsPerCheck` instructions (REP iterations included) or
/// `turnsPerCheck` turns of the loop, never per instruction: a vDSO clock_gettime (~25 ns)
/// per 2^18 instructions costs nothing measurable.
struct WallClockBound {
    /// ~1 ms of the release build, ~20 ms of a debug build. Also the longest batch.
    static let instructionsPerCheck: UInt64 = 1 << 18
    /// Turns that run few instructions each (halted, event-heavy code) still reach a check.
    static let turnsPerCheck: UInt32 = 1024

    /// The budget counts from the first check, not from KVM_RUN's start: a run that exits
    /// before its first check (most runs: one per exit) reads no clock at all, and the start
    /// is late by at most one check's worth of work (~1 ms), nothing for a watchdog of seconds.
    private let budget: UInt64
    private var deadline: UInt64 = 0            // 0: not started
    private var instructions: UInt64 = 0
    private var turns: UInt32 = 0

    init(_ nanoseconds: UInt64) {
        budget = nanoseconds
    }

    @inline(__always) mutating func turn(instructions n: UInt64 = 0) {
        instructions &+= n
        turns &+= 1
    }

    /// Enough work since the last reading to look at the clock again.
    @inline(__always) var due: Bool { instructions >= Self.instructionsPerCheck || turns >= Self.turnsPerCheck }

    mutating func expired() -> Bool {
        instructions = 0
        turns = 0
        let now = Self.now()
        if deadline == 0 {
            deadline = budget > UInt64.max - now ? UInt64.max : max(now + budget, 1)
            return budget == 0
        }
        return now >= deadline
    }

    /// CLOCK_MONOTONIC_COARSE: the vDSO returns the last tick's time without reading the
    /// clock source (a few ns instead of ~25 ns; a run starts at every exit, so this was
    /// read once per exit). A tick (1-4 ms) late is nothing for a watchdog of seconds.
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
