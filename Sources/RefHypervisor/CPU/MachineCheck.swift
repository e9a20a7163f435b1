// Machine-check banks as KVM emulates them (SDM Vol. 3B ch. 16; Linux 6.1 x86.c
// get_msr_mce, set_msr_mce, kvm_vcpu_ioctl_x86_set_mce). Bank i is MCi_CTL, MCi_STATUS,
// MCi_ADDR, MCi_MISC at 400H + 4i and MCi_CTL2 at 280H + i; only the first
// IA32_MCG_CAP[7:0] banks exist.

extension CPU {
    static let mcgCTLP: UInt64 = 1 << 8, mcgCMCIP: UInt64 = 1 << 10
    static let mciStatusVAL: UInt64 = 1 << 63, mciStatusOVER: UInt64 = 1 << 62, mciStatusUC: UInt64 = 1 << 61
    static let mciStatusPCC: UInt64 = 1 << 57, mciStatusS: UInt64 = 1 << 56, mciStatusAR: UInt64 = 1 << 55
    static let mcgStatusMCIP: UInt64 = 1 << 2
    static let mciCtl2CMCIEnable: UInt64 = 1 << 30, mciCtl2Threshold: UInt64 = 0x7FFF

    var mceBankCount: Int { Int(mcgCap & 0xFF) }

    /// get_msr_mce for the bank MSRs: nil (a #GP for the guest) past the last bank, or for
    /// MCi_CTL2 read by the guest without MCG_CMCI_P.
    func readMCEBank(_ idx: UInt32, hostInitiated: Bool) -> UInt64? {
        if idx < 0x400 {
            let bank = Int(idx - 0x280)
            guard bank < mceBankCount, mcgCap & CPU.mcgCMCIP != 0 || hostInitiated else { return nil }
            return mciCtl2[bank]
        }
        let offset = Int(idx - 0x400)
        guard offset < 4 * mceBankCount else { return nil }
        return mceBanks[offset]
    }

    /// set_msr_mce for the bank MSRs.
    func writeMCEBank(_ idx: UInt32, _ v: UInt64, hostInitiated: Bool) -> Bool {
        if idx < 0x400 {
            let bank = Int(idx - 0x280)
            guard bank < mceBankCount else { return false }
            if mcgCap & CPU.mcgCMCIP == 0 && (v != 0 || !hostInitiated) { return false }
            if v & ~(CPU.mciCtl2CMCIEnable | CPU.mciCtl2Threshold) != 0 { return false }
            mciCtl2[bank] = v
            return true
        }
        let offset = Int(idx - 0x400)
        guard offset < 4 * mceBankCount else { return false }
        // MCi_CTL: 0 or all ones, bit 10 and bit 0 may be clear (K8 GART and UnixWare quirks).
        if offset & 3 == 0 && v != 0 && (v | 1 << 10 | 1) != ~0 { return false }
        // MCi_STATUS: a guest may write only 0 (an AMD guest with HWCR.McStatusWrEn may write
        // more; the engine models no HWCR, so never).
        if offset & 3 == 1 && !hostInitiated && v != 0 { return false }
        mceBanks[offset] = v
        return true
    }
}
