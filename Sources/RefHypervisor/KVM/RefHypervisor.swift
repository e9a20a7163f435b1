import KVMABI

// The reference engine: Linux KVM on Intel VMX with EPT, as userspace sees it.
//
// Model choices (each one also noted where it is implemented):
// - Virtual time is 1 ns per retired instruction; TSC = virtual ns (1 GHz). HLT with an
//   in-kernel irqchip skips to the next timer deadline. Nothing reads the wall clock.
// - Every VM exit is counted in `exits` and can be traced (VMXTraceRecord): I/O
//   instructions, CPUID, RDMSR/WRMSR outside the MSR bitmap (FS/GS/KERNEL_GS base,
//   SYSENTER_*, TSC reads pass through), MOV to CR0/CR4, LMSW, HLT, VMCALL, INVD/WBINVD,
//   MONITOR/MWAIT, task switches, #UD/#DB/#AC/#BP(guest debug) intercepts, triple fault,
//   interrupt/NMI windows, external interrupts (a timer firing while the guest runs),
//   and EPT violations: the first touch of each 4 KiB RAM page (fixed in kernel,
//   pf_fixed), each access to an unbacked GPA (KVM then installs an MMIO SPTE, so later
//   accesses to that page are EPT misconfigurations), writes to read-only slots.
// - Exits to userspace follow KVM's RIP rules: OUT and IN leave RIP on the instruction
//   until the next KVM_RUN completes it (complete_fast_pio_*; OUT 0x7E is advanced first,
//   KVM_X86_QUIRK_OUT_7E_INC_RIP); emulated MMIO writes and OUTS elements are written back
//   before the exit; MMIO reads and INS complete on the next run. Completion is done by
//   re-executing the instruction with the userspace data.
// - KVM_INTERRUPT is injected at the next entry regardless of RFLAGS.IF (VM-entry event
//   injection), so userspace must honour ready_for_interrupt_injection.

/// The reference engine's system fd: a software KVM on Intel VMX with EPT.
public final class RefHypervisor: Hypervisor {
    /// Test-only fault injection for the cross-check machinery (empty by default). Per
    /// hypervisor, so a deliberately broken engine never leaks into other tests' VMs.
    public let injectedFaults: Set<InjectedFault>

    public static let version = "ref-1"

    public init(injectedFaults: Set<InjectedFault> = []) { self.injectedFaults = injectedFaults }

    public var identity: ImplementationIdentity {
        ImplementationIdentity(implementation: "ref", kernelRelease: RefHypervisor.version, device: "(software)",
                               apiVersion: 12, capabilities: Capability.all.map { ($0, RefHypervisor.capability($0)) })
    }

    public func apiVersion() throws(KVMError) -> Int32 { 12 }

    public func checkExtension(_ capability: Capability) -> Int32 { RefHypervisor.capability(capability) }

    public func supportedCPUID() throws(KVMError) -> [CPUIDEntry] { CPUIDModel.supported }

    public func createVM() throws(KVMError) -> any VirtualMachine { RefVM(injectedFaults: injectedFaults) }

    /// What KVM_GET_MSR_INDEX_LIST lists here: the entries of Linux 6.1's msrs_to_save_all
    /// and emulated_msrs_all (x86.c) that this engine implements; each reads with
    /// KVM_GET_MSRS (an ABI check says so). EFER and APIC_BASE travel in KVM_SET_SREGS.
    static let msrIndexList: [UInt32] = [
        0x174, 0x175, 0x176,                    // SYSENTER_CS/ESP/EIP
        0xC000_0081, 0xC000_0083, 0xC000_0102,  // STAR, CSTAR, KERNEL_GS_BASE
        0xC000_0084, 0xC000_0082,               // SYSCALL_MASK, LSTAR
        0x10, 0x277, 0xC000_0103,               // TSC, PAT, TSC_AUX
        0x3B, 0x6E0, 0x1A0, 0x17A,              // TSC_ADJUST, TSC_DEADLINE, MISC_ENABLE, MCG_STATUS
        0x140, 0x1FC, 0x8B,                     // MISC_FEATURES_ENABLES, POWER_CTL, UCODE_REV
        0xCE,                                   // PLATFORM_INFO
    ]

