"""Real Gnocchi 4.7.1 deployments on S3 (Garage) storage, Redis incoming and
Redis coordination, shared by scripts/oracle/drivers_live.py,
scripts/oracle/mixed_fleet.py and scripts/bench/drivers_vs_gnocchi.py, with
the command line, run directory and ending of the two live oracle scripts.
Run with the oracle's Python (gnocchi, boto3, redis-py, psycopg2).

The servers (one Garage node, one redis-server) are
s3_redis_drivers.Servers; each deployment is the oracle's real_gnocchi.sh
(its own PostgreSQL, gnocchi-upgrade, gnocchi-api, and gnocchi-metricd when
asked) in its own directory, with its own bucket prefix and its own Redis
databases (incoming, coordination), so that several deployments live on
the same servers without seeing each other.

Counting requests (for the benchmark):

* Redis: `CONFIG RESETSTAT`, then `INFO commandstats` — every command the
  server ran, by name, including those a Lua script ran (they are marked
  `(lua)` below: `EVALSHA` is the client's request, its `KEYS`/`LRANGE`
  are not round trips);
* S3: Garage logs one INFO line per request it serves
  (`garage_api_common::generic_server: ADDR (key …) METHOD /bucket/key?query`):
  the lines written since a mark, sorted into GetObject, PutObject,
  HeadObject, ListObjectsV2, DeleteObject(s), other.
"""

import argparse
from importlib import metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from s3_redis_drivers import (  # noqa: E402  (shared helpers of the sibling script)
    GARAGE_KEY_ID, GARAGE_SECRET, REGION, SACKS, Api, Servers, dump_redis, free_port)

__all__ = ["GARAGE_KEY_ID", "GARAGE_SECRET", "REGION", "SACKS", "Api", "Servers", "dump_redis",
           "free_port", "LiveDeployment", "S3Log", "RedisStats", "live_arguments", "live_end",
           "live_run_dir", "live_versions", "s3_objects", "set_options", "wait_for_metricd"]


def live_arguments(description, out):
    """The command line of a live oracle script (drivers_live.py,
    mixed_fleet.py) as its shell driver passes it, the paths made absolute."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--oracle", required=True)
    p.add_argument("--venv", required=True)
    p.add_argument("--carbonara", required=True)
    p.add_argument("--garage", default=os.path.expanduser("~/.cargo/bin/garage"))
    p.add_argument("--out", default=out)
    p.add_argument("--keep", action="store_true", help="keep the directory even when all is as expected")
    args = p.parse_args()
    args.oracle, args.venv, args.carbonara = map(os.path.abspath, (args.oracle, args.venv, args.carbonara))
    return args


def live_run_dir(prefix):
    """The run's temporary directory; SIGTERM then exits through the
    caller's `finally`, which stops the servers."""
    top = tempfile.mkdtemp(prefix=prefix)
    os.chmod(top, 0o755)  # PostgreSQL runs as the postgres user under it
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit("signal %d" % signum))
    return top


class LiveDeployment:
    """real_gnocchi.sh with `[storage] driver = s3` (bucket prefix `prefix`),
    `[incoming] driver = redis` (database `db`) and
    `coordination_url = redis://…?db=<db + 1>` on `servers`; gnocchi-metricd
    runs only when `metricd`, with real_gnocchi.sh's `[metricd]` (one worker,
    polling every second) changed by `metricd_options` ({option: value})."""

    def __init__(self, servers, oracle, venv, name, prefix, db, metricd, hashseed="0",
                 metricd_options=None):
        self.servers = servers
        self.oracle = oracle
        self.name = name
        self.prefix = prefix
        self.db = db
        self.coord_db = db + 1
        self.run_dir = os.path.join(servers.top, "run-" + name)
        self.pg_port = free_port()
        self.api_port = free_port()
        redis_base = "redis://127.0.0.1:%d" % servers.redis_port
        self.storage_section = (
            "driver = s3\ns3_endpoint_url = %s\ns3_region_name = %s\ns3_access_key_id = %s\n"
            "s3_secret_access_key = %s\ns3_bucket_prefix = %s\n"
            % (servers.endpoint, REGION, GARAGE_KEY_ID, GARAGE_SECRET, prefix))
        self.incoming_section = "driver = redis\nredis_url = %s/?db=%d\n" % (redis_base, db)
        self.coordination_url = "%s?db=%d" % (redis_base, self.coord_db)
        self.env = dict(os.environ, ORACLE_VENV=venv, GNOCCHI_RUN_DIR=self.run_dir,
                        GNOCCHI_API_PORT=str(self.api_port), GNOCCHI_PG_PORT=str(self.pg_port),
                        GNOCCHI_STORAGE_SECTION=self.storage_section,
                        GNOCCHI_INCOMING_SECTION=self.incoming_section,
                        GNOCCHI_COORDINATION_URL=self.coordination_url,
                        GNOCCHI_METRICD="1" if metricd else "0",
                        # Gnocchi keeps a policy's methods in a set; a fixed
                        # hash seed fixes the order it writes them in
                        PYTHONHASHSEED=hashseed)
        self.metricd_options = dict(metricd_options or {})
        self.started = False
        self.api = Api("http://127.0.0.1:%d" % self.api_port)

    @property
    def conf(self):
        return os.path.join(self.run_dir, "gnocchi.conf")

    @property
    def aggregates_bucket(self):
        return self.prefix + "-aggregates"

    def start(self):
        self.started = True
        script = os.path.join(self.oracle, "real_gnocchi.sh")
        if not self.metricd_options:
            subprocess.run([script, "start"], env=self.env, check=True, stdout=subprocess.DEVNULL)
            return
        # real_gnocchi.sh takes no [metricd] options: its gnocchi.conf is
        # written by a start without gnocchi-metricd, changed, then `reset`
        # (which keeps the file) starts the services on it, so that
        # gnocchi-metricd never ran with real_gnocchi.sh's own options.
        subprocess.run([script, "start"], env=dict(self.env, GNOCCHI_METRICD="0"), check=True,
                       stdout=subprocess.DEVNULL)
        set_options(self.conf, "metricd", self.metricd_options)
        subprocess.run([script, "reset"], env=self.env, check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        if self.started:
            subprocess.run([os.path.join(self.oracle, "real_gnocchi.sh"), "stop"], env=self.env,
                           check=False, stdout=subprocess.DEVNULL)
            self.started = False

    def sql(self, statement, params=()):
        import psycopg2
        conn = psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname="gnocchi")
        try:
            with conn, conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.rowcount
        finally:
            conn.close()

    def set_metric_id(self, old, new):
        """gnocchi-api ignores an id in POST /v1/metric: fixed ids are set in
        the indexer before any measure (the drivers hold nothing for a metric
        before its first measure)."""
        if self.sql("UPDATE metric SET id = %s WHERE id = %s", (new, old)) != 1:
            raise SystemExit("%s: could not set metric id %s" % (self.name, new))

    def redis(self):
        return self.servers.client(self.db)

    def waiting(self):
        """Names of the incoming lists that still hold measures."""
        return sorted(k.decode() for k in self.redis().keys("incoming%d-*:*" % SACKS))


