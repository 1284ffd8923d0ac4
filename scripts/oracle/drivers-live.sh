#!/usr/bin/env bash
# carbonara and the real Gnocchi 4.7.1 live on one kind of deployment:
# PostgreSQL indexer, S3 storage on a Garage node, Redis incoming, Redis
# (tooz) coordination; both directions, compared to the bit:
#
#   * Gnocchi -> carbonara: measures posted through gnocchi-api (no
#     gnocchi-metricd) aggregated by `carbonara --gnocchi-conf GNOCCHI.CONF
#     process`, read back through gnocchi-api, equal to what gnocchi-metricd
#     made of the same posts on a twin deployment (every
#     GET /v1/metric/ID/measures?aggregation=M&granularity=G, every object of
#     the aggregates bucket, the Redis incoming database);
#   * carbonara -> Gnocchi: measures posted through `carbonara serve
#     --gnocchi-conf GNOCCHI.CONF` aggregated by gnocchi-metricd, read back
#     through carbonara serve and gnocchi-api, equal to carbonara's own
#     processing of the same posts (and to the two above).
#
#   scripts/oracle/drivers-live.sh [--keep]
#
# Writes tests/golden/side-by-side/drivers_live.json (what was compared,
# counts, digests, `equal`). Details: scripts/oracle/drivers_live.py.
#
# Needs the oracle's scripts (ORACLE, default ../shared/oracle:
# real_gnocchi.sh) and virtualenv (ORACLE_VENV, default .oracle-venv:
# gnocchi 4.7.1 with its PostgreSQL extras, boto3, redis-py), Garage
# (GARAGE, default ~/.cargo/bin/garage), redis-server on the PATH,
# PostgreSQL's server binaries (/usr/lib/postgresql/*/bin or PGBIN), and a
# release build of carbonara (CARBONARA, default: `cargo build --release`).
# Everything runs on free loopback ports under one temporary directory; the
# servers (Garage, redis-server, four PostgreSQL clusters, gnocchi-api and
# gnocchi-metricd processes, carbonara serve) are stopped by PID at the end.
# Exit status 1 on any difference (printed); the directory (every log) is
# then kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/oracle/live-env.sh
. scripts/oracle/live-env.sh
live_python scripts/oracle/drivers_live.py tests/golden/side-by-side/drivers_live.json "$@"
