#!/usr/bin/env python3
"""What the real Gnocchi 4.7.1 writes with its S3 and Redis drivers.

Run with the oracle's Python (Gnocchi 4.7.1, boto3, redis-py), from the
repository, and commit what it writes:

    ORACLE=../shared/oracle ORACLE_VENV=/work/oracle-venv \
        $ORACLE_VENV/bin/python scripts/oracle/s3_redis_drivers.py \
        --out tests/golden/drivers

It starts, each on free loopback ports in one temporary directory and each
stopped by its PID at the end:

* one Garage node (`~/.cargo/bin/garage`, or `--garage`), as
  spec/gnocchi-deployments.md §6 says: sqlite, replication_factor 1,
  `server --single-node --default-access-key`, region `garage`;
* one redis-server (Debian's package, no persistence), and a MONITOR on it;
* for each deployment below, the oracle's `real_gnocchi.sh` (real gnocchi-api
  on its own PostgreSQL, `gnocchi-upgrade` run by it) WITHOUT gnocchi-metricd
  (`GNOCCHI_METRICD=0`): measures are processed only by
  `GET /v1/metric/<id>/measures?refresh=true`, so batch boundaries are exact.
  Coordination stays tooz's file driver (real_gnocchi.sh's default), so the
  Redis dumps hold Gnocchi's data only.

Deployments (each with its own bucket prefix and Redis database):

    redis_incoming_s3_storage.json    [incoming] redis (db 1), [storage] s3 (prefix cbn-ris3)
    s3_incoming_s3_storage.json       [incoming] s3,  [storage] s3 (prefix cbn-s3s3)
    redis_incoming_redis_storage.json [incoming] redis, [storage] redis (both db 2)
    upgrade.json                      gnocchi-upgrade run twice (and a third time
                                      with another --sacks-number) on the same
                                      Garage / Redis, per driver pair

Same fixed inputs in each deployment: archive policy `drivers` (60 s × 5000
points and 300 s × 1000 points, back_window 0, methods mean, max, count,
95pct, rate:mean), two metrics whose ids are fixed (gnocchi-api ignores an id
in POST /v1/metric: the metrics are created through the API, then their ids
are changed by one SQL UPDATE in the indexer before any measure exists; the
storage and incoming drivers hold nothing for a metric before its first
measure, which the `created` step shows), measures posted in two batches
(batch 1 through POST /v1/batch/metrics/measures, batch 2 through
POST /v1/metric/<id>/measures per metric) crossing the split boundary
2024-01-03T00:00:00Z (1704240000.0, a boundary of both granularities), with a
duplicate timestamp, an out-of-order point, a sub-second timestamp, epoch
numbers (beta's batch 2; and one number after ISO strings in alpha's batch 1,
which Gnocchi reads as nanoseconds), a point re-sent in batch 2 and one older
than the back window.

Every step records the REST answers (and, after processing, `reads`: the
answer of GET /v1/metric/<id>/measures?aggregation=<m> for every method),
every Redis key of the deployment's database (type; list items as hex; hash fields of `timeseries:*` as base64,
others as text; strings as text), every object of its buckets (key → base64
body, plus the Content-Type Garage reports) and the Redis commands the
gnocchi processes sent meanwhile (from MONITOR; binary arguments as hex,
long ones as `<N bytes>`; what a Lua script itself called follows a
`(lua)` element; the HSCAN cursors of Redis storage's listing script, which
depend on redis-server's random hash seed, are written `<cursor>` and the
HSCANs of one walk once). gnocchi-api and gnocchi-upgrade run with
PYTHONHASHSEED=0: Gnocchi keeps a policy's methods in a set, whose order shows
in the REST answers and in the order of the splits it reads and writes. The only values that vary between runs are the
S3 incoming object names (uuid4 + the API's clock): each is checked against
`measure_key_pattern` and kept as recorded.
"""

import argparse
import base64
from importlib import metadata
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.config
import botocore.exceptions
import psycopg2
import redis

