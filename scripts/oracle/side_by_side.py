"""Side by side with a real Gnocchi 4.7.1 deployment (gnocchi-api on
PostgreSQL with the file storage and incoming drivers): carbonara as its
metricd, its janitor and a client of its indexer. Driven by
scripts/oracle/side-by-side.sh, which starts the deployment; run alone:

    side_by_side.py --url URL --conf GNOCCHI_CONF --real-gnocchi real_gnocchi.sh \
        --carbonara target/debug/carbonara --pg-dump PGBIN/pg_dump \
        --out tests/golden/side-by-side [PART...]

Each part starts from a fresh deployment (`real_gnocchi.sh reset`) and
writes one JSON file (see tests/golden/side-by-side/README.md):

* measures.json: the same requests twice; once the measures are
  aggregated by Gnocchi's own code (`GET …/measures?refresh=true` after
  each batch), once by `carbonara --gnocchi-conf … process`; everything is
  read back through gnocchi-api both times and compared with the archive
  files, byte for byte;
* objects.json: policies, rules and metrics created through gnocchi-api
  and read by carbonara's command line, and the same created by carbonara
  and read through gnocchi-api, with the index rows each side wrote;
* janitor.json: a metric deleted through gnocchi-api expunged by
  `carbonara janitor`, one deleted by `carbonara metric delete` expunged by
  Gnocchi's own janitor (`Chef.expunge_metrics`, as gnocchi-metricd runs it);
* resources.json: resource types, resources, their updates and history,
  searches and resource metrics made through gnocchi-api and read by
  carbonara's command line, and the same made by carbonara and read
  through gnocchi-api, with the rows each side wrote;
* past.json: measures posted through gnocchi-api and aggregated by
  `carbonara process`, then changed by carbonara (`measures delete`,
  `ingest csv --backfill [--replace]`, `metric update
  --archive-policy-name`): every metric read through gnocchi-api and
  through carbonara's command line, before and after the edits and after
  Gnocchi's own processing of a later measure on top of them, must agree;
* together.json: a real gnocchi-metricd (two workers) and a loop of
  `carbonara process` on the deployment at once: first each holds a sack
  the other is then refused (and tooz's own PostgresLock with it), then
  many batches posted through gnocchi-api to many metrics are processed
  by both while they come; every measure must be taken by exactly one
  side (carbonara's reports plus the files metricd's log says it read
  equal what was posted) and gnocchi-api's `count` and `sum` must be what
  was posted. This one records counts, not a replay.

Differences between the two sides are printed and kept in the recordings'
"differences" lists; the exit status is 1 when there is any.
"""
import argparse
import base64
import datetime
import hashlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import gnocchi
from gnocchi import chef
import psycopg2
from tooz import coordination

from tooz_sack_locks import sack

ADMIN = "basic " + base64.b64encode(b"admin:").decode()

# A fixed time far from any real clock: the value the recordings give to
# `metric.last_measure_timestamp` (the time of a write, which the replay
# checks the pass moves forward).
EPOCH_2000 = "2000-01-01T00:00:00"


class Side:
    """One fresh deployment and what was asked of it."""

    def __init__(self, args):
        self.args = args
        self.base = args.url.rstrip("/")
        subprocess.run([args.real_gnocchi, "reset"], check=True, stdout=subprocess.DEVNULL)
        self.conf = args.conf
        self.storage = storage_dir(args.conf)
        self.db = psycopg2.connect(indexer_url(args.conf))
        self.db.autocommit = True
        self.ids = {}

    def close(self):
        """Before the next reset, which drops the database."""
        self.db.close()

    # -- gnocchi-api

    def api(self, method, path, body=None, content_type="application/json"):
        """Status and parsed body of one request to gnocchi-api, as admin."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", ADMIN)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        return status, (json.loads(text) if text else None)

    def ok(self, method, path, body=None, want=(200, 201, 202, 204), content_type="application/json"):
        status, answer = self.api(method, path, body, content_type)
        if status not in want:
            sys.exit("%s %s: HTTP %d %s" % (method, path, status, answer))
        return answer

    # -- carbonara

    def carbonara(self, *args, want_json=True):
        command = [self.args.carbonara, "--gnocchi-conf", self.conf, "-q", *args]
        if want_json:
            command += ["-f", "json"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit("%s: exit %d\n%s" % (" ".join(command), done.returncode, done.stderr))
        return json.loads(done.stdout) if want_json and done.stdout.strip() else done.stdout

    # -- the index

    def rows(self, table, order):
        """The table's rows as PostgreSQL's row_to_json writes them (json
        columns as stored), the volatile columns normalised (normalise())."""
        cursor = self.db.cursor()
        cursor.execute("SELECT row_to_json(t)::text FROM public.%s t ORDER BY %s" % (table, order))
        return [normalise(table, row[0]) for row in cursor.fetchall()]

    # -- the files

    def metric_dir(self, metric_id):
        hexa = metric_id.replace("-", "")
        parts = [hexa[i:i + 2] for i in range(0, 32, 2)]
        return os.path.join(self.storage, *parts, metric_id)

    def archive(self, metric_id):
        """Relative path → bytes of a metric's archive files."""
        return files_under(self.metric_dir(metric_id))

    def incoming(self):
        """Relative path (sack/metric/file) → bytes of every waiting measure file."""
        found = {}
        for sack in sorted(os.listdir(self.storage)):
            if sack.startswith("incoming"):
                for rel, data in files_under(os.path.join(self.storage, sack)).items():
                    found[sack + "/" + rel] = data
        return found


def files_under(top):
    found = {}
    for root, _, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, top)] = f.read()
    return dict(sorted(found.items()))


def conf_option(conf, section, option):
    current = None
    with open(conf) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                current = line.strip("[]")
            elif current == section and "=" in line:
                key, value = line.split("=", 1)
                if key.strip() == option:
                    return value.strip()
    raise SystemExit("%s: no [%s] %s" % (conf, section, option))


def storage_dir(conf):
    return conf_option(conf, "storage", "file_basepath")


def indexer_url(conf):
    return conf_option(conf, "indexer", "url").replace("postgresql+psycopg2://", "postgresql://")


VOLATILE = {
    # The time of the write: creation, then each processing pass.
    "metric": ["last_measure_timestamp"],
}


def normalise(table, text):
    for column in VOLATILE.get(table, []):
        text, count = re.subn(r'"%s":"[^"]*"' % column, '"%s":"%s"' % (column, EPOCH_2000), text)
        assert count == 1, (table, column, text)
    return text


def b64(data):
    return base64.b64encode(data).decode()


def sha1(data):
    return hashlib.sha1(data).hexdigest()


def granularity_text(seconds):
    """`60.0` → `60`, as carbonara's `--granularity` takes it."""
    return str(int(seconds)) if float(seconds).is_integer() else repr(seconds)


# ---------------------------------------------------------------------------
# measures.json

POLICIES = [
    {"name": "sbs-minute", "back_window": 0,
     "definition": [{"granularity": "1m", "points": 30}, {"granularity": "1h", "timespan": "2d"}],
     "aggregation_methods": ["mean", "min", "max", "sum", "std", "count", "last", "rate:mean"]},
    {"name": "sbs-late", "back_window": 2,
     "definition": [{"granularity": "10s", "points": 60}, {"granularity": "5m", "points": 12}],
     "aggregation_methods": ["mean", "max", "count", "last", "first", "median", "95pct"]},
    # No methods: the deployment's defaults (mean min max sum std count).
    {"name": "sbs-second", "back_window": 0,
     "definition": [{"granularity": "1s", "timespan": "2h"}]},
]

RULES = [{"name": "sbs-rule", "metric_pattern": "late.*", "archive_policy_name": "sbs-late"}]

# late.temp has no policy: the rule gives it sbs-late.
METRICS = [
    {"name": "cpu", "archive_policy_name": "sbs-minute"},
    {"name": "late.temp"},
    {"name": "late.io", "archive_policy_name": "sbs-late", "unit": "B/s"},
    {"name": "sparse", "archive_policy_name": "sbs-second"},
]

T0 = 1710028800  # 2024-03-10T00:00:00Z


def iso(seconds, fraction=""):
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + fraction


def wave(i, scale=50.0):
    return round(math.sin(i * 0.7) * scale + i * 0.013, 6)


def batches():
    """Measures per batch per metric name: four batches, each one pass."""
    b1 = {
        "cpu": [{"timestamp": iso(T0 + 40 * i), "value": wave(i)} for i in range(30)],
        "late.temp": [{"timestamp": T0 + 7 * i + 0.25, "value": wave(i, 3.5) + 20} for i in range(30)],
        "late.io": [
            {"timestamp": iso(T0 + 1, ".123456789Z"), "value": 1e15},
            {"timestamp": iso(T0 + 13, "+00:00"), "value": 5e-300},
            {"timestamp": "2024-03-10T01:00:26+01:00", "value": -0.0},
            {"timestamp": iso(T0 + 39, ".5"), "value": 12345.678901234},
            {"timestamp": iso(T0 + 52), "value": 7},
            {"timestamp": iso(T0 + 52), "value": 8},
            {"timestamp": iso(T0 + 65, ".5"), "value": -3.25},
        ],
        "sparse": [{"timestamp": T0 + 293 * i, "value": float(i % 7)} for i in range(37)],
    }
    b2 = {
        # Later minutes, one late measure inside the current hour (kept:
        # back window 0 keeps the current block of the largest
        # granularity) and one before it (dropped).
        "cpu": [{"timestamp": iso(T0 + 1200 + 40 * i), "value": wave(30 + i)} for i in range(15)]
        + [{"timestamp": iso(T0 + 300, ".25"), "value": 99.5},
           {"timestamp": iso(T0 - 600), "value": -99.5}],
        # Late measures of several ages against a back window of two 5 m blocks.
        "late.temp": [{"timestamp": T0 + 315 + 13 * i, "value": wave(45 + i, 3.5) + 20} for i in range(45)]
        + [{"timestamp": T0 + 60, "value": 1.0}, {"timestamp": T0 + 3, "value": 2.0}],
        "late.io": [{"timestamp": iso(T0 + 900 + 11 * i), "value": wave(i, 1e6)} for i in range(20)]
        + [{"timestamp": iso(T0 + 200), "value": 42.0}],
        "sparse": [{"timestamp": T0 + 10841 + 61 * i, "value": wave(i)} for i in range(10)]
        + [{"timestamp": T0 + 5000, "value": 0.5}],
    }
    b3 = {
        # Two days on: the 1 m series and the 1 h series are truncated.
        "cpu": [{"timestamp": iso(T0 + 2 * 86400 + 3600 + 50 * i), "value": wave(60 + i)} for i in range(12)],
        "late.temp": [{"timestamp": T0 + 2400 + 9 * i, "value": wave(i, 2) + 18} for i in range(20)]
        + [{"timestamp": T0 + 1850, "value": 30.0}, {"timestamp": T0 + 1300, "value": 31.0},
           {"timestamp": T0 + 400, "value": 32.0}],
        "late.io": [{"timestamp": iso(T0 + 1500, ".000000001"), "value": 1.0},
                    {"timestamp": iso(T0 + 1500), "value": 2.0}],
        # An hour later: a new split, the oldest ones out of the timespan.
        "sparse": [{"timestamp": T0 + 14400 + 131 * i, "value": wave(i, 9)} for i in range(20)],
    }
    b4 = {
        # An empty POST still writes a (zero-byte) measure file.
        "cpu": [],
        "late.io": [{"timestamp": iso(T0 + 1800), "value": 1.5}],
        # On a split boundary, and one second before it.
        "sparse": [{"timestamp": T0 + 18000, "value": 3.0}, {"timestamp": T0 + 17999, "value": 4.0}],
    }
    b5 = {
        # A measure after the empty POST: Gnocchi's pass can read cpu's
        # files again.
        "cpu": [{"timestamp": iso(T0 + 2 * 86400 + 4500), "value": 0.125}],
    }
    return [b1, b2, b3, b4, b5]


