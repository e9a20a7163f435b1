// The guest TSC under VMX TSC scaling (SDM Vol. 3C 25.3 "TSC scaling", Linux 6.1 x86.c
// kvm_scale_tsc, set_tsc_khz): guest TSC = (host TSC * multiplier) >> 48 + offset. The
// engine's host TSC is its virtual clock (1 GHz: one tick per retired instruction or
// skipped nanosecond), so the default multiplier 1 << 48 gives the guest that clock.

enum TSCScaling {
    /// kvm_caps.tsc_scaling_ratio_frac_bits on VMX.
    static let fractionBits: UInt64 = 48
    /// kvm_caps.default_tsc_scaling_ratio: 1.0.
    static let defaultRatio: UInt64 = 1 << 48
    /// The engine's host TSC rate (tsc_khz).
    static let hostKHz: UInt32 = 1_000_000
    /// kvm_caps.max_guest_tsc_khz: min(0xffffffff, tsc_khz * max ratio >> 48) = 0xffffffff
    /// with VMX's largest multiplier; KVM_SET_TSC_KHZ refuses this and above.
    static let maximumGuestKHz: UInt32 = 0xFFFF_FFFF
    /// tsc_tolerance_ppm: a rate this close to the host's runs unscaled.
    static let tolerancePPM: UInt64 = 250

    /// set_tsc_khz / kvm_set_tsc_khz: the multiplier for `khz` (the default within the
    /// tolerance; mul_u64_u32_div(1 << 48, khz, tsc_khz) otherwise).
    static func ratio(khz: UInt32) -> UInt64 {
        let host = UInt64(hostKHz)
        let lo = host * (1_000_000 - tolerancePPM) / 1_000_000, hi = host * (1_000_000 + tolerancePPM) / 1_000_000
        if UInt64(khz) >= lo && UInt64(khz) <= hi { return defaultRatio }
        // (2^48 * khz) / host in 128 bits: khz < 2^32, so the product fits in 80 bits.
        let (high, low) = UInt64(khz).multipliedFullWidth(by: defaultRatio)
        return host.dividingFullWidth((high, low)).quotient
    }

    /// kvm_scale_tsc: (tsc * ratio) >> 48, in 128 bits.
    @inline(__always)
    static func scale(_ tsc: UInt64, ratio: UInt64) -> UInt64 {
        if ratio == defaultRatio { return tsc }
        let (high, low) = tsc.multipliedFullWidth(by: ratio)
        return high << (64 - fractionBits) | low >> fractionBits
    }

    /// start_sw_tscdeadline: guest TSC ticks ahead -> ns (ticks * 10^6 / virtual_tsc_khz),
    /// saturated at 2^64 - 1.
    static func nanoseconds(ticks: UInt64, khz: UInt32) -> UInt64 {
        if khz == hostKHz { return ticks }
        let (high, low) = ticks.multipliedFullWidth(by: 1_000_000)
        let k = UInt64(max(khz, 1))
        if high >= k { return ~0 }
        return k.dividingFullWidth((high, low)).quotient
    }
}