GARAGE_KEY_ID = "GKcarbonaratest"
GARAGE_SECRET = "carbonara-test-secret-0001"
REGION = "garage"
SACKS = 128
POLICY = {
    "name": "drivers",
    "back_window": 0,
    "definition": [
        {"granularity": "60s", "points": 5000},
        {"granularity": "300s", "points": 1000},
    ],
    "aggregation_methods": ["mean", "max", "count", "95pct", "rate:mean"],
}
METHODS = POLICY["aggregation_methods"]
# Fixed ids: uuid5 of the names in the URL namespace.
METRICS = {
    name: str(uuid.uuid5(uuid.NAMESPACE_URL, "carbonara/golden/drivers/" + name))
    for name in ("alpha", "beta")
}
ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')
MEASURE_KEY = re.compile(
    r"^(?P<sack>[0-9]+)-%d/(?P<metric>[0-9a-f-]{36})/"
    r"(?P<uuid4>[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})"
    r"_(?P<time>[0-9]{8}_[0-9]{2}:[0-9]{2}:[0-9]{2})$" % SACKS)


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


def batches():
    """The two batches: {metric name: [{"timestamp": .., "value": ..}]}."""
    t0 = 1704196800  # 2024-01-02T12:00:00Z
    alpha1 = []
    for i in range(155):  # every 7 min, 12:00 → 2024-01-03T05:58:00
        alpha1.append({"timestamp": iso(t0 + i * 420) + "Z", "value": ((i * 37) % 101) / 4.0})
    # a duplicate timestamp in the batch (the smallest value is kept)
    alpha1.insert(10, {"timestamp": alpha1[10]["timestamp"], "value": 99.5})
    # an out-of-order point: sent last, 30 s after the 100th point
    alpha1.append({"timestamp": iso(t0 + 100 * 420 + 30) + "Z", "value": -3.25})
    # sub-second and epoch-number timestamps
    alpha1.append({"timestamp": iso(t0 + 50 * 420 + 1) + ".5Z", "value": 1.125})
    # A number after ISO strings: Gnocchi's utils.to_timestamps picks the
    # parser from the list's FIRST timestamp, so this one is read by
    # numpy.array(values, dtype='datetime64[ns]') as NANOseconds:
    # 1970-01-01T00:00:01.704222002 (kept: it is what Gnocchi does)
    alpha1.append({"timestamp": t0 + 60 * 420 + 2, "value": 2.0})
    beta1 = [{"timestamp": iso(1704225600 + i * 900) + "+00:00", "value": float(i * i % 17)}
             for i in range(25)]  # every 15 min, 2024-01-02T20:00 → 2024-01-03T02:00
    last = t0 + 154 * 420  # 2024-01-03T05:58:00, batch 1's newest point of alpha
    alpha2 = [
        {"timestamp": iso(last) + "Z", "value": 500.0},  # re-sent: replaces
        {"timestamp": iso(last - 120) + "Z", "value": 501.0},  # 05:56, in the last 300 s block
        {"timestamp": iso(last - 3480) + "Z", "value": 502.0},  # 05:00, older than the back window
    ]
    for i in range(1, 52):  # every 7 min, 06:05 → 11:55
        alpha2.append({"timestamp": iso(last + i * 420) + "Z", "value": 100.0 + ((i * 13) % 29) / 8.0})
    # epoch seconds (the first timestamp of the list is a number: all are
    # read as seconds; compare alpha's last point in batch 1)
    beta2 = [{"timestamp": 1704250800, "value": 42.0},  # 2024-01-03T03:00:00Z
             {"timestamp": 1704247200.0, "value": 41.0}]  # 02:00, beta's newest, re-sent
    return [{"alpha": alpha1, "beta": beta1}, {"alpha": alpha2, "beta": beta2}]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout.strip()


