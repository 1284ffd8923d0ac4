#!/usr/bin/env python3
"""Times `carbonara ingest csv` and the real Gnocchi's measure intake
(scripts/bench/gnocchi_ingest.py) on the same generated CSV, in one run, and prints
lines/s for both, the ratio and the peak memory; carbonara also on a file a
tenth the size, to show its memory does not grow with the input.
Called by scripts/bench/ingest-vs-gnocchi.sh.

The CSV: LINES rows `metric,timestamp,value` (the oracle's column order),
METRICS metrics named m0000…, one-second timestamps, values with six
decimals, deterministic.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


def generate(path, lines, metrics):
    with open(path, "w") as f:
        f.write("metric,timestamp,value\n")
        chunk = []
        for i in range(lines):
            chunk.append("m%04d,%d,%.6f\n" % (i % metrics, 1704067200 + i // metrics,
                                              (i * 7919 % 100003) / 1000.0))
            if len(chunk) == 100000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))


def run_measured(cmd):
    """(stdout, stderr, seconds) of a command that must succeed. What the
    benchmark wrote before (the CSV files, a removed store) is synced
    first, so that the command does not pay for writing it back."""
    os.sync()
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), done.stderr.decode()))
    return done.stdout, done.stderr, seconds


def carbonara(binary, workdir, name, csv_path):
    store = os.path.join(workdir, name)
    subprocess.run([binary, "--store", store, "-q", "init"], check=True)
    cmd = ["/usr/bin/time", "-f", "%M", binary, "--store", store, "ingest", "csv",
           "--metric-column", "metric", "--create-metrics", csv_path]
    _, err, seconds = run_measured(cmd)
    peak_kib = int(err.decode().strip().splitlines()[-1])
    shutil.rmtree(store)
    return seconds, peak_kib / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--carbonara", required=True)
    p.add_argument("--oracle", required=True)
    p.add_argument("--tmpdir", default=os.environ.get("TMPDIR", "/tmp"))
    p.add_argument("--lines", type=int, default=10_000_000)
    p.add_argument("--metrics", type=int, default=1000)
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="carbonara-ingest-bench-", dir=args.tmpdir)
    try:
        big = os.path.join(workdir, "big.csv")
        small = os.path.join(workdir, "small.csv")
        generate(big, args.lines, args.metrics)
        generate(small, args.lines // 10, args.metrics)
        size_mb = os.path.getsize(big) / 1e6
        c_seconds, c_peak = carbonara(args.carbonara, workdir, "store", big)
        _, small_peak = carbonara(args.carbonara, workdir, "small-store", small)
        cmd = ["/usr/bin/time", "-f", "%M", sys.executable,
               os.path.join(os.path.dirname(os.path.abspath(__file__)), "gnocchi_ingest.py"),
               "--oracle", args.oracle, "--tmpdir", workdir, big]
        out, err, _ = run_measured(cmd)
        gnocchi = json.loads(out)
        g_peak = int(err.decode().strip().splitlines()[-1]) / 1024
        shutil.rmtree(gnocchi["store"], ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = args.lines + 1
    print("%d lines (%d metrics, %.0f MB of CSV), stores under %s (%d CPUs)"
          % (args.lines, args.metrics, size_mb, args.tmpdir, os.cpu_count()))
    print("| engine | seconds | lines/s | ratio | peak RSS |")
    print("| --- | --- | --- | --- | --- |")
    print("| Gnocchi 4.7.1 (read_batch + add_measures_batch) | %.1f | %s | 1.0x | %.0f MiB |"
          % (gnocchi["seconds"], "{:,.0f}".format(gnocchi["rows"] / gnocchi["seconds"]), g_peak))
    print("| carbonara ingest csv | %.1f | %s | %.1fx | %.0f MiB (%.0f MiB for a tenth of the lines) |"
          % (c_seconds, "{:,.0f}".format(lines / c_seconds), gnocchi["seconds"] / c_seconds,
             c_peak, small_peak))


if __name__ == "__main__":
    main()
