#!/usr/bin/env python3
"""`carbonara serve` and `carbonara statsd` against gnocchi-api and
gnocchi-statsd as Gnocchi deploys them, in one run, under the same load.
Called by scripts/bench/serve-vs-gnocchi.sh with the oracle virtualenv's
Python.

 1. Gnocchi: a deployment from ORACLE/real_gnocchi.sh (its own PostgreSQL,
    gnocchi-upgrade, the file drivers, no gnocchi-metricd), then its API
    served by `gnocchi-api` itself, which runs uwsgi the way the package
    does in production (1.5 processes a core, a thread a core each, uwsgi's
    HTTP router, keep-alive); carbonara: `carbonara serve` on a store
    directory (the default SQLite index) with the pass off, as gnocchi-api
    has no pass either.
 2. The HTTP loads of examples/serve_load.rs against each server in turn,
    --repeat times (the table gives medians and ranges):
    POSTs of 5000 measures over 16 metrics on 32 connections, and
    single-measure POSTs on one metric on 512 connections and on 16 (few
    requests in flight suit gnocchi-api best; many suit carbonara's group
    commit).
 3. statsd: `carbonara statsd` on a store directory and `gnocchi-statsd` on
    the deployment (each flushing every second to the `low` policy), sent
    --statsd-seconds of counter lines at each rate of --statsd-rates; after
    the last flush the counters' sums are read back (carbonara's with
    `process` and `measures show`, Gnocchi's through gnocchi-api with
    `refresh=true`), so every line that did not reach the store is counted
    lost. The lowest rate that loses lines is where loss starts.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

from deployment_vs_gnocchi import Deployment, deployment_arguments, free_port, policy_document

HTTP_LOADS = {
    "batch": ["--mode", "batch", "--batch", "5000", "--metrics", "16", "--connections", "32"],
    "single": ["--mode", "single", "--metrics", "1", "--connections", "512"],
    # Gnocchi's best: a few requests in flight for each of its threads.
    "single16": ["--mode", "single", "--metrics", "1", "--connections", "16"],
}


def wait_for(log_path, ready, seconds=30):
    """What `ready` returns once true; the server's log if it never is."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        found = ready()
        if found:
            return found
        time.sleep(0.1)
    with open(log_path) as log:
        raise SystemExit("did not start (%s):\n%s" % (log_path, log.read()[-3000:]))


def address_in(log_path, pattern):
    def found():
        with open(log_path) as f:
            match = re.search(pattern, f.read())
        return match and match.group(1)
    return found


def udp_bound(port):
    """Whether a socket listens on UDP `port` (/proc/net/udp)."""
    with open("/proc/net/udp") as table:
        return any(line.split()[1].endswith(":%04X" % port) for line in list(table)[1:])


def start_group(command, log_path, env=None):
    """A server in a process group of its own (uwsgi and its workers)."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop_group(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def gnocchi_env(args):
    """What gnocchi-api needs to find the virtualenv's uwsgi."""
    return dict(os.environ, VIRTUAL_ENV=args.venv,
                PATH=os.path.join(args.venv, "bin") + os.pathsep + os.environ["PATH"])