class Servers:
    """Garage and redis-server, stopped by PID."""

    def __init__(self, garage_bin, top, with_garage=True):
        self.children = []
        self.top = top
        self.redis_port = free_port()
        rdir = os.path.join(top, "redis")
        os.makedirs(rdir)
        self._spawn(["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                     "--save", "", "--appendonly", "no", "--dir", rdir],
                    os.path.join(rdir, "redis.log"))
        self.versions = {"redis-server": run(["redis-server", "--version"])}
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client().ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise SystemExit("redis-server did not start")
                time.sleep(0.05)
        self.s3_port = -1
        self.endpoint = None
        if with_garage:
            self._start_garage(garage_bin, top)

    def _start_garage(self, garage_bin, top):
        gdir = os.path.join(top, "garage")
        os.makedirs(gdir)
        self.s3_port, rpc_port = free_port(), free_port()
        while rpc_port == self.s3_port:
            rpc_port = free_port()
        conf = os.path.join(gdir, "garage.toml")
        with open(conf, "w") as f:
            f.write('metadata_dir = "%s/meta"\ndata_dir = "%s/data"\ndb_engine = "sqlite"\n'
                    'replication_factor = 1\nrpc_bind_addr = "127.0.0.1:%d"\n'
                    'rpc_public_addr = "127.0.0.1:%d"\nrpc_secret = "%s"\n'
                    '[s3_api]\ns3_region = "%s"\napi_bind_addr = "127.0.0.1:%d"\n'
                    % (gdir, gdir, rpc_port, rpc_port, secrets.token_hex(32), REGION, self.s3_port))
        env = dict(os.environ, GARAGE_DEFAULT_ACCESS_KEY=GARAGE_KEY_ID,
                   GARAGE_DEFAULT_SECRET_KEY=GARAGE_SECRET)
        self.garage_log = os.path.join(gdir, "garage.log")
        self._spawn([garage_bin, "-c", conf, "server", "--single-node", "--default-access-key"],
                    self.garage_log, env=env)
        self.endpoint = "http://127.0.0.1:%d" % self.s3_port
        self.versions["garage"] = run([garage_bin, "--version"])
        deadline = time.monotonic() + 60
        while True:
            try:
                self.s3().list_buckets()
                break
            except Exception as e:  # connection refused, 503 while the layout settles
                if time.monotonic() > deadline:
                    raise SystemExit("garage did not start: %s\n%s" % (e, open(self.garage_log).read()[-3000:]))
                time.sleep(0.3)

    def _spawn(self, cmd, log, env=None):
        out = open(log, "w")
        self.children.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=out, env=env))

    def client(self, db=0):
        return redis.Redis(host="127.0.0.1", port=self.redis_port, db=db,
                           single_connection_client=True)

    def s3(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=GARAGE_KEY_ID, aws_secret_access_key=GARAGE_SECRET,
                            config=botocore.config.Config(s3={"addressing_style": "path"}))

    def stop(self):
        for child in reversed(self.children):
            if child.poll() is None:
                os.kill(child.pid, signal.SIGTERM)
                try:
                    child.wait(20)
                except subprocess.TimeoutExpired:
                    os.kill(child.pid, signal.SIGKILL)
                    child.wait()


def arg_value(text):
    """A MONITOR argument: text if printable ASCII, else hex (or its size)."""
    raw = bytes(text, "utf-8").decode("unicode_escape").encode("latin-1")
    if all(32 <= b < 127 or b in (9, 10) for b in raw):
        return raw.decode() if len(raw) <= 2000 else "<%d bytes>" % len(raw)
    return "hex:" + raw.hex() if len(raw) <= 64 else "<%d bytes>" % len(raw)


