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
import RefHypervisor
import Synchronization

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
    /// Instructions each KVM_RUN may retire (REP iterations count): the header's, capped
    /// (LoadedPayload.instructionBudget), except for `bench ref`, whose lengthened loops may
    /// retire more in one run than any payload asks for (the wall-clock limit still bounds them).
    var instructionBudget: UInt64
    /// Wall-clock limit for the whole run.
    let wallBudgetNanoseconds: UInt64
    /// Called with each trace line as it happens, hardware-level lines (where the backend
    /// has them) before the KVM exit they led to. For `kvm-unit trace`.
    var traceSink: ((String) -> Void)?
    /// Whether the outcome keeps the exit trace and its digest. `bench ref` turns it off: it
    /// measures the engine's exit round trip, not the harness's bookkeeping of it.
    var recordsTrace = true
    /// The order in which the reference engine runs several vCPUs (one-vCPU runs ignore it).
    var interleaving = Interleaving.fixed
    /// Save and restore the whole VM every so many exits (`kvm-unit run --migrate`).
    var migration: MigrationPlan?

    init(_ loaded: LoadedPayload, wallBudgetNanoseconds: UInt64? = nil) {
        self.loaded = loaded
        self.wallBudgetNanoseconds = wallBudgetNanoseconds ?? loaded.defaultTimeoutNanoseconds
        instructionBudget = loaded.instructionBudget
    }

    func run() -> Outcome {
        var state = RunState()
        state.latches = Array(repeating: LatchDevice(), count: loaded.vcpus.count)
        let start = DispatchTime.now().uptimeNanoseconds
        // The watchdog's clock is the coarse one, read once per exit (see coarseNanoseconds).
        let deadline = coarseNanoseconds() &+ wallBudgetNanoseconds
        if loaded.vcpus.count == 1 {
            runOne(&state, deadline: deadline)
        } else {
            // A migration to the other backend changes how the vCPUs must be run: each
            // loop returns with `switchLoops` set and the run goes on in the other.
            repeat {
                state.switchLoops = false
                if loaded.vm.runsVCPUsConcurrently {
                    runThreads(&state, deadline: deadline)
                } else {
                    runInTurn(&state, deadline: deadline)
                }
            } while state.switchLoops && state.end == nil
        }
        let wall = DispatchTime.now().uptimeNanoseconds &- start
        completePendingExit()

        return Outcome(end: state.end ?? .error("no end"), checks: state.checks, trace: state.trace.events,
                       console: String(decoding: state.console, as: UTF8.self)
                           + (state.consoleDropped > 0 ? "\n[kvm-unit: \(state.consoleDropped) more console bytes not kept]" : ""),
                       registers: finalRegisters(), ramDigest: digest(loaded.ram.pointer, count: loaded.ram.size),
                       ramPageDigests: pageDigests(loaded.ram.pointer, count: loaded.ram.size),
                       windowDigests: windowDigests(), stats: exitStats().merging(state.carriedStats, uniquingKeysWith: &+), hostErrors: state.hostErrors, wallNanoseconds: wall,
                       traceCut: state.trace.cut, traceDigest: state.trace.digest, hostRequests: state.hostRequests,
                       migrations: state.migrations, migrationNotes: state.migrationNotes)
    }

    /// What a run gathers, whichever loop runs it.
    struct RunState {
        /// One latch per vCPU: a vCPU reads back what it wrote, whatever the others do.
        var latches: [LatchDevice] = []
        var checks: [CheckRecord] = []
        var trace = TraceRecorder()
        var hostRequests = 0
        var console: [UInt8] = []
        var consoleDropped = 0
        var hostErrors: [String] = []
        /// KVM_INTERRUPT asked for by host request 1 (vCPU 0, userspace irqchip only).
        var pendingInterrupt: UInt8?
        var end: RunEnd?
        /// Exits handled so far, against `exitCap`.
        var exits = 0
        /// Migrations done (`migration`), and what they did not carry over, each line once.
        var migrations = 0
        var migrationNotes: [String] = []
        /// Set by a migration to a VM whose vCPUs run the other way (threads or turns).
        var switchLoops = false
        /// The exit statistics of the VMs migrated away from.
        var carriedStats: [String: UInt64] = [:]
        /// Wall-clock time spent saving and restoring: host work, not the guest's, so the
        /// watchdog's deadline moves on by it.
        var migrationNanoseconds: UInt64 = 0
    }

    /// The one-vCPU loop: the ABI v1 run, exit by exit.
    private func runOne(_ state: inout RunState, deadline: UInt64) {
        var vcpu = loaded.vcpu
        let hardware = traceSink == nil ? nil : vcpu as? HardwareExitTracing
        hardware?.hardwareTraceEnabled = true
        defer {
            if let sink = traceSink { hardware?.takeHardwareTrace().forEach { sink("    " + $0) } }
            hardware?.hardwareTraceEnabled = false
        }
        let budget = instructionBudget
        // A latch write that nothing records or migrates (every bench_pio_exit iteration) is
        // handled right here: no trace event to build, no call into handle().
        let quietLatch = !recordsTrace && traceSink == nil && migration == nil
        // The reference engine's KVM_RUN is called directly, not through VirtualCPU's
        // witness table: one call less on every exit of the commonest backend. (Not with a
        // migration, which replaces the vCPU.)
        // Safety: unretained, the vCPU is kept alive by `loaded` (and `vcpu`) for the whole
        // loop; a retain and a release per exit was 4% of an exit-bound loop.
        let engine = (migration == nil ? vcpu as? RefVCPU : nil).map { Unmanaged.passUnretained($0) }
        // The watchdog's clock is read once per `clockStride` exits: between two readings
        // the run is handed the budget left at the last one, late by at most that many
        // exits' work (microseconds), against a deadline of seconds.
        let clockStride: UInt32 = 64
        var sinceClock: UInt32 = 0
        var now: UInt64 = 0
        // vCPU 0's latch, written here by quiet latch exits and handed back to `state`
        // around everything else that may read it (handle(), the end of the loop).
        var latch = state.latches[0]
        defer { state.latches[0] = latch }
        while state.end == nil {
            // KVM_INTERRUPT only when the vCPU can take it; otherwise ask for the window
            // (backends without IRQ-window exits get it at a later exit).
            if let vector = state.pendingInterrupt {
                if vcpu.readyForInterruptInjection {
                    do { try vcpu.interrupt(vector: vector) } catch { state.hostErrors.append("\(error)") }
                    state.pendingInterrupt = nil
                    vcpu.requestInterruptWindow = false
                } else {
                    vcpu.requestInterruptWindow = true
                }
            }
            if sinceClock == 0 { now = coarseNanoseconds() &- state.migrationNanoseconds }
            sinceClock = sinceClock &+ 1 == clockStride ? 0 : sinceClock &+ 1
            guard now < deadline else {
                state.end = .timeout
                record(&state, TraceEvent(exit: .timeout), hardware: hardware)
                break
            }
            state.exits += 1
            guard state.exits <= exitCap else { state.end = .error("more than \(exitCap) exits"); break }
            let exit: Exit
            do {
                let b = RunBudget(wallClockNanoseconds: deadline - now, instructions: budget)
                if let engine {
                    exit = try engine._withUnsafeGuaranteedRef { vcpu throws(KVMError) in try vcpu.run(budget: b) }
                } else {
                    exit = try vcpu.run(budget: b)
                }
            } catch {
                state.end = .error("\(error)")
                break
            }
            if quietLatch, let out = exit.singleOut, ABIPort.latch.contains(out.port) {
                latch.write(port: out.port, value: out.value, count: out.bytes)
                continue
            }
            // The same for an MMIO write (a loop writing a device register): handle() would
            // only play it (playMMIOWrite), with no event to build.
            if quietLatch, case .mmio(let m) = exit, m.isWrite {
                playMMIOWrite(m, &state)
                continue
            }
            // And for an IN of one element (a loop polling a port): the latch's bytes, or an
            // unclaimed port's all ones, handed over inline.
            // An MMIO read: the window's bytes, or an unbacked bus's all ones.
            if quietLatch, case .mmio(let m) = exit, !m.isWrite {
                let length = Int(min(m.length, 8))
                if let window = loaded.window(containing: m.physicalAddress, length: length) {
                    vcpu.completeMMIORead(window.read(m.physicalAddress, length: length))
                } else if let engine {
                    engine._withUnsafeGuaranteedRef { $0.completeMMIORead(value: ~0, byteCount: length) }
                } else {
                    vcpu.completeMMIORead(value: ~0, byteCount: length)
                }
                continue
            }
            if quietLatch, let inn = exit.singleIn {
                let value = ABIPort.latch.contains(inn.port) ? latch.readValue(port: inn.port, size: inn.bytes) : ~0
                if let engine {
                    engine._withUnsafeGuaranteedRef { $0.completeIO(value: value, byteCount: inn.bytes) }
                } else {
                    vcpu.completeIO(value: value, byteCount: inn.bytes)
                }
                continue
            }
            // Any other exit may take time in the harness (a host request, a dirty-log read):
            // the clock is read again before the next run.
            sinceClock = 0
            state.latches[0] = latch
            if let event = handle(exit, vcpu: 0, &state) { record(&state, event, hardware: hardware) }
            if migrationDue(state) {
                migrate(&state)
                vcpu = loaded.vcpu
            }
            latch = state.latches[0]
        }
    }

    /// Several vCPUs on a backend that runs them on the caller's thread (the reference
    /// engine): one at a time, `interleaving.quantum` instructions or up to its next exit
    /// each, in the order `interleaving` gives; so a run is a function of the payload and
    /// the interleaving alone (traces are bit-identical run to run). A vCPU that is
    /// blocked (halted, waiting for SIPI) or used its quantum returns KVM_RUN's timeout,
    /// which here only means "next vCPU"; the wall-clock deadline ends a run that never ends.
    private func runInTurn(_ state: inout RunState, deadline: UInt64) {
        var order = interleaving.scheduler(vcpus: loaded.vcpus.count)
        // `kvm-unit trace`: every vCPU's hardware-level exits, each printed before the KVM
        // exit it led to (or at the end), labelled with its vCPU.
        let hardware = loaded.vcpus.map { traceSink == nil ? nil : $0 as? HardwareExitTracing }
        hardware.forEach { $0?.hardwareTraceEnabled = true }
        defer {
            if let sink = traceSink {
                for (i, h) in hardware.enumerated() { h?.takeHardwareTrace().forEach { sink("    vCPU \(i): " + $0) } }
            }
            hardware.forEach { $0?.hardwareTraceEnabled = false }
        }
        while state.end == nil && !state.switchLoops {
            let now = coarseNanoseconds() &- state.migrationNanoseconds
            guard now < deadline else {
                state.end = .timeout
                record(&state, TraceEvent(exit: .timeout), hardware: nil)
                break
            }
            let (i, quantum) = order.next()
            let exit: Exit
            do {
                exit = try loaded.vcpus[i].run(budget: RunBudget(wallClockNanoseconds: deadline - now, instructions: quantum))
            } catch {
                // An AP's first KVM_RUN returns EAGAIN once it has taken its INIT/SIPI
                // (kvm_arch_vcpu_ioctl_run); a VMM runs it again.
                if error.errno == Errno.EAGAIN { continue }
                state.end = .error("vCPU \(i): \(error)")
                break
            }
            if exit == .timeout { continue }
            state.exits += 1
            guard state.exits <= exitCap else { state.end = .error("more than \(exitCap) exits"); break }
            if var event = handle(exit, vcpu: i, &state) {
                event.vcpu = i
                record(&state, event, hardware: hardware[i], vcpu: i)
            }
            if migrationDue(state) { migrate(&state) }
        }
    }

    /// Several vCPUs on /dev/kvm: as a VMM runs them, each on a thread of its own (vCPU 0
    /// on this one). Exits are handled under one lock, in the order they happen; KVM_RUN
    /// gets a short wall-clock slice so that a blocked AP sees the end of the run soon.
    private func runThreads(_ state: inout RunState, deadline: UInt64) {
        final class Shared: Sendable {
            let state: Mutex<RunState>
            let stop = Atomic<Bool>(false)
            /// Set when an exit made a migration due: every vCPU thread then parks, and the
            /// last to park migrates the VM while no KVM_RUN is in flight.
            let migrationDue = Atomic<Bool>(false)
            /// Threads parked for the migration, and how many migrations have been done.
            let parking = Mutex<(arrived: Int, generation: Int)>((0, 0))
            /// RunState.migrationNanoseconds, for the deadline checks outside the lock.
            let migrationNanoseconds = Atomic<UInt64>(0)
            init(_ s: sending RunState) { state = Mutex(s) }
        }
        let box = Shared(state)
        let budget = instructionBudget
        let sliceNanoseconds: UInt64 = 50_000_000
        let this = UnsafeSendable(self)
        let threadCount = loaded.vcpus.count
        @Sendable func park() {
            var generation = 0, last = false
            box.parking.withLock { p in
                p.arrived += 1
                generation = p.generation
                last = p.arrived == threadCount
            }
            if last {
                box.state.withLock { s in
                    if s.end == nil { this.value.migrate(&s) }
                    box.migrationNanoseconds.store(s.migrationNanoseconds, ordering: .releasing)
                    // Every thread leaves; run() goes on with the loop the new VM needs.
                    if s.switchLoops { box.stop.store(true, ordering: .releasing) }
                }
                // Cleared before the generation moves on: a thread let go must not park again.
                box.migrationDue.store(false, ordering: .releasing)
                box.parking.withLock { p in p.arrived = 0; p.generation += 1 }
            } else {
                // A thread that ends the run sets `stop`, which also lets the parked ones go.
                while box.parking.withLock({ $0.generation }) == generation && !box.stop.load(ordering: .acquiring) {
                    usleep(100)
                }
            }
        }
        @Sendable func loop(_ i: Int) {
            while !box.stop.load(ordering: .acquiring) {
                if box.migrationDue.load(ordering: .acquiring) {
                    park()
                    continue
                }
                // Read each time: a migration replaces the vCPUs.
                let vcpu = this.value.loaded.vcpus[i]
                let now = coarseNanoseconds() &- box.migrationNanoseconds.load(ordering: .acquiring)
                guard now < deadline else {
                    box.state.withLock { s in
                        if s.end == nil { s.end = .timeout; this.value.record(&s, TraceEvent(exit: .timeout), hardware: nil) }
                    }
                    break
                }
                let exit: Exit
                do {
                    exit = try vcpu.run(budget: RunBudget(wallClockNanoseconds: min(sliceNanoseconds, deadline - now),
                                                          instructions: budget))
                } catch {
                    if error.errno == Errno.EAGAIN { continue }   // see runInTurn
                    box.state.withLock { s in if s.end == nil { s.end = .error("vCPU \(i): \(error)") } }
                    break
                }
                // A slice that ran out (blocked or busy) is no exit of the guest's.
                if exit == .timeout || exit == .intr { continue }
                let ended = box.state.withLock { s -> Bool in
                    if s.end != nil { return true }
                    s.exits += 1
                    if s.exits > this.value.exitCap {
                        s.end = .error("more than \(this.value.exitCap) exits")
                        return true
                    }
                    if var event = this.value.handle(exit, vcpu: i, &s) {
                        event.vcpu = i
                        this.value.record(&s, event, hardware: nil)
                    }
                    if this.value.migrationDue(s) { box.migrationDue.store(true, ordering: .releasing) }
                    return s.end != nil
                }
                if ended { break }
            }
            box.stop.store(true, ordering: .releasing)
        }
        // Threads of their own, not a dispatch queue: a vCPU thread blocks in KVM_RUN for
        // as long as its guest runs, and the global queue's few workers (one per core) were
        // taken by parallel payloads, so some APs never ran.
        var threads: [VCPUThread] = []
        for i in 1..<loaded.vcpus.count {
            guard let t = VCPUThread({ loop(i) }) else {
                box.state.withLock { s in if s.end == nil { s.end = .error("no thread for vCPU \(i): pthread_create failed") } }
                box.stop.store(true, ordering: .releasing)
                break
            }
            threads.append(t)
        }
        loop(0)
        threads.forEach { $0.join() }
        state = box.state.withLock { $0 }
    }

    /// The sink sees every exit (hardware-level lines first); the outcome keeps a bounded part.
    private func record(_ state: inout RunState, _ event: TraceEvent, hardware: HardwareExitTracing?, vcpu: Int? = nil) {
        if let sink = traceSink {
            let label = vcpu.map { "    vCPU \($0): " } ?? "    "
            hardware?.takeHardwareTrace().forEach { sink(label + $0) }
            sink("\(state.trace.count + 1): \(event)")
        }
        if recordsTrace { state.trace.record(event) }
    }

    /// An MMIO write's userspace side: the window that claims it takes it (a `ram` window
    /// stores it, a `log` window records it); an address no window claims drops it.
    @inline(__always) private func playMMIOWrite(_ m: MMIOExit, _ state: inout RunState) {
        guard let window = loaded.window(containing: m.physicalAddress, length: Int(min(m.length, 8))) else { return }
        do { try window.write(m.physicalAddress, data: m.data) } catch { state.end = .error(error.description) }
    }

    /// Plays the userspace side of one exit of vCPU `index`: ports, MMIO windows, host
    /// requests. Returns the exit's trace event (nil: nothing to record).
    private func handle(_ exit: Exit, vcpu index: Int, _ state: inout RunState) -> TraceEvent? {
        if case .io(let io) = exit, io.direction == .out, io.count == 1, ABIPort.latch.contains(io.port),
           !recordsTrace && traceSink == nil {
            // The commonest exit of all (every bench_pio_exit iteration): a latch write that
            // nothing records. No trace event to build, no array to copy.
            state.latches[index].write(port: io.port, value: io.value, count: io.dataCount)
            return nil
        }
        let vcpu = loaded.vcpus[index]
        let records = recordsTrace || traceSink != nil
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
                    case ABIPort.latch: state.latches[index].write(port: io.port, data: element)
                    case ABIPort.hostRequest where size == 4: event.note = hostRequest(value, vcpu: vcpu, &state)
                    case ABIPort.checkRecord where size == 4:
                        guard state.checks.count < Self.maximumChecks else {
                            state.end = .error("more than \(Self.maximumChecks) check records")
                            break
                        }
                        var record = CheckRecord.read(gpa: UInt64(value), ram: loaded.ram)
                        if loaded.vcpus.count > 1 { record.vcpu = index }
                        state.checks.append(record)
                        event.note = record.traceNote
                    case ABIPort.debugConsole:
                        if state.console.count < Self.maximumConsoleBytes { state.console += element } else { state.consoleDropped += element.count }
                    case ABIPort.exitStatus: state.end = .status(element.first ?? 0xFF)
                    default: break
                    }
                }
                return event
            }
            var data: [UInt8] = []
            for _ in 0..<Int(io.count) {
                data += ABIPort.latch.contains(io.port) ? state.latches[index].read(port: io.port, size: size)
                                                        : [UInt8](repeating: 0xFF, count: size)
            }
            vcpu.completeIO(data)
            // Nothing records (a bench loop reading a port): no event to build.
            return records ? TraceEvent(exit: exit, supplied: data) : nil
        case .mmio(let m):
            let length = Int(min(m.length, 8))
            let window = loaded.window(containing: m.physicalAddress, length: length)
            if m.isWrite {
                playMMIOWrite(m, &state)
                return records ? TraceEvent(exit: exit) : nil
            }
            // An address no window claims reads as an unbacked bus: all ones.
            let data = window?.read(m.physicalAddress, length: length) ?? [UInt8](repeating: 0xFF, count: length)
            vcpu.completeMMIORead(data)
            return records ? TraceEvent(exit: exit, supplied: data) : nil
        case .rdmsr(let msr, let reason):
            // Host request 0x11 enabled these exits (UserspaceExits): the kept value or an error.
            let answer = loaded.userspaceExits.read(index: msr)
            vcpu.completeMSR(error: answer.error, data: answer.data)
            state.latches[index].write(port: ABIPort.latch.lowerBound, data: LittleEndian.bytes(UserspaceExits.latch(reason: reason, index: msr)))
            var event = TraceEvent(exit: exit)
            event.note = answer.error ? "error" : "data 0x" + String(answer.data, radix: 16)
            return event
        case .wrmsr(let msr, let data, let reason):
            let refused: Bool
            do { refused = try loaded.userspaceExits.write(index: msr, data: data) } catch {
                state.end = .error(error.why)
                return TraceEvent(exit: exit)
            }
            vcpu.completeMSR(error: refused, data: data)
            state.latches[index].write(port: ABIPort.latch.lowerBound, data: LittleEndian.bytes(UserspaceExits.latch(reason: reason, index: msr)))
            var event = TraceEvent(exit: exit)
            event.note = refused ? "error" : "kept"
            return event
        case .hypercall(let nr, let args, _, let longMode):
            let ret = UserspaceExits.ret(args)
            vcpu.completeHypercall(ret: ret)
            state.latches[index].write(port: ABIPort.latch.lowerBound, data: LittleEndian.bytes(UserspaceExits.latch(nr: nr, longMode: longMode)))
            var event = TraceEvent(exit: exit)
            event.note = "ret 0x" + String(ret, radix: 16)
            return event
        case .debug(let exception, let pc, let dr6, _):
            // Host request 0x12 asked for these (GuestDebugRequests): step over and go on.
            switch GuestDebugRequests.resume(vcpu, exception: exception, pc: pc, dr6: dr6) {
            case .success(let latch):
                state.latches[index].write(port: ABIPort.latch.lowerBound, data: LittleEndian.bytes(latch))
            case .failure(let error):
                state.end = .error("resuming after KVM_EXIT_DEBUG: \(error)")
            }
            var event = TraceEvent(exit: exit)
            event.note = "exception \(exception) pc 0x\(String(pc, radix: 16))" + (exception == 1 ? " dr6 0x\(String(dr6, radix: 16))" : "")
            return event
        case .hlt, .irqWindowOpen, .intr, .setTPR:
            // HLT without an in-kernel LAPIC is resumable; the window and a stray
            // signal just mean "go round again". KVM_EXIT_SET_TPR (a MOV to CR8 that
            // lowered the TPR, no in-kernel LAPIC) only tells a userspace APIC to look
            // for deliverable interrupts; the harness has none, so it resumes.
            return TraceEvent(exit: exit)
        case .shutdown:
            state.end = .shutdown
            return TraceEvent(exit: exit)
        case .timeout:
            state.end = .timeout
            return TraceEvent(exit: exit)
        case .internalError(let suberror, _):
            state.end = .internalError(suberror: suberror)
            return TraceEvent(exit: exit)
        default:
            state.end = .unexpectedExit(exit.name)
            return TraceEvent(exit: exit)
        }
    }

    /// Carries out a host request of `vcpu`; returns what the trace should say about it.
    private func hostRequest(_ value: UInt32, vcpu: any VirtualCPU, _ state: inout RunState) -> String {
        let request = HostRequest(value)
        if case .vmControls(let gpa) = request {
            // Synchronous and deterministic, like the memslot requests.
            do { return try loaded.userspaceExits.handle(blockGPA: gpa) } catch {
                state.end = .error(error.why)
                return "VM control request refused: \(error.why)"
            }
        }
        if case .guestDebug(let gpa) = request {
            do {
                let (note, applied) = try GuestDebugRequests.handle(blockGPA: gpa, vcpu: vcpu, ram: loaded.ram)
                if let applied { loaded.guestDebug[Int(vcpu.id)] = applied }
                return note
            } catch {
                state.end = .error(error.why)
                return "guest debug request refused: \(error.why)"
            }
        }
        if case .eventFD(let gpa) = request {
            // Synchronous; what an irqfd then delivers arrives as the backend schedules it.
            do { return try loaded.eventFDs.handle(blockGPA: gpa, exits: state.exits) } catch {
                state.end = .error(error.why)
                return "eventfd request refused: \(error.why)"
            }
        }
        if case .memslot(let gpa) = request {
            // Deterministic and synchronous: not counted with the interrupt requests, whose
            // timing makes a comparison fall back to invariants.
            do { return try loaded.memslots.handle(blockGPA: gpa) } catch {
                state.end = .error(error.why)
                return "memslot request refused: \(error.why)"
            }
        }
        state.hostRequests += 1
        do {
            switch request {
            case .interrupt(let vector):
                state.pendingInterrupt = vector
            case .nmi:
                try vcpu.nmi()
            case .irqLine(let gsi, let level):
                try loaded.vm.irqLine(gsi, level: level)
            case .irqPulse(let gsi):
                try loaded.vm.irqLine(gsi, level: true)
                try loaded.vm.irqLine(gsi, level: false)
            case .msi(let destination, let vector, let mode, let logical):
                let address: UInt64 = 0xFEE0_0000 | UInt64(destination) << 12 | (logical ? 1 << 2 : 0)
                _ = try loaded.vm.signalMSI(address: address, data: UInt32(vector) | UInt32(mode) << 8)
            case .unknown(let v):
                state.hostErrors.append("unknown host request 0x\(String(v, radix: 16))")
            case .memslot, .vmControls, .guestDebug, .eventFD: break
            }
        } catch {
            state.hostErrors.append("\(error)")
        }
        return ""
    }

    /// A KVM_RUN with immediate_exit set: KVM first completes the exit userspace just
    /// handled (e.g. advances RIP past the final OUT, which VMX's fast-PIO path leaves
    /// pending), then returns EINTR without running the guest. Only after that is the
    /// vCPU state architecturally consistent and comparable across implementations.
    private func completePendingExit() {
        _ = try? loaded.vcpu.runWithImmediateExit()
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

    /// Before a save: each vCPU completes the exit userspace handled last with a KVM_RUN
    /// that has immediate_exit set, as Documentation/virt/kvm/api.rst asks of a VMM that
    /// saves state. That KVM_RUN returns EINTR without entering the guest, unless finishing
    /// the instruction needs userspace again (the next chunk of a REP INS/OUTS, x86.c
    /// kvm_arch_vcpu_ioctl_run runs complete_userspace_io before it looks at
    /// immediate_exit): such an exit is the guest's, handled and recorded as any other.
    private func quiesce(_ state: inout RunState) {
        for (i, vcpu) in loaded.vcpus.enumerated() {
            while state.end == nil {
                let exit: Exit
                do {
                    exit = try vcpu.runWithImmediateExit()
                } catch {
                    if error.errno == Errno.EAGAIN { break }
                    state.end = .error("vCPU \(i): KVM_RUN with immediate_exit before a migration: \(error)")
                    return
                }
                if exit == .intr || exit == .timeout { break }
                state.exits += 1
                guard state.exits <= exitCap else { state.end = .error("more than \(exitCap) exits"); return }
                if var event = handle(exit, vcpu: i, &state) {
                    if loaded.vcpus.count > 1 { event.vcpu = i }
                    record(&state, event, hardware: nil, vcpu: loaded.vcpus.count > 1 ? i : nil)
                }
            }
        }
    }

    /// Whether the exit just handled makes a migration due.
    func migrationDue(_ state: RunState) -> Bool {
        guard let m = migration, state.end == nil else { return false }
        return state.exits % m.every == 0
    }

    /// Saves the VM, restores it into a new one (on the plan's next target) and goes on
    /// there; the exit counters of the statistics go on from the old VM's. A save or
    /// restore that fails ends the run with its error.
    func migrate(_ state: inout RunState) {
        guard let m = migration else { return }
        let start = coarseNanoseconds()
        defer { state.migrationNanoseconds &+= coarseNanoseconds() &- start }
        quiesce(&state)
        guard state.end == nil else { return }
        let before = exitStats()
        let target = m.targets[state.migrations % m.targets.count]
        let concurrent = loaded.vm.runsVCPUsConcurrently
        var notes: [String] = []
        do {
            try loaded.migrate(to: target, notes: &notes)
        } catch {
            state.end = .error(error.description)
            return
        }
        state.migrations += 1
        if loaded.vcpus.count > 1 && loaded.vm.runsVCPUsConcurrently != concurrent { state.switchLoops = true }
        for (k, v) in before { state.carriedStats[k, default: 0] &+= v }
        for n in notes where !state.migrationNotes.contains(n) { state.migrationNotes.append(n) }
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

/// A value handed to another thread that the caller vouches for: here the runner, whose
/// vCPUs each run on one thread and whose shared state is behind a Mutex.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// A POSIX thread running one closure (a vCPU's run loop), joined by its creator.
final class VCPUThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
    private var thread = pthread_t()

    /// Nil when the thread cannot be created (the body is then not run).
    init?(_ body: @escaping @Sendable () -> Void) {
        let arg = Unmanaged.passRetained(Body(body)).toOpaque()
        let r = pthread_create(&thread, nil, { p in
            Unmanaged<Body>.fromOpaque(p!).takeRetainedValue().run()
            return nil
        }, arg)
        if r != 0 {
            Unmanaged<Body>.fromOpaque(arg).release()
            return nil
        }
    }

    func join() { pthread_join(thread, nil) }
}
