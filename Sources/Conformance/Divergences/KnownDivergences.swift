#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import GuestPayloads

/// The checked-in table of known divergences (guests/known-divergences.txt): where an
/// implementation is known to differ from the SDM / KVM on VMX, and why.
public struct KnownDivergences: Sendable {
    public struct Entry: Sendable, Equatable {
        public var implementation: String
        /// Bare payload name, or `*` for every payload.
        public var payload: String
        /// Check line; nil with `aspect` nil means the whole payload (`*`).
        public var line: UInt32?
        /// A cross-check aspect that differs (`trace`, `registers`, `ram`, `windows`, `stats`,
        /// `end`, `checks`) while the payload itself may pass.
        public var aspect: String?
        public var reason: String
    }

    public private(set) var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The table built into the suite.
    public static let builtIn: KnownDivergences = (try? parse(Catalogue.knownDivergencesText)) ?? KnownDivergences(entries: [])

    public struct ParseError: Error, CustomStringConvertible {
        public let line: Int
        public let why: String
        public var description: String { "known-divergence table line \(line): \(why)" }
    }

    public static func parse(_ text: String) throws(ParseError) -> KnownDivergences {
        let aspects = Self.aspects
        var entries: [Entry] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingBlanks
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true).map(String.init)
            guard fields.count == 4 else {
                throw ParseError(line: n + 1, why: "want IMPLEMENTATION PAYLOAD CHECK REASON, got \(fields.count) fields")
            }
            var check: UInt32?
            var aspect: String?
            if let l = UInt32(fields[2]) {
                check = l
            } else if aspects.contains(fields[2]) {
                aspect = fields[2]
            } else if fields[2] != "*" {
                throw ParseError(line: n + 1, why: "CHECK must be a line number, *, or one of \(aspects.joined(separator: ", "))")
            }
            let payload = fields[1].split(separator: ".").last.map(String.init) ?? fields[1]
            entries.append(Entry(implementation: fields[0], payload: payload, line: check, aspect: aspect, reason: fields[3]))
        }
        return KnownDivergences(entries: entries)
    }

    /// The aspects of a cross-check an entry may name.
    public static let aspects = ["end", "checks", "trace", "registers", "ram", "windows", "stats"]

    /// Entries about checks or the whole payload (what a single-backend verdict uses).
    public func entries(implementation: String, payload: String) -> [Entry] {
        entries.filter { $0.implementation == implementation && $0.payload == payload && $0.aspect == nil }
    }

    /// The entry, if any, that expects `aspect` to differ on `implementation` for `payload`.
    public func aspectEntry(implementation: String, payload: String, aspect: String) -> Entry? {
        entries.first { $0.implementation == implementation && ($0.payload == payload || $0.payload == "*") && $0.aspect == aspect }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (CharacterSet is not in FoundationEssentials).
    var trimmingBlanks: String {
        func blank(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
