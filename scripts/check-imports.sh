#!/bin/bash
# Every file in Sources/ that the kvm-unit binary links must import FoundationEssentials, with
# full Foundation only as the fallback where FoundationEssentials is missing: full Foundation
# drags ICU (~30 MB) into the static release binary (DESIGN.md, issue 16). build-release.sh
# catches it too, but only after a long release link; this finds the file in a second.
# (payload-assembler is a build-time plugin tool, never in the binary.)
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(find Sources -name '*.swift' -not -path 'Sources/payload-assembler/*' -print0 |
      xargs -0 awk '/^import Foundation$/ && prev !~ /^#else/ {print FILENAME ":" FNR} {prev=$0}')
if [ -n "$bad" ]; then
    echo "check-imports: import FoundationEssentials (with '#else import Foundation') instead of Foundation in:" >&2
    echo "$bad" >&2
    exit 1
fi
