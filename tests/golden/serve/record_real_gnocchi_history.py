"""Records what a real Gnocchi 4.7.1 answers to `POST /v1/aggregates` with
`groupby` and `use_history=true` where the numbers depend on the grouping's
windows, for tests/it/serve/real.rs to replay against `carbonara serve`'s
router.

Start a fresh real Gnocchi without metricd ($ORACLE: the oracle's
directory, outside this repository), then:

    GNOCCHI_METRICD=0 ORACLE_VENV=.oracle-venv GNOCCHI_API_PORT=18741 \\
        GNOCCHI_PG_PORT=55792 GNOCCHI_RUN_DIR=/tmp/gnocchi-history-run \\
        $ORACLE/real_gnocchi.sh start
    .oracle-venv/bin/python tests/golden/serve/record_real_gnocchi_history.py 127.0.0.1:18741

Revisions begin when the requests run, so every window edge that decides a
number is a `start` or `stop` in 2099, after any revision began: the
answers do not depend on when the session was recorded or replayed.
"""
import sys

import record_real_gnocchi as recorder
from record_real_gnocchi import step

AGGREGATE_SUM = "(aggregate sum (metric cpu mean))"


def aggregates(name, query, search="id = 'a'"):
    step(name, "POST", "/v1/aggregates?groupby=flavor&use_history=true" + query,
         {"resource_type": "server", "search": search, "operations": AGGREGATE_SUM})


def session():
    step("create policy", "POST", "/v1/archive_policy",
         {"name": "hourly", "aggregation_methods": ["mean"],
          "definition": [{"granularity": "1h", "points": 48}]})
    step("create type", "POST", "/v1/resource_type",
         {"name": "server", "attributes": {"flavor": {"type": "string", "required": False}}})
    # a and b: flavor small; c: large, then small.
    for resource, flavor in [("a", "small"), ("b", "small"), ("c", "large")]:
        step("create " + resource, "POST", "/v1/resource/server",
             {"id": resource, "flavor": flavor,
              "metrics": {"cpu": {"archive_policy_name": "hourly"}}})
    for resource, values in [("a", [1, 2, 4]), ("b", [8, 16, 32]), ("c", [64, 128, 256])]:
        step("measures " + resource, "POST",
             "/v1/resource/server/%s/metric/cpu/measures" % resource,
             [{"timestamp": "2099-01-01T0%d:00:00" % hour, "value": value}
              for hour, value in enumerate(values)])
        step("refresh " + resource, "GET",
             "/v1/resource/server/%s/metric/cpu/measures?refresh=true" % resource)
    step("update c", "PATCH", "/v1/resource/server/c", {"flavor": "small"})
    # One revision, its window [00:15, 02:30): 0.75 of 00:00, all of 01:00,
    # half of 02:00.
    aggregates("partial window", "&start=2099-01-01T00:15:00&stop=2099-01-01T02:30:00")
    aggregates("start only", "&start=2099-01-01T01:45:00")
    aggregates("stop only", "&stop=2099-01-01T01:20:00")
    # a and b start together at `start`: joined, a's points alone count.
    aggregates("two resources start together",
               "&start=2099-01-01T00:15:00&stop=2099-01-01T02:30:00",
               search="id in ['a', 'b']")
    # c's first revision (large) ended before 2099: out of the period; its
    # current one (small) starts at `start`, as a's, and sorts after it.
    aggregates("three resources",
               "&start=2099-01-01T00:30:00&stop=2099-01-01T03:00:00",
               search={})
    # Only `start`: no period filter, so c's first revision counts for large.
    aggregates("three resources start only", "&start=2099-01-01T00:30:00", search={})
    # The references: the last revision read of each group, as history rows.
    aggregates("three resources details", "&start=2099-01-01T00:30:00&details=true", search={})
    # Without start, a group of two revisions cannot be sorted.
    aggregates("two resources no start", "", search="id in ['a', 'b']")
    aggregates("no point in the period", "&start=2099-02-01&stop=2099-02-02")


if __name__ == "__main__":
    recorder.main(sys.argv[1], session=session, out="real_gnocchi_history.json")
