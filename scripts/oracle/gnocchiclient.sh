#!/usr/bin/env bash
# Runs gnocchiclient 7.2.0's own functional tests (gnocchiclient/tests/
# functional, from its source release) against `carbonara serve` (release
# build) on a fresh store with the default archive policies and rule, set up
# as pifpaf sets up Gnocchi for them: basic authentication, the `gnocchi`
# and `openstack` commands of the client's virtualenv. With
# GNOCCHICLIENT_BACKENDS="carbonara gnocchi" it runs them against the real
# gnocchi-api of the oracle's real_gnocchi.sh too (gnocchi-upgrade run again
# without --skip-archive-policies-creation, as pifpaf runs it), as a
# reference column. Prints each test's outcome per backend; exits 1 when
# carbonara fails a test outside test_benchmark.py (whose `gnocchi
# benchmark` commands fail inside the client, on any server: its worker
# processes cannot pickle the client's session).
#
#   scripts/oracle/gnocchiclient.sh [TEST_FILE_OR_ID ...]   (default: all)
#
# $GNOCCHICLIENT_VENV (default .gnocchiclient-venv) is made on first use with
# gnocchiclient==7.2.0, python-openstackclient and pytest. The real Gnocchi
# needs $ORACLE_VENV (default .oracle-venv, made by
# ../shared/oracle/setup_venv.sh) and $ORACLE_DIR (default ../shared/oracle).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${GNOCCHICLIENT_VENV:-.gnocchiclient-venv}
BACKENDS=${GNOCCHICLIENT_BACKENDS:-carbonara}

if [ ! -x "$VENV/bin/gnocchi" ] || [ ! -x "$VENV/bin/openstack" ] || [ ! -x "$VENV/bin/pytest" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q gnocchiclient==7.2.0 python-openstackclient pytest
fi
VENV=$(cd "$VENV" && pwd)
cargo build -q --release --bin carbonara
TARGET=$(cargo metadata --format-version 1 --no-deps | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

D=$(mktemp -d)
chmod 755 "$D"  # the real Gnocchi's PostgreSQL runs as postgres in it
SERVE=
REAL=
stop() {
    if [ -n "$SERVE" ]; then kill "$SERVE" 2>/dev/null || true; wait "$SERVE" 2>/dev/null || true; fi
    if [ -n "$REAL" ]; then "$REAL" stop >/dev/null || true; fi
    [ -n "${KEEP:-}" ] || rm -rf "$D"
}
trap stop EXIT

# The tests ship in the source release only.
"$VENV/bin/pip" download -q --no-binary :all: --no-deps -d "$D" gnocchiclient==7.2.0
tar xzf "$D"/gnocchiclient-7.2.0.tar.gz -C "$D"
SRC=$D/gnocchiclient-7.2.0
[ $# -gt 0 ] || set -- gnocchiclient/tests/functional

free() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() {
    for _ in $(seq 1 300); do
        if "$VENV/bin/python" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1] + '/', timeout=1)" "$1" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "no API at $1" >&2; return 1
}

# Runs the tests against $1's endpoint $2, writing $D/$1.xml.
run_tests() {
    (cd "$SRC" && PIFPAF_GNOCCHI_HTTP_URL=$2 GNOCCHI_CLIENT_EXEC_DIR=$VENV/bin \
        "$VENV/bin/pytest" -q -o addopts= -p no:cacheprovider --junitxml="$D/$1.xml" "${@:3}" \
        >"$D/$1.log" 2>&1) || true
    tail -1 "$D/$1.log" | sed "s/^/$1: /"
}

for backend in $BACKENDS; do
    case $backend in
    carbonara)
        "$TARGET/release/carbonara" --store "$D/store" init >/dev/null 2>&1
        PORT=$(free)
        "$TARGET/release/carbonara" --store "$D/store" serve --listen "127.0.0.1:$PORT" \
            --process-interval 0.1s >"$D/serve.log" 2>&1 &
        SERVE=$!
        wait_http "http://127.0.0.1:$PORT"
        run_tests carbonara "http://127.0.0.1:$PORT" "$@"
        kill "$SERVE"; wait "$SERVE" 2>/dev/null || true; SERVE=
        ;;
    gnocchi)
        ORACLE_DIR=${ORACLE_DIR:-../shared/oracle}
        REAL=$(cd "$ORACLE_DIR" && pwd)/real_gnocchi.sh
        export ORACLE_VENV=$(cd "${ORACLE_VENV:-.oracle-venv}" && pwd)
        export GNOCCHI_RUN_DIR=$D/real GNOCCHI_API_PORT=$(free) GNOCCHI_PG_PORT=$(free)
        URL=$("$REAL" start | tail -1)
        "$ORACLE_VENV/bin/gnocchi-upgrade" --config-file "$D/real/gnocchi.conf" >"$D/upgrade.log" 2>&1
        wait_http "$URL"
        run_tests gnocchi "$URL" "$@"
        "$REAL" stop >/dev/null; REAL=
        ;;
    *) echo "unknown backend $backend (carbonara, gnocchi)" >&2; exit 2 ;;
    esac
done

"$VENV/bin/python" - "$D" $BACKENDS <<'EOF'
import sys
import xml.etree.ElementTree as ET

directory, backends = sys.argv[1], sys.argv[2:]
outcomes = {}
for backend in backends:
    for case in ET.parse("%s/%s.xml" % (directory, backend)).iter("testcase"):
        name = "%s::%s" % (case.get("classname"), case.get("name"))
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        outcome = "failed" if failed else "skipped" if skipped else "passed"
        outcomes.setdefault(name, {})[backend] = outcome
print("%-90s %s" % ("test", " ".join("%-9s" % b for b in backends)))
for name in sorted(outcomes):
    print("%-90s %s" % (name, " ".join("%-9s" % outcomes[name].get(b, "-") for b in backends)))
unexpected = [n for n, o in outcomes.items()
              if o.get("carbonara") == "failed" and ".test_benchmark." not in n]
for name in unexpected:
    print("carbonara fails", name)
sys.exit(1 if unexpected else 0)
EOF
