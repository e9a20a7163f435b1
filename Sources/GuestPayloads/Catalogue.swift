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

    public init(image: [UInt8], source: String) throws(PayloadFormatError) {
        self.header = try PayloadHeader.parse(image)
        self.image = image
        self.source = source
    }
}

/// The payloads assembled from guests/ at build time.
public enum Catalogue {
    /// Every payload, ordered by group then name.
    public static let all: [Payload] = GeneratedPayloads.all.compactMap { generated in
        // The build tool validated each header already; a failure here means the generated
        // file was corrupted, which would be a bug of the build, so it is reported loudly.
        guard let data = Data(base64Encoded: generated.base64),
              let payload = try? Payload(image: [UInt8](data), source: generated.source) else {
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
}

extension Catalogue {
    /// The text of guests/known-divergences.txt as it was at build time.
    public static var knownDivergencesText: String {
        String(decoding: Data(base64Encoded: GeneratedPayloads.knownDivergences) ?? Data(), as: UTF8.self)
    }
}
