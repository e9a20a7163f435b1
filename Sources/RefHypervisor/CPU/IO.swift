// IN OUT INS OUTS (SDM Vol. 2A, Vol. 1 19.5 I/O protection). Every one is an I/O VM exit
// (I/O instructions unconditionally exit under KVM); in-kernel devices complete it at once,
// otherwise KVM_EXIT_IO. Completion of IN (and of OUT, whose RIP KVM advances only on
// the next KVM_RUN: complete_fast_pio_out) is done by re-executing the instruction.

extension CPU {
    /// I/O permission: CPL <= IOPL, else the TSS I/O bitmap (SDM Vol. 1 19.5.2).
    func ioPermission(_ port: UInt16, _ size: Int) throws(Fault) {
        if !pe || cpl <= Int((flags >> 12) & 3) { return }
        let tr = segs[S.tr]
        if tr.unusable || tr.s || (tr.type & 7) != 3 && (tr.type & 7) != 1 || tr.type & 8 == 0 || tr.limit < 0x67 { throw gp(0) }
        let base = try sysRead(tr.base &+ 0x66, 2)
        let addr = base &+ UInt64(port >> 3)
        if addr &+ 1 > UInt64(tr.limit) { throw gp(0) }
        let bits = try sysRead(tr.base &+ addr, 2)
        let maskBits = ((UInt64(1) << UInt64(size)) - 1) << UInt64(port & 7)
        if bits & maskBits != 0 { throw gp(0) }
    }

    func portIO(_ op: UInt8, port: UInt16, immediate: Bool) throws(Fault) {
        let isIn = op & 2 == 0
        let size = op & 1 == 0 ? 1 : (osz == 2 ? 2 : 4)
        try ioPermission(port, size)
        if ioResume {
            // Second half of an exit to userspace: KVM completes it on this KVM_RUN.
            ioResume = false
            if isIn {
                // The VMM's bytes: inline (ioInValue) unless it gave more than 8.
                var v = ioInValue & CPU.mask(size)
                if !ioData.isEmpty {
                    v = 0
                    for k in 0..<size where ioDataPos + k < ioData.count { v |= UInt64(ioData[ioDataPos + k]) << UInt64(8 * k) }
                }
                setReg(0, size, v)
            }
            return
        }
        let q = VMXQualification.io(size: size, isIn: isIn, string: false, rep: false, immediate: immediate, port: port)
        stats.ioExits &+= 1
        if let d = devices, d.handlesPort(port) {
            vmExit(.ioInstruction, qual: q, outcome: VMXTraceRecord.handledInKernel)
            if isIn { setReg(0, size, UInt64(d.portRead(port, size: size, now: now))) }
            else { d.portWrite(port, size: size, value: UInt32(truncatingIfNeeded: regs[0] & CPU.mask(size)), now: now); eventCheck = true }
            return
        }
        if !isIn && !vmControls.ioeventfds.isEmpty
            && vmControls.ioeventfds.signal(pio: true, address: UInt64(port), size: size, value: regs[0]) {
            // An ioeventfd on KVM's PIO bus took the OUT (kernel_pio): no exit. An irqfd on the
            // same eventfd fires now.
            vmExit(.ioInstruction, qual: q, outcome: VMXTraceRecord.handledInKernel)
            if !vmControls.irqfds.isEmpty && vmControls.irqfds.poll(now: now) { eventCheck = true }
            return
        }
        if !isIn && !vmControls.coalesced.isEmpty
            && vmControls.coalesced.write(pio: true, address: UInt64(port), size: size, value: regs[0]) {
            // A coalesced PIO zone batched the OUT in the ring.
            vmExit(.ioInstruction, qual: q, outcome: VMXTraceRecord.handledInKernel)
            return
        }
        throw userspaceIOExit(q, port: port, size: size, isIn: isIn, immediate: immediate, next: nextRIP)
    }

