import KVMABI

// 8254 programmable interval timer (Intel 8254 datasheet) as KVM's in-kernel PIT: three
// counters clocked at 1.193182 MHz, ports 0x40-0x42 (counters) and 0x43 (control word),
// counter 0 OUT wired to IRQ0/GSI 0, counter 2 gated and read through port 0x61.
// Counters are not stepped: their value is computed from the virtual time of the load.

/// One counter. `count` is the reload value in binary (0 written = 65536, or 10000 in BCD).
struct PITChannel {
    var count: UInt32 = 0x10000
    var loadTime: UInt64 = 0
    var mode: UInt8 = 0xFF            // 0xFF: never programmed (KVM's reset value)
    var bcd = false
    var gate: Bool
    var accessMode: UInt8 = 0         // RW bits: 1 LSB, 2 MSB, 3 LSB then MSB
    var readState: UInt8 = 0          // 1 LSB, 2 MSB, 3 word low next, 4 word high next
    var writeState: UInt8 = 0
    var writeLatch: UInt8 = 0
    var latchedCount: UInt16 = 0
    var countLatched: UInt8 = 0       // read state of a pending counter latch, 0 = none
    var statusLatched = false
    var status: UInt8 = 0
    var nullCount = false             // a control word was written, no count loaded yet

    init(gate: Bool) { self.gate = gate }
}

final class PIT8254 {
    static let frequency: UInt64 = 1_193_182
    static let nsPerSecond: UInt64 = 1_000_000_000
    /// KVM raises periodic PIT periods below 200 us to 200 us (min_timer_period_us).
    static let kvmMinPeriodNs: UInt64 = 200_000

    var channels = [PITChannel(gate: true), PITChannel(gate: true), PITChannel(gate: false)]
    var speakerData = false           // port 0x61 bit 1 (KVM_PIT_FLAGS_SPEAKER_DATA_ON)
    /// KVM_PIT_FLAGS_HPET_LEGACY (KVM_SET_PIT2): an HPET drives IRQ0, counter 0 arms no timer.
    var hpetLegacy = false
    /// The other bits of KVM_SET_PIT2's flags, kept as given (KVM stores the whole word).
    var otherFlags: UInt32 = 0
    var minPeriodicNs: UInt64 = PIT8254.kvmMinPeriodNs

    // Counter 0's interrupt timer: fire k happens at irqStart + time(k).
    var irqArmed = false
    var irqPeriodic = false
    var irqStart: UInt64 = 0
    var irqTicks: UInt64 = 0          // counter clocks per interrupt
    var irqClampedNs: UInt64 = 0      // nonzero: fixed period (KVM's minimum) instead of ticks
    var irqFired: UInt64 = 0
    var irqNext: UInt64 = 0

    // MARK: - Counting

    /// Input clocks elapsed between `from` and `now` (floor).
    @inline(__always) static func ticks(from: UInt64, to now: UInt64) -> UInt64 {
        guard now > from else { return 0 }
        let p = (now - from).multipliedFullWidth(by: frequency)
        return nsPerSecond.dividingFullWidth((p.high, p.low)).quotient
    }

    /// Nanoseconds until `ticks` clocks have elapsed (ceil), so ticks(from:to:) agrees.
    @inline(__always) static func nanoseconds(forTicks t: UInt64) -> UInt64 {
        let p = t.multipliedFullWidth(by: nsPerSecond)
        if p.high >= frequency { return UInt64.max }           // beyond 2^64 ns: never
        let (q, r) = frequency.dividingFullWidth((p.high, p.low))
        return r == 0 ? q : q &+ 1
    }

    static func fromBCD(_ v: UInt32) -> UInt32 {
        (v & 0xF) + ((v >> 4) & 0xF) * 10 + ((v >> 8) & 0xF) * 100 + ((v >> 12) & 0xF) * 1000
    }

    static func toBCD(_ v: UInt32) -> UInt32 {
        (v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) | ((v / 1000 % 10) << 12)
    }

