"""Records what a real Gnocchi 4.7.1 answers to HTTP requests, for
tests/it/serve/real.rs to replay against `carbonara serve`'s router.

Start a fresh real Gnocchi without metricd (measures are then processed only
by `?refresh=true`, as in the replay), with the oracle's real_gnocchi.sh
($ORACLE: the oracle's directory, outside this repository), then:

    GNOCCHI_METRICD=0 ORACLE_VENV=.oracle-venv GNOCCHI_API_PORT=18141 \\
        GNOCCHI_PG_PORT=55532 GNOCCHI_RUN_DIR=/tmp/gnocchi-serve-run \\
        $ORACLE/real_gnocchi.sh start
    .oracle-venv/bin/python tests/golden/serve/record_real_gnocchi.py 127.0.0.1:18141

The deployment is Gnocchi's test one: basic auth, `[api] max_limit = 7`,
proxy headers parsed, CORS for http://foobar.com, no default policies.

Each step is a request template (`{m1}` stands for a value captured from an
earlier answer) and the answer: status, the headers clients use, and the
body as sent. Captures name where a value comes from: `body:KEY` (a
top-level key of the JSON body, `a.b` for nested ones) or `header:NAME`.
"""
import base64
import http.client
import json
import os
import sys

ADMIN = "basic " + base64.b64encode(b"admin:").decode()
FOOBAR = "basic " + base64.b64encode(b"foobar:").decode()
JSON = "application/json"
KEPT_HEADERS = ["content-type", "location", "link", "allow", "etag", "last-modified",
                "content-length", "vary", "access-control-allow-origin",
                "access-control-allow-credentials", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-max-age"]

STEPS = []


def step(name, method, path, body=None, user=ADMIN, accept=JSON, content_type=None,
         headers=None, capture=None, raw=None, raw_bytes=None):
    """A request: `body` is sent as JSON (with Content-Type application/json
    unless `content_type` says otherwise), `raw` (text) and `raw_bytes`
    (binary, recorded in base64) as given."""
    sent_headers = {}
    if user:
        sent_headers["Authorization"] = user
    if accept is not None:
        sent_headers["Accept"] = accept
    data = None
    if body is not None:
        data = json.dumps(body)
        sent_headers["Content-Type"] = content_type or JSON
    elif raw is not None:
        data = raw
        if content_type:
            sent_headers["Content-Type"] = content_type
    sent_headers.update(headers or {})
    recorded = {"name": name, "method": method, "path": path,
                "headers": sent_headers, "body": data, "capture": capture or {}}
    if raw_bytes is not None:
        recorded["body_base64"] = base64.b64encode(raw_bytes).decode()
        if content_type:
            sent_headers["Content-Type"] = content_type
    STEPS.append(recorded)


def session():
    # Documents that are not about one object.
    step("versions", "GET", "/", user=None)
    step("v1 index", "GET", "/v1/", user=None)
    step("capabilities", "GET", "/v1/capabilities", user=None)
    step("healthcheck", "GET", "/healthcheck", user=None, accept=None)
    step("resource types index", "GET", "/v1/resource", user=None)
    step("unknown path json", "GET", "/v1/nope")
    step("unknown path html", "GET", "/v1/nope", accept="*/*")
    step("wrong method json", "PUT", "/v1/archive_policy")
    step("wrong method html", "PUT", "/v1/archive_policy", accept="*/*")
    step("no credentials", "GET", "/v1/archive_policy", user=None)
    step("no credentials html", "GET", "/v1/archive_policy", user=None, accept="*/*")
    for accept in [None, "", "*/*", "text/plain", "text/plain, application/json; q=0.8",
                   "application/json, */*", "application/*", "text/*", "foo"]:
        step("accept %r" % accept, "GET", "/v1/archive_policy/nope", accept=accept)
    step("status", "GET", "/v1/status")
    step("status without details", "GET", "/v1/status?details=false")
    step("status not admin", "GET", "/v1/status", user=FOOBAR)

    # Archive policies.
    step("create policy", "POST", "/v1/archive_policy",
         {"name": "cookies", "definition": [{"granularity": "1s", "points": 60},
                                           {"granularity": "1 minute", "timespan": "1 day"}]})
    step("create policy again", "POST", "/v1/archive_policy",
         {"name": "cookies", "definition": [{"granularity": "1s", "points": 60}]})
    step("create policy not admin", "POST", "/v1/archive_policy",
         {"name": "x", "definition": [{"granularity": "1s"}]}, user=FOOBAR)
    step("create policy not admin bad body", "POST", "/v1/archive_policy", raw="{",
         content_type=JSON, user=FOOBAR)
    step("create policy relative methods", "POST", "/v1/archive_policy",
         {"name": "relative", "aggregation_methods": ["+max", "-std", "+95pct"],
          "definition": [{"granularity": 60}]})
    step("create policy points and timespan", "POST", "/v1/archive_policy",
         {"name": "fraction", "back_window": "2", "aggregation_methods": ["mean", "rate:last"],
          "definition": [{"points": 1000, "timespan": "1 hour"},
                         {"granularity": "7s", "timespan": "1h"}]})
    step("create policy unicode", "POST", "/v1/archive_policy",
         {"name": "caf\u00e9", "definition": [{"granularity": "1d"}]})
    for name, body in [
        ("empty", ""), ("broken", "{bad"), ("trailing", '{"a": 1} x'), ("not a dict", '"x"'),
    ]:
        step("policy body " + name, "POST", "/v1/archive_policy", raw=body, content_type=JSON)
    step("policy no content type", "POST", "/v1/archive_policy", raw="{}")
    step("policy text content type", "POST", "/v1/archive_policy", raw="{}",
         content_type="text/plain")
    for name, body in [
        ("extra key", {"cowsay": "moo"}),
        ("name not a string", {"name": 3, "definition": [{"granularity": 1}]}),
        ("no definition", {"name": "x"}),
        ("definition not a list", {"name": "x", "definition": "a"}),
        ("empty definition", {"name": "x", "definition": []}),
        ("bad granularity", {"name": "x", "definition": [{"granularity": "foo"}]}),
        ("negative timespan", {"name": "x", "definition": [{"granularity": 1, "timespan": -5}]}),
        ("zero points", {"name": "x", "definition": [{"granularity": 1, "points": 0}]}),
        ("extra definition key", {"name": "x", "definition": [{"granularity": 1, "x": 1}]}),
        ("negative back window", {"name": "x", "back_window": -1,
                                  "definition": [{"points": 3}]}),
        ("bad method", {"name": "x", "aggregation_methods": ["wtf"],
                        "definition": [{"points": 3}]}),
        ("one attribute", {"name": "x", "definition": [{"points": 3}]}),
        ("mismatch", {"name": "x", "definition": [{"granularity": 2, "points": 3,
                                                   "timespan": 7}]}),
        ("granularity above timespan", {"name": "x", "definition": [
            {"granularity": "1h", "timespan": "1min"}]}),
        ("duplicate granularity", {"name": "x", "definition": [
            {"granularity": 1, "points": 3}, {"granularity": "1s", "points": 5}]}),
    ]:
        step("policy " + name, "POST", "/v1/archive_policy", body)
    step("list policies", "GET", "/v1/archive_policy")
    step("show policy", "GET", "/v1/archive_policy/cookies")
    step("show policy doubled slashes", "GET", "/v1/archive_policy//cookies/")
    step("show policy unicode", "GET", "/v1/archive_policy/caf%C3%A9")
    step("show policy unknown", "GET", "/v1/archive_policy/nope")
    step("update policy", "PATCH", "/v1/archive_policy/cookies",
         {"definition": [{"granularity": "1s", "points": 120},
                         {"granularity": "1 minute", "points": 10}]})
    step("update policy granularities", "PATCH", "/v1/archive_policy/cookies",
         {"definition": [{"granularity": "2s", "points": 120}]})
    step("update policy fewer", "PATCH", "/v1/archive_policy/cookies",
         {"definition": [{"granularity": "1s", "points": 120}]})
    step("update policy not admin", "PATCH", "/v1/archive_policy/cookies",
         {"definition": [{"granularity": "1s", "points": 120}]}, user=FOOBAR)
    step("update policy unknown", "PATCH", "/v1/archive_policy/nope",
         {"definition": [{"granularity": "1s", "points": 120}]})
    step("update policy extra key", "PATCH", "/v1/archive_policy/cookies",
         {"definition": [{"granularity": "1s", "points": 120}], "name": "x"})
    step("delete policy not admin", "DELETE", "/v1/archive_policy/relative", user=FOOBAR)
    step("delete policy unknown", "DELETE", "/v1/archive_policy/nope")
    step("delete policy", "DELETE", "/v1/archive_policy/relative")

    # Archive-policy rules.
    step("create rule", "POST", "/v1/archive_policy_rule",
         {"name": "disks", "metric_pattern": "disk.*", "archive_policy_name": "cookies"})
    step("create rule everything", "POST", "/v1/archive_policy_rule",
         {"name": "all", "metric_pattern": "*", "archive_policy_name": "fraction"})
    step("create rule again", "POST", "/v1/archive_policy_rule",
         {"name": "disks", "metric_pattern": "x", "archive_policy_name": "cookies"})
    step("create rule unknown policy", "POST", "/v1/archive_policy_rule",
         {"name": "r", "metric_pattern": "x", "archive_policy_name": "nope"})
    step("create rule not admin", "POST", "/v1/archive_policy_rule",
         {"name": "r", "metric_pattern": "x", "archive_policy_name": "cookies"}, user=FOOBAR)
    step("create rule missing key", "POST", "/v1/archive_policy_rule", {"name": "r"})
    step("delete policy used by rule", "DELETE", "/v1/archive_policy/fraction")
    step("list rules", "GET", "/v1/archive_policy_rule")
    step("show rule", "GET", "/v1/archive_policy_rule/disks")
    step("show rule unknown", "GET", "/v1/archive_policy_rule/nope")
    step("rename rule", "PATCH", "/v1/archive_policy_rule/all", {"name": "everything"})
    step("rename rule taken", "PATCH", "/v1/archive_policy_rule/everything", {"name": "disks"})
    step("rename rule unknown", "PATCH", "/v1/archive_policy_rule/nope", {"name": "x"})
    step("delete rule not admin", "DELETE", "/v1/archive_policy_rule/everything", user=FOOBAR)
    step("delete rule", "DELETE", "/v1/archive_policy_rule/everything")
    step("delete rule unknown", "DELETE", "/v1/archive_policy_rule/everything")

    # Metrics and measures.
    step("create metric", "POST", "/v1/metric", {"archive_policy_name": "cookies"},
         capture={"m1": "body:id"})
    step("create metric by rule", "POST", "/v1/metric", {"name": "disk.io", "unit": "B"},
         capture={"m2": "body:id"})
    step("create metric no rule", "POST", "/v1/metric", {"name": "cpu"})
    step("create metric unknown policy", "POST", "/v1/metric", {"archive_policy_name": "nope"})
    step("create metric slash", "POST", "/v1/metric",
         {"name": "a/b", "archive_policy_name": "cookies"})
    step("create metric long unit", "POST", "/v1/metric",
         {"archive_policy_name": "cookies", "unit": "u" * 32})
    step("create metric extra key", "POST", "/v1/metric",
         {"archive_policy_name": "cookies", "color": "red"})
    step("create metric foobar", "POST", "/v1/metric", {"archive_policy_name": "cookies"},
         user=FOOBAR, capture={"m3": "body:id"})
    step("show metric", "GET", "/v1/metric/{m1}")
    step("show metric not uuid", "GET", "/v1/metric/foobar")
    step("show metric unknown", "GET", "/v1/metric/8f0a4ee9-1111-4a4a-8888-123456789abc")
    step("show metric of another", "GET", "/v1/metric/{m1}", user=FOOBAR)
    step("list metrics by name", "GET", "/v1/metric?name=disk.io")
    step("list metrics deleted", "GET", "/v1/metric?status=delete")
    step("list metrics bad limit", "GET", "/v1/metric?limit=0")
    step("list metrics bad sort", "GET", "/v1/metric?sort=nope")
    step("list metrics page", "GET", "/v1/metric?archive_policy_name=cookies&creator=admin&limit=1")
    step("post measures", "POST", "/v1/metric/{m1}/measures",
         [{"timestamp": 1425652437.0, "value": 43.1},
          {"timestamp": "2015-03-06T14:34:12", "value": 12}])
    step("post measures more", "POST", "/v1/metric/{m1}/measures",
         [{"timestamp": "2015-03-06T14:34:15Z", "value": "16"},
          {"timestamp": "2015-03-06T14:35:12+01:00", "value": 9}])
    step("post measures empty", "POST", "/v1/metric/{m1}/measures", [])
    for name, body in [
        ("not a list", {"timestamp": 1, "value": 1}), ("lists", [[1, 2]]),
        ("bad timestamp", [{"timestamp": "yesterday-ish", "value": 1}]),
        ("mixed timestamps", [{"timestamp": 1478012832, "value": 1},
                              {"timestamp": "-5 minutes", "value": 2}]),
        ("before epoch", [{"timestamp": "1960-01-01", "value": 1}]),
        ("bad value", [{"timestamp": 1, "value": "foobar"}]),
        ("null value", [{"timestamp": 1, "value": None}]),
    ]:
        step("post measures " + name, "POST", "/v1/metric/{m1}/measures", body)
    step("post measures not json", "POST", "/v1/metric/{m1}/measures", raw="[]",
         content_type="text/plain")
    step("post measures not owner", "POST", "/v1/metric/{m1}/measures",
         [{"timestamp": 1, "value": 1}], user=FOOBAR)
    step("post measures unknown metric", "POST",
         "/v1/metric/8f0a4ee9-1111-4a4a-8888-123456789abc/measures", [])
    step("get measures", "GET", "/v1/metric/{m1}/measures?refresh=true")
    step("get measures start", "GET", "/v1/metric/{m1}/measures?start=2015-03-06T14:34")
    step("get measures stop", "GET", "/v1/metric/{m1}/measures?stop=1425652452")
    step("get measures granularity", "GET", "/v1/metric/{m1}/measures?granularity=60&aggregation=max")
    step("get measures granularity span", "GET", "/v1/metric/{m1}/measures?granularity=1min")
    step("get measures unknown method", "GET", "/v1/metric/{m1}/measures?aggregation=wtf")
    step("get measures unknown granularity", "GET", "/v1/metric/{m1}/measures?granularity=42")
    step("get measures bad start", "GET", "/v1/metric/{m1}/measures?start=foo")
    step("get measures bad granularity", "GET", "/v1/metric/{m1}/measures?granularity=foo")
    step("get measures resample without granularity", "GET",
         "/v1/metric/{m1}/measures?resample=60")
    step("get measures bad refresh", "GET", "/v1/metric/{m1}/measures?refresh=maybe")
    step("get measures none yet", "GET", "/v1/metric/{m2}/measures")
    step("delete policy in use", "DELETE", "/v1/archive_policy/cookies")
    step("delete metric not owner", "DELETE", "/v1/metric/{m1}", user=FOOBAR)
    step("delete metric own", "DELETE", "/v1/metric/{m3}", user=FOOBAR)
    step("delete metric", "DELETE", "/v1/metric/{m2}")
    step("show deleted metric", "GET", "/v1/metric/{m2}")
    step("search metric", "POST", "/v1/search/metric?metric_id={m1}&granularity=1",
         {"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]})
    step("search metric or", "POST", "/v1/search/metric?metric_id={m1}",
         {"or": [{"=": 12}, {">": 40}]})
    step("search metric no body", "POST", "/v1/search/metric?metric_id={m1}", raw="",
         content_type=JSON)

    # Resource types.
    step("create type", "POST", "/v1/resource_type", {"name": "server", "attributes": {
        "flavor": {"type": "string", "required": True, "max_length": 20},
        "size": {"type": "number", "required": False, "min": 0, "max": 64.5},
        "image": {"type": "uuid", "required": False},
        "booted": {"type": "datetime", "required": False},
        "public": {"type": "bool", "required": False}}})
    step("create type again", "POST", "/v1/resource_type", {"name": "server"})
    step("create type bad attribute name", "POST", "/v1/resource_type",
         {"name": "t", "attributes": {"id": {"type": "string"}}})
    step("create type unknown attribute type", "POST", "/v1/resource_type",
         {"name": "t", "attributes": {"a": {"type": "foo"}}})
    step("create type bad option", "POST", "/v1/resource_type",
         {"name": "t", "attributes": {"a": {"type": "string", "max_length": "x"}}})
    step("create type min above max", "POST", "/v1/resource_type",
         {"name": "t", "attributes": {"a": {"type": "string", "min_length": 5,
                                            "max_length": 2}}})
    step("create type not admin", "POST", "/v1/resource_type", {"name": "t"}, user=FOOBAR)
    step("list types", "GET", "/v1/resource_type")
    step("show type", "GET", "/v1/resource_type/server")
    step("show type unknown", "GET", "/v1/resource_type/nope")
    step("patch type wrong content type", "PATCH", "/v1/resource_type/server",
         [{"op": "remove", "path": "/attributes/public"}])
    patch = "application/json-patch+json"
    step("patch type required without fill", "PATCH", "/v1/resource_type/server",
         [{"op": "add", "path": "/attributes/zone", "value": {"type": "string",
                                                              "required": True}}],
         content_type=patch)
    step("patch type change type", "PATCH", "/v1/resource_type/server",
         [{"op": "add", "path": "/attributes/flavor", "value": {"type": "number"}}],
         content_type=patch)
    step("patch type remove missing", "PATCH", "/v1/resource_type/server",
         [{"op": "remove", "path": "/attributes/nope"}], content_type=patch)
    step("patch type bad op", "PATCH", "/v1/resource_type/server",
         [{"op": "move", "path": "/attributes/public"}], content_type=patch)
    step("patch type bad path", "PATCH", "/v1/resource_type/server",
         [{"op": "remove", "path": "/name"}], content_type=patch)
    step("patch type", "PATCH", "/v1/resource_type/server", [
        {"op": "add", "path": "/attributes/zone",
         "value": {"type": "string", "required": True, "options": {"fill": "eu"}}},
        {"op": "remove", "path": "/attributes/public"}], content_type=patch)
    step("patch type unchanged", "PATCH", "/v1/resource_type/server", [
        {"op": "add", "path": "/attributes/zone",
         "value": {"type": "string", "required": True, "options": {"fill": "us"}}}],
        content_type=patch)
    step("create type to delete", "POST", "/v1/resource_type", {"name": "temporary"})
    step("delete type not admin", "DELETE", "/v1/resource_type/temporary", user=FOOBAR)
    step("delete type", "DELETE", "/v1/resource_type/temporary")
    step("delete type unknown", "DELETE", "/v1/resource_type/temporary")
    step("delete type generic", "DELETE", "/v1/resource_type/generic")

    # Resources.
    step("create generic", "POST", "/v1/resource/generic",
         {"id": "1.2.3.4", "started_at": "2014-01-03T02:02:02.000000", "user_id": "u1",
          "project_id": "p1"}, capture={"etag1": "header:etag"})
    step("create generic again", "POST", "/v1/resource/generic", {"id": "1.2.3.4"})
    step("create generic as foobar", "POST", "/v1/resource/generic", {"id": "1.2.3.4"},
         user=FOOBAR)
    step("create generic start after end", "POST", "/v1/resource/generic",
         {"id": "x", "started_at": "2015-01-01", "ended_at": "2014-01-01"})
    step("create generic extra key", "POST", "/v1/resource/generic", {"id": "x", "flavor": "a"})
    step("create generic slash", "POST", "/v1/resource/generic", {"id": "a/b"})
    step("create generic no id", "POST", "/v1/resource/generic", {"user_id": "u"})
    step("create resource unknown type", "POST", "/v1/resource/nope", {"id": "x"})
    step("create server", "POST", "/v1/resource/server",
         {"id": "vm1", "flavor": "m1.small", "size": 2, "zone": "eu",
          "image": "6EBFFE2E-3C3A-4C35-9B09-B6F4B4B9A1CC",
          "booted": "2024-01-01T10:00:00.5+02:00",
          "started_at": "2024-01-01T00:00:00",
          "metrics": {"cpu": {"archive_policy_name": "cookies"},
                      "disk.read": {}}},
         capture={"etag2": "header:etag", "cpu": "body:metrics.cpu"})
    step("create server missing required", "POST", "/v1/resource/server", {"id": "vm2"})
    step("create server wrong type", "POST", "/v1/resource/server",
         {"id": "vm2", "flavor": 3, "zone": "eu"})
    step("create server too big", "POST", "/v1/resource/server",
         {"id": "vm2", "flavor": "x", "zone": "eu", "size": 100})
    step("create server too long", "POST", "/v1/resource/server",
         {"id": "vm2", "flavor": "x" * 21, "zone": "eu"})
    step("create server bad uuid", "POST", "/v1/resource/server",
         {"id": "vm2", "flavor": "x", "zone": "eu", "image": "nope"})
    step("create server unknown metric", "POST", "/v1/resource/server",
         {"id": "vm2", "flavor": "x", "zone": "eu",
          "metrics": {"m": "8f0a4ee9-1111-4a4a-8888-123456789abc"}})
    step("create server metric no rule", "POST", "/v1/resource/server",
         {"id": "vm2", "flavor": "x", "zone": "eu", "metrics": {"nothing": {}}})
    step("show generic", "GET", "/v1/resource/generic/1.2.3.4")
    step("show generic by uuid", "GET",
         "/v1/resource/generic/a9c729cc-d1b0-5e6b-b5ba-8b5a7f45f1fc")
    step("show generic by foobar", "GET", "/v1/resource/generic/1.2.3.4", user=FOOBAR)
    step("show server", "GET", "/v1/resource/server/vm1")
    step("show server as generic", "GET", "/v1/resource/generic/vm1")
    step("show generic as server", "GET", "/v1/resource/server/1.2.3.4")
    step("show resource unknown", "GET", "/v1/resource/generic/nope")
    step("show if-none-match", "GET", "/v1/resource/generic/1.2.3.4",
         headers={"If-None-Match": "{etag1}"})
    step("show if-match other", "GET", "/v1/resource/generic/1.2.3.4",
         headers={"If-Match": '"abc"'})
    step("show if-modified-since", "GET", "/v1/resource/generic/1.2.3.4",
         headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"})
    step("show if-unmodified-since", "GET", "/v1/resource/generic/1.2.3.4",
         headers={"If-Unmodified-Since": "Thu, 01 Jan 2015 00:00:00 GMT"})
    step("patch server same", "PATCH", "/v1/resource/server/vm1", {"flavor": "m1.small"})
    step("patch server empty", "PATCH", "/v1/resource/server/vm1", {})
    step("patch server", "PATCH", "/v1/resource/server/vm1",
         {"flavor": "m1.large", "ended_at": "2030-01-01T00:00:00"})
    step("patch server id", "PATCH", "/v1/resource/server/vm1", {"id": "other"})
    step("patch server end before start", "PATCH", "/v1/resource/server/vm1",
         {"ended_at": "2000-01-01T00:00:00"})
    step("patch server precondition", "PATCH", "/v1/resource/server/vm1", {"flavor": "x"},
         headers={"If-Match": '"abc"'})
    step("patch server not owner", "PATCH", "/v1/resource/server/vm1", {"flavor": "x"},
         user=FOOBAR)
    step("history", "GET", "/v1/resource/server/vm1/history")
    step("history page", "GET", "/v1/resource/server/vm1/history?limit=1")
    step("history unknown", "GET", "/v1/resource/server/nope/history")
    step("resource metrics", "GET", "/v1/resource/server/vm1/metric?sort=name")
    step("resource add metric", "POST", "/v1/resource/server/vm1/metric",
         {"mem": {"archive_policy_name": "cookies", "unit": "B"}})
    step("resource add metric again", "POST", "/v1/resource/server/vm1/metric",
         {"mem": {"archive_policy_name": "cookies"}})
    step("resource add metric unknown policy", "POST", "/v1/resource/server/vm1/metric",
         {"net": {"archive_policy_name": "nope"}})
    step("resource metric", "GET", "/v1/resource/server/vm1/metric/cpu")
    step("resource metric unknown", "GET", "/v1/resource/server/vm1/metric/nope")
    step("resource metric unknown resource", "GET", "/v1/resource/server/vm9/metric/cpu")
    step("resource metric post measures", "POST", "/v1/resource/server/vm1/metric/cpu/measures",
         [{"timestamp": "2015-03-06T14:33:57", "value": 2}])
    step("resource metric get measures", "GET",
         "/v1/resource/server/vm1/metric/cpu/measures?refresh=true&granularity=1")
    step("metric create on resource", "POST", "/v1/metric",
         {"name": "mem", "archive_policy_name": "cookies",
          "resource_id": "1.2.3.4"})
    step("metric create on resource again", "POST", "/v1/metric",
         {"name": "mem", "archive_policy_name": "cookies", "resource_id": "1.2.3.4"})
    step("metric create on resource no name", "POST", "/v1/metric",
         {"archive_policy_name": "cookies", "resource_id": "1.2.3.4"})
    step("metric create on unknown resource", "POST", "/v1/metric",
         {"name": "x", "archive_policy_name": "cookies", "resource_id": "nope"})
    for i, (flavor, size, zone) in enumerate([("m1.tiny", 1, "a"), ("M1.small", 4, "b"),
                                              ("c5.large", 8, "a"), ("m1_x", 2, "c")]):
        step("create s%d" % i, "POST", "/v1/resource/server",
             {"id": "s%d" % i, "flavor": flavor, "size": size, "zone": zone,
              "started_at": "2024-01-0%dT00:00:00" % (i + 1)})
    step("list servers", "GET", "/v1/resource/server")
    step("list generic", "GET", "/v1/resource/generic?sort=started_at:desc")
    step("list generic details", "GET", "/v1/resource/generic?details=true&sort=id")
    step("list servers attrs", "GET", "/v1/resource/server?attrs=id&attrs=flavor&sort=flavor")
    step("list servers page", "GET", "/v1/resource/server?limit=2&sort=flavor:desc&details=yes")
    step("list servers history", "GET", "/v1/resource/server?history=true&sort=flavor")
    step("list servers bad sort", "GET", "/v1/resource/server?sort=nope")
    step("list servers bad direction", "GET", "/v1/resource/server?sort=flavor:up")
    step("list servers bad marker", "GET", "/v1/resource/server?marker=nope")
    step("list servers bad details", "GET", "/v1/resource/server?details=x")
    step("list unknown type", "GET", "/v1/resource/nope")
    for query in ["flavor like 'm1.%'", "size >= 4 or zone = 'c'", "id in [s0, s1]",
                  "not zone = 'a'", "nope = 1", "size = 'many'", "id == s0", "(("]:
        step("search " + query, "POST", "/v1/search/resource/server?sort=flavor&filter="
             + urllib_quote(query))
    step("search json", "POST", "/v1/search/resource/server?sort=flavor",
         {"and": [{"like": {"flavor": "m1%"}}, {">": {"size": 1}}]})
    step("search json invalid", "POST", "/v1/search/resource/server",
         {"and": [{"=": {"flavor": "a", "zone": "b"}}]})
    step("search json id like", "POST", "/v1/search/resource/server", {"like": {"id": "a%"}})
    step("search everything", "POST", "/v1/search/resource/generic?sort=id", raw="",
         content_type=JSON)
    step("search unknown type", "POST", "/v1/search/resource/nope", {})
    step("batch delete empty", "DELETE", "/v1/resource/server")
    step("batch delete", "DELETE", "/v1/resource/server", {"in": {"flavor": ["m1.tiny", "m1_x"]}})
    step("batch delete by filter", "DELETE", "/v1/resource/server?filter=" + urllib_quote("size = 8"))
    step("delete resource not owner", "DELETE", "/v1/resource/server/vm1", user=FOOBAR)
    step("delete resource", "DELETE", "/v1/resource/server/vm1")
    step("delete resource again", "DELETE", "/v1/resource/server/vm1")
    step("deleted resource metric", "GET", "/v1/metric/{cpu}")

    # Deployment: CORS and proxy headers.
    step("cors preflight", "OPTIONS", "/v1/archive_policy", user=None, accept=None,
         headers={"Origin": "http://foobar.com", "Access-Control-Request-Method": "POST",
                  "Access-Control-Request-Headers": "Content-Type, X-Auth-Token"})
    step("cors request", "GET", "/v1/archive_policy_rule",
         headers={"Origin": "http://foobar.com"})
    step("cors other origin", "GET", "/v1/archive_policy_rule",
         headers={"Origin": "http://other.com"})
    step("proxy headers", "POST", "/v1/archive_policy",
         {"name": "proxied", "definition": [{"granularity": 1}]},
         headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "example.org:9000",
                  "X-Forwarded-Prefix": "/metric"})
    step("forwarded header", "GET", "/",
         headers={"Forwarded": "proto=https;host=example.net"})


def urllib_quote(text):
    from urllib.parse import quote
    return quote(text)


def resolve(text, captured):
    for name, value in captured.items():
        text = text.replace("{%s}" % name, value)
    return text


def capture(spec, headers, body_text):
    source, _, key = spec.partition(":")
    if source == "header":
        return headers.get(key)
    value = json.loads(body_text)
    for part in key.split("."):
        value = value[part]
    return value


def main(host, session=session, out="real_gnocchi.json"):
    session()
    captured = {}
    recorded = []
    for s in STEPS:
        connection = http.client.HTTPConnection(host, timeout=30)
        path = resolve(s["path"], captured)
        headers = {k: resolve(v, captured) for k, v in s["headers"].items()}
        body = resolve(s["body"], captured).encode() if s["body"] is not None else None
        if "body_base64" in s:
            body = base64.b64decode(s["body_base64"])
        connection.request(s["method"], path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        for name, spec in s["capture"].items():
            captured[name] = capture(spec, answer_headers, text)
        recorded.append(dict(s, status=response.status,
                             response_headers={k: answer_headers[k] for k in KEPT_HEADERS
                                               if k in answer_headers},
                             response_body=text))
        connection.close()
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), out)
    with open(out, "w") as f:
        json.dump({"gnocchi_version": "4.7.1", "host": host, "max_limit": 7,
                   "cors_allowed_origin": "http://foobar.com", "steps": recorded},
                  f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("%d steps written to %s" % (len(recorded), out))


if __name__ == "__main__":
    main(sys.argv[1])
