#!/bin/bash
# Runs the conformance suite: every payload, on the backends that are usable here.
# Extra arguments go to `kvm-unit run` (see `swift run kvm-unit run --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product kvm-unit
exec .build/debug/kvm-unit run "$@"