    /// The KVM_EXIT_IO of a plain IN/OUT that nothing in the kernel took: its VMX record and
    /// the exit request (portIO's last step; blockPortOut's whole job).
    func userspaceIOExit(_ q: UInt64, port: UInt16, size: Int, isIn: Bool, immediate: Bool, next: UInt64) -> Fault {
        vmExit(.ioInstruction, qual: q, outcome: "KVM_EXIT_IO")
        outNextRIP = next
        return requestExit(.io(port: port, size: size, isIn: isIn, count: 1,
                               value: isIn ? 0 : regs[0] & CPU.mask(size), string: false, rep: false, immediate: immediate))
    }

    /// An OUT from a decoded block (BlockExecutor.swift): the exit to userspace portIO makes
    /// for an OUT that nothing in the kernel takes, without decoding it again; the caller
    /// (RefVCPU.batch) then makes the KVM_EXIT_IO from blockOut*. False, with nothing changed, when step() must
    /// run it: CPL > IOPL (the TSS bitmap), a port of an in-kernel device, an ioeventfd or a
    /// coalesced zone on the PIO bus, the OUT 7EH quirk, a completion in progress.
    /// With in-kernel devices the port look-up is a call, made apart (blockPortPastDevices) so
    /// that this stays a leaf: no registers to save on every OUT's exit.
    @inline(never) func blockPortOut(port: UInt16, size: Int, immediate: Bool, at ip: UInt64, next: UInt64) -> Bool {
        if pe && cpl > Int((flags >> 12) & 3) || ioResume || port == 0x7E { return false }
        if devices != nil { return blockPortPastDevices(port: port, size: size, isIn: false, immediate: immediate, at: ip, next: next) }
        return blockPortExit(port: port, size: size, isIn: false, immediate: immediate, at: ip, next: next)
    }

    /// blockPortOut or blockPortIn with in-kernel devices: a port one of them claims is step()'s.
    @inline(never) func blockPortPastDevices(port: UInt16, size: Int, isIn: Bool, immediate: Bool, at ip: UInt64, next: UInt64) -> Bool {
        if let d = devices, d.handlesPort(port) { return false }
        return blockPortExit(port: port, size: size, isIn: isIn, immediate: immediate, at: ip, next: next)
    }

    /// The exit of blockPortOut or blockPortIn past the device check: ioeventfds and coalesced
    /// zones take writes only.
    @inline(__always) func blockPortExit(port: UInt16, size: Int, isIn: Bool, immediate: Bool, at ip: UInt64, next: UInt64) -> Bool {
        if !isIn && (!vmControls.ioeventfds.isEmpty || !vmControls.coalesced.isEmpty) { return false }
        blockIOExit(port: port, size: size, isIn: isIn, immediate: immediate, at: ip, next: next)
        return true
    }

    /// An IN from a decoded block: the exit portIO makes for an IN that no in-kernel device
    /// answers (ioeventfds and coalesced zones take writes only). False, with nothing
    /// changed, when step() must run it: CPL > IOPL (the TSS bitmap), a port of an in-kernel
    /// device, a completion in progress.
    @inline(never) func blockPortIn(port: UInt16, size: Int, immediate: Bool, at ip: UInt64, next: UInt64) -> Bool {
        if pe && cpl > Int((flags >> 12) & 3) || ioResume { return false }
        if devices != nil { return blockPortPastDevices(port: port, size: size, isIn: true, immediate: immediate, at: ip, next: next) }
        return blockPortExit(port: port, size: size, isIn: true, immediate: immediate, at: ip, next: next)
    }

    /// A block's IN or OUT exit: its VMX record, and port, size and (OUT) value for the
    /// caller's KVM_EXIT_IO (RefVCPU.blockOutExit).
    @inline(__always) func blockIOExit(port: UInt16, size: Int, isIn: Bool, immediate: Bool, at ip: UInt64, next: UInt64) {
        instStart = ip
        stats.ioExits &+= 1
        vmExit(.ioInstruction, qual: VMXQualification.io(size: size, isIn: isIn, string: false, rep: false, immediate: immediate, port: port),
               outcome: "KVM_EXIT_IO")
        outNextRIP = next
        blockOutPort = port
        blockOutSize = size
        blockOutValue = isIn ? 0 : regs[0] & CPU.mask(size)
        blockIOIsIn = isIn
    }