def live_end(servers, top, ok, keep):
    """The end of a live run, its own processes stopped: the servers, then
    the directory removed, or kept (with every log) when something was not
    as expected or `keep`."""
    if servers is not None:
        servers.stop()
    if ok and not keep:
        shutil.rmtree(top, ignore_errors=True)
    else:
        print("kept %s" % top, file=sys.stderr)


def live_versions(servers):
    """The versions a live recording comes from: Gnocchi's, tooz's, the servers'."""
    return {"gnocchi": metadata.version("gnocchi"), "tooz": metadata.version("tooz"), **servers.versions}


def set_options(conf, section, options):
    """Sets `option = value` in one section of an ini file: an option already
    there is changed in place, the others appended to the section."""
    with open(conf) as f:
        lines = f.read().splitlines()
    start = lines.index("[%s]" % section) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
    left = dict(options)
    for i in range(start, end):
        name = lines[i].split("=", 1)[0].strip()
        if "=" in lines[i] and name in left:
            lines[i] = "%s = %s" % (name, left.pop(name))
    while end > start and not lines[end - 1].strip():
        end -= 1
    lines[end:end] = ["%s = %s" % (name, value) for name, value in left.items()]
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")


def wait_for_metricd(deployment, patience=300):
    """Until gnocchi-metricd has trimmed every incoming list (it trims after
    its archives are written): the measures posted so far are aggregated."""
    deadline = time.monotonic() + patience
    while deployment.waiting():
        if time.monotonic() > deadline:
            raise SystemExit("%s: gnocchi-metricd left %s" % (deployment.name, deployment.waiting()[:5]))
        time.sleep(0.1)


def s3_objects(s3, bucket):
    """key → bytes of every object of a bucket."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


LOG_REQUEST = re.compile(r"generic_server\S*: \S+ \(key [^)]*\) (?P<method>[A-Z]+) (?P<path>\S+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def s3_operation(method, path):
    """The S3 operation of one request line (path-style URLs)."""
    url = urllib.parse.urlsplit(path)
    query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    has_key = "/" in url.path.lstrip("/")
    if method == "GET" and "list-type" in query:
        return "ListObjectsV2"
    if method == "GET" and has_key:
        return "GetObject"
    if method == "PUT" and has_key:
        return "PutObject"
    if method == "HEAD" and has_key:
        return "HeadObject"
    if method == "DELETE" and has_key:
        return "DeleteObject"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return "%s %s" % (method, "object" if has_key else "bucket")


class S3Log:
    """The S3 requests Garage logged from here on (optionally only those to
    buckets whose name starts with `prefix`)."""

    def __init__(self, servers, prefix=None):
        self.path = servers.garage_log
        self.prefix = prefix
        self.offset = os.path.getsize(self.path)

    def count(self):
        time.sleep(0.05)  # let the last lines land
        counts = {}
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            text = ANSI.sub("", f.read().decode(errors="replace"))
        for line in text.splitlines():
            m = LOG_REQUEST.search(line)
            if not m:
                continue
            bucket = m.group("path").lstrip("/").split("/", 1)[0].split("?", 1)[0]
            if self.prefix and not bucket.startswith(self.prefix):
                continue
            op = s3_operation(m.group("method"), m.group("path"))
            counts[op] = counts.get(op, 0) + 1
        return counts


class RedisStats:
    """The commands redis-server ran from here on (INFO commandstats after a
    CONFIG RESETSTAT), without the two of this counter itself. Server-wide:
    count only while nothing else talks to the server."""

    def __init__(self, servers):
        self.client = servers.client(0)
        self.client.config_resetstat()

    def count(self):
        stats = self.client.info("commandstats")
        out = {}
        for name, entry in stats.items():
            command = name.replace("cmdstat_", "").upper()
            out[command] = entry["calls"]
        # CONFIG RESETSTAT is counted after the reset, INFO by this call
        for command in ("CONFIG|RESETSTAT", "INFO"):
            if command in out:
                out[command] -= 1
                if not out[command]:
                    del out[command]
        return out
