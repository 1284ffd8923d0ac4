#!/usr/bin/env python3
"""carbonara against the real Gnocchi 4.7.1 on one PostgreSQL + file
deployment, in one run, on the same data. Called by
scripts/bench/deployment-vs-gnocchi.sh with the oracle virtualenv's Python
(it imports gnocchi to run metricd's pass in-process).

For each workload (BATCHES in --batches, default 1 and 100):

 1. a fresh deployment from ORACLE/real_gnocchi.sh (its own PostgreSQL,
    gnocchi-upgrade, gnocchi-api; no gnocchi-metricd; tooz's PostgreSQL
    locks on the deployment's database), the archive policy (Gnocchi's
    default --policy, created through the API) and --metrics metrics;
 2. a copy of it for carbonara, taken before any measure: a database
    made from Gnocchi's (CREATE DATABASE ... TEMPLATE) and a copy of the
    storage directory, with a gnocchi.conf naming them;
 3. the --points points of every metric in BATCHES consecutive batches;
    each batch is one POST /v1/batch/metrics/measures to gnocchi-api, whose
    incoming files are copied, byte for byte, into carbonara's copy; then
    Gnocchi's pass over it (metricd's `Chef.process_new_measures_for_sack`
    on every sack, in this process, with the deployment's own drivers,
    indexer and tooz coordinator) and carbonara's
    (`carbonara --gnocchi-conf COPY.conf process`, the whole command) are
    timed, each after a sync. Both engines process every batch as it
    arrives, one pass per batch;
 4. the archive files of both storage directories are compared byte for
    byte, and the metric rows metricd updates too.

Each workload runs once with PostgreSQL logging every statement and
session (log_statement = all, log_connections = on), to count what each
engine sent it during its passes, then --repeat times (default 3) without
that logging, timed: the table gives the medians and the range of the
ratio.

Then `carbonara serve` on a fresh copy of the deployment (PostgreSQL index)
and on a store directory (SQLite index), both driven by
examples/serve_load.rs: single-measure POSTs and whole-series GETs.

Gnocchi's figure is metricd's pass run here rather than the gnocchi-metricd
daemon watched through GET /v1/status: the daemon scans its sacks every
metric_processing_delay (1 s at the least granularity a poll could see),
and its start (imports, worker processes, joining the coordination group)
would weigh more than carbonara's whole pass; the pass is what its worker
runs on each scan, with the same drivers, indexer and sack locks. It
leaves out Python's start-up, which carbonara's figure (the whole
command: start, connections, pass) includes.
"""

import argparse
import json
import os
import re
import statistics
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

