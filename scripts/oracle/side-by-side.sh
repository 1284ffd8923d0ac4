#!/usr/bin/env bash
# Runs carbonara side by side with a real Gnocchi 4.7.1 deployment and
# records it in tests/golden/side-by-side/ (replayed without Python by
# tests/it/side_by_side.rs; see that directory's README).
#
#   scripts/oracle/side-by-side.sh [OPTION...] [PART...]
#                          parts: measures objects janitor resources past together
#                          (default: all); options: side_by_side.py's
#                          --together-metrics N, --together-batches N,
#                          --together-clients N
#
# The deployment is the oracle's real_gnocchi.sh (gnocchi-api on its own
# PostgreSQL, file storage and incoming drivers) without gnocchi-metricd
# (but for the together part, which starts one beside carbonara):
# measures are aggregated either by Gnocchi's own code (GET ...?refresh=true)
# or by `carbonara --gnocchi-conf $RUN/gnocchi.conf process`, which reads the
# very gnocchi.conf gnocchi-api runs with. The coordination URL is the
# deployment's PostgreSQL (tooz's driver), the one carbonara supports.
#
# Environment:
#   ORACLE_DIR    the oracle's scripts (default ../shared/oracle beside the
#                 repository): real_gnocchi.sh, serve_real_gnocchi.py
#   ORACLE_VENV   its virtualenv (default .oracle-venv; made by
#                 $ORACLE_DIR/setup_venv.sh)
#   SBS_RUN_DIR   the deployment's directory (default: a new temporary one,
#                 removed at the end)
#   SBS_API_PORT, SBS_PG_PORT  loopback ports (default: free ones)
#   CARBONARA     the binary (default: `cargo build`, target/debug/carbonara;
#                 `cargo build --release` when the together part runs)
#   PGBIN         PostgreSQL's binaries (default: the newest
#                 /usr/lib/postgresql/*/bin), for the server and pg_dump
#
# The deployment is stopped (by PID, real_gnocchi.sh stop) at the end. Exit
# status 1 when carbonara and Gnocchi differed anywhere: the differences are
# printed and kept in the recordings, and the deployment's directory (its
# logs) is kept too.
set -euo pipefail
cd "$(dirname "$0")/../.."
ORACLE_DIR=${ORACLE_DIR:-../shared/oracle}
ORACLE_VENV=${ORACLE_VENV:-.oracle-venv}
ORACLE_DIR=$(cd "$ORACLE_DIR" && pwd)
ORACLE_VENV=$(cd "$ORACLE_VENV" && pwd)
[ -x "$ORACLE_DIR/real_gnocchi.sh" ] || { echo "no real_gnocchi.sh in $ORACLE_DIR (set ORACLE_DIR)" >&2; exit 1; }
[ -x "$ORACLE_VENV/bin/gnocchi-api" ] || [ -x "$ORACLE_VENV/bin/python" ] || {
    echo "no oracle virtualenv at $ORACLE_VENV ($ORACLE_DIR/setup_venv.sh $ORACLE_VENV)" >&2; exit 1; }
PY=$ORACLE_VENV/bin/python
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/pg_dump" ] || { echo "no PostgreSQL binaries (apt-get install postgresql, or set PGBIN)" >&2; exit 1; }
export PGBIN

if [ -z "${CARBONARA:-}" ]; then
    # The together part races gnocchi-metricd: a release build, as deployed.
    if [ $# = 0 ] || printf '%s\n' "$@" | grep -qx together; then
        cargo build -q --release
        CARBONARA=$PWD/target/release/carbonara
    else
        cargo build -q
        CARBONARA=$PWD/target/debug/carbonara
    fi
fi

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
RUN=${SBS_RUN_DIR:-}
OWN_RUN=
if [ -z "$RUN" ]; then
    RUN=$(mktemp -d)
    OWN_RUN=1
fi
PG_PORT=${SBS_PG_PORT:-$(free_port)}
API_PORT=${SBS_API_PORT:-$(free_port)}

export ORACLE_VENV
export GNOCCHI_RUN_DIR=$RUN GNOCCHI_API_PORT=$API_PORT GNOCCHI_PG_PORT=$PG_PORT
export GNOCCHI_METRICD=0
export GNOCCHI_COORDINATION_URL="postgresql://postgres@127.0.0.1:$PG_PORT/gnocchi"
# Gnocchi keeps a policy's aggregation methods in a Python set and writes
# the set's order, which string hashing randomises: a fixed seed for
# gnocchi-api makes reruns write the same rows.
export PYTHONHASHSEED=0

stop() {
    local status=$?
    "$ORACLE_DIR/real_gnocchi.sh" stop || true
    if [ -n "$OWN_RUN" ]; then
        if [ "$status" = 0 ]; then
            rm -rf "$RUN"
        else
            # What differed is best read in the logs (gnocchi-metricd's
            # metricd-together.log, gnocchi-api's, PostgreSQL's).
            echo "kept the deployment's directory: $RUN" >&2
        fi
    fi
}
trap stop EXIT
URL=$("$ORACLE_DIR/real_gnocchi.sh" start | tail -1)

OUT=tests/golden/side-by-side
mkdir -p "$OUT"
"$PY" scripts/oracle/side_by_side.py --url "$URL" --conf "$RUN/gnocchi.conf" \
    --real-gnocchi "$ORACLE_DIR/real_gnocchi.sh" --carbonara "$CARBONARA" --pg-dump "$PGBIN/pg_dump" \
    --out "$OUT" "$@"
