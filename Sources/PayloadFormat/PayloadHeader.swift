/// The payload ABI header (guests/README.md, "Header"): what a payload says about itself.
/// Version 1 (0x140 bytes) describes a one-vCPU payload; version 2 (0x150 bytes) adds the
/// vCPU count; version 3 (0x150 bytes too) adds `ap_entry`, where the harness starts the APs.
/// All load: a v1 payload is a v2 payload with one vCPU, a v2 payload a v3 one whose APs
/// wait for INIT/SIPI.
///
/// Parsed by the build tool (to fail the build on a bad header) and by the harness (to load
/// a payload built anywhere), from the same code.
public struct PayloadHeader: Sendable, Equatable {
    public static let magic: [UInt8] = Array("KVMUPLD".utf8) + [0]
    /// The newest version; every older one still loads.
    public static let abiVersion: UInt16 = 3
    /// Size of the v1 header, which every version begins with (tag scanners start after it).
    public static let size = 0x140
    /// Size of the v2 and v3 header: v1, then u8 vcpu_count, 3 reserved zero bytes, u32
    /// ap_entry (v3; reserved zero in v2), 8 reserved zero bytes.
    public static let sizeV2 = 0x150
    /// vCPUs a v2 payload may ask for (ids 0..n-1; vCPU 0 is the BSP).
    public static let maximumVCPUs = 4
    /// GPA where the image is loaded (`org 0x8000`).
    public static let loadAddress: UInt64 = 0x8000
    public static let minimumRAM: UInt32 = 64 * 1024
    public static let maximumRAM: UInt32 = 256 * 1024 * 1024
    public static let maximumWindows = 8
    /// `rom` windows are memory slots the harness must back with host memory (filled with
    /// `fill`), so all of a payload's together may be at most this (the largest RAM).
    /// Other windows cost host memory only for what the guest writes (guests/README.md).
    public static let maximumROMBytes: UInt64 = 256 * 1024 * 1024
    /// Pages the interrupt controllers claim at their reset bases (IOAPIC, LAPIC), where a
    /// window would meet the in-kernel devices on one backend and not on another.
    public static let reservedRanges: [(name: String, range: Range<UInt64>)] = [
        ("the IOAPIC page", 0xFEC0_0000..<0xFEC0_1000), ("the LAPIC page", 0xFEE0_0000..<0xFEE0_1000),
    ]

