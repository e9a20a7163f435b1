// Linear -> guest-physical translation: 32-bit, PAE and 4-level paging (SDM Vol. 3A ch. 4),
// 4K/2M/4M/1G pages, U/S, R/W, NX, CR0.WP, CR4.SMEP, accessed/dirty bits, #PF error codes.

/// The paging-structure entries one walk used (at most four: PML4E, PDPTE, PDE, PTE), all
/// of one size (8 bytes, or 4 in 32-bit paging).
struct WalkedEntries {
    private var a0: UInt64 = 0, a1: UInt64 = 0, a2: UInt64 = 0, a3: UInt64 = 0
    private var size = 8
    private(set) var count = 0

    mutating func append(_ addr: UInt64, _ size: Int) {
        switch count {
        case 0: a0 = addr
        case 1: a1 = addr
        case 2: a2 = addr
        default: a3 = addr
        }
        self.size = size
        count = min(count + 1, 4)
    }

    subscript(_ k: Int) -> (UInt64, Int) {
        switch k {
        case 0: return (a0, size)
        case 1: return (a1, size)
        case 2: return (a2, size)
        default: return (a3, size)
        }
    }
}

extension CPU {
    /// MAXPHYADDR from the guest's CPUID, as KVM takes it (cpuid.c cpuid_query_maxphyaddr):
    /// CPUID.80000008H:EAX[7:0] when leaf 80000000H reaches it, else 36. Paging-structure
    /// bits from it up to 51 are reserved (SDM Vol. 3A 4.5; KVM: reset_rsvds_bits_mask).
    /// Called whenever the vCPU's CPUID table changes.
    func updatePhysicalAddressWidth() {
        var bits: UInt64 = 36
        if let top = cpuid.entries.first(where: { $0.function == 0x8000_0000 }), top.eax >= 0x8000_0008,
           let leaf = cpuid.entries.first(where: { $0.function == 0x8000_0008 }) {
            bits = UInt64(leaf.eax & 0xFF)
        }
        maxPhysAddr = min(max(bits, 32), 52)
        physAddrMask = ((UInt64(1) << maxPhysAddr) - 1) & ~0xFFF
    }

