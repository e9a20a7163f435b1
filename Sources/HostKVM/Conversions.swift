import CKVM
import KVMABI

// Field-by-field conversion between the KVMABI value types and linux/kvm.h structs.
// Done by name, never by reinterpreting memory, so a layout change shows up as a compile
// error here rather than as silently wrong registers.

extension Regs {
    init(_ r: kvm_regs) {
        self.init()
        rax = r.rax; rbx = r.rbx; rcx = r.rcx; rdx = r.rdx
        rsi = r.rsi; rdi = r.rdi; rsp = r.rsp; rbp = r.rbp
        r8 = r.r8; r9 = r.r9; r10 = r.r10; r11 = r.r11
        r12 = r.r12; r13 = r.r13; r14 = r.r14; r15 = r.r15
        rip = r.rip; rflags = r.rflags
    }
    var c: kvm_regs {
        kvm_regs(rax: rax, rbx: rbx, rcx: rcx, rdx: rdx, rsi: rsi, rdi: rdi, rsp: rsp, rbp: rbp,
                 r8: r8, r9: r9, r10: r10, r11: r11, r12: r12, r13: r13, r14: r14, r15: r15,
                 rip: rip, rflags: rflags)
    }
}

extension Segment {
    init(_ s: kvm_segment) {
        self.init(base: s.base, limit: s.limit, selector: s.selector, type: s.type, present: s.present,
                  dpl: s.dpl, db: s.db, s: s.s, l: s.l, g: s.g, avl: s.avl, unusable: s.unusable)
    }
    var c: kvm_segment {
        kvm_segment(base: base, limit: limit, selector: selector, type: type, present: present, dpl: dpl,
                    db: db, s: s, l: l, g: g, avl: avl, unusable: unusable, padding: 0)
    }
}

extension DescriptorTable {
    init(_ d: kvm_dtable) { self.init(base: d.base, limit: d.limit) }
    var c: kvm_dtable { kvm_dtable(base: base, limit: limit, padding: (0, 0, 0)) }
}

extension SpecialRegisters {
    init(_ s: kvm_sregs) {
        self.init()
        cs = Segment(s.cs); ds = Segment(s.ds); es = Segment(s.es); fs = Segment(s.fs)
        gs = Segment(s.gs); ss = Segment(s.ss); tr = Segment(s.tr); ldt = Segment(s.ldt)
        gdt = DescriptorTable(s.gdt); idt = DescriptorTable(s.idt)
        cr0 = s.cr0; cr2 = s.cr2; cr3 = s.cr3; cr4 = s.cr4; cr8 = s.cr8
        efer = s.efer; apicBase = s.apic_base
        let b = s.interrupt_bitmap
        interruptBitmap = [b.0, b.1, b.2, b.3]
    }
    var c: kvm_sregs {
        var s = kvm_sregs()
        s.cs = cs.c; s.ds = ds.c; s.es = es.c; s.fs = fs.c; s.gs = gs.c; s.ss = ss.c
        s.tr = tr.c; s.ldt = ldt.c; s.gdt = gdt.c; s.idt = idt.c
        s.cr0 = cr0; s.cr2 = cr2; s.cr3 = cr3; s.cr4 = cr4; s.cr8 = cr8
        s.efer = efer; s.apic_base = apicBase
        let b = interruptBitmap + [0, 0, 0, 0]
        s.interrupt_bitmap = (b[0], b[1], b[2], b[3])
        return s
    }
}

extension FPU {
    init(_ f: kvm_fpu) {
        self.init()
        var f = f
        fpr = withUnsafeBytes(of: &f.fpr) { Array($0) }
        xmm = withUnsafeBytes(of: &f.xmm) { Array($0) }
        fcw = f.fcw; fsw = f.fsw; ftwx = f.ftwx; lastOpcode = f.last_opcode
        lastIP = f.last_ip; lastDP = f.last_dp; mxcsr = f.mxcsr
    }
    var c: kvm_fpu {
        var f = kvm_fpu()
        withUnsafeMutableBytes(of: &f.fpr) { dst in
            fpr.prefix(dst.count).withUnsafeBytes { dst.copyMemory(from: $0) }
        }
        withUnsafeMutableBytes(of: &f.xmm) { dst in
            xmm.prefix(dst.count).withUnsafeBytes { dst.copyMemory(from: $0) }
        }
        f.fcw = fcw; f.fsw = fsw; f.ftwx = ftwx; f.last_opcode = lastOpcode
        f.last_ip = lastIP; f.last_dp = lastDP; f.mxcsr = mxcsr
        return f
    }
}