    /// Counting element as a read would see it (binary, or BCD-encoded if selected).
    func count(_ ch: Int, now: UInt64) -> UInt16 {
        let c = channels[ch]
        let d = PIT8254.ticks(from: c.loadTime, to: now)
        let n = UInt64(c.count)
        let modulus: UInt64 = c.bcd ? 10_000 : 0x10000
        var value: UInt64
        switch c.mode {
        case 0, 1, 4, 5:
            // Counts down through zero and wraps (datasheet: "counting continues").
            value = (n + modulus - d % modulus) % modulus
        case 3:
            // Square wave decrements by two, twice per period.
            value = n - (2 * d) % n
        default:
            // Mode 2 (and unprogrammed): N, N-1, ..., 1, reload.
            value = n - d % n
        }
        value %= modulus
        return UInt16(c.bcd ? UInt64(PIT8254.toBCD(UInt32(value))) : value)
    }

    /// OUT as KVM reports it (read-back status bit 7, port 61H bit 5): Linux 6.1 i8254.c
    /// pit_get_out, which is not the datasheet's pin for modes 1, 2, 4 and 5 (the chip's
    /// OUT is high outside a one-clock strobe in modes 2, 4, 5 and rises at terminal count
    /// in mode 1; KVM's is the opposite). Mode 0 and 3 agree with the chip.
    func output(_ ch: Int, now: UInt64) -> Bool {
        let c = channels[ch]
        let d = PIT8254.ticks(from: c.loadTime, to: now)
        let n = UInt64(c.count)
        switch c.mode {
        case 1: return d < n
        case 2: return n != 0 && d % n == 0 && d != 0
        case 3: return n != 0 && d % n < (n + 1) >> 1
        case 4, 5: return d == n
        default: return d >= n
        }
    }

    // MARK: - Loading and the IRQ0 timer

    private func load(_ ch: Int, raw: UInt32, now: UInt64) {
        var v = raw & 0xFFFF
        if channels[ch].bcd { v = PIT8254.fromBCD(v); if v == 0 { v = 10_000 } }
        if v == 0 { v = 0x10000 }
        channels[ch].count = v
        channels[ch].loadTime = now
        channels[ch].nullCount = false
        if ch == 0 { armIRQTimer(now: now) }
    }

    /// Counter 0 raises IRQ0 at OUT's rising edge: once in modes 0, 1 and 4 (KVM has no
    /// timer for mode 5, which needs a gate trigger counter 0 never gets), every period in 2, 3.
    /// Counter 0 was loaded by a restore: its IRQ0 timer as a count write arms it.
    func reloadIRQTimer(now: UInt64) { armIRQTimer(now: now) }

    private func armIRQTimer(now: UInt64) {
        // create_pit_timer: nothing to do (not even a disarm) in HPET legacy mode.
        if hpetLegacy { return }
        let c = channels[0]
        irqArmed = false
        switch c.mode {
        case 0, 1, 4: irqPeriodic = false
        case 2, 3: irqPeriodic = true
        default: return
        }
        irqStart = now
        irqTicks = UInt64(c.count)
        irqFired = 0
        irqClampedNs = 0
        if irqPeriodic && PIT8254.nanoseconds(forTicks: irqTicks) < minPeriodicNs {
            irqClampedNs = minPeriodicNs
        }
        irqArmed = true
        irqNext = fireTime(1)
    }

    @inline(__always) private func fireTime(_ k: UInt64) -> UInt64 {
        irqClampedNs != 0 ? irqStart &+ k &* irqClampedNs
                          : irqStart &+ PIT8254.nanoseconds(forTicks: k &* irqTicks)
    }

    var nextDeadline: UInt64? { irqArmed ? irqNext : nil }

