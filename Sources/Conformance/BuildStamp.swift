// The fallback build stamp of a plain `swift build`. scripts/build-release.sh writes
// BuildStamp.generated.swift (ignored by git) with the real values and compiles with
// -DKVM_UNIT_BUILD_STAMP, which switches this one off.
#if !KVM_UNIT_BUILD_STAMP
enum BuildStamp {
    static let commit = "unknown (not built by scripts/build-release.sh)"
    static let date = "unknown"
}
#endif
