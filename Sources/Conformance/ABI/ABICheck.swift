import KVMABI

/// One check of the KVM ioctl ABI (`kvm-unit abi`): a misuse or a rule, what Linux 6.1
/// answers (read from the source named in `citation`, never from a run), and how to ask a
/// backend. Checks of rules whose limits moved between kernels compare a backend with what
/// it reports itself (KVM_CHECK_EXTENSION), not with 6.1's number.
public struct ABICheck: Sendable {
    /// `area.name`, stable: known-divergence entries use it (`abi=memslot.misaligned_gpa`).
    public let name: String
    /// What is checked, one line.
    public let title: String
    /// File and function of Linux 6.1 that defines the answer.
    public let citation: String
    public let expected: ABIAnswer
    /// Asks `hypervisor`; creates and closes whatever VMs it needs. Closures are fine here:
    /// one call per check, nowhere near an instruction loop.
    let ask: @Sendable (any Hypervisor) -> ABIAnswer

    init(_ name: String, _ title: String, cite citation: String, expect expected: ABIAnswer,
         ask: @escaping @Sendable (any Hypervisor) -> ABIAnswer) {
        self.name = name; self.title = title; self.citation = citation; self.expected = expected; self.ask = ask
    }

    public func run(on hypervisor: any Hypervisor) -> ABIAnswer { ask(hypervisor) }

    /// A check with a made-up answer, for tests of the judging and the report lines.
    public static func forTesting(_ name: String, expect: ABIAnswer, ask: @escaping @Sendable (any Hypervisor) -> ABIAnswer) -> ABICheck {
        ABICheck(name, "a test check", cite: "test.c test_function", expect: expect, ask: ask)
    }
}

/// What an ioctl answered: success, an errno, or a value the check reads (a count, a size).
public enum ABIAnswer: Equatable, Sendable, CustomStringConvertible {
    case ok
    case errno(Int32)
    case value(Int)
    /// Several fields in one line (`KVM_EXIT_IO out size 1 port 0x10 count 1 data 42`).
    case text(String)
    /// The check could not get as far as its question (setup failed): never equal to an answer.
    case setupFailed(String)

    /// A 64-bit value from a backend (never traps, whatever the backend returns).
    static func bits<T: BinaryInteger>(_ v: T) -> ABIAnswer { .value(Int(truncatingIfNeeded: v)) }

    public var description: String {
        switch self {
        case .ok: "0 (success)"
        case .errno(let e): Errno.name(e)
        case .value(let v): String(v)
        case .text(let t): t
        case .setupFailed(let why): "setup failed: \(why)"
        }
    }
}

/// Helpers for check bodies.
enum Ask {
    /// The answer of one ioctl call.
    static func call(_ body: () throws(KVMError) -> Void) -> ABIAnswer {
        do { try body(); return .ok } catch { return .errno(error.errno) }
    }

    /// A fresh VM for `body`, closed afterwards; a VM that cannot be created is a setup failure.
    static func withVM(_ hypervisor: any Hypervisor, _ body: (any VirtualMachine) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        let vm: any VirtualMachine
        do { vm = try hypervisor.createVM() } catch { return .setupFailed("\(error)") }
        defer { vm.close() }
        do { return try body(vm) } catch { return .setupFailed("\(error)") }
    }

    /// A VM with `bytes` of RAM in slot 0 at GPA 0 and vCPU 0 (CPUID from
    /// KVM_GET_SUPPORTED_CPUID), in real mode at 0x1000 on a HLT.
    static func withVCPU(_ hypervisor: any Hypervisor, ram bytes: Int = 0x10000, irqchip: Bool = false,
                         _ body: (any VirtualMachine, any VirtualCPU, GuestMemory) throws(KVMError) -> ABIAnswer) -> ABIAnswer {
        withVM(hypervisor) { vm throws(KVMError) in
            if irqchip { try vm.createIRQChip() }
            let ram = try vm.allocateGuestMemory(size: bytes)
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(bytes),
                                                    userspaceAddress: ram.hostAddress))
            let vcpu = try vm.createVCPU(id: 0)
            try vcpu.setCPUID(hypervisor.supportedCPUID())
            _ = ram.write([0xF4], at: 0x1000)
            var s = try vcpu.sregs()
            s.cs = .realMode(selector: 0, code: true)
            try vcpu.setSregs(s)
            var r = Regs()
            r.rip = 0x1000
            r.rflags = 2
            try vcpu.setRegs(r)
            return try body(vm, vcpu, ram)
        }
    }
}