    /// INS/OUTS: emulated by KVM (insn_emulation); OUTS exits once per element with RSI,
    /// RCX and RIP already written back; INS exits for up to a page / 1 KiB of elements.
    func stringIO(_ op: UInt8) throws(Fault) {
        if lock { throw ud() }
        let isIn = op < 0x6E
        let size = op & 1 == 0 ? 1 : (osz == 2 ? 2 : 4)
        let port = UInt16(truncatingIfNeeded: regs[2])
        try ioPermission(port, size)
        let repd = rep != 0
        if repd && reg(1, asz) == 0 { rip = nextRIP; return }
        let kernel = devices?.handlesPort(port) ?? false
        // OUTS elements go one by one through KVM's PIO bus (kernel_pio, count 1 each): an
        // ioeventfd or a coalesced zone on the port takes them without an exit.
        let busTakes = !isIn && !kernel && (vmControls.ioeventfds.hasPIO(UInt64(port)) || vmControls.coalesced.hasPIO(UInt64(port)))
        if !ioResume {
            let q = VMXQualification.io(size: size, isIn: isIn, string: true, rep: repd, immediate: false, port: port)
            stats.ioExits &+= 1
            countEmulation()
            let la = isIn ? segs[S.es].base &+ (regs[7] & asMask) : segs[dataSeg].base &+ (regs[6] & asMask)
            vmExit(.ioInstruction, qual: q, gla: la, outcome: kernel || busTakes ? VMXTraceRecord.handledInKernel : "KVM_EXIT_IO")
        }
        var n: UInt64 = 0
        while true {
            if isIn {
                var v: UInt64 = 0
                if kernel, let d = devices {
                    v = UInt64(d.portRead(port, size: size, now: now))
                } else if ioResume && ioDataPos + size <= ioData.count {
                    for k in 0..<size { v |= UInt64(ioData[ioDataPos + k]) << UInt64(8 * k) }
                    _ = try linear(S.es, regs[7] & asMask, size, write: true)
                    ioDataPos += size
                } else {
                    // pio_in_emulated: n = min(bytes left in the page, 1 KiB / size, RCX), at
                    // least 1 (KVM compares the page room in bytes with an element count).
                    let di = regs[7] & asMask
                    let inPage = flags & F.df != 0 ? (di & 0xFFF) : 0x1000 - (di & 0xFFF)
                    var cnt: UInt64 = repd ? reg(1, asz) : 1
                    cnt = min(cnt, inPage, UInt64(1024 / size))
                    if cnt == 0 { cnt = 1 }
                    ioResume = false
                    throw requestExit(.io(port: port, size: size, isIn: true, count: Int(cnt), value: 0,
                                          string: true, rep: repd, immediate: false))
                }
                try wr(S.es, regs[7] & asMask, size, v)
                advanceIndex(7, size)
            } else {
                let v = try rd(dataSeg, regs[6] & asMask, size)
                advanceIndex(6, size)
                if kernel, let d = devices {
                    d.portWrite(port, size: size, value: UInt32(truncatingIfNeeded: v), now: now)
                    eventCheck = true
                } else if busTakes && vmControls.ioeventfds.signal(pio: true, address: UInt64(port), size: size, value: v) {
                    if !vmControls.irqfds.isEmpty && vmControls.irqfds.poll(now: now) { eventCheck = true }
                } else if busTakes && vmControls.coalesced.write(pio: true, address: UInt64(port), size: size, value: v) {
                    // batched in the coalesced ring
                } else {
                    pendingIOOut = (port, size, v & CPU.mask(size))
                    stopAfterInstruction = true
                    eventCheck = true
                }
            }
            if !repd { rip = nextRIP; return }
            setReg(1, asz, reg(1, asz) &- 1)
            if reg(1, asz) == 0 { rip = nextRIP; return }
            n &+= 1
            repIterations &+= 1
            if stopAfterInstruction || n >= CPU.repChunk { eventCheck = true; return }
        }
    }
}