    /// Number of IRQ0 edges between the last call and `now` (missed periods included).
    func advance(to now: UInt64) -> UInt64 {
        guard irqArmed, now >= irqNext else { return 0 }
        if !irqPeriodic {
            irqArmed = false
            return 1
        }
        // Interrupts due: largest k with fireTime(k) <= now.
        var k: UInt64
        if irqClampedNs != 0 {
            k = (now - irqStart) / irqClampedNs
        } else {
            k = PIT8254.ticks(from: irqStart, to: now) / irqTicks
        }
        if k <= irqFired { k = irqFired + 1 }          // guards rounding at the boundary
        let edges = k - irqFired
        irqFired = k
        irqNext = fireTime(k + 1)
        return edges
    }

    // MARK: - Ports 0x40-0x43

    func write(port: UInt16, value: UInt8, now: UInt64) {
        let addr = Int(port & 3)
        if addr == 3 {
            let sel = Int(value >> 6)
            if sel == 3 {
                // Read-back command: bit 5 clear latches counts, bit 4 clear latches status.
                for ch in 0..<3 where value & (2 << UInt8(ch)) != 0 {
                    if value & 0x20 == 0 { latchCount(ch, now: now) }
                    if value & 0x10 == 0 { latchStatus(ch, now: now) }
                }
                return
            }
            let access = (value >> 4) & 3
            if access == 0 { latchCount(sel, now: now); return }   // counter latch command
            var c = channels[sel]
            c.accessMode = access
            c.readState = access
            c.writeState = access
            var mode = (value >> 1) & 7
            if mode > 5 { mode -= 4 }                  // 110/111 are modes 2/3
            c.mode = mode
            c.bcd = value & 1 != 0
            c.nullCount = true
            channels[sel] = c
            // A control word resets the counter's logic; counting restarts with the next count.
            if sel == 0 { irqArmed = false }
            return
        }
        switch channels[addr].writeState {
        case 2:
            load(addr, raw: UInt32(value) << 8, now: now)
        case 3:
            channels[addr].writeLatch = value
            channels[addr].writeState = 4
        case 4:
            channels[addr].writeState = 3
            load(addr, raw: UInt32(channels[addr].writeLatch) | UInt32(value) << 8, now: now)
        default:
            load(addr, raw: UInt32(value), now: now)
        }
    }

    func read(port: UInt16, now: UInt64) -> UInt8 {
        let addr = Int(port & 3)
        if addr == 3 { return 0 }                      // control word register is write-only
        var c = channels[addr]
        defer { channels[addr] = c }
        if c.statusLatched {
            c.statusLatched = false
            return c.status
        }
        if c.countLatched != 0 {
            switch c.countLatched {
            case 2:
                c.countLatched = 0
                return UInt8(c.latchedCount >> 8)
            case 3:
                c.countLatched = 2
                return UInt8(truncatingIfNeeded: c.latchedCount)
            default:
                c.countLatched = 0
                return UInt8(truncatingIfNeeded: c.latchedCount)
            }
        }
        let value = count(addr, now: now)
        switch c.readState {
        case 2: return UInt8(value >> 8)
        case 3: c.readState = 4; return UInt8(truncatingIfNeeded: value)
        case 4: c.readState = 3; return UInt8(value >> 8)
        default: return UInt8(truncatingIfNeeded: value)
        }
    }

    /// Counter latch: freeze the count until it is read; a second latch before that is ignored.
    private func latchCount(_ ch: Int, now: UInt64) {
        guard channels[ch].countLatched == 0 else { return }
        channels[ch].latchedCount = count(ch, now: now)
        channels[ch].countLatched = channels[ch].accessMode == 0 ? 1 : channels[ch].accessMode
    }

    /// Status byte (datasheet "Read-Back Command"): OUT, null count, RW, mode, BCD.
    private func latchStatus(_ ch: Int, now: UInt64) {
        guard !channels[ch].statusLatched else { return }
        let c = channels[ch]
        channels[ch].status = (output(ch, now: now) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0)
            | (c.accessMode << 4) | ((c.mode & 7) << 1) | (c.bcd ? 1 : 0)
        channels[ch].statusLatched = true
    }