    /// kvm_arch_dev_ioctl(KVM_GET_MSR_INDEX_LIST): E2BIG (with the count written back) when
    /// nmsrs is below the count.
    public func msrIndexList(capacity: Int) throws(KVMError) -> [UInt32] {
        if capacity < Self.msrIndexList.count { throw KVMError(errno: Errno.E2BIG, operation: "KVM_GET_MSR_INDEX_LIST") }
        return Self.msrIndexList
    }

    public func msrIndexCount() throws(KVMError) -> Int { Self.msrIndexList.count }

    /// The feature MSRs (x86.c msr_based_features, kvm_get_msr_feature) this engine answers:
    /// IA32_UCODE_REV, with the value its vCPUs read. Linux on VMX also lists
    /// IA32_ARCH_CAPABILITIES and IA32_PERF_CAPABILITIES (host-derived values) and, with nested
    /// VMX, the VMX capability MSRs; the engine models none of them, so it lists none.
    static let featureMSRs: [UInt32: UInt64] = [0x8B: 0x1_0000_0000]

    public func featureMSRIndexList(capacity: Int) throws(KVMError) -> [UInt32] {
        if capacity < Self.featureMSRs.count { throw KVMError(errno: Errno.E2BIG, operation: "KVM_GET_MSR_FEATURE_INDEX_LIST") }
        return Self.featureMSRs.keys.sorted()
    }

    public func featureMSRIndexCount() throws(KVMError) -> Int { Self.featureMSRs.count }

