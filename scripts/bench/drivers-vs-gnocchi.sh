#!/usr/bin/env bash
# carbonara against the real Gnocchi 4.7.1 on S3 storage (a Garage node),
# Redis incoming and Redis coordination (a redis-server) and a PostgreSQL
# indexer, side by side in one run on the same servers and the same data
# (the S3/Redis sibling of deployment-vs-gnocchi.sh, whose Gnocchi pass and
# data it shares):
#
#   bulk     10 metrics x 100 000 one-second points in one batch
#   batches  the same in 100 batches, a pass after each
#   many     10 000 metrics x 10 points in one batch
#
# each processed by Gnocchi's metricd pass (in-process, the deployment's own
# drivers and tooz coordinator) and by `carbonara --gnocchi-conf COPY
# process` on an identical copy (its own database, bucket prefix and Redis
# databases, the same incoming bytes); medians of --repeat runs, the ratio,
# the archives compared, and the Redis commands (INFO commandstats) and S3
# requests (Garage's request log) of each pass against the least the
# layout allows. Details: scripts/bench/drivers_vs_gnocchi.py.
#
#   scripts/bench/drivers-vs-gnocchi.sh [--workloads bulk,batches,many] [--repeat 3]
#       [--metrics 10] [--points 100000] [--batches 100] [--many-metrics 10000]
#       [--many-points 10] [--policy high|medium|low] [--json FILE] [--tmpdir DIR] [--keep]
#
# Needs the oracle (ORACLE, default ../shared/oracle: real_gnocchi.sh) and
# its virtualenv (VENV, default .oracle-venv: gnocchi 4.7.1 with its
# PostgreSQL extras, boto3, redis-py), Garage (GARAGE, default
# ~/.cargo/bin/garage), redis-server on the PATH, PostgreSQL's server
# binaries; builds carbonara in release mode (or CARBONARA=BINARY).
# Everything it starts (Garage, redis-server, PostgreSQL, gnocchi-api) runs
# on free loopback ports under one directory in --tmpdir, is stopped by PID
# at the end and the directory removed. Exit status 1 if the archives differ.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.oracle-venv}
ORACLE=${ORACLE:-../shared/oracle}
if [ -z "${CARBONARA:-}" ]; then
    cargo build --release --quiet --bin carbonara
    CARBONARA=target/release/carbonara
fi
exec "$VENV/bin/python" scripts/bench/drivers_vs_gnocchi.py --oracle "$ORACLE" --venv "$VENV" \
    --carbonara "$CARBONARA" --garage "${GARAGE:-$HOME/.cargo/bin/garage}" "$@"
