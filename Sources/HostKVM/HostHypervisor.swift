import CKVM
#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import KVMABI

/// The system fd of a KVM device node (`/dev/kvm` unless told otherwise).
public final class HostHypervisor: Hypervisor {
    public let devicePath: String
    let fd: Int32
    /// KVM_GET_VCPU_MMAP_SIZE: the size of each vCPU's kvm_run mapping.
    let vcpuMmapSize: Int
    public private(set) lazy var identity: ImplementationIdentity = ImplementationIdentity(
        implementation: Self.vendorModule(),
        kernelRelease: Self.kernelRelease(),
        device: devicePath,
        apiVersion: (try? apiVersion()) ?? -1,
        capabilities: Capability.all.map { ($0, checkExtension($0)) })

    /// Opens the device. Throws with the errno of open(2) (ENOENT, EACCES, ...) or of the
    /// first ioctl when the node is not a KVM device (ENOTTY).
    public init(devicePath: String = "/dev/kvm") throws(KVMError) {
        self.devicePath = devicePath
        let fd = ckvm_open(devicePath)
        guard fd >= 0 else { throw KVMError(errno: -fd, operation: "open \(devicePath)") }
        let size = ckvm_get_vcpu_mmap_size(fd)
        guard size > 0 else {
            _ = ckvm_close(fd)
            throw KVMError(errno: -size, operation: "KVM_GET_VCPU_MMAP_SIZE on \(devicePath)")
        }
        self.fd = fd
        self.vcpuMmapSize = Int(size)
    }

    deinit { _ = ckvm_close(fd) }

    public func apiVersion() throws(KVMError) -> Int32 {
        let r = ckvm_get_api_version(fd)
        guard r >= 0 else { throw KVMError(errno: -r, operation: "KVM_GET_API_VERSION") }
        return r
    }

    public func checkExtension(_ capability: Capability) -> Int32 {
        max(0, ckvm_check_extension(fd, Int(capability.rawValue)))
    }

    public func supportedCPUID() throws(KVMError) -> [CPUIDEntry] {
        var capacity = 128
        while true {
            let (r, entries) = withFlexibleStruct(kvm_cpuid2.self, kvm_cpuid_entry2.self, count: capacity) { hdr, e in
                hdr.pointee.nent = UInt32(capacity)
                let r = ckvm_get_supported_cpuid(fd, hdr)
                return (r, r < 0 ? [] : (0..<Int(hdr.pointee.nent)).map { CPUIDEntry(e[$0]) })
            }
            if r == -Errno.E2BIG && capacity < 4096 { capacity *= 2; continue }
            guard r >= 0 else { throw KVMError(errno: -r, operation: "KVM_GET_SUPPORTED_CPUID") }
            return entries
        }
    }

    public func msrIndexList(capacity: Int) throws(KVMError) -> [UInt32] {
        try msrList(capacity: capacity, ckvm_get_msr_index_list, "KVM_GET_MSR_INDEX_LIST")
    }
    public func msrIndexCount() throws(KVMError) -> Int {
        try msrListCount(ckvm_get_msr_index_list, "KVM_GET_MSR_INDEX_LIST")
    }
    public func featureMSRIndexList(capacity: Int) throws(KVMError) -> [UInt32] {
        try msrList(capacity: capacity, ckvm_get_msr_feature_index_list, "KVM_GET_MSR_FEATURE_INDEX_LIST")
    }
    public func featureMSRIndexCount() throws(KVMError) -> Int {
        try msrListCount(ckvm_get_msr_feature_index_list, "KVM_GET_MSR_FEATURE_INDEX_LIST")
    }

    /// A `struct kvm_msr_list` ioctl with room for `capacity` indices.
    private func msrList(capacity: Int, _ call: (Int32, UnsafeMutablePointer<kvm_msr_list>?) -> Int32,
                         _ op: String) throws(KVMError) -> [UInt32] {
        let (r, list) = withFlexibleStruct(kvm_msr_list.self, UInt32.self, count: capacity) { hdr, idx in
            hdr.pointee.nmsrs = UInt32(capacity)
            let r = call(fd, hdr)
            return (r, r < 0 ? [] : Array(UnsafeBufferPointer(start: idx, count: Int(hdr.pointee.nmsrs))))
        }
        try check(r, op)
        return list
    }

    /// The same with nmsrs 0: KVM writes the count back and answers E2BIG (kvm_arch_dev_ioctl).
    private func msrListCount(_ call: (Int32, UnsafeMutablePointer<kvm_msr_list>?) -> Int32, _ op: String) throws(KVMError) -> Int {
        let (r, n) = withFlexibleStruct(kvm_msr_list.self, UInt32.self, count: 0) { hdr, _ in
            hdr.pointee.nmsrs = 0
            return (call(fd, hdr), Int(hdr.pointee.nmsrs))
        }
        if r == -Errno.E2BIG || r >= 0 { return n }
        throw KVMError(errno: -r, operation: op)
    }

    public func featureMSRs(_ indices: [UInt32]) throws(KVMError) -> [MSREntry] {
        let (r, out) = withFlexibleStruct(kvm_msrs.self, kvm_msr_entry.self, count: indices.count) { hdr, e in
            hdr.pointee.nmsrs = UInt32(indices.count)
            for (i, index) in indices.enumerated() { e[i].index = index }
            let r = ckvm_get_msrs(fd, hdr)
            return (r, r < 0 ? [] : (0..<Int(r)).map { MSREntry(index: e[$0].index, data: e[$0].data) })
        }
        try check(r, "KVM_GET_MSRS (system)")
        return out
    }

    public func emulatedCPUID(capacity: Int) throws(KVMError) -> [CPUIDEntry] {
        let (r, entries) = withFlexibleStruct(kvm_cpuid2.self, kvm_cpuid_entry2.self, count: capacity) { hdr, e in
            hdr.pointee.nent = UInt32(capacity)
            let r = ckvm_get_emulated_cpuid(fd, hdr)
            return (r, r < 0 ? [] : (0..<Int(hdr.pointee.nent)).map { CPUIDEntry(e[$0]) })
        }
        try check(r, "KVM_GET_EMULATED_CPUID")
        return entries
    }

    public func mceCapSupported() throws(KVMError) -> UInt64 {
        var cap: UInt64 = 0
        try check(ckvm_get_mce_cap_supported(fd, &cap), "KVM_X86_GET_MCE_CAP_SUPPORTED")
        return cap
    }

    public func createVM() throws(KVMError) -> any VirtualMachine {
        try createHostVM()
    }

    /// The concrete VM, for callers (benchmarks, leak tests) that want HostKVM's own type.
    public func createHostVM() throws(KVMError) -> HostVM {
        let r = ckvm_create_vm(fd, 0)
        guard r >= 0 else { throw KVMError(errno: -r, operation: "KVM_CREATE_VM") }
        return HostVM(fd: r, hypervisor: self)
    }

    /// The vendor module that implements this KVM, from /sys/module: `kvm_intel`, `kvm_amd`,
    /// `kvm_pvm`, ... (any `kvm_*` module other than the generic ones). `unknown` if none.
    public static func vendorModule(sysModule: String = "/sys/module") -> String {
        let generic: Set<String> = ["kvm"]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sysModule)) ?? []
        let vendors = names.filter { $0.hasPrefix("kvm_") && !generic.contains($0) }.sorted()
        return vendors.isEmpty ? "unknown" : vendors.joined(separator: "+")
    }

    /// `uname -r`.
    public static func kernelRelease() -> String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
