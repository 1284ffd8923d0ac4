#!/usr/bin/env python3
"""Live interop of carbonara and the real Gnocchi 4.7.1 on S3 storage
(Garage), Redis incoming and Redis coordination, both directions. Driven by
scripts/oracle/drivers-live.sh (see its header); run alone with the oracle's
Python:

    drivers_live.py --oracle ORACLE_DIR --venv VENV --carbonara target/release/carbonara \
        --out tests/golden/side-by-side/drivers_live.json [--keep]

One Garage node and one redis-server; on them four deployments of
real_gnocchi.sh (real gnocchi-api, each its own PostgreSQL, bucket prefix,
Redis incoming database and Redis coordination database):

    gnocchi-metricd    posts through gnocchi-api,    aggregated by the real gnocchi-metricd
    gnocchi-carbonara  posts through gnocchi-api,    aggregated by `carbonara --gnocchi-conf … process`
    carbonara-metricd  posts through `carbonara serve --gnocchi-conf …`, aggregated by gnocchi-metricd
    carbonara-carbonara posts through `carbonara serve`, aggregated by `carbonara process`

The same archive policy, the same metrics (fixed ids) and the same three
batches of measures in each; after each batch, the deployment's aggregator
runs (gnocchi-metricd: the script waits until it has trimmed every incoming
list; carbonara: one `process`). Then every metric × method × granularity is
read back through gnocchi-api (all four) and through carbonara serve (the
two where it posted), and the objects of each deployment's aggregates bucket
and the keys of its Redis incoming database are read: everything must be
equal, to the bit, to the gnocchi-metricd deployment's. Exit status 1 on
any difference (printed, and kept in the summary's `differences`).
"""

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from importlib import metadata

from live_deployment import (Api, LiveDeployment, S3Log, Servers, dump_redis, free_port, live_arguments,
                             live_end, live_run_dir, live_versions, s3_objects, wait_for_metricd)
from s3_redis_drivers import POLICY, batches as drivers_batches

METHODS = POLICY["aggregation_methods"]
GRANULARITIES = ("60.0", "300.0")
BULK = 6  # more metrics, more sacks, several splits


def metric_ids():
    names = ["alpha", "beta"] + ["bulk-%d" % i for i in range(BULK)]
    return {n: str(uuid.uuid5(uuid.NAMESPACE_URL, "carbonara/drivers-live/" + n)) for n in names}


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def the_batches():
    """Three batches {metric name: [measure, ...]}: the recorded goldens'
    two (tests/golden/drivers: duplicates, out of order, sub-second,
    epoch numbers, a re-sent point, one older than the back window) plus
    BULK metrics of 3 000 points each at 10 s, crossing the split boundary
    2024-01-03T00:00:00Z, and a third batch of bulk points only."""
    first, second = drivers_batches()
    out = [dict(first), dict(second), {}]
    t0 = 1704175200  # 2024-01-02T06:00:00Z
    for m in range(BULK):
        for b in range(3):
            points = []
            for i in range(3000):
                t = t0 + (b * 3000 + i) * 10 + m
                v = round(50.0 + 20.0 * math.sin((t % 86400) / 86400.0 * 2 * math.pi) + ((i * 7919 + m) % 97) / 16.0, 6)
                points.append({"timestamp": iso(t) + "Z" if b != 1 else t, "value": v})
            out[b]["bulk-%d" % m] = points
    return out


class Serve:
    """`carbonara --gnocchi-conf CONF serve`, no background passes."""

    def __init__(self, carbonara, conf, log):
        self.port = free_port()
        self.log = open(log, "wb")
        self.proc = subprocess.Popen([carbonara, "--gnocchi-conf", conf, "serve", "--listen",
                                      "127.0.0.1:%d" % self.port, "--process-interval", "0"],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        self.api = Api("http://127.0.0.1:%d" % self.port)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.api.url + "/", timeout=2).read()
                return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("carbonara serve did not start: see %s" % log)
                time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def must(answer, *statuses):
    if answer["status"] not in statuses:
        raise SystemExit("%s: HTTP %s %s" % (answer["request"], answer["status"], answer["body"]))
    return answer["body"]


