import CKVM
import Glibc
import KVMABI

/// Reads KVM's binary stats (KVM_GET_STATS_FD, Documentation/virt/kvm/api.rst 4.133):
/// a header, `num_desc` descriptors of `sizeof(kvm_stats_desc) + name_size` bytes each,
/// and the values at `data_offset + desc.offset`.
enum StatsReader {
    static func read(ownerFD: Int32, operation: String) throws(KVMError) -> Statistics {
        let sfd = ckvm_get_stats_fd(ownerFD)
        guard sfd >= 0 else { throw KVMError(errno: -sfd, operation: operation) }
        defer { _ = ckvm_close(sfd) }

        var header = kvm_stats_header()
        guard pread(sfd, &header, MemoryLayout<kvm_stats_header>.size, 0) == MemoryLayout<kvm_stats_header>.size else {
            throw KVMError(errno: errno == 0 ? Errno.EIO : errno, operation: "\(operation) (read header)")
        }
        let descSize = MemoryLayout<kvm_stats_desc>.size + Int(header.name_size)
        let count = Int(header.num_desc)
        var descBytes = [UInt8](repeating: 0, count: descSize * count)
        let got = descBytes.withUnsafeMutableBytes { pread(sfd, $0.baseAddress, $0.count, off_t(header.desc_offset)) }
        guard got == descBytes.count else { throw KVMError(errno: Errno.EIO, operation: "\(operation) (read descriptors)") }

        var result: [Statistics.Descriptor] = []
        result.reserveCapacity(count)
        for i in 0..<count {
            let base = i * descSize
            let d = descBytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: base, as: kvm_stats_desc.self) }
            let nameStart = base + MemoryLayout<kvm_stats_desc>.size
            let nameBytes = descBytes[nameStart..<(nameStart + Int(header.name_size))].prefix { $0 != 0 }
            var values = [UInt64](repeating: 0, count: Int(d.size))
            let n = values.withUnsafeMutableBytes {
                pread(sfd, $0.baseAddress, $0.count, off_t(Int(header.data_offset) + Int(d.offset)))
            }
            guard n == values.count * 8 else { throw KVMError(errno: Errno.EIO, operation: "\(operation) (read values)") }
            result.append(.init(
                name: String(decoding: nameBytes, as: UTF8.self),
                kind: .init(rawValue: d.flags & 0xF) ?? .unknown,
                unit: .init(rawValue: (d.flags >> 4) & 0xF) ?? .unknown,
                exponent: d.exponent,
                values: values))
        }
        return Statistics(descriptors: result)
    }
}