    // MARK: - Port 0x61 (counter 2 gate, speaker)

    func readPort61(now: UInt64) -> UInt8 {
        // Bit 4 is the DRAM refresh toggle (~15 us); bit 5 counter 2 OUT.
        let refresh = UInt8(truncatingIfNeeded: (now >> 14) & 1)
        return (output(2, now: now) ? 0x20 : 0) | (refresh << 4)
            | (speakerData ? 0x02 : 0) | (channels[2].gate ? 0x01 : 0)
    }

    func writePort61(_ value: UInt8, now: UInt64) {
        speakerData = value & 0x02 != 0
        setGate(2, value & 1 != 0, now: now)
    }

    /// GATE rising edge retriggers modes 1, 2, 3 and 5 (datasheet "GATE Pin Operations").
    func setGate(_ ch: Int, _ high: Bool, now: UInt64) {
        let c = channels[ch]
        if !c.gate && high {
            switch c.mode {
            case 1, 2, 3, 5:
                channels[ch].loadTime = now
                if ch == 0 { armIRQTimer(now: now) }
            default: break
            }
        }
        channels[ch].gate = high
    }
}

// KVM_GET/SET_PIT2 and KVM_GET/SET_PIT: the counters as KVM keeps them (Linux 6.1 x86.c
// kvm_vm_ioctl_get_pit2, kvm_vm_ioctl_set_pit2; i8254.c kvm_pit_load_count).
extension PIT8254 {
    func kvmChannels() -> [PITChannelState] {
        channels.map { c in
            var s = PITChannelState()
            s.count = c.count; s.latchedCount = c.latchedCount; s.countLatched = c.countLatched
            s.statusLatched = c.statusLatched ? 1 : 0; s.status = c.status; s.readState = c.readState
            s.writeState = c.writeState; s.writeLatch = c.writeLatch; s.rwMode = c.accessMode
            s.mode = c.mode; s.bcd = c.bcd ? 1 : 0; s.gate = c.gate ? 1 : 0
            s.countLoadTime = Int64(bitPattern: c.loadTime)
            return s
        }
    }

    var kvmFlags: UInt32 {
        otherFlags | (hpetLegacy ? PITState2.hpetLegacy : 0) | (speakerData ? PITState2.speakerDataOn : 0)
    }

    /// The counters as given, then each reloaded with its count from now (kvm_pit_load_count:
    /// 0 means 65536; counter 0 re-arms IRQ0 by its mode); `flags` nil for KVM_SET_PIT. A
    /// switch into HPET legacy mode loads counter 0 with its timer disabled.
    func restore(_ states: [PITChannelState], flags: UInt32?, now: UInt64) {
        var start = false
        if let flags {
            let legacy = flags & PITState2.hpetLegacy != 0
            start = !hpetLegacy && legacy
            speakerData = flags & PITState2.speakerDataOn != 0
            otherFlags = flags & ~(PITState2.hpetLegacy | PITState2.speakerDataOn)
            hpetLegacy = legacy
        }
        for (i, s) in states.prefix(3).enumerated() {
            var c = channels[i]
            c.count = s.count; c.latchedCount = s.latchedCount; c.countLatched = s.countLatched
            c.statusLatched = s.statusLatched != 0; c.status = s.status; c.readState = s.readState
            c.writeState = s.writeState; c.writeLatch = s.writeLatch; c.accessMode = s.rwMode
            c.mode = s.mode; c.bcd = s.bcd != 0; c.gate = s.gate != 0
            c.nullCount = false
            channels[i] = c
        }
        for i in 0..<3 {
            let v = channels[i].count == 0 ? 0x10000 : channels[i].count
            channels[i].count = v
            channels[i].loadTime = now
            if i == 0 {
                if start { irqArmed = false } else { reloadIRQTimer(now: now) }
            }
        }
    }
}
