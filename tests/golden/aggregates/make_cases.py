#!/usr/bin/env python3
"""Golden cases for `measures show` and `aggregates`, made by the real
Gnocchi 4.7.1 (the oracle virtualenv's installed package).

The inputs (archive policies, metrics, one batch of measures) are written
here, deterministically; a real Gnocchi file store is built from them with
the oracle's deployment (its gnocchi_oracle.py: Gnocchi's
incoming and storage file drivers, one metricd pass); then every case is
answered by Gnocchi's own code, called the way its REST handlers call it:

* measures: `MetricController.get_measures` (rest/api.py) step by step,
  around `StorageDriver.get_aggregated_measures`;
* aggregates in metric-id mode: `AggregatesController.post` (rest/aggregates/
  api.py) step by step: `validate_qs`, the body schema, `extract_references`,
  the metric lookup, `get_measures_or_abort` → `processor.get_measures`;
* aggregates in resource mode: `AggregatesController._get_measures_by_name`
  and `get_measures_grouping` on stand-in resources (objects with an id,
  attributes and named metrics), since the oracle has no SQL indexer.

Errors are recorded with the HTTP status and the description Gnocchi's
`abort` gives them; an exception Gnocchi does not handle is recorded as a
500 with its type and message.

  VENV=.oracle-venv ORACLE=/path/to/oracle .oracle-venv/bin/python tests/golden/aggregates/make_cases.py

Writes policies.json, metrics.json, batch-0001.csv, measures.json,
aggregates.json and resources.json beside this script.
"""

import json
import math
import os
import random
import shutil
import sys
import tempfile
import types
import uuid
import warnings

