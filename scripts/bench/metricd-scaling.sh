#!/usr/bin/env bash
# Throughput of 1, 2 and 3 `carbonara metricd` workers on one deployment:
# S3 storage (one Garage node), Redis incoming and coordination, a
# PostgreSQL indexer, all started here on free loopback ports and stopped
# by PID (scripts/bench/metricd_scaling.py says what is measured).
#
#   scripts/bench/metricd-scaling.sh [--workers 1,2,3] [--metrics 500]
#       [--points 6] [--rounds 3] [--json FILE] [--tmpdir DIR]
#
# Needs a Python with boto3 and redis-py (VENV, default .oracle-venv: the
# oracle's virtualenv), Garage (GARAGE, default ~/.cargo/bin/garage),
# redis-server on the PATH, PostgreSQL's server binaries (PGBIN, or
# /usr/lib/postgresql/*/bin); builds carbonara in release mode (or
# CARBONARA=BINARY).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.oracle-venv}
if [ -z "${CARBONARA:-}" ]; then
    cargo build --release --quiet --bin carbonara
    CARBONARA=target/release/carbonara
fi
exec "$VENV/bin/python" scripts/bench/metricd_scaling.py --carbonara "$CARBONARA" \
    --garage "${GARAGE:-$HOME/.cargo/bin/garage}" "$@"
