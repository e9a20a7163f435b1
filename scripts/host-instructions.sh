#!/usr/bin/env bash
# Host instructions per guest instruction of the reference engine on `kvm-unit bench ref`
# loops, counted by valgrind's callgrind: a measure of engine speed that does not depend on
# the machine's load or clock, for A/B comparisons where the wall clock cannot settle them
# (a busy or throttled machine; DESIGN.md "Issue 13"). It is not the benchmark: the bench's
# ratios are wall-clock MIPS against Bochs and QEMU; this counts work, not time (a change
# that trades instructions for branch mispredictions or cache misses shows as a gain here).
#
#   scripts/host-instructions.sh KVM_UNIT_BINARY [LOOP ...]
#
# Each loop runs twice under callgrind, at N and 3N iterations (N ~ 10^6 / instructions per
# iteration); the difference of the two totals over the difference of the guest instructions
# retired leaves out everything paid once (start-up, the check run at the default count).
# Needs valgrind (apt-get install valgrind). A release build is what the bench measures:
# scripts/build-release.sh, then .build/release/kvm-unit.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 KVM_UNIT_BINARY [LOOP ...]  (an executable kvm-unit, e.g. .build/release/kvm-unit)" >&2
    exit 2
fi
if ! command -v valgrind > /dev/null; then
    echo "$0: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
fi
bin=$1
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
loops=("$@")
if [ ${#loops[@]} -eq 0 ]; then
    mapfile -t loops < <(ls "$root"/guests/*/bench_*.asm | xargs -n1 basename | sed 's/\.asm$//' | sort)
fi

# valgrind cannot read the static binary's debug information: count a stripped copy.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$bin" "$work/kvm-unit"
strip --strip-debug "$work/kvm-unit"

printf "%-24s %s\n" "loop" "host instructions per guest instruction"
for loop in "${loops[@]}"; do
    out=$("$work/kvm-unit" bench ref --ref-only --runs 1 --iterations 1000 "$loop" 2>&1) || {
        echo "$loop: the bench failed at 1000 iterations:" >&2; echo "$out" >&2; exit 1; }
    per=$(echo "$out" | grep -o "retired T(N) - T(0) = [0-9]*" | awk '{print int($NF / 1000)}')
    if [ -z "$per" ] || [ "$per" -le 0 ]; then echo "$loop: no retired count in: $out" >&2; exit 1; fi
    n1=$((1000000 / per)); [ "$n1" -ge 1 ] || n1=1
    n2=$((3 * n1))
    totals=()
    for n in $n1 $n2; do
        t=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$work/kvm-unit" bench ref --ref-only \
                --runs 1 --iterations "$n" "$loop" 2>&1 | awk '/Collected :/ {print $NF}')
        [ -n "$t" ] || { echo "$loop: callgrind gave no total at $n iterations" >&2; exit 1; }
        totals+=("$t")
    done
    awk -v l="$loop" -v a="${totals[0]}" -v b="${totals[1]}" -v g="$(( (n2 - n1) * per ))" \
        'BEGIN { printf "%-24s %.1f\n", l, (b - a) / g }'
done