extension VCPUEvents {
    init(_ e: kvm_vcpu_events) {
        self.init()
        exception.injected = e.exception.injected; exception.nr = e.exception.nr
        exception.hasErrorCode = e.exception.has_error_code; exception.pending = e.exception.pending
        exception.errorCode = e.exception.error_code
        interrupt.injected = e.interrupt.injected; interrupt.nr = e.interrupt.nr
        interrupt.soft = e.interrupt.soft; interrupt.shadow = e.interrupt.shadow
        nmi.injected = e.nmi.injected; nmi.pending = e.nmi.pending; nmi.masked = e.nmi.masked
        sipiVector = e.sipi_vector; flags = e.flags
        smi.smm = e.smi.smm; smi.pending = e.smi.pending
        smi.smmInsideNMI = e.smi.smm_inside_nmi; smi.latchedInit = e.smi.latched_init
        tripleFaultPending = e.triple_fault.pending
        exceptionHasPayload = e.exception_has_payload; exceptionPayload = e.exception_payload
    }
    var c: kvm_vcpu_events {
        var e = kvm_vcpu_events()
        e.exception.injected = exception.injected; e.exception.nr = exception.nr
        e.exception.has_error_code = exception.hasErrorCode; e.exception.pending = exception.pending
        e.exception.error_code = exception.errorCode
        e.interrupt.injected = interrupt.injected; e.interrupt.nr = interrupt.nr
        e.interrupt.soft = interrupt.soft; e.interrupt.shadow = interrupt.shadow
        e.nmi.injected = nmi.injected; e.nmi.pending = nmi.pending; e.nmi.masked = nmi.masked
        e.sipi_vector = sipiVector; e.flags = flags
        e.smi.smm = smi.smm; e.smi.pending = smi.pending
        e.smi.smm_inside_nmi = smi.smmInsideNMI; e.smi.latched_init = smi.latchedInit
        e.triple_fault.pending = tripleFaultPending
        e.exception_has_payload = exceptionHasPayload; e.exception_payload = exceptionPayload
        return e
    }
}

extension CPUIDEntry {
    init(_ e: kvm_cpuid_entry2) {
        self.init(function: e.function, index: e.index, flags: e.flags, eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx)
    }
    var c: kvm_cpuid_entry2 {
        var e = kvm_cpuid_entry2()
        e.function = function; e.index = index; e.flags = flags
        e.eax = eax; e.ebx = ebx; e.ecx = ecx; e.edx = edx
        return e
    }
}

extension PITChannelState {
    init(_ c: kvm_pit_channel_state) {
        self.init()
        count = c.count; latchedCount = c.latched_count; countLatched = c.count_latched
        statusLatched = c.status_latched; status = c.status; readState = c.read_state
        writeState = c.write_state; writeLatch = c.write_latch; rwMode = c.rw_mode; mode = c.mode
        bcd = c.bcd; gate = c.gate; countLoadTime = c.count_load_time
    }
    var c: kvm_pit_channel_state {
        kvm_pit_channel_state(count: count, latched_count: latchedCount, count_latched: countLatched,
                              status_latched: statusLatched, status: status, read_state: readState,
                              write_state: writeState, write_latch: writeLatch, rw_mode: rwMode, mode: mode,
                              bcd: bcd, gate: gate, count_load_time: countLoadTime)
    }
}

/// A C struct with a flexible array member (`kvm_cpuid2`, `kvm_msrs`), allocated with room
/// for `count` entries and freed when the closure returns.
func withFlexibleStruct<Header, Entry, R>(_ header: Header.Type, _ entry: Entry.Type, count: Int,
                                          _ body: (UnsafeMutablePointer<Header>, UnsafeMutablePointer<Entry>) -> R) -> R {
    let size = MemoryLayout<Header>.size + MemoryLayout<Entry>.stride * max(count, 1)
    let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
    defer { raw.deallocate() }
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    let entries = (raw + MemoryLayout<Header>.size).assumingMemoryBound(to: Entry.self)
    return body(raw.assumingMemoryBound(to: Header.self), entries)
}