AUTH = "basic YWRtaW46"  # admin, no password: the deployment's auth_mode = basic
PSQL_DB = "postgres"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Deployment:
    """real_gnocchi.sh's deployment, driven through its own script."""

    def __init__(self, args, run_dir):
        self.args = args
        self.run = run_dir
        self.api_port = free_port()
        self.pg_port = free_port()
        self.url = "postgresql://postgres@127.0.0.1:%d/gnocchi" % self.pg_port
        self.env = dict(os.environ, ORACLE_VENV=args.venv, GNOCCHI_RUN_DIR=run_dir,
                        GNOCCHI_API_PORT=str(self.api_port), GNOCCHI_PG_PORT=str(self.pg_port),
                        GNOCCHI_METRICD="0", GNOCCHI_COORDINATION_URL=self.url)
        self.started = False

    def script(self, *what):
        subprocess.run([os.path.join(self.args.oracle, "real_gnocchi.sh"), *what], env=self.env,
                       check=True, stdout=subprocess.DEVNULL)

    def fresh(self):
        self.script("reset" if self.started else "start")
        self.started = True

    def stop(self):
        if self.started:
            self.script("stop")

    @property
    def conf(self):
        return os.path.join(self.run, "gnocchi.conf")

    @property
    def storage(self):
        return os.path.join(self.run, "storage")

    @property
    def log(self):
        return os.path.join(self.run, "postgres.log")

    def statement_log(self, on):
        """PostgreSQL logs every statement and session (to count them), or
        none."""
        if not self.started:
            self.fresh()
        if on:
            self.psql("ALTER SYSTEM SET log_statement = 'all'", "ALTER SYSTEM SET log_connections = on",
                      "SELECT pg_reload_conf()")
        else:
            self.psql("ALTER SYSTEM RESET log_statement", "ALTER SYSTEM RESET log_connections",
                      "SELECT pg_reload_conf()")

    def psql(self, *sql, db=PSQL_DB):
        """Runs each statement with the server's own psql (as real_gnocchi.sh
        finds it: $PGBIN, or the newest /usr/lib/postgresql/*/bin)."""
        pgbin = os.environ.get("PGBIN") or "/usr/lib/postgresql/%s/bin" % max(
            os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".") if p.isdigit()])
        cmd = [os.path.join(pgbin, "psql"), "-h", "127.0.0.1", "-p", str(self.pg_port), "-U", "postgres",
               "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt"]
        for statement in sql:
            cmd += ["-c", statement]
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout

    def copy_database(self, name, template):
        """A new database `name` made from `template`; the sessions open on
        the template (gnocchi-api's idle pool) are ended first, as CREATE
        DATABASE ... TEMPLATE requires (the pool reconnects)."""
        self.psql("DROP DATABASE IF EXISTS %s" % name)
        for _ in range(50):
            self.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE datname = '%s' AND pid <> pg_backend_pid()" % template)
            try:
                self.psql("CREATE DATABASE %s TEMPLATE %s" % (name, template))
                return
            except subprocess.CalledProcessError:
                time.sleep(0.1)
        raise SystemExit("could not copy database %s" % template)

    def copy_conf(self, path, database, storage):
        """gnocchi.conf of a copy: its database (index and coordination) and
        its storage directory (storage and incoming)."""
        url = "postgresql://postgres@127.0.0.1:%d/%s" % (self.pg_port, database)
        with open(self.conf) as f:
            text = f.read()
        text = re.sub(r"(?m)^coordination_url = .*$", "coordination_url = " + url, text)
        text = re.sub(r"(?m)^url = .*$", "url = " + url, text)
        text = re.sub(r"(?m)^file_basepath = .*$", "file_basepath = " + storage, text)
        with open(path, "w") as f:
            f.write(text)
        return url

    def api(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.api_port, path), data=data,
                                         method=method, headers={"Authorization": AUTH,
                                                                 "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=3600) as answer:
                text = answer.read()
        except urllib.error.HTTPError as e:
            raise SystemExit("%s %s: %s %s" % (method, path, e.code, e.read()[:500]))
        return json.loads(text) if text else None


def policy_document(name):
    """Gnocchi's default policy `name`, as gnocchi-upgrade would create it."""
    from gnocchi import archive_policy
    ap = archive_policy.DEFAULT_ARCHIVE_POLICIES[name]
    return {"name": ap.name, "back_window": ap.back_window,
            "definition": [d.serialize() for d in ap.definition]}


def synth(metrics, points):
    """One-second points from 2024-01-01, a daily wave with noise, 6 digits."""
    import numpy
    rng = numpy.random.default_rng(1)
    epoch = 1704067200
    t = numpy.arange(points)
    series = []
    for _ in range(metrics):
        values = numpy.round(50.0 + 20.0 * numpy.sin(2 * numpy.pi * t / 86400.0)
                             + (rng.random(points) - 0.5) * 5.0, 6)
        series.append([(epoch + int(i), float(v)) for i, v in zip(t, values)])
    return series


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


class GnocchiPass:
    """gnocchi-metricd's processing, in this process: the drivers, indexer
    and tooz coordinator it builds from the deployment's gnocchi.conf, and
    its `Chef.process_new_measures_for_sack` over every sack."""

    def __init__(self, conf_file):
        from gnocchi import chef, incoming, indexer, service, storage
        from gnocchi.cli import metricd
        conf = service.prepare_service(args=["--config-file", conf_file], log_to_std=True,
                                       logging_level="WARNING")
        self.coord = metricd.get_coordinator_and_start(b"deployment-bench", conf.coordination_url)
        self.incoming = incoming.get_driver(conf)
        self.index = indexer.get_driver(conf)
        self.chef = chef.Chef(self.coord, self.incoming, self.index, storage.get_driver(conf))

    def run(self):
        processed = 0
        for sack in self.incoming.iter_sacks():
            # As metricd: try the lock (busy: SackAlreadyLocked), but raise
            # any processing error rather than log it.
            processed += self.chef.process_new_measures_for_sack(sack, sync=True)
        return processed

    def close(self):
        self.index.disconnect()
        self.coord.stop()


def incoming_files(storage):
    """Relative paths of the measure files waiting in the sacks."""
    found = []
    for sack in os.listdir(storage):
        if not sack.startswith("incoming"):
            continue
        for root, _dirs, files in os.walk(os.path.join(storage, sack)):
            found.extend(os.path.relpath(os.path.join(root, f), storage) for f in files)
    return sorted(found)


def archive_files(storage):
    """Relative path -> bytes of every archive file (not the sacks, the
    drivers' tmp/ nor carbonara's own directory)."""
    found = {}
    for entry in os.listdir(storage):
        if entry.startswith("incoming") or entry in ("tmp", "carbonara"):
            continue
        top = os.path.join(storage, entry)
        for root, _dirs, files in os.walk(top):
            for f in files:
                path = os.path.join(root, f)
                with open(path, "rb") as data:
                    found[os.path.relpath(path, storage)] = data.read()
    return found


class LogWindow:
    """What PostgreSQL logged from here on: statements (log_statement = all)
    and new sessions (log_connections = on)."""

    def __init__(self, log):
        self.log = log
        self.offset = os.path.getsize(log)

    def count(self):
        """{"index": statements, "locks": statements, "prepares": n,
        "sessions": n}: a session that takes an advisory lock is a lock
        session (tooz's), its statements are counted as locks; a statement
        a client prepared by name (`execute s0:`) cost one more round trip
        when first prepared in its session."""
        # The server writes its log lines as they come; let the last ones land.
        time.sleep(0.05)
        by_session, sessions, prepared = {}, 0, set()
        with open(self.log, "rb") as f:
            f.seek(self.offset)
            for line in f.read().decode(errors="replace").splitlines():
                found = re.search(r"\[(\d+)\] LOG:  (statement|execute ([^:]*)|connection authorized)", line)
                if not found:
                    continue
                pid = found.group(1)
                if found.group(2) == "connection authorized":
                    sessions += 1
                    continue
                by_session.setdefault(pid, []).append(line)
                name = found.group(3)
                if name and name != "<unnamed>":
                    prepared.add((pid, name))
        counts = {"index": 0, "locks": 0, "prepares": len(prepared), "sessions": sessions}
        for lines in by_session.values():
            kind = "locks" if any("advisory" in line for line in lines) else "index"
            counts[kind] += len(lines)
        return counts


def run_workload(args, dep, data, batches, workdir):
    dep.fresh()
    dep.api("POST", "/v1/archive_policy", policy_document(args.policy))
    ids = [dep.api("POST", "/v1/metric", {"name": "bench-%04d" % i, "archive_policy_name": args.policy})["id"]
           for i in range(args.metrics)]
    # carbonara's copy, before any measure.
    copy_storage = os.path.join(workdir, "storage-carbonara-%d" % batches)
    shutil.rmtree(copy_storage, ignore_errors=True)
    dep.copy_database("carbonara_copy", "gnocchi")
    shutil.copytree(dep.storage, copy_storage, symlinks=True)
    copy_conf = os.path.join(workdir, "carbonara-%d.conf" % batches)
    dep.copy_conf(copy_conf, "carbonara_copy", copy_storage)
    carbonara = [args.carbonara, "--gnocchi-conf", copy_conf]

    gnocchi = GnocchiPass(dep.conf)
    edges = [(args.points * b) // batches for b in range(batches + 1)]
    post_s = gnocchi_s = carbonara_s = 0.0
    counted = {"gnocchi": {}, "carbonara": {}}

    def tally(engine, counts):
        for key, value in counts.items():
            counted[engine][key] = counted[engine].get(key, 0) + value
    measures = 0
    for b in range(batches):
        body = json.dumps({mid: [{"timestamp": iso(t), "value": v} for t, v in data[i][edges[b]:edges[b + 1]]]
                           for i, mid in enumerate(ids)}).encode()
        started = time.perf_counter()
        dep.api("POST", "/v1/batch/metrics/measures", body)
        post_s += time.perf_counter() - started
        measures += args.metrics * (edges[b + 1] - edges[b])
        for path in incoming_files(dep.storage):
            target = os.path.join(copy_storage, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(dep.storage, path), target)

        os.sync()
        window = LogWindow(dep.log)
        started = time.perf_counter()
        processed = gnocchi.run()
        gnocchi_s += time.perf_counter() - started
        tally("gnocchi", window.count())
        if processed != args.metrics:
            raise SystemExit("Gnocchi's pass %d processed %d metrics" % (b, processed))

        os.sync()
        window = LogWindow(dep.log)
        started = time.perf_counter()
        subprocess.run([*carbonara, "-q", "process"], check=True)
        carbonara_s += time.perf_counter() - started
        tally("carbonara", window.count())
    gnocchi.close()

    left = incoming_files(dep.storage) + incoming_files(copy_storage)
    if left:
        raise SystemExit("measures left unprocessed: %s" % left[:5])
    theirs, ours = archive_files(dep.storage), archive_files(copy_storage)
    differ = sorted(p for p in set(theirs) | set(ours) if theirs.get(p) != ours.get(p))
    rows = "SELECT id, archive_policy_name, status, needs_raw_data_truncation, " \
           "last_measure_timestamp > '2000-01-01' FROM metric ORDER BY id"
    same_rows = dep.psql(rows, db="gnocchi") == dep.psql(rows, db="carbonara_copy")
    return {
        "batches": batches, "measures": measures, "post_s": post_s,
        "gnocchi_s": gnocchi_s, "carbonara_s": carbonara_s,
        "files": len(theirs), "bytes": sum(len(v) for v in theirs.values()),
        "differ": differ, "same_rows": same_rows,
        "counted": counted,
    }


def serve_figures(args, dep, workdir):
    """`carbonara serve` on the deployment (PostgreSQL) and on a store
    directory (SQLite), both running, driven in turn by serve_load with
    each load (so the machine's other load weighs on both alike):
    single-measure POSTs and whole-series GETs."""
    storage = os.path.join(workdir, "storage-serve")
    shutil.rmtree(storage, ignore_errors=True)
    dep.copy_database("carbonara_serve", "gnocchi_tpl")
    shutil.copytree(os.path.join(dep.run, "storage_tpl"), storage, symlinks=True)
    conf = os.path.join(workdir, "serve.conf")
    dep.copy_conf(conf, "carbonara_serve", storage)
    sqlite_store = os.path.join(workdir, "store-sqlite")
    subprocess.run([args.carbonara, "--store", sqlite_store, "init", "--quiet", "--sacks", "128"], check=True)
    servers, addresses = [], {}
    try:
        for label, where in (("PostgreSQL", ["--gnocchi-conf", conf]), ("SQLite", ["--store", sqlite_store])):
            log_path = os.path.join(workdir, "serve-%s.log" % label)
            with open(log_path, "wb") as log:
                servers.append(subprocess.Popen([args.carbonara, *where, "serve", "--listen", "127.0.0.1:0",
                                                 "--process-interval", "0"], stderr=log))
            for _ in range(100):
                with open(log_path) as f:
                    found = re.search(r"http://([^/\s]*)/", f.read())
                if found:
                    addresses[label] = found.group(1)
                    break
                time.sleep(0.1)
            else:
                raise SystemExit("serve did not start: %s" % open(log_path).read())
        rows = []
        for mode in args.serve_modes:
            extra = {"single": ["--metrics", "1", "--connections", "512"],
                     "single100": ["--metrics", "100", "--connections", "512"],
                     "get": ["--points", "10000", "--connections", "16"]}[mode]
            for _ in range(3 if mode == "get" else 1):
                row = [mode]
                for label in ("PostgreSQL", "SQLite"):
                    os.sync()
                    row.append(subprocess.run(
                        [args.serve_load, "--address", addresses[label], "--seconds", str(args.seconds),
                         "--mode", mode.rstrip("0123456789"), *extra],
                        check=True, stdout=subprocess.PIPE, text=True).stdout.strip())
                rows.append(row)
                print("# %s" % " / ".join(row), flush=True)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            if server.wait() != 0:
                raise SystemExit("serve exited with %d" % server.returncode)
    return rows


def rate(line):
    return float(re.search(r"([0-9.]+) requests/s", line).group(1))


def deployment_arguments(parser, venv="the oracle virtualenv"):
    """The options of every driver of a real_gnocchi.sh deployment: the
    oracle, its virtualenv and the binaries (made absolute), and where the
    run's files go."""
    parser.add_argument("--oracle", required=True, type=os.path.abspath, help="directory of real_gnocchi.sh")
    parser.add_argument("--venv", required=True, type=os.path.abspath, help=venv)
    parser.add_argument("--carbonara", required=True, type=os.path.abspath)
    parser.add_argument("--serve-load", required=True, type=os.path.abspath)
    parser.add_argument("--tmpdir", default=os.environ.get("TMPDIR", "/tmp"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    deployment_arguments(p)
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--points", type=int, default=100000)
    p.add_argument("--batches", default="1,100")
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each workload (medians)")
    p.add_argument("--policy", default="high", choices=["low", "medium", "high"])
    p.add_argument("--seconds", type=float, default=10, help="each serve load")
    p.add_argument("--serve", default="single,single100,get",
                   help="serve loads (single, single100, get), or none")
    p.add_argument("--keep", action="store_true",
                   help="keep the working directory (PostgreSQL's log, the stores)")
    args = p.parse_args()
    args.serve_modes = [m for m in args.serve.split(",") if m and m != "none"]

    print("# %d cores; load average before: %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]),
          flush=True)
    workdir = tempfile.mkdtemp(prefix="carbonara-deployment-bench-", dir=args.tmpdir)
    os.chmod(workdir, 0o755)
    dep = Deployment(args, os.path.join(workdir, "run"))
    results, serve = [], []
    try:
        data = synth(args.metrics, args.points)
        for batches in (int(b) for b in args.batches.split(",") if b and b != "none"):
            # One run with every statement logged, to count them; then the
            # timed runs, without that logging's cost.
            dep.statement_log(True)
            counted = run_workload(args, dep, data, batches, workdir)
            dep.statement_log(False)
            runs = [run_workload(args, dep, data, batches, workdir) for _ in range(args.repeat)]
            results.append({**runs[0], "counted": counted["counted"], "runs": [counted] + runs,
                            "gnocchi_s": statistics.median(r["gnocchi_s"] for r in runs),
                            "carbonara_s": statistics.median(r["carbonara_s"] for r in runs),
                            "post_s": statistics.median(r["post_s"] for r in runs),
                            "ratios": sorted(r["gnocchi_s"] / r["carbonara_s"] for r in runs)})
            print("# %d batches done; load average: %s" % (batches, open("/proc/loadavg").read().split()[:3]),
                  flush=True)
        if args.serve_modes:
            serve = serve_figures(args, dep, workdir)
    finally:
        dep.stop()
        if args.keep:
            print("# kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print("%d metrics x %d points, policy %s (Gnocchi's default), stores under %s" % (
        args.metrics, args.points, args.policy, args.tmpdir))
    print("Medians of %d runs of both sides; the ratio's range over the runs in brackets." % args.repeat)
    print("| workload | gnocchi-api ingest | Gnocchi metricd pass | carbonara `process` | ratio | archives |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        differ = [d for run in r["runs"] for d in run["differ"]]
        same = "%d files, %d bytes: identical in every run" % (r["files"], r["bytes"]) if not differ \
            else "%d files DIFFER (%s...)" % (len(differ), differ[0])
        if not all(run["same_rows"] for run in r["runs"]):
            same += "; metric rows DIFFER"
        print("| %d batch%s, a pass after each | %.1f s | %.2f s = %s points/s | %.2f s = %s points/s "
              "| **%.1fx** (%.1f–%.1f) | %s |" % (
                  r["batches"], "" if r["batches"] == 1 else "es", r["post_s"], r["gnocchi_s"],
                  "{:,.0f}".format(r["measures"] / r["gnocchi_s"]), r["carbonara_s"],
                  "{:,.0f}".format(r["measures"] / r["carbonara_s"]), r["gnocchi_s"] / r["carbonara_s"],
                  r["ratios"][0], r["ratios"][-1], same))
    print()
    print("| workload | engine | index statements | sack lock statements | sessions opened | round trips (statements + prepares) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        for engine in ("gnocchi", "carbonara"):
            c = {k: v / r["batches"] for k, v in r["counted"][engine].items()}
            print("| %d batch%s, a pass | %s | %.1f (%.1f a metric) | %.1f | %.1f | %.1f |" % (
                r["batches"], "" if r["batches"] == 1 else "es", "Gnocchi" if engine == "gnocchi" else "carbonara",
                c.get("index", 0), c.get("index", 0) / args.metrics, c.get("locks", 0), c.get("sessions", 0),
                c.get("index", 0) + c.get("locks", 0) + c.get("prepares", 0)))
    if serve:
        print()
        print("| `carbonara serve` | PostgreSQL deployment | SQLite store directory | PostgreSQL / SQLite |")
        print("| --- | --- | --- | --- |")
        for mode, pg_line, sqlite_line in serve:
            print("| %s | %s | %s | %.2f |" % (mode, pg_line, sqlite_line, rate(pg_line) / rate(sqlite_line)))
    print("# load average after: %s" % open("/proc/loadavg").read().split()[:3])
    if any(run["differ"] or not run["same_rows"] for r in results for run in r["runs"]):
        sys.exit(1)


if __name__ == "__main__":
    main()
