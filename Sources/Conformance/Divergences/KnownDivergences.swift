#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import GuestPayloads

/// The table of known divergences (guests/known-divergences.txt, plus any `--divergences`
/// file): where an implementation is known to differ from the SDM / KVM on VMX, and why.
///
/// One entry per line: `IMPLEMENTATION SCOPE WHAT REASON` (the grammar is in the file's
/// header and in guests/README.md). The scope says which runs an entry is about (a payload,
/// a group, an entry mode, every payload, an ABI check, an instruction form, the guest-visible
/// CPUID); WHAT says which part (a check, the whole payload, a cross-check aspect).
public struct KnownDivergences: Sendable {
    public enum Scope: Sendable, Equatable, CustomStringConvertible {
        /// One payload by name. Entries of the built-in table bind to the catalogue image.
        case payload(String)
        case group(String)
        case mode(String)
        /// `*`: every payload.
        case all
        /// `abi=CHECK`: a check of the ABI (ioctl semantics and errno).
        case abi(String)
        /// `form=FORM`: an instruction form.
        case form(String)
        /// `cpuid`: the CPUID the guest sees, against the table KVM_SET_CPUID2 was given.
        case cpuid

        public var description: String {
            switch self {
            case .payload(let n): n
            case .group(let g): "group=\(g)"
            case .mode(let m): "mode=\(m)"
            case .all: "*"
            case .abi(let c): "abi=\(c)"
            case .form(let f): "form=\(f)"
            case .cpuid: "cpuid"
            }
        }
    }

    public enum What: Sendable, Equatable, CustomStringConvertible {
        /// A check by its source line (kept for older tables: lines move when a payload is edited).
        case line(UInt32)
        /// A check by its stable label: its message as a slug (`check=no_second_delivery`).
        case label(String)
        /// `*`: the whole payload (it cannot run, or ends wrongly).
        case whole
        /// A cross-check aspect that differs while the payload itself may pass.
        case aspect(String)
        /// Free-form detail for `abi=` and `form=` scopes; for `cpuid`: `cpl3`, `0x1.ecx`, `cpl0:0x1.ecx`.
        case detail(String)

