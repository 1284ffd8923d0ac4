#!/usr/bin/env bash
# Speed of `carbonara serve` and `carbonara statsd` on 127.0.0.1, driven by
# the load generator examples/serve_load.rs (hyper's HTTP/1.1 client on
# keep-alive connections; paced UDP datagrams):
#
#   1. POST /v1/metric/ID/measures of 5000 measures (measures/s);
#   2. single-measure POSTs on 1 metric and on 100 (requests/s);
#   3. GET of the measures of a 10 000-point metric, whole (three runs)
#      and its last 100;
#   4. statsd: counter lines over UDP at a paced rate, then every line
#      counted in the store after the final flush (no loss);
#   5. with --soak SECONDS: a mixed load for that long while the server's
#      RSS is sampled every 10 s (it must stay flat).
#
#   scripts/bench/serve-load.sh [--seconds N] [--soak SECONDS]
#                       [--statsd-rate LINES_PER_S] [--statsd-lines N]
#
# Keep-alive connections: 32 for batches, 512 for single measures (a
# commit carries the measures of every request waiting for it, so its
# throughput grows with the requests in flight), 16 for whole 10 000-point
# reads, 64 for windows.
#
# Ingest runs 1–3 with the background aggregation pass off (the API's own
# speed, as Gnocchi's published figures measure gnocchi-api); the soak runs
# with it on. The generator shares the machine's cores with the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=10
SOAK=0
STATSD_RATE=250000
STATSD_LINES=3000000
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) SECONDS_EACH="$2"; shift 2 ;;
        --soak) SOAK="$2"; shift 2 ;;
        --statsd-rate) STATSD_RATE="$2"; shift 2 ;;
        --statsd-lines) STATSD_LINES="$2"; shift 2 ;;
        *) echo "usage: $0 [--seconds N] [--soak SECONDS] [--statsd-rate N] [--statsd-lines N]" >&2
           exit 2 ;;
    esac
done

cargo build --release --quiet --bin carbonara --example serve_load
LOAD=target/release/examples/serve_load
BIN=target/release/carbonara
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "# $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Waits for a line of LOG matching SED_SCRIPT (which prints the address).
address_in() {
    local found
    for _ in $(seq 100); do
        found=$(sed -n "$2" "$1" | head -1)
        [ -n "$found" ] && { echo "$found"; return; }
        sleep 0.1
    done
    echo "it did not start: $(cat "$1")" >&2
    exit 1
}

# Starts the server on a store of its own; sets SERVER_PID and ADDRESS.
serve() {
    local store=$WORK/store-$1
    shift
    "$BIN" --store "$store" init --quiet --sacks 32
    "$BIN" --store "$store" serve --listen 127.0.0.1:0 "$@" 2>"$store.log" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    ADDRESS=$(address_in "$store.log" 's|.*http://\([^/]*\)/.*|\1|p')
}

load() {
    "$LOAD" --address "$ADDRESS" --seconds "$SECONDS_EACH" "$@"
}

serve ingest --process-interval 0
load --mode batch --batch 5000 --metrics 16 --connections 32
load --mode single --metrics 1 --connections 512
load --mode single --metrics 100 --connections 512
# Three runs of the whole-series read: its figure moves most with the
# machine's other load (each run reads a metric of its own). The writes
# above left hundreds of MB for the kernel to write back: not while reading.
sync
for _ in 1 2 3; do
    load --mode get --points 10000 --connections 16
done
load --mode get --points 10000 --window 100 --connections 64
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true

# statsd: every line a counter increment of one of 10 metrics; the sum of
# what was stored must be the number of lines sent.
STATSD_STORE=$WORK/store-statsd
"$BIN" --store "$STATSD_STORE" init --quiet --sacks 32
"$BIN" --store "$STATSD_STORE" statsd --listen 127.0.0.1:0 --flush-interval 1s \
    --archive-policy-name low 2>"$STATSD_STORE.log" &
STATSD_PID=$!
PIDS+=("$STATSD_PID")
STATSD_ADDRESS=$(address_in "$STATSD_STORE.log" 's|.*udp://\([^ ]*\) .*|\1|p')
"$LOAD" --mode statsd --statsd "$STATSD_ADDRESS" --lines "$STATSD_LINES" --rate "$STATSD_RATE"
sleep 1.5
kill -TERM "$STATSD_PID"; wait "$STATSD_PID" || true
"$BIN" --store "$STATSD_STORE" process --quiet >/dev/null
STORED=0
for i in $(seq 0 9); do
    for value in $("$BIN" --store "$STATSD_STORE" measures show "bench.$i|c" \
            --aggregation sum -f value -c value); do
        STORED=$(python3 -c "print(int($STORED + $value))")
    done
done
echo "statsd: $STORED of $STATSD_LINES lines stored ($((STATSD_LINES - STORED)) lost); $(grep -c Unable "$STATSD_STORE.log" || true) errors logged"

if [ "$SOAK" -gt 0 ]; then
    serve soak --process-interval 1s
    RSS_LOG=$WORK/rss
    "$LOAD" --address "$ADDRESS" --mode soak --seconds "$SOAK" --connections 16 --metrics 100 &
    SOAK_PID=$!
    while kill -0 "$SOAK_PID" 2>/dev/null; do
        echo "$(date +%s) $(ps -o rss= -p "$SERVER_PID")" >>"$RSS_LOG"
        sleep 10
    done
    wait "$SOAK_PID"
    echo "soak RSS (KiB), every 10 s: $(awk '{print $2}' "$RSS_LOG" | tr '\n' ' ')"
    awk '{print $2}' "$RSS_LOG" | sort -n | sed -n '1p;$p' | tr '\n' ' ' \
        | awk '{printf "soak RSS min %d KiB, max %d KiB\n", $1, $2}'
fi
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
