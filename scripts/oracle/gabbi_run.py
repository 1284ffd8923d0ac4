"""Runs Gnocchi 4.7.1's own gabbi files against `carbonara serve`.

Called by scripts/oracle/gabbi.sh (which builds carbonara, starts the
PostgreSQL server and makes the virtualenv); run with the Python of a
virtualenv that has `gabbi` installed.

    gabbi_run.py --carbonara BIN --gabbits DIR [--pg-url URL --pg-bin DIR]
                 [--real-gnocchi real_gnocchi.sh --gnocchi-port PORT]
                 [--backend sqlite|postgresql|gnocchi ...] [--json OUT]
                 [--logs DIR] [FILE.yaml ...]

Every gabbi file gets a fresh store and its own `carbonara serve`, started by
the `ConfigFixture` the files name (as Gnocchi's fixture gives each file its
own indexer database and storage directory) and stopped by its PID when the
file is done:

* sqlite: `init --sacks 128 --no-archive-policies` in a temporary directory;
* postgresql: a new database on the server of `--pg-url`, then
  `init --index URL --storage file:///D --incoming file:///D --sacks 128
  --no-archive-policies` (Gnocchi's schema with the `generic` resource type
  and no archive policy, as the fixture's `indexer.upgrade()` leaves it);
* gnocchi, a reference: `real_gnocchi.sh reset` (a fresh real gnocchi-api
  and gnocchi-metricd on PostgreSQL with the same settings), once
  gnocchi-metricd has joined.

`serve` is configured as the fixture configures gnocchi-api: basic
authentication (`[api] auth_mode` default), `--max-limit 7` (`[api]
max_limit`), `--proxy-headers` (`enable_proxy_headers_parsing`), CORS origin
http://foobar.com, the file drivers with 128 sacks, Gnocchi's default
policy (`rest/policy.yaml`, which carbonara has built in), and a background
pass every 0.1 s (the fixture's `MetricdThread` sleeps 0.1 s between
passes). The files use no `$ENVIRON` variable and no fixture but
`ConfigFixture`.

Gnocchi's test_gabbi.py mounts the application at `/gnocchi` in process
(wsgi-intercept, on a random host name and port 8001); here gabbi runs with
the same prefix, host and port, and each request goes to the live server
with the prefix taken off the path and given in `X-Forwarded-Prefix` (a
reverse proxy's way of saying `SCRIPT_NAME`), `Host` as gabbi names it, the
path and query bytes untouched; redirections are followed the same way.
gabbi is 3.x, as Gnocchi 4.7.1 requires (`gabbi<4`): urllib3, no `Accept`
header unless a test sends one (gabbi 4's httpx sends `Accept: */*`, which
turns Gnocchi's error answers into HTML pages).

Prints one table (file, tests, passed on each backend), the tests no
backend passes, where carbonara (both backends alike) and gnocchi-api
differ, and every test whose outcome differs between sqlite and
postgresql, with gabbi's message; exits 1 when those two differ. "Passed"
means the test's expectations held: a success, or an unexpected success of
a test Gnocchi marks `xfail`.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import unittest
import urllib.parse
import urllib.request
import uuid

import yaml
from gabbi import fixture
from gabbi import handlers
from gabbi import httpclient
from gabbi import suitemaker
from gabbi import utils

PREFIX = "/gnocchi"
MAX_LIMIT = 7
CORS_ORIGIN = "http://foobar.com"
PROCESS_INTERVAL = "0.1"
START_TIMEOUT = 60.0


class AssertNAN(yaml.YAMLObject):
    """The `!AssertNAN` tag of Gnocchi's fixtures module: equal to a NaN."""

    def __eq__(self, other):
        try:
            return other != other
        except TypeError:
            return False

    def __repr__(self):
        return "AssertNAN"


yaml.add_constructor("!AssertNAN", lambda loader, node: AssertNAN())


