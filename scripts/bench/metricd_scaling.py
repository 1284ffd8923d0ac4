#!/usr/bin/env python3
"""How `carbonara metricd` scales with its workers on one deployment: S3
storage (one Garage node), Redis incoming and coordination (one
redis-server), a PostgreSQL indexer, all on this machine. Called by
scripts/bench/metricd-scaling.sh with a Python that has boto3 and redis-py
(the oracle's virtualenv); uses scripts/oracle/s3_redis_drivers.py's servers.

For each worker count in --workers (default 1,2,3):

 1. a fresh deployment: its own PostgreSQL database, bucket prefix and
    Redis databases, a gnocchi.conf with `[metricd] processing_replicas = 1`
    (each sack to one worker of tooz's ring), `carbonara upgrade`;
 2. --metrics metrics of the `medium` policy, created with one measure each
    and processed once (the steady state: every metric has its bound series
    and splits);
 3. --rounds times: --points measures per metric, ten seconds apart, pushed
    by `carbonara ingest csv` while no worker runs; then N `carbonara
    metricd` start at once and the round lasts until their logs account for
    every measure; they are stopped (SIGTERM) before the next round.

Printed per worker count: the median round (seconds, measures/s, metrics/s),
the workers' CPU seconds (user + system, from the kernel's accounting of
the stopped processes), and per metric the Redis commands (INFO
commandstats, the workers' membership beats included) and S3 requests
(Garage's request log) of a round.
"""

import argparse
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
from live_deployment import RedisStats, S3Log, Servers, free_port  # noqa: E402
from s3_redis_drivers import GARAGE_KEY_ID, GARAGE_SECRET, REGION  # noqa: E402

START = 1_767_225_600  # 2026-01-01T00:00:00Z


def pg_bin():
    if os.environ.get("PGBIN"):
        return os.environ["PGBIN"]
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
    return "/usr/lib/postgresql/%s/bin" % versions[-1]