def create_objects(side):
    for policy in POLICIES:
        side.ok("POST", "/v1/archive_policy", policy)
    for rule in RULES:
        side.ok("POST", "/v1/archive_policy_rule", rule)
    for metric in METRICS:
        side.ids[metric["name"]] = side.ok("POST", "/v1/metric", metric)["id"]


def post_batch(side, batch):
    for name, measures in batch.items():
        side.ok("POST", "/v1/metric/%s/measures" % side.ids[name], measures, want=(202,))


def answers(side):
    """Every aggregation × granularity of every metric, as gnocchi-api gives them."""
    found = {}
    for name, metric_id in side.ids.items():
        metric = side.ok("GET", "/v1/metric/%s" % metric_id)
        policy = metric["archive_policy"]
        found[name] = {}
        for method in sorted(policy["aggregation_methods"]):
            found[name][method] = {}
            for item in policy["definition"]:
                granularity = granularity_seconds(item["granularity"])
                query = urllib.parse.urlencode({"aggregation": method, "granularity": granularity})
                found[name][method][granularity_text(granularity)] = side.ok(
                    "GET", "/v1/metric/%s/measures?%s" % (metric_id, query))
    return found


def granularity_seconds(text):
    """`0:01:00` / `1 day, 0:00:00` (a timedelta's str) → seconds."""
    days = 0
    if "day" in text:
        head, text = text.split(", ")
        days = int(head.split()[0])
    h, m, s = text.split(":")
    return days * 86400 + int(h) * 3600 + int(m) * 60 + float(s)


def file_hashes(side):
    return {name: {rel: sha1(data) for rel, data in side.archive(metric_id).items()}
            for name, metric_id in side.ids.items()}


def measures_part(args):
    recording = {"policies": POLICIES, "rules": RULES, "metrics": METRICS, "batches": []}
    runs = {}
    for who in ("gnocchi", "carbonara"):
        side = Side(args)
        create_objects(side)
        if who == "carbonara":
            recording["conf"] = template_conf(args.conf)
            recording["ids"] = dict(side.ids)
            recording["rows"] = {
                "archive_policy": side.rows("archive_policy", "name"),
                "archive_policy_rule": side.rows("archive_policy_rule", "name"),
                "metric": side.rows("metric", "name"),
            }
        run = {"batches": []}
        for number, batch in enumerate(batches(), 1):
            before = side.incoming()
            post_batch(side, batch)
            step = {"incoming": {rel: b64(data) for rel, data in side.incoming().items()
                                 if rel not in before}}
            if who == "gnocchi":
                for name in batch:
                    side.ok("GET", "/v1/metric/%s/measures?refresh=true" % side.ids[name])
            else:
                step["status"] = side.carbonara("status")
                step["api_status"] = side.ok("GET", "/v1/status?details=true")
                side.carbonara("process", want_json=False)
            # Gnocchi's own pass fails on a zero-byte measure file (what an
            # empty POST writes) and leaves it: kept to show it.
            names = {metric_id: name for name, metric_id in side.ids.items()}
            step["left"] = sorted({names[rel.split("/")[1]] for rel in side.incoming()})
            step["answers"] = answers(side)
            step["files"] = file_hashes(side)
            run["batches"].append(step)
        run["archives"] = {name: {rel: b64(data) for rel, data in side.archive(metric_id).items()}
                           for name, metric_id in side.ids.items()}
        run["metric_rows"] = {row["name"]: row for row in map(json.loads, side.rows("metric", "name"))}
        runs[who] = run
        side.close()
    differences = []
    gnocchi, carbonara = runs["gnocchi"], runs["carbonara"]
    for number, (g, c) in enumerate(zip(gnocchi["batches"], carbonara["batches"]), 1):
        for name in g["answers"]:
            for method, by_granularity in g["answers"][name].items():
                for granularity, expected in by_granularity.items():
                    got = c["answers"][name][method][granularity]
                    if json.dumps(got) != json.dumps(expected):
                        differences.append("batch %d: %s %s %s: gnocchi-api answers %s after Gnocchi's "
                                           "processing, %s after carbonara's" % (
                                               number, name, method, granularity, expected, got))
            if g["files"][name] != c["files"][name]:
                differences.append("batch %d: %s archive files differ: gnocchi %s carbonara %s" % (
                    number, name, g["files"][name], c["files"][name]))
        if c["left"]:
            differences.append("batch %d: measure files left after carbonara's pass: %s" % (number, c["left"]))
        # The same requests wrote the same measure bytes (file names differ).
        if sorted(g["incoming"].values()) != sorted(c["incoming"].values()):
            differences.append("batch %d: the incoming files of the two runs differ" % number)
        recording["batches"].append({
            "posts": [{"request": "POST /v1/metric/{%s}/measures" % name, "body": body}
                      for name, body in batches()[number - 1].items()],
            "incoming": c["incoming"],
            "gnocchi_left": g["left"],
            "carbonara_status": c["status"],
            "api_status": c["api_status"],
            "gnocchi": {"answers": g["answers"], "files": g["files"]},
            # What gnocchi-api answered after carbonara's pass is in
            # "differences" wherever it is not the above.
            "carbonara": {"files": c["files"]},
        })
    for name in gnocchi["archives"]:
        if gnocchi["archives"][name] != carbonara["archives"][name]:
            differences.append("%s: final archive bytes differ" % name)
    for name in gnocchi["metric_rows"]:
        g = dict(gnocchi["metric_rows"][name], id=None)
        c = dict(carbonara["metric_rows"][name], id=None)
        if g != c:
            differences.append("%s: metric rows after processing differ: gnocchi %s carbonara %s" % (name, g, c))
    recording["gnocchi_archives"] = gnocchi["archives"]
    recording["gnocchi_metric_rows"] = gnocchi["metric_rows"]
    recording["carbonara_metric_rows"] = carbonara["metric_rows"]
    recording["differences"] = differences
    return recording


def template_conf(conf):
    """The deployment's gnocchi.conf with its run directory, database URL
    and Gnocchi's package directory replaced by @STORAGE@, @INDEXER_URL@ and
    @GNOCCHI@, for the replay to fill in."""
    with open(conf) as f:
        text = f.read()
    text = text.replace(indexer_url(conf), "@INDEXER_URL@")
    text = text.replace(storage_dir(conf), "@STORAGE@")
    return text.replace(os.path.dirname(gnocchi.__file__), "@GNOCCHI@")


# ---------------------------------------------------------------------------
# objects.json


def objects_of(side):
    """Policies, a rule and metrics, the same for either side but for the
    prefix of their names: `api` (made through gnocchi-api) or `cli` (made
    by carbonara's command line)."""
    return {
        "policies": [
            {"name": side + "-policy", "back_window": 1,
             "definition": [{"granularity": "1m", "points": 60}, {"granularity": "1d", "timespan": "30d"}],
             "aggregation_methods": ["mean", "max", "90pct", "rate:sum"]},
            # Granularity from points and timespan, the default methods.
            {"name": side + "-defaults", "definition": [{"points": 12, "timespan": "1h"}]},
            {"name": side + "-star", "definition": [{"granularity": "1h", "points": 24}],
             "aggregation_methods": ["*"]},
            # The defaults, less std, plus last.
            {"name": side + "-delta", "back_window": 3,
             "definition": [{"granularity": "5s", "timespan": "10m"}],
             "aggregation_methods": ["-std", "+last"]},
        ],
        "rules": [{"name": side + "-rule", "metric_pattern": side + ".*",
                   "archive_policy_name": side + "-policy"}],
        "metrics": [{"name": side + ".ruled"},
                    {"name": side + "-unit", "archive_policy_name": side + "-defaults", "unit": "ms"}],
    }


def cli_commands():
    """carbonara's commands for objects_of("cli")."""
    return [
        ["archive-policy", "create", "cli-policy", "-b", "1", "-d", "granularity:1m,points:60",
         "-d", "granularity:1d,timespan:30d", "-m", "mean", "-m", "max", "-m", "90pct", "-m", "rate:sum"],
        ["archive-policy", "create", "cli-defaults", "-d", "points:12,timespan:1h"],
        ["archive-policy", "create", "cli-star", "-d", "granularity:1h,points:24", "-m", "*"],
        ["archive-policy", "create", "cli-delta", "-b", "3", "-d", "granularity:5s,timespan:10m",
         "-m", "-std", "-m", "+last"],
        ["archive-policy-rule", "create", "cli-rule", "--metric-pattern", "cli.*",
         "--archive-policy-name", "cli-policy"],
        ["metric", "create", "cli.ruled"],
        ["metric", "create", "cli-unit", "--archive-policy-name", "cli-defaults", "--unit", "ms"],
    ]


