"""Records what a real Gnocchi 4.7.1 answers to its write endpoints (batch
by metric and by resource, InfluxDB, Prometheus remote write), for
tests/it/serve/real.rs to replay against `carbonara serve`'s router.

Start a fresh real Gnocchi without metricd ($ORACLE: the oracle's
directory, outside this repository), then:

    GNOCCHI_METRICD=0 ORACLE_VENV=.oracle-venv GNOCCHI_API_PORT=18341 \\
        GNOCCHI_PG_PORT=55732 GNOCCHI_RUN_DIR=/tmp/gnocchi-serve2-run \\
        $ORACLE/real_gnocchi.sh reset
    .oracle-venv/bin/python tests/golden/serve/record_real_gnocchi_writes.py 127.0.0.1:18341

Steps are written as in record_real_gnocchi.py (whose recorder this
uses); Prometheus bodies are built with Gnocchi's own `remote_pb2` and
python-snappy and recorded in base64.
"""
import sys

import snappy
from gnocchi.rest.prometheus import remote_pb2

import record_real_gnocchi as recorder
from record_real_gnocchi import ADMIN, FOOBAR, JSON, step

PROTOBUF = "application/x-protobuf"
UNKNOWN_1 = "8F0A4EE9-1111-4A4A-8888-123456789ABC"
UNKNOWN_2 = "0b0a4ee9-2222-4a4a-8888-123456789abc"


def prometheus(series):
    """A snappy-compressed WriteRequest: [(labels, [(value, ms)])]."""
    request = remote_pb2.WriteRequest()
    for labels, samples in series:
        timeseries = request.timeseries.add()
        for name, value in labels:
            label = timeseries.labels.add()
            label.name, label.value = name, value
        for value, timestamp_ms in samples:
            sample = timeseries.samples.add()
            sample.value, sample.timestamp_ms = value, timestamp_ms
    return snappy.compress(request.SerializeToString())


def prom_step(name, series=None, body=None, user=ADMIN, accept=None):
    step(name, "POST", "/v1/prometheus/write", user=user, accept=accept,
         content_type=PROTOBUF,
         raw_bytes=body if body is not None else prometheus(series))


def influx_step(name, body, db="influxdb", user=ADMIN, headers=None, accept=JSON):
    step(name, "POST", "/v1/influxdb/write?db=" + db, raw=body, user=user, accept=accept,
         headers=headers)


