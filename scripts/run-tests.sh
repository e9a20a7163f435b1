#!/bin/bash
# Runs every test: the C shim's cmocka tests, then all Swift Testing targets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# cmocka prints its summary on stderr.
bash Tests/c/run.sh 2>&1
swift test --disable-xctest
