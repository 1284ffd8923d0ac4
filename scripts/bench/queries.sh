#!/usr/bin/env bash
# Times the read commands on generated data and prints points/s:
#   (2) `measures show -f csv > /dev/null` of a metric with 1 M stored
#       aggregate points (1 s granularity), target >= 10 M points/s;
#   (3) `aggregates` mean across 100 metrics x 10 k points (1 M points in),
#       target >= 5 M points/s.
# Each figure is the wall time of the whole command (start-up, index,
# reading and decoding the splits, output): the median and the best of
# --runs runs (the best shows the cost without other work on a shared
# machine).
#
#   scripts/bench/queries.sh [--tmpdir DIR] [--runs N]
#
# Needs only a release build of carbonara (made here) and awk.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmpdir=${TMPDIR:-/tmp}
runs=7
while [ $# -gt 0 ]; do
    case $1 in
        --tmpdir) tmpdir=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        *) echo "usage: scripts/bench/queries.sh [--tmpdir DIR] [--runs N]" >&2; exit 2 ;;
    esac
done
cargo build --release --quiet
carbonara=$PWD/target/release/carbonara
work=$(mktemp -d "$tmpdir/carbonara-queries-XXXXXX")
trap 'rm -rf "$work"' EXIT
c() { "$carbonara" --store "$work/store" -q "$@"; }

# "median best" wall seconds of $runs runs of the command given.
seconds() {
    for _ in $(seq "$runs"); do
        start=$(date +%s%N)
        "$@" > /dev/null
        end=$(date +%s%N)
        echo $(( end - start ))
    done | sort -n | awk '{ a[NR] = $1 } END { printf "%.4f %.4f\n", a[int((NR + 1) / 2)] / 1e9, a[1] / 1e9 }'
}

c init --no-archive-policies
c archive-policy create second -d granularity:1s,points:1100000 -m mean > /dev/null
c archive-policy create tenk -d granularity:1s,points:20000 -m mean > /dev/null
c metric create big -a second > /dev/null
awk 'BEGIN { print "timestamp,value"
             for (i = 0; i < 1000000; i++) printf "%d,%.3f\n", 1704067200 + i, 50 + 20 * sin(i / 3600.0) + (i % 7) * 0.137 }' \
    > "$work/big.csv"
c ingest csv --metric big "$work/big.csv"
names=()
for m in $(seq 0 99); do
    names+=("$(printf 'm%03d' "$m")")
    c metric create "${names[-1]}" -a tenk > /dev/null
done
awk 'BEGIN { print "metric,timestamp,value"
             for (m = 0; m < 100; m++) for (i = 0; i < 10000; i++)
                 printf "m%03d,%d,%.3f\n", m, 1704067200 + i, 50 + 20 * sin((i + m * 37) / 600.0) + (i % 13) * 0.1 }' \
    > "$work/many.csv"
c ingest csv --metric-column metric "$work/many.csv"
c process > /dev/null
operations="(aggregate mean (metric$(printf ' (%s mean)' "${names[@]}")))"

show_points=$(c measures show big --granularity 1 -f value -c value | wc -l)
read -r show_median show_best < <(seconds "$carbonara" --store "$work/store" measures show big --granularity 1 -f csv)
read -r agg_median agg_best < <(seconds "$carbonara" --store "$work/store" aggregates "$operations" -f csv)
echo "$runs runs, store under $tmpdir ($(nproc) CPUs, load average $(cut -d' ' -f1 /proc/loadavg))"
echo "| command | points | median s | points/s | best s | points/s | target |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
row() { awk -v name="$1" -v points="$2" -v label="$3" -v median="$4" -v best="$5" -v target="$6" 'BEGIN {
    printf "| %s | %s | %s | %.1f M | %s | %.1f M | >= %s |\n", name, label, median, points / median / 1e6, best, points / best / 1e6, target }'; }
row "measures show -f csv (1 metric)" "$show_points" "$show_points out" "$show_median" "$show_best" "10 M"
row "aggregates mean -f csv (100 metrics)" 1000000 "1000000 in" "$agg_median" "$agg_best" "5 M"
