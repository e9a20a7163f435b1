import KVMABI

/// Host request 0x11 (guests/README.md, "VM control requests"): KVM_ENABLE_CAP for
/// userspace MSR exits and hypercall exits, and KVM_X86_SET_MSR_FILTER, between two
/// instructions of the guest; then the harness's side of the exits they enable.
///
/// The guest passes the GPA of a 32-byte block in its RAM:
///
///     +0  u32 what       bit 0 X86_USER_SPACE_MSR (+4), bit 1 the MSR filter (+8, +12, +24),
///                        bit 2 EXIT_HYPERCALL (+16)
///     +4  u32 reasons    KVM_MSR_EXIT_REASON_* bits for KVM_CAP_X86_USER_SPACE_MSR
///     +8  u32 flags      the filter's flags (1 = KVM_MSR_FILTER_DEFAULT_DENY)
///     +12 u32 ranges     0..16
///     +16 u32 hypercalls the KVM_CAP_EXIT_HYPERCALL mask
///     +20 i32 result     written by the harness: 0, or -errno of the first ioctl that failed
///     +24 u32 ranges GPA 16 bytes per range: u32 flags, u32 base, u32 nmsrs, u32 bitmap GPA
///     +28 u32 reserved   0
///
/// The exits are answered so that a payload can check each field: a WRMSR's value is kept
/// under its index (at most 64 indices) unless its high half is DEADBEEFH (then msr.error:
/// #GP); a RDMSR gets the kept value, or msr.error when there is none; a hypercall gets
/// ret = args[0] + args[1] + args[2]. Each exit leaves a summary in the vCPU's latch:
/// reason << 24 | index[23:0] for MSRs, longmode << 31 | nr[30:0] for hypercalls.
final class UserspaceExits {
    static let op: UInt32 = 0x11
    static let blockSize = 32
    static let rangeSize = 16
    static let maximumMSRs = 64
    /// The high half of a WRMSR value the harness refuses.
    static let refusedHigh: UInt64 = 0xDEAD_BEEF

    private var vm: any VirtualMachine
    private var ram: GuestMemory
    private var values: [UInt32: UInt64] = [:]
    /// What KVM accepted, for a migration to set again on the new VM (VMM state: KVM has no
    /// ioctl that reads these back).
    private var userSpaceMSRReasons: UInt32?
    private var filter: MSRFilter?
    private var hypercallMask: UInt32?

    init(vm: any VirtualMachine, ram: GuestMemory) {
        self.vm = vm
        self.ram = ram
    }

    struct Refused: Error { let why: String }

    private func words(_ gpa: UInt64, _ bytes: Int) throws(Refused) -> [UInt8] {
        guard gpa % 4 == 0, gpa <= UInt64(ram.size), UInt64(bytes) <= UInt64(ram.size) - gpa else {
            throw Refused(why: "VM control request: \(bytes) bytes at 0x\(String(gpa, radix: 16)) are not in RAM")
        }
        return ram.read(at: Int(gpa), count: bytes)
    }

