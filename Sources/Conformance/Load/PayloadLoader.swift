import GuestPayloads
import KVMABI
import PayloadFormat

/// Why a payload could not be set up on a backend.
public enum LoadFailure: Error, CustomStringConvertible {
    /// The backend lacks something the payload needs: the run is a SKIP, with this reason.
    case missingCapability(String)
    /// An ioctl failed while setting up: the run is a FAIL.
    case setup(KVMError)

    public var description: String {
        switch self {
        case .missingCapability(let why): why
        case .setup(let e): "setup failed: \(e)"
        }
    }
}

/// A payload placed into a fresh VM as its header says (guests/README.md, "Loading"):
/// RAM at GPA 0 with the image at 0x8000, `rom` windows as read-only slots, the other
/// windows as userspace MMIO, the irqchip/PIT if asked, one vCPU in the entry state.
final class LoadedPayload {
    let payload: Payload
    /// The backend the VM is on (a cross-backend migration changes it).
    var hypervisor: any Hypervisor
    /// The VM, its vCPUs and its memory. A migration (`migrate(to:)`, `kvm-unit run
    /// --migrate`) replaces all of them with a new VM's, perhaps on another backend.
    var vm: any VirtualMachine
    /// vCPU ids 0..n-1 (the header's vcpu_count); vCPU 0 is the BSP.
    var vcpus: [any VirtualCPU]
    var vcpu: any VirtualCPU { vcpus[0] }
    var ram: GuestMemory
    /// Userspace MMIO windows (ram, log, absent) and the write side of rom windows.
    let windows: [MMIOWindow]
    var romMemories: [(PayloadHeader.Window, GuestMemory)]
    /// The CPUID table the vCPUs were given (before the per-vCPU APIC IDs): what a VMM
    /// gives the vCPUs of the VM it restores into.
    let cpuidTable: [CPUIDEntry]
    /// The KVM_SET_GUEST_DEBUG each vCPU has (host request 0x12): VMM state, which a
    /// migration applies again on the new vCPUs (KVM has no ioctl to read it back).
    var guestDebug: [GuestDebug?]
    /// Slots the payload adds at run time (host request 0x10).
    lazy var memslots = RuntimeMemslots(vm: vm, ram: ram)
    lazy var userspaceExits = UserspaceExits(vm: vm, ram: ram)
    /// ioeventfds, irqfds and coalesced zones the payload asks for (host request 0x13).
    lazy var eventFDs = EventFDRequests(vm: vm, ram: ram)

    /// `cpuid` replaces the backend's KVM_GET_SUPPORTED_CPUID (a cross-check gives both
    /// backends the same table).
    init(_ payload: Payload, on hypervisor: any Hypervisor, cpuid: [CPUIDEntry]? = nil) throws(LoadFailure) {
        let h = payload.header
        var needed = h.requiredCapabilities.map { Capability(rawValue: $0) }
        if h.flags.contains(.irqchip) { needed.append(.irqchip) }
        if h.flags.contains(.pit) { needed.append(.pit2) }
        if h.windows.contains(where: { $0.kind == .rom }) { needed.append(.readonlyMem) }
        for cap in needed where hypervisor.checkExtension(cap) == 0 {
            throw .missingCapability("needs \(cap.name), which \(hypervisor.identity.implementation) does not report")
        }
        self.payload = payload
        self.hypervisor = hypervisor
        do {
            vm = try hypervisor.createVM()
            if h.flags.contains(.irqchip) { try vm.createIRQChip() }
            if h.flags.contains(.pit) { try vm.createPIT2() }

            ram = try vm.allocateGuestMemory(size: Int(h.ramSize))
            ram.write(payload.image, at: Int(PayloadHeader.loadAddress))
            try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(h.ramSize),
                                                    userspaceAddress: ram.hostAddress))
            var roms: [(PayloadHeader.Window, GuestMemory)] = []
            for (i, w) in h.windows.enumerated() where w.kind == .rom {
                // Lazily backed (MAP_NORESERVE); fresh anonymous memory is already zero, so
                // only a non-zero fill touches pages. The header caps rom windows in total.
                let m = try vm.allocateGuestMemory(size: Int(w.size))
                if w.fill != 0 { m.fill(w.fill) }
                try vm.setUserMemoryRegion(MemoryRegion(slot: UInt32(1 + i), flags: .readOnly, guestPhysicalAddress: w.gpa,
                                                        memorySize: UInt64(w.size), userspaceAddress: m.hostAddress))
                roms.append((w, m))
            }
            romMemories = roms
            let written = WrittenPages()
            windows = h.windows.map { MMIOWindow($0, budget: written) }

