#!/usr/bin/env bash
# carbonara against the real Gnocchi 4.7.1 on one PostgreSQL + file
# deployment (the oracle's real_gnocchi.sh), in one run, on the same data:
#
#   1. 10 metrics x 100 000 one-second points posted to gnocchi-api's batch
#      endpoint as one batch, then (fresh deployment) as 100 batches;
#   2. after each batch, gnocchi-metricd's pass (Chef.process_new_measures_for_sack
#      over every sack, in-process, the deployment's drivers, indexer and
#      tooz PostgreSQL locks) and `carbonara --gnocchi-conf COPY process` on
#      an identical copy of the deployment (database from a template,
#      storage directory copied, the same incoming files), both timed;
#   3. the archive files of both compared byte for byte, the ratio (median
#      of --repeat runs), and the statements and sessions each sent
#      PostgreSQL per pass (its log, in one more run);
#   4. `carbonara serve` on the deployment (PostgreSQL) and on a store
#      directory (SQLite): single-measure POSTs and whole-series GETs
#      (examples/serve_load.rs).
#
#   scripts/bench/deployment-vs-gnocchi.sh [--tmpdir DIR] [--metrics N] [--points N]
#       [--batches 1,100] [--repeat 3] [--policy high|medium|low] [--seconds N]
#       [--serve single,single100,get|none]
#
# Needs the oracle ($ORACLE, default ../shared/oracle: real_gnocchi.sh) and
# its virtualenv with Gnocchi's PostgreSQL extras ($VENV, default
# .oracle-venv), PostgreSQL's server binaries (/usr/lib/postgresql/*/bin);
# builds carbonara and the load generator in release mode. Everything it
# starts (its own PostgreSQL on a free port, gnocchi-api, the servers) is
# stopped at the end and its directory under --tmpdir removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.oracle-venv}
ORACLE=${ORACLE:-../shared/oracle}
cargo build --release --quiet --bin carbonara --example serve_load
exec "$VENV/bin/python" scripts/bench/deployment_vs_gnocchi.py --oracle "$ORACLE" --venv "$VENV" \
    --carbonara target/release/carbonara --serve-load target/release/examples/serve_load "$@"