def start_gnocchi_api(args, dep, workdir):
    """gnocchi-api on the deployment, on a port of its own; its address."""
    port = free_port()
    # In the file, not as --host/--port: gnocchi-api hands its arguments on
    # to the application, whose options do not include them.
    conf = os.path.join(workdir, "gnocchi-api.conf")
    with open(dep.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace("[api]\n", "[api]\nhost = 127.0.0.1\nport = %d\n" % port, 1))
    process = start_group([os.path.join(args.venv, "bin", "gnocchi-api"), "--config-file", conf],
                          os.path.join(workdir, "gnocchi-api.log"), env=gnocchi_env(args))
    address = "127.0.0.1:%d" % port

    def answers():
        try:
            with urllib.request.urlopen("http://%s/" % address, timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False
    wait_for(os.path.join(workdir, "gnocchi-api.log"), answers, 60)
    return process, address


def start_carbonara_serve(args, workdir):
    store = os.path.join(workdir, "store-serve")
    subprocess.run([args.carbonara, "--store", store, "init", "--quiet", "--sacks", "32"], check=True)
    log_path = store + ".log"
    process = start_group([args.carbonara, "--store", store, "serve", "--listen", "127.0.0.1:0",
                           "--process-interval", "0"], log_path)
    return process, wait_for(log_path, address_in(log_path, r"http://([^/\s]*)/"))


def http_load(args, address, load):
    os.sync()
    line = subprocess.run([args.serve_load, "--address", address, "--seconds", str(args.seconds),
                           *HTTP_LOADS[load]], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    print("# %s" % line, flush=True)
    return line


def send_statsd(args, address, rate):
    line = subprocess.run([args.serve_load, "--mode", "statsd", "--statsd", address,
                           "--lines", str(int(rate * args.statsd_seconds)), "--rate", str(rate)],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    return float(re.search(r"([0-9.]+) lines/s sent", line).group(1))


def carbonara_statsd(args, workdir, rate):
    """Lines sent at `rate`: the rate reached and the lines stored."""
    store = os.path.join(workdir, "store-statsd-%d" % rate)
    subprocess.run([args.carbonara, "--store", store, "init", "--quiet", "--sacks", "32"], check=True)
    log_path = store + ".log"
    process = start_group([args.carbonara, "--store", store, "statsd", "--listen", "127.0.0.1:0",
                           "--flush-interval", "1s", "--archive-policy-name", "low"], log_path)
    address = wait_for(log_path, address_in(log_path, r"udp://(\S+) "))
    sent = send_statsd(args, address, rate)
    time.sleep(2.5)
    stop_group(process)
    subprocess.run([args.carbonara, "--store", store, "process", "--quiet"], check=True, stdout=subprocess.DEVNULL)
    stored = 0.0
    for i in range(10):
        shown = subprocess.run([args.carbonara, "--store", store, "measures", "show", "bench.%d|c" % i,
                                "--aggregation", "sum", "-f", "value", "-c", "value"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        stored += sum(float(v) for v in shown.stdout.split()) if shown.returncode == 0 else 0
    shutil.rmtree(store, ignore_errors=True)
    return sent, stored


def gnocchi_statsd(args, dep, workdir, rate):
    """gnocchi-statsd on the deployment, with a resource of its own for
    this rate: the rate reached and the lines stored."""
    resource = str(uuid.uuid4())
    port = free_port()
    conf = os.path.join(workdir, "statsd-%d.conf" % rate)
    with open(dep.conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text + "\n[statsd]\nhost = 127.0.0.1\nport = %d\nresource_id = %s\ncreator = admin\n"
                "archive_policy_name = low\nflush_delay = 1\n" % (port, resource))
    log_path = os.path.join(workdir, "gnocchi-statsd-%d.log" % rate)
    process = start_group([os.path.join(args.venv, "bin", "gnocchi-statsd"), "--config-file", conf], log_path)
    wait_for(log_path, lambda: udp_bound(port), 60)  # it logs nothing at its default level
    sent = send_statsd(args, "127.0.0.1:%d" % port, rate)
    time.sleep(2.5)
    stop_group(process)
    stored = 0.0
    for i in range(10):
        name = urllib.parse.quote("bench.%d|c" % i, safe="")
        try:
            measures = dep.api("GET", "/v1/resource/generic/%s/metric/%s/measures?aggregation=sum&refresh=true"
                               % (resource, name))
        except SystemExit:  # the metric was never created: all its lines lost
            continue
        stored += sum(value for _, _, value in measures)
    return sent, stored


def spread(values):
    """Median (min–max)."""
    return "%s (%s–%s)" % tuple("{:,.0f}".format(v) for v in (statistics.median(values), min(values), max(values)))


def rate_of(line, unit):
    return float(re.search(r"([0-9.]+) %s/s" % unit, line).group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    deployment_arguments(p, venv="the oracle virtualenv, with uwsgi")
    p.add_argument("--seconds", type=float, default=10, help="each HTTP load")
    p.add_argument("--loads", default="batch,single,single16",
                   help="HTTP loads (batch, single, single16), or none")
    p.add_argument("--statsd-rates", default="50000,250000,500000,1000000",
                   help="lines/s sent to each statsd daemon, or none")
    p.add_argument("--statsd-seconds", type=float, default=3)
    p.add_argument("--repeat", type=int, default=3, help="runs of each load and rate on each side")
    args = p.parse_args()
    if not os.access(os.path.join(args.venv, "bin", "uwsgi"), os.X_OK):
        raise SystemExit("%s/bin/uwsgi not found: gnocchi-api runs uwsgi (%s/bin/pip install uwsgi)"
                         % (args.venv, args.venv))
    loads = [load for load in args.loads.split(",") if load and load != "none"]
    rates = [int(r) for r in args.statsd_rates.split(",") if r and r != "none"]

    print("# %d cores; load average before: %s" % (os.cpu_count(), open("/proc/loadavg").read().split()[:3]),
          flush=True)
    workdir = tempfile.mkdtemp(prefix="carbonara-serve-bench-", dir=args.tmpdir)
    os.chmod(workdir, 0o755)
    dep = Deployment(args, os.path.join(workdir, "run"))
    servers, http_rows, statsd_rows = [], [], []
    try:
        dep.fresh()
        dep.api("POST", "/v1/archive_policy", policy_document("low"))
        # real_gnocchi.sh's werkzeug server (its own process group) gives
        # way to gnocchi-api.
        with open(os.path.join(dep.run, "api.pid")) as f:
            os.killpg(int(f.read()), signal.SIGTERM)
        gnocchi, gnocchi_address = start_gnocchi_api(args, dep, workdir)
        servers.append(gnocchi)
        dep.api_port = int(gnocchi_address.rsplit(":", 1)[1])
        carbonara, carbonara_address = start_carbonara_serve(args, workdir)
        servers.append(carbonara)
        # Each load on both servers in turn, --repeat times: the machine's
        # other work weighs on both alike.
        for load in loads:
            runs = [(http_load(args, carbonara_address, load), http_load(args, gnocchi_address, load))
                    for _ in range(args.repeat)]
            http_rows.append((load, [ours for ours, _ in runs], [theirs for _, theirs in runs]))
        for rate in rates:
            runs = [(carbonara_statsd(args, workdir, rate), gnocchi_statsd(args, dep, workdir, rate))
                    for _ in range(args.repeat)]
            for ours, theirs in runs:
                print("# statsd at %d lines/s: carbonara %s, Gnocchi %s" % (rate, ours, theirs), flush=True)
            statsd_rows.append((rate, [ours for ours, _ in runs], [theirs for _, theirs in runs]))
    finally:
        for server in servers:
            stop_group(server)
        dep.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print("Medians of %d runs, the range in brackets; %g s a load, %g s of lines a rate." % (
        args.repeat, args.seconds, args.statsd_seconds))
    if http_rows:
        print("| load | carbonara serve | gnocchi-api (uwsgi) | ratio |")
        print("| --- | --- | --- | --- |")
        for load, ours, theirs in http_rows:
            unit = "measures" if load == "batch" else "requests"
            ours = [rate_of(line, unit) for line in ours]
            theirs = [rate_of(line, unit) for line in theirs]
            # A run in which Gnocchi answered nothing has no ratio.
            ratios = [a / b for a, b in zip(ours, theirs) if b > 0]
            ratio = "**%.1fx** (%.1f–%.1f)" % (statistics.median(ratios), min(ratios), max(ratios)) \
                if ratios else "–"
            print("| %s (%s/s) | %s | %s | %s |" % (load, unit, spread(ours), spread(theirs), ratio))
    if statsd_rows:
        print()
        print("| lines/s asked | carbonara statsd: sent/s, lines lost | gnocchi-statsd: sent/s, lines lost |")
        print("| ---: | --- | --- |")
        lines = lambda rate: int(rate * args.statsd_seconds)
        for rate, ours, theirs in statsd_rows:
            cells = ["%s, %s" % (spread([sent for sent, _ in runs]),
                                 spread([lines(rate) - stored for _, stored in runs]))
                     for runs in (ours, theirs)]
            print("| %d | %s | %s |" % (rate, cells[0], cells[1]))
    print("# load average after: %s" % open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    sys.exit(main())
