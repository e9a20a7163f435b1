import CKVMBench
import HostKVM
import KVMABI

/// `kvm-unit bench host`: HostKVM against the same steps written in C (CKVMBench).
///
/// Two benchmarks, each measured on both sides:
/// - **lifecycle**: create a VM, one memory slot of `memorySize` bytes, one vCPU, real
///   mode at `entry` where a HLT sits, run to the HLT exit, destroy everything;
/// - **IO round trip**: one KVM_RUN of a guest that loops on `out 0x10, al`, from the call
///   to the returned IO exit.
///
/// The C side uses raw ioctls; the Swift side uses HostKVM's public API, including
/// `run(budget:)` under the watchdog, i.e. the path the suite itself takes. Both read the
/// same clock (`ckvmbench_now_ns`), both fill an array of per-iteration nanoseconds, and the
/// statistics come from one function. The batches alternate between C and Swift over
/// many short rounds (with the order flipped each round), after an untimed warm-up, so
/// that drift in the machine's load (other processes' builds) lands on both sides alike.
public enum HostBench {
    /// The target of the acceptance criterion: HostKVM's median within 1.15x of C's.
    public static let targetRatio = 1.15
    static let memorySize = Int(CKVMBENCH_MEMORY_SIZE)
    static let entry = Int(CKVMBENCH_ENTRY)
    static let ioPort = UInt16(CKVMBENCH_IO_PORT)

    /// The guests, byte-for-byte those of the C side.
    static let hltGuest: [UInt8] = guest(ckvmbench_hlt_guest)
    static let ioGuest: [UInt8] = guest(ckvmbench_io_guest)
    private static func guest(_ get: (UnsafeMutablePointer<UInt8>?, Int) -> Int) -> [UInt8] {
        let n = get(nil, 0)
        var bytes = [UInt8](repeating: 0, count: n)
        _ = bytes.withUnsafeMutableBufferPointer { get($0.baseAddress, n) }
        return bytes
    }

    /// Median and spread of one side of one benchmark, in nanoseconds.
    public struct Stats: Sendable, Equatable {
        public var samples: Int
        public var median: Double
        public var p10: Double
        public var p90: Double

        /// Nearest-rank percentiles of `ns`; the same code for both sides.
        public init(_ ns: [UInt64]) {
            let s = ns.sorted()
            samples = s.count
            func pct(_ p: Double) -> Double {
                guard !s.isEmpty else { return 0 }
                let rank = Int((p * Double(s.count - 1)).rounded())
                return Double(s[min(max(rank, 0), s.count - 1)])
            }
            // The median of an even count is the mean of the two middle samples.
            if s.isEmpty {
                median = 0
            } else if s.count % 2 == 1 {
                median = Double(s[s.count / 2])
            } else {
                median = (Double(s[s.count / 2 - 1]) + Double(s[s.count / 2])) / 2
            }
            p10 = pct(0.10)
            p90 = pct(0.90)
        }
    }

    /// One benchmark: C against HostKVM.
    public struct Comparison: Sendable {
        public var name: String
        public var c: Stats
        public var host: Stats
        /// HostKVM's median over C's.
        public var ratio: Double { c.median > 0 ? host.median / c.median : .infinity }
        public var passes: Bool { ratio <= HostBench.targetRatio }
    }

    public struct Report: Sendable {
        public var device: String
        public var implementation: String
        public var rounds: Int
        public var lifecycle: Comparison
        public var ioRoundTrip: Comparison
        public var comparisons: [Comparison] { [lifecycle, ioRoundTrip] }
        public var passes: Bool { comparisons.allSatisfy(\.passes) }
    }

    /// A failure in the middle of a benchmark (the device opened, then something failed).
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs both benchmarks: `lifecycles` VM lifecycles and `roundTrips` IO round trips per
    /// side, split over `rounds` alternating batches. Throws `BackendUnavailable` when the
    /// device cannot be opened, `Failure` when a step fails afterwards.
    public static func run(device: String = "/dev/kvm", lifecycles: Int, roundTrips: Int,
                           rounds: Int = 50) throws -> Report {
        let kvm = try Backends.openHost(device: device)
        let cfd = ckvmbench_open(device)
        guard cfd >= 0 else {
            throw BackendUnavailable(description: "\(device) cannot be opened: \(Errno.name(-cfd))")
        }
        defer { _ = ckvmbench_close(cfd) }

        let rounds = max(1, rounds)
        let lifecyclesPerRound = max(1, lifecycles / rounds)
        let roundTripsPerRound = max(1, roundTrips / rounds)

        // Warm-up: page in both code paths, start the watchdog thread, let KVM settle.
        _ = try cLifecycles(cfd, count: max(2, lifecyclesPerRound / 10))
        _ = try hostLifecycles(kvm, count: max(2, lifecyclesPerRound / 10))
        _ = try cRoundTrips(cfd, count: max(100, roundTripsPerRound / 10))
        _ = try hostRoundTrips(kvm, count: max(100, roundTripsPerRound / 10))

        var cLife: [UInt64] = [], hostLife: [UInt64] = [], cIO: [UInt64] = [], hostIO: [UInt64] = []
        for round in 0..<rounds {
            let cFirst = round % 2 == 0
            if cFirst {
                cLife += try cLifecycles(cfd, count: lifecyclesPerRound)
                hostLife += try hostLifecycles(kvm, count: lifecyclesPerRound)
                cIO += try cRoundTrips(cfd, count: roundTripsPerRound)
                hostIO += try hostRoundTrips(kvm, count: roundTripsPerRound)
            } else {
                hostLife += try hostLifecycles(kvm, count: lifecyclesPerRound)
                cLife += try cLifecycles(cfd, count: lifecyclesPerRound)
                hostIO += try hostRoundTrips(kvm, count: roundTripsPerRound)
                cIO += try cRoundTrips(cfd, count: roundTripsPerRound)
            }
        }
        return Report(
            device: device, implementation: kvm.identity.implementation, rounds: rounds,
            lifecycle: Comparison(name: "VM lifecycle", c: Stats(cLife), host: Stats(hostLife)),
            ioRoundTrip: Comparison(name: "IO exit round trip", c: Stats(cIO), host: Stats(hostIO)))
    }