    /// Carries out the request at `blockGPA`; returns the trace note, or throws when the
    /// block itself is unusable (the run then ends with an error).
    func handle(blockGPA: UInt64) throws(Refused) -> String {
        guard blockGPA % 8 == 0 else { throw Refused(why: "VM control block at 0x\(String(blockGPA, radix: 16)) is not 8-aligned") }
        let b = try words(blockGPA, Self.blockSize)
        let what = LittleEndian.u32(b, 0), reasons = LittleEndian.u32(b, 4), flags = LittleEndian.u32(b, 8)
        let count = LittleEndian.u32(b, 12), hypercalls = LittleEndian.u32(b, 16), rangesGPA = LittleEndian.u32(b, 24)
        guard what & ~7 == 0 else { throw Refused(why: "VM control block: unknown request bits 0x\(String(what, radix: 16))") }
        var filter = MSRFilter(flags: flags)
        if what & 2 != 0 {
            guard count <= UInt32(MSRFilter.maximumRanges) else { throw Refused(why: "VM control block: \(count) filter ranges (at most 16)") }
            let r = try words(UInt64(rangesGPA), Int(count) * Self.rangeSize)
            for i in 0..<Int(count) {
                let o = i * Self.rangeSize
                var range = MSRFilter.Range(flags: LittleEndian.u32(r, o), base: LittleEndian.u32(r, o + 4), nmsrs: LittleEndian.u32(r, o + 8), bitmap: [])
                // KVM reads the bitmap only for sizes it accepts; a larger range is refused unread.
                if range.nmsrs != 0 && range.kernelBitmapBytes <= MSRFilter.maximumBitmapBytes {
                    range.bitmap = try words(UInt64(LittleEndian.u32(r, o + 12)), range.kernelBitmapBytes)
                }
                filter.ranges.append(range)
            }
        }
        var result: Int32 = 0
        var done: [String] = []
        func attempt(_ name: String, _ body: () throws(KVMError) -> Void) {
            guard result == 0 else { return }
            do { try body(); done.append(name) } catch { result = -error.errno; done.append("\(name) \(Errno.name(error.errno))") }
        }
        if what & 1 != 0 {
            attempt("user-space MSR 0x\(String(reasons, radix: 16))") { () throws(KVMError) in
                try vm.enableCap(EnableCap(.x86UserSpaceMsr, args: [UInt64(reasons)]))
                userSpaceMSRReasons = reasons
            }
        }
        if what & 2 != 0 {
            attempt("MSR filter (\(count) ranges, flags \(flags))") { () throws(KVMError) in
                try vm.setMSRFilter(filter)
                self.filter = filter
            }
        }
        if what & 4 != 0 {
            attempt("exit hypercall 0x\(String(hypercalls, radix: 16))") { () throws(KVMError) in
                try vm.enableCap(EnableCap(.exitHypercall, args: [UInt64(hypercalls)]))
                hypercallMask = hypercalls
            }
        }
        _ = ram.write(LittleEndian.bytes(UInt32(bitPattern: result)), at: Int(blockGPA) + 20)
        return "VM control: " + done.joined(separator: ", ")
    }

    /// Migration: what the payload had KVM accept, set again on the new VM.
    func apply(to next: any VirtualMachine, ram newRAM: GuestMemory) throws(KVMError) {
        if let r = userSpaceMSRReasons { try next.enableCap(EnableCap(.x86UserSpaceMsr, args: [UInt64(r)])) }
        if let f = filter { try next.setMSRFilter(f) }
        if let m = hypercallMask { try next.enableCap(EnableCap(.exitHypercall, args: [UInt64(m)])) }
        vm = next
        ram = newRAM
    }

    /// The answer to KVM_EXIT_X86_RDMSR: (msr.error, msr.data).
    func read(index: UInt32) -> (error: Bool, data: UInt64) {
        guard let v = values[index] else { return (true, 0) }
        return (false, v)
    }

    /// The answer to KVM_EXIT_X86_WRMSR: msr.error.
    func write(index: UInt32, data: UInt64) throws(Refused) -> Bool {
        if data >> 32 == Self.refusedHigh { return true }
        guard values[index] != nil || values.count < Self.maximumMSRs else {
            throw Refused(why: "more than \(Self.maximumMSRs) MSR indices written to userspace")
        }
        values[index] = data
        return false
    }

    static func latch(reason: UInt32, index: UInt32) -> UInt32 { reason << 24 | index & 0xFF_FFFF }
    static func latch(nr: UInt64, longMode: Bool) -> UInt32 { (longMode ? 1 << 31 : 0) | UInt32(truncatingIfNeeded: nr) & 0x7FFF_FFFF }
    static func ret(_ args: [UInt64]) -> UInt64 { args.prefix(3).reduce(0, &+) }
}
