#!/usr/bin/env python3
"""Validates the JSON bodies of bodies.json with Gnocchi 4.7.1's own
schemas and writes what Gnocchi made of each to expected.json:

* "measures": a measure list as POST /v1/metric/ID/measures takes it
  (MeasuresListSchema), → [[timestamp ns, value], ...] or the 400 document;
* "by_metric": a POST /v1/batch/metrics/measures body
  (MetricsMeasuresBatchController.MeasuresBatchSchema);
* "by_resource": a POST /v1/batch/resources/metrics/measures body, the
  caller being "admin" (its schema, with ResourceID and the old and new
  measure forms).

The clock is fixed so that relative timestamps are reproducible.

    .oracle-venv/bin/python tests/golden/ingest/batch/make_cases.py
"""
import datetime
import functools
import json
import math
import os
from unittest import mock

import voluptuous
import webob.exc
from gnocchi import utils
from gnocchi.rest import api

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = datetime.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=datetime.timezone.utc)


def value_out(v):
    v = float(v)
    return v if math.isfinite(v) else repr(v)


def measures_out(measures):
    return [[int(m.timestamp.astype("int64")), value_out(m.value)] for m in measures]


def error_out(e):
    return {"cause": "Invalid input", "reason": str(e), "detail": [str(p) for p in e.path]}


def check(kind, body):
    try:
        if kind == "measures":
            return {"ok": measures_out(voluptuous.Schema(api.MeasuresListSchema, required=True)(body))}
        # As the handlers do: deserialize_and_validate(schema) wraps the
        # handler's Schema (required=False) in one with required=True.
        if kind == "by_metric":
            out = api.validate(api.MetricsMeasuresBatchController.MeasuresBatchSchema, body)
            return {"ok": [[str(k), measures_out(v)] for k, v in out.items()]}
        schema = voluptuous.Schema(
            {functools.partial(api.ResourceID, creator="admin"):
             {str: api.ResourcesMetricsMeasuresBatchController.BackwardCompatibleMeasuresList}})
        out = api.validate(schema, body)
        return {"ok": [[orig, str(rid), [[name, item.get("archive_policy_name"), item.get("unit"),
                                          measures_out(item["measures"])]
                                         for name, item in metrics.items()]]
                       for (orig, rid), metrics in out.items()]}
    except voluptuous.Invalid as e:
        return {"error": error_out(e)}
    except webob.exc.HTTPBadRequest as e:
        return {"error": e.json_body["description"] if e.content_type == "application/json"
                else json.loads(e.detail) if isinstance(e.detail, str) and e.detail.startswith("{")
                else e.detail}
    except Exception as e:  # what would be a 500 in Gnocchi
        return {"crash": type(e).__name__}


def main():
    with open(os.path.join(HERE, "bodies.json")) as f:
        cases = json.load(f)
    out = []
    with mock.patch.object(utils, "utcnow", return_value=NOW):
        for case in cases:
            out.append({**case, **check(case["kind"], case["body"])})
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump({"now_ns": int(NOW.timestamp()) * 10**9 + 123456000, "cases": out},
                  f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main()
