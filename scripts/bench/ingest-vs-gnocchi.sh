#!/usr/bin/env bash
# Times `carbonara ingest csv` and the real Gnocchi 4.7.1's measure intake
# on the same generated 10-million-line CSV, in one run, and prints lines/s
# for both and the ratio.
#
#   scripts/bench/ingest-vs-gnocchi.sh [--tmpdir DIR] [--lines N] [--metrics N]
#
# Needs the oracle virtualenv ($VENV, default .oracle-venv, created with
# ../shared/oracle/setup_venv.sh when missing); builds carbonara in release
# mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.oracle-venv}
ORACLE=${ORACLE:-../shared/oracle}
[ -x "$VENV/bin/python" ] || "$ORACLE/setup_venv.sh" "$VENV" >&2
cargo build --release --quiet
exec "$VENV/bin/python" scripts/bench/ingest_vs_gnocchi.py --oracle "$ORACLE" \
    --carbonara target/release/carbonara "$@"
