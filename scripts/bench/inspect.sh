#!/usr/bin/env bash
# Inspection speed on a 10 000-metric store: `dump --summary` and `verify`
# of the release binary (files/s, MB/s, wall and CPU time), and decoding
# the same files from memory, the CPU-bound ceiling (examples/inspect.rs).
#
#   scripts/bench/inspect.sh [--metrics N] [--dir STORE] [--cold]
#
# --dir keeps the store (built on the first run, reused after); --cold also
# times a cold page cache (drops it: needs root, slows the whole machine for
# a moment).
set -euo pipefail
cd "$(dirname "$0")/../.."
while [ $# -gt 0 ]; do
    case "$1" in
        --metrics) export INSPECT_METRICS="$2"; shift 2 ;;
        --dir) export INSPECT_DIR="$2"; shift 2 ;;
        --cold) export INSPECT_COLD=1; shift ;;
        *) echo "usage: $0 [--metrics N] [--dir STORE] [--cold]" >&2; exit 2 ;;
    esac
done
cargo build --release --quiet --bin carbonara --example inspect
exec target/release/examples/inspect
