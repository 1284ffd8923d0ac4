#!/usr/bin/env bash
# Regenerates tests/golden/keystone/ against a real Keystone: its PyPI
# package in its own virtualenv, on SQLite, bootstrapped by keystone-manage
# and served on a loopback port; carbonara's keystone mode and
# keystonemiddleware's auth_token are sent the same requests and every
# exchange either has with Keystone is recorded (keystone_record.py says how).
#
#   scripts/oracle/keystone.sh
#
# $KEYSTONE_VENV (default .keystone-venv) is made on first use with
# `pip install keystone==$KEYSTONE_VERSION` (default 30.0.0, which brings
# keystonemiddleware 13). Everything else lives in a temporary directory;
# the servers it starts are stopped by their PIDs at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${KEYSTONE_VENV:-.keystone-venv}
VERSION=${KEYSTONE_VERSION:-30.0.0}
OUT=tests/golden/keystone

if [ ! -x "$VENV/bin/keystone-manage" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "keystone==$VERSION"
fi
cargo build -q --bin carbonara --example keystone_serve
TARGET=$(cargo metadata --format-version 1 --no-deps | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

D=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$D"' EXIT
PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$D/fernet" "$D/credential"
cat >"$D/keystone.conf" <<CONF
[DEFAULT]
log_file = $D/keystone.log
[database]
connection = sqlite:///$D/keystone.db
[fernet_tokens]
key_repository = $D/fernet
[credential]
key_repository = $D/credential
[token]
provider = fernet
CONF
manage() { "$VENV/bin/keystone-manage" --config-file "$D/keystone.conf" "$@" >>"$D/manage.log" 2>&1 || { cat "$D/manage.log" >&2; exit 1; }; }
manage db_sync
manage fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
manage credential_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
manage bootstrap --bootstrap-password admin-secret \
    --bootstrap-admin-url "http://127.0.0.1:$PORT/v3" \
    --bootstrap-internal-url "http://127.0.0.1:$PORT/v3" \
    --bootstrap-public-url "http://127.0.0.1:$PORT/v3" \
    --bootstrap-region-id RegionOne

mkdir -p "$OUT"
"$VENV/bin/python" scripts/oracle/keystone_record.py "$D" "$PORT" \
    "$TARGET/debug/carbonara" "$TARGET/debug/examples/keystone_serve" "$OUT"
