#if canImport(FoundationEssentials)
import FoundationEssentials  // not Foundation: its ICU would add ~30 MB to the static binary
#else
import Foundation
#endif
import Glibc

/// A report file (`--json`, `--junit`), opened the way a shell's `>` opens it: through a
/// symlink to its target, into a FIFO or /dev/stdout as a stream, onto a character device as
/// writes to it. Never a temporary file renamed over the path: the suite runs as root, and
/// a rename would replace /dev/full or a symlink's target with a regular file.
///
/// Opened before the run starts, so a path that cannot be written stops the run (exit 2)
/// before any payload runs.
public final class ReportFile: @unchecked Sendable {
    public struct OpenError: Error, CustomStringConvertible {
        public let description: String
    }

    public let path: String
    private var fd: Int32
    /// The first write error, as a sentence; later writes are dropped.
    public private(set) var writeError: String?

    public init(path: String) throws(OpenError) {
        self.path = path
        // /dev/stdout is our own stdout: share its offset (dup) rather than reopen it, which
        // would truncate a redirected file and overwrite the text report already in it.
        // O_NOCTTY: a report written to a terminal must not make it our controlling tty.
        let fd = path == "/dev/stdout" ? dup(STDOUT_FILENO)
            : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0o644)
        guard fd >= 0 else {
            let e = errno
            let why = e == EISDIR ? "is a directory" : "cannot be written: \(String(cString: strerror(e)))"
            throw OpenError(description: "\(path) \(why)")
        }
        self.fd = fd
    }

    deinit { if fd >= 0 { Glibc.close(fd) } }

    /// Writes all of `text`, retrying short writes and EINTR. A failure is remembered
    /// (`writeError`) for the caller to report once, not raised mid-run.
    public func write(_ text: String) {
        guard writeError == nil, fd >= 0 else { return }
        var bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                writeError = "\(path): write failed: \(String(cString: strerror(errno)))"
                return
            }
            done += n
        }
    }

    /// Closes the file; a close error (e.g. a delayed ENOSPC on NFS) counts as a write error.
    public func close() {
        guard fd >= 0 else { return }
        if Glibc.close(fd) != 0, writeError == nil {
            writeError = "\(path): close failed: \(String(cString: strerror(errno)))"
        }
        fd = -1
    }
}
