// The forms block of an instruction-form payload (guests/README.md "Form payloads"): the
// 8-byte tag "KVMUFORM", a NUL-terminated list of the memory-operand passes, one
// NUL-terminated name per instruction form, and an empty name. `kvm-unit list --forms`
// reads it to say which forms the catalogue covers, where, and at which CPL.

import GuestPayloads

public struct FormsBlock: Sendable {
    public static let tag = Array("KVMUFORM".utf8)

    /// The memory operands every form runs on ("ram mmio ram-cross ...").
    public let passes: [String]
    /// The instruction forms, e.g. "adc m32, imm8".
    public let forms: [String]
    /// The CPL payload_main runs at (3 for user64, 0 otherwise).
    public let cpl: Int

    /// nil when the image carries no forms block or the block is malformed (no terminator
    /// before the end of the image): a hostile image is never read past its end.
    public init?(_ payload: Payload) {
        let image = payload.image
        guard let tagAt = payload.offset(ofTag: Self.tag) else { return nil }
        var at = tagAt + Self.tag.count
        func string() -> String? {
            guard let end = image[at...].firstIndex(of: 0) else { return nil }
            let s = String(decoding: image[at..<end], as: UTF8.self)
            at = end + 1
            return s
        }
        guard let passLine = string(), !passLine.isEmpty else { return nil }
        var names: [String] = []
        while true {
            guard let name = string() else { return nil }
            if name.isEmpty { break }
            names.append(name)
        }
        guard !names.isEmpty else { return nil }
        passes = passLine.split(separator: " ").map(String.init)
        forms = names
        cpl = payload.header.mode == .user64 ? 3 : 0
    }
}

/// Which payloads cover each instruction form, and at which CPLs, over a set of payloads.
public struct FormCoverage: Sendable {
    public struct Entry: Sendable {
        public let form: String
        public var payloads: [String] = []
        public var cpls: Set<Int> = []
        public var passes: Set<String> = []
    }
    public private(set) var entries: [Entry] = []

    public init(_ payloads: [Payload]) {
        var index: [String: Int] = [:]
        for p in payloads {
            guard let block = FormsBlock(p) else { continue }
            for form in block.forms {
                let i: Int
                if let known = index[form] { i = known } else {
                    i = entries.count
                    index[form] = i
                    entries.append(Entry(form: form))
                }
                entries[i].payloads.append(p.name)
                entries[i].cpls.insert(block.cpl)
                entries[i].passes.formUnion(block.passes)
            }
        }
    }
}
