"""Records what a real Gnocchi 4.7.1 answers for resource and resource-type
requests, as the admin user, into real_gnocchi.json.

Start a fresh real Gnocchi first (the oracle's real_gnocchi.sh, see its
README; the oracle lives outside this repository), then:

    .oracle-venv/bin/python tests/golden/resources/record_real_gnocchi.py http://127.0.0.1:18041

Every body is kept as parsed JSON plus the key order of the objects it
holds ("keys"), since key order is part of what carbonara reproduces.
Times (revision_start…) differ from run to run; tests compare the rest.
"""
import base64
import json
import os
import sys
import urllib.error
import urllib.request

ADMIN = "basic " + base64.b64encode(b"admin:").decode()


def call(base, method, path, body=None, content_type="application/json"):
    # A POST without body (searches by `filter=`) sends an empty one.
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", ADMIN)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return {"request": "%s %s" % (method, path), "sent": body, "status": status,
            "body": parsed, "keys": key_order(parsed)}


def key_order(value):
    if isinstance(value, dict):
        return list(value.keys())
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return list(value[0].keys())
    return None


def main(base):
    steps = []

    def step(name, *args, **kwargs):
        result = call(base, *args, **kwargs)
        result["name"] = name
        steps.append(result)
        return result

    step("create policy", "POST", "/v1/archive_policy", {
        "name": "cookies", "definition": [{"granularity": "1s", "points": 60}]})
    step("create type", "POST", "/v1/resource_type", {"name": "server", "attributes": {
        "flavor": {"type": "string", "required": True, "max_length": 20},
        "size": {"type": "number", "required": False, "min": 0, "max": 64.5},
        "image": {"type": "uuid", "required": False}}})
    step("create type again", "POST", "/v1/resource_type", {"name": "server"})
    step("bad attribute name", "POST", "/v1/resource_type",
         {"name": "t", "attributes": {"id": {"type": "string"}}})
    step("create generic", "POST", "/v1/resource/generic", {
        "id": "foobar", "started_at": "2014-01-03T02:02:02.000000",
        "user_id": "u1", "project_id": "p1"})
    step("create generic again", "POST", "/v1/resource/generic", {"id": "foobar"})
    step("start after end", "POST", "/v1/resource/generic", {
        "id": "x", "started_at": "2015-01-01", "ended_at": "2014-01-01"})
    step("create server", "POST", "/v1/resource/server", {
        "id": "vm1", "flavor": "m1.small", "size": 2,
        "started_at": "2024-01-01T00:00:00", "metrics": {"cpu": {"archive_policy_name": "cookies"}}})
    step("missing required", "POST", "/v1/resource/server", {"id": "vm2"})
    step("patch same value", "PATCH", "/v1/resource/server/vm1", {"flavor": "m1.small"})
    step("patch new value", "PATCH", "/v1/resource/server/vm1", {"flavor": "m1.large"})
    step("show server", "GET", "/v1/resource/server/vm1")
    step("show as generic", "GET", "/v1/resource/generic/vm1")
    step("history", "GET", "/v1/resource/server/vm1/history")
    step("required without fill", "PATCH", "/v1/resource_type/server",
         [{"op": "add", "path": "/attributes/zone", "value": {"type": "string", "required": True}}],
         content_type="application/json-patch+json")
    step("type change", "PATCH", "/v1/resource_type/server",
         [{"op": "add", "path": "/attributes/flavor", "value": {"type": "number"}}],
         content_type="application/json-patch+json")
    step("remove missing", "PATCH", "/v1/resource_type/server",
         [{"op": "remove", "path": "/attributes/nope"}],
         content_type="application/json-patch+json")
    step("update type", "PATCH", "/v1/resource_type/server", [
        {"op": "add", "path": "/attributes/zone",
         "value": {"type": "string", "required": True, "options": {"fill": "eu"}}},
        {"op": "add", "path": "/attributes/host", "value": {"type": "string", "required": False}},
        {"op": "remove", "path": "/attributes/image"},
        {"op": "add", "path": "/attributes/flavor",
         "value": {"type": "string", "required": False, "max_length": 20}}],
        content_type="application/json-patch+json")
    step("show after type update", "GET", "/v1/resource/server/vm1")
    step("history after type update", "GET", "/v1/resource/server/vm1/history")
    for i, (flavor, size, host) in enumerate([("m1.tiny", 1, "a"), ("M1.small", 4, None),
                                               ("c5.large", 8, "a"), ("m1_x", 2, "c")]):
        body = {"id": "s%d" % i, "flavor": flavor, "size": size, "zone": "eu"}
        if host is not None:
            body["host"] = host
        step("create s%d" % i, "POST", "/v1/resource/server", body)
    for query in ["flavor like 'm1.%'", "flavor like 'm1_%'", "host != 'a'", "not host = 'a'",
                  "host = null", "size >= 4 or size = 1 and host = 'a'", "size = '2'",
                  "id in [s0, s1]", "nope = 1", "size = 'many'", "id == s0"]:
        step("search " + query, "POST",
             "/v1/search/resource/server?filter=" + urllib.request.quote(query))
    for sort in ["flavor:desc", "host:asc", "host:asc-nullsfirst", "nope", "size:up"]:
        step("list sort " + sort, "GET", "/v1/resource/server?sort=" + urllib.request.quote(sort))
    metric = step("create metric on resource", "POST", "/v1/metric",
                  {"name": "mem", "archive_policy_name": "cookies", "resource_id": "foobar"})
    step("duplicate metric name", "POST", "/v1/metric",
         {"name": "mem", "archive_policy_name": "cookies", "resource_id": "foobar"})
    step("show metric", "GET", "/v1/metric/" + metric["body"]["id"])
    step("list metrics", "GET", "/v1/metric")
    step("delete resource", "DELETE", "/v1/resource/generic/foobar")
    step("list metrics after delete", "GET", "/v1/metric")

    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "real_gnocchi.json")
    with open(out, "w") as f:
        json.dump({"gnocchi_version": "4.7.1", "user": "admin", "steps": steps}, f,
                  indent=1, ensure_ascii=False)
        f.write("\n")
    print("%d steps written to %s" % (len(steps), out))


if __name__ == "__main__":
    main(sys.argv[1])
