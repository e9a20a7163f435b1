#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Dispatch
import Glibc
import GuestPayloads
import PayloadFormat

/// Which payloads a command line names: catalogue names, globs (`mmu.pf_*`, `*xadd*`) and
/// paths to payload files built anywhere.
public enum Selection {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Largest file taken as a payload: the largest RAM a payload may ask for.
    static let maximumFileSize = Int(PayloadHeader.maximumRAM)

    public static func resolve(_ arguments: [String], group: PayloadHeader.Group? = nil) throws(Failure) -> [Payload] {
        var chosen: [Payload] = []
        if arguments.isEmpty { chosen = Catalogue.all }
        for arg in arguments {
            if arg.hasSuffix(".bin") || arg.contains("/") {
                chosen.append(try load(file: arg))
                continue
            }
            let matches = Catalogue.all.filter { fnmatch(arg, $0.name, 0) == 0 || fnmatch(arg, $0.qualifiedName, 0) == 0 }
            guard !matches.isEmpty else {
                throw Failure(description: "no payload matches \"\(arg)\" (see kvm-unit list)")
            }
            chosen += matches
        }
        if let group {
            chosen = chosen.filter { $0.group == group }
            // Running nothing and reporting success would hide a mistyped command line.
            guard !chosen.isEmpty else {
                throw Failure(description: "no payload of group \(group) among \(arguments.joined(separator: " "))")
            }
        }
        var seen = Set<String>()
        return chosen.filter { seen.insert($0.source).inserted }
    }

    /// A payload file: any error is one line naming the file.
    public static func load(file path: String) throws(Failure) -> Payload {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw Failure(description: "\(path): no such file")
        }
        guard st.st_mode & S_IFMT != S_IFDIR else { throw Failure(description: "\(path): is a directory, not a payload") }
        let size = Int(st.st_size)
        guard size <= maximumFileSize else {
            throw Failure(description: "\(path): \(size) bytes is larger than any payload can be (256 MiB)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): cannot read the file")
        }
        let payload: Payload
        do {
            payload = try Payload(image: [UInt8](data), source: path)
        } catch {
            throw Failure(description: "\(path): \(error.description)")
        }
        // Reports, the known-divergence table and the file system must all name it alike.
        let base = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        guard payload.name == base else {
            throw Failure(description: "\(path): the header names the payload \"\(payload.name)\" but the file is \(base); they must be equal")
        }
        return payload
    }
}
