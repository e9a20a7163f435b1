#if canImport(Glibc)
import Glibc
#endif

/// Page-aligned anonymous host memory that backs a guest memory slot.
///
/// Owned by the VM that allocated it; unmapped on `release()` or deinit, so a test can count
/// mappings before and after a VM's life.
public final class GuestMemory: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let size: Int
    private var released = false

    /// The address to put into `MemoryRegion.userspaceAddress`.
    public var hostAddress: UInt64 { UInt64(UInt(bitPattern: pointer)) }

    public init(size: Int) throws(KVMError) {
        let page = 4096
        guard size > 0, size % page == 0 else { throw KVMError(errno: Errno.EINVAL, operation: "mmap guest memory") }
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { throw KVMError(errno: errno, operation: "mmap guest memory") }
        self.pointer = p
        self.size = size
    }

    public func release() {
        guard !released else { return }
        released = true
        munmap(pointer, size)
    }

    deinit { release() }

    /// Copies `bytes` to `offset`; false if they do not fit.
    @discardableResult
    public func write(_ bytes: [UInt8], at offset: Int) -> Bool {
        guard offset >= 0, offset <= size, bytes.count <= size - offset else { return false }
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { (pointer + offset).copyMemory(from: base, byteCount: src.count) }
        }
        return true
    }

    public func read(at offset: Int, count: Int) -> [UInt8] {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer + offset, count: count))
    }

    public func fill(_ byte: UInt8) { memset(pointer, Int32(byte), size) }
}
