#!/usr/bin/env bash
# Runs Gnocchi 4.7.1's own functional tests — the gabbi files of
# gnocchi/tests/functional/gabbits/ — against `carbonara serve` (release
# build) on a fresh SQLite store directory and on a fresh PostgreSQL-backed
# store, one fresh store and server per file, set up as Gnocchi's
# ConfigFixture sets up gnocchi-api (gabbi_run.py says how). Prints the
# table of passes per backend and every test that passes on one backend and
# not on the other; exits 1 when the backends differ.
#
#   scripts/oracle/gabbi.sh [FILE.yaml ...]       (default: every file)
#
# $GABBI_VENV (default .gabbi-venv) is made on first use with
# `pip install gabbi==$GABBI_VERSION` (default 3.1.0: Gnocchi 4.7.1 requires
# gabbi<4); gabbi runs there, not in the oracle's virtualenv. The gabbi
# files are read from the oracle's installed gnocchi: $ORACLE_VENV (default
# .oracle-venv; made by ../shared/oracle/setup_venv.sh), or $GABBITS. PostgreSQL: $PGBIN (default:
# the newest /usr/lib/postgresql/*/bin, Debian's package), initdb into a
# temporary directory, a free loopback port, stopped by its PID at the end.
# $GABBI_JSON names a file for every test's outcome, $GABBI_LOGS a
# directory for every server's log; $GABBI_BACKENDS (default "sqlite
# postgresql") runs fewer, or adds `gnocchi`: the same files against the
# real gnocchi-api of the oracle's real_gnocchi.sh, in $ORACLE_DIR (default
# ../shared/oracle beside the repository), with its own PostgreSQL, ports
# and directory here and a fresh deployment per file, as a reference column.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${GABBI_VENV:-.gabbi-venv}
VERSION=${GABBI_VERSION:-3.1.0}
BACKENDS=${GABBI_BACKENDS:-sqlite postgresql}

if [ -z "${GABBITS:-}" ]; then
    ORACLE_VENV=${ORACLE_VENV:-.oracle-venv}
    GABBITS=$(ls -d "$ORACLE_VENV"/lib/python3*/site-packages/gnocchi/tests/functional/gabbits 2>/dev/null | head -1)
    [ -n "$GABBITS" ] || {
        echo "no gnocchi in the oracle virtualenv $ORACLE_VENV (set ORACLE_VENV or GABBITS)" >&2; exit 1; }
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import gabbi' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "gabbi==$VERSION"
fi
cargo build -q --release --bin carbonara
TARGET=$(cargo metadata --format-version 1 --no-deps | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

D=$(mktemp -d)
chmod 755 "$D"  # the servers' user (postgres) works in it
PGPID=
PGCHILD=
REAL=
stop() {
    if [ -n "$REAL" ]; then "$REAL" stop || true; fi
    if [ -n "$PGPID" ]; then
        kill -INT "$PGPID" 2>/dev/null || true
        wait "$PGCHILD" 2>/dev/null || true
    fi
    [ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap stop EXIT

args=(--carbonara "$TARGET/release/carbonara" --gabbits "$GABBITS")
for backend in $BACKENDS; do args+=(--backend "$backend"); done
[ -n "${GABBI_JSON:-}" ] && args+=(--json "$GABBI_JSON")
[ -n "${GABBI_LOGS:-}" ] && args+=(--logs "$GABBI_LOGS")

if [[ " $BACKENDS " == *" postgresql "* ]]; then
    PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
    [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || {
        echo "PostgreSQL server not found (apt-get install postgresql, or set PGBIN)" >&2; exit 1; }
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    mkdir "$D/pg"
    [ "$(id -u)" = 0 ] && chown postgres: "$D/pg"
    as_pg "$PGBIN/initdb" -A trust -U postgres -E UTF8 --locale=C --no-sync -D "$D/pg/data" >"$D/initdb.log" 2>&1 || {
        cat "$D/initdb.log" >&2; exit 1; }
    PGPORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_pg "$PGBIN/postgres" -D "$D/pg/data" -p "$PGPORT" -k "$D/pg" \
        -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        </dev/null >"$D/postgres.log" 2>&1 &
    PGCHILD=$!
    for _ in $(seq 1 600); do
        if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then break; fi
        kill -0 "$PGCHILD" 2>/dev/null || { cat "$D/postgres.log" >&2; exit 1; }
        sleep 0.1
    done
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT" || { cat "$D/postgres.log" >&2; exit 1; }
    PGPID=$(head -1 "$D/pg/data/postmaster.pid")
    args+=(--pg-url "postgresql://postgres@127.0.0.1:$PGPORT" --pg-bin "$PGBIN")
fi

if [[ " $BACKENDS " == *" gnocchi "* ]]; then
    ORACLE_DIR=${ORACLE_DIR:-../shared/oracle}
    [ -x "$ORACLE_DIR/real_gnocchi.sh" ] || {
        echo "no real_gnocchi.sh in $ORACLE_DIR (set ORACLE_DIR)" >&2; exit 1; }
    REAL=$(cd "$ORACLE_DIR" && pwd)/real_gnocchi.sh
    free() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
    export ORACLE_VENV=$(cd "${ORACLE_VENV:-.oracle-venv}" && pwd)
    export GNOCCHI_RUN_DIR=$D/real GNOCCHI_API_PORT=$(free) GNOCCHI_PG_PORT=$(free)
    "$REAL" start >/dev/null
    args+=(--real-gnocchi "$REAL" --gnocchi-port "$GNOCCHI_API_PORT")
fi

"$VENV/bin/python" scripts/oracle/gabbi_run.py "${args[@]}" "$@"
