# Sourced from the repository's top by the live oracle scripts
# (drivers-live.sh, mixed-fleet.sh): the oracle's scripts (ORACLE, default
# ../shared/oracle) and virtualenv (ORACLE_VENV, default .oracle-venv), a
# release build of carbonara (CARBONARA, default: `cargo build --release`),
# Garage (GARAGE, default ~/.cargo/bin/garage); `live_python SCRIPT OUT
# [ARGS...]` runs SCRIPT with the oracle's Python on them, writing OUT.
ORACLE=${ORACLE:-../shared/oracle}
ORACLE_VENV=${ORACLE_VENV:-.oracle-venv}
if [ -z "${CARBONARA:-}" ]; then
    cargo build -q --release --bin carbonara
    CARBONARA=${CARGO_TARGET_DIR:-target}/release/carbonara
fi

live_python() {
    local script=$1 out=$2
    shift 2
    exec "$ORACLE_VENV/bin/python" "$script" --oracle "$ORACLE" --venv "$ORACLE_VENV" \
        --carbonara "$CARBONARA" --garage "${GARAGE:-$HOME/.cargo/bin/garage}" --out "$out" "$@"
}
