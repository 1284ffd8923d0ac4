#!/usr/bin/env python3
"""Runs the real Gnocchi (../shared/oracle/bench_gnocchi.py) and carbonara on
the same data and prints comparison tables. Called by scripts/bench/vs-gnocchi.sh.

Workloads, for each policy:
  (a) METRICS x POINTS 1-second points in one batch, one pass;
  (b) the same points in 100 batches, a pass after each;
  (c) the live load: LIVE_METRICS metrics x LIVE_POINTS new points each,
      a pass after each of LIVE_PASSES batches.
Gnocchi's figure is its metricd pass (`Chef.process_new_measures_for_sack`
over every sack), not writing the sacks. carbonara's is given twice: one
`carbonara process` command per batch (process start-up included), and the
in-process pass (examples/vs_gnocchi.rs, like Gnocchi's measurement), with
the time its syncs took (the floor durability sets) and the archive objects
it read and wrote per metric. Each side runs --repeat times, alternately;
the tables give the median and the range. Peak memory is the maximum RSS of
the measured process (Gnocchi: the whole benchmark process).

Read-back, after each workload: every aggregate of every metric decoded
once, Gnocchi's `get_aggregated_measures` (one call per metric) against
carbonara's library call `query::measures::read_aggregations` (one per metric).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def max_rss_kib_of(cmd):
    """Runs cmd; returns (stdout, peak RSS in KiB of that process)."""
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, cmd)
    return out, usage.ru_maxrss


def run_gnocchi(args, policy, metrics, points, batches):
    cmd = [sys.executable, os.path.join(args.oracle, "bench_gnocchi.py"),
           "--metrics", str(metrics), "--points", str(points),
           "--batches", str(batches), "--policy", policy, "--tmpdir", args.tmpdir]
    out, rss = max_rss_kib_of(cmd)
    return json.loads(out)["results"][0], rss


def carbonara(args, store, *cli):
    return [args.carbonara, "--store", store, "-q", *cli]


def run_carbonara_cli(args, policy, batch_files, workdir):
    """Seconds spent in `carbonara process` (one per batch), peak RSS. The
    metrics are created by the first ingest (not timed)."""
    store = os.path.join(workdir, "cli-%s-%d" % (policy, len(batch_files)))
    subprocess.run(carbonara(args, store, "init"), check=True)
    seconds, peak = 0.0, 0
    for batch in batch_files:
        subprocess.run(carbonara(args, store, "ingest", "csv", "--metric-column", "metric",
                                 "--create-metrics", "--archive-policy-name", policy, batch),
                       check=True)
        os.sync()
        started = time.perf_counter()
        _, rss = max_rss_kib_of(carbonara(args, store, "process", "-f", "value"))
        seconds += time.perf_counter() - started
        peak = max(peak, rss)
    shutil.rmtree(store)
    return seconds, peak


def run_carbonara_in_process(args, policy, batch_files, workdir):
    store = os.path.join(workdir, "lib-%s-%d" % (policy, len(batch_files)))
    out = subprocess.run([args.pass_bench, "--policy", policy, "--store", store, *batch_files],
                         check=True, stdout=subprocess.PIPE).stdout
    shutil.rmtree(store)
    return json.loads(out)


def spread(values):
    """'median (min–max)' of seconds."""
    return "%.3f s (%.3f–%.3f)" % (statistics.median(values), min(values), max(values))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--oracle", required=True)
    p.add_argument("--carbonara", required=True)
    p.add_argument("--pass-bench", required=True)
    p.add_argument("--tmpdir", default=os.environ.get("TMPDIR", "/tmp"))
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--points", type=int, default=100000)
    p.add_argument("--live-metrics", type=int, default=10000)
    p.add_argument("--live-points", type=int, default=10, help="new points per metric and pass")
    p.add_argument("--live-passes", type=int, default=10)
    p.add_argument("--policies", default="medium,high")
    p.add_argument("--workloads", default="a,b,c",
                   help="a (one batch), b (100 batches), c (the live load), comma-separated")
    p.add_argument("--repeat", type=int, default=3, help="runs of each side, alternately")
    args = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="carbonara-vs-gnocchi-", dir=args.tmpdir)
    live_label = "(c) %d metrics x %d points, %d passes" % (
        args.live_metrics, args.live_points, args.live_passes)
    workloads = [w for w in (
        ("a", "(a) 1 batch", args.metrics, args.points, 1, {"medium": 20, "high": 10}),
        ("b", "(b) 100 batches", args.metrics, args.points, 100, {"medium": 20, "high": 20}),
        ("c", live_label, args.live_metrics, args.live_points * args.live_passes,
         args.live_passes, {"medium": 20, "high": 20}))
        if w[0] in args.workloads.split(",")]
    rows, reads, runs = [], [], []
    try:
        for _, label, metrics, points, batches, targets in workloads:
            data = os.path.join(workdir, "data-%s" % label[1])
            subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "synth_csv.py"), "--oracle-dir", args.oracle,
                            "--metrics", str(metrics), "--points", str(points),
                            "--batches", str(batches), "--out", data], check=True)
            files = sorted(os.path.join(data, f) for f in os.listdir(data))
            for policy in args.policies.split(","):
                gnocchi_s, cli_s, lib_s, lib_runs, rss = [], [], [], [], [0, 0]
                for run in range(args.repeat):
                    gnocchi, gnocchi_rss = run_gnocchi(args, policy, metrics, points, batches)
                    cli, cli_rss = run_carbonara_cli(args, policy, files, workdir)
                    lib = run_carbonara_in_process(args, policy, files, workdir)
                    gnocchi_s.append(gnocchi["process_s"])
                    cli_s.append(cli)
                    lib_s.append(lib["process_s"])
                    lib_runs.append(lib)
                    rss = [max(rss[0], gnocchi_rss), max(rss[1], cli_rss)]
                    runs.append("%s %s run %d: Gnocchi %.3f s, carbonara process %.3f s (%.1fx), pass %.3f s (%.1fx); load %s" % (
                        label, policy, run + 1, gnocchi["process_s"], cli, gnocchi["process_s"] / cli,
                        lib["process_s"], gnocchi["process_s"] / lib["process_s"],
                        " ".join("%.2f" % l for l in os.getloadavg())))
                    print(runs[-1], file=sys.stderr)
                rows.append((label, policy, metrics * points, gnocchi_s, cli_s, lib_s, lib_runs,
                             targets[policy], rss))
                last = lib_runs[-1]
                reads.append((label, policy, gnocchi["read_aggregate_points"], gnocchi["read_s"],
                              last["read_aggregate_points"], last["read_s"]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    mib = lambda kib: "%.0f MiB" % (kib / 1024)
    print("stores under %s (%d CPUs); medians of %d runs of each side, the range in brackets" % (
        args.tmpdir, os.cpu_count(), args.repeat))
    print("| workload | policy | Gnocchi pass | carbonara `process` | ratio | carbonara pass | ratio | target | peak RSS Gnocchi / carbonara |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, policy, points, gnocchi_s, cli_s, lib_s, _, target, rss in rows:
        g, c, l = (statistics.median(v) for v in (gnocchi_s, cli_s, lib_s))
        print("| %s | %s | %s = %s points/s | %s | **%.1fx** (%.1f–%.1f) | %s | %.1fx | >= %dx | %s / %s |" % (
            label, policy, spread(gnocchi_s), "{:,.0f}".format(points / g), spread(cli_s),
            g / c, min(gnocchi_s) / max(cli_s), max(gnocchi_s) / min(cli_s), spread(lib_s),
            g / l, target, mib(rss[0]), mib(rss[1])))

    print()
    print("carbonara's in-process pass, per pass and per metric (medians):")
    print("| workload | policy | passes | syncs a pass | pass | its syncs (the floor) | pass / floor | per metric | objects read / written / deleted a metric | incoming files a metric |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, policy, _, _, _, lib_s, lib_runs, _, _ in rows:
        passes = lib_runs[0]["batches"]
        metric_passes = lib_runs[0]["metric_passes"]
        pass_s = statistics.median(lib_s) / passes
        sync_s = statistics.median(r["sync_s"] for r in lib_runs) / passes
        per = lambda key: lib_runs[0][key] / metric_passes
        print("| %s | %s | %d | %.1f | %.2f ms | %.2f ms | %.1fx | %.1f µs | %.1f / %.1f / %.1f | %.1f |" % (
            label, policy, passes, lib_runs[0]["syncs"] / passes, pass_s * 1e3, sync_s * 1e3,
            pass_s / sync_s if sync_s else float("inf"),
            pass_s / (metric_passes / passes) * 1e6,
            per("objects_read"), per("objects_written"), per("objects_deleted"), per("incoming_files")))

    print()
    print("| read-back after | policy | aggregate points (Gnocchi / carbonara) | Gnocchi points/s | carbonara points/s | ratio | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, policy, g_points, g_s, c_points, c_s in reads:
        print("| %s | %s | %s / %s | %s | %s | %.1fx | >= 5x |" % (
            label, policy, "{:,}".format(g_points), "{:,}".format(c_points),
            "{:,.0f}".format(g_points / g_s), "{:,.0f}".format(c_points / c_s),
            (c_points / c_s) / (g_points / g_s)))

    print()
    print("Every run:")
    for line in runs:
        print("    " + line)


if __name__ == "__main__":
    main()
