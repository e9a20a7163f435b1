// `kvm-unit bench ref`: the engine's speed in MIPS on the bench loop payloads
// (guests/emulator/bench_*.asm), and on the same images Bochs and QEMU TCG, booted
// through their BIOS from a disk image.
//
// Method, the same for every engine: T(n) is the wall time of one whole run with the
// payload's iteration count patched to n (VM or emulator start, boot, loop, end);
// MIPS = n * instructions-per-iteration / (median T(N) - median T(0)), so boot, BIOS and
// process start cancel out. Runs of T(0) and T(N) alternate, and the engines take turns
// (measureInTurns): each round has one T(0) and one T(N) run of every engine.

#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import GuestPayloads
import KVMABI
import PayloadFormat
#if canImport(Glibc)
import Glibc
#endif

// MARK: - the bench loop payloads

/// A payload with a bench parameter block: the 8-byte tag "KVMUBNCH", then three u64
/// (iteration count, instructions per iteration, default iteration count). The bench
/// finds the block by its tag and patches the count (see the comment at the top of
/// guests/emulator/bench_alu_loop.asm).
public struct BenchLoop: Sendable {
    public static let tag = Array("KVMUBNCH".utf8)
    /// Every catalogue payload that carries a bench parameter block (guests/emulator/bench_*.asm),
    /// in catalogue order: the loops `bench ref` measures when no file is named.
    public static var catalogue: [BenchLoop] { Catalogue.all.compactMap(BenchLoop.init) }

    public let payload: Payload
    /// Image offset of the tag.
    public let blockOffset: Int
    public let instructionsPerIteration: UInt64
    /// The count the payload's own checksum check is written for.
    public let defaultIterations: UInt64

    public var name: String { payload.name }

    public init?(_ payload: Payload) {
        let image = payload.image
        guard let offset = payload.offset(ofTag: Self.tag), offset + 32 <= image.count else { return nil }
        self.payload = payload
        blockOffset = offset
        instructionsPerIteration = Self.u64(image, offset + 16)
        defaultIterations = Self.u64(image, offset + 24)
        guard instructionsPerIteration > 0 else { return nil }
    }

    /// The image with the iteration count patched, and the header's instruction budget
    /// raised to cover the loop (the reference engine enforces it).
    public func image(iterations: UInt64) -> [UInt8] {
        var image = payload.image
        Self.put(&image, blockOffset + 8, iterations)
        // The engine charges every REP iteration to the budget (a REP instruction counts once
        // in `instructions per iteration`), so leave room for string loops; the wall-clock
        // bound of the run is what really stops a runaway loop.
        let needed = iterations &* instructionsPerIteration &* 100 &+ 10_000_000
        if Self.u64(image, 0x20) < needed { Self.put(&image, 0x20, needed) }
        return image
    }

    public func payload(iterations: UInt64) throws -> Payload {
        try Payload(image: image(iterations: iterations), source: payload.source)
    }