class Monitor:
    """Commands sent to redis-server, our own clients' left out."""

    def __init__(self, servers):
        self.conn = redis.Redis(host="127.0.0.1", port=servers.redis_port,
                                socket_timeout=None).monitor()
        self.conn.__enter__()
        self.marker = servers.client()
        self.ours = set()
        self.commands = []
        self.seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        self.ours.add(self._client_of(self.marker))

    def _read(self):
        while True:
            try:
                line = self.conn.connection.read_response()
            except redis.TimeoutError:
                continue
            except Exception as e:
                self.error = e
                return
            if isinstance(line, bytes):
                line = line.decode("latin-1")
            where = line.split("[", 1)[1].split("]", 1)[0]
            db, client = where.split(" ", 1)
            args = ARG.findall(line)
            with self.seen:
                self.commands.append({"db": int(db), "client": client, "args": args})
                self.seen.notify_all()

    def _wait_for(self, marker):
        def found():
            return next((c for c in self.commands if c["args"] == ["ECHO", marker]), None)
        with self.seen:
            c = self.seen.wait_for(found, 20)
        if c is None:
            raise SystemExit("MONITOR did not show %s (%r)" % (marker, getattr(self, "error", None)))
        return c

    def _client_of(self, client):
        marker = "carbonara-who-%s" % uuid.uuid4().hex
        client.echo(marker)
        return self._wait_for(marker)["client"]

    def ignore(self, client):
        self.ours.add(self._client_of(client))

    def mark(self):
        marker = "carbonara-mark-%s" % uuid.uuid4().hex
        self.marker.echo(marker)
        self._wait_for(marker)
        return len(self.commands)

    def since(self, start, db):
        end = self.mark()
        # Commands a Lua script sent are kept, after a "(lua)" element. The
        # cursors of the HSCANs of Redis storage's listing script depend on
        # the hash table's layout (redis-server seeds its hashing at random):
        # they are written <cursor>, and the HSCANs of one walk written once.
        out = []
        for c in self.commands[start:end]:
            if c["client"] in self.ours or c["db"] != db or (c["args"] and c["args"][0] == "ECHO"):
                continue
            args = [arg_value(a) for a in c["args"]]
            if c["client"] == "lua":
                if args[0] == "HSCAN":
                    args[2] = "<cursor>"
                args = ["(lua)"] + args
            if args[:2] == ["(lua)", "HSCAN"] and out and out[-1] == args:
                continue
            out.append(args)
        return out


def dump_redis(client):
    out = {}
    for key in sorted(client.keys("*")):
        name = key.decode()
        kind = client.type(key).decode()
        entry = {"type": kind, "ttl": client.ttl(key)}
        if kind == "list":
            entry["items_hex"] = [v.hex() for v in client.lrange(key, 0, -1)]
        elif kind == "hash":
            fields = client.hgetall(key)
            if name.startswith("timeseries:"):
                entry["fields_base64"] = {f.decode(): base64.b64encode(v).decode()
                                          for f, v in sorted(fields.items())}
            else:
                entry["fields"] = {f.decode(): v.decode() for f, v in sorted(fields.items())}
        elif kind == "string":
            entry["value"] = client.get(key).decode()
        else:
            raise SystemExit("unexpected Redis key type %s for %s" % (kind, name))
        out[name] = entry
    return out


def dump_buckets(s3, prefix):
    out = {}
    names = sorted(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith(prefix + "-"))
    for bucket in names:
        objects = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for o in page.get("Contents", []):
                got = s3.get_object(Bucket=bucket, Key=o["Key"])
                body = got["Body"].read()
                objects[o["Key"]] = {"base64": base64.b64encode(body).decode(),
                                     "size": len(body),
                                     "content_type": got.get("ContentType"),
                                     "metadata": got.get("Metadata", {})}
        out[bucket] = objects
    return out


class Api:
    def __init__(self, url):
        self.url = url

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:").decode())
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = text
        return {"request": "%s %s" % (method, path), "status": status, "body": parsed}


