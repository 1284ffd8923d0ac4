#!/usr/bin/env bash
# A live mixed fleet: `carbonara metricd` and the real gnocchi-metricd 4.7.1
# splitting the sacks of one deployment (PostgreSQL indexer, S3 storage on a
# Garage node, Redis incoming, Redis (tooz) coordination):
#
#   * gnocchi-metricd runs two processing workers with `[metricd]
#     processing_replicas = 1` (each sack has one owner); `carbonara
#     --gnocchi-conf GNOCCHI.CONF metricd --json` joins them;
#   * carbonara's `status` and gnocchi-api's `GET /v1/status` must list the
#     same three members, and each member's sacks (carbonara's `status`, its
#     own log) must be those tooz's ring gives it;
#   * 300 metrics x 5 measures posted through gnocchi-api must all be
#     aggregated, carbonara taking exactly those of its sacks;
#   * carbonara stopped by SIGTERM (exit 0), gnocchi-metricd's workers must
#     take its sacks over.
#
#   scripts/oracle/mixed-fleet.sh [--keep]
#
# Writes tests/golden/side-by-side/mixed_fleet.json (replayed by
# tests/it/side_by_side.rs). Details: scripts/oracle/mixed_fleet.py.
#
# Needs what scripts/oracle/drivers-live.sh needs: the oracle's scripts
# (ORACLE, default ../shared/oracle: real_gnocchi.sh) and virtualenv
# (ORACLE_VENV, default .oracle-venv), Garage (GARAGE, default
# ~/.cargo/bin/garage), redis-server on the PATH, PostgreSQL's server
# binaries, and a release build of carbonara (CARBONARA, default: `cargo
# build --release`). Everything runs on free loopback ports under one
# temporary directory, stopped by PID at the end. Exit status 1 when
# something is not as expected (printed); the directory (every log) is then
# kept.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/oracle/live-env.sh
. scripts/oracle/live-env.sh
live_python scripts/oracle/mixed_fleet.py tests/golden/side-by-side/mixed_fleet.json "$@"