            var cpuid = cpuid ?? []
            if cpuid.isEmpty { cpuid = try hypervisor.supportedCPUID() }
            var created: [any VirtualCPU] = []
            for id in 0..<h.vcpuCount {
                let v = try vm.createVCPU(id: UInt32(id))
                try v.setCPUID(Self.cpuid(cpuid, apicID: UInt32(id)))
                created.append(v)
            }
            vcpus = created
            cpuidTable = cpuid
            guestDebug = Array(repeating: nil, count: created.count)
            try Self.setEntryState(vcpus[0], entry: PayloadHeader.loadAddress + UInt64(h.entry))
            if let apEntry = h.apEntry {
                // v3 `ap_entry`: the harness starts the APs itself, as a VMM that boots a
                // guest without INIT/SIPI does: the entry state at ap_entry, then
                // KVM_SET_MP_STATE RUNNABLE (an AP is UNINITIALIZED until then).
                for ap in vcpus.dropFirst() {
                    try Self.setEntryState(ap, entry: PayloadHeader.loadAddress + UInt64(apEntry))
                    try ap.setMPState(.runnable)
                }
            }
            // Otherwise the APs keep their reset state: with the in-kernel irqchip they wait
            // for INIT/SIPI (kvm_vcpu_reset), which the guest's boot library sends.
        } catch {
            throw .setup(error)
        }
    }

    /// The CPUID table of the vCPU with this APIC ID (= its vCPU id, KVM's default xAPIC ID):
    /// CPUID.1:EBX[31:24] is the initial APIC ID and CPUID.0BH/1FH:EDX the x2APIC ID (SDM
    /// Vol. 3A 10.4.6, Vol. 2A CPUID); KVM reports the host CPU's there.
    static func cpuid(_ table: [CPUIDEntry], apicID: UInt32) -> [CPUIDEntry] {
        var t = table
        for i in t.indices {
            switch t[i].function {
            case 1: t[i].ebx = (t[i].ebx & 0x00FF_FFFF) | (apicID << 24)
            case 0xB, 0x1F: t[i].edx = apicID
            default: break
            }
        }
        return t
    }

    /// The documented reset-like entry state: real mode, every segment selector 0 with base 0
    /// and limit 0xFFFF, RIP at the entry point, RFLAGS 0x2, all GPRs 0, CR0 = 0x60000010.
    static func setEntryState(_ vcpu: any VirtualCPU, entry: UInt64) throws(KVMError) {
        var s = try vcpu.sregs()
        s.cs = .realMode(selector: 0, code: true)
        s.ds = .realMode(selector: 0); s.es = s.ds; s.fs = s.ds; s.gs = s.ds; s.ss = s.ds
        s.gdt = DescriptorTable(base: 0, limit: 0xFFFF)
        s.idt = DescriptorTable(base: 0, limit: 0xFFFF)
        s.cr0 = 0x6000_0010; s.cr2 = 0; s.cr3 = 0; s.cr4 = 0; s.efer = 0
        try vcpu.setSregs(s)
        var r = Regs()
        r.rip = entry
        r.rflags = 0x2
        try vcpu.setRegs(r)
    }

    /// The most instructions a payload may ask for (header `insn_budget`); larger values
    /// are cut to it (guests/README.md). 1e9 is ~5 s of the reference engine's release build
    /// and far more than any payload of the suite needs (the largest asks 2e8).
    static let maximumInstructionBudget: UInt64 = 1_000_000_000
    /// The budget of a header that says 0.
    static let defaultInstructionBudget: UInt64 = 10_000_000

    /// Instructions each KVM_RUN may retire: the header's `insn_budget`, capped.
    var instructionBudget: UInt64 {
        let b = payload.header.instructionBudget
        return b == 0 ? Self.defaultInstructionBudget : min(b, Self.maximumInstructionBudget)
    }

    /// The default wall-clock limit of a run (`kvm-unit run --timeout` overrides it): CPL0
    /// code may run through KVM's instruction emulator at ~1 MIPS, so 4 µs per budgeted
    /// instruction, at least 2 s and at most 20 s (README.md, "How a run is protected").
    var defaultTimeoutNanoseconds: UInt64 {
        min(Self.maximumDefaultTimeout, max(Self.minimumDefaultTimeout, instructionBudget &* 4_000))
    }
    static let minimumDefaultTimeout: UInt64 = 2_000_000_000
    static let maximumDefaultTimeout: UInt64 = 20_000_000_000

    /// The MMIO window an access falls in, if any (the empty case inline: an MMIO-read loop
    /// on an unbacked bus asks at every exit).
    @inline(__always) func window(containing gpa: UInt64, length: Int) -> MMIOWindow? {
        windows.isEmpty ? nil : firstWindow(containing: gpa, length: length)
    }

    @inline(never) private func firstWindow(containing gpa: UInt64, length: Int) -> MMIOWindow? {
        windows.first { $0.contains(gpa, length: length) }
    }
}
