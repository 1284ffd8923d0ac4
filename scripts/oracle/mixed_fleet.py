#!/usr/bin/env python3
"""A live mixed fleet: `carbonara metricd` and the real gnocchi-metricd 4.7.1
splitting the sacks of one deployment. Driven by scripts/oracle/mixed-fleet.sh
(see its header); run alone with the oracle's Python:

    mixed_fleet.py --oracle ORACLE_DIR --venv VENV --carbonara target/release/carbonara \
        --out tests/golden/side-by-side/mixed_fleet.json [--keep]

One Garage node and one redis-server (live_deployment.Servers); on them one
real_gnocchi.sh deployment (gnocchi-api on its own PostgreSQL, S3 storage,
Redis incoming, `coordination_url = redis://…`) whose gnocchi-metricd runs
METRICD_OPTIONS: two processing workers, each sack given to one worker
(`processing_replicas = 1`), so that every sack has exactly one owner and who
aggregated a measure follows from its metric's sack. Then:

1. `carbonara --gnocchi-conf <its gnocchi.conf> metricd --json` joins;
2. the members of `gnocchi-processing` as carbonara's `status -f json` lists
   them (`metricd/processors`) and as gnocchi-api's `GET /v1/status` does
   must be the same three; the sacks `status` gives each member
   (`metricd/sacks of <member>`), and those carbonara's own `joined`/`share`
   log events give it, must be those gnocchi-metricd's own
   `MetricProcessor._get_sacks_to_process` computes over a tooz `Partitioner`
   built on the live group (tooz_redis_group.sacks_to_process);
3. METRICS metrics (fixed ids, every sack holding two or three) get POINTS
   measures each in one `POST /v1/batch/metrics/measures`; once no measure
   waits in Redis, gnocchi-api's `count` of every metric must be POINTS, and
   the measures carbonara's `pass` events report must be exactly those posted
   to the metrics of its sacks (sack = metric id as an integer % sacks, as
   Gnocchi's `sack_for_metric`): a sack processed by both sides, or by the
   wrong one, shows as a difference; gnocchi-metricd took the rest;
4. SIGTERM stops carbonara (exit 0, `stopped` logged); both views then list
   gnocchi-metricd's two workers only, their sacks tooz's for two members, and
   one more measure to every metric of carbonara's former sacks is aggregated
   by gnocchi-metricd alone.

gnocchi-metricd's log must hold no error. Writes the recording even when
something differs (`differences`, `equal`), and exits 1 then;
tests/it/side_by_side.rs replays it without Python.
"""

import copy
import json
import os
import re
import signal
import subprocess
import sys
import time
import types
import uuid
from importlib import metadata

from live_deployment import (SACKS, LiveDeployment, Servers, live_arguments, live_end, live_run_dir,
                             live_versions, wait_for_metricd)
from tooz_redis_group import GROUP, PARTITIONS, sacks_to_process

METRICD_OPTIONS = {"workers": 2, "processing_replicas": 1}
METRICS = 300
POINTS = 5
T0 = 1704067200  # 2024-01-01T00:00:00Z: the measures are minutes POINTS apart from here
POLICY = {
    "name": "fleet",
    "back_window": 0,
    "definition": [{"granularity": "60s", "points": 1440}],
    "aggregation_methods": ["count", "mean"],
}
SACKS_OF = re.compile(r"^(?P<count>[0-9]+) of (?P<total>[0-9]+): (?P<runs>.*)$")


def metric_ids():
    """METRICS fixed ids, metric i in sack i % SACKS (uuid5 of a name, the
    first that lands there)."""
    out = []
    for i in range(METRICS):
        k = 0
        while True:
            mid = uuid.uuid5(uuid.NAMESPACE_URL, "carbonara/mixed-fleet/%d/%d" % (i, k))
            if mid.int % SACKS == i % SACKS:
                out.append(str(mid))
                break
            k += 1
    return out


def sack_of(metric_id):
    return uuid.UUID(metric_id).int % SACKS


def iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def must(answer, *statuses):
    if answer["status"] not in statuses:
        raise SystemExit("%s: HTTP %s %s" % (answer["request"], answer["status"], answer["body"]))
    return answer["body"]


def parse_sacks(text):
    """`carbonara status`'s `43 of 128: 0-3, 7` → [0, 1, 2, 3, 7]."""
    m = SACKS_OF.match(text)
    if not m:
        raise SystemExit("carbonara status: unexpected sacks %r" % text)
    numbers = []
    for run in m.group("runs").split(", "):
        first, _, last = run.partition("-")
        numbers.extend(range(int(first), int(last or first) + 1))
    if len(numbers) != int(m.group("count")) or int(m.group("total")) != SACKS:
        raise SystemExit("carbonara status: %r does not add up" % text)
    return numbers