    /// Walks the guest page tables. On success sets the A (and for writes D) bits and returns
    /// the GPA; otherwise raises #PF with CR2 = `la` (SDM Vol. 3A 4.7).
    func translate(_ la: UInt64, write: Bool, fetch: Bool, user: Bool) throws(Fault) -> UInt64 {
        lastWalkGlobal = false
        lastWalkLarge = false
        if !pagingOn { return lma ? la : la & 0xFFFF_FFFF }
        let nxe = efer & (1 << 11) != 0
        let wp = cr0 & (1 << 16) != 0
        let smep = cr4 & (1 << 20) != 0
        var rw = true, us = true, nx = false
        // Entries to mark accessed once the walk has succeeded (in locals, not an array: a
        // walk happens at every TLB miss, MMIO accesses included).
        var walked = WalkedEntries()

        func pf(_ present: Bool, rsvd: Bool = false) -> Fault {
            cr2 = la
            var code: UInt32 = present ? 1 : 0
            if write { code |= 2 }
            if user { code |= 4 }
            if rsvd { code |= 8 }
            // I/D is reported when NX or SMEP is in use (SDM Vol. 3A 4.7).
            if fetch && ((nxe && cr4 & 0x20 != 0) || smep) { code |= 16 }
            return .exception(Vec.pf, code)
        }

        let rsvdHigh: UInt64 = ~((UInt64(1) << maxPhysAddr) - 1) & 0x000F_FFFF_FFFF_FFFF
        let nxBit: UInt64 = 1 << 63
        var gpa: UInt64
        var leafAddr: UInt64
        var leafSize: Int

        @inline(__always) func checkRsvd(_ e: UInt64) -> Bool {
            (e & rsvdHigh) != 0 || (!nxe && e & nxBit != 0)
        }

        if lma || cr4 & 0x20 != 0 {
            var table: UInt64
            var level: Int
            if lma {
                table = cr3 & physAddrMask
                level = 4
            } else {
                // PAE: the PDPTE registers loaded with CR3 (SDM Vol. 3A 4.4.1); a not-present
                // one gives #PF, its reserved bits were checked at load time (#GP).
                let pdpte = pdptes[Int((la >> 30) & 3)]
                if pdpte & 1 == 0 { throw pf(false) }
                table = pdpte & physAddrMask
                level = 2
            }
            while true {
                let shift = UInt64(12 + 9 * (level - 1))
                let addr = table + ((la >> shift) & 0x1FF) * 8
                let e = try physRead(addr, 8)
                if e & 1 == 0 { throw pf(false) }
                if checkRsvd(e) { throw pf(true, rsvd: true) }
                if level == 4 && e & 0x80 != 0 { throw pf(true, rsvd: true) }   // PS reserved in PML4E
                rw = rw && e & 2 != 0
                us = us && e & 4 != 0
                nx = nx || (nxe && e & nxBit != 0)
                walked.append(addr, 8)
                if level == 1 || (e & 0x80 != 0 && level <= 3) {
                    if level == 3 {
                        if e & 0x3FFF_E000 != 0 { throw pf(true, rsvd: true) }   // 1G page: bits 29:13
                        gpa = (e & physAddrMask & ~0x3FFF_FFFF) | (la & 0x3FFF_FFFF)
                    } else if level == 2 {
                        if e & 0x1F_E000 != 0 { throw pf(true, rsvd: true) }     // 2M page: bits 20:13
                        gpa = (e & physAddrMask & ~0x1F_FFFF) | (la & 0x1F_FFFF)
                    } else {
                        gpa = (e & physAddrMask) | (la & 0xFFF)
                    }
                    leafAddr = addr; leafSize = 8
                    lastWalkGlobal = e & 0x100 != 0
                    lastWalkLarge = level > 1
                    break
                }
                table = e & physAddrMask
                level -= 1
            }
        } else {
            // 32-bit paging (SDM Vol. 3A 4.3).
            let pdeAddr = (cr3 & 0xFFFF_F000) + ((la >> 22) & 0x3FF) * 4
            let pde = try physRead(pdeAddr, 4)
            if pde & 1 == 0 { throw pf(false) }
            rw = pde & 2 != 0; us = pde & 4 != 0
            walked.append(pdeAddr, 4)
            if pde & 0x80 != 0 && cr4 & 0x10 != 0 {
                if pde & (1 << 21) != 0 { throw pf(true, rsvd: true) }
                gpa = (pde & 0xFFC0_0000) | ((pde >> 13) & 0xFF) << 32 | (la & 0x3F_FFFF)
                leafAddr = pdeAddr; leafSize = 4
                lastWalkGlobal = pde & 0x100 != 0
                lastWalkLarge = true
            } else {
                let pteAddr = (pde & 0xFFFF_F000) + ((la >> 12) & 0x3FF) * 4
                let pte = try physRead(pteAddr, 4)
                if pte & 1 == 0 { throw pf(false) }
                rw = rw && pte & 2 != 0; us = us && pte & 4 != 0
                walked.append(pteAddr, 4)
                gpa = (pte & 0xFFFF_F000) | (la & 0xFFF)
                leafAddr = pteAddr; leafSize = 4
                lastWalkGlobal = pte & 0x100 != 0
            }
        }

        // G only matters with CR4.PGE (SDM Vol. 3A 4.10.2.4).
        if cr4 & 0x80 == 0 { lastWalkGlobal = false }
        // Permission checks (SDM Vol. 3A 4.6).
        if user {
            if !us { throw pf(true) }
            if write && !rw { throw pf(true) }
        } else {
            if write && !rw && wp { throw pf(true) }
            if fetch && us && smep { throw pf(true) }
        }
        if fetch && nx { throw pf(true) }

        // Accessed flags on every entry used, dirty on the leaf for writes.
        for k in 0..<walked.count {
            let (addr, size) = walked[k]
            let e = try physRead(addr, size)
            var n = e | 0x20
            if write && addr == leafAddr && size == leafSize { n |= 0x40 }
            if n != e { try physWriteRaw(addr, size, n) }
        }
        return gpa
    }

    /// Loads the four PAE PDPTE registers from CR3 (MOV CR3, or CR0/CR4 changes that enter
    /// PAE paging); reserved bits in a present entry are #GP(0) (SDM Vol. 3A 4.4.1).
    func loadPDPTEs(_ newCR3: UInt64) throws(Fault) {
        let base = newCR3 & 0xFFFF_FFE0
        var e: [UInt64] = [0, 0, 0, 0]
        let rsvdHigh: UInt64 = ~((UInt64(1) << maxPhysAddr) - 1)
        for i in 0..<4 {
            let v = try physRead(base + UInt64(i) * 8, 8)
            if v & 1 != 0 && (v & 0x1E6 != 0 || v & rsvdHigh != 0) { throw gp(0) }
            e[i] = v
        }
        pdptes = e
    }

    /// True in PAE paging outside IA-32e mode (CR0.PG, CR4.PAE, !EFER.LMA).
    var paePaging: Bool { pagingOn && cr4 & 0x20 != 0 && !lma }

    // MARK: instruction fetch