class Deployment:
    """One real_gnocchi.sh deployment (no metricd) with the given sections."""

    def __init__(self, args, servers, name, storage, incoming):
        self.args = args
        self.run_dir = os.path.join(servers.top, "run-" + name)
        self.pg_port = free_port()
        self.api_port = free_port()
        self.env = dict(os.environ, ORACLE_VENV=args.venv, GNOCCHI_RUN_DIR=self.run_dir,
                        GNOCCHI_API_PORT=str(self.api_port), GNOCCHI_PG_PORT=str(self.pg_port),
                        GNOCCHI_STORAGE_SECTION=storage, GNOCCHI_INCOMING_SECTION=incoming,
                        GNOCCHI_METRICD="0",
                        # Gnocchi keeps a policy's methods in a set: its order (in the REST
                        # answers, and the order of the splits it reads and writes) follows
                        # Python's string hashing; fixed here so that reruns give the same bytes
                        PYTHONHASHSEED="0")
        self.started = False

    def start(self):
        self.started = True
        subprocess.run([os.path.join(self.args.oracle, "real_gnocchi.sh"), "start"], env=self.env,
                       check=True, stdout=subprocess.DEVNULL)
        self.api = Api("http://127.0.0.1:%d" % self.api_port)

    def stop(self):
        if self.started:
            subprocess.run([os.path.join(self.args.oracle, "real_gnocchi.sh"), "stop"], env=self.env,
                           check=False, stdout=subprocess.DEVNULL)
            self.started = False

    def set_metric_id(self, old, new):
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname="gnocchi")
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE metric SET id = %s WHERE id = %s", (new, old))
            assert cur.rowcount == 1
        conn.close()


def scrub(text, servers, extra=()):
    text = text.replace(GARAGE_SECRET, "<secret>")
    for port in (servers.redis_port, servers.s3_port) + tuple(extra):
        text = text.replace("127.0.0.1:%d" % port, "127.0.0.1:<port>")
    return text


def scrub_log(line, servers):
    """A log line without its time and pid, file paths below site-packages,
    the redis-py client's repr (addresses, port) abbreviated."""
    line = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \[\d+\] ", "<time> [<pid>] ", line)
    line = re.sub(r'File "[^"]*/site-packages/', 'File "', line)
    line = re.sub(r'File "[^"]*/bin/gnocchi-upgrade"', 'File "<venv>/bin/gnocchi-upgrade"', line)
    line = re.sub(r'File "[^"]*/lib/python3\.[0-9]+/', 'File "<python>/lib/', line)
    line = re.sub(r"<redis\.client\.Redis\(.*\)>$", "<redis.client.Redis(...)>", line)
    return scrub(line, servers)


def sections(servers, storage, incoming, prefix, db):
    s3 = ("s3_endpoint_url = %s\ns3_region_name = %s\ns3_access_key_id = %s\n"
          "s3_secret_access_key = %s\ns3_bucket_prefix = %s\n"
          % (servers.endpoint, REGION, GARAGE_KEY_ID, GARAGE_SECRET, prefix))
    rd = "redis_url = redis://127.0.0.1:%d/?db=%d\n" % (servers.redis_port, db)
    body = {"s3": s3, "redis": rd}
    return ("driver = %s\n%s" % (storage, body[storage]),
            "driver = %s\n%s" % (incoming, body[incoming]))


