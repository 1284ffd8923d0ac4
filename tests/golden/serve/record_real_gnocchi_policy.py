"""Records what a real Gnocchi 4.7.1 lets each kind of caller do, endpoint
by endpoint, for tests/it/serve/policy.rs to replay against `carbonara
serve`'s router with the same auth mode.

Two sessions. The first trusts Keystone's headers (`X-User-Id`,
`X-Project-Id`, `X-Roles`) as they are, which is carbonara's `noauth`:
Gnocchi 4.7.1 has no such mode, so it runs in `keystone` mode with
keystonemiddleware's `auth_token` filter taken out of its paste pipeline
(what reaches Gnocchi behind a validated token). The session acts as
an admin, a service, the owner (a member of project A who creates
resources and metrics), another member of project A, a member of project B,
and a member of project C, which owns (`project_id`) a resource project A
created. In `basic` mode the callers are `admin`, the owner `alice` and
`carol`. Start a fresh real Gnocchi without metricd ($ORACLE: the oracle's
directory, outside this repository); real_gnocchi.sh writes a basic-auth
configuration, which `reset` keeps, so for the headers:

    export GNOCCHI_METRICD=0 ORACLE_VENV=.oracle-venv GNOCCHI_API_PORT=18941 \\
        GNOCCHI_PG_PORT=55992 GNOCCHI_RUN_DIR=/tmp/gnocchi-policy-run
    $ORACLE/real_gnocchi.sh start
    R=$GNOCCHI_RUN_DIR; P=$($ORACLE_VENV/bin/python -c \\
        'import os, gnocchi; print(os.path.dirname(gnocchi.__file__))')
    sed 's/^pipeline = keystone_authtoken gnocchiv1$/pipeline = gnocchiv1/' \\
        $P/rest/api-paste.ini >$R/api-paste-headers.ini
    sed -i -e 's/^auth_mode = basic$/auth_mode = keystone/' \\
        -e "s#^paste_config = .*#paste_config = $R/api-paste-headers.ini#" $R/gnocchi.conf
    $ORACLE/real_gnocchi.sh reset
    .oracle-venv/bin/python tests/golden/serve/record_real_gnocchi_policy.py \\
        127.0.0.1:18941 noauth

then `auth_mode = basic` and the package's paste_config back, `reset`,
and the script with `basic` (which writes real_gnocchi_policy_basic.json).

Steps are written as in record_real_gnocchi.py (whose recorder this uses),
each with `caller` (who sends it) and, where it addresses one object of
project A (its resources and metrics, by id), `target: "project A"`: the
replay checks that no caller of project B ever got a 2xx answer to those,
nor an answer naming project A's objects.
"""
import base64
import collections
import sys

import record_real_gnocchi as recorder
from record_real_gnocchi import step
from record_real_gnocchi_writes import PROTOBUF, prometheus

Caller = collections.namedtuple("Caller", "name creator headers")


def keystone(name, user, project, roles):
    return Caller(name, user + ":" + project,
                  {"X-User-Id": user, "X-Project-Id": project, "X-Roles": roles})


def basic(name, user):
    token = base64.b64encode(("%s:" % user).encode()).decode()
    return Caller(name, user, {"Authorization": "basic " + token})


NOAUTH = [
    keystone("admin", "root", "project-ops", "admin"),
    keystone("service", "svc", "project-svc", "service"),
    keystone("owner", "alice", "project-a", "member"),
    keystone("peer", "bob", "project-a", "member,reader"),
    keystone("other", "carol", "project-b", "member"),
    keystone("tenant", "dave", "project-c", "member"),
]
BASIC = [
    basic("admin", "admin"),
    basic("owner", "alice"),
    basic("other", "carol"),
]
PROJECT_A = "project A"
ORDER = ["other", "tenant", "service", "peer", "owner", "admin"]


class Session:
    def __init__(self, callers):
        self.callers = callers
        self.by_name = {c.name: c for c in callers}
        self.admin = self.by_name["admin"]
        self.owner = self.by_name["owner"]
        self.other = self.by_name["other"]

    def call(self, name, caller, method, path, body=None, target=None, **kwargs):
        step("%s as %s" % (name, caller.name), method, path, body, user=None,
             headers=caller.headers, **kwargs)
        recorder.STEPS[-1]["caller"] = caller.name
        if target:
            recorder.STEPS[-1]["target"] = target

    def each(self, name, method, path, body=None, target=None, **kwargs):
        """The same request from every caller: project B first, the admin
        last, so that refusals come before the deletions that succeed."""
        for caller in sorted(self.callers, key=lambda c: ORDER.index(c.name)):
            self.call(name, caller, method, path, body, target=target, **kwargs)


def measures(value):
    return [{"timestamp": "2015-03-06T14:33:57", "value": value}]


