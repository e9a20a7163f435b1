import Conformance
import Foundation
import Testing
import HostKVM
import KVMABI

/// Whether /dev/kvm can be opened (Backends.openHost, the harness's own check); the reason
/// shows in the test output when it cannot.
enum HostKVM {
    static var usable: Bool { GroupTesting.host.hypervisor != nil }
    static var skipReason: Comment { Comment(rawValue: GroupTesting.host.reason) }
}

/// A one-vCPU VM with `ramSize` bytes of RAM at GPA 0, CPUID set from KVM_GET_SUPPORTED_CPUID.
final class TestVM {
    let kvm: HostHypervisor
    let vm: HostVM
    let vcpu: HostVCPU
    let ram: GuestMemory

    init(ramSize: Int = 0x40_0000) throws {
        kvm = try HostHypervisor()
        vm = try kvm.createHostVM()
        ram = try vm.allocateGuestMemory(size: ramSize)
        try vm.setUserMemoryRegion(MemoryRegion(slot: 0, guestPhysicalAddress: 0, memorySize: UInt64(ramSize),
                                                userspaceAddress: ram.hostAddress))
        vcpu = try vm.createHostVCPU(id: 0)
        try vcpu.setCPUID(kvm.supportedCPUID())
    }

    /// Real mode, CS = DS = SS = 0, IP = `entry`.
    func enterRealMode(code: [UInt8], at entry: UInt64) throws {
        ram.write(code, at: Int(entry))
        var s = try vcpu.sregs()
        for keyPath: WritableKeyPath<SpecialRegisters, Segment> in [\.cs, \.ds, \.es, \.fs, \.gs, \.ss] {
            s[keyPath: keyPath] = .realMode(selector: 0, code: keyPath == \.cs)
        }
        try vcpu.setSregs(s)
        var r = Regs()
        r.rip = entry
        try vcpu.setRegs(r)
    }

    /// 64-bit mode at CPL0 with an identity map of the first 4 GiB in 1 GiB... built from
    /// 2 MiB pages: PML4 at 0x1000, PDPT at 0x2000, PDs at 0x3000 (GB 0) and 0x4000 (GB 3).
    func enterLongMode(code: [UInt8], at entry: UInt64) throws {
        ram.write(code, at: Int(entry))
        func put(_ value: UInt64, _ at: Int) { ram.write(withUnsafeBytes(of: value.littleEndian) { Array($0) }, at: at) }
        let present_rw: UInt64 = 0x3, ps: UInt64 = 0x80
        put(0x2000 | present_rw, 0x1000)            // PML4[0] -> PDPT
        put(0x3000 | present_rw, 0x2000)            // PDPT[0] -> PD for 0..1 GiB
        put(0x4000 | present_rw, 0x2000 + 3 * 8)    // PDPT[3] -> PD for 3..4 GiB
        for i in 0..<512 {
            put(UInt64(i) << 21 | present_rw | ps, 0x3000 + i * 8)
            put((3 << 30) + (UInt64(i) << 21) | present_rw | ps, 0x4000 + i * 8)
        }
        var s = try vcpu.sregs()
        s.cs = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x8, type: 0xB, l: 1, g: 1)
        let data = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x10, type: 0x3, db: 1, g: 1)
        s.ds = data; s.es = data; s.fs = data; s.gs = data; s.ss = data
        s.cr3 = 0x1000
        s.cr4 = 1 << 5                               // PAE
        s.cr0 = 0x8000_0011                          // PG | ET | PE
        s.efer = 0x500                               // LME | LMA
        try vcpu.setSregs(s)
        var r = Regs()
        r.rip = entry
        r.rsp = 0x8000
        try vcpu.setRegs(r)
    }

    func run(_ budget: RunBudget = .milliseconds(2000)) throws -> Exit { try vcpu.run(budget: budget) }
}

/// Open fds and mappings of this process, from /proc/self.
enum ProcessResources {
    static func openFDs() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }
    static func mappings() -> Int {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return -1 }
        return maps.split(separator: "\n").count
    }
}
