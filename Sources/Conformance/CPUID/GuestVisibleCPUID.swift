import GuestPayloads
import KVMABI

/// What a guest really reads with CPUID on one backend, against the KVM_SET_CPUID2 table it
/// was given. On KVM on VMX they are the same at every privilege level: CPUID always exits
/// and kvm_emulate_cpuid answers from the table (SDM Vol. 3C 25.1.2; Linux 6.1
/// arch/x86/kvm/cpuid.c kvm_cpuid). A backend that runs guest code natively may answer from
/// the host CPU, and then payloads that SKIP on an absent feature take other branches.
///
/// Measured once per run by running `exits.cpuid_cpl_same` (guests/exits/cpuid_cpl_same.asm),
/// which stores what it read at CPL0 and at CPL3 at GPA 0x100000.
public struct GuestVisibleCPUID: Sendable, Equatable {
    /// One register that the guest read differently from the table.
    public struct Difference: Sendable, Equatable, Codable {
        public var function: UInt32
        public var index: UInt32
        /// 0..3 = EAX..EDX.
        public var register: Int
        /// 0 or 3.
        public var cpl: Int
        /// The table's value (after the bits KVM keeps up to date at run time are masked).
        public var table: UInt32
        public var seen: UInt32

        /// `0x1.ecx`, `0x7.0.ebx`: the WHAT of a `cpuid` known-divergence entry.
        public var key: String {
            let leaf = "0x" + String(function, radix: 16)
            let reg = ["eax", "ebx", "ecx", "edx"][register]
            return GuestVisibleCPUID.hasSubleaves(function) ? "\(leaf).\(index).\(reg)" : "\(leaf).\(reg)"
        }
        /// `CPL3 0x1.ecx = 0xfffa3203 (table 0x81202000)`
        public var description: String {
            "CPL\(cpl) \(key) = 0x\(String(seen, radix: 16)) (table 0x\(String(table, radix: 16)))"
        }
    }

    /// The backend (`kvm`, `ref`) and its implementation (`kvm_pvm`, `ref`).
    public var backend: String
    public var implementation: String
    /// Leaves read (at both CPLs).
    public var leavesRead: Int
    public var differences: [Difference]
    /// Why nothing could be measured (the probe did not run to its end), if so.
    public var failure: String?

    /// Leaves whose sub-leaf matters in `key`.
    static func hasSubleaves(_ function: UInt32) -> Bool { [4, 7, 0xB, 0xD, 0xF, 0x10, 0x12, 0x14, 0x1F].contains(function) }

    /// Where the probe leaves its results (guests/exits/cpuid_cpl_same.asm).
    static let resultsAddress = 0x10_0000
    static let magic: UInt32 = 0x4449_5043   // 'CPID' as nasm stores the string in a dword
    static let probeName = "exits.cpuid_cpl_same"

    /// Bits KVM itself keeps in step with guest state, so they may differ from the table
    /// without any fault (cpuid.c kvm_update_cpuid_runtime): CPUID.1:EDX.APIC follows
    /// IA32_APIC_BASE.EN, CPUID.1:ECX.OSXSAVE follows CR4.OSXSAVE, CPUID.7.0:ECX.OSPKE
    /// follows CR4.PKE, and CPUID.0DH.0/1:EBX are the XSAVE sizes for the current XCR0/XSS.
    static func runtimeMask(function: UInt32, index: UInt32, register: Int) -> UInt32 {
        switch (function, index, register) {
        case (1, _, 3): ~(UInt32(1) << 9)
        case (1, _, 2): ~(UInt32(1) << 27)
        case (7, 0, 2): ~(UInt32(1) << 4)
        case (0xD, 0, 1), (0xD, 1, 1): 0
        default: 0xFFFF_FFFF
        }
    }

