#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Glibc

/// Prints one line to stderr and exits: 2 for usage and setup errors (the runner's convention).
func fail(_ message: String, status: Int32 = 2) -> Never {
    writeStandardError("kvm-unit: \(message)\n")
    exit(status)
}

/// Writes `text` to fd 2 (FileHandle is not in FoundationEssentials; the C `stderr` global
/// is shared mutable state to Swift 6).
func writeStandardError(_ text: String) {
    var text = text
    text.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