    // MARK: the C side

    static func cLifecycles(_ fd: Int32, count: Int) throws(Failure) -> [UInt64] {
        var ns = [UInt64](repeating: 0, count: count)
        let r = ns.withUnsafeMutableBufferPointer { ckvmbench_lifecycle(fd, Int32(count), $0.baseAddress) }
        guard r == 0 else { throw Failure(description: "C lifecycle: \(Errno.name(-r))") }
        return ns
    }

    static func cRoundTrips(_ fd: Int32, count: Int) throws(Failure) -> [UInt64] {
        var ns = [UInt64](repeating: 0, count: count)
        let r = ns.withUnsafeMutableBufferPointer { ckvmbench_io_roundtrip(fd, Int32(count), $0.baseAddress) }
        guard r == 0 else { throw Failure(description: "C IO round trip: \(Errno.name(-r))") }
        return ns
    }

    // MARK: the HostKVM side

    static func hostLifecycles(_ kvm: HostHypervisor, count: Int) throws(Failure) -> [UInt64] {
        var ns = [UInt64](repeating: 0, count: count)
        do {
            for i in 0..<count {
                let t0 = ckvmbench_now_ns()
                try lifecycle(kvm)
                let t1 = ckvmbench_now_ns()
                ns[i] = t1 &- t0
            }
        } catch {
            throw Failure(description: "HostKVM lifecycle: \(error)")
        }
        return ns
    }

    static func hostRoundTrips(_ kvm: HostHypervisor, count: Int) throws(Failure) -> [UInt64] {
        var ns = [UInt64](repeating: 0, count: count)
        do {
            let (vm, vcpu) = try realModeVM(kvm, guest: ioGuest)
            defer { vm.close() }
            var exit = try runSkippingIntr(vcpu)   // untimed: the first exit
            try expectOut(exit)
            for i in 0..<count {
                let t0 = ckvmbench_now_ns()
                exit = try runSkippingIntr(vcpu)
                let t1 = ckvmbench_now_ns()
                try expectOut(exit)
                ns[i] = t1 &- t0
            }
        } catch let f as Failure {
            throw f
        } catch {
            throw Failure(description: "HostKVM IO round trip: \(error)")
        }
        return ns
    }

    private static func expectOut(_ exit: Exit) throws(Failure) {
        guard case .io(let io) = exit, io.direction == .out, io.port == ioPort else {
            throw Failure(description: "HostKVM IO round trip: unexpected exit \(exit)")
        }
    }

    /// One HostKVM lifecycle: VM, slot, vCPU, real mode, run to HLT, close. The leak check
    /// runs exactly this.
    static func lifecycle(_ kvm: HostHypervisor) throws {
        let (vm, vcpu) = try realModeVM(kvm, guest: hltGuest)
        defer { vm.close() }
        let exit = try runSkippingIntr(vcpu)
        guard exit == .hlt else { throw Failure(description: "HostKVM lifecycle: exit \(exit), expected hlt") }
    }

    /// A VM with one slot of `memorySize` at GPA 0 holding `guest` at `entry`, and one vCPU
    /// in real mode (all segments 0) at `entry`: the steps of the C side's vm_create.
    static func realModeVM(_ kvm: HostHypervisor, guest: [UInt8]) throws(KVMError) -> (HostVM, HostVCPU) {
        let vm = try kvm.createHostVM()
        do {
            let memory = try vm.allocateGuestMemory(size: memorySize)
            memory.write(guest, at: entry)
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(memorySize),
                                                    userspaceAddress: memory.hostAddress))
            let vcpu = try vm.createHostVCPU(id: 0)
            var s = try vcpu.sregs()
            s.cs = .realMode(selector: 0, code: true)
            s.ds = .realMode(selector: 0); s.es = .realMode(selector: 0); s.fs = .realMode(selector: 0)
            s.gs = .realMode(selector: 0); s.ss = .realMode(selector: 0)
            try vcpu.setSregs(s)
            var r = Regs()
            r.rip = UInt64(entry)
            try vcpu.setRegs(r)
            return (vm, vcpu)
        } catch {
            vm.close()
            throw error
        }
    }

    /// `run(budget:)`, retried on KVM_EXIT_INTR / EINTR as the C side retries on EINTR.
    private static func runSkippingIntr(_ vcpu: HostVCPU) throws(KVMError) -> Exit {
        while true {
            let exit = try vcpu.run(budget: .standard)
            if case .intr = exit { continue }
            return exit
        }
    }
}