def cpu_seconds(pid):
    """User + system seconds a live process has used (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Postgres:
    """A PostgreSQL server in a temporary directory, stopped by PID."""

    def __init__(self, top):
        self.dir = os.path.join(top, "pg")
        os.makedirs(self.dir)
        self.as_server = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        if self.as_server:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        subprocess.run(self.as_server + [os.path.join(pg_bin(), "initdb"), "-D", self.dir, "-U", "postgres",
                                         "--auth=trust", "-E", "UTF8"], check=True, stdout=subprocess.DEVNULL)
        log = open(os.path.join(top, "pg.log"), "w")
        self.child = subprocess.Popen(self.as_server + [os.path.join(pg_bin(), "postgres"), "-D", self.dir,
                                                        "-p", str(self.port), "-k", self.dir,
                                                        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                                      stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while subprocess.run([os.path.join(pg_bin(), "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                             stdout=subprocess.DEVNULL).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit("PostgreSQL did not start")
            time.sleep(0.1)

    def create_database(self, name):
        subprocess.run([os.path.join(pg_bin(), "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "-qc", "CREATE DATABASE %s" % name], check=True)
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, name)

    def stop(self):
        subprocess.run(self.as_server + [os.path.join(pg_bin(), "pg_ctl"), "-D", self.dir, "-m", "fast", "stop"],
                       check=True, stdout=subprocess.DEVNULL)
        self.child.wait(60)


class Worker:
    """A `carbonara metricd --json` process whose log is read as it comes."""

    def __init__(self, carbonara, conf, env):
        self.child = subprocess.Popen([carbonara, "--gnocchi-conf", conf, "metricd", "--json",
                                       "--processing-delay", "1h"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.measures = 0
        self.lock = threading.Lock()
        self.errors = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.child.stderr:
            event = json.loads(line)
            with self.lock:
                if event["event"] == "pass":
                    self.measures += event["measures"]
                elif event["event"] == "error":
                    self.errors.append(event["message"])

    def taken(self):
        with self.lock:
            return self.measures

    def stop(self):
        self.child.send_signal(signal.SIGTERM)
        if self.child.wait(120) != 0:
            raise SystemExit("a worker exited %d: %s" % (self.child.returncode, self.errors))


class Scaling:
    def __init__(self, args, top):
        self.args = args
        self.top = top
        self.servers = Servers(args.garage, top)
        self.pg = Postgres(top)
        self.env = dict(os.environ, XDG_STATE_HOME=os.path.join(top, "state"))
        self.env.pop("CARBONARA_STORE", None)

    def carbonara(self, conf, *args):
        subprocess.run([self.args.carbonara, "--gnocchi-conf", conf, "-q", *args], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def deployment(self, workers):
        """A fresh deployment's gnocchi.conf, upgraded."""
        name = "scale%d" % workers
        conf = os.path.join(self.top, name + ".conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\ncoordination_url = redis://127.0.0.1:%d?db=%d\n\n"
                    "[indexer]\nurl = %s\n\n"
                    "[storage]\ndriver = s3\ns3_endpoint_url = %s\ns3_region_name = %s\n"
                    "s3_access_key_id = %s\ns3_secret_access_key = %s\ns3_bucket_prefix = %s\n\n"
                    "[incoming]\ndriver = redis\nredis_url = redis://127.0.0.1:%d?db=%d\n\n"
                    "[metricd]\nprocessing_replicas = 1\n"
                    % (self.servers.redis_port, 2 * workers + 1, self.pg.create_database(name),
                       self.servers.endpoint, REGION, GARAGE_KEY_ID, GARAGE_SECRET, name,
                       self.servers.redis_port, 2 * workers))
        self.carbonara(conf, "upgrade")
        return conf

    def push(self, conf, first, points):
        """`points` measures per metric from `first` (seconds after START)."""
        path = os.path.join(self.top, "round.csv")
        with open(path, "w") as f:
            f.write("metric,timestamp,value\n")
            for m in range(self.args.metrics):
                for i in range(points):
                    f.write("m%d,%d,%d\n" % (m, START + first + 10 * i, (m * 7 + i) % 101))
        self.carbonara(conf, "ingest", "csv", "--metric-column", "metric", "--create-metrics",
                       "--archive-policy-name", "medium", path)

    def measure(self, workers):
        conf = self.deployment(workers)
        self.push(conf, 0, 1)
        self.carbonara(conf, "process")
        rounds = []
        for r in range(self.args.rounds):
            self.push(conf, 60 * (r + 1), self.args.points)
            total = self.args.metrics * self.args.points
            redis_stats = RedisStats(self.servers)
            s3_log = S3Log(self.servers, prefix="scale%d-" % workers)
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            servers_before = [cpu_seconds(c.pid) for c in self.servers.children]
            started = time.monotonic()
            running = [Worker(self.args.carbonara, conf, self.env) for _ in range(workers)]
            deadline = started + 1800
            while sum(w.taken() for w in running) < total:
                if time.monotonic() > deadline:
                    raise SystemExit("the workers did not take %d measures in 30 min" % total)
                time.sleep(0.01)
            seconds = time.monotonic() - started
            for w in running:
                w.stop()
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            redis_cpu, garage_cpu = [cpu_seconds(c.pid) - b for c, b in zip(self.servers.children, servers_before)]
            redis_commands = sum(redis_stats.count().values())
            s3_requests = sum(s3_log.count().values())
            rounds.append({
                "seconds": seconds,
                "cpu": (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime),
                "redis_cpu": redis_cpu,
                "garage_cpu": garage_cpu,
                "redis_per_metric": redis_commands / self.args.metrics,
                "s3_per_metric": s3_requests / self.args.metrics,
            })
            print("# %d workers, round %d: %.2f s; CPU s: workers %.2f, Garage %.2f, Redis %.2f; a metric: %.1f Redis "
                  "commands, %.1f S3 requests" % (workers, r + 1, seconds, rounds[-1]["cpu"], garage_cpu, redis_cpu,
                                                  rounds[-1]["redis_per_metric"], rounds[-1]["s3_per_metric"]),
                  flush=True)
        return rounds

    def stop(self):
        self.pg.stop()
        self.servers.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--carbonara", required=True)
    parser.add_argument("--garage", required=True)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--metrics", type=int, default=500)
    parser.add_argument("--points", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--tmpdir", default=None)
    args = parser.parse_args()
    top = tempfile.mkdtemp(prefix="carbonara-scaling-", dir=args.tmpdir)
    if os.getuid() == 0:
        os.chmod(top, 0o755)
    print("# %d cores; load average before: %s" % (os.cpu_count(), os.getloadavg()), flush=True)
    scaling = Scaling(args, top)
    results = {}
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            results[workers] = scaling.measure(workers)
    finally:
        scaling.stop()
        shutil.rmtree(top, ignore_errors=True)
    measures = args.metrics * args.points
    print("%d metrics of the medium policy, %d new measures each a round (%d); medians of %d rounds"
          % (args.metrics, args.points, measures, args.rounds))
    print("| workers | round | measures/s | metrics/s | CPU: workers, Garage, Redis | Redis commands a metric "
          "| S3 requests a metric |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for workers, rounds in results.items():
        seconds = statistics.median(r["seconds"] for r in rounds)
        print("| %d | %.2f s (%.2f–%.2f) | %s | %s | %.2f s, %.2f s, %.2f s | %.1f | %.1f |" % (
            workers, seconds, min(r["seconds"] for r in rounds), max(r["seconds"] for r in rounds),
            format(round(measures / seconds), ","), format(round(args.metrics / seconds), ","),
            statistics.median(r["cpu"] for r in rounds), statistics.median(r["garage_cpu"] for r in rounds),
            statistics.median(r["redis_cpu"] for r in rounds),
            statistics.median(r["redis_per_metric"] for r in rounds),
            statistics.median(r["s3_per_metric"] for r in rounds)))
    print("# load average after: %s" % (os.getloadavg(),))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"metrics": args.metrics, "points": args.points, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