def session():
    # Policies and rules: `auto.*`, `cpu.*` and `up` get `cookies`.
    step("create policy", "POST", "/v1/archive_policy",
         {"name": "cookies", "definition": [{"granularity": "1s", "points": 86400}]})
    for rule, pattern in [("auto", "auto.*"), ("influx", "cpu.*"), ("up", "up*")]:
        step("create rule " + rule, "POST", "/v1/archive_policy_rule",
             {"name": rule, "metric_pattern": pattern, "archive_policy_name": "cookies"})

    # Prometheus before its resource type exists: only those who may
    # create types may write.
    ok_series = [([("__name__", "up"), ("job", "node"), ("instance", "h:9100")],
                  [(1.0, 1425652437000), (0.0, 1425652438500)]),
                 ([("__name__", "up"), ("job", "api"), ("instance", "h:80"), ("code", "200")],
                  [(5.0, 1425652440000)])]
    prom_step("prometheus type missing not admin", ok_series, user=FOOBAR)
    prom_step("prometheus no credentials", ok_series, user=None)
    prom_step("prometheus write", ok_series)
    step("prometheus type", "GET", "/v1/resource_type/prometheus")
    step("prometheus resources", "GET",
         "/v1/resource/prometheus?sort=original_resource_id&attrs=id&attrs=original_resource_id"
         "&attrs=job&attrs=instance&attrs=type&attrs=creator")
    step("prometheus measures", "GET",
         "/v1/resource/prometheus/node@h:9100/metric/up/measures?refresh=true")
    prom_step("prometheus accept json", ok_series, accept=JSON)
    prom_step("prometheus accept html", ok_series, accept="text/html")
    prom_step("prometheus again, replacing a series", [
        ([("__name__", "up"), ("job", "node"), ("instance", "h:9100")], [(7.0, 1425652441000)]),
        ([("__name__", "up"), ("job", "node"), ("instance", "h:9100"), ("cpu", "1")],
         [(9.0, 1425652442000)]),
        ([("__name__", "up_total"), ("job", "node"), ("instance", "h:9100")],
         [(3.0, 1425652442000)])])
    step("prometheus measures after", "GET",
         "/v1/resource/prometheus/node@h:9100/metric/up/measures?refresh=true")
    step("prometheus new metric", "GET",
         "/v1/resource/prometheus/node@h:9100/metric/up_total/measures?refresh=true")
    prom_step("prometheus without samples", [([("__name__", "idle")], [])], user=FOOBAR)
    prom_step("prometheus foobar", [([("__name__", "up"), ("job", "node"),
                                      ("instance", "h:9100")], [(2.0, 1425652437000)])],
              user=FOOBAR)
    step("prometheus resources of foobar", "GET",
         "/v1/resource/prometheus?sort=original_resource_id&attrs=original_resource_id"
         "&attrs=creator", user=FOOBAR)
    prom_step("prometheus no rule", [([("__name__", "nothing")], [(1.0, 1000)])])
    prom_step("prometheus slash", [([("__name__", "up/down")], [(1.0, 1000)])])
    prom_step("prometheus before epoch", [([("__name__", "up")], [(1.0, -1000)])])
    prom_step("prometheus nameless", [([("job", "x")], [(1.0, 1000)])])
    prom_step("prometheus not snappy", body=b"garbage")
    prom_step("prometheus empty", body=b"")
    step("prometheus get", "GET", "/v1/prometheus/write")

    # InfluxDB.
    step("influx ping", "GET", "/v1/influxdb/ping", user=None, accept=None)
    step("influx ping any", "GET", "/v1/influxdb/ping", user=None, accept="*/*")
    step("influx ping json", "GET", "/v1/influxdb/ping", user=None)
    step("influx ping text", "GET", "/v1/influxdb/ping", user=None, accept="text/plain")
    step("influx ping head", "HEAD", "/v1/influxdb/ping", user=None, accept=None)
    step("influx ping post", "POST", "/v1/influxdb/ping", user=None, accept=None)
    step("influx query without q", "POST", "/v1/influxdb/query", user=None)
    step("influx create database", "POST", "/v1/influxdb/query?q=create+database+influxdb")
    step("influx create database again", "POST",
         "/v1/influxdb/query?q=CREATE+DATABASE+influxdb%3B")
    step("influx create quoted database", "POST",
         "/v1/influxdb/query?q=create+database+%22my+db%22")
    step("influx create database not admin", "POST",
         "/v1/influxdb/query?q=create+database+other", user=FOOBAR)
    step("influx create database no credentials", "POST",
         "/v1/influxdb/query?q=create+database+other", user=None)
    step("influx select", "POST", "/v1/influxdb/query?q=select+*+from+cpu")
    step("influx types", "GET", "/v1/resource_type")
    influx_step("influx write", "\n".join([
        "cpu,host=web1,region=eu/west usage=42.5,idle=3i,note=\"x\" 1425652437000000000",
        "",
        "cpu,host=web2 usage=1 1425652438000000000",
        "cpu,host=web1,region=eu/west usage=43.5 1425652439000000000",
    ]))
    step("influx resources", "GET",
         "/v1/resource/influxdb?sort=original_resource_id&attrs=original_resource_id"
         "&attrs=type&attrs=metrics")
    step("influx measures", "GET",
         "/v1/resource/influxdb/web1/metric/cpu.usage@region=eu_west/measures?refresh=true")
    influx_step("influx write tag header", "cpu,node=n1,host=h usage=5 1425652440000000000",
                headers={"X-Gnocchi-InfluxDB-Tag-Resource-ID": "node"})
    step("influx tag header metric", "GET",
         "/v1/resource/influxdb/n1/metric/cpu.usage@host=h/measures?refresh=true")
    influx_step("influx write missing tag", "cpu,host=a usage=1 1\ncpu usage=2 2")
    influx_step("influx write bad line", "cpu,host=a usage=1 1\n\ncpu,host=a usage=true 3")
    step("influx write not utf8", "POST", "/v1/influxdb/write",
         raw_bytes=b"cpu,host=a usage=1 1\ncpu,host=\xff usage=2 2")
    influx_step("influx write no rule", "mem,host=web1 used=1 1425652437000000000")
    influx_step("influx write empty", "")
    influx_step("influx write no credentials", "cpu,host=web1 usage=1 1", user=None)
    influx_step("influx write foobar", "cpu,host=web1 usage=7 1425652441000000000",
                user=FOOBAR)
    step("create generic resource", "POST", "/v1/resource/generic", {"id": "gen1"})
    influx_step("influx write resource of another type", "cpu,host=gen1 usage=1 1")
    influx_step("influx write quoted database", "cpu,host=q usage=1 1425652437000000000",
                db="my%20db")
    influx_step("influx write unknown database", "cpu,host=web1 usage=1 1", db="nope")
    step("influx write get", "GET", "/v1/influxdb/write")

    # Batch by metric id.
    step("create metric", "POST", "/v1/metric", {"archive_policy_name": "cookies"},
         capture={"m1": "body:id"})
    step("create metric foobar", "POST", "/v1/metric", {"archive_policy_name": "cookies"},
         user=FOOBAR, capture={"m2": "body:id"})
    step("batch metrics", "POST", "/v1/batch/metrics/measures",
         {"{m1}": [{"timestamp": "2015-03-06T14:33:57", "value": 43.1},
                   {"timestamp": "2015-03-06T14:34:12", "value": 12}],
          "{m2}": [{"timestamp": 1425652440, "value": "4"}]})
    step("batch metrics read", "GET", "/v1/metric/{m1}/measures?refresh=true")
    step("batch metrics read foobar's", "GET", "/v1/metric/{m2}/measures?refresh=true")
    step("batch metrics unknown", "POST", "/v1/batch/metrics/measures",
         {"{m1}": [], UNKNOWN_1: [], UNKNOWN_2: [{"timestamp": 1, "value": 1}]})
    step("batch metrics not uuid", "POST", "/v1/batch/metrics/measures", {"foo": []})
    step("batch metrics bad measures", "POST", "/v1/batch/metrics/measures",
         {"{m1}": [[1, 2]]})
    step("batch metrics bad value", "POST", "/v1/batch/metrics/measures",
         {"{m1}": [{"timestamp": 1, "value": "x"}]})
    step("batch metrics mixed timestamps", "POST", "/v1/batch/metrics/measures",
         {"{m1}": [{"timestamp": 1478012832, "value": 1},
                   {"timestamp": "-5 minutes", "value": 2}]})
    step("batch metrics not a dict", "POST", "/v1/batch/metrics/measures", [])
    step("batch metrics not json", "POST", "/v1/batch/metrics/measures", raw="{",
         content_type=JSON)
    step("batch metrics text", "POST", "/v1/batch/metrics/measures", raw="{}",
         content_type="text/plain")
    step("batch metrics empty", "POST", "/v1/batch/metrics/measures", {})
    step("batch metrics not owner", "POST", "/v1/batch/metrics/measures",
         {"{m1}": [{"timestamp": 1, "value": 1}]}, user=FOOBAR)
    step("batch metrics own", "POST", "/v1/batch/metrics/measures",
         {"{m2}": [{"timestamp": 1425652441, "value": 1}]}, user=FOOBAR)
    step("batch metrics no credentials", "POST", "/v1/batch/metrics/measures",
         {"{m1}": [{"timestamp": 1, "value": 1}]}, user=None)
    step("batch metrics no credentials unknown", "POST", "/v1/batch/metrics/measures",
         {UNKNOWN_1: []}, user=None)
    step("batch metrics no credentials bad body", "POST", "/v1/batch/metrics/measures",
         raw="{", content_type=JSON, user=None)
    step("batch metrics get", "GET", "/v1/batch/metrics/measures")

    # Batch by resource and metric name.
    step("create resource", "POST", "/v1/resource/generic",
         {"id": "r1", "metrics": {"auto.existing": {"archive_policy_name": "cookies"}}},
         capture={"r1": "body:id"})
    step("batch resources", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {"auto.existing": [{"timestamp": "2015-03-06T14:33:57", "value": 1}]}})
    step("batch resources read", "GET",
         "/v1/resource/generic/r1/metric/auto.existing/measures?refresh=true")
    step("batch resources unknown metrics", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {"auto.new": [], "other": [{"timestamp": 1, "value": 1}]},
          "nores": {"x": []}})
    step("batch resources create", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=true",
         {"r1": {"auto.existing": [{"timestamp": "2015-03-06T14:34:00", "value": 2}],
                 "auto.new": [{"timestamp": "2015-03-06T14:33:57", "value": 43.1}],
                 "newformat": {"archive_policy_name": "cookies", "unit": "ks",
                               "measures": [{"timestamp": "2015-03-06T14:34:12",
                                             "value": 42}]},
                 "auto.empty": []}})
    step("batch resources created", "GET", "/v1/resource/generic/r1/metric?sort=name")
    step("batch resources created read", "GET",
         "/v1/resource/generic/r1/metric/newformat/measures?refresh=true")
    step("batch resources existing read", "GET",
         "/v1/resource/generic/r1/metric/auto.existing/measures?refresh=true")
    step("batch resources create no rule", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=true",
         {"r1": {"norule": [{"timestamp": 1, "value": 1}]}})
    step("batch resources create unknown policy", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=yes",
         {"r1": {"m": {"archive_policy_name": "nope", "measures": []}}})
    step("batch resources create slash", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=1",
         {"r1": {"a/b": {"archive_policy_name": "cookies", "measures": []}}})
    step("batch resources create long unit", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=true",
         {"r1": {"m": {"archive_policy_name": "cookies", "unit": "u" * 32,
                       "measures": []}}})
    step("batch resources bad create_metrics", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=maybe",
         {"r1": {"auto.existing": []}})
    step("batch resources bad create_metrics empty body", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=maybe", {})
    step("batch resources extra key", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {"m": {"measures": [], "x": 1}}})
    step("batch resources unit not str", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {"m": {"measures": [], "unit": 5}}})
    step("batch resources no measures", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {"m": {"unit": "x"}}})
    step("batch resources not a dict", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": []})
    step("batch resources bad measures", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {"auto.existing": [["2015-03-06T14:33:57", 43.1]]}})
    step("batch resources slash id", "POST", "/v1/batch/resources/metrics/measures",
         {"a/b": {"m": []}})
    step("batch resources empty", "POST", "/v1/batch/resources/metrics/measures", {})
    step("batch resources empty resource", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {}})
    step("batch resources no credentials", "POST", "/v1/batch/resources/metrics/measures",
         raw="{", content_type=JSON, user=None)
    step("batch resources foobar's own id", "POST", "/v1/batch/resources/metrics/measures",
         {"r1": {"auto.existing": []}}, user=FOOBAR)
    step("batch resources foobar by uuid", "POST", "/v1/batch/resources/metrics/measures",
         {"{r1}": {"auto.existing": [{"timestamp": 1, "value": 1}]}}, user=FOOBAR)
    step("batch resources create on unknown resources", "POST",
         "/v1/batch/resources/metrics/measures?create_metrics=true",
         {"nores": {"auto.x": []}, "r1": {"auto.y": []}, "gone": {"auto.z": []}})

    # Dynamic aggregates over what was written above.
    def aggregates(name, body, query="", user=ADMIN, **kwargs):
        step("aggregates " + name, "POST", "/v1/aggregates" + query, body, user=user, **kwargs)

    aggregates("one metric", {"operations": "(metric {m1} mean)"})
    aggregates("two metrics", {"operations": ["aggregate", "mean",
                                              ["metric", ["{m1}", "mean"], ["{m2}", "mean"]]]},
               query="?fill=0")
    aggregates("arithmetic", {"operations": "(* (metric {m1} max) 2)"},
               query="?start=2015-03-06T14:34:00&granularity=1")
    aggregates("details", {"operations": "(metric {m1} mean)"}, query="?details=true")
    aggregates("overlap", {"operations": "(aggregate sum (metric ({m1} mean) ({m2} mean)))"},
               query="?needed_overlap=50")
    aggregates("unknown metric", {"operations": "(metric %s mean)" % UNKNOWN_2})
    aggregates("not a uuid", {"operations": "(metric foo mean)"})
    aggregates("unknown method", {"operations": "(metric {m1} wtf)"})
    aggregates("no metric", {"operations": "(+ 1 2)"})
    aggregates("no operations", {})
    aggregates("extra key", {"operations": "(metric {m1} mean)", "x": 1})
    aggregates("bad overlap", {"operations": "(metric {m1} mean)"}, query="?needed_overlap=x")
    aggregates("bad start", {"operations": "(metric {m1} mean)"}, query="?start=foo")
    aggregates("bad granularity", {"operations": "(metric {m1} mean)"},
               query="?granularity=foo")
    aggregates("bad fill", {"operations": "(metric {m1} mean)"}, query="?fill=nope")
    aggregates("bad details", {"operations": "(metric {m1} mean)"}, query="?details=x")
    aggregates("unknown granularity", {"operations": "(metric {m1} mean)"},
               query="?granularity=42")
    aggregates("not owner", {"operations": "(metric {m1} mean)"}, user=FOOBAR)
    aggregates("own metric", {"operations": "(metric {m2} mean)"}, user=FOOBAR)
    aggregates("no credentials", {"operations": "(metric {m1} mean)"}, user=None)
    step("aggregates text", "POST", "/v1/aggregates", raw="{}", content_type="text/plain")
    aggregates("by resource", {"resource_type": "generic", "search": {"=": {"id": "r1"}},
                               "operations": "(metric auto.existing mean)"})
    aggregates("by resource details", {"resource_type": "generic",
                                       "search": {"=": {"id": "r1"}},
                                       "operations": "(metric (auto.existing mean) "
                                                     "(newformat mean))"},
               query="?details=true")
    aggregates("by resource string search", {"resource_type": "generic", "search": "id = r1",
                                              "operations": "(metric auto.* mean)"})
    aggregates("by resource groupby", {"resource_type": "generic", "search": {},
                                       "operations": "(metric auto.existing mean)"},
               query="?groupby=id&groupby=project_id")
    aggregates("by resource no such metric", {"resource_type": "generic", "search": {},
                                              "operations": "(metric nope mean)"})
    aggregates("by resource unknown type", {"resource_type": "nope", "search": {},
                                            "operations": "(metric auto.existing mean)"})
    aggregates("by resource without search", {"resource_type": "generic",
                                              "operations": "(metric auto.existing mean)"})
    step("aggregates get", "GET", "/v1/aggregates")

    # The deprecated cross-metric aggregation.
    def aggregation(name, query, user=ADMIN):
        step("aggregation " + name, "GET", "/v1/aggregation/metric?" + query, user=user)

    aggregation("one metric", "metric={m1}")
    aggregation("one metric max", "metric={m1}&aggregation=max&start=2015-03-06T14:34:00")
    aggregation("two metrics", "metric={m1}&metric={m2}")
    aggregation("two metrics no overlap needed", "metric={m1}&metric={m2}&needed_overlap=0")
    aggregation("two metrics filled", "metric={m1}&metric={m2}&fill=0&reaggregation=max")
    aggregation("two metrics resampled",
                "metric={m1}&metric={m2}&fill=0&granularity=1&resample=60")
    aggregation("one metric resampled", "metric={m1}&granularity=1&resample=60")
    aggregation("resample without granularity", "metric={m1}&resample=60")
    aggregation("not a uuid", "metric=foo")
    aggregation("unknown metric", "metric=%s" % UNKNOWN_2)
    aggregation("unknown method", "metric={m1}&aggregation=wtf")
    aggregation("unknown method two metrics", "metric={m1}&metric={m2}&aggregation=wtf")
    aggregation("unknown granularity", "metric={m1}&granularity=42")
    aggregation("bad overlap", "metric={m1}&needed_overlap=x")
    aggregation("bad start", "metric={m1}&start=foo")
    aggregation("bad fill", "metric={m1}&fill=x")
    aggregation("bad refresh", "metric={m1}&refresh=x")
    aggregation("no metric", "start=0")
    aggregation("not owner", "metric={m1}", user=FOOBAR)
    step("aggregation post", "POST", "/v1/aggregation/metric?fill=0", ["{m1}", "{m2}"])
    step("aggregation post not uuid", "POST", "/v1/aggregation/metric", ["foo"])
    step("aggregation post not a list", "POST", "/v1/aggregation/metric", {"a": 1})
    step("aggregation by resource", "POST",
         "/v1/aggregation/resource/generic/metric/auto.existing", {"=": {"id": "r1"}})
    step("aggregation by resource filter", "POST",
         "/v1/aggregation/resource/generic/metric/auto.existing?filter=id%3Dr1")
    step("aggregation by resource groupby", "POST",
         "/v1/aggregation/resource/generic/metric/auto.existing?groupby=id&groupby=project_id",
         {})
    step("aggregation by resource bad groupby", "POST",
         "/v1/aggregation/resource/generic/metric/auto.existing?groupby=nope", {})
    step("aggregation by resource no such metric", "POST",
         "/v1/aggregation/resource/generic/metric/nothing", {})
    step("aggregation by resource unknown type", "POST",
         "/v1/aggregation/resource/nope/metric/auto.existing", {})
    step("aggregation by resource get", "GET",
         "/v1/aggregation/resource/generic/metric/auto.existing")
    step("aggregation other", "GET", "/v1/aggregation/other")


if __name__ == "__main__":
    recorder.main(sys.argv[1], session=session, out="real_gnocchi_writes.json")