def session(s):
    admin, owner, other = s.admin, s.owner, s.other

    # Documents, status and who is who.
    s.each("versions", "GET", "/")
    s.each("capabilities", "GET", "/v1/capabilities")
    s.each("type index", "GET", "/v1/resource")
    s.each("healthcheck", "GET", "/healthcheck", accept=None)
    s.each("status", "GET", "/v1/status?details=false")
    s.call("no identity", Caller("nobody", None, {}), "GET", "/v1/resource/generic")

    # Archive policies and rules: one per caller allowed to create them.
    for caller in s.callers:
        s.call("create policy", caller, "POST", "/v1/archive_policy",
               {"name": "p-" + caller.name, "aggregation_methods": ["mean"],
                "definition": [{"granularity": "1s", "points": 86400}]})
    s.call("create policy low", admin, "POST", "/v1/archive_policy",
           {"name": "low", "aggregation_methods": ["mean", "max"],
            "definition": [{"granularity": "1s", "points": 86400}]})
    s.each("list policies", "GET", "/v1/archive_policy")
    s.each("show policy", "GET", "/v1/archive_policy/low")
    s.each("update policy", "PATCH", "/v1/archive_policy/p-admin",
           {"definition": [{"granularity": "1s", "points": 3600}]})
    for caller in s.callers:
        s.call("create rule", caller, "POST", "/v1/archive_policy_rule",
               {"name": "r-" + caller.name, "metric_pattern": caller.name + ".*",
                "archive_policy_name": "low"})
    s.call("create rule cpu", admin, "POST", "/v1/archive_policy_rule",
           {"name": "cpu", "metric_pattern": "cpu*", "archive_policy_name": "low"})
    s.each("list rules", "GET", "/v1/archive_policy_rule")
    s.each("show rule", "GET", "/v1/archive_policy_rule/cpu")
    s.each("rename rule", "PATCH", "/v1/archive_policy_rule/r-admin", {"name": "r-admin"})
    s.each("delete rule", "DELETE", "/v1/archive_policy_rule/r-admin")
    s.each("delete policy", "DELETE", "/v1/archive_policy/p-admin")

    # Resource types.
    for caller in s.callers:
        s.call("create type", caller, "POST", "/v1/resource_type",
               {"name": "t-" + caller.name,
                "attributes": {"size": {"type": "number", "required": False}}})
    s.each("list types", "GET", "/v1/resource_type")
    s.each("show type", "GET", "/v1/resource_type/t-admin")
    s.each("update type", "PATCH", "/v1/resource_type/t-admin",
           [{"op": "add", "path": "/attributes/color",
             "value": {"type": "string", "required": False}}],
           content_type="application/json-patch+json")
    s.each("delete type", "DELETE", "/v1/resource_type/t-admin")

    # Resources: project A's own, one it made for project C, one without a
    # project, and project B's own. Each has a metric `cpu` (the rule).
    owned = [("own", owner, "project-a"), ("for-c", owner, "project-c"),
             ("none", owner, None), ("b", other, "project-b")]
    for key, caller, project in owned:
        body = {"id": "res-" + key, "metrics": {"cpu": {}}}
        if project:
            body["project_id"] = project
        var = ("a_" if caller is owner else "b_") + key.replace("-", "_")
        s.call("create resource " + key, caller, "POST", "/v1/resource/generic", body,
               capture={var: "body:id", var + "_cpu": "body:metrics.cpu"})
    a_resources = ["a_own", "a_for_c", "a_none"]
    for var in a_resources + ["b_b"]:
        target = PROJECT_A if var.startswith("a_") else None
        path = "/v1/resource/generic/{%s}" % var
        s.each("show resource " + var, "GET", path, target=target)
        s.each("update resource " + var, "PATCH", path, {"user_id": "patched"},
               target=target)
        s.each("resource history " + var, "GET", path + "/history", target=target)
        s.each("resource metrics " + var, "GET", path + "/metric", target=target)
        s.each("resource metric " + var, "GET", path + "/metric/cpu", target=target)
        s.each("resource add metric " + var, "POST", path + "/metric",
               {"cpu2": {"archive_policy_name": "low"}}, target=target)
        s.each("resource post measures " + var, "POST", path + "/metric/cpu/measures",
               measures(1), target=target)
        s.each("resource get measures " + var, "GET",
               path + "/metric/cpu/measures?refresh=true", target=target)
    s.call("create resource by original id", other, "POST", "/v1/resource/generic",
           {"id": "res-own"})
    s.each("list resources", "GET",
           "/v1/resource/generic?sort=original_resource_id&attrs=id&attrs=project_id"
           "&attrs=creator&attrs=original_resource_id")
    s.each("list resources history", "GET",
           "/v1/resource/generic?history=true&sort=original_resource_id&sort=revision_start"
           "&attrs=original_resource_id&attrs=user_id&attrs=creator")
    s.each("search resources", "POST", "/v1/search/resource/generic?sort=original_resource_id"
           "&attrs=original_resource_id&attrs=creator",
           {"like": {"original_resource_id": "res-%"}})
    s.each("search resources by filter", "POST",
           "/v1/search/resource/generic?sort=original_resource_id&attrs=original_resource_id"
           "&attrs=creator&filter=project_id%3D%27project-a%27")

    # Metrics of their own.
    s.call("create metric", owner, "POST", "/v1/metric",
           {"name": "m-owner", "archive_policy_name": "low"}, capture={"a_m": "body:id"})
    s.call("create metric", other, "POST", "/v1/metric",
           {"name": "m-other", "archive_policy_name": "low"}, capture={"b_m": "body:id"})
    for var in ["a_m", "a_own_cpu", "a_for_c_cpu", "a_none_cpu", "b_m"]:
        target = PROJECT_A if var.startswith("a_") else None
        path = "/v1/metric/{%s}" % var
        s.each("show metric " + var, "GET", path, target=target)
        s.each("post measures " + var, "POST", path + "/measures", measures(2),
               target=target)
        s.each("get measures " + var, "GET", path + "/measures?refresh=true", target=target)
        s.each("search metric " + var, "POST",
               "/v1/search/metric?metric_id={%s}&granularity=1" % var,
               {">=": 0}, target=target)
    s.each("list metrics", "GET", "/v1/metric?sort=name&sort=resource_id")
    s.each("list metrics by creator", "GET",
           "/v1/metric?creator=%s&sort=name&sort=resource_id"
           % owner.creator.replace(":", "%3A"))

    # Batches, by metric id and by resource.
    for var in ["a_m", "b_m"]:
        target = PROJECT_A if var.startswith("a_") else None
        s.each("batch metrics " + var, "POST", "/v1/batch/metrics/measures",
               {"{%s}" % var: measures(3)}, target=target)
    for var in a_resources + ["b_b"]:
        target = PROJECT_A if var.startswith("a_") else None
        s.each("batch resources " + var, "POST", "/v1/batch/resources/metrics/measures",
               {"{%s}" % var: {"cpu": measures(4)}}, target=target)
        s.each("batch resources create " + var, "POST",
               "/v1/batch/resources/metrics/measures?create_metrics=true",
               {"{%s}" % var: {"cpu.batch": measures(5)}}, target=target)

    # Aggregates: of metrics by id, of resources found by a search.
    for var in ["a_m", "a_for_c_cpu", "b_m"]:
        target = PROJECT_A if var.startswith("a_") else None
        s.each("aggregates " + var, "POST", "/v1/aggregates",
               {"operations": "(metric {%s} mean)" % var}, target=target)
        s.each("aggregation " + var, "GET", "/v1/aggregation/metric?metric={%s}" % var,
               target=target)
        s.each("aggregation post " + var, "POST", "/v1/aggregation/metric", ["{%s}" % var],
               target=target)
    s.each("aggregates by resource", "POST", "/v1/aggregates?groupby=creator",
           {"resource_type": "generic", "search": {"like": {"original_resource_id": "res-%"}},
            "operations": "(metric cpu mean)"})
    s.each("aggregation by resource", "POST",
           "/v1/aggregation/resource/generic/metric/cpu?groupby=creator",
           {"like": {"original_resource_id": "res-%"}})

    # Prometheus: the resource type is made by the first caller allowed
    # to; each caller's series is its own resource (ids are per creator).
    s.each("prometheus write", "POST", "/v1/prometheus/write", accept=None,
           content_type=PROTOBUF,
           raw_bytes=prometheus([([("__name__", "cpu"), ("job", "node"), ("instance", "h1")],
                                  [(1.0, 1425652437000)])]))
    s.each("prometheus resources", "GET",
           "/v1/resource/prometheus?attrs=original_resource_id&attrs=creator")

    # InfluxDB: a database, then lines from project A and project B for
    # the same host.
    s.each("influx ping", "GET", "/v1/influxdb/ping", accept=None)
    s.each("influx create database", "POST", "/v1/influxdb/query?q=create+database+influxdb")
    s.call("influx write", owner, "POST", "/v1/influxdb/write?db=influxdb",
           raw="cpu,host=h1 usage=1 1425652437000000000")
    s.each("influx write same host", "POST", "/v1/influxdb/write?db=influxdb",
           raw="cpu,host=h1 usage=2 1425652438000000000")
    s.each("influx resources", "GET",
           "/v1/resource/influxdb?attrs=original_resource_id&attrs=creator")

    # Deletions last: what may delete what.
    s.each("batch delete", "DELETE", "/v1/resource/generic",
           {"like": {"original_resource_id": "res-none"}})
    for var in ["b_m", "a_m"]:
        target = PROJECT_A if var.startswith("a_") else None
        s.each("delete metric " + var, "DELETE", "/v1/metric/{%s}" % var, target=target)
    for var in a_resources + ["b_b"]:
        target = PROJECT_A if var.startswith("a_") else None
        s.each("delete resource metric " + var, "DELETE",
               "/v1/resource/generic/{%s}/metric/cpu2" % var, target=target)
        s.each("delete resource " + var, "DELETE", "/v1/resource/generic/{%s}" % var,
               target=target)
    s.each("list resources after", "GET",
           "/v1/resource/generic?sort=original_resource_id&attrs=original_resource_id"
           "&attrs=creator")


if __name__ == "__main__":
    mode = sys.argv[2]
    callers = {"noauth": NOAUTH, "basic": BASIC}[mode]
    out = "real_gnocchi_policy.json" if mode == "noauth" else "real_gnocchi_policy_basic.json"
    recorder.main(sys.argv[1], session=lambda: session(Session(callers)), out=out)
