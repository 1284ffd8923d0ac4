#!/usr/bin/env bash
# Times carbonara's aggregation pass and the real Gnocchi 4.7.1 metricd on
# the same generated data, then both reading every aggregate back, in one
# run, and prints points/s and the ratios.
#
#   scripts/bench/vs-gnocchi.sh [--tmpdir DIR] [--metrics N] [--points N] [--policies medium,high]
#       [--workloads a,b,c] [--repeat 3] [--live-metrics 10000] [--live-points 10] [--live-passes 10]
#
# The stores of both engines go under --tmpdir (default $TMPDIR or /tmp):
# compare on the same filesystem. Needs the oracle virtualenv ($VENV,
# default .oracle-venv, created with ../shared/oracle/setup_venv.sh when
# missing) and builds carbonara in release mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.oracle-venv}
ORACLE=${ORACLE:-../shared/oracle}
[ -x "$VENV/bin/python" ] || "$ORACLE/setup_venv.sh" "$VENV" >&2
cargo build --release --quiet --bin carbonara --example vs_gnocchi
exec "$VENV/bin/python" scripts/bench/vs_gnocchi.py --oracle "$ORACLE" --carbonara target/release/carbonara \
    --pass-bench target/release/examples/vs_gnocchi "$@"
