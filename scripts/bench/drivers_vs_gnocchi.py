#!/usr/bin/env python3
"""carbonara against the real Gnocchi 4.7.1 on S3 storage (one Garage node),
Redis incoming and Redis coordination (one redis-server), PostgreSQL indexer,
in one run, on the same data. Called by scripts/bench/drivers-vs-gnocchi.sh
with the oracle virtualenv's Python (it imports gnocchi to run metricd's pass
in-process); shares deployment_vs_gnocchi.py's Gnocchi pass, data and
policies, and scripts/oracle/live_deployment.py's servers and counters.

Workloads (--workloads, default all three):

    bulk    --metrics (10) metrics x --points (100 000) one-second points, one batch
    batches the same in --batches (100) consecutive batches, a pass after each
    many    --many-metrics (10 000) metrics x --many-points (10) points, one batch

For each, --repeat times (default 3):

 1. a fresh deployment (real_gnocchi.sh reset: its PostgreSQL database from
    gnocchi-upgrade's template, gnocchi-api, no gnocchi-metricd), storage
    `[storage] driver = s3` (bucket prefix cbn-bench-g), `[incoming] driver =
    redis` (database 10), coordination redis://…?db=11; the aggregates
    buckets and Redis databases of both sides emptied first;
 2. the policy (Gnocchi's default --policy) and the metrics (through
    gnocchi-api; for `many`, one through the API and the others copied from
    its row by one SQL INSERT);
 3. carbonara's copy, taken before any measure: a database made from
    Gnocchi's (CREATE DATABASE … TEMPLATE, same PostgreSQL), bucket prefix
    cbn-bench-c, Redis databases 12 (incoming) and 13 (coordination), and a
    gnocchi.conf naming them;
 4. per batch: one POST /v1/batch/metrics/measures to gnocchi-api; its Redis
    incoming keys copied byte for byte (DUMP/RESTORE) into carbonara's
    database; then Gnocchi's pass (metricd's Chef.process_new_measures_for_sack
    over every sack, in this process, the deployment's own drivers, indexer
    and tooz Redis coordinator) and carbonara's (`carbonara --gnocchi-conf
    COPY.conf process`, the whole command: start, connections, pass), each
    timed alone, and the requests each sent (below);
 5. the aggregates buckets of both compared (key and ETag, i.e. MD5 of the
    bytes, of every object) and the incoming databases checked empty.

Requests per pass: Redis commands from INFO commandstats (CONFIG RESETSTAT
before each pass; nothing else talks to redis-server meanwhile: gnocchi-api is
idle and Gnocchi's coordinator is started just before its pass and stopped
after it, so its tooz heartbeat is not in carbonara's count); S3 requests
from Garage's request log (one INFO line per request), only those to the
side's own buckets. The least the layout allows is computed from what the
pass changed in the bucket (keys and ETags listed before and after, outside
the counted window): per metric 1 list read + 1 trim in Redis, and in S3
1 GET + 1 PUT of the bound series plus, per split object written, 1 GET + 1
PUT (a GET of a new one answers 404) and per split deleted 1 DELETE.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
from deployment_vs_gnocchi import GnocchiPass, iso, policy_document, synth  # noqa: E402
from live_deployment import LiveDeployment, RedisStats, S3Log, Servers  # noqa: E402

G_PREFIX, C_PREFIX = "cbn-bench-g", "cbn-bench-c"
G_DB, C_DB = 10, 12


class Bench:
    def __init__(self, args, servers):
        self.args = args
        self.servers = servers
        self.dep = LiveDeployment(servers, args.oracle, args.venv, "bench", G_PREFIX, G_DB, metricd=False)
        self.started = False
        self.s3 = servers.s3()
        self.copy_conf = os.path.join(servers.top, "carbonara.conf")

    def psql(self, *sql, db="postgres"):
        pgbin = os.environ.get("PGBIN") or "/usr/lib/postgresql/%s/bin" % max(
            os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
        cmd = [os.path.join(pgbin, "psql"), "-h", "127.0.0.1", "-p", str(self.dep.pg_port), "-U", "postgres",
               "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt"]
        for statement in sql:
            cmd += ["-c", statement]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout

    def empty_bucket(self, bucket):
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys += [{"Key": o["Key"]} for o in page.get("Contents", [])]
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[i:i + 1000], "Quiet": True})

    def etags(self, bucket):
        out = {}
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                out[o["Key"]] = o["ETag"]
        return out

    def fresh(self):
        """A fresh deployment and its carbonara copy's empty backends."""
        if self.started:
            subprocess.run([os.path.join(self.args.oracle, "real_gnocchi.sh"), "reset"], env=self.dep.env,
                           check=True, stdout=subprocess.DEVNULL)
        else:
            self.dep.start()
            self.started = True
            self.s3.create_bucket(Bucket=C_PREFIX + "-aggregates",
                                  CreateBucketConfiguration={"LocationConstraint": "garage"})
        for bucket in (G_PREFIX + "-aggregates", C_PREFIX + "-aggregates"):
            self.empty_bucket(bucket)
        for db in (G_DB, G_DB + 1, C_DB, C_DB + 1):
            client = self.servers.client(db)
            client.flushdb()
            if db in (G_DB, C_DB):
                # what gnocchi-upgrade (and `carbonara upgrade`) write
                client.hset("gnocchi-config", "sacks", 128)

    def make_copy(self):
        """carbonara's copy: the database, its gnocchi.conf."""
        self.psql("DROP DATABASE IF EXISTS carbonara_copy")
        for _ in range(50):
            self.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE datname = 'gnocchi' AND pid <> pg_backend_pid()")
            try:
                self.psql("CREATE DATABASE carbonara_copy TEMPLATE gnocchi")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.1)
        else:
            raise SystemExit("could not copy the database")
        with open(self.dep.conf) as f:
            text = f.read()
        text = re.sub(r"(?m)^url = (postgresql://.*)/gnocchi$", r"url = \1/carbonara_copy", text)
        text = text.replace("s3_bucket_prefix = " + G_PREFIX, "s3_bucket_prefix = " + C_PREFIX)
        text = text.replace("?db=%d" % G_DB, "?db=%d" % C_DB).replace("?db=%d" % (G_DB + 1), "?db=%d" % (C_DB + 1))
        with open(self.copy_conf, "w") as f:
            f.write(text)

    def copy_incoming(self):
        """gnocchi-api's incoming keys, byte for byte, into carbonara's database."""
        src, dst = self.servers.client(G_DB), self.servers.client(C_DB)
        keys = [k for k in src.keys("incoming*")]
        pipe = src.pipeline(transaction=False)
        for k in keys:
            pipe.dump(k)
        dumps = pipe.execute()
        pipe = dst.pipeline(transaction=False)
        for k, d in zip(keys, dumps):
            pipe.restore(k, 0, d, replace=True)
        pipe.execute()
        return len(keys)

    def create_metrics(self, count):
        api = self.dep.api
        name = self.args.policy
        r = api.call("POST", "/v1/archive_policy", policy_document(name))
        assert r["status"] == 201, r
        if count <= 100:
            ids = []
            for i in range(count):
                r = api.call("POST", "/v1/metric", {"name": "bench-%05d" % i, "archive_policy_name": name})
                assert r["status"] == 201, r
                ids.append(r["body"]["id"])
            return ids
        r = api.call("POST", "/v1/metric", {"name": "bench-00000", "archive_policy_name": name})
        assert r["status"] == 201, r
        first = r["body"]["id"]
        cols = self.psql("SELECT string_agg(column_name, ',') FROM information_schema.columns "
                         "WHERE table_schema = 'public' AND table_name = 'metric' "
                         "AND column_name NOT IN ('id', 'name')", db="gnocchi").strip()
        self.psql("INSERT INTO metric (id, name, %s) SELECT gen_random_uuid(), 'bench-' || "
                  "lpad(n::text, 5, '0'), %s FROM metric, generate_series(1, %d) n WHERE id = '%s'"
                  % (cols, cols, count - 1, first), db="gnocchi")
        ids = self.psql("SELECT id FROM metric ORDER BY name", db="gnocchi").split()
        assert len(ids) == count, len(ids)
        return ids

    def gnocchi_pass(self, metrics):
        gnocchi = GnocchiPass(self.dep.conf)
        try:
            redis, s3 = RedisStats(self.servers), S3Log(self.servers, G_PREFIX)
            started = time.perf_counter()
            processed = gnocchi.run()
            took = time.perf_counter() - started
            counted = {"redis": redis.count(), "s3": s3.count()}
        finally:
            gnocchi.close()
        if processed != metrics:
            raise SystemExit("Gnocchi's pass processed %d metrics of %d" % (processed, metrics))
        return took, counted

    def carbonara_pass(self):
        redis, s3 = RedisStats(self.servers), S3Log(self.servers, C_PREFIX)
        started = time.perf_counter()
        subprocess.run([self.args.carbonara, "--gnocchi-conf", self.copy_conf, "-q", "process"], check=True)
        took = time.perf_counter() - started
        return took, {"redis": redis.count(), "s3": s3.count()}

    def run(self, metrics, points, batches):
        self.fresh()
        ids = self.create_metrics(metrics)
        self.make_copy()
        data = synth(metrics, points)
        edges = [(points * b) // batches for b in range(batches + 1)]
        out = {"metrics": metrics, "points": points, "batches": batches, "measures": metrics * points,
               "post_s": 0.0, "gnocchi_s": 0.0, "carbonara_s": 0.0,
               "gnocchi": {}, "carbonara": {}, "least": {"redis": 0, "s3": 0}}

        def tally(engine, counted):
            for kind, counts in counted.items():
                mine = out[engine].setdefault(kind, {})
                for k, v in counts.items():
                    mine[k] = mine.get(k, 0) + v
        bucket = C_PREFIX + "-aggregates"
        for b in range(batches):
            body = {mid: [{"timestamp": iso(t), "value": v} for t, v in data[i][edges[b]:edges[b + 1]]]
                    for i, mid in enumerate(ids)}
            started = time.perf_counter()
            r = self.dep.api.call("POST", "/v1/batch/metrics/measures", body)
            out["post_s"] += time.perf_counter() - started
            assert r["status"] == 202, r
            self.copy_incoming()
            took, counted = self.gnocchi_pass(metrics)
            out["gnocchi_s"] += took
            tally("gnocchi", counted)
            before = self.etags(bucket)
            took, counted = self.carbonara_pass()
            out["carbonara_s"] += took
            tally("carbonara", counted)
            after = self.etags(bucket)
            written = [k for k, e in after.items() if before.get(k) != e and not k.endswith("/none_v3")]
            deleted = [k for k in before if k not in after]
            out["least"]["redis"] += 2 * metrics
            out["least"]["s3"] += 2 * metrics + 2 * len(written) + len(deleted)
        theirs, ours = self.etags(G_PREFIX + "-aggregates"), self.etags(bucket)
        out["objects"] = len(theirs)
        out["differ"] = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))[:10]
        left = [db for db in (G_DB, C_DB) if self.servers.client(db).keys("incoming*:*")]
        if left:
            raise SystemExit("measures left unprocessed in Redis databases %s" % left)
        return out