def record_deployment(args, servers, monitor, versions, name, storage, incoming, prefix, db):
    storage_sec, incoming_sec = sections(servers, storage, incoming, prefix, db)
    dep = Deployment(args, servers, name, storage_sec, incoming_sec)
    rclient = servers.client(db)
    monitor.ignore(rclient)
    s3 = servers.s3()
    uses_redis = "redis" in (storage, incoming)
    uses_s3 = "s3" in (storage, incoming)
    steps = []

    def snapshot(step, start, rest):
        entry = {"step": step, "rest": rest}
        if uses_redis:
            entry["redis_commands"] = monitor.since(start, db)
            entry["redis"] = dump_redis(rclient)
        if uses_s3:
            entry["s3"] = dump_buckets(s3, prefix)
        steps.append(entry)
        print("  %s: %s" % (name, step), file=sys.stderr)

    try:
        start = monitor.mark()
        dep.start()
        snapshot("upgraded_and_started", start, [])

        start = monitor.mark()
        rest = [dep.api.call("POST", "/v1/archive_policy", POLICY)]
        ids = {}
        for mname, fixed in METRICS.items():
            r = dep.api.call("POST", "/v1/metric", {"archive_policy_name": "drivers", "name": mname})
            assert r["status"] == 201, r
            dep.set_metric_id(r["body"]["id"], fixed)
            r["body"]["id"] = "<random id, set to %s by SQL>" % fixed
            rest.append(r)
            ids[mname] = fixed
        for mname, fixed in METRICS.items():
            r = dep.api.call("GET", "/v1/metric/" + fixed)
            assert r["status"] == 200 and r["body"]["id"] == fixed, r
            rest.append(r)
        snapshot("created", start, rest)

        data = batches()

        def refresh():
            # the measures of each metric processed by gnocchi-api itself
            out = []
            for mid in METRICS.values():
                out.append(dep.api.call("GET", "/v1/metric/%s/measures?refresh=true" % mid))
                assert out[-1]["status"] == 200, out[-1]
            return out

        def reads():
            # every method (both granularities in one answer, coarsest first)
            out = []
            for mid in METRICS.values():
                for m in METHODS:
                    out.append(dep.api.call("GET", "/v1/metric/%s/measures?aggregation=%s" % (mid, m)))
                    assert out[-1]["status"] == 200, out[-1]
            return out

        # batch 1: one request for both metrics
        start = monitor.mark()
        r = dep.api.call("POST", "/v1/batch/metrics/measures",
                         {METRICS[m]: pts for m, pts in data[0].items()})
        assert r["status"] == 202, r
        snapshot("batch1_posted", start, [r])

        start = monitor.mark()
        snapshot("batch1_processed", start, refresh())
        steps[-1]["reads"] = reads()

        # batch 2: one request per metric
        start = monitor.mark()
        rest = []
        for mname, pts in data[1].items():
            rest.append(dep.api.call("POST", "/v1/metric/%s/measures" % METRICS[mname], pts))
            assert rest[-1]["status"] == 202, rest[-1]
        snapshot("batch2_posted", start, rest)

        start = monitor.mark()
        snapshot("batch2_processed", start, refresh())
        steps[-1]["reads"] = reads()
    finally:
        dep.stop()

    record = {
        "what": "real gnocchi-api %s (no gnocchi-metricd; processing by ?refresh=true), "
                "[storage] driver = %s, [incoming] driver = %s" % (versions["gnocchi"], storage, incoming),
        "versions": versions,
        "gnocchi_conf": {"storage": scrub(storage_sec, servers), "incoming": scrub(incoming_sec, servers),
                         "coordination_url": "file://<run dir>/locks (real_gnocchi.sh's default)"},
        "sacks": SACKS,
        "bucket_prefix": prefix if uses_s3 else None,
        "redis_db": db if uses_redis else None,
        "archive_policy": POLICY,
        "metrics": {m: {"id": i, "sack": uuid.UUID(i).int % SACKS} for m, i in METRICS.items()},
        "batches": [
            {"request": "POST /v1/batch/metrics/measures (both metrics in one body)", "measures": data[0]},
            {"request": "POST /v1/metric/<id>/measures (one request per metric, alpha first)",
             "measures": data[1]},
        ],
        "steps": steps,
    }
    if incoming == "s3":
        record["measure_key_pattern"] = MEASURE_KEY.pattern
        for st in steps:
            for key in st.get("s3", {}).get(prefix + "-measure", {}):
                if key != "gnocchi-config":
                    m = MEASURE_KEY.match(key)
                    assert m, key
                    assert int(m.group("sack")) == uuid.UUID(m.group("metric")).int % SACKS, key
    return record


