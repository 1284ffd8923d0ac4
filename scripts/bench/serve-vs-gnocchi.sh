#!/usr/bin/env bash
# `carbonara serve` and `carbonara statsd` against gnocchi-api (under uwsgi,
# as the package runs it) and gnocchi-statsd, in one run, under the same
# load from examples/serve_load.rs (see scripts/bench/serve_vs_gnocchi.py):
#
#   scripts/bench/serve-vs-gnocchi.sh [--tmpdir DIR] [--seconds N]
#       [--loads batch,single,single16] [--statsd-rates 50000,250000,500000,1000000]
#       [--statsd-seconds N] [--repeat 3]
#
# Needs the oracle ($ORACLE, default ../shared/oracle: real_gnocchi.sh) and
# its virtualenv ($VENV, default .oracle-venv) with uwsgi installed
# (`$VENV/bin/pip install uwsgi`), and PostgreSQL's server binaries; builds
# carbonara and the load generator in release mode. Everything it starts is
# stopped at the end and its directory under --tmpdir removed.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.oracle-venv}
ORACLE=${ORACLE:-../shared/oracle}
cargo build --release --quiet --bin carbonara --example serve_load
exec "$VENV/bin/python" scripts/bench/serve_vs_gnocchi.py --oracle "$ORACLE" --venv "$VENV" \
    --carbonara target/release/carbonara --serve-load target/release/examples/serve_load "$@"
