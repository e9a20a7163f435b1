import Foundation

/// Prints one line to stderr and exits: 2 for usage and setup errors (the runner's convention).
func fail(_ message: String, status: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data("kvm-unit: \(message)\n".utf8))
    exit(status)
}
