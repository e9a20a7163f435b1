#!/bin/bash
# Builds the self-contained kvm-unit: one static executable (swiftc -static-executable)
# holding the Swift runtime, FoundationEssentials (no ICU: nothing in the binary imports
# full Foundation), Dispatch, libstdc++ and glibc, with the payload catalogue and the
# divergence table embedded. It needs only the kernel (and /dev/kvm for the kvm backend):
#
#     scripts/build-release.sh            # -> .build/release/kvm-unit
#
# The version, the commit (with -dirty when the tree has changes) and the UTC build date go
# into the binary through Sources/Conformance/BuildStamp.generated.swift, written here and
# removed afterwards (a plain `swift build` uses the committed fallback, BuildStamp.swift).
# SOURCE_DATE_EPOCH, when set, fixes the build date (reproducible builds).
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=Sources/Conformance/BuildStamp.generated.swift
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit-dirty"
fi
date=$(date -u ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH} +%Y-%m-%dT%H:%M:%SZ)

trap 'rm -f "$stamp"' EXIT
cat > "$stamp" <<SWIFT
// Written by scripts/build-release.sh; not committed.
#if KVM_UNIT_BUILD_STAMP
enum BuildStamp {
    static let commit = "$commit"
    static let date = "$date"
}
#endif
SWIFT

start=$(date +%s)
swift build -c release --product kvm-unit -Xswiftc -static-executable -Xswiftc -DKVM_UNIT_BUILD_STAMP
end=$(date +%s)

binary=$(swift build -c release --show-bin-path)/kvm-unit
# Acceptance: nothing from the Swift toolchain (or ICU) may be loaded at run time. A fully
# static executable makes ldd say "not a dynamic executable" (and exit 1).
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")
libraries=$(ldd "$binary" 2>&1 || true)
if grep -E "$toolchain|libswift|libFoundation|libicu|_FoundationICU|libdispatch|libBlocksRuntime" <<<"$libraries"; then
    echo "build-release: $binary still loads the libraries above" >&2
    exit 1
fi
# Full Foundation (and with it ICU, ~30 MB) must not be linked in: see DESIGN.md.
if grep -q -E ' \$s10Foundation|uprv_' <(nm "$binary"); then
    echo "build-release: $binary links full Foundation or ICU: a file imports Foundation instead of FoundationEssentials" >&2
    exit 1
fi
echo "built $binary in $((end - start)) s: $(stat -c %s "$binary") bytes"
echo "ldd: $libraries"
"$binary" --version