def record_upgrades(args, servers, monitor, versions):
    """gnocchi-upgrade (storage + incoming only) run again and again on one Garage/Redis."""
    out = {"what": "gnocchi-upgrade --skip-index --skip-archive-policies-creation, run twice with "
                   "the default --sacks-number (128) then once with --sacks-number 64, on the same "
                   "Garage node / Redis database, per driver pair",
           "versions": versions, "cases": {}}
    cases = [
        ("s3_storage_s3_incoming", "s3", "s3", "cbn-up-s3s3", 3),
        ("s3_storage_redis_incoming", "s3", "redis", "cbn-up-s3r", 4),
        ("redis_storage_redis_incoming", "redis", "redis", "cbn-up-rr", 5),
        ("s3_incoming_alone", None, "s3", "cbn-up-in", 6),
    ]
    s3 = servers.s3()
    for name, storage, incoming, prefix, db in cases:
        st, inc = sections(servers, storage or "s3", incoming, prefix, db)
        d = os.path.join(servers.top, "upgrade-" + name)
        os.makedirs(d)
        conf = os.path.join(d, "gnocchi.conf")
        with open(conf, "w") as f:
            f.write("[DEFAULT]\ncoordination_url = file://%s/locks\n[indexer]\n"
                    "url = postgresql://postgres@127.0.0.1:1/unused\n[storage]\n%s\n[incoming]\n%s\n"
                    % (d, st, inc))
        rclient = servers.client(db)
        monitor.ignore(rclient)
        runs = []
        for sacks in (None, None, 64):
            cmd = [os.path.join(args.venv, "bin", "gnocchi-upgrade"), "--config-file", conf,
                   "--skip-index", "--skip-archive-policies-creation"]
            if storage is None:
                cmd.append("--skip-storage")
            if sacks:
                cmd += ["--sacks-number", str(sacks)]
            start = monitor.mark()
            p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
            entry = {"argv": ["gnocchi-upgrade"] + cmd[1:2] + ["gnocchi.conf"] + cmd[3:],
                     "exit_status": p.returncode,
                     "output": [scrub_log(l, servers) for l in (p.stdout + p.stderr).splitlines()]}
            if "redis" in (storage, incoming):
                entry["redis_commands"] = monitor.since(start, db)
                entry["redis"] = dump_redis(rclient)
            if "s3" in (storage, incoming):
                entry["s3"] = dump_buckets(s3, prefix)
            runs.append(entry)
        out["cases"][name] = {"storage": scrub(st, servers) if storage else "(--skip-storage)",
                              "incoming": scrub(inc, servers), "runs": runs}
        print("  upgrade: %s: %s" % (name, [r["exit_status"] for r in runs]), file=sys.stderr)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="tests/golden/drivers")
    p.add_argument("--oracle", default=os.environ.get("ORACLE", "../shared/oracle"))
    p.add_argument("--venv", default=os.environ.get("ORACLE_VENV", sys.prefix))
    p.add_argument("--garage", default=os.path.expanduser("~/.cargo/bin/garage"))
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    p.add_argument("parts", nargs="*", default=["ris3", "s3s3", "rr", "upgrade"])
    args = p.parse_args()
    args.oracle = os.path.abspath(args.oracle)
    args.venv = os.path.abspath(args.venv)
    os.makedirs(args.out, exist_ok=True)

    top = tempfile.mkdtemp(prefix="carbonara-drivers-")
    os.chmod(top, 0o755)  # PostgreSQL runs as the postgres user under it
    servers = None

    def on_signal(signum, frame):
        raise SystemExit("signal %d" % signum)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        servers = Servers(args.garage, top, with_garage=args.parts != ["rr"])
        monitor = Monitor(servers)
        versions = dict(servers.versions)
        versions.update({n: metadata.version(n) for n in ("gnocchi", "boto3", "botocore", "redis", "tooz")})
        versions["redis-py"] = versions.pop("redis")
        versions["python"] = sys.version.split()[0]
        parts = {
            "ris3": ("redis_incoming_s3_storage", "s3", "redis", "cbn-ris3", 1),
            "s3s3": ("s3_incoming_s3_storage", "s3", "s3", "cbn-s3s3", 0),
            "rr": ("redis_incoming_redis_storage", "redis", "redis", "cbn-rr", 2),
        }
        for part in args.parts:
            if part == "upgrade":
                rec = record_upgrades(args, servers, monitor, versions)
                fname = "upgrade"
            else:
                fname, storage, incoming, prefix, db = parts[part]
                rec = record_deployment(args, servers, monitor, versions, fname, storage, incoming,
                                        prefix, db)
            path = os.path.join(args.out, fname + ".json")
            with open(path, "w") as f:
                json.dump(rec, f, indent=1, sort_keys=True)
                f.write("\n")
            print("wrote " + path, file=sys.stderr)
    finally:
        if servers is not None:
            servers.stop()
        if args.keep:
            print("kept " + top, file=sys.stderr)
        else:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
