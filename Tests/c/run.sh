#!/bin/bash
# Builds and runs the cmocka tests of the CKVM shim (Sources/CKVM) against linux/kvm.h.
# Usage: bash Tests/c/run.sh   (from anywhere; builds into Tests/c/build/)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="$here/build"
ckvm="$root/Sources/CKVM"

if [ ! -f /usr/include/cmocka.h ] && ! pkg-config --exists cmocka 2>/dev/null; then
    echo "Tests/c/run.sh: libcmocka is missing (apt-get install libcmocka-dev)" >&2
    exit 1
fi
cflags="$(pkg-config --cflags cmocka 2>/dev/null || true)"
libs="$(pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)"

mkdir -p "$build"
# shellcheck disable=SC2086
gcc -std=gnu11 -O1 -g -Wall -Wextra -Werror \
    -I"$ckvm/include" $cflags \
    -DCKVM_SOURCE="\"$ckvm/ckvm.c\"" \
    -o "$build/ckvm_tests" \
    "$here/ckvm_tests.c" "$ckvm/ckvm.c" \
    $libs -lpthread

status=0
"$build/ckvm_tests" || status=$?
exit "$status"
