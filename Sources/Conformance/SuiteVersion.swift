import PayloadFormat

/// Which kvm-unit this is: the suite's version, the commit it was built from and when.
/// `kvm-unit --version` prints `description`; reports can carry the fields.
///
/// The commit and build date are stamped by scripts/build-release.sh (it writes
/// BuildStamp.generated.swift and compiles with KVM_UNIT_BUILD_STAMP); a plain `swift build`
/// uses the committed fallback in BuildStamp.swift, which says it is unstamped.
public enum SuiteVersion {
    /// The suite's version: payload catalogue, divergence table and harness together.
    public static let version = "0.1.0"
    /// The git commit (12 hex digits, `-dirty` when the tree had changes), or "unknown".
    public static let commit = BuildStamp.commit
    /// UTC build time in ISO 8601 (`2026-12-03T09:50:00Z`), or "unknown".
    public static let buildDate = BuildStamp.date
    /// The payload ABI this binary runs (guests/README.md).
    public static let payloadABI = PayloadHeader.abiVersion

    /// One line: `kvm-unit 0.1.0 (commit 0123456789ab, built 2026-12-03T09:50:00Z, payload ABI v1)`.
    public static var description: String {
        "kvm-unit \(version) (commit \(commit), built \(buildDate), payload ABI v\(payloadABI))"
    }
}
