import KVMABI

/// The CPUID table a cross-check gives every backend: what all of them support, as a VMM
/// computes it for a migration pool, so that no guest is told of a feature one backend lacks
/// (the engine would otherwise be handed kvm_pvm's MMX, SSE2 and CLWB bits, which it does
/// not implement, and a payload that checks CPUID would take another branch on each side).
///
/// Feature words (the registers whose bits each say "this feature exists") are ANDed; the
/// highest-leaf registers take the smaller value; a leaf one backend lacks is dropped; every
/// other register (vendor, family/model, sizes, topology) comes from the first table, so
/// the guest still sees one consistent CPU.
public enum SharedCPUIDTable {
    /// A register of a leaf: (function, index or nil for "any index", register 0..3 = EAX..EDX).
    struct Word: Hashable { let function: UInt32; let index: UInt32?; let register: Int }

    /// Feature-flag words (SDM Vol. 2A, CPUID; Linux 6.1 arch/x86/kvm/cpuid.c
    /// __do_cpuid_func masks the same words with kvm_cpu_cap_mask).
    static let featureWords: Set<Word> = [
        Word(function: 1, index: nil, register: 2), Word(function: 1, index: nil, register: 3),
        Word(function: 6, index: nil, register: 0),
        Word(function: 7, index: 0, register: 1), Word(function: 7, index: 0, register: 2), Word(function: 7, index: 0, register: 3),
        Word(function: 7, index: 1, register: 0),
        Word(function: 0xD, index: 0, register: 0), Word(function: 0xD, index: 0, register: 3),   // XCR0 bits
        Word(function: 0xD, index: 1, register: 0),
        Word(function: 0x4000_0001, index: nil, register: 0),                                     // KVM_FEATURE_*
        Word(function: 0x8000_0001, index: nil, register: 2), Word(function: 0x8000_0001, index: nil, register: 3),
        Word(function: 0x8000_0007, index: nil, register: 3),
        Word(function: 0x8000_0008, index: nil, register: 1),
    ]
    /// Registers holding the highest leaf of a range (SDM: CPUID.0:EAX, 80000000H:EAX; KVM's
    /// 40000000H:EAX), and 07H.0:EAX (the highest sub-leaf of leaf 7).
    static let maximumWords: Set<Word> = [
        Word(function: 0, index: nil, register: 0), Word(function: 0x4000_0000, index: nil, register: 0),
        Word(function: 0x8000_0000, index: nil, register: 0), Word(function: 7, index: 0, register: 0),
    ]

    /// The table every backend of a cross-check gets. One table: itself.
    public static func intersection(_ tables: [[CPUIDEntry]]) -> [CPUIDEntry] {
        guard var shared = tables.first else { return [] }
        for other in tables.dropFirst() { shared = intersection(shared, other) }
        return shared
    }

    static func intersection(_ a: [CPUIDEntry], _ b: [CPUIDEntry]) -> [CPUIDEntry] {
        a.compactMap { e in
            guard let o = b.first(where: { $0.function == e.function && $0.index == e.index }) else { return nil }
            var r = e
            for register in 0..<4 {
                let key = Word(function: e.function, index: e.flags & CPUIDEntry.significantIndex != 0 ? e.index : nil,
                               register: register)
                let anyIndex = Word(function: e.function, index: nil, register: register)
                if featureWords.contains(key) || featureWords.contains(anyIndex) {
                    r[register] = e[register] & o[register]
                } else if maximumWords.contains(key) || maximumWords.contains(anyIndex) {
                    r[register] = min(e[register], o[register])
                }
            }
            return r
        }
    }
}

extension CPUIDEntry {
    /// EAX, EBX, ECX, EDX by number.
    subscript(register: Int) -> UInt32 {
        get { [eax, ebx, ecx, edx][register] }
        set {
            switch register {
            case 0: eax = newValue
            case 1: ebx = newValue
            case 2: ecx = newValue
            default: edx = newValue
            }
        }
    }
}