def carbonara_process(args, dep):
    done = subprocess.run([args.carbonara, "--gnocchi-conf", dep.conf, "-q", "process", "-f", "json"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("carbonara process on %s: exit %d\n%s" % (dep.name, done.returncode, done.stderr))
    return done.stdout


def run_side(args, dep, poster, aggregator, ids, data):
    """Creates the policy and metrics through `poster`, posts the batches
    through it and aggregates each with `aggregator`."""
    must(poster.call("POST", "/v1/archive_policy", POLICY), 201)
    for name, fixed in ids.items():
        created = must(poster.call("POST", "/v1/metric", {"archive_policy_name": POLICY["name"], "name": name}), 201)
        dep.set_metric_id(created["id"], fixed)
    for name, fixed in ids.items():
        if must(poster.call("GET", "/v1/metric/" + fixed), 200)["id"] != fixed:
            raise SystemExit("%s: metric %s not found under its fixed id" % (dep.name, name))
    for number, batch in enumerate(data):
        if number == 1:  # one request per metric
            for name, points in batch.items():
                must(poster.call("POST", "/v1/metric/%s/measures" % ids[name], points), 202)
        else:  # one request for every metric
            must(poster.call("POST", "/v1/batch/metrics/measures", {ids[n]: p for n, p in batch.items()}), 202)
        if aggregator == "metricd":
            wait_for_metricd(dep)
        else:
            if not dep.waiting():
                raise SystemExit("%s: batch %d: no measure waiting in Redis before carbonara's pass"
                                 % (dep.name, number + 1))
            carbonara_process(args, dep)
            if dep.waiting():
                raise SystemExit("%s: carbonara process left %s" % (dep.name, dep.waiting()[:5]))
        print("  %s: batch %d aggregated" % (dep.name, number + 1), file=sys.stderr, flush=True)


def reads(api, ids):
    """(metric, method, granularity) → the answer of GET …/measures."""
    out = {}
    for name, mid in ids.items():
        for method in METHODS:
            for gran in GRANULARITIES:
                answer = api.call("GET", "/v1/metric/%s/measures?aggregation=%s&granularity=%s"
                                  % (mid, method, gran))
                out["%s %s %s" % (name, method, gran)] = must(answer, 200)
    return out


def digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def compare(label, reference, other, differences, limit=10):
    """Appends what differs between two dicts of the same shape."""
    keys = sorted(set(reference) | set(other))
    bad = [k for k in keys if reference.get(k) != other.get(k)]
    for k in bad[:limit]:
        differences.append({"what": label, "key": k,
                            "reference": repr(reference.get(k))[:300], "other": repr(other.get(k))[:300]})
    if len(bad) > limit:
        differences.append({"what": label, "key": "... and %d more" % (len(bad) - limit)})
    return not bad


def main():
    args = live_arguments(__doc__.split("\n")[0], "tests/golden/side-by-side/drivers_live.json")
    top = live_run_dir("carbonara-drivers-live-")
    servers, deployments, serves = None, [], []
    ok = False
    try:
        servers = Servers(args.garage, top)
        # (name, prefix, Redis incoming db (coordination: the next one), who posts, who aggregates)
        plan = [("gnocchi-metricd", "cbn-live-gm", 1, "gnocchi-api", "metricd"),
                ("gnocchi-carbonara", "cbn-live-gc", 3, "gnocchi-api", "carbonara"),
                ("carbonara-metricd", "cbn-live-cm", 5, "carbonara-serve", "metricd"),
                ("carbonara-carbonara", "cbn-live-cc", 7, "carbonara-serve", "carbonara")]
        for name, prefix, db, _poster, aggregator in plan:
            dep = LiveDeployment(servers, args.oracle, args.venv, name, prefix, db, aggregator == "metricd")
            deployments.append(dep)
            dep.start()
        print("  4 deployments up on Garage %s and redis-server :%d" % (servers.endpoint, servers.redis_port),
              file=sys.stderr, flush=True)
        ids = metric_ids()
        data = the_batches()
        # The S3 requests to each deployment's bucket from here on: who
        # aggregated shows (gnocchi-metricd HEADs every object it PUTs).
        s3_logs = {dep.name: S3Log(servers, dep.prefix + "-") for dep in deployments}
        s3 = servers.s3()
        read_sets, buckets, redis_dumps, serve_of = {}, {}, {}, {}
        for dep, (name, _prefix, _db, poster, aggregator) in zip(deployments, plan):
            if poster == "carbonara-serve":
                serve = Serve(args.carbonara, dep.conf, os.path.join(dep.run_dir, "serve.log"))
                serves.append(serve)
                serve_of[name] = serve
                api = serve.api
            else:
                api = dep.api
            run_side(args, dep, api, aggregator, ids, data)
        s3_counts = {name: log.count() for name, log in s3_logs.items()}
        for dep, (name, *_rest) in zip(deployments, plan):
            read_sets["%s via gnocchi-api" % name] = reads(dep.api, ids)
            if name in serve_of:
                read_sets["%s via carbonara serve" % name] = reads(serve_of[name].api, ids)
            buckets[name] = s3_objects(s3, dep.aggregates_bucket)
            redis_dumps[name] = dump_redis(dep.redis())

        differences = []
        ref_reads = read_sets["gnocchi-metricd via gnocchi-api"]
        for label, got in read_sets.items():
            compare("reads: %s vs gnocchi-metricd via gnocchi-api" % label, ref_reads, got, differences)
        ref_objects = buckets["gnocchi-metricd"]
        for name, got in buckets.items():
            compare("S3 aggregates bucket: %s vs gnocchi-metricd" % name,
                    {k: hashlib.sha256(v).hexdigest() for k, v in ref_objects.items()},
                    {k: hashlib.sha256(v).hexdigest() for k, v in got.items()}, differences)
        for name, got in redis_dumps.items():
            compare("Redis incoming database: %s vs gnocchi-metricd" % name, redis_dumps["gnocchi-metricd"],
                    got, differences)
        posted = sum(len(points) for batch in data for points in batch.values())
        points = sum(len(v) for v in ref_reads.values())
        summary = {
            "what": "one Garage node (S3 storage), one redis-server (incoming and tooz coordination); "
                    "four real_gnocchi.sh deployments (gnocchi-api %s on PostgreSQL), each posted the same "
                    "batches and aggregated them after each batch; everything read back and compared with "
                    "the deployment where gnocchi-api posted and gnocchi-metricd aggregated"
                    % metadata.version("gnocchi"),
            "script": "scripts/oracle/drivers-live.sh",
            "versions": live_versions(servers),
            "deployments": [{"name": n, "bucket_prefix": pr, "redis_incoming_db": db,
                             "coordination_url": "redis://127.0.0.1:<port>?db=%d" % (db + 1),
                             "posted_through": po,
                             "aggregated_by": "gnocchi-metricd (1 worker, polling every second)"
                             if ag == "metricd" else "carbonara --gnocchi-conf <its gnocchi.conf> process"}
                            for n, pr, db, po, ag in plan],
            "archive_policy": POLICY,
            "metrics": len(ids),
            "batches": [{"metrics": len(b), "measures": sum(len(v) for v in b.values()),
                         "request": "POST /v1/metric/<id>/measures, one per metric" if i == 1
                         else "POST /v1/batch/metrics/measures"} for i, b in enumerate(data)],
            "measures_posted": posted,
            "reads": {"sides": sorted(read_sets), "per_side": len(ref_reads),
                      "requests": "GET /v1/metric/<id>/measures?aggregation=<m>&granularity=<g> for %d metrics "
                                  "x %d methods x %d granularities" % (len(ids), len(METHODS), len(GRANULARITIES)),
                      "aggregate_points_per_side": points,
                      "sha256": {label: digest(got) for label, got in read_sets.items()}},
            "s3_aggregates": {"objects_per_side": len(ref_objects),
                              "bytes_per_side": sum(len(v) for v in ref_objects.values()),
                              "sha256": {name: digest({k: hashlib.sha256(v).hexdigest() for k, v in got.items()})
                                         for name, got in buckets.items()}},
            "redis_incoming_keys_after": sorted(redis_dumps["gnocchi-metricd"]),
            "s3_requests_before_the_reads": s3_counts,
            "differences": differences,
            "equal": not differences,
        }
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote %s: %d measures posted to %d metrics in %d batches; %d reads x %d sides, "
              "%d aggregate points each; %d S3 objects (%d bytes) x 4 deployments"
              % (args.out, posted, len(ids), len(data), len(ref_reads), len(read_sets), points,
                 len(ref_objects), summary["s3_aggregates"]["bytes_per_side"]), file=sys.stderr)
        for d in differences:
            print("DIFFERENCE: %s" % json.dumps(d), file=sys.stderr)
        ok = not differences
    finally:
        for serve in serves:
            serve.stop()
        for dep in deployments:
            dep.stop()
        live_end(servers, top, ok, args.keep)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