warnings.filterwarnings("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.abspath(os.environ.get("ORACLE", os.path.join(HERE, "../../../../shared/oracle")))
sys.path.insert(0, ORACLE)

import numpy  # noqa: E402
import pecan  # noqa: E402
import webob.exc  # noqa: E402

import gnocchi_oracle as oracle  # noqa: E402
from gnocchi import calendar  # noqa: E402
from gnocchi import json as gnocchi_json  # noqa: E402
from gnocchi import storage  # noqa: E402
from gnocchi import utils  # noqa: E402
from gnocchi import indexer  # noqa: E402
from gnocchi.rest import api  # noqa: E402
from gnocchi.rest.aggregates import api as aggregates_api  # noqa: E402
from gnocchi.rest.aggregates import processor  # noqa: E402

POLICIES = [
    {"name": "cookies", "back_window": 0,
     "definition": [{"granularity": "1s", "timespan": "30d"},
                    {"granularity": "60s", "timespan": "30d"},
                    {"granularity": "300s", "timespan": "30d"}],
     "aggregation_methods": ["mean", "min", "max", "sum", "std", "count", "median", "first", "last",
                             "95pct", "rate:mean", "rate:max"]},
    {"name": "fivesec", "back_window": 0,
     "definition": [{"granularity": "5s", "timespan": "1d"}],
     "aggregation_methods": ["mean", "min", "max", "sum", "std", "count"]},
    {"name": "daily", "back_window": 0,
     "definition": [{"granularity": "1d", "timespan": "1095d"}],
     "aggregation_methods": ["mean", "min", "max", "sum", "std", "count", "median", "first", "last",
                             "50pct", "90pct", "rate:mean", "rate:sum", "rate:max"]},
    {"name": "minutely", "back_window": 0,
     "definition": [{"granularity": "60s", "timespan": "7d"}, {"granularity": "3600s", "timespan": "30d"}],
     "aggregation_methods": ["mean", "min", "max", "sum", "std", "count", "median"]},
]

MANY = ["r%02d" % i for i in range(12)]


def measures():
    """{metric name: (policy name, [(timestamp, value), ...])}."""
    m = {}
    a = lambda *rows: [("2015-03-06T" + t, v) for t, v in rows]
    # Dataset A of docs/gnocchi-semantics.md#example-datasets.
    m["m1"] = ("cookies", a(("14:33:57", 43.1), ("14:34:12", 12), ("14:34:15", -16), ("14:35:12", 9),
                            ("14:35:15", 11)))
    m["m2"] = ("cookies", a(("14:33:57", 2), ("14:34:12", 4), ("14:34:15", 5), ("14:35:12", 10),
                            ("14:35:15", 15)))
    m["m1x"] = ("cookies", m["m1"][1] + a(("14:37:00", 15), ("14:38:00", 15)))
    m["m3"] = ("fivesec", a(("14:33:57", 1), ("14:34:12", 2)))
    m["m4"] = ("cookies", [("2017-04-06T14:33:57", 20), ("2017-04-06T14:34:12", 10)])
    m["empty"] = ("cookies", [])
    m["nanny"] = ("cookies", a(("14:33:57", "nan"), ("14:34:12", "inf"), ("14:34:15", 5),
                               ("14:35:12", "-inf"), ("14:35:15", 2)))
    # Dataset B (2023-11-21).
    b = lambda *rows: [("2023-11-21T" + t, v) for t, v in rows]
    m["b3"] = ("cookies", b(("08:47:09", 19.5), ("08:48:33", 32), ("08:49:23", 11.3)))
    m["b4"] = ("cookies", b(("08:46:34", 1.2), ("08:48:33", 4.2), ("08:49:23", 3), ("08:50:11", 4.9)))
    # A counter with a reset, every 10 s.
    rng = random.Random(7)
    value, rows = 100.0, []
    for i in range(60):
        value += round(rng.uniform(0, 30), 2)
        if i == 37:
            value = 3.5
        rows.append((1425652200 + i * 10, round(value, 2)))
    m["counter"] = ("cookies", rows)
    # Twelve minutely series with gaps and values of mixed magnitudes, so
    # that the order of summation shows in the last bits.
    rng = random.Random(11)
    for name in MANY:
        rows = []
        for minute in range(240):
            if rng.random() < 0.85:
                v = rng.uniform(-1000, 1000) * 10 ** rng.randint(-6, 6)
                rows.append((1704067200 + minute * 60 + rng.randint(0, 59), float("%.12g" % v)))
        m[name] = ("minutely", rows)
    # The example of docs/gnocchi-semantics.md#calendar-resampling, and two
    # years of daily values.
    m["cal"] = ("daily", [("2015-03-01", 10), ("2015-03-06", 12), ("2015-04-01", 2), ("2015-04-06", 4),
                          ("2015-10-06", 7), ("2016-01-06", 12), ("2016-02-06", 4)])
    rng = random.Random(13)
    m["days"] = ("daily", [(1420070400 + d * 86400 + rng.randint(0, 86399), round(rng.uniform(-50, 150), 3))
                           for d in range(731) if rng.random() < 0.9])
    return m


def write_inputs(data):
    with open(os.path.join(HERE, "policies.json"), "w") as f:
        json.dump(POLICIES, f, indent=1, sort_keys=True)
        f.write("\n")
    metrics = {name: {"id": str(oracle.metric_uuid(name)), "policy": policy}
               for name, (policy, _) in sorted(data.items())}
    with open(os.path.join(HERE, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1, sort_keys=True)
        f.write("\n")
    path = os.path.join(HERE, "batch-0001.csv")
    with open(path, "w") as f:
        f.write("metric,timestamp,value\n")
        for name, (_, rows) in sorted(data.items()):
            for t, v in rows:
                f.write("%s,%s,%s\n" % (name, t, v))
    return metrics, path


class Deployment:
    def __init__(self, data, batch_path):
        self.base = tempfile.mkdtemp(prefix="gnocchi-aggregates-")
        self.dep = oracle.GnocchiFileDeployment(self.base, sacks=8, workers=1)
        self.policies = {p["name"]: oracle.build_archive_policy(p) for p in POLICIES}
        self.metrics = {}
        for name, (policy, _) in sorted(data.items()):
            self.metrics[name] = self.dep.get_or_create_metric(name, self.policies[policy])
        batch, _ = oracle.read_batch(batch_path)
        self.dep.post_measures(batch, None)
        self.dep.metricd_pass()
        self.by_id = {str(m.id): m for m in self.metrics.values()}
        # rest/aggregates/api.py reads the storage driver from pecan.request.
        aggregates_api.pecan = types.SimpleNamespace(
            request=types.SimpleNamespace(storage=self.dep.storage))

    def close(self):
        shutil.rmtree(self.base, ignore_errors=True)


def primitive(obj):
    """A response body as Gnocchi's JSON encoder sees it; numpy integers
    and booleans (count, comparisons) become floats (docs/differences.md#reading-measures-and-dynamic-aggregates)."""
    if isinstance(obj, (numpy.datetime64, numpy.timedelta64)):
        return gnocchi_json.to_primitive(obj)
    if isinstance(obj, (bool, numpy.bool_)):
        return float(obj)
    if isinstance(obj, (numpy.integer, int)) and not isinstance(obj, bool):
        return float(obj)
    if isinstance(obj, numpy.floating):
        return float(obj)
    if isinstance(obj, dict):
        return {primitive(k): primitive(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [primitive(v) for v in obj]
    return gnocchi_json.to_primitive(obj)


def answer(call):
    try:
        return {"status": 200, "body": primitive(call())}
    except webob.exc.HTTPException as e:
        return {"status": e.status_int, "error": primitive(e.detail)}
    except Exception as e:  # Gnocchi's unhandled errors: HTTP 500
        return {"status": 500, "error": "%s: %s" % (type(e).__name__, e)}


# --------------------------------------------------------------------------
# GET /v1/metric/<id>/measures (rest/api.py MetricController.get_measures)
# --------------------------------------------------------------------------

def rest_measures(d, metric, start=None, stop=None, aggregation="mean", granularity=None, resample=None):
    if resample:
        if not granularity:
            api.abort(400, 'A granularity must be specified to resample')
        try:
            resample = (resample if calendar.GROUPINGS.get(resample) else utils.to_timespan(resample))
        except ValueError as e:
            api.abort(400, str(e))
    if granularity is None:
        granularity = [dd.granularity for dd in metric.archive_policy.definition]
        start, stop, _, _, _ = api.validate_qs(start=start, stop=stop)
    else:
        start, stop, granularity, _, _ = api.validate_qs(start=start, stop=stop, granularity=granularity)
    if aggregation not in metric.archive_policy.aggregation_methods:
        api.abort(404, {"cause": "Aggregation method does not exist for this metric",
                        "detail": {"metric": metric.id, "aggregation_method": aggregation}})
    aggregations = []
    for g in sorted(granularity, reverse=True):
        agg = metric.archive_policy.get_aggregation(aggregation, g)
        if agg is None:
            api.abort(404, str(storage.AggregationDoesNotExist(metric, aggregation, g)))
        aggregations.append(agg)
    try:
        results = d.dep.storage.get_aggregated_measures({metric: aggregations}, start, stop, resample)[metric]
        return [(timestamp, results[key].aggregation.granularity, value)
                for key in sorted(results.keys(), reverse=True)
                for timestamp, value in results[key]]
    except storage.AggregationDoesNotExist as e:
        api.abort(404, str(e))
    except storage.MetricDoesNotExist:
        return []


def measures_cases(d):
    cases = []

    def case(metric, **params):
        result = answer(lambda: rest_measures(d, d.metrics[metric], **params))
        cases.append(dict(metric=metric, params=params, **result))

    days_methods = ["mean", "min", "max", "sum", "std", "count", "median", "first", "last", "50pct", "90pct"]
    for unit in ["Y", "H", "Q", "M", "W"]:
        for method in days_methods:
            case("days", aggregation=method, granularity="1d", resample=unit)
        case("cal", aggregation="mean", granularity="86400", resample=unit)
    for sampling in ["7d", "30d", "1w", "2592000", "1d"]:
        for method in days_methods + ["rate:mean", "rate:sum", "rate:max"]:
            case("days", aggregation=method, granularity="1d", resample=sampling)
    case("days", aggregation="rate:mean", granularity="1d", resample="W")
    case("days", aggregation="mean", granularity="1d", resample="30d", start="2015-03-15", stop="2016-02-01")
    case("days", aggregation="90pct", granularity="1d", resample="7d", start="2015-06-10T12:00:00")
    case("days", aggregation="mean", granularity="1d", resample="M", start="2015-03-15")
    case("days", aggregation="mean", granularity="1d", resample="M", stop="2015-06-15")
    case("days", aggregation="mean", granularity="1d", start="2016-12-01")
    case("days", aggregation="mean")
    for method in ["mean", "min", "max", "sum", "std", "count", "median", "first", "last", "95pct",
                   "rate:mean", "rate:max"]:
        case("m1", aggregation=method)
    case("m1", granularity="60", resample="120")
    case("m1", granularity="60", resample="2min", aggregation="rate:max")
    case("m1", granularity="60", resample="1")
    case("m1", granularity="1", resample="300", aggregation="95pct")
    case("counter", granularity="1", resample="60", aggregation="rate:mean")
    case("counter", granularity="60", resample="300", aggregation="rate:max")
    case("counter", aggregation="rate:mean", start="2015-03-06T14:33:20", stop="1425652500")
    case("m1", start="2015-03-06T14:34")
    case("m1", start="2015-03-06T14:34:12", stop="2015-03-06T14:35:13")
    case("m1", start="1425652452", stop="1425652512.5")
    case("m1", start="2015-03-06T15:34:12+01:00")
    case("m1", stop="2015-03-06 14:35")
    case("empty")
    case("empty", granularity="60", resample="Y")
    case("nanny", aggregation="max")
    case("nanny", aggregation="mean", granularity="300", resample="600")
    # Errors.
    case("m1", resample="60")
    case("m1", granularity="1", resample="foo")
    case("m1", granularity="1", resample="y")
    case("m1", granularity="foo")
    case("m1", granularity="42")
    case("m1", aggregation="90pct")
    case("m1", start="foo")
    case("m1", stop="2015-13-01")
    return cases


# --------------------------------------------------------------------------
# POST /v1/aggregates (rest/aggregates/api.py AggregatesController.post)
# --------------------------------------------------------------------------

def rest_aggregates(d, operations, start=None, stop=None, granularity=None, needed_overlap=None, fill=None):
    if fill is None and needed_overlap is None:
        fill = "dropna"
    start, stop, granularity, needed_overlap, fill = api.validate_qs(start, stop, granularity, needed_overlap, fill)
    if start:
        start = numpy.datetime64(start)
    if stop:
        stop = numpy.datetime64(stop)
    body = api.validate(aggregates_api.AggregatesController.FetchSchema, {"operations": operations})
    references = aggregates_api.extract_references(body["operations"])
    if not references:
        api.abort(400, {"cause": "Operations is invalid", "reason": "At least one 'metric' is required",
                        "detail": body["operations"]})
    try:
        metric_ids = set(str(utils.UUID(m)) for (m, a) in references)
    except ValueError as e:
        api.abort(400, {"cause": "Invalid metric references", "reason": str(e), "detail": references})
    metrics = [d.by_id[i] for i in sorted(metric_ids) if i in d.by_id]
    missing = sorted(set(metric_ids) - set(str(m.id) for m in metrics))
    if missing:
        api.abort(404, {"cause": "Unknown metrics", "reason": "Provided metrics don't exists", "detail": missing})
    references = [processor.MetricReference(d.by_id[m], a) for (m, a) in references]
    return {"measures": aggregates_api.get_measures_or_abort(
        references, body["operations"], start, stop, granularity, needed_overlap, fill)}


def substitute(template, d):
    """Metric names in braces become their ids, in strings and JSON lists."""
    if isinstance(template, str):
        out = template
        for name in sorted(d.metrics, key=len, reverse=True):
            out = out.replace("{%s}" % name, str(d.metrics[name].id))
        return out
    if isinstance(template, list):
        return [substitute(t, d) for t in template]
    return template


def aggregates_cases(d):
    cases = []

    def case(operations, **params):
        ops = substitute(operations, d)
        result = answer(lambda: rest_aggregates(d, ops, **params))
        cases.append(dict(operations=ops, params=params, **result))

    pair = "(metric ({m1} mean) ({m2} mean))"
    many = "(metric %s)" % " ".join("({%s} mean)" % n for n in MANY)
    reducers = ["mean", "median", "std", "min", "max", "sum", "var", "count"]
    # Selection.
    case("(metric {m1} mean)")
    case(pair)
    case("(metric ({m1} mean) ({m1} max))")
    case("(metric ({m1} mean) ({m1} mean))")
    case("(metric ({m2} mean) ({m1} 95pct) ({m1} rate:mean))")
    case("(metric {empty} mean)")
    # aggregate: every reducer and its rate, on two and on twelve series.
    for agg in reducers:
        for method in [agg, "rate:" + agg]:
            case("(aggregate %s %s)" % (method, pair))
            case("(aggregate %s %s)" % (method, many))
            case("(aggregate %s %s)" % (method, many), fill="null", granularity="60")
            case("(aggregate %s %s)" % (method, many), fill="0", granularity="3600")
        # One grid row: numpy sums it pairwise.
        case("(aggregate %s %s)" % (agg, many), granularity="60",
             start="2024-01-01T01:00:00", stop="2024-01-01T01:01:00", fill="null")
        case("(aggregate %s (* %s 1.1))" % (agg, many), granularity="60",
             start="2024-01-01T02:00:00", stop="2024-01-01T02:01:00")
    case("(aggregate mean (metric {m1} mean))")
    case("(aggregate sum (metric ({empty} mean) ({m1} mean)))", fill="null")
    case("(aggregate mean (metric ({nanny} mean) ({m2} mean)))", fill="null")
    # rolling
    for agg in reducers:
        for method in [agg, "rate:" + agg]:
            case("(rolling %s 2 %s)" % (method, pair), granularity="1")
            case("(rolling %s 3 %s)" % (method, pair), granularity="60")
        for window in [9, 20, 130]:
            case("(rolling %s %d (metric ({r00} mean) ({r01} mean) ({r02} mean)))" % (agg, window),
                 granularity="60", fill="null")
    case("(rolling mean 3 %s)" % pair, granularity="300")
    case("(rolling mean 6 %s)" % pair, granularity="1")
    case("(rolling sum 1 (metric {nanny} mean))", fill="null")
    # resample (4.7.1 accepts the reducers' names)
    for agg in reducers:
        for method in [agg, "rate:" + agg]:
            case("(resample %s 60 %s)" % (method, pair), granularity="1")
            case("(resample %s 300 (metric {counter} mean))" % method, granularity="1")
    case("(resample mean 5min %s)" % pair, granularity="1")
    case("(resample mean 1d %s)" % pair)
    case("(resample max 1 %s)" % pair, granularity="1")
    case("(resample mean 60 (metric ({m1} mean) ({m4} mean)))", granularity="1", fill="null")
    case("(resample sum 120 (metric ({m1} mean) ({m4} mean)))", granularity="1", fill="0")
    case("(aggregate mean (resample mean 60 (metric ({m1} mean) ({m2} mean))))", granularity="1")
    case("(negative (resample mean 60 (metric {m1} mean)))", granularity="1")
    case("(resample mean 3600 %s)" % many, granularity="60")
    # Arithmetic, comparisons, max, clips: series-scalar, scalar-series, series-series.
    binary = ["+", "add", "-", "sub", "*", "×", "mul", "/", "÷", "div", "%", "mod", "**", "^", "pow",
              "=", "==", "eq", "!=", "≠", "ne", "<", "lt", "<=", "≤", "le", ">", "gt", ">=", "≥", "ge",
              "clip_min", "clip_max", "max"]
    for op in binary:
        case("(%s (metric {m1} mean) 2)" % op)
        case("(%s -3 (metric ({m1} mean) ({m2} mean)))" % op, granularity="1")
        case("(%s (metric {m1} mean) (metric {m2} mean))" % op)
        case("(%s (metric {nanny} mean) (metric {m2} mean))" % op, fill="null", granularity="1")
    case("(% (metric {m1} mean) -3)", granularity="1")
    case("(** (metric {m1} mean) 0.5)", granularity="1", fill="null")
    case("(/ (metric {m1} mean) 0)")
    case("(/ (metric {m1} mean) 0)", fill="null")
    case("(/ (* 100 (aggregate mean %s)) 0 )" % pair, fill="null")
    case("(> (metric ({m1} mean) ({m4} mean)) 20)", fill="null", granularity="1")
    case("(clip (metric {m1} mean) 0 20)", granularity="1")
    case("(clip (metric {m1} mean) 10)", granularity="1")
    case("(clip (metric ({m1} mean) ({m2} mean)) -5 5)", granularity="1")
    case("(clip (metric {m1} mean) (metric {m2} mean) (metric {m2} max))", granularity="1")
    case("(clip_min (metric ({m1} mean) ({m4} mean)) 10)", fill="0", granularity="1")
    case("(clip_max (metric ({m1} mean) ({m4} mean)) 10)", fill="0", granularity="1")
    case("(* (aggregate mean %s) 4)" % pair)
    case("(- (metric {m1} mean) (metric {m2} mean)))")
    case("(+ (metric ({m1} mean) ({m2} mean)) 2.0)")
    case("(+ (metric ({m1} mean) ({m2} mean)) (metric {m4} mean))", fill="null")
    case("(- (rolling mean 2 (metric {m1} mean)) (metric {m1} mean))", granularity="1")
    case("(max (metric {nanny} mean) (metric {m2} mean))", fill="null", granularity="1")
    case("(* (aggregate count %s) 1.5)" % many, granularity="60")
    # Unary functions.
    for op in ["abs", "absolute", "neg", "negative", "cos", "sin", "tan", "floor", "ceil",
               "rateofchange", "rateofchangesec"]:
        case("(%s (metric ({m1} mean) ({m2} mean)))" % op)
        case("(%s (metric {nanny} mean))" % op, fill="null", granularity="1")
    case("(rateofchange (aggregate mean %s))" % pair)
    case("(rateofchangesec (metric {counter} mean))", granularity="60")
    # Fill modes and needed_overlap.
    fills = [None, "null", "dropna", "0", "123", "-1.5", "ffill", "bfill", "full_ffill", "full_bfill", "nan", "1e3"]
    for fill in fills:
        case("(metric ({m1} mean) ({m4} mean))", fill=fill)
        case("(metric ({m1x} mean) ({m2} mean))", fill=fill)
        case("(aggregate mean (- (metric {b3} mean) (metric {b4} mean)))", granularity="1", fill=fill)
        case("(aggregate mean (- (metric {b3} mean) (metric {empty} mean)))", granularity="1", fill=fill)
        case("(aggregate mean (metric ({m1} mean) ({m2} mean)))", granularity="1", fill=fill,
             needed_overlap="50")
    for overlap in ["0", "50", "66", "100", "100.0", "1e2"]:
        case(pair, needed_overlap=overlap)
        case("(metric ({m1} mean) ({m4} mean))", needed_overlap=overlap)
        case("(aggregate mean (metric ({b3} mean) ({b4} mean)))", granularity="1", needed_overlap=overlap)
        case("(aggregate mean (metric ({b3} mean) ({b4} mean)))", granularity="1", needed_overlap=overlap,
             start="2023-11-21T08:46:00", stop="2023-11-21T08:51:00")
        case("(aggregate mean (metric ({b3} mean) ({b4} mean)))", granularity="1", needed_overlap=overlap,
             stop="2023-11-21T08:50:00")
        case("(metric ({b3} mean) ({empty} mean))", needed_overlap=overlap)
    # Time range and granularity.
    case(pair, start="2015-03-06T14:34:00", stop="2015-03-06T14:35:13")
    case(pair, start="1425652440", granularity="60")
    case(pair, start="2015-03-06T14:34:13", granularity="300")
    case(pair, stop="2015-03-06T14:34:00", granularity="1")
    case(pair, granularity="5min")
    # Errors with data.
    case("(metric {m1} mean)", granularity="123")
    case("(metric ({m1} mean) ({m2} mean) ({m3} mean))")
    case("(metric ({m1} mean) ({m3} mean))", granularity="5")
    case("(metric ({m1} mean) ({m3} mean))", granularity="1")
    case("(metric ({m3} mean) ({m1} mean))", granularity="1")
    case("(metric ({m1} mean) ({m2} what?))")
    case("(metric ({m1} 90pct) ({m2} what?))")
    case("(metric ({m1} mean) ({m1x} mean))", granularity="1", needed_overlap="100")
    case("(metric {m1} mean)", needed_overlap="100")
    case("(metric ({m1} mean) (ffffffff-ffff-4fff-bfff-ffffffffffff mean))")
    case("(metric ({m1} mean) (foo mean))")
    case("(metric ({m1} mean) ({m2}X mean))")
    case("(rolling mean 5 %s)" % pair, granularity="60")
    case("(rolling mean 2 (metric {empty} mean))")
    case("(resample var 60 %s)" % pair, granularity="1")
    case("(resample rate:var 60 %s)" % pair, granularity="1")
    case("(+ 1 2)")
    case("(aggregate mean (+ 1 2))")
    # Query parameters.
    case(pair, start="foo")
    case(pair, stop="2015-02-30")
    case(pair, granularity="foo")
    case(pair, granularity="0")
    case(pair, granularity="-60")
    case(pair, needed_overlap="x")
    case(pair, fill="x")
    case(pair, fill="NULL")
    # JSON form.
    case(["aggregate", "mean", ["metric", ["{m1}", "mean"], ["{m2}", "mean"]]])
    case(["metric", "{m1}", "mean"])
    case(["*", ["metric", "{m1}", "mean"], "4"])
    case(["*", ["metric", "{m1}", "mean"], True])
    case(["rolling", "mean", "2", ["metric", ["{m1}", "mean"], ["{m2}", "mean"]]], granularity="1")
    case(["rolling", "mean", 2.7, ["metric", ["{m1}", "mean"], ["{m2}", "mean"]]], granularity="1")
    case(["resample", "mean", "60", ["metric", "{m1}", "mean"]], granularity="1")
    case(["resample", "mean", 90.5, ["metric", "{m1}", "mean"]], granularity="1")
    case(["clip", ["metric", "{m1}", "mean"], 0, "20"], granularity="1")
    case(["metric", ["{m1}", "mean"], ["{m1}", "mean"], ["{m2}", "max"]])
    case(["+", ["metric", "{m1}", "mean"], ["metric", "{m2}", "mean"], 3])
    # Language errors: what the parser and the schema say.
    for bad in parse_errors():
        case(bad)
    return cases


def parse_errors():
    return [
        [], ["metric"], {"foo": "bar"}, ["notexist", 1], [["metric", "a", "mean"]],
        ["metric", ["a", "mean"], "b"], ["metric", 1, "mean"], ["metric", ["a", "mean"], ["b"]],
        ["metric", ["a", "mean"], ["b", 5]], ["metric", "a", "mean", "max"],
        ["+", ["metric", "a"], 1], ["+", ["+", ["metric", "a", "mean"], ["metric"]], 1],
        ["aggregate", "mean", ["metric", ["a", "mean"], ["b"]]], ["+", ["metric", "a", "mean"], None],
        ["+", ["metric", "a", "mean"], "x"], ["+", ["metric", "a", "mean"], [1]],
        [1, ["metric", "a", "mean"]], [None], [True, 1], [1.5], [{"a": 1}], [["x"], 1],
        ["rolling", "mean", 0, ["metric", "a", "mean"]], ["rolling", "mean", "2.5", ["metric", "a", "mean"]],
        ["resample", "mean", "W", ["metric", "a", "mean"]], ["resample", "last", 60, ["metric", "a", "mean"]],
        ["resample", "mean", -5, ["metric", "a", "mean"]], ["aggregate", "95pct", ["metric", "a", "mean"]],
        ["clip", ["metric", "a", "mean"], 1, 2, 3], ["abs", ["metric", "a", "mean"], 1],
        ["rateofchange"], ["metric", "it's", "mean"], ["ab'c\"d", 1],
        "", "   ", "(metroc foo bar", "x (metric a mean)", "5", "()", "(())", "((metric a mean))",
        "(metric a)", "(metric a mean max)", "(metric (a) )", "(metric (a mean max))", "(metric ((a mean)))",
        "(metric (a mean) b)", "(metric (a mean) (b))", "(+ (metric a mean))", "(+ (metric a mean) \"4\")",
        "(+ (metric a mean) 1x)", "(+ (metric a) 1)", "(aggregate mean)", "(aggregate foo (metric a mean))",
        "(aggregate 95pct (metric a mean))", "(rolling blah 2 (metric a mean))", "(rolling mean (metric a mean))",
        "(rolling mean 0 (metric a mean))", "(rolling mean 2.5 (metric a mean))", "(rolling mean -1 (metric a mean))",
        "(rolling mean 1e1 (metric a mean))", "(resample mean invalid (metric a mean))",
        "(resample mean W (metric a mean))", "(resample last 60 (metric a mean))", "(resample mean 0 (metric a mean))",
        "(resample mean -5 (metric a mean))", "(clip (metric a mean) 1 2 3)", "(abs (metric a mean) 1)",
        "(ABS (metric a mean))", "(notexist 1)", "(metric a mean", ")(", "(a (b c", "((", "(a (b) (c",
        "\t(metric a", "\n\n  (metric\n a (", "é", "   é", "abcdefghijklmnopqrstuvwxyz", "_x", "#x", "\\",
        "'x'", "\"x\"", "[x", "\u00a0(metric a mean)", "\x0b(metric a mean)", "x\t(metric a mean)",
        "(+ (metric a mean) (metric (b mean) (c)))", "(aggregate mean (rolling mean 2 (metric a)))",
        "(- (metric a mean) (+ (metric (b mean)) 2))",
    ]


# --------------------------------------------------------------------------
# Resource mode: references built as _get_measures_by_name builds them
# --------------------------------------------------------------------------

class Resource:
    def __init__(self, rid, attributes, metrics):
        self.id = uuid.UUID(rid)
        self.attributes = attributes
        self.metrics = metrics

    def __getitem__(self, key):
        return self.id if key == "id" else self.attributes[key]


def resources_cases(d):
    """Three generic resources (dataset C of docs/gnocchi-semantics.md#example-datasets), each with
    named metrics; what the resource-mode engine must give for them."""
    metric = lambda name: d.metrics[name]
    named = _renamed
    resources = [
        Resource("6868da77-fa82-4e67-aba9-270c5ae8cbca", {"project_id": "P1", "user_id": "U", "flavor": 1.0},
                 [named("cpu.util", metric("m1")), named("cpu.idle", metric("empty")), named("noway", metric("empty"))]),
        Resource("f93450f2-d8a5-4d67-9985-02511241e7d1", {"project_id": "P1", "user_id": "U", "flavor": 2.0},
                 [named("cpu.util", metric("m2")), named("unique.stuff", metric("m1x"))]),
        Resource("0fa0f58e-01a6-4d8c-9c43-e01fa2d4b3c4", {"project_id": "P2", "user_id": "U", "flavor": 1.0},
                 [named("cpu.util", metric("b3"))]),
    ]
    cases = []

    def case(operations, groupby=None, **params):
        def call():
            fill, needed_overlap = params.get("fill"), params.get("needed_overlap")
            if fill is None and needed_overlap is None:
                fill = "dropna"
            start, stop, granularity, needed_overlap, fill = api.validate_qs(
                params.get("start"), params.get("stop"), params.get("granularity"), needed_overlap, fill)
            body = api.validate(aggregates_api.AggregatesController.FetchSchema, {"operations": operations})
            references = aggregates_api.extract_references(body["operations"])
            try:
                if not groupby:
                    return aggregates_api.AggregatesController._get_measures_by_name(
                        resources, references, body["operations"], start, stop, granularity,
                        needed_overlap, fill, details=False)
                keys = sorted(set(groupby))
                ordered = sorted(resources, key=lambda r: tuple(r[k] for k in keys) + (str(r.id),))
                controller = aggregates_api.AggregatesController
                results = controller.get_measures_grouping(
                    controller, body, False, fill, granularity, needed_overlap, references, ordered,
                    start, stop, keys)
            except indexer.NoSuchMetric as e:
                api.abort(404, str(e))
            if not results:
                api.abort(404, str(indexer.NoSuchMetric(sorted(set(m for (m, a) in references)))))
            return results
        result = answer(call)
        cases.append(dict(operations=operations, groupby=groupby, params=params, **result))

    case("(aggregate mean (metric cpu.util mean))")
    case("(metric (cpu.* mean) (*way mean))")
    case("(metric cpu.util mean)", granularity="1")
    case("(aggregate mean (metric cpu.util mean))", groupby=["project_id", "user_id"])
    case("(aggregate max (metric (cpu.util mean) (unique.* max)))", groupby=["flavor"])
    case("(> (metric cpu.util mean) 20)")
    case("(metric (cpu.util mean) (cpu.u?il mean))", granularity="300")
    case("(/ (* 100 (aggregate mean (metric cpu.util mean))) 0 )", fill="null")
    case("(aggregate mean (metric (notexists mean) (foobar mean)))")
    case("(aggregate mean (metric unique.stuff mean))", groupby=["project_id"])
    case("(aggregate mean (metric nothing.* mean))", groupby=["project_id"])
    case("(metric noway mean)")
    return [{"id": str(r.id), "attributes": r.attributes,
             "metrics": {m.name: next(n for n, x in d.metrics.items() if x is m._source) for m in r.metrics}}
            for r in resources], cases


def _renamed(name, metric):
    """The same stored metric under another name, as a resource sees it."""
    copy = indexer.Metric(metric.id, metric.archive_policy, creator=metric.creator, name=name)
    copy._source = metric
    return copy


def main():
    data = measures()
    _, batch_path = write_inputs(data)
    d = Deployment(data, batch_path)
    try:
        outputs = {"measures.json": measures_cases(d), "aggregates.json": aggregates_cases(d)}
        resources, cases = resources_cases(d)
        outputs["resources.json"] = {"resources": resources, "cases": cases}
    finally:
        d.close()
    for name, doc in outputs.items():
        with open(os.path.join(HERE, name), "w") as f:
            f.write(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False))
            f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