    public enum Group: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case exits = 0, mmu, emulator, irq
        public var description: String { ["exits", "mmu", "emulator", "irq"][Int(rawValue)] }
        public init?(name: String) {
            guard let g = Group.allCases.first(where: { $0.description == name }) else { return nil }
            self = g
        }
    }

    /// The mode `payload_main` runs in; the boot library gets there from real mode.
    public enum Mode: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case real16 = 0, prot32, long64, user64
        public var description: String { ["real16", "prot32", "long64", "user64"][Int(rawValue)] }
    }

    /// How a passing run ends.
    public enum ExpectedExit: UInt8, Sendable, CustomStringConvertible {
        /// The payload writes its status to port 0xF4.
        case status = 0
        /// KVM_EXIT_SHUTDOWN (a triple fault).
        case shutdown = 1
        public var description: String { self == .status ? "status" : "shutdown" }
    }

    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// KVM_CREATE_IRQCHIP before the vCPU.
        public static let irqchip = Flags(rawValue: 1 << 0)
        /// KVM_CREATE_PIT2.
        public static let pit = Flags(rawValue: 1 << 1)
        public static let known: Flags = [.irqchip, .pit]
    }

    public struct Window: Sendable, Equatable {
        public enum Kind: UInt8, Sendable, CustomStringConvertible {
            /// Userspace MMIO that behaves like RAM, initially `fill` bytes.
            case ram = 0
            /// Userspace MMIO that records every access; reads return `fill` bytes.
            case log = 1
            /// No slot, no device: reads return all ones, writes are dropped.
            case absent = 2
            /// A KVM_MEM_READONLY slot filled with `fill`; writes exit as MMIO.
            case rom = 3
            public var description: String { ["ram", "log", "absent", "rom"][Int(rawValue)] }
        }
        public var gpa: UInt64
        public var size: UInt32
        public var kind: Kind
        public var fill: UInt8
        public var end: UInt64 { gpa + UInt64(size) }
    }

    public var entry: UInt32
    public var ramSize: UInt32
    public var group: Group
    public var mode: Mode
    public var expectedExit: ExpectedExit
    public var expectedStatus: UInt8
    public var flags: Flags
    public var instructionBudget: UInt64
    public var rflagsUndefinedMask: UInt64
    public var gprUndefinedMask: UInt64
    /// KVM_CAP_* numbers the payload needs.
    public var requiredCapabilities: [Int32]
    public var name: String
    public var description: String
    public var windows: [Window]
    /// vCPUs to create (v2; 1 for v1). The APs wait for INIT/SIPI, as KVM's do with an
    /// in-kernel irqchip; the guest's boot library starts them (guests/README.md, "Several vCPUs").
    public var vcpuCount: Int = 1
    /// v3: the image offset where the harness starts every AP in the entry state (real mode,
    /// KVM_SET_MP_STATE RUNNABLE), instead of leaving them to wait for INIT/SIPI. nil: they wait.
    public var apEntry: UInt32? = nil
    /// 0x140 (v1) or 0x150 (v2): where the payload's code may begin.
    public var headerSize: Int = PayloadHeader.size

    /// Parses and validates `image` (the whole flat binary: the header and what follows).
    public static func parse(_ image: [UInt8]) throws(PayloadFormatError) -> PayloadHeader {
        guard image.count >= 8, Array(image[0..<8]) == magic else {
            throw .badMagic(found: Array(image.prefix(8)))
        }
        guard image.count >= size else { throw .truncated(bytes: image.count, headerSize: size) }
        func u8(_ o: Int) -> UInt8 { image[o] }
        func u16(_ o: Int) -> UInt16 { UInt16(image[o]) | UInt16(image[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
        func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
        func text(_ o: Int, _ n: Int) -> String { String(decoding: image[o..<(o + n)].prefix { $0 != 0 }, as: UTF8.self) }

        let version = u16(0x08)
        guard (1...abiVersion).contains(version) else { throw .unsupportedVersion(version) }
        let headerSize = u16(0x0A)
        let expectedSize = version == 1 ? size : sizeV2
        guard Int(headerSize) == expectedSize else {
            throw .badField("header_size", "\(headerSize), expected \(expectedSize) for abi_version \(version)")
        }
        guard image.count >= expectedSize else { throw .truncated(bytes: image.count, headerSize: expectedSize) }
        var vcpuCount = 1
        var apEntry: UInt32?
        if version >= 2 {
            vcpuCount = Int(u8(0x140))
            guard vcpuCount >= 1, vcpuCount <= maximumVCPUs else {
                throw .badField("vcpu_count", "\(vcpuCount) (1..\(maximumVCPUs))")
            }
            if version == 2 {
                guard image[0x141..<0x150].allSatisfy({ $0 == 0 }) else {
                    throw .badField("reserved", "bytes 0x141..0x14F must be zero")
                }
            } else {
                guard image[0x141..<0x144].allSatisfy({ $0 == 0 }), image[0x148..<0x150].allSatisfy({ $0 == 0 }) else {
                    throw .badField("reserved", "bytes 0x141..0x143 and 0x148..0x14F must be zero")
                }
                let a = u32(0x144)
                if a != 0 {
                    // Real mode with CS = 0 (the entry state): the AP's first byte below 64 KiB.
                    guard vcpuCount > 1, a >= UInt32(sizeV2), Int(a) < image.count, UInt64(a) + loadAddress < 0x10000 else {
                        throw .badField("ap_entry", "0x\(String(a, radix: 16)) (needs vcpu_count > 1; must lie in the image, after the header, below 64 KiB)")
                    }
                    apEntry = a
                }
            }
        }
        /// A NUL-padded text field: at most n-1 bytes, then only NULs.
        func isNULPadded(_ o: Int, _ n: Int) -> Bool {
            let used = image[o..<(o + n)].prefix { $0 != 0 }.count
            return used < n && image[(o + used)..<(o + n)].allSatisfy { $0 == 0 }
        }
        guard isNULPadded(0x40, 32) else {
            throw .badField("name", "not NUL-terminated within 32 bytes, or bytes after its NUL (at most 31 characters, NUL-padded)")
        }
        let name = text(0x40, 32)
        guard !name.isEmpty, name.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }) else {
            throw .badField("name", "\"\(name)\" (want [a-z0-9_]+)")
        }
        guard let group = Group(rawValue: u8(0x14)) else { throw .badField("group", "\(u8(0x14))") }
        guard let mode = Mode(rawValue: u8(0x15)) else { throw .badField("mode", "\(u8(0x15))") }
        guard let expectedExit = ExpectedExit(rawValue: u8(0x16)) else { throw .badField("expected_exit", "\(u8(0x16))") }
        let description = text(0x60, 96)
        guard isNULPadded(0x60, 96), description.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw .badField("description", "must be printable ASCII, at most 95 characters, NUL-padded")
        }
        let flags = Flags(rawValue: u32(0x18))
        guard Flags.known.isSuperset(of: flags) else { throw .badField("flags", "0x\(String(flags.rawValue, radix: 16))") }
        // APs are started by INIT/SIPI through the LAPIC: no irqchip, no way to start them.
        guard vcpuCount == 1 || flags.contains(.irqchip) else {
            throw .badField("vcpu_count", "\(vcpuCount) needs the in-kernel irqchip (flags bit0) to start the APs")
        }
        let ramSize = u32(0x10)
        guard ramSize >= minimumRAM, ramSize <= maximumRAM, ramSize % 4096 == 0 else {
            throw .badRAMSize(ramSize)
        }
        guard UInt64(image.count) + loadAddress <= UInt64(ramSize) else {
            throw .imageTooLarge(bytes: image.count, ramSize: ramSize)
        }
        let entry = u32(0x0C)
        guard entry >= UInt32(expectedSize), Int(entry) < image.count, UInt64(entry) + loadAddress < 0x10000 else {
            throw .badField("entry", "0x\(String(entry, radix: 16)) (must lie in the image, after the header, below 64 KiB)")
        }
        let instructionBudget = u64(0x20)
        guard instructionBudget > 0 else { throw .badField("insn_budget", "0 (a payload must retire at least one instruction)") }
        let windowCount = Int(u32(0x1C))
        guard windowCount <= maximumWindows else { throw .badField("window_count", "\(windowCount) (at most \(maximumWindows))") }
        var windows: [Window] = []
        for i in 0..<windowCount {
            let o = 0xC0 + 16 * i
            guard let kind = Window.Kind(rawValue: u8(o + 12)) else { throw .badWindow(index: i, "kind \(u8(o + 12))") }
            let w = Window(gpa: u64(o), size: u32(o + 8), kind: kind, fill: u8(o + 13))
            guard w.size > 0, w.gpa % 4096 == 0, w.size % 4096 == 0 else {
                throw .badWindow(index: i, "gpa 0x\(String(w.gpa, radix: 16)) size 0x\(String(w.size, radix: 16)) must be non-empty and 4 KiB aligned")
            }
            guard w.gpa <= (1 << 52) - UInt64(w.size) else { throw .badWindow(index: i, "beyond the 52-bit physical address space") }
            guard w.gpa >= UInt64(ramSize) else { throw .badWindow(index: i, "overlaps RAM (0..0x\(String(ramSize, radix: 16)))") }
            if let j = windows.firstIndex(where: { $0.gpa < w.end && w.gpa < $0.end }) {
                throw .badWindow(index: i, "overlaps window \(j)")
            }
            if let r = reservedRanges.first(where: { $0.range.overlaps(w.gpa..<w.end) }) {
                throw .badWindow(index: i, "overlaps \(r.name) at 0x\(String(r.range.lowerBound, radix: 16))")
            }
            windows.append(w)
        }
        let romBytes = windows.filter { $0.kind == .rom }.reduce(UInt64(0)) { $0 + UInt64($1.size) }
        guard romBytes <= maximumROMBytes else {
            throw .badField("windows", "rom windows of 0x\(String(romBytes, radix: 16)) bytes in all (at most 256 MiB)")
        }
        let caps = (0..<4).map { u16(0x38 + 2 * $0) }.filter { $0 != 0xFFFF }.map { Int32($0) }
        return PayloadHeader(entry: entry, ramSize: ramSize, group: group, mode: mode, expectedExit: expectedExit,
                             expectedStatus: u8(0x17), flags: flags, instructionBudget: instructionBudget,
                             rflagsUndefinedMask: u64(0x28), gprUndefinedMask: u64(0x30),
                             requiredCapabilities: caps, name: name, description: description, windows: windows,
                             vcpuCount: vcpuCount, apEntry: apEntry, headerSize: expectedSize)
    }
}