class Run:
    """What the fixture needs to know about the current file."""

    carbonara = None
    backend = None
    pg_url = None
    pg_bin = None
    database_count = 0
    # Where serve's logs are kept (`--logs`), and the file being run.
    logs = None
    file = None
    # The server of the file being run.
    port = None
    # real_gnocchi.sh, for the `gnocchi` reference, and its API's port.
    real_gnocchi = None
    gnocchi_port = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def checked(command, what, env=None):
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError("%s failed (%s):\n%s%s" % (what, done.returncode, done.stdout, done.stderr))


def carbonara_env():
    env = dict(os.environ)
    for name in ("CARBONARA_STORE", "CARBONARA_GNOCCHI_CONF"):
        env.pop(name, None)
    return env


class ConfigFixture(fixture.GabbiFixture):
    """Gnocchi's ConfigFixture: a fresh store and its own server per file."""

    def start_fixture(self):
        self.dir = tempfile.mkdtemp(prefix="carbonara-gabbi-")
        self.server = None
        if Run.backend == "gnocchi":
            # The reference: real_gnocchi.sh's fresh deployment (the same
            # settings, and a gnocchi-metricd polling every second).
            checked([Run.real_gnocchi, "reset"], "real_gnocchi.sh reset")
            Run.port = Run.gnocchi_port
            # As in the fixture, metricd is there before the first test:
            # gnocchi-api answers 500 to /v1/status until it has joined.
            status = urllib.request.Request(
                "http://127.0.0.1:%d/v1/status" % Run.port, headers={"Authorization": "basic YWRtaW46"})
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    urllib.request.urlopen(status, timeout=5).read()
                    return
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("gnocchi-metricd did not join in %ds" % START_TIMEOUT)
                    time.sleep(0.2)
        store = os.path.join(self.dir, "store")
        env = carbonara_env()
        init = [Run.carbonara, "--store", store, "init", "--sacks", "128", "--no-archive-policies"]
        if Run.backend == "postgresql":
            Run.database_count += 1
            database = "gabbi_%d_%d" % (os.getpid(), Run.database_count)
            checked(
                [os.path.join(Run.pg_bin, "createdb")] + pg_client_args(Run.pg_url) + [database],
                "createdb " + database,
            )
            files = os.path.join(self.dir, "files")
            init += [
                "--index", Run.pg_url.rstrip("/") + "/" + database,
                "--storage", "file://" + files,
                "--incoming", "file://" + files,
            ]
        checked(init, "carbonara init", env)
        Run.port = free_port()
        self.log = open(os.path.join(self.dir, "serve.log"), "wb")
        self.server = subprocess.Popen(
            [
                Run.carbonara, "--store", store, "serve",
                "--listen", "127.0.0.1:%d" % Run.port,
                "--auth", "basic",
                "--max-limit", str(MAX_LIMIT),
                "--proxy-headers",
                "--cors-allowed-origin", CORS_ORIGIN,
                "--process-interval", PROCESS_INTERVAL,
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.server.poll() is not None:
                raise RuntimeError("carbonara serve exited:\n" + self.server_log())
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/" % Run.port, timeout=2).read()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("carbonara serve did not answer:\n" + self.server_log())
            time.sleep(0.05)

    def server_log(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop_fixture(self):
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
            self.log.close()
            if Run.logs:
                os.makedirs(Run.logs, exist_ok=True)
                shutil.copy(self.log.name, os.path.join(Run.logs, "%s-%s.log" % (Run.file, Run.backend)))
        Run.port = None
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_client_args(url):
    parsed = urllib.parse.urlsplit(url)
    return ["-h", parsed.hostname, "-p", str(parsed.port or 5432), "-U", parsed.username or "postgres"]


def forwarded(send):
    """gabbi's request to the application mounted at `/gnocchi`, sent to
    the live server.

    gabbi builds `http://HOST:8001/gnocchi/v1/...` (HOST a random name, as
    with Gnocchi's in-process intercept); the request goes to the current
    server as `/v1/...`, path and query bytes untouched, with `Host:
    HOST:8001` and `X-Forwarded-Prefix: /gnocchi`. A redirection a test
    follows (`redirects: true`) is followed the same way, as the intercept
    catches every request to HOST:8001 (urllib3's rules: at most 5, a 303
    turns the method into GET).
    """

    def request(self, absolute_uri, method, body, headers, redirect, timeout):
        for _ in range(6):
            parts = urllib.parse.urlsplit(absolute_uri)
            rest = absolute_uri[len("%s://%s" % (parts.scheme, parts.netloc)):]
            if rest == PREFIX or rest.startswith(PREFIX + "/") or rest.startswith(PREFIX + "?"):
                rest = rest[len(PREFIX):]
            if not rest.startswith("/"):
                rest = "/" + rest
            sent = dict(headers or {})
            sent["Host"] = parts.netloc
            sent["X-Forwarded-Prefix"] = PREFIX
            target = "http://127.0.0.1:%d%s" % (Run.port, rest)
            answer, content = send(self, target, method, body, sent, False, timeout)
            location = answer.get("location")
            if not (redirect and location and answer["status"] in ("301", "302", "303", "307", "308")):
                return answer, content
            absolute_uri = urllib.parse.urljoin(absolute_uri, location)
            if answer["status"] == "303":
                method, body = "GET", None
        raise RuntimeError("more than 5 redirections from %s" % absolute_uri)

    return request


httpclient.Http.request = forwarded(httpclient.Http.request)


class Outcomes(unittest.TestResult):
    """Each test's outcome and, when it did not pass, gabbi's message."""

    def __init__(self):
        super().__init__()
        self.outcomes = []

    def record(self, test, outcome, err=None):
        name = test.test_data["name"] if hasattr(test, "test_data") else str(test)
        message = ""
        if err is not None:
            message = "".join(traceback.format_exception_only(err[0], err[1])).strip()
        self.outcomes.append({"name": name, "outcome": outcome, "message": message})

    def addSuccess(self, test):
        self.record(test, "pass")

    def addFailure(self, test, err):
        self.record(test, "fail", err)

    def addError(self, test, err):
        self.record(test, "error", err)

    def addSkip(self, test, reason):
        self.outcomes.append({"name": getattr(test, "test_data", {}).get("name", str(test)), "outcome": "skip", "message": reason})

    def addExpectedFailure(self, test, err):
        self.record(test, "xfail", err)

    def addUnexpectedSuccess(self, test):
        self.record(test, "xpass")


PASSED = ("pass", "xpass")


def run_file(path, handler_objects):
    suite_dict = utils.load_yaml(yaml_file=path, safe=False)
    base = os.path.splitext(os.path.basename(path))[0]
    loader = unittest.TestLoader()
    suite = suitemaker.test_suite_from_dict(
        loader, "gabbi_" + base, suite_dict, os.path.dirname(path), str(uuid.uuid4()), 8001,
        sys.modules[__name__], None, prefix=PREFIX, handlers=handler_objects,
        test_loader_name="gabbi",
    )
    result = Outcomes()
    suite.run(result)
    # A fixture failure: the first test has the error, then every test is
    # recorded skipped; keep one line per test, the error first.
    seen = {}
    for entry in result.outcomes:
        seen.setdefault(entry["name"], entry)
    names = [t["name"] for t in suite_dict["tests"]]
    return [seen.get(name, {"name": name, "outcome": "missing", "message": ""}) for name in names]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--carbonara", required=True)
    parser.add_argument("--gabbits", required=True)
    parser.add_argument("--pg-url", help="postgresql://postgres@127.0.0.1:PORT (no database)")
    parser.add_argument("--pg-bin", help="directory of createdb")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql", "gnocchi"])
    parser.add_argument("--real-gnocchi", help="real_gnocchi.sh, started, for the gnocchi backend")
    parser.add_argument("--gnocchi-port", type=int, help="the port of real_gnocchi.sh's API")
    parser.add_argument("--json", help="write every outcome here")
    parser.add_argument("--logs", help="keep each server's log in this directory")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    backends = args.backend or ["sqlite", "postgresql"]
    if "postgresql" in backends and not (args.pg_url and args.pg_bin):
        parser.error("postgresql needs --pg-url and --pg-bin")
    if "gnocchi" in backends and not (args.real_gnocchi and args.gnocchi_port):
        parser.error("gnocchi needs --real-gnocchi and --gnocchi-port")
    Run.real_gnocchi, Run.gnocchi_port = args.real_gnocchi, args.gnocchi_port
    Run.carbonara, Run.pg_url, Run.pg_bin = args.carbonara, args.pg_url, args.pg_bin
    Run.logs = args.logs
    files = args.files or sorted(f for f in os.listdir(args.gabbits) if f.endswith(".yaml"))
    handler_objects = [h() for h in handlers.RESPONSE_HANDLERS]

    results = {}
    for name in files:
        path = name if os.path.sep in name else os.path.join(args.gabbits, name)
        base = os.path.basename(path)
        for backend in backends:
            Run.backend, Run.file = backend, os.path.splitext(base)[0]
            started = time.monotonic()
            outcomes = run_file(path, handler_objects)
            results.setdefault(base, {})[backend] = outcomes
            passed = sum(o["outcome"] in PASSED for o in outcomes)
            print("%-36s %-10s %3d/%-3d %5.1fs" % (base, backend, passed, len(outcomes), time.monotonic() - started),
                  file=sys.stderr, flush=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    return report(results, backends)


def report(results, backends):
    """The table, the tests no backend passes, and where carbonara's two
    backends (and, when it ran, gnocchi-api) differ; 1 when the two differ."""
    print("| file | tests | " + " | ".join("passed on %s" % b for b in backends) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in backends) + " |")
    totals = [0] * (len(backends) + 1)
    ours = [b for b in backends if b != "gnocchi"]
    differences, against_gnocchi, others = [], [], []
    for base in sorted(results):
        per = results[base]
        count = len(per[backends[0]])
        passed = [sum(o["outcome"] in PASSED for o in per[b]) for b in backends]
        totals[0] += count
        for i, p in enumerate(passed):
            totals[i + 1] += p
        print("| %s | %d | %s |" % (base, count, " | ".join(str(p) for p in passed)))
        for i in range(count):
            row = {b: per[b][i] for b in backends}
            if len({row[b]["outcome"] for b in ours}) > 1:
                differences.append((base, row))
            elif ours and "gnocchi" in row and (
                (row["gnocchi"]["outcome"] in PASSED) != (row[ours[0]]["outcome"] in PASSED)
            ):
                against_gnocchi.append((base, row))
            elif row[backends[0]]["outcome"] not in PASSED:
                others.append((base, row[backends[0]]))
    print("| **total** | %d | %s |" % (totals[0], " | ".join("**%d**" % t for t in totals[1:])))

    if others:
        print("\nNot passed on %s:" % " nor ".join(backends))
        for base, entry in others:
            print("- %s: %s (%s) %s" % (base, entry["name"], entry["outcome"], shorten(entry["message"])))
    for title, rows in [
        ("Passed by carbonara on both backends or neither, and the other way by gnocchi-api", against_gnocchi),
        ("Differences between %s" % " and ".join(ours), differences),
    ]:
        if rows:
            print("\n%s:" % title)
            for base, row in rows:
                print("- %s: %s" % (base, row[backends[0]]["name"]))
                for backend, entry in row.items():
                    print("    %s: %s %s" % (backend, entry["outcome"], shorten(entry["message"])))
    if len(ours) > 1 and not differences:
        print("\n%s agree on every test." % " and ".join(ours))
    return 1 if differences else 0


def shorten(message, limit=700):
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit] + "…"


if __name__ == "__main__":
    sys.exit(main())
