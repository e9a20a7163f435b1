import CKVM
import Testing

/// Swift's import of linux/kvm.h sees the same sizes and offsets as the C compiler
/// (ckvm_layout, itself checked against the x86-64 ABI by Tests/c/run.sh).
/// No /dev/kvm needed.
@Suite("Layout: Swift's import of linux/kvm.h matches C")
struct LayoutTests {
    /// ckvm_layout(name), or nil when the shim does not know the name: it returns (size_t)-1,
    /// which Swift sees as -1 (size_t imports as Int).
    static func c(_ name: String) -> Int? {
        let value = ckvm_layout(name)
        return value == -1 ? nil : value
    }

    static func expectSize<T>(_ type: T.Type, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let cValue = c(name)
        #expect(cValue != nil, "ckvm_layout does not know \"\(name)\"", sourceLocation: sourceLocation)
        #expect(MemoryLayout<T>.size == cValue, "\(name): Swift \(MemoryLayout<T>.size), C \(String(describing: cValue))",
                sourceLocation: sourceLocation)
    }

    static func expectOffset<T>(_ keyPath: PartialKeyPath<T>, _ name: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let cValue = c(name)
        let swiftValue = MemoryLayout<T>.offset(of: keyPath)
        #expect(cValue != nil, "ckvm_layout does not know \"\(name)\"", sourceLocation: sourceLocation)
        #expect(swiftValue != nil, "\(name) is not a stored property in Swift", sourceLocation: sourceLocation)
        #expect(swiftValue == cValue,
                "\(name): Swift \(String(describing: swiftValue)), C \(String(describing: cValue))",
                sourceLocation: sourceLocation)
    }

    @Test("the shim's table answers unknown names with (size_t)-1")
    func unknownName() {
        #expect(ckvm_layout("kvm_run.no_such_field") == -1)
        #expect(Self.c("kvm_run.no_such_field") == nil)
        #expect(Self.c("sizeof(struct kvm_run)") != nil)
    }

    @Test("struct kvm_run: size and stored fields")
    func kvmRunStored() {
        Self.expectSize(kvm_run.self, "sizeof(struct kvm_run)")
        #expect(MemoryLayout<kvm_run>.alignment == 8)
        Self.expectOffset(\kvm_run.request_interrupt_window, "kvm_run.request_interrupt_window")
        Self.expectOffset(\kvm_run.immediate_exit, "kvm_run.immediate_exit")
        Self.expectOffset(\kvm_run.exit_reason, "kvm_run.exit_reason")
        Self.expectOffset(\kvm_run.ready_for_interrupt_injection, "kvm_run.ready_for_interrupt_injection")
        Self.expectOffset(\kvm_run.if_flag, "kvm_run.if_flag")
    }

    @Test("struct kvm_regs")
    func kvmRegs() {
        Self.expectSize(kvm_regs.self, "sizeof(struct kvm_regs)")
        Self.expectOffset(\kvm_regs.rip, "kvm_regs.rip")
        Self.expectOffset(\kvm_regs.rflags, "kvm_regs.rflags")
    }

    @Test("struct kvm_sregs")
    func kvmSregs() {
        Self.expectSize(kvm_sregs.self, "sizeof(struct kvm_sregs)")
        Self.expectOffset(\kvm_sregs.tr, "kvm_sregs.tr")
        Self.expectOffset(\kvm_sregs.gdt, "kvm_sregs.gdt")
        Self.expectOffset(\kvm_sregs.cr0, "kvm_sregs.cr0")
        Self.expectOffset(\kvm_sregs.efer, "kvm_sregs.efer")
        Self.expectOffset(\kvm_sregs.apic_base, "kvm_sregs.apic_base")
        Self.expectOffset(\kvm_sregs.interrupt_bitmap, "kvm_sregs.interrupt_bitmap")
        #expect(MemoryLayout.size(ofValue: kvm_sregs().interrupt_bitmap) == 4 * 8)   // (256 + 63) / 64 words
    }

    @Test("struct kvm_segment")
    func kvmSegment() {
        Self.expectSize(kvm_segment.self, "sizeof(struct kvm_segment)")
        Self.expectOffset(\kvm_segment.limit, "kvm_segment.limit")
        Self.expectOffset(\kvm_segment.selector, "kvm_segment.selector")
        Self.expectOffset(\kvm_segment.type, "kvm_segment.type")
        Self.expectOffset(\kvm_segment.unusable, "kvm_segment.unusable")
    }

    @Test("struct kvm_vcpu_events")
    func kvmVcpuEvents() {
        Self.expectSize(kvm_vcpu_events.self, "sizeof(struct kvm_vcpu_events)")
        Self.expectOffset(\kvm_vcpu_events.interrupt, "kvm_vcpu_events.interrupt")
        Self.expectOffset(\kvm_vcpu_events.nmi, "kvm_vcpu_events.nmi")
        Self.expectOffset(\kvm_vcpu_events.sipi_vector, "kvm_vcpu_events.sipi_vector")
        Self.expectOffset(\kvm_vcpu_events.flags, "kvm_vcpu_events.flags")
        Self.expectOffset(\kvm_vcpu_events.smi, "kvm_vcpu_events.smi")
        Self.expectOffset(\kvm_vcpu_events.triple_fault, "kvm_vcpu_events.triple_fault")
    }

    // --- the anonymous exit union: offset(of:) sees only computed properties there, so each
    // member is checked through memory, both ways, in a zeroed kvm_run-sized buffer:
    //   1. `value` stored at the C offset reads back through Swift's field;
    //   2. `value` set through Swift's field lands at the C offset, and nowhere else.

    static func expectUnionField<T: FixedWidthInteger>(
        _ name: String, plus extra: Int = 0, _ value: T,
        get: (kvm_run) -> T, set: (inout kvm_run, T) -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let base = c(name), let size = c("sizeof(struct kvm_run)") else {
            Issue.record("ckvm_layout does not know \"\(name)\"", sourceLocation: sourceLocation)
            return
        }
        let offset = base + extra
        let label = extra == 0 ? name : "\(name) + \(extra)"
        #expect(MemoryLayout<kvm_run>.size == size, sourceLocation: sourceLocation)
        #expect(offset + MemoryLayout<T>.size <= size, "\(label) is outside kvm_run", sourceLocation: sourceLocation)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(size, MemoryLayout<kvm_run>.size),
                                                      alignment: MemoryLayout<kvm_run>.alignment)
        defer { buffer.deallocate() }
        let bytes = UnsafeMutableRawBufferPointer(start: buffer, count: max(size, MemoryLayout<kvm_run>.size))
        let run = buffer.bindMemory(to: kvm_run.self, capacity: 1)

        // 1. C offset -> Swift field.
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        buffer.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        let read = get(run.pointee)
        #expect(read == value, "\(label): wrote \(hex(value)) at C offset \(offset), Swift read \(hex(read))",
                sourceLocation: sourceLocation)

        // 2. Swift field -> C offset, touching nothing else.
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        set(&run.pointee, value)
        let atOffset = T(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
        #expect(atOffset == value, "\(label): Swift wrote \(hex(value)), C offset \(offset) holds \(hex(atOffset))",
                sourceLocation: sourceLocation)
        let stray = bytes.indices.filter { ($0 < offset || $0 >= offset + MemoryLayout<T>.size) && bytes[$0] != 0 }
        #expect(stray.isEmpty, "\(label): Swift's write also changed bytes at \(stray)", sourceLocation: sourceLocation)
    }

    static func hex<T: FixedWidthInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }

    @Test("kvm_run.io through the anonymous union")
    func kvmRunIO() {
        #expect(Self.c("kvm_run.io") == Self.c("kvm_run.io.direction"))
        Self.expectUnionField("kvm_run.io.direction", UInt8(0x5A),
                              get: { $0.io.direction }, set: { $0.io.direction = $1 })
        Self.expectUnionField("kvm_run.io.size", UInt8(0xA5),
                              get: { $0.io.size }, set: { $0.io.size = $1 })
        Self.expectUnionField("kvm_run.io.port", UInt16(0x1234),
                              get: { $0.io.port }, set: { $0.io.port = $1 })
        Self.expectUnionField("kvm_run.io.count", UInt32(0x8765_4321),
                              get: { $0.io.count }, set: { $0.io.count = $1 })
        Self.expectUnionField("kvm_run.io.data_offset", UInt64(0x1122_3344_5566_7788),
                              get: { $0.io.data_offset }, set: { $0.io.data_offset = $1 })
    }

    @Test("kvm_run.mmio through the anonymous union")
    func kvmRunMMIO() {
        #expect(Self.c("kvm_run.mmio") == Self.c("kvm_run.mmio.phys_addr"))
        Self.expectUnionField("kvm_run.mmio.phys_addr", UInt64(0xFEE0_0000_DEAD_B000),
                              get: { $0.mmio.phys_addr }, set: { $0.mmio.phys_addr = $1 })
        Self.expectUnionField("kvm_run.mmio.data", UInt8(0xC3),
                              get: { $0.mmio.data.0 }, set: { $0.mmio.data.0 = $1 })
        Self.expectUnionField("kvm_run.mmio.data", plus: 7, UInt8(0x3C),
                              get: { $0.mmio.data.7 }, set: { $0.mmio.data.7 = $1 })
        Self.expectUnionField("kvm_run.mmio.len", UInt32(0x0BAD_F00D),
                              get: { $0.mmio.len }, set: { $0.mmio.len = $1 })
        Self.expectUnionField("kvm_run.mmio.is_write", UInt8(0x81),
                              get: { $0.mmio.is_write }, set: { $0.mmio.is_write = $1 })
    }

    @Test("kvm_run.internal through the anonymous union")
    func kvmRunInternal() {
        #expect(Self.c("kvm_run.internal") == Self.c("kvm_run.internal.suberror"))
        Self.expectUnionField("kvm_run.internal.suberror", UInt32(0xC0DE_0001),
                              get: { $0.internal.suberror }, set: { $0.internal.suberror = $1 })
        Self.expectUnionField("kvm_run.internal.ndata", UInt32(0x0000_BEEF),
                              get: { $0.internal.ndata }, set: { $0.internal.ndata = $1 })
        Self.expectUnionField("kvm_run.internal.data", UInt64(0x0102_0304_0506_0708),
                              get: { $0.internal.data.0 }, set: { $0.internal.data.0 = $1 })
        Self.expectUnionField("kvm_run.internal.data", plus: 15 * 8, UInt64(0xF0E0_D0C0_B0A0_9080),
                              get: { $0.internal.data.15 }, set: { $0.internal.data.15 = $1 })
    }
}