class Worker:
    """`carbonara --gnocchi-conf CONF metricd --json`, its JSON log read back."""

    def __init__(self, carbonara, conf, env, log):
        self.log_path = log
        self.log = open(log, "wb")
        self.proc = subprocess.Popen([carbonara, "--gnocchi-conf", conf, "metricd", "--json"],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env)

    def events(self):
        """Every event logged so far; a line that is not a JSON object is
        itself reported (`event`: `unparsed`)."""
        out = []
        with open(self.log_path, errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    event = {"event": "unparsed", "message": line.rstrip("\n")}
                out.append(event)
        return out

    def member(self):
        joined = [e for e in self.events() if e.get("event") == "joined"]
        return joined[0]["member"] if joined else None

    def share(self):
        """Its own sacks, as its last `joined` or `share` event says."""
        shares = [e for e in self.events() if e.get("event") in ("joined", "share")]
        return shares[-1]["sacks"] if shares else None

    def stop(self, patience=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(patience)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Fleet:
    """The views of the group: carbonara's `status`, gnocchi-api's, tooz's."""

    def __init__(self, args, dep, env):
        self.args, self.dep, self.env = args, dep, env

    def carbonara_status(self):
        done = subprocess.run([self.args.carbonara, "--gnocchi-conf", self.dep.conf, "status", "-f", "json"],
                              capture_output=True, text=True, env=self.env)
        if done.returncode != 0:
            raise SystemExit("carbonara status: exit %d\n%s" % (done.returncode, done.stderr))
        status = json.loads(done.stdout)
        processors = status["metricd/processors"] or []
        return {"processors": processors,
                "sacks": {m: parse_sacks(status["metricd/sacks of %s" % m]) for m in processors}}

    def gnocchi_status(self):
        """gnocchi-api's members; none while gnocchi-api answers 500, as it
        does until a worker has created the group (tooz's GroupNotCreated)."""
        answer = self.dep.api.call("GET", "/v1/status")
        if answer["status"] != 200:
            return {"status": answer["status"], "processors": []}
        return {"status": 200, "processors": answer["body"]["metricd"]["processors"] or []}

    def tooz(self, members):
        """{member: sacks} by gnocchi-metricd's own `_get_sacks_to_process`,
        over a tooz Partitioner that reads the live group (its members and
        their capabilities, hence weights) without joining it."""
        from tooz import coordination, partitioner
        coord = coordination.get_coordinator(self.dep.coordination_url, b"mixed-fleet-observer")
        coord.start()
        try:
            ring = partitioner.Partitioner(coord, GROUP, partitions=PARTITIONS)
            live = sorted(m.decode() for m in ring.ring.nodes)
            if live != sorted(members):
                return live, None
            out = {}
            for member in members:
                # The member's own view: belongs_to_self asks its coordinator's id.
                own = copy.copy(ring)
                own._coord = types.SimpleNamespace(_member_id=member.encode())
                still = types.SimpleNamespace(run_watchers=lambda: None)  # the group as read
                out[member] = sacks_to_process(still, own, METRICD_OPTIONS["processing_replicas"])
            return live, out
        finally:
            coord.stop()

    def wait_for(self, what, test, patience=120):
        deadline = time.monotonic() + patience
        while True:
            carbonara, gnocchi = self.carbonara_status(), self.gnocchi_status()
            if test(carbonara, gnocchi):
                return carbonara, gnocchi
            if time.monotonic() > deadline:
                raise SystemExit("%s: not within %d s: carbonara %s, gnocchi-api %s"
                                 % (what, patience, carbonara["processors"], gnocchi["processors"]))
            time.sleep(0.5)


def view(fleet, carbonara, gnocchi, differences, label):
    """The members and sacks of both views and tooz's; what differs."""
    members = sorted(carbonara["processors"])
    live, tooz = fleet.tooz(members)
    if sorted(gnocchi["processors"]) != members:
        differences.append({"what": "%s: members" % label, "carbonara": members,
                            "gnocchi-api": sorted(gnocchi["processors"])})
    if tooz is None:
        differences.append({"what": "%s: tooz's ring" % label, "carbonara": members, "tooz": live})
        tooz = {}
    for member in members:
        if carbonara["sacks"][member] != tooz.get(member):
            differences.append({"what": "%s: sacks of %s" % (label, member),
                                "carbonara": carbonara["sacks"][member], "tooz": tooz.get(member)})
    owners = sorted(s for sacks in tooz.values() for s in sacks)
    if tooz and owners != list(range(SACKS)):
        differences.append({"what": "%s: with processing_replicas 1 each sack has one owner" % label,
                            "owners_of_each_sack": owners})
    return {"carbonara_status": carbonara, "gnocchi_api_status": gnocchi, "tooz_ring_nodes": live,
            "tooz_sacks": tooz}


def counts(dep, ids):
    """metric id → gnocchi-api's sum of its `count` aggregates."""
    out = {}
    for mid in ids:
        got = must(dep.api.call("GET", "/v1/metric/%s/measures?aggregation=count&granularity=60" % mid), 200)
        out[mid] = int(sum(point[2] for point in got))
    return out


def passes(events):
    return [e for e in events if e.get("event") == "pass"]


def main():
    args = live_arguments(__doc__.split("\n")[0], "tests/golden/side-by-side/mixed_fleet.json")
    top = live_run_dir("carbonara-mixed-fleet-")
    servers = dep = worker = None
    ok = False
    differences = []
    try:
        servers = Servers(args.garage, top)
        dep = LiveDeployment(servers, args.oracle, args.venv, "fleet", "cbn-fleet", 1, True,
                             metricd_options=METRICD_OPTIONS)
        dep.start()
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(top, "xdg-state"))
        fleet = Fleet(args, dep, env)
        workers = METRICD_OPTIONS["workers"]
        _, gnocchi = fleet.wait_for("gnocchi-metricd's %d workers in the group" % workers,
                                    lambda c, g: len(c["processors"]) == workers and len(g["processors"]) == workers)
        metricd_members = sorted(gnocchi["processors"])
        print("  gnocchi-metricd's workers: %s" % metricd_members, file=sys.stderr, flush=True)

        worker = Worker(args.carbonara, dep.conf, env, os.path.join(top, "carbonara-metricd.log"))
        deadline = time.monotonic() + 60
        while worker.member() is None:
            if worker.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("carbonara metricd did not join: %s" % worker.events())
            time.sleep(0.2)
        member = worker.member()
        everyone = sorted(metricd_members + [member])
        carbonara, gnocchi = fleet.wait_for(
            "carbonara's member in both views",
            lambda c, g: sorted(c["processors"]) == everyone and sorted(g["processors"]) == everyone)
        together = view(fleet, carbonara, gnocchi, differences, "fleet of three")
        own = together["tooz_sacks"].get(member)
        # The worker's share as it logged it; gnocchi-metricd's workers
        # update their rings every metric_processing_delay (1 s).
        deadline = time.monotonic() + 30
        while worker.share() != own and time.monotonic() < deadline:
            time.sleep(0.2)
        together["carbonara_logged_share"] = worker.share()
        if worker.share() != own:
            differences.append({"what": "carbonara's logged share", "logged": worker.share(), "tooz": own})
        time.sleep(3)
        print("  fleet: %s; carbonara's sacks: %d" % (everyone, len(own or [])), file=sys.stderr, flush=True)

        must(dep.api.call("POST", "/v1/archive_policy", POLICY), 201)
        ids = metric_ids()
        for i, fixed in enumerate(ids):
            created = must(dep.api.call("POST", "/v1/metric",
                                        {"archive_policy_name": POLICY["name"], "name": "fleet-%d" % i}), 201)
            dep.set_metric_id(created["id"], fixed)
        in_own = [mid for mid in ids if sack_of(mid) in set(own or [])]
        logged_before = len(worker.events())
        batch = {mid: [{"timestamp": iso(T0 + 60 * k), "value": float(k + 1)} for k in range(POINTS)]
                 for mid in ids}
        must(dep.api.call("POST", "/v1/batch/metrics/measures", batch), 202)
        started = time.monotonic()
        wait_for_metricd(dep)
        seconds = time.monotonic() - started
        time.sleep(2)  # the pass that trimmed last logs after
        events = worker.events()[logged_before:]
        taken = passes(events)
        carbonara_measures = sum(e["measures"] for e in taken)
        carbonara_metrics = sum(e["metrics"] for e in taken)
        got = counts(dep, ids)
        posted = METRICS * POINTS
        aggregated = sum(got.values())
        wrong = {mid: n for mid, n in got.items() if n != POINTS}
        if wrong:
            differences.append({"what": "metrics whose count is not %d" % POINTS, "metrics": wrong})
        if carbonara_measures != POINTS * len(in_own) or carbonara_metrics != len(in_own):
            differences.append({"what": "carbonara's passes vs the measures posted to its sacks",
                                "passes": {"metrics": carbonara_metrics, "measures": carbonara_measures},
                                "its_sacks": {"metrics": len(in_own), "measures": POINTS * len(in_own)}})
        if not 0 < carbonara_measures < posted:
            differences.append({"what": "each side takes some", "carbonara": carbonara_measures,
                                "posted": posted})
        others = [e for e in events if e.get("event") not in ("pass", "share")]
        if others:
            differences.append({"what": "carbonara's other events while it worked", "events": others})
        print("  %d measures posted to %d metrics, aggregated in %.1f s: carbonara %d (%d metrics in %d passes), "
              "gnocchi-metricd %d" % (posted, METRICS, seconds, carbonara_measures, carbonara_metrics,
                                      len(taken), posted - carbonara_measures), file=sys.stderr, flush=True)

        exit_status = worker.stop()
        final = worker.events()
        stopped = [e for e in final if e.get("event") == "stopped"]
        if exit_status != 0 or len(stopped) != 1 or final[-1].get("event") != "stopped":
            differences.append({"what": "carbonara's stop on SIGTERM", "exit_status": exit_status,
                                "last_events": final[-3:]})
        carbonara, gnocchi = fleet.wait_for(
            "carbonara's member gone from both views",
            lambda c, g: sorted(c["processors"]) == metricd_members and sorted(g["processors"]) == metricd_members,
            patience=60)
        after = view(fleet, carbonara, gnocchi, differences, "after carbonara stopped")
        time.sleep(3)  # gnocchi-metricd's rings follow within metric_processing_delay
        takeover = {mid: [{"timestamp": iso(T0 + 60 * POINTS), "value": 100.0}] for mid in in_own}
        must(dep.api.call("POST", "/v1/batch/metrics/measures", takeover), 202)
        wait_for_metricd(dep)
        again = counts(dep, in_own)
        late = {mid: n for mid, n in again.items() if n != POINTS + 1}
        if late:
            differences.append({"what": "former carbonara metrics whose count is not %d" % (POINTS + 1),
                                "metrics": late})
        print("  carbonara stopped (exit %s); gnocchi-metricd aggregated %d measures to its former sacks"
              % (exit_status, sum(again.values()) - POINTS * len(in_own)), file=sys.stderr, flush=True)

        with open(os.path.join(dep.run_dir, "metricd.log"), errors="replace") as f:
            metricd_errors = [line.rstrip("\n") for line in f if " ERROR " in line or "Traceback" in line]
        if metricd_errors:
            differences.append({"what": "gnocchi-metricd's errors", "lines": metricd_errors[:20]})
        version = subprocess.run([args.carbonara, "--version"], capture_output=True, text=True).stdout.strip()
        recording = {
            "script": "scripts/oracle/mixed-fleet.sh",
            "versions": dict(live_versions(servers), carbonara=version),
            "what": "one Garage node (S3 storage), one redis-server (incoming and tooz coordination), one "
                    "real_gnocchi.sh deployment (gnocchi-api %s on PostgreSQL) whose gnocchi-metricd runs "
                    "two processing workers with processing_replicas = 1, joined by `carbonara "
                    "--gnocchi-conf <its gnocchi.conf> metricd`; then carbonara stopped by SIGTERM"
                    % metadata.version("gnocchi"),
            "gnocchi_conf_metricd": METRICD_OPTIONS,
            "total_sacks": SACKS,
            "partitions": PARTITIONS,
            "processing_replicas": METRICD_OPTIONS["processing_replicas"],
            "gnocchi_metricd_members": metricd_members,
            "carbonara_member": member,
            "fleet": together,
            "measures": {
                "archive_policy": POLICY,
                "metric_ids": ids,
                "points_per_metric": POINTS,
                "request": "POST /v1/batch/metrics/measures (every metric in one body)",
                "posted": posted,
                "aggregated": aggregated,
                "seconds_until_no_measure_waits": round(seconds, 1),
                "carbonara_passes": [{k: e[k] for k in ("sacks", "metrics", "measures", "busy_sacks", "failures")}
                                     for e in taken],
                "carbonara": {"metrics": carbonara_metrics, "measures": carbonara_measures},
                "in_carbonara_sacks": {"metrics": len(in_own), "measures": POINTS * len(in_own)},
                "gnocchi_metricd": {"measures": posted - carbonara_measures},
            },
            "after_stop": dict(after, **{
                "carbonara_exit_status": exit_status,
                "carbonara_last_event": final[-1].get("event") if final else None,
                "takeover": {"metrics": len(in_own), "posted": len(in_own),
                             "aggregated": sum(again.values()) - POINTS * len(in_own)},
            }),
            "differences": differences,
            "equal": not differences,
        }
        with open(args.out, "w") as f:
            json.dump(recording, f, indent=1, sort_keys=True)
            f.write("\n")
        print("wrote %s" % args.out, file=sys.stderr)
        for d in differences:
            print("DIFFERENCE: %s" % json.dumps(d), file=sys.stderr)
        ok = not differences
    finally:
        if worker is not None:
            worker.stop()
        if dep is not None:
            dep.stop()
        live_end(servers, top, ok, args.keep)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
