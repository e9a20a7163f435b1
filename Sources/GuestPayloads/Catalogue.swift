#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import PayloadFormat

/// One guest payload: its image and the header it describes itself with.
public struct Payload: Sendable {
    /// The flat binary, loaded at `PayloadHeader.loadAddress`.
    public let image: [UInt8]
    public let header: PayloadHeader
    /// Where it came from: `guests/exits/io_latch_sizes.asm`, or a file path for an external .bin.
    public let source: String

    public var name: String { header.name }
    public var group: PayloadHeader.Group { header.group }
    /// `exits.io_latch_sizes`: unique across the catalogue, used in reports.
    public var qualifiedName: String { "\(header.group).\(header.name)" }

    /// (image offset, source line) wherever the line changes, ascending; empty for a
    /// payload file from outside the catalogue (no listing).
    public let lineMap: [(offset: Int, line: Int)]

    public init(image: [UInt8], source: String, lineMap: [(offset: Int, line: Int)] = []) throws(PayloadFormatError) {
        self.header = try PayloadHeader.parse(image)
        self.image = image
        self.source = source
        self.lineMap = lineMap
    }

    /// The line of `source` whose code holds the byte at `offset` of the image (for bytes of
    /// the boot library or of a macro, the line that invoked it), if the map knows it.
    public func sourceLine(atImageOffset offset: Int) -> Int? {
        guard offset >= 0, offset < image.count else { return nil }
        return lineMap.last { $0.offset <= offset }?.line
    }

    /// Reads the build tool's "offset:line" text (hex:decimal pairs, space-separated).
    static func parseLineMap(_ text: String) -> [(offset: Int, line: Int)] {
        text.split(separator: " ").compactMap { pair in
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let o = Int(parts[0], radix: 16), let l = Int(parts[1]) else { return nil }
            return (o, l)
        }
    }
}

/// The payloads assembled from guests/ at build time.
public enum Catalogue {
    /// Every payload, ordered by group then name.
    public static let all: [Payload] = GeneratedPayloads.all.compactMap { generated in
        // The build tool validated each header already; a failure here means the generated
        // file was corrupted, which would be a bug of the build, so it is reported loudly.
        guard let data = Data(base64Encoded: generated.base64),
              let payload = try? Payload(image: [UInt8](data), source: generated.source,
                                         lineMap: Payload.parseLineMap(generated.lines)) else {
            var line = "error: corrupted generated payload \(generated.source)\n"
            line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
            return nil
        }
        return payload
    }.sorted { ($0.group.rawValue, $0.name) < ($1.group.rawValue, $1.name) }

    public static func group(_ group: PayloadHeader.Group) -> [Payload] { all.filter { $0.group == group } }

    /// By bare name (`io_latch_sizes`) or qualified name (`exits.io_latch_sizes`).
    public static func named(_ name: String) -> Payload? {
        all.first { $0.name == name || $0.qualifiedName == name }
    }
}

/// A payload image as the build tool embeds it.
struct GeneratedPayload: Sendable {
    let source: String
    let base64: String
    /// Image offset -> source line, from nasm's listing (payload-assembler's sourceLineMap).
    let lines: String
}

extension Catalogue {
    /// The text of guests/known-divergences.txt as it was at build time.
    public static var knownDivergencesText: String {
        String(decoding: Data(base64Encoded: GeneratedPayloads.knownDivergences) ?? Data(), as: UTF8.self)
    }
}