    /// Prepares up to 15 instruction bytes at RIP: a pointer into guest RAM when they are on
    /// one page, else a copy; a fault on a byte is raised only when the decoder needs it.
    @inline(__always) func beginFetch() throws(Fault) {
        // Fast path: flat code on the page of the previous instruction (no TLB lookup).
        if flatFetch {
            let r = rip
            if r >> 12 == codePage && r & 0xFFF <= 0x1000 - 15 {
                let p = UnsafePointer(codeHost.assumingMemoryBound(to: UInt8.self) + Int(r & 0xFFF))
                ibp = p; ibStart = p; ibEnd = p + 15
                ibSlow = false
                return
            }
        }
        var avail = 15
        let la: UInt64
        if code64 {
            la = rip
            if !CPU.canonical(rip) { throw gp(0) }
        } else {
            let cs = segs + S.cs
            if rip > cs.pointee.hi { throw gp(0) }
            let room = cs.pointee.hi - rip + 1
            if room < 15 { avail = Int(room) }
            la = (cs.pointee.base &+ rip) & 0xFFFF_FFFF
        }
        let page = la >> 12
        let i = Int(truncatingIfNeeded: page) & (CPU.tlbSize - 1)
        let off = Int(la & 0xFFF)
        if tlbXTag[i] == page && off + avail <= 4096 {
            let host = tlbXHost[i].unsafelyUnwrapped
            let p = UnsafePointer(host.assumingMemoryBound(to: UInt8.self) + off)
            ibp = p; ibStart = p; ibEnd = p + avail
            ibSlow = false
            if flatFetch { codePage = page; codeHost = host }
            return
        }
        try beginFetchSlow(la, avail)
    }

    @inline(never) func beginFetchSlow(_ la: UInt64, _ avail: Int) throws(Fault) {
        if mem.generation != memGeneration { flushTLB() }
        ibFault = .exception(Vec.gp, 0)
        let savedCR2 = cr2
        ibFaultCR2 = cr2
        var n = 0
        var curPage: UInt64 = ~0
        var host: UnsafeMutableRawPointer? = nil
        while n < avail {
            let a = code64 ? la &+ UInt64(n) : (la &+ UInt64(n)) & 0xFFFF_FFFF
            if a >> 12 != curPage {
                do {
                    let gpa = try translate(a, write: false, fetch: true, user: cpl == 3)
                    switch mem.lookup(gpa) {
                    case .ram(let p, _, _):
                        populate(gpa, linear: a, write: false, fetch: true)
                        host = p - Int(a & 0xFFF)
                        let i = Int(truncatingIfNeeded: a >> 12) & (CPU.tlbSize - 1)
                        tlbXTag[i] = a >> 12
                        setGlobal(i, 4)
                        tlbXHost[i] = host
                        codeGeneration &+= 1
                    case .badHost:
                        ibFault = requestExit(.efault); host = nil
                    case .none:
                        eptExitTrace(gpa: gpa, linear: a, write: false, fetch: true, readOnly: false,
                                     outcome: "KVM_EXIT_INTERNAL_ERROR")
                        ibFault = requestExit(.emulationFailure); host = nil
                    }
                } catch {
                    ibFault = error; host = nil
                    // CR2 is written only if the decoder really needs this byte.
                    if n > 0 { ibFaultCR2 = cr2; cr2 = savedCR2 }
                }
                curPage = a >> 12
                if host == nil { break }
            }
            ibBuf[n] = host.unsafelyUnwrapped.load(fromByteOffset: Int(a & 0xFFF), as: UInt8.self)
            n += 1
        }
        if n == 0 { throw ibFault }
        if n == avail && avail == 15 { ibFault = .exception(Vec.gp, 0) }
        ibp = UnsafePointer(ibBuf); ibStart = ibp; ibEnd = ibp + n
        ibSlow = true
    }

    @inline(never) func fetchFault() -> Fault {
        // Fast-path fetches only stop at the 15-byte or CS limit: #GP(0).
        if !ibSlow { return .exception(Vec.gp, 0) }
        if case .exception(Vec.pf, _) = ibFault { cr2 = ibFaultCR2 }
        return ibFault
    }

    @inline(__always) func fetch8() throws(Fault) -> UInt8 {
        let p = ibp
        if p >= ibEnd { throw fetchFault() }
        ibp = p + 1
        return p.pointee
    }

    @inline(__always) func fetch16() throws(Fault) -> UInt64 {
        let p = ibp
        if p + 2 <= ibEnd {
            ibp = p + 2
            return UInt64(UnsafeRawPointer(p).loadUnaligned(as: UInt16.self))
        }
        let a = UInt64(try fetch8())
        return a | UInt64(try fetch8()) << 8
    }

    @inline(__always) func fetch32() throws(Fault) -> UInt64 {
        let p = ibp
        if p + 4 <= ibEnd {
            ibp = p + 4
            return UInt64(UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
        }
        let a = try fetch16()
        return a | (try fetch16()) << 16
    }

    @inline(__always) func fetch64() throws(Fault) -> UInt64 {
        let a = try fetch32()
        return a | (try fetch32()) << 32
    }

    /// imm8 sign-extended to 64 bits.
    @inline(__always) func fetchS8() throws(Fault) -> UInt64 { UInt64(bitPattern: Int64(Int8(bitPattern: try fetch8()))) }

    /// Iz: 16 bits for osz 2, else 32 bits sign-extended (to 64 for osz 8).
    @inline(__always) func fetchIz(_ size: Int) throws(Fault) -> UInt64 {
        if size == 2 { return try fetch16() }
        let v = try fetch32()
        return size == 8 ? CPU.sext(v, 4) : v
    }
}