    /// msr_io(do_get_msr_feature): at most 255 entries, stops at the first MSR that is not a
    /// feature MSR.
    public func featureMSRs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry] {
        if indices.count > RefVCPU.maximumMSRsPerCall { throw KVMError(errno: Errno.E2BIG, operation: "KVM_GET_MSRS (system)") }
        var out: [MSREntry] = []
        for i in indices {
            guard let v = Self.featureMSRs[i] else { break }
            out.append(MSREntry(index: i, data: v))
        }
        return out
    }

    /// KVM_GET_EMULATED_CPUID (cpuid.c __do_cpuid_func_emulated): leaf 0 with EAX = 7, leaf 1
    /// with MOVBE, leaf 7 (index significant). Linux also lists RDPID in leaf 7 when the host
    /// has RDTSCP; this engine does not implement RDPID, so its leaf 7 claims nothing.
    static let emulatedCPUID: [CPUIDEntry] = [
        CPUIDEntry(function: 0, eax: 7, ebx: 0, ecx: 0, edx: 0),
        CPUIDEntry(function: 1, eax: 0, ebx: 0, ecx: 1 << 22, edx: 0),
        CPUIDEntry(function: 7, index: 0, flags: 1, eax: 0, ebx: 0, ecx: 0, edx: 0),
    ]

    /// kvm_dev_ioctl_get_cpuid: E2BIG when the entries do not fit in `nent`.
    public func emulatedCPUID(capacity: Int) throws(KVMError) -> [CPUIDEntry] {
        if capacity < Self.emulatedCPUID.count { throw KVMError(errno: Errno.E2BIG, operation: "KVM_GET_EMULATED_CPUID") }
        return Self.emulatedCPUID
    }

    /// kvm_caps.supported_mce_cap on VMX (x86.c, vmx.c hardware_setup): MCG_CTL_P,
    /// MCG_CMCI_P, MCG_SER_P, MCG_LMCE_P.
    static let supportedMCECap: UInt64 = 1 << 8 | 1 << 10 | 1 << 24 | 1 << 27

    public func mceCapSupported() throws(KVMError) -> UInt64 { Self.supportedMCECap }

    /// kvm_caps.supported_xcr0: the engine models XCR0 for every component KVM supports
    /// (KVM_SUPPORTED_XCR0: x87, SSE, AVX, MPX, AVX-512, PKRU, AMX), as a host with all of
    /// them; a guest's XCR0 is limited to these whatever its CPUID claims
    /// (cpuid_get_supported_xcr0 masks with it). Its own CPUID offers no XSAVE, so a guest
    /// gets any of them only from a table its VMM wrote.
    static let supportedXCR0: UInt64 = 0x602FF

    /// kvm_x86_dev_has_attr: group 0, attribute KVM_X86_XCOMP_GUEST_SUPP (0); ENXIO otherwise.
    public func hasDeviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) {
        if attribute.group != 0 || attribute.attribute != 0 { throw KVMError(errno: Errno.ENXIO, operation: "KVM_HAS_DEVICE_ATTR") }
    }

    /// kvm_x86_dev_get_attr: KVM_X86_XCOMP_GUEST_SUPP is kvm_caps.supported_xcr0.
    public func deviceAttribute(_ attribute: DeviceAttribute) throws(KVMError) -> UInt64 {
        if attribute.group != 0 || attribute.attribute != 0 { throw KVMError(errno: Errno.ENXIO, operation: "KVM_GET_DEVICE_ATTR") }
        return Self.supportedXCR0
    }

    /// KVM_CHECK_EXTENSION values of a VMX KVM (Linux 6.1) for what this engine implements,
    /// and 0 for what it does not (SMM, dirty rings).
    static func capability(_ c: Capability) -> Int32 {
        switch c {
        case .setGuestDebug, .irqchip, .hlt, .userMemory, .setTssAddr, .extCpuid, .pit, .nopIoDelay, .syncMmu,
             .destroyMemoryRegionWorks, .userNmi, .joinMemoryRegionsWorks, .pit2,
             .vcpuEvents, .internalErrorData, .readonlyMem, .signalMsi, .immediateExit,
             .tscDeadlineTimer, .checkExtensionVm, .binaryStatsFd, .setBootCpuId, .pitState2,
             .getTscKhz, .mpState, .debugregs, .xcrs, .xsave, .setIdentityMapAddr, .sregs2,
             .reinjectControl, .kvmclockCtrl, .getMsrFeatures, .extEmulCpuid,
             .enableCap, .enableCapVm, .x86UserSpaceMsr, .x86MsrFilter, .enforcePvFeatureCpuid, .msrPlatformInfo,
             .haltPoll, .irqInjectStatus, .pmuEventFilter, .vcpuAttributes, .sysAttributes, .tscControl, .vmTscControl,
             .ioeventfd, .ioeventfdNoLength, .ioeventfdAnyLength, .irqfd, .irqfdResample, .coalescedPio:
            return 1
        // KVM_COALESCED_MMIO_PAGE_OFFSET on x86: where the ring is in the vCPU mapping.
        case .coalescedMmio: return 2
        // KVM_EXIT_HYPERCALL_VALID_MASK; KVM_DIRTY_LOG_MANUAL_CAPS (x86 kvm_host.h).
        case .exitHypercall: return Int32(RefVM.hypercallExitValidMask)
        case .manualDirtyLogProtect2: return 3
        // kvm_vm_ioctl_check_extension: KVM_CAP_MCE is KVM_MAX_MCE_BANKS, KVM_CAP_ADJUST_CLOCK
        // the flags KVM_SET_CLOCK takes (KVM_CLOCK_VALID_FLAGS).
        case .mce: return 32
        // KVM_CAP_XSAVE2: xstate_required_size of the offered XCR0 (x87, SSE, AVX: 832
        // bytes), at least sizeof(struct kvm_xsave).
        case .xsave2: return Int32(XSaveState.size)
        // KVM_CAP_IRQ_ROUTING: KVM_MAX_IRQ_ROUTES (kvm_vm_ioctl_check_extension_generic).
        case .irqRouting: return Int32(GSIRoute.maximumRoutes)
        case .adjustClock: return Int32(ClockData.tscStable | ClockData.realtimeFlag | ClockData.hostTSCFlag)
        case .nrVcpus: return 2
        case .maxVcpus: return 1024
        case .maxVcpuId: return 4096
        case .nrMemslots: return Int32(GuestPhysicalMemory.userMemSlots)
        case .multiAddressSpace: return Int32(GuestPhysicalMemory.addressSpaces)
        default: return 0
        }
    }
}