def summed(counts):
    return sum(counts.values())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--oracle", required=True)
    p.add_argument("--venv", required=True)
    p.add_argument("--carbonara", required=True)
    p.add_argument("--garage", default=os.path.expanduser("~/.cargo/bin/garage"))
    p.add_argument("--tmpdir", default=os.environ.get("TMPDIR", "/tmp"))
    p.add_argument("--workloads", default="bulk,batches,many")
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--points", type=int, default=100000)
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--many-metrics", type=int, default=10000)
    p.add_argument("--many-points", type=int, default=10)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--policy", default="high", choices=["low", "medium", "high"])
    p.add_argument("--json", help="also write every run's figures here")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    args.oracle, args.venv, args.carbonara = map(os.path.abspath, (args.oracle, args.venv, args.carbonara))
    shapes = {"bulk": (args.metrics, args.points, 1), "batches": (args.metrics, args.points, args.batches),
              "many": (args.many_metrics, args.many_points, 1)}

    print("# %d cores; load average before: %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]),
          flush=True)
    top = tempfile.mkdtemp(prefix="carbonara-drivers-bench-", dir=args.tmpdir)
    os.chmod(top, 0o755)
    servers = bench = None
    results = []
    try:
        servers = Servers(args.garage, top)
        bench = Bench(args, servers)
        for workload in args.workloads.split(","):
            metrics, points, batches = shapes[workload]
            runs = []
            for i in range(args.repeat):
                runs.append(bench.run(metrics, points, batches))
                r = runs[-1]
                print("# %s run %d: Gnocchi %.2f s, carbonara %.2f s (%.1fx); load %s" % (
                    workload, i + 1, r["gnocchi_s"], r["carbonara_s"], r["gnocchi_s"] / r["carbonara_s"],
                    open("/proc/loadavg").read().split()[:3]), flush=True)
            results.append({"workload": workload, "runs": runs})
    finally:
        if bench is not None and bench.started:
            bench.dep.stop()
        if servers is not None:
            servers.stop()
        if args.keep:
            print("# kept %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)

    print("S3 storage (Garage %s), Redis incoming and coordination (%s), PostgreSQL indexer; policy %s "
          "(Gnocchi's default); medians of %d runs, the range over the runs in brackets" % (
              servers.versions.get("garage", "?"), servers.versions["redis-server"].split()[2],
              args.policy, args.repeat))
    print("| workload | Gnocchi metricd pass | carbonara `process` | ratio | archives |")
    print("| --- | --- | --- | --- | --- |")
    failed = False
    for res in results:
        runs = res["runs"]
        r0 = runs[0]
        g = [r["gnocchi_s"] for r in runs]
        c = [r["carbonara_s"] for r in runs]
        ratios = sorted(a / b for a, b in zip(g, c))
        differ = [d for r in runs for d in r["differ"]]
        failed |= bool(differ)
        label = {"bulk": "%d metrics x %d points, 1 batch", "batches": "%d metrics x %d points, %s batches",
                 "many": "%d metrics x %d points, 1 batch"}[res["workload"]]
        label = label % ((r0["metrics"], r0["points"], r0["batches"]) if res["workload"] == "batches"
                         else (r0["metrics"], r0["points"]))
        print("| %s | %.2f s (%.2f–%.2f) = %s points/s | %.2f s (%.2f–%.2f) = %s points/s | **%.1fx** (%.1f–%.1f) | %s |"
              % (label, statistics.median(g), min(g), max(g), "{:,.0f}".format(r0["measures"] / statistics.median(g)),
                 statistics.median(c), min(c), max(c), "{:,.0f}".format(r0["measures"] / statistics.median(c)),
                 statistics.median(g) / statistics.median(c), ratios[0], ratios[-1],
                 "%d objects, identical in every run" % r0["objects"] if not differ
                 else "DIFFER: %s" % differ[:3]))
    print()
    print("Requests per pass (first run; a pass = the work after one batch):")
    print("| workload | engine | Redis commands | S3 requests | least the layout allows (Redis / S3) |")
    print("| --- | --- | --- | --- | --- |")
    for res in results:
        r = res["runs"][0]
        n = r["batches"]
        for engine in ("gnocchi", "carbonara"):
            redis, s3 = r[engine].get("redis", {}), r[engine].get("s3", {})
            print("| %s | %s | %.1f (%s) | %.1f (%s) | %.1f / %.1f |" % (
                res["workload"], "Gnocchi" if engine == "gnocchi" else "carbonara",
                summed(redis) / n, ", ".join("%s %g" % (k, v / n) for k, v in sorted(redis.items(), key=lambda kv: -kv[1])),
                summed(s3) / n, ", ".join("%s %g" % (k, v / n) for k, v in sorted(s3.items(), key=lambda kv: -kv[1])),
                r["least"]["redis"] / n, r["least"]["s3"] / n))
    print("# load average after: %s" % open("/proc/loadavg").read().split()[:3])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