def reads(side, ids):
    """The reads of one side's objects: carbonara's command (after `-f
    json`-less arguments) and gnocchi-api's request for the same thing;
    `{name}` stands for a metric's id."""
    found = []
    for policy in objects_of(side)["policies"]:
        found.append((["archive-policy", "show", policy["name"]],
                      "GET /v1/archive_policy/" + policy["name"]))
    found.append((["archive-policy", "list"], "GET /v1/archive_policy"))
    found.append((["archive-policy-rule", "show", side + "-rule"],
                  "GET /v1/archive_policy_rule/%s-rule" % side))
    found.append((["archive-policy-rule", "list"], "GET /v1/archive_policy_rule"))
    for metric in objects_of(side)["metrics"]:
        found.append((["metric", "show", "{%s}" % metric["name"]], "GET /v1/metric/{%s}" % metric["name"]))
    found.append((["metric", "list"], "GET /v1/metric"))
    return found


def with_ids(text, ids):
    for name, metric_id in ids.items():
        text = text.replace("{%s}" % name, metric_id)
    return text


def swap_side(value, old, new):
    """A document of one side's objects with its names as the other side's."""
    if isinstance(value, dict):
        return {key: swap_side(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [swap_side(item, old, new) for item in value]
    if isinstance(value, str) and value.startswith((old + "-", old + ".", old + "_")):
        return new + value[len(old):]
    return value


def comparable(value):
    """What must agree between two documents: a policy's methods are a set
    (Gnocchi lists them in a Python set's order), metric ids differ."""
    if isinstance(value, dict):
        return {key: (sorted(item) if key == "aggregation_methods" else
                      None if key in ("id", "resource_id") and item else comparable(item))
                for key, item in value.items()}
    if isinstance(value, list):
        items = [comparable(item) for item in value]
        return sorted(items, key=json.dumps)
    return value


def objects_part(args):
    side = Side(args)
    recording = {"conf": template_conf(args.conf), "api": objects_of("api"),
                 "cli_commands": cli_commands(), "differences": []}
    differences = recording["differences"]
    requests = []
    for kind, path in (("policies", "/v1/archive_policy"), ("rules", "/v1/archive_policy_rule"),
                       ("metrics", "/v1/metric")):
        for body in objects_of("api")[kind]:
            status, answer = side.api("POST", path, body)
            requests.append({"request": "POST " + path, "body": body, "status": status, "answer": answer})
            if kind == "metrics":
                side.ids[body["name"]] = answer["id"]
    recording["api_requests"] = requests
    recording["rows"] = {table: side.rows(table, order) for table, order in
                         (("archive_policy", "name"), ("archive_policy_rule", "name"), ("metric", "name"))}
    recording["api_ids"] = dict(side.ids)

    # gnocchi-api's objects read by carbonara.
    api_reads = []
    for command, request in reads("api", side.ids):
        method, path = request.split(" ", 1)
        answer = side.ok(method, with_ids(path, side.ids))
        shown = side.carbonara(*[with_ids(arg, side.ids) for arg in command])
        api_reads.append({"command": command, "request": request, "answer": answer, "carbonara": shown})
        if comparable(shown) != comparable(answer):
            differences.append("carbonara %s shows %s where gnocchi-api answers %s to %s" % (
                " ".join(command), shown, answer, request))
        elif shown != answer:
            # Only an order: kept as a note, not a difference of substance.
            recording.setdefault("order_only", []).append(
                {"command": command, "request": request})
    recording["api_reads"] = api_reads

    # carbonara's objects read through gnocchi-api.
    cli_ids = {}
    for command in cli_commands():
        shown = side.carbonara(*command)
        if command[0] == "metric":
            cli_ids[command[2]] = shown["id"]
    recording["cli_ids"] = cli_ids
    cli_reads = []
    for (command, request), (_, api_request) in zip(reads("cli", cli_ids), reads("api", side.ids)):
        method, path = request.split(" ", 1)
        answer = side.ok(method, with_ids(path, cli_ids))
        cli_reads.append({"request": request, "answer": answer})
        api_answer = next(r["answer"] for r in api_reads if r["request"] == api_request)
        if isinstance(answer, list):
            # Lists hold both sides' objects: carbonara's must read as
            # gnocchi-api's own.
            ours = [item for item in answer if item["name"].startswith("cli")]
            theirs = [item for item in answer if item["name"].startswith("api")]
            if comparable(swap_side(ours, "cli", "api")) != comparable(theirs):
                differences.append("%s lists carbonara's objects %s, gnocchi-api's %s" % (
                    request, ours, theirs))
        elif comparable(swap_side(answer, "cli", "api")) != comparable(api_answer):
            differences.append("gnocchi-api answers %s to %s (made by carbonara), %s to %s (made through "
                               "gnocchi-api)" % (answer, request, api_answer, api_request))
    recording["cli_reads"] = cli_reads

    # The rows each side wrote for the same objects.
    rows_after = {table: [json.loads(row) for row in side.rows(table, order)] for table, order in
                  (("archive_policy", "name"), ("archive_policy_rule", "name"), ("metric", "name"))}
    recording["rows_after"] = {table: [json.dumps(row) for row in rows] for table, rows in rows_after.items()}
    for table, rows in rows_after.items():
        api_rows = [row for row in rows if row["name"].startswith("api")]
        cli_rows = [swap_side(row, "cli", "api") for row in rows if row["name"].startswith("cli")]
        if comparable(api_rows) != comparable(cli_rows):
            differences.append("%s rows: gnocchi-api wrote %s, carbonara %s" % (table, api_rows, cli_rows))
    # The json columns' text, as each side wrote it.
    texts = {}
    cursor = side.db.cursor()
    cursor.execute("SELECT name, definition::text, aggregation_methods::text FROM archive_policy ORDER BY name")
    for name, definition, methods in cursor.fetchall():
        texts[name] = {"definition": definition, "aggregation_methods": methods}
    recording["policy_json_texts"] = texts
    for name, text in texts.items():
        if name.startswith("cli") and text["definition"] != texts["api" + name[3:]]["definition"]:
            differences.append("archive_policy.definition of %s is %s where gnocchi-api wrote %s" % (
                name, text["definition"], texts["api" + name[3:]]["definition"]))
    side.close()
    return recording


# ---------------------------------------------------------------------------
# janitor.json

GNOCCHI_JANITOR = """
import sys
from tooz import coordination
from gnocchi import chef, incoming, indexer, service, storage
conf = service.prepare_service(args=[], default_config_files=[sys.argv[1]], log_to_std=True)
coord = coordination.get_coordinator(conf.coordination_url, b"side-by-side-janitor")
coord.start()
index = indexer.get_driver(conf)
chef.Chef(coord, incoming.get_driver(conf), index, storage.get_driver(conf)).expunge_metrics(
    conf.metricd.cleanup_batch_size, sync=True)
coord.stop()
"""

JANITOR_POLICY = {"name": "janitor", "definition": [{"granularity": "1m", "points": 10}],
                  "aggregation_methods": ["mean", "max"]}
JANITOR_METRICS = ["doomed-by-api", "doomed-by-cli", "survivor"]


def janitor_state(side):
    """Per metric: its row (or None), and whether its archive directory,
    the directory above it and its incoming directory exist."""
    cursor = side.db.cursor()
    state = {}
    for name, metric_id in side.ids.items():
        cursor.execute("SELECT row_to_json(t)::text FROM metric t WHERE id = %s", (metric_id,))
        row = cursor.fetchone()
        sack = uuid_int(metric_id) % 128
        state[name] = {
            "row": json.loads(normalise("metric", row[0])) if row else None,
            "archive_dir": os.path.isdir(side.metric_dir(metric_id)),
            "archive_parent_dir": os.path.isdir(os.path.dirname(side.metric_dir(metric_id))),
            "incoming_dir": os.path.isdir(os.path.join(side.storage, "incoming128-%d" % sack, metric_id)),
        }
    return state


def uuid_int(text):
    return uuid.UUID(text).int


def janitor_part(args):
    side = Side(args)
    recording = {"conf": template_conf(args.conf), "policy": JANITOR_POLICY, "differences": []}
    differences = recording["differences"]
    side.ok("POST", "/v1/archive_policy", JANITOR_POLICY)
    for name in JANITOR_METRICS:
        side.ids[name] = side.ok("POST", "/v1/metric", {"name": name, "archive_policy_name": "janitor"})["id"]
    for number in range(2):
        for name, metric_id in side.ids.items():
            side.ok("POST", "/v1/metric/%s/measures" % metric_id,
                    [{"timestamp": iso(T0 + 60 * (i + 5 * number)), "value": float(i)} for i in range(5)])
        if number == 0:
            # Archives for all three; the second batch stays in the sacks.
            side.carbonara("process", want_json=False)
    recording["ids"] = dict(side.ids)
    status, _ = side.api("DELETE", "/v1/metric/%s" % side.ids["doomed-by-api"])
    recording["api_delete"] = {"request": "DELETE /v1/metric/{doomed-by-api}", "status": status}
    recording["rows"] = {"archive_policy": side.rows("archive_policy", "name"),
                         "metric": side.rows("metric", "name")}
    recording["files"] = {}
    for name, metric_id in side.ids.items():
        for rel, data in side.archive(metric_id).items():
            recording["files"][os.path.relpath(os.path.join(side.metric_dir(metric_id), rel), side.storage)] = b64(data)
    for rel, data in side.incoming().items():
        recording["files"][rel] = b64(data)
    recording["before"] = janitor_state(side)

    recording["carbonara_janitor"] = side.carbonara("janitor")
    recording["after_carbonara_janitor"] = after = janitor_state(side)
    for name in ("doomed-by-cli", "survivor"):
        if after[name] != recording["before"][name]:
            differences.append("carbonara's janitor changed %s: %s" % (name, after[name]))

    side.carbonara("metric", "delete", side.ids["doomed-by-cli"], want_json=False)
    recording["cli_delete"] = ["metric", "delete", "{doomed-by-cli}"]
    deleted = janitor_state(side)["doomed-by-cli"]["row"]
    recording["cli_deleted_row"] = deleted
    api_deleted = recording["before"]["doomed-by-api"]["row"]
    if dict(deleted, id=None, name=None) != dict(api_deleted, id=None, name=None):
        differences.append("carbonara's metric delete left %s where gnocchi-api's DELETE left %s" % (
            deleted, api_deleted))
    done = subprocess.run([sys.executable, "-c", GNOCCHI_JANITOR, args.conf], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("Gnocchi's janitor failed:\n" + done.stderr)
    recording["after_gnocchi_janitor"] = after = janitor_state(side)
    if after["doomed-by-cli"]["row"] is not None or after["doomed-by-cli"]["archive_dir"] \
            or after["doomed-by-cli"]["incoming_dir"]:
        differences.append("Gnocchi's janitor left the metric carbonara deleted: %s" % after["doomed-by-cli"])
    if after["survivor"] != recording["before"]["survivor"]:
        differences.append("Gnocchi's janitor changed survivor: %s" % after["survivor"])
    # Each janitor expunging the other side's deletion leaves the same.
    if after["doomed-by-cli"] != recording["after_carbonara_janitor"]["doomed-by-api"]:
        differences.append("Gnocchi's janitor leaves %s, carbonara's %s" % (
            after["doomed-by-cli"], recording["after_carbonara_janitor"]["doomed-by-api"]))
    side.close()
    return recording


# ---------------------------------------------------------------------------
# resources.json

# The ids of the two sides' generic resources (a UUID is kept as given).
GENERIC_ID = {"api": "0a0a0a0a-0000-4000-8000-00000000a001", "cli": "0c0c0c0c-0000-4000-8000-00000000c001"}
FLAVOR = "6c0b1f9e-3d7a-4c55-9a4a-2f1e0b7c9d11"
RESOURCE_POLICY = {"name": "res", "definition": [{"granularity": "1m", "points": 10}],
                   "aggregation_methods": ["mean", "max"]}


def api_resource_requests():
    """gnocchi-api's requests for the `api` side's resources, in order."""
    host = "/v1/resource/api_host/api-web-01"
    generic = "/v1/resource/generic/" + GENERIC_ID["api"]
    patch = "application/json-patch+json"
    return [
        ("POST", "/v1/resource_type", {"name": "api_host", "attributes": {
            "host": {"type": "string", "required": True, "max_length": 64},
            "cpus": {"type": "number", "required": False, "min": 0, "max": 256},
            "flavor_id": {"type": "uuid", "required": False},
            "enabled": {"type": "bool", "required": False},
            "booted": {"type": "datetime", "required": False}}}, None),
        ("POST", "/v1/resource/generic", {"id": GENERIC_ID["api"], "user_id": "bob", "project_id": "proj-2",
                                          "started_at": "2024-02-01T00:00:00Z",
                                          "metrics": {"mem": {"archive_policy_name": "res"}}}, None),
        ("POST", "/v1/resource/api_host", {
            "id": "api-web-01", "host": "web-01.example", "cpus": 4, "flavor_id": FLAVOR, "enabled": True,
            "booted": "2024-03-01T12:00:00.123456+02:00", "user_id": "alice", "project_id": "proj-1",
            "started_at": "2024-03-01T10:00:00", "metrics": {"cpu.util": {"archive_policy_name": "res"}}}, None),
        ("PATCH", host, {"cpus": 8, "host": "web-01b.example"}, None),
        ("PATCH", "/v1/resource_type/api_host", [
            {"op": "add", "path": "/attributes/rack",
             "value": {"type": "string", "required": True, "options": {"fill": "r0"}}},
            {"op": "remove", "path": "/attributes/enabled"}], patch),
        ("PATCH", host, {"rack": "r7", "ended_at": "2024-03-05T00:00:00Z"}, None),
        # Nothing changes: no new revision.
        ("PATCH", host, {"rack": "r7"}, None),
        ("PATCH", generic, {"user_id": "carol"}, None),
        ("POST", generic + "/metric", {"disk": {"archive_policy_name": "res"}}, None),
        ("POST", "/v1/resource/generic", {"id": "api-gone", "started_at": "2024-01-01T00:00:00Z",
                                          "metrics": {"gone.m": {"archive_policy_name": "res"}}}, None),
        ("DELETE", "/v1/resource/generic/api-gone", None, None),
    ]


def cli_resource_commands():
    """carbonara's commands for the same, on the `cli` side."""
    generic = GENERIC_ID["cli"]
    return [
        ["resource-type", "create", "cli_host", "-a", "host:string:true:max_length=64",
         "-a", "cpus:number:false:min=0:max=256", "-a", "flavor_id:uuid:false", "-a", "enabled:bool:false",
         "-a", "booted:datetime:false"],
        ["resource", "create", generic, "--user-id", "bob", "--project-id", "proj-2",
         "--started-at", "2024-02-01T00:00:00Z", "-n", "mem:res"],
        ["resource", "create", "cli-web-01", "-t", "cli_host", "-a", "host:web-01.example", "-a", "cpus:4",
         "-a", "flavor_id:" + FLAVOR, "-a", "enabled:true", "-a", "booted:2024-03-01T12:00:00.123456+02:00",
         "--user-id", "alice", "--project-id", "proj-1", "--started-at", "2024-03-01T10:00:00",
         "-n", "cpu.util:res"],
        ["resource", "update", "cli-web-01", "-t", "cli_host", "-a", "cpus:8", "-a", "host:web-01b.example"],
        ["resource-type", "update", "cli_host", "-a", "rack:string:true:fill=r0", "-r", "enabled"],
        ["resource", "update", "cli-web-01", "-t", "cli_host", "-a", "rack:r7",
         "--ended-at", "2024-03-05T00:00:00Z"],
        ["resource", "update", "cli-web-01", "-t", "cli_host", "-a", "rack:r7"],
        ["resource", "update", generic, "--user-id", "carol"],
        ["resource", "update", generic, "-n", "disk:res"],
        ["resource", "create", "cli-gone", "--started-at", "2024-01-01T00:00:00Z", "-n", "gone.m:res"],
        ["resource", "delete", "cli-gone"],
    ]


def resource_reads(side):
    """(carbonara's command, gnocchi-api's request, its body) for the same read."""
    host_type = side + "_host"
    host = side + "-web-01"
    generic = GENERIC_ID[side]
    return [
        (["resource-type", "show", host_type], "GET /v1/resource_type/" + host_type, None),
        (["resource-type", "list"], "GET /v1/resource_type", None),
        (["resource", "show", generic], "GET /v1/resource/generic/" + generic, None),
        (["resource", "show", host, "-t", host_type], "GET /v1/resource/%s/%s" % (host_type, host), None),
        (["resource", "show", host], "GET /v1/resource/generic/" + host, None),
        (["resource", "history", host, "-t", host_type], "GET /v1/resource/%s/%s/history" % (host_type, host),
         None),
        (["resource", "history", generic], "GET /v1/resource/generic/%s/history" % generic, None),
        (["resource", "list", "-t", host_type], "GET /v1/resource/" + host_type, None),
        (["resource", "search", "-t", host_type, "host='web-01b.example'"],
         "POST /v1/search/resource/" + host_type, {"=": {"host": "web-01b.example"}}),
        (["resource", "search", "-t", host_type, "--history", "rack='r0'"],
         "POST /v1/search/resource/%s?history=true" % host_type, {"=": {"rack": "r0"}}),
        (["resource", "search", "--details", "--sort", "started_at:desc", "original_resource_id like '%s%%'" % side],
         "POST /v1/search/resource/generic?details=true&sort=started_at:desc",
         {"like": {"original_resource_id": side + "%"}}),
        (["metric", "show", "mem", "--resource-id", generic],
         "GET /v1/resource/generic/%s/metric/mem" % generic, None),
    ]


RANKED = ("revision_start", "revision_end", "updated_at", "last_measure_timestamp")


def side_neutral(value, side):
    """A document or rows of one side as comparable with the other's: names
    and the generic resource's id as the `api` side's, ids (random or
    derived from the names) and revision numbers reduced to whether they
    are set, times of writing to their rank among the document's."""
    value = swap_side(value, side, "api")
    if side != "api":
        value = json.loads(json.dumps(value).replace(GENERIC_ID[side], GENERIC_ID["api"]))
    times = sorted({t for t in walk_values(value, RANKED) if t is not None})

    def walk(item):
        if isinstance(item, dict):
            out = {}
            for key, sub in item.items():
                if key in RANKED:
                    out[key] = None if sub is None else times.index(sub)
                elif key in ("id", "resource_id", "revision", "tablename") and sub != GENERIC_ID["api"]:
                    out[key] = sub is not None
                elif key == "metrics" and isinstance(sub, dict):
                    out[key] = {name: True for name in sorted(sub)}
                elif key == "aggregation_methods":
                    out[key] = sorted(sub)
                else:
                    out[key] = walk(sub)
            return out
        if isinstance(item, list):
            return [walk(sub) for sub in item]
        return item
    return walk(value)


def walk_values(value, keys):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys:
                yield item
            else:
                yield from walk_values(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from walk_values(item, keys)


def resource_rows(side):
    """The rows of the resource tables, as row_to_json writes them, in the
    order their foreign keys load them, the rt_* tables under their own
    names; `resource_type` without `generic` (upgrade writes it)."""
    cursor = side.db.cursor()
    cursor.execute("SELECT tablename FROM resource_type WHERE name <> 'generic' ORDER BY name")
    tables = [name for (name,) in cursor.fetchall()]
    rows = {"archive_policy": side.rows("archive_policy", "name"),
            "resource_type": [r for r in side.rows("resource_type", "name") if json.loads(r)["name"] != "generic"],
            "resource": side.rows("resource", "id"),
            "resource_history": side.rows("resource_history", "revision")}
    for table in tables:
        rows[table] = side.rows(table, "id")
        rows[table + "_history"] = side.rows(table + "_history", "revision")
    rows["metric"] = side.rows("metric", "name, id")
    return rows


def rows_of_side(side, which):
    """Per table kind, the rows of one side (`api` or `cli`), as documents:
    the rt_* tables as `type table` and `type history table`, metrics with
    their resource's original id."""
    cursor = side.db.cursor()
    host_type = which + "_host"

    def query(sql, *params):
        cursor.execute(sql, params)
        return [json.loads(row[0]) for row in cursor.fetchall()]
    mine = "(original_resource_id LIKE %s OR original_resource_id = %s)"
    cursor.execute("SELECT tablename FROM resource_type WHERE name = %s", (host_type,))
    (table,) = cursor.fetchone()
    return {
        "resource_type": query("SELECT row_to_json(t)::text FROM resource_type t WHERE name = %s", host_type),
        "resource": query("SELECT row_to_json(t)::text FROM resource t WHERE %s ORDER BY started_at" % mine,
                          which + "-%", GENERIC_ID[which]),
        "resource_history": query(
            "SELECT row_to_json(t)::text FROM resource_history t WHERE %s ORDER BY revision" % mine,
            which + "-%", GENERIC_ID[which]),
        "type table": query("SELECT row_to_json(t)::text FROM %s t" % table),
        "type history table": query("SELECT row_to_json(t)::text FROM %s_history t ORDER BY revision" % table),
        "metric": [normalise_metric(m) for m in query(
            "SELECT row_to_json(t)::text FROM (SELECT m.*, r.original_resource_id FROM metric m "
            "JOIN resource r ON r.id = m.resource_id WHERE r.original_resource_id LIKE %s "
            "OR r.original_resource_id = %s) t ORDER BY name", which + "-%", GENERIC_ID[which])],
    }


def gone_row(side, metric_id):
    cursor = side.db.cursor()
    cursor.execute("SELECT row_to_json(t)::text FROM metric t WHERE id = %s", (metric_id,))
    row = cursor.fetchone()
    return normalise_metric(json.loads(row[0])) if row else None


def normalise_metric(row):
    row["last_measure_timestamp"] = EPOCH_2000
    return row


def resources_part(args):
    side = Side(args)
    recording = {"conf": template_conf(args.conf), "differences": []}
    differences = recording["differences"]
    side.ok("POST", "/v1/archive_policy", RESOURCE_POLICY)
    requests = []
    for method, path, body, content_type in api_resource_requests():
        if path.endswith("/api-gone") and method == "DELETE":
            gone = side.ok("GET", "/v1/resource/generic/api-gone")["metrics"]["gone.m"]
        status, answer = side.api(method, path, body, content_type or "application/json")
        if status >= 400:
            sys.exit("%s %s: HTTP %d %s" % (method, path, status, answer))
        requests.append({"request": "%s %s" % (method, path), "body": body, "status": status, "answer": answer})
    # What a resource's deletion leaves of its metric, for a janitor.
    recording["api_gone_metric"] = gone_row(side, gone)
    recording["api_requests"] = requests
    recording["ddl"] = rt_ddl(args, side)
    recording["rows"] = resource_rows(side)

    api_reads = []
    for command, request, body in resource_reads("api"):
        method, path = request.split(" ", 1)
        answer = side.ok(method, path, body)
        shown = side.carbonara(*command)
        api_reads.append({"command": command, "request": request, "body": body, "answer": answer,
                          "carbonara": shown})
        # Key order included; a policy's methods are a set.
        if json.dumps(strip_methods(shown)) != json.dumps(strip_methods(answer)):
            differences.append("carbonara %s shows %s where gnocchi-api answers %s to %s" % (
                " ".join(command), shown, answer, request))
        elif json.dumps(shown) != json.dumps(answer):
            recording.setdefault("order_only", []).append({"command": command, "request": request})
    recording["api_reads"] = api_reads

    # The janitor expunges the metric of the resource deleted through gnocchi-api.
    recording["carbonara_janitor"] = side.carbonara("janitor")
    if gone_row(side, gone) is not None:
        differences.append("carbonara's janitor left the metric of a resource deleted through gnocchi-api")

    for command in cli_resource_commands():
        if command[:2] == ["resource", "delete"]:
            gone = side.carbonara("resource", "show", command[2])["metrics"]["gone.m"]
        side.carbonara(*command, want_json=command[1] not in ("delete",))
    recording["cli_commands"] = cli_resource_commands()
    recording["cli_gone_metric"] = gone_row(side, gone)
    if side_neutral(recording["cli_gone_metric"], "cli") != side_neutral(recording["api_gone_metric"], "api"):
        differences.append("carbonara's resource delete left the metric row %s, gnocchi-api's %s" % (
            recording["cli_gone_metric"], recording["api_gone_metric"]))
    cli_reads = []
    for (_, request, body), api_read in zip(resource_reads("cli"), api_reads):
        method, path = request.split(" ", 1)
        answer = side.ok(method, path, body)
        cli_reads.append({"request": request, "body": body, "answer": answer})
        ours = side_neutral(answer, "cli")
        theirs = side_neutral(api_read["answer"], "api")
        if request.endswith("/v1/resource_type"):
            # The list holds both sides' types (and generic).
            ours = side_neutral([t for t in answer if t["name"] == "cli_host"], "cli")
            theirs = side_neutral([t for t in api_read["answer"] if t["name"] == "api_host"], "api")
        if ours != theirs:
            differences.append("gnocchi-api answers %s to %s (made by carbonara), %s to %s (made through "
                               "gnocchi-api)" % (answer, request, api_read["answer"], api_read["request"]))
    recording["cli_reads"] = cli_reads

    api_rows = rows_of_side(side, "api")
    cli_rows = rows_of_side(side, "cli")
    recording["api_rows"] = api_rows
    recording["cli_rows"] = cli_rows
    for kind in api_rows:
        if side_neutral(cli_rows[kind], "cli") != side_neutral(api_rows[kind], "api"):
            differences.append("%s rows: gnocchi-api wrote %s, carbonara %s" % (
                kind, api_rows[kind], cli_rows[kind]))
    side.close()
    return recording


def strip_methods(value):
    """A document with what has no order in Gnocchi sorted: a policy's
    aggregation methods (a set) and a resource's metrics (a dict built from
    rows read without ORDER BY: gnocchi-api itself gives one resource's
    metrics in one order in GET /v1/resource and another in its history)."""
    if isinstance(value, dict):
        return {k: (sorted(v) if k == "aggregation_methods" else
                    dict(sorted(v.items())) if k == "metrics" and isinstance(v, dict) else
                    strip_methods(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_methods(v) for v in value]
    return value


def rt_ddl(args, side):
    """The DDL of the rt_* tables, as pg_dump writes it (no owner, no
    privileges, no psql meta-command)."""
    url = indexer_url(args.conf)
    done = subprocess.run([args.pg_dump, "--schema-only", "--no-owner", "--no-privileges",
                           "--restrict-key=gnocchi", "-t", "public.rt_*", "-d", url],
                          capture_output=True, text=True, check=True)
    return "\n".join(line for line in done.stdout.splitlines()
                     if line and not line.startswith(("--", "\\")))


# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# together.json

# Each measure alone in its 1 s bucket; a full 10 minute bucket counts 600.
TOGETHER_POLICY = {"name": "together", "back_window": 0, "aggregation_methods": ["count", "sum"],
                   "definition": [{"granularity": "1s", "timespan": "1h"}, {"granularity": "10m", "points": 12}]}
TOGETHER_GRANULARITIES = (1, 600)
TOGETHER_T0 = 1704067200  # 2024-01-01T00:00:00Z, on a 10 minute boundary
PER_BATCH = 10
METRICD_WORKERS = 2
METRICD_APP = "gnocchi-metricd"
CARBONARA_APP = "carbonara"
# Seconds a check waits for something the other processes are to do.
PATIENCE = 120

READ_FILE = re.compile(r"Reading metric file \[(?P<path>[^\]]+)\]")
SACK_TAKEN = re.compile(r"Processing measures for sack (?P<sack>\S+)")
JOB_DONE = re.compile(r"\[(?P<pid>\d+)\].* (?P<metrics>\d+) metrics processed from (?P<sacks>\d+) sacks")
LOG_LINE = re.compile(r"\S+ \S+ \[(?P<pid>\d+)\] (?P<level>\w+) +\S+ (?P<message>.*)")
EMPTY_MEASURES = "IndexError: index 0 is out of bounds for axis 0 with size 0"


def log_time(line):
    """The time of a gnocchi-metricd log line (local time, milliseconds)."""
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def metricd_failures(log):
    """gnocchi-metricd's failures and what it consumed.

    Failures: those on an empty array of measures (a metric directory
    without a file: gnocchi-api makes the directory, then moves the file
    in, `FileStorage._store_new_measures`), each with its sack and the times
    it took the sack and failed; and every other error with the lines that
    follow it (its traceback). A job that fails stores nothing and deletes
    no file: the files it read are still waiting, for the next pass of
    either side. Consumed: the measure files read by the sack jobs that did
    not fail."""
    empty, errors, current, taken, consumed = [], [], None, {}, []

    def finish(pid):
        job = taken.pop(pid, None)
        if job and not job["failed"]:
            consumed.extend(job["paths"])

    for line in log.splitlines():
        match = LOG_LINE.match(line)
        if not match:
            if current:
                current["lines"].append(line)
            continue
        current = None
        pid, level, message = match.group("pid", "level", "message")
        if SACK_TAKEN.match(message):
            finish(pid)
            taken[pid] = {"sack": SACK_TAKEN.match(message).group("sack"), "taken": log_time(line),
                          "paths": [], "failed": False}
        elif READ_FILE.search(message) and pid in taken:
            taken[pid]["paths"].append(READ_FILE.search(message).group("path"))
        elif level in ("ERROR", "CRITICAL"):
            job = taken.get(pid, {})
            if job:
                job["failed"] = True
            current = dict(sack=job.get("sack"), taken=job.get("taken"), read=len(job.get("paths", [])),
                           failed=log_time(line), lines=[line])
            errors.append(current)
    for pid in list(taken):
        finish(pid)
    others = []
    for error in errors:
        if error["lines"][0].endswith("Error processing new measures") and error["lines"][-1] == EMPTY_MEASURES:
            empty.append(error)
        else:
            others.append("\n".join(error["lines"]))
    return empty, others, consumed


def together_batch(number, batch):
    """Batch `batch` of metric `number`: PER_BATCH measures a second apart,
    after the previous batch's; small whole values, so sums are exact."""
    return [{"timestamp": TOGETHER_T0 + batch * PER_BATCH + i,
             "value": float((number * 37 + batch * PER_BATCH + i) % 101)} for i in range(PER_BATCH)]


def together_expected(number, batches):
    """Granularity → bucket time → (count, sum) that the batches make."""
    expected = {}
    for granularity in TOGETHER_GRANULARITIES:
        buckets = expected[granularity] = {}
        for batch in range(batches):
            for measure in together_batch(number, batch):
                key = measure["timestamp"] - measure["timestamp"] % granularity
                count, total = buckets.get(key, (0, 0.0))
                buckets[key] = (count + 1, total + measure["value"])
    return expected


def together_answers(side, metric_id):
    """The same, as gnocchi-api answers it."""
    found = {}
    for granularity in TOGETHER_GRANULARITIES:
        buckets = found[granularity] = {}
        for slot, method in enumerate(("count", "sum")):
            query = urllib.parse.urlencode({"aggregation": method, "granularity": granularity})
            for stamp, _, value in side.ok("GET", "/v1/metric/%s/measures?%s" % (metric_id, query)):
                key = int(datetime.datetime.fromisoformat(stamp).timestamp())
                buckets.setdefault(key, [None, None])[slot] = value
        for key, pair in buckets.items():
            buckets[key] = tuple(pair)
    return found


def sack_total(side):
    """The deployment's number of sacks, from its sack directories."""
    totals = {int(m.group(1)) for m in map(re.compile(r"incoming(\d+)-\d+$").match, os.listdir(side.storage)) if m}
    if len(totals) != 1:
        sys.exit("%s: sack directories of %s sack counts" % (side.storage, sorted(totals) or "no"))
    return totals.pop()


class Metricd:
    """A real gnocchi-metricd on the deployment, started here in its own
    process group (stopped by its PID), logging at debug level, its
    PostgreSQL sessions named METRICD_APP (libpq's PGAPPNAME)."""

    def __init__(self, conf, log):
        self.conf = conf
        self.log = log
        self.child = None

    def start(self):
        program = os.path.join(os.path.dirname(sys.executable), "gnocchi-metricd")
        with open(self.log, "wb") as out:
            self.child = subprocess.Popen([program, "--config-file", self.conf, "--debug"],
                                          stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True, env=dict(os.environ, PGAPPNAME=METRICD_APP))

    def text(self, start=0):
        with open(self.log, errors="replace") as f:
            f.seek(start)
            return f.read()

    def size(self):
        return os.path.getsize(self.log)

    def jobs(self, start=0):
        return JOB_DONE.findall(self.text(start))

    def stop(self):
        """SIGTERM to the group (its workers finish the sack at hand), SIGKILL after 60 s."""
        if self.child is None or self.child.poll() is not None:
            return
        os.killpg(self.child.pid, signal.SIGTERM)
        try:
            self.child.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.child.pid, signal.SIGKILL)
            self.child.wait()


class Locks:
    """Who holds the deployment's sack locks, read from pg_locks; and tooz's
    own PostgresLock for a sack, as Gnocchi's Chef.get_sack_lock makes it."""

    def __init__(self, side, total):
        self.db = side.db
        self.coord = coordination.get_coordinator(conf_option(side.conf, "DEFAULT", "coordination_url"),
                                                  b"side-by-side-together")
        self.coord.start()
        self.chef = chef.Chef(self.coord, None, None, None)
        self.total = total
        self.sacks = {tuple(self.tooz(n).key): n for n in range(total)}

    def tooz(self, number):
        return self.chef.get_sack_lock(sack(number, self.total))

    def holders(self, cursor=None):
        """Sack number → application name of the session holding its lock
        (advisory locks are per database: those of the coordination URL's,
        which is the indexer's here)."""
        cursor = cursor or self.db.cursor()
        cursor.execute("SELECT l.classid, l.objid, a.application_name FROM pg_locks l "
                       "JOIN pg_stat_activity a ON a.pid = l.pid "
                       "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                       "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
        return {self.sacks.get((k1, k2), (k1, k2)): application for k1, k2, application in cursor.fetchall()}

    def waiting(self, application):
        """Whether a session of `application` waits for a row or table lock."""
        cursor = self.db.cursor()
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                       "AND wait_event_type = 'Lock'", (application,))
        return cursor.fetchone()[0] > 0

    def close(self):
        self.coord.stop()


class LockSampler(threading.Thread):
    """Samples the sack locks every 20 ms: how often carbonara, metricd or
    both at once held some, and which sacks each was seen holding."""

    def __init__(self, locks, url):
        super().__init__(daemon=True)
        self.locks = locks
        self.url = url
        self.done = threading.Event()
        self.samples = self.both = 0
        self.seen = {CARBONARA_APP: set(), METRICD_APP: set()}
        self.holding = {CARBONARA_APP: 0, METRICD_APP: 0}

    def run(self):
        db = psycopg2.connect(self.url)
        db.autocommit = True
        cursor = db.cursor()
        while not self.done.wait(0.02):
            held = {CARBONARA_APP: set(), METRICD_APP: set()}
            for number, application in self.locks.holders(cursor).items():
                held.setdefault(application, set()).add(number)
            self.samples += 1
            for application in self.seen:
                self.seen[application] |= held[application]
                self.holding[application] += bool(held[application])
            self.both += bool(held[CARBONARA_APP] and held[METRICD_APP])
        db.close()

    def stop(self):
        self.done.set()
        self.join()
        return {"samples": self.samples,
                "carbonara_held_sacks": self.holding[CARBONARA_APP],
                "metricd_held_sacks": self.holding[METRICD_APP],
                "both_held_sacks": self.both,
                "sacks_seen_held_by_carbonara": len(self.seen[CARBONARA_APP]),
                "sacks_seen_held_by_metricd": len(self.seen[METRICD_APP])}


def carbonara_pass(args, wait=True):
    """`carbonara process -f json`: its report (wait) or the running child."""
    command = [args.carbonara, "--gnocchi-conf", args.conf, "process", "-f", "json"]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return finish_pass(child) if wait else child


def finish_pass(child, timeout=None):
    out, err = child.communicate(timeout=timeout)
    if child.returncode != 0:
        return {"error": "exit %d: %s" % (child.returncode, err.strip())}
    return json.loads(out)


class CarbonaraLoop(threading.Thread):
    """`carbonara process` again and again, 0.2 s apart, until stopped."""

    def __init__(self, args):
        super().__init__(daemon=True)
        self.args = args
        self.done = threading.Event()
        self.reports = []

    def run(self):
        while not self.done.is_set():
            started = time.time()
            report = carbonara_pass(self.args)
            self.reports.append(dict(report, started=started, ended=time.time()))
            self.done.wait(0.2)

    def stop(self):
        """After the pass at hand."""
        self.done.set()
        self.join()
        return self.reports


def wait_until(predicate, timeout):
    """Whether `predicate` came true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for(what, predicate, timeout=PATIENCE):
    if not wait_until(predicate, timeout):
        raise SystemExit("together: waited %d s for %s" % (timeout, what))


def row_lock(side, metric_id):
    """A transaction holding the metric's row lock: a pass that reaches
    its index write for the metric (carbonara's `record_processed`,
    Gnocchi's `update_last_measure_timestamp`) waits there, its sack
    lock held, until the transaction ends."""
    db = psycopg2.connect(indexer_url(side.conf))
    db.cursor().execute("SELECT id FROM metric WHERE id = %s FOR UPDATE", (metric_id,))
    return db


def incoming_files(side, metric_id, total):
    directory = os.path.join(side.storage, "incoming%d-%d" % (total, uuid_int(metric_id) % total), metric_id)
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


class Blocked:
    """A child process the row lock of `row_lock` holds up: released (and
    the child waited for) on the way out, whatever happened."""

    def __init__(self, side, metric_id):
        self.blocker = row_lock(side, metric_id)
        self.child = None

    def release(self):
        if self.blocker:
            self.blocker.commit()
            self.blocker.close()
            self.blocker = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
        if self.child and self.child.poll() is None:
            try:
                self.child.wait(PATIENCE)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait()


def carbonara_holds(args, side, locks, metricd, held, witness):
    """carbonara's pass holds `held`'s sack (stopped at its index write by a
    row lock) while gnocchi-metricd starts and runs: tooz's own
    PostgresLock for the sack is refused, metricd never takes the sack and
    processes another one meanwhile."""
    with Blocked(side, held["id"]) as blocked:
        return carbonara_holding(args, side, locks, metricd, held, witness, blocked)


def carbonara_holding(args, side, locks, metricd, held, witness, blocked):
    facts = {}
    side.ok("POST", "/v1/metric/%s/measures" % held["id"], together_batch(held["number"], 0), want=(202,))
    child = blocked.child = carbonara_pass(args, wait=False)
    facts["carbonara_took_it"] = wait_until(
        lambda: locks.holders().get(held["sack"]) == CARBONARA_APP and locks.waiting(CARBONARA_APP), 30)
    lock = locks.tooz(held["sack"])
    facts["tooz_refused"] = not lock.acquire(blocking=False)
    if not facts["tooz_refused"]:
        lock.release()
    other = locks.tooz(witness["sack"])
    facts["tooz_takes_another_sack"] = other.acquire(blocking=False) is True
    other.release()
    metricd.start()
    wait_for("gnocchi-metricd's workers to scan every sack twice",
             lambda: len({pid for pid, _, _ in metricd.jobs()}) == METRICD_WORKERS and len(metricd.jobs()) >= 4)
    side.ok("POST", "/v1/metric/%s/measures" % witness["id"], together_batch(witness["number"], 0), want=(202,))
    wait_for("gnocchi-metricd to process the witness metric",
             lambda: witness["id"] in metricd.text() and not incoming_files(side, witness["id"], locks.total))
    log = metricd.text()
    taken = [m.group("sack") for m in SACK_TAKEN.finditer(log)]
    # Each job tries every sack; one held by carbonara is refused.
    facts["metricd_jobs_sacks_taken"] = [int(sacks) for _, _, sacks in metricd.jobs()]
    facts["metricd_sacks_taken"] = len(taken)
    facts["metricd_took_the_held_sack"] = taken.count(str(sack(held["sack"], locks.total)))
    facts["metricd_read_the_witness"] = witness["id"] in "".join(m.group("path") for m in READ_FILE.finditer(log))
    facts["carbonara_still_held_it"] = child.poll() is None and locks.holders().get(held["sack"]) == CARBONARA_APP
    blocked.release()
    facts["carbonara_report"] = finish_pass(child, timeout=PATIENCE)
    # gnocchi-metricd's workers take every sack in turn: tooz waits its turn.
    facts["tooz_takes_it_after_the_pass"] = lock.acquire(blocking=10) is True
    lock.release()
    return facts


def metricd_holds(args, side, locks, metricd, held):
    """gnocchi-metricd holds `held`'s sack (a processing worker, or its
    janitor truncating the new metric's raw data, which takes the sack lock
    too; stopped at its index write by a row lock): carbonara's pass skips
    it as busy and processes nothing."""
    facts = {}
    start = metricd.size()
    with Blocked(side, held["id"]) as blocked:
        side.ok("POST", "/v1/metric/%s/measures" % held["id"], together_batch(held["number"], 0), want=(202,))
        wait_for("gnocchi-metricd to hold sack %d" % held["sack"],
                 lambda: locks.holders().get(held["sack"]) == METRICD_APP and locks.waiting(METRICD_APP))
        child = blocked.child = carbonara_pass(args, wait=False)
        # A pass that took the sack would wait at its own index write.
        wait_until(lambda: child.poll() is not None or locks.waiting(CARBONARA_APP), PATIENCE)
        facts["carbonara_waited_at_its_index_write"] = child.poll() is None
        facts["measure_files_left"] = len(incoming_files(side, held["id"], locks.total))
        facts["metricd_still_held_it"] = locks.holders().get(held["sack"]) == METRICD_APP
        blocked.release()
        facts["carbonara_report"] = finish_pass(child, timeout=PATIENCE)
    wait_for("gnocchi-metricd to finish the sack", lambda: not incoming_files(side, held["id"], locks.total))
    facts["metricd_read_it"] = held["id"] in "".join(
        m.group("path") for m in READ_FILE.finditer(metricd.text(start)))
    return facts


def post_together(side, metrics, batches, clients, errors, posts):
    """Every metric's batches in order, by `clients` threads (a metric
    belongs to one); `posts` gets each request's sack, start and end."""
    def client(mine):
        try:
            for batch in range(batches):
                for metric in mine:
                    start = time.time()
                    status, answer = side.api("POST", "/v1/metric/%s/measures" % metric["id"],
                                              together_batch(metric["number"], batch))
                    posts.append((metric["sack"], start, time.time()))
                    if status != 202:
                        errors.append("POST measures of %s: HTTP %d %s" % (metric["name"], status, answer))
                        return
        except Exception as error:  # noqa: BLE001 - told in the recording
            errors.append("client: %r" % error)
    threads = [threading.Thread(target=client, args=(metrics[k::clients],)) for k in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def backlog(side):
    return side.ok("GET", "/v1/status")["storage"]["summary"]["measures"]


def together_part(args):
    side = Side(args)
    recording = {"policy": TOGETHER_POLICY, "differences": []}
    differences = recording["differences"]
    with open(args.conf) as f:
        original_conf = f.read()
    locks = None
    metricd = Metricd(args.conf, os.path.join(os.path.dirname(args.conf), "metricd-together.log"))
    sampler = loop = None
    try:
        with open(args.conf, "w") as f:
            f.write(re.sub(r"(?m)^workers = \d+$", "workers = %d" % METRICD_WORKERS, original_conf))
        recording["conf"] = template_conf(args.conf)
        total = sack_total(side)
        locks = Locks(side, total)
        side.ok("POST", "/v1/archive_policy", TOGETHER_POLICY)

        def new_metric(name):
            metric_id = side.ok("POST", "/v1/metric", {"name": name, "archive_policy_name": "together"})["id"]
            return {"name": name, "id": metric_id, "sack": uuid_int(metric_id) % total, "batches": 0}
        # Three metrics in three sacks for the holds, then the run's.
        holds = []
        while len(holds) < 3:
            metric = new_metric("hold-%d" % len(holds))
            if metric["sack"] not in {h["sack"] for h in holds}:
                holds.append(metric)
        metrics = [new_metric("together-%02d" % k) for k in range(args.together_metrics)]
        for number, metric in enumerate(holds + metrics):
            metric["number"] = number
        by_carbonara, by_metricd, witness = holds
        for metric in holds:
            metric["batches"] = 1

        recording["carbonara_holds"] = carbonara_holds(args, side, locks, metricd, by_carbonara, witness)
        recording["metricd_holds"] = metricd_holds(args, side, locks, metricd, by_metricd)
        a, b = recording["carbonara_holds"], recording["metricd_holds"]
        for fact, want in [("carbonara_took_it", True), ("tooz_refused", True), ("tooz_takes_another_sack", True),
                           ("metricd_took_the_held_sack", 0), ("metricd_read_the_witness", True),
                           ("carbonara_still_held_it", True), ("tooz_takes_it_after_the_pass", True)]:
            if a[fact] != want:
                differences.append("while carbonara held a sack: %s is %r, not %r" % (fact, a[fact], want))
        if max(a["metricd_jobs_sacks_taken"]) >= total:
            differences.append("while carbonara held a sack, a gnocchi-metricd job took every sack")
        if a["metricd_sacks_taken"] < total - 1:
            differences.append("while carbonara held a sack, gnocchi-metricd took only %d sacks"
                               % a["metricd_sacks_taken"])
        if a["carbonara_report"].get("metrics") != 1 or a["carbonara_report"].get("measures") != PER_BATCH:
            differences.append("the held pass reported %s" % a["carbonara_report"])
        for fact, want in [("carbonara_waited_at_its_index_write", False), ("measure_files_left", 1),
                           ("metricd_still_held_it", True), ("metricd_read_it", True)]:
            if b[fact] != want:
                differences.append("while gnocchi-metricd held a sack: %s is %r, not %r" % (fact, b[fact], want))
        if {k: b["carbonara_report"].get(k) for k in ("busy sacks", "metrics", "measures")} != {
                "busy sacks": 1, "metrics": 0, "measures": 0}:
            differences.append("carbonara's pass beside gnocchi-metricd's held sack reported %s"
                               % b["carbonara_report"])

        # Everything at once.
        run_start = metricd.size()
        sampler = LockSampler(locks, indexer_url(args.conf))
        loop = CarbonaraLoop(args)
        errors, posts = [], []
        started = time.monotonic()
        sampler.start()
        loop.start()
        clients = post_together(side, metrics, args.together_batches, args.together_clients, errors, posts)
        for thread in clients:
            thread.join()
        posted_in = time.monotonic() - started
        for metric in metrics:
            metric["batches"] = args.together_batches
        wait_for("an empty backlog", lambda: backlog(side) == 0, timeout=900)
        reports = loop.stop()
        seconds = time.monotonic() - started
        samples = sampler.stop()
        metricd.stop()
        differences.extend(errors)
        left = side.incoming()
        if left:
            differences.append("measure files left in the sacks: %s" % sorted(left)[:10])

        # Who consumed what.
        log = metricd.text()
        run_log = metricd.text(run_start)
        empty_directories, log_errors, paths = metricd_failures(log)
        read_twice = len(paths) - len(set(paths))
        gnocchi_files = {}
        for path in set(paths):
            metric_id = os.path.basename(os.path.dirname(path))
            gnocchi_files[metric_id] = gnocchi_files.get(metric_id, 0) + 1
        # Each while gnocchi-api was writing a measure file into that sack?
        explained = sum(1 for failure in empty_directories if any(
            "incoming%d-%d" % (total, number) == failure["sack"] and start <= failure["failed"]
            and end >= failure["taken"] for number, start, end in posts))
        failed = [r["error"] for r in reports if "error" in r]
        passes = [r for r in reports if "error" not in r]
        everything = holds + metrics
        posted = PER_BATCH * sum(m["batches"] for m in everything)
        carbonara_measures = sum(r["measures"] for r in passes) + sum(
            h["carbonara_report"].get("measures", 0) for h in (a, b))
        gnocchi_measures = PER_BATCH * len(set(paths))
        for m in everything:
            m["gnocchi_files"] = gnocchi_files.get(m["id"], 0)
            m["carbonara_files"] = m["batches"] - m["gnocchi_files"]
        jobs = [(int(n), int(s)) for _, n, s in JOB_DONE.findall(run_log)]
        recording["run"] = {
            "metrics": len(metrics),
            "sacks_of_the_metrics": len({m["sack"] for m in metrics}),
            "batches_per_metric": args.together_batches,
            "measures_per_batch": PER_BATCH,
            "clients": args.together_clients,
            "metricd_workers": METRICD_WORKERS,
            "seconds_posting": round(posted_in, 1),
            "seconds": round(seconds, 1),
            "carbonara": {
                "passes": len(reports),
                "passes_that_processed": sum(1 for r in passes if r["metrics"]),
                "passes_refused_a_sack": sum(1 for r in passes if r["busy sacks"]),
                "metrics_processed": sum(r["metrics"] for r in passes),
                "measures": sum(r["measures"] for r in passes),
                "busy_sacks": sum(r["busy sacks"] for r in passes),
                "orphan_measures": sum(r["orphan measures"] for r in passes),
                "sacks_with_files_it_consumed": len({m["sack"] for m in metrics if m["carbonara_files"]}),
                "failed_passes": failed,
            },
            "metricd": {
                "jobs": len(jobs),
                "sacks_taken": sum(s for _, s in jobs),
                "sacks_refused": total * len(jobs) - sum(s for _, s in jobs),
                "metrics_processed": sum(n for n, _ in jobs),
                "files_read": len(READ_FILE.findall(run_log)),
                "sacks_with_files_it_consumed": len({m["sack"] for m in metrics if m["gnocchi_files"]}),
                "failed_on_an_empty_metric_directory": len(empty_directories),
                "of_those_while_gnocchi_api_wrote_to_the_sack": explained,
                "errors": log_errors[:10],
            },
            "metrics_processed_by_both": sum(1 for m in metrics if m["gnocchi_files"] and m["carbonara_files"]),
            "locks_sampled": samples,
        }
        recording["accounting"] = {
            "posted_measures": posted,
            "carbonara_measures": carbonara_measures,
            "gnocchi_measures": gnocchi_measures,
            "files_gnocchi_read_twice": read_twice,
        }
        if carbonara_measures + gnocchi_measures != posted or read_twice:
            differences.append("measures posted %d, taken by carbonara %d and by gnocchi-metricd %d "
                               "(%d files read twice)" % (posted, carbonara_measures, gnocchi_measures, read_twice))
            # Beside gnocchi-metricd's log, in the directory kept for a look.
            with open(os.path.join(os.path.dirname(args.conf), "carbonara-passes.json"), "w") as f:
                json.dump(reports, f, indent=1)
        run = recording["run"]
        for side_name, count in (("carbonara", run["carbonara"]["measures"]),
                                 ("gnocchi-metricd", run["metricd"]["files_read"])):
            if not count:
                differences.append("%s processed nothing during the run" % side_name)
        if not samples["both_held_sacks"]:
            differences.append("carbonara and gnocchi-metricd were never seen holding sacks at once")
        if explained != len(empty_directories):
            differences.append("gnocchi-metricd failed on %d empty metric directories, %d of them while "
                               "gnocchi-api was not writing into their sack" % (
                                   len(empty_directories), len(empty_directories) - explained))
        if failed or log_errors:
            differences.append("failures: carbonara %s, gnocchi-metricd %s" % (failed[:3], log_errors[:3]))

        # Every measure aggregated once: gnocchi-api's count and sum.
        buckets = wrong = 0
        for metric in everything:
            expected = together_expected(metric["number"], metric["batches"])
            got = together_answers(side, metric["id"])
            for granularity in TOGETHER_GRANULARITIES:
                want, have = expected[granularity], got[granularity]
                buckets += len(want)
                bad = sorted(key for key in set(want) | set(have) if want.get(key) != have.get(key))
                wrong += len(bad)
                if bad:
                    differences.append("%s, granularity %d: %d buckets differ, first %s: posted %s, gnocchi-api %s"
                                       % (metric["name"], granularity, len(bad), iso(bad[0]),
                                          want.get(bad[0]), have.get(bad[0])))
        recording["aggregates"] = {"metrics": len(everything), "buckets_checked": buckets, "buckets_wrong": wrong}
    finally:
        for thread in (loop, sampler):
            if thread and thread.is_alive():
                thread.stop()
        metricd.stop()
        if locks:
            locks.close()
        with open(args.conf, "w") as f:
            f.write(original_conf)
        side.close()
    return recording


# ---------------------------------------------------------------------------
# past.json

PAST_POLICIES = [
    {"name": "past-minute", "back_window": 0,
     "definition": [{"granularity": "1m", "timespan": "1d"}, {"granularity": "1h", "timespan": "30d"}],
     "aggregation_methods": ["mean", "max", "count", "sum", "last"]},
    # What `moved` moves to: 1 h kept, 1 d derived from it.
    {"name": "past-hour", "back_window": 0,
     "definition": [{"granularity": "1h", "timespan": "30d"}, {"granularity": "1d", "timespan": "365d"}],
     "aggregation_methods": ["mean", "max", "count", "sum", "last"]},
]

PAST_METRICS = ["erased", "backfilled", "replaced", "moved", "untouched"]


def past_posts():
    """Measures per metric name, posted through gnocchi-api: six hours every
    five minutes; three for the backfilled ones, whose first three hours
    come later from a CSV file."""
    def every_5_minutes(first_hour, last_hour, shift):
        return [{"timestamp": iso(T0 + 300 * i), "value": wave(i + shift)}
                for i in range(12 * first_hour, 12 * last_hour)]
    return {name: every_5_minutes(3 if name in ("backfilled", "replaced") else 0, 6, k)
            for k, name in enumerate(PAST_METRICS)}


def past_csv():
    """History older than the back window (the bound series starts at
    T0 + 5 h): three hours every five minutes, plus a measure in a minute
    no aggregate holds of an hour that already holds one (refused, or
    recomputed from the file with --replace)."""
    rows = ["%s,%r" % (iso(T0 + 300 * i), wave(i, 20)) for i in range(36)]
    rows.append("%s,%r" % (iso(T0 + 3 * 3600 + 150), 77.25))
    return "".join(row + "\n" for row in rows)


def past_commands():
    """carbonara's edits, `{name}` standing for a metric's id and `{csv}`
    for the backfill file."""
    return [
        ["measures", "delete", "{erased}", "--start", iso(T0 + 3600), "--stop", iso(T0 + 2 * 3600)],
        ["measures", "delete", "{erased}", "--start", iso(T0 + 3 * 3600 + 600),
         "--stop", iso(T0 + 3 * 3600 + 1200), "--granularity", "60"],
        # Inside the bound series (from T0 + 5 h): its raw points go too.
        ["measures", "delete", "{erased}", "--start", iso(T0 + 5 * 3600 + 600),
         "--stop", iso(T0 + 5 * 3600 + 1200), "--granularity", "60"],
        ["ingest", "csv", "--metric", "{backfilled}", "--backfill", "{csv}"],
        ["ingest", "csv", "--metric", "{replaced}", "--backfill", "--replace", "{csv}"],
        ["metric", "update", "{moved}", "--archive-policy-name", "past-hour"],
    ]


# After the edits, a measure for each metric, processed by Gnocchi's own
# code on top of carbonara's files (bound series included): `erased`'s in
# the hour whose raw points the last deletion cut (Gnocchi recomputes the
# hour from what is left), the others' in the next hour.
PAST_LATER = {name: [{"timestamp": iso(T0 + (5 * 3600 + 3450 if name == "erased" else 6 * 3600 + 330)),
                      "value": 5.5}] for name in PAST_METRICS}


def carbonara_answers(side, api_answers):
    """`measures show -f json` for every read of `api_answers`, as
    gnocchi-api's [timestamp, granularity, value] triples."""
    found = {}
    for name, by_method in api_answers.items():
        found[name] = {}
        for method, by_granularity in by_method.items():
            found[name][method] = {}
            for granularity in by_granularity:
                shown = side.carbonara("measures", "show", side.ids[name], "--aggregation", method,
                                       "--granularity", granularity)
                found[name][method][granularity] = [
                    [row["timestamp"], row["granularity"], row["value"]] for row in shown or []]
    return found


def past_reads(side, phase, differences):
    """Both sides' reads of every metric (its document, then every method
    × granularity of its policy); each difference is listed."""
    metrics = {name: {"api": side.ok("GET", "/v1/metric/%s" % metric_id),
                      "carbonara": side.carbonara("metric", "show", metric_id)}
               for name, metric_id in side.ids.items()}
    api = answers(side)
    shown = carbonara_answers(side, api)
    count = 0
    for name, doc in metrics.items():
        count += 1
        if comparable(doc["carbonara"]) != comparable(doc["api"]):
            differences.append("%s: %s: carbonara metric show %s, gnocchi-api %s" % (
                phase, name, doc["carbonara"], doc["api"]))
        for method, by_granularity in api[name].items():
            for granularity, expected in by_granularity.items():
                count += 1
                got = shown[name][method][granularity]
                if json.dumps(got) != json.dumps(expected):
                    differences.append("%s: %s %s %s: carbonara shows %s, gnocchi-api answers %s" % (
                        phase, name, method, granularity, got, expected))
    return {"metrics": metrics, "answers": api, "carbonara": shown, "files": file_hashes(side),
            "reads_compared": count}


def past_part(args):
    side = Side(args)
    recording = {"conf": template_conf(args.conf), "policies": PAST_POLICIES, "differences": []}
    differences = recording["differences"]
    for policy in PAST_POLICIES:
        side.ok("POST", "/v1/archive_policy", policy)
    for name in PAST_METRICS:
        side.ids[name] = side.ok("POST", "/v1/metric", {"name": name, "archive_policy_name": "past-minute"})["id"]
    recording["ids"] = dict(side.ids)
    recording["rows"] = {table: side.rows(table, "name") for table in ("archive_policy", "metric")}
    recording["posts"] = [{"request": "POST /v1/metric/{%s}/measures" % name, "body": body}
                          for name, body in past_posts().items()]
    post_batch(side, past_posts())
    recording["incoming"] = {rel: b64(data) for rel, data in side.incoming().items()}
    side.carbonara("process", want_json=False)
    recording["processed"] = past_reads(side, "processed", differences)

    recording["csv"] = past_csv()
    csv_path = os.path.join(os.path.dirname(args.conf), "past-backfill.csv")
    with open(csv_path, "w") as f:
        f.write(recording["csv"])
    recording["commands"] = past_commands()
    outputs = []
    names = dict(side.ids, csv=csv_path)
    for command in past_commands():
        # Backfill prints its summary on stderr only.
        outputs.append(side.carbonara(*[with_ids(arg, names) for arg in command],
                                      want_json=command[0] != "ingest"))
    recording["outputs"] = outputs
    edited = recording["edited"] = past_reads(side, "edited", differences)
    before = recording["processed"]["answers"]
    for name in PAST_METRICS:
        changed = edited["answers"][name] != before[name]
        if changed != (name != "untouched"):
            differences.append("edited: gnocchi-api's reads of %s %s" % (
                name, "changed" if changed else "did not change"))

    # Gnocchi's own processing on top of carbonara's files.
    recording["later_posts"] = [{"request": "POST /v1/metric/{%s}/measures" % name, "body": body}
                                for name, body in PAST_LATER.items()]
    post_batch(side, PAST_LATER)
    recording["later_incoming"] = {rel: b64(data) for rel, data in side.incoming().items()}
    for metric_id in side.ids.values():
        side.ok("GET", "/v1/metric/%s/measures?refresh=true" % metric_id)
    left = side.incoming()
    if left:
        differences.append("Gnocchi's pass after the edits left %s" % sorted(left))
    recording["refreshed"] = past_reads(side, "refreshed by Gnocchi", differences)
    side.close()
    return recording


def dumps(value, indent=""):
    """JSON with its keys in order (gnocchi-api's documents keep theirs),
    one line per object member and per list item, and lists of scalars
    (the [timestamp, granularity, value] triples) on one line."""
    inner = indent + " "
    if isinstance(value, dict) and value:
        items = ["%s%s: %s" % (inner, json.dumps(key), dumps(item, inner)) for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value and any(isinstance(item, (dict, list)) for item in value):
        return "[\n" + ",\n".join(inner + dumps(item, inner) for item in value) + "\n" + indent + "]"
    return json.dumps(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--conf", required=True)
    parser.add_argument("--real-gnocchi", required=True)
    parser.add_argument("--carbonara", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--pg-dump", default="pg_dump")
    parser.add_argument("--together-metrics", type=int, default=64, metavar="N",
                        help="together: metrics posted to (default 64)")
    parser.add_argument("--together-batches", type=int, default=200, metavar="N",
                        help="together: batches of %d measures per metric (default 200)" % PER_BATCH)
    parser.add_argument("--together-clients", type=int, default=4, metavar="N",
                        help="together: client threads posting (default 4)")
    parser.add_argument("parts", nargs="*", help="measures, objects, janitor, resources, past, together (default: all)")
    args = parser.parse_args()
    failed = False
    parts = {"measures": measures_part, "objects": objects_part, "janitor": janitor_part,
             "resources": resources_part, "past": past_part, "together": together_part}
    for part in args.parts or list(parts):
        if part not in parts:
            parser.error("no part %r (%s)" % (part, ", ".join(parts)))
        recording = parts[part](args)
        recording = {"gnocchi_version": gnocchi.__version__, **recording}
        path = os.path.join(args.out, part + ".json")
        with open(path, "w") as f:
            f.write(dumps(recording) + "\n")
        for difference in recording["differences"]:
            print("DIFFERENCE (%s): %s" % (part, difference))
            failed = True
        print("wrote %s (%d bytes)" % (path, os.path.getsize(path)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
