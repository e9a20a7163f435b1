import Foundation
import Testing

/// 1,000 HostKVM VM lifecycles leave the process with as many open fds and mappings as
/// before.
///
/// Swift Testing runs the other tests in parallel in this process, and they open fds and
/// map memory, so the counting happens in a child process: `kvm-unit selftest
/// lifecycle-leaks`, built next to this test binary (HostKVMTests depends on kvm-unit).
@Suite("HostKVM lifecycle leaks", .enabled(if: HostKVM.usable, HostKVM.skipReason))
struct LifecycleLeakTests {
    static let lifecycles = 1000

    /// `kvm-unit` in the directory of the running test binary.
    static var kvmUnit: URL {
        let me = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        return me.deletingLastPathComponent().appendingPathComponent("kvm-unit")
    }

    @Test("1,000 lifecycles leave fds and mappings unchanged (in a child process)")
    func lifecyclesDoNotLeak() throws {
        let run = try CommandLineTests.kvmUnit(["selftest", "lifecycle-leaks", "--count", String(Self.lifecycles)])
        let (stdout, stderr) = (run.stdout, run.stderr)

        let fds = Self.pair(after: "fds before/after ", in: stdout)
        let maps = Self.pair(after: "mappings before/after ", in: stdout)
        #expect(run.status == 0, "kvm-unit exited \(run.status)\n\(stdout)\(stderr)")
        #expect(stdout.contains("lifecycles \(Self.lifecycles)\n"))
        let f = try #require(fds, "no fd counts in:\n\(stdout)\(stderr)")
        let m = try #require(maps, "no mapping counts in:\n\(stdout)\(stderr)")
        #expect(f.before > 0)
        #expect(f.before == f.after, "open fds")
        #expect(m.before > 0)
        #expect(m.before == m.after, "mappings")
    }

    /// `<prefix>A/B` on a line of its own -> (A, B).
    static func pair(after prefix: String, in text: String) -> (before: Int, after: Int)? {
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            let parts = line.dropFirst(prefix.count).split(separator: "/")
            guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else { return nil }
            return (a, b)
        }
        return nil
    }
}
