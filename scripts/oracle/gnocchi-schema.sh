#!/usr/bin/env bash
# Regenerates tests/golden/gnocchi-schema/ with the real Gnocchi 4.7.1: its
# gnocchi-upgrade run on empty PostgreSQL databases, then a resource type
# created and updated through its indexer, each result dumped by pg_dump.
#
#   scripts/oracle/gnocchi-schema.sh
#
# Needs the oracle virtualenv ($VENV, default .oracle-venv; made by
# ../shared/oracle/setup_venv.sh) and PostgreSQL's server binaries ($PGBIN,
# default the newest /usr/lib/postgresql/*/bin: apt-get install postgresql).
# Starts its own throwaway server on a free loopback port and stops it by
# its PID at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${VENV:-.oracle-venv}
# Gnocchi keeps aggregation methods in a Python set and stores it as a JSON
# list in the set's order, which string hashing randomises: a fixed seed
# makes the dumps the same from run to run (the order means nothing).
export PYTHONHASHSEED=0
OUT=tests/golden/gnocchi-schema
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] || { echo "no PostgreSQL server binaries (apt-get install postgresql, or set PGBIN)" >&2; exit 1; }
[ -x "$VENV/bin/gnocchi-upgrade" ] || { echo "no oracle virtualenv at $VENV (../shared/oracle/setup_venv.sh $VENV)" >&2; exit 1; }

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

D=$(mktemp -d)
PGPID=
cleanup() {
    if [ -n "$PGPID" ]; then
        kill -INT "$PGPID" 2>/dev/null || true
        while kill -0 "$PGPID" 2>/dev/null; do sleep 0.1; done
    fi
    rm -rf "$D"
}
trap cleanup EXIT
chmod 755 "$D"
mkdir "$D/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$D/pg"
as_pg "$PGBIN/initdb" -D "$D/pg/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$D/initdb.log"
PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/postgres" -D "$D/pg/data" -p "$PORT" -k "$D/pg" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off >"$D/postgres.log" 2>&1 &
for _ in $(seq 1 300); do
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.1
done
PGPID=$(head -1 "$D/pg/data/postmaster.pid")

psql_() { "$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q "$@"; }
# A fixed \restrict key (pg_dump draws a random one): same input, same bytes.
dump() { "$PGBIN/pg_dump" -h 127.0.0.1 -p "$PORT" -U postgres --restrict-key=gnocchi "$@"; }

# One database and one gnocchi.conf (PostgreSQL indexer, file storage and
# incoming) per deployment.
deployment() {
    local name=$1
    psql_ -d postgres -c "CREATE DATABASE $name"
    mkdir -p "$D/$name"
    cat >"$D/$name.conf" <<CONF
[indexer]
url = postgresql://postgres@127.0.0.1:$PORT/$name
[storage]
driver = file
file_basepath = $D/$name
[incoming]
driver = file
file_basepath = $D/$name
CONF
}

upgrade() {
    local name=$1
    shift
    "$VENV/bin/gnocchi-upgrade" --config-file "$D/$name.conf" "$@" >"$D/$name-upgrade.log" 2>&1 || {
        cat "$D/$name-upgrade.log" >&2
        exit 1
    }
}

mkdir -p "$OUT/resource-type"

deployment bare
upgrade bare --skip-archive-policies-creation
dump --schema-only --no-owner --no-privileges bare >"$OUT/schema.sql"
dump --data-only --inserts bare >"$OUT/data-no-policies.sql"

deployment defaults
upgrade defaults
dump --data-only --inserts defaults >"$OUT/data-default.sql"
# The default policies are rows only: the schema is the same.
diff <(dump --schema-only --no-owner --no-privileges defaults) "$OUT/schema.sql" >&2

# A resource type's own tables, after creation and after an update; the
# resource_type row with them (its tablename is random: rt_<uuid4 hex>).
deployment rtype
upgrade rtype --skip-archive-policies-creation
for step in create update; do
    "$VENV/bin/python" scripts/oracle/gnocchi_resource_type.py "$D/rtype.conf" "$step" \
        >"$OUT/resource-type/$step.json"
    dump --schema-only --no-owner --no-privileges -t 'public.rt_*' rtype >"$OUT/resource-type/$step.sql"
    dump --data-only --inserts -t public.resource_type rtype >"$OUT/resource-type/$step-row.sql"
done
"$VENV/bin/python" -c 'import gnocchi, sqlalchemy, alembic, psycopg2; print("gnocchi", gnocchi.__version__, "sqlalchemy", sqlalchemy.__version__, "alembic", alembic.__version__, "psycopg2", psycopg2.__version__.split()[0])' >"$OUT/versions.txt"
"$PGBIN/postgres" --version >>"$OUT/versions.txt"
echo "wrote $OUT"