    static func u64(_ b: [UInt8], _ o: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) }
    }

    static func put(_ b: inout [UInt8], _ o: Int, _ v: UInt64) {
        for k in 0..<8 { b[o + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }
}

// MARK: - measurements

/// One engine on one loop: T(0) and T(N) samples, or why there are none.
public struct LoopMeasurement: Sendable {
    public enum State: Sendable, Equatable {
        case measured
        /// The emulator (or a piece it needs) is not installed: not an error.
        case notInstalled(String)
        /// A run did not end as expected (timeout, wrong status, crash).
        case failed(String)
    }

    public var state: State
    /// N, as this engine ran it (measureInTurns may have lengthened it).
    public var iterations: UInt64
    /// The N asked for, when measureInTurns lengthened this engine's.
    public var lengthenedFrom: UInt64?
    public var instructionsPerIteration: UInt64
    /// Wall seconds of each run with the count patched to 0, and to `iterations`.
    public var zeroRuns: [Double] = []
    public var loopRuns: [Double] = []
    /// Instructions the engine reports it retired in the T(N) and T(0) runs (reference engine only).
    public var retiredLoop: UInt64?
    public var retiredZero: UInt64?
    /// The engine's decode_cache_* statistics after the last T(N) run (reference engine only).
    public var cacheStats: [String: UInt64] = [:]

    public init(state: State, iterations: UInt64, instructionsPerIteration: UInt64) {
        self.state = state
        self.iterations = iterations
        self.instructionsPerIteration = instructionsPerIteration
    }

    public var instructions: UInt64 { iterations &* instructionsPerIteration }

    /// MIPS from the medians; nil unless measured with T(N) > T(0).
    public var mips: Double? {
        guard state == .measured, let z = Self.median(zeroRuns), let n = Self.median(loopRuns), n > z else { return nil }
        return Double(instructions) / (n - z) / 1e6
    }

    /// The spread: the lowest and highest MIPS any pair of one T(0) and one T(N) sample gives.
    public var mipsRange: (Double, Double)? {
        guard state == .measured, let zmin = zeroRuns.min(), let zmax = zeroRuns.max(),
              let nmin = loopRuns.min(), let nmax = loopRuns.max(), nmin > zmax else { return nil }
        return (Double(instructions) / (nmax - zmin) / 1e6, Double(instructions) / (nmin - zmax) / 1e6)
    }

    /// (highest - lowest T(N)) / (median T(N) - median T(0)): how much the machine moved one
    /// engine's samples, against what is measured; nil with fewer than two T(N) samples.
    public var timedSpread: Double? {
        guard state == .measured, loopRuns.count > 1, let lo = loopRuns.min(), let hi = loopRuns.max(),
              let z = Self.median(zeroRuns), let n = Self.median(loopRuns), n > z else { return nil }
        return (hi - lo) / (n - z)
    }

    public static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

/// How one run of a payload ended on an external emulator or the engine.
struct TimedRun {
    var seconds: Double
    /// The payload's status byte; nil when it never reached its end.
    var status: UInt8?
    var problem: String?
    var retired: UInt64?
    var cacheStats: [String: UInt64] = [:]
}

public enum RefBench {
    /// Every external process is killed when it runs longer than this.
    public static let processTimeout: Double = 60

    /// How many times the payload's own iteration count the bench runs by default: the
    /// payloads retire ~3.6M instructions, which QEMU TCG finishes within the noise of its
    /// start-up; 50 times that puts T(N) - T(0) well above it on every engine.
    public static let defaultScale: UInt64 = 50

    /// One engine's runs of one loop: how to run an image once, and what it measured so far.
    /// measureInTurns takes the samples of several engines in turns.
    public struct Sampler {
        public internal(set) var measurement: LoopMeasurement
        let runOnce: (_ image: [UInt8]) -> TimedRun
        /// Run after the last sample (an emulator's temporary directory).
        let cleanUp: () -> Void

        init(_ loop: BenchLoop, iterations: UInt64, runOnce: @escaping (_ image: [UInt8]) -> TimedRun,
             cleanUp: @escaping () -> Void = {}) {
            measurement = LoopMeasurement(state: .measured, iterations: iterations,
                                          instructionsPerIteration: loop.instructionsPerIteration)
            self.runOnce = runOnce
            self.cleanUp = cleanUp
        }

        /// One that takes no samples: `measurement` says why.
        public init(_ loop: BenchLoop, iterations: UInt64, state: LoopMeasurement.State) {
            self.init(loop, iterations: iterations, runOnce: { _ in TimedRun(seconds: 0, status: nil) })
            measurement.state = state
        }

        var measuring: Bool { measurement.state == .measured }

        /// measureInTurns' lengthening: after one T(0) and one T(N) sample, an N whose timed
        /// part is short is scaled up and its T(N) sample dropped. True if it was.
        mutating func lengthenIfShort() -> Bool {
            guard let z = measurement.zeroRuns.last, let t = measurement.loopRuns.last else { return false }
            let timed = t - z
            guard timed < RefBench.shortestTimedSeconds else { return false }
            let wanted = (RefBench.lengthenedTimedSeconds / max(timed, 0.01)).rounded(.up)
            // timed < 0.5 s, so the factor is at least 2.
            let factor = min(RefBench.maximumLengthening, UInt64(wanted))
            measurement.lengthenedFrom = measurement.iterations
            measurement.iterations &*= factor
            measurement.loopRuns.removeAll()
            return true
        }

        /// The untimed run at the payload's own count, which must pass its checksum check;
        /// false (with the state failed) if it did not.
        mutating func checkRun(_ loop: BenchLoop) -> Bool {
            let n = loop.defaultIterations
            let r = runOnce(loop.image(iterations: n))
            guard r.problem == nil, r.status == 0 else {
                measurement.state = .failed("\(loop.name) at its default count (\(n) iterations) did not pass: "
                                            + (r.problem ?? r.status.map { "status \($0)" } ?? "no status"))
                return false
            }
            return true
        }

        /// One timed run; false (with the state failed) if it did not end with status 0, or
        /// 1 (only the checksum check failed) at a count other than the payload's own.
        mutating func sample(_ loop: BenchLoop, _ n: UInt64) -> Bool {
            let accepted: Set<UInt8> = n == loop.defaultIterations ? [0] : [0, 1]
            let r = runOnce(loop.image(iterations: n))
            if let problem = r.problem {
                measurement.state = .failed("\(loop.name) with \(n) iterations: \(problem)")
                return false
            }
            guard let s = r.status, accepted.contains(s) else {
                measurement.state = .failed("\(loop.name) with \(n) iterations ended with "
                                            + (r.status.map { "status \($0)" } ?? "no status"))
                return false
            }
            if n == 0 { measurement.zeroRuns.append(r.seconds); measurement.retiredZero = r.retired }
            else if n == measurement.iterations {
                measurement.loopRuns.append(r.seconds); measurement.retiredLoop = r.retired; measurement.cacheStats = r.cacheStats
            }
            return true
        }
    }

    /// First one untimed run of each engine at the payload's default count, which must pass
    /// the payload's own checksum check (status 0): the engine computes the loop right. Then
    /// `runs` rounds in which every engine in turn makes one T(0) and one T(N) run, so that a
    /// disturbance of the machine that lasts seconds (another tenant of a shared host) falls
    /// on every engine's samples alike, not on one engine's whole measurement; at counts other
    /// than the default, status 1 (only the checksum check failed) is expected and accepted.
    /// An engine whose run fails takes no more samples; the others go on.
    ///
    /// With `lengthen`, an engine whose T(N) - T(0) in the first round is under
    /// `shortestTimedSeconds` runs the rest with its own N, scaled up to about
    /// `lengthenedTimedSeconds` (at most `maximumLengthening` times), and its first-round
    /// T(N) is dropped: then the loop, not the spread of T(0) (an emulator's start and BIOS
    /// boot, ~0.2 s), decides the difference of medians. On a shared 2-core VM the exit loops'
    /// T(N) - T(0) was ~0.1 s on Bochs with T(0) at ~0.2 s, and one run reported Bochs at 144
    /// MIPS on bench_pio_in_exit where 128M instructions measured 74. One more round is then
    /// taken, so every engine has `runs` samples of T(N) at its final N.
    public static func measureInTurns(_ loop: BenchLoop, runs: Int, lengthen: Bool = false, _ samplers: inout [Sampler]) {
        defer { for s in samplers { s.cleanUp() } }
        for k in samplers.indices where samplers[k].measuring {
            _ = samplers[k].checkRun(loop)
        }
        var rounds = max(1, runs)
        var round = 0
        while round < rounds {
            for k in samplers.indices where samplers[k].measuring {
                for n in [UInt64(0), samplers[k].measurement.iterations] {
                    if !samplers[k].sample(loop, n) { break }
                }
            }
            if round == 0 && lengthen {
                var lengthened = false
                for k in samplers.indices where samplers[k].measuring { lengthened = samplers[k].lengthenIfShort() || lengthened }
                if lengthened { rounds += 1 }
            }
            round += 1
        }
    }

    /// An engine's first-round T(N) - T(0) below this is lengthened (measureInTurns).
    public static let shortestTimedSeconds = 0.5
    /// ... to about this.
    public static let lengthenedTimedSeconds = 1.0
    /// ... by at most this factor (a loop that is slow on one engine stays within processTimeout).
    public static let maximumLengthening: UInt64 = 20

    // MARK: the engine, through the KVMABI protocols

    /// The loop on a `Hypervisor` (the reference engine, or any other): each run is the
    /// harness's own load (fresh VM, image at 0x8000, entry state) and run loop, timed.
    public static func engineSampler(_ hypervisor: any Hypervisor, loop: BenchLoop, iterations: UInt64) -> Sampler {
        Sampler(loop, iterations: iterations) { image in
            let start = DispatchTime.now().uptimeNanoseconds
            let payload: Payload
            do { payload = try Payload(image: image, source: loop.payload.source) } catch {
                return TimedRun(seconds: 0, status: nil, problem: "patched image does not parse: \(error)")
            }
            let loaded: LoadedPayload
            do { loaded = try LoadedPayload(payload, on: hypervisor) } catch {
                return TimedRun(seconds: 0, status: nil, problem: "\(error)")
            }
            var runner = PayloadRunner(loaded, wallBudgetNanoseconds: UInt64(processTimeout * 1e9))
            runner.exitCap = Int.max   // a loop may exit every iteration (bench_pio_exit)
            // A lengthened REP loop retires more than LoadedPayload's cap (1e9, REP iterations
            // included) in its one KVM_RUN; processTimeout still bounds the run.
            runner.instructionBudget = 1 << 62
            runner.recordsTrace = false
            let outcome = runner.run()
            let retired = instructionsRetired(loaded.vcpu)
            var cache: [String: UInt64] = [:]
            if let stats = try? loaded.vcpu.statistics() {
                for name in ["decode_cache_peak_bytes", "decode_cache_bound_bytes", "decode_cache_blocks_built",
                             "decode_cache_stale_blocks", "decode_cache_flushes"] {
                    if let v = stats[name] { cache[name] = v }
                }
            }
            loaded.vm.close()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if case .status(let s) = outcome.end { return TimedRun(seconds: seconds, status: s, retired: retired, cacheStats: cache) }
            return TimedRun(seconds: seconds, status: nil, problem: outcome.end.description)
        }
    }

    /// `instructionsRetired` of a vCPU that has one (the reference engine's RefVCPU),
    /// found by reflection so this file needs no import of the engine.
    static func instructionsRetired(_ vcpu: any VirtualCPU) -> UInt64? {
        func find(_ subject: Any, depth: Int) -> UInt64? {
            let mirror = Mirror(reflecting: subject)
            for child in mirror.children where child.label == "instructionsRetired" {
                if let v = child.value as? UInt64 { return v }
            }
            guard depth > 0 else { return nil }
            for child in mirror.children where child.label == "cpu" {
                if let v = find(child.value, depth: depth - 1) { return v }
            }
            return nil
        }
        return find(vcpu, depth: 1)
    }

    // MARK: Bochs and QEMU

    /// Bochs or QEMU TCG on the loop, each run booted from its own disk image in a temporary
    /// directory (removed by the sampler's cleanUp); a sampler that takes no samples when
    /// the emulator is not installed.
    public static func externalSampler(_ emulator: ExternalEmulator, loop: BenchLoop, iterations: UInt64) -> Sampler {
        if let missing = emulator.missing() {
            return Sampler(loop, iterations: iterations, state: .notInstalled(missing))
        }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("kvm-unit-bench-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            return Sampler(loop, iterations: iterations, state: .failed("cannot create a temporary directory: \(error)"))
        }
        var counter = 0
        return Sampler(loop, iterations: iterations, runOnce: { image in
            counter += 1
            let disk = dir.appendingPathComponent("disk\(counter).img")
            do {
                try BootDisk.write(payload: emulator == .bochs ? BootDisk.bochsEnding(image) : image, to: disk.path)
            } catch {
                return TimedRun(seconds: 0, status: nil, problem: "\(error)")
            }
            defer { try? FileManager.default.removeItem(at: disk) }
            return emulator == .bochs ? runBochs(disk: disk.path, dir: dir.path) : runQEMU(disk: disk.path)
        }, cleanUp: { try? FileManager.default.removeItem(at: dir) })
    }

    /// QEMU TCG: the payload's OUT to 0xF4 hits isa-debug-exit, QEMU exits with
    /// (status << 1) | 1. Any other exit code (0 = triple fault with -no-reboot) is a failure.
    static func runQEMU(disk: String) -> TimedRun {
        let args = ["-machine", "pc", "-accel", "tcg", "-m", "32", "-display", "none", "-nographic",
                    "-no-reboot", "-nic", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x01",
                    "-drive", "file=\(disk),format=raw,if=ide"]
        let r = ChildProcess.run(ExternalEmulator.qemu.executable, args, timeout: processTimeout, stopAfterMarker: nil)
        if r.timedOut { return TimedRun(seconds: r.seconds, status: nil, problem: "timed out after \(Int(processTimeout)) s") }
        guard let code = r.exitCode, code & 1 == 1 else {
            return TimedRun(seconds: r.seconds, status: nil,
                            problem: "qemu exited with \(r.exitCode.map(String.init) ?? "a signal") (not through isa-debug-exit)")
        }
        return TimedRun(seconds: r.seconds, status: UInt8(truncatingIfNeeded: code >> 1))
    }

    /// Bochs (Debian's build has the internal debugger: `-rc` gives it "c" to continue):
    /// the image's exit OUT was patched to port 0xE9 (port_e9_hack prints the byte on
    /// stdout); the boot sector prints "<KVMU>" just before it jumps to the payload, so the
    /// byte after that marker is the status. The run's time ends when that byte arrives;
    /// Bochs is then killed (SIGKILL: it ignores SIGTERM).
    static func runBochs(disk: String, dir: String) -> TimedRun {
        let rc = dir + "/bochsrc", cont = dir + "/continue.rc"
        var st = stat()
        let bytes = stat(disk, &st) == 0 ? Int(st.st_size) : 0
        let sectors = bytes / 512
        let config = """
            megs: 32
            romimage: file=\(ExternalEmulator.bochsBIOS)
            vgaromimage: file=\(ExternalEmulator.bochsVGABIOS)
            cpu: model=corei7_sandy_bridge_2600k, count=1, reset_on_triple_fault=0
            ata0-master: type=disk, path=\(disk), mode=flat, cylinders=\(sectors / (16 * 63)), heads=16, spt=63
            boot: disk
            display_library: term
            clock: sync=none
            port_e9_hack: enabled=1
            mouse: enabled=0
            log: /dev/null
            panic: action=fatal
            error: action=report
            info: action=ignore

            """
        guard FileManager.default.createFile(atPath: rc, contents: Data(config.utf8)),
              FileManager.default.createFile(atPath: cont, contents: Data("c\n".utf8)) else {
            return TimedRun(seconds: 0, status: nil, problem: "cannot write the bochsrc in \(dir)")
        }
        let r = ChildProcess.run(ExternalEmulator.bochs.executable, ["-q", "-f", rc, "-rc", cont],
                                 timeout: processTimeout, stopAfterMarker: Array(BootDisk.marker.utf8))
        if let status = r.byteAfterMarker { return TimedRun(seconds: r.seconds, status: status) }
        if r.timedOut { return TimedRun(seconds: r.seconds, status: nil, problem: "timed out after \(Int(processTimeout)) s") }
        let tail = String(decoding: r.output.suffix(300), as: UTF8.self)
        return TimedRun(seconds: r.seconds, status: nil, problem: "bochs ended without a status: \(tail)")
    }
}

// MARK: - the emulators

public enum ExternalEmulator: String, Sendable, CaseIterable {
    case bochs = "Bochs"
    case qemu = "QEMU TCG"

    static let bochsBIOS = "/usr/share/bochs/BIOS-bochs-latest"
    static let bochsVGABIOS = "/usr/share/bochs/VGABIOS-lgpl-latest"
    static let bochsTermPlugins = ["/usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so",
                                   "/usr/lib/bochs/plugins/libbx_term_gui.so"]

    var executableName: String { self == .bochs ? "bochs" : "qemu-system-x86_64" }
    var executable: String { ChildProcess.which(executableName) ?? executableName }

    /// Why this emulator cannot run here, or nil when everything it needs is installed.
    public func missing() -> String? {
        guard ChildProcess.which(executableName) != nil else { return "\(executableName) not installed" }
        guard ChildProcess.which("nasm") != nil else { return "nasm (for the boot sector) not installed" }
        if self == .bochs {
            let fm = FileManager.default
            guard fm.fileExists(atPath: Self.bochsBIOS), fm.fileExists(atPath: Self.bochsVGABIOS) else {
                return "Bochs BIOS images not installed (\(Self.bochsBIOS))"
            }
            guard Self.bochsTermPlugins.contains(where: fm.fileExists) else { return "bochs-term not installed" }
        }
        return nil
    }
}

// MARK: - the boot disk

/// A raw hard-disk image: a 512-byte boot sector, the payload image from LBA 1, zero
/// padding to whole cylinders of 16 heads x 63 sectors (Bochs derives nothing itself).
enum BootDisk {
    static let marker = "<KVMU>"
    static let cylinderBytes = 16 * 63 * 512

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// The boot sector, assembled with nasm at run time (`-DCHUNKS=` 16 KiB chunks to read,
    /// `-DENTRY=` the header's entry offset). The BIOS loads it at 0:7C00 and starts it
    /// with DL = boot drive. It enables A20 (port 0x92), zeroes 0x8000..0x87FFF (the
    /// payload's .bss is not in the image and the ABI promises zeroed RAM), reads the
    /// image to 0:8000 with INT 13h AH=42h (LBA, 32 sectors a call), prints the marker on
    /// port 0xE9, then with CS=DS=ES=SS=0, SP=0x7C00, IF=0 jumps to 0:8000+entry: the
    /// payload's own boot path (the same as under KVM) takes it from there. A disk error
    /// prints 'F' on 0xE9 and writes status 0xEE to port 0xF4.
    static let bootSector = """
        bits 16
        org 0x7C00
            cli
            xor ax, ax
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov sp, 0x7C00
            sti                         ; the BIOS disk services want interrupts
            mov [drive], dl
            in al, 0x92                 ; fast A20 on, no reset
            or al, 2
            and al, 0xFE
            out 0x92, al
            cld
            mov bx, 0x0800              ; zero 0x8000..0x87FFF, 64 KiB a segment
        .zero:
            mov es, bx
            xor di, di
            xor ax, ax
            mov cx, 0x8000
            rep stosw
            add bx, 0x1000
            cmp bx, 0x8800
            jb .zero
            mov bp, CHUNKS
        .load:
            mov si, dap
            mov ah, 0x42                ; extended read: DS:SI = disk address packet
            mov dl, [drive]
            int 0x13
            jc .fail
            add word [dap + 6], 0x400   ; buffer segment += 16 KiB
            add dword [dap + 8], 32     ; LBA += 32
            dec bp
            jnz .load
            mov si, marker
        .mark:
            lodsb
            test al, al
            jz .go
            out 0xE9, al
            jmp .mark
        .go:
            cli
            xor ax, ax
            mov ds, ax
            mov es, ax
            mov ss, ax
            mov sp, 0x7C00
            jmp 0:(0x8000 + ENTRY)
        .fail:
            mov al, 'F'
            out 0xE9, al
            mov al, 0xEE
            out 0xF4, al
        .halt:
            hlt
            jmp .halt
            align 4
        dap:    db 0x10, 0              ; size, reserved
                dw 32, 0, 0x0800        ; sectors, buffer offset, buffer segment
                dq 1                    ; LBA
        drive:  db 0
        marker: db "\(marker)", 0
            times 510 - ($ - $$) db 0
            dw 0xAA55

        """

    static func write(payload image: [UInt8], to path: String) throws(Failure) {
        guard image.count >= PayloadHeader.size else { throw Failure(description: "image too short") }
        let entry = UInt32(image[0x0C]) | UInt32(image[0x0D]) << 8 | UInt32(image[0x0E]) << 16 | UInt32(image[0x0F]) << 24
        let chunks = (image.count + 16383) / 16384
        guard 0x8000 + chunks * 16384 <= 0x80000 else { throw Failure(description: "image too large for the boot sector") }
        let asm = path + ".boot.asm", bin = path + ".boot.bin"
        defer { try? FileManager.default.removeItem(atPath: asm); try? FileManager.default.removeItem(atPath: bin) }
        do { try bootSector.write(toFile: asm, atomically: true, encoding: .utf8) } catch {
            throw Failure(description: "cannot write \(asm): \(error)")
        }
        let r = ChildProcess.run(ChildProcess.which("nasm") ?? "nasm",
                                 ["-f", "bin", "-DCHUNKS=\(chunks)", "-DENTRY=\(entry)", asm, "-o", bin],
                                 timeout: 60, stopAfterMarker: nil)
        guard r.exitCode == 0, let boot = FileManager.default.contents(atPath: bin), boot.count == 512 else {
            throw Failure(description: "nasm failed on the boot sector: \(String(decoding: r.output, as: UTF8.self))")
        }
        var disk = [UInt8](boot) + image
        // Whole cylinders, and at least every sector the loader reads.
        let needed = max(disk.count, 512 + chunks * 16384)
        let size = (needed + cylinderBytes - 1) / cylinderBytes * cylinderBytes
        disk += [UInt8](repeating: 0, count: size - disk.count)
        guard FileManager.default.createFile(atPath: path, contents: Data(disk)) else {
            throw Failure(description: "cannot write \(path)")
        }
    }

    /// Bochs has no device on port 0xF4, so for Bochs only the payload's exit OUTs are
    /// retargeted to the port_e9_hack console: every `out 0xF4, al` (E6 F4) followed by
    /// the end-of-run idle loop `jmp $` (EB FE) or `cli; hlt` (FA F4) becomes
    /// `out 0xE9, al`. Nothing else changes.
    static func bochsEnding(_ image: [UInt8]) -> [UInt8] {
        var out = image
        var i = PayloadHeader.size
        while i + 4 <= out.count {
            if out[i] == 0xE6, out[i + 1] == 0xF4,
               (out[i + 2] == 0xEB && out[i + 3] == 0xFE) || (out[i + 2] == 0xFA && out[i + 3] == 0xF4) {
                out[i + 1] = 0xE9
            }
            i += 1
        }
        return out
    }
}

// MARK: - child processes with a time limit

enum ChildProcess {
    struct Result {
        var exitCode: Int32?
        var timedOut = false
        var seconds: Double
        var output: [UInt8]
        /// With `stopAfterMarker`: the byte that followed the marker on stdout.
        var byteAfterMarker: UInt8?
    }

    static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs `executable` in a new session (so no controlling terminal: Bochs's term
    /// display cannot draw on the user's terminal), stdin /dev/null, stdout to a pipe,
    /// stderr discarded. Ends when stdout closes and the child exits, or, with
    /// `stopAfterMarker`, as soon as the byte after the marker arrives; the time is
    /// taken then and the child's process group is killed (SIGKILL). A child still
    /// running at `timeout` seconds is killed the same way.
    static func run(_ executable: String, _ arguments: [String], timeout: Double, stopAfterMarker marker: [UInt8]?) -> Result {
        var env = ProcessInfo.processInfo.environment
        if env["TERM"] == nil || env["TERM"] == "dumb" || env["TERM"] == "" { env["TERM"] = "vt100" }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return Result(exitCode: nil, seconds: 0, output: Array("pipe failed".utf8)) }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addclose(&actions, readEnd)
        posix_spawn_file_actions_addclose(&actions, writeEnd)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // POSIX_SPAWN_SETSID (glibc >= 2.26; 0x80, not always exported to Swift).
        posix_spawnattr_setflags(&attr, Int16(0x80))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let rc = posix_spawn(&pid, executable, &actions, &attr, argv, envp)
        close(writeEnd)
        guard rc == 0 else {
            close(readEnd)
            return Result(exitCode: nil, seconds: 0, output: Array("cannot start \(executable): \(String(cString: strerror(rc)))".utf8))
        }
        let deadline = start + UInt64(timeout * 1e9)
        var output: [UInt8] = []
        var result = Result(exitCode: nil, seconds: 0, output: [])
        var buffer = [UInt8](repeating: 0, count: 4096)
        var eof = false
        while !eof {
            let now = DispatchTime.now().uptimeNanoseconds
            if now >= deadline { result.timedOut = true; break }
            var p = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
            let waitMs = Int32(min(1000, (deadline - now) / 1_000_000 + 1))
            let n = poll(&p, 1, waitMs)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { continue }
            let got = read(readEnd, &buffer, buffer.count)
            if got < 0 && errno == EINTR { continue }
            if got <= 0 { eof = true; break }
            output += buffer[0..<got]
            if let marker, let at = find(marker, in: output), at + marker.count < output.count {
                result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                result.byteAfterMarker = output[at + marker.count]
                break
            }
        }
        close(readEnd)
        if result.byteAfterMarker != nil || result.timedOut {
            kill(-pid, SIGKILL)
        }
        // Reap; a child that closed stdout but lingers past the deadline is killed.
        var status: Int32 = 0
        while true {
            let w = waitpid(pid, &status, WNOHANG)
            if w == pid { break }
            if w < 0 && errno != EINTR { break }
            if DispatchTime.now().uptimeNanoseconds >= deadline { result.timedOut = true; kill(-pid, SIGKILL) }
            usleep(200)
        }
        if result.byteAfterMarker == nil {
            result.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        // WIFEXITED / WEXITSTATUS by hand (macros are not imported).
        if !result.timedOut, status & 0x7F == 0 { result.exitCode = (status >> 8) & 0xFF }
        result.output = output
        return result
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if Array(hay[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}
