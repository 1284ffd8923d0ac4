#!/usr/bin/env bash
# Coverage-guided fuzzing of carbonara's parsers (tests/README.md#fuzzing):
# builds the libFuzzer binary of fuzz/ on the stable toolchain (LLVM's
# sancov instrumentation asked for with -C flags, libFuzzer built by the
# libfuzzer-sys crate), then runs each TARGET in turn (default: every one)
# from its seeds, fuzz/corpus/TARGET and fuzz/regressions/TARGET, and
# prints one row per target: executions, coverage (libFuzzer's `cov`,
# edges, and `ft`, features) and crashes. A panic, a run over 10 s or
# over 1 GiB of memory is a crash; its input is kept in fuzz/out/TARGET/
# with the log, and new inputs that widened coverage in
# fuzz/out/TARGET/corpus (neither committed).
#
#   scripts/fuzz.sh [--seconds N | --runs N] [TARGET...]
#
# --seconds N: fuzz each target N seconds (default 60); --runs N: N inputs.
set -euo pipefail

usage="usage: scripts/fuzz.sh [--seconds N | --runs N] [TARGET...]"
limit=(-max_total_time=60)
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; limit=(-max_total_time="$2"); shift 2 ;;
        --runs) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; limit=(-runs="$2"); shift 2 ;;
        -h|--help) echo "$usage"; exit 0 ;;
        -*) echo "$usage" >&2; exit 2 ;;
        *) break ;;
    esac
done
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo/fuzz"

all=$(ls corpus)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || read -r -d '' -a targets <<<"$all" || true
for target in "${targets[@]}"; do
    grep -qx "$target" <<<"$all" || { echo "unknown target $target; targets: $(echo $all)" >&2; exit 2; }
done

# The flags cargo-fuzz gives with `--sanitizer none`; --target keeps them
# off build scripts and proc macros.
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
nice -n 10 cargo build --release --locked --target "$host" >&2
binary=target/$host/release/carbonara-fuzz

row='| %-17s | %12s | %6s | %8s | %7s |\n'
printf "$row" target executions edges features crashes
printf "$row" --- ---: ---: ---: ---:
for target in "${targets[@]}"; do
    out=out/$target
    mkdir -p "$out/corpus"
    rm -f "$out"/crash-* "$out"/timeout-* "$out"/oom-* "$out"/leak-*
    seeds=(corpus/"$target")
    [ -d regressions/"$target" ] && seeds+=(regressions/"$target")
    scratch=$(mktemp -d)
    # Scratch stores go under TMPDIR, removed once the target is done.
    TMPDIR=$scratch CARBONARA_FUZZ_TARGET=$target nice -n 10 "$binary" \
        -rss_limit_mb=1024 -malloc_limit_mb=1024 -timeout=10 -artifact_prefix="$out/" \
        "${limit[@]}" "$out/corpus" "${seeds[@]}" >"$out/log" 2>&1 || true
    rm -rf "$scratch"
    last=$(grep -E '^#[0-9]+' "$out/log" | tail -n 1)
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/log")
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
    edges=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    crashes=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    printf "$row" "$target" "$runs" "$edges" "$features" "$crashes"
done
