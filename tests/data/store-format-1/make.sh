#!/bin/sh
# Makes tests/data/store-format-1/store: a store of format 1 written by the
# carbonara binary itself (init, a policy, a rule, metrics created through
# the rule, two batches processed and one waiting). It is the "older store"
# that each later format's upgrade must read. The inputs and the policy are
# those of tests/data/gnocchi-backlog, so what the real Gnocchi returned for
# them (its expected-before.json and expected.json) is what this store must
# give before and after processing its waiting batch.
#
#   sh tests/data/store-format-1/make.sh      (from the repository root)
set -eu
OUT=tests/data/store-format-1/store
IN=tests/data/gnocchi-backlog
cargo build -q
C() { target/debug/carbonara --store "$OUT" -q "$@" > /dev/null; }
rm -rf "$OUT"
C init --sacks 8
C archive-policy create two-levels -b 1 \
    -d granularity:1m,timespan:1d -d granularity:1h,timespan:30d \
    -m count -m max -m mean -m rate:sum
C archive-policy-rule create generated -a two-levels -m '*-00*'
for metric in gauge-000 counter-001 ooo-002; do C metric create "$metric"; done
C ingest csv --metric-column metric "$IN/batch-0001.csv" --process
C ingest csv --metric-column metric "$IN/batch-0002.csv" --process
C ingest csv --metric-column metric "$IN/batch-0003.csv"
# Scratch directories, made again when the store is opened.
rm -rf "$OUT/tmp" "$OUT/locks"
