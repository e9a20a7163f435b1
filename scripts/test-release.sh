#!/bin/bash
# Issue 16 acceptance: the self-contained kvm-unit runs on a host without the Swift
# toolchain. Builds it (scripts/build-release.sh), then, in a private mount namespace with
# an empty tmpfs over the toolchain directory, checks that
#   - the development build cannot start there (so the toolchain really is hidden),
#   - the release binary's --version names the version and this commit,
#   - it runs the whole catalogue with the same SUMMARY as the development build: on ref
#     (deterministic) and, when /dev/kvm is usable, on both backends.
# Needs root (or CAP_SYS_ADMIN) for the mount namespace; without it the hidden-toolchain
# runs are skipped with the reason printed and the comparisons run in the normal namespace.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-release.sh
release=$(swift build -c release --show-bin-path)/kvm-unit
swift build --product kvm-unit
dev=$(swift build --show-bin-path)/kvm-unit

toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")  # .../usr
[ "$(basename "$toolchain")" = usr ] && toolchain=$(dirname "$toolchain")
if unshare -m true 2>/dev/null; then
    hidden() { unshare -m sh -c 'mount -t tmpfs kvm-unit-no-toolchain "$0" && exec "$@"' "$toolchain" "$@"; }
    if hidden "$dev" --version >/dev/null 2>&1; then
        echo "test-release: FAIL: the development build still starts with $toolchain hidden" >&2
        exit 1
    fi
    echo "toolchain $toolchain hidden: the development build cannot start"
else
    echo "SKIP: hiding the toolchain needs a mount namespace (unshare -m: root or CAP_SYS_ADMIN); running unhidden"
    hidden() { "$@"; }
fi

version=$(hidden "$release" --version)
echo "$version"
commit=$(git rev-parse --short=12 HEAD)
case "$version" in
    "kvm-unit "*"(commit $commit"*) ;;
    *) echo "test-release: FAIL: --version does not name commit $commit" >&2; exit 1 ;;
esac

# summary LABEL ARGS...: the SUMMARY lines of the release (hidden) and development runs must
# match. Verdicts are stable run to run (kvm-unit run --repeat 20 under load changes none),
# so a mismatch is a failure at once, never retried.
summary() {
    local label=$1; shift
    local a b
    a=$(cd /tmp && hidden "$release" run -j 2 "$@" | grep '^SUMMARY:') || true
    b=$("$dev" run -j 2 "$@" | grep '^SUMMARY:') || true
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
        echo "$label: release and development builds agree: $a"
        return 0
    fi
    echo "test-release: FAIL: $label SUMMARY differs: release: ${a:-no SUMMARY}; development: ${b:-no SUMMARY}" >&2
    exit 1
}
summary "ref" --backend ref
if "$dev" probe >/dev/null 2>&1; then
    summary "kvm and ref" --backend both
else
    echo "SKIP: kvm and ref: $("$dev" probe 2>&1 | head -1)"
fi
