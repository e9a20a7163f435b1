#!/bin/bash
# Installs what the suite needs from Debian when it is missing: nasm (assembles the guest
# payloads during `swift build`), libcmocka-dev (the C shim's tests), and the readers the
# report tests hand the reports to: perl (prove, TAP::Parser), libxml2-utils (xmllint for
# the JUnit schema), python3 with PyYAML and jsonschema (TAP's YAML blocks, the JSON
# schema). Idempotent.
set -euo pipefail

missing=()
command -v nasm >/dev/null 2>&1 || missing+=(nasm)
[ -f /usr/include/cmocka.h ] || missing+=(libcmocka-dev)
command -v prove >/dev/null 2>&1 || missing+=(perl)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
python3 -c 'import jsonschema' >/dev/null 2>&1 || missing+=(python3-jsonschema)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "setup: need ${missing[*]}: run 'apt-get install ${missing[*]}' as root" >&2
    exit 1
fi