        public var description: String {
            switch self {
            case .line(let l): String(l)
            case .label(let l): "check=\(l)"
            case .whole: "*"
            case .aspect(let a): a
            case .detail(let d): d
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var implementation: String
        public var scope: Scope
        public var what: What
        public var reason: String
        /// From the table built into the suite: a payload scope then means the catalogue's
        /// own image of that name, never a file from elsewhere that happens to share it.
        public var builtIn: Bool

        public init(implementation: String, scope: Scope, what: What, reason: String, builtIn: Bool = false) {
            self.implementation = implementation; self.scope = scope; self.what = what
            self.reason = reason; self.builtIn = builtIn
        }

        /// The entry as the table writes it, without the reason.
        public var key: String { "\(implementation) \(scope) \(what)" }
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// `self` followed by `other`'s entries (a local `--divergences` file adds to the built-in table).
    public func adding(_ other: KnownDivergences) -> KnownDivergences { KnownDivergences(entries: entries + other.entries) }

    /// The table built into the suite.
    public static let builtIn: KnownDivergences = (try? parse(Catalogue.knownDivergencesText, builtIn: true)) ?? KnownDivergences(entries: [])

    public struct ParseError: Error, CustomStringConvertible {
        public let line: Int
        public let why: String
        public var description: String { "known-divergence table line \(line): \(why)" }
    }

    /// The aspects of a cross-check an entry may name.
    public static let aspects = ["end", "checks", "trace", "registers", "ram", "windows", "stats"]
    static let modes = ["real16", "prot32", "long64", "user64"]
    static let groups = ["exits", "mmu", "emulator", "irq"]

    public static func parse(_ text: String, builtIn: Bool = false) throws(ParseError) -> KnownDivergences {
        var entries: [Entry] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingBlanks
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(maxSplits: 3, omittingEmptySubsequences: true, whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 4 else {
                throw ParseError(line: n + 1, why: "want IMPLEMENTATION SCOPE WHAT REASON, got \(fields.count) fields")
            }
            do {
                let scope = try parseScope(fields[1])
                let what = try parseWhat(fields[2], scope: scope)
                entries.append(Entry(implementation: fields[0], scope: scope, what: what, reason: fields[3], builtIn: builtIn))
            } catch let why {
                throw ParseError(line: n + 1, why: why.text)
            }
        }
        return KnownDivergences(entries: entries)
    }

    struct Why: Error { let text: String }

    static func parseScope(_ s: String) throws(Why) -> Scope {
        func value(_ prefix: String) -> String? { s.hasPrefix(prefix) ? String(s.dropFirst(prefix.count)) : nil }
        if s == "*" { return .all }
        if s == "cpuid" { return .cpuid }
        if let g = value("group=") {
            guard groups.contains(g) else { throw Why(text: "group=\(g): want one of \(groups.joined(separator: ", "))") }
            return .group(g)
        }
        if let m = value("mode=") {
            guard modes.contains(m) else { throw Why(text: "mode=\(m): want one of \(modes.joined(separator: ", "))") }
            return .mode(m)
        }
        if let c = value("abi="), !c.isEmpty { return .abi(c) }
        if let f = value("form="), !f.isEmpty { return .form(f) }
        // A payload: `name` or `group.name`, `[a-z0-9_]` as guests/README.md requires.
        let name = s.split(separator: ".").last.map(String.init) ?? s
        guard !name.isEmpty, name.allSatisfy({ ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "_" }) else {
            throw Why(text: "SCOPE \(s): want a payload name, group=, mode=, *, abi=, form= or cpuid")
        }
        return .payload(name)
    }

    static func parseWhat(_ s: String, scope: Scope) throws(Why) -> What {
        switch scope {
        case .abi, .form, .cpuid: return s == "*" ? .whole : .detail(s)
        default: break
        }
        if s == "*" { return .whole }
        if let l = UInt32(s) { return .line(l) }
        if s.hasPrefix("check="), s.count > 6 { return .label(String(s.dropFirst(6))) }
        if aspects.contains(s) { return .aspect(s) }
        // `migrate:ASPECT`: a run saved and restored (`kvm-unit run --migrate`) differs from
        // the plain run in ASPECT, because the implementation loses some state.
        if s.hasPrefix("migrate:"), s == "migrate:*" || aspects.contains(String(s.dropFirst(8))) { return .aspect(s) }
        throw Why(text: "WHAT \(s): want check=LABEL, a line number, *, one of \(aspects.joined(separator: ", ")), or migrate: and one of them")
    }

    /// The stable label of a check: its message, lower case, runs of anything but `[a-z0-9]`
    /// turned into one `_` (`"CR2 = first byte"` -> `cr2_first_byte`).
    public static func label(_ message: String) -> String {
        var out = "", gap = false
        for c in message.lowercased() {
            if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") {
                if gap && !out.isEmpty { out.append("_") }
                out.append(c); gap = false
            } else {
                gap = true
            }
        }
        return out
    }

    /// Whether `entry` is about runs of `payload` (its scope, not its WHAT).
    public static func applies(_ entry: Entry, to payload: Payload) -> Bool {
        switch entry.scope {
        case .all: true
        case .group(let g): payload.group.description == g
        case .mode(let m): payload.header.mode.description == m
        case .payload(let n): n == payload.name && (!entry.builtIn || isCatalogueImage(payload))
        case .abi, .form, .cpuid: false
        }
    }

    /// True when `payload` is the catalogue's own payload of that name (the same image).
    public static func isCatalogueImage(_ payload: Payload) -> Bool {
        Catalogue.named(payload.name).map { $0.image == payload.image } ?? false
    }

    /// Entries about checks or the whole payload on `implementation` (what a single-backend
    /// verdict uses).
    public func entries(implementation: String, payload: Payload) -> [Entry] {
        entries.filter {
            if case .aspect = $0.what { return false }
            return $0.implementation == implementation && Self.applies($0, to: payload)
        }
    }

    /// One line when a built-in entry names `payload` but `payload` is not the catalogue's
    /// image of that name (a file from elsewhere): its recorded divergences do not apply.
    public func imageMismatchNote(_ payload: Payload) -> String? {
        let named = entries.contains { $0.builtIn && $0.scope == .payload(payload.name) }
        guard named, !Self.isCatalogueImage(payload) else { return nil }
        return "the name matches catalogue payload \(payload.name) but the image differs: its recorded divergences do not apply"
    }

    /// The entry, if any, that expects `aspect` to differ on `implementation` for `payload`.
    public func aspectEntry(implementation: String, payload: Payload, aspect: String) -> Entry? {
        entries.first { $0.implementation == implementation && $0.what == .aspect(aspect) && Self.applies($0, to: payload) }
    }

    /// The entry recording ABI check `check` on `implementation`, if any.
    public func abiEntry(implementation: String, check: String) -> Entry? {
        entries.first { $0.implementation == implementation && $0.scope == .abi(check) }
    }

    /// The entry recording instruction form `form` on `implementation`, if any.
    public func formEntry(implementation: String, form: String) -> Entry? {
        entries.first { $0.implementation == implementation && $0.scope == .form(form) }
    }

    /// The entries about `implementation`'s guest-visible CPUID.
    public func cpuidEntries(implementation: String) -> [Entry] {
        entries.filter { $0.implementation == implementation && $0.scope == .cpuid }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (CharacterSet is not in FoundationEssentials).
    var trimmingBlanks: String {
        func blank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