/// Why a file is not a valid payload. The description is the one line a user sees.
public enum PayloadFormatError: Error, Equatable, CustomStringConvertible {
    case badMagic(found: [UInt8])
    case truncated(bytes: Int, headerSize: Int)
    case unsupportedVersion(UInt16)
    case badRAMSize(UInt32)
    case imageTooLarge(bytes: Int, ramSize: UInt32)
    case badField(String, String)
    case badWindow(index: Int, String)

    public var description: String {
        switch self {
        case .badMagic(let found):
            let hex = found.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
            return "not a payload: bad magic (want \"KVMUPLD\\0\", found \(hex.isEmpty ? "an empty file" : hex))"
        case .truncated(let n, let size): return "truncated payload: \(n) bytes, the header alone is \(size)"
        case .unsupportedVersion(let v): return "unsupported payload ABI version \(v) (this suite reads versions 1 to \(PayloadHeader.abiVersion))"
        case .badRAMSize(let s): return "bad ram_size 0x\(String(s, radix: 16)): must be a multiple of 4 KiB from 64 KiB to 256 MiB"
        case .imageTooLarge(let n, let ram): return "image of \(n) bytes loaded at 0x8000 does not fit in ram_size 0x\(String(ram, radix: 16))"
        case .badField(let f, let v): return "bad header field \(f): \(v)"
        case .badWindow(let i, let why): return "bad MMIO window \(i): \(why)"
        }
    }
}
