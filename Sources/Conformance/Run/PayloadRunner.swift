#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import GuestPayloads
import KVMABI
import PayloadFormat

/// Runs one loaded payload to its end: the run loop that plays the userspace side of the
/// payload ABI (ports, MMIO windows, host requests), under the watchdog.
struct PayloadRunner {
    /// Exits after which the harness gives up, whatever the budgets say.
    static let maximumExits = 200_000
    /// Check records one run may send: each is kept and compared whole, and a payload
    /// looping on a check to the exit cap held 750 MB (suite payloads send at most dozens).
    static let maximumChecks = 10_000
    /// Debug-console bytes an outcome keeps (KVM may batch a page of string OUT per exit).
    static let maximumConsoleBytes = 64 * 1024

    let loaded: LoadedPayload
    /// The exit cap of this run: maximumExits, except for `bench ref`, whose loops may exit on
    /// every iteration by design (the wall-clock limit still bounds them).
    var exitCap = PayloadRunner.maximumExits
    /// Wall-clock limit for the whole run.
    let wallBudgetNanoseconds: UInt64
    /// Called with each trace line as it happens, hardware-level lines (where the backend
    /// has them) before the KVM exit they led to. For `kvm-unit trace`.
    var traceSink: ((String) -> Void)?
    /// Whether the outcome keeps the exit trace and its digest. `bench ref` turns it off: it
    /// measures the engine's exit round trip, not the harness's bookkeeping of it.
    var recordsTrace = true

    init(_ loaded: LoadedPayload, wallBudgetNanoseconds: UInt64? = nil) {
        self.loaded = loaded
        self.wallBudgetNanoseconds = wallBudgetNanoseconds ?? loaded.defaultTimeoutNanoseconds
    }

