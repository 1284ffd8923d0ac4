#!/usr/bin/env python3
"""Runs the real Gnocchi (../shared/oracle/bench_gnocchi.py) and carbonara on
the same data and prints comparison tables. Called by scripts/bench/vs-gnocchi.sh.

Workloads, as issue 3 defines them, for each policy:
  (a) METRICS x POINTS 1-second points in one batch, one pass;
  (b) the same points in 100 batches, a pass after each.
Gnocchi's figure is its metricd pass (`Chef.process_new_measures_for_sack`
over every sack), not writing the sacks. carbonara's (a) is the whole
`carbonara process` command; (b) is given twice: the in-process pass
(examples/vs_gnocchi.rs, like Gnocchi's measurement) and one `carbonara
process` command per batch (process start-up included). Peak memory is the
maximum RSS of the measured process (Gnocchi: the whole benchmark process).

Read-back, after each workload: every aggregate of every metric decoded
once, Gnocchi's `get_aggregated_measures` (one call per metric) against
carbonara's library call `query::measures::read_aggregations` (one per metric).
"""

import argparse
import json
import os
import shutil
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


def run_gnocchi(args, policy, batches):
    cmd = [sys.executable, os.path.join(args.oracle, "bench_gnocchi.py"),
           "--metrics", str(args.metrics), "--points", str(args.points),
           "--batches", str(batches), "--policy", policy, "--tmpdir", args.tmpdir]
    out, rss = max_rss_kib_of(cmd)
    return json.loads(out)["results"][0], rss


def carbonara(args, store, *cli):
    return [args.carbonara, "--store", store, "-q", *cli]


def prepared_store(args, policy, workdir, name):
    store = os.path.join(workdir, name)
    subprocess.run(carbonara(args, store, "init"), check=True)
    for i in range(args.metrics):
        subprocess.run(carbonara(args, store, "metric", "create", "bench-%04d" % i,
                                 "--archive-policy-name", policy, "-f", "value", "-c", "id"),
                       check=True, stdout=subprocess.DEVNULL)
    return store


def run_carbonara_cli(args, policy, batch_files, workdir):
    """Seconds spent in `carbonara process` (one per batch), peak RSS."""
    store = prepared_store(args, policy, workdir, "cli-%s-%d" % (policy, len(batch_files)))
    seconds, peak = 0.0, 0
    for batch in batch_files:
        subprocess.run(carbonara(args, store, "ingest", "csv", "--metric-column", "metric", batch), check=True)
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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--oracle", required=True)
    p.add_argument("--carbonara", required=True)
    p.add_argument("--pass-bench", required=True)
    p.add_argument("--tmpdir", default=os.environ.get("TMPDIR", "/tmp"))
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--points", type=int, default=100000)
    p.add_argument("--policies", default="medium,high")
    p.add_argument("--workloads", default="a,b", help="a (one batch), b (100 batches), or both")
    args = p.parse_args()
    points = args.metrics * args.points
    workdir = tempfile.mkdtemp(prefix="carbonara-vs-gnocchi-", dir=args.tmpdir)
    rows, reads = [], []
    workloads = [w for w in ((1, "a", "(a) 1 batch", {"medium": 10, "high": 5}),
                             (100, "b", "(b) 100 batches", {"medium": 50, "high": 50}))
                 if w[1] in args.workloads.split(",")]
    try:
        for batches, _, label, targets in workloads:
            data = os.path.join(workdir, "data-%d" % batches)
            subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "synth_csv.py"), "--oracle-dir", args.oracle,
                            "--metrics", str(args.metrics), "--points", str(args.points),
                            "--batches", str(batches), "--out", data], check=True)
            files = sorted(os.path.join(data, f) for f in os.listdir(data))
            for policy in args.policies.split(","):
                gnocchi, gnocchi_rss = run_gnocchi(args, policy, batches)
                cli_s, cli_rss = run_carbonara_cli(args, policy, files, workdir)
                lib = run_carbonara_in_process(args, policy, files, workdir)
                rows.append((label, policy, gnocchi["process_s"], cli_s, lib["process_s"], targets[policy],
                             gnocchi_rss, cli_rss))
                reads.append((label, policy, gnocchi["read_aggregate_points"], gnocchi["read_s"],
                              lib["read_aggregate_points"], lib["read_s"]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print("%d metrics x %d points, stores under %s (%d CPUs)" % (args.metrics, args.points, args.tmpdir, os.cpu_count()))
    print("| workload | policy | Gnocchi points/s | carbonara points/s (command) | ratio | carbonara points/s (in-process pass) | ratio | target | peak RSS Gnocchi / carbonara |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, policy, gnocchi_s, cli_s, lib_s, target, gnocchi_rss, cli_rss in rows:
        mib = lambda kib: "%.0f MiB" % (kib / 1024)
        print("| %s | %s | %s | %s | %.1fx | %s | %.1fx | >= %dx | %s / %s |" % (
            label, policy, "{:,.0f}".format(points / gnocchi_s), "{:,.0f}".format(points / cli_s),
            gnocchi_s / cli_s, "{:,.0f}".format(points / lib_s), gnocchi_s / lib_s, target,
            mib(gnocchi_rss), mib(cli_rss)))

    print()
    print("| read-back after | policy | aggregate points (Gnocchi / carbonara) | Gnocchi points/s | carbonara points/s | ratio | target |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, policy, g_points, g_s, c_points, c_s in reads:
        print("| %s | %s | %s / %s | %s | %s | %.1fx | >= 5x |" % (
            label, policy, "{:,}".format(g_points), "{:,}".format(c_points),
            "{:,.0f}".format(g_points / g_s), "{:,.0f}".format(c_points / c_s),
            (c_points / c_s) / (g_points / g_s)))


if __name__ == "__main__":
    main()