    /// Runs the probe on `hypervisor` with `table` (nil: the backend's own supported table,
    /// as a single-backend run gives it).
    public static func measure(on hypervisor: any Hypervisor, backend: String, table: [CPUIDEntry]?) -> GuestVisibleCPUID {
        var result = GuestVisibleCPUID(backend: backend, implementation: hypervisor.identity.implementation,
                                       leavesRead: 0, differences: [], failure: nil)
        guard let probe = Catalogue.named(probeName) else {
            result.failure = "the catalogue has no \(probeName)"
            return result
        }
        let loaded: LoadedPayload
        do { loaded = try LoadedPayload(probe, on: hypervisor, cpuid: table) } catch {
            result.failure = "\(probeName) could not be set up: \(error)"
            return result
        }
        defer { loaded.vm.close() }
        let outcome = PayloadRunner(loaded).run()
        // The table as the loader gave it (the APIC ID byte cleared), to compare against.
        var given = table ?? []
        if given.isEmpty { given = (try? hypervisor.supportedCPUID()) ?? [] }
        for i in given.indices where given[i].function == 1 { given[i].ebx &= 0x00FF_FFFF }

        let bytes = loaded.ram.read(at: resultsAddress, count: 16)
        let word = { (b: [UInt8], at: Int) -> UInt32 in
            UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
        }
        guard bytes.count == 16, word(bytes, 0) == magic else {
            result.failure = "\(probeName) ended (\(outcome.end)) without storing its results"
            return result
        }
        let count = Int(min(word(bytes, 4), 64))
        let records = loaded.ram.read(at: resultsAddress + 16, count: count * 40)
        guard records.count == count * 40 else { result.failure = "short results"; return result }
        result.leavesRead = count
        for r in 0..<count {
            let base = r * 40
            let function = word(records, base), index = word(records, base + 4)
            guard let entry = given.first(where: {
                $0.function == function && ($0.flags & CPUIDEntry.significantIndex == 0 || $0.index == index)
            }) else { continue }   // a leaf the table lacks: kvm_cpuid's out-of-range rule, not compared
            for cpl in [0, 3] {
                for register in 0..<4 {
                    let mask = runtimeMask(function: function, index: index, register: register)
                    let seen = word(records, base + 8 + (cpl == 0 ? 0 : 16) + 4 * register)
                    if seen & mask != entry[register] & mask {
                        result.differences.append(Difference(function: function, index: index, register: register, cpl: cpl,
                                                             table: entry[register], seen: seen))
                    }
                }
            }
        }
        return result
    }

    /// The known-divergence entry (scope `cpuid`) that records `d` for this implementation.
    /// WHAT is `*`, a CPL (`cpl3`), a register key (`0x1.ecx`) or both (`cpl3:0x1.ecx`).
    public func entry(for d: Difference, in table: KnownDivergences) -> KnownDivergences.Entry? {
        table.cpuidEntries(implementation: implementation).first { e in
            switch e.what {
            case .whole: true
            case .detail(let s): s == d.key || s == "cpl\(d.cpl)" || s == "cpl\(d.cpl):\(d.key)"
            default: false
            }
        }
    }

    /// Differences no entry records.
    public func unrecorded(_ table: KnownDivergences) -> [Difference] {
        differences.filter { entry(for: $0, in: table) == nil }
    }

    /// The identity-header lines: that the guest sees the table, or every difference, with
    /// the entry that records it or DIVERGE.
    public func headerLines(_ table: KnownDivergences) -> [String] {
        let prefix = "kvm-unit: backend \(backend): guest-visible CPUID"
        if let failure { return ["\(prefix) not measured: \(failure)"] }
        if differences.isEmpty {
            return ["\(prefix) = the KVM_SET_CPUID2 table (\(leavesRead) leaves read at CPL0 and CPL3)"]
        }
        var lines = ["\(prefix) differs from the KVM_SET_CPUID2 table in \(differences.count) registers (\(leavesRead) leaves read at CPL0 and CPL3):"]
        // One line per known-divergence entry (its reason once), then the unrecorded ones.
        var groups: [(entry: KnownDivergences.Entry?, differences: [Difference])] = []
        for d in differences {
            let e = entry(for: d, in: table)
            if let i = groups.firstIndex(where: { $0.entry == e }) { groups[i].differences.append(d) } else { groups.append((e, [d])) }
        }
        for g in groups {
            let list = g.differences.map(\.description).joined(separator: ", ")
            if let e = g.entry {
                lines.append("  XDIVERGE \(list) [known divergence of \(implementation) (\(e.scope) \(e.what)): \(e.reason)]")
            } else {
                lines.append("  DIVERGE \(list) [not recorded for \(implementation)]")
            }
        }
        return lines
    }

    /// A short account for the lines of payloads that may have been led astray: `kvm: CPL3
    /// 0x1.ecx = ..., ...` (at most three, those at the payload's own CPL first, then a count).
    func summary(cplFirst cpl: Int) -> String {
        let ordered = differences.filter { $0.cpl == cpl } + differences.filter { $0.cpl != cpl }
        let shown = ordered.prefix(3).map(\.description).joined(separator: ", ")
        let more = differences.count > 3 ? " and \(differences.count - 3) more" : ""
        return "\(backend): \(shown)\(more)"
    }
}

extension GuestVisibleCPUID {
    /// Whether `payload`'s guest could have read a register that differs here: it executes
    /// CPUID (0F A2 in its image), at a CPL where a difference was seen (user64 payloads
    /// run at CPL3 after their CPL0 boot; the other modes at CPL0).
    public func mayHaveMisled(_ payload: Payload) -> Bool {
        guard !differences.isEmpty else { return false }
        let image = payload.image
        var executesCPUID = false
        var i = 0
        while i + 1 < image.count {
            if image[i] == 0x0F && image[i + 1] == 0xA2 { executesCPUID = true; break }
            i += 1
        }
        guard executesCPUID else { return false }
        let cpls: Set<Int> = payload.header.mode == .user64 ? [0, 3] : [0]
        return differences.contains { cpls.contains($0.cpl) }
    }
}