    func run() -> Outcome {
        let h = loaded.payload.header
        let vcpu = loaded.vcpu
        var latch = LatchDevice()
        var checks: [CheckRecord] = []
        var trace = TraceRecorder()
        var hostRequests = 0
        var console: [UInt8] = []
        var consoleDropped = 0
        var hostErrors: [String] = []
        var pendingInterrupt: UInt8?
        var end: RunEnd?
        let start = DispatchTime.now().uptimeNanoseconds
        // The watchdog's clock is the coarse one, read once per exit (see coarseNanoseconds).
        let deadline = coarseNanoseconds() &+ wallBudgetNanoseconds
        let instructionBudget = loaded.instructionBudget

        /// Carries out a host request; returns what the trace should say about it.
        func hostRequest(_ value: UInt32) -> String {
            let request = HostRequest(value)
            if case .memslot(let gpa) = request {
                // Deterministic and synchronous: not counted with the interrupt requests, whose
                // timing makes a comparison fall back to invariants.
                do { return try loaded.memslots.handle(blockGPA: gpa) } catch {
                    end = .error(error.why)
                    return "memslot request refused: \(error.why)"
                }
            }
            hostRequests += 1
            do {
                switch request {
                case .interrupt(let vector):
                    pendingInterrupt = vector
                case .nmi:
                    try vcpu.nmi()
                case .irqLine(let gsi, let level):
                    try loaded.vm.irqLine(gsi, level: level)
                case .irqPulse(let gsi):
                    try loaded.vm.irqLine(gsi, level: true)
                    try loaded.vm.irqLine(gsi, level: false)
                case .unknown(let v):
                    hostErrors.append("unknown host request 0x\(String(v, radix: 16))")
                case .memslot: break
                }
            } catch {
                hostErrors.append("\(error)")
            }
            return ""
        }

        let hardware = traceSink == nil ? nil : vcpu as? HardwareExitTracing
        hardware?.hardwareTraceEnabled = true
        /// The sink sees every exit (hardware-level lines first); the outcome keeps a bounded part.
        func record(_ event: TraceEvent) {
            if let sink = traceSink {
                hardware?.takeHardwareTrace().forEach { sink("    " + $0) }
                sink("\(trace.count + 1): \(event)")
            }
            if recordsTrace { trace.record(event) }
        }
        defer { hardware?.hardwareTraceEnabled = false }

        var exits = 0
        while end == nil {
            // KVM_INTERRUPT only when the vCPU can take it; otherwise ask for the window
            // (backends without IRQ-window exits get it at a later exit).
            if let vector = pendingInterrupt {
                if vcpu.readyForInterruptInjection {
                    do { try vcpu.interrupt(vector: vector) } catch { hostErrors.append("\(error)") }
                    pendingInterrupt = nil
                    vcpu.requestInterruptWindow = false
                } else {
                    vcpu.requestInterruptWindow = true
                }
            }
            let now = coarseNanoseconds()
            guard now < deadline else { end = .timeout; record(TraceEvent(exit: .timeout)); break }
            exits += 1
            guard exits <= exitCap else { end = .error("more than \(exitCap) exits"); break }

            let exit: Exit
            do {
                exit = try vcpu.run(budget: RunBudget(wallClockNanoseconds: deadline - now, instructions: instructionBudget))
            } catch {
                end = .error("\(error)")
                break
            }
            switch exit {
            case .io(let io):
                let size = Int(io.size)
                if io.direction == .out {
                    var event = TraceEvent(exit: exit, fields: recordsTrace || traceSink != nil)
                    for i in 0..<Int(io.count) {
                        // One element (every OUT but OUTS) is the data itself: no copy.
                        let element = io.count == 1 ? io.data : Array(io.data[(i * size)..<min(io.data.count, (i + 1) * size)])
                        let value = element.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) }
                        switch io.port {
                        case ABIPort.latch: latch.write(port: io.port, data: element)
                        case ABIPort.hostRequest where size == 4: event.note = hostRequest(value)
                        case ABIPort.checkRecord where size == 4:
                            guard checks.count < Self.maximumChecks else {
                                end = .error("more than \(Self.maximumChecks) check records")
                                break
                            }
                            let record = CheckRecord.read(gpa: UInt64(value), ram: loaded.ram)
                            checks.append(record)
                            event.note = record.traceNote
                        case ABIPort.debugConsole:
                            if console.count < Self.maximumConsoleBytes { console += element } else { consoleDropped += element.count }
                        case ABIPort.exitStatus: end = .status(element.first ?? 0xFF)
                        default: break
                        }
                    }
                    record(event)
                } else {
                    var data: [UInt8] = []
                    for _ in 0..<Int(io.count) {
                        data += ABIPort.latch.contains(io.port) ? latch.read(port: io.port, size: size)
                                                                : [UInt8](repeating: 0xFF, count: size)
                    }
                    vcpu.completeIO(data)
                    record(TraceEvent(exit: exit, supplied: data))
                }
            case .mmio(let m):
                let length = Int(min(m.length, 8))
                let window = loaded.window(containing: m.physicalAddress, length: length)
                if m.isWrite {
                    do { try window?.write(m.physicalAddress, data: m.data) } catch { end = .error(error.description) }
                    record(TraceEvent(exit: exit))
                } else {
                    // An address no window claims reads as an unbacked bus: all ones.
                    let data = window?.read(m.physicalAddress, length: length) ?? [UInt8](repeating: 0xFF, count: length)
                    vcpu.completeMMIORead(data)
                    record(TraceEvent(exit: exit, supplied: data))
                }
            case .hlt, .irqWindowOpen, .intr, .setTPR:
                // HLT without an in-kernel LAPIC is resumable; the window and a stray
                // signal just mean "go round again". KVM_EXIT_SET_TPR (a MOV to CR8 that
                // lowered the TPR, no in-kernel LAPIC) only tells a userspace APIC to look
                // for deliverable interrupts; the harness has none, so it resumes.
                record(TraceEvent(exit: exit))
            case .shutdown:
                record(TraceEvent(exit: exit))
                end = .shutdown
            case .timeout:
                record(TraceEvent(exit: exit))
                end = .timeout
            case .internalError(let suberror, _):
                record(TraceEvent(exit: exit))
                end = .internalError(suberror: suberror)
            default:
                record(TraceEvent(exit: exit))
                end = .unexpectedExit(exit.name)
            }
        }
        let wall = DispatchTime.now().uptimeNanoseconds &- start
        if let sink = traceSink { hardware?.takeHardwareTrace().forEach { sink("    " + $0) } }
        completePendingExit()

        return Outcome(end: end ?? .error("no end"), checks: checks, trace: trace.events,
                       console: String(decoding: console, as: UTF8.self)
                           + (consoleDropped > 0 ? "\n[kvm-unit: \(consoleDropped) more console bytes not kept]" : ""),
                       registers: finalRegisters(), ramDigest: digest(loaded.ram.pointer, count: loaded.ram.size),
                       ramPageDigests: pageDigests(loaded.ram.pointer, count: loaded.ram.size),
                       windowDigests: windowDigests(), stats: exitStats(), hostErrors: hostErrors, wallNanoseconds: wall,
                       traceCut: trace.cut, traceDigest: trace.digest, hostRequests: hostRequests)
    }

    /// A KVM_RUN with immediate_exit set: KVM first completes the exit userspace just
    /// handled (e.g. advances RIP past the final OUT, which VMX's fast-PIO path leaves
    /// pending), then returns EINTR without running the guest. Only after that is the
    /// vCPU state architecturally consistent and comparable across implementations.
    private func completePendingExit() {
        let vcpu = loaded.vcpu
        vcpu.immediateExit = true
        _ = try? vcpu.run(budget: RunBudget(wallClockNanoseconds: 100_000_000, instructions: 1_000))
        vcpu.immediateExit = false
    }

    private func finalRegisters() -> [RegisterValue] {
        let h = loaded.payload.header
        var out: [RegisterValue] = []
        if let r = try? loaded.vcpu.regs() {
            for (i, v) in r.gprs.enumerated() where h.gprUndefinedMask & (1 << UInt64(i)) == 0 {
                out.append(RegisterValue(name: Regs.gprNames[i], value: v))
            }
            out.append(RegisterValue(name: "rip", value: r.rip))
            out.append(RegisterValue(name: "rflags", value: r.rflags & ~h.rflagsUndefinedMask))
        }
        if let s = try? loaded.vcpu.sregs() {
            out += [("cr0", s.cr0), ("cr3", s.cr3), ("cr4", s.cr4), ("efer", s.efer),
                    ("cs", UInt64(s.cs.selector)), ("ds", UInt64(s.ds.selector)), ("es", UInt64(s.es.selector)),
                    ("fs", UInt64(s.fs.selector)), ("gs", UInt64(s.gs.selector)), ("ss", UInt64(s.ss.selector))]
                .map { RegisterValue(name: $0.0, value: $0.1) }
        }
        return out
    }

    private func windowDigests() -> [String] {
        loaded.windows.map { w in
            if w.window.kind == .rom, let m = loaded.romMemories.first(where: { $0.0 == w.window })?.1 {
                return digest(m.pointer, count: m.size)
            }
            return digest(w.digestInput)
        }
    }

    /// The stats KVM ties to exits userspace sees; other stats depend on the implementation.
    static let exitStatNames = ["io_exits", "mmio_exits", "halt_exits", "irq_window_exits", "nmi_window_exits"]

    private func exitStats() -> [String: UInt64] {
        guard let stats = try? loaded.vcpu.statistics() else { return [:] }
        var out: [String: UInt64] = [:]
        for name in Self.exitStatNames { if let v = stats[name] { out[name] = v } }
        return out
    }
}

/// CLOCK_MONOTONIC_COARSE in nanoseconds: the last tick's time, a few ns to read (the fine
/// clock was a tenth of a fast exit's round trip). Good for deadlines of seconds, not for
/// measuring (outcomes measure wall time with DispatchTime).
@inline(__always) func coarseNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
