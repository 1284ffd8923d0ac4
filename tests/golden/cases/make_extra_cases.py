#!/usr/bin/env python3
"""Writes the inputs of carbonara's own golden cases (x1-… beside the
shared g1-g7) and runs the real Gnocchi oracle on them. The inputs are
made here, deterministically; everything else in each case directory is
the oracle's output and is never edited by hand.

  VENV=.oracle-venv ORACLE=/path/to/oracle python3 tests/golden/cases/make_extra_cases.py
"""

import json
import math
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("VENV", ".oracle-venv")
ORACLE = os.environ.get("ORACLE", "../shared/oracle")
DAY = 86400
START = 1704067200  # 2024-01-01T00:00:00Z


def iso(seconds, nanos=0):
    import datetime
    base = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return base + (".%09d" % nanos if nanos else "")


def write_case(name, policy, batches, description):
    case = os.path.join(HERE, name)
    shutil.rmtree(case, ignore_errors=True)
    os.makedirs(case)
    with open(os.path.join(case, "policy.json"), "w") as f:
        json.dump(policy, f, sort_keys=True)
        f.write("\n")
    files = []
    for i, rows in enumerate(batches, 1):
        path = os.path.join(case, "batch-%04d.csv" % i)
        with open(path, "w") as f:
            f.write("metric,timestamp,value\n")
            for metric, timestamp, value in rows:
                f.write("%s,%s,%s\n" % (metric, timestamp, value))
        files.append(path)
    with open(os.path.join(case, "GENERATED_WITH"), "w") as f:
        f.write("tests/golden/cases/make_extra_cases.py: %s\n" % description)
    with open(os.path.join(case, "expected.json"), "w") as out:
        subprocess.run([os.path.join(VENV, "bin", "python"), os.path.join(ORACLE, "gnocchi_oracle.py"),
                        "--policy", os.path.join(case, "policy.json"), "--compact",
                        "--store", os.path.join(case, "gnocchi-store"), *files],
                       check=True, stdout=out)


def gap_across_splits():
    # 60 s buckets: a split spans 60 h. Six hours of data, ten days of
    # nothing, then two more batches: new splits far apart, old ones
    # cleaned up once the raw series' first block crosses a split boundary.
    rows = lambda first, hours, offset: [
        ("gap", first + i * 30, round(50 + 10 * math.sin(i / 40.0) + offset, 6)) for i in range(hours * 120)]
    return [rows(START, 6, 0), rows(START + 10 * DAY, 3, 1), rows(START + 13 * DAY, 2, 2)]


def extreme_values():
    values = ["1e308", "1.7976931348623157e308", "-1e308", "5e-324", "-0.0", "0.0", "-5e-324",
              "1e-300", "-2.5e307", "123456789.123456789", "nan", "inf", "-inf", "3", "-3"]
    rows = []
    for bucket, combo in enumerate([(0, 1), (2, 3), (4, 5), (1, 1, 0), (6, 7, 8), (9, 13, 14), (10, 3), (11, 12),
                                    (11, 3), (0, 2), (4, 4), (5, 4)]):
        for k, index in enumerate(combo):
            rows.append(("extreme", START + bucket * 60 + k * 7, values[index]))
    return [rows[: len(rows) // 2], rows[len(rows) // 2:]]


def counter_resets():
    rng = random.Random(301)
    batches, value = [], 0.0
    for batch in range(3):
        rows = []
        for i in range(900):
            t = START + batch * 900 * 10 + i * 10
            value += rng.uniform(0, 50)
            if rng.random() < 0.01:
                value = rng.uniform(0, 5)  # the counter restarts
            rows.append(("counter", t, round(value, 3)))
        batches.append(rows)
    return batches


def late_points(back_window):
    rows1 = [("late", START + i * 15, i) for i in range(400)]
    last = START + 399 * 15
    block = last - last % 60
    fbt = block - 60 * back_window
    rows2 = [("late", iso(fbt), 1000.5), ("late", iso(fbt - 1, 999999999), 2000.5),
             ("late", iso(fbt - 60), 3000.5), ("late", iso(fbt + 30, 1), 4000.5),
             ("late", START + 400 * 15, 5000.5), ("late", iso(fbt + 7), 6000.5)]
    rows3 = [("late", START + 600 * 15, 7), ("late", iso(fbt + 90), 8.25), ("late", iso(block - 600), 9.5)]
    return [rows1, rows2, rows3]


def even_percentiles():
    rng = random.Random(505)
    rows = []
    for bucket in range(40):
        count = (2, 4, 6, 3, 5, 2, 8, 1)[bucket % 8]
        for k in range(count):
            value = round(rng.uniform(-100, 100), 3) if bucket % 5 else float(k % 2)  # ties too
            rows.append(("pct", START + bucket * 60 + k * 5, value))
    return [rows[:100], rows[100:]]


def main():
    all_methods = ["mean", "median", "sum", "min", "max", "std", "count", "first", "last"]
    write_case("x1-gap-splits", {"name": "gap", "back_window": 0,
                                 "definition": [{"granularity": "1m", "points": 10000}, {"granularity": "1h", "timespan": "30d"}],
                                 "aggregation_methods": ["mean", "max", "count"]},
               gap_across_splits(), "a gap of ten days across several 60 h splits, then split cleanup")
    write_case("x2-extreme-values", {"name": "extreme", "back_window": 0,
                                     "definition": [{"granularity": "1m", "timespan": "1d"}],
                                     "aggregation_methods": all_methods + ["50pct", "90pct"]},
               extreme_values(), "huge, tiny, negative zero, NaN and infinite values")
    write_case("x3-rate-resets", {"name": "rates", "back_window": 0,
                                  "definition": [{"granularity": "1m", "timespan": "1d"}, {"granularity": "5m", "timespan": "7d"}],
                                  "aggregation_methods": ["rate:" + m for m in all_methods + ["95pct"]] + ["last"]},
               counter_resets(), "rate:* over a counter with restarts, three batches")
    for back_window in (1, 3):
        write_case("x4-back-window-%d" % back_window, {
            "name": "late%d" % back_window, "back_window": back_window,
            "definition": [{"granularity": "15s", "timespan": "1d"}, {"granularity": "1m", "timespan": "7d"}],
            "aggregation_methods": ["mean", "max", "count", "last"]},
            late_points(back_window), "late points at the first block timestamp and 1 ns before it")
    write_case("x5-even-percentiles", {"name": "pcts", "back_window": 0,
                                       "definition": [{"granularity": "1m", "timespan": "1d"}],
                                       "aggregation_methods": ["median", "1pct", "25pct", "33pct", "50pct", "67pct", "99pct"]},
               even_percentiles(), "median and percentiles on even counts and ties")


if __name__ == "__main__":
    sys.exit(main())
