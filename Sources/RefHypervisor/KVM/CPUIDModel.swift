import KVMABI

/// The CPUID the engine implements (KVM_GET_SUPPORTED_CPUID) and a vCPU's table
/// (KVM_SET_CPUID2) with kvm_cpuid()'s lookup rules.
struct CPUIDModel {
    var entries: [CPUIDEntry] = []

    /// kvm_vcpu_reset: RDX = CPUID.1:EAX if set, else 0x600.
    var resetEDX: UInt64 {
        if let e = entries.first(where: { $0.function == 1 }) { return UInt64(e.eax) }
        return 0x600
    }

    private func find(_ fn: UInt32, _ idx: UInt32) -> CPUIDEntry? {
        entries.first { $0.function == fn && ($0.flags & CPUIDEntry.significantIndex == 0 || $0.index == idx) }
    }

    /// kvm_cpuid: exact entry, else Intel's out-of-range rule (the highest basic leaf), else zeros.
    func lookup(_ fn: UInt32, _ idx: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        if let e = find(fn, idx) { return (e.eax, e.ebx, e.ecx, e.edx) }
        if let basic = find(0, 0) {
            var classLeaf: UInt32 = fn & 0x8000_0000
            if fn >= 0xC000_0000 { classLeaf = 0xC000_0000 }
            if fn >= 0x4000_0000 && fn <= 0x4FFF_FFFF { classLeaf = 0x4000_0000 }
            let cls = find(classLeaf, 0)
            if cls == nil || fn > cls!.eax {
                if let e = find(basic.eax, idx) { return (e.eax, e.ebx, e.ecx, e.edx) }
            }
        }
        return (0, 0, 0, 0)
    }

    /// CPUID.0DH EBX as kvm_update_cpuid_runtime keeps it (Linux 6.1 cpuid.c): sub-leaf 0 is the
    /// standard-format XSAVE area size for the current XCR0, sub-leaf 1 (when it reports XSAVEC
    /// or XSAVES) the compacted size; xstate_required_size: 576 (legacy area + header), then
    /// for each enabled feature i >= 2 the end of its component (sub-leaf i: EAX size, EBX
    /// offset; compacted: components packed in order, ECX[1] = 64-byte aligned).
    /// SDM Vol. 1 13.2 / Vol. 2A CPUID leaf 0DH. nil when the table has no such entry.
    func xsaveAreaSize(xcr0: UInt64, subleaf: UInt32) -> UInt32? {
        guard let entry = find(0xD, subleaf) else { return nil }
        let compacted = subleaf == 1
        if compacted && entry.eax & ((1 << 1) | (1 << 3)) == 0 { return nil }
        var size: UInt32 = 576
        var bits = xcr0 & ~3
        while bits != 0 {
            let i = UInt32(bits.trailingZeroBitCount)
            bits &= bits - 1
            let c = lookup(0xD, i)
            let offset = compacted ? (c.2 & 2 != 0 ? (size + 63) & ~63 : size) : c.1
            size = max(size, offset &+ c.0)
        }
        return size
    }

    static func regs(_ s: String) -> [UInt32] {
        var b = Array(s.utf8)
        while b.count % 4 != 0 { b.append(0) }
        var out: [UInt32] = []
        var i = 0
        while i < b.count {
            var w = UInt32(b[i])
            w |= UInt32(b[i + 1]) << 8
            w |= UInt32(b[i + 2]) << 16
            w |= UInt32(b[i + 3]) << 24
            out.append(w)
            i += 4
        }
        return out
    }

    /// The engine's CPU: GenuineIntel family 6, integer ISA with the features it implements.
    static let supported: [CPUIDEntry] = {
        let v = regs("GenuineIntel")      // EBX EDX ECX order: "Genu" "ineI" "ntel"
        var e: [CPUIDEntry] = []
        e.append(CPUIDEntry(function: 0, eax: 7, ebx: v[0], ecx: v[2], edx: v[1]))
        // EDX: DE PSE TSC MSR PAE MCE CX8 APIC SEP MTRR PGE CMOV PAT PSE36 CLFSH
        let edx1: UInt32 = (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9)
            | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 15) | (1 << 16) | (1 << 17) | (1 << 19)
        // ECX: CX16 x2APIC MOVBE POPCNT TSC-deadline HYPERVISOR
        let ecx1: UInt32 = (1 << 13) | (1 << 21) | (1 << 22) | (1 << 23) | (1 << 24) | (1 << 31)
        e.append(CPUIDEntry(function: 1, eax: 0x0005_0654, ebx: 0x0000_0800, ecx: ecx1, edx: edx1))
        e.append(CPUIDEntry(function: 7, index: 0, flags: CPUIDEntry.significantIndex,
                            eax: 0, ebx: (1 << 7) | (1 << 9), ecx: 0, edx: 0))   // SMEP ERMS
        e.append(CPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001,
                            ebx: regs("KVMKVMKVM\0\0\0")[0], ecx: regs("KVMKVMKVM\0\0\0")[1], edx: regs("KVMKVMKVM\0\0\0")[2]))
        e.append(CPUIDEntry(function: 0x4000_0001, eax: 0, ebx: 0, ecx: 0, edx: 0))
        e.append(CPUIDEntry(function: 0x8000_0000, eax: 0x8000_0008, ebx: 0, ecx: 0, edx: 0))
        // ECX: LAHF/SAHF, LZCNT. EDX: SYSCALL NX PDPE1GB RDTSCP LM
        e.append(CPUIDEntry(function: 0x8000_0001, eax: 0, ebx: 0, ecx: (1 << 0) | (1 << 5),
                            edx: (1 << 11) | (1 << 20) | (1 << 26) | (1 << 27) | (1 << 29)))
        let brand = regs("RefHypervisor virtual CPU" + String(repeating: "\0", count: 48 - 25))
        for i in 0..<3 {
            e.append(CPUIDEntry(function: 0x8000_0002 + UInt32(i), eax: brand[4 * i], ebx: brand[4 * i + 1],
                                ecx: brand[4 * i + 2], edx: brand[4 * i + 3]))
        }
        e.append(CPUIDEntry(function: 0x8000_0008, eax: 0x302E, ebx: 0, ecx: 0, edx: 0))   // 46 physical, 48 linear bits
        return e
    }()
}
