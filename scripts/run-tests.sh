#!/bin/bash
# Runs every test: the C shim's cmocka tests, all Swift Testing targets, then the
# self-contained release binary against the development build (scripts/test-release.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check-imports.sh
# cmocka prints its summary on stderr.
bash Tests/c/run.sh 2>&1
swift test --disable-xctest
# The self-contained release binary, with the Swift toolchain hidden (issue 16).
scripts/test-release.sh
